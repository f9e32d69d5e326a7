// Component-specific checks through jco: randomness from wasi:random, the error record, the fallible
// constructor, a sign -> receive round trip, and that hostile input never traps the instance.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadReceiver, receiptToJs } from "./support.mjs";

const rx = await loadReceiver();
const SECRET = "virtuous-test-secret-0123456789abcdef";
const WHSEC = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const enc = (s) => new TextEncoder().encode(s);

/** The ComponentError payload of a call that must fail with a WIT `error`. */
function errorOf(fn) {
  try {
    fn();
  } catch (e) {
    assert.equal(e?.constructor?.name, "ComponentError", `expected a ComponentError, got ${e}`);
    assert.deepEqual(Object.keys(e.payload).sort(), ["code", "field", "message"]);
    return e.payload;
  }
  assert.fail("expected the call to fail");
}

test("generate-secret: 32 random bytes from wasi:random, base64url by default, different every call", () => {
  const seen = new Set();
  for (let i = 0; i < 20; i++) {
    const s = rx.generateSecret(undefined);
    assert.match(s, /^[A-Za-z0-9_-]{43}$/);
    seen.add(s);
  }
  assert.equal(seen.size, 20);
});

test("generate-secret: formats and sizes", () => {
  assert.match(rx.generateSecret({ format: "hex" }), /^[0-9a-f]{64}$/);
  assert.match(rx.generateSecret({ bytes: 64, format: "hex" }), /^[0-9a-f]{128}$/);
  assert.match(rx.generateSecret({ format: "whsec" }), /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.match(rx.generateSecret({ bytes: 48 }), /^[A-Za-z0-9_-]{64}$/);
});

test("generate-secret: bad options are an error record, not a trap", () => {
  assert.deepEqual(
    (({ code, field }) => ({ code, field }))(errorOf(() => rx.generateSecret({ bytes: 16 }))),
    { code: "invalid-option", field: "options.bytes" },
  );
  assert.equal(errorOf(() => rx.generateSecret({ format: "base32" })).field, "options.format");
  assert.equal(errorOf(() => rx.generateSecret({ bytes: 4294967295 })).code, "invalid-option");
});

test("core constructor: bad config throws the error record (fallible constructor)", () => {
  const e = errorOf(() => new rx.Core({ secrets: [{ secret: SECRET }, { secret: "short" }], platformName: "P" }));
  assert.equal(e.code, "weak-secret");
  assert.equal(e.field, "secrets[1]");
  assert.ok(e.message.length > 0);
  assert.equal(errorOf(() => new rx.Core({ secrets: [], platformName: "P" })).code, "no-secrets");
  assert.equal(
    errorOf(() => new rx.Core({ secrets: [{ secret: SECRET }], platformName: "P", scheme: { tag: "preset", val: "stripe" } })).code,
    "unknown-preset",
  );
});

test("sign-body -> core.receive round trip, resource JSON parsed back", () => {
  const body = enc('{"event":"GiftCreate","gift":{"id":78421,"amount":"500.00","modifiedDateTimeUtc":"2024-12-16T06:02:11Z"}}');
  for (const preset of ["virtuous", "github", "vomo"]) {
    const scheme = { tag: "preset", val: preset };
    const signed = rx.signBody(body, { secret: SECRET }, { scheme });
    const core = new rx.Core({ secrets: [{ id: "k1", secret: SECRET }], platformName: "P", scheme });
    const r = receiptToJs(core.receive(body, signed.headers, 1700000000000n));
    core[Symbol.dispose]();
    assert.equal(r.status, 200, preset);
    assert.equal(r.reason, "accepted");
    assert.equal(r.authentic, true);
    assert.equal(r.secretIndex, 0);
    assert.equal(r.secretId, "k1");
    assert.equal(r.event.eventType, "gift-create");
    assert.deepEqual(r.event.resource, { id: 78421, amount: "500.00", modifiedDateTimeUtc: "2024-12-16T06:02:11Z" });
  }
});

test("hostile input never traps the instance", () => {
  let seed = 0x9e3779b9;
  const rand = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const bytes = (n) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
  const text = (n) => String.fromCharCode(...Array.from({ length: n }, () => 32 + Math.floor(rand() * 0x2000)));
  const sw = { tag: "preset", val: "standard-webhooks" };
  const core = new rx.Core({ secrets: [{ secret: WHSEC }], platformName: "P", scheme: sw });
  const nasty = ["", "{", "[".repeat(5000), '{"event":"GiftCreate","gift":' + "[".repeat(200) + "]".repeat(200) + "}", "\u0000\uffff"];
  for (let i = 0; i < 300; i++) {
    const body = i < nasty.length ? enc(nasty[i]) : bytes(Math.floor(rand() * 512));
    const headers = [["webhook-signature", text(Math.floor(rand() * 200))], ["webhook-timestamp", text(8)], ["webhook-id", text(4)]];
    const now = BigInt(Math.floor(rand() * 2 ** 52)) * (i % 2 ? 1n : -1n);
    const r = core.receive(body, headers, now);
    assert.equal(typeof r.status, "number");
    const v = rx.verifySignature(body, text(100), [{ secret: SECRET }], { nowMs: now, timestamp: text(10) });
    assert.equal(v.ok, false);
  }
  core[Symbol.dispose]();
  // Extremes of every integer the WIT takes.
  assert.equal(errorOf(() => new rx.Core({ secrets: [{ secret: SECRET }], platformName: "P", maxBodyBytes: 4294967295 })).field, "maxBodyBytes");
  assert.equal(errorOf(() => new rx.Core({ secrets: [{ secret: SECRET }], platformName: "P", maxDepth: 4294967295 })).field, "maxDepth");
  const edge = new rx.Core({ secrets: [{ secret: SECRET, notAfter: -(2n ** 63n) }, { secret: SECRET, notAfter: 2n ** 63n - 1n }], platformName: "P" });
  edge.receive(enc("{}"), [], 2n ** 63n - 1n);
  edge.receive(enc("{}"), [], -(2n ** 63n));
  edge[Symbol.dispose]();
  const signed = rx.signBody(enc("x"), { secret: WHSEC }, { timestamp: 2n ** 63n - 1n, scheme: sw, id: "m" });
  assert.match(signed.signature, /^v1,/);
  assert.equal(errorOf(() => rx.signBody(enc("x"), { secret: WHSEC }, { timestamp: -1n, scheme: sw, id: "m" })).code, "invalid-option");
});

test("the instance is still alive after all of the above", () => {
  assert.match(rx.generateSecret(undefined), /^[A-Za-z0-9_-]{43}$/);
});
