//! Per-field digests: SHA-256 of a canonical encoding, truncated to 16 hex characters (64 bits).
//!
//! Canonical encoding: JSON with object keys sorted by their UTF-8 bytes and no whitespace; every
//! JSON number that is an exact decimal is written in canonical decimal form (`500.0` → `500`); for
//! [`FieldType::Money`] fields, a decimal *string* is read as a number too, so `500`, `500.0` and
//! `"500.00"` give the same digest; for [`FieldType::Designations`] the same applies to each
//! element's `amountDesignated`. Strings are otherwise compared exactly (no trimming, no case
//! folding): `"00123"` and `123` differ. 64 bits make an accidental collision between two values
//! of one field of one record negligible (the state stores digests so it holds no personal data).

use super::money::Money;
use super::options::FieldType;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Digest of a field value.
pub fn field_digest(value: &Value, field_type: FieldType) -> String {
    let mut out = String::new();
    canonical_field(value, field_type, &mut out);
    digest_text(&out)
}

/// Truncated hex SHA-256 of a canonical text.
pub fn digest_text(text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Canonical encoding of a field value (see the module docs).
pub fn canonical_field(value: &Value, field_type: FieldType, out: &mut String) {
    match (field_type, value) {
        (FieldType::Money, Value::String(_) | Value::Number(_)) => match Money::from_json(value) {
            Ok(m) => out.push_str(&m.canonical()),
            Err(_) => canonical_json(value, out),
        },
        (FieldType::Designations, Value::Array(items)) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match item {
                    Value::Object(map) => {
                        let mut keys: Vec<&String> = map.keys().collect();
                        keys.sort();
                        out.push('{');
                        for (j, k) in keys.into_iter().enumerate() {
                            if j > 0 {
                                out.push(',');
                            }
                            push_string(k, out);
                            out.push(':');
                            let v = map.get(k.as_str()).unwrap_or(&Value::Null);
                            let t = if k == "amountDesignated" {
                                FieldType::Money
                            } else {
                                FieldType::Plain
                            };
                            canonical_field(v, t, out);
                        }
                        out.push('}');
                    }
                    other => canonical_json(other, out),
                }
            }
            out.push(']');
        }
        _ => canonical_json(value, out),
    }
}

fn push_string(s: &str, out: &mut String) {
    // serde_json's string escaping is deterministic; serialising a &str cannot fail.
    match serde_json::to_string(s) {
        Ok(t) => out.push_str(&t),
        Err(_) => out.push_str("\"\""),
    }
}

/// Canonical JSON: sorted keys, no whitespace, decimal numbers in canonical form.
pub fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match Money::from_json(value) {
            Ok(m) => out.push_str(&m.canonical()),
            Err(_) => out.push_str(&n.to_string()),
        },
        Value::String(s) => push_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_string(k, out);
                out.push(':');
                canonical_json(map.get(k.as_str()).unwrap_or(&Value::Null), out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_forms_equal() {
        let d = field_digest(&json!(500), FieldType::Money);
        assert_eq!(d.len(), 16);
        assert_eq!(field_digest(&json!(500.0), FieldType::Money), d);
        assert_eq!(field_digest(&json!("500.00"), FieldType::Money), d);
        assert_ne!(field_digest(&json!("500.01"), FieldType::Money), d);
        // Plain fields keep strings exact.
        assert_ne!(
            field_digest(&json!("500.00"), FieldType::Plain),
            field_digest(&json!(500), FieldType::Plain)
        );
        assert_eq!(
            field_digest(&json!(500.0), FieldType::Plain),
            field_digest(&json!(500), FieldType::Plain)
        );
    }

    #[test]
    fn key_order_irrelevant() {
        let a = json!({"b": 1, "a": [1, {"y": 2, "x": 1}]});
        let b = json!({"a": [1, {"x": 1, "y": 2.0}], "b": 1});
        assert_eq!(
            field_digest(&a, FieldType::Plain),
            field_digest(&b, FieldType::Plain)
        );
        let mut s = String::new();
        canonical_json(&a, &mut s);
        assert_eq!(s, r#"{"a":[1,{"x":1,"y":2}],"b":1}"#);
    }

    #[test]
    fn designations() {
        let a = json!([{"projectCode": "P1", "amountDesignated": "250.00"}, {"projectCode": "P2", "amountDesignated": 250}]);
        let b = json!([{"amountDesignated": 250.0, "projectCode": "P1"}, {"projectCode": "P2", "amountDesignated": "250"}]);
        assert_eq!(
            field_digest(&a, FieldType::Designations),
            field_digest(&b, FieldType::Designations)
        );
    }

    #[test]
    fn null_differs_from_empty() {
        assert_ne!(
            field_digest(&json!(null), FieldType::Plain),
            field_digest(&json!(""), FieldType::Plain)
        );
    }
}
