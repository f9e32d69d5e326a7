// Next.js App Router on the edge runtime. The edge runtime resolves the package's "edge-light" condition, whose
// receive entry imports the .wasm statically (`import wasmModule from "./…_bg.wasm"` then initSync): the form edge
// runtimes accept, since they cannot compile wasm from bytes at run time. The host kit's stores need Node: on the edge,
// verify here and hand the event to your queue.
import { SyncCore } from "virtuous-sync/receive";

export const runtime = "edge";

let core;
export async function POST(request) {
  core ??= new SyncCore({ secrets: [{ id: "current", secret: process.env.VIRTUOUS_WEBHOOK_SECRET }], platformName: process.env.VIRTUOUS_PLATFORM_NAME ?? "PartnerPlatform" });
  const receipt = core.receive(new Uint8Array(await request.arrayBuffer()), request.headers);
  return Response.json({ reason: receipt.reason, dedupeKey: receipt.authentic ? receipt.dedupeKey : undefined }, { status: receipt.status });
}
