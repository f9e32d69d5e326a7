// The npm package's surface in Node: both module systems, argument shapes, secrets, errors.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import { APP, importPackage, requirePackage } from "./support/package.mjs";

const cjs = requirePackage();
const esm = await importPackage();
const SECRET = "k3y-for-tests-0123456789abcdefghijklmnopqrstuvwxyz";
const CONFIG = { secrets: [SECRET], platformName: "test-platform" };
const BODY = '{"event":"GiftCreate","gift":{"id":78421,"modifiedDateTimeUtc":"2024-05-01T10:00:00Z","amount":25}}';
const NOW = 1_700_000_000_000;
const ENTRIES = ["virtuous-sync", "virtuous-sync/receive"];
/** Runs `script` in a fresh Node process beside the installed package; what it printed last, as JSON. */
const fresh = (script, { esm = false } = {}) =>
  JSON.parse(execFileSync(process.execPath, [...(esm ? ["--input-type=module"] : []), "-e", script], { cwd: APP, encoding: "utf8" }));

describe("module systems", () => {
  test("CommonJS require exposes the API", () => {
    for (const name of ["SyncCore", "verifySignature", "signBody", "generateSecret"]) {
      assert.equal(typeof cjs[name], "function", name);
    }
  });
  test("the glue's setters (what it lends the wasm) are not part of the API", () => {
    for (const mod of [cjs, esm]) assert.deepEqual(Object.keys(mod).filter((k) => k.startsWith("__")), []);
  });
  test("ESM import exposes the same instance", () => {
    for (const name of ["SyncCore", "verifySignature", "signBody", "generateSecret"]) {
      assert.equal(esm[name], cjs[name], name);
    }
  });
  test("a fresh process can require and import by name (synchronous init)", () => {
    const script = (mod) =>
      `const s = ${mod}.signBody("{}", ${JSON.stringify(SECRET)});` +
      `const r = new ${mod}.SyncCore(${JSON.stringify(CONFIG)}).receive("{}", s.headers);` +
      "if (!r.authentic) throw new Error(JSON.stringify(r)); console.log('ok');";
    const out1 = execFileSync(process.execPath, ["-e", `const m = require("virtuous-sync"); ${script("m")}`], { cwd: APP, encoding: "utf8" });
    assert.equal(out1.trim(), "ok");
    const out2 = execFileSync(process.execPath, ["--input-type=module", "-e", `import * as m from "virtuous-sync"; ${script("m")}`], { cwd: APP, encoding: "utf8" });
    assert.equal(out2.trim(), "ok");
  });
});

describe("start cost", () => {
  test("importing either entry never runs Node's CommonJS export scanner on the glue", () => {
    // The ESM entries load the glue by require: scanning its exports loaded Node's lexer and, for the full glue, an
    // optimising compile of it that held a short process's exit 15-20 ms (docs/performance.md, "Eighth round").
    for (const entry of ENTRIES) {
      const script =
        `import * as m from "${entry}"; import { createRequire } from "node:module";` +
        `const same = createRequire(import.meta.url)("${entry}").SyncCore === m.SyncCore;` +
        `console.log(JSON.stringify([same, process.moduleLoadList.some((x) => x.includes("cjs-module-lexer"))]));`;
      assert.deepEqual(fresh(script, { esm: true }), [true, false], entry);
    }
  });
});

describe("the SHA-256 lent by node:crypto", () => {
  test("is what the core hashes with: a skewed one rejects authentic deliveries", () => {
    // node:crypto's createHash and hash are replaced, in a fresh process and before the first call, by versions that
    // hash one extra byte first. If the core used its built-in SHA-256 (the lent one missing, or its answer not
    // understood), the deliveries below would verify; with the skewed one in use they must not.
    for (const entry of ENTRIES) {
      const script =
        `const c = require("node:crypto"); const { createHash, hash } = c; let calls = 0;` +
        `c.createHash = (a) => { calls++; return createHash(a).update(new Uint8Array([1])); };` +
        `if (hash) c.hash = (a, d, e) => { calls++; return createHash(a).update(new Uint8Array([1])).update(d).digest(e); };` +
        `const m = require("${entry}"); const S = ${JSON.stringify(SECRET)};` +
        `const answers = [];` +
        `for (const size of [10, 1024, 70000]) {` +
        `  const body = Buffer.from(JSON.stringify({ event: "GiftCreate", gift: { id: 7, notes: "x".repeat(size) } }));` +
        `  const sig = c.createHmac("sha256", S).update(body).digest("hex");` +
        `  const core = new m.SyncCore({ secrets: [S], platformName: "p" });` +
        `  answers.push(core.receive(body, { "x-virtuous-signature": sig }).authentic, m.verifySignature(body, sig, [S]).ok);` +
        `}` +
        `console.log(JSON.stringify([calls > 0, answers]));`;
      assert.deepEqual(fresh(script), [true, [false, false, false, false, false, false]], entry);
    }
  });
});

describe("body shapes", () => {
  const signed = cjs.signBody(BODY, SECRET);
  const bytes = new TextEncoder().encode(BODY);
  const shapes = {
    string: BODY,
    Uint8Array: bytes,
    Buffer: Buffer.from(BODY),
    ArrayBuffer: bytes.slice().buffer,
    "Uint8Array view into a larger buffer": (() => {
      const big = Buffer.concat([Buffer.from("xx"), Buffer.from(BODY), Buffer.from("yy")]);
      return new Uint8Array(big.buffer, big.byteOffset + 2, bytes.length);
    })(),
    DataView: new DataView(bytes.slice().buffer),
  };
  const receipts = Object.fromEntries(
    Object.entries(shapes).map(([k, body]) => [k, new cjs.SyncCore(CONFIG).receive(body, signed.headers, NOW)]),
  );
  test("every shape gives the same authentic receipt", () => {
    assert.equal(receipts.string.authentic, true, JSON.stringify(receipts.string));
    for (const [k, r] of Object.entries(receipts)) assert.deepEqual(r, receipts.string, k);
  });
  test("signBody and verifySignature agree across shapes", () => {
    for (const [k, body] of Object.entries(shapes)) {
      assert.deepEqual(cjs.signBody(body, SECRET), signed, k);
      const header = Object.values(signed.headers)[0];
      assert.equal(cjs.verifySignature(body, signed.signature, [SECRET], { nowMs: NOW }).ok, true, k);
      assert.ok(header.includes(signed.signature) || header.length > 0, k);
    }
  });
  test("bytes are not re-encoded: a non-UTF-8 body verifies", () => {
    const raw = Uint8Array.from([0xff, 0xfe, 0x00, 0x80, 0x7b, 0x7d]);
    const s = cjs.signBody(raw, SECRET);
    assert.equal(cjs.verifySignature(raw, s.signature, [SECRET], { nowMs: NOW }).ok, true);
    const r = new cjs.SyncCore(CONFIG).receive(Buffer.from(raw), s.headers, NOW);
    assert.equal(r.authentic, true, JSON.stringify(r));
  });
  test("a string body is its UTF-8, at every length and with every kind of character", () => {
    // The glue encodes a string argument with encodeInto in two passes (scripts/post-glue.mjs); the bytes must be
    // TextEncoder's whole-string bytes, lone surrogates as U+FFFD included, wherever the first pass stops.
    const pieces = ["a", "é", "€", "😀", "\ud800", "\udc00", "\u0000", "\u00e9a", "\ufeff"];
    let seed = 7;
    const next = (k) => (seed = (seed * 1103515245 + 12345) % 2147483648) % k;
    for (let i = 0; i < 1500; i++) {
      let s = "x".repeat(next(3) === 0 ? next(2000) : next(8));
      for (let j = next(10); j > 0; j--) s += pieces[next(pieces.length)];
      s += "y".repeat(next(40));
      assert.equal(cjs.signBody(s, SECRET).signature, cjs.signBody(Buffer.from(new TextEncoder().encode(s)), SECRET).signature, JSON.stringify(s));
    }
  });
  test("a string body's record is the one its bytes give (the glue keeps the string instead of a copy)", () => {
    const core = new cjs.SyncCore(CONFIG);
    for (const text of [
      BODY,
      `\ufeff${BODY}`,
      '{"event":"GiftCreate","gift":{"id":7,"note":"café ☕ 😀 \ud800 end","amount":1}}',
      '{"event":"GiftCreate","data":{"gift":{"id":8,"n":"\u00e9"}}}',
    ]) {
      const bytes = Buffer.from(new TextEncoder().encode(text));
      const headers = cjs.signBody(bytes, SECRET).headers;
      const fromString = core.receive(text, headers, NOW);
      const fromBytes = core.receive(bytes, headers, NOW);
      assert.equal(fromString.authentic, true, JSON.stringify(fromString));
      assert.equal(fromString.status, 200, JSON.stringify(fromString));
      assert.deepEqual(fromString, fromBytes, text);
      assert.deepEqual(fromString.event.resource, fromBytes.event.resource, text);
    }
  });
  test("the record is read from a copy: the caller's buffer and later deliveries cannot change it", () => {
    // The glue copies the body out of the wasm memory when receive returns (Node: a pooled Buffer); reusing the
    // caller's buffer, or the wasm memory for other deliveries, must not reach a record not yet read.
    const core = new cjs.SyncCore(CONFIG);
    const buf = Buffer.from(BODY);
    const first = core.receive(buf, signed.headers, NOW);
    buf.fill(0x20);
    const others = [];
    for (let i = 0; i < 50; i++) {
      const text = `{"event":"GiftCreate","gift":{"id":${i},"notes":"${"z".repeat(i * 40)}"}}`;
      others.push(core.receive(Buffer.from(text), cjs.signBody(text, SECRET).headers, NOW));
    }
    assert.deepEqual(first.event.resource, JSON.parse(BODY).gift);
    others.forEach((r, i) => assert.equal(r.event.resource.id, i));
  });
  test("a tampered byte fails", () => {
    const r = new cjs.SyncCore(CONFIG).receive(BODY.replace("25", "26"), signed.headers, NOW);
    assert.equal(r.authentic, false);
    assert.equal(r.status, 401);
  });
});

describe("header shapes", () => {
  const signed = cjs.signBody(BODY, SECRET);
  const [name, value] = Object.entries(signed.headers)[0];
  const extra = { "content-type": "application/json", "x-forwarded-for": ["10.0.0.1", "10.0.0.2"] };
  const shapes = {
    "plain object": { ...extra, [name]: value, "x-absent": undefined },
    "plain object, array value": { ...extra, [name]: [value] },
    "plain object, mixed-case name": { ...extra, [name.toUpperCase()]: value },
    "Fetch Headers": new Headers([["content-type", "application/json"], [name, value]]),
    "array of pairs": [["content-type", "application/json"], [name, value]],
    Map: new Map([[name, value]]),
    // The glue hands plain objects and Fetch Headers over as one string (scripts/post-glue.mjs, flatHeaders);
    // what it declines is walked value by value, and must come out the same.
    "plain object, many headers": {
      host: "hooks.example.org",
      "user-agent": "Virtuous",
      ...extra,
      "x-request-id": "r-1",
      traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      [name]: value,
      connection: "close",
    },
    "plain object, a NUL in another header (walked)": { ...extra, "x-odd": "a\u0000b", [name]: value },
    "plain object, a NUL in another name (walked)": { ...extra, "x-\u0000odd": "a", [name]: value },
    "null-prototype object": Object.assign(Object.create(null), extra, { [name]: value }),
    // Says it is a Headers but is not one: read as the plain object it is.
    "an object whose toStringTag is Headers": { ...extra, [name]: value, [Symbol.toStringTag]: "Headers" },
    "one-shot iterator (walked once)": (function* () {
      yield ["content-type", "application/json"];
      yield [name, value];
    })(),
  };
  test("every shape gives the same receipt", () => {
    const core = new cjs.SyncCore(CONFIG);
    const base = core.receive(BODY, shapes["plain object"], NOW);
    assert.equal(base.authentic, true, JSON.stringify(base));
    for (const [k, h] of Object.entries(shapes)) assert.deepEqual(core.receive(BODY, h, NOW), base, k);
  });
  test("repeated and non-ASCII headers keep their order and text, flattened or walked", () => {
    // Two signature headers: the receipt must see both, in order, whichever way they crossed.
    const core = new cjs.SyncCore(CONFIG);
    const twice = { [name]: [value, "00".repeat(32)], "x-note": "café\u00a0☕" };
    const walked = [
      [name, value],
      [name, "00".repeat(32)],
      ["x-note", "café\u00a0☕"],
    ];
    const a = core.receive(BODY, twice, NOW);
    assert.deepEqual(a, core.receive(BODY, walked, NOW));
    const fetchHeaders = new Headers([["x-note", "café"]]);
    fetchHeaders.append("set-cookie", "a=1");
    fetchHeaders.append("set-cookie", "b=2");
    fetchHeaders.append(name, value);
    const r = core.receive(BODY, fetchHeaders, NOW);
    assert.equal(r.authentic, true);
    // The same pairs walked from the Headers' own iterator (what the adapter reads when nothing is lent).
    assert.deepEqual(r, core.receive(BODY, [...fetchHeaders], NOW));
  });
  test("plain-object headers never load Node's fetch implementation (a first receive 12 ms slower)", () => {
    // In Node the global Headers is a lazy getter that loads undici; the glue must look at it only for a value that
    // says it is a Headers. Run in a fresh process: the test runner may have loaded it already.
    const script = (entry) =>
      `const m = require("${entry}"); const s = m.signBody("{}", ${JSON.stringify(SECRET)});` +
      `const core = new m.SyncCore(${JSON.stringify(CONFIG)});` +
      `const [n, v] = Object.entries(s.headers)[0];` +
      `const shapes = [{ [n]: v }, Object.assign(Object.create(null), { [n]: v }), [[n, v]], new Map([[n, v]])];` +
      `for (const h of shapes) if (!core.receive("{}", h).authentic) throw new Error("not authentic");` +
      `if (!m.verifySignature("{}", s.signature, [${JSON.stringify(SECRET)}]).ok) throw new Error("invalid");` +
      `const loaded = () => process.moduleLoadList.some((x) => x.includes("undici"));` +
      `const before = loaded();` +
      `const r = core.receive("{}", new Headers([[n, v]]));` +
      `console.log(JSON.stringify([before, loaded(), r.authentic]));`;
    for (const entry of ENTRIES) assert.deepEqual(fresh(script(entry)), [false, true, true], entry);
  });
  test("no headers at all is a 401 receipt, not a throw", () => {
    const r = new cjs.SyncCore(CONFIG).receive(BODY, {}, NOW);
    assert.equal(r.authentic, false);
    assert.equal(r.status, 401);
  });
});

describe("receipts", () => {
  test("optional fields are absent, never null", () => {
    const r = new cjs.SyncCore(CONFIG).receive(BODY, {}, NOW);
    const walk = (v, path) => {
      assert.notEqual(v, null, `${path} is null`);
      if (typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
    };
    walk(r, "receipt");
    assert.equal(Object.getPrototypeOf(r), Object.prototype, "receipt is a plain object");
  });
  test("JSON nulls inside the raw resource stay null; optional receipt fields stay absent", () => {
    const b = JSON.stringify({ event: "GiftCreate", gift: { id: 1, notes: null, tags: [null, 1] } });
    const r = new cjs.SyncCore(CONFIG).receive(b, cjs.signBody(b, SECRET).headers, NOW);
    assert.equal(r.authentic, true, JSON.stringify(r));
    assert.deepEqual(r.event.resource, { id: 1, notes: null, tags: [null, 1] });
    assert.ok(!("error" in r), "no error property on an accepted receipt");
    assert.ok(!("secretId" in r), "no secretId property when the secret has no id");
  });
  test("nowMs defaults to Date.now()", () => {
    const signed = cjs.signBody(BODY, SECRET);
    const r = new cjs.SyncCore(CONFIG).receive(BODY, signed.headers);
    assert.equal(r.authentic, true, JSON.stringify(r));
  });
});

describe("generateSecret", () => {
  test("default: 32 bytes base64url, unique", () => {
    const seen = new Set();
    for (let i = 0; i < 200; i++) {
      const s = cjs.generateSecret();
      assert.match(s, /^[A-Za-z0-9_-]{43}$/);
      seen.add(s);
    }
    assert.equal(seen.size, 200);
  });
  test("hex, bytes: 48", () => {
    assert.match(cjs.generateSecret({ format: "hex", bytes: 48 }), /^[0-9a-f]{96}$/);
  });
  test("whsec", () => {
    const s = cjs.generateSecret({ format: "whsec" });
    assert.match(s, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(s.slice(6), "base64").length, 32);
  });
  test("fewer than 32 bytes is refused", () => {
    assert.throws(() => cjs.generateSecret({ bytes: 16 }), (e) => e instanceof Error && e.name === "VirtuousSyncError" && typeof e.code === "string");
  });
  test("a generated secret signs and verifies", () => {
    const s = cjs.generateSecret();
    const signed = cjs.signBody(BODY, s);
    assert.equal(cjs.verifySignature(BODY, signed.signature, [s], { nowMs: NOW }).ok, true);
  });
});

describe("errors", () => {
  const isVse = (code, field) => (e) => {
    assert.ok(e instanceof Error, "instanceof Error");
    assert.equal(e.name, "VirtuousSyncError");
    assert.equal(typeof e.message, "string");
    assert.ok(e.stack, "has a stack");
    if (code) assert.equal(e.code, code);
    if (field !== undefined) assert.equal(e.field, field);
    return true;
  };
  test("config errors carry code and field", () => {
    assert.throws(() => new cjs.SyncCore({ secrets: [], platformName: "p" }), isVse("no-secrets"));
    assert.throws(() => new cjs.SyncCore({ secrets: [SECRET] }), isVse(undefined));
    assert.throws(() => new cjs.SyncCore({ secrets: [SECRET], platformName: "p", scheme: "nope" }), isVse(undefined));
  });
  test("wrong argument types throw invalid-argument, never a panic", () => {
    const core = new cjs.SyncCore(CONFIG);
    assert.throws(() => core.receive(42, {}), isVse("invalid-argument", "body"));
    assert.throws(() => core.receive({ not: "bytes" }, {}), isVse("invalid-argument", "body"));
    assert.throws(() => core.receive(BODY, null), isVse("invalid-argument", "headers"));
    assert.throws(() => core.receive(BODY, "x-virtuous-signature: a"), isVse("invalid-argument", "headers"));
    assert.throws(() => core.receive(BODY, { a: 1 }), isVse("invalid-argument", "headers"));
    assert.throws(() => core.receive(BODY, [["a"]].map(() => 5)), isVse("invalid-argument", "headers"));
    assert.throws(() => core.receive(BODY, {}, "now"), isVse("invalid-argument", "nowMs"));
    assert.throws(() => core.receive(BODY, {}, Number.NaN), isVse("invalid-argument", "nowMs"));
    assert.throws(() => cjs.verifySignature(BODY, 7, [SECRET]), isVse("invalid-argument", "headerValue"));
    assert.throws(() => cjs.signBody(BODY, SECRET, { scheme: () => 1 }), isVse(undefined));
    assert.throws(() => new cjs.SyncCore(Symbol("x")), isVse(undefined));
    // the instance is still usable after all of that
    assert.equal(core.receive(BODY, cjs.signBody(BODY, SECRET).headers, NOW).authentic, true);
  });
  test("undefined properties are absent (not null), cyclic arguments are refused", () => {
    // undefined everywhere optional: same as leaving it out
    const core = new cjs.SyncCore({ ...CONFIG, scheme: undefined, maxDepth: undefined, diagnostics: undefined });
    assert.equal(core.receive(BODY, cjs.signBody(BODY, SECRET).headers, NOW).authentic, true);
    // a preset's timestamp header survives `timestampHeader: undefined` (null would clear it)
    const sw = { preset: "standard-webhooks", timestampHeader: undefined };
    const whsec = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
    const ts = Math.floor(NOW / 1000);
    const signed = cjs.signBody(BODY, whsec, { scheme: sw, timestamp: ts, id: "msg_1" });
    const r = new cjs.SyncCore({ secrets: [whsec], platformName: "p", scheme: sw }).receive(BODY, signed.headers, NOW);
    assert.equal(r.authentic, true, JSON.stringify(r));
    assert.equal(r.replay, "checked");
    const cyclic = { secrets: [SECRET], platformName: "p" };
    cyclic.self = cyclic;
    assert.throws(() => new cjs.SyncCore(cyclic), isVse("invalid-argument"));
    assert.throws(() => cjs.verifySignature(BODY, "x", [SECRET], { nowMs: Number.POSITIVE_INFINITY }), isVse("invalid-argument", "options.nowMs"));
  });
  test("a thrown error never contains the secret", () => {
    const weak = "short-secret-TEXT";
    const attempts = [
      () => new cjs.SyncCore({ secrets: [weak], platformName: "p" }),
      () => new cjs.SyncCore({ secrets: [{ id: "a", secret: weak, notAfter: "soon" }], platformName: "p" }),
      () => new cjs.SyncCore({ secrets: [` ${SECRET}\n`, 5], platformName: "p" }),
      () => cjs.verifySignature(BODY, "x", [weak]),
      () => cjs.signBody(BODY, weak),
      () => cjs.signBody(BODY, `whsec_${weak}`, { scheme: "standard-webhooks" }),
    ];
    let thrown = 0;
    for (const f of attempts) {
      try {
        f();
      } catch (e) {
        thrown++;
        const text = `${e.message} ${e.stack} ${e.code} ${e.field} ${JSON.stringify(e)}`;
        assert.ok(!text.includes(weak), `error leaks the secret: ${e.message}`);
        assert.ok(!text.includes(SECRET), `error leaks the secret: ${e.message}`);
      }
    }
    assert.ok(thrown >= 3, `expected most attempts to throw, ${thrown} did`);
  });
});
