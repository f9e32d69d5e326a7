//! JSON text <-> the core's JSON values, for the `sync` and `reconcile` interfaces and the `core`
//! resource's sync methods. Text that is not JSON is an `invalid-argument` error naming the
//! parameter (in the npm package's naming), never a trap; results go back as compact JSON text.

use crate::bindings::exports::virtuous::sync::receiver as wit;
use serde_json::{Map, Value};
use virtuous_sync::ops::{self, OpError};

/// An operation error as the WIT `error` record.
pub(crate) fn error(e: OpError) -> wit::Error {
    wit::Error {
        code: e.code,
        field: e.field,
        message: e.message,
        module: e.module.to_owned(),
    }
}

/// Parses one JSON text parameter; `field` names it in errors (`""`: the whole input object).
/// serde_json refuses nesting deeper than 128 levels and numbers out of range with an error.
pub(crate) fn parse(text: &str, field: &str) -> Result<Value, wit::Error> {
    serde_json::from_str(text).map_err(|e| {
        let what = if field.is_empty() { "the input" } else { field };
        error(OpError::invalid_argument(
            field,
            format!("{what} is not JSON text: {e}"),
        ))
    })
}

/// An optional JSON text parameter (none: `null`, i.e. absent).
pub(crate) fn parse_opt(text: Option<&String>, field: &str) -> Result<Value, wit::Error> {
    text.map_or(Ok(Value::Null), |t| parse(t, field))
}

/// The operation's input object from its named parts; `null` parts are left out (absent).
pub(crate) fn object(parts: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    for (k, v) in parts {
        if !v.is_null() {
            m.insert(k.to_owned(), v);
        }
    }
    Value::Object(m)
}

/// A JSON result as text.
pub(crate) fn text(v: &Value) -> String {
    v.to_string()
}

/// A serialisable result as JSON text, or the `internal` error saying it could not be serialised.
pub(crate) fn to_text<T: serde::Serialize>(v: &T) -> Result<String, wit::Error> {
    ops::output(v).map(|v| text(&v)).map_err(error)
}

/// Runs a free operation on its input object and returns its result as JSON text.
pub(crate) fn call(op: &str, input: &Value) -> Result<String, wit::Error> {
    ops::call(op, input).map(|v| text(&v)).map_err(error)
}

/// Runs a free operation whose whole input is one JSON text.
pub(crate) fn call_text(op: &str, input_json: &str) -> Result<String, wit::Error> {
    call(op, &parse(input_json, "")?)
}

/// Runs an operation bound to a configured core.
pub(crate) fn core_call(
    core: &virtuous_sync::SyncCore,
    op: &str,
    input: &Value,
) -> Result<String, wit::Error> {
    ops::core_call(core, op, input)
        .map(|v| text(&v))
        .map_err(error)
}

/// A WIT `event` (a receipt's) as the core's event JSON: camelCase keys, `resource-json` parsed
/// back into `resource`, unset fields absent.
pub(crate) fn event(e: &wit::Event) -> Result<Value, wit::Error> {
    let s = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    Ok(object(vec![
        ("eventType", s(&e.event_type)),
        ("rawEventType", Value::String(e.raw_event_type.clone())),
        ("resourceKind", s(&e.resource_kind)),
        ("eventId", s(&e.event_id)),
        ("timestamp", s(&e.timestamp)),
        ("organizationId", s(&e.organization_id)),
        ("resourceId", s(&e.resource_id)),
        ("modifiedDateTimeUtc", s(&e.modified_date_time_utc)),
        (
            "resource",
            parse_opt(e.resource_json.as_ref(), "event.resourceJson")?,
        ),
    ]))
}
