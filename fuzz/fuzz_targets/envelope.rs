//! Any body, correctly signed, into `SyncCore::receive`: past verification, so the envelope and event parser
//! see every input. A body the sender signed must verify unless it is over the size limit.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((setup, body)) = common::pick(data) else {
        return;
    };
    let Some(headers) = common::sign(setup, body) else {
        return;
    };
    let receipt = setup.core.receive(body, &headers, setup.now_ms);
    common::check_receipt(setup, &receipt, body);
    let limit = setup
        .config
        .pointer("/limits/maxBodyBytes")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(1024 * 1024);
    if (body.len() as u64) <= limit && !body.is_empty() {
        assert!(
            receipt.authentic,
            "a signed body verifies: {:?}",
            receipt.reason
        );
    }
});
