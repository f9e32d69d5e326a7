// Installs the core package into host/node_modules the way users get it: the tarball `npm pack` made from pkg/
// (scripts/build-pkg, then tests/js/prepare.mjs) is installed by npm into a scratch project, and that installed copy
// is copied into host/node_modules/virtuous-sync. (npm does not install a tarball with --no-save, and saving it
// would put a build-specific integrity hash into host's committed lock file.) Never imports from ../pkg.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HOST = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = join(HOST, "..");
const SCRATCH = join(ROOT, "build", "npm-scratch");
const tarball = existsSync(SCRATCH) ? readdirSync(SCRATCH).find((f) => /^virtuous-sync-.*\.tgz$/.test(f)) : undefined;
if (!tarball) {
  console.error("install-core: no packed core in build/npm-scratch: run scripts/build-pkg and node tests/js/prepare.mjs first");
  process.exit(1);
}
const app = join(ROOT, "build", "host-core");
rmSync(app, { recursive: true, force: true });
mkdirSync(app, { recursive: true });
writeFileSync(join(app, "package.json"), JSON.stringify({ name: "host-core-scratch", private: true, version: "0.0.0" }));
execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", "--offline", join(SCRATCH, tarball)], {
  cwd: app,
  stdio: ["ignore", "pipe", "inherit"],
});
const target = join(HOST, "node_modules", "virtuous-sync");
rmSync(target, { recursive: true, force: true });
cpSync(join(app, "node_modules", "virtuous-sync"), target, { recursive: true });
console.log(`install-core: ${tarball} installed into host/node_modules/virtuous-sync`);
