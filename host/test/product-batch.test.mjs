// Matching new Raise links in a burst (docs/host.md, "Raise and VOMO webhooks"): one processing pass of several new
// links lists the partner's records once (counted at the partner port), and stays true to what the pass itself wrote:
// a donor created early in the pass is found by a later link with its email (review, never a second partner record).
// A single new link still lists narrowed by `match`. Raise deliveries from the local Virtuous over HTTP; memory store.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startWorld, until } from "../../examples/partner-app/world.mjs";
import { openMemory } from "./support/stores.mjs";

const RAISE_TOKEN = randomBytes(32).toString("hex");

test("a burst of new Raise links costs one partner list; a single one lists narrowed", { timeout: 120_000 }, async () => {
  const store = await openMemory();
  const w = await startWorld({ store, sync: { cooldownMs: 500 } });
  try {
    const c = await w.host.customer(w.customerId);
    await w.host.putCustomer({ ...c.settings, receivers: { raise: { secrets: [RAISE_TOKEN] } } });
    const sim = async (method, path, body, auth) => {
      const res = await fetch(w.sim.url + path, {
        method, headers: { ...(body ? { "content-type": "application/json" } : {}), ...(auth ? { authorization: `Bearer ${w.sim.sim.config.auth.apiKeys[0]}` } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      assert.ok(res.ok, `${method} ${path}: ${res.status}`);
      return res.json();
    };
    await sim("POST", "/raise/api/Webhook", { name: "sync", notificationUrl: `${w.hostUrl}/webhooks/raise/${w.customerId}`, eventTypesList: [30, 31, 32], securityToken: RAISE_TOKEN }, true);
    const partnerStore = async () => (await fetch(`${w.partner.url}/store`)).json();
    const donor = (fields) => fetch(`${w.partner.url}/donors`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ fields }) }).then((r) => r.json());
    await donor({ name: "Ada Lovelace", firstName: "Ada", lastName: "Lovelace", email: "ada@example.org" });
    await donor({ name: "Bob Marley", firstName: "Bob", lastName: "Marley", email: "bob@example.org" });
    for (const first of ["Sam", "Alex"]) await donor({ name: `${first} Rivera`, firstName: first, lastName: "Rivera", email: "riveras@example.org" });
    await w.host.drain(); // the partner app's change hooks for its own donors
    const before = Object.keys((await partnerStore()).donors).length;

    const calls = [];
    const list = w.host.partner.list;
    w.host.partner.list = (q) => (calls.push(q), list(q));
    // Six new donors delivered before the host processes any: two match, one is ambiguous, two are new people, the
    // last shares the first new one's email.
    const donors = [
      [9001, "Ada", "Lovelace", "ada@example.org"], [9002, "Bob", "Marley", "bob@example.org"], [9003, "Sam", "Rivera", "riveras@example.org"],
      [9004, "Carol", "Shaw", "carol@example.org"], [9005, "Dan", "Ives", "dan@example.org"], [9006, "Carol", "Shaw", "carol@example.org"],
    ];
    for (const [id, firstName, lastName, email] of donors) await sim("POST", "/_sim/raise/events", { eventType: 30, record: { id, firstName, lastName, email, modifiedDate: "2026-11-30T10:00:00Z" } });
    await sim("POST", "/_sim/product-webhooks/flush");
    assert.equal((await w.host.status(w.customerId)).inbox.pending, 6);
    assert.equal(await w.host.processInbox({ limit: 25 }), 6, "one pass");
    assert.equal(calls.length, 1, "one partner list for the pass");
    assert.equal(calls[0].match, undefined, "the pass's list is not narrowed to one link");

    const ps = await partnerStore();
    const byEmail = (e) => Object.values(ps.donors).filter((d) => d.fields.email === e);
    const linkOf = async (id) => (await store.findRecord(w.customerId, { product: "raise", kind: "contact", virtuousId: String(id) }))?.partnerId;
    assert.equal(await linkOf(9001), byEmail("ada@example.org")[0].id);
    assert.equal(await linkOf(9002), byEmail("bob@example.org")[0].id);
    assert.equal(await linkOf(9003), undefined, "the ambiguous one is not linked");
    assert.equal(byEmail("carol@example.org").length, 1, "Carol is created once, not again by the later link");
    assert.equal(await linkOf(9004), byEmail("carol@example.org")[0].id);
    assert.equal(await linkOf(9006), undefined);
    assert.equal(byEmail("dan@example.org").length, 1);
    assert.equal(Object.keys(ps.donors).length, before + 2);
    const review = (await store.listReview(w.customerId)).filter((r) => r.kind === "product-link").map((r) => [r.item.virtuousId, r.item.reason]);
    assert.deepEqual(review.sort(), [["9003", "ambiguous-match"], ["9006", "partner-record-already-linked"]]);

    // One new link alone: listed once, narrowed by `match`.
    await sim("POST", "/_sim/raise/events", { eventType: 30, record: { id: 9007, firstName: "Eve", lastName: "Moss", email: "eve@example.org", modifiedDate: "2026-11-30T10:00:00Z" } });
    await sim("POST", "/_sim/product-webhooks/flush");
    assert.equal(await w.host.processInbox({ limit: 25 }), 1);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1].match.emails, ["eve@example.org"]);
  } finally {
    // The partner app retries its change hook until the host answers: let it finish before the host goes.
    await until(async () => w.partner.pendingHooks() === 0, { what: "the partner app's hooks" }).catch(() => {});
    await w.close();
    await store.close();
  }
});
