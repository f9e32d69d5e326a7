//! Runs the shared vector families in `tests/vectors/sync/` and `tests/vectors/reconcile/`
//! through `virtuous_sync::ops::call`, the same dispatcher the JS and WIT adapters call. Each
//! case's `input` is the operation's input object; `expect` is a deep subset of the output (an
//! expected `null` means the key is absent); `expectError` a subset of `{code, field, message, module}`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use serde_json::json;

fn run_family(family: &str, min_cases: usize) {
    let dir = common::vectors_dir().join(family);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vector files in {}", dir.display());
    let (mut failures, mut total) = (Vec::new(), 0);
    for path in files {
        let file = common::load(&path);
        assert!(
            file["description"].is_string(),
            "{}: description",
            path.display()
        );
        for case in file["cases"].as_array().unwrap() {
            total += 1;
            let name = case["name"].as_str().unwrap();
            assert!(case["why"].is_string(), "{name}: why");
            let result = common::scripted::call(case["op"].as_str().unwrap(), &case["input"]).map_err(|e| {
                json!({"code": e.code, "field": e.field, "message": e.message, "module": e.module})
            });
            let problems = common::check(case, result);
            if !problems.is_empty() {
                failures.push(format!(
                    "{}::{name}:\n  {}",
                    path.file_name().unwrap().to_string_lossy(),
                    problems.join("\n  ")
                ));
            }
        }
    }
    assert!(total >= min_cases, "only {total} cases in {family}");
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn sync_vectors() {
    run_family("sync", 30);
}

#[test]
fn reconcile_vectors() {
    run_family("reconcile", 30);
}
