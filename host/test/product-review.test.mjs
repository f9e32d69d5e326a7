// A person resolves an ambiguous Raise match through the review API (POST .../review/:id/resolve): choosing a partner
// record links the Raise donor to it at once (the held event goes back into the inbox), "new" creates a partner record;
// a partner record that already has a Raise link, an unknown record or item, and a second resolution are refused with
// typed errors. Raise deliveries from the local Virtuous over HTTP; memory and PGlite.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startWorld, until } from "../../examples/partner-app/world.mjs";
import { openMemory, openPglite } from "./support/stores.mjs";

const RAISE_TOKEN = randomBytes(32).toString("hex");

for (const [name, open] of [["memory", openMemory], ["pglite", openPglite]]) {
  test(`${name}: an ambiguous Raise match resolved by a person proceeds at once`, { timeout: 120_000 }, async () => {
    const store = await open();
    const w = await startWorld({ store, sync: { cooldownMs: 500 } });
    try {
      const c = await w.host.customer(w.customerId);
      await w.host.putCustomer({ ...c.settings, receivers: { raise: { secrets: [RAISE_TOKEN] } } });
      const call = async (method, path, body) => {
        const res = await fetch(`${w.hostUrl}/api/v1/customers/${w.customerId}${path}`, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
        return { status: res.status, json: await res.json() };
      };
      const sim = async (method, path, body, auth) => {
        const res = await fetch(w.sim.url + path, {
          method, headers: { ...(body ? { "content-type": "application/json" } : {}), ...(auth ? { authorization: `Bearer ${w.sim.sim.config.auth.apiKeys[0]}` } : {}) }, body: body ? JSON.stringify(body) : undefined,
        });
        assert.ok(res.ok, `${method} ${path}: ${res.status}`);
        return res.json();
      };
      await sim("POST", "/raise/api/Webhook", { name: "sync", notificationUrl: `${w.hostUrl}/webhooks/raise/${w.customerId}`, eventTypesList: [30, 31, 32], securityToken: RAISE_TOKEN }, true);
      const raise = async (eventType, record) => {
        await sim("POST", "/_sim/raise/events", { eventType, record });
        await sim("POST", "/_sim/product-webhooks/flush");
        await w.host.drain();
      };
      const partnerStore = async () => (await fetch(`${w.partner.url}/store`)).json();
      const ids = {};
      for (const first of ["Sam", "Alex"]) {
        const d = await (await fetch(`${w.partner.url}/donors`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ fields: { name: `${first} Rivera`, firstName: first, lastName: "Rivera", email: "riveras@example.org" } }) })).json();
        ids[first] = String(d.id ?? d.partnerId);
      }
      await w.host.drain();
      const count = async () => Object.keys((await partnerStore()).donors).length;
      const before = await count();
      const link = (vid) => store.findRecord(w.customerId, { product: "raise", kind: "contact", virtuousId: vid });

      await raise(30, { id: 8001, firstName: "Sam", lastName: "Rivera", email: "riveras@example.org", phone: "555-0101", modifiedDate: "2026-11-30T10:00:00Z" });
      let items = (await call("GET", "/review")).json.items;
      assert.deepEqual(items.map((i) => [i.kind, i.item.reason, i.item.virtuousId]), [["product-link", "ambiguous-match", "8001"]]);
      assert.deepEqual(items[0].item.partnerIds.sort(), [ids.Sam, ids.Alex].sort());
      const first = items[0].id;

      // Refused: no body, an unknown item, a partner record that does not exist. Nothing is stored or resolved.
      assert.deepEqual([(await call("POST", `/review/${first}/resolve`, {})).status], [400]);
      const unknown = await call("POST", "/review/999999/resolve", { partnerId: ids.Sam });
      assert.deepEqual([unknown.status, unknown.json.error], [404, "unknown-review"]);
      const missing = await call("POST", `/review/${first}/resolve`, { partnerId: "no-such-donor" });
      assert.deepEqual([missing.status, missing.json.error], [400, "invalid-argument"]);
      assert.equal((await call("GET", "/review")).json.items.length, 1);

      // Sam's record is chosen: the link proceeds at once; nothing created; only what Sam's record lacked filled in.
      const ok = await call("POST", `/review/${first}/resolve`, { partnerId: ids.Sam });
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
      assert.deepEqual([ok.json.partnerId, ok.json.recordKey, ok.json.refed], [ids.Sam, "raise:contact:v8001", true]);
      await w.host.drain();
      assert.equal((await link("8001"))?.partnerId, ids.Sam);
      assert.equal(await count(), before, "no partner record created");
      const tl = await w.host.timeline(w.customerId, "raise:contact:v8001");
      assert.ok(tl.entries.some((e) => e.action === "link" && e.reason === "review-resolved" && e.detail.partnerId === ids.Sam), JSON.stringify(tl.entries));
      assert.ok(tl.entries.some((e) => e.action === "resolve-review" && e.reason === "review-resolved"));
      assert.deepEqual((await call("GET", "/review")).json.items, []);
      const again = await call("POST", `/review/${first}/resolve`, { partnerId: ids.Alex });
      assert.deepEqual([again.status, again.json.error], [404, "unknown-review"], "resolved once");
      // The link carries on as any other: a Raise edit reaches Sam's record.
      await raise(31, { id: 8001, firstName: "Sam", lastName: "Rivera-Lee", email: "riveras@example.org", modifiedDate: "2026-11-30T11:00:00Z" });
      await until(async () => (await partnerStore()).donors[ids.Sam].fields.lastName === "Rivera-Lee", { what: "the Raise edit on Sam's record" });

      // A second donor sharing the email: still ambiguous. Sam's record already has a Raise link: refused; "new" creates.
      await raise(30, { id: 8002, firstName: "Alex", lastName: "Rivera", email: "riveras@example.org", modifiedDate: "2026-11-30T10:00:00Z" });
      items = (await call("GET", "/review")).json.items;
      assert.deepEqual(items.map((i) => [i.item.reason, i.item.virtuousId]), [["ambiguous-match", "8002"]]);
      const linked = await call("POST", `/review/${items[0].id}/resolve`, { partnerId: ids.Sam });
      assert.deepEqual([linked.status, linked.json.error], [400, "invalid-argument"]);
      const made = await call("POST", `/review/${items[0].id}/resolve`, { partnerId: "new" });
      assert.equal(made.status, 200, JSON.stringify(made.json));
      await w.host.drain();
      assert.equal(await count(), before + 1, "one partner record created");
      const alexLink = await link("8002");
      assert.ok(alexLink?.partnerId && ![ids.Sam, ids.Alex].includes(alexLink.partnerId), JSON.stringify(alexLink));
      assert.equal((await partnerStore()).donors[alexLink.partnerId].links?.raise, "8002");
      assert.equal((await w.host.status(w.customerId)).inbox.deadLetters, 0);
    } finally {
      // The partner app retries its change hook until the host answers: let it finish before the host goes.
      await until(async () => w.partner.pendingHooks() === 0, { what: "the partner app's hooks" }).catch(() => {});
      await w.close();
      await store.close();
    }
  });
}
