// Full-record updates (GET-then-PUT, the default `updateMode`) against the local Virtuous (sim/: PUT is a full
// replacement) over real HTTP, on any store (run by full-write-memory, -pglite and -postgres.test.mjs). The host is
// driven step by step (no background loops) so each test fixes the order of the 2xx, staff edits and deliveries.
// Deliveries are undated, as live ones often are (sim `payload.dated: false`): each is decided by fetching the record.
//   - a PUT's 2xx is reported to the core at once (`written`), so staff setting the field straight back reaches the
//     partner instead of leaving the write pending;
//   - a failed PUT is never resent: the record is decided again from a fresh fetch (a staff edit made meanwhile is
//     kept), and a PUT that landed but whose answer was lost is confirmed by that fetch, not sent twice;
//   - a crash after the 2xx and before the report: the next host reports it from the store.
import { test as nodeTest } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Host, nodeHandler } from "../src/index.mjs";
import { startSim } from "../../sim/src/index.mjs";
import { memoryPartner, PLATFORM } from "./support/harness.mjs";

const C = "full-write";
const SECRET = "full-write-secret-0123456789abcdef0123456789";

export function fullWriteSuite(name, openStore) {
  const test = (title, fn) =>
    nodeTest(`${name}: ${title}`, { timeout: 60_000 }, async () => {
      const w = await world(openStore);
      try {
        await fn(w);
      } finally {
        await w.close();
      }
    });

  test("a PUT's 2xx is reported at once (written): confirmed before any delivery; staff setting the field straight back reaches the partner", async (w) => {
    const { giftId, donId } = await w.linkedGift();
    await w.sim.admin.hold();
    await w.partner.edit("gift", donId, { notes: "from the partner" });
    await w.host.processPartnerChanges();
    assert.equal((await w.host.store.getOutbox(C, w.key(giftId)))?.request.method, "PUT", "the write is queued");
    await w.host.submitDue();
    const row = await w.row(giftId);
    assert.equal(row.state.state, "in-sync", "the 2xx confirmed the write before any delivery");
    assert.equal(row.written, undefined, "reported: nothing left on the record");
    const tl = await w.host.store.timeline(C, w.key(giftId));
    assert.ok(tl.some((e) => e.direction === "outbound" && e.detail?.written?.method === "PUT"), "the report is in the timeline");
    assert.equal((await w.sim.admin.gift(giftId)).notes, "from the partner");
    // Staff set the note straight back (A-B-A); both deliveries are fetched after the revert and show only it.
    await w.sim.admin.editGift(giftId, { notes: "original" });
    await w.sim.admin.release();
    await w.settle();
    assert.equal(w.partner.get("gift", donId).fields.notes, "original", "the revert reached the partner");
    assert.equal((await w.sim.admin.gift(giftId)).notes, "original", "and was not overwritten");
    assert.equal((await w.row(giftId)).state.state, "in-sync");
    assert.equal(await w.puts(giftId), 1, "one PUT");
  });

  test("a 500, then a staff edit: the write is decided again from a fresh fetch and never overwrites the staff edit", async (w) => {
    const { giftId, donId } = await w.linkedGift();
    await w.sim.admin.hold();
    await w.sim.admin.setApiFaults([{ method: "PUT", path: `/api/Gift/${giftId}`, status: 500 }]);
    await w.partner.edit("gift", donId, { notes: "from the partner" });
    await w.host.processPartnerChanges();
    await w.host.submitDue();
    assert.equal(await w.puts(giftId, 500), 1, "the first PUT failed");
    assert.equal((await w.sim.admin.gift(giftId)).notes, "original", "and was not applied");
    await w.sim.admin.editGift(giftId, { giftType: "Check" }); // staff, while our write waits for its retry
    await w.until(async () => (await w.puts(giftId, 200)) >= 1, "the write after the failure");
    await w.sim.admin.release();
    await w.settle();
    const g = await w.sim.admin.gift(giftId);
    assert.equal(g.giftType, "Check", "the staff edit survived");
    assert.equal(g.notes, "from the partner", "the partner's edit landed");
    assert.equal(w.partner.get("gift", donId).fields.giftType, "Check", "the staff edit reached the partner");
    const sent = (await w.sim.admin.requests({ method: "PUT" })).filter((r) => r.path === `/api/Gift/${giftId}`);
    assert.deepEqual(sent.map((r) => r.status), [500, 200], "one failed PUT, one built on the fresh fetch");
    assert.equal((await w.row(giftId)).state.state, "in-sync");
  });

  test("a PUT Virtuous keeps failing: each try is built from a fresh fetch, the attempts carry over (backing off, shown as retrying), and the write lands once it can", async (w) => {
    const { giftId, donId } = await w.linkedGift();
    await w.sim.admin.setApiFaults([{ method: "PUT", path: `/api/Gift/${giftId}`, status: 503, count: 3 }]);
    await w.partner.edit("gift", donId, { notes: "from the partner" });
    await w.host.processPartnerChanges();
    // Between tries the record has no outbox entry: the status shows the write from the record's carried attempts.
    let seen;
    const status = w.host.status.bind(w.host);
    await w.until(async () => {
      const s = await status(C);
      seen ??= s.outbox.stuckWrites.find((x) => x.recordKey === w.key(giftId) && x.attempts >= 3);
      return (await w.puts(giftId, 200)) >= 1;
    }, "the write that lands after three failures");
    assert.ok(seen, "shown among the stuck writes once three tries failed");
    assert.deepEqual([seen.lastStatus, seen.method, seen.path], [503, "PUT", `/api/Gift/${giftId}`]);
    await w.settle();
    const tries = (await w.host.store.timeline(C, w.key(giftId))).filter((x) => x.direction === "submit" && (x.action === "redecide" || x.action === "proceed")).map((x) => [x.action, x.detail?.attempt]);
    assert.deepEqual(tries, [["redecide", 1], ["redecide", 2], ["redecide", 3], ["proceed", 4]], "one count across the redecided writes");
    const sent = (await w.sim.admin.requests({ method: "PUT" })).filter((r) => r.path === `/api/Gift/${giftId}`);
    assert.deepEqual(sent.map((r) => r.status), [503, 503, 503, 200]);
    assert.equal((await w.sim.admin.gift(giftId)).notes, "from the partner");
    const row = await w.row(giftId);
    assert.equal(row.state.state, "in-sync");
    assert.equal(row.retry, undefined, "the count is gone once the write landed");
    assert.equal(await w.host.store.getOutbox(C, w.key(giftId)), null);
    assert.equal((await status(C)).outbox.stuckWrites.length, 0);
  });

  test("a partner edit while our full PUT is in flight: nothing is decided for the record until the send ends, then the edit is written", async (w) => {
    const { giftId, donId } = await w.linkedGift();
    // The PUT is answered (2xx) only after 1.5 s: in flight meanwhile (300 ms was missed by the poll below
    // on a loaded PostgreSQL run).
    await w.sim.admin.setApiFaults([{ method: "PUT", path: `/api/Gift/${giftId}`, apply: true, delayMs: 1500 }]);
    await w.partner.edit("gift", donId, { notes: "first" });
    await w.host.processPartnerChanges();
    const sending = w.host.submitDue();
    await w.until(async () => (await w.host.store.getOutbox(C, w.key(giftId)))?.status === "in-flight", "the PUT in flight", 5_000).catch(() => {});
    const getsBefore = (await w.sim.admin.requests({ method: "GET" })).filter((r) => r.path === `/api/Gift/${giftId}`).length;
    await w.partner.edit("gift", donId, { notes: "second" });
    await w.partner.idle();
    await w.host.processPartnerChanges();
    const tl = await w.host.store.timeline(C, w.key(giftId));
    assert.ok(tl.some((x) => x.direction === "outbound" && x.reason === "write-in-flight"), JSON.stringify(tl.map((x) => [x.direction, x.action, x.reason])));
    assert.equal((await w.sim.admin.requests({ method: "GET" })).filter((r) => r.path === `/api/Gift/${giftId}`).length, getsBefore, "the record was not fetched during the send");
    await sending;
    await w.settle();
    assert.equal((await w.sim.admin.gift(giftId)).notes, "second", "the later edit was written after the send ended");
    assert.deepEqual((await w.sim.admin.requests({ method: "PUT" })).filter((r) => r.path === `/api/Gift/${giftId}`).map((r) => r.status), [200, 200]);
    assert.equal((await w.row(giftId)).state.state, "in-sync");
  });

  test("a lost acknowledgement (applied, the host timed out): confirmed by the fresh fetch, the snapshot never sent again", async (w) => {
    const { giftId, donId } = await w.linkedGift();
    await w.sim.admin.hold();
    // Applied, then the answer is held past the host's timeout (400 ms).
    await w.sim.admin.setApiFaults([{ method: "PUT", path: `/api/Gift/${giftId}`, apply: true, delayMs: 1_500 }]);
    await w.partner.edit("gift", donId, { notes: "from the partner" });
    await w.host.processPartnerChanges();
    await w.host.submitDue();
    assert.equal((await w.sim.admin.gift(giftId)).notes, "from the partner", "the PUT landed");
    assert.notEqual((await w.row(giftId)).state.state, "in-sync", "the host saw no 2xx");
    await w.sim.admin.editGift(giftId, { giftType: "Check" }); // staff, after our write landed
    // Until nothing of the write is left to do (a retry, or a decision), before any delivery is seen.
    await w.until(async () => !(await w.host.store.getOutbox(C, w.key(giftId))) && (await w.row(giftId)).dirty === false, "the write's retry or its decision");
    await w.sim.admin.release();
    await w.settle();
    assert.equal(await w.puts(giftId), 1, "the PUT was sent once");
    const g = await w.sim.admin.gift(giftId);
    assert.equal(g.giftType, "Check", "the staff edit survived");
    assert.equal(g.notes, "from the partner");
    assert.equal(w.partner.get("gift", donId).fields.giftType, "Check");
    assert.equal((await w.row(giftId)).state.state, "in-sync");
  });

  test("a crash after the 2xx and before the report: the next host reports it from the store (the revert still reaches the partner)", async (w) => {
    const { giftId, donId } = await w.linkedGift();
    await w.sim.admin.hold();
    await w.partner.edit("gift", donId, { notes: "from the partner" });
    await w.host.processPartnerChanges();
    // The process dies as soon as the submitter has stored the send's outcome.
    const store = w.host.store;
    const finish = store.finishOutbox.bind(store);
    store.finishOutbox = async (...args) => {
      const r = await finish(...args);
      if (args[3].done) throw new Error("crash (test)");
      return r;
    };
    await assert.rejects(w.host.submitDue(), /crash \(test\)/);
    store.finishOutbox = finish;
    const stored = await w.row(giftId);
    assert.equal(stored.written?.method, "PUT", "the 2xx is kept on the record until reported");
    assert.equal(stored.dirty, true);
    assert.equal(stored.state.state, "partner-pending");
    await w.sim.admin.editGift(giftId, { notes: "original" }); // staff set it straight back
    const next = w.restart();
    await w.sim.admin.release();
    await w.settle(next);
    const row = await w.row(giftId);
    assert.equal(row.written, undefined, "reported");
    assert.equal(w.partner.get("gift", donId).fields.notes, "original", "the revert reached the partner");
    assert.equal((await w.sim.admin.gift(giftId)).notes, "original");
    assert.equal(await w.puts(giftId), 1);
  });

  test("a submitter that died mid-send (its lease lapsed): the record is decided again, the PUT never sent a second time", async (w) => {
    const { giftId, donId } = await w.linkedGift();
    await w.sim.admin.hold();
    await w.partner.edit("gift", donId, { notes: "from the partner" });
    await w.host.processPartnerChanges();
    // Another submitter leases the write, sends it (it lands) and dies before storing the outcome.
    const [e] = await w.host.store.leaseOutbox({ owner: "dead-submitter", nowMs: Date.now(), leaseMs: 50, limit: 5 });
    assert.equal(e.request.method, "PUT");
    await w.sim.api.request(e.request.method, e.request.path, e.request.body);
    await w.sim.admin.editGift(giftId, { giftType: "Check" }); // staff, after it landed
    await new Promise((r) => setTimeout(r, 80)); // the lease lapses
    await w.until(async () => !(await w.host.store.getOutbox(C, w.key(giftId))) && (await w.row(giftId)).dirty === false, "the lapsed write's retry or its decision");
    await w.sim.admin.release();
    await w.settle();
    assert.equal(await w.puts(giftId), 1, "sent once");
    const g = await w.sim.admin.gift(giftId);
    assert.equal(g.giftType, "Check", "the staff edit survived");
    assert.equal(g.notes, "from the partner");
    assert.equal(w.partner.get("gift", donId).fields.giftType, "Check");
    const tl = await w.host.store.timeline(C, w.key(giftId));
    assert.ok(tl.some((x) => x.direction === "submit" && x.action === "redecide" && x.reason === "lease-lapsed"));
  });

  test("partial mode and creates keep their rules: a failed partial PUT is sent again unchanged", async (w) => {
    await w.host.putCustomer({ ...w.settings, sync: { ...w.settings.sync, updateMode: "partial" } });
    await w.sim.admin.patchConfig({ putMode: "patch" }); // a Virtuous whose PUT acts like PATCH, as partial mode assumes
    const { giftId, donId } = await w.linkedGift();
    await w.sim.admin.hold();
    await w.sim.admin.setApiFaults([{ method: "PUT", path: `/api/Gift/${giftId}`, status: 500 }]);
    await w.partner.edit("gift", donId, { notes: "from the partner" });
    await w.host.processPartnerChanges();
    await w.host.submitDue();
    const queued = await w.host.store.getOutbox(C, w.key(giftId));
    assert.equal(queued?.status, "queued", "kept in the outbox for its retry");
    assert.equal(queued.attempts, 1);
    await w.until(async () => (await w.puts(giftId, 200)) >= 1, "the retry");
    const sent = (await w.sim.admin.requests({ method: "PUT" })).filter((r) => r.path === `/api/Gift/${giftId}`);
    assert.deepEqual(sent.map((r) => r.status), [500, 200]);
    assert.equal((await w.sim.admin.gift(giftId)).notes, "from the partner");
  });
}

async function world(openStore) {
  const store = await openStore();
  const sim = await startSim({ seed: 11, clock: { mode: "real" }, config: { payload: { dated: false }, retry: { delaysMs: [50, 100, 200] } } });
  const hosts = [];
  const partner = memoryPartner();
  let current;
  const makeHost = () => {
    const h = new Host({ store, partner, workerId: `w-${hosts.length + 1}`, options: { retryBaseMs: 20, retryMaxMs: 200 } });
    hosts.push(h);
    current = h;
    return h;
  };
  makeHost();
  partner.onChange((c) => current.reportPartnerChange({ customerId: C, ...c }));
  // Deliveries go to whichever host is current (a restart swaps it), over real HTTP.
  const server = http.createServer(nodeHandler({ receive: (...a) => current.receive(...a) }));
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const receiverUrl = `http://127.0.0.1:${server.address().port}`;
  const sub = await sim.api.request("POST", "/api/Webhook", { payloadUrl: `${receiverUrl}/webhooks/virtuous/${C}`, secret: SECRET, giftCreate: true, giftUpdate: true, contactCreate: true, contactUpdate: true });
  const settings = {
    customerId: C,
    platformName: PLATFORM,
    secrets: [{ id: "s1", secret: SECRET }],
    virtuous: { baseUrl: sim.url, token: sim.apiKey, timeoutMs: 400 },
    webhookId: sub.id,
    budget: { baseBackoffMs: 50, maxBackoffMs: 200 },
    sync: { cooldownMs: 0 },
  };
  await current.putCustomer(settings);
  const w = {
    sim,
    partner,
    settings,
    get host() {
      return current;
    },
    key: (giftId) => `gift:v${giftId}`,
    row: async (giftId) => (await store.findRecord(C, { kind: "gift", virtuousId: String(giftId) })) ?? (await store.findRecord(C, { recordKey: `gift:v${giftId}` })),
    /** PUTs of this gift Virtuous received (with this status, when given). */
    puts: async (giftId, status) => (await sim.admin.requests({ method: "PUT" })).filter((r) => r.path === `/api/Gift/${giftId}` && (status == null || r.status === status)).length,
    /** Delivers everything due and runs the host until nothing is left to do. */
    async settle(h = current) {
      for (let i = 0; i < 4; i++) {
        await sim.admin.flush();
        await h.drain();
        await partner.idle();
        await h.drain();
      }
    },
    async until(fn, what, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        await current.drain();
        if (await fn()) return;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    /** A gift staff created in Virtuous, synced to a partner donation. */
    async linkedGift() {
      const contact = await sim.admin.createContact({ name: "Grace Hopper", firstName: "Grace", lastName: "Hopper", contactType: "Household" });
      const gift = await sim.admin.createGift({ contactId: contact.id, amount: 100, giftDate: "2026-11-01", giftType: "Cash", currencyCode: "USD", notes: "original" });
      await w.settle();
      const don = [...partner.records.entries()].find(([k, r]) => k.startsWith("gift:") && r.virtuousId === String(gift.id));
      assert.ok(don, "the gift reached the partner");
      const row = await w.row(gift.id);
      assert.equal(row?.state?.state, "in-sync");
      return { giftId: gift.id, donId: don[0].slice(5) };
    },
    /** A new host on the same store (the old one is gone, as after a crash). */
    restart: () => makeHost(),
    async close() {
      await partner.idle();
      for (const h of hosts) await h.stop();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(() => r()));
      await sim.close();
      await store.close();
    },
  };
  return w;
}
