// The three webhook handlers (node:http, Fetch, Express) and the JSON API's bearer token, over real HTTP, on the
// memory store: each keeps the raw bytes, answers 401 for a forged delivery and 200 once stored.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import express from "express";
import { MemoryStore, Host, nodeHandler, fetchHandler, expressHandler, listen, customerIdFromPath } from "../src/index.mjs";
import { customerSettings, memoryPartner, signed } from "./support/harness.mjs";

const C = "t1";
const body = { event: "GiftCreate", gift: { id: 42, amount: 5, modifiedDateTimeUtc: "2026-11-30T10:00:00Z" } };

async function host() {
  const store = new MemoryStore();
  const h = new Host({ store, partner: memoryPartner() });
  await h.putCustomer(customerSettings(C));
  return { h, store };
}

const serve = (handler) =>
  new Promise((resolve) => {
    const s = http.createServer(handler);
    s.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${s.address().port}`, close: () => new Promise((r) => s.close(r)) }));
  });

async function exercise(url, store) {
  const d = signed(body);
  // Same JSON, different bytes (re-serialised with spaces): the signature covers the bytes, so it must fail.
  const reformatted = JSON.stringify(body, null, 1);
  const forged = await fetch(`${url}/webhooks/virtuous/${C}`, { method: "POST", headers: d.headers, body: reformatted });
  assert.equal(forged.status, 401);
  assert.equal((await store.statusCounts(C)).inboxPending, 0);
  const ok = await fetch(`${url}/webhooks/virtuous/${C}`, { method: "POST", headers: d.headers, body: d.text });
  assert.equal(ok.status, 200);
  const again = await fetch(`${url}/webhooks/virtuous/${C}`, { method: "POST", headers: d.headers, body: d.text });
  assert.equal(again.status, 200);
  assert.equal((await again.json()).duplicate, true);
  assert.equal((await store.statusCounts(C)).inboxPending, 1);
  assert.equal((await fetch(`${url}/webhooks/virtuous/other`, { method: "POST", headers: d.headers, body: d.text })).status, 404);
}

test("customerIdFromPath", () => {
  assert.equal(customerIdFromPath("/webhooks/virtuous/t%201?x=1"), "t 1");
  assert.equal(customerIdFromPath("/webhooks/other/t1"), undefined);
  assert.equal(customerIdFromPath("/webhooks/virtuous/%E0%A4%A"), undefined);
});

test("node:http handler", async () => {
  const { h, store } = await host();
  const s = await serve(nodeHandler(h));
  try {
    await exercise(s.url, store);
  } finally {
    await s.close();
  }
});

test("Fetch handler (Request → Response)", async () => {
  const { h, store } = await host();
  const handle = fetchHandler(h);
  const s = await serve(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const r = await handle(new Request(`http://x${req.url}`, { method: req.method, headers: req.headers, body: Buffer.concat(chunks) }));
    res.writeHead(r.status, { "content-type": "application/json" });
    res.end(Buffer.from(await r.arrayBuffer()));
  });
  try {
    await exercise(s.url, store);
  } finally {
    await s.close();
  }
});

test("Express handler: without a body parser, with express.raw, and refused after express.json", async () => {
  const { h, store } = await host();
  const app = express();
  app.post("/webhooks/virtuous/:customerId", expressHandler(h));
  const s = await serve(app);
  try {
    await exercise(s.url, store);
  } finally {
    await s.close();
  }
  const b = await host();
  const raw = express();
  raw.post("/webhooks/virtuous/:customerId", express.raw({ type: "*/*" }), expressHandler(b.h));
  const s2 = await serve(raw);
  try {
    await exercise(s2.url, b.store);
  } finally {
    await s2.close();
  }
  const c = await host();
  const parsed = express();
  parsed.post("/webhooks/virtuous/:customerId", express.json(), expressHandler(c.h));
  const s3 = await serve(parsed);
  try {
    const d = signed(body);
    const r = await fetch(`${s3.url}/webhooks/virtuous/${C}`, { method: "POST", headers: d.headers, body: d.text });
    assert.equal(r.status, 500);
    assert.equal((await r.json()).error, "raw-body-unavailable");
    assert.equal((await c.store.statusCounts(C)).inboxPending, 0);
  } finally {
    await s3.close();
  }
});

test("the JSON API with a token: 401 without it, 200 with it; the webhook route needs none", async () => {
  const { h, store } = await host();
  const srv = await listen(h, { token: "api-token" });
  try {
    assert.equal((await fetch(`${srv.url}/api/v1/customers/${C}/status`)).status, 401);
    const ok = await fetch(`${srv.url}/api/v1/customers/${C}/status`, { headers: { authorization: "Bearer api-token" } });
    assert.equal(ok.status, 200);
    const st = await ok.json();
    assert.equal(st.apiVersion, 1);
    assert.equal(JSON.stringify(st).includes("test-secret"), false, "the status never carries a secret");
    await exercise(srv.url, store);
  } finally {
    await srv.close();
  }
});
