// The local Raise webhook API and the product webhook deliveries (Raise and VOMO), on the simulator's clock.
//
// Raise (virtuous-docs.md 4.1): POST /api/Webhook, GET /api/Webhook/list, GET/PUT/DELETE /api/Webhook/{id},
// GET /api/Webhook/log/list, served under /raise (the Raise API is another host). A webhook is
// {name, notificationUrl, eventTypesList: [10..52], format: 1|2, status: 1|2, securityToken}; PUT replaces it
// (what the core's mergeRaiseSubscription assumes: a field left out is reset). Deliveries are
// {eventType, contextId, <family>: record}, signed `x-raise-signature: <hex HMAC-SHA256 of the body>` with the
// securityToken (the core's `raise` preset; Raise's real scheme is undocumented). Every attempt is logged as a
// WebhookLogListModel row (success, httpStatusCode, serverResponse, contextId, createdDate, eventType,
// eventTypeDisplay, webhookId).
//
// VOMO (4.2, support article): {type, organization_id, data}, `vomo-signature: <hex HMAC>`, 3 s timeout.
// Both retry a failed attempt at +10 s and +100 s (3 tries), on the simulator's clock: `flush` sends what is due.
import { SimError, badRequest, notFound } from "./model.mjs";
import { signBody } from "./sign.mjs";

export const RETRY_DELAYS_MS = [10_000, 100_000];
export const TIMEOUT_MS = 3_000;
const FAMILIES = { 1: ["gift", "Gift"], 2: ["recurringGift", "Recurring Gift"], 3: ["donor", "Donor"], 4: ["campaign", "Campaign"], 5: ["page", "Page"] };
const VERBS = ["Created", "Updated", "Deleted"];

/** Raise's name for an event type (the docs' hypothesis, which the simulator takes as its truth). */
export function eventTypeDisplay(code) {
  const f = FAMILIES[Math.floor(code / 10)];
  const v = VERBS[code % 10];
  return f && v ? `${f[1]} ${v}` : `Event ${code}`;
}

function checkWebhook(body, { partial = false } = {}) {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("body must be an object", "body");
  const out = {};
  if (typeof body.name !== "string" || !body.name.trim()) throw badRequest("name is required", "name");
  out.name = body.name;
  if (typeof body.notificationUrl !== "string" || !/^https?:\/\//.test(body.notificationUrl)) {
    throw badRequest("notificationUrl must be an absolute URL", "notificationUrl");
  }
  out.notificationUrl = body.notificationUrl;
  const list = body.eventTypesList ?? [];
  if (!Array.isArray(list) || !list.every((t) => Number.isInteger(Number(t)) && Number(t) >= 10 && Number(t) <= 52)) {
    throw badRequest("eventTypesList must be integers 10..52", "eventTypesList");
  }
  out.eventTypesList = list.map(Number);
  out.format = body.format === undefined ? 1 : body.format;
  if (![1, 2].includes(out.format)) throw badRequest("format must be 1 or 2", "format");
  out.status = body.status === undefined ? 1 : body.status;
  if (![1, 2].includes(out.status)) throw badRequest("status must be 1 or 2", "status");
  out.securityToken = typeof body.securityToken === "string" ? body.securityToken : null;
  void partial;
  return out;
}

export class ProductWebhooks {
  /** @param {{clock: {now(): number}, fetchImpl?: typeof fetch}} deps */
  constructor({ clock, fetchImpl }) {
    this.clock = clock;
    this.fetch = fetchImpl ?? globalThis.fetch;
    this.webhooks = new Map();
    this.nextId = 1;
    this.logs = [];
    this.deliveries = [];
    this.vomoEndpoints = [];
    this.seq = 0;
  }

  // -- Raise webhook API -------------------------------------------------------------------------------------
  create(body) {
    const w = { id: this.nextId++, ...checkWebhook(body), createdDate: new Date(this.clock.now()).toISOString() };
    this.webhooks.set(w.id, w);
    return { ...w };
  }
  list() {
    return [...this.webhooks.values()].map((w) => ({ ...w }));
  }
  get(id) {
    const w = this.webhooks.get(id);
    if (!w) throw notFound(`webhook ${id}`);
    return { ...w };
  }
  /** Full replacement: what is left out is reset (format 1, status 1, no types, no token). */
  replace(id, body) {
    const w = this.get(id);
    const next = { id, ...checkWebhook(body), createdDate: w.createdDate };
    this.webhooks.set(id, next);
    return { ...next };
  }
  remove(id) {
    this.get(id);
    this.webhooks.delete(id);
  }
  logList(qs = {}) {
    return this.logs.filter((l) => qs.webhookId === undefined || String(l.webhookId) === String(qs.webhookId)).map((l) => ({ ...l }));
  }

  // -- events --------------------------------------------------------------------------------------------------
  /** A Raise event: one delivery per active webhook subscribed to `eventType`. */
  raiseEvent(eventType, record) {
    const code = Number(eventType);
    if (!Number.isInteger(code) || code < 10 || code > 52) throw badRequest("eventType must be an integer 10..52", "eventType");
    const key = FAMILIES[Math.floor(code / 10)]?.[0] ?? "data";
    const out = [];
    for (const w of this.webhooks.values()) {
      if (w.status !== 1 || !w.eventTypesList.includes(code)) continue;
      const contextId = `ctx_${String(++this.seq).padStart(6, "0")}`;
      const body = JSON.stringify({ eventType: code, contextId, [key]: record });
      const headers = { "content-type": "application/json" };
      if (w.securityToken) headers["x-raise-signature"] = signBody(body, w.securityToken, { encoding: "hex" });
      out.push(this.#enqueue({ product: "raise", webhookId: w.id, contextId, eventType: code, url: w.notificationUrl, body, headers }));
    }
    return out;
  }
  /** Registers a VOMO webhook endpoint (VOMO has no subscription API in the docs: the admin portal does it). */
  vomoEndpoint({ url, secret }) {
    if (typeof url !== "string" || !/^https?:\/\//.test(url)) throw badRequest("url must be an absolute URL", "url");
    if (typeof secret !== "string" || !secret) throw badRequest("secret is required", "secret");
    this.vomoEndpoints.push({ url, secret });
    return { endpoints: this.vomoEndpoints.length };
  }
  /** A VOMO event `{type, organization_id, data}` to every registered endpoint. */
  vomoEvent({ type, organization_id, data }) {
    if (typeof type !== "string" || !/^[a-z_]+\.[a-z_]+$/.test(type)) throw badRequest("type must be like participation.created", "type");
    const body = JSON.stringify({ type, organization_id, data });
    return this.vomoEndpoints.map((e) =>
      this.#enqueue({ product: "volunteer", url: e.url, body, headers: { "content-type": "application/json", "vomo-signature": signBody(body, e.secret, { encoding: "hex" }) } }),
    );
  }
  #enqueue(d) {
    const entry = { id: `pdl_${String(this.deliveries.length + 1).padStart(5, "0")}`, ...d, attempts: [], state: "pending", dueAtMs: this.clock.now() };
    this.deliveries.push(entry);
    return { id: entry.id, product: entry.product, contextId: entry.contextId ?? null };
  }

  /** Sends every attempt due now (oldest first); a failure is retried at +10 s, then +100 s, then given up. */
  async flush() {
    const now = this.clock.now();
    const due = this.deliveries.filter((d) => d.state === "pending" && d.dueAtMs <= now).sort((a, b) => a.dueAtMs - b.dueAtMs);
    for (const d of due) await this.#attempt(d);
    const next = this.deliveries.filter((d) => d.state === "pending").map((d) => d.dueAtMs);
    return { sent: due.length, nextDueAtMs: next.length ? Math.min(...next) : null };
  }
  async #attempt(d) {
    let status = null;
    let response = "";
    try {
      const res = await this.fetch(d.url, { method: "POST", headers: d.headers, body: d.body, signal: AbortSignal.timeout(TIMEOUT_MS) });
      status = res.status;
      response = (await res.text()).slice(0, 2000);
    } catch (e) {
      response = e?.name === "TimeoutError" ? "timeout" : String(e?.message ?? e);
    }
    const success = status !== null && status >= 200 && status < 300;
    const at = this.clock.now();
    d.attempts.push({ atMs: at, status, success });
    if (d.product === "raise") {
      this.logs.push({ id: this.logs.length + 1, webhookId: d.webhookId, contextId: d.contextId, eventType: d.eventType,
        eventTypeDisplay: eventTypeDisplay(d.eventType), success, httpStatusCode: status, serverResponse: response,
        createdDate: new Date(at).toISOString() });
    }
    if (success) d.state = "delivered";
    else if (d.attempts.length > RETRY_DELAYS_MS.length) d.state = "failed";
    else d.dueAtMs = at + RETRY_DELAYS_MS[d.attempts.length - 1];
  }
  summary() {
    return this.deliveries.map(({ id, product, contextId, state, attempts, dueAtMs }) => ({ id, product, contextId: contextId ?? null, state, attempts, dueAtMs }));
  }
}

/** The Raise API routes (bearer auth and the budget apply, as for CRM+), under /raise. */
export function raiseRoutes(sim) {
  const r = () => productWebhooks(sim);
  const id = (s) => {
    const n = Number(s);
    if (!Number.isInteger(n)) throw badRequest("id must be an integer", "id");
    return n;
  };
  return [
    ["POST", "/raise/api/Webhook", ({ body }) => r().create(body)],
    ["GET", "/raise/api/Webhook/list", () => r().list()],
    ["GET", "/raise/api/Webhook/log/list", ({ qs }) => r().logList(qs)],
    ["GET", "/raise/api/Webhook/:id", ({ p }) => r().get(id(p.id))],
    ["PUT", "/raise/api/Webhook/:id", ({ p, body }) => r().replace(id(p.id), body)],
    ["DELETE", "/raise/api/Webhook/:id", ({ p }) => (r().remove(id(p.id)), undefined)],
  ];
}

/** The test's hand on the product webhooks: emit events, register VOMO endpoints, send what is due. */
export function productAdminRoutes(sim) {
  const r = () => productWebhooks(sim);
  const obj = (b) => (b && typeof b === "object" && !Array.isArray(b) ? b : (() => { throw badRequest("body must be an object", "body"); })());
  return [
    ["POST", "/_sim/raise/events", ({ body }) => r().raiseEvent(obj(body).eventType, obj(body).record ?? {})],
    ["POST", "/_sim/vomo/endpoints", ({ body }) => r().vomoEndpoint(obj(body))],
    ["POST", "/_sim/vomo/events", ({ body }) => r().vomoEvent(obj(body))],
    ["POST", "/_sim/product-webhooks/flush", () => r().flush()],
    ["GET", "/_sim/product-webhooks/deliveries", () => r().summary()],
  ];
}

/** The simulator's product webhooks (created on first use; kept across `reset`, which swaps only the CRM+ store). */
export function productWebhooks(sim) {
  sim.productWebhooks ??= new ProductWebhooks({ clock: sim.clock });
  return sim.productWebhooks;
}

export { SimError };
