//! The small JSON readers every configuration surface shares.
//!
//! Hosts hand configuration over as JSON-shaped data (a JS object, a vector file); reading it here,
//! once, gives every surface the same checks and the same error naming the offending field
//! (`secrets[1].notAfter`), instead of a generic deserialisation message. A leaf: it imports only
//! the error type.

use crate::error::{ConfigError, ConfigErrorCode};
use serde_json::{Map, Value};

/// Joins a parent path and a key: `join("scheme", "prefix") == "scheme.prefix"`.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(field: &str, wanted: &str, got: &Value) -> ConfigError {
    ConfigError::new(
        ConfigErrorCode::InvalidConfig,
        field,
        format!("expected {wanted}, got {}", type_name(got)),
    )
}

/// Reads an object, or fails naming `field`. `null` counts as absent where the caller allows it.
pub(crate) fn as_object<'a>(
    v: &'a Value,
    field: &str,
) -> Result<&'a Map<String, Value>, ConfigError> {
    v.as_object()
        .ok_or_else(|| wrong_type(field, "an object", v))
}

/// Rejects keys the reader does not know, so a typo (`secret` for `secrets`) is an error, not a
/// silently ignored setting.
pub(crate) fn only_keys(
    obj: &Map<String, Value>,
    parent: &str,
    known: &[&str],
) -> Result<(), ConfigError> {
    for key in obj.keys() {
        if !known.contains(&key.as_str()) {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidConfig,
                join(parent, key),
                format!("unknown field; expected one of: {}", known.join(", ")),
            ));
        }
    }
    Ok(())
}

/// An optional field: absent and `null` both give `None`.
pub(crate) fn opt<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

pub(crate) fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<Option<&'a str>, ConfigError> {
    match opt(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(&join(parent, key), "a string", other)),
    }
}

pub(crate) fn opt_bool(
    obj: &Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<Option<bool>, ConfigError> {
    match opt(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(&join(parent, key), "a boolean", other)),
    }
}

/// A whole, non-negative number (JS numbers arrive as floats: `1.0` is accepted, `1.5` is not).
pub(crate) fn opt_u64(
    obj: &Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<Option<u64>, ConfigError> {
    // The path is joined only for a failure.
    opt(obj, key)
        .map(|v| as_u64(v, key).map_err(|e| e.under(parent)))
        .transpose()
}

pub(crate) fn as_u64(v: &Value, field: &str) -> Result<u64, ConfigError> {
    if let Some(n) = v.as_u64() {
        return Ok(n);
    }
    if let Some(f) = v.as_f64() {
        if f.fract() == 0.0 && (0.0..=9.007_199_254_740_991e15).contains(&f) {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            return Ok(f as u64);
        }
        return Err(ConfigError::new(
            ConfigErrorCode::InvalidOption,
            field,
            "expected a whole, non-negative number",
        ));
    }
    Err(wrong_type(field, "a number", v))
}

/// A whole number that may be negative (times in milliseconds since the epoch).
pub(crate) fn as_i64(v: &Value, field: &str) -> Result<i64, ConfigError> {
    if let Some(n) = v.as_i64() {
        return Ok(n);
    }
    if let Some(f) = v.as_f64() {
        if f.fract() == 0.0 && (-9.007_199_254_740_991e15..=9.007_199_254_740_991e15).contains(&f) {
            #[allow(clippy::cast_possible_truncation)]
            return Ok(f as i64);
        }
        return Err(ConfigError::new(
            ConfigErrorCode::InvalidOption,
            field,
            "expected a whole number (milliseconds since the Unix epoch)",
        ));
    }
    Err(wrong_type(field, "a number", v))
}

pub(crate) fn opt_i64(
    obj: &Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<Option<i64>, ConfigError> {
    opt(obj, key)
        .map(|v| as_i64(v, key).map_err(|e| e.under(parent)))
        .transpose()
}

pub(crate) fn opt_str_list(
    obj: &Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<Option<Vec<String>>, ConfigError> {
    let field = join(parent, key);
    match opt(obj, key) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(wrong_type(&format!("{field}[{i}]"), "a string", other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(wrong_type(&field, "an array of strings", other)),
    }
}

/// A typed read of `value` that names the path of the offending field on failure: `name`
/// prefixes it (`records[2].email`, `sync.cooldownMs`); `""` reads a whole-input object.
/// Returns the path and serde's sentence, for the caller to wrap in its own error type.
#[cfg(feature = "sync")]
pub(crate) fn typed<T: serde::de::DeserializeOwned>(
    value: &Value,
    name: &str,
) -> Result<T, (String, String)> {
    crate::typed::typed(value, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_from_js_floats() {
        assert_eq!(as_u64(&serde_json::json!(5.0), "x").unwrap(), 5);
        assert!(as_u64(&serde_json::json!(5.5), "x").is_err());
        assert!(as_u64(&serde_json::json!(-1), "x").is_err());
        assert_eq!(as_i64(&serde_json::json!(-1.0), "x").unwrap(), -1);
    }
}
