// A host run that logs as much as it can (observe.test.mjs searches this process's output for the secret, the API
// token and payload values): the JSON logger on stderr, every decision's hook output and the status and metrics on
// stdout; a forged delivery, a partner that fails until the entry is dead-lettered, a store that fails a receive.
import { Host, MemoryStore, jsonLogger, metrics, prometheus } from "../../src/index.mjs";
import { customerSettings, manualClock, memoryPartner, signed, SECRET } from "./harness.mjs";

const C = "tenant-1";
const clock = manualClock();
const store = new MemoryStore();
const partner = memoryPartner({ now: clock.now });
const log = jsonLogger({ clock: clock.now });
const host = new Host({
  store, partner, clock, log,
  onDecision: (d) => console.log("decision", d.direction, d.action, d.reason, d.recordKey ?? ""),
  fetch: async () => new Response(JSON.stringify({ error: { message: "nope" } }), { status: 400 }),
});
await host.putCustomer(customerSettings(C, "http://virtuous.test", { inbox: { maxAttempts: 2 } }));
const gift = (id) => ({ event: "GiftCreate", gift: { id, amount: 25, giftDate: "2026-11-29", notes: "donor-private-note-7781", contact: { email: "ada-private@example.org" }, modifiedDateTimeUtc: "2026-11-30T11:00:00Z" } });
const d = signed(gift(1));
await host.receive(C, d.text, { ...d.headers, "x-virtuous-signature": signed(d.text, "x".repeat(40)).headers["x-virtuous-signature"] });
partner.failNext = 5;
await host.receive(C, d.text, d.headers);
for (let i = 0; i < 4; i++) {
  await host.drain();
  clock.advance(10 * 60_000);
}
const insert = store.inboxInsert;
store.inboxInsert = async () => {
  throw new Error("disk full");
};
const d2 = signed(gift(2));
await host.receive(C, d2.text, d2.headers);
store.inboxInsert = insert;
console.log(JSON.stringify(await host.status(C)));
console.log(prometheus(await metrics(host)));
console.log(JSON.stringify(await host.store.listDeadLetters(C)));
await host.stop();
