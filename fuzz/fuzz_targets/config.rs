//! Any JSON as a receiver's configuration (`new SyncCore(config)`): a typed error or a core, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Err(error) = virtuous_sync::SyncCore::from_json(&value) {
        assert!(!error.to_string().is_empty());
    }
});
