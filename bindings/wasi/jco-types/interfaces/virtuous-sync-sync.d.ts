/** @module Interface virtuous:sync/sync@0.1.0 **/
/**
 * The keys that find the stored record for `event`, in order: the Virtuous id, our external
 * reference (stamped creates and updates), and for a contact merge the survivor's id (the
 * `remap` target, never the event's own record); the event's record is the first found by
 * `virtuous-id` or `external-ref`.
 */
export function lookupKeys(options: Json, event: Event): RecordLookup;
/**
 * Decides an inbound event against the stored record state (none when there is none). Two
 * actions ask the host to read Virtuous first (no state changed, `record` absent): `fetch`
 * (reason `undated`: the event has no `modifiedDateTimeUtc`; decide the same event again with
 * the fetched body as `resource`), and `verify` (reason `unstamped-create`: fetch `lookup` and
 * decide the event again with it as `resource`; its stamp tells whose record it is, values
 * never do).
 */
export function decideInbound(options: Json, event: Event, record: Json | undefined, nowMs: bigint): InboundDecision;
/**
 * Decides an outbound partner change against the stored record state: submit (with the exact
 * request), suppress or coalesce, and the next state. With the default `updateMode: "full"`
 * an update also yields `fetch` (reason `needs-current`, no state changed: decide again with
 * the response body as the change's `current`), and `apply-inbound` (reason `remote-first`:
 * carry out that inbound decision, store its `record`, decide again with the same `current`).
 */
export function decideOutbound(options: Json, record: Json | undefined, change: PartnerChange, nowMs: bigint): OutboundDecision;
/**
 * Applies one trigger to a stored record state; returns the next state, or the refusal
 * (`invalid-transition`, `cooldown-active`, `pending-not-expired`).
 */
export function transition(record: Json, trigger: Trigger, nowMs: bigint): Json;
/**
 * A per-field three-way merge under the options' policy; returns the merged fields and any
 * conflict items.
 */
export function resolve(options: Json, input: ResolveInput): Resolution;
/**
 * Settles a record in `conflict` by hand: a choice for each conflicting field. Returns the
 * next record state (`in-sync`) and the recorded resolution.
 */
export function resolveConflict(record: Json, choices: Array<[string, Choice]>, nowMs: bigint): ConflictResolution;
export type Json = import('./virtuous-sync-types.js').Json;
export type Error = import('./virtuous-sync-types.js').Error;
export type Event = import('./virtuous-sync-types.js').Event;
export type Trigger = import('./virtuous-sync-types.js').Trigger;
export type RecordLookup = import('./virtuous-sync-types.js').RecordLookup;
export type InboundDecision = import('./virtuous-sync-types.js').InboundDecision;
export type OutboundDecision = import('./virtuous-sync-types.js').OutboundDecision;
export type PartnerChange = import('./virtuous-sync-types.js').PartnerChange;
export type ResolveInput = import('./virtuous-sync-types.js').ResolveInput;
export type Resolution = import('./virtuous-sync-types.js').Resolution;
export type Choice = import('./virtuous-sync-types.js').Choice;
export type ConflictResolution = import('./virtuous-sync-types.js').ConflictResolution;
