// Fastify 5. In the webhook route's own plugin scope, every content type is read as a Buffer (parseAs: "buffer"),
// so the bytes Virtuous signed reach the verifier; the rest of the app keeps Fastify's JSON parser.
import Fastify from "fastify";
import { webhookCore, answer } from "./lib/config.mjs";
// In your app: import { fastifyHandler } from "virtuous-sync-host";
import { fastifyHandler } from "../../host/src/index.mjs";

const rawBodies = (scope) => {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: 1 << 20 }, (req, body, done) => done(null, body));
};

export function coreApp({ handle }) {
  const app = Fastify();
  app.register(async (scope) => {
    rawBodies(scope);
    scope.post("/webhooks/virtuous", async (req, reply) => {
      const r = await answer(webhookCore().receive(req.body ?? new Uint8Array(), req.headers), req.body, handle);
      return reply.code(r.status).send(r.body);
    });
  });
  return app;
}

export function hostApp(host) {
  const app = Fastify();
  app.register(async (scope) => {
    rawBodies(scope);
    scope.post("/webhooks/virtuous/:customerId", fastifyHandler(host));
  });
  return app;
}

/** Without the buffer parser Fastify parses JSON: the kit answers 500 naming the fix. */
export function misconfiguredHostApp(host) {
  const app = Fastify();
  app.post("/webhooks/virtuous/:customerId", fastifyHandler(host));
  return app;
}
