// Which writes are full-record snapshots. A full-record update (GET-then-PUT, `updateMode` "full", the default) is
// the Virtuous record as the host fetched it with the partner's changes written in: sent again later it would put
// back whatever staff changed in between, so it is never resent (docs/sync.md, "The full-record protocol").
// Partial updates and creates keep the outbox's resend-unchanged rule.

/** `PUT /api/Gift/{id}` or `PUT /api/Contact/{id}` for a customer whose `sync.updateMode` is not "partial". */
export function isFullRecordPut(settings, req) {
  return req?.method === "PUT" && /^\/api\/(gift|contact)\/[^/]+$/i.test(req.path ?? "") && (settings?.sync?.updateMode ?? "full") !== "partial";
}
