// The versioned JSON API people tools read (v1; documented in docs/host.md), plus the webhook route, as one Hono app.
//   POST /webhooks/virtuous/:customerId
//   GET  /api/v1/customers/:customerId/status                    (also at /api/customers/...: the unversioned alias)
//   GET  /api/v1/customers/:customerId/conflicts
//   POST /api/v1/customers/:customerId/conflicts/:key/resolve     body {choices: {field: "partner"|"virtuous"|{value}}}
//   GET  /api/v1/customers/:customerId/records/:key/timeline
//   POST /api/v1/customers/:customerId/pause | /resume
//   GET  /api/v1/customers/:customerId/review                     the initial match's and reconciliation's review queue
//   POST /api/v1/customers/:customerId/review/:id/resolve          body {partnerId: "<id>" | "new"}: a product-link item
//   GET  /api/v1/customers/:customerId/dead-letters
//   POST /api/v1/customers/:customerId/partner-changes            body {kind, partnerId}: a partner's change hook
//   POST /api/v1/customers/:customerId/initial-match               body {kind?}: runs the initial match; GET: progress
//   POST /api/v1/customers/:customerId/reconcile                   runs a reconciliation now
//   POST /api/v1/customers/:customerId/raise-subscription           body {notificationUrl, eventTypes, name?, format?}:
//                                                                  registers or updates the Raise webhook; GET: what is known
import { Hono } from "hono";
import { fetchHandler } from "./receive.mjs";
import { mountStatusPage } from "./status-page.mjs";

const STATUS = {
  "unknown-customer": 404, "unknown-record": 404, "unknown-review": 404, "record-busy": 409, "not-in-conflict": 409, "invalid-argument": 400,
  "missing-choice": 400, "unknown-choice": 400, "invalid-setting": 400,
  "subscription-read": 502, "subscription-write": 502,
};

export function createApp(host, { token } = {}) {
  const app = new Hono();
  const webhook = fetchHandler(host);
  app.post("/webhooks/virtuous/:customerId", (c) => webhook(c.req.raw, c.req.param("customerId")));
  app.post("/webhooks/raise/:customerId", (c) => webhook(c.req.raw, c.req.param("customerId")));
  app.post("/webhooks/volunteer/:customerId", (c) => webhook(c.req.raw, c.req.param("customerId")));
  app.get("/api/health", (c) => c.json({ ok: true, apiVersion: 1 }));

  const api = new Hono();
  if (token) {
    api.use("*", async (c, next) => {
      if (c.req.header("authorization") !== `Bearer ${token}`) return c.json({ error: "unauthorized" }, 401);
      await next();
    });
  }
  const run = (fn) => async (c) => {
    try {
      return c.json(await fn(c));
    } catch (e) {
      const code = e?.code ?? "internal";
      return c.json({ error: code, message: e?.name === "HostError" || e?.name === "VirtuousSyncError" ? e.message : "internal error" }, STATUS[code] ?? (e?.name === "VirtuousSyncError" ? 400 : 500));
    }
  };
  const id = (c) => c.req.param("customerId");
  api.get("/customers/:customerId/status", run((c) => host.status(id(c))));
  api.get("/customers/:customerId/conflicts", run(async (c) => ({ apiVersion: 1, conflicts: await host.conflicts(id(c)) })));
  api.post(
    "/customers/:customerId/conflicts/:key/resolve",
    run(async (c) => {
      const body = await c.req.json().catch(() => null);
      if (!body || typeof body.choices !== "object") throw Object.assign(new Error("invalid-argument: body must be {choices}"), { code: "invalid-argument", name: "HostError" });
      return { apiVersion: 1, ...(await host.resolveConflict(id(c), c.req.param("key"), body.choices)) };
    }),
  );
  api.get("/customers/:customerId/records/:key/timeline", run((c) => host.timeline(id(c), c.req.param("key"))));
  api.post("/customers/:customerId/pause", run(async (c) => ({ apiVersion: 1, ...(await host.pause(id(c))) })));
  api.post("/customers/:customerId/resume", run(async (c) => ({ apiVersion: 1, ...(await host.resume(id(c))) })));
  api.get("/customers/:customerId/review", run(async (c) => ({ apiVersion: 1, items: await host.store.listReview(id(c)) })));
  api.post(
    "/customers/:customerId/review/:reviewId/resolve",
    run(async (c) => {
      const body = await c.req.json().catch(() => null);
      if (!body || typeof body.partnerId !== "string") throw Object.assign(new Error('invalid-argument: body must be {partnerId: "<partner record id>" | "new"}'), { code: "invalid-argument", name: "HostError" });
      return { apiVersion: 1, ...(await host.resolveReview(id(c), c.req.param("reviewId"), { partnerId: body.partnerId })) };
    }),
  );
  api.get("/customers/:customerId/dead-letters", run(async (c) => ({ apiVersion: 1, items: await host.store.listDeadLetters(id(c)) })));
  api.post(
    "/customers/:customerId/partner-changes",
    run(async (c) => {
      const body = await c.req.json().catch(() => null);
      if (!body || typeof body.kind !== "string" || body.partnerId == null)
        throw Object.assign(new Error("invalid-argument: body must be {kind, partnerId}"), { code: "invalid-argument", name: "HostError" });
      await host.customer(id(c)).then((x) => {
        if (!x) throw Object.assign(new Error(`unknown-customer: ${id(c)}`), { code: "unknown-customer", name: "HostError" });
      });
      return { apiVersion: 1, recordKey: await host.reportPartnerChange({ customerId: id(c), kind: body.kind, partnerId: String(body.partnerId) }) };
    }),
  );
  api.post(
    "/customers/:customerId/initial-match",
    run(async (c) => ({ apiVersion: 1, ...(await host.initialMatch(id(c), { kind: (await c.req.json().catch(() => ({})))?.kind ?? "contact" })) })),
  );
  api.get(
    "/customers/:customerId/initial-match",
    run(async (c) => {
      await host.status(id(c)); // 404 for an unknown customer
      return { apiVersion: 1, progress: (await host.store.kvGet(id(c), `initial-match:${c.req.query("kind") ?? "contact"}`)) ?? null };
    }),
  );
  api.post("/customers/:customerId/reconcile", run(async (c) => ({ apiVersion: 1, ...(await host.reconcile(id(c))) })));
  api.post(
    "/customers/:customerId/raise-subscription",
    run(async (c) => {
      const body = await c.req.json().catch(() => null);
      if (!body || typeof body !== "object" || Array.isArray(body)) throw Object.assign(new Error("invalid-argument: body must be {notificationUrl, eventTypes, name?, format?}"), { code: "invalid-argument", name: "HostError" });
      const { notificationUrl, eventTypes, name, format } = body;
      return { apiVersion: 1, ...(await host.setupRaiseSubscription(id(c), { notificationUrl, eventTypes, name, format })) };
    }),
  );
  api.get(
    "/customers/:customerId/raise-subscription",
    run(async (c) => {
      await host.status(id(c)); // 404 for an unknown customer
      return { apiVersion: 1, subscription: await host.raiseSubscription.get(id(c)) };
    }),
  );
  mountStatusPage(app, api, host, { token }); // the status page, /metrics and the routes the page reads
  app.route("/api/v1", api);
  app.route("/api", api);
  return app;
}

/** Serves the app on 127.0.0.1 (`port` 0: any free port). Resolves to `{url, close()}`. */
export function listen(host, { port = 0, hostname = "127.0.0.1", token } = {}) {
  const app = createApp(host, { token });
  // The Node server adapter is loaded here: a host behind Lambda, a Worker or its own framework never needs it.
  return import("@hono/node-server").then(
    ({ serve }) =>
      new Promise((resolve) => {
        const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
          resolve({ url: `http://${hostname}:${info.port}`, port: info.port, server, close: () => new Promise((r) => server.close(() => r())) });
        });
      }),
  );
}
