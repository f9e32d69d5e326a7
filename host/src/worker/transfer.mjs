// Export and import of one customer's sync state on the Worker host (the admin routes GET .../export and POST
// .../import), in the transfer format every engine shares (../transfer.mjs). The state lives in three places here:
// each record's Durable Object (its row, outbox entry and the dedupe markers of the deliveries it committed), the
// customer's Object (key-value state, review queue, dead letters, the record index, imported dedupe keys) and the
// organisation's budget Object.
import { DEDUPE_WINDOW_MS, TransferError, checkTransferDocument, summaryOf, transferDocument } from "../transfer.mjs";

const recordStub = (store, customerId, key) => store.recordStub(customerId, key);

export async function exportCustomer(env, store, customerId, { nowMs = Date.now(), dedupeWindowMs = DEDUPE_WINDOW_MS, force = false } = {}) {
  const c = await store.getCustomer(customerId);
  if (!c) throw new TransferError("unknown-customer", customerId);
  const cust = store.customer(customerId);
  const parts = await cust.exportParts({ sinceMs: nowMs - dedupeWindowMs });
  // Deliveries still in the Queue cannot be read out of it: the procedure pauses and drains first.
  if (parts.inflight > 0 && !force) throw new TransferError("not-drained", `${parts.inflight} deliveries are still in the Queue; pause the customer and wait for inbox.pending to reach 0`);
  parts.records = [];
  parts.outbox = [];
  for (const key of parts.recordKeys) {
    const r = await recordStub(store, customerId, key).exportState(customerId, key, { sinceMs: nowMs - dedupeWindowMs });
    if (!r.record) continue;
    parts.records.push(r.record);
    if (r.outbox) parts.outbox.push(r.outbox);
    parts.dedupe.push(...r.dedupe);
  }
  const seen = new Set();
  parts.dedupe = parts.dedupe.filter((d) => !seen.has(d.dedupeKey) && seen.add(d.dedupeKey));
  parts.budget = (await store.budgetStub(c).get()).state ?? null;
  parts.inbox = [];
  return transferDocument(customerId, parts, { settings: c.settings, source: "durable-objects", nowMs });
}

export async function importCustomer(env, store, customerId, doc) {
  checkTransferDocument(doc, customerId);
  const c = await store.getCustomer(customerId);
  if (!c) throw new TransferError("unknown-customer", `${customerId}: put its settings on the target first`);
  const cust = store.customer(customerId);
  if ((await cust.listRecords({})).length) throw new TransferError("not-empty", `${customerId} already has records on the target`);
  await cust.importParts({ paused: doc.paused ?? null, kv: doc.kv, review: doc.review, deadLetters: doc.deadLetters, dedupe: doc.dedupe, nowMs: doc.exportedMs });
  store.cache.delete(customerId);
  if (doc.budget != null) {
    const b = store.budgetStub(c);
    const cur = await b.get();
    if (cur.state === undefined) await b.cas(cur.version, doc.budget); // an organisation's budget already in use here wins
  }
  const outbox = new Map(doc.outbox.map((o) => [o.recordKey, o]));
  for (const r of doc.records) await recordStub(store, customerId, r.recordKey).importState(customerId, r.recordKey, { record: r, outbox: outbox.get(r.recordKey) ?? null, nowMs: doc.exportedMs });
  // Deliveries the old engine had not processed: into the deliveries Queue, as the webhook route would.
  for (const e of doc.inbox) await store.inboxInsert({ customerId, dedupeKey: e.dedupeKey, receivedMs: e.receivedMs ?? doc.exportedMs, origin: e.origin ?? "webhook", event: e.event });
  return { apiVersion: 1, imported: summaryOf(doc) };
}
