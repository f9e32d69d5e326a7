// Test helpers: a webhook receiver on 127.0.0.1 that records every delivery and answers what the test says.
import http from "node:http";
import { startSim } from "../src/index.mjs";

export const SECRET = "sim-test-secret-0123456789abcdef-0123456789";

/** A receiver: `answer(req, body)` returns the status (default 200); `received` lists `{headers, body, json, status}`. */
export async function receiver(answer = () => 200) {
  const received = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const entry = { headers: req.headers, raw, body: raw.toString("utf8"), json: JSON.parse(raw.toString("utf8")) };
      entry.status = answer(entry, received.length);
      received.push(entry);
      res.writeHead(entry.status, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/webhooks/virtuous`,
    received,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}

/** A simulator on a manual clock, forwarding every event to a fresh receiver. */
export async function simWithReceiver({ answer, seed = 42, config = {}, secret = SECRET } = {}) {
  const rx = await receiver(answer);
  const sim = await startSim({ seed, clock: { mode: "manual", startMs: Date.UTC(2026, 2, 1, 9) }, forwardTo: rx.url, secret, config });
  return {
    rx,
    sim,
    admin: sim.admin,
    api: sim.api,
    async close() {
      await sim.close();
      await rx.close();
    },
  };
}

export async function json(res) {
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}

/** A gift Transaction body as a partner platform would send it (docs section 6). */
export function giftTransaction(id, overrides = {}) {
  return {
    transactionSource: "PartnerPlatform",
    transactionId: `donation-${id}`,
    contact: { referenceId: `donor-${id}`, type: "Household", firstname: "Bruce", lastname: "Wayne", emailType: "Home Email", email: `bruce${id}@wayne.example`, address: { postal: "07001", country: "US" } },
    giftDate: "2024-12-15",
    giftType: "Cash",
    amount: "500.00",
    currencyCode: "USD",
    batch: "Year-End-2024",
    giftDesignations: [{ projectCode: "CLEAN-WATER", amountDesignated: "500.00" }],
    ...overrides,
  };
}
