// Types of virtuous-sync-sim's entry (index.mjs).
import type { Attempt, Delivery, Fields, SimAdmin, SimApi } from "./admin-client.js";

export { SimAdmin, SimApi, SimClientError } from "./admin-client.js";
export type * from "./admin-client.js";

export interface StartSimOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Ids, tokens, fixtures and fault choices derive from it (default 1). */
  seed?: number | string;
  clock?: { mode?: "real" | "manual"; startMs?: number };
  /** Overrides of the defaults (README: Configuration). */
  config?: Fields;
  /** Subscribe this URL to every event at start. */
  forwardTo?: string;
  /** The subscription secret for `forwardTo` (unsigned deliveries without one). */
  secret?: string | null;
  /** Called after each delivery attempt. */
  onDelivery?: (e: { delivery: Delivery; attempt: Attempt; ok: boolean }) => void;
}

export interface RunningSim {
  url: string;
  port: number;
  /** The first configured API key (default "sim-api-key"). */
  apiKey: string | null;
  admin: SimAdmin;
  api: SimApi;
  /** The simulator itself (in-process access; the admin API is the stable surface). */
  sim: Simulator;
  /** The node:http server (typed loosely so the types need no @types/node). */
  server: { address(): unknown; close(callback?: (err?: Error) => void): unknown };
  close(): Promise<void>;
}

export declare function startSim(options?: StartSimOptions): Promise<RunningSim>;

export declare class Simulator {
  constructor(options?: { seed?: number | string; clock?: StartSimOptions["clock"]; config?: Fields });
  config: any;
  reset(options?: { seed?: number | string; clock?: StartSimOptions["clock"]; config?: Fields }): void;
  snapshot(): any;
  close(): Promise<void>;
}

export declare function defaultConfig(): Fields;
/** Base64 (or hex) HMAC-SHA256 of the body, as the simulator signs deliveries. */
export declare function signBody(body: string | Uint8Array, secret: string, scheme?: { encoding?: "base64" | "hex"; prefix?: string }): string;
export declare const TOGGLES: readonly string[];
