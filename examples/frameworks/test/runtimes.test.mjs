// The recipes that need another runtime, run in it: Deno.serve and Bun.serve (the real binaries from
// tests/runtimes, installed by scripts/setup), Hono on Workers and the Next.js edge route handler in workerd
// (miniflare, the root dev dependency), loading the package's "workerd" receive entry with its static wasm import.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { signBody } from "virtuous-sync";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..", "..");
const BINS = join(ROOT, "tests", "runtimes", "node_modules");
const check = join(HERE, "serve-check.mjs");
const SECRET = "recipe-secret-0123456789abcdef0123456789abcdef";
const expectFrom = (r) => {
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1));
  assert.deepEqual(out.signed, [200, "accepted"]);
  assert.deepEqual(out.forged, [401, "signature-mismatch"]);
  assert.deepEqual(out.handled, ["resource:gift-update:42:2026-11-30T11:00:00Z"]);
};

test("Deno.serve recipe in Deno", () => {
  const deno = join(BINS, "@deno", "linux-x64-glibc", "deno");
  expectFrom(spawnSync(deno, ["run", "-A", check], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1" } }));
});

test("Bun.serve recipe in Bun", () => {
  const bun = join(BINS, "@oven", "bun-linux-x64", "bin", "bun");
  expectFrom(spawnSync(bun, [check], { cwd: ROOT, encoding: "utf8", timeout: 60_000 }));
});

/** Copies `file` into a scratch worker dir with bare imports pointed at files (what a bundler does). */
function workerScript(name, source, map) {
  const dir = join(ROOT, "build", "framework-workers", name);
  mkdirSync(dir, { recursive: true });
  let text = source;
  for (const [spec, target] of Object.entries(map)) {
    const rel = relative(dir, target).split("\\").join("/");
    text = text.replaceAll(`from "${spec}"`, `from "${rel.startsWith(".") ? rel : `./${rel}`}"`);
  }
  writeFileSync(join(dir, "worker.mjs"), text);
  return join(dir, "worker.mjs");
}

async function inWorkerd(scriptPath, bindings) {
  const mf = new Miniflare({
    modules: true,
    modulesRoot: ROOT,
    scriptPath,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
    bindings,
    host: "127.0.0.1",
    port: 0,
    cf: false,
  });
  const base = await mf.ready;
  const text = JSON.stringify({ event: "GiftCreate", gift: { id: 9, amount: 5, modifiedDateTimeUtc: "2026-11-30T11:00:00Z" } });
  const send = async (secret) => {
    const r = await mf.dispatchFetch(new URL("/webhooks/virtuous", base), { method: "POST", body: text, headers: { "content-type": "application/json", ...signBody(text, secret).headers } });
    return [r.status, await r.json()];
  };
  try {
    const [s1, ok] = await send(SECRET);
    assert.equal(s1, 200);
    assert.equal(ok.reason, "accepted");
    assert.equal(ok.dedupeKey, "resource:gift-create:9:2026-11-30T11:00:00Z");
    const [s2, bad] = await send("wrong-secret-0123456789abcdef0123456789abcdef");
    assert.equal(s2, 401);
    assert.equal(bad.reason, "signature-mismatch");
  } finally {
    await mf.dispose();
  }
}

const pkgEntry = () => {
  const pkg = join(ROOT, "node_modules", "virtuous-sync");
  const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
  return join(pkg, manifest.exports["./receive"].workerd);
};

test("Hono on Workers recipe in workerd (the package's workerd receive entry)", async () => {
  const hono = join(HERE, "..", "node_modules", "hono", "dist", "index.js");
  const script = workerScript("hono", readFileSync(join(HERE, "..", "hono-worker.mjs"), "utf8"), { hono, "virtuous-sync/receive": pkgEntry() });
  await inWorkerd(script, { VIRTUOUS_WEBHOOK_SECRET: SECRET });
});

test("Next.js edge route handler in workerd (the edge-light entry's static wasm import; Next's own edge runtime not run)", async () => {
  const route = join(HERE, "..", "next-edge", "app", "api", "webhooks", "virtuous", "[customerId]", "route.mjs");
  const routeCopy = workerScript("next-edge", readFileSync(route, "utf8"), { "virtuous-sync/receive": pkgEntry() });
  const dir = dirname(routeCopy);
  writeFileSync(join(dir, "route.mjs"), readFileSync(routeCopy, "utf8"));
  writeFileSync(
    join(dir, "worker.mjs"),
    `import { POST } from "./route.mjs";\nexport default { fetch(request, env) { globalThis.process = { env }; return POST(request, { params: Promise.resolve({ customerId: "c1" }) }); } };\n`,
  );
  await inWorkerd(join(dir, "worker.mjs"), { VIRTUOUS_WEBHOOK_SECRET: SECRET });
});
