// Type definitions for virtuous-sync 0.1 (hand-written; the contract every surface follows).
// Optional properties are absent (undefined) in results, never null.

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
export type PresetName = "virtuous" | "standard-webhooks" | "github" | "vomo";

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

/** The 15 CRM+ event types, normalised to kebab-case. */
export type EventType =
  | "contact-create"
  | "contact-update"
  | "gift-create"
  | "gift-update"
  | "gift-delete"
  | "project-create"
  | "project-update"
  | "project-delete"
  | "form-submission"
  | "contact-note-create"
  | "contact-note-update"
  | "contact-note-delete"
  | "event-create"
  | "event-update"
  | "event-delete";

/** The kind of CRM+ record an event is about. */
export type ResourceKind = "contact" | "gift" | "project" | "form-submission" | "contact-note" | "event";

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
  /**
   * Options of the sync decisions (`decideInbound`, `decideOutbound`, `resolve`); required by those methods.
   * The config's `platformName` is the platform name the decisions stamp and compare.
   */
  sync?: SyncSettings;
}

/** A warning or diagnostic: a stable kebab-case code and a human sentence. */
export interface Notice {
  code: string;
  message: string;
}

/** Whether the replay window was checked, could not be (the scheme signs no timestamp), or was not reached. */
export type ReplayCheck = "checked" | "unavailable" | "not-checked";

/** One parsed, normalised delivery. Only `rawEventType` is always present. */
export interface Event {
  /** The recognised type, absent for a type this version does not know. */
  eventType?: EventType;
  /** The event type exactly as the delivery spelled it (`GiftCreate`, `gift.created`, ...). */
  rawEventType: string;
  resourceKind?: ResourceKind;
  eventId?: string;
  timestamp?: string;
  organizationId?: string;
  /** The embedded record's id as a string. */
  resourceId?: string;
  modifiedDateTimeUtc?: string;
  /** The embedded record as received (unknown fields kept). */
  resource?: Record<string, unknown>;
}

/** Why a receipt came out as it did (closed set). */
export type ReceiptReason =
  | "accepted"
  | "unsubscribed-event"
  | "unknown-event-type"
  | "dead-letter"
  | "missing-signature"
  | "malformed-signature"
  | "signature-mismatch"
  | "missing-timestamp"
  | "malformed-timestamp"
  | "timestamp-too-old"
  | "timestamp-too-new"
  | "missing-id"
  | "no-secrets";

/** Why a signature check failed (closed set). */
export type VerificationCode =
  | "no-secrets"
  | "missing-signature"
  | "malformed-signature"
  | "signature-mismatch"
  | "missing-timestamp"
  | "malformed-timestamp"
  | "timestamp-too-old"
  | "timestamp-too-new"
  | "missing-id";

/** What to answer to one delivery, and why. */
export interface Receipt {
  /** The HTTP status to answer: 2xx for authentic deliveries (even dropped ones), 401 for failed authentication. */
  status: number;
  /** A stable kebab-case reason code. */
  reason: ReceiptReason;
  /** True when the signature verified. */
  authentic: boolean;
  /** Authentic but unusable (e.g. unparseable): acknowledged so Virtuous stops retrying; keep it for inspection. */
  deadLetter: boolean;
  event?: Event;
  /** A stable key to deduplicate retries of the same delivery. */
  dedupeKey?: string;
  /** Index in `config.secrets` of the secret that matched. */
  secretIndex?: number;
  /** `id` of the secret that matched, when it has one. */
  secretId?: string;
  replay: ReplayCheck;
  warnings: Notice[];
  diagnostics: Notice[];
  /** The failure, when the delivery was not accepted. */
  error?: Notice;
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

/** The result of {@link verifySignature}. */
export interface Verification {
  ok: boolean;
  /** Why it failed (absent when `ok`). */
  code?: VerificationCode;
  message?: string;
  secretIndex?: number;
  secretId?: string;
  replay: ReplayCheck;
  warnings: Notice[];
  diagnostics: Notice[];
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

/** The result of {@link signBody}: the signature and every header to send with the body. */
export interface Signed {
  signature: string;
  headers: Record<string, string>;
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
  | "time-out-of-range";

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
  | "timestamp";

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

/** A record's sync state. Stored states written as `in_sync` etc. still load. */
export type SyncState = "in-sync" | "partner-pending" | "virtuous-pending" | "conflict";

/** Which system. */
export type Side = "partner" | "virtuous";

/**
 * How a mapped field's value is compared and written. `designations`: an order-insensitive set of
 * (project, `amountDesignated`), the project identified by `itemKeys` (default `["projectCode"]`), every other
 * property (`projectId`, ids) ignored. `date`: `2026-11-20`, `11/20/2026` (M/D/YYYY, `giftDateFormatted`) and a
 * date-time at midnight UTC are the same day; written as `YYYY-MM-DD`.
 */
export type FieldType = "plain" | "money" | "designations" | "date";

/** One mapped field: a logical name and where it lives in the Virtuous record. */
export interface FieldSpec {
  /** Logical field name (the key in `PartnerChange.fields`, the base, the echo digests). */
  name: string;
  /** JSON pointer into the Virtuous record as webhooks and queries return it (`/amount`). */
  pointer: string;
  /** JSON pointer in the write body when it differs from `pointer`. */
  writePointer?: string;
  type?: FieldType;
  /** Outbound writes fail validation without it. */
  required?: boolean;
  /** Pointers read, in order, when `pointer` is absent (default gift map: `giftDate` also from `/giftDateFormatted`). */
  alsoRead?: string[];
  /** Where a full-record update (`PUT` built on the fetched record) carries the value (default `writePointer`, else `pointer`). */
  updatePointer?: string;
  /** For `designations`: the element properties identifying the project (default `["projectCode"]`). */
  itemKeys?: string[];
  /**
   * Fields sharing a group name are compared, merged, held, written and put in conflict items as one unit. Without
   * any `group` in a kind's map, its designations field is grouped with the money field it sums to (`amount` +
   * `giftDesignations` by default); a designations field outside its amount's group is `invalid-option`.
   */
  group?: string;
}

/** A key to find a stored record state by (see {@link SyncCore.lookupKeys}). */
export type LookupKey =
  | { tag: "virtuous-id"; val: string }
  | { tag: "external-ref"; val: ExternalRef }
  | { tag: "merged-into"; val: string };

/** The result of {@link SyncCore.lookupKeys}: the keys in the order to try them. */
export interface LookupKeys {
  /** The record kind (absent for an event of a kind that does not sync). */
  kind?: ResourceKind;
  keys: LookupKey[];
}

/**
 * How an update of a linked record is written. `full` (default): GET-then-PUT, the body is the fetched record
 * (`PartnerChange.current`) with the changed fields written and the read-only properties removed (Virtuous documents
 * `PUT` as a full replacement). `partial`: only the changed fields; relies on an unconfirmed behaviour (PUT acting
 * like PATCH) and blanks the rest of the record if PUT replaces it as documented.
 */
export type UpdateMode = "full" | "partial";

/** Inbound events without `modifiedDateTimeUtc`: `fetch` (default) the record and decide that, or `decide` as delivered. */
export type UndatedEvents = "fetch" | "decide";

/** Events carrying no stamp field at all for a record not found: `verify` (default, never created blindly) or `create`. */
export type UnstampedCreates = "verify" | "create";

/** How the platform name in a stamp (`transactionSource` / `referenceSource`) is compared. */
export type NameMatch = "trimmed-case-insensitive" | "trimmed" | "exact";

/** Who wins a field changed on both sides. */
export type FieldPolicy = "most-recent-wins" | "partner-owns" | "virtuous-owns" | "virtuous-canonical" | "manual";

/** Policy overrides for one record kind. */
export interface KindPolicy {
  default?: FieldPolicy;
  fields?: Record<string, FieldPolicy>;
}

/** The conflict policy. */
export interface Policy {
  /** Default `virtuous-canonical` (Virtuous wins a field both sides changed; one-sided changes flow both ways). */
  default?: FieldPolicy;
  /** Edits closer than this are ambiguous under most-recent-wins (default 600,000 ms: ±10 min clock skew). */
  skewWindowMs?: number;
  kinds?: Partial<Record<ResourceKind, KindPolicy>>;
}

/** `config.sync`: the sync decisions' options (the platform name comes from `config.platformName`). */
export interface SyncSettings {
  /** The customer (tenant) this core decides for; every record and change must carry it. */
  customerId: string;
  /** Virtuous organisation id, checked against events when given. */
  organizationId?: string;
  /** How long after an applied inbound change the touched fields are not pushed back (ms, default 10 min). */
  cooldownMs?: number;
  /** How long a `partner-pending` write may wait (Virtuous's nightly batch) before it is flagged stuck (ms, default 36 h). */
  pendingExpiryMs?: number;
  nameMatch?: NameMatch;
  /** Mapped fields per record kind (defaults cover gifts and contacts). */
  fieldMaps?: Partial<Record<ResourceKind, FieldSpec[]>>;
  policy?: Policy;
  /** Default `full` (GET-then-PUT). */
  updateMode?: UpdateMode;
  /**
   * Per kind, JSON pointers removed from a fetched record before it is sent back in a full `PUT` (`*` matches every
   * array element). Default gift: `/id`, `/createDateTimeUtc`, `/createdByUser`, `/modifiedDateTimeUtc`,
   * `/modifiedByUser`, `/giftDateFormatted`; contact: the same audit fields and `/mergedIntoContactId`. A kind given
   * replaces its defaults.
   */
  readOnly?: Partial<Record<ResourceKind, string[]>>;
  /** Default `fetch`. */
  undatedEvents?: UndatedEvents;
  /** Default `verify`. */
  unstampedCreates?: UnstampedCreates;
}

/** An external reference pair (`transactionSource`/`transactionId`, `referenceSource`/`referenceId`). */
export interface ExternalRef {
  source: string;
  id: string;
}

/** Digests of what we last wrote, to recognise its echo. */
export interface EchoEntry {
  /** Field name -> digest of the value written. */
  fields: Record<string, string>;
  /** Fields actually sent (absent when all of `fields`). */
  sent?: string[];
  writtenMs: number;
  /** Newest Virtuous modification time known when the write was decided (Virtuous's clock). */
  afterMs?: number;
  /**
   * Full-record updates: `modifiedDateTimeUtc` of the fetched record the write was built on (Virtuous's clock). Once
   * the write's 2xx is reported (`PartnerChange.written`), an event no newer than this shows Virtuous before the write.
   */
  builtOnMs?: number;
  expiresMs: number;
  /** Set once Virtuous confirmed the write. */
  confirmed?: true;
}

/** Why a record is gone. */
export type Tombstone = { tag: "deleted" } | { tag: "merged-into"; val: string };

/** A field changed on both sides that no rule settled. */
export interface ConflictItem {
  field: string;
  /** Digest of the base value. */
  base?: string;
  local?: unknown;
  localDigest?: string;
  remote?: unknown;
  remoteDigest?: string;
  localModifiedMs?: number;
  remoteModifiedMs?: number;
  policy: FieldPolicy;
  /** The resolution the core would propose. */
  proposed: Side;
  /** Every field of this item's field group (this one included); absent for a field in no group. */
  group?: string[];
}

/** A manual choice for one conflicting field. */
export type Choice = { tag: "partner" } | { tag: "virtuous" } | { tag: "value"; val: unknown };

/** A recorded manual resolution. */
export interface ResolutionRecord {
  atMs: number;
  items: ConflictItem[];
  choices: Record<string, Choice>;
}

/**
 * Per-record sync state: the host stores it as JSON (as returned, unchanged) and hands it back on the next
 * decision; the core owns its meaning. Versioned: older stored versions still load.
 */
export interface RecordState {
  /** Format version (the current one in every result). */
  version: number;
  customerId: string;
  kind: ResourceKind;
  partnerId?: string;
  virtuousId?: string;
  state: SyncState;
  partnerModifiedMs?: number;
  /** Per-field partner times from `PartnerChange.fieldModifiedMs`. */
  partnerFieldModifiedMs?: Record<string, number>;
  virtuousModifiedMs?: number;
  lastSyncMs?: number;
  cooldownUntilMs?: number;
  /** Fields the cooldown covers (empty: the whole record). */
  cooldownFields?: string[];
  externalRef?: ExternalRef;
  /** Field name -> digest of the value both sides last agreed on. */
  base: Record<string, string>;
  expectedEcho?: EchoEntry[];
  pendingSinceMs?: number;
  pendingExpiresMs?: number;
  /** A partner write waited past `pendingExpiryMs`: reconciliation looks it up. */
  stuck?: true;
  /** A follow-up write is owed (fields changed again while a write was pending). */
  followUp?: true;
  overridden?: Record<string, string>;
  held?: Record<string, string>;
  tombstone?: Tombstone;
  conflict?: ConflictItem[];
  lastResolution?: ResolutionRecord;
}

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

/** Stable reason codes, one taxonomy for every decision and surface. */
export type Reason =
  | "new-record"
  | "remote-changed"
  | "confirmed"
  | "echo"
  | "stale"
  | "no-change"
  | "merged-away"
  | "deleted"
  | "tombstoned"
  | "both-changed"
  | "owned-by-other"
  | "in-conflict"
  | "unsupported-event"
  | "not-synced"
  | "own-stamp-unlinked"
  | "unknown-record"
  | "partner-changed"
  | "cooldown"
  | "coalesced"
  | "awaiting-echo"
  | "needs-current"
  | "remote-first"
  | "undated"
  | "unstamped-create"
  | "pending-create"
  | "stuck-pending"
  | "manual-resolution"
  | "unchanged"
  | "local-only"
  | "remote-only"
  | "same-change"
  | "most-recent"
  | "virtuous-canonical"
  | "merged";

/** The inputs a decision used, so a host can show why a record did or did not sync. */
export interface DecisionInputs {
  customerId: string;
  kind?: ResourceKind;
  stateBefore?: SyncState;
  eventType?: EventType;
  eventModifiedMs?: number;
  knownVirtuousModifiedMs?: number;
  partnerModifiedMs?: number;
  /** The stamp (`transactionSource` / `referenceSource`) the event carried. */
  stamp?: string;
  /** Whether the stamp names our platform. */
  ours: boolean;
  changedFields: string[];
  echoEntries: number;
  cooldownUntilMs?: number;
  cooldownFields: string[];
  stuck: boolean;
  nowMs: number;
}

/** What to do locally with an inbound event (`tag` names the action; `val` its details). */
export type InboundAction =
  | { tag: "create"; val: { fields: Record<string, unknown> } }
  | { tag: "apply"; val: { fields: Record<string, unknown> } }
  | { tag: "confirm"; val: { virtuousId: string; apply: Record<string, unknown>; followUp: boolean } }
  | { tag: "skip" }
  | { tag: "remap"; val: { survivorId: string } }
  | { tag: "delete" }
  | { tag: "conflict"; val: { items: ConflictItem[]; apply: Record<string, unknown> } }
  | { tag: "ignore" }
  /**
   * Reason `undated`: the event for a stored record has no `modifiedDateTimeUtc`, so it cannot be ordered (even one
   * showing what the state holds may be the newest version). Make the `GET` (no body), then call `decideInbound` again with the same event whose `resource` is the
   * response body (its `modifiedDateTimeUtc` is read from there). No state changed (`record` absent).
   */
  | { tag: "fetch"; val: SyncRequest }
  /**
   * Reason `unstamped-create`: a create (or an update or merge for a record not found) with no stamp field at all may
   * be the batch's record of a create of ours. Make the `lookup` (`GET`; the REST record carries the stamp fields) and
   * call `decideInbound` again with the response body as the event's `resource`: the stamp tells whose record it is,
   * values never do (identical gifts are common), so a pending create handed with the unstamped event is answered
   * `verify` again. `digests` are the event's mapped values, for logs. No state changed.
   */
  | { tag: "verify"; val: { lookup: SyncRequest; digests: Record<string, string> } };

/** The result of {@link SyncCore.decideInbound}. */
export interface InboundDecision {
  action: InboundAction;
  reason: Reason;
  inputs: DecisionInputs;
  /** The next record state to store (absent: store nothing / keep none). */
  record?: RecordState;
  /**
   * Fields Virtuous changed where the partner value wins (partner-owned, or the later edit): call decideOutbound to
   * write it back. Only fields Virtuous changed, under every policy: a partner value Virtuous did not touch is
   * already on its way (pending write) or waits for `retryAtMs` (held).
   */
  reassertFields?: string[];
}

/** A change on the partner side. */
export interface PartnerChange {
  customerId: string;
  kind: ResourceKind;
  partnerId: string;
  /** When the partner last modified the record (partner clock). */
  modifiedMs: number;
  /**
   * When the partner last modified each field, when known: most-recent-wins then compares each field's (or field
   * group's) own time with Virtuous's. Without it every field counts as modified at `modifiedMs`, so a later edit
   * of another field makes an older held value look newer than a staff edit made in between.
   */
  fieldModifiedMs?: Record<string, number>;
  /** Logical field name -> value (money as decimal strings, e.g. "25.00"). */
  fields: Record<string, unknown>;
  /** Extra body fields passed through to the write. */
  extra?: Record<string, unknown>;
  /** A stable external id (default: derived from `partnerId`; never regenerated across retries). */
  externalId?: string;
  /**
   * The linked Virtuous record exactly as `GET /api/Gift/{id}` / `GET /api/Contact/{id}` just returned it, for a
   * full-record update (`updateMode: "full"`). Asked for by a `fetch` decision; ignored for creates and partial updates.
   */
  current?: Record<string, unknown>;
  /**
   * Our update (`PUT`, exactly as a `submit` gave it) that Virtuous just answered with a 2xx. Report it at once, with the
   * partner's values as they are then, before deciding any record fetched after that response: the newest pending
   * write landed and is confirmed, so a record fetched later that does not show it in a field it sent is a Virtuous
   * change made after it (staff setting the field straight back), which reaches the partner. Without it (a failed
   * send, a lost response) the write waits for its echo, which such a revert hides until `stuck` and reconciliation.
   * Ignored unless it is a `PUT` of the linked record whose body shows the newest pending write, and with `updateMode: "partial"`. Answered like any
   * decision (a `fetch` stored nothing: decide again with `current` and the same `written`).
   */
  written?: SyncRequest;
}

/** An HTTP request to make, exactly. */
export interface SyncRequest {
  /** `POST`, `PUT` or `GET`. */
  method: "POST" | "PUT" | "GET";
  /** Path under the API host (`/api/Gift/78421`). */
  path: string;
  /** JSON body; absent for a `GET`. */
  body?: unknown;
}

/** What to do with a partner change. */
export type OutboundAction =
  | { tag: "submit"; val: SyncRequest }
  | { tag: "suppress" }
  | { tag: "coalesce" }
  | { tag: "nothing" }
  /**
   * Reason `needs-current`: a full-record update needs the record as Virtuous holds it now. Make this `GET` (no body)
   * and call `decideOutbound` again with the same change plus `current` = the response body. No state changed
   * (`record` absent). A full `PUT` body is a snapshot: send it at once, and never resend it later (after a failure or
   * a lost acknowledgement, decide again: the core asks for a fresh fetch and re-issues the write if it did not land).
   */
  | { tag: "fetch"; val: SyncRequest }
  /**
   * Reason `remote-first`: the fetched record shows a Virtuous change the stored state did not know; it is decided as
   * an inbound change first (never overwritten blindly). Carry out this inbound decision's action on the partner side,
   * store `record`, then call `decideOutbound` again with the partner's values as they are then and the same `current`.
   */
  | { tag: "apply-inbound"; val: InboundDecision };

/** The result of {@link SyncCore.decideOutbound}. */
export interface OutboundDecision {
  action: OutboundAction;
  reason: Reason;
  inputs: DecisionInputs;
  /** Fields held back (cooldown, conflict, owned by Virtuous). */
  suppressedFields: string[];
  /** When the suppressed fields may be pushed. */
  retryAtMs?: number;
  record?: RecordState;
}

/** A trigger of the documented state table. */
export type Trigger =
  | "partner-write"
  | "inbound-applied"
  | "confirmed"
  | "cooldown-elapsed"
  | "ambiguous"
  | "manual-resolution"
  | "pending-expired"
  | "removed";

/** One side's values for {@link SyncCore.resolve}. */
export interface SideValues {
  values?: Record<string, unknown>;
  modifiedMs?: number;
}

/** Input of {@link SyncCore.resolve}: `local` is the partner side, `remote` Virtuous. */
export interface ResolveInput {
  kind: ResourceKind;
  /** Field name -> digest of the agreed base value. */
  base?: Record<string, string>;
  local: SideValues;
  remote: SideValues;
}

/** How one field was settled. */
export interface FieldResolution {
  field: string;
  reason: Reason;
  winner?: Side;
}

/** The result of {@link SyncCore.resolve}. */
export interface Resolution {
  reason: Reason;
  fields: FieldResolution[];
  merged: Record<string, unknown>;
  /** Values to write on the partner side. */
  applyLocal: Record<string, unknown>;
  /** Values to push to Virtuous. */
  pushRemote: Record<string, unknown>;
  conflicts: ConflictItem[];
}

/** The result of {@link SyncCore.resolveConflict}. */
export interface ConflictResolution {
  reason: Reason;
  record: RecordState;
  applyLocal: Record<string, unknown>;
  /** Fields to push to Virtuous (through {@link SyncCore.decideOutbound}). */
  pushFields: string[];
}

/**
 * Applies one trigger to a stored record state, exactly as the documented table allows; any other transition
 * throws `invalid-transition`. `nowMs` defaults to `Date.now()`.
 */
export declare function transition(record: StoredRecordState, trigger: Trigger, nowMs?: number): RecordState;

// ---------------------------------------------------------------------------------------------------------------
// Reconciliation, cursor, deletions (issue 4)
// ---------------------------------------------------------------------------------------------------------------

/** `POST /api/Contact/Query` or `POST /api/Gift/Query`. */
export type QueryResource = "contact" | "gift";

/** A request without a body. */
export interface HttpRequest {
  method: string;
  path: string;
}

/** The result of the host's `GET /api/Gift/{source}/{id}` lookup of a stuck write. */
export interface LookupResult {
  found: boolean;
  atMs: number;
  virtuousId?: string;
}

/**
 * One stored record for reconciliation: the same sync state the host stores for `decideInbound` /
 * `decideOutbound` (one state per record), the partner's current values of the mapped fields (by field-map name;
 * absent fields are unknown), and a lookup made for it.
 */
export interface StoredRecord {
  record: StoredRecordState;
  partner?: SideValues;
  lookup?: LookupResult;
}

/** The mass-change breaker. */
export interface BreakerConfig {
  /** Largest share of the customer's records one run may delete or overwrite (default 0.05). */
  maxShare?: number;
  /** Runs touching at most this many records never trip (default 10). */
  minCount?: number;
}

/**
 * What the query rows hold. `abbreviated` (default): `POST /api/Contact/Query` / `POST /api/Gift/Query` rows; a
 * mapped field absent from a row is unknown, and a `fetch-full-record` item asks for it when a decision needs it.
 * `full`: rows from `POST /api/Contact/Query/FullContact` or `GET /api/{Kind}/{id}`; absent fields stay unknown.
 */
export type RowShape = "abbreviated" | "full";

/**
 * Reconciliation settings beyond the core's `sync` section (field maps, `policy` with its `skewWindowMs`, and
 * `pendingExpiryMs`, after which a pending write is stuck, all come from there).
 */
export interface ReconcileConfig {
  resource?: QueryResource;
  /** Field-map names compared for drift (default: every mapped field of the kind). */
  fields?: string[];
  rowShape?: RowShape;
  /** A pending write still not found this long after submission is surfaced (default 48 h, at least `pendingExpiryMs`). */
  unmatchedAfterMs?: number;
  totalRecords?: number;
  breaker?: BreakerConfig;
}

/**
 * Input of {@link SyncCore.planReconciliation}: one page of query rows and the stored records. Version 2; a
 * version-1 input (`partnerValues`, `baseValues`, `config.policies`, `stuckAfterMs`, ...) throws
 * `legacy-reconcile-input` naming the key and what replaces it.
 */
export interface ReconcileInput {
  version?: 2;
  config?: ReconcileConfig;
  /** Query result rows as Virtuous returned them. */
  rows?: Record<string, unknown>[];
  stored?: StoredRecord[];
  nowMs: number;
}

export type ReconcileItemKind =
  | "missed-change"
  | "confirm-pending"
  | "look-up-pending"
  | "keep-waiting"
  | "surface-unmatched"
  | "resolve-drift"
  | "conflict"
  | "merged-away"
  | "held"
  | "duplicate-in-virtuous"
  | "malformed-row"
  | "fetch-full-record";

/** Why a reconciliation item was planned (closed set). */
export type ReconcileItemReason =
  | "unknown-locally"
  | "newer-in-virtuous"
  | "merged-away"
  | "confirmed-by-query"
  | "confirmed-by-lookup"
  | "stuck-pending"
  | "within-window"
  | "no-reference-to-look-up"
  | "needs-update-bucket"
  | "drift"
  | "field-conflict"
  | "mass-change-breaker"
  | "reference-claimed-twice"
  | "row-without-id"
  | "fields-not-in-row";

/** One field that differs between the sides, merged three-way with the sync policies. */
export interface FieldDrift {
  field: string;
  /** Virtuous's value (present in the row; `null` when the row says null). */
  virtuousValue?: unknown;
  /** The partner's value, when given. */
  partnerValue?: unknown;
  /** Digest of the last agreed value. */
  base?: string;
  resolution: "take-virtuous" | "take-partner" | "conflict";
  /** The sync per-field reason. */
  reason: Reason;
  policy: FieldPolicy;
  /** For a conflict: the side proposed. */
  proposed?: Side;
}

/** One planned action. */
export interface ReconcileItem {
  kind: ReconcileItemKind;
  reason: ReconcileItemReason;
  virtuousId?: string;
  partnerId?: string;
  nextState?: SyncState;
  /** The record state to store once the item is applied (confirmations, drift, conflicts). */
  record?: RecordState;
  /** For `missed-change`: the event to feed to {@link SyncCore.decideInbound}. */
  event?: Event;
  /** For `look-up-pending` and `fetch-full-record`: the request to make. */
  request?: HttpRequest;
  fields?: FieldDrift[];
  /** Mapped fields absent from the row whose decision needs Virtuous's value: unknown, never blank. */
  unknownFields?: string[];
  survivorId?: string;
  /** Index of the row in the page. */
  row?: number;
}

/** Why the breaker decided as it did (closed set). */
export type BreakerReason = "within-threshold" | "below-minimum" | "mass-change";

/** The breaker's verdict. */
export interface BreakerVerdict {
  tripped: boolean;
  reason: BreakerReason;
  changes: number;
  totalRecords: number;
  allowed: number;
}

/** The result of {@link SyncCore.planReconciliation}. */
export interface ReconciliationPlan {
  items: ReconcileItem[];
  counts: {
    rows: number;
    unchanged: number;
    pendingNotStuck: number;
    skipped: number;
    items: Partial<Record<ReconcileItemKind, number>>;
  };
  /** Requests the plan needs (lookups and full-record fetches). */
  requestCost: number;
  breaker?: BreakerVerdict;
  /** The breaker tripped: apply nothing, tell the customer. */
  halted: boolean;
}

/** Query paging settings. */
export interface CursorConfig {
  resource?: QueryResource;
  /** Rows per page, at most 1000 (default 1000). */
  take?: number;
  /** Closed lower bound overlap (ms, default 15 min). */
  overlapMs?: number;
  /** The query parameter filtered on (default `Last Modified Date`). */
  modifiedParameter?: string;
  /**
   * The most rows the server returns per page whatever `take` asks, 2..=1000 (default 100, the lower of the two
   * documented caps): a page holding at least `min(take, pageCap)` rows is not the last one.
   */
  pageCap?: number;
}

/** The stored reconciliation cursor. */
export interface QueryCursor {
  highWaterMs?: number;
  /** Ids seen at exactly `highWaterMs`. */
  boundaryIds?: string[];
  cappedAtMs?: number;
}

/** One query to send. */
export interface QueryRequest {
  method: string;
  path: string;
  skip: number;
  take: number;
  body: unknown;
}

/** A run in progress: pass it back unchanged to {@link acceptQueryPage} and {@link finishQueryRun}. */
export interface QueryRun {
  config: CursorConfig;
  start: QueryCursor;
  lowerMs?: number;
  skip?: number;
  maxSeenMs?: number;
  idsAtMax?: string[];
  window?: [string, number][];
  anchor?: [string, number];
  /** The `skip` at which the anchor was read. */
  anchorAt?: number;
  restarts?: number;
  /** Steps back in a row (rows moved out of the walked second) without a fresh row since. */
  stepBacks?: number;
  /** The run gave up on a walk whose rows were reordered before its position. */
  unstableOrder?: boolean;
  rewindToMs?: number;
  pages?: number;
  freshRows?: number;
  done?: boolean;
}

/** What one page held. */
export interface PageResult {
  /** Indexes of rows not seen before in this run. */
  fresh: number[];
  freshIds: string[];
  duplicates: number;
  /** Rows of a page asked for again one page further back (rows left the walked second): not processed now. */
  discarded: number;
  malformed: number[];
  undated: number[];
  done: boolean;
  next?: QueryRequest;
}

/** The result of {@link startQueryRun} and {@link acceptQueryPage}. */
export interface RunStep {
  run: QueryRun;
  /** The next query to send (absent when the run is done). */
  request?: QueryRequest;
  page?: PageResult;
}

/** Starts a query run from the stored cursor. */
export declare function startQueryRun(input: { cursor?: QueryCursor; config?: CursorConfig }): RunStep;
/** Accepts one page of query rows into a run. */
export declare function acceptQueryPage(input: { run: QueryRun; rows?: Record<string, unknown>[] }): RunStep;
/** Ends a run: the cursor to store (advanced only after a complete run; a failed run keeps the old one). */
export declare function finishQueryRun(run: QueryRun): QueryCursor;

export type DeletionSignal = "absent-from-page" | "absent-from-full-scan" | "delete-event" | "not-found-on-lookup" | "found-on-lookup";

export interface PendingTombstone {
  firstSeenMs: number;
  signal: DeletionSignal;
}

export interface DeletionCandidate {
  virtuousId: string;
  partnerId?: string;
  signal: DeletionSignal;
  observedAtMs: number;
  lastEditMs?: number;
  pending?: PendingTombstone;
}

export interface DeletionInput {
  candidates: DeletionCandidate[];
  totalRecords: number;
  /** Overwrites planned in the same run (counted by the breaker). */
  overwrites?: number;
  confirmAfterMs?: number;
  breaker?: BreakerConfig;
}

/** Why a deletion decision was taken (closed set). */
export type DeletionReason =
  | "absence-is-not-deletion"
  | "first-signal"
  | "awaiting-confirmation"
  | "confirm-by-lookup"
  | "confirmed-by-lookup"
  | "newer-edit"
  | "found-on-lookup"
  | "mass-change-breaker";

export interface DeletionDecision {
  virtuousId: string;
  partnerId?: string;
  action: "no-action" | "mark-pending" | "keep-pending" | "look-up" | "confirm-delete" | "clear-tombstone" | "held";
  reason: DeletionReason;
  /** The tombstone to store. */
  pending?: PendingTombstone;
  confirmNotBeforeMs?: number;
}

export interface DeletionPlan {
  decisions: DeletionDecision[];
  breaker: BreakerVerdict;
  halted: boolean;
}

/** Two-phase tombstones and the mass-change breaker. */
export declare function planDeletions(input: DeletionInput): DeletionPlan;

// ---------------------------------------------------------------------------------------------------------------
// Initial match
// ---------------------------------------------------------------------------------------------------------------

/** A record of either side for {@link InitialMatcher}. At most 32 values of each kind. */
export interface MatchRecord {
  /** Text or an integer; returned in the plan exactly as given (an integer as its decimal text). */
  id: string | number;
  references?: ExternalRef[];
  emails?: string[];
  names?: string[];
  postalCodes?: string[];
  phones?: string[];
  /** The mapped field values whose SHA-256 becomes the pair's sync base digest. */
  data?: unknown;
}

export type MatchSignal = "reference" | "email" | "name-postal" | "name-phone";
export type MatchTier = "reference" | "email" | "strong-signal";

export interface Evidence {
  signal: MatchSignal;
  /** The normalised shared value (`source\u001fid`, `email`, `name|postal`, `name|phone`). */
  value: string;
}

export interface MatchedPair {
  partnerId: string;
  virtuousId: string;
  tier: MatchTier;
  state: "in-sync";
  evidence: Evidence[];
  partnerDigest?: string;
  virtuousDigest?: string;
}

/** Records sharing a value with no one-to-one reading (households): never linked automatically. */
export interface ReviewItem {
  tier: MatchTier;
  reason: "shared-value";
  partnerIds: string[];
  virtuousIds: string[];
  evidence: Evidence[];
}

/** The initial sync plan. */
export interface MatchPlan {
  /** Linked pairs, sorted by partner id. */
  pairs: MatchedPair[];
  /** Create these on the partner side. */
  virtuousOnly: string[];
  /** Submit these to Virtuous (`partner-pending`). */
  partnerOnly: string[];
  review: ReviewItem[];
  counts: {
    partnerRecords: number;
    virtuousRecords: number;
    /** Reference, email, strong signal. */
    pairsByTier: [number, number, number];
    reviewPartner: number;
    reviewVirtuous: number;
  };
}

/** Streaming initial match: feed chunks from either side in any order, then {@link InitialMatcher.finish}. */
export declare class InitialMatcher {
  /**
   * @param expected record counts per side, to pre-size the matcher for large runs.
   * @throws {VirtuousSyncError} `size-hint-too-large` for a count above 1,048,576 (omit it: it only pre-sizes).
   */
  constructor(expected?: { partner?: number; virtuous?: number });
  /** @throws {VirtuousSyncError} `duplicate-id`, `blank-id`, `too-many-values` (a failing chunk changes nothing). */
  addPartnerChunk(records: MatchRecord[]): void;
  addVirtuousChunk(records: MatchRecord[]): void;
  /** The plan over everything fed so far; the matcher may keep being fed and finished again. */
  finish(): MatchPlan;
  free(): void;
}

// ---------------------------------------------------------------------------------------------------------------
// Merged contacts, subscriptions
// ---------------------------------------------------------------------------------------------------------------

export type ReferenceKind = "contact-link" | "gift" | "note" | "queued-write" | "other";

export interface MergeInput {
  /** Contacts with their `mergedIntoContactId`, as webhooks and queries report them. */
  contacts?: { contactId: string | number; mergedIntoContactId?: string | number | null }[];
  /** Every stored reference to a contact. Ids come back in the plan exactly as given (an integer as its decimal text). */
  references?: { kind: ReferenceKind; holderId: string | number; contactId: string | number }[];
}

export interface MergeRemapPlan {
  /** Merged-away contact id -> surviving contact id (chains followed). */
  survivors: Record<string, string>;
  tombstones: { contactId: string; survivorId: string; hops: number }[];
  remaps: {
    kind: ReferenceKind;
    holderId: string;
    fromContactId: string;
    toContactId: string;
    action: "remap" | "readdress-queued-write";
    reason: "merged-away";
  }[];
  /** References that already point at a survivor. */
  unchanged: number;
}

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

export interface SubscriptionChange {
  add?: EventType[];
  remove?: EventType[];
  /** Must be HTTPS. */
  payloadUrl?: string;
  secret?: string;
}

/** The PUT that applies a change without disabling other selections. */
export interface SubscriptionPlan {
  request: HttpRequest;
  /** The full record to PUT (omitted toggles would become false). */
  body: Record<string, unknown>;
  enabled: EventType[];
  disabled: EventType[];
  changed: boolean;
  notices: string[];
}

/** The GET-then-PUT merge of a subscription. */
export declare function mergeSubscription(current: Subscription, change: SubscriptionChange): SubscriptionPlan;

/** One ordered step of a plan. */
export interface PlanStep {
  order: number;
  action: string;
  request?: HttpRequest;
  atMs?: number;
}

export declare function planPause(input: { webhookId: string; nowMs: number }): { steps: PlanStep[]; pausedAtMs: number };
export declare function planResume(input: {
  webhookId: string;
  pausedAtMs: number;
  storedCursor?: QueryCursor;
}): { steps: PlanStep[]; reconcileFrom: QueryCursor };

export interface RotationInput {
  webhookId: string;
  oldSecretId: string;
  newSecretId: string;
  rotatedAtMs?: number;
  /** When a receipt last reported the old secret. */
  lastOldReceiptMs?: number;
  drainMs?: number;
  nowMs: number;
}

/** Secret rotation: new secret first in the verifier, old one kept until no receipt reports it. */
export declare function planSecretRotation(input: RotationInput): {
  phase: "not-started" | "draining" | "ready-to-retire" | (string & {});
  steps: PlanStep[];
};

// ---------------------------------------------------------------------------------------------------------------
// Rate limits and responses
// ---------------------------------------------------------------------------------------------------------------

export interface RateBudgetConfig {
  /** Requests per window (default 5000). */
  limit?: number;
  /** Requests kept for live work (default 500). */
  liveHeadroom?: number;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  windowMs?: number;
}

/** One response's rate-limit headers, as strings. */
export interface RateObservation {
  /** The HTTP status; absent or null for a network failure. */
  status?: number | null;
  headers?: {
    /** `X-RateLimit-Limit`. */
    limit?: string;
    /** `X-RateLimit-Remaining`. */
    remaining?: string;
    /** `X-RateLimit-Reset` (Unix seconds). */
    reset?: string;
    /** `Retry-After`. */
    retryAfter?: string;
  };
  /** Default `Date.now()`. */
  nowMs?: number;
  /** A random u32 from the host, for jitter. */
  random?: number;
}

export type Priority = "live" | "background";

export interface RateRequest {
  /** Requests about to be sent (default 1). */
  cost?: number;
  /** Default `background`. */
  priority?: Priority;
  nowMs?: number;
  random?: number;
}

export interface RateDecision {
  go: boolean;
  waitMs: number;
  reason: "within-budget" | "window-reset" | "retry-after" | "backoff" | "budget-exhausted" | "reserved-for-live";
  available: number;
}

export interface BudgetSlice {
  allowedNow: number;
  leftAfter: number;
  resumeAtMs?: number;
  moreWindows: number;
}

export interface RateBudgetState {
  config: Required<RateBudgetConfig>;
  limit: number;
  /** The lowest `X-RateLimit-Remaining` reported for the current window. */
  remaining?: number;
  /** Requests spent whose responses have not been observed yet. */
  inFlight?: number;
  resetAtMs?: number;
  blockedUntilMs?: number;
  failures: number;
  /** The current block is a 429's (`retry-after`), not a backoff. */
  rateLimited?: boolean;
}

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

export interface PlanSize {
  queryRows?: number;
  take?: number;
  lookups?: number;
  singleWrites?: number;
  batchedWrites?: number;
  batchSize?: number;
  /** Requests already made (to resume). */
  doneRequests?: number;
}

/** A plan's price in requests. */
export declare function pricePlan(size: PlanSize): { total: number; remaining: number; queryPages: number; writes: number };

export type RequestContext =
  | "read"
  | "query"
  | "create"
  | "transaction-submit"
  | "read-after-create"
  | "transaction-lookup"
  | "update"
  | "delete";

export interface ResponseInput {
  /** Absent or null: a network failure. */
  status?: number | null;
  body?: string;
  retryAfter?: string;
  context?: RequestContext;
  createdAtMs?: number;
  nowMs?: number;
  indexingDelayMs?: number;
}

export interface ResponseClassification {
  class: "success" | "transient" | "permanent" | "authentication" | "context-dependent";
  action:
    | "proceed"
    | "retry-with-backoff"
    | "wait-retry-after"
    | "fail-record"
    | "fail-and-alert"
    | "pause-and-reauthenticate"
    | "retry-after-delay"
    | "keep-pending"
    | "treat-as-not-found"
    | "look-up-existing"
    | "refetch-and-retry";
  reason:
    | "ok"
    | "network-error"
    | "timeout"
    | "server-error"
    | "rate-limited"
    | "bad-request"
    | "unprocessable"
    | "forbidden"
    | "unauthenticated"
    | "not-found-after-create"
    | "not-yet-matched"
    | "already-deleted"
    | "not-found"
    | "already-exists"
    | "conflict"
    | "unexpected-status";
  retryable: boolean;
  retryAfterMs?: number;
  errorCode?: string;
  message?: string;
  details?: { field?: string; code?: string; message?: string }[];
}

/** What a host should do with one Virtuous response. */
export declare function classifyResponse(input: ResponseInput): ResponseClassification;

/** Parses a `modifiedDateTimeUtc`: milliseconds since the epoch and the normalised ISO text. */
export declare function parseModifiedTime(text: string): { ms: number; iso: string };
