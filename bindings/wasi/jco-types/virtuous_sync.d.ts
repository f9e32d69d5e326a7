// world virtuous:sync/sync-core@0.1.0
export type * as WasiRandomRandom026 from './interfaces/wasi-random-random.js'; // import wasi:random/random@0.2.6
export * as types from './interfaces/virtuous-sync-types.js'; // export virtuous:sync/types@0.1.0
export * as receiver from './interfaces/virtuous-sync-receiver.js'; // export virtuous:sync/receiver@0.1.0
export * as sync from './interfaces/virtuous-sync-sync.js'; // export virtuous:sync/sync@0.1.0
export * as reconcile from './interfaces/virtuous-sync-reconcile.js'; // export virtuous:sync/reconcile@0.1.0
