// Hono on Node (@hono/node-server). Hono never parses a body on its own: read c.req.arrayBuffer().
import { Hono } from "hono";
import { webhookCore, answer } from "./lib/config.mjs";
// In your app: import { fetchHandler } from "virtuous-sync-host";
import { fetchHandler } from "../../host/src/index.mjs";

export function coreApp({ handle }) {
  const app = new Hono();
  app.post("/webhooks/virtuous", async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    const r = await answer(webhookCore().receive(body, c.req.raw.headers), body, handle);
    return c.json(r.body, r.status);
  });
  return app;
}

export function hostApp(host) {
  const app = new Hono();
  const receive = fetchHandler(host);
  app.post("/webhooks/virtuous/:customerId", (c) => receive(c.req.raw, c.req.param("customerId")));
  return app;
}
// Serve: import { serve } from "@hono/node-server"; serve({ fetch: app.fetch, port: 3000 });
