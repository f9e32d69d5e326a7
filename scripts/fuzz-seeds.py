#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from the shared vectors, so every
target starts from inputs that reach deep into its code. Reads either vector schema (cases with `input`, or
the arguments beside `name`). Run by scripts/fuzz; the corpora are not committed (they regrow from here)."""
import base64
import hashlib
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
CORPUS = ROOT / "fuzz" / "corpus"
OPS = {
    "decide_inbound": "decideInbound",
    "decide_outbound": "decideOutbound",
    "resolve": "resolve",
    "plan_reconciliation": "planReconciliation",
    "matcher": "initialMatcher",
    "query_page": "acceptQueryPage",
}

# Every operation of the by-name table (src/ops/table.rs): the `ops` target's seeds are `name NUL input` for the
# vector cases of those without a target of their own.
TABLE = re.findall(r"^\s*(?:sync|method|free)\s+(\w+)\s+\w+", (ROOT / "src" / "ops" / "table.rs").read_text(), re.M)


def body_bytes(spec):
    if spec is None:
        return b""
    if "utf8" in spec:
        return spec["utf8"].encode("utf-8")
    if "base64" in spec:
        return base64.b64decode(spec["base64"])
    if "hex" in spec:
        return bytes.fromhex(spec["hex"])
    if "repeat" in spec:
        r = spec["repeat"]
        return body_bytes({k: v for k, v in r.items() if k != "count"}) * int(r["count"])
    return b""


def cases():
    for path in sorted(VECTORS.rglob("*.json")):
        if "wycheproof" in path.parts:
            continue
        doc = json.loads(path.read_text())
        for case in doc.get("cases", []) if isinstance(doc, dict) else []:
            args = case.get("input", case)
            yield case.get("op", "receive" if "body" in args else None), args


def write(target, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    counts = {}
    for i, (op, args) in enumerate(cases()):
        pick = bytes([i % 256])
        if isinstance(args.get("config"), dict):
            write("config", json.dumps(args["config"]).encode())
        if op == "receive" and "body" in args:
            body = body_bytes(args.get("body"))
            if len(body) > 64 * 1024:
                continue
            head = "\n".join(f"{n}: {v}" for n, v in args.get("headers", []))
            write("receive", pick + head.encode("utf-8", "surrogatepass") + b"\0" + body)
            write("envelope", pick + body)
            for name, value in args.get("headers", []):
                if "signature" in name.lower():
                    write("signature_header", pick + value.encode("utf-8", "surrogatepass"))
        if op == "verifySignature" and isinstance(args.get("headerValue"), str):
            write("signature_header", pick + args["headerValue"].encode("utf-8", "surrogatepass"))
        for target, name in OPS.items():
            if op == name:
                write(target, json.dumps(args).encode())
        if op in TABLE and op not in OPS.values():
            write("ops", op.encode() + b"\0" + json.dumps(args).encode())
    for d in sorted(CORPUS.iterdir()) if CORPUS.exists() else []:
        counts[d.name] = sum(1 for _ in d.iterdir())
    print("fuzz seeds:", ", ".join(f"{k} {v}" for k, v in counts.items()))
    if len(TABLE) < 20:
        sys.exit(f"src/ops/table.rs: found {len(TABLE)} operations, expected the whole table")
    missing = [t for t in ["receive", "envelope", "signature_header", "config", "ops", *OPS] if not counts.get(t)]
    if missing:
        sys.exit(f"no seeds for: {', '.join(missing)}")


main()
