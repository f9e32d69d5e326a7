#!/usr/bin/env python3
"""Writes tests/vectors/sync/live.json: decisions on payloads shaped like the live CRM+ deliveries
(reference section 6): full-record updates (GET-then-PUT), absent fields, undated deliveries,
designations and dates compared as mapped, unstamped creates, the documented contact shape, and the
simulation's live-profile failures. Digests are the core's (`spec_digest`); a wrong one fails the
vector on every runner."""
import json, copy, os
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vectors", "sync", "live.json")
OPT = {"platformName": "YourPlatform", "customerId": "cust-1"}
BASE = {"amount": "0604cd3138feed20", "giftDate": "b131dccc3453bc19", "giftType": "4d59f75de7119de2",
        "currencyCode": "82bb059ec10744f3", "notes": "74234e98afe7498f", "giftDesignations": "6d037d780cdfcfeb"}
T_KNOWN = 1734328931000   # 2024-12-16T06:02:11Z
NOW = 1734343200000       # 2024-12-16T10:00:00Z
def rec(**kw):
    r = {"version": 1, "customerId": "cust-1", "kind": "gift", "partnerId": "donation-9421", "virtuousId": "78421",
         "state": "in-sync", "virtuousModifiedMs": T_KNOWN, "lastSyncMs": T_KNOWN,
         "externalRef": {"source": "YourPlatform", "id": "donation-9421"}, "base": dict(BASE)}
    r.update(kw); return r
PARTNER = {"amount": "500.00", "giftDate": "2024-12-15", "giftType": "Cash", "currencyCode": "USD", "notes": None,
           "giftDesignations": [{"projectCode": "CLEAN-WATER", "amountDesignated": "500.00"}]}
def partner(**kw):
    p = copy.deepcopy(PARTNER); p.update(kw); return p
# GET /api/Gift/78421 as the live REST shape returns it (reference section 6 + REST fields).
CURRENT = {"id": 78421, "transactionSource": "YourPlatform", "transactionId": "donation-9421",
           "contactId": 4821, "contactIndividualId": 9012, "contactPassthroughId": None, "giftType": "Cash",
           "giftDate": "2024-12-15T00:00:00", "giftDateFormatted": "12/15/2024", "amount": 500.0, "currencyCode": "USD",
           "segmentCode": "YE24", "notes": None, "modifiedDateTimeUtc": "2024-12-16T06:02:11Z",
           "createDateTimeUtc": "2024-12-16T06:02:11Z",
           "giftDesignations": [{"id": 55, "projectId": 311, "projectCode": "CLEAN-WATER", "amountDesignated": 500.0}],
           "customFields": {"Receipt Status": "Pending"}}
def current(**kw):
    c = copy.deepcopy(CURRENT); c.update(kw); return c
def change(fields, cur=None, **kw):
    c = {"customerId": "cust-1", "kind": "gift", "partnerId": "donation-9421", "modifiedMs": NOW - 60000, "fields": fields}
    if cur is not None: c["current"] = cur
    c.update(kw); return c
def out(name, why, record, ch, expect=None, options=None, error=None):
    case = {"name": name, "why": why, "op": "decideOutbound",
            "input": {"options": options or OPT, "record": record, "change": ch, "nowMs": NOW}}
    if error: case["expectError"] = error
    else: case["expect"] = expect
    return case
# Live GiftUpdate delivery (section 6): no giftDate (only giftDateFormatted), enriched designations.
def delivery(event="GiftUpdate", modified="2024-12-16T09:00:00Z", drop=(), **kw):
    g = {"id": 78421, "transactionSource": "YourPlatform", "transactionId": "donation-9421", "contactId": 4821,
         "contactIndividualId": 9012, "contactPassthroughId": None, "giftType": "Cash", "giftDateFormatted": "12/15/2024",
         "amount": 500.0, "currencyCode": "USD", "segmentCode": "YE24", "notes": None,
         "giftDesignations": [{"projectId": 311, "projectCode": "CLEAN-WATER", "amountDesignated": 500.0}],
         "customFields": {"Receipt Status": "Pending"}}
    if modified: g["modifiedDateTimeUtc"] = modified
    g.update(kw)
    for k in drop: g.pop(k, None)
    et = {"GiftUpdate": "gift-update", "GiftCreate": "gift-create"}[event]
    ev = {"eventType": et, "rawEventType": event, "resourceKind": "gift", "resourceId": "78421", "resource": g}
    if modified: ev["modifiedDateTimeUtc"] = modified
    return ev
def inb(name, why, record, ev, expect, options=None, error=None):
    case = {"name": name, "why": why, "op": "decideInbound",
            "input": {"options": options or OPT, "event": ev, "record": record, "nowMs": NOW}}
    if error: case["expectError"] = error
    else: case["expect"] = expect
    return case
GET = {"method": "GET", "path": "/api/Gift/78421", "body": None}
cases = []
# ---- 1. full-record updates ----
cases.append(out("update-without-current-asks-for-the-fetch",
    "Default updateMode full: an update of a linked gift needs the record as Virtuous holds it; the decision asks for exactly GET /api/Gift/{id} and changes no state.",
    rec(), change(partner(amount="750.00", giftDesignations=[{"projectCode": "CLEAN-WATER", "amountDesignated": "750.00"}])),
    {"action": {"tag": "fetch", "val": GET}, "reason": "needs-current", "record": None}))
cases.append(out("full-update-is-the-fetched-record-with-the-change",
    "With change.current the PUT body is the fetched record (contact, segment, custom fields kept), the changed fields written, read-only properties (id, dates Virtuous sets, giftDateFormatted) removed.",
    rec(), change(partner(amount="750.00", giftDesignations=[{"projectCode": "CLEAN-WATER", "amountDesignated": "750.00"}]), current()),
    {"action": {"tag": "submit", "val": {"method": "PUT", "path": "/api/Gift/78421", "body": {
        "transactionSource": "YourPlatform", "transactionId": "donation-9421", "contactId": 4821, "contactIndividualId": 9012,
        "giftType": "Cash", "giftDate": "2024-12-15T00:00:00", "amount": "750.00", "currencyCode": "USD",
        "segmentCode": "YE24", "customFields": {"Receipt Status": "Pending"},
        "giftDesignations": [{"projectCode": "CLEAN-WATER", "amountDesignated": "750.00"}],
        "id": None, "giftDateFormatted": None, "modifiedDateTimeUtc": None, "createDateTimeUtc": None}}},
     "reason": "partner-changed",
     "record": {"state": "partner-pending", "expectedEcho": [{"sent": ["amount", "giftDesignations"],
        "fields": dict(BASE, amount="64d095f2fecfdeb9", giftDesignations="bd33203e067b2049")}]}}))
cases.append(out("full-update-records-the-partner-field-times-and-the-fetched-time",
    "A full-record write notes the partner's per-field times as every write path does (a most-recent-wins merge later compares them; stale ones from an earlier change must not survive), and the modifiedDateTimeUtc of the record it was built on (builtOnMs).",
    rec(partnerFieldModifiedMs={"amount": 1, "notes": 2}),
    change(partner(amount="750.00", giftDesignations=[{"projectCode": "CLEAN-WATER", "amountDesignated": "750.00"}]), current(),
           fieldModifiedMs={"amount": NOW - 60000, "giftDesignations": NOW - 60000}),
    {"action": {"tag": "submit", "val": {"method": "PUT", "path": "/api/Gift/78421"}},
     "reason": "partner-changed",
     "record": {"state": "partner-pending", "partnerModifiedMs": NOW - 60000,
                "partnerFieldModifiedMs": {"amount": NOW - 60000, "giftDesignations": NOW - 60000, "notes": None},
                "expectedEcho": [{"sent": ["amount", "giftDesignations"], "builtOnMs": T_KNOWN}]}}))
cases.append(out("fetched-record-with-a-staff-change-is-decided-inbound-first",
    "The fetched record shows a staff edit of notes the state never saw: never overwritten blindly; it is decided as an inbound change first (apply it, store the record, decide again).",
    rec(), change(partner(amount="750.00", giftDesignations=[{"projectCode": "CLEAN-WATER", "amountDesignated": "750.00"}]),
                  current(notes="Call first", modifiedDateTimeUtc="2024-12-16T09:00:00Z")),
    {"action": {"tag": "apply-inbound", "val": {"action": {"tag": "apply", "val": {"fields": {"notes": "Call first"}}},
                                                 "reason": "remote-changed"}},
     "reason": "remote-first", "suppressedFields": ["amount", "giftDesignations"],
     "record": {"state": "virtuous-pending", "virtuousModifiedMs": 1734339600000,
                "base": dict(BASE, notes="6284854df1868c25"),
                "held": {"amount": "64d095f2fecfdeb9", "giftDesignations": "bd33203e067b2049"}}}))
cases.append(out("after-the-inbound-step-the-same-fetch-builds-the-put",
    "Second call after apply-inbound: the stored state knows the staff notes, so the PUT carries them (from the fetched record) and the partner's amount.",
    rec(base=dict(BASE, notes="6284854df1868c25"), virtuousModifiedMs=1734339600000, state="virtuous-pending",
        cooldownUntilMs=NOW + 600000, cooldownFields=["notes"]),
    change(partner(amount="750.00", notes="Call first", giftDesignations=[{"projectCode": "CLEAN-WATER", "amountDesignated": "750.00"}]),
           current(notes="Call first", modifiedDateTimeUtc="2024-12-16T09:00:00Z")),
    {"action": {"tag": "submit", "val": {"method": "PUT", "path": "/api/Gift/78421",
        "body": {"notes": "Call first", "amount": "750.00", "segmentCode": "YE24"}}}, "reason": "partner-changed"}))
cases.append(out("current-of-another-gift-is-refused",
    "A fetched record naming another id is a caller mistake, never written over the linked gift.",
    rec(), change(partner(amount="750.00", giftDesignations=[{"projectCode": "CLEAN-WATER", "amountDesignated": "750.00"}]), current(id=78422)),
    error={"code": "record-mismatch", "field": "virtuousId"}))
cases.append(out("current-that-is-not-a-record-is-refused",
    "change.current must be the fetched JSON object.",
    rec(), change(partner(amount="750.00", giftDesignations=[{"projectCode": "CLEAN-WATER", "amountDesignated": "750.00"}]), [1]),
    error={"code": "bad-current"}))
pending = rec(state="partner-pending", pendingSinceMs=NOW - 120000, pendingExpiresMs=NOW + 3600000,
              expectedEcho=[{"fields": dict(BASE, amount="64d095f2fecfdeb9", giftDesignations="bd33203e067b2049"),
                             "sent": ["amount", "giftDesignations"], "writtenMs": NOW - 120000, "afterMs": T_KNOWN,
                             "expiresMs": NOW + 3600000}])
p750 = partner(amount="750.00", giftDesignations=[{"projectCode": "CLEAN-WATER", "amountDesignated": "750.00"}])
cases.append(out("pending-full-put-without-current-asks-for-the-fetch",
    "A full-record PUT is never resent later; decided again while it is pending, only the fetched record tells whether it landed.",
    pending, change(p750), {"action": {"tag": "fetch", "val": GET}, "reason": "needs-current", "record": None}))
cases.append(out("failed-full-put-is-reissued-on-the-fresh-record",
    "The fetched record does not show the pending write (its PUT failed): the write is re-issued, built on the fresh record.",
    pending, change(p750, current()),
    {"action": {"tag": "submit", "val": {"method": "PUT", "path": "/api/Gift/78421", "body": {"amount": "750.00", "contactId": 4821}}},
     "reason": "partner-changed"}))
cases.append(out("landed-full-put-is-confirmed-by-the-fetch",
    "The fetched record shows the pending write landed: the fetch confirms it (the record goes in-sync) and nothing is written again.",
    pending, change(p750, current(amount=750.0, giftDesignations=[{"id": 56, "projectId": 311, "projectCode": "CLEAN-WATER", "amountDesignated": 750.0}],
                                  modifiedDateTimeUtc="2024-12-16T09:58:00Z")),
    {"action": {"tag": "nothing"}, "reason": "no-change",
     "record": {"state": "in-sync", "virtuousModifiedMs": 1734343080000, "expectedEcho": [{"confirmed": True}],
                "base": dict(BASE, amount="64d095f2fecfdeb9", giftDesignations="bd33203e067b2049")}}))
cases.append(out("partial-mode-sends-only-the-changed-fields",
    "updateMode partial (relies on PUT acting like PATCH, unconfirmed): no fetch, only the changed fields and the stamp.",
    rec(), change(partner(notes="Thanks")),
    {"action": {"tag": "submit", "val": {"method": "PUT", "path": "/api/Gift/78421",
        "body": {"notes": "Thanks", "transactionSource": "YourPlatform", "transactionId": "donation-9421", "amount": None, "contactId": None}}},
     "reason": "partner-changed"}, options=dict(OPT, updateMode="partial")))
cases.append(out("read-only-list-is-configurable",
    "readOnly replaces the defaults for the kinds it lists: here segmentCode is never sent back and giftDateFormatted is.",
    rec(), change(partner(notes="Thanks"), current()),
    {"action": {"tag": "submit", "val": {"method": "PUT", "path": "/api/Gift/78421",
        "body": {"notes": "Thanks", "segmentCode": None, "giftDateFormatted": "12/15/2024", "id": None}}}},
    options=dict(OPT, readOnly={"gift": ["/id", "/segmentCode"]})))
# ---- 2. absent means unknown (webhooks) ----
cases.append(inb("live-delivery-missing-fields-blanks-nothing",
    "A live GiftUpdate that lacks giftType, currencyCode and giftDesignations changes only what it carries (notes); absent fields are unknown, never blank.",
    rec(), delivery(notes="Call first", drop=("giftType", "currencyCode", "giftDesignations")),
    {"action": {"tag": "apply", "val": {"fields": {"notes": "Call first", "giftType": None, "giftDesignations": None}}},
     "reason": "remote-changed", "inputs": {"changedFields": ["notes"]},
     "record": {"base": dict(BASE, notes="6284854df1868c25")}}))
cases.append(inb("present-null-is-a-change-to-blank",
    "A field present with null is a real change to blank.",
    rec(base=dict(BASE, notes="6284854df1868c25")), delivery(notes=None),
    {"action": {"tag": "apply"}, "reason": "remote-changed", "inputs": {"changedFields": ["notes"]},
     "record": {"base": dict(BASE)}}))
cases.append(inb("undated-delivery-with-new-values-asks-for-the-fetch",
    "Live deliveries often lack modifiedDateTimeUtc: one carrying values the state does not hold cannot be ordered (a reordered older one would put old values back), so the record is fetched and decided instead.",
    rec(), delivery(modified=None, notes="Call first"),
    {"action": {"tag": "fetch", "val": GET}, "reason": "undated", "record": None}))
cases.append(inb("fetched-record-is-decided-by-its-rest-date",
    "The fetched REST record carries modifiedDateTimeUtc: decided as usual.",
    rec(), dict(delivery(modified=None), resource=current(notes="Call first", modifiedDateTimeUtc="2024-12-16T09:00:00Z")),
    {"action": {"tag": "apply", "val": {"fields": {"notes": "Call first"}}}, "reason": "remote-changed",
     "record": {"virtuousModifiedMs": 1734339600000}}))
cases.append(inb("undated-delivery-the-state-already-holds-is-fetched-too",
    "An undated delivery showing exactly what the state holds may still be the newest version: staff changed a field and back (A-B-A) and the B's dated delivery is still to come. Decided as is, it would leave no trace and the B would be applied over it (simulation seed 475, live); the fetched record's date orders the B as stale.",
    rec(), delivery(modified=None), {"action": {"tag": "fetch", "val": GET}, "reason": "undated", "record": None}))
cases.append(inb("undated-delivery-showing-the-base-under-a-pending-write-is-fetched",
    "A write of ours (notes) is in flight: an undated delivery showing the base's notes may predate the write or be staff changing notes back after it landed (A-B-A); only the fetched record can tell (simulation seed 135, live: the revert was taken as an old echo and lost).",
    rec(state="partner-pending", pendingSinceMs=NOW - 60000, pendingExpiresMs=NOW + 86400000,
        expectedEcho=[{"fields": dict(BASE, notes="1111111111111111"), "sent": ["notes"], "writtenMs": NOW - 60000,
                       "afterMs": T_KNOWN, "expiresMs": NOW + 86400000}]),
    delivery(modified=None),
    {"action": {"tag": "fetch", "val": GET}, "reason": "undated", "record": None}))
cases.append(inb("undated-events-decide-switch",
    "undatedEvents: decide (deliveries known to arrive in order) decides the undated delivery as is.",
    rec(), delivery(modified=None, notes="Call first"),
    {"action": {"tag": "apply", "val": {"fields": {"notes": "Call first"}}}, "reason": "remote-changed"},
    options=dict(OPT, undatedEvents="decide")))
# ---- 3. compare what is mapped ----
cases.append(inb("enriched-designations-and-formatted-date-are-no-change",
    "The live delivery of the gift as we wrote it: designations enriched with projectId, the date only as giftDateFormatted (M/D/YYYY), amount a number: nothing changed.",
    rec(), delivery(), {"action": {"tag": "skip"}, "reason": "no-change", "inputs": {"changedFields": []}}))
cases.append(out("partner-designations-against-enriched-base-are-no-change",
    "The partner reports its own designations {projectCode, amountDesignated} while the base came from Virtuous's enriched ones: no needless write.",
    rec(), change(partner()), {"action": {"tag": "nothing"}, "reason": "no-change"}))
cases.append(inb("designation-order-does-not-matter",
    "Designations are a set of (project, amount): another order, Virtuous ids and projectIds are no change.",
    rec(base=dict(BASE, giftDesignations="c0a29743e67b3593")),
    delivery(giftDesignations=[{"id": 9, "projectId": 2, "projectCode": "B", "amountDesignated": 200.0},
                               {"id": 8, "projectId": 1, "projectCode": "A", "amountDesignated": 300}]),
    {"action": {"tag": "skip"}, "reason": "no-change"}))
cases.append(inb("moved-designation-amount-is-a-change",
    "The same projects with amounts moved between them is a change.",
    rec(base=dict(BASE, giftDesignations="c0a29743e67b3593")),
    delivery(giftDesignations=[{"projectCode": "B", "amountDesignated": 300.0}, {"projectCode": "A", "amountDesignated": 200}]),
    {"action": {"tag": "apply"}, "reason": "remote-changed", "inputs": {"changedFields": ["giftDesignations"]}}))
cases.append(inb("designations-by-project-id-when-the-map-names-it",
    "itemKeys [projectId]: the project is identified by Virtuous's id, so a changed projectId is a change.",
    rec(), delivery(giftDesignations=[{"projectId": 312, "projectCode": "CLEAN-WATER", "amountDesignated": 500.0}]),
    {"action": {"tag": "apply"}, "reason": "remote-changed", "inputs": {"changedFields": ["giftDesignations"]}},
    options=dict(OPT, fieldMaps={"gift": [
        {"name": "amount", "pointer": "/amount", "type": "money", "required": True},
        {"name": "giftDesignations", "pointer": "/giftDesignations", "type": "designations", "itemKeys": ["projectId"]}]})))
cases.append(inb("midnight-utc-date-time-is-the-same-day",
    "giftDate as a date-time at midnight UTC is the stored day.",
    rec(), delivery(giftDate="2024-12-15T00:00:00Z", drop=("giftDateFormatted",)),
    {"action": {"tag": "skip"}, "reason": "no-change"}))
cases.append(inb("formatted-date-change-is-applied-as-a-day",
    "A new giftDateFormatted is a change, handed to the partner as YYYY-MM-DD.",
    rec(), delivery(giftDateFormatted="12/16/2024"),
    {"action": {"tag": "apply", "val": {"fields": {"giftDate": "2024-12-16"}}}, "reason": "remote-changed"}))
cases.append(out("partner-date-is-written-as-a-day",
    "A partner date in M/D/YYYY is validated and written as YYYY-MM-DD.",
    None, change(partner(giftDate="12/15/2024"), partnerId="donation-9500"),
    {"action": {"tag": "submit", "val": {"method": "POST", "path": "/api/v2/Gift/Transaction", "body": {"giftDate": "2024-12-15"}}}}))
cases.append(out("a-non-date-is-refused",
    "A giftDate that is no day and no date-time is a typed error naming the field.",
    None, change(partner(giftDate="2024-13-45"), partnerId="donation-9500"),
    error={"code": "invalid-date", "field": "giftDate"}))
# ---- 5. unstamped creates ----
gc = delivery(event="GiftCreate", drop=("transactionSource", "transactionId"))
DIG = dict(BASE)
cases.append(inb("unstamped-create-is-verified-not-created",
    "A GiftCreate with no stamp field at all may be the batch's record of a create of ours: never created blindly; the host gets the lookup that tells (the digests are the event's values, for logs).",
    None, gc, {"action": {"tag": "verify", "val": {"lookup": GET, "digests": DIG}}, "reason": "unstamped-create", "record": None}))
pc = {"version": 1, "customerId": "cust-1", "kind": "gift", "partnerId": "donation-9421", "state": "partner-pending",
      "externalRef": {"source": "YourPlatform", "id": "donation-9421"}, "pendingSinceMs": NOW - 86400000,
      "pendingExpiresMs": NOW + 43200000,
      "expectedEcho": [{"fields": dict(BASE), "writtenMs": NOW - 86400000, "expiresMs": NOW + 43200000}]}
cases.append(inb("unstamped-create-showing-a-pending-create-is-still-verified",
    "Handed the pending create whose expected values it shows exactly, an unstamped create is still verified, never confirmed on its values: two pending creates (or a staff gift) can show the same values, and confirming the wrong one leaves a create of ours unlinked (simulation seed 36, live profile).",
    pc, gc, {"action": {"tag": "verify", "val": {"lookup": GET, "digests": DIG}}, "reason": "unstamped-create", "record": None}))
cases.append(inb("looked-up-record-with-our-stamp-confirms-the-pending-create",
    "The lookup's REST record carries our stamp (found by external-ref): decided with that pending create, it confirms it.",
    pc, dict(delivery(event="GiftCreate"), resource=current()),
    {"action": {"tag": "confirm", "val": {"virtuousId": "78421"}}, "reason": "confirmed", "record": {"state": "in-sync", "virtuousId": "78421"}}))
cases.append(inb("unstamped-create-not-matching-the-pending-create-is-verified",
    "Handed a pending create whose values it does not show, an unstamped create still needs the lookup.",
    pc, delivery(event="GiftCreate", drop=("transactionSource", "transactionId"), notes="Other"),
    {"action": {"tag": "verify", "val": {"lookup": GET}}, "reason": "unstamped-create", "record": None}))
cases.append(inb("null-stamp-is-not-ours",
    "Stamp fields present with null (the REST lookup of a staff gift) say the gift is not ours: it is created.",
    None, delivery(event="GiftCreate", transactionSource=None, transactionId=None),
    {"action": {"tag": "create"}, "reason": "new-record"}))
cases.append(inb("looked-up-record-with-our-stamp-is-not-created",
    "The lookup shows our stamp: reconciliation links it by external id (own-stamp-unlinked), nothing is created.",
    None, dict(delivery(event="GiftCreate"), resource=current()),
    {"action": {"tag": "ignore"}, "reason": "own-stamp-unlinked", "record": None}))
doc = {"description": "Live-shaped payloads (reference section 6): full-record updates (GET-then-PUT), absent fields unknown, undated deliveries fetched, designations and dates compared as mapped, unstamped creates verified, the documented contact shape.",
       "cases": cases}

# ---- simulation failures kept as vectors ----
p_notes = partner(notes="X")
pend_notes = rec(state="partner-pending", pendingSinceMs=NOW - 120000, pendingExpiresMs=NOW + 3600000,
                 expectedEcho=[{"fields": dict(BASE, notes="de9e4020d0fe7c98"), "sent": ["notes"], "writtenMs": NOW - 120000,
                                "afterMs": T_KNOWN, "expiresMs": NOW + 3600000}])
cases.append(out("undo-while-a-full-put-is-pending-asks-for-the-fetch",
    "Simulation (live profile, seed 143): the partner undoes notes while our full PUT of them is pending. Whether to wait for that write's echo depends on whether it landed, which only the fetched record tells.",
    pend_notes, change(partner()), {"action": {"tag": "fetch", "val": GET}, "reason": "needs-current", "record": None}))
cases.append(out("undo-after-a-failed-full-put-is-written-on-the-fresh-record",
    "Simulation (live profile, seed 143): the fetched record does not show the pending write (its PUT failed and is never resent), so nothing of ours is on its way: the undo goes out at once instead of waiting forever for an echo.",
    pend_notes, change(partner(), current()),
    {"action": {"tag": "submit", "val": {"method": "PUT", "path": "/api/Gift/78421", "body": {"segmentCode": "YE24"}}},
     "reason": "partner-changed", "record": {"expectedEcho": [{"sent": ["notes"]}, {"fields": dict(BASE)}]}}))
cases.append(out("same-tick-landed-write-is-confirmed-by-the-fetch-and-the-undo-goes-out",
    "Simulation (live profile, seed 115228): our write landed in the same clock tick as the state we knew, so its echo reads as stale and never confirms it; the partner then undoes the field. The fetched record shows the write: it is confirmed from the fetch, and the undo is written at once instead of waiting forever for an echo.",
    pend_notes, change(partner(), current(notes="X")),
    {"action": {"tag": "submit", "val": {"method": "PUT", "path": "/api/Gift/78421", "body": {"segmentCode": "YE24"}}},
     "reason": "partner-changed",
     "record": {"base": dict(BASE, notes="de9e4020d0fe7c98"),
                "expectedEcho": [{"confirmed": True}, {"sent": ["notes"], "fields": dict(BASE)}]}}))
cases.append(out("in-flight-value-the-fetched-record-shows-is-not-sent-again",
    "Simulation (live profile, seeds 135, 228): our pending write's notes already show in the fetched record (an inbound event applied them as the base: Virtuous holds them), and the partner changes giftType. The notes are in the body (a full record) but not counted as sent again: nothing to protect against an older record, and a field Virtuous just gave the partner (under cooldown) is never claimed as a partner change.",
    dict(pend_notes, base=dict(BASE, notes="de9e4020d0fe7c98")),
    change(partner(notes="X", giftType="Stock"), current(notes="X", modifiedDateTimeUtc="2024-12-16T09:58:00Z")),
    {"action": {"tag": "submit", "val": {"method": "PUT", "path": "/api/Gift/78421", "body": {"notes": "X", "giftType": "Stock"}}},
     "reason": "partner-changed", "record": {"expectedEcho": [{"sent": ["notes"]}, {"sent": ["giftType"]}]}}))
conflict_rec = rec(state="conflict", base=dict(BASE), held={"giftType": "5e1f5b8462e50a40"},
    conflict=[{"field": "giftType", "base": "4d59f75de7119de2", "localDigest": "d8becb7fb6cdd1f2", "remote": "Stock",
               "remoteDigest": "5e1f5b8462e50a40", "localModifiedMs": NOW - 3600000, "remoteModifiedMs": 1734339600000,
               "policy": "manual", "proposed": "virtuous"}], virtuousModifiedMs=1734339600000)
cases.append(inb("undated-old-value-of-a-conflict-field-is-fetched",
    "Simulation (live profile, seed 186): an undated redelivery of the value from before the staff edit would replace the conflict item's Virtuous side with an older value; it differs from what the state knows Virtuous holds (the item's side), so the record is fetched.",
    conflict_rec, delivery(modified=None), {"action": {"tag": "fetch", "val": GET}, "reason": "undated", "record": None}))
contact_opts = OPT
merged = {"eventType": "contact-update", "rawEventType": "ContactUpdate", "resourceKind": "contact", "resourceId": "4821",
          "resource": {"id": 4821, "name": "Wayne, Bruce", "contactType": "Household", "customContactType": None, "mergedIntoContactId": 5002,
                       "contactAddresses": [{"state": "NJ", "postal": "07001"}],
                       "contactIndividuals": [{"id": 9012, "firstName": "Bruce", "lastName": "Wayne",
                           "contactMethods": [{"type": "Home Email", "value": "bruce@wayne.example", "isPrimary": True}]}],
                       "tags": ["Major Donor"], "organizationGroups": []}}
cases.append(inb("unstamped-merge-of-an-unknown-contact-is-verified",
    "Simulation (live profile, seed 532): a contact merged away before its create was seen, delivered without contactReferences, may be a pending create of ours that must learn of the merge: verified, not tombstoned anonymously.",
    None, merged, {"action": {"tag": "verify", "val": {"lookup": {"method": "GET", "path": "/api/Contact/4821"},
        "digests": {"email": "f84ea7c9fa93f777", "firstName": "b5e2f2fa8b1a1a18", "lastName": "63e0fbeda7ca4fe6", "state": "1230212de86805e0", "postal": "184e9569bfffcb95"}}},
     "reason": "unstamped-create", "record": None}))
# ---- 4. documented contact shape ----
CBASE = {"name": "2970423176a652b3", "contactType": "779f3bb5253ba7b5", "firstName": "b5e2f2fa8b1a1a18", "lastName": "63e0fbeda7ca4fe6",
         "email": "f84ea7c9fa93f777", "state": "1230212de86805e0", "postal": "184e9569bfffcb95"}
crec = {"version": 1, "customerId": "cust-1", "kind": "contact", "partnerId": "donor-bw-001", "virtuousId": "4821", "state": "in-sync",
        "virtuousModifiedMs": T_KNOWN, "externalRef": {"source": "YourPlatform", "id": "donor-bw-001"}, "base": CBASE}
cupd = copy.deepcopy(merged); del cupd["resource"]["mergedIntoContactId"]
cupd["resource"]["contactReferences"] = [{"source": "YourPlatform", "id": "donor-bw-001"}]
cupd["resource"]["contactIndividuals"][0]["contactMethods"] = [
    {"type": "Home Phone", "value": "555-0100"}, {"type": "Home Email", "value": "b@wayne.example", "isPrimary": True}]
cupd["resource"]["modifiedDateTimeUtc"] = "2024-12-16T09:00:00Z"; cupd["modifiedDateTimeUtc"] = "2024-12-16T09:00:00Z"
cases.append(inb("live-contact-is-read-from-individuals-methods-and-addresses",
    "The default contact map reads the live shape: first/last name from contactIndividuals, the email from contactMethods (by type, primary first), address lines from contactAddresses; a new primary email is the only change.",
    crec, cupd, {"action": {"tag": "apply", "val": {"fields": {"email": "b@wayne.example"}}}, "reason": "remote-changed",
                 "inputs": {"changedFields": ["email"]}}))
ccur = copy.deepcopy(cupd["resource"])
ccur["contactIndividuals"][0]["contactMethods"][1]["value"] = "bruce@wayne.example"
ccur["modifiedDateTimeUtc"] = "2024-12-16T06:02:11Z"; ccur["createDateTimeUtc"] = "2020-01-01T00:00:00Z"
cchange = {"customerId": "cust-1", "kind": "contact", "partnerId": "donor-bw-001", "modifiedMs": NOW - 60000,
           "fields": {"name": "Wayne, Bruce", "contactType": "Household", "firstName": "Bruce", "lastName": "Wayne",
                      "email": "b@wayne.example", "state": "NJ", "postal": "07001"}, "current": ccur}
cases.append(out("contact-update-is-the-fetched-read-shape-with-the-change",
    "A contact update writes where the value was read: the email method's value in contactIndividuals[0].contactMethods, the phone, ids, tags and references kept; id and audit dates removed.",
    crec, cchange,
    {"action": {"tag": "submit", "val": {"method": "PUT", "path": "/api/Contact/4821", "body": {
        "contactIndividuals": [{"id": 9012, "firstName": "Bruce", "lastName": "Wayne", "contactMethods": [
            {"type": "Home Phone", "value": "555-0100"}, {"type": "Home Email", "value": "b@wayne.example", "isPrimary": True}]}],
        "contactAddresses": [{"state": "NJ", "postal": "07001"}], "tags": ["Major Donor"],
        "contactReferences": [{"source": "YourPlatform", "id": "donor-bw-001"}],
        "referenceSource": "YourPlatform", "referenceId": "donor-bw-001",
        "id": None, "modifiedDateTimeUtc": None, "createDateTimeUtc": None}}},
     "reason": "partner-changed", "record": {"expectedEcho": [{"sent": ["email"]}]}}))
doc["cases"] = cases
open(OUT, "w").write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
print(len(cases))
