// Every shared vector inside workerd (miniflare 4, in-process, loopback only) against the package's
// "workerd" export, which initialises the wasm from a statically imported WebAssembly.Module.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { checkOutcome } from "../js/support/match.mjs";
import { loadVectorFiles } from "../js/support/vectors.mjs";
import { runJsonCase, startWorker } from "./worker.mjs";

// Header sets that survive a real HTTP hop unchanged go as real request headers; the others (repeated names,
// which Fetch joins with ", "; surrounding whitespace, which Fetch trims; non-printable or non-ASCII bytes; names
// the HTTP layer owns) go as pairs inside a JSON request, handed to receive() as an iterable of pairs.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const OWNED = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer", "expect"]);
function httpSafe(c) {
  if (c.op !== "receive") return false;
  const pairs = c.input.headers ?? [];
  const names = pairs.map(([n]) => n.toLowerCase());
  if (new Set(names).size !== names.length) return false;
  let total = 0;
  for (const [name, value] of pairs) {
    if (!TOKEN.test(name) || OWNED.has(name.toLowerCase()) || name.toLowerCase().startsWith("cf-")) return false;
    if (!/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value) && value !== "") return false;
    total += name.length + value.length;
  }
  return total < 16_000 && encodeURIComponent(JSON.stringify(c)).length < 16_000;
}
function bodyBytes(c) {
  // Decoded in Node only for the HTTP transport; the JSON transport decodes inside the worker.
  const spec = c.input.body ?? { utf8: "" };
  if ("utf8" in spec) return Buffer.from(spec.utf8, "utf8");
  if ("base64" in spec) return Buffer.from(spec.base64, "base64");
  if ("hex" in spec) return Buffer.from(spec.hex, "hex");
  const unit = bodyBytes({ input: { body: { ...spec.repeat, count: undefined } } });
  return Buffer.concat(Array(spec.repeat.count).fill(unit));
}

let mf;
let base;
const transports = { http: 0, json: 0 };

before(async () => {
  ({ mf, base } = await startWorker(".", "edge-worker"));
});

after(async () => {
  await mf?.dispose();
  console.log(`edge transports: ${transports.http} cases over real HTTP headers, ${transports.json} as JSON`);
});

async function runInWorker(c) {
  let res;
  if (httpSafe(c)) {
    transports.http++;
    const { body, headers, ...rest } = c.input;
    const url = new URL("/http-case", base);
    url.searchParams.set("case", JSON.stringify({ ...c, input: rest }));
    res = await mf.dispatchFetch(url, { method: "POST", body: bodyBytes(c), headers });
  } else {
    transports.json++;
    return runJsonCase({ mf, base }, c);
  }
  const text = await res.text();
  assert.equal(res.status, 200, `worker failed: ${text.slice(0, 2000)}`);
  return JSON.parse(text);
}

test("generateSecret works inside workerd (crypto.getRandomValues)", async () => {
  const res = await mf.dispatchFetch(new URL("/generate-secret", base));
  const { secrets } = await res.json();
  assert.equal(secrets.length, 2);
  assert.notEqual(secrets[0], secrets[1]);
  for (const s of secrets) assert.ok(s.length >= 43, s);
});

test("a rate budget stored between stateless worker requests keeps a Retry-After (RateBudget.fromJSON)", async () => {
  const call = async (body) => {
    const res = await mf.dispatchFetch(new URL("/rate-budget", base), { method: "POST", body: JSON.stringify(body) });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return JSON.parse(text);
  };
  const now = 1_763_900_000_000;
  const first = await call({
    state: null,
    observation: { status: 429, headers: { retryAfter: "30" }, nowMs: now },
    request: { cost: 1, priority: "live", nowMs: now },
  });
  assert.equal(first.decision.go, false, JSON.stringify(first));
  // A later request, handled by a fresh isolate that only has the stored state.
  const second = await call({ state: first.state, request: { cost: 1, priority: "live", nowMs: now + 10_000 } });
  assert.deepEqual([second.decision.go, second.decision.reason], [false, "retry-after"], JSON.stringify(second));
  assert.ok(second.decision.waitMs >= 20_000, JSON.stringify(second));
  const later = await call({ state: second.state, request: { cost: 1, priority: "live", nowMs: now + 31_000 } });
  assert.equal(later.decision.go, true, JSON.stringify(later));
});

const files = loadVectorFiles();
test("random input to every export inside workerd: zero traps (VirtuousSyncError or a value, never a RuntimeError)", async () => {
  const res = await mf.dispatchFetch(new URL("/fuzz", base), { method: "POST", body: JSON.stringify({ files, seed: 0x27d4eb2f }) });
  const { calls, traps } = await res.json();
  assert.deepEqual(traps, [], `${traps.length} of ${calls} calls trapped`);
  assert.ok(calls > 2500, `${calls} calls`);
});
test("there are vectors to run", () => {
  assert.ok(files.reduce((n, f) => n + f.cases.length, 0) > 0, "no vector cases found in tests/vectors/");
});
for (const { file, cases } of files) {
  describe(`workerd: ${file}`, () => {
    for (const c of cases) {
      test(c.name, async () => {
        const outcome = await runInWorker(c);
        assert.deepEqual(checkOutcome(c, outcome), [], `${file} / ${c.name}${c.why ? ` (${c.why})` : ""}`);
      });
    }
  });
}
