// Webhook handlers for three kinds of servers. Each keeps the raw body (the signature covers the exact bytes), hands
// it to Host.receive, and answers only after the delivery is in the durable inbox. The path names the product:
// /webhooks/virtuous/:customerId (CRM+), /webhooks/raise/:customerId, /webhooks/volunteer/:customerId (VOMO).
//   nodeHandler(host, {customerIdFrom})   (req, res) for node:http; the customer from /webhooks/virtuous/:customerId
//   fetchHandler(host, customerId?, {product}?)  Request -> Response (Hono, Workers, Deno, Bun)
//   expressHandler(host)                  for app.post("/webhooks/virtuous/:customerId", expressHandler(host));
//                                         works with express.raw({type: "*/*"}) before it or with no body parser
import { rawBodyOf, RawBodyError, readBody } from "./frameworks.mjs";

const MAX_BODY = 1 << 20;
const ROUTE = /^\/webhooks\/(virtuous|raise|volunteer)\/([^/?#]+)\/?(?:\?.*)?$/;
/** The product each route segment receives for (Host.receive's `product`). */
export const ROUTE_PRODUCTS = Object.freeze({ virtuous: "crm", raise: "raise", volunteer: "volunteer" });

/** `{customerId, product}` of a `/webhooks/{virtuous|raise|volunteer}/:customerId` path, or undefined. */
export function routeOfPath(path) {
  const m = ROUTE.exec(path ?? "");
  if (!m) return undefined;
  try {
    return { customerId: decodeURIComponent(m[2]), product: ROUTE_PRODUCTS[m[1]] };
  } catch {
    return undefined;
  }
}

/** The customer id of a `/webhooks/virtuous/:customerId` path, or undefined. */
export function customerIdFromPath(path) {
  const r = routeOfPath(path);
  return r?.product === "crm" ? r.customerId : undefined;
}

function send(res, status, body) {
  const text = JSON.stringify(body ?? {});
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function nodeHandler(host) {
  return async (req, res) => {
    const route = routeOfPath(req.url);
    if (req.method !== "POST" || !route) return send(res, 404, { error: "not-found" });
    let body;
    try {
      body = await readBody(req);
    } catch (e) {
      return send(res, e.status ?? 400, { error: "unreadable-body" });
    }
    const r = await host.receive(route.customerId, new Uint8Array(body.buffer, body.byteOffset, body.byteLength), req.headers, { product: route.product });
    send(res, r.status, r.body);
  };
}

/** `product` ("crm", "raise", "volunteer") fixes the product; otherwise the path names it (default "crm"). */
export function fetchHandler(host, fixedCustomerId, { product: fixedProduct } = {}) {
  return async (request, customerIdArg) => {
    const route = routeOfPath(new URL(request.url).pathname);
    const customerId = fixedCustomerId ?? customerIdArg ?? route?.customerId;
    const product = fixedProduct ?? route?.product ?? "crm";
    if (request.method !== "POST" || !customerId) return Response.json({ error: "not-found" }, { status: 404 });
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > MAX_BODY) return Response.json({ error: "unreadable-body" }, { status: 413 });
    const r = await host.receive(customerId, body, request.headers, { product });
    return Response.json(r.body ?? {}, { status: r.status });
  };
}

export function expressHandler(host) {
  return async (req, res, next) => {
    try {
      const route = routeOfPath(req.originalUrl ?? req.url);
      const customerId = req.params?.customerId ?? route?.customerId;
      const product = route?.product ?? "crm";
      if (!customerId) return send(res, 404, { error: "not-found" });
      // A JSON parser already consumed the stream: the raw bytes are gone; the answer names the fix (frameworks.mjs).
      let body;
      try {
        body = rawBodyOf(req, req.rawBody !== undefined ? "nest" : "express") ?? (await readBody(req));
      } catch (e) {
        if (!(e instanceof RawBodyError)) throw e;
        host.log("raw-body-unavailable", { customerId, framework: "express" });
        return send(res, 500, { error: e.code, message: e.message });
      }
      const r = await host.receive(customerId, body, req.headers, { product });
      send(res, r.status, r.body);
    } catch (e) {
      next?.(e);
    }
  };
}
