// Receive-only ESM entry for Node (`import ... from "virtuous-sync/receive"`): re-exports the CommonJS glue of
// the receive-only build (synchronous wasm init at load), so `import` and `require` share one instance.
import glue from "./dist/receive-node/virtuous_sync_js.js";

export const { SyncCore, verifySignature, signBody, generateSecret, VirtuousSyncError } = glue;
