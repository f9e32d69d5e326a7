// Receive-only default entry (browsers, Deno, bundlers): fetches and instantiates the .wasm beside the glue once.
import init from "./dist/receive-web/virtuous_sync_js.js";

await init({ module_or_path: new URL("./dist/receive-web/virtuous_sync_js_bg.wasm", import.meta.url) });

export { SyncCore, verifySignature, signBody, generateSecret } from "./dist/receive-web/virtuous_sync_js.js";
export { VirtuousSyncError } from "./error.mjs";
