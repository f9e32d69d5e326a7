// The demo (scripts/demo): a local Virtuous, the host on PGlite and the partner app, talking real HTTP on 127.0.0.1,
// through one narrated scenario; then counts, a convergence check of both stores, and the host left running with its
// JSON status API (until Ctrl-C). `--once`: stop after the check (exit 0 when everything held, 1 otherwise).
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openPgliteStore } from "../../host/src/index.mjs";
import { startWorld } from "./world.mjs";
import { startWorkerWorld } from "./worker-world.mjs";
import { runScenario } from "./scenario.mjs";

// --product volunteer: the Volunteer (VOMO) polling scenario instead (volunteer-demo.mjs); crm (default): this one.
const productAt = process.argv.indexOf("--product");
const product = process.argv.find((a) => a.startsWith("--product="))?.split("=")[1] ?? (productAt >= 0 ? process.argv[productAt + 1] : "crm");
if (!["crm", "volunteer"].includes(product)) {
  console.error(`--product: crm or volunteer, not ${product}`);
  process.exit(2);
}
if (product === "volunteer") {
  await import("./volunteer-demo.mjs"); // exits by itself with --once; otherwise its host keeps the process alive
  await new Promise(() => {});
}
const once = process.argv.includes("--once");
// --worker: the same scenario on the Worker host (workerd via miniflare: Durable Objects and Queues) instead of Node.
const onWorker = process.argv.includes("--worker");
const portArg = process.argv.find((a) => a.startsWith("--port="));
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DIR = join(ROOT, "build", "demo");
// Every run starts from nothing (idempotent): the host's PGlite database and the partner's store live here.
rmSync(DIR, { recursive: true, force: true });
mkdirSync(DIR, { recursive: true });

const t0 = Date.now();
const say = (line) => console.log(line);
say(`==== virtuous-sync demo: a local Virtuous, the host (${onWorker ? "Workers: Durable Objects + Queues, in miniflare" : "PGlite"}) and a partner app, over HTTP on 127.0.0.1 ====`);
const store = onWorker ? null : await openPgliteStore({ dataDir: join(DIR, "host-db") });
const errors = [];
const world = await (onWorker ? startWorkerWorld : startWorld)({
  store,
  dir: onWorker ? join(DIR, "worker") : undefined,
  partnerFile: join(DIR, "partner-store.json"),
  hostPort: portArg ? Number(portArg.split("=")[1]) : 0,
  // The local Virtuous replaces the whole record on PUT, as Virtuous documents: the host writes GET-then-PUT.
  sync: { cooldownMs: 2_000, policy: { default: "most-recent-wins" } },
  log: (event, detail) => errors.push({ event, detail }),
});
world.start();
say(`local Virtuous  ${world.sim.url}   (CRM+ API, admin API under /_sim)`);
say(`host            ${world.hostUrl}   (webhooks at /webhooks/virtuous/${world.customerId}, JSON API at /api/v1)`);
say(`partner app     ${world.partner.url}`);
say("");

let facts;
let ok = true;
try {
  facts = await runScenario(world, { say });
} catch (e) {
  ok = false;
  say(`\n✗ the scenario failed: ${e.message}`);
}

if (facts) {
  const c = facts.status.counters;
  say("");
  say("==== counts ====");
  say(`writes to Virtuous        ${c.writes ?? 0}   (${c.queued ?? 0} decided; coalesced and unchanged ones never sent)`);
  say(`echoes recognised         ${c.echoes ?? 0}   (our own writes coming back as webhooks, confirmed, never re-applied)`);
  say(`applied to the partner    ${c.applied ?? 0}`);
  say(`conflicts                 ${c.conflicts ?? 0}   (resolved: ${c.resolved ?? 0})`);
  say(`retries                   ${c.retries ?? 0}   (429s: ${c.rateLimited ?? 0}; waits for the budget: ${c.budgetWaits ?? 0})`);
  say(`merges remapped           ${c.remaps ?? 0}`);
  say("");
  say("==== convergence ====");
  if (facts.problems.length) {
    ok = false;
    for (const p of facts.problems) say(`✗ ${p}`);
  } else say(`✓ both stores agree on every mapped field of the ${facts.compared} linked records; one Virtuous gift per donation`);
  const st = facts.status;
  say(`  open conflicts ${st.openConflicts}, outbox depth ${st.outbox.depth}, dead letters ${st.inbox.deadLetters}, stuck writes ${st.outbox.stuckWrites.length}`);
  if (st.openConflicts || st.outbox.depth || st.inbox.deadLetters || st.outbox.stuckWrites.length) ok = false;
}
const statusUrl = `${world.hostUrl}/api/v1/customers/${world.customerId}/status`;
const res = await fetch(statusUrl).catch(() => null);
if (!res?.ok) {
  ok = false;
  say(`✗ the status API did not answer at ${statusUrl}`);
}
say("");
say(`status API: ${statusUrl}`);
say(`            ${world.hostUrl}/api/v1/customers/${world.customerId}/conflicts  ·  .../records/gift:don-1/timeline`);
say(`${ok ? "demo passed" : "demo FAILED"} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
if (!ok && errors.length) for (const e of errors.slice(-10)) say(`  host log: ${e.event} ${JSON.stringify(e.detail)}`);

if (once || !ok) {
  await world.close();
  await store?.close();
  process.exit(ok ? 0 : 1);
}
say("the host keeps running (Ctrl-C to stop)");
const stop = async () => {
  await world.close();
  await store?.close();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
