// virtuous-sync-host on Cloudflare Workers (workerd): the host kit's Host, with Durable Objects and Queues as its
// store. Bindings (see docs/deploy-workers.md and ./wrangler.example.toml):
//   CUSTOMER, RECORD, BUDGET, DIRECTORY   Durable Objects (CustomerObject with SQLite storage)
//   DELIVERIES                            Queue: verified deliveries and reconciliation's missed changes
//   RECONCILE                             Queue: one message per customer whose reconciliation is due (cron)
//   DEAD_LETTERS                          Queue producer for the dead-letter queue (also the deliveries Queue's
//                                         dead_letter_queue); consumed here too (DEAD_LETTER_QUEUE: its name)
//   API_TOKEN (optional)                  bearer token for /api/v1 (the webhook route is authenticated by signature)
//   ADMIN_TOKEN                           bearer token for PUT /api/v1/customers/:id (customer settings)
//
// Routes: POST /webhooks/virtuous/:customerId (verify with core.receive, enqueue, then 2xx) and the host kit's
// JSON API under /api/v1 (status, conflicts, resolve, timeline, pause, resume, review, dead-letters,
// partner-changes), plus PUT /api/v1/customers/:id, POST .../reconcile and GET .../records (the index).
import { Host } from "../host.mjs";
import { fetchHandler } from "../receive.mjs";
import { HostError, HOST_ERROR_CODES } from "../errors.mjs";
import { DoStore } from "./store.mjs";
import { partnerPortFor, RecordObject, unboundFetch } from "./record-object.mjs";
import { BudgetObject, CustomerObject, DirectoryObject } from "./customer-object.mjs";
import { OTHER_KEY, objectName, routeKeys } from "./route.mjs";

export { RecordObject, CustomerObject, BudgetObject, DirectoryObject };

const STATUS = {
  "unknown-customer": 404, "unknown-record": 404, "record-busy": 409, "not-in-conflict": 409, "invalid-argument": 400,
  "missing-choice": 400, "unknown-choice": 400, "invalid-setting": 400, unauthorized: 401,
};
const SYNCED = new Set(["gift", "contact"]);
const hosts = new Map(); // one per isolate and kind: their cores are cached per customer settings revision
let lastMessages = []; // TEST_HOOKS only: the newest consumed delivery messages, for the redelivery test

/** The Worker's Host; `withBudget`: its customers carry the budget state (only the status model reads it). */
function hostFor(env, { withBudget = false } = {}) {
  let h = hosts.get(withBudget);
  if (!h || h.env !== env) {
    const store = new DoStore(env, { withBudget });
    h = new Host({ store, partner: partnerPortFor(store), workerId: "worker", fetch: unboundFetch });
    h.env = env;
    hosts.set(withBudget, h);
  }
  return h;
}
const recordStub = (env, customerId, recordKey) => env.RECORD.get(env.RECORD.idFromName(objectName(customerId, recordKey)));
/** The Worker API's own errors (`not-found`, `unauthorized`); the host kit's codes stay HostErrors. */
class WorkerApiError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = "WorkerApiError";
    this.code = code;
  }
}
const fail = (code, message) => (HOST_ERROR_CODES.includes(code) ? new HostError(code, message) : new WorkerApiError(code, message));

async function json(request) {
  const b = await request.json().catch(() => null);
  if (!b || typeof b !== "object") throw fail("invalid-argument", "body must be a JSON object");
  return b;
}

async function api(request, env, parts) {
  const host = hostFor(env);
  const store = host.store;
  const [, , , customerPart, section, a, b] = parts; // "", api, v1, customers/:id ...
  const id = decodeURIComponent(customerPart ?? "");
  const m = request.method;
  if (m === "PUT" && !section) {
    if (!env.ADMIN_TOKEN || request.headers.get("authorization") !== `Bearer ${env.ADMIN_TOKEN}`) throw fail("unauthorized", "admin token required");
    const s = await json(request);
    if (s.customerId !== id) throw fail("invalid-argument", "customerId must match the path");
    return { apiVersion: 1, customerId: await host.putCustomer(s) };
  }
  if (m === "GET" && section === "status") return hostFor(env, { withBudget: true }).status(id);
  if (m === "GET" && section === "conflicts" && !a) return { apiVersion: 1, conflicts: await host.conflicts(id) };
  if (m === "POST" && section === "conflicts" && b === "resolve") {
    const body = await json(request);
    if (typeof body.choices !== "object" || !body.choices) throw fail("invalid-argument", "body must be {choices}");
    if (!(await store.getCustomer(id))) throw fail("unknown-customer", id);
    const key = decodeURIComponent(a);
    if (!(await store.findRecord(id, { recordKey: key }))) throw fail("unknown-record", key);
    return { apiVersion: 1, ...(await recordStub(env, id, key).resolveConflict(id, key, body.choices)) };
  }
  if (m === "GET" && section === "records" && a && b === "timeline") {
    if (!(await store.getCustomer(id))) throw fail("unknown-customer", id);
    const key = decodeURIComponent(a);
    if (!(await store.findRecord(id, { recordKey: key }))) throw fail("unknown-record", key);
    return recordStub(env, id, key).recordTimeline(id, key);
  }
  if (m === "GET" && section === "records" && !a) {
    if (!(await store.getCustomer(id))) throw fail("unknown-customer", id);
    return { apiVersion: 1, records: await store.listRecords(id, {}) };
  }
  if (m === "POST" && section === "pause") return { apiVersion: 1, ...(await host.pause(id)) };
  if (m === "POST" && section === "resume") {
    const r = await host.resume(id, { reconcile: true });
    for (const key of await store.customer(id).wakeList()) await recordStub(env, id, key).wake();
    return { apiVersion: 1, ...r };
  }
  if (m === "POST" && section === "reconcile") {
    if (!(await store.getCustomer(id))) throw fail("unknown-customer", id);
    return { apiVersion: 1, ...(await host.reconcile(id, { process: false })) };
  }
  if (m === "GET" && section === "review") return { apiVersion: 1, items: await store.listReview(id) };
  if (m === "GET" && section === "dead-letters") return { apiVersion: 1, items: await store.listDeadLetters(id) };
  if (m === "POST" && section === "partner-changes") {
    const body = await json(request);
    if (typeof body.kind !== "string" || body.partnerId == null) throw fail("invalid-argument", "body must be {kind, partnerId}");
    if (!SYNCED.has(body.kind)) throw fail("invalid-argument", `kind ${body.kind} is not synced`);
    if (!(await store.getCustomer(id))) throw fail("unknown-customer", id);
    const partnerId = String(body.partnerId);
    const found = await store.findRecord(id, { kind: body.kind, partnerId });
    const key = found?.recordKey ?? `${body.kind}:${partnerId}`;
    return { apiVersion: 1, recordKey: await recordStub(env, id, key).partnerChange(id, key, body.kind, partnerId) };
  }
  throw fail("not-found", request.url);
}

async function testHook(request, env, name) {
  const body = await request.json();
  if (name === "record") return recordStub(env, body.customerId, body.recordKey).testHooks(body.customerId, body.recordKey, body.hooks ?? {});
  if (name === "redeliver") {
    // The Queue delivering a message again (at-least-once): the newest consumed delivery of a record, re-sent.
    const msg = lastMessages.filter((x) => x.key === body.recordKey).at(-1);
    if (!msg) throw fail("unknown-record", body.recordKey);
    for (let i = 0; i < (body.times ?? 1); i++) {
      await env.DELIVERIES.send(msg.body, { contentType: "json" });
      await hostFor(env).store.customer(msg.body.customerId).enqueued("test", Date.now());
    }
    return { sent: body.times ?? 1, dedupeKey: msg.body.dedupeKey };
  }
  throw fail("not-found", name);
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const parts = url.pathname.split("/");
    try {
      if (url.pathname.startsWith("/webhooks/virtuous/")) return await fetchHandler(hostFor(env))(request);
      if (url.pathname === "/api/health") return Response.json({ ok: true, apiVersion: 1, engine: "workers" });
      if (env.TEST_HOOKS === "1" && parts[1] === "_test" && request.method === "POST") return Response.json(await testHook(request, env, parts[2]));
      if ((parts[1] === "api" && parts[2] === "v1" && parts[3] === "customers" && parts[4]) || (parts[1] === "api" && parts[2] === "customers" && parts[3])) {
        const p = parts[2] === "v1" ? parts : ["", "api", "v1", ...parts.slice(2)];
        const isAdminPut = request.method === "PUT" && !p[5];
        if (env.API_TOKEN && !isAdminPut && request.headers.get("authorization") !== `Bearer ${env.API_TOKEN}`)
          return Response.json({ error: "unauthorized" }, { status: 401 });
        return Response.json(await api(request, env, ["", "api", "v1", p[4], p[5], p[6], p[7]]));
      }
      return Response.json({ error: "not-found" }, { status: 404 });
    } catch (e) {
      const code = e?.code ?? "internal";
      const known = ["HostError", "VirtuousSyncError", "StoreError", "WorkerApiError"].includes(e?.name);
      return Response.json({ error: code, message: known ? e.message : "internal error" }, { status: STATUS[code] ?? (code === "not-found" ? 404 : e?.name === "VirtuousSyncError" ? 400 : 500) });
    }
  },

  async queue(batch, env) {
    if (batch.queue === (env.DEAD_LETTER_QUEUE ?? "virtuous-dlq")) return consumeDeadLetters(batch, env);
    if (batch.queue === (env.RECONCILE_QUEUE ?? "virtuous-reconcile")) return consumeReconcile(batch, env);
    return consumeDeliveries(batch, env);
  },

  /** The cron trigger: every customer whose reconciliation is due gets one message on the RECONCILE Queue. */
  async scheduled(controller, env) {
    const store = hostFor(env).store;
    const now = Date.now();
    for (const id of await store.listCustomers()) {
      const c = await store.getCustomer(id);
      if (!c || c.pausedAtMs != null || !c.settings.virtuous) continue;
      const rec = await store.kvGet(id, "reconcile");
      if (rec?.nextDueMs != null && rec.nextDueMs > now) continue;
      await env.RECONCILE.send({ customerId: id }, { contentType: "json" });
    }
  },
};

/**
 * Routes each delivery to its record's Object (index lookup by Virtuous id or our reference; a new record's key
 * otherwise). Messages of one record run one after another in batch order; different records run in parallel.
 */
async function consumeDeliveries(batch, env) {
  const store = hostFor(env).store;
  const groups = new Map();
  for (const m of batch.messages) {
    const b = m.body;
    let key;
    try {
      const c = await store.getCustomer(b.customerId);
      if (!c) {
        await store.customer(b.customerId).deadLetter({ origin: "queue", dedupeKey: b.dedupeKey, body: b.body, error: "unknown-customer", atMs: Date.now() });
        m.ack();
        continue;
      }
      const { keys, fallbackKey } = routeKeys((await hostFor(env).customer(b.customerId)).core, b.event);
      const found = fallbackKey === OTHER_KEY ? null : await store.findRecord(b.customerId, { kind: keys.kind, virtuousId: keys.virtuousId, refs: keys.refs });
      key = found?.recordKey ?? fallbackKey;
    } catch {
      m.retry({ delaySeconds: 1 });
      continue;
    }
    const g = `${b.customerId}\u0000${key}`;
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push({ m, key });
  }
  await Promise.all(
    [...groups.values()].map(async (list) => {
      for (const { m, key } of list) await deliverOne(env, store, m, key);
    }),
  );
}

async function deliverOne(env, store, m, key) {
  const b = m.body;
  try {
    const r = await recordStub(env, b.customerId, key).deliver(b.customerId, key, { ...b, attempts: m.attempts });
    if (r.outcome === "retry") return m.retry({ delaySeconds: Math.min(300, Math.ceil((r.delayMs ?? 1000) / 1000)) });
    m.ack();
    if (env.TEST_HOOKS === "1") lastMessages = [...lastMessages.slice(-99), { key, body: b }];
    // A dead letter stays counted until the dead-letter queue's consumer has filed it.
    if (r.outcome !== "dead" || !env.DEAD_LETTERS) await store.customer(b.customerId).settled(1);
  } catch {
    await store.customer(b.customerId).countersAdd({ deliveryRetries: 1 }).catch(() => {});
    // The Object failed (evicted, storage error): the Queue delivers the message again; after its retries the
    // message goes to the dead-letter queue.
    m.retry({ delaySeconds: Math.min(60, 2 ** Math.min(6, m.attempts - 1)) });
  }
}

async function consumeDeadLetters(batch, env) {
  const store = hostFor(env).store;
  for (const m of batch.messages) {
    const b = m.body ?? {};
    if (b.customerId) {
      // Either the host's own dead letter (origin "inbox": a bad input, or its attempts spent) or a message the
      // deliveries Queue gave up on after its retries (the record's Object kept failing).
      const own = b.origin === "inbox" && b.error != null;
      await store.customer(b.customerId).deadLetter({
        origin: own ? "inbox" : "queue", dedupeKey: b.dedupeKey, body: b.body,
        error: own ? b.error : "the deliveries queue gave up on this message after its retries", atMs: b.atMs ?? Date.now(),
      });
      await store.customer(b.customerId).settled(1);
    }
    m.ack();
  }
}

async function consumeReconcile(batch, env) {
  const host = hostFor(env);
  for (const m of batch.messages) {
    const id = m.body?.customerId;
    const now = Date.now();
    try {
      await host.reconcile(id, { process: false });
    } catch (err) {
      const rec = await host.store.kvGet(id, "reconcile");
      await host.store.kvPut(id, "reconcile", { ...(rec ?? {}), nextDueMs: now + 15 * 60_000, lastError: String(err?.message ?? err), lastErrorMs: now });
    }
    m.ack();
  }
}
