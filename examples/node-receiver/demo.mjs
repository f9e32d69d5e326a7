// Demo: a receiver on 127.0.0.1 (ephemeral port) and a client posting three deliveries to it:
// one signed with signBody, one tampered with after signing, one unsigned. Prints the three receipts.
// Loopback only; exits 0 when the receiver answered 2xx, 401, 401.
import { SyncCore, generateSecret, signBody } from "virtuous-sync";
import { createReceiver } from "./receiver.mjs";

const secret = generateSecret(); // 32 random bytes, base64url: what you paste into Virtuous's webhook settings
const core = new SyncCore({ secrets: [{ id: "2026-11", secret }], platformName: "demo-platform", scheme: "virtuous" });

const server = createReceiver(core);
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();
const url = `http://127.0.0.1:${port}/webhooks/virtuous`;
console.log(`receiver listening on ${url}\n`);

// A delivery in the shape Virtuous sends live: {"event": "GiftCreate", "gift": {...}}.
const delivery = JSON.stringify({
  event: "GiftCreate",
  gift: { id: 78421, contactId: 1201, amount: 250.0, giftDate: "2026-11-20", modifiedDateTimeUtc: "2026-11-20T15:04:05Z" },
});
const signed = signBody(delivery, secret); // { signature, headers: { "x-virtuous-signature": "..." } }

const attempts = [
  { label: "good: signed with the shared secret", body: delivery, headers: signed.headers },
  { label: "tampered: amount changed after signing", body: delivery.replace("250", "950"), headers: signed.headers },
  { label: "unsigned: no signature header", body: delivery, headers: {} },
];

const statuses = [];
for (const { label, body, headers } of attempts) {
  const res = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
  const receipt = await res.json();
  statuses.push(res.status);
  console.log(`── ${label}`);
  console.log(`   HTTP ${res.status}  reason=${receipt.reason}  authentic=${receipt.authentic}  deadLetter=${receipt.deadLetter}`);
  if (receipt.event) console.log(`   event: ${receipt.event.eventType ?? receipt.event.rawEventType} resourceId=${receipt.event.resourceId}`);
  if (receipt.dedupeKey) console.log(`   dedupeKey: ${receipt.dedupeKey}`);
  if (receipt.secretIndex !== undefined) console.log(`   matched secret #${receipt.secretIndex}${receipt.secretId ? ` (id ${receipt.secretId})` : ""}`);
  console.log(`   replay window: ${receipt.replay}`);
  if (receipt.error) console.log(`   error: ${receipt.error.code}: ${receipt.error.message}`);
  for (const n of receipt.warnings) console.log(`   warning: ${n.code}: ${n.message}`);
  for (const n of receipt.diagnostics) console.log(`   diagnostic: ${n.code}: ${n.message}`);
  console.log();
}

server.close();
const ok = statuses[0] >= 200 && statuses[0] < 300 && statuses[1] === 401 && statuses[2] === 401;
console.log(ok ? "demo ok: good → 2xx, tampered → 401, unsigned → 401" : `demo FAILED: statuses ${statuses.join(", ")}`);
process.exit(ok ? 0 : 1);
