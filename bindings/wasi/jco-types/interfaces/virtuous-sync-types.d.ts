/** @module Interface virtuous:sync/types@0.1.0 **/
/**
 * JSON text (RFC 8259). Used only where the value is opaque to the host (the stored record
 * state) or open-ended (field values, Virtuous record bodies, request bodies, the sync
 * options). Text that is not JSON is an `invalid-argument` error naming the parameter.
 */
export type Json = string;
/**
 * Every error code, a closed set (the npm package's `ErrorCode` less `random-unavailable`,
 * which only the npm package's host randomness can raise; a test checks both against the core).
 * # Variants
 * 
 * ## `"invalid-config"`
 * 
 * configuration and arguments (`config`, `ops`)
 * ## `"unknown-preset"`
 * 
 * ## `"invalid-scheme"`
 * 
 * ## `"no-secrets"`
 * 
 * ## `"invalid-secret"`
 * 
 * ## `"weak-secret"`
 * 
 * ## `"invalid-platform-name"`
 * 
 * ## `"invalid-option"`
 * 
 * ## `"invalid-argument"`
 * 
 * ## `"sync-not-configured"`
 * 
 * ## `"internal"`
 * 
 * ## `"tenant-mismatch"`
 * 
 * sync decisions (`sync`)
 * ## `"kind-mismatch"`
 * 
 * ## `"product-mismatch"`
 * 
 * ## `"record-mismatch"`
 * 
 * ## `"unsupported-version"`
 * 
 * ## `"bad-record"`
 * 
 * ## `"bad-time"`
 * 
 * ## `"missing-field"`
 * 
 * ## `"unknown-field"`
 * 
 * ## `"invalid-money"`
 * 
 * ## `"invalid-date"`
 * 
 * ## `"bad-current"`
 * 
 * ## `"non-positive-amount"`
 * 
 * ## `"designations-mismatch"`
 * 
 * ## `"unsupported-kind"`
 * 
 * ## `"missing-choice"`
 * 
 * ## `"unknown-choice"`
 * 
 * ## `"group-choice-mismatch"`
 * 
 * ## `"invalid-transition"`
 * 
 * ## `"cooldown-active"`
 * 
 * ## `"pending-not-expired"`
 * 
 * ## `"invalid-reconcile-config"`
 * 
 * the planners (`reconcile`, `cursor`, `matcher`, `merge`, `deletion`, `subscription`,
 * `ratelimit`, `response`, `timestamp`)
 * ## `"duplicate-stored-record"`
 * 
 * ## `"legacy-reconcile-input"`
 * 
 * ## `"unsupported-reconcile-version"`
 * 
 * ## `"invalid-cursor-config"`
 * 
 * ## `"run-finished"`
 * 
 * ## `"run-incomplete"`
 * 
 * ## `"duplicate-id"`
 * 
 * ## `"blank-id"`
 * 
 * ## `"too-many-values"`
 * 
 * ## `"too-many-records"`
 * 
 * ## `"size-hint-too-large"`
 * 
 * ## `"invalid-seed"`
 * 
 * ## `"chunk-too-large"`
 * 
 * ## `"invalid-chunk"`
 * 
 * ## `"cancelled"`
 * 
 * ## `"merge-cycle"`
 * 
 * ## `"conflicting-merge"`
 * 
 * ## `"invalid-deletion-config"`
 * 
 * ## `"insecure-payload-url"`
 * 
 * ## `"invalid-payload-url"`
 * 
 * ## `"conflicting-change"`
 * 
 * ## `"invalid-current-subscription"`
 * 
 * ## `"invalid-rate-config"`
 * 
 * ## `"invalid-status"`
 * 
 * ## `"malformed-time"`
 * 
 * ## `"time-out-of-range"`
 * 
 * ## `"invalid-poll-config"`
 * 
 * Volunteer polling (`volunteer`)
 * ## `"missing-links"`
 * 
 * ## `"invalid-page"`
 * 
 * ## `"foreign-next-link"`
 * 
 * ## `"pagination-loop"`
 * 
 * ## `"too-many-pages"`
 * 
 * ## `"scan-incomplete"`
 */
export type ErrorCode = 'invalid-config' | 'unknown-preset' | 'invalid-scheme' | 'no-secrets' | 'invalid-secret' | 'weak-secret' | 'invalid-platform-name' | 'invalid-option' | 'invalid-argument' | 'sync-not-configured' | 'internal' | 'tenant-mismatch' | 'kind-mismatch' | 'product-mismatch' | 'record-mismatch' | 'unsupported-version' | 'bad-record' | 'bad-time' | 'missing-field' | 'unknown-field' | 'invalid-money' | 'invalid-date' | 'bad-current' | 'non-positive-amount' | 'designations-mismatch' | 'unsupported-kind' | 'missing-choice' | 'unknown-choice' | 'group-choice-mismatch' | 'invalid-transition' | 'cooldown-active' | 'pending-not-expired' | 'invalid-reconcile-config' | 'duplicate-stored-record' | 'legacy-reconcile-input' | 'unsupported-reconcile-version' | 'invalid-cursor-config' | 'run-finished' | 'run-incomplete' | 'duplicate-id' | 'blank-id' | 'too-many-values' | 'too-many-records' | 'size-hint-too-large' | 'invalid-seed' | 'chunk-too-large' | 'invalid-chunk' | 'cancelled' | 'merge-cycle' | 'conflicting-merge' | 'invalid-deletion-config' | 'insecure-payload-url' | 'invalid-payload-url' | 'conflicting-change' | 'invalid-current-subscription' | 'invalid-rate-config' | 'invalid-status' | 'malformed-time' | 'time-out-of-range' | 'invalid-poll-config' | 'missing-links' | 'invalid-page' | 'foreign-next-link' | 'pagination-loop' | 'too-many-pages' | 'scan-incomplete';
/**
 * The part of the core that raised an error.
 * # Variants
 * 
 * ## `"config"`
 * 
 * Configuration and options of the `receiver` interface.
 * ## `"ops"`
 * 
 * An input that is not JSON or does not have the operation's shape.
 * ## `"sync"`
 * 
 * ## `"matcher"`
 * 
 * ## `"cursor"`
 * 
 * ## `"merge"`
 * 
 * ## `"deletion"`
 * 
 * ## `"reconcile"`
 * 
 * ## `"subscription"`
 * 
 * ## `"ratelimit"`
 * 
 * ## `"response"`
 * 
 * ## `"timestamp"`
 * 
 * ## `"volunteer"`
 */
export type ErrorModule = 'config' | 'ops' | 'sync' | 'matcher' | 'cursor' | 'merge' | 'deletion' | 'reconcile' | 'subscription' | 'ratelimit' | 'response' | 'timestamp' | 'volunteer';
/**
 * A caller mistake or a refused decision. jco throws it (`ComponentError` whose `payload` is
 * this record); wasmtime and Rust hosts receive it as the `err` case.
 */
export interface Error {
  /**
   * What went wrong, from a closed set.
   */
  code: ErrorCode,
  /**
   * Path of the offending field in the JS API's naming (`secrets[1].notAfter`,
   * `change.amount`, `record.externalRef`), or `""` when the whole value is wrong.
   */
  field: string,
  /**
   * A sentence saying what is wrong and how to fix it. Never contains secret material.
   */
  message: string,
  /**
   * The part of the core that raised it.
   */
  module: ErrorModule,
}
/**
 * The kind of CRM+ record an event is about.
 * # Variants
 * 
 * ## `"contact"`
 * 
 * ## `"gift"`
 * 
 * ## `"project"`
 * 
 * ## `"form-submission"`
 * 
 * ## `"contact-note"`
 * 
 * ## `"event"`
 * 
 * ## `"recurring-gift"`
 * 
 * ## `"campaign"`
 * 
 * ## `"page"`
 * 
 * ## `"participation"`
 */
export type ResourceKind = 'contact' | 'gift' | 'project' | 'form-submission' | 'contact-note' | 'event' | 'recurring-gift' | 'campaign' | 'page' | 'participation';
/**
 * The 15 CRM+ webhook event types.
 * # Variants
 * 
 * ## `"contact-create"`
 * 
 * ## `"contact-update"`
 * 
 * ## `"gift-create"`
 * 
 * ## `"gift-update"`
 * 
 * ## `"gift-delete"`
 * 
 * ## `"project-create"`
 * 
 * ## `"project-update"`
 * 
 * ## `"project-delete"`
 * 
 * ## `"form-submission"`
 * 
 * ## `"contact-note-create"`
 * 
 * ## `"contact-note-update"`
 * 
 * ## `"contact-note-delete"`
 * 
 * ## `"event-create"`
 * 
 * ## `"event-update"`
 * 
 * ## `"event-delete"`
 */
export type EventType = 'contact-create' | 'contact-update' | 'gift-create' | 'gift-update' | 'gift-delete' | 'project-create' | 'project-update' | 'project-delete' | 'form-submission' | 'contact-note-create' | 'contact-note-update' | 'contact-note-delete' | 'event-create' | 'event-update' | 'event-delete';
/**
 * A Virtuous product: CRM+, Raise (online giving) or Volunteer (VOMO).
 * # Variants
 * 
 * ## `"crm"`
 * 
 * ## `"raise"`
 * 
 * ## `"volunteer"`
 */
export type Product = 'crm' | 'raise' | 'volunteer';
/**
 * What happened to a record (Raise and Volunteer events; a CRM+ event's type says it).
 * # Variants
 * 
 * ## `"create"`
 * 
 * ## `"update"`
 * 
 * ## `"delete"`
 * 
 * ## `"submit"`
 */
export type Action = 'create' | 'update' | 'delete' | 'submit';
/**
 * A delivery's event, normalised from whichever envelope shape and naming Virtuous used.
 */
export interface Event {
  /**
   * The product the delivery came from; absent means CRM+.
   */
  product?: Product,
  /**
   * What happened (Raise and Volunteer events only).
   */
  action?: Action,
  /**
   * The product's own name for the type (Raise: the configured label such as `gift-create`;
   * VOMO: `participation.created`); absent for CRM+ and for unknown types.
   */
  productEventType?: string,
  /**
   * The event type; absent when the delivery's type is unknown.
   */
  eventType?: EventType,
  /**
   * The event type exactly as the delivery named it.
   */
  rawEventType: string,
  /**
   * The record kind, when the type is recognised.
   */
  resourceKind?: ResourceKind,
  /**
   * The delivery's event id, when it has one.
   */
  eventId?: string,
  /**
   * The delivery's timestamp text, when it has one.
   */
  timestamp?: string,
  /**
   * The organisation id, when the delivery has one.
   */
  organizationId?: string,
  /**
   * The changed resource's id, when the delivery has one.
   */
  resourceId?: string,
  /**
   * The resource's `modifiedDateTimeUtc`, when it has one.
   */
  modifiedDateTimeUtc?: string,
  /**
   * The Virtuous record as received (unknown fields kept), when the delivery has one: JSON
   * because its shape is Virtuous's, and open-ended.
   */
  resource?: Json,
}
/**
 * What happened to a record (the state machine's input).
 * # Variants
 * 
 * ## `"partner-write"`
 * 
 * We decided to write a partner change to Virtuous.
 * ## `"inbound-applied"`
 * 
 * A non-echo inbound change was applied locally.
 * ## `"confirmed"`
 * 
 * The webhook (or reconciliation) confirmed our pending write.
 * ## `"cooldown-elapsed"`
 * 
 * The cooldown window has passed.
 * ## `"ambiguous"`
 * 
 * Source-of-truth resolution was ambiguous.
 * ## `"manual-resolution"`
 * 
 * A human settled the conflict.
 * ## `"pending-expired"`
 * 
 * The pending write outlived its expiry.
 * ## `"removed"`
 * 
 * The record was deleted or merged away in Virtuous.
 */
export type Trigger = 'partner-write' | 'inbound-applied' | 'confirmed' | 'cooldown-elapsed' | 'ambiguous' | 'manual-resolution' | 'pending-expired' | 'removed';
/**
 * Why a decision, a field outcome or a resolution came out as it did (one taxonomy for all;
 * docs/sync.md describes each).
 * # Variants
 * 
 * ## `"new-record"`
 * 
 * ## `"remote-changed"`
 * 
 * ## `"confirmed"`
 * 
 * ## `"echo"`
 * 
 * ## `"stale"`
 * 
 * ## `"no-change"`
 * 
 * ## `"merged-away"`
 * 
 * ## `"deleted"`
 * 
 * ## `"tombstoned"`
 * 
 * ## `"both-changed"`
 * 
 * ## `"owned-by-other"`
 * 
 * ## `"in-conflict"`
 * 
 * ## `"unsupported-event"`
 * 
 * ## `"not-synced"`
 * 
 * ## `"own-stamp-unlinked"`
 * 
 * ## `"unknown-record"`
 * 
 * ## `"partner-changed"`
 * 
 * ## `"cooldown"`
 * 
 * ## `"coalesced"`
 * 
 * ## `"pending-create"`
 * 
 * ## `"awaiting-echo"`
 * 
 * ## `"needs-current"`
 * 
 * ## `"remote-first"`
 * 
 * ## `"undated"`
 * 
 * ## `"unstamped-create"`
 * 
 * ## `"stuck-pending"`
 * 
 * ## `"manual-resolution"`
 * 
 * ## `"unchanged"`
 * 
 * ## `"local-only"`
 * 
 * ## `"remote-only"`
 * 
 * ## `"same-change"`
 * 
 * ## `"most-recent"`
 * 
 * ## `"virtuous-canonical"`
 * 
 * ## `"merged"`
 */
export type Reason = 'new-record' | 'remote-changed' | 'confirmed' | 'echo' | 'stale' | 'no-change' | 'merged-away' | 'deleted' | 'tombstoned' | 'both-changed' | 'owned-by-other' | 'in-conflict' | 'unsupported-event' | 'not-synced' | 'own-stamp-unlinked' | 'unknown-record' | 'partner-changed' | 'cooldown' | 'coalesced' | 'pending-create' | 'awaiting-echo' | 'needs-current' | 'remote-first' | 'undated' | 'unstamped-create' | 'stuck-pending' | 'manual-resolution' | 'unchanged' | 'local-only' | 'remote-only' | 'same-change' | 'most-recent' | 'virtuous-canonical' | 'merged';
/**
 * The four sync states of a record.
 * # Variants
 * 
 * ## `"in-sync"`
 * 
 * ## `"partner-pending"`
 * 
 * ## `"virtuous-pending"`
 * 
 * ## `"conflict"`
 */
export type SyncState = 'in-sync' | 'partner-pending' | 'virtuous-pending' | 'conflict';
/**
 * A side of the sync.
 * # Variants
 * 
 * ## `"partner"`
 * 
 * ## `"virtuous"`
 */
export type Side = 'partner' | 'virtuous';
/**
 * What settles a field changed on both sides.
 * # Variants
 * 
 * ## `"most-recent-wins"`
 * 
 * ## `"partner-owns"`
 * 
 * ## `"virtuous-owns"`
 * 
 * ## `"virtuous-canonical"`
 * 
 * ## `"manual"`
 */
export type FieldPolicy = 'most-recent-wins' | 'partner-owns' | 'virtuous-owns' | 'virtuous-canonical' | 'manual';
/**
 * Field name -> value, in name order. Values are JSON: their shape is the field's (money text,
 * a date, a designation list, ...), set by the field map, not by this interface.
 */
export type FieldValues = Array<[string, Json]>;
/**
 * An HTTP request to make against the Virtuous API.
 */
export interface Request {
  /**
   * `GET`, `POST` or `PUT`, to send as is.
   */
  method: string,
  /**
   * Path under the API host (`/api/v2/Gift/Transaction`).
   */
  path: string,
  /**
   * The JSON body (absent for a `GET`): a Virtuous record body.
   */
  body?: Json,
}
/**
 * The external reference pair we stamp on Virtuous records.
 */
export interface ExternalRef {
  /**
   * Our platform name as written.
   */
  source: string,
  /**
   * Our stable external id.
   */
  id: string,
}
/**
 * One key to look a stored record state up by.
 */
export type LookupKey = LookupKeyVirtuousId | LookupKeyExternalRef | LookupKeyMergedInto;
/**
 * The record's Virtuous id.
 */
export interface LookupKeyVirtuousId {
  tag: 'virtuous-id',
  val: string,
}
/**
 * The record's external reference.
 */
export interface LookupKeyExternalRef {
  tag: 'external-ref',
  val: ExternalRef,
}
/**
 * The surviving contact's Virtuous id (merge events): the `remap` target, never the event's
 * own record.
 */
export interface LookupKeyMergedInto {
  tag: 'merged-into',
  val: string,
}
/**
 * The keys for one event, in the order to try them.
 */
export interface RecordLookup {
  /**
   * The product of the link (records are stored per product, kind and key); absent: CRM+.
   */
  product?: Product,
  /**
   * The record kind (records are stored per kind); absent for an event type not synced.
   */
  kind?: ResourceKind,
  /**
   * In order; empty when the event names no record.
   */
  keys: Array<LookupKey>,
}
/**
 * One ambiguous field awaiting a human.
 */
export interface ConflictItem {
  /**
   * Field name.
   */
  field: string,
  /**
   * Digest of the last agreed value (absent: never agreed).
   */
  base?: string,
  /**
   * The partner value, when known.
   */
  local?: Json,
  /**
   * Digest of the partner value.
   */
  localDigest?: string,
  /**
   * The Virtuous value, when known.
   */
  remote?: Json,
  /**
   * Digest of the Virtuous value.
   */
  remoteDigest?: string,
  /**
   * Partner modification time (ms).
   */
  localModifiedMs?: bigint,
  /**
   * Virtuous modification time (ms).
   */
  remoteModifiedMs?: bigint,
  /**
   * The policy that applied.
   */
  policy: FieldPolicy,
  /**
   * The side the engine would pick if forced.
   */
  proposed: Side,
  /**
   * Every field of the item's field group (settled together); empty for a field in no group.
   */
  group: Array<string>,
}
/**
 * The inputs a decision used, reported with it so a host can explain it.
 */
export interface DecisionInputs {
  customerId: string,
  kind?: ResourceKind,
  /**
   * The record's state before the decision (absent: no record).
   */
  stateBefore?: SyncState,
  eventType?: EventType,
  eventModifiedMs?: bigint,
  knownVirtuousModifiedMs?: bigint,
  partnerModifiedMs?: bigint,
  /**
   * The stamp the event carried.
   */
  stamp?: string,
  /**
   * Whether the stamp names our platform.
   */
  ours: boolean,
  /**
   * Mapped fields that differ from the base.
   */
  changedFields: Array<string>,
  /**
   * Number of live expected-echo entries compared.
   */
  echoEntries: number,
  cooldownUntilMs?: bigint,
  cooldownFields: Array<string>,
  /**
   * Whether the record's pending write is past its expiry.
   */
  stuck: boolean,
  /**
   * The `now` the decision used.
   */
  nowMs: bigint,
}
/**
 * Fields to create or update locally.
 */
export interface FieldChanges {
  fields: FieldValues,
}
/**
 * Our pending write is confirmed.
 */
export interface Confirmation {
  /**
   * The Virtuous id (captured for a new record).
   */
  virtuousId: string,
  /**
   * Fields Virtuous holds differently from what we wrote: apply them locally.
   */
  apply: FieldValues,
  /**
   * The partner changed the record while the create waited: decide outbound again.
   */
  followUp: boolean,
}
/**
 * The contact was merged away.
 */
export interface Remap {
  /**
   * The surviving contact's Virtuous id.
   */
  survivorId: string,
}
/**
 * Both sides changed fields the policy cannot settle.
 */
export interface Conflict {
  /**
   * The ambiguous fields.
   */
  items: Array<ConflictItem>,
  /**
   * Unambiguous Virtuous changes to apply locally meanwhile.
   */
  apply: FieldValues,
}
/**
 * An unstamped create that may be ours: look it up before creating.
 */
export interface VerificationLookup {
  /**
   * `GET /api/Gift/{id}` or `GET /api/Contact/{id}`.
   */
  lookup: Request,
  /**
   * Field name -> digest of the event's mapped values (for logs).
   */
  digests: Array<[string, string]>,
}
/**
 * What the host should do locally with an inbound event.
 */
export type InboundAction = InboundActionCreate | InboundActionApply | InboundActionConfirm | InboundActionSkip | InboundActionRemap | InboundActionDelete | InboundActionConflict | InboundActionIgnore | InboundActionFetch | InboundActionVerify;
/**
 * Create the record locally with these values, then store `record` (set its `partnerId`).
 */
export interface InboundActionCreate {
  tag: 'create',
  val: FieldChanges,
}
/**
 * Update these fields locally.
 */
export interface InboundActionApply {
  tag: 'apply',
  val: FieldChanges,
}
/**
 * Our pending write is confirmed.
 */
export interface InboundActionConfirm {
  tag: 'confirm',
  val: Confirmation,
}
/**
 * Do nothing: echo, stale or duplicate (see the reason).
 */
export interface InboundActionSkip {
  tag: 'skip',
}
/**
 * Re-point local references to the survivor.
 */
export interface InboundActionRemap {
  tag: 'remap',
  val: Remap,
}
/**
 * Delete (or unlink) the local record.
 */
export interface InboundActionDelete {
  tag: 'delete',
}
/**
 * Show the items, apply `apply`.
 */
export interface InboundActionConflict {
  tag: 'conflict',
  val: Conflict,
}
/**
 * Nothing to do (see the reason).
 */
export interface InboundActionIgnore {
  tag: 'ignore',
}
/**
 * Reason `undated`: fetch this record and decide the same event again with the fetched body
 * as its `resource`. No state changed.
 */
export interface InboundActionFetch {
  tag: 'fetch',
  val: Request,
}
/**
 * Reason `unstamped-create`: fetch `lookup` and decide the event again with it as `resource`.
 * No state changed.
 */
export interface InboundActionVerify {
  tag: 'verify',
  val: VerificationLookup,
}
/**
 * The inbound decision.
 */
export interface InboundDecision {
  action: InboundAction,
  reason: Reason,
  inputs: DecisionInputs,
  /**
   * The record state to store (absent: store nothing). Opaque: store it as is.
   */
  record?: Json,
  /**
   * Fields Virtuous changed where the partner value wins: decide outbound, which writes the
   * partner value back.
   */
  reassertFields: Array<string>,
}
/**
 * What the host should do with a partner change.
 */
export type OutboundAction = OutboundActionSubmit | OutboundActionSuppress | OutboundActionCoalesce | OutboundActionNothing | OutboundActionFetch | OutboundActionApplyInbound;
/**
 * Make this request (retry it unchanged until 2xx).
 */
export interface OutboundActionSubmit {
  tag: 'submit',
  val: Request,
}
/**
 * Send nothing now; retry at `retry-at-ms` if given (cooldown) or after resolution.
 */
export interface OutboundActionSuppress {
  tag: 'suppress',
}
/**
 * An identical write (or the pending create) already covers this change.
 */
export interface OutboundActionCoalesce {
  tag: 'coalesce',
}
/**
 * Nothing to send.
 */
export interface OutboundActionNothing {
  tag: 'nothing',
}
/**
 * Reason `needs-current`: fetch this record and decide again with the response body as the
 * change's `current`. No state changed.
 */
export interface OutboundActionFetch {
  tag: 'fetch',
  val: Request,
}
/**
 * Reason `remote-first`: carry out this inbound decision, store its `record`, then decide
 * again with the same `current`.
 */
export interface OutboundActionApplyInbound {
  tag: 'apply-inbound',
  val: InboundDecision,
}
/**
 * The outbound decision.
 */
export interface OutboundDecision {
  action: OutboundAction,
  reason: Reason,
  inputs: DecisionInputs,
  /**
   * Fields held back by a cooldown or conflict.
   */
  suppressedFields: Array<string>,
  /**
   * When to call again for the held-back fields.
   */
  retryAtMs?: bigint,
  /**
   * The record state to store once the host accepts the decision (for `submit`: before
   * sending). Opaque: store it as is.
   */
  record?: Json,
}
/**
 * A change on the partner side: the record's current values of the mapped fields.
 */
export interface PartnerChange {
  /**
   * The customer the record belongs to.
   */
  customerId: string,
  kind: ResourceKind,
  /**
   * The partner's record id.
   */
  partnerId: string,
  /**
   * When the partner last modified the record (partner clock, ms).
   */
  modifiedMs: bigint,
  /**
   * When the partner last modified each field, when it knows (ms).
   */
  fieldModifiedMs: Array<[string, bigint]>,
  /**
   * Current value of every mapped field the partner holds.
   */
  fields: FieldValues,
  /**
   * Extra body content for create Transactions (e.g. the gift's `contact` block): a JSON object.
   */
  extra?: Json,
  /**
   * The external id to stamp on first write (default: `partner-id`).
   */
  externalId?: string,
  /**
   * The linked Virtuous record as the host just fetched it (for a full-record update).
   */
  current?: Json,
  /**
   * Our `PUT` (as a `submit` decision gave it) that Virtuous just answered with a 2xx: the
   * write landed. Report it at once, before deciding any record fetched afterwards; a record
   * fetched later that does not show it is a Virtuous change made after it. Absent: the write
   * waits for its echo.
   */
  written?: Request,
}
/**
 * One side's values of a record.
 */
export interface SideValues {
  /**
   * Fields absent are unknown, not null.
   */
  values: FieldValues,
  /**
   * When this side last modified the record (ms, its own clock).
   */
  modifiedMs?: bigint,
}
/**
 * Input of a three-way merge.
 */
export interface ResolveInput {
  kind: ResourceKind,
  /**
   * Field -> digest of the last agreed value.
   */
  base: Array<[string, string]>,
  /**
   * The partner side.
   */
  local: SideValues,
  /**
   * The Virtuous side.
   */
  remote: SideValues,
}
/**
 * What happened to one field.
 */
export interface FieldResolution {
  field: string,
  /**
   * `unchanged`, `local-only`, `remote-only`, `same-change`, `most-recent`,
   * `virtuous-canonical`, `owned-by-other` or `both-changed`.
   */
  reason: Reason,
  /**
   * The winning side, absent when unchanged or ambiguous.
   */
  winner?: Side,
}
/**
 * Result of a three-way merge.
 */
export interface Resolution {
  /**
   * `merged`, or `both-changed` when conflict items remain.
   */
  reason: Reason,
  fields: Array<FieldResolution>,
  /**
   * The merged record.
   */
  merged: FieldValues,
  /**
   * Virtuous values to write on the partner side.
   */
  applyLocal: FieldValues,
  /**
   * Partner values to write to Virtuous.
   */
  pushRemote: FieldValues,
  /**
   * Ambiguous fields.
   */
  conflicts: Array<ConflictItem>,
}
/**
 * A manual choice for one conflict item.
 */
export type Choice = ChoicePartner | ChoiceVirtuous | ChoiceValue;
/**
 * Keep the partner value.
 */
export interface ChoicePartner {
  tag: 'partner',
}
/**
 * Take the Virtuous value.
 */
export interface ChoiceVirtuous {
  tag: 'virtuous',
}
/**
 * A new value for both sides.
 */
export interface ChoiceValue {
  tag: 'value',
  val: Json,
}
/**
 * The outcome of settling a conflict by hand.
 */
export interface ConflictResolution {
  /**
   * Always `manual-resolution`.
   */
  reason: Reason,
  /**
   * The record state to store (`in-sync`, the resolution recorded). Opaque.
   */
  record: Json,
  /**
   * Values to write on the partner side now.
   */
  applyLocal: FieldValues,
  /**
   * Fields whose chosen value Virtuous does not hold yet: decide outbound for them.
   */
  pushFields: Array<string>,
}
/**
 * ---- reconciliation (interface `reconcile`, and the `core`'s `plan-reconciliation`) ----
 * What a reconciliation item asks of the host.
 * # Variants
 * 
 * ## `"missed-change"`
 * 
 * ## `"confirm-pending"`
 * 
 * ## `"look-up-pending"`
 * 
 * ## `"keep-waiting"`
 * 
 * ## `"surface-unmatched"`
 * 
 * ## `"resolve-drift"`
 * 
 * ## `"conflict"`
 * 
 * ## `"merged-away"`
 * 
 * ## `"held"`
 * 
 * ## `"duplicate-in-virtuous"`
 * 
 * ## `"malformed-row"`
 * 
 * ## `"fetch-full-record"`
 */
export type ItemKind = 'missed-change' | 'confirm-pending' | 'look-up-pending' | 'keep-waiting' | 'surface-unmatched' | 'resolve-drift' | 'conflict' | 'merged-away' | 'held' | 'duplicate-in-virtuous' | 'malformed-row' | 'fetch-full-record';
/**
 * Why (docs/reconciliation.md describes each).
 * # Variants
 * 
 * ## `"unknown-locally"`
 * 
 * ## `"newer-in-virtuous"`
 * 
 * ## `"merged-away"`
 * 
 * ## `"confirmed-by-query"`
 * 
 * ## `"confirmed-by-lookup"`
 * 
 * ## `"stuck-pending"`
 * 
 * ## `"within-window"`
 * 
 * ## `"no-reference-to-look-up"`
 * 
 * ## `"needs-update-bucket"`
 * 
 * ## `"drift"`
 * 
 * ## `"field-conflict"`
 * 
 * ## `"mass-change-breaker"`
 * 
 * ## `"reference-claimed-twice"`
 * 
 * ## `"row-without-id"`
 * 
 * ## `"fields-not-in-row"`
 */
export type ItemReason = 'unknown-locally' | 'newer-in-virtuous' | 'merged-away' | 'confirmed-by-query' | 'confirmed-by-lookup' | 'stuck-pending' | 'within-window' | 'no-reference-to-look-up' | 'needs-update-bucket' | 'drift' | 'field-conflict' | 'mass-change-breaker' | 'reference-claimed-twice' | 'row-without-id' | 'fields-not-in-row';
/**
 * How a drifted field is settled.
 * # Variants
 * 
 * ## `"take-virtuous"`
 * 
 * ## `"take-partner"`
 * 
 * ## `"conflict"`
 */
export type DriftResolution = 'take-virtuous' | 'take-partner' | 'conflict';
/**
 * One field that differs between Virtuous and the partner.
 */
export interface FieldDrift {
  field: string,
  /**
   * The Virtuous value, when the row has it.
   */
  virtuousValue?: Json,
  /**
   * The partner value, when the host gave it.
   */
  partnerValue?: Json,
  /**
   * Digest of the last agreed value.
   */
  base?: string,
  resolution: DriftResolution,
  /**
   * The sync per-field reason (`remote-only`, `local-only`, `owned-by-other`,
   * `virtuous-canonical`, `most-recent`, `both-changed`).
   */
  reason: Reason,
  policy: FieldPolicy,
  /**
   * The side the engine would pick if forced (conflicts).
   */
  proposed?: Side,
}
/**
 * One thing for the host to do about one record.
 */
export interface ReconcileItem {
  kind: ItemKind,
  reason: ItemReason,
  virtuousId?: string,
  partnerId?: string,
  /**
   * The state the record moves to when the host carries the item out.
   */
  nextState?: SyncState,
  /**
   * The record state to store (opaque JSON text).
   */
  record?: Json,
  /**
   * A synthetic event to decide with `decide-inbound` (missed changes).
   */
  event?: Event,
  /**
   * A request to make (a lookup, a full-record fetch; no body).
   */
  request?: Request,
  /**
   * Drifted fields.
   */
  fields: Array<FieldDrift>,
  /**
   * Compared fields the row did not carry (unknown, not empty).
   */
  unknownFields: Array<string>,
  /**
   * The surviving contact (merged away).
   */
  survivorId?: string,
  /**
   * The row's position in `rows` (malformed rows, duplicates).
   */
  row?: number,
}
/**
 * Counts of a plan.
 */
export interface ReconcileCounts {
  rows: bigint,
  unchanged: bigint,
  pendingNotStuck: bigint,
  skipped: bigint,
  /**
   * Items per kind.
   */
  items: Array<[ItemKind, bigint]>,
}
/**
 * Why the mass-change breaker did or did not trip.
 * # Variants
 * 
 * ## `"within-threshold"`
 * 
 * ## `"below-minimum"`
 * 
 * ## `"mass-change"`
 */
export type BreakerReason = 'within-threshold' | 'below-minimum' | 'mass-change';
/**
 * The mass-change breaker's verdict.
 */
export interface BreakerVerdict {
  tripped: boolean,
  reason: BreakerReason,
  changes: bigint,
  totalRecords: bigint,
  allowed: bigint,
}
/**
 * A reconciliation plan.
 */
export interface ReconciliationPlan {
  items: Array<ReconcileItem>,
  counts: ReconcileCounts,
  /**
   * Requests the plan's lookups and fetches cost.
   */
  requestCost: bigint,
  breaker?: BreakerVerdict,
  /**
   * The breaker tripped: nothing but `held` items.
   */
  halted: boolean,
}
/**
 * What a lookup of a pending write found.
 */
export interface LookupResult {
  found: boolean,
  atMs: bigint,
  virtuousId?: string,
}
/**
 * One stored record to reconcile.
 */
export interface StoredRecord {
  /**
   * The stored sync record state (opaque JSON text, as stored).
   */
  record: Json,
  /**
   * The partner's current values, when the host has them.
   */
  partner?: SideValues,
  /**
   * The result of a lookup the plan asked for.
   */
  lookup?: LookupResult,
}
/**
 * The input of a reconciliation run.
 */
export interface ReconcileInput {
  /**
   * The input format version (absent: the current one).
   */
  version?: bigint,
  /**
   * The run's configuration (`{resource?, fields?, rowShape?, unmatchedAfterMs?,
   * totalRecords?, breaker?}`): JSON, like the sync options.
   */
  config?: Json,
  /**
   * The query rows, as Virtuous returned them.
   */
  rows: Array<Json>,
  stored: Array<StoredRecord>,
  nowMs: bigint,
}
