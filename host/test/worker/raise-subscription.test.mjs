// The Raise webhook subscription on the Worker host (workerd via miniflare): the admin route registers it against the
// local Virtuous's Raise API (created once, then unchanged), pause deactivates and resume reactivates it (GET-then-PUT,
// the customer's settings kept); the token never in an answer. The behaviour in full: host/test/raise-subscription.test.mjs.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { startWorkerWorld } from "../../../examples/partner-app/worker-world.mjs";

const C = "worker-raise-sub";
const RAISE_TOKEN = randomBytes(32).toString("hex");
let w;
let admin;
const raiseApi = async (method, path, body) => {
  const res = await fetch(`${w.sim.url}/raise/api${path}`, {
    method, headers: { authorization: `Bearer ${w.sim.sim.config.auth.apiKeys[0]}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status}`);
  return res.json();
};

before(async () => {
  w = await startWorkerWorld({ customerId: C, sync: { cooldownMs: 500 } });
  admin = { authorization: `Bearer ${w.adminToken}` };
  const sub = (await w.sim.admin.subscriptions())[0];
  await w.call("PUT", "", {
    customerId: C, platformName: "Acme Giving", secrets: [{ id: "initial", secret: w.secret }],
    virtuous: { baseUrl: w.sim.url, token: w.sim.sim.config.auth.apiKeys[0] }, partner: { url: w.partner.url }, webhookId: sub.id,
    sync: { cooldownMs: 500 }, reconcile: { resources: ["contact", "gift"] },
    receivers: { raise: { secrets: [RAISE_TOKEN] } }, raiseApi: { token: w.sim.sim.config.auth.apiKeys[0], baseUrl: `${w.sim.url}/raise` },
  }, admin);
});
after(async () => {
  await w?.close();
});

test("Worker: the admin route sets up the Raise webhook once; pause and resume switch it off and on", { timeout: 120_000 }, async () => {
  const url = `${w.hostUrl}/webhooks/raise/${C}`;
  await assert.rejects(w.call("POST", "/raise-subscription", { notificationUrl: url, eventTypes: [30] }), /401/, "an admin route");
  const created = await w.call("POST", "/raise-subscription", { notificationUrl: url, eventTypes: [30, 31, 32] }, admin);
  assert.equal(created.action, "created");
  assert.ok(!JSON.stringify(created).includes(RAISE_TOKEN));
  let [hook, ...more] = await raiseApi("GET", "/Webhook/list");
  assert.equal(more.length, 0);
  assert.deepEqual([String(hook.id), hook.notificationUrl, hook.eventTypesList, hook.securityToken, hook.status], [created.webhookId, url, [30, 31, 32], RAISE_TOKEN, 1]);
  await raiseApi("PUT", `/Webhook/${hook.id}`, { ...hook, name: "Acme's hook", format: 2 });
  assert.equal((await w.call("POST", "/raise-subscription", { notificationUrl: url, eventTypes: [31] }, admin)).action, "unchanged");
  assert.equal((await w.call("GET", "/raise-subscription", undefined, admin)).subscription.webhookId, created.webhookId);
  assert.ok((await w.call("POST", "/pause")).steps.includes("deactivate-raise-webhook"));
  [hook] = await raiseApi("GET", "/Webhook/list");
  assert.deepEqual([hook.status, hook.name, hook.format, hook.securityToken], [2, "Acme's hook", 2, RAISE_TOKEN]);
  assert.ok((await w.call("POST", "/resume")).steps.includes("reactivate-raise-webhook"));
  assert.equal((await raiseApi("GET", "/Webhook/list"))[0].status, 1);
});
