// The local Raise webhook API and the product webhook deliveries (Raise, VOMO): CRUD with PUT as a full
// replacement, signed deliveries, retries at +10 s and +100 s on the simulator's clock, delivery logs per attempt,
// and (with the installed core) the core receiving both products and summarising the logs.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startSim } from "../src/index.mjs";
import { json, receiver } from "./helpers.mjs";

const TOKEN = "raise-security-token-0123456789abcdef";
const VOMO_SECRET = "vomo-webhook-secret-0123456789abcdef";
const APP = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "build", "npm-scratch", "app");

async function core() {
  if (!existsSync(join(APP, "node_modules", "virtuous-sync", "package.json"))) {
    if (process.env.SIM_REQUIRE_CORE === "1") throw new Error(`the core package is not installed in ${APP}`);
    return null;
  }
  return import(pathToFileURL(join(APP, "esm.mjs")).href);
}

async function setup(answer) {
  const rx = await receiver(answer);
  const sim = await startSim({ seed: 7, clock: { mode: "manual", startMs: Date.UTC(2026, 2, 1, 9) } });
  const call = async (method, path, body) => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${sim.apiKey}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await json(res) };
  };
  const admin = (path, body) => call("POST", `/_sim${path}`, body ?? {});
  return { rx, sim, call, admin, close: async () => { await sim.close(); await rx.close(); } };
}

test("Raise webhook API: create, list, get, PUT replaces, delete; unauthenticated refused", async () => {
  const t = await setup();
  try {
    const created = await t.call("POST", "/raise/api/Webhook", { name: "sync", notificationUrl: t.rx.url, eventTypesList: [10, 31], format: 2, status: 1, securityToken: TOKEN });
    assert.equal(created.status, 200);
    assert.deepEqual(created.body.eventTypesList, [10, 31]);
    const id = created.body.id;
    assert.equal((await t.call("GET", "/raise/api/Webhook/list")).body.length, 1);
    const put = await t.call("PUT", `/raise/api/Webhook/${id}`, { name: "sync", notificationUrl: t.rx.url, eventTypesList: [10] });
    assert.equal(put.status, 200);
    assert.equal(put.body.format, 1, "a field left out of a PUT is reset");
    assert.equal(put.body.securityToken, null);
    assert.equal((await t.call("PUT", `/raise/api/Webhook/${id}`, { name: "x", notificationUrl: t.rx.url, eventTypesList: [9] })).status, 400);
    assert.equal((await t.call("DELETE", `/raise/api/Webhook/${id}`)).status, 204);
    assert.equal((await t.call("GET", `/raise/api/Webhook/${id}`)).status, 404);
    const anon = await fetch(`${t.sim.url}/raise/api/Webhook/list`);
    assert.equal(anon.status, 401);
  } finally {
    await t.close();
  }
});

test("Raise deliveries are signed, retried at +10 s and +100 s on the sim clock, and logged per attempt", async () => {
  const t = await setup(() => 500);
  try {
    await t.call("POST", "/raise/api/Webhook", { name: "sync", notificationUrl: t.rx.url, eventTypesList: [10], status: 1, securityToken: TOKEN });
    const [d] = (await t.admin("/raise/events", { eventType: 10, record: { id: 501, amount: 25 } })).body;
    assert.ok(d.contextId);
    (await t.admin("/raise/events", { eventType: 11, record: { id: 501 } })); // not subscribed: nothing queued
    await t.admin("/product-webhooks/flush");
    assert.equal(t.rx.received.length, 1);
    const first = t.rx.received[0];
    assert.deepEqual(first.json, { eventType: 10, contextId: d.contextId, gift: { id: 501, amount: 25 } });
    assert.equal(first.headers["x-raise-signature"], createHmac("sha256", TOKEN).update(first.raw).digest("hex"));
    t.sim.sim.clock.advance(9_999);
    await t.admin("/product-webhooks/flush");
    assert.equal(t.rx.received.length, 1, "no retry before +10 s");
    t.sim.sim.clock.advance(1);
    await t.admin("/product-webhooks/flush");
    assert.equal(t.rx.received.length, 2);
    t.sim.sim.clock.advance(100_000);
    await t.admin("/product-webhooks/flush");
    assert.equal(t.rx.received.length, 3);
    t.sim.sim.clock.advance(1_000_000);
    await t.admin("/product-webhooks/flush");
    assert.equal(t.rx.received.length, 3, "three tries, then given up");
    const logs = (await t.call("GET", "/raise/api/Webhook/log/list")).body;
    assert.equal(logs.length, 3);
    assert.ok(logs.every((l) => l.contextId === d.contextId && l.success === false && l.httpStatusCode === 500 && l.eventTypeDisplay === "Gift Created"));
  } finally {
    await t.close();
  }
});

test("VOMO deliveries: {type, organization_id, data}, hex vomo-signature, retried like Raise's", async () => {
  const t = await setup((_, i) => (i === 0 ? 503 : 200));
  try {
    await t.admin("/vomo/endpoints", { url: t.rx.url, secret: VOMO_SECRET });
    await t.admin("/vomo/events", { type: "participation.created", organization_id: 77, data: { id: 12, user_id: 3, hours: 2, updated_at: "2026-03-01T09:00:00.000000Z" } });
    await t.admin("/product-webhooks/flush");
    t.sim.sim.clock.advance(10_000);
    await t.admin("/product-webhooks/flush");
    assert.equal(t.rx.received.length, 2);
    const r = t.rx.received[1];
    assert.equal(r.json.type, "participation.created");
    assert.equal(r.headers["vomo-signature"], createHmac("sha256", VOMO_SECRET).update(r.raw).digest("hex"));
    const states = (await t.call("GET", "/_sim/product-webhooks/deliveries")).body.map((d) => d.state);
    assert.deepEqual(states, ["delivered"]);
    assert.equal((await t.admin("/vomo/events", { type: "Participation Created" })).status, 400);
  } finally {
    await t.close();
  }
});

test("core: Raise and VOMO deliveries from the sim are accepted; the delivery logs summarise into failed deliveries", async (ctx) => {
  const pkg = await core();
  if (!pkg) return ctx.skip("core package not installed");
  const t = await setup((_, i) => (i < 1 ? 401 : 200));
  try {
    const raise = new pkg.SyncCore({ product: "raise", secrets: [TOKEN], platformName: "PartnerPlatform" });
    const vomo = new pkg.SyncCore({ product: "volunteer", secrets: [VOMO_SECRET], platformName: "PartnerPlatform" });
    await t.call("POST", "/raise/api/Webhook", { name: "sync", notificationUrl: t.rx.url, eventTypesList: [31], status: 1, securityToken: TOKEN });
    await t.admin("/vomo/endpoints", { url: t.rx.url, secret: VOMO_SECRET });
    await t.admin("/raise/events", { eventType: 31, record: { id: 77, email: "bruce@wayne.example", modifiedDate: "2026-03-01T09:00:00Z" } });
    await t.admin("/vomo/events", { type: "participation.updated", organization_id: 5, data: { id: 12, status: "approved", updated_at: "2026-03-01T09:00:00.000000Z" } });
    await t.admin("/product-webhooks/flush");
    t.sim.sim.clock.advance(10_000);
    await t.admin("/product-webhooks/flush");
    const now = t.sim.sim.clock.now();
    const receipts = t.rx.received.map((d) => (d.headers["vomo-signature"] ? vomo : raise).receive(d.raw, d.headers, now));
    assert.ok(receipts.every((r) => r.status === 200 && r.reason === "accepted"), JSON.stringify(receipts.map((r) => r.reason)));
    const raised = receipts.find((r) => r.event.product === "raise").event;
    assert.equal(raised.resourceKind, "contact");
    assert.equal(raised.action, "update");
    const vomoEvent = receipts.find((r) => r.event.product === "volunteer").event;
    assert.equal(vomoEvent.resourceKind, "participation");
    const logs = (await t.call("GET", "/raise/api/Webhook/log/list")).body;
    const summary = pkg.summarizeRaiseDeliveryLogs({ rows: logs });
    assert.equal(summary.failed.length, 0);
    assert.equal(summary.recovered.length, 1, "the first attempt got our 401, the retry got through");
    assert.equal(summary.recovered[0].failures, 1);
    const learned = pkg.learnRaiseEventTypes({ rows: logs });
    assert.deepEqual(learned.disagreements, [], "the sim names types as the default labels do");
  } finally {
    await t.close();
  }
});
