// The host's status page in a real headless Chromium: it loads, shows the demo's conflict with its two values,
// and settling it from the page (the "Keep your platform's values" button) converges both sides: Virtuous and
// the partner hold the partner's note, the page shows no conflict and the health turns healthy. Then a record
// lookup shows the gift's history in plain language.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch } from "./chromium.mjs";
import { startWorld, demoConflict, until } from "./world.mjs";

let world;
let browser;
let scene;

before(async () => {
  [world, browser] = await Promise.all([startWorld(), launch()]);
  scene = await demoConflict(world);
});

after(async () => {
  await browser?.close();
  await world?.close();
});

test("status page: loads, shows the demo's conflict, and settling it from the page converges both sides", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${world.hostUrl}/status`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("body[data-loaded='1']");

  assert.equal(await page.$eval("#customer", (e) => e.value), world.customerId);
  assert.match(await page.$eval("#health", (e) => e.textContent), /Needs attention: 1 conflict to settle/);
  const conflict = await page.$eval(".conflict", (e) => e.textContent);
  assert.match(conflict, /Gift/);
  // The field and both sides' values as the conflict API lists them (Virtuous's side is what Virtuous holds now).
  const [listed] = (await (await fetch(`${world.api}/conflicts`)).json()).conflicts;
  const item = listed.items.find((i) => i.field === "notes");
  assert.ok(item, "the notes conflict");
  const cells = await page.$$eval(".conflict tr td", (tds) => tds.map((t) => t.textContent));
  assert.deepEqual(cells.slice(0, 3), ["notes", "Donor: please no calls", item.virtuous]);
  assert.equal(item.virtuous, (await world.sim.admin.gift(scene.giftId)).notes);
  assert.match(await page.$eval("#decisions", (e) => e.textContent), /changed on both sides/, "the reason in plain language");

  await page.click(".conflict .keep-partner");
  await page.waitForFunction(() => /Settled/.test(document.querySelector(".conflict .msg")?.textContent ?? ""));
  await world.quiet("the resolution");
  const gift = await world.sim.admin.gift(scene.giftId);
  assert.equal(gift.notes, "Donor: please no calls", "Virtuous holds the chosen value");
  assert.equal((await world.partnerCall("GET", "/donations/don-1")).fields.notes, "Donor: please no calls", "the partner holds it");

  await page.reload({ waitUntil: "domcontentloaded" });
  await page.waitForSelector("body[data-loaded='1']");
  await until(async () => {
    await page.evaluate(() => refresh());
    return /Healthy/.test(await page.$eval("#health", (e) => e.textContent));
  }, { what: "a healthy page" });
  assert.match(await page.$eval("#conflicts", (e) => e.textContent), /No conflicts/);
  assert.match(await page.$eval("#decisions", (e) => e.textContent), /A person settled a conflict|A conflict was settled/);

  // Record lookup by the partner's id: the gift's history with its reasons.
  await page.type("#lookup-id", "don-1");
  await page.click("#lookup-form button");
  await page.waitForSelector("#timeline-summary");
  const tl = await page.$eval("#timeline", (e) => e.textContent);
  assert.match(tl, new RegExp(`Virtuous #${scene.giftId}`));
  assert.match(tl, /in-sync/);
  assert.match(tl, /Virtuous confirmed a change we sent/);
  assert.match(tl, /manual-resolution|merged/);
  // An unknown record says so.
  await page.$eval("#lookup-id", (e) => (e.value = ""));
  await page.type("#lookup-id", "no-such-donation");
  await page.click("#lookup-form button");
  await page.waitForFunction(() => /No record found/.test(document.querySelector("#timeline").textContent));
  assert.deepEqual(errors, [], "no script errors on the page");
});

test("status page: the JSON routes it reads and /metrics answer for the same state", async () => {
  const list = await (await fetch(`${world.hostUrl}/api/v1/customers`)).json();
  assert.equal(list.customers[0].customerId, world.customerId);
  const prom = await (await fetch(`${world.hostUrl}/metrics`)).text();
  assert.match(prom, /virtuous_sync_conflicts_resolved_total\{customer="hope-shelter"\} 1/);
  assert.match(prom, /virtuous_sync_deliveries_total\{customer="hope-shelter",reason="accepted"\} \d+/);
  assert.match(prom, /virtuous_sync_open_conflicts\{customer="hope-shelter"\} 0/);
});

test("status page: the Raise deliveries section lists a delivery Raise could not make (from its delivery logs)", async () => {
  const simToken = world.sim.sim.config.auth.apiKeys[0];
  const c = await world.host.customer(world.customerId);
  await world.host.putCustomer({ ...c.settings, raiseLogs: { baseUrl: `${world.sim.url}/raise`, token: simToken } });
  const sim = async (path, body, auth) => {
    const res = await fetch(world.sim.url + path, { method: "POST", headers: { "content-type": "application/json", ...(auth ? { authorization: `Bearer ${simToken}` } : {}) }, body: JSON.stringify(body ?? {}) });
    assert.ok(res.ok, `${path}: ${res.status}`);
    return res.json();
  };
  // No Raise receiver is configured for this customer: the host answers 404 and Raise logs a failed attempt.
  const hook = await sim("/raise/api/Webhook", { name: "unconfigured", notificationUrl: `${world.hostUrl}/webhooks/raise/${world.customerId}`, eventTypesList: [20], securityToken: "t".repeat(40) }, true);
  await sim("/_sim/raise/events", { eventType: 20, record: { id: 4401 } });
  await sim("/_sim/product-webhooks/flush");
  assert.deepEqual(await world.host.raiseLogs.read(world.customerId), { failed: 1, recovered: 0, deliveries: 1 });

  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${world.hostUrl}/status`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("body[data-loaded='1']");
  assert.equal(await page.$eval("#raise-section", (e) => e.hidden), false);
  const cells = await page.$$eval("#raise table tr td", (tds) => tds.map((t) => t.textContent));
  assert.equal(cells[0], String(hook.id));
  assert.match(cells[1], /^ctx_/);
  assert.equal(cells[3], "1");
  assert.equal(cells[4], "404");
  assert.match(cells[5], /unknown-customer|no-receiver/);
  assert.ok(!(await page.content()).includes(simToken), "the Raise token is never on the page");
  assert.deepEqual(errors, [], "no script errors on the page");
});
