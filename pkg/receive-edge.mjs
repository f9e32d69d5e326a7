// Receive-only edge entry (workerd / Cloudflare Workers, "edge-light"): the webhook endpoint's build, about a
// fifth of the full package. Workers forbid compiling wasm from bytes, so the module is imported statically.
import { initSync } from "./dist/receive-web/virtuous_sync_js.js";
import wasmModule from "./dist/receive-web/virtuous_sync_js_bg.wasm";

initSync({ module: wasmModule });

export { SyncCore, verifySignature, signBody, generateSecret } from "./dist/receive-web/virtuous_sync_js.js";
export { VirtuousSyncError } from "./error.mjs";
