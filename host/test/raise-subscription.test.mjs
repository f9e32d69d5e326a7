// The Raise webhook subscription managed through the host kit, over real HTTP against the local Virtuous's Raise
// webhook API (sim/, under /raise) and through the host's JSON API: created when none delivers to the host, merged by
// GET-then-PUT when one does (the customer's name, format and other types kept), idempotent (no PUT when nothing
// changes), deactivated by pause and reactivated by resume, its securityToken rotated; typed errors; the token never
// in an answer, an error or the status model. On memory and PGlite.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startWorld, until } from "../../examples/partner-app/world.mjs";
import { openPgliteStore } from "../src/store/pglite.mjs";
import { openMemory, openPglite } from "./support/stores.mjs";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "..", "bin", "virtuous-sync-host.mjs");

const stores = [["memory", openMemory], ["pglite", openPglite]];

async function world(open, { raiseApi = true } = {}) {
  const store = await open();
  const w = await startWorld({ store, sync: { cooldownMs: 500 } });
  const token = randomBytes(32).toString("hex");
  const apiKey = w.sim.sim.config.auth.apiKeys[0];
  const c = await w.host.customer(w.customerId);
  await w.host.putCustomer({
    ...c.settings,
    receivers: { raise: { secrets: [token] } },
    ...(raiseApi ? { raiseApi: { token: apiKey, baseUrl: `${w.sim.url}/raise` } } : {}),
  });
  const raiseUrl = `${w.hostUrl}/webhooks/raise/${w.customerId}`;
  const api = async (method, path, body) => {
    const res = await fetch(`${w.hostUrl}/api/v1/customers/${w.customerId}${path}`, {
      method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, text, json: JSON.parse(text) };
  };
  const raiseApiCall = async (method, path, body) => {
    const res = await fetch(`${w.sim.url}/raise/api${path}`, {
      method, headers: { authorization: `Bearer ${apiKey}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined,
    });
    assert.ok(res.ok, `${method} ${path}: ${res.status}`);
    return res.status === 204 ? null : res.json();
  };
  const hooks = () => raiseApiCall("GET", "/Webhook/list");
  const puts = async () => (await w.sim.admin.requests({ method: "PUT", path: "/raise/api/Webhook/" })).length;
  const posts = async () => (await w.sim.admin.requests({ method: "POST", path: "/raise/api/Webhook" })).filter((r) => /\/raise\/api\/Webhook$/i.test(r.path)).length;
  const sim = async (method, path, body) => {
    const res = await fetch(w.sim.url + path, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
    assert.ok(res.ok, `${method} ${path}: ${res.status}`);
    return res.json();
  };
  /** Emits a Raise event and sends what is due: the delivery log rows it made. */
  const emit = async (eventType, record) => {
    const queued = await sim("POST", "/_sim/raise/events", { eventType, record });
    await sim("POST", "/_sim/product-webhooks/flush");
    const logs = await raiseApiCall("GET", "/Webhook/log/list");
    return queued.map((q) => logs.find((l) => l.contextId === q.contextId));
  };
  return { w, store, token, apiKey, raiseUrl, api, raiseApiCall, hooks, puts, posts, emit, close: async () => {
    // The partner app retries its change hook until the host answers: let it finish before the host goes.
    await until(async () => w.partner.pendingHooks() === 0, { what: "the partner app's hooks" }).catch(() => {});
    await w.close();
    await store.close();
  } };
}

for (const [name, open] of stores) {
  test(`${name}: setup creates the Raise webhook, is idempotent, merges into the customer's edits, pauses, resumes and rotates`, { timeout: 120_000 }, async () => {
    const { w, token, raiseUrl, api, raiseApiCall, hooks, puts, posts, emit, close } = await world(open);
    try {
      // No webhook yet: one is created, active, signed with the receiver's secret, delivering to the host.
      const first = await api("POST", "/raise-subscription", { notificationUrl: raiseUrl, eventTypes: [30, 31, 32] });
      assert.equal(first.status, 200, first.text);
      assert.equal(first.json.action, "created");
      assert.ok(!first.text.includes(token), "the token is never returned");
      let [hook, ...others] = await hooks();
      assert.equal(others.length, 0);
      assert.equal(String(hook.id), first.json.webhookId);
      assert.deepEqual([hook.name, hook.notificationUrl, hook.eventTypesList, hook.status, hook.securityToken], ["virtuous-sync", raiseUrl, [30, 31, 32], 1, token]);
      // Deliveries from it are accepted (the token is the receiver's secret).
      const [delivered] = await emit(30, { id: 501, firstName: "Grace", lastName: "Hopper", email: "grace@example.org", modifiedDate: "2026-11-30T10:00:00Z" });
      assert.equal(delivered.success, true, JSON.stringify(delivered));

      // The same setup again: nothing to change, no PUT, no second webhook.
      const putsBefore = await puts();
      const again = await api("POST", "/raise-subscription", { notificationUrl: raiseUrl, eventTypes: [30, 31, 32] });
      assert.equal(again.json.action, "unchanged", again.text);
      assert.equal(await puts(), putsBefore);
      assert.equal(await posts(), 1);
      assert.equal((await hooks()).length, 1);

      // The customer edits the webhook in Raise (its name, format, a gift type): setup adds a type and keeps theirs.
      await raiseApiCall("PUT", `/Webhook/${hook.id}`, { ...hook, name: "Acme's hook", format: 2, eventTypesList: [10, 30, 31, 32] });
      const merged = await api("POST", "/raise-subscription", { notificationUrl: raiseUrl, eventTypes: [30, 31, 32, 11] });
      assert.equal(merged.json.action, "updated", merged.text);
      assert.deepEqual(merged.json.enabled, [11]);
      assert.deepEqual(merged.json.disabled, []);
      [hook] = await hooks();
      assert.deepEqual([hook.name, hook.format, hook.eventTypesList, hook.notificationUrl, hook.securityToken, hook.status], ["Acme's hook", 2, [10, 30, 31, 32, 11], raiseUrl, token, 1]);
      assert.equal(await puts(), putsBefore + 2, "one PUT by the customer, one by the setup");
      const st = await api("GET", "/raise-subscription");
      assert.deepEqual([st.json.subscription.webhookId, st.json.subscription.notificationUrl, st.json.subscription.eventTypes], [String(hook.id), raiseUrl, [10, 30, 31, 32, 11]]);
      const status = await api("GET", "/status");
      assert.equal(status.json.raiseSubscription.webhookId, String(hook.id));
      assert.ok(!status.text.includes(token));

      // Pause deactivates it (GET-then-PUT, everything else kept); Raise sends nothing meanwhile; resume reactivates.
      const paused = await api("POST", "/pause");
      assert.ok(paused.json.steps.includes("deactivate-raise-webhook"), paused.text);
      [hook] = await hooks();
      assert.deepEqual([hook.status, hook.name, hook.format, hook.eventTypesList, hook.securityToken], [2, "Acme's hook", 2, [10, 30, 31, 32, 11], token]);
      assert.deepEqual(await emit(31, { id: 501, modifiedDate: "2026-11-30T11:00:00Z" }), [], "no delivery while inactive");
      const resumed = await api("POST", "/resume");
      assert.ok(resumed.json.steps.includes("reactivate-raise-webhook"), resumed.text);
      [hook] = await hooks();
      assert.equal(hook.status, 1);

      // A webhook the customer left inactive is not reactivated by a resume.
      await raiseApiCall("PUT", `/Webhook/${hook.id}`, { ...hook, status: 2 });
      assert.ok(!(await api("POST", "/pause")).json.steps.includes("deactivate-raise-webhook"));
      assert.ok(!(await api("POST", "/resume")).json.steps.includes("reactivate-raise-webhook"));
      assert.equal((await hooks())[0].status, 2);
      // Setup while paused writes the webhook inactive; resume turns it on.
      await api("POST", "/pause");
      assert.equal((await api("POST", "/raise-subscription", { notificationUrl: raiseUrl, eventTypes: [30] })).json.status, 2);
      assert.equal((await hooks())[0].status, 2);
      assert.ok((await api("POST", "/resume")).json.steps.includes("reactivate-raise-webhook"));
      assert.equal((await hooks())[0].status, 1);

      // Secret rotation: the new secret first in the receiver, then in the webhook (GET-then-PUT); both verify.
      const fresh = randomBytes(32).toString("hex");
      const rot = await w.host.rotateSecret(w.customerId, { product: "raise", newSecret: fresh, newSecretId: "raise-2" });
      assert.deepEqual(rot, { phase: "draining", newSecretId: "raise-2", webhookUpdated: true });
      [hook] = await hooks();
      assert.deepEqual([hook.securityToken, hook.name, hook.format, hook.eventTypesList], [fresh, "Acme's hook", 2, [10, 30, 31, 32, 11]]);
      const [signedNew] = await emit(31, { id: 501, firstName: "Grace", lastName: "Hopper", email: "grace@example.org", modifiedDate: "2026-11-30T12:00:00Z" });
      assert.equal(signedNew.success, true, JSON.stringify(signedNew));
      const c = await w.host.customer(w.customerId);
      assert.deepEqual(c.settings.receivers.raise.secrets.map((s) => s.id), ["raise-2", "s-0"]);
      assert.ok((await w.host.store.kvGet(w.customerId, "secret-seen:raise:s-0")) == null, "no delivery used the old secret since it was named");
      assert.ok((await w.host.store.kvGet(w.customerId, "secret-seen:raise:raise-2")) != null);
      assert.equal((await w.host.rotateSecret(w.customerId, { product: "raise" })).phase, "draining");
      assert.ok(!JSON.stringify(await w.host.status(w.customerId)).includes(fresh));
    } finally {
      await close();
    }
  });
}

test("errors are typed and never carry the token", { timeout: 60_000 }, async () => {
  const { w, token, apiKey, raiseUrl, api, raiseApiCall, hooks, close } = await world(openMemory);
  try {
    const bad = [
      [{ eventTypes: [30] }, 400, "invalid-argument"],
      [{ notificationUrl: raiseUrl, eventTypes: "30" }, 400, "invalid-argument"],
      [{ notificationUrl: raiseUrl, eventTypes: [] }, 400, "invalid-argument"],
      [{ notificationUrl: raiseUrl, eventTypes: [99] }, 400, "invalid-argument"],
      [{ notificationUrl: "http://hooks.example.org/raise", eventTypes: [30] }, 400, "insecure-payload-url"],
      [{ notificationUrl: raiseUrl, eventTypes: [30], format: 3 }, 400, "invalid-argument"],
    ];
    for (const [body, status, code] of bad) {
      const r = await api("POST", "/raise-subscription", body);
      assert.deepEqual([r.status, r.json.error], [status, code], `${JSON.stringify(body)}: ${r.text}`);
      assert.ok(!r.text.includes(token));
    }
    assert.equal((await hooks()).length, 0, "nothing was created");
    // Two webhooks deliver to the host: which one to change is a person's choice.
    for (const n of ["a", "b"]) await raiseApiCall("POST", "/Webhook", { name: n, notificationUrl: raiseUrl, eventTypesList: [30], securityToken: token });
    const two = await api("POST", "/raise-subscription", { notificationUrl: raiseUrl, eventTypes: [30] });
    assert.deepEqual([two.status, two.json.error], [400, "invalid-current-subscription"], two.text);
    assert.ok(!two.text.includes(token));
    // The Raise API refusing the token: subscription-read (502), the status only.
    const c = await w.host.customer(w.customerId);
    await w.host.putCustomer({ ...c.settings, raiseApi: { token: "wrong", baseUrl: `${w.sim.url}/raise` } });
    const denied = await api("POST", "/raise-subscription", { notificationUrl: `${raiseUrl}/other`, eventTypes: [30] });
    assert.deepEqual([denied.status, denied.json.error], [502, "subscription-read"], denied.text);
    assert.ok(!denied.text.includes("wrong") && !denied.text.includes(apiKey));
    // No Raise API settings, or no Raise receiver: invalid-setting.
    const { raiseApi: _a, ...noApi } = c.settings;
    await w.host.putCustomer(noApi);
    assert.deepEqual([(await api("POST", "/raise-subscription", { notificationUrl: raiseUrl, eventTypes: [30] })).json.error], ["invalid-setting"]);
    const { receivers: _r, ...noReceiver } = c.settings;
    await w.host.putCustomer(noReceiver);
    assert.deepEqual([(await api("POST", "/raise-subscription", { notificationUrl: raiseUrl, eventTypes: [30] })).json.error], ["invalid-setting"]);
    await assert.rejects(w.host.putCustomer({ ...c.settings, raiseApi: { token: "t", baseUrl: "http://raise.example.org" } }), { code: "invalid-setting" });
    assert.equal((await api("GET", "/raise-subscription")).json.subscription, null);
    const unknown = await fetch(`${w.hostUrl}/api/v1/customers/nobody/raise-subscription`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ notificationUrl: raiseUrl, eventTypes: [30] }) });
    assert.equal(unknown.status, 404);
  } finally {
    await close();
  }
});

test("a created webhook whose answer has no id is found in the list", { timeout: 60_000 }, async () => {
  const { w, raiseUrl, hooks, close } = await world(openMemory);
  try {
    const plain = w.host.fetch;
    w.host.fetch = async (url, init) => {
      const res = await plain(url, init);
      if (init?.method !== "POST" || !/\/api\/Webhook$/.test(String(url))) return res;
      const { id: _id, ...rest } = await res.json();
      return new Response(JSON.stringify(rest), { status: res.status, headers: { "content-type": "application/json" } });
    };
    const r = await w.host.setupRaiseSubscription(w.customerId, { notificationUrl: raiseUrl, eventTypes: [30] });
    const [hook] = await hooks();
    assert.deepEqual([r.action, r.webhookId], ["created", String(hook.id)]);
    assert.equal((await w.host.raiseSubscription.get(w.customerId)).webhookId, String(hook.id));
  } finally {
    await close();
  }
});

test("the command line sets up the Raise webhook of a customer in a PGlite store", { timeout: 120_000 }, async () => {
  const { w, token, apiKey, raiseUrl, hooks, close } = await world(openMemory);
  const dir = mkdtempSync(join(tmpdir(), "vsh-raise-cli-"));
  try {
    const store = await openPgliteStore({ dataDir: dir });
    await store.putCustomer("cli-customer", {
      customerId: "cli-customer", platformName: "Acme Giving", secrets: [{ id: "a", secret: randomBytes(32).toString("hex") }],
      receivers: { raise: { secrets: [token] } }, raiseApi: { token: apiKey, baseUrl: `${w.sim.url}/raise` },
    }, 1);
    await store.close();
    const args = ["raise-subscription", "--store", `pglite:${dir}`, "--customer", "cli-customer", "--url", raiseUrl, "--types", "30,31", "--name", "Acme sync"];
    const out = await run(process.execPath, [CLI, ...args]);
    const r = JSON.parse(out.stdout);
    assert.equal(r.action, "created");
    assert.ok(!out.stdout.includes(token) && !out.stderr.includes(token));
    const [hook] = await hooks();
    assert.deepEqual([String(hook.id), hook.name, hook.eventTypesList, hook.securityToken], [r.webhookId, "Acme sync", [30, 31], token]);
    assert.equal(JSON.parse((await run(process.execPath, [CLI, ...args])).stdout).action, "unchanged");
    // Refused with code 2 and the error's code on stderr: a bad type list, a type the core refuses.
    for (const [types, code] of [["30,x", "invalid-argument"], ["99", "invalid-argument"]]) {
      const bad = await run(process.execPath, [CLI, "raise-subscription", "--store", `pglite:${dir}`, "--customer", "cli-customer", "--url", raiseUrl, "--types", types]).then(() => null, (e) => e);
      assert.equal(bad?.code, 2, types);
      assert.match(bad.stderr, new RegExp(code));
    }
  } finally {
    await close();
    rmSync(dir, { recursive: true, force: true });
  }
});
