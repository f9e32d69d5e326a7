// Deliveries are signed as the core's `virtuous` preset expects: checked with an independent HMAC and with the
// installed core package's verifySignature (required when SIM_REQUIRE_CORE=1, as scripts/test sets).
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SECRET, simWithReceiver } from "./helpers.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CORE = join(ROOT, "build", "npm-scratch", "app", "esm.mjs");

async function core() {
  if (!existsSync(join(ROOT, "build", "npm-scratch", "app", "node_modules", "virtuous-sync", "package.json"))) {
    if (process.env.SIM_REQUIRE_CORE === "1") throw new Error(`the core package is not installed at ${CORE} (scripts/build-pkg, then node tests/js/prepare.mjs)`);
    return null;
  }
  return import(pathToFileURL(CORE).href);
}

const hmac = (body, secret, enc) => createHmac("sha256", secret).update(body).digest(enc);

test("deliveries carry X-Virtuous-Signature: Base64 HMAC-SHA256 of the exact body", async () => {
  const t = await simWithReceiver();
  try {
    await t.admin.createContact({ firstName: "Ada", lastName: "Lovelace", email: "ada@example.org" });
    await t.admin.flush();
    assert.equal(t.rx.received.length, 1);
    const [d] = t.rx.received;
    assert.equal(d.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(d.headers["x-virtuous-signature"], hmac(d.raw, SECRET, "base64"));
    assert.equal(d.json.event, "ContactCreate");
    assert.equal(d.json.contact.name, "Ada Lovelace");
  } finally {
    await t.close();
  }
});

test("the core package's verifySignature and SyncCore.receive accept the deliveries and reject a changed byte", async (ctx) => {
  const pkg = await core();
  if (!pkg) return ctx.skip("core package not installed (set SIM_REQUIRE_CORE=1 to require it)");
  const t = await simWithReceiver();
  try {
    const c = await t.admin.createContact({ firstName: "Ada", lastName: "Lovelace" });
    await t.admin.createGift({ contactId: c.id, amount: 25, transactionSource: "PartnerPlatform", transactionId: "d-1" });
    await t.admin.editGift((await t.admin.store()).gifts[0].id, { amount: 30 });
    await t.admin.flush();
    assert.equal(t.rx.received.length, 3);
    const receiver = new pkg.SyncCore({ secrets: [SECRET], platformName: "PartnerPlatform" });
    for (const d of t.rx.received) {
      const sig = d.headers["x-virtuous-signature"];
      assert.equal(pkg.verifySignature(d.raw, sig, [SECRET]).ok, true);
      assert.equal(pkg.verifySignature(d.raw, sig, ["another-secret-another-secret-another"]).ok, false);
      const receipt = receiver.receive(d.raw, d.headers);
      assert.equal(receipt.status, 200, JSON.stringify(receipt.error));
      assert.equal(receipt.reason, "accepted");
      assert.equal(receipt.event.rawEventType, d.json.event);
      assert.equal(receipt.event.resourceId, String(d.json.gift?.id ?? d.json.contact?.id));
      const tampered = Buffer.from(d.raw);
      tampered[tampered.length - 2] ^= 1;
      assert.equal(receiver.receive(tampered, d.headers).status, 401);
    }
    // Three different changes, three different dedupe keys (every change has its own modifiedDateTimeUtc).
    const keys = t.rx.received.map((d) => receiver.receive(d.raw, d.headers).dedupeKey);
    assert.equal(new Set(keys).size, 3);
    receiver.free();
  } finally {
    await t.close();
  }
});

test("signature header, encoding and prefix are configurable (hex with sha256=)", async (ctx) => {
  const t = await simWithReceiver({ config: { signature: { header: "X-Hook-Sig", encoding: "hex", prefix: "sha256=" } } });
  try {
    await t.admin.createContact({ name: "Org One", contactType: "Organization" });
    await t.admin.flush();
    const [d] = t.rx.received;
    assert.equal(d.headers["x-virtuous-signature"], undefined);
    assert.equal(d.headers["x-hook-sig"], `sha256=${hmac(d.raw, SECRET, "hex")}`);
    const pkg = await core();
    if (pkg) {
      const scheme = { headers: ["x-hook-sig"], encoding: "hex", prefix: "sha256=" };
      assert.equal(pkg.verifySignature(d.raw, d.headers["x-hook-sig"], [SECRET], { scheme }).ok, true);
    } else ctx.diagnostic("core package not installed: independent HMAC only");
  } finally {
    await t.close();
  }
});

test("a subscription without a secret gets unsigned deliveries; a PUT with a new secret signs the next attempt", async () => {
  let fail = true;
  const t = await simWithReceiver({ secret: null, answer: () => (fail ? 500 : 200) });
  try {
    await t.admin.createContact({ name: "Unsigned" });
    await t.admin.flush();
    assert.equal(t.rx.received[0].headers["x-virtuous-signature"], undefined);
    const [sub] = await t.admin.subscriptions();
    const body = { payloadUrl: sub.payloadUrl, secret: "rotated-secret-rotated-secret-rotated", contactCreate: true, active: true };
    const res = await t.api.raw("PUT", `/api/Webhook/${sub.id}`, body);
    assert.equal(res.status, 200);
    fail = false;
    await t.admin.flush({ advance: true }); // the retry of the earlier event, signed with the new secret
    const last = t.rx.received.at(-1);
    assert.equal(last.headers["x-virtuous-signature"], hmac(last.raw, "rotated-secret-rotated-secret-rotated", "base64"));
    assert.equal(last.body, t.rx.received[0].body, "a retry sends the same bytes");
  } finally {
    await t.close();
  }
});
