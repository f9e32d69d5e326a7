#!/usr/bin/env python3
"""Writes tests/vectors/{receive,events,config,verify,sign,vomo-webhooks,raise}.json (the shared schema: tests/vectors/README.md).

Signatures are computed here with Python's own hmac/hashlib, independently of the Rust code, so the
vectors are an outside oracle rather than a recording of what the implementation happens to do.
Deterministic: running it twice gives identical files. Run: python3 scripts/gen-vectors.py
"""
import base64, hashlib, hmac, json, os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vectors")
NOW_MS = 1_700_000_000_000
NOW_S = NOW_MS // 1000
S1 = "virtuous-test-secret-0123456789abcdef"      # 37 bytes
S2 = "rotated-in-secret-ABCDEFGHIJKLMNOPQRSTUV"   # 40 bytes
WHSEC_KEY = bytes(range(1, 33))
WHSEC = "whsec_" + base64.b64encode(WHSEC_KEY).decode()
PLATFORM = "PartnerPlatform"
BASE = {"secrets": [S1], "platformName": PLATFORM}


def mac(key, msg):
    if isinstance(key, str):
        key = key.encode()
    return hmac.new(key, msg, hashlib.sha256).digest()


def b64(b):
    return base64.b64encode(b).decode()


def body_spec(b):
    try:
        return {"utf8": b.decode("utf-8")}
    except UnicodeDecodeError:
        return {"hex": b.hex()}


GIFT = json.dumps({"event": "GiftCreate", "gift": {
    "id": 78421, "transactionSource": PLATFORM, "transactionId": "donation-9421", "contactId": 4821,
    "giftType": "Cash", "giftDateFormatted": "12/15/2024", "amount": 500.0, "currencyCode": "USD",
    "modifiedDateTimeUtc": "2024-12-16T06:02:11Z",
    "giftDesignations": [{"projectId": 311, "projectCode": "CLEAN-WATER", "amountDesignated": 500.0}],
    "customFields": {"Receipt Status": "Pending"}}}, separators=(",", ":")).encode()
GIFT_EVENT = {"eventType": "gift-create", "rawEventType": "GiftCreate", "resourceKind": "gift",
              "resourceId": "78421", "modifiedDateTimeUtc": "2024-12-16T06:02:11Z", "eventId": None}
GIFT_KEY = "resource:gift-create:78421:2024-12-16T06:02:11Z"
ACCEPTED = {"status": 200, "reason": "accepted", "authentic": True, "deadLetter": False, "error": None}
REJECT = {"status": 401, "authentic": False, "deadLetter": False, "event": None, "dedupeKey": None,
          "secretIndex": None}


def case(cases, name, why, op, expect=None, expectError=None, **inputs):
    """One case in the shared schema: {name, why, op, input, expect | expectError} (tests/vectors/README.md)."""
    assert not any(c["name"] == name for c in cases), name
    assert (expect is None) != (expectError is None), name
    c = {"name": name, "why": why, "op": op, "input": inputs}
    if expect is not None:
        c["expect"] = expect
    else:
        c["expectError"] = expectError
    cases.append(c)


def receive(cases, name, why, body, headers, expect, config=None, now=NOW_MS):
    case(cases, name, why, op="receive", config=config or BASE,
         body=body if isinstance(body, dict) else body_spec(body),
         headers=headers, nowMs=now, expect=expect)


def dead(code):
    return {"status": 202, "reason": "dead-letter", "authentic": True, "deadLetter": True,
            "event": None, "error": {"code": code}}


def receive_cases():
    c = []
    tag = mac(S1, GIFT)
    H = "x-virtuous-signature"
    ok = dict(ACCEPTED, event=GIFT_EVENT, dedupeKey=GIFT_KEY, secretIndex=0, replay="unavailable",
              warnings=[], diagnostics=[])
    receive(c, "virtuous-base64", "the support article's encoding: Base64 of the HMAC of the raw body",
            GIFT, [[H, b64(tag)]], ok)
    receive(c, "virtuous-hex-lower", "the docs' sample encoding: lower-case hex", GIFT, [[H, tag.hex()]], ok)
    receive(c, "virtuous-hex-upper", "hex is case-insensitive", GIFT, [[H, tag.hex().upper()]], ok)
    receive(c, "virtuous-base64url-unpadded", "URL-safe alphabet without padding decodes to the same tag",
            GIFT, [[H, base64.urlsafe_b64encode(tag).decode().rstrip("=")]], ok)
    receive(c, "virtuous-base64-unpadded", "padding is optional", GIFT, [[H, b64(tag).rstrip("=")]], ok)
    receive(c, "virtuous-sha256-prefix-hex", "an optional sha256= prefix is stripped", GIFT,
            [[H, "sha256=" + tag.hex()]], ok)
    receive(c, "virtuous-sha256-prefix-upper", "the prefix is matched case-insensitively", GIFT,
            [[H, "SHA256=" + b64(tag)]], ok)
    receive(c, "virtuous-surrounding-whitespace", "whitespace around the header value is ignored", GIFT,
            [[H, "  " + b64(tag) + "\t"]], ok)
    receive(c, "virtuous-header-name-case", "header names are case-insensitive", GIFT,
            [["X-Virtuous-Signature", b64(tag)]], ok)
    receive(c, "virtuous-other-headers-ignored", "unrelated headers do not matter", GIFT,
            [["content-type", "application/json"], ["user-agent", "Virtuous-Webhooks"], [H, b64(tag)]], ok)
    tampered = GIFT.replace(b"500.0", b"900.0", 1)
    receive(c, "tampered-body-byte", "one changed byte in the body fails", tampered, [[H, b64(tag)]],
            dict(REJECT, reason="signature-mismatch", error={"code": "signature-mismatch"}))
    bad = bytearray(tag); bad[0] ^= 1
    receive(c, "tampered-signature-byte", "one flipped bit in the tag fails", GIFT, [[H, b64(bytes(bad))]],
            dict(REJECT, reason="signature-mismatch"))
    receive(c, "truncated-hex-tag", "a 16-byte (truncated) tag is never accepted, even when it is a prefix of the right one",
            GIFT, [[H, tag[:16].hex()]],
            dict(REJECT, reason="malformed-signature", diagnostics=[{"code": "signature-length"}]))
    receive(c, "truncated-base64-tag", "Base64 cut short decodes to fewer than 32 bytes", GIFT,
            [[H, b64(tag)[:40]]], dict(REJECT, reason="malformed-signature"))
    receive(c, "padded-hex-tag", "a tag with an extra byte is rejected", GIFT, [[H, tag.hex() + "00"]],
            dict(REJECT, reason="malformed-signature"))
    receive(c, "extra-base64-padding", "surplus '=' makes the Base64 invalid", GIFT, [[H, b64(tag) + "="]],
            dict(REJECT, reason="malformed-signature"))
    receive(c, "not-an-encoding", "text that is neither hex nor Base64", GIFT, [[H, "not a signature!"]],
            dict(REJECT, reason="malformed-signature"))
    receive(c, "wrong-secret", "a tag made with another secret fails", GIFT, [[H, b64(mac("another-secret-0123456789abcdefghij", GIFT))]],
            dict(REJECT, reason="signature-mismatch"))
    rot = {"secrets": [{"id": "new", "secret": S2}, {"id": "old", "secret": S1}], "platformName": PLATFORM}
    receive(c, "rotated-old-secret-still-accepted", "during rotation the old secret still verifies and is reported",
            GIFT, [[H, b64(tag)]], dict(ok, secretIndex=1, secretId="old"), config=rot)
    receive(c, "rotated-new-secret", "the new secret verifies at index 0", GIFT, [[H, b64(mac(S2, GIFT))]],
            dict(ok, secretIndex=0, secretId="new"), config=rot)
    retired = {"secrets": [S2, {"id": "old", "secret": S1, "notAfter": NOW_MS - 1}], "platformName": PLATFORM}
    receive(c, "retired-secret-warns", "a secret past notAfter that still matches is accepted with a warning",
            GIFT, [[H, b64(tag)]], dict(ACCEPTED, secretIndex=1, warnings=[{"code": "secret-past-not-after"}]),
            config=retired)
    not_yet = {"secrets": [{"secret": S1, "notAfter": NOW_MS + 1}], "platformName": PLATFORM}
    receive(c, "secret-before-not-after-no-warning", "before notAfter there is no warning", GIFT,
            [[H, b64(tag)]], dict(ok), config=not_yet)
    receive(c, "missing-header", "no signature header at all", GIFT, [["content-type", "application/json"]],
            dict(REJECT, reason="missing-signature", replay="unavailable"))
    receive(c, "empty-header", "an empty signature header counts as missing", GIFT, [[H, "   "]],
            dict(REJECT, reason="missing-signature"))
    receive(c, "non-ascii-header", "non-ASCII characters in the header are malformed", GIFT,
            [[H, "é" + b64(tag)[1:]]], dict(REJECT, reason="malformed-signature"))
    receive(c, "huge-header", "a header over 8 KiB is refused before decoding", GIFT, [[H, "A" * 9000]],
            dict(REJECT, reason="malformed-signature"))
    receive(c, "repeated-header-second-valid", "two signature headers: a valid one is enough, with a warning",
            GIFT, [[H, b64(bytes(bad))], [H, b64(tag)]],
            dict(ok, warnings=[{"code": "repeated-signature-header"}]))
    receive(c, "comma-joined-header", "Fetch joins repeated headers with ', '", GIFT,
            [[H, b64(bytes(bad)) + ", " + b64(tag)]], dict(ok))
    receive(c, "repeated-header-none-valid", "two signature headers, neither valid", GIFT,
            [[H, b64(bytes(bad))], [H, tag[:16].hex()]], dict(REJECT, reason="signature-mismatch"))
    receive(c, "empty-body-signed", "an authentic empty body is a dead letter, not lost, not retried", b"",
            [[H, b64(mac(S1, b""))]],
            dict(dead("empty-body"), dedupeKey="sha256:" + hashlib.sha256(b"").hexdigest(), secretIndex=0))
    receive(c, "empty-body-unsigned", "an empty body with a wrong tag is 401", b"", [[H, b64(tag)]],
            dict(REJECT, reason="signature-mismatch"))
    inv = b'{"event":"GiftCreate","gift":{"id":1,"notes":"\xff\xfe"}}'
    receive(c, "invalid-utf8-signed", "a non-UTF-8 body still verifies; parsing then dead-letters it", inv,
            [[H, b64(mac(S1, inv))]], dead("invalid-utf8"))
    receive(c, "invalid-utf8-unsigned", "a non-UTF-8 body with a wrong tag is simply a mismatch", inv,
            [[H, b64(tag)]], dict(REJECT, reason="signature-mismatch"))
    deep = b'{"event":"GiftCreate","gift":' + b"[" * 100 + b"]" * 100 + b"}"
    receive(c, "deep-nesting", "nesting beyond the depth limit (64) is a dead letter", deep,
            [[H, b64(mac(S1, deep))]], dead("too-deep"))
    small = dict(BASE, maxBodyBytes=64)
    receive(c, "oversize-body-configured-limit", "over maxBodyBytes: verified, then dead-lettered", GIFT,
            [[H, b64(tag)]], dead("body-too-large"), config=small)
    big = b"a" * (1024 * 1024 + 1)
    receive(c, "oversize-body-default-limit", "one byte over the 1 MiB default", {"repeat": {"utf8": "a", "count": len(big)}},
            [[H, b64(mac(S1, big))]], dead("body-too-large"))
    bad_json = b'{"event":"GiftCreate","gift":{'
    receive(c, "malformed-json", "truncated JSON is a dead letter", bad_json, [[H, b64(mac(S1, bad_json))]],
            dead("malformed-json"))
    arr = b'[{"event":"GiftCreate"}]'
    receive(c, "not-an-object", "a JSON array is not a delivery", arr, [[H, b64(mac(S1, arr))]], dead("not-an-object"))
    notype = b'{"gift":{"id":1}}'
    receive(c, "missing-event-type", "no event type field", notype, [[H, b64(mac(S1, notype))]],
            dead("missing-event-type"))
    unk = b'{"event":"GiftArchive","gift":{"id":5,"modifiedDateTimeUtc":"2025-01-01T00:00:00Z"},"extra":{"new":true}}'
    receive(c, "unknown-event-type", "an unknown type is acknowledged (2xx) and kept for logs", unk,
            [[H, b64(mac(S1, unk))]],
            dict(ACCEPTED, reason="unknown-event-type",
                 event={"eventType": None, "rawEventType": "GiftArchive", "resourceKind": None, "resourceId": "5"},
                 dedupeKey="resource:GiftArchive:5:2025-01-01T00:00:00Z"))
    cu = b'{"event":"ContactUpdate","contact":{"id":4821,"modifiedDateTimeUtc":"2024-12-16T09:00:00Z"}}'
    sub = dict(BASE, subscribedEvents=["giftCreate", "gift.updated"])
    receive(c, "unsubscribed-event", "an event type the host does not handle is acknowledged and dropped", cu,
            [[H, b64(mac(S1, cu))]], dict(ACCEPTED, reason="unsubscribed-event", event={"eventType": "contact-update"}),
            config=sub)
    receive(c, "subscribed-event", "a subscribed type is accepted", GIFT, [[H, b64(tag)]], dict(ok), config=sub)
    doc = json.dumps({"eventType": "gift.created", "eventId": "evt_01HZX", "timestamp": "2024-12-16T06:02:12Z",
                      "organizationId": 1234, "data": {"id": "78421", "amount": "500.00"}}, separators=(",", ":")).encode()
    receive(c, "documented-envelope", "the docs' illustrative envelope: eventId becomes the dedupe key; numbers as strings",
            doc, [[H, b64(mac(S1, doc))]],
            dict(ACCEPTED, dedupeKey="event:evt_01HZX",
                 event={"eventType": "gift-create", "rawEventType": "gift.created", "eventId": "evt_01HZX",
                        "timestamp": "2024-12-16T06:02:12Z", "organizationId": "1234", "resourceId": "78421",
                        "resource": {"id": "78421", "amount": "500.00"}}))
    nomod = b'{"event":"GiftDelete","gift":{"id":78421,"amount":500}}'
    receive(c, "dedupe-falls-back-to-body-hash", "without event id or modified time the key is the body's SHA-256",
            nomod, [[H, b64(mac(S1, nomod))]],
            dict(ACCEPTED, dedupeKey="sha256:" + hashlib.sha256(nomod).hexdigest(), event={"eventType": "gift-delete"}))
    receive(c, "stripe-style-header", "another provider's header format is diagnosed, not accepted", GIFT,
            [[H, "t=1700000000,v1=" + tag.hex()]],
            dict(REJECT, reason="malformed-signature", diagnostics=[{"code": "header-other-scheme"}]))
    receive(c, "standard-webhooks-header-in-virtuous", "a v1,<b64> list under the Virtuous scheme is diagnosed", GIFT,
            [[H, "v1," + b64(mac(S1, b"x." + GIFT))]],
            dict(REJECT, reason="signature-mismatch", diagnostics=[{"code": "header-other-scheme"}]))
    gw = b64(GIFT).encode()
    receive(c, "body-base64-by-gateway", "a gateway handed over Base64 text: diagnosed, still rejected", gw,
            [[H, b64(tag)]], dict(REJECT, reason="signature-mismatch",
                                  diagnostics=[{"code": "body-base64-encoded"}]))
    ws = {"secrets": [S1 + "\n"], "platformName": PLATFORM}
    receive(c, "secret-stray-whitespace", "a secret pasted with a newline: diagnosed, still rejected", GIFT,
            [[H, b64(tag)]], dict(REJECT, reason="signature-mismatch",
                                  diagnostics=[{"code": "secret-whitespace"}]),
            config=ws)
    receive(c, "compact-json-mismatch-hint", "with no better explanation, a compact JSON body gets the re-serialisation hint",
            GIFT, [[H, b64(mac(S2, GIFT))]],
            dict(REJECT, reason="signature-mismatch", diagnostics=[{"code": "body-may-be-reserialized"}]))
    receive(c, "object-object-body", "a parsed object coerced to text is diagnosed", b"[object Object]",
            [[H, b64(tag)]], dict(REJECT, reason="signature-mismatch", diagnostics=[{"code": "body-not-raw"}]))
    receive(c, "diagnostics-off", "diagnostics can be disabled", b"[object Object]", [[H, b64(tag)]],
            dict(REJECT, reason="signature-mismatch", diagnostics=[]), config=dict(BASE, diagnostics=False))

    # Standard Webhooks
    sw = {"secrets": [WHSEC], "platformName": PLATFORM, "scheme": "standard-webhooks"}
    msg_id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    def swsig(ts, body=GIFT, mid=msg_id, key=WHSEC_KEY):
        return b64(mac(key, f"{mid}.{ts}.".encode() + body))
    swh = lambda ts, sig, mid=msg_id: [["webhook-id", mid], ["webhook-timestamp", str(ts)], ["webhook-signature", sig]]
    swok = dict(ACCEPTED, replay="checked", dedupeKey="delivery:" + msg_id, secretIndex=0, event={"eventType": "gift-create"})
    receive(c, "sw-valid", "Standard Webhooks: id.timestamp.body, v1 list", GIFT, swh(NOW_S, "v1," + swsig(NOW_S)), swok, config=sw)
    receive(c, "sw-several-signatures", "several space-separated signatures, unknown versions skipped", GIFT,
            swh(NOW_S, "v1a,AAAA v1," + swsig(NOW_S, key=b"k" * 32) + " v1," + swsig(NOW_S)), swok, config=sw)
    receive(c, "sw-too-old", "authentic but older than 300 s", GIFT, swh(NOW_S - 301, "v1," + swsig(NOW_S - 301)),
            dict(REJECT, reason="timestamp-too-old", replay="checked"), config=sw)
    receive(c, "sw-edge-300-old", "exactly 300 s old is inside the window", GIFT,
            swh(NOW_S - 300, "v1," + swsig(NOW_S - 300)), swok, config=sw)
    receive(c, "sw-too-new", "more than 300 s in the future", GIFT, swh(NOW_S + 301, "v1," + swsig(NOW_S + 301)),
            dict(REJECT, reason="timestamp-too-new"), config=sw)
    receive(c, "sw-missing-timestamp", "no webhook-timestamp", GIFT,
            [["webhook-id", msg_id], ["webhook-signature", "v1," + swsig(NOW_S)]],
            dict(REJECT, reason="missing-timestamp"), config=sw)
    receive(c, "sw-malformed-timestamp", "parseInt-style junk after the digits is refused", GIFT,
            swh(str(NOW_S) + "abc", "v1," + swsig(NOW_S)), dict(REJECT, reason="malformed-timestamp"), config=sw)
    receive(c, "sw-missing-id", "no webhook-id", GIFT,
            [["webhook-timestamp", str(NOW_S)], ["webhook-signature", "v1," + swsig(NOW_S)]],
            dict(REJECT, reason="missing-id"), config=sw)
    receive(c, "sw-tampered-id", "the id is signed: a different id fails", GIFT,
            swh(NOW_S, "v1," + swsig(NOW_S), mid="msg_other"), dict(REJECT, reason="signature-mismatch"), config=sw)
    receive(c, "sw-no-v1-entry", "only unknown versions present", GIFT, swh(NOW_S, "v2," + swsig(NOW_S)),
            dict(REJECT, reason="malformed-signature"), config=sw)
    tight = dict(sw, scheme={"preset": "standard-webhooks", "tolerance": {"pastSeconds": 10, "futureSeconds": 0}})
    receive(c, "sw-custom-tolerance-future", "futureSeconds 0: one second ahead is too new", GIFT,
            swh(NOW_S + 1, "v1," + swsig(NOW_S + 1)), dict(REJECT, reason="timestamp-too-new"), config=tight)
    receive(c, "sw-custom-tolerance-past", "pastSeconds 10: 11 s old is too old", GIFT,
            swh(NOW_S - 11, "v1," + swsig(NOW_S - 11)), dict(REJECT, reason="timestamp-too-old"), config=tight)
    # GitHub
    gh = {"secrets": [S1], "platformName": PLATFORM, "scheme": "github"}
    ghh = lambda sig: [["X-Hub-Signature-256", sig], ["X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"]]
    receive(c, "github-valid", "sha256=<hex>; the delivery GUID is the dedupe key", GIFT, ghh("sha256=" + tag.hex()),
            dict(ACCEPTED, dedupeKey="delivery:72d3162e-cc78-11e3-81ab-4c9367dc0958", replay="unavailable"), config=gh)
    receive(c, "github-missing-prefix", "the prefix is required by the GitHub preset", GIFT, ghh(tag.hex()),
            dict(REJECT, reason="malformed-signature"), config=gh)
    receive(c, "github-sha1-only", "only the SHA-1 header present: missing", GIFT,
            [["X-Hub-Signature", "sha1=" + hmac.new(S1.encode(), GIFT, hashlib.sha1).hexdigest()]],
            dict(REJECT, reason="missing-signature"), config=gh)
    # VOMO
    vo = {"secrets": [S1], "platformName": PLATFORM, "scheme": "vomo"}
    vbody = b'{"type":"participation.created","organization_id":77,"data":{"id":12,"user_id":3,"hours":2}}'
    receive(c, "vomo-valid-unknown-type", "VOMO hex signature; its event types are not CRM+ types", vbody,
            [["vomo-signature", mac(S1, vbody).hex()]],
            dict(ACCEPTED, reason="unknown-event-type", event={"rawEventType": "participation.created", "organizationId": "77", "resourceId": "12"}),
            config=vo)
    receive(c, "vomo-base64-rejected", "the VOMO preset accepts hex only; Base64 is diagnosed", vbody,
            [["vomo-signature", b64(mac(S1, vbody))]],
            dict(REJECT, reason="malformed-signature", diagnostics=[{"code": "encoding-mismatch"}]), config=vo)
    # Custom
    cust = {"secrets": [S1], "platformName": PLATFORM,
            "scheme": {"headers": ["X-Sig", "X-Sig-Alt"], "encoding": "hex", "signedContent": "timestamp.body",
                       "timestampHeader": "X-Sig-Time"}}
    receive(c, "custom-timestamp-body", "a custom scheme: timestamp.body, hex, second header name", GIFT,
            [["x-sig-alt", mac(S1, f"{NOW_S}.".encode() + GIFT).hex()], ["x-sig-time", str(NOW_S)]],
            dict(ACCEPTED, replay="checked"), config=cust)
    return c


def event_cases():
    c = []
    families = [
        ("contact", "Contact", "contact", ["Create", "Update"]),
        ("gift", "Gift", "gift", ["Create", "Update", "Delete"]),
        ("project", "Project", "project", ["Create", "Update", "Delete"]),
        ("contact-note", "ContactNote", "contactNote", ["Create", "Update", "Delete"]),
        ("event", "Event", "event", ["Create", "Update", "Delete"]),
    ]
    past = {"Create": "created", "Update": "updated", "Delete": "deleted"}
    types = []
    for kebab, pascal, key, actions in families:
        for a in actions:
            types.append((f"{kebab}-{a.lower()}", pascal + a, key[0].lower() + key[1:] + a,
                          f"{key}.{past[a]}", key, kebab))
    types.append(("form-submission", "FormSubmission", "formSubmission", "form.submitted", "formSubmission",
                  "form-submission"))
    assert len(types) == 15
    for code, pascal, camel, dotted, key, kind in types:
        for form, raw in (("pascal", pascal), ("camel", camel), ("dotted", dotted)):
            # The Event family's record sits under "event", so its type must use another key.
            type_key = "eventType" if key == "event" else "event"
            body = json.dumps({type_key: raw, key: {"id": 1000 + len(c), "modifiedDateTimeUtc": "2025-03-01T10:00:00Z"}},
                              separators=(",", ":")).encode()
            receive(c, f"type-{code}-{form}", f"{raw} normalises to {code}", body,
                    [["x-virtuous-signature", b64(mac(S1, body))]],
                    dict(ACCEPTED, event={"eventType": code, "rawEventType": raw, "resourceKind": kind,
                                          "resourceId": str(1000 + len(c))},
                         dedupeKey=f"resource:{code}:{1000 + len(c)}:2025-03-01T10:00:00Z"))
    return c


def config_cases():
    c = []
    def bad(name, why, config, code, field):
        case(c, name, why, op="newCore", config=config, expectError={"code": code, "field": field})
    def good(name, why, config):
        case(c, name, why, op="newCore", config=config, expect={})
    good("minimal-config", "secrets and platformName are enough", BASE)
    good("every-preset", "a preset by name", dict(BASE, scheme="github"))
    good("preset-with-override", "a preset object with one override", dict(BASE, scheme={"preset": "virtuous", "headers": ["x-signature"]}))
    good("weak-secret-allowed", "an existing short secret can be allowed explicitly",
         {"secrets": ["short"], "platformName": PLATFORM, "allowWeakSecrets": True})
    bad("no-secrets-empty", "an empty list", {"secrets": [], "platformName": PLATFORM}, "no-secrets", "secrets")
    bad("no-secrets-missing", "no secrets key", {"platformName": PLATFORM}, "no-secrets", "secrets")
    bad("weak-secret", "under 32 bytes is refused by default", {"secrets": [S1, "short"], "platformName": PLATFORM},
        "weak-secret", "secrets[1]")
    bad("empty-secret", "an empty secret", {"secrets": [""], "platformName": PLATFORM, "allowWeakSecrets": True},
        "invalid-secret", "secrets[0]")
    bad("secret-object-without-secret", "an object needs `secret`", {"secrets": [{"id": "a"}], "platformName": PLATFORM},
        "invalid-secret", "secrets[0].secret")
    bad("secret-not-after-wrong-type", "notAfter is a number", {"secrets": [{"secret": S1, "notAfter": "tomorrow"}],
        "platformName": PLATFORM}, "invalid-config", "secrets[0].notAfter")
    bad("secret-wrong-type", "a number is not a secret", {"secrets": [5], "platformName": PLATFORM}, "invalid-secret", "secrets[0]")
    bad("whsec-not-base64", "a Standard Webhooks secret must be Base64", {"secrets": ["whsec_***"], "platformName": PLATFORM,
        "scheme": "standard-webhooks"}, "invalid-secret", "secrets[0]")
    bad("missing-platform-name", "platformName is required", {"secrets": [S1]}, "invalid-platform-name", "platformName")
    bad("blank-platform-name", "platformName must not be blank", {"secrets": [S1], "platformName": "  "},
        "invalid-platform-name", "platformName")
    bad("unknown-key", "a typo is an error, not ignored", {"secrets": [S1], "platformName": PLATFORM, "secret": S1},
        "invalid-config", "secret")
    bad("unknown-preset", "no such preset", dict(BASE, scheme="stripe"), "unknown-preset", "scheme")
    bad("scheme-bad-encoding", "encoding must be auto, hex or base64", dict(BASE, scheme={"encoding": "base32"}),
        "invalid-scheme", "scheme.encoding")
    bad("scheme-timestamp-without-header", "signing a timestamp needs its header",
        dict(BASE, scheme={"signedContent": "timestamp.body"}), "invalid-scheme", "scheme.timestampHeader")
    bad("scheme-bad-header-name", "a header name with a space", dict(BASE, scheme={"headers": ["x sig"]}),
        "invalid-scheme", "scheme.headers[0]")
    bad("scheme-no-headers", "an empty header list", dict(BASE, scheme={"headers": []}), "invalid-scheme", "scheme.headers")
    bad("scheme-tolerance-too-large", "tolerance is capped at 7 days",
        dict(BASE, scheme={"preset": "standard-webhooks", "tolerance": {"pastSeconds": 999999}}), "invalid-option", "scheme.tolerance")
    bad("scheme-tolerance-negative", "tolerance is non-negative",
        dict(BASE, scheme={"tolerance": {"pastSeconds": -1}}), "invalid-option", "scheme.tolerance.pastSeconds")
    bad("max-depth-zero", "maxDepth at least 1", dict(BASE, maxDepth=0), "invalid-option", "maxDepth")
    bad("max-body-fraction", "maxBodyBytes is a whole number", dict(BASE, maxBodyBytes=10.5), "invalid-option", "maxBodyBytes")
    bad("subscribed-unknown", "every subscribed type must be one of the 15", dict(BASE, subscribedEvents=["giftCreate", "giftArchive"]),
        "invalid-option", "subscribedEvents[1]")
    bad("config-not-object", "the config is an object", [1, 2], "invalid-config", "")
    return c


def verify_cases():
    c = []
    body = GIFT
    tag = mac(S1, body)
    def v(name, why, header, secrets, expect, options=None, b=body, error=None):
        case(c, name, why, op="verifySignature", body=body_spec(b), headerValue=header, secrets=secrets,
             options=dict({"nowMs": NOW_MS}, **(options or {})), expect=expect, expectError=error)
    v("verify-ok", "default scheme, one secret", b64(tag), [S1], {"ok": True, "secretIndex": 0, "code": None, "replay": "unavailable"})
    v("verify-ok-second-secret", "rotation list", tag.hex(), [{"id": "a", "secret": S2}, {"id": "b", "secret": S1}],
      {"ok": True, "secretIndex": 1, "secretId": "b"})
    v("verify-mismatch", "wrong secret", b64(tag), [S2], {"ok": False, "code": "signature-mismatch", "secretIndex": None})
    v("verify-no-secrets", "an empty list is a failed verification, not a crash", b64(tag), [],
      {"ok": False, "code": "no-secrets"})
    v("verify-truncated", "a truncated tag", tag[:31].hex(), [S1], {"ok": False, "code": "malformed-signature"})
    v("verify-binary-body", "non-UTF-8 bytes verify", b64(mac(S1, bytes(range(256)))), [S1], {"ok": True},
      b=bytes(range(256)))
    v("verify-sw-with-options", "timestamp and id passed as options",
      "v1," + b64(mac(WHSEC_KEY, f"msg_1.{NOW_S}.".encode() + body)), [WHSEC],
      {"ok": True, "replay": "checked"}, options={"scheme": "standard-webhooks", "timestamp": str(NOW_S), "id": "msg_1"})
    v("verify-sw-numeric-timestamp", "a numeric timestamp option is accepted",
      "v1," + b64(mac(WHSEC_KEY, f"msg_1.{NOW_S}.".encode() + body)), [WHSEC],
      {"ok": True}, options={"scheme": "standard-webhooks", "timestamp": NOW_S, "id": "msg_1"})
    v("verify-weak-secret-refused", "weak secrets throw unless allowed", b64(mac("short", body)), ["short"], None,
      error={"code": "weak-secret", "field": "secrets[0]"})
    v("verify-weak-secret-allowed", "allowWeakSecrets", b64(mac("short", body)), ["short"], {"ok": True},
      options={"allowWeakSecrets": True})
    v("verify-bad-option", "an unknown option is an error", b64(tag), [S1], None, options={"tolerance": 5},
      error={"code": "invalid-config", "field": "options.tolerance"})
    return c


def sign_cases():
    c = []
    def s(name, why, secret, options, expect, b=GIFT):
        case(c, name, why, op="signBody", body=body_spec(b), secret=secret, options=options, expect=expect)
    tag = mac(S1, GIFT)
    s("sign-virtuous-default", "the Virtuous preset signs Base64 of the body", S1, None,
      {"signature": b64(tag), "headers": {"x-virtuous-signature": b64(tag)}})
    s("sign-virtuous-hex", "hex on request", S1, {"encoding": "hex"}, {"signature": tag.hex()})
    s("sign-github", "GitHub: sha256=<hex>", S1, {"scheme": "github"},
      {"signature": "sha256=" + tag.hex(), "headers": {"x-hub-signature-256": "sha256=" + tag.hex()}})
    s("sign-vomo", "VOMO: hex", S1, {"scheme": "vomo"}, {"signature": tag.hex()})
    sw = "v1," + b64(mac(WHSEC_KEY, f"msg_9.{NOW_S}.".encode() + GIFT))
    s("sign-standard-webhooks", "all three Standard Webhooks headers", WHSEC,
      {"scheme": "standard-webhooks", "timestamp": NOW_S, "id": "msg_9"},
      {"signature": sw, "headers": {"webhook-signature": sw, "webhook-timestamp": str(NOW_S), "webhook-id": "msg_9"}})
    s("sign-binary-body", "bytes, not text", S1, None, {"signature": b64(mac(S1, b"\x00\xff\x10"))}, b=b"\x00\xff\x10")
    s("sign-empty-body", "the empty body", S1, None, {"signature": b64(mac(S1, b""))}, b=b"")
    def e(name, why, secret, options, code, field):
        case(c, name, why, op="signBody", body=body_spec(GIFT), secret=secret, options=options,
             expectError={"code": code, "field": field})
    e("sign-sw-needs-timestamp", "the core reads no clock: pass the timestamp", WHSEC,
      {"scheme": "standard-webhooks", "id": "m"}, "invalid-argument", "options.timestamp")
    e("sign-sw-needs-id", "Standard Webhooks signs an id", WHSEC, {"scheme": "standard-webhooks", "timestamp": NOW_S},
      "invalid-argument", "options.id")
    e("sign-weak-secret", "weak secrets are refused for signing too", "short", None, "weak-secret", "secret")
    e("sign-github-base64", "GitHub only takes hex", S1, {"scheme": "github", "encoding": "base64"}, "invalid-option", "options.encoding")
    return c


def js(o):
    return json.dumps(o, separators=(",", ":")).encode()


VOMO = {"secrets": [S1], "platformName": PLATFORM, "product": "volunteer"}


def vomo_cases():
    """VOMO (Volunteer) webhook deliveries: {type, organization_id, data}, hex HMAC in vomo-signature."""
    c = []

    def vsig(b, key=S1):
        return [["vomo-signature", mac(key, b).hex()]]

    part = {"id": 12, "user_id": 3, "project_id": 44, "status": "approved", "hours": 2,
            "created_at": "2025-03-01T10:00:00.000000Z", "updated_at": "2025-03-01T10:00:00.000000Z"}
    for verb, action in (("created", "create"), ("updated", "update"), ("deleted", "delete")):
        b = js({"type": f"participation.{verb}", "organization_id": 77, "data": part})
        receive(c, f"vomo-participation-{verb}", f"participation.{verb}: product volunteer, kind participation, "
                f"action {action}, the id, organisation and data.updated_at", b, vsig(b),
                dict(ACCEPTED, event={"product": "volunteer", "resourceKind": "participation", "action": action,
                                      "productEventType": f"participation.{verb}", "eventType": None,
                                      "rawEventType": f"participation.{verb}", "resourceId": "12",
                                      "organizationId": "77", "modifiedDateTimeUtc": "2025-03-01T10:00:00.000000Z"},
                     dedupeKey=f"volunteer:resource:participation.{verb}:12:2025-03-01T10:00:00.000000Z",
                     replay="unavailable"), config=VOMO)
    for family, kind in (("project", "project"), ("user", "contact")):
        b = js({"type": f"{family}.updated", "organization_id": "77",
                "data": {"id": 9, "updated_at": "2025-03-02T08:00:00.000000Z"}})
        receive(c, f"vomo-{family}-updated", f"{family}.updated syncs as a {kind}", b, vsig(b),
                dict(ACCEPTED, event={"product": "volunteer", "resourceKind": kind, "action": "update",
                                      "productEventType": f"{family}.updated", "resourceId": "9"}),
                config=VOMO)
    b = js({"type": "participation.checked_in", "organization_id": 77, "data": part})
    receive(c, "vomo-unknown-verb", "an unknown VOMO type is tolerated (200), its record kept, no kind guessed", b,
            vsig(b), dict(ACCEPTED, reason="unknown-event-type",
                          event={"product": "volunteer", "resourceKind": None, "action": None, "productEventType": None,
                                 "rawEventType": "participation.checked_in", "resourceId": "12"}), config=VOMO)
    b = js({"organization_id": 77, "data": part})
    receive(c, "vomo-no-type-dead-letter", "a VOMO body with no type is kept as a dead letter", b, vsig(b),
            dict(dead("missing-event-type"), dedupeKey="volunteer:sha256:" + hashlib.sha256(b).hexdigest()),
            config=VOMO)
    b = js({"type": "participation.created", "organization_id": 77, "data": part})
    receive(c, "vomo-base64-refused", "the vomo preset (the volunteer default) reads hex only", b,
            [["vomo-signature", b64(mac(S1, b))]], dict(REJECT, reason="malformed-signature"), config=VOMO)
    receive(c, "vomo-unsigned-refused", "an unsigned VOMO delivery is refused", b, [],
            dict(REJECT, reason="missing-signature"), config=VOMO)
    receive(c, "vomo-crm-receiver-stays-crm", "a CRM+ receiver with the vomo scheme still parses as CRM+ "
            "(the product is configuration, never guessed from the body)", b, vsig(b),
            dict(ACCEPTED, reason="unknown-event-type", event={"product": None, "resourceKind": None}),
            config={"secrets": [S1], "platformName": PLATFORM, "scheme": "vomo"})
    case(c, "vomo-subscribed-events-refused", "subscribedEvents names CRM+ types; a volunteer receiver refuses it",
         "newCore", config=dict(VOMO, subscribedEvents=["gift-create"]),
         expectError={"code": "invalid-option", "field": "subscribedEvents"})
    case(c, "vomo-unknown-product", "product is a closed set", "newCore",
         config=dict(VOMO, product="vomo"), expectError={"code": "invalid-option", "field": "product"})
    return c


RAISE = {"secrets": [S1], "platformName": PLATFORM, "product": "raise"}


def raise_cases():
    """Raise webhook deliveries: integer event types with configurable labels, the raise preset, contextId."""
    c = []

    def rsig(b, header="x-raise-signature", enc="hex", key=S1):
        t = mac(key, b)
        return [[header, t.hex() if enc == "hex" else b64(t)]]

    fams = [("gift", "gift", "gift"), ("recurring-gift", "recurring-gift", "recurringGift"),
            ("donor", "contact", "donor"), ("campaign", "campaign", "campaign"), ("page", "page", "page")]
    for i, (fam, kind, key) in enumerate(fams):
        for j, action in enumerate(("create", "update", "delete")):
            code = (i + 1) * 10 + j
            b = js({"eventType": code, "contextId": f"ctx-{code}",
                    key: {"id": 500 + code, "modifiedDate": "2025-04-01T12:00:00Z"}})
            receive(c, f"raise-type-{code}", f"event type {code} reads as {fam}-{action} under the default labels "
                    "(an assumption: docs.virtuous.org leaves them unlabeled)", b, rsig(b),
                    dict(ACCEPTED, event={"product": "raise", "rawEventType": str(code), "eventType": None,
                                          "productEventType": f"{fam}-{action}", "resourceKind": kind,
                                          "action": action, "resourceId": str(500 + code), "eventId": f"ctx-{code}",
                                          "modifiedDateTimeUtc": "2025-04-01T12:00:00Z"},
                         dedupeKey=f"raise:event:ctx-{code}"), config=RAISE)
    b = js({"eventType": 13, "data": {"id": 7}})
    receive(c, "raise-unknown-integer", "an integer no label names is an unknown type: acknowledged, never a guessed kind",
            b, rsig(b), dict(ACCEPTED, reason="unknown-event-type",
                            event={"product": "raise", "rawEventType": "13", "resourceKind": None, "action": None,
                                   "productEventType": None, "resourceId": "7"}), config=RAISE)
    b = js({"eventType": 99, "data": {"id": 7}})
    receive(c, "raise-out-of-range-integer", "an integer outside 10..52 is unknown too", b, rsig(b),
            dict(ACCEPTED, reason="unknown-event-type", event={"rawEventType": "99", "resourceKind": None}),
            config=RAISE)
    b = js({"eventType": "21", "data": {"id": "rg-1"}})
    receive(c, "raise-type-as-text", "numeric text reads like the integer", b, rsig(b),
            dict(ACCEPTED, event={"productEventType": "recurring-gift-update", "resourceKind": "recurring-gift"}),
            config=RAISE)
    b = js({"eventType": "Gift Created", "gift": {"id": 1}})
    receive(c, "raise-type-as-display-text", "a display text (as the delivery logs' eventTypeDisplay) reads as its label",
            b, rsig(b), dict(ACCEPTED, event={"productEventType": "gift-create", "rawEventType": "Gift Created"}),
            config=RAISE)
    relabel = {**RAISE, "raise": {"eventTypes": {"13": "gift-update", "10": "donor-create", "52": None}}}
    b = js({"eventType": 13, "data": {"id": 7}})
    receive(c, "raise-configured-label", "raise.eventTypes overrides a label per integer", b, rsig(b),
            dict(ACCEPTED, event={"productEventType": "gift-update", "resourceKind": "gift", "action": "update"}),
            config=relabel)
    b = js({"eventType": 10, "donor": {"id": 3}})
    receive(c, "raise-relabelled-default", "an override replaces the default label", b, rsig(b),
            dict(ACCEPTED, event={"productEventType": "donor-create", "resourceKind": "contact", "resourceId": "3"}),
            config=relabel)
    b = js({"eventType": 52, "page": {"id": 3}})
    receive(c, "raise-removed-label", "null removes a label: the integer becomes unknown", b, rsig(b),
            dict(ACCEPTED, reason="unknown-event-type", event={"resourceKind": None}), config=relabel)
    b = js({"eventType": 11, "data": {"id": 78, "modifiedDate": "2025-04-01T12:00:00Z"}})
    receive(c, "raise-no-context-id", "without contextId the record id and modified time name the change", b, rsig(b),
            dict(ACCEPTED, dedupeKey="raise:resource:11:78:2025-04-01T12:00:00Z"), config=RAISE)
    b = js({"eventType": 10, "contextId": "ctx-1", "gift": {"id": 1}})
    for header, enc in (("x-webhook-signature", "base64"), ("X-Signature", "hex"), ("signature", "hex")):
        receive(c, f"raise-header-{header.lower()}-{enc}", f"the raise preset reads {header} ({enc})", b,
                rsig(b, header, enc), dict(ACCEPTED, event={"eventId": "ctx-1"}), config=RAISE)
    receive(c, "raise-unsigned-refused", "the safe default: an unsigned Raise delivery is refused (401); Raise "
            "retries and its delivery log records the failure", b, [], dict(REJECT, reason="missing-signature"),
            config=RAISE)
    receive(c, "raise-wrong-token-refused", "signed with another token: refused", b,
            rsig(b, key=S2), dict(REJECT, reason="signature-mismatch"), config=RAISE)
    custom = dict(RAISE, scheme={"headers": ["X-Raise-Hmac"], "encoding": "base64"})
    receive(c, "raise-custom-scheme", "the scheme is configuration: another header and encoding", b,
            rsig(b, "x-raise-hmac", "base64"), dict(ACCEPTED), config=custom)
    b = js({"contextId": "ctx-2", "gift": {"id": 1}})
    receive(c, "raise-no-type-dead-letter", "no event type: a dead letter, kept", b, rsig(b),
            dict(dead("missing-event-type"), dedupeKey="raise:sha256:" + hashlib.sha256(b).hexdigest()), config=RAISE)
    for name, cfg, field in (
        ("raise-label-bad-integer", {"eventTypes": {"9": "gift-create"}}, "raise.eventTypes.9"),
        ("raise-label-bad-text", {"eventTypes": {"10": "gift-refund"}}, "raise.eventTypes.10"),
        ("raise-label-not-object", {"eventTypes": ["gift-create"]}, "raise.eventTypes"),
    ):
        case(c, name, "a label configuration Raise cannot mean is refused naming the key", "newCore",
             config={**RAISE, "raise": cfg}, expectError={"code": "invalid-option", "field": field})
    case(c, "raise-section-needs-raise-product", "the raise section belongs to a raise receiver", "newCore",
         config={**BASE, "raise": {"eventTypes": {}}}, expectError={"code": "invalid-option", "field": "raise"})
    case(c, "raise-section-unknown-key", "an unknown key of the raise section is refused", "newCore",
         config={**RAISE, "raise": {"eventType": {}}}, expectError={"code": "invalid-config"})
    return c


def write(name, description, cases):
    path = os.path.join(ROOT, name)
    with open(path, "w") as f:
        json.dump({"description": description, "generator": "scripts/gen-vectors.py", "cases": cases}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{path}: {len(cases)} cases")


if __name__ == "__main__":
    write("receive.json", "core.receive: signature forms, rotation, headers, limits, dead letters, presets", receive_cases())
    write("events.json", "core.receive: the 15 CRM+ event types in PascalCase, camelCase and dotted forms", event_cases())
    write("config.json", "new SyncCore(config): validation errors name the field", config_cases())
    write("verify.json", "verifySignature: one header value, a secret list, options", verify_cases())
    write("sign.json", "signBody: every preset, bytes in, headers out", sign_cases())
    write("vomo-webhooks.json", "core.receive, product volunteer: VOMO {type, organization_id, data} deliveries", vomo_cases())
    write("raise.json", "core.receive, product raise: integer event types, labels, the raise preset, contextId", raise_cases())
