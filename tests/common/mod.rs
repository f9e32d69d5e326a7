//! Shared helpers for the vector runners: body decoding and the deep-subset matcher that every
//! surface (Rust, Node, workerd, jco, wasmtime) implements identically.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[cfg(feature = "sync")]
pub mod scripted;

use base64::Engine as _;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("vectors")
}

pub fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `{"utf8"}`, `{"base64"}`, `{"hex"}` or `{"repeat": {"utf8", "count"}}`.
pub fn body(spec: &Value) -> Vec<u8> {
    if let Some(s) = spec.get("utf8").and_then(Value::as_str) {
        return s.as_bytes().to_vec();
    }
    if let Some(s) = spec.get("base64").and_then(Value::as_str) {
        return base64::engine::general_purpose::STANDARD.decode(s).unwrap();
    }
    if let Some(s) = spec.get("hex").and_then(Value::as_str) {
        return hex::decode(s).unwrap();
    }
    if let Some(r) = spec.get("repeat") {
        let unit = r["utf8"].as_str().unwrap().as_bytes();
        let count = r["count"].as_u64().unwrap() as usize;
        return unit.repeat(count);
    }
    panic!("unknown body spec {spec}");
}

/// Deep subset match: every key of `expected` must match in `actual`; an expected `null` means
/// the key must be absent; arrays match element-wise with equal length.
pub fn subset(expected: &Value, actual: Option<&Value>, path: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Null, None) => {}
        (Value::Null, Some(a)) => out.push(format!("{path}: expected absent, got {a}")),
        (_, None) => out.push(format!("{path}: expected {expected}, got nothing")),
        (Value::Object(e), Some(Value::Object(a))) => {
            for (k, ev) in e {
                subset(ev, a.get(k), &format!("{path}.{k}"), out);
            }
        }
        (Value::Array(e), Some(Value::Array(a))) => {
            if e.len() != a.len() {
                out.push(format!(
                    "{path}: expected {} elements, got {}: {}",
                    e.len(),
                    a.len(),
                    Value::Array(a.clone())
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                subset(ev, Some(av), &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(e), Some(Value::Number(a))) => {
            if e.as_f64() != a.as_f64() {
                out.push(format!("{path}: expected {e}, got {a}"));
            }
        }
        (e, Some(a)) => {
            if e != a {
                out.push(format!("{path}: expected {e}, got {a}"));
            }
        }
    }
}

/// Compares one case's outcome with its `expect` or `expectError`; returns the problems found.
pub fn check(case: &Value, result: Result<Value, Value>) -> Vec<String> {
    let mut problems = Vec::new();
    match (result, case.get("expect"), case.get("expectError")) {
        (Ok(actual), Some(expect), None) => subset(expect, Some(&actual), "", &mut problems),
        (Err(err), None, Some(expect)) => subset(expect, Some(&err), "error", &mut problems),
        (Ok(actual), None, Some(_)) => problems.push(format!("expected an error, got {actual}")),
        (Err(err), Some(_), None) => problems.push(format!("unexpected error {err}")),
        _ => problems.push("a case needs exactly one of expect / expectError".into()),
    }
    problems
}
