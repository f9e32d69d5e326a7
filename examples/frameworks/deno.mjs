// Deno.serve. `virtuous-sync/receive` from npm (deno add npm:virtuous-sync, or an import map); Deno loads its
// default (web) entry, which fetches the .wasm beside it. Run: deno run --allow-net --allow-env --allow-read deno.mjs
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
  Deno.serve({ port: Number(Deno.env.get("PORT") ?? 3000) }, createHandler({ secret: Deno.env.get("VIRTUOUS_WEBHOOK_SECRET") }));
}
