// The status page's world: the demo's world (examples/partner-app/world.mjs: the host and its HTTP app, the local
// Virtuous delivering signed webhooks, the partner app over HTTP), on the memory store, configured as the demo
// configures it. `firstGift` and `conflictOnNote` play the demo scenario's first step and its conflict (steps 1
// and 4 of examples/partner-app/scenario.mjs), stopping before the conflict is settled.
import { MemoryStore } from "../../host/src/index.mjs";
import { startWorld as startDemoWorld, until } from "../../examples/partner-app/world.mjs";

export { until };

// The customer's settings as the demo's, with one choice a customer can make: gift notes changed on both sides are
// settled by a person ("ask me", the `manual` policy), so the demo's simultaneous edit becomes a conflict to settle.
export const SYNC = { cooldownMs: 2_000, policy: { kinds: { gift: { fields: { notes: "manual" } } } } };

export async function startWorld({ customerId = "hope-shelter", log } = {}) {
  const w = await startDemoWorld({ store: new MemoryStore(), customerId, sync: SYNC, log });
  w.start();
  const P = w.partner.url;
  const api = `${w.hostUrl}/api/v1/customers/${encodeURIComponent(customerId)}`;
  const call = async (method, url, body) => {
    const res = await fetch(url, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const status = () => call("GET", `${api}/status`);
  const quiet = async (what) => {
    await w.sim.admin.flush();
    await until(async () => {
      const s = await status();
      return s.inbox.pending === 0 && s.outbox.depth === 0 && w.partner.pendingHooks() === 0 && s.records.dirty === 0;
    }, { what });
    await w.sim.admin.flush();
  };
  return { ...w, api, status, quiet, partnerCall: (method, path, body) => call(method, P + path, body) };
}

/** Step 1: a partner donation becomes a gift through the nightly batch. Returns {giftId, contactId}. */
export async function firstGift(w) {
  const admin = w.sim.admin;
  await w.partnerCall("POST", "/donors", { id: "donor-1", fields: { name: "Ada Lovelace", contactType: "Household" }, email: "ada@example.org" });
  await w.partnerCall("POST", "/donations", { id: "don-1", donorId: "donor-1", fields: { amount: "50.00", giftDate: "2026-11-30", giftType: "Cash", currencyCode: "USD" } });
  await until(async () => (await admin.transactions()).filter((t) => t.state === "held").length === 2, { what: "two held Transactions" });
  const batch = await admin.runBatch();
  const gift = batch.created.find((c) => c.giftId);
  if (!gift) throw new Error(`the batch created no gift: ${JSON.stringify(batch)}`);
  await w.quiet("the batch's confirmation");
  return { giftId: gift.giftId, contactId: gift.contactId };
}

/** Step 4: staff and the partner edit the gift's note at the same moment; resolves once the conflict is listed. */
export async function conflictOnNote(w, giftId) {
  const admin = w.sim.admin;
  const reads = async () => (await admin.requests({ method: "GET" })).filter((r) => r.path === `/api/Gift/${giftId}`).length;
  const before = await reads();
  await admin.hold(); // the staff edit's webhook is still in flight when the partner's change is written
  await admin.editGift(giftId, { notes: "Staff: thank-you call made" });
  await w.partnerCall("PATCH", "/donations/don-1", { fields: { notes: "Donor: please no calls" } });
  // GET-then-PUT: the host's read already shows the staff's note, so the core finds the conflict before writing.
  await until(async () => (await reads()) > before, { what: "the host's read before writing" });
  await admin.release("fifo");
  await until(async () => (await w.status()).openConflicts > 0, { what: "the conflict" });
}

/** The demo's steps up to its conflict. Returns {giftId, contactId}. */
export async function demoConflict(w) {
  const g = await firstGift(w);
  await conflictOnNote(w, g.giftId);
  return g;
}
