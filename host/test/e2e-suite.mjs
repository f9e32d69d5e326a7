// End to end: the host (on a given store, with N workers) against the local Virtuous (sim/) and the partner app,
// over real HTTP. Run by e2e-pglite.test.mjs and e2e-postgres.test.mjs.
import { test as nodeTest } from "node:test";
import assert from "node:assert/strict";
import { signBody } from "virtuous-sync";
import { startWorld, until } from "../../examples/partner-app/world.mjs";
import { runScenario } from "../../examples/partner-app/scenario.mjs";

const money = (v) => Number(v).toFixed(2);

export function e2eSuite(name, openStore, { workers = 1 } = {}) {
  const test = (title, fn) =>
    nodeTest(`${name} (${workers} worker${workers > 1 ? "s" : ""}): ${title}`, { timeout: 120_000 }, async () => {
      const store = await openStore();
      const log = [];
      const w = await startWorld({
        store,
        workers,
        sync: { cooldownMs: 2_000, policy: { default: "most-recent-wins" } },
        log: (e, d) => log.push([e, d]),
      });
      w.start();
      try {
        await fn(w, log);
      } finally {
        await w.close();
        await store.close();
      }
    });

  const partner = async (w, method, path, body) => {
    const res = await fetch(w.partner.url + path, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
    return res.json();
  };
  const hostApi = async (w, method, path, body) => {
    const res = await fetch(`${w.hostUrl}/api/v1/customers/${w.customerId}${path}`, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, body: await res.json() };
  };
  /** A gift created by staff in Virtuous and synced to the partner: [giftId, partner donation id]. */
  const staffGift = async (w, amount = 100) => {
    const contact = await w.sim.admin.createContact({ name: "Grace Hopper", firstName: "Grace", lastName: "Hopper", contactType: "Household" });
    const gift = await w.sim.admin.createGift({ contactId: contact.id, amount, giftDate: "2026-11-01", giftType: "Cash", currencyCode: "USD" });
    const don = await until(async () => Object.values((await partner(w, "GET", "/store")).donations).find((d) => d.virtuousId === String(gift.id)), { what: "the gift on the partner" });
    return [gift.id, don.id];
  };
  const settled = async (w) => {
    await w.sim.admin.flush();
    await until(async () => {
      const s = (await hostApi(w, "GET", "/status")).body;
      return s.inbox.pending === 0 && s.outbox.depth === 0 && s.records.dirty === 0 && w.partner.pendingHooks() === 0;
    }, { what: "a quiet host" });
  };

  test("the demo scenario: every step holds and both stores converge", async (w) => {
    const facts = await runScenario(w);
    assert.deepEqual(facts.problems, []);
    assert.ok(facts.compared >= 5);
    const c = facts.status.counters;
    assert.ok(c.echoes >= 5, "our writes' echoes were recognised");
    assert.equal(c.conflicts, 1);
    assert.equal(c.resolved, 1);
    assert.ok(c.rateLimited >= 1 && c.retries >= c.rateLimited);
    assert.equal(facts.status.openConflicts, 0);
    assert.equal(facts.status.inbox.deadLetters, 0);
    // Never a duplicate: one Transaction per donation, one gift per Transaction.
    const tx = await w.sim.admin.transactions();
    const ids = tx.filter((t) => t.kind === "gift").map((t) => t.externalId);
    assert.equal(new Set(ids).size, ids.length, "one gift Transaction per donation");
  });

  test("forged and unsigned deliveries: 401, nothing stored; a delivery for an unknown customer: 404", async (w) => {
    const body = JSON.stringify({ event: "GiftCreate", gift: { id: 999001, amount: 5, modifiedDateTimeUtc: "2026-11-30T10:00:00Z" } });
    const forged = signBody(body, "not-the-secret-0123456789abcdef0123456789");
    const url = `${w.hostUrl}/webhooks/virtuous/${w.customerId}`;
    const r1 = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...forged.headers }, body });
    assert.equal(r1.status, 401);
    const r2 = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
    assert.equal(r2.status, 401);
    const good = signBody(body, w.secret);
    const r3 = await fetch(`${w.hostUrl}/webhooks/virtuous/someone-else`, { method: "POST", headers: { "content-type": "application/json", ...good.headers }, body });
    assert.equal(r3.status, 404);
    const st = (await hostApi(w, "GET", "/status")).body;
    assert.equal(st.inbox.pending, 0);
    assert.equal(st.records.total, 0);
    assert.equal(st.lastDeliveryMs, undefined, "nothing was stored");
  });

  test("duplicate deliveries: answered 2xx each time, applied once", async (w) => {
    const [giftId, donId] = await staffGift(w);
    await settled(w);
    await w.sim.admin.duplicateNext(1);
    await w.sim.admin.editGift(giftId, { notes: "dup check" });
    await until(async () => (await w.sim.admin.deliveries()).filter((d) => d.duplicateOf).length === 1 && (await w.sim.admin.deliveries({ state: "pending" })).length === 0, { what: "the duplicate delivery" });
    await settled(w);
    const delivered = (await w.sim.admin.deliveries()).filter((d) => d.eventType === "GiftUpdate");
    assert.equal(delivered.length, 2);
    for (const d of delivered) assert.equal(d.attempts.at(-1).status, 200);
    const tl = (await hostApi(w, "GET", `/records/${encodeURIComponent(`gift:v${giftId}`)}/timeline`)).body;
    const applies = tl.entries.filter((e) => e.direction === "inbound" && e.action === "apply");
    assert.equal(applies.length, 1, "applied once");
    assert.equal((await partner(w, "GET", `/donations/${donId}`)).fields.notes, "dup check");
  });

  test("out-of-order deliveries: the older edit arriving last changes nothing", async (w) => {
    const [giftId, donId] = await staffGift(w);
    await settled(w);
    await w.sim.admin.hold();
    await w.sim.admin.editGift(giftId, { amount: 110 });
    await w.sim.admin.editGift(giftId, { amount: 120 });
    await w.sim.admin.release("reverse");
    await settled(w);
    assert.equal(money((await partner(w, "GET", `/donations/${donId}`)).fields.amount), "120.00");
    const tl = (await hostApi(w, "GET", `/records/${encodeURIComponent(`gift:v${giftId}`)}/timeline`)).body;
    assert.ok(tl.entries.some((e) => e.direction === "inbound" && e.reason === "stale"), "the older event was recognised as stale");
    assert.equal((await w.sim.admin.gift(giftId)).amount, 120, "nothing written back");
  });

  test("a crash between claim and commit loses nothing", async (w) => {
    const [giftId, donId] = await staffGift(w);
    await settled(w);
    for (const h of w.hosts) await h.stop();
    await w.sim.admin.editGift(giftId, { notes: "after the crash" });
    await w.sim.admin.flush();
    // A worker claims the delivery and dies before committing: its lease (300 ms) lapses.
    const [entry] = await w.host.store.inboxClaim({ owner: "crashed-worker", nowMs: Date.now(), leaseMs: 300, limit: 1 });
    assert.ok(entry, "the delivery was stored before the 2xx");
    w.start();
    await until(async () => (await partner(w, "GET", `/donations/${donId}`)).fields.notes === "after the crash", { what: "the recovered delivery" });
    await settled(w);
    assert.equal((await w.host.store.inboxGet(w.customerId, entry.dedupeKey)).status, "done");
  });

  test("several workers on one record: edits released together are applied one at a time, newest wins", async (w) => {
    const [giftId, donId] = await staffGift(w);
    await settled(w);
    await w.sim.admin.hold();
    for (let i = 1; i <= 6; i++) await w.sim.admin.editGift(giftId, { amount: 200 + i, notes: `edit ${i}` });
    await w.sim.admin.release("shuffle");
    await settled(w);
    const don = await partner(w, "GET", `/donations/${donId}`);
    assert.equal(money(don.fields.amount), "206.00");
    assert.equal(don.fields.notes, "edit 6");
    const row = await w.host.store.findRecord(w.customerId, { kind: "gift", virtuousId: String(giftId) });
    assert.equal(row.lockOwner, undefined);
    assert.equal((await w.sim.admin.gift(giftId)).amount, 206, "no write back");
  });

  test("pause and resume through the JSON API: the subscription goes inactive, edits made meanwhile are reconciled", async (w) => {
    const [giftId, donId] = await staffGift(w);
    await settled(w);
    const p = await hostApi(w, "POST", "/pause");
    assert.equal(p.status, 200);
    assert.equal((await w.sim.admin.subscriptions())[0].active, false);
    assert.equal((await hostApi(w, "GET", "/status")).body.paused, true);
    await w.sim.admin.editGift(giftId, { amount: 130 }); // dropped: the subscription is inactive
    await partner(w, "PATCH", `/donations/${donId}`, { fields: { notes: "written while paused" } });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await w.sim.admin.gift(giftId)).notes ?? null, null, "nothing submitted while paused");
    const r = await hostApi(w, "POST", "/resume");
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.resumed, true);
    assert.equal((await w.sim.admin.subscriptions())[0].active, true);
    await settled(w);
    assert.equal(money((await partner(w, "GET", `/donations/${donId}`)).fields.amount), "130.00", "the dropped edit was reconciled");
    assert.equal((await w.sim.admin.gift(giftId)).notes, "written while paused", "the queued partner write went out after");
    const st = (await hostApi(w, "GET", "/status")).body;
    assert.equal(st.paused, false);
    assert.ok(st.reconciliation.lastCompleteMs > 0);
    assert.equal(st.apiVersion, 1);
  });

  test("JSON API errors: unknown customer 404, unknown record 404, resolving a record not in conflict 409, bad body 400", async (w) => {
    const [giftId] = await staffGift(w);
    await settled(w);
    assert.equal((await fetch(`${w.hostUrl}/api/v1/customers/nobody/status`)).status, 404);
    assert.equal((await hostApi(w, "GET", "/records/gift:nothing/timeline")).status, 404);
    assert.equal((await hostApi(w, "POST", `/conflicts/gift:v${giftId}/resolve`, { choices: { notes: "partner" } })).status, 409);
    assert.equal((await hostApi(w, "POST", `/conflicts/gift:v${giftId}/resolve`, { nope: 1 })).status, 400);
    assert.equal((await hostApi(w, "POST", "/partner-changes", { kind: "gift" })).status, 400);
    const tl = await hostApi(w, "GET", `/records/gift:v${giftId}/timeline`);
    assert.equal(tl.status, 200);
    assert.equal(tl.body.entries[0].reason, "new-record");
  });

  test("the initial match: pairs by email linked in-sync, a household to review, one-sided records created on the other side", async (w) => {
    await w.sim.admin.fixtures({ contacts: 4, giftsPerContact: 0 });
    const vs = (await w.sim.admin.store()).contacts.filter((c) => !c.mergedIntoContactId);
    const email = (c) => c.contactIndividuals?.[0]?.contactMethods?.find((m) => /mail/i.test(m.type))?.value;
    const [a, b, c] = vs;
    assert.ok(email(a) && email(b) && email(c), "fixtures carry emails");
    // The partner's data existed before the connection (no change hook fired).
    const donors = w.partner.store.data.donors;
    const put = (id, name, mail) => (donors[id] = { id, fields: { name }, email: mail, modifiedMs: Date.now(), origin: "partner" });
    put("p-a", a.name, email(a).toUpperCase()); // pairs with a (email compared case-insensitively)
    put("p-h1", "Household One", email(b)); // two partner records share b's email: a review item
    put("p-h2", "Household Two", email(b));
    put("p-new", "Only On Partner", "only@partner.example");
    const r = await hostApi(w, "POST", "/initial-match", { kind: "contact" });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.phase, "done");
    assert.equal(r.body.pairs, 1);
    assert.equal(r.body.review, 1);
    assert.equal(r.body.partnerOnly, 1);
    assert.equal(r.body.virtuousOnly, vs.length - 2);
    const row = await w.host.store.findRecord(w.customerId, { kind: "contact", partnerId: "p-a" });
    assert.equal(row.virtuousId, String(a.id));
    assert.equal(row.state.state, "in-sync");
    const review = (await hostApi(w, "GET", "/review")).body.items;
    assert.deepEqual(review[0].item.partnerIds.sort(), ["p-h1", "p-h2"]);
    await settled(w);
    assert.ok((await w.sim.admin.transactions()).some((t) => t.externalId === "p-new"), "the partner-only donor was submitted");
    const names = Object.values((await partner(w, "GET", "/store")).donors).map((d) => d.fields.name);
    assert.ok(names.includes(c.name), "a Virtuous-only contact was created on the partner side");
    const progress = (await hostApi(w, "GET", "/initial-match")).body.progress;
    assert.equal(progress.phase, "done");
    assert.equal(progress.partnerRecords, 4);
  });

  test("secret rotation: new secret first, the subscription updated by GET-then-PUT, deliveries keep verifying, the old one retired after draining", async (w) => {
    const [giftId, donId] = await staffGift(w);
    await settled(w);
    const [sub] = await w.sim.admin.subscriptions();
    const newSecret = "rotated-secret-0123456789abcdef0123456789abcdef";
    const r = await w.host.rotateSecret(w.customerId, { newSecret, newSecretId: "s2", drainMs: 3_000 });
    assert.equal(r.phase, "draining");
    const live = await w.sim.api.request("GET", `/api/Webhook/${sub.id}`);
    assert.equal(live.secret, newSecret, "the subscription now signs with the new secret");
    assert.equal(live.giftUpdate, true, "the PUT kept every toggle");
    await w.sim.admin.editGift(giftId, { notes: "signed with the new secret" });
    await until(async () => (await partner(w, "GET", `/donations/${donId}`)).fields.notes === "signed with the new secret", { what: "the delivery signed with the new secret" });
    assert.equal((await w.host.rotateSecret(w.customerId)).phase, "draining");
    await new Promise((res) => setTimeout(res, 3_100));
    assert.equal((await w.host.rotateSecret(w.customerId, { retireOld: true })).phase, "retired");
    const c = await w.host.store.getCustomer(w.customerId);
    assert.deepEqual(c.settings.secrets.map((x) => x.id), ["s2"]);
    await w.sim.admin.editGift(giftId, { notes: "after retirement" });
    await until(async () => (await partner(w, "GET", `/donations/${donId}`)).fields.notes === "after retirement", { what: "a delivery after retirement" });
    const st = (await hostApi(w, "GET", "/status")).body;
    assert.equal(st.secretRotation.newSecretId, "s2");
    assert.ok(st.secretRotation.retiredAtMs > 0);
  });

  test("a batch confirmation missed during an outage is caught up by reconciliation (confirmed by the query, never created twice)", async (w) => {
    await partner(w, "POST", "/donors", { id: "donor-9", fields: { name: "Katherine Johnson", contactType: "Household" } });
    await partner(w, "POST", "/donations", { id: "don-9", donorId: "donor-9", fields: { amount: "9.00", giftDate: "2026-11-30", giftType: "Cash", currencyCode: "USD" } });
    await until(async () => (await w.sim.admin.transactions()).filter((t) => t.state === "held").length === 2, { what: "two held Transactions" });
    await settled(w);
    await w.sim.admin.setOutages({ webhooks: true });
    const batch = await w.sim.admin.runBatch();
    const giftId = batch.created.find((c) => c.giftId).giftId;
    await until(async () => (await w.sim.admin.deliveries({ state: "pending" })).length === 0, { what: "the deliveries to fail" });
    await w.sim.admin.setOutages({ webhooks: false });
    let st = (await hostApi(w, "GET", "/status")).body;
    assert.equal(st.records.partnerPending, 2, "still pending: the confirmations never arrived");
    const rec = await hostApi(w, "POST", "/reconcile");
    assert.equal(rec.status, 200);
    assert.ok(rec.body.fed >= 2);
    await settled(w);
    st = (await hostApi(w, "GET", "/status")).body;
    assert.equal(st.records.partnerPending, 0);
    const row = await w.host.store.findRecord(w.customerId, { kind: "gift", partnerId: "don-9" });
    assert.equal(row.virtuousId, String(giftId));
    assert.equal(row.state.state, "in-sync");
    const p = await partner(w, "GET", "/store");
    assert.equal(Object.values(p.donations).length, 1, "the reconciled create confirmed the donation; nothing created on the partner");
    assert.equal(Object.values(p.donors).length, 1, "the contact was confirmed by its reference, not created again");
    assert.ok(st.reconciliation.cursors.gift.highWaterMs > 0);
  });
}
