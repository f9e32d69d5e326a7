// Initial match at 10k, 100k and 1M contacts per side: the npm InitialMatcher (fed in chunks of 10,000 per side)
// beside a plain JavaScript Map join of the same data (reference pairs, then emails), each size and each
// implementation in its own child process so peak memory (process.resourceUsage().maxRSS) is its own.
// Measures only; never asserts on time or memory. `node bench/matcher.mjs` runs every size; `MATCH_SIZES=10000,100000`
// picks sizes; `node bench/matcher.mjs <npm|map> <n>` is one child. Writes bench/results/match.json (every figure of
// the run, the ratios to the Map join, the machine's load) beside printing the table.
//
// The data is generated deterministically with the population of examples/bench_matcher.rs (same xorshift64*,
// seeds and kinds), so the npm figures sit beside `cargo run --release --example bench_matcher`.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const CHUNK = 10_000;
const SELF = fileURLToPath(import.meta.url);

// xorshift64*, as in examples/bench_matcher.rs.
const M64 = (1n << 64n) - 1n;
class Rng {
  constructor(seed) {
    this.s = seed;
  }
  next() {
    let s = this.s;
    s ^= s >> 12n;
    s = (s ^ (s << 25n)) & M64;
    s ^= s >> 27n;
    this.s = s;
    return (s * 0x2545f4914f6cdd1dn) & M64;
  }
}

const FIRST = ["Ann", "Bob", "Carla", "Dmitri", "Eve", "Farah", "Gus", "Hana", "Ivo", "June", "Kofi", "Lena"];
const name = (i) => `${FIRST[i % FIRST.length]} Family${i}`;
const pad = (n, w) => String(n).padStart(w, "0");

/** Per 20 indices: 6 reference matches, 6 email matches, 2 households, 2 name+postal, 2 partner-only, 2 Virtuous-only. */
function partner(i, rng) {
  const r = { id: `p${i}` };
  const k = i % 20;
  const noise = rng.next();
  if (k <= 5) {
    r.references = [{ source: "PartnerPlatform", id: `p${i}` }];
    r.emails = [`ref${i}@example.org`];
  } else if (k <= 11) {
    r.emails = [noise % 2n === 0n ? `  Donor${i}@Example.org ` : `donor${i}@example.org`];
  } else if (k <= 13) {
    r.emails = [`household${i - (k - 12)}@example.org`];
  } else if (k <= 15) {
    r.names = [name(i)];
    r.postalCodes = [`${pad(i % 100_000, 5)}-1234`];
  } else if (k <= 17) {
    r.emails = [`ponly${i}@example.org`];
  } else {
    r.emails = [`pother${i}@example.org`];
  }
  (r.names ??= []).push(`Person ${noise % 1000n}`);
  r.data = { i, n: Number(noise % 97n) };
  return r;
}

function virtuous(i, rng) {
  const r = { id: String(1_000_000 + i) };
  const k = i % 20;
  const noise = rng.next();
  if (k <= 5) {
    r.references = [{ source: "partnerplatform", id: `p${i}` }];
    r.emails = [`other${i}@example.org`];
  } else if (k <= 11) {
    r.emails = [`donor${i}@example.org`];
  } else if (k === 12) {
    r.emails = [`household${i}@example.org`, `kid${i}@example.org`];
  } else if (k === 14 || k === 15) {
    r.names = [name(i), `Partner Of${i}`];
    r.postalCodes = [pad(i % 100_000, 5)];
  } else {
    r.emails = [`vonly${i}@example.org`];
  }
  r.phones = [`555${pad(noise % 10_000_000n, 7)}`];
  r.data = { id: 1_000_000 + i };
  return r;
}

/** Calls feed(partnerChunk, virtuousChunk) for every chunk pair; returns the ms spent inside feed. */
function generate(n, feed) {
  const rp = new Rng(0x9e3779b97f4a7c15n);
  const rv = new Rng(0xd1b54a32d192ed03n);
  let ms = 0;
  for (let start = 0; start < n; start += CHUNK) {
    const end = Math.min(start + CHUNK, n);
    const pc = [];
    const vc = [];
    for (let i = start; i < end; i++) pc.push(partner(i, rp));
    for (let i = start; i < end; i++) vc.push(virtuous(i, rv));
    const t = performance.now();
    feed(pc, vc);
    ms += performance.now() - t;
  }
  return ms;
}

const mib = (bytes) => Math.round(bytes / 1048576);

async function runNpm(n) {
  const { InitialMatcher } = await import("virtuous-sync");
  // The default seed: 32 bytes from crypto.getRandomValues, as a user gets it.
  const m = new InitialMatcher({ partner: n, virtuous: n });
  const feedMs = generate(n, (pc, vc) => {
    m.addPartnerChunk(pc);
    m.addVirtuousChunk(vc);
  });
  const afterFeed = process.memoryUsage().rss;
  const t = performance.now();
  let progressCalls = 0;
  const plan = m.finish({ onProgress: () => void progressCalls++ });
  const finishMs = performance.now() - t;
  m.free();
  const c = plan.counts;
  return {
    feedMs,
    finishMs,
    afterFeed,
    pairs: c.pairsByTier,
    review: plan.review.length,
    partnerOnly: plan.partnerOnly.length,
    virtuousOnly: plan.virtuousOnly.length,
    progressCalls,
  };
}

/**
 * The plain JavaScript reference: Map indexes of external references and trimmed, lowercased emails, streamed
 * from the same chunks; one-to-one pairs by reference, then by email among the unpaired; a value shared by more
 * than one record on a side is a review item. No name+postal/phone tier and no digests (so it does less work).
 */
function runMap(n) {
  const refs = [new Map(), new Map()]; // key -> id | array of ids (partner, virtuous)
  const emails = [new Map(), new Map()];
  const ids = [[], []];
  const add = (map, key, id) => {
    const cur = map.get(key);
    if (cur === undefined) map.set(key, id);
    else if (Array.isArray(cur)) cur.push(id);
    else map.set(key, [cur, id]);
  };
  const index = (side, records) => {
    for (const r of records) {
      ids[side].push(r.id);
      for (const ref of r.references ?? []) add(refs[side], `${ref.source.trim().toLowerCase()}\u001f${ref.id.trim()}`, r.id);
      for (const e of r.emails ?? []) {
        const key = e.trim().toLowerCase();
        if (key) add(emails[side], key, r.id);
      }
    }
  };
  const feedMs = generate(n, (pc, vc) => {
    index(0, pc);
    index(1, vc);
  });
  const afterFeed = process.memoryUsage().rss;
  const t = performance.now();
  const pairedP = new Set();
  const pairedV = new Set();
  const held = [new Set(), new Set()];
  const pairs = [0, 0, 0];
  let review = 0;
  const join = (maps, tier) => {
    for (const [key, p] of maps[0]) {
      const v = maps[1].get(key);
      if (v === undefined) continue;
      const ps = (Array.isArray(p) ? p : [p]).filter((id) => !pairedP.has(id));
      const vs = (Array.isArray(v) ? v : [v]).filter((id) => !pairedV.has(id));
      if (ps.length === 0 || vs.length === 0) continue;
      if (ps.length === 1 && vs.length === 1) {
        pairedP.add(ps[0]);
        pairedV.add(vs[0]);
        pairs[tier]++;
      } else {
        review++;
        for (const id of ps) held[0].add(id);
        for (const id of vs) held[1].add(id);
      }
    }
  };
  join(refs, 0);
  join(emails, 1);
  const partnerOnly = ids[0].filter((id) => !pairedP.has(id) && !held[0].has(id)).length;
  const virtuousOnly = ids[1].filter((id) => !pairedV.has(id) && !held[1].has(id)).length;
  const finishMs = performance.now() - t;
  return { feedMs, finishMs, afterFeed, pairs, review, partnerOnly, virtuousOnly };
}

async function child(kind, n) {
  const r = kind === "npm" ? await runNpm(n) : runMap(n);
  r.peak = process.resourceUsage().maxRSS * 1024;
  console.log(JSON.stringify(r));
}

function parent() {
  const sizes = (process.env.MATCH_SIZES ?? "10000,100000,1000000").split(",").map(Number);
  console.log(`Initial match, contacts per side, chunks of ${CHUNK.toLocaleString("en")} per side (generation excluded), Node ${process.version}`);
  console.log("one child process per size and implementation; peak = process.resourceUsage().maxRSS of that child");
  console.log(
    "per side  | impl           |   feed s | finish s |  total s | peak MiB | after feed MiB | pairs ref/email/strong | review | p-only | v-only",
  );
  const report = {
    node: process.version,
    date: new Date().toISOString(),
    cpus: cpus().length,
    loadAverageAtStart: loadavg()[0],
    chunk: CHUNK,
    sizes: [],
  };
  for (const n of sizes) {
    const results = {};
    for (const kind of ["npm", "map"]) {
      let out;
      try {
        out = execFileSync(process.execPath, ["--max-old-space-size=16384", SELF, kind, String(n)], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "inherit"],
          maxBuffer: 1 << 20,
        });
      } catch (e) {
        console.log(`${n.toLocaleString("en").padStart(9)} | ${kind.padEnd(14)} | FAILED (exit ${e.status}): ${String(e.stdout ?? "").slice(0, 300)}`);
        continue;
      }
      const r = JSON.parse(out.trim().split("\n").pop());
      results[kind] = r;
      const s = (ms) => (ms / 1000).toFixed(2).padStart(8);
      console.log(
        `${n.toLocaleString("en").padStart(9)} | ${(kind === "npm" ? "InitialMatcher" : "JS Map join").padEnd(14)} | ${s(r.feedMs)} | ${s(r.finishMs)} | ${s(r.feedMs + r.finishMs)} | ${String(mib(r.peak)).padStart(8)} | ${String(mib(r.afterFeed)).padStart(14)} | ${r.pairs.join("/").padStart(22)} | ${String(r.review).padStart(6)} | ${String(r.partnerOnly).padStart(6)} | ${String(r.virtuousOnly).padStart(6)}`,
      );
    }
    const entry = { perSide: n };
    for (const [kind, r] of Object.entries(results)) {
      entry[kind] = { ...r, totalMs: r.feedMs + r.finishMs, peakMiB: mib(r.peak), afterFeedMiB: mib(r.afterFeed) };
    }
    if (results.npm && results.map) {
      const t = (r) => r.feedMs + r.finishMs;
      entry.npmOverMapTime = t(results.npm) / t(results.map);
      entry.npmOverMapPeak = results.npm.peak / results.map.peak;
      console.log(
        `${"".padStart(9)} | ratio npm / JS Map: time ${entry.npmOverMapTime.toFixed(2)}x, peak memory ${entry.npmOverMapPeak.toFixed(2)}x`,
      );
    }
    report.sizes.push(entry);
  }
  report.loadAverageAtEnd = loadavg()[0];
  const out = join(dirname(SELF), "results", "match.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${out}`);
  console.log("The JS Map join does the reference and email tiers only (no name+postal/phone tier, no base digests).");
  console.log("Native figures: cargo run --release --example bench_matcher (see bench/matcher_native.md).");
}

if (process.argv.length > 3) await child(process.argv[2], Number(process.argv[3]));
else parent();
