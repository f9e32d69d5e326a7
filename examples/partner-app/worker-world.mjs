// The same three parties as ./world.mjs, with the Worker host (virtuous-sync-host on workerd, Durable Objects and
// Queues, run by miniflare on 127.0.0.1) in place of the Node host:
//   the local Virtuous --signed webhooks--> the Worker --Queue--> the record's Durable Object --HTTP--> partner app
//   the partner app --change hook--> the Worker's partner-changes route --> the record's Durable Object (alarm)
// Returns the shape runScenario (./scenario.mjs) expects; `host` is a small client of the Worker's JSON API.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startWorkerHost } from "../../host/src/worker/miniflare.mjs";
import { startSim } from "../../sim/src/index.mjs";
import { startPartnerApp } from "./app.mjs";
import { PLATFORM, until } from "./world.mjs";

export async function startWorkerWorld({ customerId = "demo-nonprofit", partnerFile, hostPort = 0, simConfig = {}, sync, seed = 1, dir, testHooks = false, queue, reconcileQueue, reconcile, apiToken, virtuous = {}, budget } = {}) {
  const secret = randomBytes(32).toString("base64url");
  const adminToken = randomBytes(16).toString("hex");
  const ownDir = !dir;
  const workDir = dir ?? mkdtempSync(join(tmpdir(), "vs-worker-"));
  const worker = await startWorkerHost({ dir: workDir, adminToken, apiToken, testHooks, queue, reconcileQueue, port: hostPort });
  const api = `${worker.url}/api/v1/customers/${encodeURIComponent(customerId)}`;
  const call = async (method, path, body, headers = {}) => {
    const auth = apiToken ? { authorization: `Bearer ${apiToken}` } : {};
    const res = await fetch(api + path, { method, headers: { ...(body ? { "content-type": "application/json" } : {}), ...auth, ...headers }, body: body ? JSON.stringify(body) : undefined });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const sim = await startSim({
    seed,
    clock: { mode: "real" },
    forwardTo: `${worker.url}/webhooks/virtuous/${encodeURIComponent(customerId)}`,
    secret,
    config: { retry: { delaysMs: [100, 200, 400] }, ...simConfig },
  });
  const [sub] = await sim.admin.subscriptions();
  const partner = await startPartnerApp({
    file: partnerFile,
    hook: async ({ kind, partnerId }) => {
      await call("POST", "/partner-changes", { kind, partnerId });
    },
  });
  await call(
    "PUT",
    "",
    {
      customerId,
      platformName: PLATFORM,
      secrets: [{ id: "initial", secret }],
      virtuous: { baseUrl: sim.url, token: sim.sim.config.auth.apiKeys[0], ...virtuous },
      partner: { url: partner.url },
      ...(budget ? { budget } : {}),
      webhookId: sub.id,
      sync: sync ?? { cooldownMs: 2_000 },
      reconcile: { resources: ["contact", "gift"], ...reconcile },
    },
    { authorization: `Bearer ${adminToken}` },
  );
  const host = {
    /** A run through the reconciliation Queue (one message per page); resolves to its summary once it finished. */
    async reconcile() {
      const { runId } = await call("POST", "/reconcile");
      return until(async () => (await call("GET", "/reconciliation")).runs.find((r) => r.runId === runId) ?? null, { what: `reconciliation run ${runId}`, timeoutMs: 60_000 });
    },
    status: () => call("GET", "/status"),
    store: { listRecords: async () => (await call("GET", "/records")).records },
  };
  return {
    customerId,
    sim,
    host,
    hostUrl: worker.url,
    worker,
    partner,
    secret,
    adminToken,
    call,
    start() {}, // the Worker runs by itself: Queue consumers and alarms
    async close() {
      await partner.close();
      await sim.close();
      await worker.dispose();
      if (ownDir) rmSync(workDir, { recursive: true, force: true });
    },
  };
}
