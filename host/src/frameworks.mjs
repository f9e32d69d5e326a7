// Webhook handlers for more frameworks (node:http, fetch-style and Express are in receive.mjs). Each hands the exact
// bytes Virtuous signed to Host.receive and answers only after the delivery is in the durable inbox. A body that a
// framework already parsed into an object cannot be verified: it is refused with a 500 naming the fix (a 500, not
// a 4xx, so Virtuous retries and nothing is lost once the route is fixed). Recipes: examples/frameworks/.
//   rawBodyOf(req, framework)   the raw bytes of a request whose framework may have read it (or undefined)
//   fastifyHandler(host)        fastify.post(route, handler) with a `parseAs: "buffer"` content-type parser
//   nextPagesHandler(host)      pages/api/webhooks/virtuous/[customerId].js with `config.api.bodyParser = false`
//   lambdaHandler(host, opts)   AWS Lambda behind API Gateway (v1 or v2) or a function URL: `isBase64Encoded`
// Hono (Node and Workers), the Next.js App Router, Deno.serve and Bun.serve take fetchHandler(host).

const MAX_BODY = 1 << 20;

/** The fix to name, per framework, when the raw body is gone. */
export const RAW_BODY_FIXES = Object.freeze({
  express: 'use express.raw({ type: "*/*" }) on the webhook route and keep any express.json() away from it (mount the route before app.use(express.json()), or skip the webhook path in it); with NestJS, create the app with NestFactory.create(AppModule, { rawBody: true })',
  nest: "create the app with NestFactory.create(AppModule, { rawBody: true }); the handler then reads req.rawBody",
  fastify: 'register a content-type parser with parseAs: "buffer" in the webhook route\'s plugin scope: fastify.addContentTypeParser("*", { parseAs: "buffer" }, (req, body, done) => done(null, body))',
  next: "export const config = { api: { bodyParser: false } } from the Pages Router route (the App Router reads await request.arrayBuffer())",
  lambda: "pass the API Gateway or function URL event through unchanged: its body and isBase64Encoded",
});

export class RawBodyError extends Error {
  constructor(framework) {
    super(
      `raw-body-unavailable: the request body was already parsed into an object (a global JSON body parser?), so the exact bytes Virtuous signed are gone and the signature cannot be checked. Fix: ${RAW_BODY_FIXES[framework] ?? RAW_BODY_FIXES.express}.`,
    );
    this.name = "RawBodyError";
    this.code = "raw-body-unavailable";
  }
}

const isBytes = (v) => v instanceof Uint8Array || v instanceof ArrayBuffer;
const bytes = (v) => (v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength));

/**
 * The request's raw bytes when a framework kept them (`req.rawBody` from NestJS's `rawBody: true`, a Buffer body
 * from express.raw or Fastify's `parseAs: "buffer"`, a string from a text parser); undefined when nothing read the
 * body yet (read the stream). Throws RawBodyError when the body was parsed into an object.
 */
export function rawBodyOf(req, framework = "express") {
  if (req.rawBody != null && isBytes(req.rawBody)) return bytes(req.rawBody);
  const b = req.body;
  if (b != null && isBytes(b)) return bytes(b);
  if (typeof b === "string") return new TextEncoder().encode(b);
  // An empty object from a parser that did not match the content type (Express 4) left the stream unread.
  const parsed = b != null && typeof b === "object" && (req._body === true || Object.keys(b).length > 0);
  if (parsed || req.readableEnded) throw new RawBodyError(framework);
  return undefined;
}

/** The raw body of a Node request stream, refused past `limit` bytes (413). */
export function readBody(req, limit = MAX_BODY) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on("data", (c) => {
      n += c.length;
      if (n > limit) {
        reject(Object.assign(new Error("body too large"), { status: 413 }));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

const refuse = (host, framework, customerId, e) => {
  host.log("raw-body-unavailable", { customerId, framework });
  return { status: 500, body: { error: e.code, message: e.message } };
};

/** Fastify: `fastify.post("/webhooks/virtuous/:customerId", fastifyHandler(host))` with a buffer parser. */
export function fastifyHandler(host) {
  return async (request, reply) => {
    const customerId = request.params?.customerId;
    if (!customerId) return reply.code(404).send({ error: "not-found" });
    let r;
    try {
      const body = rawBodyOf(request, "fastify") ?? (await readBody(request.raw));
      r = await host.receive(customerId, body, request.headers);
    } catch (e) {
      if (e instanceof RawBodyError) r = refuse(host, "fastify", customerId, e);
      else throw e;
    }
    return reply.code(r.status).send(r.body ?? {});
  };
}

/** Next.js Pages Router: `export default nextPagesHandler(host)` and `export const config = {api: {bodyParser: false}}`. */
export function nextPagesHandler(host, { param = "customerId" } = {}) {
  return async (req, res) => {
    const customerId = req.query?.[param];
    if (req.method !== "POST" || !customerId) return res.status(404).json({ error: "not-found" });
    let r;
    try {
      const body = rawBodyOf(req, "next") ?? (await readBody(req));
      r = await host.receive(String(customerId), body, req.headers);
    } catch (e) {
      if (e instanceof RawBodyError) r = refuse(host, "next", customerId, e);
      else if (e?.status === 413) r = { status: 413, body: { error: "unreadable-body" } };
      else throw e;
    }
    res.status(r.status).json(r.body ?? {});
  };
}

/**
 * AWS Lambda (API Gateway REST or HTTP API, or a function URL): the customer from the `customerId` path parameter
 * (or `customerId` given here); the body decoded from Base64 when `isBase64Encoded`.
 */
export function lambdaHandler(host, { customerId: fixed } = {}) {
  return async (event) => {
    const customerId = fixed ?? event?.pathParameters?.customerId;
    const method = event?.requestContext?.http?.method ?? event?.httpMethod;
    const reply = (status, body) => ({ statusCode: status, headers: { "content-type": "application/json" }, body: JSON.stringify(body ?? {}) });
    if (method !== "POST" || !customerId) return reply(404, { error: "not-found" });
    if (event.body != null && typeof event.body === "object") {
      const e = new RawBodyError("lambda");
      const r = refuse(host, "lambda", customerId, e);
      return reply(r.status, r.body);
    }
    const body = event.body == null ? new Uint8Array() : event.isBase64Encoded ? new Uint8Array(Buffer.from(event.body, "base64")) : new TextEncoder().encode(event.body);
    if (body.byteLength > MAX_BODY) return reply(413, { error: "unreadable-body" });
    // Header names arrive in any case; the core reads them case-insensitively. Repeated ones (REST API) are joined.
    const headers = { ...(event.headers ?? {}) };
    for (const [k, v] of Object.entries(event.multiValueHeaders ?? {})) if (Array.isArray(v) && v.length > 1) headers[k] = v.join(", ");
    const r = await host.receive(customerId, body, headers);
    return reply(r.status, r.body);
  };
}
