// ESM entry for Node: re-exports the CommonJS glue (synchronous wasm init at load), so `import` and `require`
// share one module instance.
import glue from "./dist/node/virtuous_sync_js.js";

export const {
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
  VirtuousSyncError,
} = glue;
