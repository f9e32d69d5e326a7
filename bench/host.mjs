// Host benchmark (speed only; no test asserts timings): `node bench/host.mjs [deliveries] [edits]` after
// scripts/demo or scripts/test installed host/ (host/node_modules with the packed core).
//   1. deliveries accepted per second by the Node host on PGlite: signed GiftCreate deliveries POSTed over HTTP
//      (16 in flight) to /webhooks/virtuous/:customerId; each is verified by the core and inserted into the PGlite
//      inbox before its 200. Workers are stopped during this part, so it measures acceptance alone.
//   2. end-to-end latency from a Virtuous change to the partner store: a staff edit in the local Virtuous → signed
//      webhook → host inbox → worker → decideInbound → partner app over HTTP; timed until the partner's store shows
//      the new value (polled every 2 ms).
// Writes the figures to bench/host.md.
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Host, listen, openPgliteStore } from "../host/src/index.mjs";
import { startWorld } from "../examples/partner-app/world.mjs";

const N = Number(process.argv[2] ?? 2000);
const EDITS = Number(process.argv[3] ?? 50);
const dir = mkdtempSync(join(tmpdir(), "vsh-bench-"));
const out = [];
const say = (s) => {
  console.log(s);
  out.push(s);
};

try {
  // 1 -------------------------------------------------------------------------------------------------------------
  const store = await openPgliteStore({ dataDir: join(dir, "accept") });
  const host = new Host({ store, partner: { read: async () => null, apply: async () => ({ partnerId: "x" }) } });
  const secret = "bench-secret-0123456789abcdef0123456789abcdef";
  await host.putCustomer({ customerId: "bench", platformName: "Acme Giving", secrets: [secret] });
  const http = await listen(host);
  const url = `${http.url}/webhooks/virtuous/bench`;
  const bodies = Array.from({ length: N }, (_, i) =>
    JSON.stringify({ event: "GiftCreate", gift: { id: 100000 + i, amount: 25, giftDate: "2026-11-30", modifiedDateTimeUtc: "2026-11-30T12:00:00Z" } }),
  );
  const post = (body) =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json", "x-virtuous-signature": createHmac("sha256", secret).update(body).digest("base64") }, body }).then((r) => {
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      return r.arrayBuffer();
    });
  for (const b of bodies.slice(0, 50)) await post(b); // warm-up (JIT, PGlite caches); counted as duplicates below
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < N) await post(bodies[next++]);
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const stored = (await store.statusCounts("bench")).inboxPending;
  await http.close();
  await store.close();
  if (stored !== N) throw new Error(`expected ${N} inbox entries, found ${stored}`);

  // 2 -------------------------------------------------------------------------------------------------------------
  const store2 = await openPgliteStore({ dataDir: join(dir, "e2e") });
  const w = await startWorld({ store: store2, simConfig: { putMode: "patch" }, sync: { cooldownMs: 1_000 } });
  w.start({ pollMs: 5 });
  const contact = await w.sim.admin.createContact({ name: "Bench Donor", contactType: "Household" });
  const gift = await w.sim.admin.createGift({ contactId: contact.id, amount: 1, giftDate: "2026-11-01", giftType: "Cash", currencyCode: "USD" });
  const findDonation = async () => Object.values((await (await fetch(`${w.partner.url}/store`)).json()).donations).find((d) => d.virtuousId === String(gift.id));
  let don;
  while (!(don = await findDonation())) await new Promise((r) => setTimeout(r, 5));
  const lat = [];
  for (let i = 0; i < EDITS; i++) {
    const amount = 100 + i;
    const t = performance.now();
    await w.sim.admin.editGift(gift.id, { amount });
    for (;;) {
      const d = await (await fetch(`${w.partner.url}/donations/${don.id}`)).json();
      if (Number(d.fields.amount) === amount) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    lat.push(performance.now() - t);
  }
  await w.close();
  await store2.close();
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);

  say(`# Host benchmark (${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} cores, shared machine)`);
  say("");
  say("`node bench/host.mjs` — speed only; no test asserts these numbers.");
  say("");
  say("| measure | figure |");
  say("|---|---|");
  say(`| deliveries accepted per second (Node http + core.receive + PGlite inbox insert, 16 in flight, ${N} deliveries) | ${(N / secs).toFixed(0)} /s |`);
  say(`| Virtuous change → partner store, median (${EDITS} staff edits, webhook → inbox → worker → partner HTTP) | ${q(0.5)} ms |`);
  say(`| same, p95 | ${q(0.95)} ms |`);
  say(`| same, max | ${lat.at(-1).toFixed(1)} ms |`);
  writeFileSync(join(dirname(fileURLToPath(import.meta.url)), "host.md"), `${out.join("\n")}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
