// The store methods the status page and retention use, on every store (memory, PGlite, a real PostgreSQL 15):
// recentDecisions (newest first, per customer, limited) and prune (by age, per customer; finished inbox entries keep
// their dedupe key).
import { test } from "node:test";
import assert from "node:assert/strict";
import { openMemory, openPglite, openPostgres } from "./support/stores.mjs";

for (const [name, open] of [["memory", openMemory], ["pglite", openPglite], ["postgres", openPostgres]]) {
  test(`${name}: recentDecisions and prune`, async () => {
    const s = await open();
    try {
      await s.migrate?.();
      for (const id of ["a", "b"]) await s.putCustomer(id, { customerId: id }, 1);
      for (let i = 1; i <= 5; i++) await s.logDecision("a", `gift:${i}`, i * 100, { direction: "inbound", action: "apply", reason: `r${i}`, detail: { changedFields: ["notes"] } });
      await s.logDecision("b", null, 50, { direction: "receive", action: "401", reason: "signature-mismatch" });
      const recent = await s.recentDecisions("a", { limit: 3 });
      assert.deepEqual(recent.map((d) => [d.recordKey, d.atMs, d.reason]), [["gift:5", 500, "r5"], ["gift:4", 400, "r4"], ["gift:3", 300, "r3"]]);
      assert.deepEqual(recent[0].detail, { changedFields: ["notes"] });
      assert.equal((await s.recentDecisions("b")).length, 1);

      await s.deadLetter({ customerId: "a", origin: "receipt", dedupeKey: "d1", body: "{", error: "malformed-json", atMs: 100 });
      await s.deadLetter({ customerId: "a", origin: "receipt", dedupeKey: "d2", body: "{", error: "malformed-json", atMs: 900 });
      const ins = await s.inboxInsert({ customerId: "a", dedupeKey: "k1", receivedMs: 100, origin: "webhook", body: "{}", event: { eventType: "gift-update" } });
      const [claimed] = await s.inboxClaim({ owner: "w", nowMs: 100, leaseMs: 1000, limit: 1 });
      assert.equal(claimed.id, ins.id);
      await s.inboxComplete(claimed.id, "w", 150);

      const r = await s.prune("a", { decisionsBeforeMs: 300, deadLettersBeforeMs: 500, inboxBeforeMs: 200 });
      assert.deepEqual(r, { decisions: 2, deadLetters: 1, inboxEvents: 1 });
      assert.deepEqual((await s.recentDecisions("a")).map((d) => d.reason), ["r5", "r4", "r3"]);
      assert.deepEqual((await s.listDeadLetters("a")).map((d) => d.dedupeKey), ["d2"]);
      assert.equal((await s.recentDecisions("b")).length, 1, "another customer's decisions untouched");
      const kept = await s.inboxGet("a", "k1");
      assert.ok(kept, "the dedupe key stays");
      assert.equal(kept.event ?? undefined, undefined);
      assert.equal((await s.inboxInsert({ customerId: "a", dedupeKey: "k1", receivedMs: 999, origin: "webhook", body: "{}", event: {} })).inserted, false);
      assert.deepEqual(await s.prune("a", { decisionsBeforeMs: 300, deadLettersBeforeMs: 500, inboxBeforeMs: 200 }), { decisions: 0, deadLetters: 0, inboxEvents: 0 });
    } finally {
      await s.close();
    }
  });
}
