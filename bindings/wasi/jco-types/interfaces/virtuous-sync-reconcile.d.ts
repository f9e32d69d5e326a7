/** @module Interface virtuous:sync/reconcile@0.1.0 **/
/**
 * Plans a reconciliation run: `{options, version?, config, rows, stored, nowMs}` -> per-record
 * items. `options` are the sync options (as in `sync`), `stored` entries are `{record,
 * partner?: {values, modifiedMs?}, lookup?}` with `record` the stored sync record state; a
 * version-1 input fails with `legacy-reconcile-input` naming the key to change.
 * 
 * Closed sets in the result: item `kind` is one of `missed-change`, `confirm-pending`,
 * `look-up-pending`, `keep-waiting`, `surface-unmatched`, `resolve-drift`, `conflict`,
 * `merged-away`, `held`, `duplicate-in-virtuous`, `malformed-row`, `fetch-full-record`; item
 * `reason` one of `unknown-locally`, `newer-in-virtuous`, `merged-away`,
 * `confirmed-by-query`, `confirmed-by-lookup`, `stuck-pending`, `within-window`,
 * `no-reference-to-look-up`, `needs-update-bucket`, `drift`, `field-conflict`,
 * `mass-change-breaker`, `reference-claimed-twice`, `row-without-id`, `fields-not-in-row`;
 * a field's `resolution` one of `take-virtuous`, `take-partner`, `conflict`, its `reason` the
 * sync per-field reasons (`remote-only`, `local-only`, `owned-by-other`, `virtuous-canonical`,
 * `most-recent`, `both-changed`); the breaker's `reason` one of `within-threshold`,
 * `below-minimum`, `mass-change`.
 */
export function planReconciliation(input: Json): Json;
/**
 * Starts a query run from a stored cursor: `{config?, cursor?}` -> the run and the first query body.
 */
export function startQueryRun(input: Json): Json;
/**
 * Accepts one page of query rows: `{run, rows}` -> the new run, the fresh rows, the next query.
 */
export function acceptQueryPage(input: Json): Json;
/**
 * Finishes a complete run: `{config, start, maxSeenMs, idsAtMax, done}` -> the advanced cursor.
 */
export function finishQueryRun(input: Json): Json;
/**
 * Remaps stored references of merged-away contacts: `{contacts, references?}`.
 */
export function planMergeRemap(input: Json): Json;
/**
 * Two-phase tombstones with a breaker: `{candidates, totalRecords, confirmAfterMs?, breaker?, ...}`.
 * A decision's `reason` is one of `absence-is-not-deletion`, `first-signal`,
 * `awaiting-confirmation`, `confirm-by-lookup`, `confirmed-by-lookup`, `newer-edit`,
 * `found-on-lookup`, `mass-change-breaker`.
 */
export function planDeletions(input: Json): Json;
/**
 * The GET-then-PUT subscription merge: `{current, change}` -> the PUT body.
 */
export function mergeSubscription(input: Json): Json;
/**
 * Pausing a customer as an ordered plan: `{webhookId, nowMs}`.
 */
export function planPause(input: Json): Json;
/**
 * Resuming a customer, with a reconciliation from the pause time.
 */
export function planResume(input: Json): Json;
/**
 * A secret rotation plan: `{webhookId, oldSecretId, newSecretId, nowMs, ...}`.
 */
export function planSecretRotation(input: Json): Json;
/**
 * The requests a plan needs: `{queryRows, take?, lookups?, batchedWrites?, ...}`.
 */
export function pricePlan(input: Json): Json;
/**
 * What to do with a Virtuous response: `{status, body?, retryAfter?, context?, ...}`. Its
 * `reason` is one of `ok`, `network-error`, `timeout`, `server-error`, `rate-limited`,
 * `bad-request`, `unprocessable`, `forbidden`, `unauthenticated`, `not-found-after-create`,
 * `not-yet-matched`, `already-deleted`, `not-found`, `already-exists`, `conflict`,
 * `unexpected-status`.
 */
export function classifyResponse(input: Json): Json;
/**
 * Parses a `modifiedDateTimeUtc` text: `{text}` -> `{ms, ...}`.
 */
export function parseModifiedTime(input: Json): Json;
export type Json = import('./virtuous-sync-types.js').Json;
export type Error = import('./virtuous-sync-types.js').Error;

export class InitialMatcher implements Disposable {
  /**
  * An empty matcher, optionally pre-sized for the expected record counts of each side (the
  * query `total`, the partner's own count), which avoids rehashing peaks while feeding a
  * million records. A size hint only: capped at the core's bound, 1,048,576 per side (the
  * npm constructor throws `size-hint-too-large` above it; a WIT constructor cannot fail);
  * more records still fit.
  */
  constructor(expectedPartner: number | undefined, expectedVirtuous: number | undefined)
  /**
  * Adds partner-side records: a JSON array of `{id, references?, emails?, names?,
  * postalCodes?, phones?, data?}`. Fails on a blank or repeated id (`module` `matcher`).
  */
  addPartnerChunk(records: Json): void;
  /**
  * Adds Virtuous-side records (same shape).
  */
  addVirtuousChunk(records: Json): void;
  /**
  * Records fed so far: (partner, virtuous).
  */
  size(): [bigint, bigint];
  /**
  * The plan as JSON text: `{pairs, virtuousOnly, partnerOnly, review, counts}`. The matcher
  * is left as it was: more chunks may follow and `finish` may be called again.
  */
  finish(): Json;
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
  * Feeds one response: `{status?, headers: {limit?, remaining?, reset?, retryAfter?}, nowMs,
  * random?}` (header values as received, text).
  */
  observe(observation: Json): void;
  /**
  * Counts `requests` sent: held against the window until `observe` sees their responses
  * (one `observe` per request, failures included).
  */
  spend(requests: number): void;
  /**
  * Go or wait: `{cost?, priority?: "live" | "background", nowMs, random?}` ->
  * `{go, waitMs, reason, available}`, `reason` one of `within-budget`, `window-reset`,
  * `retry-after`, `backoff`, `budget-exhausted`, `reserved-for-live`.
  */
  decide(request: Json): Json;
  /**
  * How much of a background plan of `remaining-requests` may run now ->
  * `{allowedNow, leftAfter, resumeAtMs?, moreWindows}`.
  */
  schedule(remainingRequests: bigint, nowMs: bigint): Json;
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
