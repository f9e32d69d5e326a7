// Raise and VOMO beside CRM+: their webhook receivers (settings.receivers) and Raise's delivery logs
// (settings.raiseLogs), read on the scheduler and summarised by the core for the status page.
//   receivers: { raise?: {secrets, scheme?, eventTypes?}, volunteer?: {secrets, scheme?} }
//   raiseLogs: { token, baseUrl? (default https://prod-api.raisedonors.com), everyMs? (default 15 min, ≥ 5 min) }
// The decisions stay with the customer's core (one record state per product link, docs/sync.md); these
// receivers only verify and decode deliveries. Tokens and secrets are never logged nor shown.
import { summarizeRaiseDeliveryLogs } from "virtuous-sync";
import { HostError } from "./errors.mjs";
import { isLoopbackHttp } from "./host.mjs";

const MINUTE = 60_000;
export const RAISE_LOG_DEFAULTS = Object.freeze({ baseUrl: "https://prod-api.raisedonors.com", everyMs: 15 * MINUTE, minEveryMs: 5 * MINUTE });
/** The products a customer can name a receiver for, besides CRM+ (the customer's own core). */
export const RECEIVER_PRODUCTS = Object.freeze(["raise", "volunteer"]);
const KEY = "raise-logs";

/** Checks `settings.receivers`' shape; the core validates the rest when the host builds the receivers. */
export function checkReceiverSettings(receivers) {
  if (receivers == null) return;
  if (typeof receivers !== "object" || Array.isArray(receivers)) throw new HostError("invalid-setting", "receivers must be an object");
  for (const [product, r] of Object.entries(receivers)) {
    if (!RECEIVER_PRODUCTS.includes(product)) throw new HostError("invalid-setting", `receivers: unknown product ${product}`);
    if (!r || typeof r !== "object" || !Array.isArray(r.secrets) || r.secrets.length === 0)
      throw new HostError("invalid-setting", `receivers.${product}.secrets is required`);
    if (r.eventTypes != null && product !== "raise") throw new HostError("invalid-setting", `receivers.${product}.eventTypes is for Raise only`);
  }
}

/** The core's receiver config for one product: Raise's `securityToken` or VOMO's secret, the product's preset. */
export function receiverConfig(settings, product, r) {
  const config = { secrets: r.secrets, platformName: settings.platformName, product };
  if (r.scheme != null) config.scheme = r.scheme;
  if (r.allowWeakSecrets != null) config.allowWeakSecrets = r.allowWeakSecrets;
  if (product === "raise" && r.eventTypes != null) config.raise = { eventTypes: r.eventTypes };
  return config;
}

export function checkRaiseLogSettings(l) {
  if (l == null) return;
  if (typeof l !== "object") throw new HostError("invalid-setting", "raiseLogs must be an object");
  if (typeof l.token !== "string" || l.token === "") throw new HostError("invalid-setting", "raiseLogs.token is required");
  const base = l.baseUrl ?? RAISE_LOG_DEFAULTS.baseUrl;
  let u;
  try {
    u = new URL(base);
  } catch {
    throw new HostError("invalid-setting", "raiseLogs.baseUrl must be an absolute URL");
  }
  if (u.protocol !== "https:" && !isLoopbackHttp(base)) throw new HostError("invalid-setting", "raiseLogs.baseUrl must be https (http only on loopback)");
  if (l.everyMs != null && !(Number.isFinite(l.everyMs) && l.everyMs >= RAISE_LOG_DEFAULTS.minEveryMs))
    throw new HostError("invalid-setting", "raiseLogs.everyMs must be at least 5 minutes");
}

/** Reads `GET <baseUrl>/api/Webhook/log/list` per customer and keeps the core's summary under kv `raise-logs`. */
export class RaiseLogReader {
  constructor(host) {
    this.host = host;
  }

  get store() {
    return this.host.store;
  }

  /** One read for one customer: `{failed, recovered, deliveries}` counts, or `{error}` (kept for the status page). */
  async read(customerId) {
    const c = await this.host.customer(customerId);
    const l = c?.settings.raiseLogs;
    if (!l) throw new HostError("invalid-setting", `customer ${customerId} has no raiseLogs settings`);
    const now = this.host.now();
    const prev = (await this.store.kvGet(customerId, KEY)) ?? {};
    const next = { ...prev, checkedMs: now, nextDueMs: now + (l.everyMs ?? RAISE_LOG_DEFAULTS.everyMs) };
    try {
      const url = `${(l.baseUrl ?? RAISE_LOG_DEFAULTS.baseUrl).replace(/\/+$/, "")}/api/Webhook/log/list`;
      const res = await this.host.fetch(url, { headers: { authorization: `Bearer ${l.token}`, accept: "application/json" }, signal: AbortSignal.timeout(30_000) });
      if (res.status !== 200) throw new Error(`GET /api/Webhook/log/list: status ${res.status}`);
      const json = await res.json().catch(() => undefined);
      // One page as an array, or wrapped (the docs do not show the list's envelope).
      const rows = Array.isArray(json) ? json : ["list", "items", "data"].map((k) => json?.[k]).find(Array.isArray);
      if (!rows) throw new Error("GET /api/Webhook/log/list: the body is not a list of log rows");
      const summary = summarizeRaiseDeliveryLogs({ rows });
      next.summary = summary;
      next.readMs = now;
      next.lastError = undefined;
    } catch (e) {
      next.lastError = String(e?.message ?? e);
      this.host.log("raise-logs-failed", { customerId, error: next.lastError });
    }
    await this.store.kvPut(customerId, KEY, next);
    return next.lastError ? { error: next.lastError } : { failed: next.summary.failed.length, recovered: next.summary.recovered.length, deliveries: next.summary.deliveries };
  }

  /** Reads the logs of every unpaused customer with `raiseLogs` whose read is due. */
  async readDue() {
    const now = this.host.now();
    let n = 0;
    for (const id of await this.store.listCustomers()) {
      const c = await this.host.customer(id);
      if (!c || c.pausedAtMs != null || !c.settings.raiseLogs) continue;
      const st = await this.store.kvGet(id, KEY);
      if (st?.nextDueMs != null && st.nextDueMs > now) continue;
      await this.read(id);
      n++;
    }
    return n;
  }

  /** The status model's `raiseDeliveries`: failed deliveries Raise recorded (never the token). */
  async status(customerId) {
    const st = (await this.store.kvGet(customerId, KEY)) ?? {};
    const s = st.summary;
    return {
      checkedMs: st.checkedMs,
      readMs: st.readMs,
      nextDueMs: st.nextDueMs,
      lastError: st.lastError,
      deliveries: s?.deliveries,
      skippedRows: s?.skippedRows,
      recovered: s?.recovered.length,
      failed: (s?.failed ?? []).map((f) => ({
        webhookId: f.webhookId, contextId: f.contextId, eventType: f.eventType, eventTypeDisplay: f.eventTypeDisplay,
        attempts: f.attempts, failures: f.failures, lastStatus: f.lastStatus, lastResponse: f.lastResponse, lastAttempt: f.lastAttempt,
      })),
    };
  }
}
