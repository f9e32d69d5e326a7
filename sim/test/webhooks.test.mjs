// Subscriptions (CRUD, full-replacement PUT, Active) and deliveries: retries with backoff on any non-2xx,
// final failure, duplicates, reordering, holds, outages, replays.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startSim } from "../src/index.mjs";
import { SECRET, json, receiver, simWithReceiver } from "./helpers.mjs";

test("subscription CRUD: POST, GET, PUT replaces (omitted toggles false), Active, DELETE; no list endpoint", async () => {
  const rx = await receiver();
  const sim = await startSim({ seed: 5, clock: { mode: "manual" } });
  try {
    const api = sim.api;
    let res = await api.raw("POST", "/api/Webhook", { payloadUrl: rx.url, secret: SECRET, giftCreate: true, giftUpdate: true, contactUpdate: true });
    assert.equal(res.status, 200);
    const sub = await json(res);
    assert.equal(sub.active, true);
    assert.equal(sub.giftCreate, true);
    assert.equal(sub.contactCreate, false);
    assert.equal(sub.secret, SECRET, "the secret is returned with the subscription");
    assert.deepEqual(await api.request("GET", `/api/Webhook/${sub.id}`), sub);
    assert.equal((await api.raw("GET", "/api/Webhook")).status, 405, "no list endpoint");
    assert.equal((await api.raw("POST", "/api/Webhook", { secret: "x" })).status, 400);

    const replaced = await api.request("PUT", `/api/Webhook/${sub.id}`, { payloadUrl: rx.url, giftDelete: true });
    assert.equal(replaced.giftCreate, false);
    assert.equal(replaced.giftDelete, true);
    assert.equal(replaced.secret, null);
    assert.equal(replaced.active, false, "PUT replaces: an omitted active is false");
    assert.equal((await api.request("PUT", `/api/Webhook/${sub.id}/Active?active=true`)).active, true);
    assert.equal((await api.raw("PUT", `/api/Webhook/${sub.id}/Active?active=maybe`)).status, 400);
    assert.equal((await api.raw("DELETE", `/api/Webhook/${sub.id}`)).status, 204);
    assert.equal((await api.raw("GET", `/api/Webhook/${sub.id}`)).status, 404);
  } finally {
    await sim.close();
    await rx.close();
  }
});

test("only toggled event types are delivered; an inactive subscription drops events for good", async () => {
  const t = await simWithReceiver();
  try {
    const [sub] = await t.admin.subscriptions();
    await t.api.request("PUT", `/api/Webhook/${sub.id}`, { payloadUrl: sub.payloadUrl, secret: SECRET, contactCreate: true, active: true });
    const c = await t.admin.createContact({ name: "Toggled" });
    await t.admin.editContact(c.id, { name: "Not delivered: contactUpdate is off" });
    await t.api.request("PUT", `/api/Webhook/${sub.id}/Active?active=false`);
    await t.admin.createContact({ name: "Dropped" });
    await t.api.request("PUT", `/api/Webhook/${sub.id}/Active?active=true`);
    await t.admin.flush({ advance: true });
    assert.deepEqual(t.rx.received.map((d) => d.json.contact.name), ["Toggled"]);
    const events = await t.admin.events();
    assert.deepEqual(events.map((e) => [e.type, e.deliveries.length, e.droppedFor]), [
      ["ContactCreate", 1, []],
      ["ContactUpdate", 0, []],
      ["ContactCreate", 0, [sub.id]],
    ]);
  } finally {
    await t.close();
  }
});

test("retries: any non-2xx (401 included) is retried with growing delays; after the last attempt the delivery fails", async () => {
  const statuses = [401, 500, 404, 200];
  const t = await simWithReceiver({ answer: (_, i) => statuses[i] ?? 200 });
  try {
    const start = (await t.admin.clock()).nowMs;
    await t.admin.createContact({ name: "Retried" });
    await t.admin.flush();
    assert.equal(t.rx.received.length, 1);
    let [d] = await t.admin.deliveries();
    assert.equal(d.state, "pending");
    assert.equal(d.dueAtMs - d.attempts[0].atMs, 10_000);
    // Not due yet: nothing is sent until the clock moves.
    await t.admin.advance(9_999);
    await t.admin.flush();
    assert.equal(t.rx.received.length, 1);
    const f = await t.admin.flush({ advance: true });
    assert.equal(f.delivered, 1);
    [d] = await t.admin.deliveries();
    assert.deepEqual(d.attempts.map((a) => a.status), [401, 500, 404, 200]);
    assert.deepEqual(d.attempts.map((a) => a.atMs - start), [0, 10_000, 70_000, 370_000]);
    assert.ok(t.rx.received.every((x) => x.body === t.rx.received[0].body), "same bytes every time");

    // Always failing: seven attempts, then failed, and never again.
    await t.admin.patchConfig({ retry: { delaysMs: [1000, 2000] } });
    statuses.length = 0;
    statuses.push(...Array(20).fill(503));
    t.rx.received.length = 0;
    await t.admin.createContact({ name: "Doomed" });
    await t.admin.flush({ advance: true });
    const doomed = (await t.admin.deliveries()).at(-1);
    assert.equal(doomed.state, "failed");
    assert.equal(doomed.attempts.length, 3);
    await t.admin.advance(3_600_000);
    await t.admin.flush({ advance: true });
    assert.equal(t.rx.received.length, 3);
  } finally {
    await t.close();
  }
});

test("duplicates: duplicate-next and a seeded duplicateRate send the same bytes twice", async () => {
  const t = await simWithReceiver();
  try {
    await t.admin.duplicateNext(1);
    await t.admin.createContact({ name: "Twice" });
    await t.admin.createContact({ name: "Once" });
    await t.admin.flush({ advance: true });
    assert.deepEqual(t.rx.received.map((d) => d.json.contact.name), ["Twice", "Once", "Twice"]);
    assert.equal(t.rx.received[0].body, t.rx.received[2].body);
    assert.equal(t.rx.received[0].headers["x-virtuous-signature"], t.rx.received[2].headers["x-virtuous-signature"]);
    const ds = await t.admin.deliveries();
    assert.equal(ds[2].duplicateOf, ds[0].id);
  } finally {
    await t.close();
  }
  // Rate 1: every event twice.
  const u = await simWithReceiver({ config: { faults: { duplicateRate: 1 } } });
  try {
    for (const name of ["a", "b", "c"]) await u.admin.createContact({ name });
    await u.admin.flush({ advance: true });
    assert.equal(u.rx.received.length, 6);
  } finally {
    await u.close();
  }
});

test("reordering: hold + release reverse, and a seeded reorderRate that lets later events overtake", async () => {
  const t = await simWithReceiver();
  try {
    await t.admin.hold();
    const c = await t.admin.createContact({ name: "v1" });
    await t.admin.editContact(c.id, { name: "v2" });
    await t.admin.editContact(c.id, { name: "v3" });
    await t.admin.flush();
    assert.equal(t.rx.received.length, 0, "held");
    await t.admin.release("reverse");
    await t.admin.flush();
    assert.deepEqual(t.rx.received.map((d) => d.json.contact.name), ["v3", "v2", "v1"]);
  } finally {
    await t.close();
  }
  // With reorderRate 0.5, the same seed gives the same order every run, and some event is overtaken.
  const orders = [];
  for (let run = 0; run < 2; run++) {
    const u = await simWithReceiver({ seed: 11, config: { faults: { reorderRate: 0.5 } } });
    try {
      for (let i = 0; i < 8; i++) await u.admin.createContact({ name: `c${i}` });
      await u.admin.flush({ advance: true });
      orders.push(u.rx.received.map((d) => d.json.contact.name));
    } finally {
      await u.close();
    }
  }
  assert.deepEqual(orders[0], orders[1]);
  assert.notDeepEqual(orders[0], [...orders[0]].sort());
  assert.equal(orders[0].length, 8);
});

test("outage: the endpoint unreachable → attempts fail with ECONNREFUSED and retry; back up → delivered", async () => {
  const t = await simWithReceiver();
  try {
    await t.admin.setOutages({ webhooks: true });
    await t.admin.createContact({ name: "During outage" });
    await t.admin.flush();
    let [d] = await t.admin.deliveries();
    assert.match(d.attempts[0].error, /ECONNREFUSED/);
    assert.equal(t.rx.received.length, 0);
    await t.admin.setOutages({ webhooks: false });
    await t.admin.flush({ advance: true });
    [d] = await t.admin.deliveries();
    assert.equal(d.state, "delivered");
    assert.equal(t.rx.received.length, 1);
    // Replay of a delivered one.
    const again = await t.admin.redeliver(d.id);
    assert.equal(again.duplicateOf, d.id);
    await t.admin.flush();
    assert.equal(t.rx.received.length, 2);
  } finally {
    await t.close();
  }
});

test("a real refused connection is retried like any failure", async () => {
  const rx = await receiver();
  const url = rx.url;
  await rx.close(); // nobody listens there now
  const sim = await startSim({ seed: 3, clock: { mode: "manual" }, forwardTo: url, secret: SECRET, config: { retry: { delaysMs: [1000] } } });
  try {
    await sim.admin.createContact({ name: "Nobody home" });
    await sim.admin.flush({ advance: true });
    const [d] = await sim.admin.deliveries();
    assert.equal(d.state, "failed");
    assert.deepEqual(d.attempts.map((a) => a.error), ["ECONNREFUSED", "ECONNREFUSED"]);
  } finally {
    await sim.close();
  }
});

test("retry jitter is drawn from the seed (same seed, same schedule); requireHttps refuses http payload URLs", async () => {
  const schedule = async (seed) => {
    const t = await simWithReceiver({ seed, answer: () => 500, config: { retry: { delaysMs: [1000, 1000, 1000], jitterMs: 500 } } });
    try {
      await t.admin.createContact({ name: "Jittered" });
      await t.admin.flush({ advance: true });
      const [d] = await t.admin.deliveries();
      const gaps = d.attempts.slice(1).map((a, i) => a.atMs - d.attempts[i].atMs);
      assert.ok(gaps.every((g) => g >= 1000 && g <= 1500), `gaps ${gaps}`);
      return gaps;
    } finally {
      await t.close();
    }
  };
  const a = await schedule(21);
  assert.deepEqual(await schedule(21), a);
  assert.notDeepEqual(a, [1000, 1000, 1000], "jitter applied");

  const sim = await startSim({ config: { requireHttps: true } });
  try {
    const res = await sim.api.raw("POST", "/api/Webhook", { payloadUrl: "http://127.0.0.1:1/hook", giftCreate: true });
    assert.equal(res.status, 400);
    assert.equal((await json(res)).error.details[0].field, "payloadUrl");
    assert.equal((await sim.api.raw("POST", "/api/Webhook", { payloadUrl: "https://example.org/hook", giftCreate: true })).status, 200);
  } finally {
    await sim.close();
  }
});
