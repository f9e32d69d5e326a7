//! Per-field digests: SHA-256 of a canonical encoding, truncated to 16 hex characters (64 bits).
//!
//! Canonical encoding: JSON with object keys sorted by their UTF-8 bytes and no whitespace; every
//! JSON number that is an exact decimal is written in canonical decimal form (`500.0` → `500`); for
//! [`FieldType::Money`] fields, a decimal *string* is read as a number too, so `500`, `500.0` and
//! `"500.00"` give the same digest; for [`FieldType::Designations`] the same applies to each
//! element's `amountDesignated`, and the elements form an order-insensitive set of
//! (project, amount) where only the spec's `itemKeys` (default `projectCode`) and
//! `amountDesignated` count (Virtuous adds `projectId` and ids on read); for [`FieldType::Date`]
//! `2026-11-20`, `11/20/2026` and a date-time at midnight UTC are the same day. Strings are otherwise compared exactly (no trimming, no case
//! folding): `"00123"` and `123` differ. 64 bits make an accidental collision between two values
//! of one field of one record negligible (the state stores digests so it holds no personal data).

use super::money::Money;
use super::options::{FieldSpec, FieldType, DEFAULT_DESIGNATION_KEY};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Digest of a field value (designations identified by the default `projectCode`).
pub fn field_digest(value: &Value, field_type: FieldType) -> String {
    let mut out = String::new();
    canonical_field(value, field_type, &mut out);
    digest_text(&out)
}

/// Digest of a field value as its spec compares it (designations by the spec's `itemKeys`).
pub fn spec_digest(value: &Value, spec: &FieldSpec) -> String {
    let mut out = String::new();
    if let (FieldType::Designations, Value::Array(items)) = (spec.field_type, value) {
        match &spec.item_keys {
            Some(keys) => canonical_designations(items, keys, &mut out),
            None => canonical_designations(items, &[DEFAULT_DESIGNATION_KEY], &mut out),
        }
    } else {
        canonical_field(value, spec.field_type, &mut out);
    }
    digest_text(&out)
}

/// A calendar day from `YYYY-MM-DD`, `M/D/YYYY` or a date-time at exactly midnight UTC, as
/// `YYYY-MM-DD`; `None` for anything else (compared exactly as a string then).
pub fn calendar_day(text: &str) -> Option<String> {
    let t = text.trim();
    let valid = |y: i64, m: i64, d: i64| {
        (1..=9999).contains(&y)
            && (1..=12).contains(&m)
            && d >= 1
            && d <= crate::timestamp::days_in_month(y, m)
    };
    let num = |s: &str, min: usize, max: usize| -> Option<i64> {
        (s.len() >= min && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let day = |y: i64, m: i64, d: i64| valid(y, m, d).then(|| format!("{y:04}-{m:02}-{d:02}"));
    if let [m, d, y] = t.split('/').collect::<Vec<_>>()[..] {
        return day(num(y, 4, 4)?, num(m, 1, 2)?, num(d, 1, 2)?);
    }
    if t.len() == 10 {
        if let [y, m, d] = t.split('-').collect::<Vec<_>>()[..] {
            return day(num(y, 4, 4)?, num(m, 2, 2)?, num(d, 2, 2)?);
        }
        return None;
    }
    let ms = crate::timestamp::parse_time(t).ok()?;
    if ms.rem_euclid(86_400_000) != 0 {
        return None;
    }
    let date = t.get(..10)?;
    let [y, m, d] = date.split('-').collect::<Vec<_>>()[..] else {
        return None;
    };
    // The text's own calendar date, when its offset is zero (midnight UTC).
    day(num(y, 4, 4)?, num(m, 2, 2)?, num(d, 2, 2)?)
        .filter(|_| crate::timestamp::parse_time(&format!("{date}T00:00:00Z")).ok() == Some(ms))
}

/// Designations as a sorted set of (identity keys, amount) elements.
fn canonical_designations<K: AsRef<str>>(items: &[Value], keys: &[K], out: &mut String) {
    let mut wanted: Vec<&str> = keys.iter().map(AsRef::as_ref).collect();
    wanted.push("amountDesignated");
    crate::sort::sort(&mut wanted);
    wanted.dedup();
    let mut elems: Vec<String> = items
        .iter()
        .map(|item| {
            let mut s = String::new();
            match item {
                Value::Object(map) => {
                    s.push('{');
                    let mut first = true;
                    for &k in &wanted {
                        let Some(v) = map.get(k) else { continue };
                        if !first {
                            s.push(',');
                        }
                        first = false;
                        push_string(k, &mut s);
                        s.push(':');
                        let t = if k == "amountDesignated" {
                            FieldType::Money
                        } else {
                            FieldType::Plain
                        };
                        canonical_field(v, t, &mut s);
                    }
                    s.push('}');
                }
                other => canonical_json(other, &mut s),
            }
            s
        })
        .collect();
    crate::sort::sort(&mut elems);
    out.push('[');
    out.push_str(&elems.join(","));
    out.push(']');
}

/// Truncated hex SHA-256 of a canonical text.
pub fn digest_text(text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    hex::encode(hash.get(..8).unwrap_or_default())
}

/// Canonical encoding of a field value (see the module docs).
pub fn canonical_field(value: &Value, field_type: FieldType, out: &mut String) {
    match (field_type, value) {
        (FieldType::Money, Value::String(_) | Value::Number(_)) => match Money::from_json(value) {
            Ok(m) => out.push_str(&m.canonical()),
            Err(_) => canonical_json(value, out),
        },
        (FieldType::Designations, Value::Array(items)) => {
            canonical_designations(items, &[DEFAULT_DESIGNATION_KEY], out);
        }
        (FieldType::Date, Value::String(s)) => match calendar_day(s) {
            Some(day) => push_string(&day, out),
            None => push_string(s, out),
        },
        _ => canonical_json(value, out),
    }
}

fn push_string(s: &str, out: &mut String) {
    // Nothing to escape (serde_json escapes only `"`, `\\` and control characters): the text as
    // it is, quoted, without serialising it (digests run on every field of every decision).
    if !s.chars().any(|c| c == '"' || c == '\\' || c < ' ') {
        out.push('"');
        out.push_str(s);
        out.push('"');
        return;
    }
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
            crate::sort::sort(&mut keys);
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
    fn designations_are_a_set_of_project_and_amount() {
        let partner = json!([{"projectCode": "A", "amountDesignated": "300.00"}, {"projectCode": "B", "amountDesignated": 200}]);
        let live = json!([{"id": 7, "projectId": 2, "projectCode": "B", "amountDesignated": 200.0},
                          {"id": 8, "projectId": 1, "projectCode": "A", "amountDesignated": 300.0}]);
        let d = field_digest(&partner, FieldType::Designations);
        assert_eq!(field_digest(&live, FieldType::Designations), d);
        let moved = json!([{"projectCode": "A", "amountDesignated": 200}, {"projectCode": "B", "amountDesignated": 300}]);
        assert_ne!(field_digest(&moved, FieldType::Designations), d);
        // Named item keys count: the project id is compared when the spec names it.
        let mut spec = FieldSpec::top("giftDesignations", FieldType::Designations, false);
        spec.item_keys = Some(vec!["projectId".into()]);
        let by_id = json!([{"projectId": 1, "amountDesignated": 300}, {"projectId": 2, "amountDesignated": 200}]);
        assert_eq!(spec_digest(&live, &spec), spec_digest(&by_id, &spec));
        assert_ne!(spec_digest(&partner, &spec), spec_digest(&by_id, &spec));
    }

    #[test]
    fn dates_compare_as_days() {
        let d = field_digest(&json!("2026-11-20"), FieldType::Date);
        // The same digest as before the date type existed (plain string).
        assert_eq!(d, field_digest(&json!("2026-11-20"), FieldType::Plain));
        for same in [
            "11/20/2026",
            "2026-11-20T00:00:00",
            "2026-11-20T00:00:00Z",
            "2026-11-20T00:00:00.000+00:00",
        ] {
            assert_eq!(field_digest(&json!(same), FieldType::Date), d, "{same}");
        }
        for other in [
            "11/21/2026",
            "2026-11-20T05:00:00Z",
            "2026-11-20T00:00:00+02:00",
            "20/11/2026",
            "2026-02-30",
            "x",
        ] {
            assert_ne!(field_digest(&json!(other), FieldType::Date), d, "{other}");
        }
        assert_eq!(calendar_day("2/3/2024").as_deref(), Some("2024-02-03"));
        assert_eq!(calendar_day("2/30/2024"), None);
    }

    #[test]
    fn null_differs_from_empty() {
        assert_ne!(
            field_digest(&json!(null), FieldType::Plain),
            field_digest(&json!(""), FieldType::Plain)
        );
    }
}
