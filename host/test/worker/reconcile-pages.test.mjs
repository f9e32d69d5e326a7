// The Worker host's reconciliation through its Queue, one message per query page (workerd via miniflare, against
// the local Virtuous and the partner app): a run over several pages with every page message delivered twice, and
// a run whose first page's query fails and whose next page's consumer dies after feeding: each retried, none
// skipped, nothing applied twice, the cursors moved only when the run completed.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startWorkerWorld } from "../../../examples/partner-app/worker-world.mjs";
import { until } from "../../../examples/partner-app/world.mjs";

let w;
const C = "pages-test";
const TAKE = 2;
const hook = async (name, body) => {
  const res = await fetch(`${w.hostUrl}/_test/${name}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  assert.equal(res.status, 200, `${name}: ${await res.text()}`);
};
const partnerStore = async () => (await fetch(`${w.partner.url}/store`)).json();
const status = () => w.call("GET", "/status");
const settled = async (what) => {
  await w.sim.admin.flush();
  await until(async () => {
    const s = await status();
    return s.inbox.pending === 0 && s.outbox.depth === 0 && s.records.dirty === 0 && w.partner.pendingHooks() === 0;
  }, { what, timeoutMs: 30_000 });
};
const queries = async () => (await w.sim.admin.requests({ method: "POST" })).filter((r) => /\/Query/i.test(r.path)).length;
/** Staff edits that no webhook delivers (the endpoint is down and every retry fails): only reconciliation finds them. */
async function missedEdits(ids, suffix) {
  await w.sim.admin.setOutages({ webhooks: true });
  const edits = new Map();
  for (const id of ids) edits.set(id, (await w.sim.admin.editContact(id, { name: `Paged Person ${id} ${suffix}` })).modifiedDateTimeUtc);
  await until(async () => (await w.sim.admin.deliveries({ state: "pending" })).length === 0, { what: "the deliveries to fail" });
  await w.sim.admin.setOutages({ webhooks: false });
  return edits;
}
/** How many inbound decisions the record has for the change of Virtuous time `modified` (one: decided once). */
const decidedFor = async (vid, modified) =>
  (await w.call("GET", `/records/${encodeURIComponent(`contact:v${vid}`)}/timeline`)).entries.filter((e) => e.direction === "inbound" && e.detail?.modifiedDateTimeUtc === modified).length;
async function runToEnd() {
  const { runId, queued } = await w.call("POST", "/reconcile");
  assert.equal(queued, true);
  return until(async () => (await w.call("GET", "/reconciliation")).runs.find((r) => r.runId === runId) ?? null, { what: `run ${runId}`, timeoutMs: 60_000 });
}

let ids = [];
before(async () => {
  w = await startWorkerWorld({ customerId: C, testHooks: true, sync: { cooldownMs: 300 }, reconcile: { take: TAKE, resources: ["contact"] } });
  for (let i = 0; i < 7; i++) {
    const c = await w.sim.admin.createContact({ name: `Paged Person ${i}`, firstName: "Paged", lastName: `Person${i}`, contactType: "Household" });
    ids.push(c.id);
  }
  await until(async () => Object.values((await partnerStore()).donors).length === ids.length, { what: "the contacts on the partner" });
  await settled("the initial contacts");
});
after(async () => {
  await w?.close();
});

test("a run over several pages, every page message delivered twice: each page runs once, the missed edits land once", async () => {
  const edits = await missedEdits(ids.slice(0, 4), "edited");
  await hook("reconcile", { hooks: { duplicatePages: true } });
  const q0 = await queries();
  const run = await runToEnd();
  await settled("the run's feed");
  const pages = run.resources.contact.pages;
  assert.ok(pages >= Math.ceil(ids.length / TAKE), `several pages: ${pages}`);
  assert.equal((await queries()) - q0, pages, "each page fetched once, although each page message came twice");
  assert.equal(run.resources.contact.rows, ids.length, "every contact's row read once");
  assert.equal(run.fed, 4, `the four missed edits fed: ${JSON.stringify(run)}`);
  const donors = Object.values((await partnerStore()).donors);
  for (const id of ids.slice(0, 4)) {
    assert.equal(donors.find((d) => d.virtuousId === String(id))?.fields.name, `Paged Person ${id} edited`);
    assert.equal(await decidedFor(id, edits.get(id)), 1, `contact ${id}: the missed edit decided once`);
  }
  const rec = await w.call("GET", "/reconciliation");
  assert.equal(rec.running, null);
  assert.equal((await status()).reconciliation.lastCompleteMs, run.finishedMs);
  await hook("reconcile", { hooks: {} });
});

test("a page whose query fails and a page whose consumer dies after its feed: both retried; none skipped, nothing applied twice", async () => {
  const before = await status();
  const cursorBefore = before.reconciliation.cursors.contact.highWaterMs;
  const edits = await missedEdits(ids.slice(2, 7), "edited again");
  // Page 0's query answers 500 once (a real failed fetch); page 1's consumer dies after feeding its items.
  await w.sim.admin.setOutages({ api: { status: 500, count: 1 } });
  await hook("reconcile", { hooks: { crashAfterPage: { 1: 1 } } });
  const q0 = await queries();
  const run = await runToEnd();
  await settled("the retried run's feed");
  const pages = run.resources.contact.pages;
  assert.ok(pages >= 3, `several pages: ${pages}`);
  // Fetched: page 0 twice (its 500, then the retry), page 1 twice (the crash after its feed, then the retry).
  assert.equal((await queries()) - q0, pages + 2, "only the two failed pages fetched again");
  assert.ok((await status()).reconciliation.cursors.contact.highWaterMs > cursorBefore, "the cursor moved after the complete run");
  const rec = await w.call("GET", "/reconciliation");
  assert.equal(rec.latest.runId, run.runId);
  assert.match(rec.latest.lastError, /test hook|500/, "the run's last failure is shown");
  const donors = Object.values((await partnerStore()).donors);
  for (const id of ids.slice(2, 7)) {
    assert.equal(donors.find((d) => d.virtuousId === String(id))?.fields.name, `Paged Person ${id} edited again`, `contact ${id}`);
    assert.equal(await decidedFor(id, edits.get(id)), 1, `contact ${id}: the missed edit decided once`);
  }
  assert.equal((await status()).inbox.deadLetters, 0);
});
