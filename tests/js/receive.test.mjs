// The receive-only entry `virtuous-sync/receive` (the webhook endpoint's build): every top-level shared vector
// (receive, events, config, verify, sign) through it, from both module systems, and its surface.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { checkOutcome } from "./support/match.mjs";
import { runCase } from "./support/ops.mjs";
import { APP, requirePackage } from "./support/package.mjs";
import { loadVectorFiles } from "./support/vectors.mjs";

requirePackage(); // fails with a clear message when the packed package is not installed
const viaRequire = createRequire(join(APP, "package.json"))("virtuous-sync/receive");
const { writeFileSync } = await import("node:fs");
writeFileSync(join(APP, "receive-esm.mjs"), 'export * from "virtuous-sync/receive";\n');
const viaImport = await import(pathToFileURL(join(APP, "receive-esm.mjs")).href);
// Top-level files only: the receive surface (sync/ and reconcile/ need the full package).
const files = loadVectorFiles().filter(({ file }) => !file.includes("/"));

for (const [system, api] of [["require", viaRequire], ["import", viaImport]]) {
  describe(`virtuous-sync/receive via ${system}`, () => {
    test("exports exactly the receive surface", () => {
      assert.deepEqual(Object.keys(api).filter((k) => k !== "default" && k !== "__esModule").sort(), [
        "SyncCore",
        "VirtuousSyncError",
        "generateSecret",
        "signBody",
        "verifySignature",
      ]);
      const core = new api.SyncCore({ secrets: ["receive-only-secret-0123456789abcdefgh"], platformName: "P" });
      assert.equal(typeof core.receive, "function");
      assert.equal(core.decideInbound, undefined);
    });
    test("a sync section is refused, naming the field", () => {
      assert.throws(
        () => new api.SyncCore({ secrets: ["receive-only-secret-0123456789abcdefgh"], platformName: "P", sync: { customerId: "c" } }),
        (e) => e instanceof api.VirtuousSyncError && e.code === "invalid-config" && e.field === "sync",
      );
    });
    for (const { file, cases } of files) {
      test(`${file}: every case`, () => {
        const failures = [];
        for (const c of cases) {
          const problems = checkOutcome(c, runCase(api, c));
          if (problems.length) failures.push(`${c.name}: ${problems.join("; ")}`);
        }
        assert.deepEqual(failures, []);
      });
    }
  });
}
