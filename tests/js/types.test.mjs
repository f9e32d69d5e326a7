// Type-checks tests/js/types/* against the installed package's index.d.ts (resolved through `exports`).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { APP } from "./support/package.mjs";
import { ROOT } from "./support/vectors.mjs";

test("tsc --noEmit accepts the consumer files (ESM and CJS) against pkg/index.d.ts", () => {
  const dir = join(APP, "types");
  mkdirSync(dir, { recursive: true });
  cpSync(join(ROOT, "tests", "js", "types"), dir, { recursive: true });
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  try {
    execFileSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.json")], { encoding: "utf8", stdio: "pipe" });
  } catch (e) {
    assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
  }
});
