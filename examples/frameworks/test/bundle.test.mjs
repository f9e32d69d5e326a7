// The Node entries through a real bundler (esbuild, what AWS CDK's NodejsFunction, SAM and Serverless use for a
// Lambda), with the packed package installed as a copy, as a user installs it. The Node glue reads its .wasm from
// beside its own files, so the package must stay out of the bundle: marked external, it loads from node_modules and
// a signed delivery is accepted. Bundled in, it cannot load; the tests hold that it then says so, with the advice
// (scripts/bundled-hint.mjs), instead of a bare path or a createRequire error.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { signBody } from "virtuous-sync";
import { BUNDLED } from "../../../scripts/bundled-hint.mjs";
import { installPacked } from "./packed.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const RECIPES = join(HERE, "..");
const APP = join(RECIPES, ".bundle-app");
const SECRET = "bundle-test-secret-0123456789abcdefghijklmnop";

/** A Lambda handler behind API Gateway, in the module system `style` names, importing `entry`. */
function handlerSource(style, entry) {
  const load =
    style === "esm" ? `import { SyncCore } from "${entry}";` : `const { SyncCore } = require("${entry}");`;
  const exported = style === "esm" ? "export const handler =" : "exports.handler =";
  return `${load}
let core;
${exported} async (event) => {
  core ??= new SyncCore({ secrets: [process.env.VIRTUOUS_WEBHOOK_SECRET], platformName: "Acme Giving" });
  const body = event.isBase64Encoded ? Buffer.from(event.body ?? "", "base64") : Buffer.from(event.body ?? "", "utf8");
  const receipt = core.receive(body, event.headers ?? {});
  return { statusCode: receipt.status, body: JSON.stringify({ reason: receipt.reason }) };
};
`;
}

/**
 * Invokes the bundle's handler in a fresh process from `APP/dist`, beside `APP/node_modules` (as in a deployed
 * function's directory) with a signed and a forged delivery; a throw comes back as `{ error: { message, code, cause } }`.
 */
async function invoke(bundle, format) {
  const text = JSON.stringify({ event: "GiftCreate", gift: { id: 7001, modifiedDateTimeUtc: "2026-11-30T11:00:00Z" } });
  const events = [
    { body: text, headers: signBody(text, SECRET).headers },
    { body: Buffer.from(text).toString("base64"), isBase64Encoded: true, headers: signBody(text, "another-secret-0123456789abcdef0123456789").headers },
  ];
  const load = format === "esm" ? `await import(${JSON.stringify(bundle)})` : `require(${JSON.stringify(bundle)})`;
  const script = `(async () => {
  try {
    const { handler } = ${load};
    const out = [];
    for (const event of ${JSON.stringify(events)}) out.push(await handler(event));
    console.log(JSON.stringify({ out }));
  } catch (e) {
    console.log(JSON.stringify({ error: { message: e.message, code: e.code, cause: e.cause?.code ?? String(e.cause) } }));
  }
})();`;
  const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
    cwd: join(APP, "dist"),
    env: { ...process.env, VIRTUOUS_WEBHOOK_SECRET: SECRET },
  });
  return JSON.parse(stdout);
}

/** Bundles a handler written in `style` to `format`, with virtuous-sync external or not, and invokes it. */
async function bundleAndInvoke({ entry, style, format, external }) {
  const name = `${entry.replace(/\W/g, "_")}-${style}-${format}-${external ? "ext" : "in"}`;
  const source = join(APP, "src", `${name}.${style === "esm" ? "mjs" : "cjs"}`);
  writeFileSync(source, handlerSource(style, entry));
  const outfile = join(APP, "dist", `${name}.${format === "esm" ? "mjs" : "cjs"}`);
  await build({
    entryPoints: [source],
    outfile,
    bundle: true,
    platform: "node",
    target: "node18",
    format,
    external: external ? ["virtuous-sync"] : [],
    logLevel: "silent",
  });
  return invoke(outfile, format);
}

const CASES = [];
for (const entry of ["virtuous-sync", "virtuous-sync/receive"]) {
  // An ES module handler bundled as ESM or as CommonJS (CDK's default), and a CommonJS handler.
  for (const [style, format] of [["esm", "esm"], ["esm", "cjs"], ["cjs", "cjs"]]) CASES.push({ entry, style, format });
}

describe("esbuild bundles of a Lambda handler (the packed package installed as a copy)", () => {
  before(() => {
    rmSync(APP, { recursive: true, force: true });
    for (const dir of ["src", "dist"]) mkdirSync(join(APP, dir), { recursive: true });
    installPacked(APP);
  });
  after(() => rmSync(APP, { recursive: true, force: true }));

  for (const c of CASES) {
    const what = `${c.style === "esm" ? "import" : "require"} "${c.entry}", bundled as ${c.format.toUpperCase()}`;

    test(`${what}, virtuous-sync external: a signed delivery is accepted and a forged one refused`, async () => {
      const r = await bundleAndInvoke({ ...c, external: true });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.deepEqual(
        r.out.map((o) => [o.statusCode, JSON.parse(o.body).reason]),
        [
          [200, "accepted"],
          [401, "signature-mismatch"],
        ],
      );
    });

    test(`${what}, virtuous-sync bundled in: it cannot load, and says why and what to do`, async () => {
      const r = await bundleAndInvoke({ ...c, external: false });
      assert.ok(r.error, `a bundled package ran: ${JSON.stringify(r.out)}`);
      assert.ok(r.error.message.startsWith("virtuous-sync: cannot "), r.error.message);
      assert.ok(r.error.message.endsWith(BUNDLED), r.error.message);
      if (c.style === "cjs") {
        // require() takes the CommonJS glue itself: bundled whole, it fails at the first call, reading its .wasm.
        assert.match(r.error.message, /cannot read its WebAssembly file \S*virtuous_sync_js_bg\.wasm: /);
        assert.equal(r.error.code, "ENOENT");
        assert.equal(r.error.cause, "ENOENT");
      } else {
        // import takes the ESM entry, which loads the glue from beside itself: the bundle has no such file
        // (ESM output), or no import.meta.url to find it by (CommonJS output).
        assert.match(r.error.message, /cannot load \.\/dist\/(receive-)?node\/virtuous_sync_js\.js: /);
        assert.equal(r.error.code, c.format === "esm" ? "MODULE_NOT_FOUND" : "ERR_INVALID_ARG_VALUE");
        assert.equal(r.error.cause, r.error.code);
      }
    });
  }
});
