/** @module Interface virtuous:sync/reconcile@0.1.0 **/
/**
 * Plans a reconciliation run under the sync options (`options`, as in `sync`): per-record
 * items. A version-1 configuration fails with `legacy-reconcile-input` naming the key to change.
 */
export function planReconciliation(options: Json, input: ReconcileInput): ReconciliationPlan;
/**
 * Starts a query run from a stored cursor: the run and the first query.
 */
export function startQueryRun(input: StartRunInput): RunStep;
/**
 * Accepts one page of query rows: the new run, the fresh rows, the next query.
 */
export function acceptQueryPage(input: AcceptPageInput): RunStep;
/**
 * Finishes a complete run (its state from the last step): the advanced cursor to store.
 */
export function finishQueryRun(run: Json): QueryCursor;
/**
 * Remaps stored references of merged-away contacts.
 */
export function planMergeRemap(input: MergeInput): MergeRemapPlan;
/**
 * Two-phase tombstones with a mass-change breaker.
 */
export function planDeletions(input: DeletionInput): DeletionPlan;
/**
 * The GET-then-PUT subscription merge: the PUT body.
 */
export function mergeSubscription(input: MergeSubscriptionInput): SubscriptionPlan;
/**
 * Pausing a customer as an ordered plan.
 */
export function planPause(input: PauseInput): PausePlan;
/**
 * The GET-then-PUT merge of a Raise webhook: the PUT body, the customer's other event types
 * and settings kept.
 */
export function mergeRaiseSubscription(input: RaiseSubscriptionInput): RaiseSubscriptionPlan;
/**
 * Subscribing when the Raise account may have no webhook for us yet: a POST creating it, or the merge into the
 * one delivering to the URL.
 */
export function planRaiseSubscription(input: RaiseSetupInput): RaiseSetupPlan;
/**
 * Raise event type labels learned from delivery-log rows, and where the configured ones disagree.
 */
export function learnRaiseEventTypes(input: RaiseLearnInput): RaiseLearnedLabels;
/**
 * Raise delivery-log rows summarised into failed deliveries per webhook and `contextId`.
 */
export function summarizeRaiseDeliveryLogs(input: RaiseLogInput): RaiseLogSummary;
/**
 * Resuming a customer, with a reconciliation from the pause time.
 */
export function planResume(input: ResumeInput): ResumePlan;
/**
 * A secret rotation plan.
 */
export function planSecretRotation(input: RotationInput): RotationPlan;
/**
 * The requests a plan needs.
 */
export function pricePlan(input: PlanSize): PlanPrice;
/**
 * What to do with a Virtuous response (or a network failure).
 */
export function classifyResponse(input: Response): ResponseClassification;
/**
 * Parses a `modifiedDateTimeUtc` text (`malformed-time`, `time-out-of-range` otherwise).
 */
export function parseModifiedTime(input: TimeText): ParsedTime;
/**
 * Volunteer (VOMO) polling (issue 17, docs/products/volunteer.md). JSON text in and out, in the
 * npm package's shapes (`StartVolunteerPollInput` -> `VolunteerPollStep`, ...; the vectors in
 * `tests/vectors/volunteer/` show every one). Errors: `invalid-poll-config`, `missing-links`,
 * `invalid-page`, `foreign-next-link`, `pagination-loop`, `too-many-pages`, `run-finished`,
 * `run-incomplete`, `scan-incomplete`, `invalid-rate-config` and the deletion codes.
 * Starts a poll of one resource from its stored cursor: the run and the first `GET`.
 */
export function startVolunteerPoll(input: Json): Json;
/**
 * Accepts one response body `{run, body}`: the changed rows and the next `GET`.
 */
export function acceptVolunteerPage(input: Json): Json;
/**
 * Ends a poll (the run from the last step): the cursor to store, a full scan's summary.
 */
export function finishVolunteerPoll(run: Json): Json;
/**
 * Steps the per-organisation Volunteer budget: `{state?, config?, steps}` -> `{state, decisions}`.
 */
export function volunteerBudget(input: Json): Json;
/**
 * Tombstones and the breaker for records a complete full scan lost, with the confirming lookups.
 */
export function planVolunteerDeletions(input: Json): Json;
export type Json = import('./virtuous-sync-types.js').Json;
export type Error = import('./virtuous-sync-types.js').Error;
export type ReconcileInput = import('./virtuous-sync-types.js').ReconcileInput;
export type ReconciliationPlan = import('./virtuous-sync-types.js').ReconciliationPlan;
export type BreakerVerdict = import('./virtuous-sync-types.js').BreakerVerdict;
export type EventType = import('./virtuous-sync-types.js').EventType;
export type Request = import('./virtuous-sync-types.js').Request;
export type ExternalRef = import('./virtuous-sync-types.js').ExternalRef;
/**
 * A contact and, when it was merged away, the contact it was merged into.
 */
export interface MergeLink {
  contactId: string,
  mergedIntoContactId?: string,
}
/**
 * What holds a reference to a contact.
 * # Variants
 * 
 * ## `"contact-link"`
 * 
 * ## `"gift"`
 * 
 * ## `"note"`
 * 
 * ## `"queued-write"`
 * 
 * ## `"other"`
 */
export type ReferenceKind = 'contact-link' | 'gift' | 'note' | 'queued-write' | 'other';
/**
 * A stored reference to a contact.
 */
export interface StoredReference {
  kind: ReferenceKind,
  /**
   * The holder's id (a gift, a note, a queued write, ...).
   */
  holderId: string,
  contactId: string,
}
/**
 * Input of `plan-merge-remap`.
 */
export interface MergeInput {
  contacts: Array<MergeLink>,
  references: Array<StoredReference>,
}
/**
 * A merged-away contact and its final survivor.
 */
export interface MergeTombstone {
  contactId: string,
  survivorId: string,
  /**
   * Merges between them.
   */
  hops: number,
}
/**
 * What to do with a reference.
 * # Variants
 * 
 * ## `"remap"`
 * 
 * ## `"readdress-queued-write"`
 */
export type RemapAction = 'remap' | 'readdress-queued-write';
/**
 * Why a reference moves.
 * # Variants
 * 
 * ## `"merged-away"`
 */
export type RemapReason = 'merged-away';
/**
 * One reference to re-point.
 */
export interface Remap {
  kind: ReferenceKind,
  holderId: string,
  fromContactId: string,
  toContactId: string,
  action: RemapAction,
  reason: RemapReason,
}
/**
 * The merge remap plan.
 */
export interface MergeRemapPlan {
  /**
   * Contact id -> its final survivor.
   */
  survivors: Array<[string, string]>,
  tombstones: Array<MergeTombstone>,
  remaps: Array<Remap>,
  /**
   * References that stay as they are.
   */
  unchanged: bigint,
}
/**
 * One record fed to the initial matcher (either side).
 */
export interface MatchRecord {
  /**
   * The record's id on its side (non-blank, unique per side).
   */
  id: string,
  /**
   * External references it carries (`{source, id}`).
   */
  references: Array<ExternalRef>,
  emails: Array<string>,
  names: Array<string>,
  postalCodes: Array<string>,
  phones: Array<string>,
  /**
   * Values to digest for the pair (the field map's values), when given.
   */
  data?: Json,
}
/**
 * What made two records a pair.
 * # Variants
 * 
 * ## `"reference"`
 * 
 * ## `"email"`
 * 
 * ## `"name-postal"`
 * 
 * ## `"name-phone"`
 */
export type MatchSignal = 'reference' | 'email' | 'name-postal' | 'name-phone';
/**
 * How strong a pair is.
 * # Variants
 * 
 * ## `"reference"`
 * 
 * ## `"email"`
 * 
 * ## `"strong-signal"`
 */
export type MatchTier = 'reference' | 'email' | 'strong-signal';
/**
 * The state a matched pair starts in.
 * # Variants
 * 
 * ## `"in-sync"`
 */
export type PairState = 'in-sync';
/**
 * One piece of evidence.
 */
export interface Evidence {
  signal: MatchSignal,
  value: string,
}
/**
 * A matched pair.
 */
export interface MatchedPair {
  partnerId: string,
  virtuousId: string,
  tier: MatchTier,
  state: PairState,
  evidence: Array<Evidence>,
  partnerDigest?: string,
  virtuousDigest?: string,
}
/**
 * Why records need a human.
 * # Variants
 * 
 * ## `"shared-value"`
 */
export type ReviewReason = 'shared-value';
/**
 * Records a human must match.
 */
export interface ReviewItem {
  tier: MatchTier,
  reason: ReviewReason,
  partnerIds: Array<string>,
  virtuousIds: Array<string>,
  evidence: Array<Evidence>,
}
/**
 * Counts of a match plan.
 */
export interface MatchCounts {
  partnerRecords: bigint,
  virtuousRecords: bigint,
  /**
   * Pairs per tier: reference, email, strong signal.
   */
  pairsByTier: [bigint, bigint, bigint],
  reviewPartner: bigint,
  reviewVirtuous: bigint,
}
/**
 * The initial match.
 */
export interface MatchPlan {
  pairs: Array<MatchedPair>,
  virtuousOnly: Array<string>,
  partnerOnly: Array<string>,
  review: Array<ReviewItem>,
  counts: MatchCounts,
}
/**
 * The size of a background plan, to price in requests.
 */
export interface PlanSize {
  queryRows?: bigint,
  /**
   * Rows per query page (default 1000, at most 1000).
   */
  take?: number,
  lookups?: bigint,
  singleWrites?: bigint,
  batchedWrites?: bigint,
  /**
   * Writes per batch (default the core's).
   */
  batchSize?: number,
  /**
   * Requests already made.
   */
  doneRequests?: bigint,
}
/**
 * A plan's price in requests.
 */
export interface PlanPrice {
  total: bigint,
  remaining: bigint,
  queryPages: bigint,
  writes: bigint,
}
/**
 * A stored query cursor: where the next query run starts.
 */
export interface QueryCursor {
  /**
   * The newest `modifiedDateTimeUtc` fully read (ms).
   */
  highWaterMs?: bigint,
  /**
   * Ids already read at exactly `high-water-ms`.
   */
  boundaryIds: Array<string>,
  /**
   * Set when a run stopped at a cap (ms).
   */
  cappedAtMs?: bigint,
}
/**
 * Input of `start-query-run`.
 */
export interface StartRunInput {
  /**
   * The stored cursor (absent: from the beginning).
   */
  cursor?: QueryCursor,
  /**
   * How the run queries (`{resource?, take?, overlapMs?, modifiedParameter?, pageCap?}`):
   * JSON, like the other configurations.
   */
  config?: Json,
}
/**
 * A query request to make (`POST /api/.../Query?skip=&take=`).
 */
export interface QueryRequest {
  method: string,
  path: string,
  skip: bigint,
  take: number,
  /**
   * The query body (Virtuous's query shape).
   */
  body: Json,
}
/**
 * What one page contained.
 */
export interface PageResult {
  /**
   * Positions (in the page) of rows to process, in page order.
   */
  fresh: Uint32Array,
  /**
   * Their ids, same order.
   */
  freshIds: Array<string>,
  /**
   * Rows dropped as already processed.
   */
  duplicates: number,
  /**
   * Rows of a page asked for again further back (they come again).
   */
  discarded: number,
  /**
   * Positions of rows without a usable `id` (not processed).
   */
  malformed: Uint32Array,
  /**
   * Positions of fresh rows without a readable `modifiedDateTimeUtc`.
   */
  undated: Uint32Array,
  /**
   * Whether paging is done: call `finish-query-run` next.
   */
  done: boolean,
  /**
   * The next request, unless done.
   */
  next?: QueryRequest,
}
/**
 * A query run's next step.
 */
export interface RunStep {
  /**
   * The run's state (opaque JSON text: keep it and pass it back; `finish-query-run` takes it).
   */
  run: Json,
  /**
   * The request to make, unless done.
   */
  request?: QueryRequest,
  /**
   * What the accepted page contained (absent for the first step).
   */
  page?: PageResult,
}
/**
 * Input of `accept-query-page`.
 */
export interface AcceptPageInput {
  /**
   * The run state from the previous step.
   */
  run: Json,
  /**
   * The page's rows, as Virtuous returned them.
   */
  rows: Array<Json>,
}
/**
 * One step of an operational plan, in order.
 * # Variants
 * 
 * ## `"deactivate-webhook"`
 * 
 * ## `"stop-submitter"`
 * 
 * ## `"stop-poller"`
 * 
 * ## `"record-pause-time"`
 * 
 * ## `"activate-webhook"`
 * 
 * ## `"reconcile-from-pause"`
 * 
 * ## `"start-poller"`
 * 
 * ## `"start-submitter"`
 * 
 * ## `"add-new-secret-first"`
 * 
 * ## `"get-webhook"`
 * 
 * ## `"put-webhook-with-new-secret"`
 * 
 * ## `"record-rotation-time"`
 * 
 * ## `"wait-for-old-secret-drain"`
 * 
 * ## `"remove-old-secret"`
 */
export type StepAction = 'deactivate-webhook' | 'stop-submitter' | 'stop-poller' | 'record-pause-time' | 'activate-webhook' | 'reconcile-from-pause' | 'start-poller' | 'start-submitter' | 'add-new-secret-first' | 'get-webhook' | 'put-webhook-with-new-secret' | 'record-rotation-time' | 'wait-for-old-secret-drain' | 'remove-old-secret';
/**
 * One step of a pause, resume or rotation plan.
 */
export interface PlanStep {
  order: number,
  action: StepAction,
  /**
   * The request to make, for steps that make one (no body).
   */
  request?: Request,
  /**
   * The time the step refers to (ms), when it has one.
   */
  atMs?: bigint,
}
/**
 * Input of `plan-pause`.
 */
export interface PauseInput {
  webhookId: string,
  nowMs: bigint,
}
/**
 * A pause plan.
 */
export interface PausePlan {
  steps: Array<PlanStep>,
  /**
   * Store it: `plan-resume` reconciles from here.
   */
  pausedAtMs: bigint,
}
/**
 * Input of `plan-resume`.
 */
export interface ResumeInput {
  webhookId: string,
  pausedAtMs: bigint,
  /**
   * The stored query cursor, when there is one.
   */
  storedCursor?: QueryCursor,
}
/**
 * A resume plan.
 */
export interface ResumePlan {
  steps: Array<PlanStep>,
  /**
   * The cursor the catch-up reconciliation starts from.
   */
  reconcileFrom: QueryCursor,
}
/**
 * Input of `plan-secret-rotation`.
 */
export interface RotationInput {
  webhookId: string,
  oldSecretId: string,
  newSecretId: string,
  /**
   * When the webhook was switched to the new secret (absent: not yet).
   */
  rotatedAtMs?: bigint,
  /**
   * The last delivery the old secret verified (ms).
   */
  lastOldReceiptMs?: bigint,
  /**
   * How long the old secret keeps verifying after the switch (default 72 hours).
   */
  drainMs?: bigint,
  nowMs: bigint,
}
/**
 * Where a rotation stands.
 * # Variants
 * 
 * ## `"not-started"`
 * 
 * ## `"draining"`
 * 
 * ## `"ready-to-retire"`
 */
export type RotationPhase = 'not-started' | 'draining' | 'ready-to-retire';
/**
 * A secret rotation plan.
 */
export interface RotationPlan {
  phase: RotationPhase,
  steps: Array<PlanStep>,
}
/**
 * A change to a Raise webhook (event types are Raise's integers, 10..52).
 */
export interface RaiseSubscriptionChange {
  add: Uint16Array,
  remove: Uint16Array,
  notificationUrl?: string,
  /**
   * A new `securityToken` (rotation); never echoed.
   */
  securityToken?: string,
  /**
   * A new `status` (1 is "typically active" in the docs; 2 assumed inactive).
   */
  status?: number,
}
/**
 * Input of `merge-raise-subscription`.
 */
export interface RaiseSubscriptionInput {
  /**
   * The webhook as `GET /api/Webhook/{id}` returned it (Raise's shape, kept whole).
   */
  current: Json,
  change: RaiseSubscriptionChange,
}
/**
 * The Raise GET-then-PUT merge.
 */
export interface RaiseSubscriptionPlan {
  /**
   * The `PUT` to make (under the Raise API host).
   */
  request: Request,
  /**
   * Its body: the current webhook with the change applied (every field kept).
   */
  body: Json,
  /**
   * The resulting `eventTypesList`.
   */
  eventTypes: Uint16Array,
  enabled: Uint16Array,
  disabled: Uint16Array,
  changed: boolean,
  /**
   * `no-security-token`, `inactive`, `status-missing`, `format-missing`.
   */
  notices: Array<string>,
}
/**
 * Input of `plan-raise-subscription`: the account's webhooks and the subscription wanted.
 */
export interface RaiseSetupInput {
  /**
   * `GET /api/Webhook/list`'s body, as received (an array of webhooks).
   */
  existing: Json,
  /**
   * Where Raise should deliver (HTTPS).
   */
  notificationUrl: string,
  /**
   * The event type integers wanted (10..52).
   */
  eventTypes: Uint16Array,
  /**
   * The token deliveries are signed with; never echoed.
   */
  securityToken: string,
  /**
   * The new webhook's name (default `virtuous-sync`).
   */
  name?: string,
  /**
   * The new webhook's `format` (1 or 2); never invented when absent.
   */
  format?: number,
}
/**
 * Create a webhook, or merge into the one delivering to the URL.
 * # Variants
 * 
 * ## `"create"`
 * 
 * ## `"merge"`
 */
export type RaiseSetupAction = 'create' | 'merge';
/**
 * Subscribing when the Raise account may have no webhook for us yet.
 */
export interface RaiseSetupPlan {
  action: RaiseSetupAction,
  /**
   * `POST /api/Webhook` (create) or `GET /api/Webhook/{id}` (merge).
   */
  request: Request,
  /**
   * The POST body (create).
   */
  body?: Json,
  /**
   * The webhook delivering to the URL (merge).
   */
  webhookId?: string,
  /**
   * What to hand to `merge-raise-subscription` with the GET body (merge).
   */
  change?: RaiseSubscriptionChange,
  /**
   * `format-missing`.
   */
  notices: Array<string>,
}
/**
 * Input of `learn-raise-event-types`.
 */
export interface RaiseLearnInput {
  /**
   * Delivery-log rows (`GET /api/Webhook/log/list`), as Raise returns them.
   */
  rows: Array<Json>,
  /**
   * The receiver's `raise.eventTypes` overrides (none: the defaults).
   */
  configured?: Json,
}
/**
 * One event type as the logs name it.
 */
export interface RaiseLearnedType {
  code: number,
  display: string,
  label?: string,
  rows: bigint,
}
/**
 * Why the configured labels and the logs disagree.
 * # Variants
 * 
 * ## `"different-label"`
 * 
 * ## `"not-configured"`
 * 
 * ## `"unreadable-display"`
 * 
 * ## `"inconsistent-display"`
 */
export type RaiseLabelDisagreementKind = 'different-label' | 'not-configured' | 'unreadable-display' | 'inconsistent-display';
/**
 * One disagreement.
 */
export interface RaiseLabelDisagreement {
  code: number,
  kind: RaiseLabelDisagreementKind,
  configured?: string,
  learned?: string,
  display: string,
}
/**
 * What the logs taught.
 */
export interface RaiseLearnedLabels {
  learned: Array<RaiseLearnedType>,
  disagreements: Array<RaiseLabelDisagreement>,
  /**
   * Suggested `raise.eventTypes` overrides (integer text -> label).
   */
  suggested: Array<[string, string]>,
  skippedRows: bigint,
}
/**
 * Input of `summarize-raise-delivery-logs`.
 */
export interface RaiseLogInput {
  rows: Array<Json>,
  /**
   * Longest `serverResponse` kept (default 200 characters).
   */
  maxResponseChars?: number,
}
/**
 * One delivery (the attempts sharing a webhook and a `contextId`) that failed.
 */
export interface RaiseFailedDelivery {
  webhookId?: string,
  contextId?: string,
  eventType?: number,
  eventTypeDisplay?: string,
  attempts: number,
  failures: number,
  /**
   * Whether the last attempt succeeded.
   */
  delivered: boolean,
  lastStatus?: number,
  lastResponse?: string,
  lastAttempt?: string,
  lastAttemptMs?: bigint,
}
/**
 * The delivery-log summary.
 */
export interface RaiseLogSummary {
  /**
   * Deliveries whose last attempt failed, newest first.
   */
  failed: Array<RaiseFailedDelivery>,
  /**
   * Deliveries that failed, then succeeded.
   */
  recovered: Array<RaiseFailedDelivery>,
  deliveries: bigint,
  rows: bigint,
  skippedRows: bigint,
}
/**
 * A change to a webhook subscription.
 */
export interface SubscriptionChange {
  add: Array<EventType>,
  remove: Array<EventType>,
  payloadUrl?: string,
  secret?: string,
}
/**
 * Input of `merge-subscription`.
 */
export interface MergeSubscriptionInput {
  /**
   * The webhook as `GET /api/Webhook/{id}` returned it (Virtuous's shape, kept whole).
   */
  current: Json,
  change?: SubscriptionChange,
}
/**
 * The GET-then-PUT subscription merge.
 */
export interface SubscriptionPlan {
  /**
   * The `PUT` to make.
   */
  request: Request,
  /**
   * Its body: the current webhook with the change applied (unknown fields kept).
   */
  body: Json,
  enabled: Array<EventType>,
  disabled: Array<EventType>,
  /**
   * Whether anything changed.
   */
  changed: boolean,
  /**
   * Remarks for logs.
   */
  notices: Array<string>,
}
/**
 * What suggested a record is gone.
 * # Variants
 * 
 * ## `"absent-from-page"`
 * 
 * ## `"absent-from-full-scan"`
 * 
 * ## `"delete-event"`
 * 
 * ## `"not-found-on-lookup"`
 * 
 * ## `"found-on-lookup"`
 */
export type DeletionSignal = 'absent-from-page' | 'absent-from-full-scan' | 'delete-event' | 'not-found-on-lookup' | 'found-on-lookup';
/**
 * A tombstone awaiting confirmation.
 */
export interface PendingTombstone {
  /**
   * When the first signal was seen (ms).
   */
  firstSeenMs: bigint,
  signal: DeletionSignal,
}
/**
 * A record that may have been deleted in Virtuous.
 */
export interface DeletionCandidate {
  virtuousId: string,
  partnerId?: string,
  signal: DeletionSignal,
  observedAtMs: bigint,
  /**
   * The newest edit on either side (ms), when known.
   */
  lastEditMs?: bigint,
  /**
   * The record's pending tombstone, when it has one.
   */
  pending?: PendingTombstone,
}
/**
 * The mass-change breaker (defaults: 5% and 10 records).
 */
export interface BreakerConfig {
  /**
   * The share of the customer's records a run may delete or overwrite.
   */
  maxShare?: number,
  /**
   * Below this many changes the breaker never trips.
   */
  minCount?: bigint,
}
/**
 * The input of `plan-deletions`.
 */
export interface DeletionInput {
  candidates: Array<DeletionCandidate>,
  /**
   * The customer's record count (the breaker's base).
   */
  totalRecords: bigint,
  /**
   * Overwrites the same run makes (counted by the breaker).
   */
  overwrites?: bigint,
  /**
   * How long after the first signal a lookup may confirm (default one hour).
   */
  confirmAfterMs?: bigint,
  breaker?: BreakerConfig,
}
/**
 * What to do about a candidate.
 * # Variants
 * 
 * ## `"no-action"`
 * 
 * ## `"mark-pending"`
 * 
 * ## `"keep-pending"`
 * 
 * ## `"look-up"`
 * 
 * ## `"confirm-delete"`
 * 
 * ## `"clear-tombstone"`
 * 
 * ## `"held"`
 */
export type DeletionAction = 'no-action' | 'mark-pending' | 'keep-pending' | 'look-up' | 'confirm-delete' | 'clear-tombstone' | 'held';
/**
 * Why.
 * # Variants
 * 
 * ## `"absence-is-not-deletion"`
 * 
 * ## `"first-signal"`
 * 
 * ## `"awaiting-confirmation"`
 * 
 * ## `"confirm-by-lookup"`
 * 
 * ## `"confirmed-by-lookup"`
 * 
 * ## `"newer-edit"`
 * 
 * ## `"found-on-lookup"`
 * 
 * ## `"mass-change-breaker"`
 */
export type DeletionReason = 'absence-is-not-deletion' | 'first-signal' | 'awaiting-confirmation' | 'confirm-by-lookup' | 'confirmed-by-lookup' | 'newer-edit' | 'found-on-lookup' | 'mass-change-breaker';
/**
 * The decision for one candidate.
 */
export interface DeletionDecision {
  virtuousId: string,
  partnerId?: string,
  action: DeletionAction,
  reason: DeletionReason,
  /**
   * The tombstone to store (pending), when there is one.
   */
  pending?: PendingTombstone,
  /**
   * The earliest time a confirming lookup counts.
   */
  confirmNotBeforeMs?: bigint,
}
/**
 * The deletion plan.
 */
export interface DeletionPlan {
  decisions: Array<DeletionDecision>,
  breaker: BreakerVerdict,
  /**
   * The breaker tripped: every delete is `held`.
   */
  halted: boolean,
}
/**
 * What a request to Virtuous was for; decides what a 404 or 409 means.
 * # Variants
 * 
 * ## `"read"`
 * 
 * A plain read (the default).
 * ## `"query"`
 * 
 * A query page.
 * ## `"create"`
 * 
 * A direct create (`POST /api/Contact`, `POST /api/Gift`).
 * ## `"transaction-submit"`
 * 
 * A Transaction submission (`POST /api/v2/Gift/Transaction`, `/api/Contact/Transaction`).
 * ## `"read-after-create"`
 * 
 * A read of a record the host created moments ago.
 * ## `"transaction-lookup"`
 * 
 * `GET /api/Gift/{transactionSource}/{transactionId}` for a pending write.
 * ## `"update"`
 * 
 * An update (`PUT`).
 * ## `"delete"`
 * 
 * A delete.
 */
export type RequestContext = 'read' | 'query' | 'create' | 'transaction-submit' | 'read-after-create' | 'transaction-lookup' | 'update' | 'delete';
/**
 * A Virtuous response (or its absence) to classify.
 */
export interface Response {
  /**
   * The HTTP status; absent for a network failure (no response).
   */
  status?: number,
  /**
   * The response body as text, when there is one.
   */
  body?: string,
  /**
   * The `Retry-After` header value, as received.
   */
  retryAfter?: string,
  /**
   * What the request was for (default `read`).
   */
  context?: RequestContext,
  /**
   * When the host created the record, for `read-after-create` (ms).
   */
  createdAtMs?: bigint,
  /**
   * The host's clock (ms).
   */
  nowMs?: bigint,
  /**
   * How long a new record may stay invisible to reads (ms; the core's default when absent).
   */
  indexingDelayMs?: bigint,
}
/**
 * The kind of outcome.
 * # Variants
 * 
 * ## `"success"`
 * 
 * ## `"transient"`
 * 
 * ## `"permanent"`
 * 
 * ## `"authentication"`
 * 
 * ## `"context-dependent"`
 */
export type ResponseClass = 'success' | 'transient' | 'permanent' | 'authentication' | 'context-dependent';
/**
 * What the host should do.
 * # Variants
 * 
 * ## `"proceed"`
 * 
 * ## `"retry-with-backoff"`
 * 
 * ## `"wait-retry-after"`
 * 
 * ## `"fail-record"`
 * 
 * ## `"fail-and-alert"`
 * 
 * ## `"pause-and-reauthenticate"`
 * 
 * ## `"retry-after-delay"`
 * 
 * ## `"keep-pending"`
 * 
 * ## `"treat-as-not-found"`
 * 
 * ## `"look-up-existing"`
 * 
 * ## `"refetch-and-retry"`
 */
export type HostAction = 'proceed' | 'retry-with-backoff' | 'wait-retry-after' | 'fail-record' | 'fail-and-alert' | 'pause-and-reauthenticate' | 'retry-after-delay' | 'keep-pending' | 'treat-as-not-found' | 'look-up-existing' | 'refetch-and-retry';
/**
 * Why (docs/reconciliation.md describes each).
 * # Variants
 * 
 * ## `"ok"`
 * 
 * ## `"network-error"`
 * 
 * ## `"timeout"`
 * 
 * ## `"server-error"`
 * 
 * ## `"rate-limited"`
 * 
 * ## `"bad-request"`
 * 
 * ## `"unprocessable"`
 * 
 * ## `"forbidden"`
 * 
 * ## `"unauthenticated"`
 * 
 * ## `"not-found-after-create"`
 * 
 * ## `"not-yet-matched"`
 * 
 * ## `"already-deleted"`
 * 
 * ## `"not-found"`
 * 
 * ## `"already-exists"`
 * 
 * ## `"conflict"`
 * 
 * ## `"unexpected-status"`
 */
export type ResponseReason = 'ok' | 'network-error' | 'timeout' | 'server-error' | 'rate-limited' | 'bad-request' | 'unprocessable' | 'forbidden' | 'unauthenticated' | 'not-found-after-create' | 'not-yet-matched' | 'already-deleted' | 'not-found' | 'already-exists' | 'conflict' | 'unexpected-status';
/**
 * One field error of a response body.
 */
export interface ErrorDetail {
  field?: string,
  code?: string,
  message?: string,
}
/**
 * What to do with a response.
 */
export interface ResponseClassification {
  'class': ResponseClass,
  action: HostAction,
  reason: ResponseReason,
  /**
   * Whether the same request may be sent again.
   */
  retryable: boolean,
  /**
   * From `Retry-After`, in ms (at most one hour).
   */
  retryAfterMs?: bigint,
  /**
   * The body's error code (`BAD_REQUEST`...), when it has one.
   */
  errorCode?: string,
  /**
   * The body's message, or its plain text, trimmed and shortened.
   */
  message?: string,
  /**
   * Field errors.
   */
  details: Array<ErrorDetail>,
}
/**
 * A `modifiedDateTimeUtc` text to parse.
 */
export interface TimeText {
  text: string,
}
/**
 * A parsed time.
 */
export interface ParsedTime {
  /**
   * Milliseconds since the Unix epoch.
   */
  ms: bigint,
  /**
   * The same instant in ISO-8601 UTC with milliseconds.
   */
  iso: string,
}
/**
 * Rate-limit headers of a response, as received (text).
 */
export interface RateHeaders {
  limit?: string,
  remaining?: string,
  reset?: string,
  retryAfter?: string,
}
/**
 * One response fed to a rate budget (failures included).
 */
export interface RateObservation {
  /**
   * The HTTP status; absent for a network failure.
   */
  status?: number,
  headers?: RateHeaders,
  /**
   * The host's clock (ms).
   */
  nowMs: bigint,
  /**
   * Host randomness for the backoff jitter.
   */
  random?: number,
}
/**
 * Whose request it is: live traffic keeps a reserve background work cannot use.
 * # Variants
 * 
 * ## `"live"`
 * 
 * ## `"background"`
 */
export type Priority = 'live' | 'background';
/**
 * A request to send, asking the budget.
 */
export interface RateRequest {
  /**
   * Requests it costs (default 1).
   */
  cost?: number,
  /**
   * Default `live`.
   */
  priority?: Priority,
  /**
   * The host's clock (ms).
   */
  nowMs: bigint,
  /**
   * Host randomness for the backoff jitter.
   */
  random?: number,
}
/**
 * Why the budget said go or wait.
 * # Variants
 * 
 * ## `"within-budget"`
 * 
 * ## `"window-reset"`
 * 
 * ## `"retry-after"`
 * 
 * ## `"backoff"`
 * 
 * ## `"budget-exhausted"`
 * 
 * ## `"reserved-for-live"`
 */
export type BudgetReason = 'within-budget' | 'window-reset' | 'retry-after' | 'backoff' | 'budget-exhausted' | 'reserved-for-live';
/**
 * Go, or wait how long.
 */
export interface RateDecision {
  go: boolean,
  /**
   * How long to wait first (0 when `go`).
   */
  waitMs: bigint,
  reason: BudgetReason,
  /**
   * Requests available now.
   */
  available: number,
}
/**
 * How much of a background plan may run now.
 */
export interface BudgetSlice {
  /**
   * Requests to make now.
   */
  allowedNow: bigint,
  /**
   * Requests still needed afterwards.
   */
  leftAfter: bigint,
  /**
   * When to ask again, if anything is left.
   */
  resumeAtMs?: bigint,
  /**
   * Further full windows (hours) the rest needs at the background rate.
   */
  moreWindows: bigint,
}

export class InitialMatcher implements Disposable {
  /**
  * An empty matcher, optionally pre-sized for the expected record counts of each side (the
  * query `total`, the partner's own count), which avoids rehashing peaks while feeding a
  * million records. A size hint only: capped at the core's bound, 1,048,576 per side (the
  * npm constructor throws `size-hint-too-large` above it; a WIT constructor cannot fail);
  * more records still fit.
  * Its hash tables are keyed by 32 bytes from `wasi:random`, so crafted CRM values cannot
  * flood them (`with-seed` takes the seed from the caller).
  */
  constructor(expectedPartner: number | undefined, expectedVirtuous: number | undefined)
  /**
  * The same with the caller's seed: exactly 32 bytes (`invalid-seed` otherwise; `field`
  * `seed`). The plan never depends on the seed.
  */
  static withSeed(seed: Uint8Array, expectedPartner: number | undefined, expectedVirtuous: number | undefined): InitialMatcher;
  /**
  * Adds partner-side records. Fails on a blank or repeated id (`module` `matcher`); a
  * failing chunk adds nothing.
  */
  addPartnerChunk(records: Array<MatchRecord>): void;
  /**
  * Adds Virtuous-side records.
  */
  addVirtuousChunk(records: Array<MatchRecord>): void;
  /**
  * Adds partner-side records given as the JSON text of an array of match records (the npm
  * shape: `{id, references?, emails?, names?, postalCodes?, phones?, data?}`), read in place
  * without lowering a list of records. `invalid-chunk` (naming the field) when it does not
  * read, `chunk-too-large` above 64 MiB.
  */
  addPartnerChunkJson(records: Json): void;
  /**
  * Adds Virtuous-side records as JSON text.
  */
  addVirtuousChunkJson(records: Json): void;
  /**
  * Records fed so far: (partner, virtuous).
  */
  size(): [bigint, bigint];
  /**
  * The plan. The matcher is left as it was: more chunks may follow and `finish` may be
  * called again.
  */
  finish(): MatchPlan;
  [Symbol.dispose](): void;
}

export class RateBudget implements Disposable {
  /**
  * A budget from its configuration JSON (`{limit?, liveHeadroom?, baseBackoffMs?,
  * maxBackoffMs?, windowMs?}`; none: the defaults, 5000 requests an hour). Fails with
  * `invalid-rate-config` naming the field.
  */
  constructor(config: Json | undefined)
  /**
  * A budget restored from the JSON text `to-json` returned (its configuration revalidated).
  */
  static fromJson(state: Json): RateBudget;
  /**
  * Feeds one response (header values as received, text).
  */
  observe(observation: RateObservation): void;
  /**
  * Counts `requests` sent: held against the window until `observe` sees their responses
  * (one `observe` per request, failures included).
  */
  spend(requests: number): void;
  /**
  * Go, or wait how long.
  */
  decide(request: RateRequest): RateDecision;
  /**
  * How much of a background plan of `remaining-requests` may run now.
  */
  schedule(remainingRequests: bigint, nowMs: bigint): BudgetSlice;
  /**
  * The jittered backoff before retry number `attempt` (1-based), from host randomness.
  */
  backoffMs(attempt: number, random: number): bigint;
  /**
  * The budget's state as JSON text, to store and restore with `from-json`.
  */
  toJson(): Json;
  [Symbol.dispose](): void;
}
