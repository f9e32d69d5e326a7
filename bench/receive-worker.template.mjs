// Benchmark worker, run in workerd by miniflare (bench/receive-workerd.mjs). The first import is pointed at the
// package's "workerd" export, so it loads what a Cloudflare Worker would. workerd freezes its clocks during
// execution (a Spectre mitigation), so the timing is taken outside: POST /run {impl, size, n} runs `n` receives
// and answers when done; the caller subtracts an n = 0 round trip.
import { SyncCore, verifySignature } from "__PACKAGE_ENTRY__";
import { SECRET, SIZES, deliveryText, proxyHeaders } from "./delivery.mjs";

const enc = new TextEncoder();
const dec = new TextDecoder();
const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
const NOW = 1_700_000_000_000;
let prepared;
let sink = 0;

async function prepare() {
  const key = await crypto.subtle.importKey("raw", enc.encode(SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  const core = new SyncCore({ secrets: [SECRET], platformName: "bench" });
  const cases = {};
  for (const size of SIZES) {
    const body = enc.encode(deliveryText(size));
    const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, body));
    const headers = { "x-virtuous-signature": hex(sig), "content-type": "application/json" };
    // What a Worker's request.headers holds behind Cloudflare: a Fetch Headers of fifteen.
    const requestHeaders = new Headers(proxyHeaders(hex(sig), body.length));
    cases[size] = { body, sig, sigHex: hex(sig), headers, requestHeaders };
  }
  const seen = new Map();
  const impls = {
    "webcrypto-verify": async (c) => (sink ^= (await crypto.subtle.verify("HMAC", key, c.sig, c.body)) ? 1 : 0),
    // The hand-written pipeline with the engine's own primitives: WebCrypto verify, TextDecoder, JSON.parse, a Map.
    "webcrypto-pipeline": async (c) => {
      if (!(await crypto.subtle.verify("HMAC", key, c.sig, c.body))) return;
      const text = dec.decode(c.body);
      const doc = JSON.parse(text);
      const k = Object.keys(doc).find((x) => x !== "event");
      const r = doc[k];
      const id = `${doc.event}:${r.id}:${r.modifiedDateTimeUtc ?? ""}:${text.length}`;
      if (!seen.has(id)) {
        seen.set(id, true);
        if (seen.size > 10_000) seen.delete(seen.keys().next().value);
      }
      sink ^= 1;
    },
    verifySignature: (c) => (sink ^= verifySignature(c.body, c.sigHex, [SECRET], { nowMs: NOW }).ok ? 1 : 0),
    receive: (c) => (sink ^= core.receive(c.body, c.headers, NOW).status),
    "receive, 15 Headers": (c) => (sink ^= core.receive(c.body, c.requestHeaders, NOW).status),
  };
  // Sanity, not timed: every path accepts every delivery.
  for (const c of Object.values(cases)) {
    if (!(await crypto.subtle.verify("HMAC", key, c.sig, c.body))) throw new Error("webcrypto rejected");
    if (!verifySignature(c.body, c.sigHex, [SECRET], { nowMs: NOW }).ok) throw new Error("verifySignature rejected");
    if (!core.receive(c.body, c.headers, NOW).authentic) throw new Error("receive rejected");
    if (!core.receive(c.body, c.requestHeaders, NOW).authentic) throw new Error("receive rejected the request's Headers");
  }
  return { cases, impls };
}

export default {
  async fetch(request) {
    prepared ??= await prepare();
    const url = new URL(request.url);
    if (url.pathname === "/impls") return Response.json(Object.keys(prepared.impls));
    const { impl, size, n } = await request.json();
    const fn = prepared.impls[impl];
    const c = prepared.cases[size];
    if (!fn || !c) return new Response("unknown impl or size", { status: 400 });
    for (let i = 0; i < n; i++) await fn(c);
    return Response.json({ done: n, sink: sink & 1 });
  },
};
