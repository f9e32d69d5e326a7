//! Any body, correctly signed, into `SyncCore::receive`: past verification, so the envelope and event parser
//! see every input. A body the sender signed must verify unless it is over the size limit. The lean receive (the
//! npm package's: the record left to the host's `JSON.parse`, the body read by the fast scan or serde_json) must
//! give the same receipt, and say where the record is.
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
    let (lean, at) = setup.core.receiver().receive_lean_with(
        body,
        &headers,
        setup.now_ms,
        &virtuous_sync::receive::digest::BuiltIn,
    );
    let mut full = receipt;
    let crm = setup.core.receiver().product() == virtuous_sync::product::Product::Crm;
    let resource = if crm {
        full.event.as_mut().and_then(|e| e.resource.take())
    } else {
        None
    };
    assert_eq!(full, lean, "lean receive differs");
    if crm {
        let found = at.map(|at| {
            let text = core::str::from_utf8(body).expect("a parsed body is UTF-8");
            let doc: serde_json::Value =
                serde_json::from_str(text.strip_prefix('\u{feff}').unwrap_or(text))
                    .expect("a parsed body is JSON");
            let outer = &doc[at.key.as_str()];
            match &at.inner {
                Some(k) => outer[k.as_str()].clone(),
                None => outer.clone(),
            }
        });
        assert_eq!(
            resource, found,
            "the record is not where the lean receive says"
        );
    }
});
