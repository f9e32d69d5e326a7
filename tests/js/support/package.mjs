// Where the packed npm package is installed for the tests: build/npm-scratch/app, prepared by
// tests/js/prepare.mjs (npm pack of pkg/ + npm install of the tarball, so `exports` is exercised by name).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./vectors.mjs";

export const SCRATCH = join(ROOT, "build", "npm-scratch");
export const APP = join(SCRATCH, "app");

function ensure() {
  if (!existsSync(join(APP, "node_modules", "virtuous-sync", "package.json"))) {
    throw new Error(`the packed package is not installed in ${APP}: run scripts/build-pkg then node tests/js/prepare.mjs`);
  }
}

/** require("virtuous-sync") from the scratch app (the "node" -> "require" export). */
export function requirePackage() {
  ensure();
  return createRequire(join(APP, "package.json"))("virtuous-sync");
}

/** import("virtuous-sync") from the scratch app (the "node" -> "import" export). */
export async function importPackage() {
  ensure();
  return import(pathToFileURL(join(APP, "esm.mjs")).href);
}
