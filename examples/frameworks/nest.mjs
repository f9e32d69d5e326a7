// NestJS 12 on Express, in plain JavaScript (the decorators applied by hand; in TypeScript write @Controller,
// @Post, @Req as usual). `rawBody: true` makes Nest keep the exact bytes in req.rawBody next to its parsed body.
import "reflect-metadata";
import { Controller, Module, Post, Req, Res } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { webhookCore, answer } from "./lib/config.mjs";
// In your app: import { expressHandler } from "virtuous-sync-host";
import { expressHandler } from "../../host/src/index.mjs";

function webhookModule(receive) {
  class WebhookController {
    async receive(req, res) {
      return receive(req, res);
    }
  }
  Reflect.decorate([Controller("webhooks/virtuous")], WebhookController);
  Req()(WebhookController.prototype, "receive", 0);
  Res()(WebhookController.prototype, "receive", 1);
  Reflect.decorate([Post(":customerId")], WebhookController.prototype, "receive", Object.getOwnPropertyDescriptor(WebhookController.prototype, "receive"));
  class AppModule {}
  Reflect.decorate([Module({ controllers: [WebhookController] })], AppModule);
  return AppModule;
}

/** The core only: the controller verifies req.rawBody. */
export async function coreApp({ handle }, { rawBody = true } = {}) {
  const mod = webhookModule(async (req, res) => {
    if (!req.rawBody) return res.status(500).json({ error: "raw-body-unavailable", message: "create the app with NestFactory.create(AppModule, { rawBody: true })" });
    const r = await answer(webhookCore().receive(req.rawBody, req.headers), req.rawBody, handle);
    res.status(r.status).json(r.body);
  });
  return NestFactory.create(mod, { rawBody, logger: false });
}

/** The host kit's Express handler inside the controller: it reads req.rawBody. */
export async function hostApp(host, { rawBody = true } = {}) {
  const handler = expressHandler(host);
  const mod = webhookModule((req, res) => handler(req, res));
  return NestFactory.create(mod, { rawBody, logger: false });
}
