//! Any chunks fed to an `InitialMatcher` (`{"chunks": [{"side", "records"}]}`, the vectors' shape, seeded with
//! their inputs), then `finish`: any plan or a coded error, never a panic; the plan serialises.
#![no_main]

use serde_json::Value;
use virtuous_sync::reconcile::matcher::{InitialMatcher, MatchRecord};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(chunks) = value.get("chunks").and_then(Value::as_array) else {
        return;
    };
    let mut matcher = InitialMatcher::new();
    for chunk in chunks {
        let Ok(records) = serde_json::from_value::<Vec<MatchRecord>>(
            chunk.get("records").cloned().unwrap_or(Value::Null),
        ) else {
            return;
        };
        let fed = match chunk.get("side").and_then(Value::as_str) {
            Some("partner") => matcher.add_partner_chunk(&records),
            Some("virtuous") => matcher.add_virtuous_chunk(&records),
            _ => return,
        };
        if let Err(error) = fed {
            assert!(!error.to_string().is_empty());
            return;
        }
    }
    let plan = matcher.finish();
    serde_json::to_string(&plan).expect("a match plan serialises");
});
