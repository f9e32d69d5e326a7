// Express 5. The signature covers the exact bytes: express.raw() on the webhook route, and any express.json() for
// the rest of the app mounted AFTER it (a global express.json() before it would leave only a parsed object).
import express from "express";
import { webhookCore, answer } from "./lib/config.mjs";
// In your app: import { expressHandler } from "virtuous-sync-host";
import { expressHandler } from "../../host/src/index.mjs";

/** With the core only: `handle(receipt, body)` is yours (claim the dedupe key, queue the event). */
export function coreApp({ handle }) {
  const app = express();
  app.post("/webhooks/virtuous", express.raw({ type: "*/*", limit: "1mb" }), async (req, res) => {
    const r = await answer(webhookCore().receive(req.body, req.headers), req.body, handle);
    res.status(r.status).json(r.body);
  });
  app.use(express.json()); // the rest of the app: after the webhook route
  return app;
}

/** With the host kit: durable inbox, per-customer secrets, processing. */
export function hostApp(host) {
  const app = express();
  app.post("/webhooks/virtuous/:customerId", express.raw({ type: "*/*", limit: "1mb" }), expressHandler(host));
  app.use(express.json());
  return app;
}

/** The mistake the kit catches: a global express.json() before the route. Answers 500 naming the fix. */
export function misconfiguredHostApp(host) {
  const app = express();
  app.use(express.json());
  app.post("/webhooks/virtuous/:customerId", expressHandler(host));
  return app;
}
