// virtuous-sync-host on Cloudflare Workers (workerd): the host kit's Host, with Durable Objects and Queues as its
// store. Bindings (see docs/deploy-workers.md and ./wrangler.example.toml):
//   CUSTOMER, RECORD, BUDGET, DIRECTORY   Durable Objects (CustomerObject with SQLite storage)
//   DELIVERIES                            Queue: verified deliveries and reconciliation's missed changes
//   RECONCILE                             Queue: one message per customer whose reconciliation is due (cron)
//   DEAD_LETTERS                          Queue producer for the dead-letter queue (also the deliveries Queue's
//                                         dead_letter_queue); consumed here too (DEAD_LETTER_QUEUE: its name)
//   API_TOKEN (optional)                  bearer token for /api/v1 (the webhook route is authenticated by signature)
//   ADMIN_TOKEN                           bearer token for PUT /api/v1/customers/:id (customer settings) and
//                                         POST /api/v1/customers/:id/raise-subscription (the Raise webhook)
//
// Routes: POST /webhooks/virtuous/:customerId, /webhooks/raise/:customerId and /webhooks/volunteer/:customerId (verify
// with the customer's receiver, enqueue, then 2xx; a Raise or VOMO delivery is carried out by its link's Object) and the host kit's
// JSON API under /api/v1 (status, conflicts, resolve, timeline, pause, resume, review and its resolve, dead-letters,
// partner-changes), plus PUT /api/v1/customers/:id, POST .../reconcile and GET .../records (the index).
import { Host } from "../host.mjs";
import { fetchHandler, routeOfPath } from "../receive.mjs";
import { HostError, HOST_ERROR_CODES } from "../errors.mjs";
import { DoStore } from "./store.mjs";
import { partnerPortFor, RecordObject, unboundFetch } from "./record-object.mjs";
import { BudgetObject, CustomerObject, DirectoryObject } from "./customer-object.mjs";
import { OTHER_KEY, objectName, routeKeys } from "./route.mjs";
import { peopleApi, statusOfError, STATUS_PAGE, PROMETHEUS_TYPE } from "../status-page.mjs";
import { exportCustomer, importCustomer } from "./transfer.mjs";

export { RecordObject, CustomerObject, BudgetObject, DirectoryObject };

const SYNCED = new Set(["gift", "contact"]);
const hosts = new Map(); // one per isolate and kind: their cores are cached per customer settings revision
let lastMessages = []; // TEST_HOOKS only: the newest consumed delivery messages, for the redelivery test
let reconcileHooks = {}; // TEST_HOOKS only: {duplicatePages, crashAfterPage: {page: times}}
/** How long a reconciliation page's claim holds (a consumer that died mid-page releases it by lapsing). */
const PAGE_LEASE_MS = 120_000;
/** A run with no page finished for this long is abandoned; the next cron starts a new one from the cursors. */
const RUN_STALE_MS = 60 * 60_000;

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

async function api(request, env, parts, query) {
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
  const people = peopleApi(hostFor(env, { withBudget: true }), { timeline: (cid, key) => recordStub(env, cid, key).recordTimeline(cid, key) });
  if (m === "GET" && section === "status") return hostFor(env, { withBudget: true }).status(id);
  if (m === "GET" && section === "decisions") return people.decisions(id, query.get("limit"));
  if (m === "GET" && section === "outbox") return people.outbox(id);
  if (m === "GET" && section === "reconciliation") return people.reconciliation(id);
  if ((m === "GET" && section === "export") || (m === "POST" && section === "import")) {
    if (!env.ADMIN_TOKEN || request.headers.get("authorization") !== `Bearer ${env.ADMIN_TOKEN}`) throw fail("unauthorized", "admin token required");
    if (m === "GET") return exportCustomer(env, store, id);
    return importCustomer(env, store, id, await json(request));
  }
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
    if (query.get("id") != null) return people.lookup(id, { kind: query.get("kind") ?? undefined, id: query.get("id") });
    return people.records(id, { kind: query.get("kind") ?? undefined });
  }
  if (section === "raise-subscription" && !a && (m === "POST" || m === "GET")) {
    // Registers or updates the customer's Raise webhook (raise-subscription.mjs): an admin route, as settings are.
    if (!env.ADMIN_TOKEN || request.headers.get("authorization") !== `Bearer ${env.ADMIN_TOKEN}`) throw fail("unauthorized", "admin token required");
    if (!(await store.getCustomer(id))) throw fail("unknown-customer", id);
    if (m === "GET") return { apiVersion: 1, subscription: await host.raiseSubscription.get(id) };
    const { notificationUrl, eventTypes, name, format } = await json(request);
    return { apiVersion: 1, ...(await host.setupRaiseSubscription(id, { notificationUrl, eventTypes, name, format })) };
  }
  if (m === "POST" && section === "pause") return { apiVersion: 1, ...(await host.pause(id)) };
  if (m === "POST" && section === "resume") {
    const r = await host.resume(id, { reconcile: true });
    for (const key of await store.customer(id).wakeList()) await recordStub(env, id, key).wake();
    return { apiVersion: 1, ...r };
  }
  if (m === "POST" && section === "reconcile") {
    if (!(await store.getCustomer(id))) throw fail("unknown-customer", id);
    // The run goes through the RECONCILE Queue, one message per page; GET .../reconciliation shows it.
    return { apiVersion: 1, ...(await startRun(env, id, { force: true })) };
  }
  if (m === "GET" && section === "review") return { apiVersion: 1, items: await store.listReview(id) };
  if (m === "POST" && section === "review" && a && b === "resolve") {
    const body = await json(request);
    if (typeof body.partnerId !== "string") throw fail("invalid-argument", 'body must be {partnerId: "<partner record id>" | "new"}');
    return { apiVersion: 1, ...(await host.resolveReview(id, decodeURIComponent(a), { partnerId: body.partnerId })) };
  }
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
  if (name === "reconcile") {
    reconcileHooks = body.hooks ?? {};
    return { hooks: reconcileHooks };
  }
  if (name === "reconcile-message") {
    await env.RECONCILE.send(body.message, { contentType: "json" });
    return { sent: 1 };
  }
  throw fail("not-found", name);
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const parts = url.pathname.split("/");
    try {
      // CRM+, Raise and VOMO deliveries; the path names the product (receive.mjs routeOfPath).
      if (routeOfPath(url.pathname)) return await fetchHandler(hostFor(env))(request);
      if (url.pathname === "/api/health") return Response.json({ ok: true, apiVersion: 1, engine: "workers" });
      // The status page is the Node host's own (status-page.mjs); it reads the API below with the person's token.
      if (url.pathname === "/status" && request.method === "GET") return new Response(STATUS_PAGE, { headers: { "content-type": "text/html; charset=UTF-8" } });
      const apiAuthorized = !env.API_TOKEN || request.headers.get("authorization") === `Bearer ${env.API_TOKEN}`;
      if (url.pathname === "/metrics" && request.method === "GET") {
        if (!apiAuthorized) return new Response("unauthorized\n", { status: 401 });
        return new Response(await peopleApi(hostFor(env, { withBudget: true })).prometheus(), { headers: { "content-type": PROMETHEUS_TYPE } });
      }
      if (request.method === "GET" && (url.pathname === "/api/v1/customers" || url.pathname === "/api/customers" || url.pathname === "/api/v1/metrics" || url.pathname === "/api/metrics")) {
        if (!apiAuthorized) return Response.json({ error: "unauthorized" }, { status: 401 });
        const people = peopleApi(hostFor(env, { withBudget: true }));
        return Response.json(url.pathname.endsWith("/metrics") ? await people.metrics() : await people.customers());
      }
      if (env.TEST_HOOKS === "1" && parts[1] === "_test" && request.method === "POST") return Response.json(await testHook(request, env, parts[2]));
      if ((parts[1] === "api" && parts[2] === "v1" && parts[3] === "customers" && parts[4]) || (parts[1] === "api" && parts[2] === "customers" && parts[3])) {
        const p = parts[2] === "v1" ? parts : ["", "api", "v1", ...parts.slice(2)];
        // The admin routes (settings, export, import) check the admin token themselves.
        const isAdmin = (request.method === "PUT" && !p[5]) || p[5] === "export" || p[5] === "import";
        if (!apiAuthorized && !isAdmin) return Response.json({ error: "unauthorized" }, { status: 401 });
        return Response.json(await api(request, env, ["", "api", "v1", p[4], p[5], p[6], p[7]], url.searchParams));
      }
      return Response.json({ error: "not-found" }, { status: 404 });
    } catch (e) {
      const code = e?.code ?? "internal";
      const known = ["HostError", "VirtuousSyncError", "StoreError", "WorkerApiError", "TransferError"].includes(e?.name);
      return Response.json({ error: known ? code : "internal", message: known ? e.message : "internal error" }, { status: known ? statusOfError(e) : 500 });
    }
  },

  async queue(batch, env) {
    if (batch.queue === (env.DEAD_LETTER_QUEUE ?? "virtuous-dlq")) return consumeDeadLetters(batch, env);
    if (batch.queue === (env.RECONCILE_QUEUE ?? "virtuous-reconcile")) return consumeReconcile(batch, env);
    return consumeDeliveries(batch, env);
  },

  /** The cron trigger: every customer whose reconciliation is due starts a run: its first page on the RECONCILE Queue. */
  async scheduled(controller, env) {
    const store = hostFor(env).store;
    const now = Date.now();
    for (const id of await store.listCustomers()) {
      const c = await store.getCustomer(id);
      if (!c || c.pausedAtMs != null || !c.settings.virtuous) continue;
      const rec = await store.kvGet(id, "reconcile");
      if (rec?.nextDueMs != null && rec.nextDueMs > now) continue;
      await startRun(env, id);
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
      const found = fallbackKey === OTHER_KEY ? null : await store.findRecord(b.customerId, { product: keys.product ?? "crm", kind: keys.kind, virtuousId: keys.virtuousId, refs: keys.refs });
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
    if (b.customerId && b.runId) {
      // A reconciliation page the RECONCILE Queue gave up on: the run is ended (its cursors stay where they were:
      // the next cron starts a new run from them) and the failure is listed with the dead letters.
      const now = Date.now();
      await store.customer(b.customerId).runFail({ runId: b.runId, page: b.page, nowMs: now });
      await store.customer(b.customerId).deadLetter({ origin: "reconcile", dedupeKey: `reconcile-run:${b.runId}:${b.page}`, error: `reconciliation page ${b.page} of run ${b.runId} failed after its retries`, atMs: now });
      const rec = await store.kvGet(b.customerId, "reconcile");
      await store.kvPut(b.customerId, "reconcile", { ...(rec ?? {}), nextDueMs: now + 15 * 60_000 });
    } else if (b.customerId) {
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

/**
 * Starts a reconciliation run unless one is under way (one that finished no page for RUN_STALE_MS is abandoned):
 * the run's state goes to the customer's Object, its first page to the RECONCILE Queue.
 */
async function startRun(env, customerId, { force = false } = {}) {
  const host = hostFor(env);
  const now = Date.now();
  const state = await host.reconcileBegin(customerId);
  const r = await host.store.customer(customerId).runStart({ runId: state.runId, state, nowMs: now, staleMs: force ? 0 : RUN_STALE_MS });
  if (!r.started) return { runId: r.runId, queued: false, running: true };
  await env.RECONCILE.send({ customerId, runId: state.runId, page: 0 }, { contentType: "json" });
  return { runId: state.runId, queued: true };
}

/**
 * One reconciliation page per message `{customerId, runId, page}`. The customer's Object holds the run (its state
 * after the last finished page, and which page is next): a message runs only the run's next page and only while
 * it holds that page's claim; the state advances after the page's items are fed, then the next page is enqueued.
 * So a message delivered twice runs its page once, a page that fails is retried from the same state (its feed
 * carries the same dedupe keys, so nothing is applied twice), and no page is skipped. The cursors move only when
 * a resource's run completes (the core's finishQueryRun, in Host.reconcileStep).
 */
async function consumeReconcile(batch, env) {
  const host = hostFor(env);
  for (const m of batch.messages) {
    const { customerId: id, runId, page } = m.body ?? {};
    if (typeof id !== "string" || typeof runId !== "string" || !Number.isInteger(page)) {
      m.ack(); // not a page message (an older deployment's {customerId}); the cron starts a run
      continue;
    }
    const cust = host.store.customer(id);
    let claim;
    try {
      claim = await cust.runClaim({ runId, page, nowMs: Date.now(), leaseMs: PAGE_LEASE_MS });
    } catch {
      m.retry({ delaySeconds: 5 });
      continue;
    }
    if (claim.outcome === "stale") {
      m.ack();
      continue;
    }
    if (claim.outcome === "done") {
      // This page finished, but its consumer may have died before enqueueing the next: enqueue it again (the
      // next page's claim keeps that from running twice).
      if (claim.resend != null) await env.RECONCILE.send({ customerId: id, runId, page: claim.resend }, { contentType: "json" });
      m.ack();
      continue;
    }
    if (claim.outcome === "busy") {
      m.retry({ delaySeconds: Math.min(10, Math.max(1, Math.ceil((claim.untilMs - Date.now()) / 1000))) });
      continue;
    }
    let next;
    try {
      next = await host.reconcileStep(id, claim.state);
      if (env.TEST_HOOKS === "1" && reconcileHooks.crashAfterPage?.[page] > 0) {
        reconcileHooks.crashAfterPage[page]--;
        throw new Error(`test hook: the consumer died after page ${page}'s feed`);
      }
    } catch (err) {
      const now = Date.now();
      await cust.runRelease({ runId, page, error: String(err?.message ?? err), nowMs: now }).catch(() => {});
      const rec = await host.store.kvGet(id, "reconcile").catch(() => null);
      await host.store.kvPut(id, "reconcile", { ...(rec ?? {}), lastError: String(err?.message ?? err), lastErrorMs: now }).catch(() => {});
      m.retry({ delaySeconds: Math.min(300, 2 ** Math.min(8, m.attempts)) });
      continue;
    }
    const adv = await cust.runAdvance({ runId, page, state: next, nowMs: Date.now() });
    if (adv.advanced && !next.done) {
      await env.RECONCILE.send({ customerId: id, runId, page: page + 1 }, { contentType: "json" });
      if (env.TEST_HOOKS === "1" && reconcileHooks.duplicatePages) await env.RECONCILE.send({ customerId: id, runId, page: page + 1 }, { contentType: "json" });
    }
    m.ack();
  }
}
