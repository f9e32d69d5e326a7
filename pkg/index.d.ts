// Type definitions for virtuous-sync 0.1: the classes and functions, and the inputs no Rust type describes (bytes,
// headers, secrets, the receiver's configuration, stored states of older versions). The data types are generated
// from the Rust types into ./types.d.ts (tests/ts_types.rs) and re-exported here.
// Optional properties are absent (undefined) in results, never null.

import type {
  BreakerVerdict,
  BudgetSlice,
  Choice,
  ConflictItem,
  ConflictResolution,
  CursorConfig,
  DeletionDecision,
  DeletionInput,
  DeletionPlan,
  Event,
  EventType,
  InboundDecision,
  LookupKeys,
  MatchPlan,
  MatchProgress,
  MatchRecord,
  MergeInput,
  MergeRemapPlan,
  OutboundDecision,
  ParsedTime,
  PartnerChange,
  PausePlan,
  PlanPrice,
  PlanSize,
  Product,
  QueryCursor,
  QueryRun,
  RateBudgetConfig,
  RateBudgetState,
  RateDecision,
  RateObservation,
  RateRequest,
  Receipt,
  ReconcileInput,
  ReconciliationPlan,
  RecordState,
  Resolution,
  ResolveInput,
  ResponseClassification,
  ResponseInput,
  RaiseLearnedLabels,
  RaiseLearnInput,
  RaiseLogInput,
  RaiseLogSummary,
  RaiseSubscriptionInput,
  RaiseSubscriptionPlan,
  RaiseSetupInput,
  RaiseSetupPlan,
  ResumePlan,
  RotationInput,
  RotationPlan,
  RunStep,
  Signed,
  SubscriptionChange,
  SubscriptionPlan,
  SyncOptions,
  SyncState,
  Trigger,
  Verification,
  AcceptVolunteerPageInput,
  StartVolunteerPollInput,
  VolunteerBudgetInput,
  VolunteerBudgetOutput,
  VolunteerDeletionInput,
  VolunteerDeletionPlan,
  VolunteerPollEnd,
  VolunteerPollRun,
  VolunteerPollStep,
} from "./types";

export * from "./types";

/** A raw delivery body. Byte input is used exactly as given; a string is encoded as UTF-8. */
export type Body = Uint8Array | ArrayBuffer | ArrayBufferView | string;

/**
 * Request headers: a plain object (Node's `IncomingHttpHeaders`: string or string[] values, undefined skipped),
 * a Fetch `Headers`, or any iterable of `[name, value]` pairs. Names are matched case-insensitively.
 */
export type HeadersLike =
  | Record<string, string | readonly string[] | undefined>
  | Headers
  | Iterable<readonly [string, string]>;

/** A webhook secret: the secret text, or an object naming it for rotation. */
export type SecretLike =
  | string
  | {
      /** Reported back as `secretId` when this secret matched. */
      id?: string;
      /** The shared secret (for `whsec_` secrets set the scheme's `secretFormat` to "whsec"). */
      secret: string;
      /** Milliseconds since the Unix epoch after which a match still verifies but adds a warning. */
      notAfter?: number;
    };

/** Built-in signature schemes. `virtuous` is the default. */
export type PresetName = "virtuous" | "standard-webhooks" | "github" | "vomo" | "raise";

/** A signature scheme described as data; `preset` names the base whose fields are overridden. */
export interface SchemeObject {
  preset?: PresetName;
  /** Header names holding the signature, looked up case-insensitively, first found wins. */
  headers?: string[];
  /** Signature encoding; "auto" accepts hex or Base64 (each must decode to exactly 32 bytes). */
  encoding?: "auto" | "hex" | "base64";
  /** A prefix before the encoded signature, e.g. "sha256="; null or "" removes the preset's. */
  prefix?: string | null;
  /** Refuse signatures without the prefix (default: accepted with or without). */
  prefixRequired?: boolean;
  /** "versioned-list": several space-separated `v1,<sig>` entries (Standard Webhooks). */
  format?: "single" | "versioned-list";
  /** The version tag of a versioned list, e.g. "v1". */
  version?: string;
  /** What is signed: the body, `{timestamp}.{body}` or `{id}.{timestamp}.{body}`. */
  signedContent?: "body" | "timestamp.body" | "id.timestamp.body";
  /** Header holding the signed timestamp (Unix seconds); null removes the preset's. */
  timestampHeader?: string | null;
  /** Header holding the signed delivery id; null removes the preset's. */
  idHeader?: string | null;
  /** Replay window in seconds (default 300 both ways). */
  tolerance?: { pastSeconds?: number; futureSeconds?: number };
  /** "whsec": secrets are `whsec_<base64>` and the key is the decoded bytes. */
  secretFormat?: "raw" | "whsec";
}

/** Configuration of a {@link SyncCore}, validated once by the constructor. */
export interface SyncConfig {
  /** One or more secrets; several while rotating. */
  secrets: SecretLike[];
  /** The name of the partner platform (used in dedupe keys and diagnostics). */
  platformName: string;
  /** A preset name or a scheme object (default "virtuous"). */
  scheme?: PresetName | SchemeObject;
  /** Largest accepted body in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Deepest accepted JSON nesting. */
  maxDepth?: number;
  /** Event types this receiver handles; authentic deliveries of other types are acknowledged and dropped. */
  subscribedEvents?: EventType[];
  /** Allow secrets shorter than 32 bytes (not recommended). */
  allowWeakSecrets?: boolean;
  /** Add diagnostics to failed receipts (never weakens the check). */
  diagnostics?: boolean;
  /** The product whose deliveries this receiver takes (default "crm"): the envelope parser and default preset. */
  product?: Product;
  /** Raise's receiver settings (only with `product: "raise"`): event type label overrides, `null` removes one. */
  raise?: { eventTypes?: Record<string, string | null> };
  /**
   * Options of the sync decisions (`decideInbound`, `decideOutbound`, `resolve`); required by those methods.
   * The config's `platformName` is the platform name the decisions stamp and compare.
   */
  sync?: SyncSettings;
}

/** Options of {@link verifySignature}. */
export interface VerifyOptions {
  scheme?: PresetName | SchemeObject;
  /** The timestamp header's value, for schemes that sign one. */
  timestamp?: string;
  /** The id header's value, for schemes that sign one. */
  id?: string;
  /** Now in milliseconds since the Unix epoch (default `Date.now()`). */
  nowMs?: number;
  allowWeakSecrets?: boolean;
  diagnostics?: boolean;
}

/** Options of {@link signBody}. */
export interface SignOptions {
  scheme?: PresetName | SchemeObject;
  /** Unix seconds, for schemes that sign a timestamp. */
  timestamp?: number;
  /** Message id, for schemes that sign one. */
  id?: string;
  encoding?: "hex" | "base64";
  /** Allow signing with a secret shorter than 32 bytes. */
  allowWeakSecrets?: boolean;
}

/** Options of {@link generateSecret}. */
export interface GenerateSecretOptions {
  /** Random bytes, at least 32 (the default). */
  bytes?: number;
  format?: "base64url" | "hex" | "whsec";
}

/**
 * Codes of every error the package throws (closed set; `tests/closed_sets.rs` checks it against the Rust core).
 * Configuration and arguments: `invalid-config` ... `invalid-argument`; the sync decisions: `tenant-mismatch` ...
 * `pending-not-expired`; the planners: the rest.
 */
export type ErrorCode =
  // configuration and arguments (module `config`, `ops`)
  | "invalid-config"
  | "unknown-preset"
  | "invalid-scheme"
  | "no-secrets"
  | "invalid-secret"
  | "weak-secret"
  | "invalid-platform-name"
  | "invalid-option"
  | "invalid-argument"
  | "random-unavailable"
  | "sync-not-configured"
  | "internal"
  // sync decisions (module `sync`)
  | "tenant-mismatch"
  | "kind-mismatch"
  | "product-mismatch"
  | "record-mismatch"
  | "unsupported-version"
  | "bad-record"
  | "bad-time"
  | "missing-field"
  | "unknown-field"
  | "invalid-money"
  | "invalid-date"
  | "bad-current"
  | "non-positive-amount"
  | "designations-mismatch"
  | "unsupported-kind"
  | "missing-choice"
  | "unknown-choice"
  | "group-choice-mismatch"
  | "invalid-transition"
  | "cooldown-active"
  | "pending-not-expired"
  // reconciliation and planners
  | "invalid-reconcile-config"
  | "duplicate-stored-record"
  | "legacy-reconcile-input"
  | "unsupported-reconcile-version"
  | "invalid-cursor-config"
  | "run-finished"
  | "run-incomplete"
  | "duplicate-id"
  | "blank-id"
  | "too-many-values"
  | "too-many-records"
  | "size-hint-too-large"
  | "invalid-seed"
  | "chunk-too-large"
  | "invalid-chunk"
  | "cancelled"
  | "merge-cycle"
  | "conflicting-merge"
  | "invalid-deletion-config"
  | "insecure-payload-url"
  | "invalid-payload-url"
  | "conflicting-change"
  | "invalid-current-subscription"
  | "invalid-rate-config"
  | "invalid-status"
  | "malformed-time"
  | "time-out-of-range"
  // Volunteer polling (module `volunteer`)
  | "invalid-poll-config"
  | "missing-links"
  | "invalid-page"
  | "foreign-next-link"
  | "pagination-loop"
  | "too-many-pages"
  | "scan-incomplete";

/** The part of the core that raised an error (closed set). */
export type ErrorModule =
  | "config"
  | "ops"
  | "sync"
  | "matcher"
  | "cursor"
  | "merge"
  | "deletion"
  | "reconcile"
  | "subscription"
  | "ratelimit"
  | "response"
  | "timestamp"
  | "volunteer";

/**
 * The error thrown for a bad configuration or argument: a real `Error` with a stable `code` and the `field` at
 * fault, exported as a class so `err instanceof VirtuousSyncError` works from every entry (main, web, edge,
 * `virtuous-sync/receive`). A wasm trap would be a `RuntimeError` instead: no input causes one. Its message never
 * contains a secret.
 */
export declare class VirtuousSyncError extends Error {
  constructor(message: string, details?: { code?: ErrorCode; field?: string; module?: ErrorModule });
  readonly name: "VirtuousSyncError";
  code: ErrorCode;
  /** Path of the offending input (`sync.cooldownMs`, `records[3].id`, `change.fields.amount`), or "". */
  field: string;
  /** The core module that raised it. */
  module: ErrorModule;
}

/** A receiver configured once: verifies and decodes every delivery. */
export declare class SyncCore {
  /** @throws {VirtuousSyncError} when the configuration is invalid (the error names the field). */
  constructor(config: SyncConfig);
  /**
   * Decides what to answer to one delivery from its raw body and headers. Never throws for a bad delivery:
   * that is a receipt with a 4xx status.
   * @param nowMs milliseconds since the Unix epoch (default `Date.now()`).
   * @throws {VirtuousSyncError} `invalid-argument` when `body` or `headers` has the wrong type.
   */
  receive(body: Body, headers: HeadersLike, nowMs?: number): Receipt;
  /**
   * Which stored record an event is about: the keys to look it up by, in order (docs/sync.md, host protocol
   * rule 1). The event's record is the first found by `virtuous-id` or `external-ref` (one found by
   * `external-ref` whose `virtuousId` is another id is a different record); `merged-into` names the survivor of a
   * contact merge, the `remap` target, never the event's own record. Needs `config.sync`.
   */
  lookupKeys(event: Event): LookupKeys;
  /**
   * What to do with one inbound event (`receipt.event`) given the stored record state (`null` when the host
   * has none): create, apply, confirm, skip, remap, delete, conflict or ignore, with the next record state to
   * store. Needs `config.sync`.
   * @param nowMs milliseconds since the Unix epoch (default `Date.now()`).
   * @throws {VirtuousSyncError} `sync-not-configured`, `tenant-mismatch`, `invalid-argument`, ...
   */
  decideInbound(event: Event, record: StoredRecordState | null | undefined, nowMs?: number): InboundDecision;
  /**
   * What to do with one partner-side change: submit (with the exact request), suppress, coalesce or nothing,
   * with the next record state (including the expected echo). Needs `config.sync`.
   * @throws {VirtuousSyncError} validation errors name the field (`change.fields.amount`).
   */
  decideOutbound(record: StoredRecordState | null | undefined, change: PartnerChange, nowMs?: number): OutboundDecision;
  /** The three-way merge of one record's fields against the base, under `config.sync.policy`. */
  resolve(input: ResolveInput): Resolution;
  /**
   * Settles a record in conflict by hand; records the resolution and returns it `in-sync`. The items of one field
   * group (`ConflictItem.group`) take the same side, or a value each (`group-choice-mismatch` otherwise).
   */
  resolveConflict(record: StoredRecordState, choices: Record<string, Choice>, nowMs?: number): ConflictResolution;
  /**
   * Plans one page of a periodic reconciliation against the host's stored sync record states, under this core's
   * `sync` section (field maps, policy and skew window, `pendingExpiryMs`).
   * @throws {VirtuousSyncError} `sync-not-configured` without a `sync` section; `legacy-reconcile-input` for a
   * version-1 input (the error names the key and what replaces it).
   */
  planReconciliation(input: ReconcileInput): ReconciliationPlan;
  /** Releases the wasm memory now instead of at garbage collection. */
  free(): void;
}

/** Verifies one signature header value over the raw body with a list of secrets. */
export declare function verifySignature(
  body: Body,
  headerValue: string,
  secrets: SecretLike[],
  options?: VerifyOptions,
): Verification;

/** Signs a body under a scheme (for tests, simulators and local testing). */
export declare function signBody(body: Body, secret: SecretLike, options?: SignOptions): Signed;

/** A new secret of at least 32 random bytes from the platform's secure random source. */
export declare function generateSecret(options?: GenerateSecretOptions): string;

// ---------------------------------------------------------------------------------------------------------------
// Sync decisions (issue 3)
// ---------------------------------------------------------------------------------------------------------------

/** `config.sync`: the sync decisions' options (the platform name comes from `config.platformName`). */
export type SyncSettings = Omit<SyncOptions, "platformName">;

/** State spellings accepted in a stored record (older versions wrote `in_sync`, ...). */
export type SyncStateInput = SyncState | "in_sync" | "partner_pending" | "virtuous_pending";

/**
 * A stored record state of any supported version, as a decision accepts it: a {@link RecordState} as returned,
 * or an older one (no `version` or `base`; the state under `syncState`). Results always carry the current format.
 */
export type StoredRecordState = Omit<RecordState, "version" | "state" | "base"> & {
  version?: number;
  base?: Record<string, string>;
} & ({ state: SyncStateInput } | { syncState: SyncStateInput });

/**
 * Applies one trigger to a stored record state, exactly as the documented table allows; any other transition
 * throws `invalid-transition`. `nowMs` defaults to `Date.now()`.
 */
export declare function transition(record: StoredRecordState, trigger: Trigger, nowMs?: number): RecordState;

// ---------------------------------------------------------------------------------------------------------------
// Reconciliation, cursor, deletions (issue 4)
// ---------------------------------------------------------------------------------------------------------------

/** Why the breaker decided as it did (closed set). */
export type BreakerReason = BreakerVerdict["reason"];

/** Starts a query run from the stored cursor. */
export declare function startQueryRun(input: { cursor?: QueryCursor; config?: CursorConfig }): RunStep;
/** Accepts one page of query rows into a run. */
export declare function acceptQueryPage(input: { run: QueryRun; rows?: Record<string, unknown>[] }): RunStep;
/** Ends a run: the cursor to store (advanced only after a complete run; a failed run keeps the old one). */
export declare function finishQueryRun(run: QueryRun): QueryCursor;

/** Why a deletion decision was taken (closed set). */
export type DeletionReason = DeletionDecision["reason"];

/** Two-phase tombstones and the mass-change breaker. */
export declare function planDeletions(input: DeletionInput): DeletionPlan;

// ---------------------------------------------------------------------------------------------------------------
// Initial match
// ---------------------------------------------------------------------------------------------------------------

/** Streaming initial match: feed chunks from either side in any order, then {@link InitialMatcher.finish}. */
export declare class InitialMatcher {
  /**
   * @param expected record counts per side, to pre-size the matcher for large runs; `seed`: 64 hex characters
   *   keying its hash tables (default: 32 bytes from `crypto.getRandomValues`, so crafted CRM values cannot flood
   *   them; the plan never depends on the seed).
   * @throws {VirtuousSyncError} `size-hint-too-large` for a count above 1,048,576 (omit it: it only pre-sizes);
   *   `invalid-seed`; `random-unavailable` when the host has no `crypto.getRandomValues`.
   */
  constructor(expected?: { partner?: number; virtuous?: number; seed?: string });
  /**
   * Feeds partner records: an array, or its JSON text (the compact form, read in place; e.g. text you already hold).
   * @throws {VirtuousSyncError} `duplicate-id`, `blank-id`, `too-many-values`; for text `invalid-chunk` (naming the
   *   field) and `chunk-too-large` (above 64 MiB). A failing chunk changes nothing.
   */
  addPartnerChunk(records: MatchRecord[] | string): void;
  addVirtuousChunk(records: MatchRecord[] | string): void;
  /**
   * The plan over everything fed so far; the matcher may keep being fed and finished again. `onProgress` is called
   * at the start and end of each phase and every 65,536 keys; returning `false` (or throwing) stops the run: `finish`
   * then throws `cancelled` (or what the callback threw).
   */
  finish(options?: { onProgress?: (progress: MatchProgress) => boolean | void }): MatchPlan;
  free(): void;
}

// ---------------------------------------------------------------------------------------------------------------
// Merged contacts, subscriptions
// ---------------------------------------------------------------------------------------------------------------

/** The remap plan for merged contacts. @throws {VirtuousSyncError} `merge-cycle`. */
export declare function planMergeRemap(input: MergeInput): MergeRemapPlan;

/** A webhook subscription as `GET /api/Webhook/{id}` returns it (other fields are kept). */
export interface Subscription {
  id?: string | number;
  payloadUrl?: string;
  secret?: string;
  active?: boolean;
  [field: string]: unknown;
}

/** The GET-then-PUT merge of a subscription. */
export declare function mergeSubscription(current: Subscription, change: SubscriptionChange): SubscriptionPlan;

export declare function planPause(input: { webhookId: string; nowMs: number }): PausePlan;

/** The GET-then-PUT merge of a Raise webhook (`GET /api/Webhook/{id}` body + change): the PUT to make. */
export declare function mergeRaiseSubscription(input: RaiseSubscriptionInput): RaiseSubscriptionPlan;
/**
 * Subscribing when the Raise account may have no webhook for us yet (`existing`: the `GET /api/Webhook/list` body):
 * `create` (a `POST /api/Webhook` with `body`), or `merge` into the one webhook delivering to the URL (`GET` it, then
 * {@link mergeRaiseSubscription} with `change`). Several delivering to it: `invalid-current-subscription`.
 */
export declare function planRaiseSubscription(input: RaiseSetupInput): RaiseSetupPlan;
/** Raise event type labels learned from delivery-log rows, and disagreements with the configured ones. */
export declare function learnRaiseEventTypes(input: RaiseLearnInput): RaiseLearnedLabels;
/** Raise delivery-log rows summarised into failed (and recovered) deliveries per webhook and contextId. */
export declare function summarizeRaiseDeliveryLogs(input: RaiseLogInput): RaiseLogSummary;
export declare function planResume(input: {
  webhookId: string;
  pausedAtMs: number;
  storedCursor?: QueryCursor;
}): ResumePlan;

/** Secret rotation: new secret first in the verifier, old one kept until no receipt reports it. */
export declare function planSecretRotation(input: RotationInput): RotationPlan;

// ---------------------------------------------------------------------------------------------------------------
// Rate limits and responses
// ---------------------------------------------------------------------------------------------------------------

/** The per-organisation request budget (shared by every credential of an organisation). */
export declare class RateBudget {
  constructor(config?: RateBudgetConfig);
  /**
   * Loads a budget back from what `toJSON()` returned (a stateless edge worker keeps it in KV
   * between requests). Throws `invalid-argument` for a malformed state, `invalid-rate-config`
   * (field `state.config.<name>`) for a stored configuration `new RateBudget` would refuse.
   */
  static fromJSON(state: RateBudgetState): RateBudget;
  /** Feeds one response's status and rate-limit headers. */
  observe(observation: RateObservation): void;
  /** Counts requests sent: held against the window until `observe` sees their responses (one call per request). */
  spend(n: number): void;
  /** Go, or wait how long. */
  decide(request: RateRequest): RateDecision;
  /** How much of a background plan needing `remaining` requests may run now. */
  schedule(remaining: number, nowMs?: number): BudgetSlice;
  /** Backoff for the `attempt`-th consecutive failure (1-based), jittered by `random` (a u32, default 0). */
  backoffMs(attempt: number, random?: number): number;
  toJSON(): RateBudgetState;
  free(): void;
}

/** A plan's price in requests. */
export declare function pricePlan(size: PlanSize): PlanPrice;

/** What a host should do with one Virtuous response. */
export declare function classifyResponse(input: ResponseInput): ResponseClassification;

/** Parses a `modifiedDateTimeUtc`: milliseconds since the epoch and the normalised ISO text. */
export declare function parseModifiedTime(text: string): ParsedTime;

// ---------------------------------------------------------------------------------------------------------------
// Volunteer (VOMO) polling (issue 17; docs/products/volunteer.md)
// ---------------------------------------------------------------------------------------------------------------

/**
 * Starts a poll of one Volunteer resource from its stored cursor (`mode: "full"` for the daily reconciliation).
 * @throws {VirtuousSyncError} `invalid-poll-config`.
 */
export declare function startVolunteerPoll(input: StartVolunteerPollInput): VolunteerPollStep;
/**
 * Accepts one response body (`{data, links, meta}`): the changed rows and the next request.
 * @throws {VirtuousSyncError} `missing-links`, `invalid-page`, `foreign-next-link`, `pagination-loop`,
 * `too-many-pages`, `run-finished` (the run is unchanged: retry the page or drop the run).
 */
export declare function acceptVolunteerPage(input: AcceptVolunteerPageInput): VolunteerPollStep;
/** Ends a poll: the cursor to store (advanced only after a complete run). @throws `run-incomplete`. */
export declare function finishVolunteerPoll(run: VolunteerPollRun): VolunteerPollEnd;
/** Steps the per-organisation Volunteer request budget (pace learned from 429s). @throws `invalid-rate-config`. */
export declare function volunteerBudget(input: VolunteerBudgetInput): VolunteerBudgetOutput;
/** Two-phase tombstones and the breaker for records a complete full scan lost. @throws `scan-incomplete`. */
export declare function planVolunteerDeletions(input: VolunteerDeletionInput): VolunteerDeletionPlan;
