#!/usr/bin/env python3
"""Writes tests/vectors/volunteer/*.json: the shared vectors for Volunteer (VOMO) polling, its
request budget and its deletions (issue 17).

Expectations are written by hand from the issue and the docs (docs/products/volunteer.md), not
produced by running the Rust code; times come from Python's datetime as an outside oracle.
Run: python3 scripts/gen-volunteer-vectors.py
"""
import json
import os
from datetime import datetime, timedelta, timezone

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "vectors", "volunteer")
GEN = "scripts/gen-volunteer-vectors.py"
BASE = "https://api.vomo.org/v1"


def ms(text):
    """`YYYY-MM-DDTHH:MM:SS` (UTC) to epoch ms."""
    d = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return int(d.timestamp()) * 1000


def vomo(text):
    """The docs' spelling of a VOMO time: `2025-11-19T10:15:00+00:00`."""
    return text + "+00:00"


def after(text, minus_ms=15 * 60 * 1000):
    """The `updated_after` the core writes for a cursor at `text`: overlap, floor, minus 1 s."""
    d = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    d = d - timedelta(milliseconds=minus_ms) - timedelta(seconds=1)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


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
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, fname), "w") as f:
        json.dump({"description": description, "generator": GEN, "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")


T0 = "2025-11-19T10:15:00"
T1 = "2025-11-19T10:16:00"
T2 = "2025-11-19T10:17:00"
CREATED = "2025-11-04T08:00:00"


def user(i, updated, created=CREATED, **extra):
    r = {"type": "user", "id": i, "first_name": f"F{i}", "last_name": f"L{i}", "email": f"u{i}@example.org"}
    if created is not None:
        r["created_at"] = vomo(created) if "T" in created and "+" not in created and "Z" not in created else created
    if updated is not None:
        r["updated_at"] = vomo(updated) if "T" in updated and "+" not in updated and "Z" not in updated else updated
    r.update(extra)
    return r


def link(n, resource="users", base=BASE):
    return f"{base}/{resource}?page={n}"


def page(rows, nxt, current, total, per_page=2, resource="users", last=None, meta=True, links=True):
    body = {"data": rows}
    if links:
        body["links"] = {"first": link(1, resource), "last": link(last or max(current, 1), resource),
                         "prev": None if current == 1 else link(current - 1, resource), "next": nxt}
    if meta:
        m = {"current_page": current, "from": (current - 1) * per_page + 1, "to": (current - 1) * per_page + len(rows),
             "path": f"{BASE}/{resource}", "per_page": per_page, "total": total}
        if last is not None:
            m["last_page"] = last
        body["meta"] = m
    return body


def script(runs, resource="users", cursor=None, config=None, mode=None):
    i = {"resource": resource, "runs": [{"pages": p} for p in runs]}
    if cursor is not None:
        i["cursor"] = cursor
    if config is not None:
        i["config"] = config
    if mode is not None:
        i["mode"] = mode
    return i


SCRIPT = "volunteerPollScript"


def polling_cases():
    c = []
    c.append(case(
        "first-run-reads-everything-and-follows-links",
        "No cursor: no updated_after; links.next is followed until JSON null; the cursor advances to the newest "
        "updated_at with the ids at exactly that time.",
        SCRIPT, script([[page([user(1, T0), user(2, T1)], link(2), 1, 3),
                         page([user(3, T1)], None, 2, 3)]]),
        {"runs": [{"urls": [f"{BASE}/users?page=1", f"{BASE}/users?page=2"], "changeIds": ["1", "2", "3"],
                   "pages": [{"done": False, "nextFrom": "link", "duplicates": 0}, {"done": True, "nextFrom": None}],
                   "end": {"advanced": True, "cursor": {"highWaterMs": ms(T1), "boundaryIds": ["2", "3"]},
                           "scan": None}}]}))
    c.append(case(
        "incremental-run-asks-a-closed-bound-with-overlap",
        "A run starts at highWater minus the 15-minute overlap, floored to the second, minus one second: a row at "
        "exactly the bound is returned whether the server compares with > or >=.",
        SCRIPT, script([[page([], None, 1, 0)]], cursor={"highWaterMs": ms(T0) + 453, "boundaryIds": ["7"]}),
        {"runs": [{"urls": [f"{BASE}/users?updated_after={after(T0)}&page=1"], "changeIds": [],
                   "end": {"advanced": False, "cursor": {"highWaterMs": ms(T0) + 453, "boundaryIds": ["7"]}}}]}))
    c.append(case(
        "boundary-id-dropped-same-second-row-kept",
        "At exactly the committed time, a boundary id is a duplicate; another row in that second is a change a "
        "strict > would lose; the boundary grows.",
        SCRIPT, script([[page([user(7, T0), user(8, T0)], None, 1, 2)]],
                       cursor={"highWaterMs": ms(T0), "boundaryIds": ["7"]}),
        {"runs": [{"changeIds": ["8"], "pages": [{"duplicates": 1}],
                   "end": {"advanced": True, "cursor": {"highWaterMs": ms(T0), "boundaryIds": ["7", "8"]}}}]}))
    burst = [user(i, T0, created=T0) for i in range(11, 16)]
    c.append(case(
        "same-second-burst-across-page-boundaries",
        "Five rows in one second over three pages: every one is handed on once; the next run re-reads them in its "
        "overlap and drops all five by the boundary ids.",
        SCRIPT, script([[page(burst[0:2], link(2), 1, 5), page(burst[2:4], link(3), 2, 5), page(burst[4:], None, 3, 5)],
                        [page(burst[0:2], link(2), 1, 5), page(burst[2:4], link(3), 2, 5), page(burst[4:], None, 3, 5)]]),
        {"runs": [{"changeIds": ["11", "12", "13", "14", "15"],
                   "end": {"cursor": {"highWaterMs": ms(T0), "boundaryIds": ["11", "12", "13", "14", "15"]}}},
                  {"urls": [f"{BASE}/users?updated_after={after(T0)}&page=1", f"{BASE}/users?updated_after={after(T0)}&page=2",
                            f"{BASE}/users?updated_after={after(T0)}&page=3"],
                   "changeIds": [], "pages": [{"duplicates": 2}, {"duplicates": 2}, {"duplicates": 1}],
                   "end": {"advanced": False}}]}))
    c.append(case(
        "row-updated-during-run-restarts-the-pass",
        "Row 1 is updated while the run reads (the server sorts by updated_at): it shows up again at the end and row "
        "3 slides past the page boundary unread. The re-read row restarts the run at page 1; the second pass finds "
        "row 3 and drops what it already handed on.",
        SCRIPT, script([[page([user(1, T0), user(2, T0)], link(2), 1, 4),
                         page([user(4, T0), user(1, T2)], None, 2, 4),
                         page([user(2, T0), user(3, T0)], link(2), 1, 4),
                         page([user(4, T0), user(1, T2)], None, 2, 4)]]),
        {"runs": [{"urls": [f"{BASE}/users?page=1", f"{BASE}/users?page=2", f"{BASE}/users?page=1",
                            f"{BASE}/users?page=2"],
                   "changeIds": ["1", "2", "4", "1", "3"],
                   "pages": [{"restart": None}, {"restart": "row-reread", "done": False},
                             {"restart": None, "duplicates": 1}, {"restart": None, "duplicates": 2, "done": True}],
                   "end": {"advanced": True, "cursor": {"highWaterMs": ms(T2), "boundaryIds": ["1"]}}}]}))
    c.append(case(
        "total-changed-restarts-the-pass",
        "meta.total moved between pages (a row entered or left the result set): the pages do not tile one set, so "
        "the run starts again at page 1.",
        SCRIPT, script([[page([user(1, T0), user(2, T0)], link(2), 1, 3), page([user(3, T0)], None, 2, 4)]]),
        {"runs": [{"urls": [f"{BASE}/users?page=1", f"{BASE}/users?page=2", f"{BASE}/users?page=1"],
                   "pages": [{}, {"restart": "total-changed", "done": False}], "end": None}]}))
    c.append(case(
        "rows-missing-restarts-the-pass",
        "The pass read 3 rows where meta.total said 4 (a row deleted under the run shifted another past a page "
        "boundary): the run starts again.",
        SCRIPT, script([[page([user(1, T0), user(2, T0)], link(2), 1, 4), page([user(3, T0)], None, 2, 4)]]),
        {"runs": [{"pages": [{}, {"restart": "rows-missing", "done": False}], "end": None}]}))
    c.append(case(
        "restarts-exhausted-the-cursor-stays",
        "With maxRestarts 0 a run whose pages did not tile carries on, hands its rows on, and commits nothing: the "
        "next run reads the same window again.",
        SCRIPT, script([[page([user(1, T0), user(2, T0)], link(2), 1, 4), page([user(4, T0), user(1, T2)], None, 2, 4)]],
                       cursor={"highWaterMs": ms(T0) - 60000, "boundaryIds": []}, config={"maxRestarts": 0}),
        {"runs": [{"changeIds": ["1", "2", "4", "1"], "pages": [{}, {"restart": None, "done": True}],
                   "end": {"advanced": False, "cursor": {"highWaterMs": ms(T0) - 60000, "boundaryIds": []}}}]}))
    c.append(case(
        "string-null-next-ends-the-run",
        "The OpenAPI example spells the last page's next as the string \"null\"; with meta agreeing that no rows "
        "follow, it ends the run like JSON null.",
        SCRIPT, script([[page([user(1, T0), user(2, T0)], "null", 1, 2)]]),
        {"runs": [{"pages": [{"done": True, "nextFrom": None}], "end": {"advanced": True}}]}))
    c.append(case(
        "string-null-next-with-more-rows-goes-on",
        "A string \"null\" while meta says page 1 of 2: it is the spec's spelling, not an end; the next page number "
        "comes from meta.",
        SCRIPT, script([[page([user(1, T0), user(2, T0)], "null", 1, 3, last=2), page([user(3, T0)], None, 2, 3, last=2)]]),
        {"runs": [{"urls": [f"{BASE}/users?page=1", f"{BASE}/users?page=2"],
                   "pages": [{"nextFrom": "meta", "done": False}, {"done": True}], "changeIds": ["1", "2", "3"]}]}))
    c.append(case(
        "string-null-refused-when-not-tolerated",
        "tolerateStringNull false: \"null\" is read as a link, and it is not under the base URL.",
        SCRIPT, script([[page([user(1, T0)], "null", 1, 1)]], config={"tolerateStringNull": False}),
        error=("foreign-next-link", "body.links.next")))
    bad = page([user(1, T0)], None, 1, 1, links=False)
    c.append(case(
        "missing-links-is-an-error-not-an-end",
        "A page without links cannot say whether more follow; ending there would skip the rest for good.",
        SCRIPT, script([[bad]]), error=("missing-links", "body.links")))
    nonext = page([user(1, T0)], None, 1, 1)
    del nonext["links"]["next"]
    c.append(case(
        "missing-next-key-is-an-error",
        "links without a next key is not an end either.",
        SCRIPT, script([[nonext]]), error=("missing-links", "body.links.next")))
    c.append(case(
        "foreign-next-link-is-not-followed",
        "A next link to another host would receive the bearer token: refused.",
        SCRIPT, script([[page([user(1, T0)], "https://evil.example/v1/users?page=2", 1, 3)]]),
        error=("foreign-next-link", "body.links.next")))
    c.append(case(
        "next-link-that-does-not-advance-is-a-loop",
        "A next link back to the current page would loop forever.",
        SCRIPT, script([[page([user(1, T0), user(2, T0)], link(1), 1, 3)]]),
        error=("pagination-loop", "body.links.next")))
    c.append(case(
        "current-page-other-than-asked-is-a-loop",
        "A server that ignores ?page answers page 1 again: meta.current_page shows it.",
        SCRIPT, script([[page([user(1, T0), user(2, T0)], link(2), 1, 3), page([user(1, T0), user(2, T0)], link(2), 1, 3)]]),
        error=("pagination-loop", "body.meta.current_page")))
    c.append(case(
        "next-link-without-the-filter-is-rebuilt",
        "A paginator that drops the query string links to ?page=2 alone; the core keeps its own updated_after, so "
        "an incremental run never turns into a full export.",
        SCRIPT, script([[page([user(1, T1), user(2, T1)], link(2), 1, 3), page([user(3, T1)], None, 2, 3)]],
                       cursor={"highWaterMs": ms(T0), "boundaryIds": []}),
        {"runs": [{"urls": [f"{BASE}/users?updated_after={after(T0)}&page=1", f"{BASE}/users?updated_after={after(T0)}&page=2"]}]}))
    sp = page([user(1, T0)], None, 1, 1)
    sp["meta"] = {"current_page": "1", "per_page": "15", "total": "1", "from": "1", "to": "1"}
    c.append(case(
        "meta-counts-as-strings-are-read",
        "The OpenAPI examples spell meta counts as strings (\"1\", \"15\"): read as the numbers they are.",
        SCRIPT, script([[sp]]), {"runs": [{"changeIds": ["1"], "pages": [{"done": True}]}]}))
    neg = page([user(1, T0)], None, 1, 1)
    neg["meta"]["total"] = -3
    c.append(case(
        "meta-count-out-of-bounds-is-refused",
        "A negative (or absurd) count is no size hint to trust.",
        SCRIPT, script([[neg]]), error=("invalid-page", "body.meta.total")))
    rows = [user(1, T0, created=T0), user(2, T0, created="2025-11-19T10:14:59"), user(3, T0),
            user(4, T0, created=None)]
    c.append(case(
        "new-or-modified-from-created-at",
        "created_at within 2 s of updated_at is a new record; a day earlier, or no created_at at all, is a change to "
        "an existing one (an update looks the record up first).",
        SCRIPT, script([[page(rows, None, 1, 4, per_page=15)]]),
        {"runs": [{"pages": [{"changes": [
            {"id": "1", "action": "create", "kind": "contact", "product": "volunteer", "updatedMs": ms(T0),
             "createdMs": ms(T0), "updatedAt": vomo(T0)},
            {"id": "2", "action": "create"},
            {"id": "3", "action": "update", "createdMs": ms(CREATED)},
            {"id": "4", "action": "update", "createdMs": None}]}]}]}))
    c.append(case(
        "created-tolerance-is-configurable",
        "createdToleranceMs 0: one second apart is a modification.",
        SCRIPT, script([[page([user(2, T0, created="2025-11-19T10:14:59")], None, 1, 1)]],
                       config={"createdToleranceMs": 0}),
        {"runs": [{"pages": [{"changes": [{"id": "2", "action": "update"}]}]}]}))
    rows = [user(1, "2025-11-19T10:15:00.000000Z"), user(2, "2025-11-19"), user(3, "yesterday"),
            {"type": "user", "first_name": "no id", "updated_at": vomo(T0)}, user(5, None)]
    c.append(case(
        "timestamps-in-the-documented-forms-else-typed-issues",
        "RFC 3339 with an offset (the docs) or Laravel's microsecond Z form are read; a date alone, free text or a "
        "missing updated_at is a typed row issue: the row is handed on but cannot move the cursor; a row without an "
        "id is reported, not guessed.",
        SCRIPT, script([[page(rows, None, 1, 5, per_page=15)]]),
        {"runs": [{"changeIds": ["1", "2", "3", "5"],
                   "pages": [{"malformed": [3], "undated": [1, 2, 4],
                              "issues": [{"position": 1, "field": "data[1].updated_at", "code": "malformed-time"},
                                         {"position": 2, "field": "data[2].updated_at", "code": "malformed-time"},
                                         {"position": 3, "field": "data[3].id", "code": "missing-id"},
                                         {"position": 4, "field": "data[4].updated_at", "code": "missing-time"}]}],
                   "end": {"cursor": {"highWaterMs": ms(T0), "boundaryIds": ["1"]}}}]}))
    part = lambda i, u, p, t: {"id": i, "user_id": u, "project_id": p, "status": "APPROVED", "hours": 3,
                               "created_at": vomo(CREATED), "updated_at": vomo(t)}
    c.append(case(
        "participations-have-their-own-cursor-and-kind",
        "A participation changed while its user's updated_at did not move: only the participations cursor sees it. "
        "Its change is a participation of product volunteer, with the user and project ids the host serialises on.",
        SCRIPT, script([[page([part(501, 8205, 77, T1)], None, 1, 1, resource="participations")]],
                       resource="participations", cursor={"highWaterMs": ms(T0), "boundaryIds": []}),
        {"runs": [{"urls": [f"{BASE}/participations?updated_after={after(T0)}&page=1"],
                   "pages": [{"changes": [{"id": "501", "kind": "participation", "product": "volunteer",
                                           "action": "update", "userId": "8205", "projectId": "77"}]}],
                   "end": {"cursor": {"highWaterMs": ms(T1), "boundaryIds": ["501"]}}}]}))
    c.append(case(
        "projects-are-project-records",
        "GET /v1/projects rows are project records of the one sync model.",
        SCRIPT, script([[page([{"id": 77, "name": "Food bank", "created_at": vomo(T0), "updated_at": vomo(T0)}], None, 1, 1,
                               resource="projects")]], resource="projects"),
        {"runs": [{"urls": [f"{BASE}/projects?page=1"],
                   "pages": [{"changes": [{"id": "77", "kind": "project", "action": "create", "userId": None}]}]}]}))
    c.append(case(
        "date-format-for-a-date-only-server",
        "updatedAfterFormat date: the day holding one second before the bound (a bound just after midnight asks "
        "from the previous day).",
        SCRIPT, script([[page([], None, 1, 0)]], cursor={"highWaterMs": ms("2025-11-19T00:10:00"), "boundaryIds": []},
                       config={"updatedAfterFormat": "date"}),
        {"runs": [{"urls": [f"{BASE}/users?updated_after=2025-11-18&page=1"]}]}))
    c.append(case(
        "full-scan-reads-everything-and-summarises",
        "mode full ignores the cursor's bound (the daily reconciliation) and ends with the scan summary deletion "
        "planning needs.",
        SCRIPT, script([[page([user(1, T0), user(2, T0)], link(2), 1, 3), page([user(3, T0)], None, 2, 3)]],
                       cursor={"highWaterMs": ms(T2), "boundaryIds": []}, mode="full"),
        {"runs": [{"urls": [f"{BASE}/users?page=1", f"{BASE}/users?page=2"],
                   "end": {"scan": {"resource": "users", "complete": True, "rows": 3, "total": 3},
                           "cursor": {"highWaterMs": ms(T2)}}}]}))
    c.append(case(
        "local-base-url-over-http",
        "The local Virtuous (simulator) runs over http on the loopback: allowed there only.",
        SCRIPT, script([[page([], None, 1, 0)]], config={"baseUrl": "http://127.0.0.1:8787/v1/"}),
        {"runs": [{"urls": ["http://127.0.0.1:8787/v1/users?page=1"]}]}))
    c.append(case(
        "plain-http-base-url-refused",
        "A bearer token never goes over plain http to a remote host.",
        "startVolunteerPoll", {"resource": "users", "config": {"baseUrl": "http://api.vomo.org/v1"}},
        error=("invalid-poll-config", "config.baseUrl")))
    c.append(case(
        "overlap-under-a-second-refused",
        "An overlap under one second cannot cover a same-second change.",
        "startVolunteerPoll", {"resource": "users", "config": {"overlapMs": 10}},
        error=("invalid-poll-config", "config.overlapMs")))
    c.append(case(
        "unknown-resource-refused",
        "Only users, projects and participations are polled.",
        "startVolunteerPoll", {"resource": "donors"}, error=("invalid-argument", "resource")))
    c.append(case(
        "too-many-pages-stops-the-run",
        "maxPages bounds a run against a server that never ends.",
        SCRIPT, script([[page([user(1, T0), user(2, T0)], link(2), 1, 3)]], config={"maxPages": 1}),
        error="too-many-pages"))
    c.append(case(
        "data-not-an-array-refused",
        "The envelope's data must be a list.",
        SCRIPT, script([[{"data": {"id": 1}, "links": {"next": None}}]]), error=("invalid-page", "body.data")))
    c.append(case(
        "start-keeps-the-hosts-start-time",
        "The host's clock at the run's start travels with the run state, for finish to cap the cursor.",
        "startVolunteerPoll", {"resource": "users", "startedMs": ms(T0)},
        {"run": {"startedMs": ms(T0)}}))
    done = {"resource": "users", "config": {}, "start": {"highWaterMs": ms(T0) - 3_600_000}, "page": 3,
            "done": True, "maxSeenMs": ms(T0) + 600_000, "idsAtMax": ["7"], "startedMs": ms(T0)}
    c.append(case(
        "cursor-never-passes-the-runs-start",
        "Page-number paging can shift under a run: a row updated during it can be missed while rows after "
        "it are read. Rows seen past the run's start do not move the cursor past it (no boundary ids), so "
        "the next run reads every change made during this one, however long the run took.",
        "finishVolunteerPoll", done,
        {"cursor": {"highWaterMs": ms(T0), "boundaryIds": []}, "advanced": True}))
    c.append(case(
        "cursor-before-the-runs-start-is-the-newest-row",
        "Every row seen predates the run's start: the cursor is the newest row and its ids, as without a start.",
        "finishVolunteerPoll", dict(done, startedMs=ms(T0) + 3_600_000),
        {"cursor": {"highWaterMs": ms(T0) + 600_000, "boundaryIds": ["7"]}, "advanced": True}))
    run = {"resource": "users", "config": {}, "start": {}, "page": 2}
    c.append(case(
        "finish-before-the-last-page-refused",
        "The cursor advances only after a complete run.",
        "finishVolunteerPoll", run, error="run-incomplete"))
    c.append(case(
        "page-after-the-last-refused",
        "A finished run takes no more pages.",
        "acceptVolunteerPage", {"run": dict(run, done=True), "body": page([], None, 2, 0)}, error="run-finished"))
    return c


def obs(status, now, retry_after=None, random=0):
    o = {"status": status, "nowMs": now, "random": random, "headers": {}}
    if retry_after is not None:
        o["headers"]["retryAfter"] = retry_after
    return o


def budget_cases():
    c = []
    c.append(case(
        "paces-at-the-conservative-default",
        "Limits are undocumented: 30 requests a minute to start, one every 2 s.",
        "volunteerBudget", {"steps": [{"tag": "decide", "val": {"nowMs": 0}}, {"tag": "spend", "val": {"nowMs": 0}},
                                      {"tag": "decide", "val": {"nowMs": 500}}, {"tag": "decide", "val": {"nowMs": 2000}}]},
        {"decisions": [{"go": True, "reason": "within-budget", "requestsPerMinute": 30},
                       {"go": False, "reason": "pacing", "waitMs": 1500}, {"go": True}],
         "state": {"requestsPerMinute": 30, "nextAtMs": 2000}}))
    c.append(case(
        "429-with-retry-after-waits-and-learns",
        "A 429 with Retry-After 7: wait 7 s, and halve the pace.",
        "volunteerBudget", {"steps": [{"tag": "spend", "val": {"nowMs": 0}}, {"tag": "observe", "val": obs(429, 1000, "7")},
                                      {"tag": "decide", "val": {"nowMs": 1000}}]},
        {"decisions": [{"go": False, "reason": "retry-after", "waitMs": 7000, "requestsPerMinute": 15}],
         "state": {"throttled": 1, "requestsPerMinute": 15}}))
    c.append(case(
        "429-without-retry-after-backs-off-exponentially",
        "No Retry-After: exponential backoff with equal jitter (base 1 s: 0.5 s, then 1 s at random 0); the pace is "
        "lowered once however many 429s arrive within a minute.",
        "volunteerBudget", {"steps": [{"tag": "observe", "val": obs(429, 1000)}, {"tag": "decide", "val": {"nowMs": 1000}},
                                      {"tag": "observe", "val": obs(429, 1600)}, {"tag": "decide", "val": {"nowMs": 1600}}]},
        {"decisions": [{"go": False, "waitMs": 500, "requestsPerMinute": 15},
                       {"go": False, "waitMs": 1000, "requestsPerMinute": 15}],
         "state": {"throttled": 2, "requestsPerMinute": 15}}))
    c.append(case(
        "learned-pace-recovers-slowly-and-has-a-floor",
        "Each 429 a minute apart halves the pace down to the floor; recoverAfter successes in a row raise it by one.",
        "volunteerBudget", {"config": {"requestsPerMinute": 8, "minRequestsPerMinute": 3, "recoverAfter": 2},
                            "steps": [{"tag": "observe", "val": obs(429, 0)}, {"tag": "observe", "val": obs(429, 60000)},
                                      {"tag": "observe", "val": obs(200, 61000)}, {"tag": "observe", "val": obs(200, 62000)}]},
        {"decisions": [], "state": {"requestsPerMinute": 4, "throttled": 2}}))
    c.append(case(
        "stored-state-carries-on",
        "The host stores the state per organisation and passes it back: what was learned is kept.",
        "volunteerBudget", {"state": {"config": {"requestsPerMinute": 30, "minRequestsPerMinute": 1, "recoverAfter": 100,
                                                 "baseBackoffMs": 1000, "maxBackoffMs": 300000},
                                      "requestsPerMinute": 6, "nextAtMs": 5000, "successes": 0, "throttled": 1,
                                      "limits": {"config": {"limit": 30, "liveHeadroom": 0, "baseBackoffMs": 1000,
                                                            "maxBackoffMs": 300000, "windowMs": 300000},
                                                 "limit": 30, "failures": 0}},
                            "steps": [{"tag": "decide", "val": {"nowMs": 4000}}]},
        {"decisions": [{"go": False, "reason": "pacing", "waitMs": 1000, "requestsPerMinute": 6}]}))
    c.append(case(
        "budget-config-out-of-range-refused",
        "A pace of zero would never send.",
        "volunteerBudget", {"config": {"requestsPerMinute": 0}}, error="invalid-rate-config"))
    return c


def deletion_cases():
    c = []
    scan = {"resource": "users", "complete": True, "rows": 99, "total": 99}
    now = ms(T2)
    c.append(case(
        "seen-once-is-a-tombstone-not-a-delete",
        "A user missing from one complete full scan gets a pending tombstone; nothing is deleted.",
        "planVolunteerDeletions", {"resource": "users", "scan": scan, "totalRecords": 100,
                                   "candidates": [{"virtuousId": "42", "partnerId": "p-42", "signal": "absent-from-full-scan",
                                                   "observedAtMs": now}]},
        {"plan": {"decisions": [{"virtuousId": "42", "action": "mark-pending", "reason": "first-signal",
                                 "pending": {"firstSeenMs": now, "signal": "absent-from-full-scan"}}],
                  "halted": False},
         "lookups": []}))
    c.append(case(
        "missing-again-asks-for-the-confirming-lookup",
        "Missing again an hour later: look it up directly (a 404 then confirms).",
        "planVolunteerDeletions", {"resource": "users", "scan": scan, "totalRecords": 100,
                                   "candidates": [{"virtuousId": "42 a", "signal": "absent-from-full-scan",
                                                   "observedAtMs": now + 3600000,
                                                   "pending": {"firstSeenMs": now, "signal": "absent-from-full-scan"}}]},
        {"plan": {"decisions": [{"action": "look-up", "reason": "confirm-by-lookup"}]},
         "lookups": [{"virtuousId": "42 a", "method": "GET", "url": f"{BASE}/users/42%20a"}]}))
    cands = [{"virtuousId": str(i), "signal": "absent-from-full-scan", "observedAtMs": now} for i in range(30)]
    c.append(case(
        "mass-disappearance-trips-the-breaker",
        "30 of 100 users vanish from one scan (a token for another organisation, a filter): the breaker trips before "
        "a single tombstone is laid.",
        "planVolunteerDeletions", {"resource": "users", "scan": dict(scan, rows=70, total=70), "totalRecords": 100,
                                   "candidates": cands},
        {"plan": {"halted": True, "breaker": {"tripped": True, "reason": "mass-change"},
                  "decisions": [{"action": "held", "reason": "mass-change-breaker", "pending": None}] * 30},
         "lookups": []}))
    confirmed = [{"virtuousId": str(i), "signal": "not-found-on-lookup", "observedAtMs": now + 7200000,
                  "pending": {"firstSeenMs": now, "signal": "absent-from-full-scan"}} for i in range(12)]
    c.append(case(
        "mass-confirmed-deletes-held",
        "12 confirmed 404s out of 100 is above 5 % and 10 records: held, nothing deleted.",
        "planVolunteerDeletions", {"resource": "users", "totalRecords": 100, "candidates": confirmed},
        {"plan": {"halted": True, "decisions": [{"action": "held"}] * 12}}))
    c.append(case(
        "absence-from-an-incomplete-scan-refused",
        "A scan whose pages did not tile one set proves no absence.",
        "planVolunteerDeletions", {"resource": "users", "scan": dict(scan, complete=False), "totalRecords": 100,
                                   "candidates": [{"virtuousId": "1", "signal": "absent-from-full-scan", "observedAtMs": now}]},
        error=("scan-incomplete", "scan")))
    c.append(case(
        "absence-without-a-scan-refused",
        "An absence needs the full scan it came from.",
        "planVolunteerDeletions", {"resource": "projects", "totalRecords": 5,
                                   "candidates": [{"virtuousId": "1", "signal": "absent-from-full-scan", "observedAtMs": now}]},
        error=("scan-incomplete", "scan")))
    c.append(case(
        "scan-of-another-resource-refused",
        "A users scan says nothing about participations.",
        "planVolunteerDeletions", {"resource": "participations", "scan": scan, "totalRecords": 5,
                                   "candidates": [{"virtuousId": "1", "signal": "absent-from-full-scan", "observedAtMs": now}]},
        error=("scan-incomplete", "scan")))
    return c


if __name__ == "__main__":
    write("polling.json", "Volunteer (VOMO) polling: the updated_after cursor, links.next paging and its quirks, new vs "
          "modified, timestamps, and the run's tiling checks (volunteerPollScript drives startVolunteerPoll, "
          "acceptVolunteerPage and finishVolunteerPoll as a host loop does).", polling_cases())
    write("budget.json", "The Volunteer request budget: a conservative pace, Retry-After, backoff, and a pace learned "
          "from 429s.", budget_cases())
    write("deletions.json", "Volunteer deletions: only from a complete full scan, two-phase tombstones, the breaker.",
          deletion_cases())
