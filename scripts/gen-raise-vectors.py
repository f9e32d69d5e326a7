#!/usr/bin/env python3
"""Writes tests/vectors/reconcile/raise.json: the Raise planners (mergeRaiseSubscription,
planRaiseSubscription, learnRaiseEventTypes, summarizeRaiseDeliveryLogs).

Expectations are written by hand from issue 17 and the Raise docs (virtuous-docs.md section 4.1),
not produced by running the Rust code. Run: python3 scripts/gen-raise-vectors.py
"""
import json
import os

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "vectors", "reconcile", "raise.json")
GEN = "scripts/gen-raise-vectors.py"
cases = []


def case(name, why, op, inp, expect=None, error=None):
    assert not any(c["name"] == name for c in cases), name
    c = {"name": name, "why": why, "op": op, "input": inp}
    if error is not None:
        c["expectError"] = {"code": error[0], "field": error[1]} if isinstance(error, tuple) else {"code": error}
    else:
        c["expect"] = expect
    cases.append(c)


TOKEN = "raise-security-token-0123456789abcdef"
CURRENT = {"id": 7, "name": "Partner sync", "notificationUrl": "https://partner.example/raise",
           "eventTypesList": [30, 31, 40, 99], "format": 2, "status": 1, "securityToken": TOKEN,
           "createdDate": "2025-01-01T00:00:00Z"}

# --- mergeRaiseSubscription -------------------------------------------------------------------
case("raise-sub-add-keeps-others", "adding gift types keeps the customer's donor, campaign and unknown (99) types and "
     "every other field as read", "mergeRaiseSubscription",
     {"current": CURRENT, "change": {"add": [10, 11, 31]}},
     {"request": {"method": "PUT", "path": "/api/Webhook/7"},
      "body": dict(CURRENT, eventTypesList=[30, 31, 40, 99, 10, 11]),
      "eventTypes": [30, 31, 40, 99, 10, 11], "enabled": [10, 11], "disabled": [], "changed": True, "notices": []})
case("raise-sub-remove", "removing one type removes only it", "mergeRaiseSubscription",
     {"current": CURRENT, "change": {"remove": [40, 12]}},
     {"body": dict(CURRENT, eventTypesList=[30, 31, 99]), "enabled": [], "disabled": [40], "changed": True})
case("raise-sub-noop", "a change that changes nothing says so (the host may skip the PUT)", "mergeRaiseSubscription",
     {"current": CURRENT, "change": {"add": [30]}}, {"changed": False, "enabled": [], "disabled": [], "notices": []})
case("raise-sub-rotate-token", "a new securityToken is written; the notices never carry it", "mergeRaiseSubscription",
     {"current": CURRENT, "change": {"securityToken": "rotated-token-abcdefghijklmnopqrstuvwxyz"}},
     {"body": {"securityToken": "rotated-token-abcdefghijklmnopqrstuvwxyz", "eventTypesList": [30, 31, 40, 99]},
      "changed": True, "notices": []})
case("raise-sub-pause", "status 2 (assumed inactive) is written and noticed", "mergeRaiseSubscription",
     {"current": CURRENT, "change": {"status": 2}}, {"body": {"status": 2}, "changed": True, "notices": ["inactive"]})
bare = {"id": "wh-1", "notificationUrl": "https://partner.example/raise", "eventTypesList": ["10"]}
case("raise-sub-missing-fields-noticed", "no token, status or format in the GET body: noticed, never invented",
     "mergeRaiseSubscription", {"current": bare, "change": {"add": [20]}},
     {"request": {"path": "/api/Webhook/wh-1"}, "body": {"eventTypesList": ["10", 20], "status": None, "format": None},
      "eventTypes": [10, 20], "notices": ["no-security-token", "status-missing", "format-missing"]})
case("raise-sub-new-url", "a new notificationUrl is validated and written", "mergeRaiseSubscription",
     {"current": CURRENT, "change": {"notificationUrl": "https://new.example/hooks/raise"}},
     {"body": {"notificationUrl": "https://new.example/hooks/raise"}, "changed": True})
case("raise-sub-insecure-url", "http is refused", "mergeRaiseSubscription",
     {"current": CURRENT, "change": {"notificationUrl": "http://new.example/raise"}}, error="insecure-payload-url")
case("raise-sub-no-list", "a GET body without eventTypesList is refused: a PUT could drop the customer's types",
     "mergeRaiseSubscription", {"current": {"id": 7, "notificationUrl": "https://p.example"}, "change": {}},
     error="invalid-current-subscription")
case("raise-sub-unreadable-list", "a list of objects is refused rather than rewritten", "mergeRaiseSubscription",
     {"current": {"id": 7, "notificationUrl": "https://p.example", "eventTypesList": [{"id": 10}]}, "change": {}},
     error="invalid-current-subscription")
case("raise-sub-no-id", "no id: no path to PUT to", "mergeRaiseSubscription",
     {"current": {"eventTypesList": []}, "change": {}}, error="invalid-current-subscription")
case("raise-sub-out-of-range", "event types are 10..52", "mergeRaiseSubscription",
     {"current": CURRENT, "change": {"add": [53]}}, error="invalid-argument")
case("raise-sub-conflict", "one type both added and removed", "mergeRaiseSubscription",
     {"current": CURRENT, "change": {"add": [10], "remove": [10]}}, error="conflicting-change")
case("raise-sub-blank-token", "a blank token is refused", "mergeRaiseSubscription",
     {"current": CURRENT, "change": {"securityToken": " "}}, error="invalid-argument")
case("raise-sub-unknown-change-key", "a misspelt change key is refused, not ignored", "mergeRaiseSubscription",
     {"current": CURRENT, "change": {"ad": [10]}}, error="invalid-argument")

# --- planRaiseSubscription (no webhook yet: POST; one delivering to the URL: merge) -------------
HOOK = "https://host.example/webhooks/raise/acme"
WANT = {"notificationUrl": HOOK, "eventTypes": [30, 31, 32, 30], "securityToken": TOKEN}
OTHER = {"id": 3, "name": "Someone else", "notificationUrl": "https://other.example/hook", "eventTypesList": [10]}
case("raise-setup-create", "no webhook delivers to our URL: a POST creating one, active and signed with the token; "
     "the types deduplicated; format never invented (noticed)", "planRaiseSubscription",
     dict(WANT, existing=[OTHER]),
     {"action": "create", "request": {"method": "POST", "path": "/api/Webhook"},
      "body": {"name": "virtuous-sync", "notificationUrl": HOOK, "eventTypesList": [30, 31, 32], "status": 1,
               "securityToken": TOKEN},
      "notices": ["format-missing"]})
case("raise-setup-create-format-name", "a given name and format are written as given", "planRaiseSubscription",
     dict(WANT, existing=[], name="Acme sync", format=2),
     {"action": "create", "body": {"name": "Acme sync", "format": 2}, "notices": []})
case("raise-setup-merge", "one webhook already delivers to our URL (compared trimmed): merge into it (GET, then "
     "mergeRaiseSubscription with the change), never a second webhook", "planRaiseSubscription",
     dict(WANT, existing=[OTHER, {"id": "wh 9", "notificationUrl": " " + HOOK + " ", "eventTypesList": [10, 99]}]),
     {"action": "merge", "request": {"method": "GET", "path": "/api/Webhook/wh%209"}, "webhookId": "wh 9",
      "change": {"add": [30, 31, 32], "remove": [], "securityToken": TOKEN, "status": 1}, "notices": []})
case("raise-setup-several", "two webhooks deliver to our URL: which to change is a person's choice",
     "planRaiseSubscription", dict(WANT, existing=[{"id": 1, "notificationUrl": HOOK}, {"id": 2, "notificationUrl": HOOK}]),
     error="invalid-current-subscription")
case("raise-setup-list-not-array", "an unreadable list is refused rather than a second webhook created on a guess",
     "planRaiseSubscription", dict(WANT, existing={"items": []}), error="invalid-current-subscription")
case("raise-setup-merge-no-id", "the matching webhook has no id: no path to read", "planRaiseSubscription",
     dict(WANT, existing=[{"notificationUrl": HOOK}]), error="invalid-current-subscription")
case("raise-setup-insecure-url", "http is refused", "planRaiseSubscription",
     dict(WANT, existing=[], notificationUrl="http://host.example/webhooks/raise/acme"), error="insecure-payload-url")
case("raise-setup-blank-token", "an unsigned webhook's deliveries would be refused: a blank token is refused",
     "planRaiseSubscription", dict(WANT, existing=[], securityToken="  "), error="invalid-argument")
case("raise-setup-no-types", "subscribing to nothing is refused", "planRaiseSubscription",
     dict(WANT, existing=[], eventTypes=[]), error="invalid-argument")
case("raise-setup-out-of-range", "event types are 10..52", "planRaiseSubscription",
     dict(WANT, existing=[], eventTypes=[9]), error="invalid-argument")
case("raise-setup-bad-format", "format is 1 or 2", "planRaiseSubscription",
     dict(WANT, existing=[], format=3), error="invalid-argument")

# --- learnRaiseEventTypes ---------------------------------------------------------------------
LOG_ROWS = [
    {"eventType": 10, "eventTypeDisplay": "Gift Created", "contextId": "a"},
    {"eventType": 10, "eventTypeDisplay": "Gift Created", "contextId": "b"},
    {"eventType": 20, "eventTypeDisplay": "Recurring Gift Created"},
    {"eventType": 30, "eventTypeDisplay": "Donor Updated"},
    {"eventType": 43, "eventTypeDisplay": "Campaign Deleted"},
    {"eventType": 50, "eventTypeDisplay": "Page Published"},
    {"eventType": "x", "eventTypeDisplay": "Gift Created"},
    {"eventTypeDisplay": "Gift Created"},
]
case("raise-learn-defaults", "the logs confirm 10 and 20, contradict 30 (Donor Updated, default donor-create), name 43 "
     "which the defaults leave unlabeled, and call 50 something no label reads as", "learnRaiseEventTypes",
     {"rows": LOG_ROWS},
     {"learned": [
         {"code": 10, "display": "Gift Created", "label": "gift-create", "rows": 2},
         {"code": 20, "display": "Recurring Gift Created", "label": "recurring-gift-create", "rows": 1},
         {"code": 30, "display": "Donor Updated", "label": "donor-update", "rows": 1},
         {"code": 43, "display": "Campaign Deleted", "label": "campaign-delete", "rows": 1},
         {"code": 50, "display": "Page Published", "label": None, "rows": 1}],
      "disagreements": [
          {"code": 30, "kind": "different-label", "configured": "donor-create", "learned": "donor-update",
           "display": "Donor Updated"},
          {"code": 43, "kind": "not-configured", "configured": None, "learned": "campaign-delete",
           "display": "Campaign Deleted"},
          {"code": 50, "kind": "unreadable-display", "configured": "page-create", "learned": None,
           "display": "Page Published"}],
      "suggested": {"30": "donor-update", "43": "campaign-delete"},
      "skippedRows": 2})
case("raise-learn-configured", "labels configured to match the logs leave no disagreement", "learnRaiseEventTypes",
     {"rows": LOG_ROWS[:5], "configured": {"30": "donor-update", "43": "campaign-delete"}},
     {"disagreements": [], "suggested": {}, "skippedRows": 0})
case("raise-learn-inconsistent", "one integer, two display texts: reported, nothing suggested", "learnRaiseEventTypes",
     {"rows": [{"eventType": 11, "eventTypeDisplay": "Gift Updated"},
               {"eventType": 11, "eventTypeDisplay": "Gift Deleted"}]},
     {"disagreements": [{"code": 11, "kind": "inconsistent-display"}], "suggested": {}})
case("raise-learn-bad-configured", "a configured label that reads as nothing is refused naming the key",
     "learnRaiseEventTypes", {"rows": [], "configured": {"10": "gift-refund"}},
     error=("invalid-argument", "configured.10"))
case("raise-learn-empty", "no rows: nothing learned", "learnRaiseEventTypes", {"rows": []},
     {"learned": [], "disagreements": [], "suggested": {}, "skippedRows": 0})

# --- summarizeRaiseDeliveryLogs ---------------------------------------------------------------
LOGS = [
    {"webhookId": 7, "contextId": "ctx-a", "eventType": 10, "eventTypeDisplay": "Gift Created", "success": False,
     "httpStatusCode": 500, "serverResponse": "upstream error", "createdDate": "2025-04-01T12:00:00Z"},
    {"webhookId": 7, "contextId": "ctx-a", "eventType": 10, "success": False, "httpStatusCode": 401,
     "serverResponse": "{\"reason\":\"missing-signature\"}", "createdDate": "2025-04-01T12:00:10Z"},
    {"webhookId": 7, "contextId": "ctx-b", "eventType": 30, "success": False, "httpStatusCode": 503,
     "createdDate": "2025-04-01T11:00:00Z"},
    {"webhookId": 7, "contextId": "ctx-b", "eventType": 30, "success": True, "httpStatusCode": 200,
     "createdDate": "2025-04-01T11:00:10Z"},
    {"webhookId": 7, "contextId": "ctx-c", "success": True, "httpStatusCode": 200, "createdDate": "2025-04-01T10:00:00Z"},
    {"webhookId": 8, "contextId": "ctx-a", "success": False, "createdDate": "2025-04-01T09:00:00Z"},
    {"webhookId": 7, "contextId": "ctx-d"},
    "not a row",
]
case("raise-logs-failed-per-context", "attempts group by webhook and contextId; the last attempt decides failed or "
     "recovered; a row with no success flag is skipped, never guessed", "summarizeRaiseDeliveryLogs", {"rows": LOGS},
     {"failed": [
         {"webhookId": "7", "contextId": "ctx-a", "eventType": 10, "eventTypeDisplay": "Gift Created", "attempts": 2,
          "failures": 2, "delivered": False, "lastStatus": 401, "lastResponse": "{\"reason\":\"missing-signature\"}",
          "lastAttempt": "2025-04-01T12:00:10Z", "lastAttemptMs": 1743508810000},
         {"webhookId": "8", "contextId": "ctx-a", "attempts": 1, "failures": 1, "delivered": False,
          "lastStatus": None, "lastResponse": None, "lastAttemptMs": 1743498000000}],
      "recovered": [{"webhookId": "7", "contextId": "ctx-b", "attempts": 2, "failures": 1, "delivered": True,
                     "lastStatus": 200}],
      "deliveries": 4, "rows": 8, "skippedRows": 2})
case("raise-logs-out-of-order", "rows listed newest first are put in time order before the last attempt is taken",
     "summarizeRaiseDeliveryLogs", {"rows": [LOGS[3], LOGS[2]]},
     {"failed": [], "recovered": [{"contextId": "ctx-b", "delivered": True}], "deliveries": 1})
case("raise-logs-no-context", "a row without contextId is its own delivery", "summarizeRaiseDeliveryLogs",
     {"rows": [{"success": False, "httpStatusCode": 500}, {"success": "false", "httpStatusCode": "502"}]},
     {"failed": [{"contextId": None, "lastStatus": 500}, {"contextId": None, "lastStatus": 502}], "deliveries": 2})
case("raise-logs-response-cut", "a long serverResponse is cut (and control characters dropped)",
     "summarizeRaiseDeliveryLogs",
     {"rows": [{"contextId": "z", "success": False, "serverResponse": "ab\ncdefgh"}], "maxResponseChars": 4},
     {"failed": [{"lastResponse": "ab c\u2026"}]})
case("raise-logs-bad-input", "rows must be a list", "summarizeRaiseDeliveryLogs", {"rows": {"a": 1}},
     error=("invalid-argument", "rows"))

with open(OUT, "w") as f:
    json.dump({"description": "Raise: mergeRaiseSubscription (GET-then-PUT), planRaiseSubscription (POST when none "
               "delivers to the URL, else the merge), learnRaiseEventTypes (labels from the "
               "delivery logs), summarizeRaiseDeliveryLogs (failed deliveries)", "generator": GEN, "cases": cases},
              f, indent=1, ensure_ascii=False)
    f.write("\n")
print(f"{OUT}: {len(cases)} cases")
