// The status page served by the Worker host (workerd via miniflare: Durable Objects and Queues) in a real headless
// Chromium: the same page as the Node host's, reading the Worker's JSON API. The demo's conflict on a gift's note
// shows; settling it from the page converges both sides; the record lookup shows the gift's history.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch } from "./chromium.mjs";
import { demoConflict, SYNC, until } from "./world.mjs";
import { startWorkerWorld } from "../../examples/partner-app/worker-world.mjs";

let world;
let browser;
let scene;

async function startWorkerPageWorld(customerId = "hope-shelter-worker") {
  const w = await startWorkerWorld({ customerId, sync: SYNC });
  const call = async (method, url, body) => {
    const res = await fetch(url, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const status = () => w.call("GET", "/status");
  const quiet = async (what) => {
    await w.sim.admin.flush();
    await until(async () => {
      const s = await status();
      return s.inbox.pending === 0 && s.outbox.depth === 0 && w.partner.pendingHooks() === 0 && s.records.dirty === 0;
    }, { what, timeoutMs: 30_000 });
    await w.sim.admin.flush();
  };
  return { ...w, api: `${w.hostUrl}/api/v1/customers/${customerId}`, status, quiet, partnerCall: (method, path, body) => call(method, w.partner.url + path, body) };
}

before(async () => {
  [world, browser] = await Promise.all([startWorkerPageWorld(), launch()]);
  scene = await demoConflict(world);
});

after(async () => {
  await browser?.close();
  await world?.close();
});

test("the Worker's status page: shows the demo's conflict, settles it from the page, looks a record up", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${world.hostUrl}/status`, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("body[data-loaded='1']");
  assert.equal(await page.$eval("#customer", (e) => e.value), world.customerId);
  assert.match(await page.$eval("#health", (e) => e.textContent), /Needs attention: 1 conflict to settle/);
  const [listed] = (await (await fetch(`${world.api}/conflicts`)).json()).conflicts;
  const item = listed.items.find((i) => i.field === "notes");
  assert.ok(item, "the notes conflict");
  const cells = await page.$$eval(".conflict tr td", (tds) => tds.map((t) => t.textContent));
  assert.deepEqual(cells.slice(0, 3), ["notes", "Donor: please no calls", item.virtuous]);
  assert.match(await page.$eval("#decisions", (e) => e.textContent), /changed on both sides/, "the record's decisions in the recent activity");

  await page.click(".conflict .keep-partner");
  await page.waitForFunction(() => /Settled/.test(document.querySelector(".conflict .msg")?.textContent ?? ""));
  await world.quiet("the resolution");
  assert.equal((await world.sim.admin.gift(scene.giftId)).notes, "Donor: please no calls", "Virtuous holds the chosen value");
  assert.equal((await world.partnerCall("GET", "/donations/don-1")).fields.notes, "Donor: please no calls", "the partner holds it");

  await page.reload({ waitUntil: "domcontentloaded" });
  await page.waitForSelector("body[data-loaded='1']");
  await until(async () => {
    await page.evaluate(() => refresh());
    return /Healthy/.test(await page.$eval("#health", (e) => e.textContent));
  }, { what: "a healthy page", timeoutMs: 30_000 });
  assert.match(await page.$eval("#conflicts", (e) => e.textContent), /No conflicts/);

  await page.type("#lookup-id", "don-1");
  await page.click("#lookup-form button");
  await page.waitForSelector("#timeline-summary");
  const tl = await page.$eval("#timeline", (e) => e.textContent);
  assert.match(tl, new RegExp(`Virtuous #${scene.giftId}`));
  assert.match(tl, /in-sync/);
  assert.match(tl, /manual-resolution|merged/);
  assert.deepEqual(errors, [], "no script errors on the page");
});
