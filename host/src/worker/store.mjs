// The host kit's store contract (../store/contract.mjs) on Durable Objects, so the Worker host runs the host kit's
// own Host class unchanged: only the I/O differs. Two scopes:
//   record scope (inside a RecordObject): the record's row, outbox entry, decision log and the delivery in hand
//     live in that Object's storage (./objects.mjs); everything customer-wide goes to the customer's Object.
//   api scope (the Worker's fetch, queue and cron handlers): customer-wide calls only; "inbox inserts" go to the
//     deliveries Queue (the Queue is the durable inbox; the record's Object drops a message it already committed).
import { StoreError } from "../store/contract.mjs";
import { SCHEMA_VERSION } from "../store/migrations.mjs";
import { objectName } from "./route.mjs";

const CUSTOMER_CACHE_MS = 1_000;

export class DoStore {
  /**
   * @param {object} env the Worker's bindings (CUSTOMER, RECORD, BUDGET, DIRECTORY Durable Objects; DELIVERIES Queue)
   * @param {{record?: object, withBudget?: boolean}} o  `record`: the RecordObject this store serves
   */
  constructor(env, { record, withBudget = false } = {}) {
    this.name = "durable-objects";
    this.env = env;
    this.record = record;
    this.withBudget = withBudget;
    this.cache = new Map(); // customerId -> {atMs, value}: settings change rarely; a second's staleness is harmless
  }

  customer(customerId) {
    return this.env.CUSTOMER.get(this.env.CUSTOMER.idFromName(customerId));
  }
  recordStub(customerId, recordKey) {
    return this.env.RECORD.get(this.env.RECORD.idFromName(objectName(customerId, recordKey)));
  }
  directory() {
    return this.env.DIRECTORY.get(this.env.DIRECTORY.idFromName("directory"));
  }
  /** One budget per Virtuous organisation (`virtuous.organisationId`; the customer itself when not set). */
  budgetStub(c) {
    const org = c.settings?.virtuous?.organisationId ?? c.customerId;
    return this.env.BUDGET.get(this.env.BUDGET.idFromName(String(org)));
  }
  #local(what) {
    if (!this.record) throw new StoreError("wrong-scope", `${what} runs only inside a record's Object`);
    return this.record;
  }

  async migrate() {
    return { applied: [], version: SCHEMA_VERSION };
  }
  async schemaVersion() {
    return SCHEMA_VERSION;
  }
  async close() {}

  // --- customers, budget, key-value --------------------------------------------------------------------------
  async putCustomer(customerId, settings, nowMs) {
    const rev = await this.customer(customerId).putCustomer(customerId, settings, nowMs);
    await this.directory().add(customerId);
    this.cache.delete(customerId);
    return rev;
  }
  async getCustomer(customerId) {
    const hit = this.cache.get(customerId);
    let c;
    if (hit && Date.now() - hit.atMs < CUSTOMER_CACHE_MS) c = structuredClone(hit.value);
    else {
      c = await this.customer(customerId).getCustomer();
      this.cache.set(customerId, { atMs: Date.now(), value: structuredClone(c) });
    }
    if (c && this.withBudget) c.budget = (await this.budgetStub(c).get()).state;
    return c;
  }
  async listCustomers() {
    return this.directory().list();
  }
  async setPaused(customerId, pausedAtMs) {
    await this.customer(customerId).setPaused(pausedAtMs ?? null);
    this.cache.delete(customerId);
  }
  /** Read, decide, compare-and-set on the organisation's budget Object; `fn` is pure, so a lost race reruns it. */
  async updateBudget(customerId, fn) {
    const c = await this.getCustomer(customerId);
    if (!c) throw new StoreError("unknown-customer", customerId);
    const b = this.budgetStub(c);
    for (let i = 0; i < 100; i++) {
      const { state, version } = await b.get();
      const out = fn(state === undefined ? undefined : structuredClone(state));
      if (await b.cas(version, out.state)) return out.result;
    }
    throw new StoreError("budget-contention", customerId);
  }
  kvGet(customerId, key) {
    return this.customer(customerId).kvGet(key);
  }
  kvPut(customerId, key, value) {
    return this.customer(customerId).kvPut(key, value);
  }
  countersAdd(customerId, deltas) {
    return this.customer(customerId).countersAdd(deltas);
  }

  // --- inbox: the Queue outside, the delivery in hand inside a record's Object ---------------------------------
  async inboxInsert(entry) {
    if (this.record) throw new StoreError("wrong-scope", "inboxInsert runs in the Worker (it enqueues)");
    const { customerId, dedupeKey, receivedMs, origin, event, body } = entry;
    // A delivery the engine this customer moved from had already processed (the imported dedupe window).
    if (await this.customer(customerId).importedDuplicate(dedupeKey)) return { inserted: false };
    const msg = { customerId, dedupeKey, receivedMs, origin, event: JSON.parse(JSON.stringify(event)) };
    // The raw body rides along for dead letters while it is small (a Queue message holds at most 128 KB).
    if (typeof body === "string" && body.length < 48_000) msg.body = body;
    await this.env.DELIVERIES.send(msg, { contentType: "json" });
    await this.customer(customerId).enqueued(origin, receivedMs);
    return { inserted: true };
  }
  async inboxClaim(o) {
    return this.record ? this.record.inboxClaim(o) : [];
  }
  async inboxRelease(id, owner, o) {
    return this.#local("inboxRelease").inboxRelease(id, owner, o);
  }
  async inboxComplete(id, owner, nowMs) {
    return this.#local("inboxComplete").inboxComplete(id, owner, nowMs);
  }
  async inboxDeadLetter(id, owner, error, nowMs) {
    return this.#local("inboxDeadLetter").inboxDeadLetter(id, owner, error, nowMs);
  }
  async inboxGet() {
    return null;
  }
  deadLetter(d) {
    return this.customer(d.customerId).deadLetter(d);
  }
  listDeadLetters(customerId) {
    return this.customer(customerId).listDeadLetters();
  }

  // --- records -------------------------------------------------------------------------------------------------
  async findRecord(customerId, q) {
    if (this.record) return this.record.findRecord(customerId, q);
    return this.customer(customerId).findRecord(q);
  }
  async lockRecord(customerId, recordKey, o) {
    return this.#local("lockRecord").lockRecord(customerId, recordKey, o);
  }
  async unlockRecord(customerId, recordKey, owner, version) {
    return this.#local("unlockRecord").unlockRecord(customerId, recordKey, owner, version);
  }
  async commitRecord(c) {
    return this.#local("commitRecord").commitRecord(c);
  }
  /**
   * In a record's Object: the partner record may be linked to another record (the host kit marks the real record
   * dirty after dropping a stub): that record's Object is asked; otherwise this one.
   */
  async markDirty(customerId, change, nowMs) {
    const local = this.#local("markDirty");
    // A named record (a Raise or Volunteer link's fan-out to the partner record's CRM+ link) is asked directly.
    const found = change.recordKey != null ? { recordKey: change.recordKey } : await this.customer(customerId).findRecord({ kind: change.kind, partnerId: String(change.partnerId) });
    if (found && found.recordKey !== local.key) return this.recordStub(customerId, found.recordKey).partnerChange(customerId, found.recordKey, change.kind, String(change.partnerId));
    return local.markDirty(customerId, change, nowMs);
  }
  /** Whether the customer has any Raise or Volunteer link of `kind` (the customer's record index). */
  hasProductLinks(customerId, kind) {
    return this.customer(customerId).hasProductLinks(kind);
  }
  /** Every link of a partner record (CRM+, Raise, Volunteer), from the customer's record index. */
  partnerLinks(customerId, q) {
    return this.customer(customerId).partnerLinks(q);
  }
  /** Whether a record of `kind` is being created from Virtuous right now (its create not yet committed). */
  createInProgress(customerId, kind, nowMs) {
    return this.customer(customerId).createInProgress(kind, nowMs);
  }
  async dropStub(customerId, recordKey, owner, version) {
    return this.#local("dropStub").dropStub(recordKey, version);
  }
  async dueRecords(o) {
    return this.record ? this.record.dueRecords(o) : [];
  }
  /** A reconciliation page's stored records, looked up by its keys in the customer's Object (see there). */
  reconcileCandidates(customerId, q) {
    return this.customer(customerId).reconcileCandidates(q);
  }
  listRecords(customerId, filter) {
    return this.customer(customerId).listRecords(filter ?? {});
  }
  async timeline(customerId, recordKey, o) {
    if (this.record?.key === recordKey) return this.record.timeline(o);
    return this.recordStub(customerId, recordKey).timelineEntries(customerId, recordKey, o ?? {});
  }
  /** The customer's newest decisions, newest first (records publish copies of theirs to the customer's Object). */
  recentDecisions(customerId, o) {
    return this.customer(customerId).recentDecisions(o ?? {});
  }
  async logDecision(customerId, recordKey, nowMs, entry) {
    if (recordKey != null && this.record?.key === recordKey) return this.record.logDecision(nowMs, entry);
    return this.customer(customerId).logDecision(recordKey, nowMs, entry);
  }

  // --- outbox ----------------------------------------------------------------------------------------------------
  async getOutbox(customerId, recordKey) {
    if (this.record?.key === recordKey) return this.record.getOutbox();
    return this.recordStub(customerId, recordKey).outboxEntry(customerId, recordKey);
  }
  listOutbox(customerId) {
    return this.customer(customerId).listOutbox();
  }
  async leaseOutbox(o) {
    return this.record ? this.record.leaseOutbox(o) : [];
  }
  async finishOutbox(customerId, recordKey, owner, outcome, nowMs) {
    return this.#local("finishOutbox").finishOutbox(recordKey, owner, outcome, nowMs);
  }

  // --- people ------------------------------------------------------------------------------------------------------
  addReview(customerId, kind, item, nowMs) {
    return this.customer(customerId).addReview(kind, item, nowMs);
  }
  resolveReview(customerId, id, resolution, nowMs) {
    return this.customer(customerId).resolveReview(String(id), resolution, nowMs);
  }
  listReview(customerId, o) {
    return this.customer(customerId).listReview(o ?? {});
  }
  statusCounts(customerId) {
    return this.customer(customerId).statusCounts();
  }
}
