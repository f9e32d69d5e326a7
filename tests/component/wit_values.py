"""Type-directed translation between the vectors' JSON (the npm package's shapes) and wasmtime-py's
rendering of the component's WIT types: the same convention as tests/component/wit-values.mjs.

  record                  <-> dict, kebab-case field `foo-bar` as key `fooBar` (wasmtime-py: a
                              `Record` with kebab-case attributes)
  variant                 <-> {tag, val} (a unit case: {tag}); wasmtime-py tags a variant
                              (`Variant(tag, payload)`) only when its cases' Python types collide,
                              which the runtime type tells (`_tagged()`)
  enum                    <-> its case name
  option                  <-> absent / None, or the value
  list<tuple<K, T>>       <-> dict (a map), K a string or an enum
  `json` (alias of string) <-> any JSON value (dumped / parsed)

The WIT JSON (build/component/wit.json, from `wasm-tools component wit wit/ --json`) gives the
structure and the `json` alias (aliases do not survive into the runtime types); the runtime types
walked alongside give wasmtime-py's tagging. A vector value the WIT type cannot hold raises
`Unrepresentable`; a missing list is the empty list.
"""

import json
import re
from pathlib import Path

from wasmtime.component import Record, Variant

ROOT = Path(__file__).resolve().parents[2]
WIT_JSON = ROOT / "build" / "component" / "wit.json"
LIMITS = {"u8": (0, 2**8 - 1), "u16": (0, 2**16 - 1), "u32": (0, 2**32 - 1), "u64": (0, 2**64 - 1),
          "s64": (-(2**63), 2**63 - 1)}


class Unrepresentable(Exception):
    """A vector input WIT's types cannot express."""


def nope(path, why):
    raise Unrepresentable(f"{path}: {why}")


def camel(name):
    return re.sub(r"-([a-z0-9])", lambda m: m.group(1).upper(), name)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class Wit:
    def __init__(self, path=WIT_JSON):
        self.doc = json.loads(Path(path).read_text(encoding="utf-8"))

    def func(self, iface, name):
        i = next(x for x in self.doc["interfaces"] if x["name"] == iface)
        return i["functions"][name]

    def named(self, iface, name):
        i = next(x for x in self.doc["interfaces"] if x["name"] == iface)
        return i["types"][name]

    def resolve(self, t):
        """{"json": True}, {"prim": name} or the kind with aliases followed."""
        while isinstance(t, int):
            d = self.doc["types"][t]
            if d["name"] == "json":
                return {"json": True}
            kind = d["kind"]
            if not isinstance(kind, dict):
                return {"other": kind}
            if "type" not in kind:
                return kind
            t = kind["type"]
        return {"prim": t}

    def map_value(self, elem):
        k = self.resolve(elem)
        if "tuple" not in k or len(k["tuple"]["types"]) != 2:
            return None
        key = self.resolve(k["tuple"]["types"][0])
        return k["tuple"]["types"][1] if key.get("prim") == "string" or "enum" in key else None

    def to_wit(self, t, rt, v, path):
        """Vector JSON -> wasmtime-py value of WIT type `t` (runtime type `rt`)."""
        k = self.resolve(t)
        if k.get("json"):
            return json.dumps(v)
        if "prim" in k:
            p = k["prim"]
            if p == "string":
                return v if isinstance(v, str) else nope(path, f"{json.dumps(v)} where WIT has a string")
            if p == "bool":
                return v if isinstance(v, bool) else nope(path, f"{json.dumps(v)} where WIT has a bool")
            if p == "f64":
                ok = isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) != float("inf")
                return float(v) if ok else nope(path, f"{json.dumps(v)} where WIT has an f64")
            lo, hi = LIMITS[p]
            return v if is_int(v) and lo <= v <= hi else nope(path, f"{json.dumps(v)} where WIT has a {p}")
        if "option" in k:
            if v is None:
                return Variant("none") if rt._tagged() else None
            inner = self.to_wit(k["option"], rt.payload, v, path)
            return Variant("some", inner) if rt._tagged() else inner
        if "enum" in k:
            if not isinstance(v, str) or v not in [c["name"] for c in k["enum"]["cases"]]:
                nope(path, f"{json.dumps(v)} is not a case of the WIT enum")
            return v
        if "record" in k:
            if not isinstance(v, dict):
                nope(path, "not an object (WIT record)")
            fields = k["record"]["fields"]
            names = [camel(f["name"]) for f in fields]
            for key in v:
                if key not in names:
                    nope(f"{path}.{key}", "no such field in the WIT record")
            r = Record()
            for f, (_, frt) in zip(fields, rt.fields):
                key = camel(f["name"])
                fk = self.resolve(f["type"])
                x = v.get(key)
                if x is None and "option" not in fk and "list" not in fk:
                    nope(f"{path}.{key}", "required by the WIT record")
                val = [] if x is None and "list" in fk else self.to_wit(f["type"], frt, x, f"{path}.{key}")
                setattr(r, f["name"], val)
            return r
        if "variant" in k:
            if not isinstance(v, dict) or not isinstance(v.get("tag"), str):
                nope(path, "a WIT variant is {tag, val}")
            cases = k["variant"]["cases"]
            idx = next((n for n, c in enumerate(cases) if c["name"] == v["tag"]), None)
            if idx is None:
                nope(f"{path}.tag", f"{json.dumps(v['tag'])} is not a case of the WIT variant")
            c, (_, crt) = cases[idx], rt.cases[idx]
            payload = None if c["type"] is None else self.to_wit(c["type"], crt, v.get("val"), f"{path}.val")
            return Variant(c["name"], payload) if rt._tagged() else payload
        if "list" in k:
            mv = self.map_value(k["list"])
            if mv is not None:
                if not isinstance(v, dict):
                    nope(path, "not an object (a WIT list of pairs)")
                krt, vrt = rt.element.elements
                kt = self.resolve(k["list"])["tuple"]["types"][0]
                return [(self.to_wit(kt, krt, key, f"{path}.{key}"), self.to_wit(mv, vrt, x, f"{path}.{key}"))
                        for key, x in v.items()]
            if not isinstance(v, list):
                nope(path, "not a list")
            return [self.to_wit(k["list"], rt.element, x, f"{path}[{n}]") for n, x in enumerate(v)]
        if "tuple" in k:
            if not isinstance(v, list) or len(v) != len(k["tuple"]["types"]):
                nope(path, "not a tuple")
            return tuple(self.to_wit(tt, trt, x, f"{path}[{n}]")
                         for n, (tt, trt, x) in enumerate(zip(k["tuple"]["types"], rt.elements, v)))
        raise TypeError(f"WIT: cannot translate {k} at {path}")

    def from_wit(self, t, rt, v):
        """wasmtime-py value of WIT type `t` -> the npm package's JSON shape."""
        k = self.resolve(t)
        if k.get("json"):
            return json.loads(v)
        if "prim" in k or "enum" in k:
            return v
        if "option" in k:
            if rt._tagged():
                return None if v.tag == "none" else self.from_wit(k["option"], rt.payload, v.payload)
            return None if v is None else self.from_wit(k["option"], rt.payload, v)
        if "record" in k:
            out = {}
            for f, (_, frt) in zip(k["record"]["fields"], rt.fields):
                x = self.from_wit(f["type"], frt, getattr(v, f["name"]))
                if x is not None:
                    out[camel(f["name"])] = x
            return out
        if "variant" in k:
            cases = k["variant"]["cases"]
            if rt._tagged():
                tag, payload = v.tag, v.payload
            else:
                tag, payload = self._untagged_case(rt, v), v
            idx = next(n for n, c in enumerate(cases) if c["name"] == tag)
            c, (_, crt) = cases[idx], rt.cases[idx]
            return {"tag": tag} if c["type"] is None else {"tag": tag, "val": self.from_wit(c["type"], crt, payload)}
        if "list" in k:
            mv = self.map_value(k["list"])
            if mv is not None:
                vrt = rt.element.elements[1]
                return {key: self.from_wit(mv, vrt, x) for key, x in v}
            return [self.from_wit(k["list"], rt.element, x) for x in v]
        if "tuple" in k:
            return [self.from_wit(tt, trt, x) for tt, trt, x in zip(k["tuple"]["types"], rt.elements, v)]
        raise TypeError(f"WIT: cannot translate {k}")

    @staticmethod
    def _untagged_case(rt, v):
        for name, ty in rt.cases:
            classes = set()
            if ty is None:
                if v is None:
                    return name
                continue
            ty.add_classes(classes)
            if isinstance(v, tuple(classes)):
                return name
        raise TypeError(f"no case of the variant holds {v!r}")

    def args(self, f, ftype, inp, skip=0):
        """A vector case's input object -> the function's arguments, by parameter name."""
        if not isinstance(inp, dict):
            nope("input", "not an object")
        params = f["params"][skip:]
        rts = ftype.params[skip:]
        names = [camel(p["name"]) for p in params]
        for key in inp:
            if key not in names:
                nope(f"input.{key}", "no such parameter of the WIT function")
        return [self.to_wit(p["type"], rt, inp.get(camel(p["name"])), camel(p["name"])) for p, (_, rt) in zip(params, rts)]
