// The package's TypeScript declarations compile under --strict as a user imports them (by package name), and
// reject wrong uses (@ts-expect-error lines fail the compile if they stop being errors). Uses the repository's
// pinned TypeScript; skipped when it is not installed, unless SIM_REQUIRE_CORE=1 (scripts/test).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const SIM = join(HERE, "..");
const TSC = join(SIM, "..", "node_modules", "typescript", "bin", "tsc");

test("the TypeScript declarations compile under --strict and reject wrong uses", (ctx) => {
  if (!existsSync(TSC)) {
    if (process.env.SIM_REQUIRE_CORE === "1") assert.fail(`TypeScript is not installed at ${TSC} (scripts/setup)`);
    return ctx.skip("TypeScript not installed");
  }
  const dir = mkdtempSync(join(tmpdir(), "sim-types-"));
  try {
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(SIM, join(dir, "node_modules", "virtuous-sync-sim"), "dir");
    writeFileSync(join(dir, "package.json"), '{"type":"module","private":true}\n');
    copyFileSync(join(HERE, "types", "check.mts"), join(dir, "check.mts"));
    const args = [TSC, "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--lib", "es2022,dom", "check.mts"];
    try {
      execFileSync(process.execPath, args, { cwd: dir, encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      assert.fail(`tsc failed:\n${e.stdout}${e.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
