// virtuous-sync-host: the reference host for the virtuous-sync core (see docs/host.md).
export { Host, createHost, eventFromRecord, matchRecordFromRow, reconcileInterval, DEFAULTS } from "./host.mjs";
export { HostError, HOST_ERROR_CODES } from "./errors.mjs";
export { lookupKeys, refKey } from "./keys.mjs";
export { VirtuousClient } from "./virtuous.mjs";
export { nodeHandler, fetchHandler, expressHandler, customerIdFromPath, routeOfPath } from "./receive.mjs";
export { createApp, listen } from "./api.mjs";
export { openStore, openPgliteStore, openPgStore, MemoryStore, SqlStore, StoreError } from "./store/index.mjs";
export { metrics, prometheus, jsonLogger, redact, applyRetention, retentionOf, SPAN_NAMES, RETENTION_DEFAULTS } from "./observe.mjs";
export { REASONS, explain } from "./reasons.mjs";
export { mountStatusPage, health } from "./status-page.mjs";
export { fastifyHandler, nextPagesHandler, lambdaHandler, rawBodyOf, RawBodyError, RAW_BODY_FIXES } from "./frameworks.mjs";
