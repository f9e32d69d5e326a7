#!/usr/bin/env python3
"""Writes tests/vectors/reconcile/*.json: the shared vectors for the reconciliation planners.

Expectations are written by hand from the issue and the docs, not produced by running the Rust
code; times and digests come from Python's datetime and hashlib as outside oracles.
Run: python3 scripts/gen-reconcile-vectors.py
"""
import hashlib
import json
import os
from datetime import datetime, timezone

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "vectors", "reconcile")
GEN = "scripts/gen-reconcile-vectors.py"


def ms(text):
    """ISO text (UTC) to epoch ms, via Python's datetime."""
    t = text.rstrip("Z")
    if "." in t:
        head, frac = t.split(".")
        frac = (frac + "000")[:3]
    else:
        head, frac = t, "000"
    d = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(d.timestamp()) * 1000 + int(frac)


def case(name, why, op, inp, expect=None, error=None):
    c = {"name": name, "why": why, "op": op, "input": inp}
    if error is not None:
        c["expectError"] = {"code": error} if isinstance(error, str) else {"code": error[0], "field": error[1]}
    else:
        c["expect"] = expect
    return c


def write(fname, description, cases):
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), fname
    with open(os.path.join(OUT, fname), "w") as f:
        json.dump({"description": description, "generator": GEN, "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")


def row(i, t, **extra):
    r = {"id": i, "modifiedDateTimeUtc": t}
    r.update(extra)
    return r


# ------------------------------------------------------------------ cursor
T = "2024-03-05T14:02:11.453"
TMS = ms(T)
NOON = ms("2024-06-01T12:00:00")


def run_state(**kw):
    config = {"take": kw.pop("take", 3), "overlapMs": 60000}
    if "pageCap" in kw:
        config["pageCap"] = kw.pop("pageCap")
    base = {"config": config, "start": kw.pop("start", {})}
    base.update(kw)
    return base


def fmt_ms(t):
    """epoch ms to the ISO text Virtuous sends (UTC, no zone), via Python's datetime."""
    d = datetime.fromtimestamp(t // 1000, tz=timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + (".%03d" % (t % 1000) if t % 1000 else "")


class ModelQueryServer:
    """POST /api/Contact/Query as an outside model: rows sorted by (modified, id), a stable tie order, filtered
    on 'Last Modified Date' 'Is After' with second precision, then skip/take."""

    def __init__(self, rows):
        self.rows = dict(rows)  # id -> modified ms

    def touch(self, ids, at):
        for i in ids:
            self.rows[i] = at

    def page(self, after_text, skip, take):
        after = ms(after_text) if after_text else None
        hits = sorted((m, i) for i, m in self.rows.items() if after is None or m // 1000 > after // 1000)
        return [row(i, fmt_ms(m)) for m, i in hits[skip:skip + take]]


def query_script_case():
    """Issue 11.1: a second X an hour old holds 12 rows (stable tie order by id); take 5. After the walk's first
    page inside X, rows 1 and 2 (already read) are modified and move to now, so every unread row of X shifts back by
    two. The page at skip 4 then holds no row read before: it is dropped and asked for again one page back, and
    every row of X is delivered. The requests below are written from docs/reconciliation.md; the pages are the
    model server's answers to them."""
    X = ms("2024-06-01T09:00:00")
    NOWT = ms("2024-06-01T10:00:05")
    srv = ModelQueryServer([(100, X - 600000)] + [(i, X) for i in range(1, 13)])
    after = lambda t: fmt_ms((t // 1000) * 1000 - 1000)
    lower0 = X - 3600000 - 15 * 60000
    reqs = [(after(lower0), 0), (after(X), 0), (after(X), 4), (after(X), 0), (after(X), 4), (after(X), 8)]
    pages = []
    for n, (a, skip) in enumerate(reqs):
        if n == 2:
            srv.touch([1, 2], NOWT)
        pages.append(srv.page(a, skip, 5))
    cond = lambda t: {"body": {"groups": [{"conditions": [{"value": t}]}]}}
    return case("churn-in-a-dense-second-loses-nothing",
                "issue 11: rows already read leave a dense second between page fetches (stable tie order); the walk steps back instead of over the shifted rows, delivers all of X and stores the highest time seen",
                "queryScript",
                {"cursor": {"highWaterMs": X - 3600000, "boundaryIds": []}, "config": {"take": 5},
                 "runs": [{"pages": pages}]},
                {"runs": [{
                    "requests": [dict(cond(a), skip=skip) for a, skip in reqs],
                    "pages": [{"freshIds": ["100", "1", "2", "3", "4"], "done": False},
                              {"freshIds": ["5"], "duplicates": 4, "done": False},
                              {"freshIds": [], "discarded": 5, "done": False},
                              {"freshIds": ["6", "7"], "duplicates": 3, "done": False},
                              {"freshIds": ["8", "9", "10", "11"], "duplicates": 1, "done": False},
                              {"freshIds": ["12", "1", "2"], "duplicates": 1, "done": True}],
                    "freshIds": ["100", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "1", "2"],
                    "cursor": {"highWaterMs": NOWT, "boundaryIds": ["1", "2"]}}]})


cursor_cases = [
    case("first-run-is-a-full-export", "no cursor yet: no condition, sorted ascending, archived included, take ≤ 1000",
         "startQueryRun", {"cursor": {}, "config": {}},
         {"request": {"method": "POST", "path": "/api/Contact/Query?skip=0&take=1000", "skip": 0, "take": 1000,
                      "body": {"groups": [], "sortBy": "Last Modified Date", "descending": False, "includeArchived": True}},
          "page": None}),
    case("closed-lower-bound-with-overlap", "highWater − overlap, floored to the second, asked as 'Is After' one second earlier so the bound itself is included",
         "startQueryRun", {"cursor": {"highWaterMs": TMS, "boundaryIds": ["1"]}, "config": {"overlapMs": 60000}},
         {"request": {"body": {"groups": [{"conditions": [{"parameter": "Last Modified Date", "operator": "Is After",
                                                           "value": "2024-03-05T14:01:10"}]}]}},
          "run": {"lowerMs": TMS - 60000, "skip": 0, "done": False}}),
    case("gift-query-endpoint", "gifts page through POST /api/Gift/Query",
         "startQueryRun", {"config": {"resource": "gift", "take": 500}},
         {"request": {"path": "/api/Gift/Query?skip=0&take=500"}}),
    case("take-above-1000-rejected", "Virtuous returns at most 1000 rows per page", "startQueryRun",
         {"config": {"take": 1001}}, error="invalid-cursor-config"),
    case("take-of-one-rejected", "skip walks overlap pages by one row, so a page needs two", "startQueryRun",
         {"config": {"take": 1}}, error="invalid-cursor-config"),
    case("overlap-below-one-second-rejected", "a closed bound needs at least a second of overlap", "startQueryRun",
         {"config": {"overlapMs": 500}}, error="invalid-cursor-config"),
    case("same-second-records-at-the-boundary", "regression (estuary #5205): a strict '>' cursor drops records in the boundary second; only ids already seen at exactly the high-water time are dropped",
         "acceptQueryPage",
         {"run": run_state(take=5, start={"highWaterMs": NOON, "boundaryIds": ["100"]}, lowerMs=NOON - 60000),
          "rows": [row(100, "2024-06-01T12:00:00"), row(101, "2024-06-01T12:00:00"), row(102, "2024-06-01T12:00:00.500")]},
         {"page": {"fresh": [1, 2], "freshIds": ["101", "102"], "duplicates": 1, "done": True}, "request": None,
          "run": {"maxSeenMs": NOON + 500, "idsAtMax": ["102"], "done": True}}),
    case("rows-committed-during-a-run", "regression (Airbyte #14732): the next page restarts at the highest time seen (skip 0), so a record modified mid-run moving to the end of the sort cannot shift an unread one out of the window",
         "acceptQueryPage",
         {"run": run_state(take=2, lowerMs=NOON - 60000),
          "rows": [row(1, "2024-06-01T12:00:01.250"), row(2, "2024-06-01T12:00:05.100")]},
         {"page": {"fresh": [0, 1], "done": False},
          "request": {"skip": 0, "body": {"groups": [{"conditions": [{"value": "2024-06-01T12:00:04"}]}]}},
          "run": {"lowerMs": NOON + 5100, "skip": 0}}),
    case("failed-run-never-advances", "regression (utopia #794): a run that stopped before its last page has no cursor to store",
         "finishQueryRun", run_state(start={"highWaterMs": NOON}, maxSeenMs=NOON + 9000, idsAtMax=["5"], done=False),
         error="run-incomplete"),
    case("complete-run-advances-to-highest-seen", "the cursor is the highest modifiedDateTimeUtc seen, with the ids at that time",
         "finishQueryRun", run_state(start={"highWaterMs": NOON, "boundaryIds": ["1"]}, maxSeenMs=NOON + 9000, idsAtMax=["9", "10"], done=True),
         {"highWaterMs": NOON + 9000, "boundaryIds": ["10", "9"]}),
    case("same-high-water-keeps-old-boundary-ids", "when the run saw nothing newer than the boundary, both id sets are kept",
         "finishQueryRun", run_state(start={"highWaterMs": NOON, "boundaryIds": ["1"]}, maxSeenMs=NOON, idsAtMax=["2"], done=True),
         {"highWaterMs": NOON, "boundaryIds": ["1", "2"]}),
    case("empty-run-keeps-cursor", "no rows: the cursor stays (never the wall clock)",
         "finishQueryRun", run_state(start={"highWaterMs": NOON, "boundaryIds": ["1"]}, done=True),
         {"highWaterMs": NOON, "boundaryIds": ["1"]}),
    case("overlap-rows-do-not-move-cursor-back", "rows re-read in the overlap are older than the high-water mark",
         "finishQueryRun", run_state(start={"highWaterMs": NOON, "boundaryIds": ["1"]}, maxSeenMs=NOON - 30000, idsAtMax=["7"], done=True),
         {"highWaterMs": NOON, "boundaryIds": ["1"]}),
    case("dense-second-walked-with-overlapping-skip", "a full page inside one second cannot advance the bound: walk it with skip = take − 1 and remember the last row as anchor",
         "acceptQueryPage",
         {"run": run_state(take=3, lowerMs=NOON),
          "rows": [row(1, "2024-06-01T12:00:00"), row(2, "2024-06-01T12:00:00"), row(3, "2024-06-01T12:00:00.999")]},
         {"request": {"skip": 2}, "run": {"skip": 2, "anchor": ["3", NOON + 999], "lowerMs": NOON}}),
    case("shifted-walk-steps-back", "no row of the page was read before: rows left the second and the unread ones moved back past skip, so the page is dropped and asked for one page further back (even a short page, which the shift may have cut short)",
         "acceptQueryPage",
         {"run": run_state(take=3, lowerMs=NOON, skip=2, anchor=["3", NOON + 999],
                           window=[["1", NOON], ["2", NOON], ["3", NOON + 999]]),
          "rows": [row(4, "2024-06-01T12:00:00.999")]},
         {"page": {"fresh": [], "discarded": 1, "done": False}, "request": {"skip": 0},
          "run": {"skip": 0, "restarts": 0, "stepBacks": 1, "done": False, "window": [["1", NOON], ["2", NOON], ["3", NOON + 999]]}}),
    case("anchor-found-earlier-continues", "issue 11: after a step back (skip 3) the anchor read at 6 is found at 4, two rows early (rows 1 and 2 left the second); the unread rows after it are all on the page: carry on from the page's end, no restart",
         "acceptQueryPage",
         {"run": run_state(take=4, lowerMs=NOON, skip=3, anchor=["7", NOON], anchorAt=6, stepBacks=1,
                           window=[[str(i), NOON] for i in range(1, 8)]),
          "rows": [row(i, "2024-06-01T12:00:00") for i in [6, 7, 8, 9]]},
         {"page": {"fresh": [2, 3], "freshIds": ["8", "9"], "duplicates": 2, "done": False}, "request": {"skip": 6},
          "run": {"skip": 6, "anchor": ["9", NOON], "anchorAt": 6, "restarts": 0, "stepBacks": 0}}),
    case("anchor-found-later-restarts", "the anchor moved later than where it was read: rows were inserted or reordered before it, so the walk restarts at skip 0",
         "acceptQueryPage",
         {"run": run_state(take=3, lowerMs=NOON, skip=2, anchor=["3", NOON], anchorAt=2,
                           window=[["1", NOON], ["2", NOON], ["3", NOON]]),
          "rows": [row(9, "2024-06-01T12:00:00"), row(3, "2024-06-01T12:00:00"), row(4, "2024-06-01T12:00:00")]},
         {"page": {"fresh": [0, 2], "done": False}, "request": {"skip": 0}, "run": {"skip": 0, "restarts": 1}}),
    case("verified-walk-continues", "the anchor is first: the walk goes on, the anchor row dropped as a duplicate",
         "acceptQueryPage",
         {"run": run_state(take=3, lowerMs=NOON, skip=2, anchor=["3", NOON + 999],
                           window=[["1", NOON], ["2", NOON], ["3", NOON + 999]]),
          "rows": [row(3, "2024-06-01T12:00:00.999"), row(4, "2024-06-01T12:00:01.200")]},
         {"page": {"fresh": [1], "duplicates": 1, "done": True}, "run": {"done": True, "maxSeenMs": NOON + 1200}}),
    case("unverifiable-walk-caps-the-cursor", "after the restart budget the run commits no further than the walk's start",
         "finishQueryRun", run_state(start={"highWaterMs": NOON}, maxSeenMs=NOON + 90000, idsAtMax=["8"], rewindToMs=NOON - 1000, done=True),
         {"highWaterMs": NOON - 1000, "boundaryIds": [], "cappedAtMs": NOON - 1000}),
    case("second-cap-at-same-point-advances", "held back twice at the same walk, the second time having seen the tie order change (unstableOrder): advance instead of pinning the cursor forever",
         "finishQueryRun", run_state(start={"highWaterMs": NOON - 1000, "cappedAtMs": NOON - 1000}, maxSeenMs=NOON + 90000, idsAtMax=["8"],
                                     rewindToMs=NOON - 1000, unstableOrder=True, done=True),
         {"highWaterMs": NOON + 90000, "boundaryIds": ["8"], "cappedAtMs": None}),
    case("second-cap-without-reordering-stays", "issue 11: held back twice at the same walk only because rows left the second (a stable tie order with churn): stay held and read it again, never advance past unread rows",
         "finishQueryRun", run_state(start={"highWaterMs": NOON - 1000, "cappedAtMs": NOON - 1000}, maxSeenMs=NOON + 90000, idsAtMax=["8"],
                                     rewindToMs=NOON - 1000, done=True),
         {"highWaterMs": NOON - 1000, "boundaryIds": [], "cappedAtMs": NOON - 1000}),
    case("page-cap-below-take-is-not-the-last-page", "issue 11: the server returns at most 100 rows whatever take asks (the docs say 1000 or 'up to 100'): a page of pageCap rows is full, so paging goes on",
         "acceptQueryPage",
         {"run": run_state(take=1000, lowerMs=NOON), "rows": [row(i, fmt_ms(NOON + 1000 * i)) for i in range(1, 101)]},
         {"page": {"done": False}, "request": {"skip": 0, "take": 1000, "body": {"groups": [{"conditions": [{"value": "2024-06-01T12:01:39"}]}]}},
          "run": {"lowerMs": NOON + 100000, "done": False}}),
    case("page-cap-dense-second-walks-by-page-length", "a capped page inside one second: the walk steps by the rows the page held minus one, not by take",
         "acceptQueryPage",
         {"run": run_state(take=1000, lowerMs=NOON), "rows": [row(i, "2024-06-01T12:00:00") for i in range(1, 101)]},
         {"page": {"done": False}, "request": {"skip": 99}, "run": {"skip": 99, "anchor": ["100", NOON], "anchorAt": 99}}),
    case("page-cap-configurable", "an organisation whose server returns 1000 rows sets pageCap 1000: a page of 100 is then the last",
         "acceptQueryPage",
         {"run": run_state(take=1000, pageCap=1000, lowerMs=NOON), "rows": [row(i, fmt_ms(NOON + 1000 * i)) for i in range(1, 101)]},
         {"page": {"done": True}, "request": None}),
    case("page-cap-below-two-rejected", "a page must hold an anchor and a next row", "startQueryRun",
         {"config": {"pageCap": 1}}, error="invalid-cursor-config"),
    query_script_case(),
    case("rows-without-id-or-time", "a row without id is not processed; one without a readable time is processed but cannot move the cursor",
         "acceptQueryPage",
         {"run": run_state(take=5, lowerMs=NOON),
          "rows": [{"modifiedDateTimeUtc": "2024-06-01T12:00:03"}, {"id": "8"}, row(9, "not a date"), row(10, "2024-06-01T12:00:04Z")]},
         {"page": {"fresh": [1, 2, 3], "malformed": [0], "undated": [1, 2], "done": True}, "run": {"maxSeenMs": NOON + 4000}}),
    case("page-after-last-rejected", "a finished run takes no more pages", "acceptQueryPage",
         {"run": run_state(done=True), "rows": []}, error="run-finished"),
]
write("cursor.json", "Query cursor: startQueryRun / acceptQueryPage / finishQueryRun, incl. the boundary, mid-run commit and failed-run regressions", cursor_cases)

# ------------------------------------------------------------------ reconciliation
# One domain model with the sync decisions: stored records are sync RecordStates (base = digests),
# the partner's current values come beside them, and fields, policies, the skew window and "stuck"
# (pendingExpiryMs) come from the sync options (the core's `sync` section; inline `options` here).
NOW = ms("2024-06-10T12:00:00")
H = 3600 * 1000
OPTS = {"platformName": "Partner Platform", "customerId": "c1", "fieldMaps": {
    "contact": [{"name": "name", "pointer": "/name", "required": True}, {"name": "postal", "pointer": "/address/postal"},
                {"name": "email", "pointer": "/email"}, {"name": "phone", "pointer": "/phone"}],
    "gift": [{"name": "amount", "pointer": "/amount", "type": "money", "required": True}, {"name": "notes", "pointer": "/notes"}]}}


def digest(v):
    """The sync module's field digest of a plain value: SHA-256 of canonical JSON, first 16 hex (Python's hashlib)."""
    return hashlib.sha256(json.dumps(v, separators=(",", ":"), sort_keys=True).encode()).hexdigest()[:16]


def srec(kind="contact", **kw):
    """A stored sync RecordState (version 1, as decideInbound/decideOutbound store it)."""
    r = {"version": 1, "customerId": "c1", "kind": kind, "state": "in-sync"}
    r.update(kw)
    return r


def stored(record, values=None, modified=None, lookup=None):
    s = {"record": record}
    if values is not None or modified is not None:
        s["partner"] = {"values": values or {}}
        if modified is not None:
            s["partner"]["modifiedMs"] = modified
    if lookup is not None:
        s["lookup"] = lookup
    return s


def rec_input(rows, stored_, cfg=None, now=NOW, opts=None):
    c = {"resource": "contact"}
    c.update(cfg or {})
    return {"options": opts or OPTS, "config": c, "rows": rows, "stored": stored_, "nowMs": now}


def with_policy(policy=None, kinds=None, skew=None):
    o = json.loads(json.dumps(OPTS))
    o["policy"] = {}
    if policy:
        o["policy"]["default"] = policy
    if kinds:
        o["policy"]["kinds"] = kinds
    if skew is not None:
        o["policy"]["skewWindowMs"] = skew
    return o


V_T = "2024-06-09T08:00:00"
V_MS = ms(V_T)
crow = row(7, V_T, name="Ann Smith", address={"postal": "12345"})
BASE7 = {"name": digest("Ann Smith"), "postal": digest("12345")}
rec7 = srec(virtuousId="7", partnerId="p7", virtuousModifiedMs=V_MS, base=BASE7)
# The row: abbreviated, no email or phone; the stored contact has both, agreed.
short_row = row(7, V_T, name="Ann Smith")
BASE7_FULL = dict(BASE7, email=digest("ann@example.org"), phone=digest("555-0100"))
rec7_full = srec(virtuousId="7", partnerId="p7", virtuousModifiedMs=V_MS, base=BASE7_FULL)
P7_FULL = {"name": "Ann Smith", "postal": "12345", "email": "ann@example.org", "phone": "555-0100"}
pend = dict(partnerId="don-42", externalRef={"source": "Partner Platform", "id": "don-42"}, state="partner-pending")

rec_cases = [
    case("unknown-row-is-a-missed-create", "present in Virtuous, absent locally: apply through the inbound path as a create event built from the row; the abbreviated row lacks mapped fields, so the item names them and the full read (priced) that creates the record whole",
         "planReconciliation", rec_input([crow], []),
         {"items": [{"kind": "missed-change", "reason": "unknown-locally", "virtuousId": "7", "row": 0,
                     "unknownFields": ["email", "phone"], "request": {"method": "GET", "path": "/api/Contact/7"},
                     "event": {"eventType": "contact-create", "rawEventType": "ContactCreate", "resourceKind": "contact",
                               "resourceId": "7", "modifiedDateTimeUtc": V_T, "resource": {"name": "Ann Smith"}, "eventId": None}}],
          "requestCost": 1, "halted": False}),
    case("full-row-missed-create-needs-no-fetch", "with rowShape full the row is the record: a missed create carries no request",
         "planReconciliation", rec_input([crow], [], {"rowShape": "full"}),
         {"items": [{"kind": "missed-change", "reason": "unknown-locally", "request": None, "unknownFields": None}], "requestCost": 0}),
    case("newer-version-is-a-missed-update", "Virtuous modified after the last applied version (the state's virtuousModifiedMs): a webhook lost in an outage (full rows)",
         "planReconciliation", rec_input([row(55, V_T, amount=10)], [stored(srec("gift", virtuousId="55", partnerId="g-1", virtuousModifiedMs=V_MS - 1))], {"resource": "gift", "rowShape": "full"}),
         {"items": [{"kind": "missed-change", "reason": "newer-in-virtuous", "partnerId": "g-1",
                     "event": {"eventType": "gift-update", "resourceKind": "gift", "resourceId": "55"}}]}),
    case("newer-abbreviated-row-asks-for-the-full-record", "a newer abbreviated row that lacks mapped fields: an event from it would pass the record's newer time while a change to a field it lacks is lost for good, so the plan asks for the full record instead",
         "planReconciliation", rec_input([row(55, V_T, amount=10)], [stored(srec("gift", virtuousId="55", partnerId="g-1", virtuousModifiedMs=V_MS - 1))], {"resource": "gift"}),
         {"items": [{"kind": "fetch-full-record", "reason": "newer-in-virtuous", "partnerId": "g-1", "event": None,
                     "request": {"method": "GET", "path": "/api/Gift/55"}}]}),
    case("applied-and-equal-is-unchanged", "already applied, every mapped field equals the base digest on both sides: nothing to do",
         "planReconciliation", rec_input([crow], [stored(rec7, {"name": "Ann Smith", "postal": "12345"})]),
         {"items": [], "counts": {"rows": 1, "unchanged": 1}}),
    case("drift-without-base-virtuous-canonical", "nothing agreed yet and the values differ: the sync policy (default virtuous-canonical) decides, in the sync vocabulary",
         "planReconciliation", rec_input([crow], [stored(srec(virtuousId="7", partnerId="p7", virtuousModifiedMs=V_MS), {"name": "Ann Smyth", "postal": "12345"})]),
         {"items": [{"kind": "resolve-drift", "reason": "drift", "nextState": "in-sync",
                     "fields": [{"field": "name", "virtuousValue": "Ann Smith", "partnerValue": "Ann Smyth", "base": None,
                                 "resolution": "take-virtuous", "reason": "virtuous-canonical", "policy": "virtuous-canonical"}],
                     "record": {"state": "in-sync", "base": {"name": digest("Ann Smith"), "postal": digest("12345")}, "lastSyncMs": NOW}}]}),
    case("drift-three-way-changed-on-partner", "Virtuous still equals the base, the partner changed: take the partner value (written through decideOutbound, so the base stays)",
         "planReconciliation", rec_input([crow], [stored(rec7, {"name": "Ann Smith", "postal": "54321"})]),
         {"items": [{"kind": "resolve-drift", "fields": [{"field": "postal", "resolution": "take-partner", "reason": "local-only",
                                                          "base": digest("12345"), "partnerValue": "54321"}],
                     "record": {"base": BASE7}}]}),
    case("drift-three-way-changed-in-virtuous", "the partner still equals the base: take the Virtuous value, and the base moves to it",
         "planReconciliation", rec_input([crow], [stored(srec(virtuousId="7", virtuousModifiedMs=V_MS, base={"name": digest("Ann Smith"), "postal": digest("99999")}),
                                                         {"name": "Ann Smith", "postal": "99999"})]),
         {"items": [{"kind": "resolve-drift", "fields": [{"field": "postal", "resolution": "take-virtuous", "reason": "remote-only"}],
                     "record": {"base": BASE7}}]}),
    case("partner-owned-field-keeps-the-partner-value", "a Virtuous-only change to a partner-owns field is not applied: the partner value is re-asserted, as in decideInbound",
         "planReconciliation", rec_input([crow], [stored(srec(virtuousId="7", virtuousModifiedMs=V_MS, base={"name": digest("Ann Smith"), "postal": digest("99999")}),
                                                         {"name": "Ann Smith", "postal": "99999"})],
                                         opts=with_policy(kinds={"contact": {"fields": {"postal": "partner-owns"}}})),
         {"items": [{"kind": "resolve-drift", "fields": [{"field": "postal", "resolution": "take-partner", "reason": "owned-by-other", "policy": "partner-owns"}]}]}),
    case("both-changed-manual-is-a-conflict", "changed on both sides under the manual policy: the record goes to conflict with sync conflict items, never a coin flip",
         "planReconciliation", rec_input([crow], [stored(srec(virtuousId="7", virtuousModifiedMs=V_MS, base={"name": digest("Ann Jones"), "postal": digest("12345")}),
                                                         {"name": "Ann B. Smith", "postal": "12345"})],
                                         opts=with_policy(kinds={"contact": {"fields": {"name": "manual"}}})),
         {"items": [{"kind": "conflict", "reason": "field-conflict", "nextState": "conflict",
                     "fields": [{"field": "name", "resolution": "conflict", "reason": "both-changed", "policy": "manual", "proposed": "virtuous"}],
                     "record": {"state": "conflict", "conflict": [{"field": "name", "base": digest("Ann Jones"), "local": "Ann B. Smith",
                                                                   "remote": "Ann Smith", "policy": "manual", "proposed": "virtuous"}]}}]}),
    case("most-recent-wins-inside-the-skew-window-is-a-conflict", "edits closer than the sync policy's skewWindowMs (default 10 min, not a reconciliation-only window) are simultaneous",
         "planReconciliation", rec_input([crow], [stored(srec(virtuousId="7", virtuousModifiedMs=V_MS), {"name": "Ann Smyth", "postal": "12345"}, modified=V_MS + 60000)],
                                         opts=with_policy("most-recent-wins")),
         {"items": [{"kind": "conflict", "fields": [{"field": "name", "resolution": "conflict", "reason": "both-changed", "policy": "most-recent-wins"}]}]}),
    case("most-recent-wins-partner-newer", "outside the skew window the later edit wins",
         "planReconciliation", rec_input([crow], [stored(srec(virtuousId="7", virtuousModifiedMs=V_MS), {"name": "Ann Smyth", "postal": "12345"}, modified=V_MS + 20 * 60000)],
                                         opts=with_policy("most-recent-wins")),
         {"items": [{"kind": "resolve-drift", "fields": [{"field": "name", "resolution": "take-partner", "reason": "most-recent"}]}]}),
    case("pending-confirmed-by-query-reference", "async echo: the nightly batch created the gift; the row carries our transactionSource/transactionId (the state's externalRef), so the pending write is confirmed and linked",
         "planReconciliation", rec_input([row(901, V_T, transactionSource="partner platform", transactionId="don-42")],
                                         [stored(srec("gift", pendingSinceMs=NOW - 20 * H,
                                                      expectedEcho=[{"fields": {"notes": digest("n1")}, "writtenMs": NOW - 20 * H, "expiresMs": NOW + 16 * H}],
                                                      **pend))], {"resource": "gift"}),
         {"items": [{"kind": "confirm-pending", "reason": "confirmed-by-query", "virtuousId": "901", "partnerId": "don-42", "nextState": "in-sync",
                     "record": {"state": "in-sync", "virtuousId": "901", "pendingSinceMs": None, "lastSyncMs": NOW,
                                "base": {"notes": digest("n1")}, "expectedEcho": [{"confirmed": True}]}}],
          "requestCost": 0}),
    case("stuck-pending-needs-lookup", "pending longer than the sync options' pendingExpiryMs (36 h) and no lookup yet: GET /api/Gift/{transactionSource}/{transactionId}, path-encoded, priced in the plan",
         "planReconciliation", rec_input([], [stored(srec("gift", partnerId="don-42", externalRef={"source": "Partner Platform", "id": "don/42"},
                                                          state="partner-pending", pendingSinceMs=NOW - 37 * H))], {"resource": "gift"}),
         {"items": [{"kind": "look-up-pending", "reason": "stuck-pending",
                     "request": {"method": "GET", "path": "/api/Gift/Partner%20Platform/don%2F42"}}], "requestCost": 1}),
    case("young-pending-waits", "not yet past pendingExpiryMs: nothing to do, counted (7 h was stuck under the old separate 6 h window)",
         "planReconciliation", rec_input([], [stored(srec("gift", pendingSinceMs=NOW - 7 * H, **pend))], {"resource": "gift"}),
         {"items": [], "counts": {"pendingNotStuck": 1}, "requestCost": 0}),
    case("flagged-stuck-is-looked-up", "stuck has one meaning: a state whose pendingExpiresMs has passed is stuck whatever its age",
         "planReconciliation", rec_input([], [stored(srec("gift", pendingSinceMs=NOW - 2 * H, pendingExpiresMs=NOW - 1, **pend))], {"resource": "gift"}),
         {"items": [{"kind": "look-up-pending", "reason": "stuck-pending", "request": {"path": "/api/Gift/Partner%20Platform/don-42"}}], "requestCost": 1}),
    case("pending-confirmed-by-lookup", "the lookup answered 200: confirmed via reconciliation, with the gift id, and the state to store",
         "planReconciliation", rec_input([], [stored(srec("gift", pendingSinceMs=NOW - 38 * H, **pend),
                                                     lookup={"found": True, "atMs": NOW - 60000, "virtuousId": "777"})], {"resource": "gift"}),
         {"items": [{"kind": "confirm-pending", "reason": "confirmed-by-lookup", "virtuousId": "777", "nextState": "in-sync",
                     "record": {"state": "in-sync", "virtuousId": "777"}}]}),
    case("unmatched-after-window-surfaces", "still 404 two nightly batches later: it sits in the needs-update bucket no API lists, so show the customer",
         "planReconciliation", rec_input([], [stored(srec("gift", pendingSinceMs=NOW - 50 * H, **pend), lookup={"found": False, "atMs": NOW - 60000})],
                                         {"resource": "gift"}),
         {"items": [{"kind": "surface-unmatched", "reason": "needs-update-bucket", "partnerId": "don-42"}]}),
    case("recent-404-within-window-keeps-waiting", "a fresh 404 before the window ends: the Transaction may still be in holding",
         "planReconciliation", rec_input([], [stored(srec("gift", pendingSinceMs=NOW - 40 * H, **pend), lookup={"found": False, "atMs": NOW - 60000})],
                                         {"resource": "gift"}),
         {"items": [{"kind": "keep-waiting", "reason": "within-window"}], "requestCost": 0}),
    case("contact-pending-lookup-uses-find", "contacts are looked up by reference through /api/Contact/Find",
         "planReconciliation", rec_input([], [stored(srec(partnerId="c1", externalRef={"source": "P&Q", "id": "c 1"}, state="partner-pending",
                                                          pendingSinceMs=NOW - 37 * H))]),
         {"items": [{"kind": "look-up-pending", "request": {"path": "/api/Contact/Find?referenceSource=P%26Q&referenceId=c%201"}}]}),
    case("merged-away-row", "the row carries mergedIntoContactId: remap to the survivor",
         "planReconciliation", rec_input([row(7, V_T, mergedIntoContactId=9)], [stored(srec(virtuousId="7", partnerId="p7", virtuousModifiedMs=V_MS - 5))]),
         {"items": [{"kind": "merged-away", "reason": "merged-away", "survivorId": "9", "partnerId": "p7"}]}),
    case("breaker-holds-mass-overwrite", "a run that would overwrite more than the allowed share of records halts and says so",
         "planReconciliation",
         rec_input([row(1, V_T, name="A B"), row(2, V_T, name="C D")],
                   [stored(srec(virtuousId="1", virtuousModifiedMs=V_MS), {"name": "X Y"}),
                    stored(srec(virtuousId="2", virtuousModifiedMs=V_MS), {"name": "Z W"})],
                   {"fields": ["name"], "totalRecords": 10, "breaker": {"maxShare": 0.1, "minCount": 1}}),
         {"halted": True, "breaker": {"tripped": True, "reason": "mass-change", "changes": 2, "allowed": 1},
          "items": [{"kind": "held", "reason": "mass-change-breaker", "record": None, "nextState": None},
                    {"kind": "held", "reason": "mass-change-breaker"}]}),
    case("page-duplicates-keep-newest", "a record listed twice in one page (modified mid-paging) is planned once, from its newest version",
         "planReconciliation", rec_input([row(7, "2024-06-09T08:00:00"), row(7, "2024-06-09T09:00:00")], []),
         {"items": [{"kind": "missed-change", "row": 1, "event": {"modifiedDateTimeUtc": "2024-06-09T09:00:00"}}],
          "counts": {"unchanged": 1}}),
    case("conflict-record-not-auto-resolved", "a record awaiting manual resolution is not drift-fixed behind the person's back",
         "planReconciliation", rec_input([crow], [stored(srec(virtuousId="7", state="conflict", virtuousModifiedMs=V_MS), {"name": "Someone Else"})]),
         {"items": [], "counts": {"skipped": 1}}),
    case("cooldown-record-not-drift-fixed", "inside the inbound cooldown the partner side may still be catching up",
         "planReconciliation", rec_input([crow], [stored(srec(virtuousId="7", state="virtuous-pending", cooldownUntilMs=NOW + 60000, cooldownFields=["name"],
                                                              virtuousModifiedMs=V_MS), {"name": "Someone Else"})]),
         {"items": [], "counts": {"skipped": 1}}),
    case("lapsed-cooldown-is-drift-checked", "the sync state machine's lazy cooldown-elapsed applies: a virtuous-pending state past its cooldown is in sync again",
         "planReconciliation", rec_input([crow], [stored(srec(virtuousId="7", state="virtuous-pending", cooldownUntilMs=NOW - 1, virtuousModifiedMs=V_MS, base=BASE7),
                                                         {"name": "Someone Else"})]),
         {"items": [{"kind": "resolve-drift", "fields": [{"field": "name", "resolution": "take-partner", "reason": "local-only"}],
                     "record": {"state": "in-sync"}}]}),
    case("pending-update-in-page-still-checked-for-stuck", "a pending update whose row shows nothing newer is still looked up once stuck",
         "planReconciliation", rec_input([row(55, V_T)], [stored(srec("gift", virtuousId="55", partnerId="g-1", virtuousModifiedMs=V_MS,
                                                                     externalRef={"source": "P", "id": "g-1"}, state="partner-pending",
                                                                     pendingSinceMs=NOW - 37 * H))], {"resource": "gift"}),
         {"items": [{"kind": "look-up-pending", "virtuousId": "55", "request": {"path": "/api/Gift/P/g-1"}}], "requestCost": 1}),
    case("second-record-with-same-reference-is-a-duplicate", "a regenerated transactionId or a repeated submit made a second gift with our reference: surface it, never link it",
         "planReconciliation", rec_input([row(901, V_T, transactionSource="P", transactionId="don-1"),
                                          row(902, V_T, transactionSource="P", transactionId="don-1")],
                                         [stored(srec("gift", partnerId="don-1", externalRef={"source": "P", "id": "don-1"}, state="partner-pending",
                                                      pendingSinceMs=NOW - 20 * H))], {"resource": "gift"}),
         {"items": [{"kind": "confirm-pending", "virtuousId": "901"},
                    {"kind": "duplicate-in-virtuous", "reason": "reference-claimed-twice", "virtuousId": "902", "partnerId": "don-1"}]}),
    case("reference-of-an-already-linked-record", "the stored record is linked to another gift; this one only shares the reference",
         "planReconciliation", rec_input([row(950, V_T, transactionSource="P", transactionId="don-1")],
                                         [stored(srec("gift", virtuousId="901", partnerId="don-1", externalRef={"source": "P", "id": "don-1"},
                                                      virtuousModifiedMs=V_MS))], {"resource": "gift"}),
         {"items": [{"kind": "duplicate-in-virtuous", "virtuousId": "950"}]}),
    case("row-without-id", "reported, not guessed", "planReconciliation", rec_input([{"name": "x"}], []),
         {"items": [{"kind": "malformed-row", "reason": "row-without-id", "row": 0}]}),
    # ---- absent means unknown (issue 9, item 2)
    case("abbreviated-row-never-blanks-partner-fields", "the issue's row {id, name, modifiedDateTimeUtc} against a stored contact with email and phone: absent is unknown, so nothing is drift (the old planner said take-virtuous with virtuousValue null: erase them)",
         "planReconciliation", rec_input([short_row], [stored(rec7_full, P7_FULL)]),
         {"items": [], "counts": {"rows": 1, "unchanged": 1}, "requestCost": 0}),
    case("abbreviated-row-asks-for-the-full-record", "the partner's email differs from the base and the row has no email: Virtuous's value is needed, so the plan asks for GET /api/Contact/{id} (priced) instead of guessing",
         "planReconciliation", rec_input([short_row], [stored(rec7_full, dict(P7_FULL, email="ann@new.example"))]),
         {"items": [{"kind": "fetch-full-record", "reason": "fields-not-in-row", "virtuousId": "7", "unknownFields": ["email"],
                     "request": {"method": "GET", "path": "/api/Contact/7"}, "fields": None, "record": None}], "requestCost": 1}),
    case("full-rows-leave-unknown-fields-alone", "rowShape full (rows from /api/Contact/Query/FullContact or GET): no fetch; a field still absent is listed, never blanked or pushed, the rest resolves",
         "planReconciliation", rec_input([row(7, V_T, name="Ann Smyth")], [stored(rec7_full, dict(P7_FULL, email="ann@new.example"))], {"rowShape": "full"}),
         {"items": [{"kind": "resolve-drift", "unknownFields": ["email"], "request": None,
                     "fields": [{"field": "name", "resolution": "take-virtuous", "reason": "remote-only", "virtuousValue": "Ann Smyth"}]}],
          "requestCost": 0}),
    case("present-null-is-a-change-to-blank", "only a field present with null is Virtuous's blank: it is applied like any other Virtuous change",
         "planReconciliation", rec_input([row(7, V_T, name="Ann Smith", phone=None)], [stored(rec7_full, P7_FULL)]),
         {"items": [{"kind": "resolve-drift", "fields": [{"field": "phone", "resolution": "take-virtuous", "reason": "remote-only",
                                                          "partnerValue": "555-0100"}],
                     "record": {"base": dict(BASE7_FULL, phone=digest(None))}}]}),
    # ---- one domain model (issue 9, item 6): versions and typed refusals
    case("stored-state-of-version-0-loads", "a stored sync state without version, spelled the pre-release way (syncState: in_sync), loads as the sync decisions load it",
         "planReconciliation", rec_input([crow], [stored({"customerId": "c1", "kind": "contact", "syncState": "in_sync", "virtuousId": "7",
                                                          "virtuousModifiedMs": V_MS, "base": BASE7}, {"name": "Ann Smith"})]),
         {"items": [], "counts": {"unchanged": 1}}),
    case("legacy-stored-record-refused", "a version-1 stored record (values beside the state) is refused, naming the key and what replaces it",
         "planReconciliation", rec_input([crow], [{"virtuousId": "7", "partnerValues": {"name": "Ann"}}]),
         error=("legacy-reconcile-input", "stored[0].partnerValues")),
    case("legacy-policy-vocabulary-refused", "reconciliation's own policy vocabulary is gone: config.defaultPolicy is refused, pointing at the sync options' policy",
         "planReconciliation", rec_input([], [], {"defaultPolicy": "newest-wins"}), error=("legacy-reconcile-input", "config.defaultPolicy")),
    case("legacy-stuck-window-refused", "stuck has one meaning: config.stuckAfterMs is refused, pointing at pendingExpiryMs",
         "planReconciliation", rec_input([], [], {"stuckAfterMs": 1000}), error=("legacy-reconcile-input", "config.stuckAfterMs")),
    case("newer-input-version-refused", "an input from a newer library is refused, not half-read",
         "planReconciliation", dict(rec_input([], []), version=3), error=("unsupported-reconcile-version", "version")),
    case("stored-state-of-another-tenant-refused", "the same tenant check as the sync decisions",
         "planReconciliation", rec_input([], [stored(dict(srec(), customerId="c2"))]), error=("tenant-mismatch", "stored[0].record")),
    case("stored-state-of-another-kind-refused", "a gift state in a contact reconciliation is a host bug",
         "planReconciliation", rec_input([], [stored(srec("gift"))]), error=("kind-mismatch", "stored[0].record")),
    case("compared-field-not-in-the-field-map-rejected", "config.fields names field-map fields, not row paths",
         "planReconciliation", rec_input([], [], {"fields": ["address.postal"]}), error=("invalid-reconcile-config", "config.fields[0]")),
    case("duplicate-stored-ids-rejected", "two stored records claiming one Virtuous id is a host bug",
         "planReconciliation", rec_input([], [stored(srec(virtuousId="1")), stored(srec(virtuousId="1"))]), error="duplicate-stored-record"),
    case("unmatched-window-shorter-than-pending-expiry-rejected", "the needs-update window must not end before a write counts as stuck (pendingExpiryMs)",
         "planReconciliation", rec_input([], [], {"unmatchedAfterMs": 5}), error=("invalid-reconcile-config", "config.unmatchedAfterMs")),
]
write("reconciliation.json", "planReconciliation: missed changes, stuck partner_pending, needs-update bucket, drift (sync RecordStates, sync options), absent-is-unknown rows, breaker", rec_cases)

# ------------------------------------------------------------------ matcher


def sha(obj):
    return hashlib.sha256(json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()).hexdigest()


def chunk(side, *records):
    return {"side": side, "records": list(records)}


m_cases = [
    case("reference-beats-email", "the external reference pair is the strongest signal; source compared case-insensitively, id exactly",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": "p1", "references": [{"source": "Partner", "id": "D-1"}], "emails": ["a@x.org"], "data": {"n": 1}}),
                     chunk("virtuous", {"id": "v1", "references": [{"source": " PARTNER ", "id": "D-1"}], "emails": ["b@x.org"], "data": {"n": 2}},
                           {"id": "v2", "emails": ["a@x.org"]})]},
         {"pairs": [{"partnerId": "p1", "virtuousId": "v1", "tier": "reference", "state": "in-sync",
                     "evidence": [{"signal": "reference", "value": "partner\u001fD-1"}],
                     "partnerDigest": sha({"n": 1}), "virtuousDigest": sha({"n": 2})}],
          "virtuousOnly": ["v2"], "partnerOnly": [], "review": []}),
    case("reference-id-case-matters", "ids are not case-folded (capitalisation changes caused duplicates elsewhere; an id is opaque)",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": "p1", "references": [{"source": "P", "id": "abc"}]}),
                     chunk("virtuous", {"id": "v1", "references": [{"source": "P", "id": "ABC"}]})]},
         {"pairs": [], "partnerOnly": ["p1"], "virtuousOnly": ["v1"]}),
    case("email-trim-lowercase", "exact email after trim and lowercase only",
         "initialMatcher",
         {"chunks": [chunk("virtuous", {"id": "v1", "emails": ["  Ann.Smith@Example.ORG "]}),
                     chunk("partner", {"id": "p1", "emails": ["ann.smith@example.org"]})]},
         {"pairs": [{"partnerId": "p1", "virtuousId": "v1", "tier": "email",
                     "evidence": [{"signal": "email", "value": "ann.smith@example.org"}], "partnerDigest": None}]}),
    case("no-provider-rules", "Gmail dots and plus tags are not folded: local parts are opaque",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": "p1", "emails": ["ann.smith+give@gmail.com"]}),
                     chunk("virtuous", {"id": "v1", "emails": ["annsmith@gmail.com"]})]},
         {"pairs": [], "partnerOnly": ["p1"], "virtuousOnly": ["v1"]}),
    case("household-shared-email-is-review", "two partner donors share the household's email: a review item, never an automatic link",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": "husband", "emails": ["family@x.org"]}, {"id": "wife", "emails": ["FAMILY@x.org"]}),
                     chunk("virtuous", {"id": "household-9", "emails": ["family@x.org", "kid@x.org"]})]},
         {"pairs": [], "partnerOnly": [], "virtuousOnly": [],
          "review": [{"tier": "email", "reason": "shared-value", "partnerIds": ["husband", "wife"], "virtuousIds": ["household-9"],
                      "evidence": [{"signal": "email", "value": "family@x.org"}]}],
          "counts": {"reviewPartner": 2, "reviewVirtuous": 1}}),
    case("held-records-skip-lower-tiers", "records in a review group are not linked by a weaker signal afterwards",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": "p1", "emails": ["f@x.org"], "names": ["Ann Smith"], "postalCodes": ["12345"]},
                           {"id": "p2", "emails": ["f@x.org"]}),
                     chunk("virtuous", {"id": "v1", "emails": ["f@x.org"], "names": ["Ann Smith"], "postalCodes": ["12345"]})]},
         {"pairs": [], "review": [{"tier": "email", "partnerIds": ["p1", "p2"], "virtuousIds": ["v1"]}]}),
    case("one-record-two-candidates-is-review", "a partner record whose two emails point at two different contacts is ambiguous",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": "p1", "emails": ["a@x.org", "b@x.org"]}),
                     chunk("virtuous", {"id": "v1", "emails": ["a@x.org"]}, {"id": "v2", "emails": ["b@x.org"]})]},
         {"pairs": [], "review": [{"tier": "email", "partnerIds": ["p1"], "virtuousIds": ["v1", "v2"],
                                   "evidence": [{"signal": "email", "value": "a@x.org"}, {"signal": "email", "value": "b@x.org"}]}]}),
    case("two-shared-emails-one-pair", "the same two records sharing two emails is one pair carrying both values",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": "p1", "emails": ["a@x.org", "b@x.org"]}),
                     chunk("virtuous", {"id": "v1", "emails": ["b@x.org", "A@x.org"]})]},
         {"pairs": [{"partnerId": "p1", "virtuousId": "v1", "evidence": [{"signal": "email", "value": "a@x.org"}, {"signal": "email", "value": "b@x.org"}]}]}),
    case("name-and-postal", "strong signal: normalised name with postal code (ZIP+4 cut to the ZIP)",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": "p1", "names": ["  ann   SMITH"], "postalCodes": ["12345-6789"]}),
                     chunk("virtuous", {"id": "v1", "names": ["Bob Smith", "Ann Smith"], "postalCodes": ["12345"]})]},
         {"pairs": [{"partnerId": "p1", "virtuousId": "v1", "tier": "strong-signal",
                     "evidence": [{"signal": "name-postal", "value": "ann smith|12345"}]}]}),
    case("name-and-phone", "strong signal: name with the phone's last ten digits",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": "p1", "names": ["Ann Smith"], "phones": ["+1 (555) 123-4567"]}),
                     chunk("virtuous", {"id": "v1", "names": ["ann smith"], "phones": ["555.123.4567"]})]},
         {"pairs": [{"tier": "strong-signal", "evidence": [{"signal": "name-phone", "value": "ann smith|5551234567"}]}]}),
    case("name-alone-is-not-enough", "a name without postal code or phone links nothing",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": "p1", "names": ["Ann Smith"]}), chunk("virtuous", {"id": "v1", "names": ["Ann Smith"]})]},
         {"pairs": [], "partnerOnly": ["p1"], "virtuousOnly": ["v1"]}),
    case("plan-lists-sorted-and-counted", "partner-only are submitted (partner_pending), Virtuous-only created on the partner side",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": "p3"}, {"id": "p1", "emails": ["m@x.org"]}), chunk("virtuous", {"id": "v2"}),
                     chunk("partner", {"id": "p2"}), chunk("virtuous", {"id": "v1", "emails": ["m@x.org"]})]},
         {"pairs": [{"partnerId": "p1", "virtuousId": "v1"}], "partnerOnly": ["p2", "p3"], "virtuousOnly": ["v2"],
          "counts": {"partnerRecords": 3, "virtuousRecords": 2, "pairsByTier": [0, 1, 0]}}),
    case("chunk-order-a", "same records as chunk-order-b, fed the other way round: same plan",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": "p1", "emails": ["s@x.org"]}, {"id": "p2", "emails": ["s@x.org"]}),
                     chunk("virtuous", {"id": "v1", "emails": ["s@x.org"]}, {"id": "v2", "emails": ["t@x.org"]}),
                     chunk("partner", {"id": "p3", "emails": ["T@x.org"]})]},
         {"pairs": [{"partnerId": "p3", "virtuousId": "v2"}], "review": [{"partnerIds": ["p1", "p2"], "virtuousIds": ["v1"]}]}),
    case("chunk-order-b", "same records as chunk-order-a, fed the other way round: same plan",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": "p3", "emails": ["T@x.org"]}),
                     chunk("virtuous", {"id": "v2", "emails": ["t@x.org"]}),
                     chunk("partner", {"id": "p2", "emails": ["s@x.org"]}),
                     chunk("virtuous", {"id": "v1", "emails": ["s@x.org"]}),
                     chunk("partner", {"id": "p1", "emails": ["s@x.org"]})]},
         {"pairs": [{"partnerId": "p3", "virtuousId": "v2"}], "review": [{"partnerIds": ["p1", "p2"], "virtuousIds": ["v1"]}]}),
    case("ids-returned-exactly-as-given", "issue 11: ids are opaque; surrounding whitespace is kept in pairs, only-lists and review items so the host finds its own records",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": " P1 ", "emails": ["a@x.org"]}, {"id": "P2 "}, {"id": "h1 ", "emails": ["f@x.org"]}, {"id": " h2", "emails": ["f@x.org"]}),
                     chunk("virtuous", {"id": "\tV1", "emails": ["a@x.org"]}, {"id": " V9"}, {"id": "H ", "emails": ["f@x.org"]})]},
         {"pairs": [{"partnerId": " P1 ", "virtuousId": "\tV1"}], "partnerOnly": ["P2 "], "virtuousOnly": [" V9"],
          "review": [{"partnerIds": [" h2", "h1 "], "virtuousIds": ["H "]}]}),
    case("integer-ids-accepted", "issue 11: Virtuous reports contact ids as numbers; an integer id is returned as its decimal text",
         "initialMatcher",
         {"chunks": [chunk("partner", {"id": 7, "emails": ["a@x.org"]}, {"id": 8}), chunk("virtuous", {"id": 101, "emails": ["a@x.org"]}, {"id": 102})]},
         {"pairs": [{"partnerId": "7", "virtuousId": "101", "tier": "email"}], "partnerOnly": ["8"], "virtuousOnly": ["102"]}),
    case("duplicate-id-rejected", "the same id twice on one side is a caller mistake",
         "initialMatcher", {"chunks": [chunk("partner", {"id": "p1"}), chunk("partner", {"id": " p1 "})]}, error="duplicate-id"),
    case("blank-id-rejected", "every record needs an id", "initialMatcher", {"chunks": [chunk("virtuous", {"id": "  "})]}, error="blank-id"),
]

# Issue 16: a seed keys the hash tables (the plan never depends on it); chunks may come as the records' JSON
# text (the compact form: `text`, fed as it is), read by the same rules.
SEED_A = "00112233445566778899aabbccddeeff" * 2
SEED_B = "f0e1d2c3b4a5968778695a4b3c2d1e0f" * 2
seeded_input = {"chunks": [chunk("partner", {"id": "p1", "emails": ["a@x.org"], "data": {"n": 1}}, {"id": "p2", "emails": ["f@x.org"]},
                                 {"id": "p3", "emails": ["f@x.org"]}, {"id": "p4", "names": ["Ann Smith"], "phones": ["555 123 4567"]}),
                           chunk("virtuous", {"id": "v1", "emails": ["A@x.org"]}, {"id": "v2", "emails": ["f@x.org"]},
                                 {"id": "v3", "names": ["ann  smith"], "phones": ["+1 555-123-4567"]}, {"id": "v4"})]}
seeded_expect = {"pairs": [{"partnerId": "p1", "virtuousId": "v1", "tier": "email", "partnerDigest": sha({"n": 1}), "virtuousDigest": None},
                           {"partnerId": "p4", "virtuousId": "v3", "tier": "strong-signal",
                            "evidence": [{"signal": "name-phone", "value": "ann smith|5551234567"}]}],
                 "partnerOnly": [], "virtuousOnly": ["v4"],
                 "review": [{"tier": "email", "partnerIds": ["p2", "p3"], "virtuousIds": ["v2"]}],
                 "counts": {"partnerRecords": 4, "virtuousRecords": 4, "pairsByTier": [0, 1, 1], "reviewPartner": 2, "reviewVirtuous": 1}}


def as_text(c):
    """The chunk in the compact form: its records as JSON text."""
    return {"side": c["side"], "text": json.dumps(c["records"], separators=(",", ":"), ensure_ascii=False)}


m_cases += [
    case("seed-a-same-plan", "issue 16: a seed keys the hash tables against crafted collisions; the plan is the same for every seed",
         "initialMatcher", {**seeded_input, "seed": SEED_A}, seeded_expect),
    case("seed-b-same-plan", "issue 16: the same records under another seed (upper-case hex): the same plan",
         "initialMatcher", {**seeded_input, "seed": SEED_B.upper()}, seeded_expect),
    case("seed-too-short-rejected", "issue 16: a seed is exactly 32 bytes (64 hex characters); a shorter one is a typed error, never a weak key",
         "initialMatcher", {**seeded_input, "seed": "00ff"}, error="invalid-seed"),
    case("compact-json-chunks-same-plan", "issue 16: chunks given as the records' JSON text (the compact form) give the same plan",
         "initialMatcher", {"chunks": [as_text(c) for c in seeded_input["chunks"]], "seed": SEED_A}, seeded_expect),
    case("compact-and-array-chunks-mixed", "issue 16: both forms feed one matcher; integer ids and escaped strings read the same",
         "initialMatcher",
         {"chunks": [{"side": "partner", "text": '[{"id":7,"emails":["caf\\u00e9@x.org"]},{"id":" 8 ","references":[{"source":"P","id":"\\"q\\""}]}]'},
                     chunk("virtuous", {"id": 101, "emails": ["CAF\u00c9@x.org"]}, {"id": "v8", "references": [{"source": "p", "id": "\"q\""}]})]},
         {"pairs": [{"partnerId": " 8 ", "virtuousId": "v8", "tier": "reference", "evidence": [{"signal": "reference", "value": "p\u001f\"q\""}]},
                    {"partnerId": "7", "virtuousId": "101", "tier": "email", "evidence": [{"signal": "email", "value": "caf\u00e9@x.org"}]}],
          "partnerOnly": [], "virtuousOnly": []}),
    case("compact-json-duplicate-id-across-forms", "issue 16: an id fed as an array chunk and again as JSON text is still duplicate-id",
         "initialMatcher", {"chunks": [chunk("partner", {"id": "p1"}), {"side": "partner", "text": '[{"id":" p1"}]'}]}, error="duplicate-id"),
    case("compact-json-unknown-key-refused", "issue 16: the compact form refuses unknown keys as the array form does (`email` for `emails` would match nothing), naming the field",
         "initialMatcher", {"chunks": [{"side": "partner", "text": '[{"id":"p1"},{"id":"p2","email":["a@x.org"]}]'}]},
         error=("invalid-chunk", "records[1].email")),
    case("compact-json-wrong-type-refused", "issue 16: a value of the wrong type in the compact form is invalid-chunk naming it",
         "initialMatcher", {"chunks": [{"side": "virtuous", "text": '[{"id":"v1","phones":"555 123 4567"}]'}]},
         error=("invalid-chunk", "records[0].phones")),
    case("compact-json-not-an-array-refused", "issue 16: JSON text that is not an array of records is invalid-chunk",
         "initialMatcher", {"chunks": [{"side": "partner", "text": '{"id":"p1"}'}]}, error="invalid-chunk"),
    case("compact-json-record-as-array-refused", "an array where a record belongs is refused, never read by position as id, references, ...",
         "initialMatcher", {"chunks": [{"side": "partner", "text": '[["p1", [], ["a@x.org"]]]'}]},
         error=("invalid-chunk", "records[0]")),
    case("compact-json-reference-as-array-refused", "an array where an external reference belongs is refused, never read as (source, id)",
         "initialMatcher", {"chunks": [{"side": "partner", "text": '[{"id":"p1","references":[["Acme Giving","d-1"]]}]'}]},
         error=("invalid-chunk", "records[0].references[0]")),
    case("compact-json-truncated-refused", "issue 16: truncated JSON text is invalid-chunk, and the failing chunk adds nothing",
         "initialMatcher", {"chunks": [{"side": "partner", "text": '[{"id":"p1"},{"id":"p2"'}]}, error="invalid-chunk"),
    case("compact-json-trailing-text-refused", "issue 16: text after the array is invalid-chunk, not ignored",
         "initialMatcher", {"chunks": [{"side": "partner", "text": '[{"id":"p1"}] []'}]}, error="invalid-chunk"),
    case("compact-json-duplicate-within-chunk", "issue 16: an id twice inside one compact chunk is duplicate-id, as in the array form",
         "initialMatcher", {"chunks": [{"side": "partner", "text": '[{"id":"p1","emails":["a@x.org"]},{"id":"p1"}]'}]}, error="duplicate-id"),
]
write("matcher.json", "InitialMatcher: tiers, evidence, one-to-one, households as review items, chunk-order independence", m_cases)

# ------------------------------------------------------------------ merge
merge_cases = [
    case("chain-resolves-to-survivor", "A into B into C: everything points at C, queued writes re-addressed",
         "planMergeRemap",
         {"contacts": [{"contactId": "A", "mergedIntoContactId": "B"}, {"contactId": "B", "mergedIntoContactId": "C"}, {"contactId": "C"}],
          "references": [{"kind": "gift", "holderId": "g1", "contactId": "A"},
                         {"kind": "queued-write", "holderId": "q1", "contactId": "B"},
                         {"kind": "note", "holderId": "n1", "contactId": "C"}]},
         {"survivors": {"A": "C", "B": "C"},
          "tombstones": [{"contactId": "A", "survivorId": "C", "hops": 2}, {"contactId": "B", "survivorId": "C", "hops": 1}],
          "remaps": [{"kind": "gift", "holderId": "g1", "fromContactId": "A", "toContactId": "C", "action": "remap", "reason": "merged-away"},
                     {"kind": "queued-write", "holderId": "q1", "fromContactId": "B", "toContactId": "C", "action": "readdress-queued-write"}],
          "unchanged": 1}),
    case("numeric-ids-as-text", "ids are compared as trimmed text and returned exactly as given (issue 11)", "planMergeRemap",
         {"contacts": [{"contactId": " 101 ", "mergedIntoContactId": "202"}],
          "references": [{"kind": "contact-link", "holderId": "p-5", "contactId": "101"}]},
         {"survivors": {" 101 ": "202"}, "tombstones": [{"contactId": " 101 ", "survivorId": "202", "hops": 1}],
          "remaps": [{"fromContactId": "101", "toContactId": "202", "action": "remap"}]}),
    case("integer-contact-ids", "issue 11: Virtuous reports contact ids as JSON numbers; they are accepted and returned as their decimal text", "planMergeRemap",
         {"contacts": [{"contactId": 101, "mergedIntoContactId": 202}, {"contactId": 202, "mergedIntoContactId": 303}],
          "references": [{"kind": "gift", "holderId": 9001, "contactId": 101}, {"kind": "note", "holderId": "n-1", "contactId": 303}]},
         {"survivors": {"101": "303", "202": "303"},
          "remaps": [{"kind": "gift", "holderId": "9001", "fromContactId": "101", "toContactId": "303", "action": "remap"}],
          "unchanged": 1}),
    case("fractional-contact-id-rejected", "an id is text or an integer", "planMergeRemap",
         {"contacts": [{"contactId": 1.5}]}, error="invalid-argument"),
    case("cycle-rejected", "A into B into A cannot be resolved", "planMergeRemap",
         {"contacts": [{"contactId": "B", "mergedIntoContactId": "A"}, {"contactId": "A", "mergedIntoContactId": "B"}]}, error="merge-cycle"),
    case("self-merge-rejected", "merged into itself is a cycle of one", "planMergeRemap",
         {"contacts": [{"contactId": "A", "mergedIntoContactId": "A"}]}, error="merge-cycle"),
    case("contradictory-merge-rejected", "one contact cannot be merged into two", "planMergeRemap",
         {"contacts": [{"contactId": "A", "mergedIntoContactId": "B"}, {"contactId": "A", "mergedIntoContactId": "C"}]}, error="conflicting-merge"),
    case("no-merges-nothing-to-do", "references to live contacts stay", "planMergeRemap",
         {"contacts": [{"contactId": "A"}], "references": [{"kind": "gift", "holderId": "g", "contactId": "A"}]},
         {"survivors": {}, "tombstones": [], "remaps": [], "unchanged": 1}),
]
write("merge.json", "planMergeRemap: chains with path compression, cycles and contradictions, tombstones, remaps incl. queued writes", merge_cases)

# ------------------------------------------------------------------ deletion
D0 = ms("2024-06-01T00:00:00")


def cand(signal, at, pending=None, edit=None):
    c = {"virtuousId": "5", "partnerId": "p5", "signal": signal, "observedAtMs": at}
    if pending is not None:
        c["pending"] = {"firstSeenMs": pending, "signal": "delete-event"}
    if edit is not None:
        c["lastEditMs"] = edit
    return c


del_cases = [
    case("absence-from-page-is-not-deletion", "records missing from one query page still exist", "planDeletions",
         {"candidates": [cand("absent-from-page", D0)], "totalRecords": 100},
         {"decisions": [{"action": "no-action", "reason": "absence-is-not-deletion"}], "halted": False}),
    case("first-signal-marks-pending", "phase one: a pending tombstone and an earliest confirmation time", "planDeletions",
         {"candidates": [cand("delete-event", D0)], "totalRecords": 100, "confirmAfterMs": H},
         {"decisions": [{"action": "mark-pending", "reason": "first-signal", "pending": {"firstSeenMs": D0, "signal": "delete-event"},
                         "confirmNotBeforeMs": D0 + H}]}),
    case("early-404-keeps-pending", "a confirming 404 inside the window does not delete yet", "planDeletions",
         {"candidates": [cand("not-found-on-lookup", D0 + 60000, pending=D0)], "totalRecords": 100, "confirmAfterMs": H},
         {"decisions": [{"action": "keep-pending", "reason": "awaiting-confirmation"}]}),
    case("later-404-confirms", "phase two: a direct lookup 404 after the window confirms", "planDeletions",
         {"candidates": [cand("not-found-on-lookup", D0 + H, pending=D0)], "totalRecords": 100, "confirmAfterMs": H},
         {"decisions": [{"action": "confirm-delete", "reason": "confirmed-by-lookup", "pending": None}]}),
    case("full-scan-absence-asks-lookup", "a later full-scan absence asks for the confirming lookup", "planDeletions",
         {"candidates": [cand("absent-from-full-scan", D0 + 2 * H, pending=D0)], "totalRecords": 100, "confirmAfterMs": H},
         {"decisions": [{"action": "look-up", "reason": "confirm-by-lookup"}]}),
    case("tombstone-never-overrides-newer-edit", "regression (submersion #1340): an edit after the first signal keeps the record", "planDeletions",
         {"candidates": [cand("not-found-on-lookup", D0 + 2 * H, pending=D0, edit=D0 + 10)], "totalRecords": 100, "confirmAfterMs": H},
         {"decisions": [{"action": "clear-tombstone", "reason": "newer-edit"}]}),
    case("found-on-lookup-clears", "the record answered 200: it lives", "planDeletions",
         {"candidates": [cand("found-on-lookup", D0 + 2 * H, pending=D0)], "totalRecords": 100},
         {"decisions": [{"action": "clear-tombstone", "reason": "found-on-lookup"}]}),
    case("mass-delete-breaker", "confirmations plus overwrites above the share halt the run; nothing is deleted", "planDeletions",
         {"candidates": [cand("not-found-on-lookup", D0 + 2 * H, pending=D0)] * 3, "totalRecords": 40, "overwrites": 8,
          "confirmAfterMs": H, "breaker": {"maxShare": 0.2, "minCount": 5}},
         {"halted": True, "breaker": {"tripped": True, "reason": "mass-change", "changes": 11, "totalRecords": 40, "allowed": 8},
          "decisions": [{"action": "held", "reason": "mass-change-breaker"}] * 3}),
    case("small-run-below-minimum", "a handful of changes never trips, even for a tiny customer", "planDeletions",
         {"candidates": [cand("not-found-on-lookup", D0 + 2 * H, pending=D0)] * 2, "totalRecords": 3, "confirmAfterMs": H},
         {"halted": False, "breaker": {"tripped": False, "reason": "below-minimum"}}),
    case("breaker-exactly-at-the-limit-holds", "issue 11: 29 changes against maxShare 0.29 of 100 records is exactly the limit, not above it (0.29 × 100 is 28.999… in binary floating point)", "planDeletions",
         {"candidates": [cand("not-found-on-lookup", D0 + 2 * H, pending=D0)] * 9, "totalRecords": 100, "overwrites": 20,
          "confirmAfterMs": H, "breaker": {"maxShare": 0.29, "minCount": 0}},
         {"halted": False, "breaker": {"tripped": False, "reason": "within-threshold", "changes": 29, "allowed": 29},
          "decisions": [{"action": "confirm-delete"}] * 9}),
    case("breaker-one-above-the-limit-trips", "one change more than maxShare × totalRecords trips", "planDeletions",
         {"candidates": [cand("not-found-on-lookup", D0 + 2 * H, pending=D0)] * 9, "totalRecords": 200, "overwrites": 50,
          "confirmAfterMs": H, "breaker": {"maxShare": 0.29, "minCount": 0}},
         {"halted": True, "breaker": {"tripped": True, "reason": "mass-change", "changes": 59, "allowed": 58}}),
    case("share-out-of-range-rejected", "maxShare is a fraction", "planDeletions",
         {"candidates": [], "totalRecords": 3, "breaker": {"maxShare": 1.5}}, error="invalid-deletion-config"),
]
write("deletion.json", "planDeletions: two-phase tombstones, age guard, mass-change breaker", del_cases)

# ------------------------------------------------------------------ subscription
TOGGLES = ["contactCreate", "contactUpdate", "giftCreate", "giftUpdate", "giftDelete", "projectCreate", "projectUpdate",
           "projectDelete", "formSubmission", "contactNoteCreate", "contactNoteUpdate", "contactNoteDelete", "eventCreate",
           "eventUpdate", "eventDelete"]
cur = {"id": 31, "payloadUrl": "https://hooks.partner.example/virtuous", "secret": "s3cr3t-value-0123456789",
       "active": True, "contactCreate": True, "giftCreate": True, "giftUpdate": True}
all_false_but = lambda on: {t: (t in on) for t in TOGGLES}
sub_cases = [
    case("add-keeps-other-selections", "a PUT replaces the record: every toggle is written back, the added one on, the others as they were",
         "mergeSubscription", {"current": cur, "change": {"add": ["gift-delete"]}},
         {"request": {"method": "PUT", "path": "/api/Webhook/31"},
          "body": dict(all_false_but({"contactCreate", "giftCreate", "giftUpdate", "giftDelete"}), id=31, active=True,
                       secret="s3cr3t-value-0123456789", payloadUrl="https://hooks.partner.example/virtuous"),
          "enabled": ["gift-delete"], "disabled": [], "changed": True, "notices": []}),
    case("remove-keeps-other-selections", "removing one selection does not disable the rest",
         "mergeSubscription", {"current": cur, "change": {"remove": ["gift-update"]}},
         {"body": all_false_but({"contactCreate", "giftCreate"}), "disabled": ["gift-update"]}),
    case("no-op-change", "adding what is on already changes nothing", "mergeSubscription",
         {"current": cur, "change": {"add": ["contact-create"]}}, {"changed": False, "enabled": []}),
    case("omitted-toggles-in-get-read-as-false", "the GET body lacks most toggles; they are written explicitly as false",
         "mergeSubscription", {"current": {"id": "7", "payloadUrl": "https://h.example/x", "secret": "abc", "active": True},
                               "change": {"add": ["contact-update"]}},
         {"body": all_false_but({"contactUpdate"}), "request": {"path": "/api/Webhook/7"}}),
    case("unknown-fields-preserved", "fields this version does not know are sent back untouched", "mergeSubscription",
         {"current": dict(cur, description="Partner sync", createdBy="staff@np.org"), "change": {}},
         {"body": {"description": "Partner sync", "createdBy": "staff@np.org"}, "changed": False}),
    case("no-secret-notice", "neither the GET body nor the change has a secret: the PUT may leave deliveries unsigned",
         "mergeSubscription", {"current": {"id": 1, "payloadUrl": "https://h.example/", "active": False}, "change": {}},
         {"notices": ["no-secret", "inactive"]}),
    case("http-url-rejected", "payloadUrl must be HTTPS", "mergeSubscription",
         {"current": cur, "change": {"payloadUrl": "http://hooks.partner.example/virtuous"}}, error="insecure-payload-url"),
    case("credentials-in-url-rejected", "no userinfo in the payload URL", "mergeSubscription",
         {"current": cur, "change": {"payloadUrl": "https://u:p@hooks.partner.example/"}}, error="invalid-payload-url"),
    case("add-and-remove-same-rejected", "a toggle cannot be both added and removed", "mergeSubscription",
         {"current": cur, "change": {"add": ["gift-create"], "remove": ["gift-create"]}}, error="conflicting-change"),
    case("current-without-id-rejected", "the GET body must carry the webhook id", "mergeSubscription",
         {"current": {"payloadUrl": "https://h.example/"}, "change": {}}, error="invalid-current-subscription"),
    case("pause-plan-order", "deactivate the subscription, stop the submitter, stop the poller, remember the time", "planPause",
         {"webhookId": "31", "nowMs": D0},
         {"pausedAtMs": D0, "steps": [
             {"order": 1, "action": "deactivate-webhook", "request": {"method": "PUT", "path": "/api/Webhook/31/Active?active=false"}},
             {"order": 2, "action": "stop-submitter", "request": None}, {"order": 3, "action": "stop-poller"},
             {"order": 4, "action": "record-pause-time", "atMs": D0}]}),
    case("resume-plan-reconciles-from-pause", "an inactive subscription drops events: reactivate, reconcile from the pause time, then poller and submitter",
         "planResume", {"webhookId": "31", "pausedAtMs": D0, "storedCursor": {"highWaterMs": D0 + 5000, "boundaryIds": ["9"]}},
         {"steps": [{"order": 1, "action": "activate-webhook", "request": {"path": "/api/Webhook/31/Active?active=true"}},
                    {"order": 2, "action": "reconcile-from-pause", "atMs": D0}, {"order": 3, "action": "start-poller"},
                    {"order": 4, "action": "start-submitter"}],
          "reconcileFrom": {"highWaterMs": D0, "boundaryIds": []}}),
    case("resume-keeps-older-cursor", "a stored cursor older than the pause is already earlier: keep it", "planResume",
         {"webhookId": "31", "pausedAtMs": D0, "storedCursor": {"highWaterMs": D0 - 5000, "boundaryIds": ["9"]}},
         {"reconcileFrom": {"highWaterMs": D0 - 5000, "boundaryIds": ["9"]}}),
    case("pause-blank-id-rejected", "a webhook id is needed", "planPause", {"webhookId": " ", "nowMs": 0}, error="invalid-argument"),
    case("rotation-not-started", "new secret first in the verifier, old kept; then GET-then-PUT the subscription", "planSecretRotation",
         {"webhookId": "31", "oldSecretId": "k1", "newSecretId": "k2", "nowMs": D0},
         {"phase": "not-started", "steps": [{"order": 1, "action": "add-new-secret-first"},
                                            {"order": 2, "action": "get-webhook", "request": {"method": "GET", "path": "/api/Webhook/31"}},
                                            {"order": 3, "action": "put-webhook-with-new-secret", "request": {"method": "PUT"}},
                                            {"order": 4, "action": "record-rotation-time"},
                                            {"order": 5, "action": "wait-for-old-secret-drain"},
                                            {"order": 6, "action": "remove-old-secret"}]}),
    case("rotation-draining", "a receipt still reported the old secret recently: keep it", "planSecretRotation",
         {"webhookId": "31", "oldSecretId": "k1", "newSecretId": "k2", "rotatedAtMs": D0, "lastOldReceiptMs": D0 + H,
          "drainMs": 24 * H, "nowMs": D0 + 20 * H},
         {"phase": "draining", "steps": [{"action": "wait-for-old-secret-drain", "atMs": D0 + 25 * H}, {"action": "remove-old-secret"}]}),
    case("rotation-ready", "no receipt on the old secret for the drain period: retire it", "planSecretRotation",
         {"webhookId": "31", "oldSecretId": "k1", "newSecretId": "k2", "rotatedAtMs": D0, "drainMs": 24 * H, "nowMs": D0 + 24 * H},
         {"phase": "ready-to-retire", "steps": [{"order": 1, "action": "remove-old-secret", "atMs": D0 + 24 * H}]}),
    case("rotation-same-secret-rejected", "old and new must differ", "planSecretRotation",
         {"webhookId": "31", "oldSecretId": "k1", "newSecretId": "k1", "nowMs": 0}, error="invalid-argument"),
]
write("subscription.json", "mergeSubscription (GET-then-PUT), payloadUrl, pause/resume and secret rotation plans", sub_cases)

# ------------------------------------------------------------------ rate budget
NOWS = 1_700_000_000
obs = lambda status, now, **h: {"tag": "observe", "val": {"status": status, "headers": h, "nowMs": now, "random": 0}}
spend = lambda n: {"tag": "spend", "val": n}
decide = lambda cost, prio, now, random=0: {"tag": "decide", "val": {"cost": cost, "priority": prio, "nowMs": now, "random": random}}
rate_cases = [
    case("go-within-budget", "plenty left: go", "rateBudget",
         {"steps": [obs(200, NOWS * 1000, limit="5000", remaining="4200", reset=str(NOWS + 1800)), decide(100, "background", NOWS * 1000)]},
         {"decisions": [{"go": True, "waitMs": 0, "reason": "within-budget", "available": 3700}],
          "budget": {"limit": 5000, "remaining": 4200, "resetAtMs": (NOWS + 1800) * 1000}}),
    case("headroom-reserved-for-live-work", "background work leaves liveHeadroom for webhook follow-ups; live work may use it", "rateBudget",
         {"steps": [obs(200, NOWS * 1000, remaining="600", reset=str(NOWS + 600)), decide(200, "background", NOWS * 1000),
                    decide(200, "live", NOWS * 1000)]},
         {"decisions": [{"go": False, "reason": "reserved-for-live", "waitMs": 600000, "available": 100},
                        {"go": True, "reason": "within-budget", "available": 600}]}),
    case("spend-counts-locally", "requests sent and not yet answered (inFlight) are subtracted from the remaining count", "rateBudget",
         {"steps": [obs(200, NOWS * 1000, remaining="520", reset=str(NOWS + 600)), {"tag": "spend", "val": 15},
                    decide(5, "background", NOWS * 1000), decide(6, "background", NOWS * 1000)]},
         {"decisions": [{"go": True, "available": 5}, {"go": False, "reason": "reserved-for-live"}], "budget": {"remaining": 520, "inFlight": 15}}),
    case("exhausted-waits-for-reset", "nothing left: wait until X-RateLimit-Reset, with jitter from host randomness (≤ 10 %, ≤ 5 s)", "rateBudget",
         {"steps": [obs(200, NOWS * 1000, remaining="0", reset=str(NOWS + 100)), decide(1, "live", NOWS * 1000, random=7)]},
         {"decisions": [{"go": False, "reason": "budget-exhausted", "waitMs": 100007}]}),
    case("fresh-window-after-reset", "past the reset time the full limit is available again", "rateBudget",
         {"steps": [obs(200, NOWS * 1000, remaining="0", reset=str(NOWS + 100)), decide(1, "background", (NOWS + 100) * 1000)]},
         {"decisions": [{"go": True, "reason": "window-reset", "available": 4500}]}),
    case("429-honours-retry-after", "a 429 blocks every priority for Retry-After seconds", "rateBudget",
         {"steps": [obs(429, NOWS * 1000, **{"retryAfter": "30"}), decide(1, "live", NOWS * 1000)]},
         {"decisions": [{"go": False, "reason": "retry-after", "waitMs": 30000}], "budget": {"failures": 1, "remaining": 0,
                                                                                                  "blockedUntilMs": NOWS * 1000 + 30000}}),
    case("after-retry-after-the-window-is-fresh", "a 429 without a rate-limit reset: once Retry-After has passed, go again (not a full hour's wait)", "rateBudget",
         {"steps": [obs(429, NOWS * 1000, **{"retryAfter": "30"}), decide(1, "background", NOWS * 1000 + 30000)]},
         {"decisions": [{"go": True, "reason": "window-reset"}], "budget": {"resetAtMs": NOWS * 1000 + 30000}}),
    case("5xx-backs-off-exponentially", "server errors back off: base 1 s, doubled per failure, equal jitter (random 0 = half the step)", "rateBudget",
         {"steps": [obs(503, NOWS * 1000), obs(502, NOWS * 1000), obs(None, NOWS * 1000), decide(1, "live", NOWS * 1000)]},
         {"budget": {"failures": 3, "blockedUntilMs": NOWS * 1000 + 2000}, "decisions": [{"go": False, "reason": "backoff", "waitMs": 2000}]}),
    case("success-resets-failures", "a 2xx after the block ends clears the failure count", "rateBudget",
         {"steps": [obs(500, NOWS * 1000), obs(200, NOWS * 1000 + 5000), decide(1, "live", NOWS * 1000 + 5000)]},
         {"budget": {"failures": 0, "blockedUntilMs": None}, "decisions": [{"go": True}]}),
    case("schedule-slices-a-plan", "a 1,014-request plan with 800 usable now: run 300 now (500 headroom), resume at the reset", "rateBudget",
         {"steps": [obs(200, NOWS * 1000, remaining="800", reset=str(NOWS + 1200)),
                    {"tag": "schedule", "val": {"remainingRequests": 1014, "nowMs": NOWS * 1000}}]},
         {"slices": [{"allowedNow": 300, "leftAfter": 714, "resumeAtMs": (NOWS + 1200) * 1000, "moreWindows": 1}]}),
    case("schedule-done-in-one-go", "small plans fit", "rateBudget",
         {"steps": [{"tag": "schedule", "val": {"remainingRequests": 40, "nowMs": 0}}]},
         {"slices": [{"allowedNow": 40, "leftAfter": 0, "resumeAtMs": None, "moreWindows": 0}]}),
    case("spend-held-while-remaining-unknown", "issue 11: before any response reported X-RateLimit-Remaining, requests spent still count: a second 3000-request batch does not fit in 5000", "rateBudget",
         {"steps": [decide(3000, "live", NOWS * 1000), spend(3000), decide(3000, "live", NOWS * 1000)]},
         {"decisions": [{"go": True, "available": 5000}, {"go": False, "reason": "budget-exhausted", "available": 2000}],
          "budget": {"inFlight": 3000, "remaining": None}}),
    case("spend-held-after-window-reset", "issue 11: past a known reset the window is fresh, but requests spent since still count", "rateBudget",
         {"steps": [obs(200, NOWS * 1000, remaining="10", reset=str(NOWS + 60)), decide(3000, "live", (NOWS + 61) * 1000), spend(3000),
                    decide(3000, "live", (NOWS + 61) * 1000)]},
         {"decisions": [{"go": True, "reason": "window-reset", "available": 5000}, {"go": False, "available": 2000}]}),
    case("responses-answer-spent-requests", "each observed response takes its request off inFlight; the lowest remaining reported stays", "rateBudget",
         {"steps": [obs(200, NOWS * 1000, remaining="1000", reset=str(NOWS + 600)), spend(3), obs(200, NOWS * 1000 + 10, remaining="999", reset=str(NOWS + 600)),
                    decide(998, "live", NOWS * 1000 + 20)]},
         {"decisions": [{"go": False, "available": 997}], "budget": {"remaining": 999, "inFlight": 2}}),
    case("late-higher-remaining-ignored", "issue 11: within one window remaining only falls; a late response of an earlier request reporting more does not raise the budget", "rateBudget",
         {"steps": [obs(200, NOWS * 1000, remaining="200", reset=str(NOWS + 600)), spend(2),
                    obs(200, NOWS * 1000 + 50, remaining="100", reset=str(NOWS + 600)),
                    obs(200, NOWS * 1000 + 60, remaining="150", reset=str(NOWS + 600)), decide(101, "live", NOWS * 1000 + 70)]},
         {"decisions": [{"go": False, "reason": "budget-exhausted", "available": 100}], "budget": {"remaining": 100, "inFlight": 0}}),
    case("next-window-report-replaces", "a response reporting a later reset starts the next window: its remaining replaces the old; a late one from the old window is ignored", "rateBudget",
         {"steps": [obs(200, NOWS * 1000, remaining="10", reset=str(NOWS + 600)),
                    obs(200, (NOWS + 601) * 1000, remaining="4990", reset=str(NOWS + 4200)),
                    obs(200, (NOWS + 602) * 1000, remaining="3", reset=str(NOWS + 600))]},
         {"budget": {"remaining": 4990, "resetAtMs": (NOWS + 4200) * 1000}}),
    case("429-blocks-for-retry-after-then-follows-headers", "issue 11: a 429 with Retry-After 30 whose headers say 100 remain blocks 30 s, not until the window reset", "rateBudget",
         {"steps": [obs(429, NOWS * 1000, remaining="100", reset=str(NOWS + 3600), retryAfter="30"),
                    decide(1, "live", NOWS * 1000 + 10000), decide(1, "live", NOWS * 1000 + 31000)]},
         {"decisions": [{"go": False, "reason": "retry-after", "waitMs": 20000}, {"go": True, "reason": "within-budget", "available": 100}]}),
    case("429-retry-after-http-date", "issue 11: Retry-After may be an HTTP-date (RFC 9110), read against the response's time", "rateBudget",
         {"steps": [obs(429, NOWS * 1000, retryAfter="Tue, 14 Nov 2023 22:14:00 GMT"), decide(1, "live", NOWS * 1000)]},
         {"decisions": [{"go": False, "reason": "retry-after", "waitMs": 40000}], "budget": {"blockedUntilMs": NOWS * 1000 + 40000}}),
    case("absurd-retry-after-clamped", "issue 11: a Retry-After beyond the limit's window (1 h) is clamped to it", "rateBudget",
         {"steps": [obs(429, NOWS * 1000, retryAfter="99999999999"), decide(1, "live", NOWS * 1000)]},
         {"decisions": [{"go": False, "reason": "retry-after", "waitMs": 3600000}], "budget": {"blockedUntilMs": NOWS * 1000 + 3600000}}),
    case("headroom-above-limit-rejected", "the headroom must leave something for plans", "rateBudget",
         {"config": {"limit": 1500, "liveHeadroom": 1500}}, error="invalid-rate-config"),
    case("price-initial-sync", "1M contacts read at take 1000, 10 lookups, 250 records in batches of 100, 11 requests done",
         "pricePlan", {"queryRows": 1000000, "take": 1000, "lookups": 10, "batchedWrites": 250, "batchSize": 100, "doneRequests": 11},
         {"total": 1014, "remaining": 1003, "queryPages": 1001, "writes": 3}),
    case("reloaded-budget-keeps-retry-after-and-failures",
         "A stateless host (an edge worker) stores the budget as JSON between requests and loads it back (RateBudget.fromJSON / "
         "rate-budget.from-json / RateBudget::restore): a Retry-After learned before the reload still blocks after it, and the "
         "failure count and spent budget survive; once the Retry-After has passed, capacity returns.",
         "rateBudget",
         {"steps": [obs(200, NOWS * 1000, remaining="4000"), obs(429, NOWS * 1000 + 1000, retryAfter="30"), {"tag": "reload"},
                    decide(1, "live", NOWS * 1000 + 11000), spend(1), {"tag": "reload"}, decide(1, "live", NOWS * 1000 + 31000)]},
         {"decisions": [{"go": False, "reason": "retry-after", "waitMs": 20000}, {"go": True, "reason": "window-reset"}],
          "budget": {"failures": 1, "blockedUntilMs": NOWS * 1000 + 31000, "remaining": 0, "inFlight": 1, "resetAtMs": NOWS * 1000 + 31000}}),
]
write("ratelimit.json", "RateBudget (go / wait how long, headroom, backoff, schedule) and pricePlan", rate_cases)

# ------------------------------------------------------------------ responses
resp_cases = [
    case("2xx-proceeds", "success", "classifyResponse", {"status": 200}, {"class": "success", "action": "proceed", "reason": "ok", "retryable": False}),
    case("network-error-is-transient", "no status: timeout, reset, DNS", "classifyResponse", {},
         {"class": "transient", "action": "retry-with-backoff", "reason": "network-error", "retryable": True}),
    case("429-waits-retry-after", "rate limited: wait Retry-After", "classifyResponse", {"status": 429, "retryAfter": "42"},
         {"class": "transient", "action": "wait-retry-after", "reason": "rate-limited", "retryAfterMs": 42000}),
    case("429-retry-after-http-date", "issue 11: Retry-After as an HTTP-date, read against nowMs", "classifyResponse",
         {"status": 429, "retryAfter": "Tue, 14 Nov 2023 22:14:00 GMT", "nowMs": 1700000000000},
         {"action": "wait-retry-after", "retryAfterMs": 40000}),
    case("429-retry-after-clamped", "issue 11: an absurd Retry-After is clamped to one hour", "classifyResponse",
         {"status": 429, "retryAfter": "99999999999"}, {"action": "wait-retry-after", "retryAfterMs": 3600000}),
    case("503-is-transient", "server errors retry with backoff", "classifyResponse", {"status": 503, "body": "<html>Service Unavailable</html>"},
         {"class": "transient", "action": "retry-with-backoff", "reason": "server-error", "message": "<html>Service Unavailable</html>"}),
    case("400-with-details", "permanent, with the documented error body's code and field details", "classifyResponse",
         {"status": 400, "context": "transaction-submit",
          "body": json.dumps({"error": {"code": "BAD_REQUEST", "message": "Designations must sum to the gift amount",
                                        "details": [{"field": "giftDesignations", "code": "SUM_MISMATCH", "message": "100 != 90"}]}})},
         {"class": "permanent", "action": "fail-record", "reason": "bad-request", "retryable": False, "errorCode": "BAD_REQUEST",
          "details": [{"field": "giftDesignations", "code": "SUM_MISMATCH", "message": "100 != 90"}]}),
    case("422-is-permanent", "unprocessable", "classifyResponse", {"status": 422, "body": "{\"message\":\"nope\"}"},
         {"class": "permanent", "action": "fail-record", "reason": "unprocessable", "message": "nope"}),
    case("403-alerts", "permissions are an operator problem", "classifyResponse", {"status": 403},
         {"class": "permanent", "action": "fail-and-alert", "reason": "forbidden"}),
    case("401-plain-text-body", "some 401 bodies are plain text, not JSON", "classifyResponse",
         {"status": 401, "body": "Authorization has been denied for this request."},
         {"class": "authentication", "action": "pause-and-reauthenticate", "reason": "unauthenticated",
          "message": "Authorization has been denied for this request.", "errorCode": None}),
    case("401-aspnet-json", "or a bare {Message}", "classifyResponse",
         {"status": 401, "body": "{\"Message\":\"Authorization has been denied for this request.\"}"},
         {"class": "authentication", "message": "Authorization has been denied for this request."}),
    case("404-right-after-create", "indexing delay: retry shortly", "classifyResponse",
         {"status": 404, "context": "read-after-create", "createdAtMs": D0, "nowMs": D0 + 5000},
         {"class": "context-dependent", "action": "retry-after-delay", "reason": "not-found-after-create", "retryable": True}),
    case("404-long-after-create", "beyond the delay it is a real not-found", "classifyResponse",
         {"status": 404, "context": "read-after-create", "createdAtMs": D0, "nowMs": D0 + 120000},
         {"action": "treat-as-not-found", "reason": "not-found"}),
    case("404-on-transaction-lookup", "the Transaction is held or unmatched: keep it pending", "classifyResponse",
         {"status": 404, "context": "transaction-lookup"}, {"action": "keep-pending", "reason": "not-yet-matched"}),
    case("404-on-delete", "already gone is done", "classifyResponse", {"status": 404, "context": "delete"},
         {"action": "proceed", "reason": "already-deleted"}),
    case("409-on-create", "exists already: look it up instead of creating again", "classifyResponse",
         {"status": 409, "context": "create"}, {"class": "context-dependent", "action": "look-up-existing", "reason": "already-exists"}),
    case("409-on-update", "re-read, merge, retry", "classifyResponse", {"status": 409, "context": "update"},
         {"action": "refetch-and-retry", "reason": "conflict", "retryable": True}),
    case("unexpected-status", "anything else is permanent", "classifyResponse", {"status": 418},
         {"class": "permanent", "action": "fail-record", "reason": "unexpected-status"}),
    case("invalid-status-rejected", "not an HTTP status", "classifyResponse", {"status": 42}, error="invalid-status"),
]
write("response.json", "classifyResponse: transient, permanent, authentication, context-dependent, each with the host's action", resp_cases)

# ------------------------------------------------------------------ time
time_cases = []
for name, text, expect_ms in [
    ("zulu", "2024-03-05T14:02:11Z", ms("2024-03-05T14:02:11")),
    ("no-zone-is-utc", "2024-03-05T14:02:11", ms("2024-03-05T14:02:11")),
    ("dotnet-seven-digit-fraction", "2024-03-05T14:02:11.4533333", ms("2024-03-05T14:02:11.453")),
    ("fraction-truncated-not-rounded", "2024-03-05T14:02:11.9999", ms("2024-03-05T14:02:11.999")),
    ("offset", "2024-03-05T16:02:11+02:00", ms("2024-03-05T14:02:11")),
    ("leap-day", "2024-02-29T23:59:59.5", ms("2024-02-29T23:59:59.500")),
]:
    time_cases.append(case(name, "modifiedDateTimeUtc shapes seen from Virtuous", "parseModifiedTime", {"text": text},
                           {"ms": expect_ms}))
time_cases.append(case("normalised-iso", "the normalised form", "parseModifiedTime", {"text": "2024-03-05T14:02:11.45"},
                       {"iso": "2024-03-05T14:02:11.450Z"}))
time_cases.append(case("date-only-rejected", "a date without time is not a modification time", "parseModifiedTime",
                       {"text": "2024-03-05"}, error="malformed-time"))
time_cases.append(case("impossible-date-rejected", "30 February", "parseModifiedTime", {"text": "2023-02-30T00:00:00"},
                       error="time-out-of-range"))
write("time.json", "parseModifiedTime: the ISO-8601 shapes of modifiedDateTimeUtc", time_cases)

print("written", sum(len(x) for x in [cursor_cases, rec_cases, m_cases, merge_cases, del_cases, sub_cases, rate_cases, resp_cases, time_cases]))
