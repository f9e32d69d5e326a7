// Runs every shared vector under Deno and Bun (their linux-x64 binaries from npm, pinned in ./package.json)
// against the package installed from its `npm pack` tarball (build/npm-scratch/app, made by
// tests/js/prepare.mjs), through the entries a user's import reaches: the bare `virtuous-sync` (each runtime
// picks its own export condition; both pick `node`), `virtuous-sync/web` (fetch + instantiate, what browsers
// and bundlers load) and `virtuous-sync/receive` (top-level families only: the receive-only build has no sync
// or reconcile).
// Usage (scripts/test, stage runtimes): <deno run -A | bun> tests/runtimes/vectors.mjs <app dir>. Prints
// "<runtime>: N passed, M failed" and exits non-zero on any failure. Plain ES modules plus node:fs,
// node:path and node:url, which both runtimes provide.
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { fuzzExports } from "../js/support/fuzz.mjs";
import { checkOutcome } from "../js/support/match.mjs";
import { runCase } from "../js/support/ops.mjs";
import { countByFamily, familyOf, loadVectorFiles } from "../js/support/vectors.mjs";

const runtime = globalThis.Deno ? `deno ${globalThis.Deno.version.deno}` : globalThis.Bun ? `bun ${globalThis.Bun.version}` : null;
if (!runtime) throw new Error("run this under Deno or Bun (Node has its own runner: tests/js/vectors.test.mjs)");
const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const app = resolve(args[0] ?? "build/npm-scratch/app");

// Each entry is imported from a module inside the scratch app, so resolution walks its node_modules exactly as
// a user's project does.
async function load(specifier) {
  const file = join(app, `runtime-${specifier.replace(/[^a-z]+/g, "-")}.mjs`);
  const spec = JSON.stringify(specifier);
  writeFileSync(file, `export * from ${spec};\nexport const resolvedEntry = import.meta.resolve(${spec});\n`);
  return import(pathToFileURL(file).href);
}

const files = loadVectorFiles();
let passed = 0;
let failed = 0;
for (const [specifier, topLevelOnly] of [
  ["virtuous-sync", false],
  ["virtuous-sync/web", false],
  ["virtuous-sync/receive", true],
]) {
  const api = await load(specifier);
  if (typeof api.VirtuousSyncError !== "function") {
    failed++;
    console.log(`not ok - ${specifier} exports no VirtuousSyncError class`);
  }
  console.log(`# ${specifier} -> ${api.resolvedEntry.slice(api.resolvedEntry.lastIndexOf("/virtuous-sync/") + 1)}`);
  let n = 0;
  const ran = {};
  const entryFiles = topLevelOnly ? files.filter((f) => !f.file.includes("/")) : files;
  for (const { file, cases } of entryFiles) {
    for (const c of cases) {
      n++;
      ran[familyOf(file)] = (ran[familyOf(file)] ?? 0) + 1;
      let problems;
      try {
        problems = checkOutcome(c, runCase(api, c));
      } catch (e) {
        problems = [`threw: ${e?.stack ?? e}`];
      }
      if (problems.length === 0) {
        passed++;
      } else {
        failed++;
        console.log(`not ok - ${specifier} ${file} / ${c.name}\n  ${problems.join("\n  ")}`);
      }
    }
  }
  // Every case of every family the entry serves ran (a dropped family fails here).
  const want = countByFamily(entryFiles);
  const counts = (o) => Object.entries(o).sort().map(([f, k]) => `${f} ${k}`).join(", ");
  if (n === 0 || counts(ran) !== counts(want)) {
    failed++;
    console.log(`not ok - ${specifier}: ran ${counts(ran) || "no cases"}, expected ${counts(want)}`);
  } else {
    console.log(`# ${specifier}: vectors ${counts(ran)}`);
  }
  // Random input to every export of the entry: a value or a VirtuousSyncError, never a trap.
  const fuzz = fuzzExports(api, entryFiles, { seed: 0x165667b1, rounds: 1 });
  if (fuzz.traps.length > 0) {
    failed++;
    console.log(`not ok - ${specifier}: ${fuzz.traps.length} of ${fuzz.calls} fuzzed calls trapped\n  ${fuzz.traps.slice(0, 5).join("\n  ")}`);
  } else {
    passed++;
  }
  // The random source differs per runtime (crypto.getRandomValues): two secrets must differ.
  if (api.generateSecret() === api.generateSecret()) {
    failed++;
    console.log(`not ok - ${specifier}: generateSecret repeated itself`);
  } else {
    passed++;
  }
}
console.log(`${runtime}: ${passed} passed, ${failed} failed`);
if (failed > 0 || passed === 0) {
  if (globalThis.Deno) globalThis.Deno.exit(1);
  process.exit(1);
}
