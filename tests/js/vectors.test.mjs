// Every shared vector (tests/vectors/**.json, the one schema of tests/vectors/README.md) against the npm package
// installed by name from its tarball: one test per case, and a count per family.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { checkOutcome } from "./support/match.mjs";
import { runCase } from "./support/ops.mjs";
import { requirePackage } from "./support/package.mjs";
import { FAMILY_DIRS, countByFamily, familyOf, loadVectorFiles } from "./support/vectors.mjs";

const api = requirePackage();
const files = loadVectorFiles();
const expected = countByFamily(files);
const ran = {};

test("every family has vectors to run", () => {
  for (const dir of FAMILY_DIRS) {
    const family = dir === "" ? "receive" : dir;
    assert.ok(expected[family] > 0, `no vector cases in family ${family}`);
  }
});

for (const { file, description, cases } of files) {
  describe(`${file}${description ? ` — ${description}` : ""}`, () => {
    for (const c of cases) {
      test(c.name, () => {
        ran[familyOf(file)] = (ran[familyOf(file)] ?? 0) + 1;
        const problems = checkOutcome(c, runCase(api, c));
        assert.deepEqual(problems, [], `${file} / ${c.name}${c.why ? ` (${c.why})` : ""}`);
      });
    }
  });
}

test("every case of every family ran", () => {
  assert.deepEqual(ran, expected);
});

after(() => {
  console.log(`vectors run: ${Object.entries(ran).map(([f, n]) => `${f} ${n}`).join(", ")}`);
});
