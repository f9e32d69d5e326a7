// What importing the host kit loads. A serverless function (Lambda, a container scaled from zero) pays every module
// the import loads on each cold start: `pg`, PGlite and the Node server adapter are loaded by the calls that need
// them (openPgStore, openPgliteStore, listen), not by the import (about 80 ms → 40 ms on the test machine).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

const HOST = join(dirname(fileURLToPath(import.meta.url)), "..");
const LAZY = ["pg", "@electric-sql/pglite", "@hono/node-server"];

/**
 * Runs `body` (an async function's text, given the host kit's exports as `kit`) in a fresh process where resolving
 * any package of `LAZY` throws `not-loaded: <name>`; resolves to what `body` returned.
 */
async function withLazyForbidden(body) {
  const hooks = `export async function resolve(specifier, context, next) {
  if (${JSON.stringify(LAZY)}.includes(specifier)) throw new Error("not-loaded: " + specifier);
  return next(specifier, context);
}`;
  const script = `import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hooks)}));
const kit = await import(${JSON.stringify(pathToFileURL(join(HOST, "src", "index.mjs")).href)});
console.log(JSON.stringify(await (${body})(kit)));
`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { cwd: HOST });
  return JSON.parse(stdout.trim().split("\n").pop());
}

test("importing the host kit loads neither pg, PGlite nor the Node server adapter", async () => {
  // Were any of them imported with the kit, the import itself would throw here.
  assert.equal(await withLazyForbidden("async (kit) => typeof kit.createHost"), "function");
});

test("each is loaded by the call that needs it (the other host tests run those calls for real)", async () => {
  const loads = await withLazyForbidden(`async (kit) => {
    const partner = { apply: async () => ({}), read: async () => null }; // never called: nothing is delivered
    const host = kit.createHost({ store: new kit.MemoryStore(), partner });
    const calls = {
      pglite: () => kit.openPgliteStore(),
      pg: () => kit.openPgStore({ connectionString: "postgres://nobody@127.0.0.1:1/none" }),
      listen: () => kit.listen(host),
    };
    const out = {};
    for (const [name, call] of Object.entries(calls)) out[name] = await call().then(() => "no load", (e) => e.message);
    return out;
  }`);
  assert.deepEqual(loads, {
    pglite: "not-loaded: @electric-sql/pglite",
    pg: "not-loaded: pg",
    listen: "not-loaded: @hono/node-server",
  });
});
