// The receive-only entry (`virtuous-sync/receive`, "workerd" condition) inside workerd: what a Cloudflare Worker
// webhook endpoint loads. Every top-level shared vector runs in the worker (JSON transport; edge.test.mjs covers
// real HTTP headers for the full entry, which shares the same receive code).
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { Miniflare } from "miniflare";
import { checkOutcome } from "../js/support/match.mjs";
import { APP } from "../js/support/package.mjs";
import { ROOT, loadVectorFiles } from "../js/support/vectors.mjs";

const installed = join(APP, "node_modules", "virtuous-sync");
const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
const entry = manifest.exports["./receive"].workerd;
const workerDir = join(APP, "edge-receive-worker");
mkdirSync(workerDir, { recursive: true });
const rel = relative(workerDir, join(installed, entry)).split("\\").join("/");
writeFileSync(
  join(workerDir, "worker.mjs"),
  readFileSync(join(ROOT, "tests", "edge", "worker.template.mjs"), "utf8").replaceAll("__PACKAGE_ENTRY__", rel.startsWith(".") ? rel : `./${rel}`),
);
copyFileSync(join(ROOT, "tests", "js", "support", "ops.mjs"), join(workerDir, "ops.mjs"));

let mf;
let base;
before(async () => {
  mf = new Miniflare({
    modules: true,
    modulesRoot: APP,
    scriptPath: join(workerDir, "worker.mjs"),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
    host: "127.0.0.1",
    port: 0,
    cf: false,
  });
  base = await mf.ready;
});
after(async () => {
  await mf?.dispose();
});

test("generateSecret works in the receive-only build inside workerd", async () => {
  const { secrets } = await (await mf.dispatchFetch(new URL("/generate-secret", base))).json();
  assert.equal(secrets.length, 2);
  assert.notEqual(secrets[0], secrets[1]);
});

for (const { file, cases } of loadVectorFiles().filter(({ file }) => !file.includes("/"))) {
  describe(`receive entry in workerd: ${file}`, () => {
    for (const c of cases) {
      test(c.name, async () => {
        const res = await mf.dispatchFetch(new URL("/case", base), {
          method: "POST",
          body: JSON.stringify(c),
          headers: { "content-type": "application/json" },
        });
        const text = await res.text();
        assert.equal(res.status, 200, `worker failed: ${text.slice(0, 2000)}`);
        assert.deepEqual(checkOutcome(c, JSON.parse(text)), [], `${file} / ${c.name}`);
      });
    }
  });
}
