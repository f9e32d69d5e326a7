// The store contract every store keeps (memory, PGlite, PostgreSQL); test/store-conformance.mjs runs the same
// checks on each. All methods are async. Times are milliseconds since the epoch, passed in (stores read no clock).
//
//   migrate()                                   create or upgrade the schema (idempotent; SQL stores record versions)
//   putCustomer(id, settings, nowMs) -> rev     getCustomer(id)  listCustomers()  setPaused(id, atMs|null)
//   updateBudget(id, fn(state) -> {state, result}) -> result      atomic read-modify-write of the rate budget
//   kvGet(id, key)  kvPut(id, key, value)  countersAdd(id, {name: delta})
//   inboxInsert({customerId, dedupeKey, receivedMs, origin, body, event}) -> {inserted, id?}   insert-if-absent
//   inboxClaim({owner, nowMs, leaseMs, limit}) -> entries          pending and due, or claimed with a lapsed lease
//   inboxRelease(id, owner, {dueMs, error, countAttempt})  inboxComplete(id, owner, nowMs)
//   inboxDeadLetter(id, owner, error, nowMs)  deadLetter({...})  listDeadLetters(id)  inboxGet(id, dedupeKey)
//   findRecord(id, {recordKey} | {kind, partnerId?, virtuousId?, refs?})
//   lockRecord(id, key, {owner, nowMs, leaseMs, create?}) -> row | null       compare-and-set on the version
//   unlockRecord(id, key, owner, version)
//   commitRecord({customerId, recordKey, owner, version, changeSeq, state, partnerId?, dirty, recheckMs,
//                 log: [{direction, action, reason, detail}], outbox: [{put: request} | {drop: true}] (in order),
//                 inbox?: {id, owner}, reported?: request, nowMs})  one transaction; `lost-lock` when not held
//   (commitRecord folds in a stub row the partner's change hook made for the same partner id meanwhile)
//   createInProgress(id, kind, nowMs)  dropStub(id, key, owner, version)
//   markDirty(id, {kind, partnerId, recordKey?}, nowMs) -> recordKey   (the partner record's CRM+ link)
//   dueRecords({nowMs, limit})  listRecords(id, {product?, kind?, state?, redecided?, ...})  (`redecided`: a `retry`)
//   findRecord's `product` defaults to "crm"; a record is a link (product, kind, Virtuous id): docs/sync.md
//   partnerLinks(id, {kind, partnerId}) -> every link of the partner record   hasProductLinks(id, kind) -> bool
//   timeline(id, key)  logDecision(id, key, nowMs, entry)
//   recentDecisions(id, {limit}) -> newest first   prune(id, {decisionsBeforeMs, deadLettersBeforeMs, inboxBeforeMs})
//                                               retention (observe.mjs): counts of what was deleted or cleared
//   getOutbox(id, key)  listOutbox(id)  leaseOutbox({owner, nowMs, leaseMs, limit})
//                                               an entry re-leased after its lease lapsed in flight: `leasedBefore`
//   finishOutbox(id, key, owner, outcome, nowMs)
//                                               outcome: {done} | {done, written: request} (a full-record PUT's 2xx:
//                                               the record's `written` marker set, the record due now, its lock
//                                               broken) | {redecide, retryAtMs} (a full-record PUT not known to have
//                                               landed: the entry removed, the record due at retryAtMs, never resent)
//                                               | {retryAtMs, countAttempt?} (sent again unchanged) | {failed}
//   (a record row carries `written` until a commitRecord with `reported` equal to it clears it)
//   (a redecided write's attempts are carried, `retried` below: on the next entry queued for the record, else on the
//   record row's `retry` until a commitRecord puts the record's next write (which inherits them) or leaves the record
//   clean; a `done` clears them. So a full-record write failing again and again backs off and shows in the status.)
//   addReview(id, kind, item, nowMs)  listReview(id, {status?})  statusCounts(id)  close()
//   resolveReview(id, reviewId, resolution, nowMs) -> the item, now `resolved` (its item gains `resolution` and
//                                               `resolvedMs`), or null when no open item has that id

/** A store failure with a stable code: `lost-lock`, `lost-lease`, `unknown-customer`, `unique-violation`. */
export class StoreError extends Error {
  constructor(code, detail) {
    super(`${code}: ${detail}`);
    this.name = "StoreError";
    this.code = code;
  }
}

/**
 * The attempts a redecided full-record write hands on (`{attempts, lastError, lastStatus}`): the record's next write
 * starts from them, so a write Virtuous keeps failing backs off further each time and counts as retrying in the
 * status, although each try is a new outbox entry built from a fresh fetch.
 */
export function retried(entry, outcome) {
  const request = entry.request ? { method: entry.request.method, path: entry.request.path } : undefined;
  return { attempts: (entry.attempts ?? 0) + (outcome.countAttempt === false ? 0 : 1), lastError: outcome.error ?? null, lastStatus: outcome.status ?? null, request };
}
