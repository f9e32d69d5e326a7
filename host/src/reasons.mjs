// Every reason code a person can meet on the status page, in plain language for a nonprofit administrator. The
// codes come from the core (receipts, decisions, response classes) and the host; docs/customer/troubleshooting.md
// has an entry for each one a customer can act on. `tone`: ok (nothing to do), wait (it sorts itself out),
// act (someone should look).
export const REASONS = Object.freeze({
  // Deliveries (webhooks from Virtuous)
  accepted: ["ok", "Virtuous sent a change and it was received."],
  "unsubscribed-event": ["ok", "Virtuous sent a kind of change this sync does not follow; it was ignored on purpose."],
  "unknown-event-type": ["ok", "Virtuous sent a kind of change this version does not know; it was noted and ignored."],
  "dead-letter": ["act", "A change from Virtuous arrived but could not be read. It was kept aside for support to look at."],
  "missing-signature": ["act", "A message claiming to be from Virtuous had no signature and was refused. If it keeps happening, the webhook in Virtuous has no secret."],
  "malformed-signature": ["act", "A message claiming to be from Virtuous had an unreadable signature and was refused."],
  "signature-mismatch": ["act", "A message claiming to be from Virtuous did not match the shared secret and was refused. Usually the secret was changed on one side only."],
  "missing-timestamp": ["act", "A message was refused because its time stamp was missing."],
  "malformed-timestamp": ["act", "A message was refused because its time stamp was unreadable."],
  "timestamp-too-old": ["act", "A message was refused because it was too old (it may be a replay)."],
  "timestamp-too-new": ["act", "A message was refused because its time is in the future; check the server clock."],
  "missing-id": ["act", "A message was refused because it had no delivery id."],
  "store-unavailable": ["wait", "A change could not be saved just now; Virtuous will send it again."],
  // Changes from Virtuous
  "new-record": ["ok", "A new record in Virtuous was added to your platform."],
  "remote-changed": ["ok", "A change made in Virtuous was copied to your platform."],
  confirmed: ["ok", "Virtuous confirmed a change we sent."],
  echo: ["ok", "Virtuous reported back a change we made ourselves; nothing else to do."],
  stale: ["ok", "An older copy of a record arrived after a newer one; it was ignored."],
  "no-change": ["ok", "Nothing the sync follows had changed."],
  "merged-away": ["ok", "Two contacts were merged in Virtuous; your platform now points to the one that was kept."],
  deleted: ["ok", "A record was deleted in Virtuous, so it was removed (or unlinked) on your platform."],
  tombstoned: ["ok", "The record was already deleted or merged; nothing to do."],
  "both-changed": ["act", "The same field was changed on both sides. A person needs to choose which value to keep."],
  "owned-by-other": ["ok", "The change was to a field the other side is in charge of, so it was not copied."],
  "in-conflict": ["act", "This record waits for a person to settle a conflict; changes to it are held until then."],
  "unsupported-event": ["ok", "A change arrived that this sync does not handle; it was ignored."],
  "not-synced": ["ok", "A change arrived for a kind of record this sync does not follow; it was ignored."],
  "own-stamp-unlinked": ["wait", "Virtuous created a record from one of our gifts, but it is not linked yet. The next check-up links it."],
  "unknown-record": ["ok", "A change arrived for a record this sync has never seen; it was ignored."],
  "partner-record-missing": ["ok", "The record no longer exists on your platform, so nothing was sent."],
  "write-in-flight": ["wait", "A change is being sent to Virtuous for this record right now; the next one waits until it is answered."],
  // Raise and Volunteer records (one record on your platform, one link per Virtuous product)
  email: ["ok", "A Raise or Volunteer record was linked to the record on your platform with the same email address."],
  reference: ["ok", "A Raise or Volunteer record was linked to the record on your platform it refers to."],
  "strong-signal": ["ok", "A Raise or Volunteer record was linked to the record on your platform with the same name and postal code or phone."],
  "ambiguous-match": ["act", "A Raise or Volunteer record matches several records on your platform. A person needs to say which one it is; nothing was merged or created."],
  "partner-record-already-linked": ["act", "A Raise or Volunteer record matches a record on your platform that is already linked to another record of that product. A person needs to look."],
  "no-partner-list": ["act", "A Raise or Volunteer record could not be matched because your platform's connection cannot list records; it waits for a person."],
  "review-resolved": ["ok", "A person chose which record on your platform a Raise or Volunteer record belongs to (or asked for a new one); the sync carried it out."],
  "no-crm-link": ["wait", "A change on your platform to a record known only from Raise or Volunteer waits until Virtuous shows the record in CRM+."],
  // Changes from your platform
  "partner-changed": ["ok", "A change made on your platform is being sent to Virtuous."],
  cooldown: ["wait", "A change was held for a moment because Virtuous changed the same record just before; it is sent shortly."],
  coalesced: ["ok", "The same change was already on its way to Virtuous."],
  "pending-create": ["wait", "The new gift or contact waits for Virtuous's nightly import; the change follows after it."],
  "awaiting-echo": ["wait", "The change waits until Virtuous confirms the previous one, so nothing is overwritten."],
  "stuck-pending": ["act", "Virtuous never confirmed a change we sent. It is probably in the \"needs update\" list in Virtuous's import."],
  // Conflicts settled by hand
  "manual-resolution": ["ok", "A person settled a conflict."],
  merged: ["ok", "A conflict was settled and every field agreed."],
  // Answers from Virtuous to our requests
  ok: ["ok", "Virtuous accepted the request."],
  "network-error": ["wait", "Virtuous could not be reached; the request will be tried again."],
  timeout: ["wait", "Virtuous did not answer in time; the request will be tried again."],
  "server-error": ["wait", "Virtuous had a temporary problem; the request will be tried again."],
  "rate-limited": ["wait", "Virtuous's hourly request limit was reached; the sync waits for the next hour."],
  "bad-request": ["act", "Virtuous refused the data as invalid. Support can see which field."],
  unprocessable: ["act", "Virtuous refused the data as invalid. Support can see which field."],
  forbidden: ["act", "The Virtuous API key does not allow this. Check the key's permissions in Virtuous."],
  unauthenticated: ["act", "Virtuous did not accept the API key. It may have expired or been removed."],
  "not-found-after-create": ["wait", "Virtuous has not made the record yet (it waits for the nightly import)."],
  "not-yet-matched": ["wait", "The gift waits in Virtuous's import: either the nightly batch has not run or it is in the \"needs update\" list."],
  "already-deleted": ["ok", "The record was already deleted in Virtuous."],
  "not-found": ["act", "The record no longer exists in Virtuous."],
  "already-exists": ["ok", "The record already exists in Virtuous; it is linked instead of created again."],
  conflict: ["act", "Virtuous refused the change because the record changed meanwhile; it is checked again."],
  "unexpected-status": ["act", "Virtuous gave an unexpected answer. Support can see the details."],
});

/** `{tone, text}` for a code; codes not listed (including `lookup-404` style ones) get a neutral text. */
export function explain(code) {
  const r = REASONS[code];
  if (r) return { tone: r[0], text: r[1] };
  const m = /^lookup-(\d+)$/.exec(code ?? "");
  if (m) return { tone: "wait", text: `A record we are waiting for was looked up in Virtuous (answer ${m[1]}); it is checked again later.` };
  return { tone: "ok", text: `Recorded as "${code}".` };
}
