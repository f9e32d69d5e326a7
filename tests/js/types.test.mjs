// Type-checks tests/js/types/* against the installed package's index.d.ts (resolved through `exports`).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { APP, requirePackage } from "./support/package.mjs";
import { generateVectorTypes } from "./support/typegen.mjs";
import { ROOT, loadVectorFiles } from "./support/vectors.mjs";

test("tsc --noEmit accepts the consumer files (ESM and CJS) against pkg/index.d.ts", () => {
  const dir = join(APP, "types");
  mkdirSync(dir, { recursive: true });
  cpSync(join(ROOT, "tests", "js", "types"), dir, { recursive: true });
  tsc(join(dir, "tsconfig.json"));
});

test("every sync/ and reconcile/ vector's arguments and real output type-check against pkg/index.d.ts", () => {
  const dir = join(APP, "types-vectors");
  mkdirSync(dir, { recursive: true });
  const files = loadVectorFiles().filter((f) => /^(sync|reconcile)\//.test(f.file.split("\\").join("/")));
  const { source, count } = generateVectorTypes(requirePackage(), files);
  assert.ok(count > 150, `only ${count} cases generated`);
  writeFileSync(join(dir, "vectors.generated.mts"), source);
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: "node16",
        moduleResolution: "node16",
        target: "es2022",
        lib: ["es2022", "dom"],
        types: [],
      },
      files: ["vectors.generated.mts"],
    }),
  );
  tsc(join(dir, "tsconfig.json"));
});

function tsc(project) {
  const bin = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  try {
    execFileSync(process.execPath, [bin, "-p", project], { encoding: "utf8", stdio: "pipe", maxBuffer: 64 << 20 });
  } catch (e) {
    assert.fail(`tsc failed:\n${String(e.stdout).slice(0, 20000)}${e.stderr}`);
  }
}
