// The packed package as a user installs it: a copy in an app's node_modules (not this repository's symlink), taken
// from the scratch install tests/js/prepare.mjs makes. Shared by the tests that build or bundle an app around it.
import { cpSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const INSTALLED = join(ROOT, "build", "npm-scratch", "app", "node_modules", "virtuous-sync");

/** Copies the packed package into `appDir/node_modules/virtuous-sync`; says how to make it when it is missing. */
export function installPacked(appDir) {
  if (!existsSync(join(INSTALLED, "package.json"))) {
    throw new Error(`the packed package is not installed in ${INSTALLED}: run scripts/build-pkg then node tests/js/prepare.mjs`);
  }
  mkdirSync(join(appDir, "node_modules"), { recursive: true });
  cpSync(INSTALLED, join(appDir, "node_modules", "virtuous-sync"), { recursive: true });
}
