// Default entry (browsers, Deno, bundlers without a more specific condition): fetches and instantiates the
// .wasm beside the glue once, with top-level await, so every export is ready when the import resolves.
import init from "./dist/web/virtuous_sync_js.js";

await init({ module_or_path: new URL("./dist/web/virtuous_sync_js_bg.wasm", import.meta.url) });

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
