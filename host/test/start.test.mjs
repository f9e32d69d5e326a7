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
 * Runs `body` (an async function's text, given the host kit's exports as `kit`) in a fresh process whose module
 * resolution records every bare specifier; resolves to what `body` returned and the packages of `LAZY` resolved.
 */
async function inFreshProcess(body) {
  const hooks = `export async function resolve(specifier, context, next) {
  if (${JSON.stringify(LAZY)}.includes(specifier)) context.data?.port.postMessage(specifier);
  return next(specifier, context);
}
let data;
export function initialize(d) { data = d; }
`.replace("context.data?.port", "data.port");
  const script = `import { register } from "node:module";
import { MessageChannel } from "node:worker_threads";
const { port1, port2 } = new MessageChannel();
const seen = [];
port1.on("message", (m) => seen.push(m));
port1.unref();
register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hooks)}), { data: { port: port2 }, transferList: [port2] });
const kit = await import(${JSON.stringify(pathToFileURL(join(HOST, "src", "index.mjs")).href)});
const result = await (${body})(kit);
await new Promise((r) => setTimeout(r, 50)); // the hooks thread's last messages
console.log(JSON.stringify({ result, seen }));
`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { cwd: HOST });
  return JSON.parse(stdout.trim().split("\n").pop());
}

test("importing the host kit loads neither pg, PGlite nor the Node server adapter", async () => {
  const { result, seen } = await inFreshProcess("async (kit) => typeof kit.createHost");
  assert.equal(result, "function");
  assert.deepEqual(seen, []);
});

test("each is loaded by the call that needs it, and works", async () => {
  const { result, seen } = await inFreshProcess(`async (kit) => {
    const store = await kit.openPgliteStore();
    await store.close?.();
    const partner = { apply: async () => ({}), read: async () => null }; // never called: no delivery is posted
    const host = kit.createHost({ store: new kit.MemoryStore(), partner });
    const server = await kit.listen(host);
    const status = (await fetch(server.url + "/api/health")).status;
    await server.close();
    let pgError;
    try {
      await kit.openPgStore({ connectionString: "postgres://nobody@127.0.0.1:1/none" });
    } catch (e) {
      pgError = e.code;
    }
    return { status, pgError };
  }`);
  assert.equal(result.status, 200);
  assert.equal(result.pgError, "ECONNREFUSED"); // pg was loaded and tried to connect
  assert.deepEqual([...seen].sort(), [...LAZY].sort());
});
