// Full-record updates (GET-then-PUT) on the Worker host (workerd via miniflare, one Durable Object per record)
// against the local Virtuous over real HTTP, with undated deliveries (each is decided by fetching the record):
// a PUT's 2xx is reported at once (`written`, kept in the Object's storage until reported), a failed or unanswered
// PUT is never resent (the record is decided again from a fresh fetch), and an Object reset after the 2xx and
// before the report reports it when it comes back.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startWorkerWorld } from "../../../examples/partner-app/worker-world.mjs";
import { until } from "../../../examples/partner-app/world.mjs";

let w;
const C = "worker-full-write";
const partner = async (method, path, body) => {
  const res = await fetch(w.partner.url + path, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
  return res.json();
};
const worker = async (path, body) => {
  const res = await fetch(w.hostUrl + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
};
const status = () => w.call("GET", "/status");
const record = async (giftId) => (await w.call("GET", "/records")).records.find((r) => r.virtuousId === String(giftId));
const settled = async (what = "a quiet host") => {
  await w.sim.admin.flush();
  await until(async () => {
    const s = await status();
    return s.inbox.pending === 0 && s.outbox.depth === 0 && s.records.dirty === 0 && w.partner.pendingHooks() === 0;
  }, { what, timeoutMs: 30_000 });
};
const puts = async (giftId) => (await w.sim.admin.requests({ method: "PUT" })).filter((r) => r.path === `/api/Gift/${giftId}`);
/** A gift staff created in Virtuous, synced to a partner donation: [gift id, donation id]. */
const staffGift = async () => {
  // A test that failed half-way leaves nothing behind for the next one.
  await w.sim.admin.release();
  await w.sim.admin.setApiFaults([]);
  const contact = await w.sim.admin.createContact({ name: "Grace Hopper", firstName: "Grace", lastName: "Hopper", contactType: "Household" });
  const gift = await w.sim.admin.createGift({ contactId: contact.id, amount: 100, giftDate: "2026-11-01", giftType: "Cash", currencyCode: "USD", notes: "original" });
  const don = await until(async () => Object.values((await partner("GET", "/store")).donations).find((d) => d.virtuousId === String(gift.id)), { what: "the gift on the partner" });
  await settled();
  return [gift.id, don.id];
};

before(async () => {
  w = await startWorkerWorld({
    customerId: C,
    testHooks: true,
    sync: { cooldownMs: 0 },
    simConfig: { payload: { dated: false } },
    virtuous: { timeoutMs: 400 },
    budget: { baseBackoffMs: 200, maxBackoffMs: 400 },
  });
});
after(async () => {
  await w?.close();
});

test("a PUT's 2xx is reported at once: staff setting the field straight back (A-B-A) reaches the partner", async () => {
  const [giftId, donId] = await staffGift();
  await w.sim.admin.hold();
  await partner("PATCH", `/donations/${donId}`, { fields: { notes: "from the partner" } });
  await until(async () => (await record(giftId))?.state?.state === "in-sync" && (await w.sim.admin.gift(giftId)).notes === "from the partner", { what: "the write, reported" });
  await w.sim.admin.editGift(giftId, { notes: "original" });
  await w.sim.admin.release();
  await settled("the deliveries");
  assert.equal((await partner("GET", `/donations/${donId}`)).fields.notes, "original", "the revert reached the partner");
  assert.equal((await w.sim.admin.gift(giftId)).notes, "original");
  assert.equal((await puts(giftId)).length, 1);
});

test("a 500, then a staff edit: decided again from a fresh fetch, the staff edit kept", async () => {
  const [giftId, donId] = await staffGift();
  await w.sim.admin.hold();
  await w.sim.admin.setApiFaults([{ method: "PUT", path: `/api/Gift/${giftId}`, status: 500 }]);
  await partner("PATCH", `/donations/${donId}`, { fields: { notes: "from the partner" } });
  await until(async () => (await puts(giftId)).length === 1, { what: "the failed PUT" });
  await w.sim.admin.editGift(giftId, { giftType: "Check" });
  await until(async () => (await puts(giftId)).some((r) => r.status === 200), { what: "the write after the failure" });
  await w.sim.admin.release();
  await settled("the deliveries");
  const g = await w.sim.admin.gift(giftId);
  assert.equal(g.giftType, "Check", "the staff edit survived");
  assert.equal(g.notes, "from the partner");
  assert.equal((await partner("GET", `/donations/${donId}`)).fields.giftType, "Check");
  assert.deepEqual((await puts(giftId)).map((r) => r.status), [500, 200]);
});

test("a PUT Virtuous keeps failing: the attempts carry over the redecided tries (shown as stuck between tries), and the write lands once it can", async () => {
  const [giftId, donId] = await staffGift();
  await w.sim.admin.setApiFaults([{ method: "PUT", path: `/api/Gift/${giftId}`, status: 503, count: 3 }]);
  await partner("PATCH", `/donations/${donId}`, { fields: { notes: "from the partner" } });
  let seen;
  await until(async () => {
    seen ??= (await status()).outbox.stuckWrites.find((x) => x.recordKey === `gift:v${giftId}` && x.attempts >= 3);
    return (await puts(giftId)).some((r) => r.status === 200);
  }, { what: "the write that lands after three failures", timeoutMs: 30_000 });
  assert.ok(seen, "shown among the stuck writes once three tries failed");
  assert.equal(seen.lastStatus, 503);
  await settled("the write reported");
  assert.deepEqual((await puts(giftId)).map((r) => r.status), [503, 503, 503, 200]);
  const tl = await w.call("GET", `/records/${encodeURIComponent(`gift:v${giftId}`)}/timeline`);
  const tries = tl.entries.filter((x) => x.direction === "submit" && (x.action === "redecide" || x.action === "proceed")).map((x) => [x.action, x.detail?.attempt]);
  assert.deepEqual(tries, [["redecide", 1], ["redecide", 2], ["redecide", 3], ["proceed", 4]], "one count across the redecided writes");
  assert.equal((await w.sim.admin.gift(giftId)).notes, "from the partner");
  assert.equal((await status()).outbox.stuckWrites.length, 0);
});

test("a lost acknowledgement: confirmed by the fresh fetch, the snapshot never sent again", async () => {
  const [giftId, donId] = await staffGift();
  await w.sim.admin.hold();
  await w.sim.admin.setApiFaults([{ method: "PUT", path: `/api/Gift/${giftId}`, apply: true, delayMs: 1_500 }]);
  await partner("PATCH", `/donations/${donId}`, { fields: { notes: "from the partner" } });
  await until(async () => (await w.sim.admin.gift(giftId)).notes === "from the partner", { what: "the PUT, applied" });
  await w.sim.admin.editGift(giftId, { giftType: "Check" });
  await until(async () => {
    const r = await record(giftId);
    return r && !r.dirty && !r.outbox && (await timelineHas(giftId, (e) => e.direction === "submit" && e.reason !== "proceed"));
  }, { what: "the unanswered write's retry or decision", timeoutMs: 30_000 });
  await w.sim.admin.release();
  await settled("the deliveries");
  assert.equal((await puts(giftId)).length, 1, "sent once");
  const g = await w.sim.admin.gift(giftId);
  assert.equal(g.giftType, "Check", "the staff edit survived");
  assert.equal(g.notes, "from the partner");
  assert.equal((await partner("GET", `/donations/${donId}`)).fields.giftType, "Check");
});

test("an Object reset after the 2xx was stored and before its report: the next instance reports it", async () => {
  const [giftId, donId] = await staffGift();
  await w.sim.admin.hold();
  await worker("/_test/record", { customerId: C, recordKey: `gift:v${giftId}`, hooks: { evictAfterWritten: true } });
  await partner("PATCH", `/donations/${donId}`, { fields: { notes: "from the partner" } });
  await until(async () => (await w.sim.admin.gift(giftId)).notes === "from the partner", { what: "the PUT" });
  await w.sim.admin.editGift(giftId, { notes: "original" }); // staff set it straight back
  await until(async () => (await record(giftId))?.state?.state === "in-sync", { what: "the report after the reset", timeoutMs: 30_000 });
  await w.sim.admin.release();
  await settled("the deliveries");
  assert.equal((await partner("GET", `/donations/${donId}`)).fields.notes, "original", "the revert reached the partner");
  assert.equal((await puts(giftId)).length, 1);
});

async function timelineHas(giftId, pred) {
  const tl = await w.call("GET", `/records/${encodeURIComponent(`gift:v${giftId}`)}/timeline`);
  return tl.entries.some(pred);
}
