// Shared by the recipes: one receive-only core per process, configured from the environment. In your app:
//   VIRTUOUS_WEBHOOK_SECRET  the subscription's secret (generateSecret() made it)
//   VIRTUOUS_PLATFORM_NAME   your platform's name as stamped on your writes
import { SyncCore } from "virtuous-sync/receive";

let core;
export function webhookCore() {
  return (core ??= new SyncCore({
    secrets: [{ id: "current", secret: process.env.VIRTUOUS_WEBHOOK_SECRET }],
    platformName: process.env.VIRTUOUS_PLATFORM_NAME ?? "PartnerPlatform",
  }));
}

/**
 * What every recipe does with a receipt: an authentic delivery is handed to `handle` (claim receipt.dedupeKey once,
 * then queue receipt.event, or keep the raw body when receipt.deadLetter), and the answer is exactly
 * receipt.status: Virtuous retries every non-2xx.
 */
export async function answer(receipt, body, handle) {
  if (receipt.authentic) await handle(receipt, body);
  return { status: receipt.status, body: { reason: receipt.reason } };
}
