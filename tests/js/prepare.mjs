// Packs pkg/ with `npm pack` and installs the tarball into a fresh scratch project (build/npm-scratch/app), the
// way a user would get it. Run after scripts/build-pkg. Prints the tarball name and size.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { APP, SCRATCH } from "./support/package.mjs";
import { ROOT } from "./support/vectors.mjs";

const quiet = { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" };
rmSync(SCRATCH, { recursive: true, force: true });
mkdirSync(APP, { recursive: true });

const packOut = execFileSync("npm", ["pack", "--json", "--pack-destination", SCRATCH], { cwd: join(ROOT, "pkg"), ...quiet });
const [info] = JSON.parse(packOut.slice(packOut.indexOf("[")));
const tarball = join(SCRATCH, info.filename);
console.log(`packed ${info.filename}: ${statSync(tarball).size} B, ${info.entryCount} files`);
for (const f of info.files) console.log(`  ${String(f.size).padStart(8)}  ${f.path}`);

writeFileSync(join(APP, "package.json"), JSON.stringify({ name: "scratch-app", private: true, version: "0.0.0" }, null, 2));
execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", "--offline", tarball], { cwd: APP, ...quiet });
// Entry points that resolve the package by name from inside the scratch project.
writeFileSync(join(APP, "esm.mjs"), 'export * from "virtuous-sync";\n');
writeFileSync(join(APP, "cjs.cjs"), 'module.exports = require("virtuous-sync");\n');
console.log(`installed into ${APP}`);
