// Receive speed beside the peers, in one run on this machine (issue 16's table): per delivery, at 1, 16 and
// 256 KB, the hand-written node:crypto verify, the hand-written verify + JSON.parse + dedupe pipeline,
// standardwebhooks, svix, @octokit/webhooks-methods, our verifySignature and our core.receive; then the same
// inside workerd (miniflare) beside WebCrypto; then what requiring the package adds to a bare Node start, and
// the shipped sizes. Measures only, never asserts. Writes bench/results/receive.json; bench/report.mjs draws
// the chart from it. `BENCH_MS` sets the time per measurement (default 400); `NO_WORKERD=1` skips workerd.
import { spawnSync } from "node:child_process";
import { createHmac, timingSafeEqual } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { sign as octokitSign, verify as octokitVerify } from "@octokit/webhooks-methods";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { SyncCore, verifySignature } from "virtuous-sync";
import { SECRET, SIZES, deliveryText, handWritten, proxyHeaders } from "./delivery.mjs";
import { measureWorkerd } from "./receive-workerd.mjs";

const BENCH = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(BENCH, "..");
const TARGET_MS = Number(process.env.BENCH_MS ?? 400);
const NOW = Date.now();
let sink = 0;

/** ns per call: calibrate the count to ~TARGET_MS / 3, best of 3 rounds. */
async function measure(fn, isAsync = false) {
  const loop = isAsync
    ? async (n) => {
        for (let i = 0; i < n; i++) await fn();
      }
    : async (n) => {
        for (let i = 0; i < n; i++) fn();
      };
  await loop(50);
  let n = 1;
  for (;;) {
    const t = process.hrtime.bigint();
    await loop(n);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (ms > TARGET_MS / 10 || n > 1e7) {
      n = Math.max(1, Math.round((n * TARGET_MS) / 3 / Math.max(ms, 0.001)));
      break;
    }
    n *= 4;
  }
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t = process.hrtime.bigint();
    await loop(n);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / n);
  }
  return best;
}

/** Every implementation over one delivery; each is checked to accept it before it is timed. */
async function implementations(size) {
  const text = deliveryText(size);
  const body = Buffer.from(text);
  const sigHex = createHmac("sha256", SECRET).update(body).digest("hex");
  const sigBytes = Buffer.from(sigHex, "hex");
  const nodeVerify = (b) => timingSafeEqual(createHmac("sha256", SECRET).update(b).digest(), sigBytes);
  const pipeline = handWritten(nodeVerify);

  const swSecret = Buffer.from(SECRET).toString("base64");
  const sw = new StandardWebhook(swSecret);
  const msgId = "msg_2hXcQ1Zs0bD7";
  const date = new Date(NOW);
  const swHeaders = {
    "webhook-id": msgId,
    "webhook-timestamp": String(Math.floor(NOW / 1000)),
    "webhook-signature": sw.sign(msgId, date, text),
  };
  const svix = new SvixWebhook(`whsec_${swSecret}`);
  const svixHeaders = {
    "svix-id": msgId,
    "svix-timestamp": String(Math.floor(NOW / 1000)),
    "svix-signature": svix.sign(msgId, date, text),
  };
  const octokitSig = await octokitSign(SECRET, text);

  const core = new SyncCore({ secrets: [SECRET], platformName: "bench" });
  const headers = { "x-virtuous-signature": sigHex, "content-type": "application/json" };
  // The same delivery as a server behind a proxy or CDN gets it: fifteen headers.
  const proxy = proxyHeaders(sigHex, body.length);

  const impls = [
    { id: "node-verify", label: "node:crypto verify", fn: () => (sink ^= nodeVerify(body) ? 1 : 0) },
    { id: "node-pipeline", label: "node:crypto verify + JSON.parse + dedupe", fn: () => (sink ^= pipeline(body, text).status) },
    { id: "standardwebhooks", label: "standardwebhooks", fn: () => (sink ^= sw.verify(text, swHeaders) ? 1 : 0) },
    { id: "svix", label: "svix", fn: () => (sink ^= svix.verify(text, svixHeaders) ? 1 : 0) },
    { id: "octokit", label: "@octokit/webhooks-methods", async: true, fn: async () => (sink ^= (await octokitVerify(SECRET, text, octokitSig)) ? 1 : 0) },
    { id: "verifySignature", label: "our verifySignature", fn: () => (sink ^= verifySignature(body, sigHex, [SECRET], { nowMs: NOW }).ok ? 1 : 0) },
    { id: "receive", label: "our core.receive", fn: () => (sink ^= core.receive(body, headers, NOW).status) },
    { id: "receive-proxy", label: "our core.receive, 15 headers", fn: () => (sink ^= core.receive(body, proxy, NOW).status) },
  ];
  // Sanity, not timed: every path accepts the delivery.
  if (!nodeVerify(body) || pipeline(body, text).status !== 200) throw new Error("hand-written pipeline rejected");
  sw.verify(text, swHeaders);
  svix.verify(text, svixHeaders);
  if (!(await octokitVerify(SECRET, text, octokitSig))) throw new Error("octokit rejected");
  if (!verifySignature(body, sigHex, [SECRET], { nowMs: NOW }).ok) throw new Error("verifySignature rejected");
  if (!core.receive(body, headers, NOW).authentic) throw new Error("core.receive rejected");
  if (!core.receive(body, proxy, NOW).authentic) throw new Error("core.receive rejected the proxy's headers");
  return impls;
}

async function nodeRows() {
  const rows = [];
  for (const size of SIZES) {
    const impls = await implementations(size);
    const row = { size, us: {} };
    for (const impl of impls) row.us[impl.id] = (await measure(impl.fn, impl.async)) / 1000;
    rows.push(row);
    process.stderr.write(`node ${size / 1024} KB measured\n`);
  }
  return rows;
}

/** What loading the package adds to a bare Node start: median of paired differences, in ms. */
function startCost(runs = 31) {
  const node = process.execPath;
  const time = (args) => {
    const cwd = args === cases.floor || args === cases.floorEsm ? floorDir : BENCH;
    const t = process.hrtime.bigint();
    const r = spawnSync(node, args, { cwd, stdio: "ignore" });
    if (r.status !== 0) throw new Error(`node ${args.join(" ")} failed`);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  // The package compiles its .wasm on first use (scripts/node-glue.mjs), so the first call is measured too.
  const firstUse = (entry) =>
    `const { SyncCore } = require('${entry}'); new SyncCore({ secrets: ['${"s".repeat(32)}'], platformName: 'bench' }).receive('{}', {}, 0)`;
  // The floor: requiring a one-line package (an exports map, `module.exports = 1`) through the same
  // resolution. A bare `node -e 0` never starts the package loader, so any package pays this much.
  const floorDir = join(tmpdir(), "virtuous-sync-bench-floor");
  mkdirSync(join(floorDir, "node_modules", "one-line"), { recursive: true });
  writeFileSync(join(floorDir, "node_modules", "one-line", "package.json"), '{"name":"one-line","exports":{".":"./index.js"}}\n');
  writeFileSync(join(floorDir, "node_modules", "one-line", "index.js"), "module.exports = 1;\n");
  // The same for `import` from an ES module: a one-line ES module package.
  mkdirSync(join(floorDir, "node_modules", "one-line-esm"), { recursive: true });
  writeFileSync(
    join(floorDir, "node_modules", "one-line-esm", "package.json"),
    '{"name":"one-line-esm","type":"module","exports":{".":"./index.js"}}\n',
  );
  writeFileSync(join(floorDir, "node_modules", "one-line-esm", "index.js"), "export default 1;\n");
  const esm = (code) => ["--input-type=module", "-e", code];
  const cases = {
    bare: ["-e", "0"],
    floor: ["-e", "require('one-line')"],
    full: ["-e", "require('virtuous-sync')"],
    receive: ["-e", "require('virtuous-sync/receive')"],
    fullFirstUse: ["-e", firstUse("virtuous-sync")],
    receiveFirstUse: ["-e", firstUse("virtuous-sync/receive")],
    // `import` from an ES module, each against a bare ES module start (the process's whole life: a compile the
    // import leaves running in the background holds its exit).
    bareEsm: esm("0"),
    floorEsm: esm("import 'one-line-esm'"),
    fullImport: esm("import 'virtuous-sync'"),
    receiveImport: esm("import 'virtuous-sync/receive'"),
  };
  const ms = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let i = 0; i < 2; i++) for (const args of Object.values(cases)) time(args); // warm the file cache
  for (let i = 0; i < runs; i++) for (const [k, args] of Object.entries(cases)) ms[k].push(time(args));
  // Each case is timed right after a bare start in the same round; the median of those paired differences
  // is far less sensitive to a busy machine than the difference of two medians.
  const adds = (k, base = "bare") => median(ms[k].map((x, i) => x - ms[base][i]));
  return {
    runs,
    bareMs: median([...ms.bare]),
    floorAddsMs: adds("floor"),
    fullAddsMs: adds("full"),
    receiveAddsMs: adds("receive"),
    fullFirstUseAddsMs: adds("fullFirstUse"),
    receiveFirstUseAddsMs: adds("receiveFirstUse"),
    floorImportAddsMs: adds("floorEsm", "bareEsm"),
    fullImportAddsMs: adds("fullImport", "bareEsm"),
    receiveImportAddsMs: adds("receiveImport", "bareEsm"),
  };
}

/** The shipped .wasm files, raw and gzip -9. */
function sizes() {
  const files = {
    "npm full": "pkg/dist/node/virtuous_sync_js_bg.wasm",
    "npm receive-only": "pkg/dist/receive-node/virtuous_sync_js_bg.wasm",
    component: "build/component/virtuous_sync.wasm",
  };
  const out = {};
  for (const [name, rel] of Object.entries(files)) {
    const path = join(ROOT, rel);
    if (!existsSync(path)) continue;
    const bytes = readFileSync(path);
    out[name] = { path: rel, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  }
  return out;
}

/** Issue 16's goals 1 and 2, read from this run: each figure, its bound, and whether it is met. */
function goals(rows, start, sizes) {
  const at = (size) => rows.find((r) => r.size === size)?.us;
  const out = [];
  const ratio = (name, size, a, b, bound) => {
    const us = at(size);
    if (!us) return;
    const value = us[a] / us[b];
    out.push({ goal: name, value: Number(value.toFixed(2)), bound, unit: "×", met: value <= bound });
  };
  for (const size of SIZES) ratio(`core.receive / hand-written pipeline, ${size / 1024} KB`, size, "receive", "node-pipeline", 1.5);
  ratio("core.receive / standardwebhooks, 16 KB", 16 * 1024, "receive", "standardwebhooks", 0.5);
  ratio("verifySignature / node:crypto verify, 1 KB", 1024, "verifySignature", "node-verify", 1.5);
  ratio("verifySignature / node:crypto verify, 256 KB", 256 * 1024, "verifySignature", "node-verify", 1.5);
  const kb = (name, bound) => {
    if (!sizes[name]) return;
    const value = sizes[name].gzip / 1024;
    out.push({ goal: `${name} size, gzip`, value: Number(value.toFixed(1)), bound, unit: "KB", met: value <= bound });
  };
  kb("npm full", 200);
  kb("npm receive-only", 50);
  kb("component", 200);
  const ms = (name, value, bound) => out.push({ goal: name, value: Number(value.toFixed(1)), bound, unit: "ms", met: value <= bound });
  ms("require('virtuous-sync') adds", start.fullAddsMs, 5);
  ms("require('virtuous-sync/receive') adds", start.receiveAddsMs, 2);
  return out;
}

const node = await nodeRows();
const workerd = process.env.NO_WORKERD ? null : await measureWorkerd(TARGET_MS);
const start = startCost();
const sizeFigures = sizes();
const result = {
  when: new Date().toISOString(),
  machine: { node: process.version, arch: process.arch, cpus: cpus().length, loadavg: loadavg() },
  unit: "µs per delivery (best of 3 rounds)",
  node,
  workerd,
  start,
  sizes: sizeFigures,
  goals: goals(node, start, sizeFigures),
};
mkdirSync(join(BENCH, "results"), { recursive: true });
writeFileSync(join(BENCH, "results", "receive.json"), `${JSON.stringify(result, null, 2)}\n`);

const ratio = (row, id, base) => (row.us[id] / row.us[base]).toFixed(1);
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const order = ["node-verify", "node-pipeline", "standardwebhooks", "svix", "octokit", "verifySignature", "receive", "receive-proxy"];
console.log(`Receive, µs per delivery (ratio to node:crypto verify), Node ${process.version}, load ${loadavg()[0].toFixed(1)}`);
console.log(["size", ...order].join(" | "));
for (const row of node) {
  console.log([`${row.size / 1024} KB`, ...order.map((id) => `${fmt(row.us[id])} (${ratio(row, id, "node-verify")}x)`)].join(" | "));
}
console.log("goal ratios: receive / pipeline ≤ 1.5; receive / standardwebhooks at 16 KB ≤ 0.5; verifySignature / node-verify ≤ 1.5");
for (const row of node) {
  console.log(
    `  ${row.size / 1024} KB: receive/pipeline ${ratio(row, "receive", "node-pipeline")}x, receive/standardwebhooks ${ratio(row, "receive", "standardwebhooks")}x, verifySignature/node ${ratio(row, "verifySignature", "node-verify")}x`,
  );
}
if (workerd) {
  console.log("\nInside workerd (miniflare), µs per delivery:");
  const wOrder = Object.keys(workerd.rows[0].us);
  console.log(["size", ...wOrder].join(" | "));
  for (const row of workerd.rows) console.log([`${row.size / 1024} KB`, ...wOrder.map((id) => fmt(row.us[id]))].join(" | "));
}
const s = result.start;
console.log(`\nStart: bare node ${s.bareMs.toFixed(1)} ms; a one-line package adds ${s.floorAddsMs.toFixed(1)} ms; require('virtuous-sync') adds ${s.fullAddsMs.toFixed(1)} ms, './receive' adds ${s.receiveAddsMs.toFixed(1)} ms; with the first receive (compiles the wasm) ${s.fullFirstUseAddsMs.toFixed(1)} / ${s.receiveFirstUseAddsMs.toFixed(1)} ms; import from an ES module ${s.fullImportAddsMs.toFixed(1)} / ${s.receiveImportAddsMs.toFixed(1)} ms (a one-line ES module package ${s.floorImportAddsMs.toFixed(1)} ms) (median of ${s.runs})`);
for (const [name, v] of Object.entries(result.sizes)) console.log(`Size ${name}: ${v.raw} bytes, ${v.gzip} gzip (${v.path})`);
console.log("\nGoals (issue 16):");
for (const g of result.goals) console.log(`  ${g.met ? "met    " : "NOT met"} ${g.goal}: ${g.value} ${g.unit} (bound ${g.bound})`);
console.log(`(sink ${sink & 1}) → bench/results/receive.json`);
