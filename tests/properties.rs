//! Property tests: the verifier and parser never panic, never accept a wrong or truncated tag, and
//! treat equivalent encodings of the same tag alike.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine as _;
use proptest::prelude::*;
use serde_json::json;
use virtuous_sync::receive::envelope::{parse, Limits};
use virtuous_sync::receive::signature::{hmac_sha256, verify_tag};
use virtuous_sync::{sign_body_json, verify_signature_json, Headers, SyncCore};

const SECRET: &str = "property-test-secret-0123456789abcdefgh";

fn core(scheme: &str) -> SyncCore {
    let secret = if scheme == "standard-webhooks" {
        format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode([9u8; 32])
        )
    } else {
        SECRET.to_owned()
    };
    SyncCore::from_json(&json!({"secrets": [secret], "platformName": "P", "scheme": scheme}))
        .unwrap()
}

fn header_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    let names = prop_oneof![
        Just("x-virtuous-signature".to_owned()),
        Just("webhook-signature".to_owned()),
        Just("webhook-timestamp".to_owned()),
        Just("webhook-id".to_owned()),
        Just("x-hub-signature-256".to_owned()),
        "[a-zA-Z-]{1,20}",
    ];
    let values = prop_oneof![
        any::<String>(),
        "[A-Za-z0-9+/=, ._-]{0,120}",
        "v1,[A-Za-z0-9+/=]{40,48}( v1,[A-Za-z0-9+/=]{40,48})?",
        "sha256=[0-9a-fA-F]{60,68}",
        "[0-9]{1,14}",
    ];
    prop::collection::vec((names, values), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    /// Arbitrary bytes and headers never panic and never authenticate.
    #[test]
    fn receive_never_panics_nor_accepts_garbage(
        body in prop::collection::vec(any::<u8>(), 0..512),
        headers in header_strategy(),
        now in any::<i64>(),
        scheme in prop_oneof![Just("virtuous"), Just("standard-webhooks"), Just("github"), Just("vomo")],
    ) {
        let h: Headers = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let r = core(scheme).receive(&body, &h, now);
        prop_assert_eq!(r.status, 401);
        prop_assert!(!r.authentic);
        // What the adapters hand over says the same: refused, unauthenticated, and nothing of the body
        // (no event, no dedupe key) comes out of a delivery that did not verify.
        let v = serde_json::to_value(&r).unwrap();
        prop_assert_eq!(&v["status"], &json!(401));
        prop_assert_eq!(&v["authentic"], &json!(false));
        prop_assert_eq!(&v["reason"], &serde_json::to_value(r.reason).unwrap());
        prop_assert!(v.get("event").is_none() && v.get("dedupeKey").is_none(), "{}", v);
    }

    /// A signed body verifies; any change to one byte of body or tag does not.
    #[test]
    fn tamper_is_always_detected(
        body in prop::collection::vec(any::<u8>(), 0..300),
        flip_at in any::<prop::sample::Index>(),
        bit in 0u8..8,
        in_tag in any::<bool>(),
    ) {
        let key = SECRET.as_bytes();
        let tag = hmac_sha256(key, &body);
        prop_assert!(verify_tag(key, &body, &tag));
        let (mut b, mut t) = (body.clone(), tag.to_vec());
        if in_tag || b.is_empty() {
            let i = flip_at.index(t.len());
            t[i] ^= 1 << bit;
        } else {
            let i = flip_at.index(b.len());
            b[i] ^= 1 << bit;
        }
        prop_assert!(!verify_tag(key, &b, &t));
    }

    /// No prefix of a valid tag (a truncated tag) is ever accepted, nor the tag with bytes added.
    #[test]
    fn truncated_or_extended_tags_rejected(body in prop::collection::vec(any::<u8>(), 0..64), cut in 0usize..32, extra in 1usize..8) {
        let key = SECRET.as_bytes();
        let tag = hmac_sha256(key, &body);
        prop_assert!(!verify_tag(key, &body, &tag[..cut]));
        let mut long = tag.to_vec();
        long.extend(std::iter::repeat_n(0u8, extra));
        prop_assert!(!verify_tag(key, &body, &long));
        let header = hex::encode(&tag[..cut]);
        let v = verify_signature_json(&body, &header, &json!([SECRET]), &json!({"nowMs": 0})).unwrap();
        prop_assert!(!v.ok);
    }

    /// sign_body then receive round-trips for every preset, with every accepted encoding form.
    #[test]
    fn sign_then_receive_round_trips(
        body in prop::collection::vec(any::<u8>(), 0..300),
        scheme in prop_oneof![Just("virtuous"), Just("standard-webhooks"), Just("github"), Just("vomo")],
        ts in 1_000_000_000i64..2_000_000_000,
        upper in any::<bool>(),
        pad in "[ \t]{0,2}",
    ) {
        let c = core(scheme);
        let secret = if scheme == "standard-webhooks" {
            json!(format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode([9u8; 32])))
        } else {
            json!(SECRET)
        };
        let encoding = if scheme == "virtuous" && upper { json!("hex") } else { serde_json::Value::Null };
        let mut opts = json!({"scheme": scheme, "timestamp": ts, "id": "msg_1"});
        if !encoding.is_null() { opts["encoding"] = encoding; }
        let signed = sign_body_json(&body, &secret, &opts).unwrap();
        let h: Headers = signed.headers.iter().map(|(n, v)| {
            let mut v = v.clone();
            if n.contains("signature") {
                if upper && scheme != "standard-webhooks" && scheme != "github" { v = v.to_uppercase(); }
                v = format!("{pad}{v}{pad}");
            }
            (n.to_uppercase(), v)
        }).collect();
        let r = c.receive(&body, &h, ts * 1000);
        prop_assert!(r.authentic, "{:?}", r);
        prop_assert_eq!(r.secret_index, Some(0));
    }

    /// No-panic property: the parser returns (an event or an error) for arbitrary bytes.
    #[test]
    fn parser_never_panics(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&body, &Limits::default());
    }

    /// JSON input is parsed as a simple model says: too deep, not an object, no event type, or an event
    /// whose raw type is the trimmed text of one of the event-type keys at the top level.
    #[test]
    fn parser_handles_arbitrary_json(v in arb_json()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        let limits = Limits { max_body_bytes: 1 << 20, max_depth: 8 };
        let candidates: Vec<String> = v.as_object().map(|o| {
            o.iter()
                .filter(|(k, _)| EVENT_TYPE_KEYS.contains(&squash(k).as_str()))
                .filter_map(|(_, x)| x.as_str().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned))
                .collect()
        }).unwrap_or_default();
        match parse(&bytes, &limits) {
            Ok(e) => {
                prop_assert!(depth(&v) <= 8 && v.is_object());
                prop_assert!(candidates.contains(&e.raw_event_type), "{:?} not in {:?}", e.raw_event_type, candidates);
            }
            Err(e) => {
                let want = if depth(&v) > 8 {
                    "too-deep"
                } else if !v.is_object() {
                    "not-an-object"
                } else {
                    prop_assert!(candidates.is_empty(), "refused {:?} with {}", candidates, e.code());
                    "missing-event-type"
                };
                prop_assert_eq!(e.code(), want);
            }
        }
    }
}

/// The keys the envelope reads the event type from, squashed (see `squash`).
const EVENT_TYPE_KEYS: [&str; 5] = ["eventtype", "event", "type", "eventname", "topic"];

/// Lower-case letters and digits only, as the envelope compares keys.
fn squash(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Nesting depth in arrays and objects (a scalar is 0).
fn depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("GiftCreate".to_owned()),
            Just("contact.updated".to_owned()),
            ".{0,12}"
        ]
        .prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(12, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("event".to_owned()),
                    Just("gift".to_owned()),
                    Just("data".to_owned()),
                    Just("id".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
