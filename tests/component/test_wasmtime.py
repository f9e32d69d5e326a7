"""Every shared vector (tests/vectors/*.json, sync/*.json, reconcile/*.json) against the component in
wasmtime (PyPI `wasmtime`).

Run: .venv/bin/python -m unittest tests/component/test_wasmtime.py -v   (after scripts/build-component)

Same translation as tests/component/support.mjs, in wasmtime-py's rendering of the WIT types:
records are `wasmtime.component.Record` objects with kebab-case attributes, `list<u8>` is `bytes`,
`option` is `None` or the value, tuples are Python tuples. Variants and results are *untagged* when
their cases have distinct Python types (scheme-spec: `str` | Record; result<string, error>;
result<core, error>) and `Variant(tag, payload)` when they collide (result<verification, error>,
result<signed, error>: both records). A vector input WIT's types cannot express is skipped as
unrepresentable. One instance serves every case, so a trap would fail every later case too.

The `sync` family crosses typed WIT: a case's input object becomes the named function's arguments
and the typed result becomes the npm shape again, both directed by the WIT types (wit_values.py, the
same convention as wit-values.mjs). The `reconcile` family crosses as JSON text: the input object as
text, the result text parsed; `initialMatcher` and `rateBudget` cases drive the `initial-matcher` and
`rate-budget` resources call by call. Everything is then deep-subset matched.
"""

import base64
import json
import re
import unittest
from pathlib import Path

from wasmtime import Engine, Store, WasiConfig, WasmtimeError
from wasmtime.component import Component, Linker, Record, ResourceAny, Variant

import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from wit_values import Unrepresentable, Wit  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "build" / "component" / "virtuous_sync.wasm"
VECTORS = ROOT / "tests" / "vectors"
INTERFACE = "virtuous:sync/receiver@0.1.0"
SYNC = "virtuous:sync/sync@0.1.0"
RECONCILE = "virtuous:sync/reconcile@0.1.0"
FAMILIES = ["", "sync", "reconcile", "adversarial", "volunteer"]  # "" = the receive family (top-level files)
SECRET = "virtuous-test-secret-0123456789abcdef"
U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
S64 = (-(2**63), 2**63 - 1)


class ComponentErr(Exception):
    """A `result` err: the WIT `error` record, as a dict."""

    def __init__(self, payload):
        super().__init__(f"{payload.get('code')}/{payload.get('field')}: {payload.get('message')}")
        self.payload = payload


class Trap(Exception):
    """The component trapped (or the host raised): the instance is dead from here on."""


# ---------------------------------------------------------------------------------------------- host


class Host:
    """One instance of the component and its exported functions."""

    def __init__(self, path=COMPONENT):
        if not path.exists():
            raise RuntimeError(f"{path} missing: run scripts/build-component")
        self.engine = Engine()
        self.store = Store(self.engine)
        self.store.set_wasi(WasiConfig())
        linker = Linker(self.engine)
        # The component imports only wasi:random; add_wasip2 provides it (and more, unused).
        linker.add_wasip2()
        self.instance = linker.instantiate(self.store, Component.from_file(self.engine, str(path)))
        ifaces = {}
        for name in (INTERFACE, SYNC, RECONCILE):
            ifaces[name] = self.instance.get_export_index(self.store, name)
            if ifaces[name] is None:
                raise RuntimeError(f"the component does not export {name}")

        def func(name, interface=INTERFACE):
            idx = self.instance.get_export_index(self.store, name, ifaces[interface])
            if idx is None:
                raise RuntimeError(f"{interface} has no export {name}")
            return self.instance.get_func(self.store, idx)

        self._new = func("[constructor]core")
        self._receive = func("[method]core.receive")
        self._verify = func("verify-signature")
        self._sign = func("sign-body")
        self._generate = func("generate-secret")
        # The core's sync methods, then interfaces `sync` and `reconcile` (kebab-case names).
        self.wit = Wit()
        self.core_methods = {m: func(f"[method]core.{m}") for m in
                             ["lookup-keys", "decide-inbound", "decide-outbound", "resolve", "resolve-conflict", "plan-reconciliation"]}
        self.sync = {n: func(n, SYNC) for n in ["lookup-keys", "decide-inbound", "decide-outbound", "transition", "resolve", "resolve-conflict"]}
        self.reconcile = {n: func(n, RECONCILE) for n in RECONCILE_TYPED.values()}
        for m in ["[constructor]initial-matcher", "[method]initial-matcher.add-partner-chunk",
                  "[method]initial-matcher.add-virtuous-chunk", "[method]initial-matcher.size",
                  "[method]initial-matcher.finish", "[static]initial-matcher.with-seed",
                  "[method]initial-matcher.add-partner-chunk-json",
                  "[method]initial-matcher.add-virtuous-chunk-json", "[constructor]rate-budget", "[static]rate-budget.from-json",
                  "[method]rate-budget.observe", "[method]rate-budget.spend", "[method]rate-budget.decide",
                  "[method]rate-budget.schedule", "[method]rate-budget.backoff-ms", "[method]rate-budget.to-json"]:
            self.reconcile[m] = func(m, RECONCILE)

    def _call(self, f, *args):
        try:
            return f(self.store, *args)
        except WasmtimeError as e:
            raise Trap(str(e).splitlines()[0]) from e

    @staticmethod
    def _unwrap(value, ok_type):
        """A `result` as wasmtime-py returns it: tagged Variant, or the bare ok/err payload."""
        if isinstance(value, Variant):
            if value.tag == "err":
                raise ComponentErr(from_wit(value.payload))
            return value.payload
        if isinstance(value, Record) and ok_type is not Record:
            raise ComponentErr(from_wit(value))
        if not isinstance(value, ok_type):
            raise Trap(f"unexpected result shape {value!r}")
        return value

    def new_core(self, config):
        return self._unwrap(self._call(self._new, config), ResourceAny)

    def receive(self, core, body, headers, now_ms):
        return from_wit(self._call(self._receive, core, body, headers, now_ms))

    def drop(self, core):
        core.drop(self.store)

    def verify_signature(self, body, header_value, secrets, options):
        return from_wit(self._unwrap(self._call(self._verify, body, header_value, secrets, options), Record))

    def sign_body(self, body, secret, options):
        return from_wit(self._unwrap(self._call(self._sign, body, secret, options), Record))

    def generate_secret(self, options=None):
        return self._unwrap(self._call(self._generate, options), str)

    # JSON-text functions: `result<string, error>` is untagged (str | Record).
    def json_call(self, f, *args):
        """Calls a `-> result<string, error>` export and parses the JSON text it returns."""
        return json.loads(self._unwrap(self._call(f, *args), str))

    def unit_call(self, f, *args):
        """Calls a `-> result<_, error>` export (untagged: None | Record)."""
        return self._unwrap(self._call(f, *args), type(None))

    def typed(self, f, wit_f, inp, *pre, override=None):
        """Calls a typed export with a vector input object (translated by the WIT types; `pre`: leading
        arguments such as a resource; `override`: raw WIT arguments by parameter name) and returns
        its result in the npm shape."""
        ftype = f.type(self.store)
        args = self.wit.args(wit_f, ftype, inp, skip=len(pre))
        for name, raw in (override or {}).items():
            names = [p["name"] for p in wit_f["params"][len(pre):]]
            args[names.index(name)] = raw
        rt = ftype.result
        value = self._call(f, *pre, *args)
        ok_t = self.wit.resolve(wit_f["result"])["result"]["ok"]
        if rt._tagged():
            if value.tag == "err":
                raise ComponentErr(from_wit(value.payload))
            value = value.payload
        elif isinstance(value, Record) and "record" not in self.wit.resolve(ok_t):
            raise ComponentErr(from_wit(value))
        return self.wit.from_wit(ok_t, rt.ok, value)

    def sync_call(self, name, inp, override=None):
        """A `sync` function on a vector input object."""
        return self.typed(self.sync[name], self.wit.func("sync", name), inp, override=override)

    def rc_typed(self, name, inp):
        """A typed `reconcile` function on a vector input object (its one parameter)."""
        f, wf = self.reconcile[name], self.wit.func("reconcile", name)
        ftype = f.type(self.store)
        if len(wf["params"]) == 2 and wf["params"][0]["name"] == "options":
            # plan-reconciliation(options, input): the vector input object less `options`
            if not isinstance(inp, dict):
                nope("input", "not an object")
            rest = {k: v for k, v in inp.items() if k != "options"}
            args = [self.wit.to_wit(wf["params"][0]["type"], ftype.params[0][1], inp.get("options"), "options"),
                    self.wit.to_wit(wf["params"][1]["type"], ftype.params[1][1], rest, "input")]
        else:
            args = [self.wit.to_wit(wf["params"][0]["type"], ftype.params[0][1], inp, "input")]
        return self.typed_result(f, wf, ftype, self._call(f, *args))

    def method_arg(self, name, v, path):
        """A vector value as the one argument of a typed resource method."""
        wf = self.wit.func("reconcile", name)
        return self.wit.to_wit(wf["params"][1]["type"], self.reconcile[name].type(self.store).params[1][1], v, path)

    def method_call(self, name, *args):
        """A typed resource method; its result in the npm shape."""
        f, wf = self.reconcile[name], self.wit.func("reconcile", name)
        return self.typed_result(f, wf, f.type(self.store), self._call(f, *args))

    def typed_result(self, f, wit_f, ftype, value):
        rt = ftype.result
        ok_t = self.wit.resolve(wit_f["result"])["result"]["ok"]
        if rt._tagged():
            if value.tag == "err":
                raise ComponentErr(from_wit(value.payload))
            value = value.payload
        elif isinstance(value, Record) and "record" not in self.wit.resolve(ok_t):
            raise ComponentErr(from_wit(value))
        return self.wit.from_wit(ok_t, rt.ok, value)

    def core_call(self, core, name, inp, override=None):
        """A `core` sync method on a vector input object (the options are the core's)."""
        return self.typed(self.core_methods[name], self.wit.func("receiver", f"[method]core.{name}"), inp, core,
                          override=override)

    def rc(self, name, *args):
        """A reconcile export by its WIT name (`plan-deletions`, `[method]rate-budget.decide`, ...)."""
        return self._call(self.reconcile[name], *args)


# ----------------------------------------------------------------------------------- vector -> WIT


def rec(**fields):
    """A WIT record; field names in Python style (`not_after`) become kebab-case (`not-after`)."""
    r = Record()
    for k, v in fields.items():
        setattr(r, k.replace("_", "-"), v)
    return r


def absent(v):
    return v is None


def nope(path, why):
    raise Unrepresentable(f"{path}: {why}")


def only_keys(obj, path, keys):
    for k in obj:
        if k not in keys:
            nope(f"{path}.{k}", "no such field in the WIT record")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def w_enum(name, iface="receiver"):
    """A case of a `receiver` or `types` enum, checked against the WIT."""
    def conv(v, path):
        cases = [c["name"] for c in host().wit.resolve(host().wit.named(iface, name))["enum"]["cases"]]
        return v if isinstance(v, str) and v in cases else nope(path, f"{json.dumps(v)} is not a case of the WIT enum")
    return conv


SIGNED_CONTENT = {"body": "body", "timestamp.body": "timestamp-body", "id.timestamp.body": "id-timestamp-body"}
SCHEME_ENUMS = {"preset": "preset", "encoding": "encoding", "format": "signature-format", "secretFormat": "secret-format"}


def w_str(v, path):
    return v if isinstance(v, str) else nope(path, f"{json.dumps(v)} where WIT has a string")


def w_bool(v, path):
    return v if isinstance(v, bool) else nope(path, f"{json.dumps(v)} where WIT has a bool")


def w_u32(v, path):
    return v if is_int(v) and 0 <= v <= U32_MAX else nope(path, f"{json.dumps(v)} where WIT has a u32")


def w_s64(v, path):
    return v if is_int(v) and S64[0] <= v <= S64[1] else nope(path, f"{json.dumps(v)} where WIT has an s64")


def w_list(v, path, item):
    return [item(x, f"{path}[{i}]") for i, x in enumerate(v)] if isinstance(v, list) else nope(path, "not a list")


def opt(v, path, conv):
    return None if absent(v) else conv(v, path)


def required(obj, key, path):
    return nope(f"{path}.{key}", "required by the WIT record") if absent(obj.get(key)) else obj[key]


def w_secret(v, path="secret"):
    if isinstance(v, str):
        return rec(id=None, secret=v, not_after=None)
    if not isinstance(v, dict):
        nope(path, "a secret is a string or a record")
    only_keys(v, path, ["id", "secret", "notAfter"])
    return rec(
        id=opt(v.get("id"), f"{path}.id", w_str),
        secret=w_str(required(v, "secret", path), f"{path}.secret"),
        not_after=opt(v.get("notAfter"), f"{path}.notAfter", w_s64),
    )


SCHEME_KEYS = ["preset", "headers", "encoding", "prefix", "prefixRequired", "format", "version",
               "signedContent", "timestampHeader", "idHeader", "tolerance", "secretFormat"]


def kebab(name):
    return re.sub(r"([A-Z])", lambda m: "-" + m.group(1).lower(), name)


def camel(name):
    return re.sub(r"-([a-z])", lambda m: m.group(1).upper(), name)


def w_scheme_spec(v, path="scheme"):
    # scheme-spec is untagged in wasmtime-py: `preset(string)` is a str, `custom(scheme)` a Record.
    if isinstance(v, str):
        return w_enum("preset")(v, path)
    if not isinstance(v, dict):
        nope(path, "a scheme is a preset name or a record")
    only_keys(v, path, SCHEME_KEYS)
    r = Record()
    for k in SCHEME_KEYS:
        p, x = f"{path}.{k}", v.get(k)
        if k == "headers":
            val = opt(x, p, lambda h, q: w_list(h, q, w_str))
        elif k == "prefixRequired":
            val = opt(x, p, w_bool)
        elif k in SCHEME_ENUMS:
            val = opt(x, p, w_enum(SCHEME_ENUMS[k]))
        elif k == "signedContent":
            val = opt(x, p, lambda sc, q: SIGNED_CONTENT.get(sc) if isinstance(sc, str) and sc in SIGNED_CONTENT
                      else nope(q, f"{json.dumps(sc)} is not a case of the WIT enum"))
        elif k == "tolerance":
            def tol(t, q):
                if not isinstance(t, dict):
                    nope(q, "not a record")
                only_keys(t, q, ["pastSeconds", "futureSeconds"])
                return rec(past_seconds=opt(t.get("pastSeconds"), f"{q}.pastSeconds", w_u32),
                           future_seconds=opt(t.get("futureSeconds"), f"{q}.futureSeconds", w_u32))
            val = opt(x, p, tol)
        else:
            val = opt(x, p, w_str)
        setattr(r, kebab(k), val)
    return r


def w_config(v, path="config"):
    if not isinstance(v, dict):
        nope(path, "the config is a record")
    only_keys(v, path, ["secrets", "platformName", "scheme", "maxBodyBytes", "maxDepth", "subscribedEvents",
                        "allowWeakSecrets", "diagnostics", "product", "raise", "sync"])

    def raise_config(r, p):
        if not isinstance(r, dict):
            nope(p, "not a record")
        only_keys(r, p, ["eventTypes"])

        def labels(m, q):
            if not isinstance(m, dict):
                nope(q, "not a map")
            return [(k, None if x is None else w_str(x, f"{q}.{k}")) for k, x in m.items()]
        return rec(event_types=opt(r.get("eventTypes"), f"{p}.eventTypes", labels))
    return rec(
        secrets=w_list(required(v, "secrets", path), f"{path}.secrets", w_secret),
        platform_name=w_str(required(v, "platformName", path), f"{path}.platformName"),
        scheme=opt(v.get("scheme"), f"{path}.scheme", w_scheme_spec),
        max_body_bytes=opt(v.get("maxBodyBytes"), f"{path}.maxBodyBytes", w_u32),
        max_depth=opt(v.get("maxDepth"), f"{path}.maxDepth", w_u32),
        # The JS API also accepts `giftCreate` / `GiftCreate`; WIT has the kebab-case enum case.
        subscribed_events=opt(v.get("subscribedEvents"), f"{path}.subscribedEvents", lambda x, p: w_list(
            x, p, lambda n, q: w_enum("event-type", "types")(re.sub(r"(?<=[a-z])([A-Z])", r"-\1", n).lower()
                                                            if isinstance(n, str) else n, q))),
        allow_weak_secrets=opt(v.get("allowWeakSecrets"), f"{path}.allowWeakSecrets", w_bool),
        diagnostics=opt(v.get("diagnostics"), f"{path}.diagnostics", w_bool),
        product=opt(v.get("product"), f"{path}.product", w_enum("product", "types")),
        **{"raise": opt(v.get("raise"), f"{path}.raise", raise_config)},
        sync=J_opt(v.get("sync")),  # the sync section crosses as JSON text
    )


def w_verify_options(case):
    o = case.get("options") or {}
    if not isinstance(o, dict):
        nope("options", "not a record")
    only_keys(o, "options", ["scheme", "timestamp", "id", "nowMs", "allowWeakSecrets", "diagnostics"])

    def ts(t, p):  # the WIT field is the timestamp header's text
        return str(t) if is_int(t) and t >= 0 else w_str(t, p)

    now = o.get("nowMs") if o.get("nowMs") is not None else case.get("nowMs")
    return rec(
        scheme=opt(o.get("scheme"), "options.scheme", w_scheme_spec),
        timestamp=opt(o.get("timestamp"), "options.timestamp", ts),
        id=opt(o.get("id"), "options.id", w_str),
        now_ms=opt(now, "options.nowMs", w_s64),
        allow_weak_secrets=opt(o.get("allowWeakSecrets"), "options.allowWeakSecrets", w_bool),
        diagnostics=opt(o.get("diagnostics"), "options.diagnostics", w_bool),
    )


def w_sign_options(o):
    if absent(o):
        return None
    if not isinstance(o, dict):
        nope("options", "not a record")
    only_keys(o, "options", ["scheme", "timestamp", "id", "encoding", "allowWeakSecrets"])
    return rec(
        scheme=opt(o.get("scheme"), "options.scheme", w_scheme_spec),
        timestamp=opt(o.get("timestamp"), "options.timestamp", w_s64),
        id=opt(o.get("id"), "options.id", w_str),
        encoding=opt(o.get("encoding"), "options.encoding", w_enum("tag-encoding")),
        allow_weak_secrets=opt(o.get("allowWeakSecrets"), "options.allowWeakSecrets", w_bool),
    )


def w_headers(pairs):
    def pair(p, path):
        if not isinstance(p, list) or len(p) != 2:
            nope(path, "a header is a [name, value] pair")
        return (w_str(p[0], f"{path}[0]"), w_str(p[1], f"{path}[1]"))

    return w_list(pairs or [], "headers", pair)


def decode_body(spec):
    """The raw bytes of a vector body: {utf8} | {base64} | {hex} | {repeat: {..., count}}."""
    if spec is None:
        return b""
    if "utf8" in spec:
        return spec["utf8"].encode("utf-8", "surrogatepass")
    if "base64" in spec:
        b = spec["base64"].replace("-", "+").replace("_", "/")
        return base64.b64decode(b + "=" * (-len(b) % 4))
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    if "repeat" in spec:
        unit = decode_body({k: v for k, v in spec["repeat"].items() if k != "count"})
        return unit * spec["repeat"]["count"]
    raise ValueError(f"bad body spec {spec!r}")


# ----------------------------------------------------------------------------------- WIT -> vector


def from_wit(v):
    """Records -> dicts with camelCase keys, `none` fields dropped (absent), tuples -> lists."""
    if isinstance(v, Record):
        return {camel(k): from_wit(x) for k, x in vars(v).items() if x is not None}
    if isinstance(v, (list, tuple)):
        return [from_wit(x) for x in v]
    return v


def receipt_to_js(r):
    ev = r.get("event")
    if ev is not None and "resource" in ev:
        ev["resource"] = json.loads(ev["resource"])
    return r


def signed_to_js(s):
    return {"signature": s["signature"], "headers": {k: v for k, v in s["headers"]}}


# ----------------------------------------------------------------------------------------- matcher


def subset_mismatches(actual, expected, path="$"):
    """The contract's deep-subset rules; an expected None means the key must be absent."""
    if expected is None:
        return [] if actual is None else [f"{path}: expected absent, got {actual!r}"]
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {actual!r}"]
        if len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} elements, got {len(actual)}: {actual!r}"]
        return [m for i, (a, e) in enumerate(zip(actual, expected)) for m in subset_mismatches(a, e, f"{path}[{i}]")]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        return [m for k, e in expected.items() for m in subset_mismatches(actual.get(k), e, f"{path}.{k}")]
    same = type(actual) is type(expected) or (is_int(actual) and isinstance(expected, float) and actual == expected)
    return [] if same and actual == expected else [f"{path}: expected {expected!r}, got {actual!r}"]


# ------------------------------------------------------------------------------------------- ops


def op_receive(host, c):
    c = c["input"]
    core = host.new_core(w_config(c.get("config")))
    try:
        body = decode_body(c.get("body"))
        return receipt_to_js(host.receive(core, body, w_headers(c.get("headers")), w_s64(c.get("nowMs", 0), "nowMs")))
    finally:
        host.drop(core)


def op_new_core(host, c):
    c = c["input"]
    host.drop(host.new_core(w_config(c.get("config"))))
    return {}


def op_verify(host, c):
    c = c["input"]
    secrets = w_list(c.get("secrets"), "secrets", w_secret)
    return host.verify_signature(decode_body(c.get("body")), w_str(c.get("headerValue"), "headerValue"), secrets,
                                 w_verify_options(c))


def op_sign(host, c):
    c = c["input"]
    return signed_to_js(host.sign_body(decode_body(c.get("body")), w_secret(c.get("secret")), w_sign_options(c.get("options"))))


def J(v):
    """JSON text of a vector value (absent: `null`, which the core reports as a missing field)."""
    return json.dumps(v)


def J_opt(v):
    """An optional JSON text parameter: None for an absent or null value."""
    return None if v is None else json.dumps(v)


def w_u64(v, path):
    return v if is_int(v) and 0 <= v <= U64_MAX else nope(path, f"{json.dumps(v)} where WIT has a u64")


SYNC_FNS = {"lookupKeys": "lookup-keys", "decideInbound": "decide-inbound", "decideOutbound": "decide-outbound",
            "transition": "transition", "resolve": "resolve", "resolveConflict": "resolve-conflict"}


def sync_op(op):
    return lambda host, c: host.sync_call(SYNC_FNS[op], c.get("input") or {})


# The reconcile functions: op name -> WIT name; the case's input object is the one argument.
RECONCILE_TYPED = {"classifyResponse": "classify-response", "parseModifiedTime": "parse-modified-time",
                   "planReconciliation": "plan-reconciliation", "planDeletions": "plan-deletions",
                   "mergeSubscription": "merge-subscription", "planPause": "plan-pause", "planResume": "plan-resume",
                   "planSecretRotation": "plan-secret-rotation", "pricePlan": "price-plan",
                   "startQueryRun": "start-query-run", "acceptQueryPage": "accept-query-page",
                   "finishQueryRun": "finish-query-run", "planMergeRemap": "plan-merge-remap",
                   "mergeRaiseSubscription": "merge-raise-subscription",
                   "planRaiseSubscription": "plan-raise-subscription",
                   "learnRaiseEventTypes": "learn-raise-event-types",
                   "summarizeRaiseDeliveryLogs": "summarize-raise-delivery-logs",
                   "startVolunteerPoll": "start-volunteer-poll", "acceptVolunteerPage": "accept-volunteer-page",
                   "finishVolunteerPoll": "finish-volunteer-poll", "volunteerBudget": "volunteer-budget",
                   "planVolunteerDeletions": "plan-volunteer-deletions"}


def op_initial_matcher(host, c):
    """The `initial-matcher` resource fed chunk by chunk, then finished."""
    i = c.get("input") or {}
    if not isinstance(i, dict):
        nope("input", "not an object")
    only_keys(i, "input", ["chunks", "seed"])
    if "seed" in i:
        # 64 hex characters in the vectors, 32 bytes in WIT (`with-seed`).
        text = str(i["seed"])
        seed = [int(text[k:k + 2], 16) if all(c in "0123456789abcdefABCDEF" for c in text[k:k + 2]) else 0
                for k in range(0, len(text) - 1, 2)]
        m = host._unwrap(host.rc("[static]initial-matcher.with-seed", bytes(seed), None, None), ResourceAny)
    else:
        m = host.rc("[constructor]initial-matcher", None, None)
    try:
        for n, chunk in enumerate(i.get("chunks") or []):
            if not isinstance(chunk, dict):
                nope(f"chunks[{n}]", "not an object")
            only_keys(chunk, f"chunks[{n}]", ["side", "records", "text"])
            side = chunk.get("side")
            if side not in ("partner", "virtuous"):
                nope(f"chunks[{n}].side", "neither partner nor virtuous: no such resource method")
            if "text" in chunk:
                host.unit_call(host.reconcile[f"[method]initial-matcher.add-{side}-chunk-json"], m, chunk["text"])
                continue
            name = f"[method]initial-matcher.add-{side}-chunk"
            records = host.method_arg(name, chunk.get("records") or [], f"chunks[{n}].records")
            host.unit_call(host.reconcile[name], m, records)
        return host.method_call("[method]initial-matcher.finish", m)
    finally:
        host.drop(m)


def op_query_script(host, c):
    """Consecutive query runs over fixed pages, as cursor::run_query_script does: start-query-run,
    accept-query-page per page, finish-query-run once done, each run from the cursor the last stored."""
    i = c.get("input") or {}
    if not isinstance(i, dict):
        nope("input", "not an object")
    cursor = i.get("cursor") or {}
    runs = []
    for n, r in enumerate(i.get("runs") or []):
        if not isinstance(r, dict):
            nope(f"runs[{n}]", "not an object")
        step = host.rc_typed("start-query-run", {"cursor": cursor, "config": i.get("config") or {}})
        requests = [step["request"]] if "request" in step else []
        pages, fresh = [], []
        for rows in r.get("pages") or []:
            step = host.rc_typed("accept-query-page", {"run": step["run"], "rows": rows})
            page = step["page"]
            if "next" in page:
                requests.append(page["next"])
            fresh.extend(page["freshIds"])
            pages.append(page)
        out = {"requests": requests, "pages": pages, "freshIds": fresh}
        if step["run"].get("done"):
            cursor = out["cursor"] = host.rc_typed("finish-query-run", step["run"])
        runs.append(out)
    return {"runs": runs}


def op_volunteer_script(host, c):
    """Consecutive Volunteer polls over fixed bodies, as tests/common/scripted.rs run_volunteer_script does."""
    i = c.get("input") or {}
    if not isinstance(i, dict):
        nope("input", "not an object")
    cursor = i.get("cursor")
    runs = []
    for n, r in enumerate(i.get("runs") or []):
        if not isinstance(r, dict):
            nope(f"runs[{n}]", "not an object")
        start = {"resource": i.get("resource")}
        for k in ("mode", "config"):
            if k in i:
                start[k] = i[k]
        if cursor is not None:
            start["cursor"] = cursor
        step = host.rc_typed("start-volunteer-poll", start)
        urls = [step["request"]["url"]] if "request" in step else []
        pages, ids = [], []
        for body in r.get("pages") or []:
            step = host.rc_typed("accept-volunteer-page", {"run": step["run"], "body": body})
            if "request" in step:
                urls.append(step["request"]["url"])
            ids.extend(ch["id"] for ch in step["page"]["changes"])
            pages.append(step["page"])
        out = {"urls": urls, "pages": pages, "changeIds": ids}
        if step["run"].get("done"):
            out["end"] = host.rc_typed("finish-volunteer-poll", step["run"])
            cursor = out["end"]["cursor"]
        runs.append(out)
    return {"runs": runs}


def op_rate_budget(host, c):
    """The `rate-budget` resource driven step by step, as ratelimit::run_rate_script does."""
    i = c.get("input") or {}
    if not isinstance(i, dict):
        nope("input", "not an object")
    b = host._unwrap(host.rc("[constructor]rate-budget", J_opt(i.get("config"))), ResourceAny)
    decisions, slices = [], []
    try:
        for n, step in enumerate(i.get("steps") or []):
            p = f"steps[{n}]"
            if not isinstance(step, dict):
                nope(p, "not an object")
            tag, val = step.get("tag"), step.get("val")
            if tag == "observe":
                host.unit_call(host.reconcile["[method]rate-budget.observe"], b,
                               host.method_arg("[method]rate-budget.observe", val, f"{p}.val"))
            elif tag == "spend":
                host.rc("[method]rate-budget.spend", b, w_u32(val, f"{p}.val"))
            elif tag == "decide":
                decisions.append(host.method_call("[method]rate-budget.decide", b,
                                                  host.method_arg("[method]rate-budget.decide", val, f"{p}.val")))
            elif tag == "schedule":
                if not isinstance(val, dict):
                    nope(f"{p}.val", "not an object")
                only_keys(val, f"{p}.val", ["remainingRequests", "nowMs"])
                slices.append(host.method_call("[method]rate-budget.schedule", b,
                                               w_u64(val.get("remainingRequests"), f"{p}.val.remainingRequests"),
                                               w_s64(val.get("nowMs"), f"{p}.val.nowMs")))
            elif tag == "reload":
                stored = host.rc("[method]rate-budget.to-json", b)
                host.drop(b)
                b = host._unwrap(host.rc("[static]rate-budget.from-json", stored), ResourceAny)
            else:
                nope(f"{p}.tag", "no such resource method")
        return {"decisions": decisions, "slices": slices, "budget": json.loads(host.rc("[method]rate-budget.to-json", b))}
    finally:
        host.drop(b)


OPS = {"receive": op_receive, "newCore": op_new_core, "verifySignature": op_verify, "signBody": op_sign,
       **{op: sync_op(op) for op in SYNC_FNS},
       "initialMatcher": op_initial_matcher, "rateBudget": op_rate_budget, "queryScript": op_query_script,
       "volunteerPollScript": op_volunteer_script,
       **{op: (lambda name: lambda host, c: host.rc_typed(name, c.get("input") or {}))(name) for op, name in RECONCILE_TYPED.items()}}


def load_vector_files():
    """[(file relative to tests/vectors, cases)] for every family the component runs."""
    files = []
    for family in FAMILIES:
        for path in sorted((VECTORS / family).glob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc.get("cases"), list):  # third-party data (Wycheproof) has no `cases`
                files.append((str(path.relative_to(VECTORS)), doc["cases"]))
    return files


# ------------------------------------------------------------------------------------------- tests

HOST = None
TALLY = {"passed": 0, "failed": 0, "skipped": 0}
FAMILY_TALLY = {}  # family -> [passed, run]


def host():
    global HOST
    if HOST is None:
        HOST = Host()
    return HOST


def check_case(test, c, file=""):
    op = OPS.get(c["op"])
    if op is None:
        test.fail(f"no wasmtime runner for op {c['op']!r}")
    try:
        value, error = op(host(), c), None
    except Unrepresentable as e:
        TALLY["skipped"] += 1
        test.skipTest(f"not representable in WIT: {e}")
    except ComponentErr as e:
        value, error = None, e.payload
    except Trap as e:
        TALLY["failed"] += 1
        test.fail(f"the component trapped: {e}")
    if c.get("expectError") is not None:
        if error is None:
            problems = [f"expected an error {c['expectError']!r}, got {value!r}"]
        else:
            problems = [m for k, e in c["expectError"].items() for m in subset_mismatches(error.get(k), e, f"error.{k}")]
    elif error is not None:
        problems = [f"unexpected error: {error}"]
    else:
        problems = subset_mismatches(empty_lists_as_absent(value, c.get("expect") or {}), c.get("expect") or {})
    TALLY["failed" if problems else "passed"] += 1
    fam = FAMILY_TALLY.setdefault(file.split("/")[0] if "/" in file else "receive", [0, 0])
    fam[0] += 0 if problems else 1
    fam[1] += 1
    test.assertEqual(problems, [], f"{c['name']}: {c.get('why', '')}")


def empty_lists_as_absent(actual, expected):
    """A WIT list cannot be absent: where a vector expects a key absent (null) and the typed result has an
    empty list (the npm package omits empty lists such as `reassertFields`), the key is dropped."""
    if isinstance(actual, list) and isinstance(expected, list):
        return [empty_lists_as_absent(a, e) for a, e in zip(actual, expected)] + actual[len(expected):]
    if not isinstance(actual, dict) or not isinstance(expected, dict):
        return actual
    out = dict(actual)
    for k, e in expected.items():
        if e is None and out.get(k) == []:
            del out[k]
        elif k in out:
            out[k] = empty_lists_as_absent(out[k], e)
    return out


class Vectors(unittest.TestCase):
    """One test per vector case, generated below."""


def _make(c, file):
    return lambda self: check_case(self, c, file)


for _file, _cases in load_vector_files():
    for _c in _cases:
        _name = "test_" + re.sub(r"\W", "_", f"{_file[:-5]}__{_c['name']}")
        setattr(Vectors, _name, _make(_c, _file))


class ComponentSpecific(unittest.TestCase):
    def test_generate_secret_random_and_distinct(self):
        seen = {host().generate_secret() for _ in range(20)}
        self.assertEqual(len(seen), 20)
        for s in seen:
            self.assertRegex(s, r"^[A-Za-z0-9_-]{43}$")
        self.assertRegex(host().generate_secret(rec(bytes=64, format="hex")), r"^[0-9a-f]{128}$")

    def test_generate_secret_bad_options_error_record(self):
        with self.assertRaises(ComponentErr) as cm:
            host().generate_secret(rec(bytes=16, format=None))
        self.assertEqual((cm.exception.payload["code"], cm.exception.payload["field"]), ("invalid-option", "options.bytes"))

    def test_fallible_constructor_error_record(self):
        with self.assertRaises(ComponentErr) as cm:
            host().new_core(w_config({"secrets": [SECRET, "short"], "platformName": "P"}))
        self.assertEqual(cm.exception.payload["code"], "weak-secret")
        self.assertEqual(cm.exception.payload["field"], "secrets[1]")
        self.assertEqual(sorted(cm.exception.payload), ["code", "field", "message", "module"])

    def test_sign_then_receive(self):
        body = b'{"event":"GiftCreate","gift":{"id":78421,"amount":"500.00"}}'
        signed = signed_to_js(host().sign_body(body, w_secret(SECRET), None))
        core = host().new_core(w_config({"secrets": [{"id": "k1", "secret": SECRET}], "platformName": "P"}))
        r = receipt_to_js(host().receive(core, body, list(signed["headers"].items()), 1700000000000))
        host().drop(core)
        self.assertEqual((r["status"], r["reason"], r["secretId"]), (200, "accepted", "k1"))
        self.assertEqual(r["event"]["resource"], {"id": 78421, "amount": "500.00"})


OPTIONS = {"platformName": "Acme Giving", "customerId": "cust-1"}


def sync_core(options=OPTIONS):
    section = {k: v for k, v in options.items() if k != "platformName"}
    return host().new_core(w_config({"secrets": [SECRET], "platformName": options["platformName"], "sync": section}))


def outcome(fn):
    """('ok', parsed JSON) or ('err', the error record as a dict)."""
    try:
        return ("ok", fn())
    except ComponentErr as e:
        return ("err", e.payload)


def vector_cases(file):
    return next(cases for f, cases in load_vector_files() if f == file)


class SyncAndReconcile(unittest.TestCase):
    def test_sync_json_config(self):
        with self.assertRaises(ComponentErr) as cm:
            host().new_core(rec(**{**vars(w_config({"secrets": [SECRET], "platformName": "P"})), "sync": "{"}))
        self.assertEqual((cm.exception.payload["code"], cm.exception.payload["field"]), ("invalid-argument", "sync"))
        with self.assertRaises(ComponentErr) as cm:
            host().new_core(w_config({"secrets": [SECRET], "platformName": "P", "sync": {"customerId": "c", "cooldownMs": -1}}))
        self.assertEqual((cm.exception.payload["field"], cm.exception.payload["module"]), ("sync.cooldownMs", "config"))
        bare = host().new_core(w_config({"secrets": [SECRET], "platformName": "P"}))
        with self.assertRaises(ComponentErr) as cm:
            host().core_call(bare, "resolve", {"input": {"kind": "gift", "local": {}, "remote": {}}})
        self.assertEqual(cm.exception.payload["code"], "sync-not-configured")
        host().drop(bare)

    def test_core_methods_decide_as_the_free_functions(self):
        compared = 0
        for file in ["sync/inbound.json", "sync/outbound.json", "sync/resolve.json", "sync/resolve_conflict.json",
                     "sync/sequences.json"]:
            for c in vector_cases(file):
                i = c["input"]
                options = i.get("options", OPTIONS)
                try:
                    core = sync_core(options)
                except ComponentErr:
                    continue  # options the constructor refuses: covered by the vector itself
                now = i.get("nowMs", 0)
                h = host()
                try:
                    name = SYNC_FNS[c["op"]]
                    bound_input = {k: v for k, v in i.items() if k != "options"}
                    bound = outcome(lambda: h.core_call(core, name, bound_input))
                    free_input = i if name == "resolve-conflict" else {**i, "options": options}
                    free = outcome(lambda: h.sync_call(name, free_input))
                    self.assertEqual(bound, free, f"{file} / {c['name']}")
                    compared += 1
                finally:
                    h.drop(core)
        self.assertGreaterEqual(compared, 55)

    def test_initial_matcher_resource(self):
        h = host()
        h.drop(h.rc("[constructor]initial-matcher", U32_MAX, U32_MAX))  # size hints are capped, never trap
        m = h.rc("[constructor]initial-matcher", 1, None)
        add_p, add_v = "[method]initial-matcher.add-partner-chunk", "[method]initial-matcher.add-virtuous-chunk"
        h.unit_call(h.reconcile[add_p], m, h.method_arg(add_p, [{"id": "p1", "emails": ["A@x.org"]}], "records"))
        h.unit_call(h.reconcile[add_v], m, h.method_arg(add_v, [{"id": "v1", "emails": ["a@x.org "]}], "records"))
        with self.assertRaises(ComponentErr) as cm:
            h.unit_call(h.reconcile[add_p], m, h.method_arg(add_p, [{"id": " p1 "}], "records"))
        self.assertEqual((cm.exception.payload["code"], cm.exception.payload["module"]), ("duplicate-id", "matcher"))
        with self.assertRaises(ComponentErr) as cm:  # `data` is JSON text: text that is not JSON names it
            h.unit_call(h.reconcile[add_p], m, [rec(id="p8", references=[], emails=[], names=[], postal_codes=[],
                                                     phones=[], data="{")])
        self.assertEqual(cm.exception.payload["field"], "records[0].data")
        self.assertEqual(h.rc("[method]initial-matcher.size", m), (1, 1))
        plan = h.method_call("[method]initial-matcher.finish", m)
        self.assertEqual(len(plan["pairs"]), 1)
        self.assertEqual(plan["pairs"][0]["tier"], "email")
        self.assertEqual(h.method_call("[method]initial-matcher.finish", m), plan)
        h.drop(m)

    def test_rate_budget_resource(self):
        h = host()
        with self.assertRaises(ComponentErr) as cm:
            h._unwrap(h.rc("[constructor]rate-budget", '{"limit":1500,"liveHeadroom":1500}'), ResourceAny)
        self.assertEqual((cm.exception.payload["code"], cm.exception.payload["field"]), ("invalid-rate-config", "liveHeadroom"))
        b = h._unwrap(h.rc("[constructor]rate-budget", None), ResourceAny)
        h.unit_call(h.reconcile["[method]rate-budget.observe"], b, h.method_arg(
            "[method]rate-budget.observe", {"status": 429, "headers": {"retryAfter": "30"}, "nowMs": 1700000000000}, "o"))
        d = h.method_call("[method]rate-budget.decide", b, h.method_arg("[method]rate-budget.decide", {"nowMs": 1700000000000}, "r"))
        self.assertFalse(d["go"])
        self.assertEqual(d["reason"], "retry-after")
        for attempt in [0, 1, 2, 31, U32_MAX]:
            self.assertTrue(0 < h.rc("[method]rate-budget.backoff-ms", b, attempt, U32_MAX) <= 300000)
        state = h.rc("[method]rate-budget.to-json", b)
        r = h._unwrap(h.rc("[static]rate-budget.from-json", state), ResourceAny)
        self.assertEqual(h.rc("[method]rate-budget.to-json", r), state)
        h.drop(r)
        h.drop(b)

    def test_hostile_json_never_traps(self):
        """Every sync/reconcile function and resource method, on mutated vector inputs and hostile text."""
        import random
        rnd = random.Random(20240605)
        deep = 1
        for _ in range(100):
            deep = [deep]
        hostile_text = ["", "{", "[", "null", "0", "1e999", "-1e999", "123456789012345678901234567890", '"x"', "[]",
                        "{}", "\u0000", '"\\ud800"', "[" * 100000, '{"a":' * 20000, "[" * 127 + "]" * 127,
                        '{"nowMs":9223372036854775807}', '{"nowMs":1e300}', "".join(chr(rnd.randint(1, 0xd7ff)) for _ in range(300))]
        hostile_values = [None, True, -1, 0, 2**64, -(2**63), 1.5, 1e308, "", "x" * 5000, [], {}, deep, {"a": deep},
                          list(range(2000))]
        s64s = [0, -1, S64[0], S64[1]]

        def mutate(v):
            if not isinstance(v, (dict, list)) or not v or rnd.random() < 0.2:
                return rnd.choice(hostile_values)
            copy = dict(v) if isinstance(v, dict) else list(v)
            k = rnd.choice(list(copy.keys()) if isinstance(copy, dict) else range(len(copy)))
            copy[k] = mutate(copy[k])
            return copy

        def text(v):
            return rnd.choice(hostile_text) if rnd.random() < 0.3 else json.dumps(v)

        def attempt(fn):
            try:
                fn()
            except (ComponentErr, Unrepresentable):
                pass  # an error record is fine, and so is a value WIT's types cannot hold; a Trap is not

        h = host()
        core = sync_core()
        calls = 0
        for _ in range(2):
            for file, cases in load_vector_files():
                if "/" not in file:
                    continue
                for c in cases:
                    i = mutate(c.get("input") or {})
                    g = (lambda k: i.get(k)) if isinstance(i, dict) else (lambda k: None)
                    now = rnd.choice(s64s)
                    op = c["op"]
                    if op in SYNC_FNS:
                        name = SYNC_FNS[op]
                        inp = i if isinstance(i, dict) else {}
                        # Typed arguments from the mutated input; the JSON parameters (options, the
                        # stored record) also as hostile text.
                        json_params = {"options", "record"} & set(inp)
                        attempt(lambda: h.sync_call(name, inp))
                        attempt(lambda: h.sync_call(name, {**inp, **{k: None for k in json_params}},
                                                    override={k: text(inp[k]) for k in json_params}))
                        if name != "transition":
                            bound = {k: v for k, v in inp.items() if k != "options"}
                            attempt(lambda: h.core_call(core, name, bound))
                    elif op == "initialMatcher":
                        m = h.rc("[constructor]initial-matcher", None, None)
                        for ch in g("chunks") if isinstance(g("chunks"), list) else [g("chunks")]:
                            recs = ch.get("records") if isinstance(ch, dict) else ch
                            for side in ("partner", "virtuous"):
                                name = f"[method]initial-matcher.add-{side}-chunk"
                                attempt(lambda: h.unit_call(h.reconcile[name], m, h.method_arg(name, recs, "records")))
                                # The compact form: the same records, and hostile text, as JSON text.
                                attempt(lambda: h.unit_call(h.reconcile[name + "-json"], m, text(recs)))
                                attempt(lambda: h.unit_call(h.reconcile[name + "-json"], m, rnd.choice(hostile_text)))
                        attempt(lambda: h.method_call("[method]initial-matcher.finish", m))
                        h.drop(m)
                        # A seed of any length: 32 bytes make a matcher, anything else invalid-seed, never a trap.
                        attempt(lambda: h.drop(h._unwrap(h.rc("[static]initial-matcher.with-seed",
                                                              bytes(rnd.randrange(256) for _ in range(rnd.choice([0, 31, 32, 33, 1000]))),
                                                              rnd.choice([None, 0, U32_MAX]), None), ResourceAny)))
                    elif op == "rateBudget":
                        b = h._unwrap(h.rc("[constructor]rate-budget", None), ResourceAny)
                        for st in g("steps") if isinstance(g("steps"), list) else [g("steps")]:
                            val = st.get("val") if isinstance(st, dict) else st
                            attempt(lambda: h.unit_call(h.reconcile["[method]rate-budget.observe"], b,
                                                        h.method_arg("[method]rate-budget.observe", val, "val")))
                            attempt(lambda: h.method_call("[method]rate-budget.decide", b,
                                                          h.method_arg("[method]rate-budget.decide", val, "val")))
                            attempt(lambda: h.method_call("[method]rate-budget.decide", b, h.method_arg(
                                "[method]rate-budget.decide", {"cost": rnd.choice([0, U32_MAX]), "nowMs": now}, "val")))
                            h.rc("[method]rate-budget.spend", b, rnd.choice([0, U32_MAX]))
                            h.method_call("[method]rate-budget.schedule", b, rnd.choice([0, U64_MAX]), now)
                            h.rc("[method]rate-budget.backoff-ms", b, rnd.choice([0, U32_MAX]), rnd.choice([0, U32_MAX]))
                        h.drop(b)
                    elif op == "queryScript":
                        attempt(lambda: h.rc_typed("start-query-run", i))
                        for r in g("runs") if isinstance(g("runs"), list) else [g("runs")]:
                            for rows in (r.get("pages") if isinstance(r, dict) else None) or [r]:
                                attempt(lambda: h.rc_typed("accept-query-page", {"run": {}, "rows": rows}))
                    elif op == "volunteerPollScript":
                        attempt(lambda: h.rc_typed("start-volunteer-poll", i))
                        run = {"resource": "users", "config": {}, "start": {}, "page": 1}
                        for r in g("runs") if isinstance(g("runs"), list) else [g("runs")]:
                            pages = r.get("pages") if isinstance(r, dict) else r
                            for body in pages if isinstance(pages, list) else [pages]:
                                attempt(lambda: h.rc_typed("accept-volunteer-page", {"run": run, "body": body}))
                                attempt(lambda: h.rc_typed("accept-volunteer-page", {"run": mutate(run), "body": mutate(body)}))
                    elif op in RECONCILE_TYPED:
                        attempt(lambda: h.rc_typed(RECONCILE_TYPED[op], i))
                    else:
                        continue  # a receive op in the adversarial family: the receiver's own hostile test covers it
                    calls += 1
        for t in hostile_text:
            attempt(lambda: h.rc_typed("finish-query-run", t))
            attempt(lambda: h.rc_typed("start-query-run", {"config": t}))
            attempt(lambda: h.rc_typed("parse-modified-time", {"text": t}))
            attempt(lambda: h.rc_typed("plan-reconciliation", {"options": t, "config": t, "rows": [], "stored": [], "nowMs": 0}))
            attempt(lambda: h.rc_typed("classify-response", {"status": 200, "body": t, "retryAfter": t}))
            attempt(lambda: h.sync_call("resolve", {"input": {"kind": "gift", "local": {}, "remote": {}}},
                                        override={"options": t}))
            attempt(lambda: h.rc("[static]rate-budget.from-json", t))
        h.drop(core)
        self.assertGreater(calls, 400)


class ZzAfterAll(unittest.TestCase):
    """Runs last (unittest loads classes and methods in name order)."""

    def test_instance_survived_every_vector(self):
        """The one instance served every case without a trap."""
        self.assertRegex(host().generate_secret(), r"^[A-Za-z0-9_-]{43}$")
        self.assertEqual(host().rc_typed("parse-modified-time", {"text": "2024-03-05T14:02:11Z"})["ms"], 1709647331000)


def tearDownModule():
    families = ", ".join(f"{f} {p}/{n}" for f, (p, n) in FAMILY_TALLY.items())
    print(f"\n[component/wasmtime] vectors: {TALLY['passed']} passed, {TALLY['failed']} failed, "
          f"{TALLY['skipped']} skipped (not representable in WIT); {families}")


if __name__ == "__main__":
    unittest.main()
