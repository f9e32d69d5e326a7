"""Every shared vector (tests/vectors/*.json) against the component in wasmtime (PyPI `wasmtime`).

Run: .venv/bin/python -m unittest tests/component/test_wasmtime.py -v   (after scripts/build-component)

Same translation as tests/component/support.mjs, in wasmtime-py's rendering of the WIT types:
records are `wasmtime.component.Record` objects with kebab-case attributes, `list<u8>` is `bytes`,
`option` is `None` or the value, tuples are Python tuples. Variants and results are *untagged* when
their cases have distinct Python types (scheme-spec: `str` | Record; result<string, error>;
result<core, error>) and `Variant(tag, payload)` when they collide (result<verification, error>,
result<signed, error>: both records). A vector input WIT's types cannot express is skipped as
unrepresentable. One instance serves every case, so a trap would fail every later case too.
"""

import base64
import json
import os
import re
import unittest
from pathlib import Path

from wasmtime import Engine, Store, WasiConfig, WasmtimeError
from wasmtime.component import Component, Linker, Record, ResourceAny, Variant

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "build" / "component" / "virtuous_sync.wasm"
VECTORS = ROOT / "tests" / "vectors"
INTERFACE = "virtuous:sync/receiver@0.1.0"
SECRET = "virtuous-test-secret-0123456789abcdef"
U32_MAX = 2**32 - 1
S64 = (-(2**63), 2**63 - 1)


class Unrepresentable(Exception):
    """A vector input WIT's types cannot express."""


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
        iface = self.instance.get_export_index(self.store, INTERFACE)
        if iface is None:
            raise RuntimeError(f"the component does not export {INTERFACE}")

        def func(name):
            idx = self.instance.get_export_index(self.store, name, iface)
            if idx is None:
                raise RuntimeError(f"{INTERFACE} has no export {name}")
            return self.instance.get_func(self.store, idx)

        self._new = func("[constructor]core")
        self._receive = func("[method]core.receive")
        self._verify = func("verify-signature")
        self._sign = func("sign-body")
        self._generate = func("generate-secret")

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
        return v
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
                        "allowWeakSecrets", "diagnostics"])
    return rec(
        secrets=w_list(required(v, "secrets", path), f"{path}.secrets", w_secret),
        platform_name=w_str(required(v, "platformName", path), f"{path}.platformName"),
        scheme=opt(v.get("scheme"), f"{path}.scheme", w_scheme_spec),
        max_body_bytes=opt(v.get("maxBodyBytes"), f"{path}.maxBodyBytes", w_u32),
        max_depth=opt(v.get("maxDepth"), f"{path}.maxDepth", w_u32),
        subscribed_events=opt(v.get("subscribedEvents"), f"{path}.subscribedEvents", lambda x, p: w_list(x, p, w_str)),
        allow_weak_secrets=opt(v.get("allowWeakSecrets"), f"{path}.allowWeakSecrets", w_bool),
        diagnostics=opt(v.get("diagnostics"), f"{path}.diagnostics", w_bool),
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
        encoding=opt(o.get("encoding"), "options.encoding", w_str),
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
    if ev is not None and "resourceJson" in ev:
        ev["resource"] = json.loads(ev.pop("resourceJson"))
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
    core = host.new_core(w_config(c.get("config")))
    try:
        body = decode_body(c.get("body"))
        return receipt_to_js(host.receive(core, body, w_headers(c.get("headers")), w_s64(c.get("nowMs", 0), "nowMs")))
    finally:
        host.drop(core)


def op_new_core(host, c):
    host.drop(host.new_core(w_config(c.get("config"))))
    return {}


def op_verify(host, c):
    secrets = w_list(c.get("secrets"), "secrets", w_secret)
    return host.verify_signature(decode_body(c.get("body")), w_str(c.get("headerValue"), "headerValue"), secrets,
                                 w_verify_options(c))


def op_sign(host, c):
    return signed_to_js(host.sign_body(decode_body(c.get("body")), w_secret(c.get("secret")), w_sign_options(c.get("options"))))


OPS = {"receive": op_receive, "newCore": op_new_core, "verifySignature": op_verify, "signBody": op_sign}


def load_vector_files():
    files = []
    for path in sorted(VECTORS.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc.get("cases"), list):  # third-party data (Wycheproof) has no `cases`
            files.append((path.name, doc["cases"]))
    return files


# ------------------------------------------------------------------------------------------- tests

HOST = None
TALLY = {"passed": 0, "failed": 0, "skipped": 0}


def host():
    global HOST
    if HOST is None:
        HOST = Host()
    return HOST


def check_case(test, c):
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
        problems = subset_mismatches(value, c.get("expect") or {})
    TALLY["failed" if problems else "passed"] += 1
    test.assertEqual(problems, [], f"{c['name']}: {c.get('why', '')}")


class Vectors(unittest.TestCase):
    """One test per vector case, generated below."""


def _make(c):
    return lambda self: check_case(self, c)


for _file, _cases in load_vector_files():
    for _c in _cases:
        _name = "test_" + re.sub(r"\W", "_", f"{_file[:-5]}__{_c['name']}")
        setattr(Vectors, _name, _make(_c))


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
        self.assertEqual(sorted(cm.exception.payload), ["code", "field", "message"])

    def test_sign_then_receive(self):
        body = b'{"event":"GiftCreate","gift":{"id":78421,"amount":"500.00"}}'
        signed = signed_to_js(host().sign_body(body, w_secret(SECRET), None))
        core = host().new_core(w_config({"secrets": [{"id": "k1", "secret": SECRET}], "platformName": "P"}))
        r = receipt_to_js(host().receive(core, body, list(signed["headers"].items()), 1700000000000))
        host().drop(core)
        self.assertEqual((r["status"], r["reason"], r["secretId"]), (200, "accepted", "k1"))
        self.assertEqual(r["event"]["resource"], {"id": 78421, "amount": "500.00"})



class ZzAfterAll(unittest.TestCase):
    """Runs last (unittest loads classes and methods in name order)."""

    def test_instance_survived_every_vector(self):
        """The one instance served every case without a trap."""
        self.assertRegex(host().generate_secret(), r"^[A-Za-z0-9_-]{43}$")


def tearDownModule():
    print(f"\n[component/wasmtime] vectors: {TALLY['passed']} passed, {TALLY['failed']} failed, "
          f"{TALLY['skipped']} skipped (not representable in WIT)")


if __name__ == "__main__":
    unittest.main()
