// Next.js App Router route handler (Node.js runtime): app/api/webhooks/virtuous/[customerId]/route.js.
// Route handlers get the web Request untouched: read the bytes with request.arrayBuffer() (never request.json()).
import { fetchHandler } from "../../../../../../../../host/src/index.mjs"; // in your app: from "virtuous-sync-host"
import { webhookCore } from "../../../../../../lib/config.mjs";
import { getHost } from "../../../../../lib/host.mjs";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

export async function POST(request, { params }) {
  const { customerId } = await params;
  if (customerId === "_core") {
    // The core alone (no host kit): verify, then claim receipt.dedupeKey and queue receipt.event yourself.
    const receipt = webhookCore().receive(new Uint8Array(await request.arrayBuffer()), request.headers);
    return Response.json({ reason: receipt.reason }, { status: receipt.status });
  }
  return fetchHandler(getHost())(request, customerId);
}
