// Every shared vector (tests/vectors/*.json) against the npm package installed by name from its tarball.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkOutcome } from "./support/match.mjs";
import { runCase } from "./support/ops.mjs";
import { requirePackage } from "./support/package.mjs";
import { loadVectorFiles } from "./support/vectors.mjs";

const api = requirePackage();
const files = loadVectorFiles();

test("there are vectors to run", () => {
  assert.ok(files.reduce((n, f) => n + f.cases.length, 0) > 0, "no vector cases found in tests/vectors/");
});

for (const { file, description, cases } of files) {
  describe(`${file}${description ? ` — ${description}` : ""}`, () => {
    for (const c of cases) {
      test(c.name, () => {
        const problems = checkOutcome(c, runCase(api, c));
        assert.deepEqual(problems, [], `${file} / ${c.name}${c.why ? ` (${c.why})` : ""}`);
      });
    }
  });
}
