// Every shared vector (tests/vectors/*.json) against the component, through jco (Node host,
// @bytecodealliance/preview2-shim for wasi:random). One instance serves every case: a trap anywhere
// would fail that case and every later one ("cannot enter component instance").
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { checkOutcome, loadReceiver, loadVectorFiles, runCase } from "./support.mjs";

const rx = await loadReceiver();
const files = loadVectorFiles();
const tally = { passed: 0, failed: 0, skipped: 0 };

test("there are vectors to run", () => {
  assert.ok(files.reduce((n, f) => n + f.cases.length, 0) > 0, "no vector cases found in tests/vectors/");
});

for (const { file, description, cases } of files) {
  describe(`component/jco ${file}${description ? ` — ${description}` : ""}`, () => {
    for (const c of cases) {
      test(c.name, (t) => {
        const outcome = runCase(rx, c);
        if (outcome.skipped) {
          tally.skipped++;
          t.skip(outcome.skipped);
          return;
        }
        const problems = checkOutcome(c, outcome);
        if (problems.length) tally.failed++;
        else tally.passed++;
        assert.deepEqual(problems, [], `${file} / ${c.name}${c.why ? ` (${c.why})` : ""}`);
      });
    }
  });
}

test("the instance survived every vector (no trap)", () => {
  const s = rx.generateSecret(undefined);
  assert.match(s, /^[A-Za-z0-9_-]{43}$/);
});

after(() => {
  console.log(
    `[component/jco] vectors: ${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped (not representable in WIT)`,
  );
});
