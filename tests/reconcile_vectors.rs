//! Runs every shared vector file in `tests/vectors/reconcile/*.json` against the Rust API.
//! Each case's `input` deserialises directly into the operation's input type; `expect` is a deep
//! subset of the serialised output (an expected `null` means the key is absent), `expectError`
//! a subset of `{code, message}`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use serde_json::{json, Value};

/// Every case goes through the same dispatcher the JS and WIT adapters call.
fn run(op: &str, input: &Value) -> Result<Value, Value> {
    virtuous_sync::ops::call(op, input).map_err(
        |e| json!({"code": e.code, "field": e.field, "message": e.message, "module": e.module}),
    )
}

#[test]
fn reconcile_vectors() {
    let dir = common::vectors_dir().join("reconcile");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vector files in {}", dir.display());
    let mut failures = Vec::new();
    let mut total = 0;
    for path in files {
        let file = common::load(&path);
        assert!(
            file["description"].is_string(),
            "{}: description",
            path.display()
        );
        let cases = file["cases"].as_array().unwrap();
        assert!(!cases.is_empty(), "{} has no cases", path.display());
        for case in cases {
            total += 1;
            let name = case["name"].as_str().unwrap();
            assert!(case["why"].is_string(), "{name}: why");
            let mut problems = Vec::new();
            let result = run(case["op"].as_str().unwrap(), &case["input"]);
            match (result, case.get("expect"), case.get("expectError")) {
                (Ok(actual), Some(expect), None) => {
                    common::subset(expect, Some(&actual), "", &mut problems)
                }
                (Err(err), None, Some(expect)) => {
                    common::subset(expect, Some(&err), "error", &mut problems)
                }
                (Ok(actual), None, Some(_)) => {
                    problems.push(format!("expected an error, got {actual}"))
                }
                (Err(err), Some(_), None) => problems.push(format!("unexpected error {err}")),
                _ => problems.push("a case needs exactly one of expect / expectError".into()),
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{}::{name}:\n  {}",
                    path.file_name().unwrap().to_string_lossy(),
                    problems.join("\n  ")
                ));
            }
        }
    }
    assert!(total >= 30, "only {total} cases");
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
