// The receive benchmark inside workerd (miniflare 4, in-process, loopback only): our verifySignature and
// core.receive through the package's "workerd" export beside WebCrypto verification and a WebCrypto + JSON.parse
// + dedupe pipeline. Time per delivery = (time of a request running n of them − time of one running none) / n,
// taken in Node because workerd's clocks do not advance while a request computes.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { SIZES } from "./delivery.mjs";

const BENCH = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(BENCH, "..");

async function startWorker(compatibilityFlags = []) {
  const pkg = join(ROOT, "pkg");
  const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
  const dir = join(BENCH, "results", "workerd");
  mkdirSync(dir, { recursive: true });
  const entry = relative(dir, join(pkg, manifest.exports["."].workerd)).split("\\").join("/");
  writeFileSync(join(dir, "worker.mjs"), readFileSync(join(BENCH, "receive-worker.template.mjs"), "utf8").replaceAll("__PACKAGE_ENTRY__", entry));
  copyFileSync(join(BENCH, "delivery.mjs"), join(dir, "delivery.mjs"));
  const mf = new Miniflare({
    modules: true,
    modulesRoot: ROOT,
    scriptPath: join(dir, "worker.mjs"),
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
    compatibilityFlags,
    host: "127.0.0.1",
    port: 0,
    cf: false,
  });
  return { mf, base: await mf.ready };
}

/**
 * Every implementation in a plain Worker, then the package's own again in one with the `nodejs_compat` flag, where
 * the glue lends workerd's native SHA-256 (node:crypto) to the core as in Node: columns "<impl> (nodejs_compat)".
 */
export async function measureWorkerd(targetMs = 400) {
  const rows = await measureIn([], targetMs, () => true, "");
  const compat = await measureIn(["nodejs_compat"], targetMs, (impl) => !impl.startsWith("webcrypto"), " (nodejs_compat)");
  rows.forEach((row, i) => Object.assign(row.us, compat[i].us));
  return { runtime: "workerd (miniflare 4.20260730.0)", rows };
}

async function measureIn(flags, targetMs, wanted, suffix) {
  const { mf, base } = await startWorker(flags);
  try {
    const run = async (impl, size, n) => {
      const t = process.hrtime.bigint();
      const res = await mf.dispatchFetch(new URL("/run", base), { method: "POST", body: JSON.stringify({ impl, size, n }) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`workerd ${impl} ${size}: ${res.status} ${text}`);
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const impls = (await (await mf.dispatchFetch(new URL("/impls", base))).json()).filter(wanted);
    const rows = [];
    for (const size of SIZES) {
      const row = { size, us: {} };
      for (const impl of impls) {
        await run(impl, size, 20); // warm-up
        let n = 1;
        while ((await run(impl, size, n)) < targetMs / 3 && n < 1e7) n *= 2;
        // Minimum of several empty and several full round trips: the least-disturbed of each.
        let empty = Infinity;
        let full = Infinity;
        for (let round = 0; round < 5; round++) {
          empty = Math.min(empty, await run(impl, size, 0));
          if (round < 3) full = Math.min(full, await run(impl, size, n));
        }
        const best = Math.max(0, full - empty) / n;
        row.us[impl + suffix] = best * 1000;
      }
      rows.push(row);
      process.stderr.write(`workerd${suffix} ${size / 1024} KB measured\n`);
    }
    return rows;
  } finally {
    await mf.dispose();
  }
}
