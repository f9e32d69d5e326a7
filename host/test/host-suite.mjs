// Host behaviour on any store (run by host-memory, host-pglite and host-postgres.test.mjs) with a scripted Virtuous (a fetch that answers from a list): receiving,
// processing, the outbox and the submitter, crash recovery, per-record serialisation. End-to-end tests against
// the local Virtuous are in e2e.test.mjs.
import { test as nodeTest } from "node:test";
import assert from "node:assert/strict";
import { HostError, lookupKeys, reconcileInterval } from "../src/index.mjs";
import { SyncCore } from "virtuous-sync";
import { customerSettings, makeHost, manualClock, memoryPartner, signed, PLATFORM, SECRET } from "./support/harness.mjs";

export function hostSuite(name, openStore) {
  const test = (title, fn) => nodeTest(`${name}: ${title}`, async () => {
    opened.length = 0;
    partners.length = 0;
    try {
      await fn();
    } finally {
      // Change hooks fire after an apply returned: let them finish before the store closes.
      for (const p of partners) await p.idle();
      for (const s of opened) await s.close();
    }
  });
  const opened = [];
  const partners = [];
  const open0 = openStore;
  openStore = async () => {
    const s = await open0();
    opened.push(s);
    return s;
  };
  const C = "tenant-1";
  const giftEvent = (id, modified, gift = {}) => ({
    event: "GiftCreate",
    gift: withDesignations({ id, amount: 25, giftDate: "2026-11-29", giftType: "Cash", currencyCode: "USD", modifiedDateTimeUtc: modified, ...gift }),
  });
  // Live gift deliveries carry the designations; the amount and its designations are one field group.
  const withDesignations = (g) => ({ giftDesignations: [{ projectCode: "GEN", amountDesignated: g.amount }], ...g });

  /** Drains, lets the partner's change hooks fire (they run after an apply returns), and drains again. */
  async function settle(host, rounds = 3) {
    for (let i = 0; i < rounds; i++) {
      await host.drain();
      await new Promise((r) => setImmediate(r));
      // A hook's report is a store write: on PostgreSQL under load it can outlast a turn of the loop.
      for (const p of partners) await p.idle();
    }
  }

  /** A fetch that records requests and answers from `script` (a function of the request), default 200 {}. */
  function scriptedVirtuous(script = () => ({ status: 200, body: {} })) {
    const requests = [];
    const fetch = async (url, init) => {
      const u = new URL(url);
      const req = { method: init.method, path: u.pathname, search: u.search, body: init.body ? JSON.parse(init.body) : undefined, headers: init.headers };
      requests.push(req);
      const r = await script(req, requests.length);
      if (r === "network") throw new TypeError("fetch failed");
      return new Response(r.body === undefined ? "" : JSON.stringify(r.body), { status: r.status, headers: r.headers ?? {} });
    };
    return { fetch, requests };
  }

  async function setup({ script, clock = manualClock(), extra } = {}) {
    const store = await openStore();
    const partner = memoryPartner({ now: clock.now });
    partners.push(partner);
    const v = scriptedVirtuous(script);
    const host = makeHost(store, { partner, clock, fetch: v.fetch });
    partner.onChange((c) => host.reportPartnerChange({ customerId: C, ...c }));
    await host.putCustomer(customerSettings(C, "http://virtuous.test", extra));
    return { store, partner, host, clock, v };
  }

  test("lookupKeys: the core's keys, Virtuous id and our own references only (source compared trimmed, any case)", () => {
    const core = new SyncCore({ secrets: [SECRET], platformName: PLATFORM, sync: { customerId: "c" } });
    try {
      const k = lookupKeys(core, { eventType: "gift-update", rawEventType: "GiftUpdate", resourceKind: "gift", resourceId: "7", resource: { id: 7, transactionSource: " acme giving ", transactionId: "don-1" } });
      assert.deepEqual(k, { kind: "gift", virtuousId: "7", refs: [{ source: "acme giving", id: "don-1" }] });
      const other = lookupKeys(core, { eventType: "gift-update", rawEventType: "GiftUpdate", resourceKind: "gift", resourceId: "7", resource: { id: 7, transactionSource: "Other", transactionId: "x" } });
      assert.deepEqual(other.refs, []);
      const contact = lookupKeys(core, { eventType: "contact-update", rawEventType: "ContactUpdate", resourceKind: "contact", resourceId: "9", resource: { id: 9, contactReferences: [{ source: "x", id: "y" }, { source: "ACME GIVING", id: "donor-1" }] } });
      assert.deepEqual(contact.refs, [{ source: "acme giving", id: "donor-1" }]);
    } finally {
      core.free();
    }
  });

  test("reconciliation interval: default 6 h, 4-12 h accepted, anything else refused", () => {
    assert.equal(reconcileInterval(undefined), 6 * 3_600_000);
    assert.equal(reconcileInterval(4 * 3_600_000), 4 * 3_600_000);
    assert.throws(() => reconcileInterval(3 * 3_600_000), HostError);
    assert.throws(() => reconcileInterval(13 * 3_600_000), { code: "invalid-setting" });
  });

  test("receive: signed → 200 and in the inbox; duplicate → 200 once; forged → 401 and nothing stored; unknown customer → 404", async () => {
    const { host, store } = await setup();
    const d = signed(giftEvent(501, "2026-11-30T11:00:00Z"));
    const r1 = await host.receive(C, d.text, d.headers);
    assert.equal(r1.status, 200);
    assert.equal(r1.body.duplicate, false);
    const r2 = await host.receive(C, d.text, d.headers);
    assert.equal(r2.status, 200);
    assert.equal(r2.body.duplicate, true);
    assert.equal((await store.statusCounts(C)).inboxPending, 1);
    const forged = await host.receive(C, d.text.replace("501", "502"), d.headers);
    assert.equal(forged.status, 401);
    const unsigned = await host.receive(C, d.text, { "content-type": "application/json" });
    assert.equal(unsigned.status, 401);
    assert.equal((await store.statusCounts(C)).inboxPending, 1, "nothing stored for forged or unsigned deliveries");
    assert.equal((await host.receive("nobody", d.text, d.headers)).status, 404);
  });

  test("receive: a store failure answers 503 (Virtuous retries), never 2xx", async () => {
    const { host, store } = await setup();
    store.inboxInsert = async () => {
      throw new Error("disk full");
    };
    const d = signed(giftEvent(501, "2026-11-30T11:00:00Z"));
    assert.equal((await host.receive(C, d.text, d.headers)).status, 503);
  });

  test("inbound: a staff-created gift is created on the partner once, linked, and logged", async () => {
    const { host, store, partner } = await setup();
    const d = signed(giftEvent(501, "2026-11-30T11:00:00Z"));
    await host.receive(C, d.text, d.headers);
    await host.receive(C, d.text, d.headers);
    await settle(host);
    const creates = partner.calls.filter((c) => c.action === "create");
    assert.equal(creates.length, 1);
    assert.equal(creates[0].fields.amount, 25, "the value as Virtuous holds it");
    const row = await store.findRecord(C, { kind: "gift", virtuousId: "501" });
    assert.equal(row.partnerId, creates[0].partnerId ?? "don-1");
    assert.equal(row.state.state, "virtuous-pending");
    const tl = await host.timeline(C, row.recordKey);
    assert.deepEqual(tl.entries.map((e) => [e.direction, e.reason]).slice(0, 1), [["inbound", "new-record"]]);
    // The bounce of our own apply reached the outbound path and was recognised: nothing written to Virtuous.
    assert.ok(tl.entries.some((e) => e.direction === "outbound"));
  });

  test("outbound: a partner donation becomes one Transaction; the batch's create confirms it (no second record)", async () => {
    const { host, store, partner, v } = await setup();
    await partner.edit("gift", "don-9", { amount: "40.00", giftDate: "2026-11-30", giftType: "Cash", currencyCode: "USD" }, { contact: { name: "Ada Lovelace", referenceId: "donor-1" } });
    await host.drain();
    const posts = v.requests.filter((r) => r.method === "POST");
    assert.equal(posts.length, 1);
    assert.equal(posts[0].path, "/api/v2/Gift/Transaction");
    assert.equal(posts[0].body.transactionSource, PLATFORM);
    assert.equal(posts[0].headers.authorization, "Bearer sim-api-key");
    const txId = posts[0].body.transactionId;
    assert.equal((await store.statusCounts(C)).outboxDepth, 0);
    // The nightly batch creates gift 777 carrying our stamp; delivered twice.
    const d = signed(giftEvent(777, "2026-11-30T12:30:00Z", { amount: 40, giftDate: "2026-11-30", transactionSource: PLATFORM, transactionId: txId }));
    await host.receive(C, d.text, d.headers);
    await host.receive(C, d.text, d.headers);
    await host.drain();
    assert.equal(partner.calls.filter((c) => c.action === "create").length, 0, "never created on the partner side");
    const row = await store.findRecord(C, { kind: "gift", partnerId: "don-9" });
    assert.equal(row.virtuousId, "777");
    assert.equal(row.state.state, "in-sync");
    assert.equal(v.requests.filter((r) => r.method === "POST").length, 1, "never a second Transaction");
    const st = await host.status(C);
    assert.equal(st.counters.echoes, 1);
    assert.equal(st.counters.writes, 1);
  });

  test("submitter: 429 waits for Retry-After and the budget; 503 retries unchanged; 400 fails visibly", async () => {
    const clock = manualClock();
    let n = 0;
    const { host, partner, v } = await setup({
      clock,
      script: (req) => {
        n++;
        // A 429 blocks for Retry-After, then the headers rule (here: plenty remains in the window).
        if (n === 1) return { status: 429, headers: { "retry-after": "30", "x-ratelimit-remaining": "100", "x-ratelimit-limit": "5000" } };
        if (n === 2) return { status: 503 };
        return { status: 200, body: {}, headers: { "x-ratelimit-remaining": "4990", "x-ratelimit-limit": "5000" } };
      },
    });
    await partner.edit("gift", "don-1", { amount: "10.00", giftDate: "2026-11-30" }, { contact: { name: "A B", referenceId: "d1" } });
    await host.drain();
    assert.equal(v.requests.length, 1);
    let st = await host.status(C);
    assert.equal(st.outbox.depth, 1);
    assert.equal(st.budget.canSendNow, false, "Retry-After blocks the budget");
    clock.advance(10_000);
    await host.drain();
    assert.equal(v.requests.length, 1, "nothing sent before Retry-After");
    clock.advance(25_000);
    await host.drain();
    assert.equal(v.requests.length, 2, "sent again after Retry-After");
    clock.advance(10 * 60_000);
    await host.drain();
    assert.equal(v.requests.length, 3);
    assert.deepEqual(v.requests[2].body, v.requests[0].body, "retried unchanged (same body and transactionId)");
    st = await host.status(C);
    assert.equal(st.outbox.depth, 0);
    assert.equal(st.counters.retries, 2);
    assert.equal(st.counters.rateLimited, 1);
  });

  test("submitter: a permanent 400 is kept as a stuck write in the status", async () => {
    const { host, partner } = await setup({ script: () => ({ status: 400, body: { error: { code: "BAD_REQUEST", message: "giftDate invalid" } } }) });
    await partner.edit("gift", "don-1", { amount: "10.00", giftDate: "2026-11-30" }, { contact: { name: "A B" } });
    await host.drain();
    const st = await host.status(C);
    assert.equal(st.outbox.stuckWrites.length, 1);
    assert.equal(st.outbox.stuckWrites[0].status, "failed");
    assert.match(st.outbox.stuckWrites[0].lastError, /giftDate invalid/);
  });

  test("crash between claim and commit loses nothing: the lease lapses and another worker completes it once", async () => {
    const clock = manualClock();
    const { host, store, partner } = await setup({ clock });
    const d = signed(giftEvent(601, "2026-11-30T11:00:00Z"));
    await host.receive(C, d.text, d.headers);
    // Worker "crashed" claims the entry and the record, then dies before committing.
    const [e] = await store.inboxClaim({ owner: "crashed", nowMs: clock.now(), leaseMs: 30_000, limit: 1 });
    await store.lockRecord(C, "gift:v601", { owner: "crashed", nowMs: clock.now(), leaseMs: 30_000, create: { kind: "gift", virtuousId: "601" } });
    assert.ok(e);
    await host.drain();
    assert.equal(partner.calls.length, 0, "nothing happens while the lease holds");
    clock.advance(31_000);
    await host.drain();
    assert.equal(partner.calls.filter((c) => c.action === "create").length, 1);
    assert.equal((await store.inboxGet(C, e.dedupeKey)).status, "done");
    assert.equal((await store.findRecord(C, { kind: "gift", virtuousId: "601" })).state.state, "virtuous-pending");
  });

  test("a create applied whose commit was lost, retried after Virtuous changed the record: the partner gets the newer values; nothing older is pushed back", async () => {
    // bench/hosts.md: with three workers on PostgreSQL a create's commit could fail (the partner id's uniqueness,
    // against the stub the partner's change hook made); its retry read the contact again, newer now, and the
    // partner's create (idempotent on virtuousId) returned the record the first attempt made, with the old name.
    const clock = manualClock();
    let name = "Ada First";
    let modified = "2026-11-30T11:00:00Z";
    const { host, store, partner, v } = await setup({
      clock,
      extra: { sync: { cooldownMs: 60_000, updateMode: "partial", unstampedCreates: "verify" } }, // a create is verified by a read
      script: (req) => (req.method === "GET" && req.path === "/api/Contact/801" ? { status: 200, body: { id: 801, name, contactType: "Household", modifiedDateTimeUtc: modified, contactReferences: [] } } : { status: 200, body: {} }),
    });
    const commit = store.commitRecord.bind(store);
    let failures = 1;
    store.commitRecord = async (c) => {
      if (c.inbox && failures-- > 0) throw Object.assign(new Error("unique-violation: injected"), { name: "StoreError", code: "unique-violation" });
      return commit(c);
    };
    const d = signed({ event: "ContactCreate", contact: { id: 801, name: "Ada First", contactType: "Household", modifiedDateTimeUtc: "2026-11-30T11:00:00Z" } });
    await host.receive(C, d.text, d.headers);
    await host.drain();
    const [created] = partner.calls.filter((x) => x.action === "create");
    assert.equal(created?.fields.name, "Ada First", "the first attempt created the partner record");
    name = "Ada Second"; // staff edit in Virtuous before the retry
    modified = "2026-11-30T11:05:00Z";
    clock.advance(10 * 60_000);
    await settle(host);
    clock.advance(60 * 60_000);
    await settle(host);
    const row = await store.findRecord(C, { kind: "contact", virtuousId: "801" });
    assert.equal(partner.get("contact", row.partnerId).fields.name, "Ada Second", "the partner holds Virtuous's newer value");
    assert.deepEqual(v.requests.filter((r) => r.method === "PUT"), [], "nothing pushed back to Virtuous");
  });

  test("a failing partner apply releases the entry with backoff, then dead-letters it after maxAttempts", async () => {
    const clock = manualClock();
    const { host, store, partner } = await setup({ clock, extra: { inbox: { maxAttempts: 3 } } });
    partner.failNext = 100;
    const d = signed(giftEvent(701, "2026-11-30T11:00:00Z"));
    await host.receive(C, d.text, d.headers);
    for (let i = 0; i < 5; i++) {
      await host.drain();
      clock.advance(10 * 60_000);
    }
    const st = await host.status(C);
    assert.equal(st.inbox.deadLetters, 1);
    assert.equal(st.inbox.pending, 0);
    const row = await store.findRecord(C, { kind: "gift", virtuousId: "701" });
    assert.equal(row.state, null, "no state committed for a failed unit of work");
    assert.equal(row.lockOwner, undefined, "the record lock was released");
  });

  test("two workers on one record: processed one at a time, both events applied", async () => {
    const clock = { now: () => Date.now() };
    const store = await openStore();
    const partner = memoryPartner();
    partners.push(partner);
    partner.delayMs = 20;
    const a = makeHost(store, { partner, clock, workerId: "A" });
    const b = makeHost(store, { partner, clock, workerId: "B" });
    await a.putCustomer(customerSettings(C));
    const d1 = signed(giftEvent(801, "2026-11-30T11:00:00Z"));
    await a.receive(C, d1.text, d1.headers);
    await a.drain();
    const d2 = signed(giftEvent(801, "2026-11-30T11:05:00Z", { notes: "first" }));
    const d3 = signed({ event: "GiftUpdate", gift: { ...giftEvent(801, "2026-11-30T11:06:00Z", { amount: 30 }).gift, notes: "second" } });
    await a.receive(C, d2.text, d2.headers);
    await a.receive(C, d3.text, d3.headers);
    let inside = 0;
    let max = 0;
    const orig = partner.apply;
    partner.apply = async (op) => {
      inside++;
      max = Math.max(max, inside);
      try {
        return await orig(op);
      } finally {
        inside--;
      }
    };
    // A worker that finds the record busy puts the entry back for a moment: run both until the inbox is empty.
    for (let i = 0; i < 100 && (await store.statusCounts(C)).inboxPending > 0; i++) {
      await Promise.all([a.drain(), b.drain()]);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(max, 1, "never two applies on one record at once");
    const rec = partner.get("gift", "don-1");
    assert.equal(rec.fields.notes, "second");
    assert.equal(rec.fields.amount, 30);
  });

  test("multi-tenant: each customer has its own secret; a delivery signed for one is refused for the other", async () => {
    const { host, store } = await setup();
    await host.putCustomer({ ...customerSettings("tenant-2"), secrets: [{ id: "t2", secret: "another-secret-0123456789abcdef0123456789" }] });
    const d = signed(giftEvent(901, "2026-11-30T11:00:00Z"));
    assert.equal((await host.receive("tenant-2", d.text, d.headers)).status, 401);
    assert.equal((await host.receive(C, d.text, d.headers)).status, 200);
    assert.equal((await store.statusCounts("tenant-2")).inboxPending, 0);
  });


  test("the reconciliation scheduler: due per customer every reconcile.everyMs, the cursor stored after a complete run, paused customers skipped", async () => {
    const clock = manualClock();
    const rows = [{ id: 11, name: "Staff Created", contactType: "Household", modifiedDateTimeUtc: "2026-11-30T11:00:00Z" }];
    const { host, store, v, partner } = await setup({
      clock,
      extra: { reconcile: { everyMs: 4 * 3_600_000, resources: ["contact"] } },
      script: (req) => (req.path.includes("/Query") ? { status: 200, body: { list: req.search.includes("skip=0") ? rows : [], total: 1 } } : { status: 200, body: {} }),
    });
    assert.equal(await host.reconcileDue(), 1);
    assert.ok(v.requests.some((r) => r.path === "/api/Contact/Query/FullContact"), "contacts through the full query");
    await host.drain();
    assert.equal(partner.calls.filter((c) => c.action === "create").length, 1, "the missed contact came through the inbox");
    const cursor = await store.kvGet(C, "cursor:contact");
    assert.equal(cursor.highWaterMs, Date.parse("2026-11-30T11:00:00Z"));
    const st = await host.status(C);
    assert.equal(st.reconciliation.everyMs, 4 * 3_600_000);
    assert.equal(st.reconciliation.nextDueMs, clock.now() + 4 * 3_600_000);
    const n = v.requests.length;
    assert.equal(await host.reconcileDue(), 0, "not due yet");
    assert.equal(v.requests.length, n);
    clock.advance(4 * 3_600_000);
    await host.pause(C);
    assert.equal(await host.reconcileDue(), 0, "paused customers are skipped");
    await store.setPaused(C, null);
    assert.equal(await host.reconcileDue(), 1);
    const again = v.requests.slice(n).find((r) => r.path.includes("/Query"));
    assert.match(JSON.stringify(again.body), /Last Modified Date/, "the next run starts from the stored cursor");
    await settle(host); // the partner's bounce of the create (a setImmediate hook) runs before the store closes
  });

  test("a failing query leaves the cursor where it was and the run is tried again later", async () => {
    const clock = manualClock();
    let fail = true;
    const { host, store } = await setup({
      clock,
      extra: { reconcile: { resources: ["contact"] } },
      script: (req) => (fail ? { status: 500 } : { status: 200, body: { list: [] } }),
    });
    await store.kvPut(C, "cursor:contact", { highWaterMs: 1000, boundaryIds: ["1"] });
    assert.equal(await host.reconcileDue(), 0);
    assert.deepEqual(await store.kvGet(C, "cursor:contact"), { highWaterMs: 1000, boundaryIds: ["1"] });
    const st = await host.status(C);
    assert.equal(st.reconciliation.lastCompleteMs, undefined);
    fail = false;
    clock.advance(16 * 60_000);
    assert.equal(await host.reconcileDue(), 1);
  });
}
