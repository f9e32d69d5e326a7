// Starts the three parties of a two-way sync on 127.0.0.1, wired by real HTTP:
//   the local Virtuous (virtuous-sync-sim)  --signed webhooks-->  the host (virtuous-sync-host, its JSON API)
//   the host  --CRM+ API (Transactions, PUT, Query, lookups)-->    the local Virtuous
//   the partner app  --change hook: POST .../partner-changes-->     the host  --partner port (HTTP)-->  the partner app
// Used by scripts/demo and by host/test/e2e*.test.mjs.
import { randomBytes } from "node:crypto";
import { Host, listen } from "../../host/src/index.mjs";
import { startSim } from "../../sim/src/index.mjs";
import { startPartnerApp } from "./app.mjs";
import { httpPartnerPort } from "./port.mjs";

export const PLATFORM = "Acme Giving";

/**
 * @param {object} o
 * @param {object} o.store            the host's store (PGlite for the demo)
 * @param {string} [o.customerId]
 * @param {string} [o.partnerFile]    the partner app's JSON store (memory when absent)
 * @param {number} [o.hostPort]       0: any free port
 * @param {object} [o.simConfig]      merged into the simulator's configuration
 * @param {object} [o.sync]           the customer's sync options
 * @param {(e, d) => void} [o.log]
 */
export async function startWorld({ store, customerId = "demo-nonprofit", partnerFile, hostPort = 0, simConfig = {}, sync, seed = 1, log, workers = 1 } = {}) {
  const secret = randomBytes(32).toString("base64url");
  const partnerRef = { url: null };
  const hosts = [];
  for (let i = 0; i < workers; i++)
    hosts.push(new Host({ store, partner: { read: (r) => port().read(r), apply: (op) => port().apply(op), list: (q) => port().list(q) }, workerId: `worker-${i + 1}`, log }));
  let portImpl;
  const port = () => (portImpl ??= httpPartnerPort(partnerRef.url));
  const host = hosts[0];
  const http = await listen(host, { port: hostPort });
  const sim = await startSim({
    seed,
    clock: { mode: "real" },
    forwardTo: `${http.url}/webhooks/virtuous/${encodeURIComponent(customerId)}`,
    secret,
    // Short retry delays keep the demo's outage quick (the schedule's shape is the sim's default, scaled down).
    config: { retry: { delaysMs: [100, 200, 400] }, ...simConfig },
  });
  const [sub] = await sim.admin.subscriptions();
  const partner = await startPartnerApp({
    file: partnerFile,
    hook: async ({ kind, partnerId }) => {
      const res = await fetch(`${http.url}/api/v1/customers/${encodeURIComponent(customerId)}/partner-changes`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ kind, partnerId }),
      });
      if (!res.ok) throw new Error(`host answered ${res.status}`);
    },
  });
  partnerRef.url = partner.url;
  await host.putCustomer({
    customerId,
    platformName: PLATFORM,
    secrets: [{ id: "initial", secret }],
    virtuous: { baseUrl: sim.url, token: sim.sim.config.auth.apiKeys[0] },
    webhookId: sub.id,
    sync: sync ?? { cooldownMs: 2_000 },
    reconcile: { resources: ["contact", "gift"] },
  });
  return {
    customerId,
    sim,
    host,
    hosts,
    hostUrl: http.url,
    partner,
    secret,
    start(opts) {
      for (const h of hosts) h.start({ pollMs: 25, ...opts });
    },
    async close() {
      for (const h of hosts) await h.stop();
      await partner.close();
      await sim.close();
      await http.close();
    },
  };
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). */
export async function until(fn, { timeoutMs = 20_000, everyMs = 25, what = "condition" } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
