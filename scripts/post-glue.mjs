#!/usr/bin/env node
// Post-processes the wasm-bindgen glue (scripts/build-pkg runs it on every pkg/dist/*/virtuous_sync_js.js):
//  - every glue lends the instance `lazyResource` (below): a receipt's `event.resource` is built by the engine's
//    own JSON.parse from a copy of the validated body when first read, not converted value by value from wasm;
//  - the Node glue (`--target nodejs`) is made lazy: `require("virtuous-sync")` only loads JavaScript, the .wasm
//    is read, compiled and instantiated on the first call into it (the first `new SyncCore`, `verifySignature`,
//    ...); and it lends Node's own SHA-256 (`node:crypto`, native) for the long hashes over a body. The core
//    builds the HMAC from it and decides everything (bindings/js/src/host.rs). The setters are removed from the
//    CommonJS exports, so they are not part of the package's API (the ESM entries never re-export them);
//  - the Node glue makes its TextDecoder on first use too (it costs a tenth of the receive entry's start);
//  - every glue tests its DataView of the wasm memory for a grown memory by the old buffer's byteLength (below);
//  - every glue lends `flatHeaders` (a headers value as one string, one crossing instead of several per header) and
//    passes strings into wasm with the engine's encodeInto instead of a per-character loop (below);
//  - the lazy record keeps a string body as the caller passed it (strings cannot change) instead of a copy;
//  - the Node glue that cannot read its .wasm (a bundler left it behind) says so and what to do (bundled-hint.mjs).
// Usage: node scripts/post-glue.mjs node|web <glue.js>...  Fails loudly when the glue does not have the expected
// shape (the wasm-bindgen CLI is pinned, see scripts/setup).
import { readFileSync, writeFileSync } from "node:fs";
import { BUNDLED } from "./bundled-hint.mjs";

const LAZY_RESOURCE = `
// Added by scripts/post-glue.mjs: event.resource, parsed from the body on first read: a copy of its bytes, or the
// string the caller passed (strings cannot change, so it is kept as it is, without a copy). Called with the event
// as \`this\`.
function bodyText(source) {
    if (typeof source !== 'string') return new TextDecoder().decode(source); // drops a leading BOM, as the core does
    // The core read the string's UTF-8, where a lone surrogate became U+FFFD: the same text here.
    const text = typeof source.toWellFormed === 'function'
        ? source.toWellFormed()
        : new TextDecoder().decode(new TextEncoder().encode(source));
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
function lazyResource(body, key, inner) {
    const event = this;
    let source = typeof body === 'string' ? body : copyBytes(body);
    Object.defineProperty(event, 'resource', {
        enumerable: true,
        configurable: true,
        get() {
            let value;
            if (source !== undefined) {
                const doc = JSON.parse(bodyText(source));
                value = inner === undefined ? doc[key] : doc[key][inner];
                source = undefined;
            }
            Object.defineProperty(event, 'resource', { value, writable: true, enumerable: true, configurable: true });
            return value;
        },
        set(value) {
            source = undefined;
            Object.defineProperty(event, 'resource', { value, writable: true, enumerable: true, configurable: true });
        },
    });
}
`;

// The headers in one crossing (bindings/js/src/host.rs, set_flat_headers): "name\0value\0..." for a plain
// object of string / string[] / undefined values or a Fetch Headers, undefined for anything else (the adapter then
// walks it, with its own errors). A NUL inside a name or value would shift the pairs, so such headers are declined
// too. Iterables other than Headers are declined before they are read: a one-shot iterator must not be half
// consumed. The global Headers is looked at only for a value whose toStringTag says "Headers": in Node the global is
// a lazy getter that loads the fetch implementation (undici), 12 ms on a first receive with plain-object headers.
const FLAT_HEADERS = `
// Added by scripts/post-glue.mjs: a headers value as one string, or undefined.
function flatHeaders(h) {
    let out = '';
    if (h[Symbol.toStringTag] === 'Headers' && typeof Headers === 'function' && h instanceof Headers) {
        // forEach, not for...of: the same pairs in the same order, and in workerd 3 µs for fifteen headers
        // where the iterator takes 8 (a Headers can be read again, so declining after reading it is safe).
        let ok = true;
        h.forEach((value, name) => {
            if (name.includes('\\0') || value.includes('\\0')) ok = false;
            out += name + '\\0' + value + '\\0';
        });
        return ok ? out : undefined;
    }
    if (typeof h[Symbol.iterator] === 'function') return undefined;
    for (const name of Object.keys(h)) {
        if (name.includes('\\0')) return undefined;
        const value = h[name];
        if (typeof value === 'string') {
            if (value.includes('\\0')) return undefined;
            out += name + '\\0' + value + '\\0';
        } else if (Array.isArray(value)) {
            for (const v of value) {
                if (typeof v !== 'string' || v.includes('\\0')) return undefined;
                out += name + '\\0' + v + '\\0';
            }
        } else if (value !== undefined) {
            return undefined;
        }
    }
    return out;
}
`;

// The runtime's own SHA-256 (node:crypto, native and hardware-accelerated) lent to the core, which builds every
// HMAC from it and decides (bindings/js/src/host.rs). A body alone (the dedupe key's digest) goes through the
// one-shot crypto.hash where the runtime has it (Node 20.12+, Bun, Deno, workerd): no Hash object to make, about
// 0.4 µs less for a 1 KB body. The digest comes back as hex text, which the adapter decodes: in Node 20 a digest
// as a Buffer took 0.3-0.4 µs longer than as hex (the Buffer's allocation), more than the 64 characters cost to
// cross.
const HOST_SHA256 = `
// Added by scripts/post-glue.mjs: SHA-256 of head ‖ body by node:crypto, as hex, or undefined without one.
function hostSha256(nodeCrypto) {
    const createHash = nodeCrypto?.createHash;
    if (typeof createHash !== 'function') return undefined;
    const hash = nodeCrypto.hash;
    const streamed = (head, body) => createHash('sha256').update(head).update(body).digest('hex');
    return typeof hash === 'function'
        ? (head, body) => (head.length === 0 ? hash('sha256', body, 'hex') : streamed(head, body))
        : streamed;
}
`;

const NODE_EAGER = `const wasmPath = \`\${__dirname}/virtuous_sync_js_bg.wasm\`;
const wasmBytes = require('fs').readFileSync(wasmPath);
const wasmModule = new WebAssembly.Module(wasmBytes);
let wasmInstance = new WebAssembly.Instance(wasmModule, __wbg_get_imports());
let wasm = wasmInstance.exports;
wasm.__wbindgen_start();
`;

const NODE_LAZY = `// Rewritten by scripts/post-glue.mjs: instantiated on first use; Node's SHA-256 and lazyResource lent to it.
const setHostSha256 = exports.__setHostSha256;
const setLazyResource = exports.__setLazyResource;
const setFlatHeaders = exports.__setFlatHeaders;
delete exports.__setHostSha256;
delete exports.__setLazyResource;
delete exports.__setFlatHeaders;
let wasm = new Proxy({}, {
    get(_, name) {
        instantiate();
        return wasm[name];
    },
});
function instantiate() {
    const wasmPath = \`\${__dirname}/virtuous_sync_js_bg.wasm\`;
    let wasmBytes;
    try {
        wasmBytes = require('fs').readFileSync(wasmPath);
    } catch (e) {
        // A bundler that copied this file without the .wasm beside it (Next.js, webpack, esbuild): say what to do.
        if (e?.code !== 'ENOENT') throw e;
        throw Object.assign(new Error(\`virtuous-sync: cannot read its WebAssembly file \${wasmPath}: ${BUNDLED}\`, { cause: e }), { code: e.code });
    }
    const wasmModule = new WebAssembly.Module(wasmBytes);
    cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
    cachedTextDecoder.decode();
    wasm = new WebAssembly.Instance(wasmModule, __wbg_get_imports()).exports;
    wasm.__wbindgen_start();
    setLazyResource(lazyResource);
    setFlatHeaders(flatHeaders);
    let nodeCrypto;
    try {
        nodeCrypto = require('node:crypto');
    } catch {
        return; // no node:crypto: the core's own SHA-256 runs
    }
    const sha256 = hostSha256(nodeCrypto);
    if (sha256 !== undefined) setHostSha256(sha256);
}
${LAZY_RESOURCE}${FLAT_HEADERS}${HOST_SHA256}
// A copy of bytes the wasm memory holds (a view, valid until the next call into wasm): Buffer.allocUnsafe takes a
// small body from Node's pool (no ArrayBuffer of its own, which costs more than copying 1 KB).
function copyBytes(view) {
    if (typeof Buffer !== 'function') return view.slice();
    const copy = Buffer.allocUnsafe(view.length);
    copy.set(view);
    return copy;
}
`;

const WEB_START = `    wasm.__wbindgen_start();
    return wasm;
}
`;
const WEB_LENT = `    wasm.__wbindgen_start();
    __setLazyResource(lazyResource);
    __setFlatHeaders(flatHeaders);
    // Workerd with the nodejs_compat flag (and any runtime with process.getBuiltinModule) has node:crypto without
    // an import: its native SHA-256 is lent as in Node. Browsers and workerd without the flag have none, and the
    // core's own SHA-256 runs.
    let nodeCrypto;
    try {
        nodeCrypto = globalThis.process?.getBuiltinModule?.('node:crypto');
    } catch {
        nodeCrypto = undefined;
    }
    // Below 4 KB the core's own SHA-256 stays faster there than a call out (workerd: 1 KB receive 13.8 against
    // 15.9 µs lent, 16 KB 87.7 against 46.5 µs).
    const sha256 = hostSha256(nodeCrypto);
    if (sha256 !== undefined) __setHostSha256(sha256, 4096);
    return wasm;
}
${LAZY_RESOURCE}${FLAT_HEADERS}${HOST_SHA256}
// A copy of bytes the wasm memory holds (a view, valid until the next call into wasm). Node's Buffer pool is what
// the Node glue's copy gains from; the web glue keeps a plain slice.
function copyBytes(view) {
    return view.slice();
}
`;

// The Node glue makes its TextDecoder in instantiate() (above), not at require: a fatal UTF-8 decoder costs
// about 0.13 ms to make, a tenth of what requiring the receive entry may add to a start (issue 16, goal 2).
// Every string read from wasm memory happens after instantiation, so none finds it unmade.
const NODE_DECODER = `let cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });
cachedTextDecoder.decode();
`;
const NODE_DECODER_LAZY = `let cachedTextDecoder = null; // made in instantiate() (scripts/post-glue.mjs)
`;

// wasm-bindgen's DataView cache asks `buffer.detached`, which Node 20 does not have, and then compares
// with `wasm.memory.buffer` (a native getter) on every use: twice per number or string read from a JS
// value. A memory that grew leaves its old ArrayBuffer detached, with byteLength 0: the same test, cheap
// on every engine (the memory is never shared, and never empty).
const DATAVIEW_CHECK =
  "    if (cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer.detached === true || (cachedDataViewMemory0.buffer.detached === undefined && cachedDataViewMemory0.buffer !== wasm.memory.buffer)) {";
const DATAVIEW_CHECK_FAST = "    if (cachedDataViewMemory0 === null || cachedDataViewMemory0.buffer.byteLength === 0) {";

// wasm-bindgen passes a string into wasm by copying its ASCII prefix one character at a time in JavaScript, then
// encodeInto for the rest: 1.6 µs for 1 KB, 24 µs for 16 KB, 395 µs for 256 KB on Node 20, where one encodeInto of the
// same text takes 0.1, 0.6 and 10 µs. Every string argument takes this path: a body passed as text (a Worker's
// \`await request.text()\`), the headers' flattened string, secrets. The first pass is encodeInto into the same
// \`len\` bytes: it stops before the first character that does not fit, and the generated code's second pass (the
// room grown to three bytes per remaining UTF-16 unit) takes over from there, as it did after the loop. Same bytes
// (lone surrogates become U+FFFD in both). Only where encodeInto is the engine's own: the glue's fallback for
// engines without it expects room for the whole text.
const PASS_STRING_LOOP = `    const mem = getUint8ArrayMemory0();

    let offset = 0;

    for (; offset < len; offset++) {
        const code = arg.charCodeAt(offset);
        if (code > 0x7F) break;
        mem[ptr + offset] = code;
    }
    if (offset !== len) {
        if (offset !== 0) {
            arg = arg.slice(offset);
        }
`;
const PASS_STRING_ENCODE_INTO = `    // Rewritten by scripts/post-glue.mjs: the engine encodes what fits in one call (no per-character loop).
    // Whether text is left is told by what was read, not by the bytes written: "\u00e9a" fills two bytes with its
    // first character.
    let offset = 0;
    let rest;
    if (NATIVE_ENCODE_INTO) {
        const first = cachedTextEncoder.encodeInto(arg, getUint8ArrayMemory0().subarray(ptr, ptr + len));
        offset = first.written;
        rest = first.read !== len;
        if (rest) arg = arg.slice(first.read);
    } else {
        const mem = getUint8ArrayMemory0();
        for (; offset < len; offset++) {
            const code = arg.charCodeAt(offset);
            if (code > 0x7F) break;
            mem[ptr + offset] = code;
        }
        rest = offset !== len;
        if (rest && offset !== 0) arg = arg.slice(offset);
    }
    if (rest) {
`;
const ENCODER = "const cachedTextEncoder = new TextEncoder();\n";
const ENCODER_NATIVE =
  "const NATIVE_ENCODE_INTO = typeof TextEncoder.prototype.encodeInto === 'function'; // scripts/post-glue.mjs\n" +
  "const cachedTextEncoder = new TextEncoder();\n";

const [target, ...files] = process.argv.slice(2);
for (const file of files) {
  const text = readFileSync(file, "utf8");
  const fail = (what) => {
    throw new Error(`${file}: ${what}; update scripts/post-glue.mjs for this wasm-bindgen version`);
  };
  if (!text.includes("function __setLazyResource(")) fail("no __setLazyResource export");
  if (!text.includes("function __setFlatHeaders(")) fail("no __setFlatHeaders export");
  let out;
  if (target === "node") {
    if (!text.includes(NODE_EAGER)) fail("the nodejs glue does not end as expected");
    if (!text.includes("exports.__setHostSha256 = ")) fail("no __setHostSha256 export");
    out = text.replace(NODE_EAGER, NODE_LAZY);
    if (out.split(NODE_DECODER).length !== 2) fail("the nodejs glue's TextDecoder is not as expected");
    out = out.replace(NODE_DECODER, NODE_DECODER_LAZY);
  } else if (target === "web") {
    if (text.split(WEB_START).length !== 2) fail("the web glue's __wbg_finalize_init is not as expected");
    out = text.replace(WEB_START, WEB_LENT);
  } else {
    throw new Error("usage: post-glue.mjs node|web <glue.js>...");
  }
  if (out.split(PASS_STRING_LOOP).length !== 2) fail("passStringToWasm0 is not as expected");
  out = out.replace(PASS_STRING_LOOP, PASS_STRING_ENCODE_INTO);
  if (out.split(ENCODER).length !== 2) fail("the TextEncoder is not as expected");
  out = out.replace(ENCODER, ENCODER_NATIVE);
  if (out.split(DATAVIEW_CHECK).length !== 2) fail("getDataViewMemory0 is not as expected");
  out = out.replace(DATAVIEW_CHECK, DATAVIEW_CHECK_FAST);
  writeFileSync(file, out);
}
