// The store conformance suite: one set of checks every store (memory, PGlite, PostgreSQL) must pass. Each test gets a
// fresh store from `open()`; `concurrent` (PostgreSQL) adds checks with several workers on separate connections.
import { test } from "node:test";
import assert from "node:assert/strict";
import { comparableState, exportFromStore, importIntoStore, TransferError } from "../src/transfer.mjs";
import { SCHEMA_VERSION } from "../src/store/migrations.mjs";

const C = "cust-1";
const settings = { customerId: C, platformName: "Acme" };

export function storeConformance(name, open, { openMany } = {}) {
  const withStore = (title, fn) =>
    test(`${name}: ${title}`, async () => {
      const store = await open();
      try {
        await store.putCustomer(C, settings, 1000);
        await fn(store);
      } finally {
        await store.close();
      }
    });

  withStore("migrate is idempotent and reports the schema version", async (s) => {
    await s.migrate();
    const again = await s.migrate();
    assert.deepEqual(again.applied, []);
    assert.equal(await s.schemaVersion(), SCHEMA_VERSION);
  });

  withStore("customers: settings round-trip, revision grows, pause flag", async (s) => {
    const c = await s.getCustomer(C);
    assert.equal(c.settings.platformName, "Acme");
    assert.equal(c.rev, 1);
    assert.equal(await s.putCustomer(C, { ...settings, platformName: "Acme 2" }, 2000), 2);
    assert.equal((await s.getCustomer(C)).settings.platformName, "Acme 2");
    assert.equal(await s.getCustomer("nobody"), null);
    await s.setPaused(C, 5000);
    assert.equal((await s.getCustomer(C)).pausedAtMs, 5000);
    await s.setPaused(C, null);
    assert.equal((await s.getCustomer(C)).pausedAtMs, undefined);
    assert.deepEqual(await s.listCustomers(), [C]);
  });

  withStore("budget: read-modify-write keeps what fn returned", async (s) => {
    const r1 = await s.updateBudget(C, (st) => ({ state: { n: (st?.n ?? 0) + 1 }, result: st ?? null }));
    assert.equal(r1, null);
    const r2 = await s.updateBudget(C, (st) => ({ state: { n: st.n + 1 }, result: st.n }));
    assert.equal(r2, 1);
    assert.deepEqual((await s.getCustomer(C)).budget, { n: 2 });
    await assert.rejects(() => s.updateBudget("nobody", () => ({ state: {}, result: 0 })), { code: "unknown-customer" });
  });

  withStore("kv and counters", async (s) => {
    assert.equal(await s.kvGet(C, "cursor:gift"), undefined);
    await s.kvPut(C, "cursor:gift", { highWaterMs: 5, boundaryIds: ["1"] });
    assert.deepEqual(await s.kvGet(C, "cursor:gift"), { highWaterMs: 5, boundaryIds: ["1"] });
    await s.countersAdd(C, { writes: 2, echoes: 1 });
    await s.countersAdd(C, { writes: 3 });
    assert.deepEqual(await s.kvGet(C, "counters"), { writes: 5, echoes: 1 });
  });

  withStore("inbox: insert-if-absent by dedupe key", async (s) => {
    const e = { customerId: C, dedupeKey: "k1", receivedMs: 100, origin: "webhook", body: "{}", event: { rawEventType: "GiftCreate" } };
    const a = await s.inboxInsert(e);
    const b = await s.inboxInsert({ ...e, receivedMs: 200 });
    assert.equal(a.inserted, true);
    assert.equal(b.inserted, false);
    const got = await s.inboxGet(C, "k1");
    assert.equal(got.receivedMs, 100);
    assert.deepEqual(got.event, { rawEventType: "GiftCreate" });
  });

  withStore("inbox: claim → complete; a claimed entry is not claimed twice; a lapsed lease is reclaimed", async (s) => {
    await s.inboxInsert({ customerId: C, dedupeKey: "k1", receivedMs: 100, origin: "webhook", body: "{}", event: {} });
    await s.inboxInsert({ customerId: C, dedupeKey: "k2", receivedMs: 101, origin: "webhook", body: "{}", event: {} });
    const a = await s.inboxClaim({ owner: "A", nowMs: 200, leaseMs: 1000, limit: 1 });
    assert.equal(a.length, 1);
    assert.equal(a[0].dedupeKey, "k1");
    assert.equal(a[0].attempts, 1);
    const b = await s.inboxClaim({ owner: "B", nowMs: 200, leaseMs: 1000, limit: 10 });
    assert.deepEqual(b.map((x) => x.dedupeKey), ["k2"]);
    assert.equal(await s.inboxComplete(a[0].id, "B", 300), false, "only the lease owner completes");
    assert.equal(await s.inboxComplete(a[0].id, "A", 300), true);
    // B crashed: its lease lapses and A reclaims k2.
    const c = await s.inboxClaim({ owner: "A", nowMs: 1300, leaseMs: 1000, limit: 10 });
    assert.deepEqual(c.map((x) => [x.dedupeKey, x.attempts]), [["k2", 2]]);
    assert.equal(await s.inboxComplete(b[0].id, "B", 1400), false, "a lapsed lease cannot complete");
    assert.equal((await s.inboxClaim({ owner: "C", nowMs: 5000, leaseMs: 1000, limit: 10 })).length, 1);
  });

  withStore("inbox: release with backoff, busy release keeps the attempt count, dead letter", async (s) => {
    await s.inboxInsert({ customerId: C, dedupeKey: "k1", receivedMs: 100, origin: "webhook", body: "{\"x\":1}", event: {} });
    let [e] = await s.inboxClaim({ owner: "A", nowMs: 100, leaseMs: 1000, limit: 1 });
    assert.equal(await s.inboxRelease(e.id, "A", { dueMs: 500, error: "boom" }), true);
    assert.equal((await s.inboxClaim({ owner: "A", nowMs: 400, leaseMs: 1000, limit: 1 })).length, 0, "not due before 500");
    [e] = await s.inboxClaim({ owner: "A", nowMs: 500, leaseMs: 1000, limit: 1 });
    assert.equal(e.attempts, 2);
    assert.equal(e.lastError, "boom");
    await s.inboxRelease(e.id, "A", { dueMs: 600, countAttempt: false });
    [e] = await s.inboxClaim({ owner: "A", nowMs: 600, leaseMs: 1000, limit: 1 });
    assert.equal(e.attempts, 2, "a busy release does not count");
    assert.equal(await s.inboxDeadLetter(e.id, "A", "gave up", 700), true);
    assert.equal((await s.inboxClaim({ owner: "A", nowMs: 10_000, leaseMs: 1000, limit: 1 })).length, 0);
    const dl = await s.listDeadLetters(C);
    assert.equal(dl.length, 1);
    assert.equal(dl[0].dedupeKey, "k1");
    assert.equal((await s.statusCounts(C)).deadLetters, 1);
  });

  withStore("records: lock by compare-and-set; a second locker waits; a lapsed lock is taken over", async (s) => {
    const a = await s.lockRecord(C, "gift:v1", { owner: "A", nowMs: 100, leaseMs: 1000, create: { kind: "gift", virtuousId: "1" } });
    assert.ok(a);
    assert.equal(await s.lockRecord(C, "gift:v1", { owner: "B", nowMs: 200, leaseMs: 1000, create: { kind: "gift", virtuousId: "1" } }), null);
    assert.equal(await s.lockRecord(C, "gift:v1", { owner: "B", nowMs: 200, leaseMs: 1000 }), null);
    const b = await s.lockRecord(C, "gift:v1", { owner: "B", nowMs: 1200, leaseMs: 1000 });
    assert.ok(b, "lease lapsed");
    assert.ok(b.version > a.version);
    // A comes back from its pause: its commit must fail, and write nothing.
    await assert.rejects(
      () => s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "A", version: a.version, changeSeq: a.changeSeq, state: { state: "in-sync" }, log: [{ direction: "inbound", action: "apply", reason: "remote-changed" }], nowMs: 1300 }),
      { code: "lost-lock" },
    );
    assert.deepEqual(await s.timeline(C, "gift:v1"), []);
    await s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "B", version: b.version, changeSeq: b.changeSeq, state: { state: "in-sync", virtuousId: "1" }, log: [{ direction: "inbound", action: "apply", reason: "remote-changed" }], nowMs: 1300 });
    const r = await s.findRecord(C, { recordKey: "gift:v1" });
    assert.equal(r.state.state, "in-sync");
    assert.equal(r.lockOwner, undefined);
    assert.equal((await s.timeline(C, "gift:v1")).length, 1);
  });

  withStore("records: found by Virtuous id, partner id or external reference (normalised source)", async (s) => {
    const l = await s.lockRecord(C, "gift:p1", { owner: "A", nowMs: 1, leaseMs: 1000, create: { kind: "gift", partnerId: "p1" } });
    await s.commitRecord({
      customerId: C, recordKey: "gift:p1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 2,
      state: { state: "partner-pending", partnerId: "p1", externalRef: { source: " Acme ", id: "don-1" } },
    });
    assert.equal((await s.findRecord(C, { kind: "gift", partnerId: "p1" })).recordKey, "gift:p1");
    assert.equal((await s.findRecord(C, { kind: "gift", virtuousId: "99", refs: [{ source: "acme", id: "don-1" }] })).recordKey, "gift:p1");
    assert.equal(await s.findRecord(C, { kind: "contact", refs: [{ source: "acme", id: "don-1" }] }), null, "kind matters");
    assert.equal(await s.findRecord(C, { kind: "gift", refs: [{ source: "other", id: "don-1" }] }), null);
    // The batch links it: the Virtuous id is stored from the state.
    const l2 = await s.lockRecord(C, "gift:p1", { owner: "A", nowMs: 3, leaseMs: 1000 });
    await s.commitRecord({ customerId: C, recordKey: "gift:p1", owner: "A", version: l2.version, changeSeq: l2.changeSeq, nowMs: 4, state: { state: "in-sync", partnerId: "p1", virtuousId: "99", externalRef: { source: "Acme", id: "don-1" } } });
    assert.equal((await s.findRecord(C, { kind: "gift", virtuousId: "99" })).recordKey, "gift:p1");
    assert.equal(await s.lockRecord(C, "gift:v99", { owner: "B", nowMs: 5, leaseMs: 1000, create: { kind: "gift", virtuousId: "99" } }), null, "one record per Virtuous id");
  });

  withStore("records: a partner change during a unit of work keeps the record dirty", async (s) => {
    const key = await s.markDirty(C, { kind: "gift", partnerId: "p1" }, 10);
    assert.equal(key, "gift:p1");
    assert.deepEqual((await s.dueRecords({ nowMs: 10, limit: 10 })).map((r) => r.recordKey), ["gift:p1"]);
    const l = await s.lockRecord(C, key, { owner: "A", nowMs: 11, leaseMs: 1000 });
    assert.equal((await s.dueRecords({ nowMs: 12, limit: 10 })).length, 0, "locked records are not due");
    await s.markDirty(C, { kind: "gift", partnerId: "p1" }, 12); // the partner edits again meanwhile
    await s.commitRecord({ customerId: C, recordKey: key, owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 13, state: { state: "partner-pending", partnerId: "p1" }, dirty: false });
    const r = await s.findRecord(C, { recordKey: key });
    assert.equal(r.dirty, true);
    assert.equal((await s.dueRecords({ nowMs: 13, limit: 10 })).length, 1);
    const l2 = await s.lockRecord(C, key, { owner: "A", nowMs: 14, leaseMs: 1000 });
    await s.commitRecord({ customerId: C, recordKey: key, owner: "A", version: l2.version, changeSeq: l2.changeSeq, nowMs: 15, state: r.state, dirty: true, recheckMs: 100 });
    assert.equal((await s.dueRecords({ nowMs: 99, limit: 10 })).length, 0, "held until its recheck time");
    assert.equal((await s.dueRecords({ nowMs: 100, limit: 10 })).length, 1);
    await s.setPaused(C, 50);
    assert.equal((await s.dueRecords({ nowMs: 100, limit: 10 })).length, 0, "paused customers are not processed");
  });

  withStore("commit folds the stub the partner's hook made for the record being created, even while another worker holds the stub", async (s) => {
    // Worker A creates the record from Virtuous; meanwhile the partner's hook made a stub for the new partner id and
    // worker B locked that stub (the outbound path). A's commit must still succeed (not fail on the partner id's
    // uniqueness), and B's commit on the stub then finds it gone.
    const a = await s.lockRecord(C, "contact:v7", { owner: "A", nowMs: 1, leaseMs: 1000, create: { kind: "contact", virtuousId: "7" } });
    const stubKey = await s.markDirty(C, { kind: "contact", partnerId: "donor-7" }, 2);
    const b = await s.lockRecord(C, stubKey, { owner: "B", nowMs: 3, leaseMs: 1000 });
    assert.ok(b, "B holds the stub");
    await s.commitRecord({ customerId: C, recordKey: "contact:v7", owner: "A", version: a.version, changeSeq: a.changeSeq, nowMs: 4, state: { state: "in-sync", partnerId: "donor-7", virtuousId: "7" }, dirty: false });
    const r = await s.findRecord(C, { kind: "contact", partnerId: "donor-7" });
    assert.equal(r.recordKey, "contact:v7");
    assert.equal(r.dirty, true, "the partner's change is looked at on the real record");
    assert.equal(await s.findRecord(C, { recordKey: stubKey }), null, "the stub is gone");
    await assert.rejects(() => s.commitRecord({ customerId: C, recordKey: stubKey, owner: "B", version: b.version, changeSeq: b.changeSeq, nowMs: 5, state: null, dirty: true, recheckMs: 300 }), { code: "lost-lock" });
  });

  withStore("links: records are keyed by (product, kind, Virtuous id); a partner record's links share its partner id; partner changes concern its CRM+ link", async (s) => {
    // CRM+ contact 7 and Raise donor 7 are different records; both link partner record donor-7.
    const crm = await s.lockRecord(C, "contact:v7", { owner: "A", nowMs: 1, leaseMs: 1000, create: { kind: "contact", virtuousId: "7" } });
    await s.commitRecord({ customerId: C, recordKey: "contact:v7", owner: "A", version: crm.version, changeSeq: crm.changeSeq, nowMs: 2, state: { state: "in-sync", partnerId: "donor-7", virtuousId: "7" }, dirty: false });
    const raise = await s.lockRecord(C, "raise:contact:v7", { owner: "A", nowMs: 3, leaseMs: 1000, create: { product: "raise", kind: "contact", virtuousId: "7" } });
    assert.ok(raise, "the same Virtuous id under another product is another record");
    assert.equal(raise.product, "raise");
    await s.commitRecord({ customerId: C, recordKey: "raise:contact:v7", owner: "A", version: raise.version, changeSeq: raise.changeSeq, nowMs: 4, state: { state: "in-sync", product: "raise", partnerId: "donor-7", virtuousId: "7" }, dirty: false });
    assert.equal((await s.findRecord(C, { kind: "contact", virtuousId: "7" })).recordKey, "contact:v7", "CRM+ is the default product");
    assert.equal((await s.findRecord(C, { product: "raise", kind: "contact", virtuousId: "7" })).recordKey, "raise:contact:v7");
    assert.equal((await s.findRecord(C, { kind: "contact", partnerId: "donor-7" })).recordKey, "contact:v7");
    assert.equal(await s.findRecord(C, { product: "volunteer", kind: "contact", virtuousId: "7" }), null);
    const links = await s.partnerLinks(C, { kind: "contact", partnerId: "donor-7" });
    assert.deepEqual(links.map((l) => [l.recordKey, l.product]), [["contact:v7", "crm"], ["raise:contact:v7", "raise"]]);
    // One link per product per partner record: a second Raise record cannot take donor-7.
    const other = await s.lockRecord(C, "raise:contact:v8", { owner: "A", nowMs: 5, leaseMs: 1000, create: { product: "raise", kind: "contact", virtuousId: "8" } });
    await assert.rejects(() => s.commitRecord({ customerId: C, recordKey: "raise:contact:v8", owner: "A", version: other.version, changeSeq: other.changeSeq, nowMs: 6, state: { state: "in-sync", product: "raise", partnerId: "donor-7", virtuousId: "8" } }), (e) => e.code === "unique-violation" || /unique|duplicate/i.test(e.message));
    await s.unlockRecord(C, "raise:contact:v8", "A", other.version).catch(() => {});
    // The partner's change hook marks the CRM+ link (never a product link) dirty.
    assert.equal(await s.markDirty(C, { kind: "contact", partnerId: "donor-7" }, 10), "contact:v7");
    assert.equal((await s.findRecord(C, { recordKey: "raise:contact:v7" })).dirty, false);
    assert.deepEqual((await s.listRecords(C, { product: "raise" })).map((r) => r.recordKey), ["raise:contact:v7", "raise:contact:v8"]);
    assert.equal((await s.findRecord(C, { recordKey: "raise:contact:v8" })).partnerId, undefined, "the refused commit stored nothing");
    // Links travel with a moved customer.
    const doc = await exportFromStore(s, C, { nowMs: 100 });
    assert.deepEqual(doc.records.map((r) => [r.recordKey, r.product ?? "crm"]).sort(), [["contact:v7", "crm"], ["raise:contact:v7", "raise"], ["raise:contact:v8", "raise"]]);
  });

  withStore("moving a customer: export then import (as another customer id) gives the same state; a second import is refused", async (s) => {
    // A record in conflict with a queued write, a processed and an unprocessed delivery, cursors, counters, the
    // budget, a review item and a dead letter.
    await s.updateBudget(C, () => ({ state: { limit: 5000, remaining: 4990 }, result: null }));
    await s.kvPut(C, "cursor:contact", { highWaterMs: 123, idsAtMax: ["7"] });
    await s.countersAdd(C, { applied: 3, echoes: 1 });
    await s.inboxInsert({ customerId: C, dedupeKey: "done-1", receivedMs: 900_000, origin: "webhook", body: "{}", event: { eventType: "contact-update" } });
    const [e] = await s.inboxClaim({ owner: "A", nowMs: 900_000, leaseMs: 1000, limit: 1 });
    const l = await s.lockRecord(C, "contact:v7", { owner: "A", nowMs: 900_000, leaseMs: 1000, create: { kind: "contact", virtuousId: "7" } });
    const state = { state: "conflict", kind: "contact", partnerId: "donor-7", virtuousId: "7", externalRef: { source: "Acme", id: "donor-7" }, base: { name: "x" } };
    await s.commitRecord({ customerId: C, recordKey: "contact:v7", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 900_001, state, dirty: false, outbox: [{ put: { method: "PUT", path: "/api/Contact/7", body: { name: "Ada" } } }], inbox: { id: e.id, owner: "A" } });
    await s.inboxInsert({ customerId: C, dedupeKey: "pending-1", receivedMs: 900_002, origin: "webhook", body: "{}", event: { eventType: "contact-update", resourceId: "7" } });
    await s.addReview(C, "surface-unmatched", { row: 1 }, 900_003);
    await s.deadLetter({ customerId: C, origin: "inbox", dedupeKey: "bad-1", body: "{}", error: "invalid-event: x", atMs: 900_004 });
    const doc = await exportFromStore(s, C, { nowMs: 1_000_000 });
    assert.equal(doc.records.length, 1);
    assert.deepEqual(doc.dedupe.map((d) => d.dedupeKey), ["done-1"]);
    assert.deepEqual(doc.inbox.map((d) => d.dedupeKey), ["pending-1"]);
    const C2 = "cust-2";
    await s.putCustomer(C2, { ...settings, customerId: C2 }, 1000);
    await importIntoStore(s, { ...doc, customerId: C2 });
    const back = await exportFromStore(s, C2, { nowMs: 1_000_000 });
    assert.deepEqual({ ...comparableState(back), customerId: C }, comparableState(doc));
    // The imported record is found by every key (the link index) and its write is due; the dedupe key is known.
    assert.equal((await s.findRecord(C2, { kind: "contact", refs: [{ source: "acme", id: "donor-7" }] }))?.recordKey, "contact:v7");
    assert.equal((await s.findRecord(C2, { kind: "contact", partnerId: "donor-7" }))?.recordKey, "contact:v7");
    assert.equal((await s.inboxInsert({ customerId: C2, dedupeKey: "done-1", receivedMs: 1_000_001, origin: "webhook", body: "{}", event: {} })).inserted, false);
    assert.equal((await s.getOutbox(C2, "contact:v7")).request.path, "/api/Contact/7");
    await assert.rejects(() => importIntoStore(s, { ...doc, customerId: C2 }), (err) => err instanceof TransferError && err.code === "not-empty");
    await assert.rejects(() => importIntoStore(s, { ...doc, customerId: "nobody" }), (err) => err.code === "unknown-customer");
    await assert.rejects(() => importIntoStore(s, { ...doc, version: 2 }), (err) => err.code === "unknown-version");
  });

  withStore("commit: state, log, outbox and inbox completion are one transaction", async (s) => {
    await s.inboxInsert({ customerId: C, dedupeKey: "k1", receivedMs: 1, origin: "webhook", body: "{}", event: {} });
    const [e] = await s.inboxClaim({ owner: "A", nowMs: 1, leaseMs: 1000, limit: 1 });
    const l = await s.lockRecord(C, "gift:p1", { owner: "A", nowMs: 1, leaseMs: 1000, create: { kind: "gift", partnerId: "p1" } });
    // A lapsed inbox lease makes the whole commit fail.
    await s.inboxClaim({ owner: "B", nowMs: 5000, leaseMs: 1000, limit: 1 });
    await assert.rejects(
      () => s.commitRecord({ customerId: C, recordKey: "gift:p1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 5001, state: { state: "in-sync" }, log: [{ direction: "inbound", action: "apply", reason: "x" }], outbox: [{ put: { method: "PUT", path: "/api/Gift/1", body: {} } }], inbox: { id: e.id, owner: "A" } }),
      (err) => ["lost-lease", "lost-lock"].includes(err.code),
    );
    const r = await s.findRecord(C, { recordKey: "gift:p1" });
    assert.equal(r.state, null, "state not written");
    assert.equal(r.lockOwner, "A", "still locked by A (A unlocks on failure)");
    assert.deepEqual(await s.timeline(C, "gift:p1"), []);
    assert.equal(await s.getOutbox(C, "gift:p1"), null);
    assert.equal(await s.unlockRecord(C, "gift:p1", "A", l.version), true);
  });

  withStore("outbox: one entry per record; newer replaces queued; in-flight finishes first", async (s) => {
    const commit = async (outbox, t) => {
      const l = await s.lockRecord(C, "gift:p1", { owner: "A", nowMs: t, leaseMs: 1000, create: { kind: "gift", partnerId: "p1" } });
      await s.commitRecord({ customerId: C, recordKey: "gift:p1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: t, state: { state: "partner-pending" }, outbox });
    };
    const req = (n) => ({ method: "PUT", path: "/api/Gift/1", body: { n } });
    await commit([{ put: req(1) }], 10);
    await commit([{ put: req(2) }], 11);
    let all = await s.listOutbox(C);
    assert.equal(all.length, 1);
    assert.deepEqual(all[0].request.body, { n: 2 });
    const [leased] = await s.leaseOutbox({ owner: "S", nowMs: 20, leaseMs: 1000, limit: 5 });
    assert.deepEqual(leased.request.body, { n: 2 });
    assert.equal((await s.leaseOutbox({ owner: "T", nowMs: 21, leaseMs: 1000, limit: 5 })).length, 0, "leased once");
    await commit([{ put: req(3) }], 22); // while 2 is in flight
    assert.deepEqual((await s.getOutbox(C, "gift:p1")).request.body, { n: 2 }, "in-flight request unchanged");
    // 2 fails transiently: 3 replaces it (retry only while newest).
    await s.finishOutbox(C, "gift:p1", "S", { retryAtMs: 5000, error: "503" }, 30);
    all = await s.listOutbox(C);
    assert.deepEqual(all.map((x) => [x.request.body.n, x.status, x.attempts]), [[3, "queued", 0]]);
    const [l3] = await s.leaseOutbox({ owner: "S", nowMs: 31, leaseMs: 1000, limit: 5 });
    assert.equal(await s.finishOutbox(C, "gift:p1", "X", { done: true }, 32), false, "only the lessee finishes");
    await s.finishOutbox(C, "gift:p1", "S", { retryAtMs: 100, error: "503", status: 503 }, 32);
    let e = await s.getOutbox(C, "gift:p1");
    assert.deepEqual([e.status, e.attempts, e.dueMs, e.lastStatus], ["queued", 1, 100, 503]);
    assert.equal((await s.leaseOutbox({ owner: "S", nowMs: 99, leaseMs: 1000, limit: 5 })).length, 0);
    await s.leaseOutbox({ owner: "S", nowMs: 100, leaseMs: 1000, limit: 5 });
    await s.finishOutbox(C, "gift:p1", "S", { done: true }, 101);
    assert.equal(await s.getOutbox(C, "gift:p1"), null);
    assert.ok(l3);
  });

  withStore("outbox: a confirm drops queued writes and an in-flight one is not retried", async (s) => {
    const commit = async (outbox, t) => {
      const l = await s.lockRecord(C, "gift:p1", { owner: "A", nowMs: t, leaseMs: 1000, create: { kind: "gift", partnerId: "p1" } });
      await s.commitRecord({ customerId: C, recordKey: "gift:p1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: t, state: { state: "in-sync" }, outbox });
    };
    await commit([{ put: { method: "PUT", path: "/x", body: {} } }], 1);
    await commit([{ drop: true }], 2);
    assert.equal(await s.getOutbox(C, "gift:p1"), null);
    await commit([{ put: { method: "PUT", path: "/x", body: {} } }], 3);
    await s.leaseOutbox({ owner: "S", nowMs: 4, leaseMs: 1000, limit: 5 });
    await commit([{ drop: true }], 5);
    await s.finishOutbox(C, "gift:p1", "S", { retryAtMs: 10, error: "timeout" }, 6);
    assert.equal(await s.getOutbox(C, "gift:p1"), null, "confirmed while in flight: never resent");
    // A crashed submitter's lease lapses: the entry is leased again.
    await commit([{ put: { method: "PUT", path: "/y", body: {} } }], 7);
    await s.leaseOutbox({ owner: "S", nowMs: 8, leaseMs: 10, limit: 5 });
    const again = await s.leaseOutbox({ owner: "T", nowMs: 100, leaseMs: 10, limit: 5 });
    assert.equal(again.length, 1);
    await s.finishOutbox(C, "gift:p1", "T", { failed: true, error: "400", status: 400 }, 101);
    const st = await s.statusCounts(C);
    assert.equal(st.failedWrites, 1);
    assert.equal(st.outboxDepth, 1);
  });

  withStore("a send's end and a commit of the same record at once (another worker deciding its echo): both finish, never a deadlock", async (s) => {
    const put = { method: "PUT", path: "/api/Gift/1", body: { id: 1, notes: "x" } };
    for (let i = 0; i < 25; i++) {
      const key = `gift:v${i}`;
      const l0 = await s.lockRecord(C, key, { owner: "A", nowMs: 1, leaseMs: 1000, create: { kind: "gift", virtuousId: String(i), partnerId: `p${i}` } });
      await s.commitRecord({ customerId: C, recordKey: key, owner: "A", version: l0.version, changeSeq: l0.changeSeq, nowMs: 2, state: { state: "partner-pending", virtuousId: String(i), partnerId: `p${i}` }, outbox: [{ put }] });
      await s.leaseOutbox({ owner: "S", nowMs: 3, leaseMs: 1000, limit: 100 });
      const l = await s.lockRecord(C, key, { owner: "B", nowMs: 4, leaseMs: 1000 });
      const outcome = i % 2 ? { done: true, written: put } : { done: true };
      const [committed, finished] = await Promise.allSettled([
        s.commitRecord({ customerId: C, recordKey: key, owner: "B", version: l.version, changeSeq: l.changeSeq, nowMs: 5, state: { state: "in-sync", virtuousId: String(i), partnerId: `p${i}` }, outbox: [{ drop: true }] }),
        s.finishOutbox(C, key, "S", outcome, 5),
      ]);
      assert.equal(finished.status, "fulfilled", String(finished.reason));
      assert.equal(finished.value, true);
      // The commit wins or loses its lock to the 2xx (a written report breaks it), but never fails otherwise.
      if (committed.status === "rejected") assert.equal(committed.reason?.code, "lost-lock", String(committed.reason));
      assert.equal(await s.getOutbox(C, key), null, "the sent entry is gone");
    }
  });

  withStore("full-record PUTs: a 2xx stored on the record until reported (a lock held on it broken); a failure decides the record again; a lapsed lease says so", async (s) => {
    const put = { method: "PUT", path: "/api/Gift/1", body: { id: 1, notes: "x" } };
    const l0 = await s.lockRecord(C, "gift:v1", { owner: "A", nowMs: 1, leaseMs: 1000, create: { kind: "gift", virtuousId: "1", partnerId: "p1" } });
    await s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "A", version: l0.version, changeSeq: l0.changeSeq, nowMs: 2, state: { state: "partner-pending", virtuousId: "1", partnerId: "p1" }, dirty: false, outbox: [{ put }] });
    const [e] = await s.leaseOutbox({ owner: "S", nowMs: 3, leaseMs: 1000, limit: 5 });
    assert.equal(e.leasedBefore, undefined, "a first lease");
    // A worker holds the record (deciding a record it may have fetched after the 2xx) when the 2xx is stored.
    const held = await s.lockRecord(C, "gift:v1", { owner: "B", nowMs: 4, leaseMs: 1000 });
    assert.equal(await s.finishOutbox(C, "gift:v1", "S", { done: true, written: put }, 5), true);
    assert.equal(await s.getOutbox(C, "gift:v1"), null);
    let r = await s.findRecord(C, { recordKey: "gift:v1" });
    assert.deepEqual(r.written, put);
    assert.deepEqual([r.dirty, r.recheckMs, r.lockOwner], [true, 5, undefined], "due now, the lock broken");
    await assert.rejects(
      s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "B", version: held.version, changeSeq: held.changeSeq, nowMs: 6, state: { state: "in-sync" } }),
      (err) => err.code === "lost-lock",
      "the holder decides again, after the report",
    );
    assert.equal((await s.dueRecords({ nowMs: 6, limit: 10 })).length, 1);
    // The report: a commit naming another request leaves the marker; the one it names clears it.
    let l = await s.lockRecord(C, "gift:v1", { owner: "A", nowMs: 7, leaseMs: 1000 });
    assert.deepEqual(l.written, put);
    await s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 8, state: { state: "in-sync", virtuousId: "1", partnerId: "p1" }, reported: { ...put, body: { id: 1, notes: "older" } } });
    assert.deepEqual((await s.findRecord(C, { recordKey: "gift:v1" })).written, put);
    l = await s.lockRecord(C, "gift:v1", { owner: "A", nowMs: 9, leaseMs: 1000 });
    await s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 10, state: { state: "in-sync", virtuousId: "1", partnerId: "p1" }, reported: { body: { notes: "x", id: 1 }, path: "/api/Gift/1", method: "PUT" } });
    r = await s.findRecord(C, { recordKey: "gift:v1" });
    assert.equal(r.written, undefined, "reported (compared as JSON, key order aside)");
    assert.equal(r.dirty, false);
    // A failure: the entry is gone (never resent) and the record is due at the retry time.
    l = await s.lockRecord(C, "gift:v1", { owner: "A", nowMs: 11, leaseMs: 1000 });
    await s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 12, state: { state: "partner-pending", virtuousId: "1", partnerId: "p1" }, outbox: [{ put }] });
    await s.leaseOutbox({ owner: "S", nowMs: 13, leaseMs: 10, limit: 5 });
    // The submitter dies mid-send: the next lease says the entry was in flight.
    const [lapsed] = await s.leaseOutbox({ owner: "T", nowMs: 30, leaseMs: 1000, limit: 5 });
    assert.equal(lapsed.leasedBefore, true);
    assert.equal(await s.finishOutbox(C, "gift:v1", "T", { redecide: true, retryAtMs: 500, error: "lease-lapsed" }, 31), true);
    assert.equal(await s.getOutbox(C, "gift:v1"), null);
    r = await s.findRecord(C, { recordKey: "gift:v1" });
    assert.deepEqual([r.dirty, r.recheckMs, r.written], [true, 500, undefined]);
    assert.equal((await s.dueRecords({ nowMs: 499, limit: 10 })).length, 0);
    assert.equal((await s.dueRecords({ nowMs: 500, limit: 10 })).length, 1);
    // The redecided write's attempts carry to the record's next write (a new entry, built from a fresh fetch).
    assert.deepEqual(r.retry, { attempts: 1, lastError: "lease-lapsed", lastStatus: null, request: { method: "PUT", path: "/api/Gift/1" } });
    l = await s.lockRecord(C, "gift:v1", { owner: "A", nowMs: 500, leaseMs: 1000 });
    await s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 501, state: { state: "partner-pending", virtuousId: "1", partnerId: "p1" }, outbox: [{ put }] });
    let o = await s.getOutbox(C, "gift:v1");
    assert.deepEqual([o.attempts, o.lastError], [1, "lease-lapsed"], "the next write starts from the carried attempts");
    assert.equal((await s.findRecord(C, { recordKey: "gift:v1" })).retry, undefined, "handed on, not kept twice");
    await s.leaseOutbox({ owner: "S", nowMs: 502, leaseMs: 1000, limit: 5 });
    assert.equal(await s.finishOutbox(C, "gift:v1", "S", { redecide: true, retryAtMs: 600, error: "server-error", status: 500 }, 503), true);
    assert.deepEqual((await s.findRecord(C, { recordKey: "gift:v1" })).retry, { attempts: 2, lastError: "server-error", lastStatus: 500, request: { method: "PUT", path: "/api/Gift/1" } });
    assert.equal((await s.statusCounts(C)).retryingWrites, 0, "between tries the record has no entry");
    // A delivery decided meanwhile (the record stays dirty) keeps them; a budget wait does not count.
    l = await s.lockRecord(C, "gift:v1", { owner: "A", nowMs: 504, leaseMs: 1000 });
    await s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 505, state: { state: "partner-pending", virtuousId: "1", partnerId: "p1" }, dirty: true, recheckMs: 600 });
    assert.equal((await s.findRecord(C, { recordKey: "gift:v1" })).retry?.attempts, 2);
    l = await s.lockRecord(C, "gift:v1", { owner: "A", nowMs: 600, leaseMs: 1000 });
    await s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 601, state: { state: "partner-pending", virtuousId: "1", partnerId: "p1" }, outbox: [{ put }] });
    await s.leaseOutbox({ owner: "S", nowMs: 602, leaseMs: 1000, limit: 5 });
    await s.finishOutbox(C, "gift:v1", "S", { redecide: true, retryAtMs: 700, error: "budget: empty", countAttempt: false }, 603);
    assert.equal((await s.findRecord(C, { recordKey: "gift:v1" })).retry?.attempts, 2, "a budget wait is not an attempt");
    l = await s.lockRecord(C, "gift:v1", { owner: "A", nowMs: 700, leaseMs: 1000 });
    await s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 701, state: { state: "partner-pending", virtuousId: "1", partnerId: "p1" }, outbox: [{ put }] });
    await s.leaseOutbox({ owner: "S", nowMs: 702, leaseMs: 1000, limit: 5 });
    await s.finishOutbox(C, "gift:v1", "S", { redecide: true, retryAtMs: 800, error: "server-error", status: 500 }, 703);
    l = await s.lockRecord(C, "gift:v1", { owner: "A", nowMs: 800, leaseMs: 1000 });
    await s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 801, state: { state: "partner-pending", virtuousId: "1", partnerId: "p1" }, outbox: [{ put }] });
    assert.equal((await s.getOutbox(C, "gift:v1")).attempts, 3);
    assert.equal((await s.statusCounts(C)).retryingWrites, 1, "a write Virtuous keeps failing shows as retrying");
    await s.leaseOutbox({ owner: "S", nowMs: 802, leaseMs: 1000, limit: 5 });
    await s.finishOutbox(C, "gift:v1", "S", { redecide: true, retryAtMs: 900, error: "server-error", status: 500 }, 803);
    // Decided again and nothing left to send (the fetch showed the write landed): the record is clean, the count gone.
    l = await s.lockRecord(C, "gift:v1", { owner: "A", nowMs: 900, leaseMs: 1000 });
    await s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 901, state: { state: "in-sync", virtuousId: "1", partnerId: "p1" }, dirty: false });
    assert.equal((await s.findRecord(C, { recordKey: "gift:v1" })).retry, undefined);
    // A 2xx clears them too; the next write starts from 0.
    l = await s.lockRecord(C, "gift:v1", { owner: "A", nowMs: 902, leaseMs: 1000 });
    await s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 903, state: { state: "partner-pending", virtuousId: "1", partnerId: "p1" }, outbox: [{ put }] });
    o = await s.getOutbox(C, "gift:v1");
    assert.deepEqual([o.attempts, o.lastError ?? null], [0, null]);
  });

  withStore("status counts, review queue, timeline order", async (s) => {
    await s.inboxInsert({ customerId: C, dedupeKey: "k1", receivedMs: 77, origin: "webhook", body: "{}", event: {} });
    await s.inboxInsert({ customerId: C, dedupeKey: "k2", receivedMs: 88, origin: "reconcile", event: {} });
    const l = await s.lockRecord(C, "contact:v5", { owner: "A", nowMs: 1, leaseMs: 1000, create: { kind: "contact", virtuousId: "5" } });
    await s.commitRecord({
      customerId: C, recordKey: "contact:v5", owner: "A", version: l.version, changeSeq: l.changeSeq, nowMs: 2,
      state: { state: "conflict", virtuousId: "5", conflict: [{ field: "name" }] },
      log: [{ direction: "inbound", action: "create", reason: "new-record" }, { direction: "inbound", action: "conflict", reason: "both-changed", detail: { f: 1 } }],
    });
    const st = await s.statusCounts(C);
    assert.equal(st.inboxPending, 2);
    assert.equal(st.lastDeliveryMs, 77, "only webhook deliveries count as deliveries");
    assert.equal(st.conflicts, 1);
    assert.deepEqual((await s.listRecords(C, { state: "conflict" })).map((r) => r.recordKey), ["contact:v5"]);
    assert.deepEqual((await s.timeline(C, "contact:v5")).map((e) => e.reason), ["new-record", "both-changed"]);
    await s.addReview(C, "shared-value", { partnerIds: ["a"] }, 3);
    const rv = await s.listReview(C);
    assert.equal(rv.length, 1);
    assert.deepEqual(rv[0].item, { partnerIds: ["a"] });
    // Resolving: once, by id, for this customer only; the item keeps what it had and gains the resolution.
    assert.equal(await s.resolveReview("other-customer", rv[0].id, { partnerId: "a" }, 4), null);
    assert.equal(await s.resolveReview(C, "no-such-id", { partnerId: "a" }, 4), null);
    const done = await s.resolveReview(C, rv[0].id, { partnerId: "a" }, 4);
    assert.deepEqual([done.id, done.kind, done.status, done.item], [rv[0].id, "shared-value", "resolved", { partnerIds: ["a"], resolution: { partnerId: "a" }, resolvedMs: 4 }]);
    assert.equal(await s.resolveReview(C, rv[0].id, { partnerId: "b" }, 5), null, "an item is resolved once");
    assert.deepEqual(await s.listReview(C), []);
    assert.deepEqual((await s.listReview(C, { status: "resolved" })).map((r) => r.item.resolution), [{ partnerId: "a" }]);
  });

  if (openMany) {
    test(`${name}: concurrent workers never interleave one record and claim each entry once`, async () => {
      const stores = await openMany(4);
      try {
        await stores[0].putCustomer(C, settings, 1);
        for (let i = 0; i < 40; i++) await stores[0].inboxInsert({ customerId: C, dedupeKey: `k${i}`, receivedMs: 1, origin: "webhook", event: {} });
        const l0 = await stores[0].lockRecord(C, "gift:v1", { owner: "init", nowMs: 1, leaseMs: 60_000, create: { kind: "gift", virtuousId: "1" } });
        await stores[0].commitRecord({ customerId: C, recordKey: "gift:v1", owner: "init", version: l0.version, changeSeq: l0.changeSeq, nowMs: 1, state: { n: 0 } });
        const claimedBy = new Map();
        let inside = 0;
        let maxInside = 0;
        await Promise.all(
          stores.map(async (s, w) => {
            for (;;) {
              const batch = await s.inboxClaim({ owner: `w${w}`, nowMs: 10, leaseMs: 60_000, limit: 3 });
              if (!batch.length) break;
              for (const e of batch) {
                assert.equal(claimedBy.has(e.dedupeKey), false, `${e.dedupeKey} claimed twice`);
                claimedBy.set(e.dedupeKey, w);
                // Increment the shared record under its lock (retry while another worker holds it).
                for (;;) {
                  const l = await s.lockRecord(C, "gift:v1", { owner: `w${w}`, nowMs: 10, leaseMs: 60_000 });
                  if (!l) {
                    await new Promise((r) => setTimeout(r, 1));
                    continue;
                  }
                  inside++;
                  maxInside = Math.max(maxInside, inside);
                  await new Promise((r) => setTimeout(r, 1));
                  inside--;
                  await s.commitRecord({ customerId: C, recordKey: "gift:v1", owner: `w${w}`, version: l.version, changeSeq: l.changeSeq, nowMs: 10, state: { n: l.state.n + 1 }, inbox: { id: e.id, owner: `w${w}` } });
                  break;
                }
              }
            }
          }),
        );
        assert.equal(claimedBy.size, 40);
        assert.equal(maxInside, 1, "never two workers inside one record");
        assert.deepEqual((await stores[0].findRecord(C, { recordKey: "gift:v1" })).state, { n: 40 });
        assert.equal((await stores[0].statusCounts(C)).inboxPending, 0);
        assert.ok(new Set(claimedBy.values()).size > 1, "the work was shared");
      } finally {
        for (const s of stores) await s.close();
      }
    });
  }
}
