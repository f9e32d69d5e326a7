// No input traps: every export of the main and the receive-only build, on randomly mutated vector inputs and hostile
// scalars, returns or throws a VirtuousSyncError (issue 9, item 8). A wasm trap (`RuntimeError: unreachable`) would
// fail here and could poison the module instance every SyncCore shares.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { test } from "node:test";
import { fuzzExports } from "./support/fuzz.mjs";
import { APP, requirePackage } from "./support/package.mjs";
import { loadVectorFiles } from "./support/vectors.mjs";

const vs = requirePackage();
const receive = createRequire(join(APP, "package.json"))("virtuous-sync/receive");
const files = loadVectorFiles();

test("size hints are bounded with a typed error, never a trap", () => {
  for (const expected of [{ partner: 1e9 }, { virtuous: 1e9 }, { partner: 2 ** 40 }, { partner: 1_048_577 }]) {
    assert.throws(
      () => new vs.InitialMatcher(expected),
      (e) => e instanceof vs.VirtuousSyncError && e.code === "size-hint-too-large" && e.module === "matcher",
      JSON.stringify(expected),
    );
  }
  const m = new vs.InitialMatcher({ partner: 1_048_576, virtuous: 10 });
  m.addPartnerChunk([{ id: "p1", emails: ["a@x.org"] }]);
  assert.equal(m.finish().partnerOnly.length, 1);
  m.free();
  assert.throws(() => new vs.InitialMatcher({ partner: 1.5 }), (e) => e instanceof vs.VirtuousSyncError && e.code === "invalid-argument");
});

for (const [name, api, seed] of [["main", vs, 0x9e3779b9], ["receive", receive, 0x85ebca6b]]) {
  test(`random input to every export of the ${name} build: zero traps`, () => {
    const { calls, traps } = fuzzExports(api, files, { seed, rounds: 2 });
    assert.deepEqual(traps, [], `${traps.length} of ${calls} calls trapped`);
    assert.ok(calls > (name === "main" ? 5000 : 1000), `${calls} calls`);
    // The instance still answers after all of the above.
    assert.match(api.generateSecret(), /^[A-Za-z0-9_-]{43}$/);
  });
}
