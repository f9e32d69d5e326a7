//! `virtuous:sync/sync`: the sync decisions as free functions with explicit options. Each builds
//! the operation's input object (`{options, event, record, nowMs}` ...) from its JSON text
//! parameters and calls `virtuous_sync::ops::call`, exactly as the npm package and the vectors do.

use crate::bindings::exports::virtuous::sync::sync::{Error, Guest};
use crate::json::{call, object, parse, parse_opt};
use crate::Component;
use serde_json::Value;

fn now(ms: i64) -> Value {
    Value::from(ms)
}

impl Guest for Component {
    fn lookup_keys(options_json: String, event_json: String) -> Result<String, Error> {
        let input = object(vec![
            ("options", parse(&options_json, "options")?),
            ("event", parse(&event_json, "event")?),
        ]);
        call("lookupKeys", &input)
    }

    fn decide_inbound(
        options_json: String,
        event_json: String,
        record_json: Option<String>,
        now_ms: i64,
    ) -> Result<String, Error> {
        let input = object(vec![
            ("options", parse(&options_json, "options")?),
            ("event", parse(&event_json, "event")?),
            ("record", parse_opt(record_json.as_ref(), "record")?),
            ("nowMs", now(now_ms)),
        ]);
        call("decideInbound", &input)
    }

    fn decide_outbound(
        options_json: String,
        record_json: Option<String>,
        change_json: String,
        now_ms: i64,
    ) -> Result<String, Error> {
        let input = object(vec![
            ("options", parse(&options_json, "options")?),
            ("record", parse_opt(record_json.as_ref(), "record")?),
            ("change", parse(&change_json, "change")?),
            ("nowMs", now(now_ms)),
        ]);
        call("decideOutbound", &input)
    }

    fn transition(record_json: String, trigger: String, now_ms: i64) -> Result<String, Error> {
        let input = object(vec![
            ("record", parse(&record_json, "record")?),
            ("trigger", Value::String(trigger)),
            ("nowMs", now(now_ms)),
        ]);
        call("transition", &input)
    }

    fn resolve(options_json: String, input_json: String) -> Result<String, Error> {
        let input = object(vec![
            ("options", parse(&options_json, "options")?),
            ("input", parse(&input_json, "input")?),
        ]);
        call("resolve", &input)
    }

    fn resolve_conflict(
        record_json: String,
        choices_json: String,
        now_ms: i64,
    ) -> Result<String, Error> {
        let input = object(vec![
            ("record", parse(&record_json, "record")?),
            ("choices", parse(&choices_json, "choices")?),
            ("nowMs", now(now_ms)),
        ]);
        call("resolveConflict", &input)
    }
}
