//! Shared by every fuzz target: the receive configurations of the shared vectors (compiled in, so the targets
//! cover every signing scheme the vectors do), the header/body framing of the receive targets, and the
//! by-name operation call. A panic anywhere is a crash: in wasm it would be a trap that kills the host's instance.
#![allow(dead_code)]

use std::sync::OnceLock;

use serde_json::{json, Value};
use virtuous_sync::{Headers, SyncCore};

static RECEIVE_VECTORS: &str = include_str!("../../tests/vectors/receive.json");

/// A receive configuration of the vectors, its core, and the `nowMs` its case used.
pub struct Setup {
    pub config: Value,
    pub core: SyncCore,
    pub now_ms: i64,
}

/// Every distinct valid `{config, nowMs}` of `tests/vectors/receive.json` (either vector schema).
pub fn setups() -> &'static [Setup] {
    static SETUPS: OnceLock<Vec<Setup>> = OnceLock::new();
    SETUPS.get_or_init(|| {
        let doc: Value = serde_json::from_str(RECEIVE_VECTORS).unwrap_or(Value::Null);
        let cases = doc
            .get("cases")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut seen = Vec::<String>::new();
        let mut out = Vec::new();
        for case in cases {
            let args = case.get("input").unwrap_or(&case);
            let Some(config) = args.get("config") else {
                continue;
            };
            let now_ms = args
                .get("nowMs")
                .and_then(Value::as_i64)
                .unwrap_or(1_734_329_000_000);
            let key = format!("{config}{now_ms}");
            if seen.contains(&key) {
                continue;
            }
            if let Ok(core) = SyncCore::from_json(config) {
                seen.push(key);
                out.push(Setup {
                    config: config.clone(),
                    core,
                    now_ms,
                });
            }
        }
        assert!(
            out.len() >= 4,
            "expected the receive vectors' configurations, found {}",
            out.len()
        );
        out
    })
}

/// The setup chosen by the input's first byte, and the rest of the input.
pub fn pick(data: &[u8]) -> Option<(&'static Setup, &[u8])> {
    let (&first, rest) = data.split_first()?;
    let all = setups();
    all.get(usize::from(first) % all.len()).map(|s| (s, rest))
}

/// `name: value` lines, then a NUL byte, then the body (what `scripts/fuzz` writes as seeds).
pub fn split_delivery(data: &[u8]) -> (Headers, &[u8]) {
    let cut = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (head, body) = data.split_at(cut);
    let body = body.get(1..).unwrap_or(&[]);
    let mut headers = Headers::new();
    for line in String::from_utf8_lossy(head).split('\n') {
        if let Some((name, value)) = line.split_once(':') {
            headers.append(name, value.trim_start());
        }
    }
    (headers, body)
}

/// Every field of a receipt must serialise (the adapters hand it to JS and WIT), and none may hold a secret
/// the delivery (`input`: its bytes and headers) did not itself carry: a receipt may echo the body's own text.
pub fn check_receipt(setup: &Setup, receipt: &virtuous_sync::Receipt, input: &[u8]) {
    let text = serde_json::to_string(receipt).expect("a receipt serialises");
    // The receipt's own writer (what the npm package hands to JS) gives the same bytes.
    assert_eq!(receipt.to_json_text(), text, "the receipt's text differs from serde_json's");
    for secret in setup
        .config
        .get("secrets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let secret = secret
            .as_str()
            .or_else(|| secret.get("secret").and_then(Value::as_str))
            .unwrap_or("");
        let echoed = input
            .windows(secret.len().max(1))
            .any(|w| w == secret.as_bytes());
        assert!(
            secret.len() < 8 || echoed || !text.contains(secret),
            "a receipt holds a secret"
        );
    }
    assert!(
        (200..600).contains(&receipt.status),
        "status {}",
        receipt.status
    );
    if receipt.status == 200 {
        assert!(receipt.authentic, "a 2xx receipt is authentic");
    }
}

/// Signs `body` as the setup's sender would (its first secret, its scheme, its clock).
pub fn sign(setup: &Setup, body: &[u8]) -> Option<Headers> {
    let secret = setup.config.get("secrets")?.as_array()?.first()?.clone();
    let mut options = json!({
        "timestamp": setup.now_ms.div_euclid(1000),
        "id": "msg_fuzz",
        "allowWeakSecrets": true,
    });
    if let Some(scheme) = setup.config.get("scheme") {
        options["scheme"] = scheme.clone();
    }
    let signed = virtuous_sync::sign_body_json(body, &secret, &options).ok()?;
    let mut headers = Headers::new();
    for (name, value) in &signed.headers {
        headers.append(name, value);
    }
    headers.append("content-type", "application/json");
    Some(headers)
}

/// One operation by its npm name on JSON input: any outcome is fine, a panic is not; results serialise.
pub fn op(name: &str, data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match virtuous_sync::ops::call(name, &value) {
        Ok(result) => {
            serde_json::to_string(&result).expect("a result serialises");
        }
        Err(error) => {
            assert!(
                !error.code.is_empty(),
                "an error carries its code: {error:?}"
            );
            assert!(
                !error.message.is_empty(),
                "an error says what is wrong: {error:?}"
            );
        }
    }
}
