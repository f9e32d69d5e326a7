// Regenerates the customer docs' screenshots of the status page (docs/customer/images/*.png) with the same headless
// Chromium as the status page test, over the demo's world (host + local Virtuous + partner). Run: scripts/screenshots
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { launch } from "./chromium.mjs";
import { startWorld, firstGift, conflictOnNote, until } from "./world.mjs";

const OUT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "customer", "images");
mkdirSync(OUT, { recursive: true });
const [world, browser] = await Promise.all([startWorld(), launch()]);
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 800, deviceScaleFactor: 1 });
  const open = async () => {
    await page.goto(`${world.hostUrl}/status`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector("body[data-loaded='1']");
    // Fixed text where the clock shows, so regenerated images differ only when the page does.
    await page.evaluate(() => (document.getElementById("updated").textContent = "Updated just now"));
  };
  const shot = async (name, selector) => {
    const el = selector ? await page.$(selector) : null;
    await (el ?? page).screenshot({ path: join(OUT, name), ...(el ? {} : { fullPage: true }) });
    console.log(`docs/customer/images/${name}`);
  };

  const { giftId } = await firstGift(world);
  await open();
  await shot("status-healthy.png");
  await conflictOnNote(world, giftId);
  await open();
  await shot("status-conflict.png", "#conflicts-section");
  await shot("health-attention.png", "#health-section");
  await page.click(".conflict .keep-partner");
  await page.waitForFunction(() => /Settled/.test(document.querySelector(".conflict .msg")?.textContent ?? ""));
  await shot("conflict-settled.png", "#conflicts-section");
  await world.quiet("the resolution");
  await open();
  await shot("recent-activity.png", "#decisions-section");
  await page.type("#lookup-id", "don-1");
  await page.click("#lookup-form button");
  await page.waitForSelector("#timeline-summary");
  await shot("record-history.png", "#lookup-section");
  await page.click("#pause");
  await until(async () => (await world.status()).paused, { what: "the pause" });
  await open();
  await shot("health-paused.png", "#health-section");
} finally {
  await browser.close();
  await world.close();
}
