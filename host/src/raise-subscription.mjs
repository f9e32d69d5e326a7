// The customer's Raise webhook subscription, managed the way the CRM+ one is: every change is GET-then-PUT through the
// core (`planRaiseSubscription`, `mergeRaiseSubscription`), so the customer's other event types, its name, format and
// unknown fields are kept; nothing is PUT when nothing changes. Setup registers or updates the webhook that delivers
// to the host's `/webhooks/raise/<customerId>`; pause and resume set its status (2 and back to 1, only when the host
// deactivated it); secret rotation sets its `securityToken`.
//   settings.raiseApi: { token, baseUrl? (default https://prod-api.raisedonors.com) }   (else raiseLogs' token and baseUrl)
//   kv `raise-subscription`: { webhookId, notificationUrl, eventTypes, updatedMs, pausedByHost }   (never the token)
// The Raise API is another host with its own limits: these calls do not spend the CRM+ rate budget. The
// `securityToken` is the first secret of `receivers.raise`; it never appears in a result, an error or the log.
import { planRaiseSubscription, mergeRaiseSubscription } from "virtuous-sync";
import { HostError } from "./errors.mjs";
import { isLoopbackHttp } from "./host.mjs";
import { VirtuousClient } from "./virtuous.mjs";

export const RAISE_API_DEFAULT_BASE = "https://prod-api.raisedonors.com";
const KEY = "raise-subscription";

/** Checks `settings.raiseApi` (`{token, baseUrl?}`): https, or http on loopback (a local Virtuous). */
export function checkRaiseApiSettings(a) {
  if (a == null) return;
  if (typeof a !== "object" || Array.isArray(a)) throw new HostError("invalid-setting", "raiseApi must be an object");
  if (typeof a.token !== "string" || a.token === "") throw new HostError("invalid-setting", "raiseApi.token is required");
  const base = a.baseUrl ?? RAISE_API_DEFAULT_BASE;
  let u;
  try {
    u = new URL(base);
  } catch {
    throw new HostError("invalid-setting", "raiseApi.baseUrl must be an absolute URL");
  }
  if (u.protocol !== "https:" && !isLoopbackHttp(base)) throw new HostError("invalid-setting", "raiseApi.baseUrl must be https (http only on loopback)");
}

/** The Raise API credentials: `raiseApi`, else the delivery-log reader's (the same API and token), else null. */
export function raiseApiOf(settings) {
  const a = settings?.raiseApi ?? settings?.raiseLogs;
  return a?.token ? { token: a.token, baseUrl: (a.baseUrl ?? RAISE_API_DEFAULT_BASE).replace(/\/+$/, "") } : null;
}

/** The secret a Raise receiver verifies with first: what the webhook's `securityToken` must be. */
export function raiseSecurityToken(settings) {
  const s = settings?.receivers?.raise?.secrets?.[0];
  return typeof s === "string" ? s : s?.secret;
}

// The core accepts only https:// notification URLs. A loopback http:// URL (a local Virtuous, the tests) is handed to
// it as https:// and written back unchanged; any other http:// URL is refused as the core says.
const toCore = (url) => (isLoopbackHttp(url) ? url.replace(/^http:/i, "https:") : url);
const withUrl = (obj, url) => (obj && typeof obj === "object" && !Array.isArray(obj) && typeof obj.notificationUrl === "string" ? { ...obj, notificationUrl: url(obj.notificationUrl) } : obj);

export class RaiseSubscription {
  constructor(host) {
    this.host = host;
  }

  get store() {
    return this.host.store;
  }

  /** One request to the Raise API through the host's HTTP client (bearer token, 30 s timeout): `{status, json}`;
   *  a network failure is status null with `error` (`timeout` or `network`). */
  async #call(api, method, path, body) {
    const client = new VirtuousClient({ baseUrl: api.baseUrl, token: api.token, fetch: this.host.fetch });
    return client.send({ method, path, body });
  }

  async #read(api, path) {
    const r = await this.#call(api, "GET", path);
    if (r.status !== 200 || r.json === undefined) throw new HostError("subscription-read", `GET ${path}: ${r.status ?? r.error}`);
    return r.json;
  }

  /** GET-then-PUT of one change (`mergeRaiseSubscription`); the PUT is skipped when nothing changes. */
  async #merge(api, webhookId, change) {
    const path = `/api/Webhook/${encodeURIComponent(webhookId)}`;
    const current = await this.#read(api, path);
    if (!current || typeof current !== "object" || Array.isArray(current)) throw new HostError("subscription-read", `GET ${path}: not a webhook`);
    const original = current.notificationUrl;
    const plan = mergeRaiseSubscription({ current: withUrl(current, toCore), change: change.notificationUrl ? { ...change, notificationUrl: toCore(change.notificationUrl) } : change });
    const body = withUrl(plan.body, (u) => (change.notificationUrl ?? (typeof original === "string" && toCore(original) === u ? original : u)));
    if (plan.changed) {
      const put = await this.#call(api, plan.request.method, `/api/Webhook/${encodeURIComponent(webhookId)}`, body);
      if (put.status == null || put.status < 200 || put.status >= 300) throw new HostError("subscription-write", `${plan.request.method} ${path}: ${put.status ?? put.error}`);
    }
    return { plan, status: body.status };
  }

  /**
   * Registers or updates the customer's Raise webhook: `{notificationUrl, eventTypes, name?, format?}`. No webhook
   * delivers to the URL: one is created (POST; active, or inactive while the customer is paused). Exactly one does:
   * the wanted types are added, the token and status set, by GET-then-PUT, everything else kept; unchanged, no PUT.
   * Several do: refused (`invalid-current-subscription`, the core's): which one to change is a person's choice.
   * Returns `{action: "created" | "updated" | "unchanged", webhookId, eventTypes, enabled, disabled, status, notices}`.
   */
  async setup(customerId, { notificationUrl, eventTypes, name, format } = {}) {
    const c = await this.host.customer(customerId);
    if (!c) throw new HostError("unknown-customer", customerId);
    const api = raiseApiOf(c.settings);
    if (!api) throw new HostError("invalid-setting", "the Raise subscription needs raiseApi.token (or raiseLogs.token)");
    const securityToken = raiseSecurityToken(c.settings);
    if (!securityToken) throw new HostError("invalid-setting", "the Raise subscription needs receivers.raise (its first secret is the securityToken)");
    if (typeof notificationUrl !== "string" || notificationUrl.trim() === "") throw new HostError("invalid-argument", "notificationUrl is required");
    if (!Array.isArray(eventTypes) || !eventTypes.every((t) => Number.isInteger(t))) throw new HostError("invalid-argument", "eventTypes must be an array of integers (10..52)");
    const url = notificationUrl.trim();
    const listed = await this.#read(api, "/api/Webhook/list");
    // One page as an array, or wrapped (the docs do not show the list's envelope); anything else the core refuses.
    const list = Array.isArray(listed) ? listed : (["list", "items", "data"].map((k) => listed?.[k]).find(Array.isArray) ?? listed);
    const plan = planRaiseSubscription({
      existing: Array.isArray(list) ? list.map((w) => withUrl(w, (u) => (u.trim() === url ? toCore(url) : u))) : list,
      notificationUrl: toCore(url), eventTypes, securityToken, ...(name != null ? { name } : {}), ...(format != null ? { format } : {}),
    });
    const paused = c.pausedAtMs != null;
    let out;
    if (plan.action === "create") {
      const body = { ...plan.body, notificationUrl: url, ...(paused ? { status: 2 } : {}) };
      const r = await this.#call(api, plan.request.method, "/api/Webhook", body);
      if (r.status == null || r.status < 200 || r.status >= 300) throw new HostError("subscription-write", `POST /api/Webhook: ${r.status ?? r.error}`);
      // The created webhook's id from the answer, else from the list (the one delivering to the URL), else unknown:
      // then pause, resume and rotation leave Raise alone until a later setup finds it.
      let id = r.json?.id != null ? String(r.json.id) : undefined;
      if (id == null) {
        const again = await this.#read(api, "/api/Webhook/list").catch(() => null);
        const rows = Array.isArray(again) ? again : (["list", "items", "data"].map((k) => again?.[k]).find(Array.isArray) ?? []);
        const mine = rows.filter((w) => typeof w?.notificationUrl === "string" && w.notificationUrl.trim() === url && w.id != null);
        if (mine.length === 1) id = String(mine[0].id);
      }
      out = { action: "created", webhookId: id, eventTypes: body.eventTypesList, enabled: body.eventTypesList, disabled: [], status: body.status, notices: plan.notices };
    } else {
      const change = { ...plan.change, notificationUrl: url, ...(paused ? { status: 2 } : {}) };
      const m = await this.#merge(api, plan.webhookId, change);
      out = { action: m.plan.changed ? "updated" : "unchanged", webhookId: plan.webhookId, eventTypes: m.plan.eventTypes, enabled: m.plan.enabled, disabled: m.plan.disabled, status: m.status, notices: m.plan.notices };
    }
    // While paused the webhook is written inactive: resume reactivates it.
    await this.store.kvPut(customerId, KEY, { webhookId: out.webhookId, notificationUrl: url, eventTypes: out.eventTypes, updatedMs: this.host.now(), pausedByHost: paused });
    return out;
  }

  /** What the host knows of the customer's Raise webhook (kv), or null. Never the token. */
  async get(customerId) {
    return (await this.store.kvGet(customerId, KEY)) ?? null;
  }

  /**
   * Pause (`active: false`): an active managed webhook gets status 2 and is remembered as deactivated by the host.
   * Resume (`active: true`): only a webhook the host deactivated gets status 1 again (one the customer left inactive
   * stays so). Returns the step taken, or null when the customer has no managed Raise webhook.
   */
  async setActive(customerId, settings, active) {
    const st = await this.store.kvGet(customerId, KEY);
    const api = raiseApiOf(settings);
    if (!st?.webhookId || !api) return null;
    if (active) {
      if (!st.pausedByHost) return null;
      await this.#merge(api, st.webhookId, { status: 1 });
      await this.store.kvPut(customerId, KEY, { ...st, pausedByHost: false });
      return "reactivate-raise-webhook";
    }
    const current = await this.#read(api, `/api/Webhook/${encodeURIComponent(st.webhookId)}`);
    if (current?.status !== 1) {
      await this.store.kvPut(customerId, KEY, { ...st, pausedByHost: false });
      return null;
    }
    await this.#merge(api, st.webhookId, { status: 2 });
    await this.store.kvPut(customerId, KEY, { ...st, pausedByHost: true });
    return "deactivate-raise-webhook";
  }

  /** Rotation: the managed webhook's `securityToken` set by GET-then-PUT. False when there is no managed webhook. */
  async setSecurityToken(customerId, settings, securityToken) {
    const st = await this.store.kvGet(customerId, KEY);
    const api = raiseApiOf(settings);
    if (!st?.webhookId || !api) return false;
    await this.#merge(api, st.webhookId, { securityToken });
    return true;
  }
}
