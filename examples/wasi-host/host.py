"""A small WASI host for virtuous-sync: the WebAssembly component (build/component/virtuous_sync.wasm, built by
scripts/build-component; not the npm package) in wasmtime, state in the standard library's sqlite3.

It receives signed deliveries over HTTP (POST /webhooks/virtuous/<customer>), verifies and decodes them with the
component's `core.receive`, stores them in a durable inbox before answering 2xx, decides each one with
`core.decide-inbound` against the stored record state, applies the decision through the partner port (HTTP to the
partner app: POST /sync/read, /sync/apply), and commits the next state, its outbox change, its log entry and the
inbox completion in one sqlite transaction. Partner changes (POST /partner-changes {kind, partnerId}) are decided
with `core.decide-outbound`; writes go to Virtuous through the component's `rate-budget` and `classify-response`.
The rules are the host kit's (host/src/host.mjs, docs/sync.md's host protocol); only the language differs.

One worker thread does all processing (inbound, outbound, submits), so records need no locks; the HTTP threads only
insert into the inbox or mark a record dirty (a counter the commit compares, as the host kit's stores do).

Run by examples/wasi-host/demo.py (scripts/test's "WASI host" stage).
"""

import json
import random
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from wasmtime import Engine, Store, WasiConfig, WasmtimeError
from wasmtime.component import Component, Linker, Record, ResourceAny, Variant

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "build" / "component" / "virtuous_sync.wasm"
RECEIVER = "virtuous:sync/receiver@0.1.0"
RECONCILE = "virtuous:sync/reconcile@0.1.0"
SYNCED = ("gift", "contact")
EVENT_FIELDS = ["product", "action", "product-event-type", "event-type", "raw-event-type", "resource-kind", "event-id", "timestamp", "organization-id",
                "resource-id", "modified-date-time-utc", "resource"]
# In a typed decision, the fields that are JSON text (`json` in the WIT: the stored record state, field and body
# values) and the maps (`list<tuple<string, ...>>`: field values, digests).
JSON_FIELDS = {"record", "body", "local", "remote"}
MAP_FIELDS = {"fields": True, "apply": True, "digests": False}  # name -> values are JSON text


def now_ms():
    return int(time.time() * 1000)


def rec(**fields):
    """A WIT record; Python names (`platform_name`) become kebab-case (`platform-name`)."""
    r = Record()
    for k, v in fields.items():
        setattr(r, k.replace("_", "-"), v)
    return r


def camel(name):
    return re.sub(r"-([a-z])", lambda m: m.group(1).upper(), name)


def from_wit(v):
    if isinstance(v, Record):
        return {camel(k): from_wit(x) for k, x in vars(v).items() if x is not None}
    if isinstance(v, (list, tuple)):
        return [from_wit(x) for x in v]
    return v


def typed(v, key=None):
    """A typed WIT decision (wasmtime-py: Record, Variant, lists of tuples) as the dict this host works with:
    variants as {tag, val}, records with camelCase keys, maps as dicts, JSON text parsed."""
    if isinstance(v, Variant):
        return {"tag": v.tag} if v.payload is None else {"tag": v.tag, "val": typed(v.payload)}
    if isinstance(v, Record):
        return {camel(k): typed(x, k) for k, x in vars(v).items() if x is not None}
    if key in MAP_FIELDS and isinstance(v, list):
        return {k: json.loads(x) if MAP_FIELDS[key] else x for k, x in v}
    if key in JSON_FIELDS and isinstance(v, str):
        return json.loads(v)
    if isinstance(v, list):
        return [typed(x) for x in v]
    return v


def partner_change(c):
    """A partner change (dict) as the WIT `partner-change` record: field values and bodies as JSON text."""
    text = (lambda v: None if v is None else json.dumps(v))
    return rec(customer_id=c["customerId"], kind=c["kind"], partner_id=c["partnerId"], modified_ms=c["modifiedMs"],
               field_modified_ms=list((c.get("fieldModifiedMs") or {}).items()),
               fields=[(k, json.dumps(v)) for k, v in c["fields"].items()], extra=text(c.get("extra")),
               external_id=c.get("externalId"), current=text(c.get("current")),
               written=request(c.get("written")))


def request(r):
    """A request (dict: method, path, body) as the WIT `request` record; None stays None."""
    if r is None:
        return None
    return rec(method=r["method"], path=r["path"], body=None if r.get("body") is None else json.dumps(r["body"]))


def observation(status, headers):
    """A response's status and rate-limit headers as the WIT `rate-observation` record."""
    return rec(status=status, headers=rec(limit=headers.get("limit"), remaining=headers.get("remaining"),
                                          reset=headers.get("reset"), retry_after=headers.get("retryAfter")),
               now_ms=now_ms(), random=random.getrandbits(32))


class CoreError(Exception):
    """The component's `error` record (a refused decision or a bad argument): retrying cannot help."""

    def __init__(self, payload):
        super().__init__(f"{payload.get('code')}: {payload.get('message')}")
        self.payload = payload


class SyncComponent:
    """The component's exports this host uses, with one `core` resource configured for the customer."""

    def __init__(self, *, secrets, platform_name, sync, path=COMPONENT):
        if not path.exists():
            raise RuntimeError(f"{path} missing: run scripts/build-component")
        self.lock = threading.Lock()  # one wasmtime Store: one call at a time
        self.engine = Engine()
        self.store = Store(self.engine)
        self.store.set_wasi(WasiConfig())
        linker = Linker(self.engine)
        linker.add_wasip2()  # the component imports only wasi:random
        inst = linker.instantiate(self.store, Component.from_file(self.engine, str(path)))

        def func(name, iface):
            idx = inst.get_export_index(self.store, name, inst.get_export_index(self.store, iface))
            if idx is None:
                raise RuntimeError(f"{iface} has no export {name}")
            return inst.get_func(self.store, idx)

        self.f = {n: func(n, RECEIVER) for n in ["[constructor]core", "[method]core.receive",
                                                 "[method]core.decide-inbound", "[method]core.decide-outbound"]}
        for n in ["classify-response", "[constructor]rate-budget", "[static]rate-budget.from-json",
                  "[method]rate-budget.observe", "[method]rate-budget.spend", "[method]rate-budget.decide",
                  "[method]rate-budget.backoff-ms", "[method]rate-budget.to-json"]:
            self.f[n] = func(n, RECONCILE)
        config = rec(secrets=[rec(id=s["id"], secret=s["secret"], not_after=None) for s in secrets],
                     platform_name=platform_name, scheme=None, max_body_bytes=None, max_depth=None,
                     subscribed_events=None, allow_weak_secrets=None, diagnostics=None, product=None,
                     sync=json.dumps(sync), **{"raise": None})
        self.core = self._ok(self._call("[constructor]core", config), ResourceAny)

    def _call(self, name, *args):
        with self.lock:
            try:
                return self.f[name](self.store, *args)
            except WasmtimeError as e:  # a trap: the instance is dead; never expected (no export traps)
                raise RuntimeError(f"component trapped in {name}: {str(e).splitlines()[0]}") from e

    @staticmethod
    def _ok(value, ok_type):
        """wasmtime-py's rendering of `result`: a tagged Variant, or the bare ok/err payload."""
        if isinstance(value, Variant):
            if value.tag == "err":
                raise CoreError(from_wit(value.payload))
            return value.payload
        if isinstance(value, Record) and ok_type is not Record:
            raise CoreError(from_wit(value))
        return value

    def receive(self, body, headers, at_ms):
        r = self._call("[method]core.receive", self.core, body, headers, at_ms)
        event = None if r.event is None else {k: getattr(r.event, k) for k in EVENT_FIELDS}
        return {"status": r.status, "reason": r.reason, "authentic": r.authentic, "deadLetter": getattr(r, "dead-letter"),
                "dedupeKey": getattr(r, "dedupe-key"), "event": event}

    def decide_inbound(self, event, state, at_ms):
        ev = rec(**{k.replace("-", "_"): event.get(k) for k in EVENT_FIELDS})
        out = self._call("[method]core.decide-inbound", self.core, ev, None if state is None else json.dumps(state), at_ms)
        return typed(self._ok(out, Record))

    def decide_outbound(self, state, change, at_ms):
        out = self._call("[method]core.decide-outbound", self.core, None if state is None else json.dumps(state),
                         partner_change(change), at_ms)
        return typed(self._ok(out, Record))

    def classify(self, *, status, body=None, retry_after=None, context=None, created_at_ms=None, now_ms=None):
        """What to do with a Virtuous response: the typed `response-classification` as a dict."""
        r = rec(status=status, body=body, retry_after=retry_after, context=context, created_at_ms=created_at_ms,
                now_ms=now_ms, indexing_delay_ms=None)
        return typed(self._ok(self._call("classify-response", r), Record))

    def budget(self, state_json, fn):
        """Loads the rate budget from its stored JSON (or new), runs `fn(call)`, returns (result, new JSON)."""
        b = (self._ok(self._call("[static]rate-budget.from-json", state_json), ResourceAny) if state_json
             else self._ok(self._call("[constructor]rate-budget", None), ResourceAny))
        try:
            result = fn(lambda name, *args: self._call(f"[method]rate-budget.{name}", b, *args))
            return result, self._call("[method]rate-budget.to-json", b)
        finally:
            with self.lock:
                b.drop(self.store)


SCHEMA = """
CREATE TABLE IF NOT EXISTS records (record_key TEXT PRIMARY KEY, kind TEXT NOT NULL, partner_id TEXT, virtuous_id TEXT,
  ext_source TEXT, ext_id TEXT, state TEXT, dirty INTEGER NOT NULL DEFAULT 0, recheck_ms INTEGER,
  change_seq INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS records_v ON records(kind, virtuous_id) WHERE virtuous_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS records_p ON records(kind, partner_id) WHERE partner_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, dedupe_key TEXT NOT NULL UNIQUE, event TEXT,
  origin TEXT, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, due_ms INTEGER NOT NULL, last_error TEXT);
CREATE TABLE IF NOT EXISTS outbox (record_key TEXT PRIMARY KEY, request TEXT NOT NULL, status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, due_ms INTEGER NOT NULL, queued_ms INTEGER NOT NULL, last_error TEXT);
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY AUTOINCREMENT, record_key TEXT, at_ms INTEGER, entry TEXT);
"""


class HttpJson:
    """A JSON-over-HTTP client (urllib): `(status | None, headers, text, json)`; None status: network failure."""

    def __init__(self, base, token=None, timeout=30):
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout

    def send(self, method, path, body=None):
        headers = {"accept": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None and method != "GET":
            headers["content-type"] = "application/json"
            data = json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                status, hdrs, text = res.status, res.headers, res.read().decode()
        except urllib.error.HTTPError as e:
            status, hdrs, text = e.code, e.headers, e.read().decode()
        except (urllib.error.URLError, OSError):
            return None, {}, "", None
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        h = {"limit": hdrs.get("x-ratelimit-limit"), "remaining": hdrs.get("x-ratelimit-remaining"),
             "reset": hdrs.get("x-ratelimit-reset"), "retryAfter": hdrs.get("retry-after")}
        return status, {k: v for k, v in h.items() if v is not None}, text, parsed


class WasiHost:
    """The host: HTTP receiver, sqlite state, one worker thread."""

    def __init__(self, *, db_path, customer_id, platform_name, secrets, virtuous_url, virtuous_token, partner_url,
                 sync=None, max_attempts=8):
        self.customer_id = customer_id
        self.platform = platform_name
        self.core = SyncComponent(secrets=secrets, platform_name=platform_name,
                                  sync={**(sync or {"cooldownMs": 2000}), "customerId": customer_id})
        self.virtuous = HttpJson(virtuous_url, virtuous_token)
        self.partner = HttpJson(partner_url)
        self.max_attempts = max_attempts
        self.db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self.db.executescript(SCHEMA)
        self.dblock = threading.RLock()
        self.wake = threading.Event()
        self.running = False
        self.errors = []

    # --- sqlite helpers ---------------------------------------------------------------------------------------
    def q(self, sql, *args):
        with self.dblock:
            return self.db.execute(sql, args).fetchall()

    def tx(self, fn):
        """Runs `fn(db)` in one transaction (BEGIN IMMEDIATE ... COMMIT)."""
        with self.dblock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                out = fn(self.db)
                self.db.execute("COMMIT")
                return out
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def kv_get(self, k, default=None):
        r = self.q("SELECT v FROM kv WHERE k = ?", k)
        return json.loads(r[0][0]) if r else default

    def count(self, db, **deltas):
        r = db.execute("SELECT v FROM kv WHERE k = 'counters'").fetchone()
        c = json.loads(r[0]) if r else {}
        for k, v in deltas.items():
            c[k] = c.get(k, 0) + v
        db.execute("INSERT INTO kv (k, v) VALUES ('counters', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v", (json.dumps(c),))

    # --- receiving ----------------------------------------------------------------------------------------------
    def receive(self, customer_id, body, headers):
        """One delivery: (status, body). Stored in the inbox before any 2xx; a duplicate answers 2xx again."""
        if customer_id != self.customer_id:
            return 404, {"error": "unknown-customer"}
        r = self.core.receive(body, headers, now_ms())
        if not r["authentic"] or r["reason"] != "accepted" or r["event"] is None:
            return r["status"], {"reason": r["reason"]}
        with self.dblock:
            cur = self.db.execute("INSERT OR IGNORE INTO inbox (dedupe_key, event, origin, status, due_ms) VALUES (?, ?, 'webhook', 'pending', ?)",
                                  (r["dedupeKey"], json.dumps(r["event"]), now_ms()))
            self.db.execute("INSERT INTO kv (k, v) VALUES ('lastDeliveryMs', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v", (json.dumps(now_ms()),))
        self.wake.set()
        return r["status"], {"reason": r["reason"], "duplicate": cur.rowcount == 0}

    def mark_dirty(self, kind, partner_id):
        if kind not in SYNCED:
            raise ValueError(f"kind {kind} is not synced")

        def run(db):
            row = db.execute("SELECT record_key FROM records WHERE kind = ? AND partner_id = ?", (kind, partner_id)).fetchone()
            key = row[0] if row else f"{kind}:{partner_id}"
            if not row:
                db.execute("INSERT OR IGNORE INTO records (record_key, kind, partner_id) VALUES (?, ?, ?)", (key, kind, partner_id))
            db.execute("UPDATE records SET dirty = 1, recheck_ms = ?, change_seq = change_seq + 1 WHERE record_key = ?", (now_ms(), key))
            return key
        key = self.tx(run)
        self.wake.set()
        return key

    # --- records ------------------------------------------------------------------------------------------------
    def lookup_keys(self, event):
        """Virtuous id and our external references (the host kit's lookupKeys, in one place)."""
        kind, vid = event.get("resource-kind"), event.get("resource-id")
        res = json.loads(event.get("resource") or "{}")
        ours, refs = self.platform.strip().lower(), []

        def add(source, rid):
            if source is not None and rid is not None and str(source).strip().lower() == ours and str(rid).strip():
                refs.append(str(rid).strip())
        if kind == "gift":
            add(res.get("transactionSource"), res.get("transactionId"))
        if kind == "contact":
            add(res.get("referenceSource"), res.get("referenceId"))
            for r in res.get("contactReferences") or []:
                add((r or {}).get("source"), (r or {}).get("id"))
        return kind, (str(vid) if vid not in (None, "") else None), refs

    def find(self, kind, vid=None, refs=(), key=None):
        cols = "record_key, kind, partner_id, virtuous_id, state, dirty, recheck_ms, change_seq"
        if key:
            rows = self.q(f"SELECT {cols} FROM records WHERE record_key = ?", key)
        else:
            rows = self.q(f"SELECT {cols} FROM records WHERE kind = ? AND virtuous_id = ?", kind, vid) if vid else []
            for ref in refs:
                rows = rows or self.q(f"SELECT {cols} FROM records WHERE kind = ? AND ext_source = ? AND ext_id = ?", kind, self.platform.strip().lower(), ref)
        if not rows:
            return None
        k, kd, pid, v, st, dirty, recheck, seq = rows[0]
        return {"recordKey": k, "kind": kd, "partnerId": pid, "virtuousId": v, "state": json.loads(st) if st else None,
                "dirty": bool(dirty), "recheckMs": recheck, "changeSeq": seq}

    def commit(self, row, work, inbox_id=None):
        """One transaction: the next state, the log, the outbox change, the inbox completion."""
        s = work["state"]
        at = now_ms()

        def run(db):
            cur = db.execute("SELECT change_seq FROM records WHERE record_key = ?", (row["recordKey"],)).fetchone()
            same = cur is None or cur[0] == row["changeSeq"]
            ext = (s or {}).get("externalRef")
            db.execute(
                """INSERT INTO records (record_key, kind, partner_id, virtuous_id, ext_source, ext_id, state, dirty, recheck_ms, change_seq)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(record_key) DO UPDATE SET partner_id = excluded.partner_id, virtuous_id = excluded.virtuous_id,
                     ext_source = COALESCE(excluded.ext_source, records.ext_source), ext_id = COALESCE(excluded.ext_id, records.ext_id),
                     state = excluded.state, dirty = CASE WHEN ? THEN excluded.dirty ELSE 1 END,
                     recheck_ms = CASE WHEN ? THEN excluded.recheck_ms ELSE ? END""",
                (row["recordKey"], row["kind"], (s or {}).get("partnerId") or work["partnerId"], (s or {}).get("virtuousId") or row["virtuousId"],
                 str(ext["source"]).strip().lower() if ext else None, str(ext["id"]).strip() if ext else None,
                 json.dumps(s) if s is not None else None, 1 if work["dirty"] else 0, work["recheckMs"], row["changeSeq"],
                 same, same, at))
            for e in work["log"]:
                db.execute("INSERT INTO log (record_key, at_ms, entry) VALUES (?, ?, ?)", (row["recordKey"], at, json.dumps(e)))
            for op in work["outbox"]:
                if op.get("drop"):
                    db.execute("DELETE FROM outbox WHERE record_key = ?", (row["recordKey"],))
                if op.get("put"):
                    db.execute("""INSERT INTO outbox (record_key, request, status, attempts, due_ms, queued_ms) VALUES (?, ?, 'queued', 0, ?, ?)
                                  ON CONFLICT(record_key) DO UPDATE SET request = excluded.request, status = 'queued', attempts = 0,
                                  due_ms = excluded.due_ms, queued_ms = excluded.queued_ms, last_error = NULL""",
                               (row["recordKey"], json.dumps(op["put"]), at, at))
            if inbox_id is not None:
                db.execute("UPDATE inbox SET status = 'done', event = NULL WHERE id = ?", (inbox_id,))
            if work["counts"]:
                self.count(db, **work["counts"])
        self.tx(run)

    # --- inbound ----------------------------------------------------------------------------------------------
    def process_inbox(self):
        rows = self.q("SELECT id, dedupe_key, event, attempts FROM inbox WHERE status = 'pending' AND due_ms <= ? ORDER BY due_ms, id LIMIT 25", now_ms())
        for iid, dkey, ev, attempts in rows:
            event = json.loads(ev)
            try:
                self.inbound(iid, dkey, event)
            except Exception as e:  # noqa: BLE001 - every failure is retried or dead-lettered, never dropped
                msg = f"{type(e).__name__}: {e}"
                self.errors.append(msg)
                dead = attempts + 1 >= self.max_attempts or isinstance(e, CoreError)
                delay = min(300_000, 1000 * 2 ** attempts) * (0.5 + random.random() / 2)
                self.q("UPDATE inbox SET status = ?, attempts = attempts + 1, due_ms = ?, last_error = ? WHERE id = ?",
                       "dead" if dead else "pending", now_ms() + int(delay), msg, iid)
        return len(rows)

    def inbound(self, inbox_id, dedupe_key, event):
        kind, vid, refs = self.lookup_keys(event)
        at = now_ms()
        if kind not in SYNCED or not vid:
            d = self.core.decide_inbound(event, None, at)
            self.tx(lambda db: (db.execute("INSERT INTO log (record_key, at_ms, entry) VALUES (NULL, ?, ?)", (at, json.dumps({"direction": "inbound", "action": d["action"]["tag"], "reason": d["reason"]}))),
                                db.execute("UPDATE inbox SET status = 'done', event = NULL WHERE id = ?", (inbox_id,))))
            return
        row = self.find(kind, vid, refs) or {"recordKey": f"{kind}:v{vid}", "kind": kind, "partnerId": None, "virtuousId": vid,
                                              "state": None, "dirty": False, "recheckMs": None, "changeSeq": 0}
        work = {"state": row["state"], "dirty": row["dirty"], "recheckMs": row["recheckMs"], "log": [], "outbox": [], "counts": {},
                "partnerId": row["partnerId"]}
        # Host protocol 2: partner edits the core has not seen go first.
        if row["dirty"] and row["partnerId"]:
            self.outbound_step(row, work, at)
        d = self.core.decide_inbound(event, work["state"], at)
        tag, val = d["action"]["tag"], d["action"].get("val") or {}
        work["log"].append({"direction": "inbound", "action": tag, "reason": d["reason"], "dedupeKey": dedupe_key,
                            "modifiedDateTimeUtc": event.get("modified-date-time-utc")})
        if d["reason"] in ("echo", "confirmed"):
            work["counts"]["echoes"] = 1
        if tag == "conflict":
            work["counts"]["conflicts"] = 1
        nxt = d.get("record") or work["state"]
        if nxt is not None and work["partnerId"] and not nxt.get("partnerId"):
            nxt["partnerId"] = work["partnerId"]
        self.apply_inbound(row, tag, val, nxt, work)
        work["state"] = nxt
        if tag == "confirm":
            work["outbox"].append({"drop": True})  # host protocol 3: a confirmed write is never resent
        again = (tag == "confirm" and val.get("followUp")) or d.get("reassertFields")
        if again and work["partnerId"] and not (nxt or {}).get("tombstone"):
            self.outbound_step(row, work, at)  # host protocol 4
        self.commit(row, work, inbox_id)

    def partner_apply(self, op):
        status, _, _, body = self.partner.send("POST", "/sync/apply", op)
        if status != 200:
            raise RuntimeError(f"partner apply {op['action']}: {status}")
        return body or {}

    def apply_inbound(self, row, tag, val, nxt, work):
        base = {"customerId": self.customer_id, "kind": row["kind"], "recordKey": row["recordKey"],
                "virtuousId": (nxt or {}).get("virtuousId") or row["virtuousId"]}
        pid = work["partnerId"]

        def update(fields):
            if pid and fields:
                self.partner_apply({**base, "action": "update", "partnerId": pid, "fields": fields})
                work["counts"]["applied"] = 1
        if tag == "create":
            r = self.partner_apply({**base, "action": "create", "fields": val["fields"]})  # idempotent on virtuousId
            work["partnerId"] = str(r["partnerId"])
            if nxt is not None:
                nxt["partnerId"] = work["partnerId"]
            work["counts"]["applied"] = 1
        elif tag == "apply":
            update(val.get("fields"))
        elif tag in ("confirm", "conflict"):
            update(val.get("apply"))
        elif tag == "delete" and pid:
            self.partner_apply({**base, "action": "delete", "partnerId": pid})
        elif tag == "remap" and pid:
            survivor = self.find(row["kind"], str(val["survivorId"]))
            self.partner_apply({**base, "action": "remap", "partnerId": pid, "survivorVirtuousId": val["survivorId"],
                                "survivorPartnerId": (survivor or {}).get("partnerId")})
            work["counts"]["remaps"] = 1

    # --- outbound ---------------------------------------------------------------------------------------------
    def process_dirty(self):
        rows = self.q("SELECT record_key FROM records WHERE dirty = 1 AND recheck_ms IS NOT NULL AND recheck_ms <= ? ORDER BY recheck_ms LIMIT 25", now_ms())
        for (key,) in rows:
            row = self.find(None, key=key)
            work = {"state": row["state"], "dirty": row["dirty"], "recheckMs": row["recheckMs"], "log": [], "outbox": [], "counts": {},
                    "partnerId": row["partnerId"]}
            try:
                self.outbound_step(row, work, now_ms())
                self.commit(row, work)
            except Exception as e:  # noqa: BLE001 - stays dirty; looked at again later
                self.errors.append(f"outbound {key}: {type(e).__name__}: {e}")
                self.q("UPDATE records SET recheck_ms = ? WHERE record_key = ?", now_ms() + 2000, key)
        return len(rows)

    def outbound_step(self, row, work, at):
        status, _, _, cur = self.partner.send("POST", "/sync/read", {"customerId": self.customer_id, "kind": row["kind"],
                                                                       "partnerId": work["partnerId"], "recordKey": row["recordKey"]})
        if status == 404:
            work["log"].append({"direction": "outbound", "action": "nothing", "reason": "partner-record-missing"})
            work.update(dirty=False, recheckMs=None)
            return
        if status != 200:
            raise RuntimeError(f"partner read: {status}")
        change = {"customerId": self.customer_id, "kind": row["kind"], "partnerId": work["partnerId"],
                  "modifiedMs": cur.get("modifiedMs") or at, "fields": cur["fields"]}
        if cur.get("extra"):
            change["extra"] = cur["extra"]
        d = self.core.decide_outbound(work["state"], change, at)
        req = d["action"].get("val")
        if d["action"]["tag"] != "submit" and isinstance(req, dict) and req.get("method") == "GET":
            # Read-before-write: what Virtuous holds now, then decide again.
            st, _, _, current = self.send_budgeted({"method": "GET", "path": req["path"]})
            if st != 200 or current is None:
                raise RuntimeError(f"read-before-write {req['path']}: {st}")
            d = self.core.decide_outbound(work["state"], {**change, "current": current}, at)
        if d.get("record"):
            work["state"] = d["record"]
        if work["state"] is not None and not work["state"].get("partnerId"):
            work["state"]["partnerId"] = work["partnerId"]
        tag, held = d["action"]["tag"], d.get("suppressedFields") or []
        work["log"].append({"direction": "outbound", "action": tag, "reason": d["reason"]})
        if tag == "submit":
            work["outbox"].append({"put": d["action"]["val"]})
            work["counts"]["queued"] = work["counts"].get("queued", 0) + 1
        if tag == "suppress" or held:
            work.update(dirty=True, recheckMs=d.get("retryAtMs"))
        else:
            work.update(dirty=False, recheckMs=None)

    # --- submitting ---------------------------------------------------------------------------------------------
    def budget_step(self, fn):
        """One atomic read-modify-write of the stored rate budget (the component's rate-budget resource)."""
        with self.dblock:
            result, state = self.core.budget(self.kv_get("budget"), fn)
            self.q("INSERT INTO kv (k, v) VALUES ('budget', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v", json.dumps(state))
            return result

    def gate(self):
        def decide(call):
            d = typed(SyncComponent._ok(call("decide", rec(cost=1, priority="live", now_ms=now_ms(), random=random.getrandbits(32))), Record))
            if d["go"]:
                call("spend", 1)
            return d
        return self.budget_step(decide)

    def send_budgeted(self, req):
        for _ in range(600):
            g = self.gate()
            if g["go"]:
                break
            time.sleep(min(g["waitMs"], 1000) / 1000)
        res = self.virtuous.send(req["method"], req["path"], req.get("body"))
        self.budget_step(lambda call: SyncComponent._ok(call("observe", observation(res[0], res[1])), type(None)))
        return res

    def submit_due(self):
        rows = self.q("SELECT record_key, request, attempts, queued_ms FROM outbox WHERE status = 'queued' AND due_ms <= ? ORDER BY due_ms LIMIT 10", now_ms())
        for key, request, attempts, queued in rows:
            req = json.loads(request)
            g = self.gate()
            if not g["go"]:
                self.q("UPDATE outbox SET due_ms = ? WHERE record_key = ?", now_ms() + g["waitMs"], key)
                self.tx(lambda db: self.count(db, budgetWaits=1))
                continue
            status, headers, text, _ = self.virtuous.send(req["method"], req["path"], req.get("body"))
            self.budget_step(lambda call: SyncComponent._ok(call("observe", observation(status, headers)), type(None)))
            context = {"POST": "transaction-submit", "PUT": "update", "DELETE": "delete"}.get(req["method"], "read")
            cls = self.core.classify(status=status, body=text, retry_after=headers.get("retryAfter"), context=context,
                                     created_at_ms=queued, now_ms=now_ms())
            action = cls["action"]

            def finish(db, action=action, cls=cls, key=key, request=request, attempts=attempts, status=status):
                # Only the entry that was sent: a newer write queued meanwhile stays.
                db.execute("INSERT INTO log (record_key, at_ms, entry) VALUES (?, ?, ?)", (key, now_ms(), json.dumps(
                    {"direction": "submit", "action": action, "reason": cls["reason"], "status": status})))
                same = "record_key = ? AND request = ?"
                if action in ("proceed", "look-up-existing"):
                    db.execute(f"DELETE FROM outbox WHERE {same}", (key, request))
                    self.count(db, writes=1)
                elif action in ("wait-retry-after", "retry-with-backoff", "retry-after-delay", "refetch-and-retry"):
                    wait = cls.get("retryAfterMs") or min(300_000, 1000 * 2 ** attempts)
                    db.execute(f"UPDATE outbox SET due_ms = ?, attempts = attempts + 1, last_error = ? WHERE {same}", (now_ms() + wait, cls["reason"], key, request))
                    self.count(db, retries=1, **({"rateLimited": 1} if action == "wait-retry-after" else {}))
                else:
                    db.execute(f"UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE {same}", (cls["reason"], key, request))
                    self.count(db, failedWrites=1)
            self.tx(finish)
        return len(rows)

    # --- status and running -------------------------------------------------------------------------------------
    def status(self):
        one = lambda sql, *a: self.q(sql, *a)[0][0]  # noqa: E731
        return {
            "customerId": self.customer_id,
            "inbox": {"pending": one("SELECT COUNT(*) FROM inbox WHERE status = 'pending'"), "deadLetters": one("SELECT COUNT(*) FROM inbox WHERE status = 'dead'")},
            "outbox": {"depth": one("SELECT COUNT(*) FROM outbox"), "failed": one("SELECT COUNT(*) FROM outbox WHERE status = 'failed'")},
            "records": {"total": one("SELECT COUNT(*) FROM records"), "dirty": one("SELECT COUNT(*) FROM records WHERE dirty = 1")},
            "openConflicts": one("SELECT COUNT(*) FROM records WHERE json_extract(state, '$.state') = 'conflict'"),
            "counters": self.kv_get("counters", {}),
        }

    def records(self):
        return [self.find(None, key=k) for (k,) in self.q("SELECT record_key FROM records ORDER BY record_key")]

    def timeline(self, key):
        return [json.loads(e) for (e,) in self.q("SELECT entry FROM log WHERE record_key = ? ORDER BY id", key)]

    def run_once(self):
        return self.process_dirty() + self.process_inbox() + self.submit_due()

    def start(self, host="127.0.0.1", port=0):
        handler = make_handler(self)
        self.server = ThreadingHTTPServer((host, port), handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.running = True

        def loop():
            while self.running:
                try:
                    n = self.run_once()
                except Exception as e:  # noqa: BLE001
                    self.errors.append(f"worker: {type(e).__name__}: {e}")
                    n = 0
                if not n:
                    self.wake.wait(0.025)
                    self.wake.clear()
        self.worker = threading.Thread(target=loop, daemon=True)
        self.worker.start()
        return self.url

    def stop(self):
        self.running = False
        self.wake.set()
        self.worker.join(timeout=10)
        self.server.shutdown()
        self.db.close()


def make_handler(host):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):  # quiet
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):  # noqa: N802
            n = int(self.headers.get("content-length") or 0)
            if n > 1 << 20:
                return self.reply(413, {"error": "unreadable-body"})
            body = self.rfile.read(n)
            m = re.fullmatch(r"/webhooks/virtuous/([^/?#]+)/?", self.path)
            if m:
                status, out = host.receive(urllib.parse.unquote(m.group(1)), body, [(k.lower(), v) for k, v in self.headers.items()])
                return self.reply(status, out)
            if self.path == "/partner-changes":
                try:
                    b = json.loads(body)
                    return self.reply(200, {"recordKey": host.mark_dirty(b["kind"], str(b["partnerId"]))})
                except (ValueError, KeyError, TypeError) as e:
                    return self.reply(400, {"error": "invalid-argument", "message": str(e)})
            return self.reply(404, {"error": "not-found"})

        def do_GET(self):  # noqa: N802
            if self.path == "/status":
                return self.reply(200, host.status())
            return self.reply(404, {"error": "not-found"})
    return Handler
