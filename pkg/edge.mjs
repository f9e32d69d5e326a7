// Edge entry (Cloudflare Workers / workerd, and runtimes that resolve "edge-light"): workers forbid compiling
// wasm from bytes at run time, so the module is imported statically (the bundler/runtime hands over a compiled
// WebAssembly.Module) and instantiated synchronously.
import { initSync } from "./dist/web/virtuous_sync_js.js";
import wasmModule from "./dist/web/virtuous_sync_js_bg.wasm";

initSync({ module: wasmModule });

export {
  SyncCore,
  InitialMatcher,
  RateBudget,
  verifySignature,
  signBody,
  generateSecret,
  transition,
  mergeSubscription,
  parseModifiedTime,
  planMergeRemap,
  planPause,
  planResume,
  planSecretRotation,
  planDeletions,
  classifyResponse,
  startQueryRun,
  acceptQueryPage,
  finishQueryRun,
  pricePlan,
} from "./dist/web/virtuous_sync_js.js";
export { VirtuousSyncError } from "./error.mjs";
