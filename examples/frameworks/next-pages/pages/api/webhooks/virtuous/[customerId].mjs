// Next.js Pages Router API route: pages/api/webhooks/virtuous/[customerId].js. Next parses JSON bodies unless the
// route turns its body parser off; the host kit reads the raw stream then.
import { nextPagesHandler } from "../../../../../../../host/src/index.mjs"; // in your app: from "virtuous-sync-host"

export const config = { api: { bodyParser: false } };

export default function handler(req, res) {
  return nextPagesHandler(globalThis.__virtuousSyncHost)(req, res);
}
