// `scripts/demo --product volunteer [--once]`: the Volunteer (VOMO) scenario (volunteer.mjs) with the local Virtuous's
// VOMO API, the host on PGlite and the partner app over HTTP on 127.0.0.1; prints what synced and the per-resource
// cursors and budget; `--once` exits (0 only when every step held), otherwise the host keeps running.
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openPgliteStore } from "../../host/src/index.mjs";
import { startWorld } from "./world.mjs";
import { runVolunteerScenario } from "./volunteer.mjs";

const once = process.argv.includes("--once");
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DIR = join(ROOT, "build", "demo-volunteer");
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });

const t0 = Date.now();
const say = (line) => console.log(line);
say("==== virtuous-sync demo, Volunteer (VOMO): the local Virtuous's VOMO API, the host (PGlite) and a partner app, over HTTP on 127.0.0.1 ====");
const store = await openPgliteStore({ dataDir: join(DIR, "host-db") });
const errors = [];
const world = await startWorld({
  store,
  customerId: "demo-volunteers",
  partnerFile: join(DIR, "partner-store.json"),
  sync: { cooldownMs: 2_000, policy: { default: "most-recent-wins" } },
  log: (event, detail) => errors.push({ event, detail }),
});
world.start();
say(`local Virtuous  ${world.sim.url}/v1   (VOMO API: users, projects, participations; admin under /_sim/vomo)`);
say(`host            ${world.hostUrl}   (JSON API at /api/v1)`);
say(`partner app     ${world.partner.url}`);
say("");

let ok = true;
let facts;
try {
  facts = await runVolunteerScenario(world, { say });
} catch (e) {
  ok = false;
  say(`\n✗ the scenario failed: ${e.message}`);
}
if (facts) {
  say("");
  say("==== what synced ====");
  for (const d of facts.donors) say(`donor ${d.id.padEnd(10)} ${`${d.fields.firstName} ${d.fields.lastName}`.padEnd(24)} ${d.fields.email ?? ""}   (Volunteer user ${d.links?.volunteer})`);
  for (const p of facts.participations) say(`participation ${p.id.padEnd(10)} ${String(p.fields.hours ?? "-").padStart(3)} h  ${p.fields.status ?? ""}   (Volunteer participation ${p.links?.volunteer})`);
  const v = facts.status.volunteer;
  say("");
  say("==== cursors and budget ====");
  for (const [r, c] of Object.entries(v.resources))
    say(`${r.padEnd(15)} high water ${c.highWaterMs != null ? new Date(c.highWaterMs).toISOString() : "-"}  boundary ids ${c.boundaryIds}  pending tombstones ${c.pendingTombstones}`);
  say(`budget          ${v.budget.requestsPerMinute}/min learned (configured ${v.budget.configuredPerMinute}), ${v.budget.throttled} 429s waited out`);
  say(`review queue    ${facts.review.map((r) => r.kind).join(", ") || "empty"}`);
  if (facts.problems.length) {
    ok = false;
    for (const p of facts.problems) say(`✗ ${p}`);
  }
}
const statusUrl = `${world.hostUrl}/api/v1/customers/${world.customerId}/status`;
const res = await fetch(statusUrl).catch(() => null);
if (!res?.ok) {
  ok = false;
  say(`✗ the status API did not answer at ${statusUrl}`);
}
say("");
say(`status API: ${statusUrl}   (its "volunteer" part: per-resource cursors, the budget)`);
say(`${ok ? "demo passed" : "demo FAILED"} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
if (!ok && errors.length) for (const e of errors.slice(-10)) say(`  host log: ${e.event} ${JSON.stringify(e.detail)}`);
if (once || !ok) {
  await world.close();
  await store.close();
  process.exit(ok ? 0 : 1);
}
say("the host keeps running (Ctrl-C to stop)");
const stop = async () => {
  await world.close();
  await store.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
