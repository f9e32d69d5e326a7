//! Any signature header value (with valid timestamp and id headers beside it) for a fixed body, under every
//! configuration of the receive vectors: the scheme parsers see every input.
#![no_main]
#[path = "common.rs"]
mod common;

use virtuous_sync::Headers;

const BODY: &[u8] = br#"{"event":"GiftCreate","gift":{"id":78421,"amount":500.0}}"#;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((setup, value)) = common::pick(data) else {
        return;
    };
    let Some(valid) = common::sign(setup, BODY) else {
        return;
    };
    let value = String::from_utf8_lossy(value);
    let names: Vec<String> = setup
        .config
        .pointer("/scheme/headers")
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_ascii_lowercase))
                .collect()
        })
        .unwrap_or_default();
    let mut headers = Headers::new();
    let mut replaced = false;
    for (name, v) in valid.iter() {
        let is_signature = names.iter().any(|n| n == name) || name.contains("signature");
        if is_signature && !replaced {
            headers.append(name, &value);
            replaced = true;
        } else if !is_signature {
            headers.append(name, v);
        }
    }
    let receipt = setup.core.receive(BODY, &headers, setup.now_ms);
    common::check_receipt(setup, &receipt, value.as_bytes());
});
