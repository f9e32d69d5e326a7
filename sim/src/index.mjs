// virtuous-sync-sim: a local Virtuous CRM+ organisation for tests and demos.
import { SimAdmin, SimApi, SimClientError } from "./admin-client.mjs";
import { listen } from "./server.mjs";
import { Simulator, defaultConfig } from "./sim.mjs";
import { TOGGLES } from "./model.mjs";
import { signBody } from "./sign.mjs";

/**
 * Starts a simulator on 127.0.0.1.
 * @param {object} [options]
 * @param {number} [options.port] default 0 (a free port)
 * @param {string} [options.host] default 127.0.0.1
 * @param {number|string} [options.seed] ids and fault choices derive from it (default 1)
 * @param {{mode?: "real"|"manual", startMs?: number}} [options.clock]
 * @param {object} [options.config] overrides of the defaults (README: configuration)
 * @param {string} [options.forwardTo] subscribe this URL to every event at start (like `stripe listen`)
 * @param {string} [options.secret] the subscription secret for `forwardTo`
 * @param {(e: {delivery, attempt, ok}) => void} [options.onDelivery] called after each delivery attempt
 * @returns {Promise<{url: string, port: number, apiKey: string|null, admin: SimAdmin, api: SimApi, sim: Simulator, server: import("node:http").Server, close(): Promise<void>}>}
 */
export async function startSim(options = {}) {
  const config = { ...(options.config ?? {}) };
  if (options.forwardTo) {
    const sub = { payloadUrl: options.forwardTo, secret: options.secret ?? null, active: true };
    for (const t of TOGGLES) sub[t] = true;
    config.subscriptions = [...(config.subscriptions ?? []), sub];
  }
  const sim = new Simulator({ seed: options.seed, clock: options.clock, config });
  sim.onDelivery = options.onDelivery;
  const server = await listen(sim, { host: options.host ?? "127.0.0.1", port: options.port ?? 0 });
  sim.start();
  const { port, address } = server.address();
  const url = `http://${address}:${port}`;
  return {
    url,
    port,
    sim,
    server,
    apiKey: sim.config.auth.apiKeys[0] ?? null,
    admin: new SimAdmin(url),
    api: new SimApi(url, sim.config.auth.apiKeys[0]),
    async close() {
      await sim.close();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export { Simulator, SimAdmin, SimApi, SimClientError, defaultConfig, signBody, TOGGLES };
