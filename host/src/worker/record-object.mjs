// One Durable Object per record (customer + record key): the platform serialises everything that happens to the
// record here, so no lease is needed. It runs the host kit's Host over a record-scoped DoStore (./store.mjs):
//   deliver        a Queue message: decide inbound, apply through the partner port, then ONE storage write (row,
//                  outbox entry, log entries and the delivery's done-marker together); nothing is stored before it,
//                  so an Object evicted mid-decision leaves no trace and the Queue's redelivery starts over
//   partnerChange  the partner's change hook: a durable dirty mark, then the alarm runs the outbound path
//   alarm          due partner changes and due outbox submits (rate budget, retries, follow-ups); re-armed for the
//                  next due time after every unit of work, so a late alarm only delays, never loses or repeats
// After each commit the record publishes its summary to the customer's Object (index, status, conflicts).
import { DurableObject } from "cloudflare:workers";
import { Host } from "../host.mjs";
import { StoreError, retried } from "../store/contract.mjs";
import { DoStore } from "./store.mjs";
import { httpPartner } from "./partner-http.mjs";

/** workerd's fetch throws "Illegal invocation" when called as a method of another object (VirtuousClient does). */
export const unboundFetch = (input, init) => fetch(input, init);
const LOG_KEEP = 500; // decision-log entries kept per record (the timeline shows the newest 200)
const pad = (n) => String(n).padStart(12, "0");
const clone = (v) => (v === undefined ? undefined : structuredClone(v));
const sortKeys = (v) => (Array.isArray(v) ? v.map(sortKeys) : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])) : v);
const sameJson = (a, b) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));

/** The partner port the Worker host uses: HTTP to the partner app at the customer's `partner.url`. */
export function partnerPortFor(store) {
  const port = async (customerId) => {
    const c = await store.getCustomer(customerId);
    if (!c?.settings?.partner?.url) throw new StoreError("no-partner", `customer ${customerId} has no partner.url`);
    return httpPartner(c.settings.partner);
  };
  return {
    read: async (ref) => (await port(ref.customerId)).read(ref),
    apply: async (op) => (await port(op.customerId)).apply(op),
    list: async (q) => (await port(q.customerId)).list(q),
  };
}

export class RecordObject extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.chain = Promise.resolve();
    this.row = null;
    this.outbox = null;
    this.logSeq = 0;
    this.pending = null; // the delivery in hand (its durable copy is the Queue message)
    this.result = null;
    this.test = {}; // test hooks (TEST_HOOKS=1 only): evictBeforeCommit, evictAfterWritten, alarmDelayMs, holdSubmits
    this.needsPublish = false;
    this.unpublished = []; // decision-log entries not yet copied to the customer's recent activity
    ctx.blockConcurrencyWhile(async () => {
      const m = await ctx.storage.get(["row", "outbox", "logSeq"]);
      this.row = m.get("row") ?? null;
      this.outbox = m.get("outbox") ?? null;
      this.logSeq = m.get("logSeq") ?? 0;
      if (this.row) ({ customerId: this.customerId, recordKey: this.key } = this.row);
    });
    this.store = new DoStore(env, { record: this });
    this.host = new Host({ store: this.store, partner: partnerPortFor(this.store), workerId: "record-object", fetch: unboundFetch, options: { busyDelayMs: 1 } });
  }

  /** Runs `fn` after everything queued before it: one unit of work at a time on this record. */
  serial(fn) {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => {});
    return p;
  }
  #identify(customerId, recordKey) {
    if (this.key != null && (this.key !== recordKey || this.customerId !== customerId))
      throw new StoreError("wrong-object", `${customerId}/${recordKey} routed to ${this.customerId}/${this.key}`);
    this.customerId = customerId;
    this.key = recordKey;
  }

  // --- RPC -------------------------------------------------------------------------------------------------------
  /** One Queue message. `{outcome: "done" | "duplicate" | "dead" | "retry", delayMs?}`. */
  deliver(customerId, recordKey, entry) {
    return this.serial(async () => {
      this.#identify(customerId, recordKey);
      if (await this.ctx.storage.get(`done:${entry.dedupeKey}`)) return { outcome: "duplicate" };
      this.pending = { ...entry, id: "1", customerId, status: "pending", attempts: entry.attempts ?? 1, dueMs: 0 };
      this.result = null;
      try {
        await this.host.processInbox({ limit: 1 });
        return this.result ?? { outcome: "retry", delayMs: 1_000 };
      } finally {
        this.pending = null;
        await this.#schedule();
      }
    });
  }
  /** The partner's change hook for this record: marked dirty durably; the alarm runs the outbound path. */
  async partnerChange(customerId, recordKey, kind, partnerId) {
    this.#identify(customerId, recordKey);
    const key = await this.host.reportPartnerChange({ customerId, kind, partnerId });
    await this.#schedule();
    return key;
  }
  resolveConflict(customerId, recordKey, choices) {
    return this.serial(async () => {
      this.#identify(customerId, recordKey);
      try {
        return await this.host.resolveConflict(customerId, recordKey, choices);
      } finally {
        await this.#schedule();
      }
    });
  }
  recordTimeline(customerId, recordKey) {
    this.#identify(customerId, recordKey);
    return this.host.timeline(customerId, recordKey);
  }
  timelineEntries(customerId, recordKey, o) {
    this.#identify(customerId, recordKey);
    return this.timeline(o);
  }
  outboxEntry(customerId, recordKey) {
    this.#identify(customerId, recordKey);
    return this.getOutbox();
  }
  /** This record's part of a transfer document (./transfer.mjs): its row, outbox entry and dedupe markers. */
  async exportState(customerId, recordKey, { sinceMs }) {
    this.#identify(customerId, recordKey);
    return this.serial(async () => {
      const r = this.row;
      const o = this.outbox;
      const dedupe = [];
      for (const [k, atMs] of await this.ctx.storage.list({ prefix: "done:" })) if (atMs >= sinceMs) dedupe.push({ dedupeKey: k.slice(5), atMs });
      return {
        record: r ? clone({ recordKey: r.recordKey, ...((r.product ?? "crm") !== "crm" ? { product: r.product } : {}), kind: r.kind, partnerId: r.partnerId, virtuousId: r.virtuousId, state: r.state, dirty: r.dirty, recheckMs: r.recheckMs, changeSeq: r.changeSeq, ...(r.written ? { written: r.written } : {}), ...(r.retry ? { retry: r.retry } : {}) }) : null,
        outbox: o ? clone({ recordKey: o.recordKey, request: o.request, queuedMs: o.queuedMs, dueMs: o.dueMs, attempts: o.attempts, status: o.status, lastError: o.lastError, lastStatus: o.lastStatus, nextRequest: o.nextRequest, nextQueuedMs: o.nextQueuedMs, dropAfter: o.dropAfter }) : null,
        dedupe,
      };
    });
  }
  /** A record moved here from another engine: its row and outbox entry in one write, then its summary published. */
  importState(customerId, recordKey, { record: r, outbox: o, nowMs }) {
    return this.serial(async () => {
      this.#identify(customerId, recordKey);
      if (this.row) throw new StoreError("not-empty", `${customerId}/${recordKey} already exists here`);
      const row = { customerId, recordKey, product: r.product ?? "crm", kind: r.kind, partnerId: r.partnerId ?? undefined, virtuousId: r.virtuousId ?? undefined, version: 0, state: clone(r.state ?? null), dirty: Boolean(r.dirty), recheckMs: r.recheckMs ?? undefined, changeSeq: r.changeSeq ?? 0, pubSeq: 1, updatedMs: nowMs, ...(r.written ? { written: clone(r.written) } : {}), ...(r.retry ? { retry: clone(r.retry) } : {}) };
      const outbox = o ? { customerId, recordKey, request: clone(o.request), queuedMs: o.queuedMs, dueMs: o.dueMs ?? o.queuedMs, attempts: o.attempts ?? 0, status: o.status === "failed" ? "failed" : "queued", lastError: o.lastError, lastStatus: o.lastStatus, nextRequest: clone(o.nextRequest), nextQueuedMs: o.nextQueuedMs, dropAfter: Boolean(o.dropAfter) } : null;
      await this.ctx.storage.put(outbox ? { row, outbox } : { row });
      this.row = row;
      this.outbox = outbox;
      await this.#publish();
      await this.#schedule();
      return true;
    });
  }
  async wake() {
    await this.#schedule();
  }
  /** Test hooks (the Worker exposes them only with TEST_HOOKS=1). */
  async testHooks(customerId, recordKey, hooks) {
    this.#identify(customerId, recordKey);
    Object.assign(this.test, hooks);
    if (hooks.alarmDelayMs != null) {
      await this.ctx.storage.deleteAlarm();
      this.armedAt = undefined;
    }
    await this.#schedule();
    return { alarmAtMs: await this.ctx.storage.getAlarm() };
  }

  async alarm() {
    await this.serial(async () => {
      this.armedAt = undefined;
      if (!this.row) return;
      for (let i = 0; i < 20; i++) {
        const n = (await this.host.processPartnerChanges({ limit: 1 })) + (this.test.holdSubmits ? 0 : await this.host.submitDue({ limit: 1 }));
        if (!n) break;
      }
      if (this.needsPublish) await this.#publish();
      await this.#schedule();
    });
  }

  /** Arms the alarm for the next due time (outbox entry, dirty mark, an unpublished summary); none while paused. */
  async #schedule() {
    let due = Infinity;
    const o = this.test.holdSubmits ? null : this.outbox;
    if (o?.status === "queued") due = Math.min(due, o.dueMs);
    if (o?.status === "in-flight") due = Math.min(due, o.leaseUntilMs);
    if (this.row?.dirty && this.row.recheckMs != null) due = Math.min(due, this.row.recheckMs);
    if (this.needsPublish) due = Math.min(due, Date.now() + 5_000);
    if (due === Infinity) return;
    if (this.customerId && (await this.#paused())) return; // resume wakes every record with work
    const at = Math.max(due, Date.now()) + (this.test.alarmDelayMs ?? 0);
    if (this.armedAt != null && this.armedAt <= at) return;
    const cur = await this.ctx.storage.getAlarm();
    if (cur != null && cur <= at) {
      this.armedAt = cur;
      return;
    }
    await this.ctx.storage.setAlarm(at);
    this.armedAt = at;
  }
  async #paused() {
    return (await this.store.getCustomer(this.customerId))?.pausedAtMs != null;
  }

  async #publish() {
    const r = this.row;
    if (!r) return;
    const o = this.outbox;
    const summary = {
      recordKey: r.recordKey, product: r.product ?? "crm", kind: r.kind, partnerId: r.partnerId, virtuousId: r.virtuousId, state: r.state, dirty: r.dirty,
      recheckMs: r.recheckMs, pubSeq: r.pubSeq ?? 0,
      outbox: o
        ? { status: o.status === "in-flight" ? "queued" : o.status, attempts: o.attempts, queuedMs: o.queuedMs, lastError: o.lastError, lastStatus: o.lastStatus, request: { method: o.request.method, path: o.request.path } }
        : r.retry // a full-record write to be decided again (../store/contract.mjs, `retried`): pending, between tries
          ? { status: "redecide", attempts: r.retry.attempts, lastError: r.retry.lastError ?? undefined, lastStatus: r.retry.lastStatus ?? undefined, request: { method: r.retry.request?.method, path: r.retry.request?.path } }
          : null,
    };
    const entries = this.unpublished;
    this.unpublished = [];
    try {
      await this.store.customer(r.customerId).upsertRecord(summary, entries);
      this.needsPublish = false;
    } catch {
      this.unpublished = [...entries, ...this.unpublished].slice(-200);
      this.needsPublish = true; // the alarm publishes it again
    }
  }

  // --- the store contract, record scope (called by DoStore) ----------------------------------------------------------
  inboxClaim({ nowMs, leaseMs }) {
    const e = this.pending;
    if (!e || e.status !== "pending") return [];
    Object.assign(e, { status: "claimed", leaseUntilMs: nowMs + leaseMs });
    return [clone(e)];
  }
  inboxRelease(id, owner, { dueMs, error }) {
    if (this.pending?.status !== "claimed") return false;
    this.pending.status = "pending";
    this.result = { outcome: "retry", delayMs: Math.max(0, dueMs - Date.now()), error };
    return true;
  }
  async inboxComplete(id, owner, nowMs) {
    if (this.pending?.status !== "claimed") return false;
    await this.ctx.storage.put(`done:${this.pending.dedupeKey}`, nowMs);
    this.pending.status = "done";
    this.result = { outcome: "done" };
    return true;
  }
  async inboxDeadLetter(id, owner, error, nowMs) {
    const e = this.pending;
    if (e?.status !== "claimed") return false;
    // Dead letters go through the dead-letter queue (its consumer files them with the customer, status API);
    // the done-marker keeps a redelivery of the same message from being tried again.
    const letter = { customerId: e.customerId, origin: "inbox", dedupeKey: e.dedupeKey, body: e.body, error, atMs: nowMs };
    if (this.env.DEAD_LETTERS) await this.env.DEAD_LETTERS.send(letter, { contentType: "json" });
    else await this.store.deadLetter(letter);
    await this.ctx.storage.put(`done:${e.dedupeKey}`, nowMs);
    e.status = "dead";
    this.result = { outcome: "dead", error };
    return true;
  }

  #matches(q) {
    const r = this.row;
    if (!r || (q.kind && r.kind !== q.kind) || (r.product ?? "crm") !== (q.product ?? "crm")) return false;
    if (q.virtuousId != null && r.virtuousId === String(q.virtuousId)) return true;
    if (q.partnerId != null && r.partnerId === String(q.partnerId)) return true;
    const ext = r.state?.externalRef;
    return Boolean(ext && (q.refs ?? []).some((x) => String(ext.source).trim().toLowerCase() === x.source && String(ext.id).trim() === x.id));
  }
  async findRecord(customerId, q) {
    if (q.recordKey) return q.recordKey === this.key ? clone(this.row) : this.store.customer(customerId).findRecord(q);
    if (this.#matches(q)) return clone(this.row);
    return this.store.customer(customerId).findRecord(q);
  }
  async lockRecord(customerId, recordKey, { nowMs, leaseMs, create }) {
    // Another record's key (the index moved on since the message was routed, or the core's verify named another
    // record): the Queue retries the message, which is routed again; after its retries it is a dead letter.
    if (recordKey !== this.key) return null;
    if (!this.row && create) {
      this.row = { customerId, recordKey, product: create.product ?? "crm", kind: create.kind, partnerId: create.partnerId, virtuousId: create.virtuousId, version: 0, state: null, dirty: false, changeSeq: 0, pubSeq: 0, updatedMs: nowMs };
      // While the create is applied and not committed, the partner's hook for the new partner record must not
      // submit it as new (the host kit's createInProgress): the customer's Object keeps the mark until commit.
      await this.store.customer(customerId).creating(recordKey, create.kind, nowMs + leaseMs);
    }
    if (!this.row) return null;
    this.row.version += 1; // the serial chain is the lock; the version still guards commit against a stale row
    return clone(this.row);
  }
  async unlockRecord(customerId, recordKey) {
    if (this.row && this.row.state == null && this.row.virtuousId != null) await this.store.customer(customerId).creating(recordKey, this.row.kind, null);
    return true;
  }
  /** A row the partner's hook made for a partner record linked elsewhere: gone from storage and the index. */
  async dropStub(recordKey, version) {
    const r = this.row;
    if (!r || recordKey !== this.key || r.version !== version || r.state != null) return false;
    this.row = null;
    await this.ctx.storage.delete(["row", "outbox"]);
    this.outbox = null;
    await this.store.customer(r.customerId).removeRecord(recordKey);
    return true;
  }
  async commitRecord(c) {
    const r = this.row;
    if (!r || r.version !== c.version) throw new StoreError("lost-lock", `${c.customerId}/${c.recordKey}`);
    if (c.inbox && this.pending?.status !== "claimed") throw new StoreError("lost-lease", c.inbox.id);
    if (this.test.evictBeforeCommit) {
      this.test.evictBeforeCommit = false;
      // What the platform does to an evicted Object: this instance ends here, its memory gone, nothing written.
      this.ctx.abort("evicted before commit (test hook)");
      throw new StoreError("evicted", "the Object was reset before its commit (test hook)");
    }
    const s = c.state;
    const same = r.changeSeq === c.changeSeq;
    const next = {
      ...r,
      state: clone(s ?? null),
      partnerId: s?.partnerId ?? c.partnerId ?? r.partnerId,
      virtuousId: s?.virtuousId ?? r.virtuousId,
      dirty: same ? Boolean(c.dirty) : true,
      recheckMs: same ? (c.recheckMs ?? undefined) : c.nowMs,
      version: r.version + 1,
      updatedMs: c.nowMs,
      pubSeq: (r.pubSeq ?? 0) + 1,
    };
    // The acknowledged full-record write this unit of work reported (PartnerChange.written) is reported.
    if (c.reported && next.written && sameJson(next.written, c.reported)) delete next.written;
    let outbox = this.outbox;
    // A redecided write's carried attempts (../store/contract.mjs, `retried`): the next write inherits them.
    let retry = next.retry;
    delete next.retry;
    for (const op of c.outbox ?? []) {
      if (op.drop) outbox = outbox?.status === "in-flight" ? { ...outbox, dropAfter: true, nextRequest: undefined, nextQueuedMs: undefined } : null;
      if (op.put)
        outbox = outbox?.status === "in-flight"
          ? { ...outbox, nextRequest: clone(op.put), nextQueuedMs: c.nowMs, dropAfter: false }
          : { customerId: c.customerId, recordKey: c.recordKey, request: clone(op.put), queuedMs: c.nowMs, dueMs: c.nowMs, attempts: retry?.attempts ?? 0, status: "queued", dropAfter: false, ...(retry ? { lastError: retry.lastError, lastStatus: retry.lastStatus } : {}) };
      if (op.put) retry = undefined;
    }
    if (retry && next.dirty) next.retry = retry;
    const puts = { row: next };
    let seq = this.logSeq;
    const logged = (c.log ?? []).map((e) => ({ atMs: c.nowMs, ...clone(e) }));
    for (const e of logged) puts[`log:${pad(++seq)}`] = e;
    puts.logSeq = seq;
    if (outbox) puts.outbox = outbox;
    if (c.inbox) puts[`done:${this.pending.dedupeKey}`] = c.nowMs;
    // The state changes in memory first (a partner change arriving during the write sees the new row), then one
    // write: puts and the delete issued without an await between them are committed together (write coalescing).
    const hadOutbox = this.outbox != null;
    this.row = next;
    this.outbox = outbox;
    this.logSeq = seq;
    const writes = [this.ctx.storage.put(puts)];
    if (!outbox && hadOutbox) writes.push(this.ctx.storage.delete("outbox"));
    const old = seq - LOG_KEEP;
    if (old > 0 && seq % 100 < (c.log?.length ?? 0)) writes.push(this.ctx.storage.delete(Array.from({ length: 100 }, (_, i) => `log:${pad(old - i)}`).filter((k) => k > "log:")));
    await Promise.all(writes);
    if (c.inbox) {
      this.pending.status = "done";
      this.result = { outcome: "done" };
    }
    this.unpublished.push(...logged);
    await this.#publish();
    return { version: next.version };
  }
  async markDirty(customerId, { kind, partnerId }, nowMs) {
    if (!this.row)
      this.row = { customerId, recordKey: this.key, product: "crm", kind, partnerId: String(partnerId), version: 0, state: null, dirty: false, changeSeq: 0, pubSeq: 0, updatedMs: nowMs };
    Object.assign(this.row, { dirty: true, recheckMs: nowMs, changeSeq: this.row.changeSeq + 1, pubSeq: (this.row.pubSeq ?? 0) + 1 });
    if (this.row.partnerId == null) this.row.partnerId = String(partnerId);
    await this.ctx.storage.put("row", this.row);
    await this.#publish();
    return this.key;
  }
  async dueRecords({ nowMs }) {
    const r = this.row;
    if (!r?.dirty || r.recheckMs == null || r.recheckMs > nowMs) return [];
    if (await this.#paused()) return [];
    return [clone(r)];
  }
  async timeline({ limit = 200 } = {}) {
    const m = await this.ctx.storage.list({ prefix: "log:", reverse: true, limit });
    return [...m.values()].reverse().map(({ atMs, direction, action, reason, detail }) => ({ atMs, direction, action, reason, detail }));
  }
  async logDecision(nowMs, entry) {
    const seq = ++this.logSeq;
    const e = { atMs: nowMs, ...clone(entry) };
    await this.ctx.storage.put({ [`log:${pad(seq)}`]: e, logSeq: seq });
    this.unpublished.push(e);
    this.needsPublish = true; // published with the next commit or outbox change, else by the alarm
  }
  getOutbox() {
    return clone(this.outbox);
  }
  async leaseOutbox({ nowMs, leaseMs }) {
    const e = this.outbox;
    if (!e) return [];
    if (!((e.status === "queued" && e.dueMs <= nowMs) || (e.status === "in-flight" && e.leaseUntilMs < nowMs))) return [];
    if (await this.#paused()) return [];
    // In flight under a lapsed lease (the Object was reset mid-send): whether the send reached Virtuous is unknown.
    const lapsed = e.status === "in-flight";
    Object.assign(e, { status: "in-flight", leaseUntilMs: nowMs + leaseMs });
    // Stored before the send: an Object reset mid-send comes back with the entry in flight, so the next lease knows
    // its send may have landed (a full-record PUT is then decided again, never resent).
    await this.ctx.storage.put("outbox", e);
    return [lapsed ? { ...clone(e), leasedBefore: true } : clone(e)];
  }
  async finishOutbox(recordKey, owner, outcome, nowMs) {
    const e = this.outbox;
    if (!e || e.status !== "in-flight" || recordKey !== this.key) return false;
    let next;
    // A full-record PUT (../store/contract.mjs): its 2xx is kept on the row for the report (the record due now), or,
    // not known to have landed, the record is due at retryAtMs to be decided again; the snapshot is never resent.
    if (outcome.written || outcome.redecide) {
      const at = outcome.written ? nowMs : outcome.retryAtMs;
      const r = this.row;
      Object.assign(r, { dirty: true, recheckMs: r.dirty && r.recheckMs != null && r.recheckMs < at ? r.recheckMs : at, changeSeq: r.changeSeq + 1 });
      if (outcome.written) r.written = clone(outcome.written);
    }
    const retry = outcome.redecide ? retried(e, outcome) : undefined;
    if (outcome.done) delete this.row.retry;
    if (retry && !e.nextRequest) this.row.retry = retry;
    if (e.nextRequest) next = { customerId: e.customerId, recordKey, request: e.nextRequest, queuedMs: e.nextQueuedMs, dueMs: nowMs, attempts: retry?.attempts ?? 0, status: "queued", dropAfter: false, ...(retry ? { lastError: retry.lastError, lastStatus: retry.lastStatus } : {}) };
    else if (outcome.done || outcome.redecide || e.dropAfter) next = null;
    else if (outcome.failed) next = { ...e, status: "failed", leaseUntilMs: undefined, attempts: e.attempts + 1, lastError: outcome.error, lastStatus: outcome.status };
    else
      next = {
        ...e, status: "queued", leaseUntilMs: undefined, dueMs: outcome.retryAtMs,
        attempts: e.attempts + (outcome.countAttempt === false ? 0 : 1), lastError: outcome.error, lastStatus: outcome.status,
      };
    this.outbox = next;
    this.row.pubSeq = (this.row.pubSeq ?? 0) + 1;
    await (next ? this.ctx.storage.put({ outbox: next, row: this.row }) : Promise.all([this.ctx.storage.delete("outbox"), this.ctx.storage.put("row", this.row)]));
    if (outcome.written && this.test.evictAfterWritten) {
      this.test.evictAfterWritten = false;
      await this.ctx.storage.sync(); // the 2xx is durably stored: the reset comes after it
      // The Object is reset once the 2xx is stored and before its report (test hook): the next instance reports it.
      this.ctx.abort("evicted after the 2xx was stored, before its report (test hook)");
      throw new StoreError("evicted", "the Object was reset before the report (test hook)");
    }
    await this.#publish();
    return true;
  }
}
