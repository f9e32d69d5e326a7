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
`;

export class CustomerObject extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
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
    this.sql.exec("INSERT INTO review (kind, item, status, at_ms) VALUES (?, ?, 'open', ?)", kind, JSON.stringify(item ?? null), nowMs);
    return String(this.sql.exec("SELECT last_insert_rowid() AS id").one().id);
  }
  listReview({ status = "open" } = {}) {
    return this.sql
      .exec("SELECT id, kind, item, status, at_ms FROM review WHERE status = ? ORDER BY id", status)
      .toArray()
      .map((r) => ({ id: String(r.id), kind: r.kind, item: JSON.parse(r.item), status: r.status, atMs: r.at_ms }));
  }
  logDecision(recordKey, atMs, entry) {
    this.sql.exec("INSERT INTO decisions (record_key, at_ms, entry) VALUES (?, ?, ?)", recordKey ?? null, atMs, JSON.stringify(entry));
    // Customer-level decisions (unsupported events, reconciliation notes) are kept to the newest 10,000.
    this.sql.exec("DELETE FROM decisions WHERE id <= (SELECT MAX(id) FROM decisions) - 10000");
  }

  // --- the record index ------------------------------------------------------------------------------------------
  /** A record's summary after its commit: `{recordKey, kind, partnerId, virtuousId, state, dirty, recheckMs, outbox, pubSeq}`. */
  upsertRecord(s) {
    const ext = s.state?.externalRef;
    this.sql.exec(
      `INSERT INTO records (record_key, kind, partner_id, virtuous_id, ext_source, ext_id, state_name, stuck, dirty, outbox_status, outbox_attempts, outbox_queued_ms, pub_seq, summary)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(record_key) DO UPDATE SET kind = excluded.kind, partner_id = excluded.partner_id, virtuous_id = excluded.virtuous_id,
         ext_source = excluded.ext_source, ext_id = excluded.ext_id, state_name = excluded.state_name, stuck = excluded.stuck,
         dirty = excluded.dirty, outbox_status = excluded.outbox_status, outbox_attempts = excluded.outbox_attempts,
         outbox_queued_ms = excluded.outbox_queued_ms, pub_seq = excluded.pub_seq, summary = excluded.summary
       WHERE excluded.pub_seq > records.pub_seq`,
      s.recordKey, s.kind, s.partnerId ?? null, s.virtuousId ?? null,
      ext ? String(ext.source).trim().toLowerCase() : null, ext ? String(ext.id).trim() : null,
      s.state?.state ?? null, s.state?.stuck === true ? 1 : 0, s.dirty ? 1 : 0,
      s.outbox?.status ?? null, s.outbox?.attempts ?? null, s.outbox?.queuedMs ?? null, s.pubSeq, JSON.stringify(s),
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
  findRecord({ recordKey, kind, partnerId, virtuousId, refs = [] }) {
    if (recordKey) return this.#rows("record_key = ?", recordKey)[0] ?? null;
    if (virtuousId != null) {
      const v = this.#rows("kind = ? AND virtuous_id = ?", kind, String(virtuousId))[0];
      if (v) return v;
    }
    if (partnerId != null) {
      // A linked record before a stub the partner's hook made for the same partner record.
      const p = this.#rows("kind = ? AND partner_id = ? ORDER BY virtuous_id IS NULL, record_key", kind, String(partnerId))[0];
      if (p) return p;
    }
    for (const r of refs) {
      const e = this.#rows("kind = ? AND ext_source = ? AND ext_id = ?", kind, r.source, r.id)[0];
      if (e) return e;
    }
    return null;
  }
  listRecords({ kind, state, partnerIds, virtuousIds } = {}) {
    let rows = this.#rows("(?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR state_name = ?2)", kind ?? null, state ?? null);
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
