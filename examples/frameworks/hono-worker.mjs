// Hono on Cloudflare Workers. `virtuous-sync/receive` resolves to its "workerd" entry, which imports the wasm module
// statically (Workers cannot compile wasm from bytes). The secret comes from the Worker's environment
// (`wrangler secret put VIRTUOUS_WEBHOOK_SECRET`). The host kit's stores are Node's (PostgreSQL, PGlite): on Workers,
// hand the receipt's event to a Queue or a Durable Object, as `handle` below does.
import { Hono } from "hono";
import { SyncCore } from "virtuous-sync/receive";

let core;
const app = new Hono();
app.post("/webhooks/virtuous", async (c) => {
  core ??= new SyncCore({ secrets: [{ id: "current", secret: c.env.VIRTUOUS_WEBHOOK_SECRET }], platformName: c.env.VIRTUOUS_PLATFORM_NAME ?? "PartnerPlatform" });
  const receipt = core.receive(new Uint8Array(await c.req.arrayBuffer()), c.req.raw.headers);
  if (receipt.authentic && receipt.reason === "accepted") await c.env.EVENTS?.send?.({ dedupeKey: receipt.dedupeKey, event: receipt.event });
  return c.json({ reason: receipt.reason, dedupeKey: receipt.authentic ? receipt.dedupeKey : undefined }, receipt.status);
});

export default app;
