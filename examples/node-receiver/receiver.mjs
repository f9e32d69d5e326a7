// A minimal Virtuous webhook receiver on Node's http module, using the npm package virtuous-sync.
//
// The one rule: verify the RAW request bytes. Never JSON.parse and re-serialise the body before verifying
// (with Express, use express.raw({ type: "*/*" }) on this route, not express.json()).
import http from "node:http";

/**
 * @param {import("virtuous-sync").SyncCore} core a configured core (secrets, scheme)
 * @param {(receipt: import("virtuous-sync").Receipt, body: Buffer) => void} onReceipt what to do with each receipt
 */
export function createReceiver(core, onReceipt = () => {}) {
  return http.createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/webhooks/virtuous") {
      res.writeHead(404).end();
      return;
    }
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      // req.headers is Node's IncomingHttpHeaders: passed as it is.
      const receipt = core.receive(body, req.headers);
      // Authentic deliveries: claim receipt.dedupeKey in your store, then process receipt.event (or keep the raw
      // body when receipt.deadLetter). Virtuous retries every non-2xx, so answer exactly receipt.status.
      onReceipt(receipt, body);
      // A real endpoint would answer only the status; the demo echoes the receipt so the client can print it.
      res.writeHead(receipt.status, { "content-type": "application/json" });
      res.end(JSON.stringify(receipt));
    });
  });
}
