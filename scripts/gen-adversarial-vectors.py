#!/usr/bin/env python3
"""Writes tests/vectors/adversarial/*.json: hostile inputs, each with a typed outcome (issue 16, goal 6).

What a gateway, a proxy, a confused host or an attacker can hand the core: re-encoded bodies, duplicate and
conflicting headers, Unicode confusables and zero-width characters, huge and non-finite numbers (1e400 money),
nesting at and past the limit, empty and over-limit bodies, invalid UTF-8, stale and future timestamps, secrets
with whitespace, oversized size hints. Every case expects a typed result or a typed error: none may trap, and no
runner may print a secret (scripts/scan-secrets searches the runs' whole output for every secret used here).

Signatures are computed here with Python's hmac/hashlib, independently of the Rust code. Deterministic.
Run: python3 scripts/gen-adversarial-vectors.py
"""
import base64, hashlib, hmac, json, os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vectors", "adversarial")
GEN = "scripts/gen-adversarial-vectors.py"
NOW_MS = 1_700_000_000_000
NOW_S = NOW_MS // 1000
# Every secret of the corpus: distinct text found nowhere else in the repository, so a leak is unambiguous.
S1 = "adv-secret-Q7v9kX2mPz4R8tW1nB6yL3cH5jD0fG"
S2 = "adv-rotated-Hn4Tq8Zc2Vx6Mb0Lw3Rs7Kp1Jd5Fg9"
S_WS = "adv-padded-Yt5Ue8Io2Pa4Sd6Fg1Hj3Kl7Zx9Cv0"
WH_KEY = bytes(range(101, 133))
WHSEC = "whsec_" + base64.b64encode(WH_KEY).decode()
SECRETS = [S1, S2, S_WS, WHSEC]
PLATFORM = "PartnerPlatform"
BASE = {"secrets": [S1], "platformName": PLATFORM}
SW = {"secrets": [WHSEC], "platformName": PLATFORM, "scheme": "standard-webhooks"}
H = "x-virtuous-signature"


def mac(key, msg):
    return hmac.new(key.encode() if isinstance(key, str) else key, msg, hashlib.sha256).digest()


def b64(b):
    return base64.b64encode(b).decode()


def sig(body, key=S1):
    return b64(mac(key, body))


def body_spec(b):
    try:
        return {"utf8": b.decode("utf-8")}
    except UnicodeDecodeError:
        return {"hex": b.hex()}


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


GIFT_OBJ = {"event": "GiftCreate", "gift": {"id": 78421, "transactionSource": PLATFORM, "transactionId": "donation-9421",
                                            "amount": 500.0, "modifiedDateTimeUtc": "2024-12-16T06:02:11Z",
                                            "customFields": {"Note": "café ☕"}}}
GIFT = compact(GIFT_OBJ)
GIFT_KEY = "resource:gift-create:78421:2024-12-16T06:02:11Z"
EVENT = {"eventType": "gift-create", "resourceKind": "gift", "resourceId": "78421"}
OK = {"status": 200, "reason": "accepted", "authentic": True, "deadLetter": False, "error": None}
REJECT = {"status": 401, "authentic": False, "deadLetter": False, "event": None, "dedupeKey": None}

files = {}


def case(file, name, why, op, inp, expect=None, error=None):
    cases = files.setdefault(file, [])
    assert not any(c["name"] == name for c in cases), name
    assert not any(s in name or s in why for s in SECRETS), name  # names and reasons are printed by runners
    c = {"name": name, "why": why, "op": op, "input": inp}
    if error is not None:
        c["expectError"] = {"code": error} if isinstance(error, str) else {"code": error[0], "field": error[1]}
    else:
        c["expect"] = expect
    cases.append(c)


def receive(file, name, why, body, headers, expect, config=None, now=NOW_MS):
    case(file, name, why, "receive", {"config": config or BASE, "body": body if isinstance(body, dict) else body_spec(body),
                                      "headers": headers, "nowMs": now}, expect)


def dead(code):
    return {"status": 202, "reason": "dead-letter", "authentic": True, "deadLetter": True, "event": None,
            "error": {"code": code}}


# ------------------------------------------------------------------ gateway re-encoded bodies
F = "reencoded.json"
tag = sig(GIFT)
variants = [
    ("pretty-printed", "a gateway pretty-printed the JSON", json.dumps(GIFT_OBJ, indent=2, ensure_ascii=False).encode()),
    ("unicode-escaped", "a gateway re-serialised with \\u escapes for non-ASCII", json.dumps(GIFT_OBJ, separators=(",", ":")).encode()),
    ("keys-reordered", "a gateway re-serialised with sorted keys", json.dumps(GIFT_OBJ, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()),
    ("trailing-newline", "a proxy appended a newline", GIFT + b"\n"),
    ("crlf-whitespace", "spaces after separators (Python's default json.dumps)", json.dumps(GIFT_OBJ, ensure_ascii=False).encode()),
    ("utf8-bom", "a byte-order mark was prepended", b"\xef\xbb\xbf" + GIFT),
    ("base64-wrapped", "API Gateway handed the Base64 of the body (isBase64Encoded)", base64.b64encode(GIFT)),
    ("numbers-reformatted", "500.0 re-serialised as 500 (JavaScript's JSON.stringify)", GIFT.replace(b'"amount":500.0', b'"amount":500')),
    ("latin1-transcoded", "a proxy transcoded the body to Latin-1 (é as one byte)", GIFT.decode().encode("latin-1", "replace")),
]
for n, why, body in variants:
    assert body != GIFT, n
    receive(F, f"{n}-body-fails-signature", f"{why}: the signature covers the raw bytes, so the re-encoded body is refused and nothing is parsed",
            body, [[H, tag]], dict(REJECT, reason="signature-mismatch", error={"code": "signature-mismatch"}))
esc = json.dumps(GIFT_OBJ, separators=(",", ":")).encode()
receive(F, "escaped-body-signed-as-sent-is-accepted", "signed over exactly the escaped bytes, the same event is read (escapes decode to the same text)",
        esc, [[H, sig(esc)]], dict(OK, event=EVENT, dedupeKey=GIFT_KEY))
bom = b"\xef\xbb\xbf" + GIFT
receive(F, "bom-body-signed-as-sent-is-accepted", "signed over exactly the bytes with a leading byte-order mark: the mark is skipped and "
        "the same event and record are read (the npm package parses the record itself, from a string body too)",
        bom, [[H, sig(bom)]], dict(OK, event=dict(EVENT, resource={"id": 78421, "customFields": {"Note": "café ☕"}}), dedupeKey=GIFT_KEY))
receive(F, "signature-of-reencoded-body-for-original-fails", "the tag of the re-encoded bytes does not verify the original bytes either",
        GIFT, [[H, sig(esc)]], dict(REJECT, reason="signature-mismatch"))
case(F, "verify-reencoded-body-fails", "verifySignature over re-encoded bytes fails the same way", "verifySignature",
     {"body": body_spec(variants[0][2]), "headerValue": tag, "secrets": [S1], "nowMs": NOW_MS}, {"ok": False})

# ------------------------------------------------------------------ duplicate and conflicting headers
F = "headers.json"
bad = b64(mac(S2, GIFT))
receive(F, "valid-then-invalid-signature-headers", "two signature headers, the second forged: the valid one verifies, with a warning",
        GIFT, [[H, tag], [H, bad]], dict(OK, warnings=[{"code": "repeated-signature-header"}]))
receive(F, "mixed-case-duplicate-header-names", "X-Virtuous-Signature and x-virtuous-signature are one header (names are case-insensitive)",
        GIFT, [["X-Virtuous-Signature", bad], ["x-VIRTUOUS-signature", tag]], dict(OK, warnings=[{"code": "repeated-signature-header"}]))
receive(F, "many-forged-signature-headers", "fifty forged signature headers: more values than the bound, refused as malformed before any HMAC",
        GIFT, [[H, bad]] * 50, dict(REJECT, reason="malformed-signature"))
receive(F, "few-forged-signature-headers", "three forged signature headers verify nothing",
        GIFT, [[H, bad]] * 3, dict(REJECT, reason="signature-mismatch"))
receive(F, "empty-duplicate-beside-valid", "an empty duplicate header beside a valid one",
        GIFT, [[H, ""], [H, tag]], dict(OK))
receive(F, "comma-joined-forged-and-valid", "a proxy joined two values with a comma (Fetch's Headers do)",
        GIFT, [[H, f"{bad}, {tag}"]], dict(OK))
receive(F, "signature-under-other-header-name", "the tag under a header the scheme does not read is missing, not accepted",
        GIFT, [["x-virtuous-signature-256", tag], ["signature", tag]], dict(REJECT, reason="missing-signature"))
ts_ok, mid = str(NOW_S), "msg_adv_1"


def swsig(ts, body=GIFT, m=mid, key=WH_KEY):
    return "v1," + b64(mac(key, f"{m}.{ts}.".encode() + body))


old_ts = str(NOW_S - 100000)
receive(F, "replay-with-fresh-timestamp-prepended", "a replayed old delivery with a fresh timestamp header put before its signed old one is refused",
        GIFT, [["webhook-id", mid], ["webhook-timestamp", ts_ok], ["webhook-timestamp", old_ts], ["webhook-signature", swsig(old_ts)]],
        {"status": 401, "authentic": False, "event": None, "dedupeKey": None}, config=SW)
receive(F, "replay-with-fresh-timestamp-appended", "the same with the fresh timestamp after the signed old one",
        GIFT, [["webhook-id", mid], ["webhook-timestamp", old_ts], ["webhook-timestamp", ts_ok], ["webhook-signature", swsig(old_ts)]],
        {"status": 401, "authentic": False, "event": None, "dedupeKey": None}, config=SW)
receive(F, "replay-with-new-id-prepended", "a replay with a new delivery id put before the signed one cannot mint a new dedupe key",
        GIFT, [["webhook-id", "msg_new"], ["webhook-id", mid], ["webhook-timestamp", ts_ok], ["webhook-signature", swsig(ts_ok)]],
        {"status": 401, "authentic": False, "event": None, "dedupeKey": None}, config=SW)
receive(F, "replay-with-new-id-appended", "a new id after the signed one changes nothing: the first (signed) id is the delivery's, so a replay keeps its dedupe key and is dropped as a duplicate",
        GIFT, [["webhook-id", mid], ["webhook-id", "msg_new"], ["webhook-timestamp", ts_ok], ["webhook-signature", swsig(ts_ok)]],
        dict(OK, dedupeKey=f"delivery:{mid}"), config=SW)
receive(F, "standard-webhooks-valid", "the same delivery with single headers is accepted (the control case)",
        GIFT, [["webhook-id", mid], ["webhook-timestamp", ts_ok], ["webhook-signature", swsig(ts_ok)]],
        dict(OK, replay="checked", dedupeKey=f"delivery:{mid}"), config=SW)

# ------------------------------------------------------------------ Unicode confusables and zero-width characters
F = "unicode.json"
zw_event = compact({"event": "Gift\u200bCreate", "gift": {"id": 1}})
receive(F, "zero-width-in-event-type", "event type spellings are read by their letters and digits only (GiftCreate, gift.created, gift-create), so a zero-width space inside is ignored like a dot",
        zw_event, [[H, sig(zw_event)]], {"status": 200, "reason": "accepted", "authentic": True, "event": {"eventType": "gift-create"}})
cyr_event = compact({"event": "GiftCr\u0435ate", "gift": {"id": 1}})
receive(F, "cyrillic-e-in-event-type", "a Cyrillic е in the event type is another type, never folded to GiftCreate",
        cyr_event, [[H, sig(cyr_event)]], {"status": 200, "reason": "unknown-event-type", "authentic": True})
receive(F, "zero-width-in-signature-header", "a zero-width space in the tag makes it malformed",
        GIFT, [[H, tag[:10] + "\u200b" + tag[10:]]], dict(REJECT, reason="malformed-signature"))
receive(F, "fullwidth-digits-in-signature", "full-width hex digits are not hex",
        GIFT, [[H, "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in mac(S1, GIFT).hex())]], dict(REJECT, reason="malformed-signature"))
receive(F, "zero-width-in-header-name", "a signature header whose name carries a zero-width space is another header",
        GIFT, [[H + "\u200b", tag]], dict(REJECT, reason="missing-signature"))
for n, name in [("zero-width", "Partner\u200bPlatform"), ("cyrillic-a", "P\u0430rtnerPlatform"), ("nbsp-padded", "\u00a0PartnerPlatform")]:
    case(F, f"platform-name-{n}-match-reference-is-distinct",
         f"a stamp whose source differs from ours only by an invisible or look-alike character ({n}) links nothing in the initial match",
         "initialMatcher",
         {"chunks": [{"side": "partner", "records": [{"id": "p1", "references": [{"source": PLATFORM, "id": "D-1"}]}]},
                     {"side": "virtuous", "records": [{"id": "v1", "references": [{"source": name, "id": "D-1"}]}]}]},
         {"pairs": [], "partnerOnly": ["p1"], "virtuousOnly": ["v1"]} if n != "nbsp-padded" else
         {"pairs": [{"partnerId": "p1", "virtuousId": "v1", "tier": "reference"}]})
case(F, "zero-width-email-is-another-email", "a zero-width space inside an email is not stripped: no link",
     "initialMatcher",
     {"chunks": [{"side": "partner", "records": [{"id": "p1", "emails": ["ann@example.org"]}]},
                 {"side": "virtuous", "records": [{"id": "v1", "emails": ["ann\u200b@example.org"]}]}]},
     {"pairs": [], "partnerOnly": ["p1"], "virtuousOnly": ["v1"]})
case(F, "platform-name-zero-width-only-refused", "a platform name of only invisible characters is no name (it would stamp an invisible transactionSource); fails on the code before the fix",
     "newCore", {"config": dict(BASE, platformName="\u200b\u200b")}, error=("invalid-platform-name", "platformName"))
case(F, "platform-name-inner-zero-width-refused", "a zero-width space inside the platform name would stamp a source that looks like ours and is not; fails on the code before the fix",
     "newCore", {"config": dict(BASE, platformName="Partner\u200bPlatform")}, error=("invalid-platform-name", "platformName"))
case(F, "platform-name-bidi-override-refused", "a right-to-left override in the platform name would display a different stamp; fails on the code before the fix",
     "newCore", {"config": dict(BASE, platformName="Partner\u202ePlatform")}, error=("invalid-platform-name", "platformName"))
case(F, "platform-name-bom-refused", "a byte-order mark (U+FEFF) in the platform name is invisible; fails on the code before the fix",
     "newCore", {"config": dict(BASE, platformName="\ufeffPartnerPlatform")}, error=("invalid-platform-name", "platformName"))
case(F, "platform-name-accented-accepted", "visible non-ASCII letters are fine", "newCore",
     {"config": dict(BASE, platformName="Plateforme Partenaire é")}, {})

# ------------------------------------------------------------------ huge and non-finite numbers, 1e400 money
F = "numbers.json"
for n, why, raw in [
    ("amount-1e400", "1e400 money overflows a double", b'{"event":"GiftCreate","gift":{"id":5,"amount":1e400}}'),
    ("amount-negative-1e400", "-1e400 money", b'{"event":"GiftCreate","gift":{"id":5,"amount":-1e400}}'),
    ("id-1e400", "an id of 1e400", b'{"event":"GiftCreate","gift":{"id":1e400}}'),
    ("nan-literal", "NaN is not JSON", b'{"event":"GiftCreate","gift":{"id":5,"amount":NaN}}'),
    ("infinity-literal", "Infinity is not JSON", b'{"event":"GiftCreate","gift":{"id":5,"amount":Infinity}}'),
    ("huge-exponent", "an exponent beyond any double", b'{"event":"GiftCreate","gift":{"id":5,"amount":1e99999999999}}'),
    ("integer-400-digits", "a 400-digit integer amount (read as a double, it overflows as 1e400 does)", b'{"event":"GiftCreate","gift":{"id":8,"amount":' + b"9" * 400 + b"}}"),
]:
    receive(F, f"{n}-dead-letter", f"{why}: authentic but unreadable, kept as a dead letter (never a trap, never a guessed value)",
            raw, [[H, sig(raw)]], dead("malformed-json"))
for n, why, raw, rid in [
    ("id-above-u64", "an id above 2^64 is kept as given? no: it reads as a float", b'{"event":"GiftCreate","gift":{"id":18446744073709551616}}', None),
    ("amount-1e308", "the largest finite magnitudes are read (the receipt does not interpret money)", b'{"event":"GiftCreate","gift":{"id":6,"amount":1.7976931348623157e308}}', "6"),
    ("amount-tiny", "a subnormal amount", b'{"event":"GiftCreate","gift":{"id":7,"amount":5e-324}}', "7"),
    ("many-digits", "a 400-digit integer amount", b'{"event":"GiftCreate","gift":{"id":8,"amount":' + b"9" * 400 + b"}}", None),
]:
    if rid is None:
        continue
    receive(F, f"{n}-accepted", f"{why}", raw, [[H, sig(raw)]], dict(OK, event={"resourceId": rid}))
case(F, "matcher-data-1e400-refused", "1e400 in a record's data (compact chunk) is invalid-chunk, never a digest of a guess",
     "initialMatcher", {"chunks": [{"side": "partner", "text": '[{"id":"p1","data":{"amount":1e400}}]'}]}, error="invalid-chunk")
case(F, "matcher-id-1e400-refused", "an id of 1e400 is no id", "initialMatcher",
     {"chunks": [{"side": "partner", "text": '[{"id":1e400}]'}]}, error="invalid-chunk")

# ------------------------------------------------------------------ nesting at and past the limit
F = "nesting.json"


def nested(depth):
    """A gift body whose deepest value sits `depth` containers down (the root object counts as 1)."""
    inner = "1"
    for _ in range(depth - 2):
        inner = "[" + inner + "]"
    return ('{"event":"GiftCreate","gift":' + '{"id":9,"x":' + inner + "}}").encode() if depth >= 2 else b"{}"


for depth, cfg, expect, why in [
    (64, BASE, dict(OK, event={"resourceId": "9"}), "nested exactly at the default limit (64): read"),
    (65, BASE, dead("too-deep"), "one past the default limit: a dead letter"),
    (120, dict(BASE, maxDepth=120), dict(OK, event={"resourceId": "9"}), "at the largest configurable limit (120): read"),
    (121, dict(BASE, maxDepth=120), dead("too-deep"), "one past the largest limit"),
    (5000, BASE, dead("too-deep"), "5,000 levels: refused by count, no recursion that could exhaust the stack"),
]:
    raw = nested(depth)
    receive(F, f"depth-{depth}" + ("-max-limit" if cfg is not BASE else ""), why, raw, [[H, sig(raw)]], expect, config=cfg)
raw = b"[" * 100000
receive(F, "hundred-thousand-open-brackets", "100,000 '[' and nothing else: a dead letter, no trap", raw, [[H, sig(raw)]], dead("too-deep"))
case(F, "max-depth-above-bound-refused", "maxDepth above 120 is a configuration error", "newCore",
     {"config": dict(BASE, maxDepth=121)}, error=("invalid-option", "maxDepth"))
case(F, "max-depth-zero-refused", "maxDepth 0 is a configuration error", "newCore",
     {"config": dict(BASE, maxDepth=0)}, error=("invalid-option", "maxDepth"))

# ------------------------------------------------------------------ empty and over-limit bodies
F = "sizes.json"
receive(F, "zero-byte-body-signed", "an authentic empty body: a dead letter, not a 4xx", b"", [[H, sig(b"")]], dead("empty-body"))
receive(F, "zero-byte-body-unsigned", "an empty body without a signature", b"", [], dict(REJECT, reason="missing-signature"))
receive(F, "zero-byte-body-forged", "an empty body with another body's tag", b"", [[H, tag]], dict(REJECT, reason="signature-mismatch"))
small = dict(BASE, maxBodyBytes=len(GIFT))
receive(F, "body-exactly-at-limit", "a body of exactly maxBodyBytes is read", GIFT, [[H, tag]], dict(OK, event=EVENT), config=small)
over = GIFT + b" "
receive(F, "body-one-byte-over-limit", "one byte over maxBodyBytes: verified, then a dead letter", over, [[H, sig(over)]],
        dead("body-too-large"), config=small)
big = {"repeat": {"utf8": " ", "count": 1048577}}
big_bytes = b" " * 1048577
receive(F, "body-over-default-limit", "1 MiB + 1 byte of whitespace, signed: a dead letter", big, [[H, sig(big_bytes)]], dead("body-too-large"))
receive(F, "body-over-limit-forged", "an oversize forged body is refused (401), nothing kept", big, [[H, tag]], dict(REJECT, reason="signature-mismatch"))
receive(F, "whitespace-only-body", "a body of only whitespace is an empty body", b" \n\t ", [[H, sig(b" \n\t ")]], dead("empty-body"))
receive(F, "top-level-array-body", "a JSON array is not an event", b"[]", [[H, sig(b"[]")]], dead("not-an-object"))
receive(F, "null-body", "JSON null is not an event", b"null", [[H, sig(b"null")]], dead("not-an-object"))

# ------------------------------------------------------------------ invalid UTF-8
F = "utf8.json"
for n, why, raw in [
    ("lone-ff", "a 0xFF byte", b'{"event":"GiftCreate","gift":{"id":1,"n":"\xff"}}'),
    ("overlong-slash", "an overlong encoding of '/'", b'{"event":"GiftCreate","gift":{"id":1,"n":"\xc0\xaf"}}'),
    ("encoded-surrogate", "a UTF-16 surrogate encoded as UTF-8 (CESU)", b'{"event":"GiftCreate","gift":{"id":1,"n":"\xed\xa0\x80"}}'),
    ("truncated-sequence", "a multi-byte sequence cut at the end", b'{"event":"GiftCreate","gift":{"id":1}}\xe2\x82'),
    ("latin1-in-key", "a Latin-1 byte in a key", b'{"event":"GiftCreate","gift":{"id":1,"caf\xe9":1}}'),
]:
    receive(F, f"{n}-dead-letter", f"{why}: authentic, unreadable, kept as a dead letter", raw, [[H, sig(raw)]], dead("invalid-utf8"))
    receive(F, f"{n}-forged", f"{why}, forged: refused before any decoding", raw, [[H, tag]], dict(REJECT, reason="signature-mismatch"))
raw = b'{"event":"GiftCreate","gift":{"id":1,"n":"\\ud800"}}'
receive(F, "escaped-lone-surrogate", "a lone surrogate as a \\u escape is valid UTF-8 text but no Unicode: unreadable JSON, a dead letter",
        raw, [[H, sig(raw)]], dead("malformed-json"))

# ------------------------------------------------------------------ stale and future timestamps
F = "timestamps.json"
for n, delta, expect, why in [
    ("at-past-bound", -300, dict(OK, replay="checked"), "exactly 300 s old: inside the window"),
    ("past-bound-plus-one", -301, dict(REJECT, reason="timestamp-too-old"), "301 s old: a replay or a long-queued delivery"),
    ("at-future-bound", 300, dict(OK, replay="checked"), "exactly 300 s ahead: inside the window"),
    ("future-bound-plus-one", 301, dict(REJECT, reason="timestamp-too-new"), "301 s ahead"),
    ("a-year-old", -365 * 86400, dict(REJECT, reason="timestamp-too-old"), "a year old"),
    ("epoch-zero", -NOW_S, dict(REJECT, reason="timestamp-too-old"), "the Unix epoch"),
]:
    ts = str(NOW_S + delta)
    receive(F, f"timestamp-{n}", why, GIFT, [["webhook-id", mid], ["webhook-timestamp", ts], ["webhook-signature", swsig(ts)]], expect, config=SW)
for n, ts, why in [
    ("milliseconds", str(NOW_MS), "milliseconds where seconds are expected (13 digits): malformed, not a date 50,000 years ahead"),
    ("huge", "9" * 30, "a 30-digit timestamp: malformed, no overflow"),
]:
    receive(F, f"timestamp-{n}", why, GIFT, [["webhook-id", mid], ["webhook-timestamp", ts], ["webhook-signature", swsig(ts)]],
            dict(REJECT, reason="malformed-timestamp"), config=SW)
receive(F, "timestamp-padded-spaces-is-the-value", "spaces around a header value are not part of it (HTTP optional whitespace): the trimmed timestamp is the signed one",
        GIFT, [["webhook-id", mid], ["webhook-timestamp", f" {NOW_S} "], ["webhook-signature", swsig(str(NOW_S))]],
        dict(OK, replay="checked"), config=SW)
for n, ts, why in [
    ("negative", "-5", "a negative timestamp"),
    ("fractional", f"{NOW_S}.5", "fractional seconds"),
    ("exponent", "1.7e9", "an exponent"),
    ("plus-sign", f"+{NOW_S}", "a leading plus"),
    ("iso-date", "2023-11-14T22:13:20Z", "an ISO date instead of Unix seconds"),
    ("infinity", "Infinity", "Infinity"),
]:
    receive(F, f"timestamp-{n}", f"{why}: refused as malformed, never coerced", GIFT,
            [["webhook-id", mid], ["webhook-timestamp", ts], ["webhook-signature", swsig(ts)]],
            dict(REJECT, reason="malformed-timestamp"), config=SW)
case(F, "tolerance-above-seven-days-refused", "a tolerance beyond 7 days is a configuration error", "newCore",
     {"config": dict(SW, scheme={"preset": "standard-webhooks", "tolerance": {"pastSeconds": 8 * 86400}})},
     error=("invalid-option", "scheme.tolerance"))

# ------------------------------------------------------------------ secrets with whitespace
F = "secrets.json"
for n, padded in [("trailing-newline", S_WS + "\n"), ("leading-space", " " + S_WS), ("tab-both-sides", "\t" + S_WS + "\t")]:
    cfg = {"secrets": [padded], "platformName": PLATFORM}
    case(F, f"secret-{n}-configured-as-given", "a secret with surrounding whitespace is taken byte for byte (never trimmed silently: Virtuous may have signed with it)",
         "newCore", {"config": cfg}, {})
    receive(F, f"secret-{n}-stripped-signature-diagnosed", "configured padded, signed without the whitespace: refused, and the diagnostics name the whitespace (not the secret)",
            GIFT, [[H, sig(GIFT, key=S_WS)]], dict(REJECT, reason="signature-mismatch", diagnostics=[{"code": "secret-whitespace"}]), config=cfg)
    receive(F, f"secret-{n}-exact-signature-accepted", "configured padded and signed with exactly those bytes: accepted",
            GIFT, [[H, sig(GIFT, key=padded)]], dict(OK), config=cfg)
case(F, "verify-with-padded-secret-diagnosed", "verifySignature with a padded secret over a tag of the stripped one: no match, diagnosed", "verifySignature",
     {"body": body_spec(GIFT), "headerValue": sig(GIFT, key=S_WS), "secrets": [S_WS + " "], "nowMs": NOW_MS},
     {"ok": False, "diagnostics": [{"code": "secret-whitespace"}]})
case(F, "whitespace-only-secret-refused", "a secret of only whitespace is no secret, even with allowWeakSecrets; fails on the code before the fix", "newCore",
     {"config": {"secrets": ["    \t\n    "], "platformName": PLATFORM, "allowWeakSecrets": True}}, error=("invalid-secret", "secrets[0]"))
case(F, "long-whitespace-only-secret-refused", "40 spaces pass the 32-byte strength check by length alone; still no secret; fails on the code before the fix", "newCore",
     {"config": {"secrets": [S1, " " * 40], "platformName": PLATFORM}}, error=("invalid-secret", "secrets[1]"))
case(F, "verify-whitespace-only-secret-refused", "verifySignature with a whitespace-only secret is a typed error; fails on the code before the fix", "verifySignature",
     {"body": body_spec(GIFT), "headerValue": sig(GIFT, key=" " * 40), "secrets": [" " * 40], "nowMs": NOW_MS}, error="invalid-secret")
case(F, "inner-space-secret-is-the-secret", "whitespace inside a secret is part of it (only surrounding whitespace is refused)", "verifySignature",
     {"body": body_spec(GIFT), "headerValue": sig(GIFT, key="adv inner space secret 0123456789abcd"), "secrets": ["adv inner space secret 0123456789abcd"], "nowMs": NOW_MS},
     {"ok": True})
SECRETS.append("adv inner space secret 0123456789abcd")

# ------------------------------------------------------------------ duplicate and mixed-type keys below the top
# The npm package reads the envelope with a lean parse that keeps, below the top level, only objects and the
# record's id and modification-time keys (the rest is checked and dropped); the Rust crate and the component parse
# in full. A JSON object with a repeated key means its last value (RFC 8259 leaves it open; serde_json and
# JSON.parse both keep the last), so a dropped later value must still undo an earlier kept one. These cases give
# each surface the same answer only if the filter does.
F = "duplicates.json"
MOD = "2024-12-16T06:02:11Z"
for n, why, raw, ev, key in [
    ("record-id-twice", "the record's id given twice: the last counts",
     b'{"event":"GiftCreate","gift":{"id":1,"amount":5,"id":78421,"modifiedDateTimeUtc":"' + MOD.encode() + b'"}}',
     dict(EVENT), GIFT_KEY),
    ("record-id-object-then-scalar", "an object under the id, then a scalar id: the scalar counts",
     b'{"event":"GiftCreate","gift":{"id":{"n":1},"id":78421,"modifiedDateTimeUtc":"' + MOD.encode() + b'"}}',
     dict(EVENT), GIFT_KEY),
    ("record-id-scalar-then-object", "a scalar id, then an object under the id: the record has no usable id",
     b'{"event":"GiftCreate","gift":{"id":78421,"id":{"n":1},"modifiedDateTimeUtc":"' + MOD.encode() + b'"}}',
     {"eventType": "gift-create", "resourceKind": "gift", "resourceId": None}, None),
    ("modified-twice", "the modification time given twice: the last counts",
     b'{"event":"GiftCreate","gift":{"id":78421,"modifiedDateTimeUtc":"2020-01-01T00:00:00Z","modifiedDateTimeUtc":"' + MOD.encode() + b'"}}',
     dict(EVENT, modifiedDateTimeUtc=MOD), GIFT_KEY),
    ("nested-record-object-then-scalar", "data.gift is an object and then 2: the 2 counts, so there is no gift record under data and the container itself is the record (without an id)",
     b'{"event":"GiftCreate","data":{"gift":{"id":78421,"modifiedDateTimeUtc":"' + MOD.encode() + b'"},"gift":2}}',
     {"eventType": "gift-create", "resourceKind": "gift", "resourceId": None, "resource": {"gift": 2}}, None),
    ("nested-record-scalar-then-object", "data.gift is 2 and then an object: the object is the record",
     b'{"event":"GiftCreate","data":{"gift":2,"gift":{"id":78421,"modifiedDateTimeUtc":"' + MOD.encode() + b'"}}}',
     dict(EVENT, resource={"id": 78421, "modifiedDateTimeUtc": MOD}), GIFT_KEY),
    ("unread-field-twice", "a field the envelope does not read, given as an object and then a number: the record shows the number",
     b'{"event":"GiftCreate","gift":{"customFields":{"Note":"x"},"id":78421,"customFields":3,"modifiedDateTimeUtc":"' + MOD.encode() + b'"}}',
     dict(EVENT, resource={"id": 78421, "customFields": 3}), GIFT_KEY),
    ("top-record-object-then-scalar", "the top-level gift is an object and then 2: there is no record",
     b'{"event":"GiftCreate","gift":{"id":78421},"gift":2}',
     {"eventType": "gift-create", "resourceKind": "gift", "resourceId": None, "resource": None}, None),
]:
    exp = dict(OK, event=ev)
    if key is not None:
        exp["dedupeKey"] = key
    receive(F, n, why, raw, [[H, sig(raw)]], exp)

# ------------------------------------------------------------------ oversized size hints
F = "size-hints.json"
receive(F, "content-length-claims-terabytes", "a Content-Length header claiming 1 TB is not believed: the body given is what is read",
        GIFT, [[H, tag], ["content-length", "1099511627776"]], dict(OK, event=EVENT))
receive(F, "content-length-negative", "a negative Content-Length changes nothing", GIFT, [[H, tag], ["content-length", "-1"]], dict(OK))
case(F, "max-body-bytes-huge-refused", "maxBodyBytes of 10^15 is a configuration error, never an allocation", "newCore",
     {"config": dict(BASE, maxBodyBytes=10 ** 15)}, error=("invalid-option", "maxBodyBytes"))
case(F, "max-body-bytes-zero-refused", "maxBodyBytes 0 is a configuration error", "newCore",
     {"config": dict(BASE, maxBodyBytes=0)}, error=("invalid-option", "maxBodyBytes"))
case(F, "max-body-bytes-fraction-refused", "a fractional maxBodyBytes is a configuration error", "newCore",
     {"config": dict(BASE, maxBodyBytes=1.5)}, error=("invalid-option", "maxBodyBytes"))
receive(F, "signature-header-64-kib", "a 64 KiB signature header is refused before decoding", GIFT, [[H, "A" * 65536]],
        dict(REJECT, reason="malformed-signature"))
receive(F, "ten-thousand-headers", "10,000 unrelated headers beside the valid one", GIFT, [[H, tag]] + [[f"x-junk-{i}", "v"] for i in range(10000)], dict(OK))
case(F, "matcher-chunk-text-not-an-array", "a compact chunk claiming huge sizes in a wrapper object is invalid-chunk", "initialMatcher",
     {"chunks": [{"side": "partner", "text": '{"length":1e12,"records":[]}'}]}, error="invalid-chunk")
case(F, "matcher-too-many-values", "33 emails on one record is too-many-values, not an unbounded key set", "initialMatcher",
     {"chunks": [{"side": "partner", "records": [{"id": "p1", "emails": [f"e{i}@x.org" for i in range(33)]}]}]}, error="too-many-values")

os.makedirs(OUT, exist_ok=True)
DESCRIPTIONS = {
    "reencoded.json": "Adversarial: bodies a gateway re-encoded (pretty-printed, escaped, reordered, BOM, Base64, transcoded) against the signature over the raw bytes",
    "headers.json": "Adversarial: duplicate and conflicting signature, timestamp and id headers",
    "unicode.json": "Adversarial: Unicode confusables and zero-width characters in event types, headers, platform names and stamps",
    "numbers.json": "Adversarial: huge and non-finite numbers, 1e400 money",
    "nesting.json": "Adversarial: nesting at and past the depth limit",
    "sizes.json": "Adversarial: 0-byte, whitespace-only, non-object and over-limit bodies",
    "utf8.json": "Adversarial: invalid UTF-8 bodies, authentic and forged",
    "timestamps.json": "Adversarial: stale, future and malformed timestamps",
    "secrets.json": "Adversarial: secrets with whitespace",
    "duplicates.json": "Adversarial: repeated and mixed-type keys below the top level (the lean parse's filter against the full parse)",
    "size-hints.json": "Adversarial: oversized size hints (Content-Length, maxBodyBytes, huge headers, matcher chunks)",
}
total = 0
for fname, cases in files.items():
    with open(os.path.join(OUT, fname), "w") as f:
        json.dump({"description": DESCRIPTIONS[fname], "generator": GEN, "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    total += len(cases)
print(f"written {total} cases in {len(files)} files")
