// The in-memory store (tests, single-process experiments). Same contract as the SQL stores (./contract.mjs);
// every method runs to completion without awaiting in between, so each is atomic in one process. Values are
// deep-copied in and out, so callers can never change stored state by mutating what they passed or got.
import { StoreError, retried } from "./contract.mjs";
import { SCHEMA_VERSION } from "./migrations.mjs";

const clone = (v) => (v === undefined ? undefined : structuredClone(v));
/** Equal as JSON values (object key order ignored), as PostgreSQL compares jsonb. */
const sameJson = (a, b) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
const sortKeys = (v) => (Array.isArray(v) ? v.map(sortKeys) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])) : v);

export class MemoryStore {
  constructor() {
    this.name = "memory";
    this.customers = new Map();
    this.kv = new Map();
    this.inbox = new Map(); // id -> entry
    this.inboxKeys = new Map(); // customer\0dedupe -> id
    this.records = new Map(); // customer\0key -> row
    this.decisions = [];
    this.outbox = new Map();
    this.deadLetters = [];
    this.review = [];
    this.seq = 0;
  }

  async migrate() {
    return { applied: [], version: SCHEMA_VERSION };
  }
  async schemaVersion() {
    return SCHEMA_VERSION;
  }
  async close() {}

  async putCustomer(customerId, settings, nowMs) {
    const c = this.customers.get(customerId);
    if (c) {
      c.settings = clone(settings);
      c.rev += 1;
      return c.rev;
    }
    this.customers.set(customerId, { customerId, settings: clone(settings), rev: 1, pausedAtMs: undefined, budget: undefined, createdMs: nowMs });
    return 1;
  }
  async getCustomer(customerId) {
    const c = this.customers.get(customerId);
    return c ? clone({ customerId, settings: c.settings, rev: c.rev, pausedAtMs: c.pausedAtMs, budget: c.budget }) : null;
  }
  async listCustomers() {
    return [...this.customers.keys()].sort();
  }
  async setPaused(customerId, pausedAtMs) {
    const c = this.customers.get(customerId);
    if (c) c.pausedAtMs = pausedAtMs ?? undefined;
  }
  async updateBudget(customerId, fn) {
    const c = this.customers.get(customerId);
    if (!c) throw new StoreError("unknown-customer", customerId);
    const { state, result } = fn(clone(c.budget));
    c.budget = clone(state);
    return result;
  }

  async kvGet(customerId, key) {
    return clone(this.kv.get(`${customerId}\0${key}`));
  }
  async kvPut(customerId, key, value) {
    this.kv.set(`${customerId}\0${key}`, clone(value));
  }
  async countersAdd(customerId, deltas) {
    const k = `${customerId}\0counters`;
    const c = this.kv.get(k) ?? {};
    for (const [n, v] of Object.entries(deltas)) c[n] = (c[n] ?? 0) + v;
    this.kv.set(k, c);
  }

  async inboxInsert({ customerId, dedupeKey, receivedMs, origin, body, event }) {
    const k = `${customerId}\0${dedupeKey}`;
    if (this.inboxKeys.has(k)) return { inserted: false };
    const id = String(++this.seq);
    this.inboxKeys.set(k, id);
    this.inbox.set(id, { id, customerId, dedupeKey, receivedMs, origin, body, event: clone(event), status: "pending", attempts: 0, dueMs: receivedMs });
    return { inserted: true, id };
  }
  async inboxClaim({ owner, nowMs, leaseMs, limit }) {
    const due = [...this.inbox.values()]
      .filter((e) => (e.status === "pending" && e.dueMs <= nowMs) || (e.status === "claimed" && e.leaseUntilMs < nowMs))
      .sort((a, b) => a.dueMs - b.dueMs || Number(a.id) - Number(b.id))
      .slice(0, limit);
    for (const e of due) Object.assign(e, { status: "claimed", leaseOwner: owner, leaseUntilMs: nowMs + leaseMs, attempts: e.attempts + 1 });
    return due.map(clone);
  }
  #claimed(id, owner) {
    const e = this.inbox.get(String(id));
    return e && e.status === "claimed" && e.leaseOwner === owner ? e : null;
  }
  async inboxRelease(id, owner, { dueMs, error, countAttempt = true }) {
    const e = this.#claimed(id, owner);
    if (!e) return false;
    Object.assign(e, { status: "pending", leaseOwner: undefined, leaseUntilMs: undefined, dueMs, lastError: error ?? e.lastError });
    if (!countAttempt) e.attempts -= 1;
    return true;
  }
  async inboxComplete(id, owner, nowMs) {
    const e = this.#claimed(id, owner);
    if (!e) return false;
    Object.assign(e, { status: "done", leaseOwner: undefined, leaseUntilMs: undefined, doneMs: nowMs, body: undefined });
    return true;
  }
  async inboxDeadLetter(id, owner, error, nowMs) {
    const e = this.#claimed(id, owner);
    if (!e) return false;
    Object.assign(e, { status: "dead", leaseOwner: undefined, leaseUntilMs: undefined, lastError: error, doneMs: nowMs });
    this.deadLetters.push({ id: String(++this.seq), customerId: e.customerId, origin: "inbox", dedupeKey: e.dedupeKey, body: e.body, error, atMs: nowMs });
    return true;
  }
  async deadLetter({ customerId, origin, dedupeKey, body, error, atMs }) {
    this.deadLetters.push({ id: String(++this.seq), customerId, origin, dedupeKey, body, error, atMs });
  }
  async listDeadLetters(customerId) {
    return this.deadLetters.filter((d) => d.customerId === customerId).map(({ id, origin, dedupeKey, error, atMs }) => ({ id, origin, dedupeKey, error, atMs }));
  }
  async inboxGet(customerId, dedupeKey) {
    const id = this.inboxKeys.get(`${customerId}\0${dedupeKey}`);
    return id ? clone(this.inbox.get(id)) : null;
  }

  #rows(customerId) {
    return [...this.records.values()].filter((r) => r.customerId === customerId);
  }
  #out(r) {
    if (!r) return null;
    const { extSource, extId, ...row } = r;
    return clone(row);
  }
  async findRecord(customerId, { recordKey, product = "crm", kind, partnerId, virtuousId, refs = [] }) {
    if (recordKey) return this.#out(this.records.get(`${customerId}\0${recordKey}`));
    const rows = this.#rows(customerId).filter((r) => r.kind === kind && r.product === product).sort((a, b) => (a.recordKey < b.recordKey ? -1 : 1));
    if (virtuousId != null) {
      const v = rows.find((r) => r.virtuousId === String(virtuousId));
      if (v) return this.#out(v);
    }
    const hit = rows.find(
      (r) => (partnerId != null && r.partnerId === String(partnerId)) || refs.some((x) => r.extSource === x.source && r.extId === x.id),
    );
    return this.#out(hit);
  }
  #uniqueTaken(customerId, product, kind, field, value, exceptKey) {
    return value != null && this.#rows(customerId).some((r) => r.product === product && r.kind === kind && r[field] === value && r.recordKey !== exceptKey);
  }
  /** Whether the customer has any Raise or Volunteer link of `kind`. */
  async hasProductLinks(customerId, kind) {
    return this.#rows(customerId).some((r) => r.kind === kind && r.product !== "crm");
  }
  /** Every link of a partner record (one per product: CRM+, Raise, Volunteer), by record key. */
  async partnerLinks(customerId, { kind, partnerId }) {
    return this.#rows(customerId)
      .filter((r) => r.kind === kind && partnerId != null && r.partnerId === String(partnerId))
      .sort((a, b) => (a.recordKey < b.recordKey ? -1 : 1))
      .map((r) => this.#out(r));
  }
  async lockRecord(customerId, recordKey, { owner, nowMs, leaseMs, create }) {
    const k = `${customerId}\0${recordKey}`;
    let r = this.records.get(k);
    if (!r && create) {
      const product = create.product ?? "crm";
      if (this.#uniqueTaken(customerId, product, create.kind, "virtuousId", create.virtuousId) || this.#uniqueTaken(customerId, product, create.kind, "partnerId", create.partnerId))
        return null;
      r = {
        customerId, recordKey, product, kind: create.kind, partnerId: create.partnerId, virtuousId: create.virtuousId, version: 1, state: null,
        dirty: false, recheckMs: undefined, changeSeq: 0, lockOwner: owner, lockUntilMs: nowMs + leaseMs, updatedMs: nowMs,
      };
      this.records.set(k, r);
      return this.#out(r);
    }
    if (!r || (r.lockOwner != null && !(r.lockUntilMs < nowMs))) return null;
    Object.assign(r, { lockOwner: owner, lockUntilMs: nowMs + leaseMs, version: r.version + 1 });
    return this.#out(r);
  }
  async unlockRecord(customerId, recordKey, owner, version) {
    const r = this.records.get(`${customerId}\0${recordKey}`);
    if (!r || r.lockOwner !== owner || r.version !== version) return false;
    Object.assign(r, { lockOwner: undefined, lockUntilMs: undefined });
    return true;
  }
  async commitRecord(c) {
    const r = this.records.get(`${c.customerId}\0${c.recordKey}`);
    if (!r || r.lockOwner !== c.owner || r.version !== c.version) throw new StoreError("lost-lock", `${c.customerId}/${c.recordKey}`);
    if (c.inbox && !this.#claimed(c.inbox.id, c.inbox.owner)) throw new StoreError("lost-lease", c.inbox.id);
    const s = c.state;
    const partnerId = s?.partnerId ?? c.partnerId ?? r.partnerId;
    // A stub the partner's change hook made for this record while it was being created: folded in, locked or not
    // (a worker holding the stub's lock loses it: see sql.mjs commitRecord).
    const stubs = this.#rows(c.customerId).filter(
      (x) => x.product === r.product && x.kind === r.kind && partnerId != null && x.partnerId === partnerId && x.recordKey !== r.recordKey && x.state == null && x.virtuousId == null,
    );
    for (const x of stubs) this.records.delete(`${c.customerId}\0${x.recordKey}`);
    const virtuousId = s?.virtuousId ?? r.virtuousId;
    if (this.#uniqueTaken(c.customerId, r.product, r.kind, "virtuousId", virtuousId, r.recordKey) || this.#uniqueTaken(c.customerId, r.product, r.kind, "partnerId", partnerId, r.recordKey))
      throw new StoreError("unique-violation", `${c.customerId}/${c.recordKey}`);
    const same = r.changeSeq === c.changeSeq && !stubs.length;
    Object.assign(r, {
      state: clone(s ?? null),
      partnerId,
      virtuousId,
      extSource: s?.externalRef ? String(s.externalRef.source).trim().toLowerCase() : r.extSource,
      extId: s?.externalRef ? String(s.externalRef.id).trim() : r.extId,
      dirty: same ? Boolean(c.dirty) : true,
      recheckMs: same ? (c.recheckMs ?? undefined) : c.nowMs,
      lockOwner: undefined,
      lockUntilMs: undefined,
      version: r.version + 1,
      updatedMs: c.nowMs,
    });
    // The acknowledged write this unit of work reported is reported (a newer one stored meanwhile stays).
    if (c.reported && r.written && sameJson(r.written, c.reported)) delete r.written;
    for (const e of c.log ?? []) this.decisions.push({ customerId: c.customerId, recordKey: c.recordKey, atMs: c.nowMs, ...clone(e) });
    for (const op of c.outbox ?? []) {
      if (op.drop) this.#dropOutbox(c.customerId, c.recordKey);
      if (op.put) this.#putOutbox(c.customerId, c.recordKey, op.put, c.nowMs, r.retry);
      if (op.put) delete r.retry;
    }
    if (!r.dirty) delete r.retry; // settled: the redecided write landed or is no longer wanted
    if (c.inbox) await this.inboxComplete(c.inbox.id, c.inbox.owner, c.nowMs);
    return { version: r.version };
  }
  async markDirty(customerId, { kind, partnerId, recordKey }, nowMs) {
    // A partner change concerns the partner record's CRM+ link (the only one written: docs/sync.md).
    let r = this.#rows(customerId).find((x) => x.product === "crm" && x.kind === kind && x.partnerId === String(partnerId));
    if (!r) {
      const key = recordKey ?? `${kind}:${partnerId}`;
      r = this.records.get(`${customerId}\0${key}`);
      if (!r) {
        r = { customerId, recordKey: key, product: "crm", kind, partnerId: String(partnerId), version: 1, state: null, dirty: false, changeSeq: 0, updatedMs: nowMs };
        this.records.set(`${customerId}\0${key}`, r);
      }
    }
    Object.assign(r, { dirty: true, recheckMs: nowMs, changeSeq: r.changeSeq + 1 });
    return r.recordKey;
  }
  async createInProgress(customerId, kind, nowMs) {
    return this.#rows(customerId).some((r) => r.product === "crm" && r.kind === kind && r.state == null && r.virtuousId != null && r.lockOwner != null && r.lockUntilMs >= nowMs);
  }
  async dropStub(customerId, recordKey, owner, version) {
    const k = `${customerId}\0${recordKey}`;
    const r = this.records.get(k);
    if (!r || r.lockOwner !== owner || r.version !== version || r.state != null) return false;
    this.records.delete(k);
    return true;
  }
  async dueRecords({ nowMs, limit }) {
    return [...this.records.values()]
      .filter((r) => r.dirty && r.recheckMs != null && r.recheckMs <= nowMs && (r.lockOwner == null || r.lockUntilMs < nowMs))
      .filter((r) => this.customers.get(r.customerId)?.pausedAtMs == null)
      .sort((a, b) => a.recheckMs - b.recheckMs)
      .slice(0, limit)
      .map((r) => this.#out(r));
  }
  async listRecords(customerId, { product, kind, state, partnerIds, virtuousIds, redecided } = {}) {
    return this.#rows(customerId)
      .filter((r) => (!product || r.product === product) && (!kind || r.kind === kind) && (!state || r.state?.state === state) && (!redecided || r.retry != null))
      .filter((r) => (!virtuousIds || (r.virtuousId && virtuousIds.includes(r.virtuousId))) && (!partnerIds || (r.partnerId && partnerIds.includes(r.partnerId))))
      .sort((a, b) => (a.recordKey < b.recordKey ? -1 : 1))
      .map((r) => this.#out(r));
  }
  async timeline(customerId, recordKey, { limit = 200 } = {}) {
    return this.decisions
      .filter((d) => d.customerId === customerId && d.recordKey === recordKey)
      .slice(-limit)
      .map(({ atMs, direction, action, reason, detail }) => clone({ atMs, direction, action, reason, detail }));
  }
  async logDecision(customerId, recordKey, nowMs, e) {
    this.decisions.push({ customerId, recordKey, atMs: nowMs, ...clone(e) });
  }
  /** The customer's newest decisions (any record), newest first: the status page's "recent decisions". */
  async recentDecisions(customerId, { limit = 50 } = {}) {
    return this.decisions
      .filter((d) => d.customerId === customerId)
      .slice(-limit)
      .reverse()
      .map(({ recordKey, atMs, direction, action, reason, detail }) => clone({ recordKey: recordKey ?? undefined, atMs, direction, action, reason, detail }));
  }
  /**
   * Retention (see docs/customer/privacy): drops decisions and dead letters older than the given times and clears
   * the parsed event of finished inbox entries (their dedupe keys stay, so a late redelivery is still recognised).
   */
  async prune(customerId, { decisionsBeforeMs, deadLettersBeforeMs, inboxBeforeMs } = {}) {
    const out = { decisions: 0, deadLetters: 0, inboxEvents: 0 };
    if (decisionsBeforeMs != null) {
      const keep = this.decisions.filter((d) => d.customerId !== customerId || d.atMs >= decisionsBeforeMs);
      out.decisions = this.decisions.length - keep.length;
      this.decisions = keep;
    }
    if (deadLettersBeforeMs != null) {
      const keep = this.deadLetters.filter((d) => d.customerId !== customerId || d.atMs >= deadLettersBeforeMs);
      out.deadLetters = this.deadLetters.length - keep.length;
      this.deadLetters = keep;
    }
    if (inboxBeforeMs != null)
      for (const e of this.inbox.values())
        if (e.customerId === customerId && e.status === "done" && e.doneMs < inboxBeforeMs && e.event !== undefined) {
          e.event = undefined;
          e.body = undefined;
          out.inboxEvents++;
        }
    return out;
  }

  // --- moving a customer between engines (../transfer.mjs) ----------------------------------------------------
  /** The customer's stored sync state in the transfer format's parts (the dedupe window: processed since `sinceMs`). */
  async exportCustomer(customerId, { sinceMs = 0 } = {}) {
    const c = this.customers.get(customerId);
    const kv = {};
    for (const [k, v] of this.kv) if (k.startsWith(`${customerId}\0`)) kv[k.slice(customerId.length + 1)] = clone(v);
    const inbox = [];
    const dedupe = [];
    for (const e of this.inbox.values()) {
      if (e.customerId !== customerId) continue;
      if (e.status === "pending" || e.status === "claimed") inbox.push(clone({ dedupeKey: e.dedupeKey, receivedMs: e.receivedMs, origin: e.origin, event: e.event, attempts: e.status === "claimed" ? e.attempts - 1 : e.attempts, lastError: e.lastError }));
      else if ((e.doneMs ?? e.receivedMs) >= sinceMs) dedupe.push({ dedupeKey: e.dedupeKey, atMs: e.doneMs ?? e.receivedMs });
    }
    return {
      paused: c?.pausedAtMs ?? null,
      budget: clone(c?.budget ?? null),
      kv,
      records: this.#rows(customerId).map((r) => clone({ recordKey: r.recordKey, ...(r.product !== "crm" ? { product: r.product } : {}), kind: r.kind, partnerId: r.partnerId, virtuousId: r.virtuousId, state: r.state, dirty: r.dirty, recheckMs: r.recheckMs, changeSeq: r.changeSeq, ...(r.written ? { written: r.written } : {}), ...(r.retry ? { retry: r.retry } : {}) })),
      outbox: [...this.outbox.values()].filter((o) => o.customerId === customerId).map((o) => clone({
        recordKey: o.recordKey, request: o.request, queuedMs: o.queuedMs, dueMs: o.dueMs, attempts: o.attempts, status: o.status,
        lastError: o.lastError, lastStatus: o.lastStatus, nextRequest: o.nextRequest, nextQueuedMs: o.nextQueuedMs, dropAfter: o.dropAfter,
      })),
      inbox,
      dedupe,
      review: this.review.filter((r) => r.customerId === customerId && r.status === "open").map(({ kind, item, status, atMs }) => clone({ kind, item, status, atMs })),
      deadLetters: this.deadLetters.filter((d) => d.customerId === customerId).map(({ origin, dedupeKey, error, atMs }) => ({ origin, dedupeKey, error, atMs })),
    };
  }
  /** Writes a checked transfer document's parts (transfer.mjs importIntoStore checks it and the target first). */
  async importCustomer(customerId, doc) {
    const c = this.customers.get(customerId);
    c.pausedAtMs = doc.paused ?? undefined;
    if (doc.budget != null) c.budget = clone(doc.budget);
    for (const [k, v] of Object.entries(doc.kv)) this.kv.set(`${customerId}\0${k}`, clone(v));
    const now = doc.exportedMs;
    for (const r of doc.records) {
      const ext = r.state?.externalRef;
      this.records.set(`${customerId}\0${r.recordKey}`, {
        customerId, recordKey: r.recordKey, product: r.product ?? "crm", kind: r.kind, partnerId: r.partnerId ?? undefined, virtuousId: r.virtuousId ?? undefined,
        extSource: ext ? String(ext.source).trim().toLowerCase() : undefined, extId: ext ? String(ext.id).trim() : undefined,
        version: 1, state: clone(r.state ?? null), dirty: Boolean(r.dirty), recheckMs: r.recheckMs ?? undefined, changeSeq: r.changeSeq ?? 0, updatedMs: now,
        ...(r.written ? { written: clone(r.written) } : {}),
        ...(r.retry ? { retry: clone(r.retry) } : {}),
      });
    }
    for (const o of doc.outbox)
      this.outbox.set(`${customerId}\0${o.recordKey}`, clone({
        customerId, recordKey: o.recordKey, request: o.request, queuedMs: o.queuedMs, dueMs: o.dueMs ?? o.queuedMs, attempts: o.attempts ?? 0, status: o.status,
        lastError: o.lastError, lastStatus: o.lastStatus, nextRequest: o.nextRequest, nextQueuedMs: o.nextQueuedMs, dropAfter: Boolean(o.dropAfter),
      }));
    for (const d of doc.dedupe) {
      const k = `${customerId}\0${d.dedupeKey}`;
      if (this.inboxKeys.has(k)) continue;
      const id = String(++this.seq);
      this.inboxKeys.set(k, id);
      this.inbox.set(id, { id, customerId, dedupeKey: d.dedupeKey, receivedMs: d.atMs ?? now, origin: "import", status: "done", attempts: 0, dueMs: d.atMs ?? now, doneMs: d.atMs ?? now });
    }
    for (const e of doc.inbox) {
      const r = await this.inboxInsert({ customerId, dedupeKey: e.dedupeKey, receivedMs: e.receivedMs ?? now, origin: e.origin ?? "webhook", event: e.event });
      if (r.inserted) this.inbox.get(r.id).attempts = e.attempts ?? 0;
    }
    for (const r of doc.review) this.review.push({ id: String(++this.seq), customerId, kind: r.kind, item: clone(r.item), status: r.status ?? "open", atMs: r.atMs ?? now });
    for (const d of doc.deadLetters) this.deadLetters.push({ id: String(++this.seq), customerId, origin: d.origin, dedupeKey: d.dedupeKey, error: d.error, atMs: d.atMs ?? now });
  }

  #dropOutbox(customerId, recordKey) {
    const k = `${customerId}\0${recordKey}`;
    const e = this.outbox.get(k);
    if (!e) return;
    if (e.status !== "in-flight") this.outbox.delete(k);
    else Object.assign(e, { dropAfter: true, nextRequest: undefined, nextQueuedMs: undefined });
  }
  /** `retry`: the record's carried attempts (a redecided full-record write, contract.mjs): the new entry inherits them. */
  #putOutbox(customerId, recordKey, request, nowMs, retry) {
    const k = `${customerId}\0${recordKey}`;
    const e = this.outbox.get(k);
    if (e && e.status === "in-flight") {
      Object.assign(e, { nextRequest: clone(request), nextQueuedMs: nowMs, dropAfter: false });
      return;
    }
    this.outbox.set(k, { customerId, recordKey, request: clone(request), queuedMs: nowMs, dueMs: nowMs, attempts: retry?.attempts ?? 0, status: "queued", dropAfter: false, ...(retry ? { lastError: retry.lastError, lastStatus: retry.lastStatus } : {}) });
  }
  async getOutbox(customerId, recordKey) {
    return clone(this.outbox.get(`${customerId}\0${recordKey}`) ?? null);
  }
  async listOutbox(customerId) {
    return [...this.outbox.values()]
      .filter((e) => e.customerId === customerId)
      .sort((a, b) => a.queuedMs - b.queuedMs || (a.recordKey < b.recordKey ? -1 : 1))
      .map(clone);
  }
  async leaseOutbox({ owner, nowMs, leaseMs, limit }) {
    const due = [...this.outbox.values()]
      .filter((e) => this.customers.get(e.customerId)?.pausedAtMs == null)
      .filter((e) => (e.status === "queued" && e.dueMs <= nowMs) || (e.status === "in-flight" && e.leaseUntilMs < nowMs))
      .sort((a, b) => a.dueMs - b.dueMs)
      .slice(0, limit);
    // `leasedBefore`: the entry was in flight under a lease that lapsed (a submitter died mid-send): whether it
    // reached Virtuous is unknown.
    const lapsed = new Set(due.filter((e) => e.status === "in-flight"));
    for (const e of due) Object.assign(e, { status: "in-flight", leaseOwner: owner, leaseUntilMs: nowMs + leaseMs });
    return due.map((e) => (lapsed.has(e) ? { ...clone(e), leasedBefore: true } : clone(e)));
  }
  async finishOutbox(customerId, recordKey, owner, outcome, nowMs) {
    const k = `${customerId}\0${recordKey}`;
    const e = this.outbox.get(k);
    if (!e || e.status !== "in-flight" || e.leaseOwner !== owner) return false;
    const retry = outcome.redecide ? retried(e, outcome) : undefined;
    this.#afterSend(customerId, recordKey, outcome, nowMs, e.nextRequest ? undefined : retry);
    if (e.nextRequest) {
      this.outbox.set(k, { customerId, recordKey, request: e.nextRequest, queuedMs: e.nextQueuedMs, dueMs: nowMs, attempts: retry?.attempts ?? 0, status: "queued", dropAfter: false, ...(retry ? { lastError: retry.lastError, lastStatus: retry.lastStatus } : {}) });
    } else if (outcome.done || outcome.redecide || e.dropAfter) {
      this.outbox.delete(k);
    } else if (outcome.failed) {
      Object.assign(e, { status: "failed", leaseOwner: undefined, leaseUntilMs: undefined, attempts: e.attempts + 1, lastError: outcome.error, lastStatus: outcome.status });
    } else {
      Object.assign(e, {
        status: "queued", leaseOwner: undefined, leaseUntilMs: undefined, dueMs: outcome.retryAtMs,
        attempts: e.attempts + (outcome.countAttempt === false ? 0 : 1), lastError: outcome.error, lastStatus: outcome.status,
      });
    }
    return true;
  }

  /**
   * The record side of a finished send (contract.mjs, finishOutbox): `written` stores the acknowledged request for
   * the report (the record due now; a worker holding its lock loses it, so nothing fetched after the 2xx is decided
   * before the report); `redecide` makes the record due at `retryAtMs` to be decided again.
   */
  #afterSend(customerId, recordKey, outcome, nowMs, retry) {
    const r = this.records.get(`${customerId}\0${recordKey}`);
    if (!r) return;
    if (outcome.done) delete r.retry;
    if (!(outcome.written || outcome.redecide)) return;
    const at = outcome.written ? nowMs : outcome.retryAtMs;
    Object.assign(r, { dirty: true, recheckMs: r.dirty && r.recheckMs != null && r.recheckMs < at ? r.recheckMs : at, changeSeq: r.changeSeq + 1 });
    if (outcome.written) Object.assign(r, { written: clone(outcome.written), lockOwner: undefined, lockUntilMs: undefined, version: r.version + 1 });
    if (retry) r.retry = retry;
  }

  async addReview(customerId, kind, item, nowMs) {
    const id = String(++this.seq);
    this.review.push({ id, customerId, kind, item: clone(item), status: "open", atMs: nowMs });
    return id;
  }
  async resolveReview(customerId, id, resolution, nowMs) {
    const r = this.review.find((x) => x.customerId === customerId && x.id === String(id) && x.status === "open");
    if (!r) return null;
    Object.assign(r, { status: "resolved", item: { ...r.item, resolution: clone(resolution), resolvedMs: nowMs } });
    return clone({ id: r.id, kind: r.kind, item: r.item, status: r.status, atMs: r.atMs });
  }
  async listReview(customerId, { status = "open" } = {}) {
    return this.review.filter((r) => r.customerId === customerId && r.status === status).map(({ id, kind, item, status: s, atMs }) => clone({ id, kind, item, status: s, atMs }));
  }

  async statusCounts(customerId) {
    const inbox = [...this.inbox.values()].filter((e) => e.customerId === customerId);
    const out = [...this.outbox.values()].filter((e) => e.customerId === customerId);
    const recs = this.#rows(customerId);
    const webhook = inbox.filter((e) => e.origin === "webhook").map((e) => e.receivedMs);
    const live = out.filter((e) => e.status !== "failed").map((e) => e.queuedMs);
    return {
      inboxPending: inbox.filter((e) => e.status === "pending" || e.status === "claimed").length,
      inboxDead: inbox.filter((e) => e.status === "dead").length,
      lastDeliveryMs: webhook.length ? Math.max(...webhook) : undefined,
      outboxDepth: out.length,
      oldestPendingWriteMs: live.length ? Math.min(...live) : undefined,
      failedWrites: out.filter((e) => e.status === "failed").length,
      retryingWrites: out.filter((e) => e.attempts >= 3 && e.status !== "failed").length + recs.filter((r) => r.retry?.attempts >= 3).length,
      records: recs.length,
      conflicts: recs.filter((r) => r.state?.state === "conflict").length,
      stuckRecords: recs.filter((r) => r.state?.stuck === true).length,
      partnerPending: recs.filter((r) => r.state?.state === "partner-pending").length,
      dirtyRecords: recs.filter((r) => r.dirty).length,
      deadLetters: this.deadLetters.filter((d) => d.customerId === customerId).length,
    };
  }
}
