// Loads the shared vectors (tests/vectors/**.json) and checks them against the one schema
// (tests/vectors/README.md): a file is {description, generator?, cases}, a case {name, why, op, input,
// expect | expectError}. Node only.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const VECTORS_DIR = join(ROOT, "tests", "vectors");

// Vector folders this runner knows: "" = the top-level files (ops receive/verifySignature/signBody/newCore),
// sync/ (issue 3 decisions) and reconcile/ (issue 4 planners, matcher, rate budget).
// A new op family lands as tests/vectors/<family>/*.json: add its ops to OPS in ops.mjs and its folder here
// (and to FAMILIES in tests/vectors.rs).
export const FAMILY_DIRS = ["", "sync", "reconcile", "adversarial", "volunteer"];
/** Folders of third-party data in its own format, run by their own tests (tests/wycheproof.rs). */
export const FOREIGN_DIRS = ["wycheproof"];

const FILE_KEYS = ["description", "generator", "cases"];
const CASE_KEYS = ["name", "why", "op", "input", "expect", "expectError"];

/** The family of a file relative to tests/vectors: "receive" for the top level, else its folder. */
export function familyOf(file) {
  return file.includes("/") ? file.split("/")[0] : "receive";
}

/** Cases per family: { receive: n, sync: n, reconcile: n }. */
export function countByFamily(files) {
  const counts = {};
  for (const { file, cases } of files) counts[familyOf(file)] = (counts[familyOf(file)] ?? 0) + cases.length;
  return counts;
}

function checkSchema(file, doc) {
  const bad = (what) => {
    throw new Error(`tests/vectors/${file}: ${what} (the schema: tests/vectors/README.md)`);
  };
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) bad("not an object");
  for (const k of Object.keys(doc)) if (!FILE_KEYS.includes(k)) bad(`unknown key ${k}`);
  if (typeof doc.description !== "string") bad("no description");
  if (!Array.isArray(doc.cases) || doc.cases.length === 0) bad("no cases");
  for (const c of doc.cases) {
    for (const k of Object.keys(c)) if (!CASE_KEYS.includes(k)) bad(`case ${c.name}: unknown key ${k}`);
    for (const k of ["name", "why", "op"]) if (typeof c[k] !== "string") bad(`case ${c.name}: ${k}`);
    if (c.input === null || typeof c.input !== "object" || Array.isArray(c.input)) bad(`case ${c.name}: input`);
    if (("expect" in c) === ("expectError" in c)) bad(`case ${c.name}: exactly one of expect / expectError`);
  }
}

/** Every vector file of the known families: [{ file, description, cases }]. Throws on a file off the schema. */
export function loadVectorFiles() {
  const files = [];
  for (const entry of readdirSync(VECTORS_DIR, { withFileTypes: true })) {
    if (entry.isDirectory() && !FAMILY_DIRS.includes(entry.name) && !FOREIGN_DIRS.includes(entry.name)) {
      throw new Error(`tests/vectors/${entry.name}/ is no known family: add it to FAMILY_DIRS (${import.meta.url})`);
    }
  }
  for (const family of FAMILY_DIRS) {
    const dir = join(VECTORS_DIR, family);
    const names = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith(".json"))
      .map((d) => d.name)
      .sort();
    if (names.length === 0) throw new Error(`no vector files in tests/vectors/${family}`);
    for (const name of names) {
      const path = join(dir, name);
      const file = relative(VECTORS_DIR, path);
      const doc = JSON.parse(readFileSync(path, "utf8"));
      checkSchema(file, doc);
      files.push({ file, description: doc.description, cases: doc.cases });
    }
  }
  return files;
}
