// Every shared vector (tests/vectors/*.json, sync/*.json, reconcile/*.json) against the component,
// through jco (Node host,
// @bytecodealliance/preview2-shim for wasi:random). One instance serves every case: a trap anywhere
// would fail that case and every later one ("cannot enter component instance").
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { COMPONENT_FAMILIES, checkOutcome, loadComponent, loadVectorFiles, runCase } from "./support.mjs";
import { familyOf } from "../js/support/vectors.mjs";

const api = await loadComponent();
const rx = api.receiver;
const files = loadVectorFiles();
const tally = { passed: 0, failed: 0, skipped: 0 };
/** Cases run per family (receive = the top-level files). */
const families = {};

test("there are vectors to run, in every family", () => {
  assert.ok(files.reduce((n, f) => n + f.cases.length, 0) > 0, "no vector cases found in tests/vectors/");
  for (const family of COMPONENT_FAMILIES.filter(Boolean)) {
    assert.ok(files.some((f) => f.file.startsWith(`${family}/`)), `no vectors in tests/vectors/${family}/`);
  }
});

for (const { file, description, cases } of files) {
  describe(`component/jco ${file}${description ? ` — ${description}` : ""}`, () => {
    for (const c of cases) {
      test(c.name, (t) => {
        const outcome = runCase(api, c);
        if (outcome.skipped) {
          tally.skipped++;
          t.skip(outcome.skipped);
          return;
        }
        const problems = checkOutcome(c, outcome);
        if (problems.length) tally.failed++;
        else tally.passed++;
        const fam = (families[familyOf(file)] ??= { passed: 0, run: 0 });
        fam.run++;
        if (!problems.length) fam.passed++;
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
    `[component/jco] vectors: ${tally.passed} passed, ${tally.failed} failed, ${tally.skipped} skipped (not representable in WIT); ` +
      Object.entries(families).map(([f, n]) => `${f} ${n.passed}/${n.run}`).join(", "),
  );
});
