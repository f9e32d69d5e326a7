// The admin API's own guarantees: named scenarios as the host will see them, reset, the store, the clock, config.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startSim } from "../src/index.mjs";
import { giftTransaction, simWithReceiver } from "./helpers.mjs";

async function withStampedGift(t) {
  await t.api.request("POST", "/api/v2/Gift/Transaction", giftTransaction(1));
  await t.admin.runBatch();
  await t.admin.flush();
  t.rx.received.length = 0;
  return t.api.request("GET", "/api/Gift/PartnerPlatform/donation-1");
}

test("scenario staff-edit: one GiftUpdate of our stamped gift, amount and its designation changed together", async () => {
  const t = await simWithReceiver();
  try {
    const g = await withStampedGift(t);
    await t.admin.createGift({ contactId: g.contactId, amount: 5 }); // a newer gift without our stamp
    await t.admin.flush();
    t.rx.received.length = 0;
    const r = await t.admin.scenario("staff-edit");
    assert.equal(r.steps[0].giftId, g.id, "the newest gift carrying a transactionSource");
    assert.equal(t.rx.received.length, 1);
    const u = t.rx.received[0].json;
    assert.equal(u.event, "GiftUpdate");
    assert.equal(u.gift.amount, 505);
    assert.equal(u.gift.giftDesignations[0].amountDesignated, 505);
    assert.equal(u.gift.transactionSource, "PartnerPlatform");
  } finally {
    await t.close();
  }
});

test("scenarios reorder, duplicate, contact-edit, merge, api-outage, nightly-batch", async () => {
  const t = await simWithReceiver();
  try {
    const g = await withStampedGift(t);
    await t.admin.scenario("reorder", { giftId: g.id, first: { notes: "one" }, second: { notes: "two" } });
    assert.deepEqual(t.rx.received.map((d) => d.json.gift.notes), ["two", "one"]);
    const [older, newer] = [t.rx.received[1].json.gift, t.rx.received[0].json.gift];
    assert.ok(newer.modifiedDateTimeUtc > older.modifiedDateTimeUtc, "the newer change arrived first");

    t.rx.received.length = 0;
    await t.admin.scenario("duplicate", { giftId: g.id, advance: true });
    assert.equal(t.rx.received.length, 2);
    assert.equal(t.rx.received[0].body, t.rx.received[1].body);

    t.rx.received.length = 0;
    await t.admin.scenario("contact-edit", { contactId: g.contactId, set: { firstName: "Brucie" } });
    assert.equal(t.rx.received[0].json.contact.contactIndividuals[0].firstName, "Brucie");

    t.rx.received.length = 0;
    const m = await t.admin.scenario("merge", { into: g.contactId });
    const from = m.steps[0].contactId;
    const updates = t.rx.received.filter((d) => d.json.event === "ContactUpdate").map((d) => d.json.contact);
    assert.deepEqual(updates.map((c) => [c.id, c.mergedIntoContactId]), [[from, g.contactId], [g.contactId, null]]);

    await t.admin.scenario("api-outage", { count: 1 });
    assert.equal((await t.api.raw("GET", `/api/Gift/${g.id}`)).status, 500);
    assert.equal((await t.api.raw("GET", `/api/Gift/${g.id}`)).status, 200);

    await t.api.request("POST", "/api/v2/Gift/Transaction", giftTransaction(2));
    const b = await t.admin.scenario("nightly-batch");
    assert.equal(b.steps[0].created.length, 1);
    assert.deepEqual((await t.admin.scenarios()).map((s) => s.name).sort(), ["api-outage", "contact-edit", "duplicate", "merge", "nightly-batch", "outage", "rate-storm", "reorder", "staff-edit"]);
  } finally {
    await t.close();
  }
});

test("scenario outage: the edit's delivery fails for good (only reconciliation finds it), later events flow again", async () => {
  const t = await simWithReceiver();
  try {
    const g = await withStampedGift(t);
    const r = await t.admin.scenario("outage", { giftId: g.id });
    const failed = (await t.admin.deliveries({ state: "failed" }));
    assert.equal(failed.length, 1);
    assert.equal(failed[0].attempts.length, 7, "the default schedule: seven attempts");
    assert.equal(t.rx.received.length, 0);
    const edited = r.steps[0].modifiedDateTimeUtc;
    // A Query from before the outage finds the change.
    const q = await t.api.request("POST", "/api/Gift/Query?take=10", { groups: [{ conditions: [{ parameter: "Last Modified Date", operator: "Is After", value: g.modifiedDateTimeUtc }] }] });
    assert.deepEqual(q.list.map((x) => [x.id, x.modifiedDateTimeUtc]), [[g.id, edited]]);
    await t.admin.editGift(g.id, { notes: "after the outage" });
    await t.admin.flush();
    assert.equal(t.rx.received.length, 1);
  } finally {
    await t.close();
  }
});

test("reset: a fresh organisation with the same seed replays ids; subscriptions from the start options survive", async () => {
  const t = await simWithReceiver({ seed: 77 });
  try {
    const a = await t.admin.createContact({ name: "First" });
    await t.admin.editContact(a.id, { name: "Edited" });
    const r = await t.admin.reset();
    assert.equal(r.seed, 77);
    const s = await t.admin.store();
    assert.deepEqual([s.contacts.length, s.gifts.length, s.events.length, s.deliveries.length], [0, 0, 0, 0]);
    assert.equal(s.subscriptions.length, 1);
    const b = await t.admin.createContact({ name: "First" });
    assert.equal(b.id, a.id, "same seed, same ids");
    await t.admin.reset({ seed: 78 });
    const c = await t.admin.createContact({ name: "First" });
    assert.notEqual(c.id, a.id);
    await t.admin.flush();
    assert.equal(t.rx.received.at(-1).json.contact.id, c.id);
  } finally {
    await t.close();
  }
});

test("the store, the clock and run-time config through the admin API", async () => {
  const sim = await startSim({ seed: 2, clock: { mode: "manual", startMs: Date.UTC(2026, 0, 1) } });
  try {
    assert.deepEqual(await sim.admin.clock(), { mode: "manual", nowMs: Date.UTC(2026, 0, 1), iso: "2026-01-01T00:00:00.000Z" });
    assert.equal((await sim.admin.advance(1500)).nowMs, Date.UTC(2026, 0, 1) + 1500);
    assert.equal((await sim.admin.setClock("2026-02-01T00:00:00Z")).nowMs, Date.UTC(2026, 1, 1));
    const c = await sim.admin.createContact({ name: "Clocked" });
    assert.equal(c.createDateTimeUtc, "2026-02-01T00:00:00.000Z");
    await sim.admin.patchConfig({ timestampPrecision: "s" });
    const e = await sim.admin.editContact(c.id, { name: "Seconds" });
    assert.equal(e.modifiedDateTimeUtc, "2026-02-01T00:00:01Z", "strictly after the previous change, at second precision");
    const store = await sim.admin.store();
    assert.equal(store.config.auth.apiKeys, 1, "credentials are not exposed");
    assert.ok(!JSON.stringify(store).includes("sim-password"));
    const secretive = await startSim({ forwardTo: "http://127.0.0.1:9/x", secret: "do-not-show-do-not-show-do-not-show" });
    try {
      const text = JSON.stringify(await secretive.admin.config());
      assert.ok(!text.includes("do-not-show"), "subscription secrets in the config are redacted");
      assert.match(text, /\[redacted\]/);
    } finally {
      await secretive.close();
    }
    assert.equal(store.contacts[0].name, "Seconds");
    assert.equal((await sim.admin.config()).timestampPrecision, "s");
  } finally {
    await sim.close();
  }
});
