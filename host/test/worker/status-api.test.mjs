// The Worker host's status page and JSON API (workerd via miniflare, against the local Virtuous and the partner
// app): the same page and answers as the Node host, read from the Durable Objects (the customer's Object holds the
// index, summaries, recent decisions and dead letters records and consumers report to it). The page itself in a
// real browser: tests/browser/worker-status-page.test.mjs.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startWorkerWorld } from "../../../examples/partner-app/worker-world.mjs";
import { until } from "../../../examples/partner-app/world.mjs";
import { STATUS_PAGE } from "../../src/status-page.mjs";

let w;
const C = "status-api";
const TOKEN = "api-token-0123456789";
const get = (path, token = TOKEN) => fetch(w.hostUrl + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const partner = async (method, path, body) => (await fetch(w.partner.url + path, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined })).json();
const settled = async (what) => {
  await w.sim.admin.flush();
  await until(async () => {
    const s = await w.call("GET", "/status");
    return s.inbox.pending === 0 && s.outbox.depth === 0 && s.records.dirty === 0 && w.partner.pendingHooks() === 0;
  }, { what, timeoutMs: 30_000 });
};

let vid;
let donorId;
before(async () => {
  w = await startWorkerWorld({ customerId: C, apiToken: TOKEN, testHooks: true, sync: { cooldownMs: 300 } });
  const c = await w.sim.admin.createContact({ name: "Status Person", firstName: "Status", lastName: "Person", contactType: "Household" });
  vid = c.id;
  const donor = await until(async () => Object.values((await partner("GET", "/store")).donors).find((d) => d.virtuousId === String(vid)), { what: "the contact on the partner" });
  donorId = donor.id;
  await settled("the first contact");
});
after(async () => {
  await w?.close();
});

test("the status page is the Node host's page; the API needs the token (the page asks for it)", async () => {
  const page = await get("/status", null);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /text\/html/);
  assert.equal(await page.text(), STATUS_PAGE);
  assert.equal((await get("/api/v1/customers", null)).status, 401);
  assert.equal((await get(`/api/v1/customers/${C}/decisions`, "wrong")).status, 401);
  assert.equal((await get("/metrics", null)).status, 401);
});

test("customers, decisions, record lookup: the Node host's answers", async () => {
  const list = await (await get("/api/v1/customers")).json();
  assert.deepEqual(list.customers.map((x) => x.customerId), [C]);
  assert.equal(list.customers[0].health.level, "healthy");
  const d = await (await get(`/api/v1/customers/${C}/decisions?limit=50`)).json();
  assert.equal(d.apiVersion, 1);
  const mine = d.decisions.filter((x) => x.recordKey === `contact:v${vid}`);
  assert.ok(mine.length >= 1, `the record's decisions reached the customer's recent activity: ${JSON.stringify(d.decisions)}`);
  assert.ok(mine.every((x) => x.explanation && typeof x.explanation.text === "string"), "with plain texts");
  assert.ok(d.decisions.every((x, i, a) => i === 0 || a[i - 1].atMs >= x.atMs), "newest first");
  for (const q of [String(vid), donorId, `contact:v${vid}`]) {
    const t = await (await get(`/api/v1/customers/${C}/records?id=${encodeURIComponent(q)}`)).json();
    assert.equal(t.recordKey, `contact:v${vid}`, `lookup by ${q}`);
    assert.equal(t.partnerId, donorId);
    assert.ok(t.entries.length >= 1 && t.entries.every((e) => e.explanation), "the history with plain texts");
  }
  const miss = await get(`/api/v1/customers/${C}/records?id=nope`);
  assert.equal(miss.status, 404);
  assert.equal((await miss.json()).error, "unknown-record");
  assert.equal((await get("/api/v1/customers/nobody/decisions")).status, 404);
});

const recordHooks = async (hooks) => {
  const res = await fetch(`${w.hostUrl}/_test/record`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ customerId: C, recordKey: `contact:v${vid}`, hooks }) });
  assert.equal(res.status, 200);
};

test("outbox: a write waiting to be sent is listed (method and path, never the body); then it is sent", async () => {
  await recordHooks({ holdSubmits: true }); // the record's Object decides and queues, but does not send yet
  await partner("PATCH", `/donors/${donorId}`, { fields: { name: "Status Person Renamed" } });
  const ob = await until(async () => {
    const x = await (await get(`/api/v1/customers/${C}/outbox`)).json();
    return x.items.length ? x : null;
  }, { what: "the queued write" });
  assert.equal(ob.items[0].recordKey, `contact:v${vid}`);
  assert.equal(ob.items[0].status, "queued");
  assert.equal(ob.items[0].method, "PUT");
  assert.match(ob.items[0].path, new RegExp(`/api/Contact/${vid}`));
  assert.ok(!JSON.stringify(ob).includes("Renamed"), "no body in the listing");
  assert.equal((await w.call("GET", "/status")).outbox.depth, 1);
  await recordHooks({ holdSubmits: false });
  await settled("the write");
  assert.equal((await w.sim.admin.contact(vid)).name, "Status Person Renamed");
  assert.deepEqual((await (await get(`/api/v1/customers/${C}/outbox`)).json()).items, []);
});

test("reconciliation runs and metrics", async () => {
  const { runId } = await w.call("POST", "/reconcile");
  const r = await until(async () => {
    const x = await (await get(`/api/v1/customers/${C}/reconciliation`)).json();
    return x.runs.some((run) => run.runId === runId) ? x : null;
  }, { what: "the run" });
  assert.equal(r.running, null);
  assert.ok(r.lastCompleteMs >= r.runs[0].startedMs);
  assert.equal(r.runs[0].runId, runId);
  const m = await (await get("/api/v1/metrics")).json();
  assert.equal(m.apiVersion, 1);
  assert.ok(m.customers[C], "the customer in the metrics");
  const text = await (await get("/metrics")).text();
  assert.match(text, new RegExp(`customer="${C}"`));
});
