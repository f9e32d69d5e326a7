// Starts a test worker in workerd (miniflare 4, in-process, loopback only) that imports one of the installed
// package's "workerd" entries, exactly as a Cloudflare Worker would, and runs vector cases inside workerd
// (tests/edge/worker.template.mjs). Shared by edge.test.mjs (full entry) and receive.test.mjs (receive entry).
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Miniflare } from "miniflare";
import { APP } from "../js/support/package.mjs";
import { ROOT } from "../js/support/vectors.mjs";

/**
 * `exportPath` is a key of the package's `exports` ("." or "./receive"); `compatibilityFlags` e.g. `["nodejs_compat"]`
 * (the glue then lends workerd's node:crypto SHA-256 to the core); returns `{ mf, base }`.
 */
export async function startWorker(exportPath, dirName, compatibilityFlags = []) {
  const installed = join(APP, "node_modules", "virtuous-sync");
  const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
  const entry = manifest.exports[exportPath].workerd;
  const workerDir = join(APP, dirName);
  mkdirSync(workerDir, { recursive: true });
  const rel = relative(workerDir, join(installed, entry)).split("\\").join("/");
  writeFileSync(
    join(workerDir, "worker.mjs"),
    readFileSync(join(ROOT, "tests", "edge", "worker.template.mjs"), "utf8").replaceAll("__PACKAGE_ENTRY__", rel.startsWith(".") ? rel : `./${rel}`),
  );
  copyFileSync(join(ROOT, "tests", "js", "support", "ops.mjs"), join(workerDir, "ops.mjs"));
  copyFileSync(join(ROOT, "tests", "js", "support", "fuzz.mjs"), join(workerDir, "fuzz.mjs"));
  const mf = new Miniflare({
    modules: true,
    modulesRoot: APP,
    scriptPath: join(workerDir, "worker.mjs"),
    modulesRules: [
      // Without the ESModule rule the glue is parsed as CommonJS; modulesRoot lets imports leave the worker dir.
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
    compatibilityFlags,
    host: "127.0.0.1",
    port: 0,
    cf: false,
  });
  return { mf, base: await mf.ready };
}

/** Runs one vector case in the worker, sent as JSON (`/case`); the outcome the worker computed. */
export async function runJsonCase({ mf, base }, c) {
  const res = await mf.dispatchFetch(new URL("/case", base), {
    method: "POST",
    body: JSON.stringify(c),
    headers: { "content-type": "application/json" },
  });
  const text = await res.text();
  assert.equal(res.status, 200, `worker failed: ${text.slice(0, 2000)}`);
  return JSON.parse(text);
}
