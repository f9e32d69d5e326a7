// The other two parties for the WASI host's demo (examples/wasi-host/demo.py): the local Virtuous and the partner
// app on 127.0.0.1, wired to a host at the URL given as the first argument:
//   the local Virtuous --signed webhooks--> {host}/webhooks/virtuous/{customer}
//   the partner app   --change hook-->      {host}/partner-changes  ({kind, partnerId})
// Prints one JSON line {simUrl, partnerUrl, secret, token, webhookId} and runs until stdin closes.
import { randomBytes } from "node:crypto";
import { startSim } from "../../sim/src/index.mjs";
import { startPartnerApp } from "../partner-app/app.mjs";

const [hostUrl, customerId = "wasi-demo"] = process.argv.slice(2);
if (!hostUrl) {
  console.error("usage: node world.mjs <host url> [customer id]");
  process.exit(2);
}
// The parent may choose the secret (it configures its host before this starts); otherwise a new one.
const secret = process.env.WORLD_SECRET || randomBytes(32).toString("base64url");
const sim = await startSim({
  seed: 1,
  clock: { mode: "real" },
  forwardTo: `${hostUrl}/webhooks/virtuous/${encodeURIComponent(customerId)}`,
  secret,
  config: { retry: { delaysMs: [100, 200, 400] } },
});
const partner = await startPartnerApp({
  hook: async ({ kind, partnerId }) => {
    const res = await fetch(`${hostUrl}/partner-changes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ kind, partnerId }) });
    if (!res.ok) throw new Error(`host answered ${res.status}`);
  },
});
const [sub] = await sim.admin.subscriptions();
// The secret goes to the parent over the pipe only (it is the host's configuration), never to a log.
process.stdout.write(`${JSON.stringify({ simUrl: sim.url, partnerUrl: partner.url, secret, token: sim.sim.config.auth.apiKeys[0], webhookId: sub.id })}\n`);
const stop = async () => {
  await partner.close();
  await sim.close();
  process.exit(0);
};
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
