/** @module Interface virtuous:sync/receiver@0.1.0 **/
/**
 * Verifies one signature header value over `body` with the given secrets (tried in order).
 * A failed check is an `ok: false` verification, not an error; errors are bad options or secrets.
 */
export function verifySignature(body: Uint8Array, headerValue: string, secrets: Array<Secret>, options: VerifyOptions | undefined): Verification;
/**
 * Signs `body` as a sender using the scheme would (for tests, simulators and local testing).
 */
export function signBody(body: Uint8Array, secret: Secret, options: SignOptions | undefined): Signed;
/**
 * A new random secret from the host's secure random source (`wasi:random`).
 */
export function generateSecret(options: SecretOptions | undefined): string;
export type Json = import('./virtuous-sync-types.js').Json;
export type Error = import('./virtuous-sync-types.js').Error;
export type Event = import('./virtuous-sync-types.js').Event;
export type EventType = import('./virtuous-sync-types.js').EventType;
export type Product = import('./virtuous-sync-types.js').Product;
export type ReconcileInput = import('./virtuous-sync-types.js').ReconcileInput;
export type ReconciliationPlan = import('./virtuous-sync-types.js').ReconciliationPlan;
export type RecordLookup = import('./virtuous-sync-types.js').RecordLookup;
export type InboundDecision = import('./virtuous-sync-types.js').InboundDecision;
export type OutboundDecision = import('./virtuous-sync-types.js').OutboundDecision;
export type PartnerChange = import('./virtuous-sync-types.js').PartnerChange;
export type ResolveInput = import('./virtuous-sync-types.js').ResolveInput;
export type Resolution = import('./virtuous-sync-types.js').Resolution;
export type Choice = import('./virtuous-sync-types.js').Choice;
export type ConflictResolution = import('./virtuous-sync-types.js').ConflictResolution;
/**
 * A signing-scheme preset.
 * # Variants
 * 
 * ## `"virtuous"`
 * 
 * ## `"standard-webhooks"`
 * 
 * ## `"github"`
 * 
 * ## `"vomo"`
 * 
 * ## `"raise"`
 */
export type Preset = 'virtuous' | 'standard-webhooks' | 'github' | 'vomo' | 'raise';
/**
 * How a signature tag is encoded: `auto` (hex or Base64, whichever decodes to 32 bytes).
 * # Variants
 * 
 * ## `"auto"`
 * 
 * ## `"hex"`
 * 
 * ## `"base64"`
 */
export type Encoding = 'auto' | 'hex' | 'base64';
/**
 * How a signature tag is encoded when signing.
 * # Variants
 * 
 * ## `"hex"`
 * 
 * ## `"base64"`
 */
export type TagEncoding = 'hex' | 'base64';
/**
 * `single` (one tag per header value) or `versioned-list` (Standard Webhooks `v1,<tag>` list).
 * # Variants
 * 
 * ## `"single"`
 * 
 * ## `"versioned-list"`
 */
export type SignatureFormat = 'single' | 'versioned-list';
/**
 * What is signed.
 * # Variants
 * 
 * ## `"body"`
 * 
 * The body alone.
 * ## `"timestamp-body"`
 * 
 * `timestamp.body`.
 * ## `"id-timestamp-body"`
 * 
 * `id.timestamp.body`.
 */
export type SignedContent = 'body' | 'timestamp-body' | 'id-timestamp-body';
/**
 * How secret strings become keys: `raw` bytes of the UTF-8 text, or a `whsec_` Base64 key.
 * # Variants
 * 
 * ## `"raw"`
 * 
 * ## `"whsec"`
 */
export type SecretFormat = 'raw' | 'whsec';
/**
 * The text format of a generated secret.
 * # Variants
 * 
 * ## `"base64url"`
 * 
 * ## `"hex"`
 * 
 * ## `"whsec"`
 */
export type GeneratedFormat = 'base64url' | 'hex' | 'whsec';
/**
 * Freshness of a verified delivery: `checked`, `unavailable` (the scheme carries no timestamp)
 * or `not-checked` (no `now`, or the check did not get that far).
 * # Variants
 * 
 * ## `"checked"`
 * 
 * ## `"unavailable"`
 * 
 * ## `"not-checked"`
 */
export type Replay = 'checked' | 'unavailable' | 'not-checked';
/**
 * Why a receipt came out as it did.
 * # Variants
 * 
 * ## `"accepted"`
 * 
 * ## `"unsubscribed-event"`
 * 
 * ## `"unknown-event-type"`
 * 
 * ## `"dead-letter"`
 * 
 * ## `"missing-signature"`
 * 
 * ## `"malformed-signature"`
 * 
 * ## `"signature-mismatch"`
 * 
 * ## `"missing-timestamp"`
 * 
 * ## `"malformed-timestamp"`
 * 
 * ## `"timestamp-too-old"`
 * 
 * ## `"timestamp-too-new"`
 * 
 * ## `"missing-id"`
 * 
 * ## `"no-secrets"`
 */
export type ReceiptReason = 'accepted' | 'unsubscribed-event' | 'unknown-event-type' | 'dead-letter' | 'missing-signature' | 'malformed-signature' | 'signature-mismatch' | 'missing-timestamp' | 'malformed-timestamp' | 'timestamp-too-old' | 'timestamp-too-new' | 'missing-id' | 'no-secrets';
/**
 * Why a signature did not verify.
 * # Variants
 * 
 * ## `"no-secrets"`
 * 
 * ## `"missing-signature"`
 * 
 * ## `"malformed-signature"`
 * 
 * ## `"signature-mismatch"`
 * 
 * ## `"missing-timestamp"`
 * 
 * ## `"malformed-timestamp"`
 * 
 * ## `"timestamp-too-old"`
 * 
 * ## `"timestamp-too-new"`
 * 
 * ## `"missing-id"`
 */
export type VerificationCode = 'no-secrets' | 'missing-signature' | 'malformed-signature' | 'signature-mismatch' | 'missing-timestamp' | 'malformed-timestamp' | 'timestamp-too-old' | 'timestamp-too-new' | 'missing-id';
/**
 * A coded remark: a warning on success, a diagnostic on failure, or the failure itself.
 */
export interface Notice {
  /**
   * Stable kebab-case code (`secret-past-not-after`, `signature-mismatch`, ...).
   */
  code: string,
  /**
   * A sentence for logs and people. Never contains secret or signature material.
   */
  message: string,
}
/**
 * One shared secret. Several are configured during a rotation; they are tried in order.
 */
export interface Secret {
  /**
   * A label reported back as `secret-id` when this secret matched.
   */
  id?: string,
  /**
   * The secret text, interpreted per the scheme's `secret-format` (`raw` bytes of the
   * UTF-8 text, or a `whsec_` Base64 key).
   */
  secret: string,
  /**
   * Milliseconds since the Unix epoch after which the secret should no longer match. A match
   * after it still succeeds, with a `secret-past-not-after` warning.
   */
  notAfter?: bigint,
}
/**
 * How far a signed timestamp may be from `now`. Each side defaults to 300 seconds and is at
 * most 604800 (7 days).
 */
export interface Tolerance {
  /**
   * How old a timestamp may be, in seconds.
   */
  pastSeconds?: number,
  /**
   * How far in the future a timestamp may be, in seconds (clock skew).
   */
  futureSeconds?: number,
}
/**
 * A signing scheme as data. Every field is optional: unset fields come from `preset`
 * (default `virtuous`).
 */
export interface Scheme {
  /**
   * The preset to start from (default `virtuous`).
   */
  preset?: Preset,
  /**
   * Header names that may carry the signature, matched case-insensitively.
   */
  headers?: Array<string>,
  /**
   * Tag encoding.
   */
  encoding?: Encoding,
  /**
   * A prefix before the tag, such as `sha256=`. An empty string removes the preset's prefix.
   */
  prefix?: string,
  /**
   * Whether the prefix must be present (default: true when a prefix is set here).
   */
  prefixRequired?: boolean,
  /**
   * One tag per header value, or a versioned list.
   */
  format?: SignatureFormat,
  /**
   * The version label read in a `versioned-list` (`v1`).
   */
  version?: string,
  /**
   * What is signed.
   */
  signedContent?: SignedContent,
  /**
   * The header carrying a Unix-seconds timestamp. An empty string removes the preset's.
   */
  timestampHeader?: string,
  /**
   * The header carrying a delivery id. An empty string removes the preset's.
   */
  idHeader?: string,
  /**
   * The replay window around the signed timestamp.
   */
  tolerance?: Tolerance,
  /**
   * How secret strings become keys.
   */
  secretFormat?: SecretFormat,
}
/**
 * Which scheme to use: a preset by name, or a customised scheme.
 */
export type SchemeSpec = SchemeSpecPreset | SchemeSpecCustom;
/**
 * A preset.
 */
export interface SchemeSpecPreset {
  tag: 'preset',
  val: Preset,
}
/**
 * A scheme whose unset fields come from its `preset` field.
 */
export interface SchemeSpecCustom {
  tag: 'custom',
  val: Scheme,
}
/**
 * Configuration of a `core`, validated once at construction.
 * Raise's receiver settings.
 */
export interface RaiseReceiverConfig {
  /**
   * Event type label overrides laid over the documented hypothesis: integer text (`"13"`) to a
   * label (`page-update`), or none to remove the label (the integer becomes unknown).
   */
  eventTypes?: Array<[string, string | undefined]>,
}
export interface Config {
  /**
   * The secrets to verify with, current first (at least one).
   */
  secrets: Array<Secret>,
  /**
   * The name of the partner platform being synced (non-blank).
   */
  platformName: string,
  /**
   * The signing scheme (default: the `virtuous` preset).
   */
  scheme?: SchemeSpec,
  /**
   * Largest accepted body in bytes (default 1 MiB, at most 64 MiB).
   */
  maxBodyBytes?: number,
  /**
   * Deepest accepted JSON nesting (default 64).
   */
  maxDepth?: number,
  /**
   * Event types to act on; others are acknowledged and dropped. Absent: all 15 CRM+ types.
   */
  subscribedEvents?: Array<EventType>,
  /**
   * Accept secrets shorter than 32 bytes (default false).
   */
  allowWeakSecrets?: boolean,
  /**
   * Add failure diagnostics to receipts (default true). They never weaken a check.
   */
  diagnostics?: boolean,
  /**
   * The product whose deliveries this receiver takes (default CRM+): it picks the envelope
   * parser and the default preset (`virtuous`, `raise`, `vomo`).
   */
  product?: Product,
  /**
   * Raise's receiver settings (only with `product: raise`).
   */
  raise?: RaiseReceiverConfig,
  /**
   * The sync section (the npm config's `sync` object): `{"customerId": "...", "cooldownMs"?,
   * "fieldMaps"?, "policy"?, ...}`. JSON because it is configuration the host authors as JSON
   * (field maps, policies); the core validates it and names the offending field
   * (`sync.cooldownMs`). Absent: the core receives only, and its sync methods fail with
   * `sync-not-configured`. Text that is not JSON is an `invalid-argument` error with field `sync`.
   */
  sync?: Json,
}
/**
 * The answer to one delivery: what to reply and why, and what it carried.
 */
export interface Receipt {
  /**
   * The HTTP status to answer with (2xx for every authentic delivery, 401 for failed
   * authentication). Virtuous retries every non-2xx.
   */
  status: number,
  /**
   * Why.
   */
  reason: ReceiptReason,
  /**
   * Whether the delivery's signature verified.
   */
  authentic: boolean,
  /**
   * Authentic but unusable (unparseable, too deep, ...): acknowledged so it is not retried
   * forever; keep it for inspection.
   */
  deadLetter: boolean,
  /**
   * The parsed event, when the delivery was authentic and parseable.
   */
  event?: Event,
  /**
   * A stable key for de-duplicating redeliveries.
   */
  dedupeKey?: string,
  /**
   * Position in the configured secret list of the secret that matched.
   */
  secretIndex?: number,
  /**
   * That secret's id, when it has one.
   */
  secretId?: string,
  /**
   * Freshness.
   */
  replay: Replay,
  /**
   * Remarks on an accepted delivery (an expired secret still matching, ...).
   */
  warnings: Array<Notice>,
  /**
   * On failure only: what the failure looks like, from checks that never weaken the verdict.
   */
  diagnostics: Array<Notice>,
  /**
   * The failure, when there is one.
   */
  error?: Notice,
}
/**
 * The outcome of `verify-signature`.
 */
export interface Verification {
  /**
   * Whether the signature is authentic (and fresh, where the scheme can tell).
   */
  ok: boolean,
  /**
   * The failure code, absent on success.
   */
  code?: VerificationCode,
  /**
   * The failure sentence, absent on success.
   */
  message?: string,
  /**
   * Position in the secret list of the secret that matched.
   */
  secretIndex?: number,
  /**
   * That secret's id, when it has one.
   */
  secretId?: string,
  /**
   * Freshness.
   */
  replay: Replay,
  /**
   * Remarks on a success.
   */
  warnings: Array<Notice>,
  /**
   * On failure only: what the failure looks like.
   */
  diagnostics: Array<Notice>,
}
/**
 * Options of `verify-signature`.
 */
export interface VerifyOptions {
  /**
   * The signing scheme (default: the `virtuous` preset).
   */
  scheme?: SchemeSpec,
  /**
   * The delivery's timestamp header value, for schemes that sign one.
   */
  timestamp?: string,
  /**
   * The delivery's id header value, for schemes that sign one.
   */
  id?: string,
  /**
   * The current time in milliseconds since the Unix epoch; without it the replay window is
   * not checked.
   */
  nowMs?: bigint,
  /**
   * Accept secrets shorter than 32 bytes (default false).
   */
  allowWeakSecrets?: boolean,
  /**
   * Add failure diagnostics (default true).
   */
  diagnostics?: boolean,
}
/**
 * Options of `sign-body`.
 */
export interface SignOptions {
  /**
   * The signing scheme (default: the `virtuous` preset).
   */
  scheme?: SchemeSpec,
  /**
   * Unix seconds to sign, required by schemes that sign a timestamp.
   */
  timestamp?: bigint,
  /**
   * The delivery id to sign, required by schemes that sign one.
   */
  id?: string,
  /**
   * Default: the scheme's encoding, Base64 when it accepts both.
   */
  encoding?: TagEncoding,
  /**
   * Accept a secret shorter than 32 bytes (default false).
   */
  allowWeakSecrets?: boolean,
}
/**
 * A signature and the headers a sender would put on the request.
 */
export interface Signed {
  /**
   * The signature header's value.
   */
  signature: string,
  /**
   * Every header to send (signature, and timestamp and id when the scheme has them), lower-case
   * names, sorted by name.
   */
  headers: Array<[string, string]>,
}
/**
 * Options of `generate-secret`.
 */
export interface SecretOptions {
  /**
   * Random bytes in the secret, 32 to 64 (default 32).
   */
  bytes?: number,
  /**
   * Default `base64url`; `whsec` for Standard Webhooks.
   */
  format?: GeneratedFormat,
}

export class Core implements Disposable {
  /**
  * Validates `config` and prepares the keyed HMAC state of each secret. Fails with the first
  * configuration mistake, naming its field.
  */
  constructor(config: Config)
  /**
  * Decides one delivery from its raw body bytes (exactly as received), its headers (in order;
  * repeats kept; names case-insensitive) and the current time in milliseconds since the
  * Unix epoch. Never fails: every outcome is a receipt.
  */
  receive(body: Uint8Array, headers: Array<[string, string]>, nowMs: bigint): Receipt;
  /**
  * The sync decisions bound to this core's `sync` section (npm `core.decideInbound(...)`).
  * They live here because a resource belongs to one interface; interface `sync` has the same
  * decisions as free functions taking their options explicitly (see there for the details).
  * Without a `sync` section they fail with `sync-not-configured`.
  * The keys that find the stored record for an event (a receipt's `event` as is), in order.
  */
  lookupKeys(event: Event): RecordLookup;
  /**
  * Decides an inbound event (the `event` of a receipt as is) against the stored record state
  * (none for no record). A `fetch` or `verify` action is answered by calling again with the
  * same event whose `resource` is the fetched record.
  */
  decideInbound(event: Event, record: Json | undefined, nowMs: bigint): InboundDecision;
  /**
  * Decides an outbound partner change against the stored record state. A `fetch` action is
  * answered by calling again with the fetched record as the change's `current`. After a 2xx
  * for a submitted `PUT`, call again at once with the request as the change's `written` (the
  * write landed: a record fetched later that does not show it is a Virtuous change made after
  * it).
  */
  decideOutbound(record: Json | undefined, change: PartnerChange, nowMs: bigint): OutboundDecision;
  /**
  * A three-way merge under this core's policy.
  */
  resolve(input: ResolveInput): Resolution;
  /**
  * Settles a conflict by hand: a choice for each conflicting field.
  */
  resolveConflict(record: Json, choices: Array<[string, Choice]>, nowMs: bigint): ConflictResolution;
  /**
  * Plans a reconciliation run under this core's `sync` section (field maps, policy and
  * skew window, `pendingExpiryMs`); see `reconcile.plan-reconciliation`.
  */
  planReconciliation(input: ReconcileInput): ReconciliationPlan;
  [Symbol.dispose](): void;
}
