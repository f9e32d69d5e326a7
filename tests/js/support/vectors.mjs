// Loads the shared vectors (tests/vectors/*.json). Node only.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const VECTORS_DIR = join(ROOT, "tests", "vectors");

// Vector folders this runner knows: "" = the top-level files (ops receive/verifySignature/signBody/newCore),
// sync/ (issue 3 decisions) and reconcile/ (issue 4 planners, matcher, rate budget).
// A new op family lands as tests/vectors/<family>/*.json: add its ops to OPS in ops.mjs and its folder here.
export const FAMILY_DIRS = ["", "sync", "reconcile"];

/** Every vector file of the known families: [{ file, description, cases }]. */
export function loadVectorFiles() {
  const files = [];
  for (const family of FAMILY_DIRS) {
    const dir = join(VECTORS_DIR, family);
    const names = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith(".json"))
      .map((d) => d.name)
      .sort();
    for (const name of names) {
      const path = join(dir, name);
      const doc = JSON.parse(readFileSync(path, "utf8"));
      // Third-party data in its own format (e.g. Wycheproof) has no `cases`; the Rust suite runs it.
      if (!Array.isArray(doc.cases)) continue;
      files.push({ file: relative(VECTORS_DIR, path), description: doc.description, cases: doc.cases });
    }
  }
  return files;
}
