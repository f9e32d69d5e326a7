// Raise and VOMO deliveries through the host's inbox, and Raise's delivery logs on the status model and page: the
// host (PGlite store) against the local Virtuous (sim/), over real HTTP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { signBody } from "virtuous-sync";
import { startWorld, until } from "../../examples/partner-app/world.mjs";
import { openPglite } from "./support/stores.mjs";
import { STATUS_PAGE } from "../src/status-page.mjs";

const RAISE_TOKEN = randomBytes(32).toString("hex");
const VOMO_SECRET = randomBytes(32).toString("hex");

async function world() {
  const store = await openPglite();
  const w = await startWorld({ store, sync: { cooldownMs: 2_000 } });
  const c = await w.host.customer(w.customerId);
  const simToken = w.sim.sim.config.auth.apiKeys[0];
  await w.host.putCustomer({
    ...c.settings,
    receivers: { raise: { secrets: [RAISE_TOKEN], eventTypes: { 13: "page-update" } }, volunteer: { secrets: [VOMO_SECRET] } },
    raiseLogs: { baseUrl: `${w.sim.url}/raise`, token: simToken },
  });
  w.start();
  const sim = async (method, path, body, auth) => {
    const res = await fetch(w.sim.url + path, {
      method,
      headers: { ...(body ? { "content-type": "application/json" } : {}), ...(auth ? { authorization: `Bearer ${simToken}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    assert.ok(res.ok, `${method} ${path}: ${res.status}`);
    return res.status === 204 ? null : res.json();
  };
  return { w, store, sim, simToken, close: async () => (await w.close(), await store.close()) };
}

const inbox = (store, customerId) => store.db.query("SELECT dedupe_key, origin, status FROM vsh_inbox WHERE customer_id = $1 ORDER BY id", [customerId]).then((r) => r.rows);

test("Raise and VOMO deliveries sent by the local Virtuous reach the inbox and are decided; forged ones 401; redeliveries deduped; failures on the status page", { timeout: 120_000 }, async () => {
  const { w, store, sim, close } = await world();
  try {
    const raiseUrl = `${w.hostUrl}/webhooks/raise/${w.customerId}`;
    // Two Raise subscriptions to the host: one with the customer's securityToken, one forged (another token).
    const good = await sim("POST", "/raise/api/Webhook", { name: "sync", notificationUrl: raiseUrl, eventTypesList: [10], securityToken: RAISE_TOKEN }, true);
    const forged = await sim("POST", "/raise/api/Webhook", { name: "forged", notificationUrl: raiseUrl, eventTypesList: [10], securityToken: randomBytes(32).toString("hex") }, true);
    await sim("POST", "/_sim/vomo/endpoints", { url: `${w.hostUrl}/webhooks/volunteer/${w.customerId}`, secret: VOMO_SECRET });
    await sim("POST", "/_sim/raise/events", { eventType: 10, record: { id: 5001, amount: 25, createdDate: "2026-11-30T10:00:00Z" } });
    await sim("POST", "/_sim/vomo/events", { type: "participation.created", organization_id: 7, data: { id: 901, user_id: 12, updated_at: "2026-11-30T10:00:00Z" } });
    await sim("POST", "/_sim/product-webhooks/flush");

    const deliveries = await sim("GET", "/_sim/product-webhooks/deliveries");
    const state = (p, n) => deliveries.filter((d) => d.product === p).map((d) => [d.attempts.at(-1)?.status, d.state]);
    assert.deepEqual(state("raise").sort(), [[200, "delivered"], [401, "pending"]].sort(), "the genuine Raise delivery 200, the forged one 401");
    assert.deepEqual(state("volunteer"), [[200, "delivered"]]);

    // Both accepted deliveries are in the inbox under their product-qualified keys, and get decided.
    await until(async () => (await inbox(store, w.customerId)).filter((e) => e.status === "done").length === 2, { what: "both deliveries decided" });
    const rows = await inbox(store, w.customerId);
    assert.deepEqual(rows.map((r) => r.origin).sort(), ["raise-webhook", "volunteer-webhook"]);
    assert.ok(rows.some((r) => r.dedupe_key.startsWith("raise:")) && rows.some((r) => r.dedupe_key.startsWith("volunteer:")), JSON.stringify(rows));
    const status = await w.host.status(w.customerId);
    assert.equal(status.counters.raiseEvents, 1);
    assert.equal(status.counters.volunteerEvents, 1);
    assert.equal(status.counters["delivery:accepted"], 2);
    // VOMO's participation is a new record on its own link: created on the partner side and linked (product-links.test.mjs
    // covers matching, fan-out and deletion); Raise's gift 5001 likewise.
    const part = await w.host.store.findRecord(w.customerId, { product: "volunteer", kind: "participation", virtuousId: "901" });
    assert.equal(part.state.product, "volunteer");
    assert.ok(part.partnerId, "linked to the partner record created for it");
    assert.ok((await w.host.store.findRecord(w.customerId, { product: "raise", kind: "gift", virtuousId: "5001" }))?.partnerId);
    assert.deepEqual((await w.host.store.listReview(w.customerId)).filter((r) => r.kind === "product-link"), []);

    // A redelivery (Raise's same contextId) is acknowledged again without a second inbox entry.
    const body = JSON.stringify({ eventType: 10, contextId: "ctx_redelivered", gift: { id: 5002, amount: 30 } });
    const headers = { "content-type": "application/json", "x-raise-signature": signBody(body, RAISE_TOKEN, { encoding: "hex" }).signature };
    const r1 = await fetch(raiseUrl, { method: "POST", headers, body });
    const r2 = await fetch(raiseUrl, { method: "POST", headers, body });
    assert.equal(r1.status, 200);
    assert.equal((await r1.json()).duplicate, false);
    assert.equal(r2.status, 200);
    assert.equal((await r2.json()).duplicate, true);
    assert.equal((await inbox(store, w.customerId)).filter((e) => e.dedupe_key === "raise:event:ctx_redelivered").length, 1);
    // The CRM+ secret does not open the Raise route, nor the Raise token the VOMO one; an unconfigured product 404s.
    const crmSigned = { "content-type": "application/json", "x-raise-signature": signBody(body, w.secret, { encoding: "hex" }).signature };
    assert.equal((await fetch(raiseUrl, { method: "POST", headers: crmSigned, body })).status, 401);
    const vomoBody = JSON.stringify({ type: "participation.updated", organization_id: 7, data: { id: 901, updated_at: "2026-11-30T11:00:00Z" } });
    const wrongVomo = { "content-type": "application/json", "vomo-signature": signBody(vomoBody, RAISE_TOKEN, { encoding: "hex" }).signature };
    assert.equal((await fetch(`${w.hostUrl}/webhooks/volunteer/${w.customerId}`, { method: "POST", headers: wrongVomo, body: vomoBody })).status, 401);
    assert.equal((await inbox(store, w.customerId)).length, 3, "nothing stored for a forged delivery");

    // Raise's delivery logs: the forged subscription's 401 is a failed delivery on the status model.
    const read = await w.host.raiseLogs.read(w.customerId);
    assert.deepEqual(read, { failed: 1, recovered: 0, deliveries: 2 });
    const s = await w.host.status(w.customerId);
    const [f] = s.raiseDeliveries.failed;
    assert.equal(f.webhookId, String(forged.id));
    assert.match(f.contextId, /^ctx_/);
    assert.equal(f.attempts, 1);
    assert.equal(f.lastStatus, 401);
    assert.match(f.lastResponse, /signature|reason/);
    assert.notEqual(f.webhookId, String(good.id));
    const api = await fetch(`${w.hostUrl}/api/v1/customers/${w.customerId}/status`).then((r) => r.text());
    assert.ok(api.includes(f.contextId));
    assert.ok(!api.includes(w.sim.sim.config.auth.apiKeys[0]), "the Raise token is never shown");
    assert.ok(!api.includes(RAISE_TOKEN) && !api.includes(VOMO_SECRET));
    // The page renders the section from that status (the browser test drives it; here: it is there to render).
    assert.match(STATUS_PAGE, /<h2>Raise deliveries<\/h2>/);
    assert.match(STATUS_PAGE, /renderRaise\(s\)/);
  } finally {
    await close();
  }
});

test("receivers and raiseLogs settings are checked with typed errors", { timeout: 60_000 }, async () => {
  const { w, close } = await world();
  try {
    const c = await w.host.customer(w.customerId);
    const bad = [
      { receivers: { raise: { secrets: [] } } },
      { receivers: { crm: { secrets: [RAISE_TOKEN] } } },
      { receivers: { volunteer: { secrets: [VOMO_SECRET], eventTypes: { 10: "x" } } } },
      { receivers: { raise: { secrets: [RAISE_TOKEN], eventTypes: { 99: "x" } } } },
      { raiseLogs: { baseUrl: "http://example.org", token: "t" } },
      { raiseLogs: { token: "" } },
      { raiseLogs: { token: "t", everyMs: 1000 } },
    ];
    for (const b of bad) await assert.rejects(w.host.putCustomer({ ...c.settings, ...b }), (e) => e.code === "invalid-setting" || e.name === "VirtuousSyncError", JSON.stringify(b));
    // A customer without a Raise receiver: the route answers 404 (nothing is verified with another product's secret).
    await w.host.putCustomer({ ...c.settings, receivers: undefined });
    const res = await fetch(`${w.hostUrl}/webhooks/raise/${w.customerId}`, { method: "POST", body: "{}" });
    assert.equal(res.status, 404);
  } finally {
    await close();
  }
});
