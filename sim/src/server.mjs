// HTTP: the CRM+ API subset under /api (bearer auth, rate budget, outages), POST /Token, and the admin API under
// /_sim (no auth, no budget: it is the test's hand on the organisation).
import http from "node:http";
import { SimError, badRequest, notFound, renderContact, renderContactRow, renderGift, renderGiftRow, TOGGLES } from "./model.mjs";
import { CONTACT_PARAMETERS, GIFT_PARAMETERS, queryOptions, runQuery } from "./query.mjs";
import { SCENARIOS, runScenario } from "./scenarios.mjs";
import { productAdminRoutes, raiseRoutes } from "./raise.mjs";
import { handleVomo } from "./vomo.mjs";

const MAX_BODY = 5 * 1024 * 1024;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new SimError(413, "PAYLOAD_TOO_LARGE", "body over 5 MiB"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(text) {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SimError(400, "BAD_REQUEST", `body is not JSON: ${e.message}`);
  }
}

function send(res, status, body, headers = {}) {
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  if (typeof body === "string") {
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
    res.end(body);
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
  res.end(text);
}

const errorBody = (e) => ({ error: { code: e.code, message: e.message, details: e.details ?? [] } });
const num = (s, field) => {
  const n = Number(s);
  if (!Number.isInteger(n)) throw badRequest(`${field} must be an integer id`, field);
  return n;
};

/** Route table: [method, pattern (segments; `:name` captures), handler(ctx)]. Paths match case-insensitively. */
function apiRoutes(sim) {
  const st = () => sim.store;
  return [
    // -- webhooks (no list endpoint: docs 1.1)
    ["POST", "/api/Webhook", ({ body }) => st().createSubscription(body)],
    ["GET", "/api/Webhook/:id", ({ p }) => st().subscription(num(p.id, "id"))],
    ["PUT", "/api/Webhook/:id", ({ p, body }) => st().replaceSubscription(num(p.id, "id"), body)],
    ["DELETE", "/api/Webhook/:id", ({ p }) => (st().deleteSubscription(num(p.id, "id")), undefined)],
    ["PUT", "/api/Webhook/:id/Active", ({ p, qs }) => {
      if (!["true", "false"].includes(String(qs.active).toLowerCase())) throw badRequest("active must be true or false", "active");
      return st().setSubscriptionActive(num(p.id, "id"), String(qs.active).toLowerCase() === "true");
    }],
    // -- gifts
    ["POST", "/api/v2/Gift/Transaction", ({ body }) => (st().submitGiftTransaction(body), {})],
    ["POST", "/api/v2/Gift/Transactions", ({ body }) => {
      if (!body || !Array.isArray(body.transactions)) throw badRequest("transactions must be a list", "transactions");
      // All or nothing: every transaction is validated before any is held.
      const list = body.transactions.map((t) => ({ transactionSource: body.transactionSource, ...t }));
      const snapshot = st().transactions.length;
      try {
        for (const [i, t] of list.entries()) {
          try {
            st().submitGiftTransaction(t);
          } catch (e) {
            if (e instanceof SimError) e.message = `transactions[${i}]: ${e.message}`;
            throw e;
          }
        }
      } catch (e) {
        st().transactions.length = snapshot;
        throw e;
      }
      return {};
    }],
    ["POST", "/api/Gift/Query", ({ body, qs }) =>
      runQuery([...st().gifts.values()], body, qs, { params: GIFT_PARAMETERS, maxTake: sim.config.query.maxTake, defaultTake: sim.config.query.defaultTake, render: (g) => renderGiftRow(g, st().contacts.get(g.contactId)?.name) })],
    ["POST", "/api/Gift/Query/FullGift", ({ body, qs }) =>
      runQuery([...st().gifts.values()], body, qs, { params: GIFT_PARAMETERS, maxTake: sim.config.query.maxTake, defaultTake: sim.config.query.defaultTake, render: renderGift })],
    ["GET", "/api/Gift/QueryOptions", () => queryOptions(GIFT_PARAMETERS)],
    ["POST", "/api/Gift", ({ body }) => {
      if (!body || typeof body !== "object") throw badRequest("body must be a gift object");
      if (body.contactId === undefined || body.contactId === null) throw badRequest("contactId is required", "contactId");
      return renderGift(st().createGift(body));
    }],
    ["GET", "/api/Gift/:id", ({ p }) => renderGift(st().gift(num(p.id, "id")))],
    ["PUT", "/api/Gift/:id", ({ p, body }) => renderGift(st().putGift(num(p.id, "id"), body))],
    ["DELETE", "/api/Gift/:id", ({ p }) => (st().deleteGift(num(p.id, "id")), undefined)],
    ["GET", "/api/Gift/:source/:transactionId", ({ p }) => {
      const g = st().giftByTransaction(p.source, p.transactionId);
      if (!g) throw notFound(`no gift with transactionSource ${p.source} and transactionId ${p.transactionId}`);
      return renderGift(g);
    }],
    // -- contacts
    ["POST", "/api/Contact/Transaction", ({ body }) => (st().submitContactTransaction(body), {})],
    ["POST", "/api/Contact/Query", ({ body, qs }) =>
      runQuery([...st().contacts.values()], body, qs, { params: CONTACT_PARAMETERS, maxTake: sim.config.query.maxTake, defaultTake: sim.config.query.defaultTake, render: renderContactRow })],
    ["POST", "/api/Contact/Query/FullContact", ({ body, qs }) =>
      runQuery([...st().contacts.values()], body, qs, { params: CONTACT_PARAMETERS, maxTake: sim.config.query.maxTake, defaultTake: sim.config.query.defaultTake, render: renderContact })],
    ["GET", "/api/Contact/QueryOptions", () => queryOptions(CONTACT_PARAMETERS)],
    ["GET", "/api/Contact/Find", ({ qs }) => {
      if (!qs.email && !qs.referenceId) throw badRequest("give email, or referenceSource and referenceId", "email");
      const [c] = st().findContacts({ email: qs.email, referenceSource: qs.referenceSource, referenceId: qs.referenceId });
      if (!c) throw notFound("no contact found");
      return renderContact(c);
    }],
    ["GET", "/api/Contact/ByReference/:referenceId", ({ p }) => {
      const [c] = st().findContacts({ referenceId: p.referenceId });
      if (!c) throw notFound(`no contact with reference ${p.referenceId}`);
      return renderContact(c);
    }],
    ["POST", "/api/Contact", ({ body }) => {
      if (!body || typeof body !== "object") throw badRequest("body must be a contact object");
      const refs = body.referenceSource ? [{ source: body.referenceSource, id: body.referenceId }] : [];
      return renderContact(st().createContact(body, { references: refs }));
    }],
    ["GET", "/api/Contact/:id", ({ p }) => renderContact(st().contact(num(p.id, "id")))],
    ["PUT", "/api/Contact/:id", ({ p, body }) => renderContact(st().putContact(num(p.id, "id"), body))],
  ];
}

function adminRoutes(sim) {
  const st = () => sim.store;
  const d = () => sim.deliverer;
  const obj = (body) => (body && typeof body === "object" && !Array.isArray(body) ? body : {});
  const setOf = (body) => {
    const b = obj(body);
    const set = b.set ?? b.fields;
    if (!set || typeof set !== "object" || Array.isArray(set) || !Object.keys(set).length) throw badRequest("set must be an object of field paths to values", "set");
    return set;
  };
  return [
    ["GET", "/_sim/health", () => ({ ok: true, seed: sim.config.seed, clock: sim.clock.toJSON() })],
    ["GET", "/_sim/store", () => sim.snapshot()],
    ["POST", "/_sim/reset", ({ body }) => {
      const b = obj(body);
      sim.reset({ seed: b.seed, config: b.config });
      return { ok: true, seed: sim.config.seed, clock: sim.clock.toJSON() };
    }],
    ["GET", "/_sim/config", () => sim.publicConfig()],
    ["PATCH", "/_sim/config", ({ body }) => sim.patchConfig(obj(body))],
    // clock
    ["GET", "/_sim/clock", () => sim.clock.toJSON()],
    ["POST", "/_sim/clock/advance", ({ body }) => {
      const b = obj(body);
      const ms = b.ms ?? (b.seconds !== undefined ? b.seconds * 1000 : undefined);
      if (!Number.isFinite(ms) || ms < 0) throw badRequest("ms (or seconds) must be a number >= 0", "ms");
      sim.clock.advance(ms);
      d().kick();
      return sim.clock.toJSON();
    }],
    ["POST", "/_sim/clock/set", ({ body }) => {
      const b = obj(body);
      const ms = b.ms ?? (b.iso ? Date.parse(b.iso) : undefined);
      if (!Number.isFinite(ms)) throw badRequest("ms or iso must give a time", "ms");
      sim.clock.set(ms);
      d().kick();
      return sim.clock.toJSON();
    }],
    // staff actions
    ["POST", "/_sim/contacts", ({ body }) => {
      const b = obj(body);
      const refs = b.referenceSource ? [{ source: b.referenceSource, id: b.referenceId }] : [];
      return st().createContact(b, { references: refs });
    }],
    ["POST", "/_sim/contacts/merge", ({ body }) => {
      const b = obj(body);
      const r = st().mergeContacts(num(b.from, "from"), num(b.into, "into"));
      return { from: r.from, into: r.into, movedGiftIds: r.movedGiftIds };
    }],
    ["GET", "/_sim/contacts/:id", ({ p }) => st().contact(num(p.id, "id"))],
    ["PATCH", "/_sim/contacts/:id", ({ p, body }) => st().editContact(num(p.id, "id"), setOf(body))],
    ["DELETE", "/_sim/contacts/:id", ({ p }) => {
      const r = st().deleteContact(num(p.id, "id"));
      return { contact: r.contact, deletedGiftIds: r.deletedGiftIds };
    }],
    ["POST", "/_sim/gifts", ({ body }) => st().createGift(obj(body))],
    ["GET", "/_sim/gifts/:id", ({ p }) => st().gift(num(p.id, "id"))],
    ["PATCH", "/_sim/gifts/:id", ({ p, body }) => st().editGift(num(p.id, "id"), setOf(body))],
    ["DELETE", "/_sim/gifts/:id", ({ p }) => st().deleteGift(num(p.id, "id"))],
    ["POST", "/_sim/fixtures", ({ body }) => sim.fixtures(obj(body))],
    ["POST", "/_sim/trigger", ({ body }) => sim.trigger(obj(body))],
    // transactions
    ["GET", "/_sim/transactions", () => st().transactions],
    ["POST", "/_sim/batch/run", ({ body }) => st().runBatch(obj(body))],
    // subscriptions (the API has no list endpoint)
    ["GET", "/_sim/subscriptions", () => [...st().subscriptions.values()]],
    ["POST", "/_sim/subscriptions", ({ body }) => {
      const b = { ...Object.fromEntries(TOGGLES.map((t) => [t, true])), ...obj(body) };
      return st().createSubscription(b);
    }],
    // events and deliveries
    ["GET", "/_sim/events", () => sim.events],
    ["GET", "/_sim/deliveries", ({ qs }) => {
      let list = d().list();
      if (qs.state) list = list.filter((x) => x.state === qs.state);
      if (qs.eventType) list = list.filter((x) => x.eventType === qs.eventType);
      return list;
    }],
    ["GET", "/_sim/deliveries/:id", ({ p }) => {
      const x = d().list().find((y) => y.id === p.id);
      if (!x) throw notFound(`delivery ${p.id} not found`);
      return x;
    }],
    ["POST", "/_sim/deliveries/flush", async ({ body }) => d().flush(obj(body))],
    ["POST", "/_sim/deliveries/hold", () => (d().hold(), { held: true })],
    ["POST", "/_sim/deliveries/release", ({ body }) => ({ held: false, order: d().release(obj(body).order ?? "fifo") })],
    ["POST", "/_sim/deliveries/:id/redeliver", ({ p }) => {
      const x = d().redeliver(p.id);
      if (!x) throw notFound(`delivery ${p.id} (or its subscription) not found`);
      return x;
    }],
    ["POST", "/_sim/deliveries/duplicate-next", ({ body }) => {
      const n = obj(body).count ?? 1;
      if (!Number.isInteger(n) || n < 0) throw badRequest("count must be an integer >= 0", "count");
      d().duplicateNext = n;
      return { duplicateNext: n };
    }],
    // outages, rate limit
    ["GET", "/_sim/outages", () => sim.outages()],
    ["PUT", "/_sim/outages", ({ body }) => sim.setOutages(obj(body))],
    ["GET", "/_sim/api-faults", () => sim.apiFaults.map((f) => ({ ...f }))],
    ["PUT", "/_sim/api-faults", ({ body }) => sim.setApiFaults(body)],
    ["GET", "/_sim/rate-limit", () => sim.rate.status()],
    ["POST", "/_sim/rate-limit/storm", ({ body }) => sim.rate.startStorm(obj(body))],
    ["POST", "/_sim/rate-limit/reset", () => (sim.rate.reset(), sim.rate.status())],
    // request log, scenarios
    ["GET", "/_sim/requests", ({ qs }) => {
      let list = sim.requests;
      if (qs.method) list = list.filter((r) => r.method === String(qs.method).toUpperCase());
      if (qs.path) list = list.filter((r) => r.path.toLowerCase().includes(String(qs.path).toLowerCase()));
      return list;
    }],
    ["GET", "/_sim/scenarios", () => Object.entries(SCENARIOS).map(([name, s]) => ({ name, description: s.description }))],
    ["POST", "/_sim/scenarios/:name/run", async ({ p, body }) => runScenario(sim, p.name, obj(body))],
  ];
}

function compile(routes) {
  return routes.map(([method, pattern, handler]) => ({ method, parts: pattern.split("/").filter(Boolean), handler }));
}

function match(routes, method, path) {
  const segs = path.split("/").filter(Boolean).map((s) => decodeURIComponent(s));
  let methodMismatch = false;
  for (const r of routes) {
    if (r.parts.length !== segs.length) continue;
    const p = {};
    let ok = true;
    for (let i = 0; i < segs.length; i++) {
      const part = r.parts[i];
      if (part.startsWith(":")) p[part.slice(1)] = segs[i];
      else if (part.toLowerCase() !== segs[i].toLowerCase()) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (r.method !== method) {
      methodMismatch = true;
      continue;
    }
    return { route: r, p };
  }
  return methodMismatch ? { methodMismatch } : null;
}

/** The request handler for one simulator (the route tables are rebuilt after `reset`, which swaps the store). */
export function createHandler(sim) {
  const api = compile([...apiRoutes(sim), ...raiseRoutes(sim)]);
  const admin = compile([...adminRoutes(sim), ...productAdminRoutes(sim)]);
  return async function handle(req, res) {
    const url = new URL(req.url, "http://sim.local");
    const path = url.pathname;
    const qs = Object.fromEntries(url.searchParams);
    const startedAt = sim.clock.now();
    let status = 500;
    let extraHeaders = {};
    const log = (s, extra = {}) => {
      if (!path.startsWith("/_sim")) sim.logRequest({ atMs: startedAt, method: req.method, path, query: url.search, status: s, ...extra });
    };
    try {
      const text = await readBody(req);
      // The Volunteer (VOMO) API under /v1 and its admin under /_sim/vomo (sim/src/vomo.mjs).
      if ((path.startsWith("/v1/") || path.startsWith("/_sim/vomo/")) && (await handleVomo(sim, req, res, { path, qs, body: path.startsWith("/_sim/") ? parseJson(text) : undefined, send }))) return;
      if (path.toLowerCase() === "/token") {
        if (req.method !== "POST") return send(res, 405, { error: { code: "METHOD_NOT_ALLOWED", message: "POST /Token" } });
        const form = Object.fromEntries(new URLSearchParams(text));
        const tok = sim.issueToken(form);
        status = tok ? 200 : 400;
        log(status);
        if (tok === undefined) return send(res, 400, { error: "unsupported_grant_type" });
        if (tok === null) return send(res, 400, { error: "invalid_grant", error_description: "The user name or password is incorrect." });
        return send(res, 200, tok, { "cache-control": "no-store" });
      }
      if (path.startsWith("/_sim/") || path === "/_sim") {
        const m = match(admin, req.method, path);
        if (!m || m.methodMismatch) return send(res, m ? 405 : 404, { error: { code: m ? "METHOD_NOT_ALLOWED" : "NOT_FOUND", message: `${req.method} ${path}` } });
        const out = await m.route.handler({ p: m.p, qs, body: parseJson(text), req });
        return send(res, out === undefined ? 204 : 200, out);
      }
      if (!/^\/(raise\/)?api\//i.test(path)) return send(res, 404, { error: { code: "NOT_FOUND", message: `${req.method} ${path}` } });
      if (!sim.authorized(req.headers.authorization)) {
        status = 401;
        log(401);
        return send(res, 401, "Authorization has been denied for this request.", { "www-authenticate": "Bearer" });
      }
      const budget = sim.rate.take();
      extraHeaders = budget.headers;
      if (budget.retryAfterSeconds !== undefined) {
        status = 429;
        log(429);
        return send(res, 429, { error: { code: "TOO_MANY_REQUESTS", message: "API rate limit exceeded", details: [] } }, { ...extraHeaders, "retry-after": String(budget.retryAfterSeconds) });
      }
      const down = sim.apiDown();
      if (down) {
        status = down;
        log(down);
        return send(res, down, { error: { code: "INTERNAL_SERVER_ERROR", message: "simulated outage" } }, extraHeaders);
      }
      const m = match(api, req.method, path);
      if (!m || m.methodMismatch) {
        status = m ? 405 : 404;
        log(status);
        return send(res, status, { error: { code: m ? "METHOD_NOT_ALLOWED" : "NOT_FOUND", message: `${req.method} ${path}`, details: [] } }, extraHeaders);
      }
      const fault = sim.takeApiFault(req.method, path);
      if (fault && !fault.apply) {
        status = fault.status;
        log(status, { fault: "failed" });
        return send(res, status, { error: { code: "INTERNAL_SERVER_ERROR", message: "simulated failure (not applied)", details: [] } }, extraHeaders);
      }
      const out = await m.route.handler({ p: m.p, qs, body: parseJson(text), req });
      status = out === undefined ? 204 : 200;
      if (fault) {
        // Applied; the answer is lost (closed, held past the client's timeout, or replaced by an error status).
        log(status, { fault: fault.drop ? "applied-dropped" : fault.delayMs != null ? "applied-delayed" : "applied-failed" });
        if (fault.delayMs != null) await new Promise((r) => setTimeout(r, fault.delayMs));
        if (fault.drop) return void req.socket.destroy();
        if (fault.status != null) return send(res, fault.status, { error: { code: "INTERNAL_SERVER_ERROR", message: "simulated failure (applied)", details: [] } }, extraHeaders);
        return send(res, status, out, extraHeaders);
      }
      log(status);
      return send(res, status, out, extraHeaders);
    } catch (e) {
      if (e instanceof SimError) {
        status = e.status;
        log(status, { error: e.code });
        return send(res, e.status, errorBody(e), extraHeaders);
      }
      if (e instanceof RangeError || e instanceof TypeError) {
        log(400, { error: "BAD_REQUEST" });
        return send(res, 400, { error: { code: "BAD_REQUEST", message: e.message, details: [] } }, extraHeaders);
      }
      log(500, { error: "INTERNAL" });
      return send(res, 500, { error: { code: "INTERNAL", message: String(e?.message ?? e), details: [] } }, extraHeaders);
    }
  };
}

/** Starts listening on `host:port` (port 0 picks a free one); resolves to the node:http server. */
export function listen(sim, { host = "127.0.0.1", port = 0 } = {}) {
  const handler = createHandler(sim);
  const server = http.createServer((req, res) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { error: { code: "INTERNAL", message: "unhandled" } });
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
