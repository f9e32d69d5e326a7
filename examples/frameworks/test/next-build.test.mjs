// The Next.js recipe through a real `next build` (Turbopack) and `next start`, with the packed package installed as
// a user installs it (a copy in node_modules, not this repository's symlink). The Node glue reads its .wasm from
// beside itself, so the package must stay out of Next's server bundle: `serverExternalPackages: ["virtuous-sync"]`.
// Without it every delivery gets a 500 (the bundled glue cannot find its .wasm), which the second test holds so
// the README's reason stays true.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { signBody } from "virtuous-sync";
import { BUNDLED } from "../../../scripts/bundled-hint.mjs";
import { installPacked } from "./packed.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const RECIPES = join(HERE, "..");
// Inside examples/frameworks so that `next` resolves from its node_modules; removed after the run.
const APP = join(RECIPES, ".next-build-app");
const NEXT = join(RECIPES, "node_modules", "next", "dist", "bin", "next");
const SECRET = "next-build-secret-0123456789abcdefghijklmnop";

const ROUTE = `import { SyncCore } from "virtuous-sync/receive";
export const runtime = "nodejs";
export const dynamic = "force-dynamic";
let core;
export async function POST(request) {
  core ??= new SyncCore({ secrets: [process.env.VIRTUOUS_WEBHOOK_SECRET], platformName: "Acme Giving" });
  const receipt = core.receive(new Uint8Array(await request.arrayBuffer()), request.headers);
  return Response.json({ reason: receipt.reason }, { status: receipt.status });
}
`;

function writeApp(config) {
  rmSync(APP, { recursive: true, force: true });
  mkdirSync(join(APP, "app", "api", "webhooks", "virtuous"), { recursive: true });
  installPacked(APP);
  writeFileSync(join(APP, "package.json"), '{ "name": "next-build-app", "private": true, "type": "module" }\n');
  writeFileSync(join(APP, "app", "layout.js"), "export default function RootLayout({ children }) { return children; }\n");
  writeFileSync(join(APP, "app", "api", "webhooks", "virtuous", "route.js"), ROUTE);
  // turbopack.root: this repository has more than one lockfile; name the recipes' directory, whose node_modules
  // holds next.
  writeFileSync(
    join(APP, "next.config.mjs"),
    `export default { ${config}turbopack: { root: ${JSON.stringify(RECIPES)} } };\n`,
  );
}

const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", VIRTUOUS_WEBHOOK_SECRET: SECRET };
const build = () => promisify(execFile)(process.execPath, [NEXT, "build"], { cwd: APP, env, maxBuffer: 1 << 24 });

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Builds the app with `config` in next.config, starts it, posts a signed and a forged delivery; stops it. */
async function buildStartPost(config) {
  writeApp(config);
  await build();
  const port = await freePort();
  const server = spawn(process.execPath, [NEXT, "start", "-p", String(port), "-H", "127.0.0.1"], { cwd: APP, env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  server.stdout.on("data", (b) => (log += b));
  server.stderr.on("data", (b) => (log += b));
  try {
    const url = `http://127.0.0.1:${port}/api/webhooks/virtuous`;
    const post = async (body, headers) => {
      for (let i = 0; ; i++) {
        try {
          const r = await fetch(url, { method: "POST", body, headers });
          return { status: r.status, text: await r.text() };
        } catch (e) {
          if (i >= 150) throw new Error(`next start did not answer: ${e.message}\n${log}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const text = JSON.stringify({ event: "GiftCreate", gift: { id: 7001, modifiedDateTimeUtc: "2026-11-30T11:00:00Z" } });
    const signed = await post(text, signBody(text, SECRET).headers);
    const forged = await post(text, signBody(text, "another-secret-0123456789abcdef0123456789").headers);
    return { signed, forged, log: () => log };
  } finally {
    server.kill();
  }
}

describe("Next.js 16: next build and next start (Turbopack)", () => {
  after(() => rmSync(APP, { recursive: true, force: true }));

  test('with serverExternalPackages: ["virtuous-sync"], the built route accepts a signed delivery and refuses a forged one', async () => {
    const { signed, forged, log } = await buildStartPost('serverExternalPackages: ["virtuous-sync"], ');
    assert.equal(signed.status, 200, `${signed.text}\n${log()}`);
    assert.equal(JSON.parse(signed.text).reason, "accepted");
    assert.equal(forged.status, 401, forged.text);
  });

  test("without it, Turbopack bundles the glue, which then cannot find its .wasm and says so: every delivery gets a 500", async () => {
    const { signed, forged, log } = await buildStartPost("");
    assert.equal(signed.status, 500);
    assert.equal(forged.status, 500);
    // The glue says which file it missed and what to do (scripts/bundled-hint.mjs), keeping ENOENT as its code.
    assert.match(log(), /cannot read its WebAssembly file \S*virtuous_sync_js_bg\.wasm: the package was bundled without its files/);
    assert.ok(log().includes(BUNDLED), log());
  });
});
