// Draws the peer comparison of bench/results/receive.json: an SVG chart (bench/results/receive.svg; grouped bars
// per body size, time per delivery as a ratio to node:crypto verify, log scale) and a Markdown table written
// into README.md between the `bench:receive` markers. Pure formatting: run by bench/run after bench/receive.mjs.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BENCH = fileURLToPath(new URL(".", import.meta.url));
const ROOT = join(BENCH, "..");
const data = JSON.parse(readFileSync(join(BENCH, "results", "receive.json"), "utf8"));

const SERIES = [
  ["node-verify", "node:crypto verify", "#9aa5b1"],
  ["node-pipeline", "node:crypto + JSON.parse + dedupe", "#52606d"],
  ["standardwebhooks", "standardwebhooks", "#f0b429"],
  ["svix", "svix", "#de911d"],
  ["octokit", "@octokit/webhooks-methods", "#8d6e63"],
  ["verifySignature", "our verifySignature", "#4c9aff"],
  ["receive", "our core.receive", "#0052cc"],
  ["receive-proxy", "our core.receive, 15 headers", "#172b4d"],
].filter(([id]) => data.node.every((r) => r.us[id] !== undefined)); // a results file from before a series was added
const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const kb = (size) => `${size / 1024} KB`;
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function svg() {
  const rows = data.node;
  const W = 900;
  const H = 420;
  const left = 70;
  const right = 270;
  const top = 40;
  const bottom = 60;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const ratios = rows.flatMap((r) => SERIES.map(([id]) => r.us[id] / r.us["node-verify"]));
  const lo = 0.5;
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...ratios) * 1.2));
  const y = (v) => top + plotH - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;
  const groupW = plotW / rows.length;
  const barW = (groupW * 0.8) / SERIES.length;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="600">Receive one delivery: time as a multiple of node:crypto verify (log scale, lower is better)</text>`);
  for (let v = 1; v <= hi; v *= 10) {
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#e4e7eb"/>`);
    out.push(`<text x="${left - 8}" y="${y(v) + 4}" text-anchor="end" fill="#52606d">${v}×</text>`);
  }
  rows.forEach((r, g) => {
    const x0 = left + g * groupW + groupW * 0.1;
    SERIES.forEach(([id, label, color], i) => {
      const ratio = r.us[id] / r.us["node-verify"];
      const yTop = y(ratio);
      out.push(
        `<rect x="${(x0 + i * barW).toFixed(1)}" y="${yTop.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + plotH - yTop).toFixed(1)}" fill="${color}"><title>${esc(label)}, ${kb(r.size)}: ${fmt(r.us[id])} µs (${ratio.toFixed(1)}×)</title></rect>`,
      );
    });
    out.push(`<text x="${left + g * groupW + groupW / 2}" y="${top + plotH + 20}" text-anchor="middle">${kb(r.size)} body</text>`);
  });
  SERIES.forEach(([, label, color], i) => {
    out.push(`<rect x="${left + plotW + 20}" y="${top + i * 22}" width="14" height="14" fill="${color}"/>`);
    out.push(`<text x="${left + plotW + 40}" y="${top + i * 22 + 11}">${esc(label)}</text>`);
  });
  const m = data.machine;
  out.push(`<text x="${left}" y="${H - 14}" fill="#52606d">Node ${m.node}, ${m.cpus} CPUs, load ${m.loadavg[0].toFixed(1)}, ${data.when.slice(0, 10)}; bench/run, bench/results/receive.json</text>`);
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function table() {
  const lines = [];
  lines.push(`| body | ${SERIES.map(([, label]) => label).join(" | ")} |`);
  lines.push(`|---|${SERIES.map(() => "---:").join("|")}|`);
  for (const r of data.node) {
    lines.push(`| ${kb(r.size)} | ${SERIES.map(([id]) => `${fmt(r.us[id])} (${(r.us[id] / r.us["node-verify"]).toFixed(1)}×)`).join(" | ")} |`);
  }
  const m = data.machine;
  lines.push("");
  lines.push(`µs per delivery, best of 3 rounds, ratio to node:crypto verify; Node ${m.node}, ${m.cpus} CPUs, load average ${m.loadavg[0].toFixed(1)} during the run (${data.when.slice(0, 10)}).`);
  if (data.workerd) {
    const ids = Object.keys(data.workerd.rows[0].us);
    lines.push("");
    lines.push(`Inside workerd (${data.workerd.runtime}), µs per delivery:`);
    lines.push("");
    lines.push(`| body | ${ids.join(" | ")} |`);
    lines.push(`|---|${ids.map(() => "---:").join("|")}|`);
    for (const r of data.workerd.rows) lines.push(`| ${kb(r.size)} | ${ids.map((id) => fmt(r.us[id])).join(" | ")} |`);
  }
  const s = data.start;
  lines.push("");
  lines.push(
    `Start: \`require("virtuous-sync")\` adds ${s.fullAddsMs.toFixed(1)} ms to a bare Node start, \`virtuous-sync/receive\` ${s.receiveAddsMs.toFixed(1)} ms (median of ${s.runs})` +
      (s.floorAddsMs === undefined
        ? "."
        : `; requiring a one-line package adds ${s.floorAddsMs.toFixed(1)} ms (the floor: a bare start never loads the package loader).`) +
      (s.fullFirstUseAddsMs === undefined
        ? ""
        : ` The .wasm is compiled on first use: require plus a first \`receive\` adds ${s.fullFirstUseAddsMs.toFixed(1)} ms (receive-only ${s.receiveFirstUseAddsMs.toFixed(1)} ms).`) +
      (s.fullImportAddsMs === undefined
        ? ""
        : ` \`import\` from an ES module adds ${s.fullImportAddsMs.toFixed(1)} ms (receive-only ${s.receiveImportAddsMs.toFixed(1)} ms) to a bare ES module start; a one-line ES module package adds ${s.floorImportAddsMs.toFixed(1)} ms.`),
  );
  const sizes = Object.entries(data.sizes).map(([name, v]) => `${name} ${(v.gzip / 1024).toFixed(0)} KB gzip (${(v.raw / 1024).toFixed(0)} KB raw)`);
  if (sizes.length) lines.push(`Sizes: ${sizes.join(", ")}.`);
  if (data.goals?.length) {
    lines.push("");
    lines.push("Issue 16's goals in this run:");
    lines.push("");
    lines.push("| goal | this run | bound | met |");
    lines.push("|---|---:|---:|---|");
    for (const g of data.goals) lines.push(`| ${g.goal} | ${g.value} ${g.unit} | ${g.bound} ${g.unit} | ${g.met ? "yes" : "**no**"} |`);
  }
  return lines.join("\n");
}

writeFileSync(join(BENCH, "results", "receive.svg"), svg());
const readmePath = join(ROOT, "README.md");
const readme = readFileSync(readmePath, "utf8");
const START = "<!-- bench:receive:start -->";
const END = "<!-- bench:receive:end -->";
const a = readme.indexOf(START);
const b = readme.indexOf(END);
if (a >= 0 && b > a) {
  const body = `${START}\n![Receive time beside peers](bench/results/receive.svg)\n\n${table()}\n${END}`;
  writeFileSync(readmePath, readme.slice(0, a) + body + readme.slice(b + END.length));
  console.log("README.md: receive table updated; bench/results/receive.svg written");
} else {
  console.log(table());
  console.log(`(README.md has no ${START} … ${END} section; bench/results/receive.svg written)`);
}
