// Bun.serve. Bun loads the package's Node entry. Run: bun bun.mjs
import { SyncCore } from "virtuous-sync/receive";

export function createHandler({ secret, platformName = "PartnerPlatform", handle = async () => {} }) {
  const core = new SyncCore({ secrets: [{ id: "current", secret }], platformName });
  return async (request) => {
    const url = new URL(request.url);
    if (request.method !== "POST" || url.pathname !== "/webhooks/virtuous") return new Response("not found", { status: 404 });
    const body = new Uint8Array(await request.arrayBuffer());
    const receipt = core.receive(body, request.headers);
    if (receipt.authentic) await handle(receipt, body);
    return Response.json({ reason: receipt.reason }, { status: receipt.status });
  };
}

if (import.meta.main) {
  Bun.serve({ port: Number(process.env.PORT ?? 3000), fetch: createHandler({ secret: process.env.VIRTUOUS_WEBHOOK_SECRET }) });
}
