// Every Node recipe, through its real framework on 127.0.0.1: a signed delivery is accepted (the core alone and with
// the host kit, whose inbox then holds it), a forged one is refused with 401, and a parsed body gets a 500 naming
// the fix. Deno.serve, Bun.serve and the Workers recipes run in their own runtimes (runtimes.test.mjs).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { signBody } from "virtuous-sync";
import { Host, MemoryStore } from "../../../host/src/index.mjs";
import { customerSettings, memoryPartner, SECRET } from "../../../host/test/support/harness.mjs";

process.env.VIRTUOUS_WEBHOOK_SECRET = SECRET;
process.env.VIRTUOUS_PLATFORM_NAME = "Acme Giving";
const C = "tenant-1";
let n = 0;
/** A new signed delivery each call (a new gift id, so a new dedupe key). */
function delivery() {
  const text = JSON.stringify({ event: "GiftCreate", gift: { id: 7000 + ++n, amount: 25, giftDate: "2026-11-29", modifiedDateTimeUtc: "2026-11-30T11:00:00Z" } });
  return { text, headers: { "content-type": "application/json; charset=utf-8", ...signBody(text, SECRET).headers } };
}
const forged = (d) => ({ ...d.headers, "x-virtuous-signature": signBody(d.text, "another-secret-0123456789abcdef0123456789").headers["x-virtuous-signature"] });

async function newHost() {
  const host = new Host({ store: new MemoryStore(), partner: memoryPartner() });
  await host.putCustomer(customerSettings(C));
  return host;
}
const inboxHas = async (host, d) => (await host.store.statusCounts(C)).inboxPending >= 1 && JSON.parse(d.text).gift.id;

/** Starts a node:http server for `listener`; returns its base URL and a closer. */
function serve(listener) {
  return new Promise((resolve) => {
    const server = http.createServer(listener);
    server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) }));
  });
}
const post = (url, d, headers = d.headers) => fetch(url, { method: "POST", body: d.text, headers });

/** The three checks every recipe passes; `base` and `hostBase` are URLs, `bad` a misconfigured host app's URL. */
function recipeChecks({ start }) {
  let s;
  const handled = [];
  before(async () => {
    s = await start({ handle: async (receipt) => handled.push(receipt.dedupeKey) });
  });
  after(async () => s?.close());
  test("core alone: a signed delivery is accepted and handed over; a forged one is refused (401), nothing handed over", async () => {
    const d = delivery();
    const ok = await post(s.core, d);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { reason: "accepted" });
    assert.equal(handled.at(-1), `resource:gift-create:${JSON.parse(d.text).gift.id}:2026-11-30T11:00:00Z`);
    const before = handled.length;
    const bad = await post(s.core, d, forged(d));
    assert.equal(bad.status, 401);
    assert.equal((await bad.json()).reason, "signature-mismatch");
    assert.equal(handled.length, before);
  });
  test("host kit: accepted into the durable inbox; forged → 401 and nothing stored", async () => {
      const d = delivery();
      const ok = await post(s.hostUrl, d);
      assert.equal(ok.status, 200, await ok.clone().text());
      assert.equal((await ok.json()).reason, "accepted");
      assert.ok(await inboxHas(s.host, d));
      const pending = (await s.host.store.statusCounts(C)).inboxPending;
      const bad = await post(s.hostUrl, delivery(), forged(d));
      assert.equal(bad.status, 401);
      assert.equal((await s.host.store.statusCounts(C)).inboxPending, pending);
    });
}

describe("Express 5", () => {
  recipeChecks({
    start: async ({ handle }) => {
      const { coreApp, hostApp, misconfiguredHostApp } = await import("../express.mjs");
      const host = await newHost();
      const a = await serve(coreApp({ handle }));
      const b = await serve(hostApp(host));
      const c = await serve(misconfiguredHostApp(host));
      return { core: `${a.url}/webhooks/virtuous`, hostUrl: `${b.url}/webhooks/virtuous/${C}`, bad: `${c.url}/webhooks/virtuous/${C}`, host, close: () => Promise.all([a.close(), b.close(), c.close()]) };
    },
  });
  test("a global express.json() gets a 500 that names the fix, and nothing is stored", async () => {
    const { misconfiguredHostApp } = await import("../express.mjs");
    const host = await newHost();
    const s = await serve(misconfiguredHostApp(host));
    try {
      const r = await post(`${s.url}/webhooks/virtuous/${C}`, delivery());
      assert.equal(r.status, 500);
      const j = await r.json();
      assert.equal(j.error, "raw-body-unavailable");
      assert.match(j.message, /express\.raw\(\{ type: "\*\/\*" \}\)/);
      assert.match(j.message, /express\.json\(\)/);
      assert.equal((await host.store.statusCounts(C)).inboxPending, 0);
    } finally {
      await s.close();
    }
  });
});

describe("Fastify 5 (parseAs: buffer)", () => {
  recipeChecks({
    start: async ({ handle }) => {
      const { coreApp, hostApp } = await import("../fastify.mjs");
      const host = await newHost();
      const a = coreApp({ handle });
      const b = hostApp(host);
      const ua = await a.listen({ port: 0, host: "127.0.0.1" });
      const ub = await b.listen({ port: 0, host: "127.0.0.1" });
      return { core: `${ua}/webhooks/virtuous`, hostUrl: `${ub}/webhooks/virtuous/${C}`, host, close: () => Promise.all([a.close(), b.close()]) };
    },
  });
  test("without the buffer parser, Fastify's parsed JSON gets a 500 that names parseAs: \"buffer\"", async () => {
    const { misconfiguredHostApp } = await import("../fastify.mjs");
    const host = await newHost();
    const app = misconfiguredHostApp(host);
    const u = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const r = await post(`${u}/webhooks/virtuous/${C}`, delivery());
      assert.equal(r.status, 500);
      assert.match((await r.json()).message, /parseAs: "buffer"/);
    } finally {
      await app.close();
    }
  });
});

describe("Hono on Node (@hono/node-server)", () => {
  recipeChecks({
    start: async ({ handle }) => {
      const { serve: honoServe } = await import("@hono/node-server");
      const { coreApp, hostApp } = await import("../hono-node.mjs");
      const host = await newHost();
      const up = (app) =>
        new Promise((resolve) => {
          const server = honoServe({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => resolve({ url: `http://127.0.0.1:${info.port}`, close: () => new Promise((r) => server.close(r)) }));
        });
      const a = await up(coreApp({ handle }));
      const b = await up(hostApp(host));
      return { core: `${a.url}/webhooks/virtuous`, hostUrl: `${b.url}/webhooks/virtuous/${C}`, host, close: () => Promise.all([a.close(), b.close()]) };
    },
  });
});

describe("NestJS 12 (rawBody: true)", () => {
  recipeChecks({
    start: async ({ handle }) => {
      const { coreApp, hostApp } = await import("../nest.mjs");
      const host = await newHost();
      const a = await coreApp({ handle });
      const b = await hostApp(host);
      await a.listen(0, "127.0.0.1");
      await b.listen(0, "127.0.0.1");
      return {
        core: `${await a.getUrl()}/webhooks/virtuous/_core`.replace("[::1]", "127.0.0.1"),
        hostUrl: `${await b.getUrl()}/webhooks/virtuous/${C}`.replace("[::1]", "127.0.0.1"),
        host,
        close: () => Promise.all([a.close(), b.close()]),
      };
    },
  });
  test("without rawBody: true, Nest's parsed JSON gets a 500 that names the option", async () => {
    const { hostApp } = await import("../nest.mjs");
    const host = await newHost();
    const app = await hostApp(host, { rawBody: false });
    await app.listen(0, "127.0.0.1");
    try {
      const r = await post(`${(await app.getUrl()).replace("[::1]", "127.0.0.1")}/webhooks/virtuous/${C}`, delivery());
      assert.equal(r.status, 500);
      assert.match((await r.json()).message, /NestFactory\.create\(AppModule, \{ rawBody: true \}\)/);
    } finally {
      await app.close();
    }
  });
});

describe("Next.js 16", () => {
  let host;
  before(async () => {
    host = await newHost();
    globalThis.__virtuousSyncHost = host;
  });
  test("App Router route handler (called with a real Request, as Next's Node runtime does): core and host kit", async () => {
    const { POST } = await import("../next-app/app/api/webhooks/virtuous/[customerId]/route.mjs");
    const d = delivery();
    const req = (id, headers = d.headers) => new Request(`http://127.0.0.1/api/webhooks/virtuous/${id}`, { method: "POST", body: d.text, headers });
    const core = await POST(req("_core"), { params: Promise.resolve({ customerId: "_core" }) });
    assert.equal(core.status, 200);
    assert.equal((await core.json()).reason, "accepted");
    const viaHost = await POST(req(C), { params: Promise.resolve({ customerId: C }) });
    assert.equal(viaHost.status, 200);
    assert.ok(await inboxHas(host, d));
    const bad = await POST(req(C, forged(d)), { params: Promise.resolve({ customerId: C }) });
    assert.equal(bad.status, 401);
  });
  test("Pages Router API route with bodyParser: false, run by Next's own API resolver over real HTTP", async () => {
    const { apiResolver } = await import("next/dist/server/api-utils/node/api-resolver.js");
    const mod = await import("../next-pages/pages/api/webhooks/virtuous/[customerId].mjs");
    const parsing = { ...mod, config: { api: { bodyParser: true } } };
    let routeModule = mod;
    const s = await serve((req, res) => apiResolver(req, res, { customerId: req.url.split("/").pop() }, routeModule, {}, false, false, "/api/webhooks/virtuous/[customerId]"));
    try {
      const before = (await host.store.statusCounts(C)).inboxPending;
      const ok = await post(`${s.url}/api/webhooks/virtuous/${C}`, delivery());
      assert.equal(ok.status, 200, await ok.clone().text());
      assert.equal((await host.store.statusCounts(C)).inboxPending, before + 1);
      const d = delivery();
      assert.equal((await post(`${s.url}/api/webhooks/virtuous/${C}`, d, forged(d))).status, 401);
      // The same route with Next's body parser left on: refused, naming bodyParser: false.
      routeModule = parsing;
      const r = await post(`${s.url}/api/webhooks/virtuous/${C}`, delivery());
      assert.equal(r.status, 500);
      assert.match((await r.json()).message, /bodyParser: false/);
    } finally {
      await s.close();
    }
  });
});

describe("AWS Lambda (API Gateway events; no framework to install)", () => {
  test("isBase64Encoded true and false, REST and HTTP API shapes: accepted; forged → 401; core and host kit", async () => {
    const { coreHandler, hostHandler } = await import("../lambda.mjs");
    const host = await newHost();
    const handled = [];
    const core = coreHandler({ handle: async (r) => handled.push(r.dedupeKey) });
    const kit = hostHandler(host);
    const d = delivery();
    const v2 = (encode, headers = d.headers) => ({
      version: "2.0", rawPath: `/webhooks/virtuous/${C}`, pathParameters: { customerId: C }, requestContext: { http: { method: "POST" } },
      headers, isBase64Encoded: encode, body: encode ? Buffer.from(d.text).toString("base64") : d.text,
    });
    const v1 = { httpMethod: "POST", path: `/webhooks/virtuous/${C}`, pathParameters: { customerId: C }, headers: d.headers, multiValueHeaders: {}, isBase64Encoded: false, body: d.text };
    for (const e of [v2(true), v2(false), v1]) {
      const r = await core(e);
      assert.equal(r.statusCode, 200);
      assert.equal(JSON.parse(r.body).reason, "accepted");
    }
    assert.equal(handled.length, 3);
    assert.equal((await core(v2(true, forged(d)))).statusCode, 401);
    assert.equal((await kit(v2(true))).statusCode, 200);
    assert.equal((await kit(v1)).statusCode, 200, "the same delivery again: a duplicate, still 200");
    assert.equal((await host.store.statusCounts(C)).inboxPending, 1);
    assert.equal((await kit(v2(false, forged(d)))).statusCode, 401);
    // A body given as an object (a test harness or a proxy that parsed it): refused, naming the fix.
    const r = await kit({ ...v1, body: JSON.parse(d.text) });
    assert.equal(r.statusCode, 500);
    assert.match(JSON.parse(r.body).message, /isBase64Encoded/);
  });
});
