"""The WASI host's demo and CI check (scripts/test stage "WASI host"): the component in wasmtime with sqlite3 state
(host.py), the local Virtuous and the partner app (world.mjs, Node) on 127.0.0.1, through the demo's sync:

  1. a partner donation becomes one Gift Transaction; an edit before the nightly batch is coalesced into it; the
     batch's GiftCreate confirms it and the held edit goes out as the follow-up write
  2. a staff edit in Virtuous reaches the partner and is not echoed back
  3. a duplicate delivery is applied once
  4. a 429 storm: every write lands exactly once, after the budget allows it
then the demo's convergence check: both stores agree on every mapped field of every linked record, one Virtuous gift
per donation, nothing left in the inbox or outbox, no dead letters.

Run: .venv/bin/python examples/wasi-host/demo.py   (after scripts/build-component; Node runs the other parties)
Exit 0 only when every check held.
"""

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from host import ROOT, HttpJson, WasiHost  # noqa: E402

CUSTOMER = "wasi-demo"


def until(fn, what, timeout=30.0):
    end = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.025)


def money(v):
    return None if v is None else f"{float(v):.2f}"


def main():
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="wasi-host-")
    secret = secrets.token_urlsafe(32)
    host = WasiHost(db_path=os.path.join(tmp, "state.db"), customer_id=CUSTOMER, platform_name="Acme Giving",
                    secrets=[{"id": "initial", "secret": secret}], virtuous_url="http://127.0.0.1:9", virtuous_token=None,
                    partner_url="http://127.0.0.1:9", sync={"cooldownMs": 2000, "policy": {"default": "most-recent-wins"}})
    url = host.start()
    world = subprocess.Popen(["node", str(ROOT / "examples" / "wasi-host" / "world.mjs"), url, CUSTOMER], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env={**os.environ, "WORLD_SECRET": secret})
    ok = True
    try:
        info = json.loads(world.stdout.readline())
        host.virtuous = HttpJson(info["simUrl"], info["token"])
        host.partner = HttpJson(info["partnerUrl"])
        sim, partner = HttpJson(info["simUrl"]), HttpJson(info["partnerUrl"])

        def call(client, method, path, body=None):
            status, _, text, js = client.send(method, path, body)
            if status is None or status >= 400:
                raise AssertionError(f"{method} {path}: {status} {text[:200]}")
            return js

        def quiet(what):
            call(sim, "POST", "/_sim/deliveries/flush", {})
            until(lambda: (lambda s: s["inbox"]["pending"] == 0 and s["outbox"]["depth"] == 0 and s["records"]["dirty"] == 0)(host.status())
                  and call(sim, "GET", "/_sim/deliveries?state=pending") == [], what)
            time.sleep(0.1)
            call(sim, "POST", "/_sim/deliveries/flush", {})
            until(lambda: host.status()["inbox"]["pending"] == 0, what)

        txs = lambda: call(sim, "GET", "/_sim/transactions")  # noqa: E731
        puts = lambda: [r for r in call(sim, "GET", "/_sim/requests?method=PUT") if r["path"].startswith(("/api/Gift/", "/api/Contact/"))]  # noqa: E731
        print(f"==== virtuous-sync WASI host: the component in wasmtime, state in sqlite3 ({url}) ====")

        print("1. A donor gives on the partner platform: one Gift Transaction; an edit before the batch is coalesced.")
        call(partner, "POST", "/donors", {"id": "donor-1", "fields": {"name": "Ada Lovelace", "contactType": "Household"}, "email": "ada@example.org"})
        call(partner, "POST", "/donations", {"id": "don-1", "donorId": "donor-1", "fields": {"amount": "50.00", "giftDate": "2026-11-30", "giftType": "Cash", "currencyCode": "USD"}})
        until(lambda: len([t for t in txs() if t["state"] == "held"]) == 2, "two held Transactions")
        call(partner, "PATCH", "/donations/don-1", {"fields": {"notes": "In memory of Charles"}})
        quiet("the coalesced edit")
        held = [t for t in txs() if t["kind"] == "gift"]
        assert len(held) == 1, f"expected one gift Transaction, saw {len(held)}"
        batch = call(sim, "POST", "/_sim/batch/run", {})
        gift = next(c for c in batch["created"] if c.get("giftId"))
        quiet("the batch's confirmation and the follow-up write")
        g = call(sim, "GET", f"/_sim/gifts/{gift['giftId']}")
        assert g["notes"] == "In memory of Charles", f"follow-up write missing: {g['notes']}"
        assert len([x for x in call(sim, "GET", "/_sim/store")["gifts"] if x.get("transactionId") == "don-1"]) == 1
        print(f"   ✓ one gift ({gift['giftId']}) for don-1; the held note went out after the confirmation")

        print("2. Staff raise the gift to 75.00 in Virtuous: applied to the partner, not echoed back.")
        before = len(puts())
        call(sim, "PATCH", f"/_sim/gifts/{gift['giftId']}", {"set": {"amount": 75}})
        until(lambda: money(call(partner, "GET", "/donations/don-1")["fields"]["amount"]) == "75.00", "the staff edit on the partner")
        quiet("the staff edit")
        time.sleep(0.3)
        quiet("the bounce")
        assert len(puts()) == before, f"the staff edit was echoed back: {len(puts()) - before} PUT(s)"
        print("   ✓ the partner shows 75.00; the bounce of our own apply was recognised: no write back")

        print("3. A delivery sent twice: answered both times, applied once.")
        call(sim, "POST", "/_sim/deliveries/duplicate-next", {"count": 1})
        edited = call(sim, "PATCH", f"/_sim/gifts/{gift['giftId']}", {"set": {"notes": "dup check"}})
        until(lambda: len([d for d in call(sim, "GET", "/_sim/deliveries") if d.get("duplicateOf")]) == 1, "the duplicate delivery")
        quiet("the duplicate")
        rec = next(r for r in host.records() if r["virtuousId"] == str(gift["giftId"]))
        applied = [e for e in host.timeline(rec["recordKey"]) if e["direction"] == "inbound" and e.get("modifiedDateTimeUtc") == edited["modifiedDateTimeUtc"]]
        assert len(applied) == 1, f"decided {len(applied)} times"
        assert call(partner, "GET", "/donations/don-1")["fields"]["notes"] == "dup check"
        print("   ✓ one decision for the two deliveries")

        print("4. A 429 storm while the partner records a donation: the write lands once, when Virtuous allows it.")
        call(sim, "PATCH", "/_sim/config", {"rateLimit": {"windowMs": 4000}})
        call(sim, "POST", "/_sim/rate-limit/storm", {"count": 3, "retryAfterSeconds": 1})
        call(partner, "POST", "/donations", {"id": "don-2", "donorId": "donor-1", "fields": {"amount": "20.00", "giftDate": "2026-11-30", "giftType": "Cash", "currencyCode": "USD"}})
        until(lambda: len([t for t in txs() if t["externalId"] == "don-2"]) == 1, "the Transaction after the storm", timeout=30)
        quiet("the storm")
        call(sim, "PATCH", "/_sim/config", {"rateLimit": {"windowMs": 3600000}})
        assert len([t for t in txs() if t["externalId"] == "don-2"]) == 1
        call(sim, "POST", "/_sim/batch/run", {})
        quiet("the second batch")
        print(f"   ✓ one Transaction for don-2 ({host.status()['counters'].get('rateLimited', 0)} answers were 429)")

        # Convergence: the demo's check.
        store, vs, problems, compared = call(partner, "GET", "/store"), call(sim, "GET", "/_sim/store"), [], 0
        for r in host.records():
            if not r["partnerId"] or not r["virtuousId"] or (r["state"] or {}).get("tombstone"):
                continue
            if r["kind"] == "gift":
                p = store["donations"].get(r["partnerId"])
                v = next((x for x in vs["gifts"] if str(x["id"]) == r["virtuousId"]), None)
                for f in ["amount", "giftDate", "giftType", "currencyCode", "notes"]:
                    a, b = (p or {}).get("fields", {}).get(f), (v or {}).get(f)
                    if f == "amount":
                        a, b = money(a), money(b)
                    if a != b:
                        problems.append(f"{r['recordKey']}.{f}: partner {a} vs virtuous {b}")
            else:
                p = store["donors"].get(r["partnerId"])
                v = next((x for x in vs["contacts"] if str(x["id"]) == r["virtuousId"]), None)
                if (p or {}).get("fields", {}).get("name") != (v or {}).get("name"):
                    problems.append(f"{r['recordKey']}.name")
            compared += 1
        ours = len([x for x in vs["gifts"] if x.get("transactionSource") == "Acme Giving"])
        if ours != len(store["donations"]):
            problems.append(f"{len(store['donations'])} donations but {ours} gifts stamped by us")
        st = host.status()
        if st["inbox"]["deadLetters"] or st["outbox"]["depth"] or st["openConflicts"]:
            problems.append(f"not settled: {json.dumps(st)}")
        print("==== convergence ====")
        for p in problems:
            print(f"✗ {p}")
        if not problems:
            print(f"✓ both stores agree on every mapped field of the {compared} linked records; one Virtuous gift per donation")
        print(f"counts: {json.dumps(st['counters'])}")
        ok = not problems and compared >= 3
    except AssertionError as e:
        ok = False
        print(f"✗ {e}")
        for err in host.errors[-10:]:
            print(f"  host: {err}")
    finally:
        world.stdin.close()
        world.wait(timeout=15)
        host.stop()
    print(f"WASI host demo {'passed' if ok else 'FAILED'} in {time.time() - t0:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
