// Per-customer Durable Object (SQLite storage): settings, key-value state (cursors, counters, alerts), the record
// index that resolves a Virtuous id, a partner id or an external reference to a record key, each record's latest
// summary (what the status API, conflicts and reconciliation read), dead letters, the review queue and
// customer-level decisions. Records publish their summary here after every commit; a summary older than the
// stored one (by the record's publication sequence) is ignored, so late publications cannot roll it back.
import { DurableObject } from "cloudflare:workers";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  record_key TEXT PRIMARY KEY, kind TEXT NOT NULL, partner_id TEXT, virtuous_id TEXT, ext_source TEXT, ext_id TEXT,
  state_name TEXT, stuck INTEGER NOT NULL DEFAULT 0, dirty INTEGER NOT NULL DEFAULT 0, outbox_status TEXT,
  outbox_attempts INTEGER, outbox_queued_ms INTEGER, pub_seq INTEGER NOT NULL, summary TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_v ON records(kind, virtuous_id);
CREATE INDEX IF NOT EXISTS records_p ON records(kind, partner_id);
CREATE INDEX IF NOT EXISTS records_e ON records(kind, ext_source, ext_id);
CREATE INDEX IF NOT EXISTS records_s ON records(state_name);
CREATE TABLE IF NOT EXISTS dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT, dedupe_key TEXT, body TEXT, error TEXT, at_ms INTEGER);
CREATE TABLE IF NOT EXISTS review (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT, item TEXT, status TEXT, at_ms INTEGER);
CREATE TABLE IF NOT EXISTS creating (record_key TEXT PRIMARY KEY, kind TEXT NOT NULL, until_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, record_key TEXT, at_ms INTEGER, entry TEXT);
CREATE TABLE IF NOT EXISTS imported_dedupe (dedupe_key TEXT PRIMARY KEY, at_ms INTEGER);
`;

export class CustomerObject extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    // Links per product (docs/sync.md, "One partner record, several products"): an index written before them holds
    // CRM+ records only.
    if (!this.sql.exec("SELECT name FROM pragma_table_info('records')").toArray().some((c) => c.name === "product"))
      this.sql.exec("ALTER TABLE records ADD COLUMN product TEXT NOT NULL DEFAULT 'crm'");
  }

  #get(k) {
    const r = this.sql.exec("SELECT v FROM kv WHERE k = ?", k).toArray()[0];
    return r ? JSON.parse(r.v) : undefined;
  }
  #put(k, v) {
    if (v === undefined || v === null) this.sql.exec("DELETE FROM kv WHERE k = ?", k);
    else this.sql.exec("INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v", k, JSON.stringify(v));
  }

  // --- settings --------------------------------------------------------------------------------------------------
  putCustomer(customerId, settings, nowMs) {
    const meta = this.#get("meta") ?? { customerId, rev: 0, createdMs: nowMs };
    meta.settings = settings;
    meta.rev += 1;
    this.#put("meta", meta);
    return meta.rev;
  }
  getCustomer() {
    const m = this.#get("meta");
    return m ? { customerId: m.customerId, settings: m.settings, rev: m.rev, pausedAtMs: m.pausedAtMs ?? undefined } : null;
  }
  setPaused(pausedAtMs) {
    const m = this.#get("meta");
    if (!m) return;
    m.pausedAtMs = pausedAtMs ?? undefined;
    this.#put("meta", m);
  }
  kvGet(key) {
    return this.#get(`kv:${key}`);
  }
  kvPut(key, value) {
    this.#put(`kv:${key}`, value);
  }
  countersAdd(deltas) {
    const c = this.#get("kv:counters") ?? {};
    for (const [n, v] of Object.entries(deltas)) c[n] = (c[n] ?? 0) + v;
    this.#put("kv:counters", c);
  }

  // --- reconciliation runs (one page per RECONCILE message; see consumeReconcile in ./index.mjs) --------------------
  // The run under way is kept under kv:reconcile-run: {runId, startedMs, updatedMs, page (the next page to run),
  // resource, state (Host.reconcileStep's input for that page), claim: {untilMs} | null, finishedMs?, failedMs?}.
  /** Starts `runId` unless another run is under way and has finished a page within `staleMs`. */
  runStart({ runId, state, nowMs, staleMs }) {
    const cur = this.#get("kv:reconcile-run");
    if (cur && !cur.finishedMs && !cur.failedMs && nowMs - cur.updatedMs < staleMs) return { started: false, runId: cur.runId };
    this.#put("kv:reconcile-run", { runId, startedMs: nowMs, updatedMs: nowMs, page: 0, resource: state.resources[0], state, claim: null });
    return { started: true, runId };
  }
  /**
   * Claims page `page` of `runId` for `leaseMs`: `{outcome: "claimed", state}`, `"busy"` (another consumer holds
   * it), `"done"` (already run; `resend`: the next page to enqueue again when the run has not moved on for a lease
   * since), or `"stale"` (another run, or this one ended).
   */
  runClaim({ runId, page, nowMs, leaseMs }) {
    const cur = this.#get("kv:reconcile-run");
    if (!cur || cur.runId !== runId || cur.failedMs) return { outcome: "stale" };
    if (page < cur.page) {
      const resend = !cur.finishedMs && page === cur.page - 1 && !cur.claim && nowMs - cur.updatedMs > leaseMs ? cur.page : null;
      return { outcome: "done", resend };
    }
    if (page > cur.page || cur.finishedMs) return { outcome: "stale" };
    if (cur.claim && cur.claim.untilMs > nowMs) return { outcome: "busy", untilMs: cur.claim.untilMs };
    cur.claim = { untilMs: nowMs + leaseMs };
    this.#put("kv:reconcile-run", cur);
    return { outcome: "claimed", state: cur.state };
  }
  /** The page failed: its claim is dropped (the Queue retries the message), the error kept. */
  runRelease({ runId, page, error, nowMs }) {
    const cur = this.#get("kv:reconcile-run");
    if (!cur || cur.runId !== runId || cur.page !== page) return false;
    cur.claim = null;
    cur.lastError = error;
    cur.lastErrorMs = nowMs;
    this.#put("kv:reconcile-run", cur);
    return true;
  }
  /** The page ran: the run's state moves to the next page (or the run is finished). */
  runAdvance({ runId, page, state, nowMs }) {
    const cur = this.#get("kv:reconcile-run");
    if (!cur || cur.runId !== runId || cur.page !== page || cur.failedMs) return { advanced: false };
    Object.assign(cur, { page: page + 1, state, claim: null, updatedMs: nowMs, resource: state.resources[state.resourceIdx] });
    if (state.done) cur.finishedMs = nowMs;
    this.#put("kv:reconcile-run", cur);
    return { advanced: true };
  }
  /** The Queue gave up on a page: the run ends unfinished (its cursors were not moved by the missing pages). */
  runFail({ runId, nowMs }) {
    const cur = this.#get("kv:reconcile-run");
    if (!cur || cur.runId !== runId || cur.finishedMs) return false;
    cur.failedMs = nowMs;
    cur.claim = null;
    this.#put("kv:reconcile-run", cur);
    return true;
  }

  // --- moving a customer (./transfer.mjs) ---------------------------------------------------------------------------
  /** The customer-level parts of a transfer document, the record keys to ask, and how many deliveries are queued. */
  exportParts({ sinceMs }) {
    const kv = {};
    for (const r of this.sql.exec("SELECT k, v FROM kv WHERE k LIKE 'kv:%' ORDER BY k").toArray()) kv[r.k.slice(3)] = JSON.parse(r.v);
    return {
      paused: this.#get("meta")?.pausedAtMs ?? null,
      kv,
      inflight: this.#get("inflight") ?? 0,
      recordKeys: this.sql.exec("SELECT record_key FROM records ORDER BY record_key").toArray().map((r) => r.record_key),
      dedupe: this.sql.exec("SELECT dedupe_key, at_ms FROM imported_dedupe WHERE at_ms >= ? ORDER BY dedupe_key", sinceMs).toArray().map((r) => ({ dedupeKey: r.dedupe_key, atMs: r.at_ms })),
      review: this.listReview({ status: "open" }).map(({ kind, item, status, atMs }) => ({ kind, item, status, atMs })),
      deadLetters: this.sql.exec("SELECT origin, dedupe_key, error, at_ms FROM dead_letters ORDER BY id").toArray().map((r) => ({ origin: r.origin, dedupeKey: r.dedupe_key ?? undefined, error: r.error ?? undefined, atMs: r.at_ms })),
    };
  }
  importParts({ paused, kv, review, deadLetters, dedupe, nowMs }) {
    this.ctx.storage.transactionSync(() => {
      this.setPaused(paused);
      for (const [k, v] of Object.entries(kv)) this.#put(`kv:${k}`, v);
      for (const r of review) this.sql.exec("INSERT INTO review (kind, item, status, at_ms) VALUES (?, ?, ?, ?)", r.kind, JSON.stringify(r.item ?? null), r.status ?? "open", r.atMs ?? nowMs);
      for (const d of deadLetters) this.deadLetter({ ...d, atMs: d.atMs ?? nowMs });
      for (const d of dedupe) this.sql.exec("INSERT INTO imported_dedupe (dedupe_key, at_ms) VALUES (?, ?) ON CONFLICT(dedupe_key) DO NOTHING", d.dedupeKey, d.atMs ?? nowMs);
    });
  }
  /** Whether a delivery's dedupe key came with an imported customer (processed on the old engine). */
  importedDuplicate(dedupeKey) {
    return this.sql.exec("SELECT 1 AS x FROM imported_dedupe WHERE dedupe_key = ?", dedupeKey).toArray().length > 0;
  }

  // --- deliveries in the Queue (the status API's inbox.pending) ----------------------------------------------------
  enqueued(origin, receivedMs) {
    this.#put("inflight", (this.#get("inflight") ?? 0) + 1);
    if (origin === "webhook") this.#put("lastDeliveryMs", Math.max(this.#get("lastDeliveryMs") ?? 0, receivedMs));
  }
  /** A message left the Queue (committed, dropped as a duplicate, or dead-lettered). */
  settled(n = 1) {
    this.#put("inflight", Math.max(0, (this.#get("inflight") ?? 0) - n));
  }

  deadLetter({ origin, dedupeKey, body, error, atMs }) {
    this.sql.exec("INSERT INTO dead_letters (origin, dedupe_key, body, error, at_ms) VALUES (?, ?, ?, ?, ?)", origin, dedupeKey ?? null, body ?? null, error ?? null, atMs);
  }
  listDeadLetters() {
    return this.sql
      .exec("SELECT id, origin, dedupe_key, error, at_ms FROM dead_letters ORDER BY id")
      .toArray()
      .map((r) => ({ id: String(r.id), origin: r.origin, dedupeKey: r.dedupe_key ?? undefined, error: r.error ?? undefined, atMs: r.at_ms }));
  }
  addReview(kind, item, nowMs) {
    // The same finding filed again (a reconciliation page run twice after a failure) stays one open item.
    const same = this.sql.exec("SELECT id FROM review WHERE status = 'open' AND kind = ? AND item = ?", kind, JSON.stringify(item ?? null)).toArray()[0];
    if (same) return String(same.id);
    this.sql.exec("INSERT INTO review (kind, item, status, at_ms) VALUES (?, ?, 'open', ?)", kind, JSON.stringify(item ?? null), nowMs);
    return String(this.sql.exec("SELECT last_insert_rowid() AS id").one().id);
  }
  resolveReview(id, resolution, nowMs) {
    if (!/^\d{1,15}$/.test(String(id))) return null;
    const r = this.sql.exec("SELECT id, kind, item, status, at_ms FROM review WHERE id = ? AND status = 'open'", Number(id)).toArray()[0];
    if (!r) return null;
    const item = { ...JSON.parse(r.item), resolution, resolvedMs: nowMs };
    this.sql.exec("UPDATE review SET status = 'resolved', item = ? WHERE id = ?", JSON.stringify(item), r.id);
    return { id: String(r.id), kind: r.kind, item, status: "resolved", atMs: r.at_ms };
  }
  listReview({ status = "open" } = {}) {
    return this.sql
      .exec("SELECT id, kind, item, status, at_ms FROM review WHERE status = ? ORDER BY id", status)
      .toArray()
      .map((r) => ({ id: String(r.id), kind: r.kind, item: JSON.parse(r.item), status: r.status, atMs: r.at_ms }));
  }
  /**
   * A decision for the customer's recent-activity list: customer-level ones (unsupported events, reconciliation
   * notes) and, as records publish them, copies of each record's entries (the record's Object keeps its full log).
   */
  logDecision(recordKey, atMs, entry) {
    this.sql.exec("INSERT INTO decisions (record_key, at_ms, entry) VALUES (?, ?, ?)", recordKey ?? null, atMs, JSON.stringify(entry));
    // Kept to the newest 10,000.
    this.sql.exec("DELETE FROM decisions WHERE id <= (SELECT MAX(id) FROM decisions) - 10000");
  }
  recentDecisions({ limit = 50 } = {}) {
    return this.sql
      .exec("SELECT record_key, at_ms, entry FROM decisions ORDER BY id DESC LIMIT ?", limit)
      .toArray()
      .map((r) => {
        const { direction, action, reason, detail } = JSON.parse(r.entry);
        return { recordKey: r.record_key ?? undefined, atMs: r.at_ms, direction, action, reason, detail };
      });
  }

  // --- the record index ------------------------------------------------------------------------------------------
  /** A record's summary after its commit: `{recordKey, kind, partnerId, virtuousId, state, dirty, recheckMs, outbox, pubSeq}`. */
  upsertRecord(s, entries = []) {
    for (const e of entries) this.logDecision(s.recordKey, e.atMs, e);
    const ext = s.state?.externalRef;
    this.sql.exec(
      `INSERT INTO records (record_key, kind, partner_id, virtuous_id, ext_source, ext_id, state_name, stuck, dirty, outbox_status, outbox_attempts, outbox_queued_ms, pub_seq, summary, product)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(record_key) DO UPDATE SET kind = excluded.kind, product = excluded.product, partner_id = excluded.partner_id, virtuous_id = excluded.virtuous_id,
         ext_source = excluded.ext_source, ext_id = excluded.ext_id, state_name = excluded.state_name, stuck = excluded.stuck,
         dirty = excluded.dirty, outbox_status = excluded.outbox_status, outbox_attempts = excluded.outbox_attempts,
         outbox_queued_ms = excluded.outbox_queued_ms, pub_seq = excluded.pub_seq, summary = excluded.summary
       WHERE excluded.pub_seq > records.pub_seq`,
      s.recordKey, s.kind, s.partnerId ?? null, s.virtuousId ?? null,
      ext ? String(ext.source).trim().toLowerCase() : null, ext ? String(ext.id).trim() : null,
      s.state?.state ?? null, s.state?.stuck === true ? 1 : 0, s.dirty ? 1 : 0,
      s.outbox?.status ?? null, s.outbox?.attempts ?? null, s.outbox?.queuedMs ?? null, s.pubSeq, JSON.stringify(s), s.product ?? "crm",
    );
    if (s.state != null) this.sql.exec("DELETE FROM creating WHERE record_key = ?", s.recordKey);
  }
  /** A create from Virtuous in progress on `recordKey` until `untilMs` (null: finished or abandoned). */
  creating(recordKey, kind, untilMs) {
    if (untilMs == null) this.sql.exec("DELETE FROM creating WHERE record_key = ?", recordKey);
    else this.sql.exec("INSERT INTO creating (record_key, kind, until_ms) VALUES (?, ?, ?) ON CONFLICT(record_key) DO UPDATE SET until_ms = excluded.until_ms", recordKey, kind, untilMs);
  }
  createInProgress(kind, nowMs) {
    return this.sql.exec("SELECT COUNT(*) AS n FROM creating WHERE kind = ? AND until_ms >= ?", kind, nowMs).one().n > 0;
  }
  removeRecord(recordKey) {
    this.sql.exec("DELETE FROM records WHERE record_key = ?", recordKey);
  }
  #rows(where, ...args) {
    const order = where.includes(" ORDER BY ") ? "" : " ORDER BY record_key";
    return this.sql.exec(`SELECT summary FROM records WHERE ${where}${order}`, ...args).toArray().map((r) => JSON.parse(r.summary));
  }
  /** The host kit's findRecord: by key, else by Virtuous id, else by partner id or one of our references. */
  findRecord({ recordKey, product = "crm", kind, partnerId, virtuousId, refs = [] }) {
    if (recordKey) return this.#rows("record_key = ?", recordKey)[0] ?? null;
    if (virtuousId != null) {
      const v = this.#rows("product = ? AND kind = ? AND virtuous_id = ?", product, kind, String(virtuousId))[0];
      if (v) return v;
    }
    if (partnerId != null) {
      // A linked record before a stub the partner's hook made for the same partner record.
      const p = this.#rows("product = ? AND kind = ? AND partner_id = ? ORDER BY virtuous_id IS NULL, record_key", product, kind, String(partnerId))[0];
      if (p) return p;
    }
    for (const r of refs) {
      const e = this.#rows("product = ? AND kind = ? AND ext_source = ? AND ext_id = ?", product, kind, r.source, r.id)[0];
      if (e) return e;
    }
    return null;
  }
  /** Whether any Raise or Volunteer link of `kind` is indexed. */
  hasProductLinks(kind) {
    return this.sql.exec("SELECT COUNT(*) AS n FROM (SELECT 1 FROM records WHERE kind = ? AND product <> 'crm' LIMIT 1)", kind).one().n > 0;
  }
  /** Every link of a partner record (one per product), by record key. */
  partnerLinks({ kind, partnerId }) {
    if (partnerId == null) return [];
    return this.#rows("kind = ? AND partner_id = ?", kind, String(partnerId)).map((r) => ({ ...r, product: r.product ?? "crm" }));
  }
  /**
   * What a reconciliation page is planned against (Host #reconcilePage): the records of `kind` its rows name by
   * Virtuous id or one of our references, and those waiting for Virtuous's batch (partner-pending), found by index;
   * and how many records of the kind there are (the mass-change breaker's total). Never every summary at once.
   */
  reconcileCandidates({ kind, virtuousIds = [], refs = [] }) {
    const out = new Map();
    const add = (list) => {
      for (const r of list) out.set(r.recordKey, r);
    };
    // Reconciliation covers CRM+ links.
    for (const id of virtuousIds) add(this.#rows("product = 'crm' AND kind = ? AND virtuous_id = ?", kind, String(id)));
    for (const r of refs) add(this.#rows("product = 'crm' AND kind = ? AND ext_source = ? AND ext_id = ?", kind, r.source, r.id));
    add(this.#rows("product = 'crm' AND kind = ? AND state_name = 'partner-pending'", kind));
    return { records: [...out.values()], total: this.sql.exec("SELECT COUNT(*) AS n FROM records WHERE product = 'crm' AND kind = ?", kind).one().n };
  }
  listRecords({ product, kind, state, partnerIds, virtuousIds, redecided } = {}) {
    // A record with carried attempts (a redecided full-record write) publishes them as its outbox, status "redecide".
    if (redecided)
      return this.#rows("outbox_status = 'redecide'").map((r) => ({ ...r, retry: { attempts: r.outbox.attempts, lastError: r.outbox.lastError ?? null, lastStatus: r.outbox.lastStatus ?? null, request: r.outbox.request } }));
    let rows = this.#rows("(?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR state_name = ?2) AND (?3 IS NULL OR product = ?3)", kind ?? null, state ?? null, product ?? null);
    if (virtuousIds) rows = rows.filter((r) => r.virtuousId && virtuousIds.includes(r.virtuousId));
    if (partnerIds) rows = rows.filter((r) => r.partnerId && partnerIds.includes(r.partnerId));
    return rows;
  }
  listOutbox() {
    return this.#rows("outbox_status IS NOT NULL")
      .map((r) => ({ customerId: this.#get("meta")?.customerId, recordKey: r.recordKey, ...r.outbox }))
      .sort((a, b) => a.queuedMs - b.queuedMs);
  }
  /** Records that have work waiting (an outbox entry or a dirty mark): woken after a resume. */
  wakeList() {
    return this.sql.exec("SELECT record_key FROM records WHERE outbox_status = 'queued' OR dirty = 1").toArray().map((r) => r.record_key);
  }
  statusCounts() {
    const one = (q, ...a) => this.sql.exec(q, ...a).one();
    const agg = one(`SELECT COUNT(*) AS records,
        SUM(state_name = 'conflict') AS conflicts, SUM(stuck) AS stuck, SUM(state_name = 'partner-pending') AS pending,
        SUM(dirty) AS dirty, SUM(outbox_status IS NOT NULL) AS depth, SUM(outbox_status = 'failed') AS failed,
        SUM(outbox_status IS NOT NULL AND outbox_status != 'failed' AND outbox_attempts >= 3) AS retrying,
        MIN(CASE WHEN outbox_status IS NOT NULL AND outbox_status != 'failed' THEN outbox_queued_ms END) AS oldest
      FROM records`);
    const dead = one("SELECT COUNT(*) AS n FROM dead_letters").n;
    return {
      inboxPending: this.#get("inflight") ?? 0,
      inboxDead: dead,
      lastDeliveryMs: this.#get("lastDeliveryMs") ?? undefined,
      outboxDepth: agg.depth ?? 0,
      oldestPendingWriteMs: agg.oldest ?? undefined,
      failedWrites: agg.failed ?? 0,
      retryingWrites: agg.retrying ?? 0,
      records: agg.records ?? 0,
      conflicts: agg.conflicts ?? 0,
      stuckRecords: agg.stuck ?? 0,
      partnerPending: agg.pending ?? 0,
      dirtyRecords: agg.dirty ?? 0,
      deadLetters: dead,
    };
  }
}

/** One rate budget per Virtuous organisation: the RateBudget's JSON and a version for compare-and-set. */
export class BudgetObject extends DurableObject {
  async get() {
    const m = await this.ctx.storage.get(["state", "version"]);
    return { state: m.get("state"), version: m.get("version") ?? 0 };
  }
  async cas(version, state) {
    const cur = (await this.ctx.storage.get("version")) ?? 0;
    if (cur !== version) return false;
    await this.ctx.storage.put({ state, version: cur + 1 });
    return true;
  }
}

/** The list of customers (the cron trigger's reconciliation walks it). */
export class DirectoryObject extends DurableObject {
  async add(customerId) {
    await this.ctx.storage.put(`c:${customerId}`, true);
  }
  async list() {
    return [...(await this.ctx.storage.list({ prefix: "c:" })).keys()].map((k) => k.slice(2)).sort();
  }
}
