//! The one Rust runner of the shared vectors: every case file under `tests/vectors/` (the top-level
//! receive family, `sync/`, `reconcile/`), in the one schema of `tests/vectors/README.md`. The same
//! files run against the npm package (Node, Deno, Bun, workerd) and the component (jco, wasmtime).
//!
//! Each case is `{name, why, op, input, expect | expectError}`: `op` names an npm operation, `input`
//! holds its arguments, `expect` is a deep subset of the output (an expected `null` means the key is
//! absent), `expectError` a subset of `{code, field, message, module}`. The receive family's ops
//! (`receive`, `newCore`, `verifySignature`, `signBody`) call the crate's API; every other op goes
//! through `virtuous_sync::ops::call`, the dispatcher the JS and WIT adapters call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use virtuous_sync::{sign_body_json, verify_signature_json, ConfigError, Headers, SyncCore};

/// The families (sub-folders; "" is the top level), the least number of cases each holds, and
/// whether this build runs them (the receive-only build has no sync or reconciliation). A family
/// that lost cases, or a folder no family names, fails `every_vector_is_run`.
const FAMILIES: [(&str, usize, bool); 5] = [
    ("", 209, true),
    ("sync", 166, cfg!(feature = "sync")),
    ("reconcile", 203, cfg!(feature = "sync")),
    // Hostile inputs (issue 16); its matcher cases need the `sync` feature.
    ("adversarial", 125, cfg!(feature = "sync")),
    ("volunteer", 47, cfg!(feature = "sync")),
];

/// Folders of third-party data in its own format, run by their own tests (`tests/wycheproof.rs`).
const FOREIGN: [&str; 1] = ["wycheproof"];

/// Keys of a case, and of a file, in the shared schema.
const CASE_KEYS: [&str; 6] = ["name", "why", "op", "input", "expect", "expectError"];
const FILE_KEYS: [&str; 3] = ["description", "generator", "cases"];

fn err_json(e: &ConfigError) -> Value {
    json!({"code": e.code(), "field": e.field(), "message": e.message()})
}

/// The receive family, through the crate's API: `Ok(result)` or `Err(error)` as JSON.
fn run_receive(op: &str, input: &Value) -> Option<Result<Value, Value>> {
    let null = Value::Null;
    let body = || common::body(&input["body"]);
    Some(match op {
        "newCore" => SyncCore::from_json(&input["config"])
            .map(|_| json!({}))
            .map_err(|e| err_json(&e)),
        "receive" => SyncCore::from_json(&input["config"])
            .map_err(|e| err_json(&e))
            .map(|core| {
                let headers: Headers = input["headers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap()))
                    .collect();
                let now = input["nowMs"].as_i64().unwrap();
                let r = core.receive(&body(), &headers, now);
                // The receipt's own writer (what the npm package hands to JS) gives serde_json's bytes,
                // for the full receipt here and for the lean one the package makes.
                let text = r.to_json_text();
                assert_eq!(text, serde_json::to_string(&r).unwrap());
                let digest = virtuous_sync::receive::digest::BuiltIn;
                let (lean, _) = core
                    .receiver()
                    .receive_lean_with(&body(), &headers, now, &digest);
                assert_eq!(lean.to_json_text(), serde_json::to_string(&lean).unwrap());
                serde_json::from_str(&text).unwrap()
            }),
        "verifySignature" => verify_signature_json(
            &body(),
            input["headerValue"].as_str().unwrap(),
            &input["secrets"],
            input.get("options").unwrap_or(&null),
        )
        .map(|v| {
            let text = v.to_json_text();
            assert_eq!(text, serde_json::to_string(&v).unwrap());
            serde_json::from_str(&text).unwrap()
        })
        .map_err(|e| err_json(&e)),
        "signBody" => sign_body_json(
            &body(),
            &input["secret"],
            input.get("options").unwrap_or(&null),
        )
        .map(|v| serde_json::to_value(v).unwrap())
        .map_err(|e| err_json(&e)),
        _ => return None,
    })
}

fn run(op: &str, input: &Value) -> Result<Value, Value> {
    if let Some(result) = run_receive(op, input) {
        return result;
    }
    #[cfg(feature = "sync")]
    {
        common::scripted::call(op, input).map_err(
            |e| json!({"code": e.code, "field": e.field, "message": e.message, "module": e.module}),
        )
    }
    #[cfg(not(feature = "sync"))]
    panic!("op {op} needs the `sync` feature")
}

/// The case files of one family folder, sorted.
fn family_files(family: &str) -> Vec<std::path::PathBuf> {
    let dir = common::vectors_dir().join(family);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Checks one file against the schema and runs its cases; returns (cases run, failures).
fn run_file(path: &Path) -> (usize, Vec<String>) {
    let file = common::load(path);
    let shown = path
        .strip_prefix(common::vectors_dir())
        .unwrap()
        .display()
        .to_string();
    let keys = file
        .as_object()
        .unwrap_or_else(|| panic!("{shown}: not an object"));
    for k in keys.keys() {
        assert!(FILE_KEYS.contains(&k.as_str()), "{shown}: unknown key {k}");
    }
    assert!(file["description"].is_string(), "{shown}: description");
    let cases = file["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("{shown}: cases"));
    assert!(!cases.is_empty(), "{shown} has no cases");
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{shown}: a case without a name"));
        for k in case.as_object().unwrap().keys() {
            assert!(
                CASE_KEYS.contains(&k.as_str()),
                "{shown} / {name}: unknown key {k}"
            );
        }
        assert!(case["why"].is_string(), "{shown} / {name}: why");
        assert!(case["input"].is_object(), "{shown} / {name}: input");
        let op = case["op"]
            .as_str()
            .unwrap_or_else(|| panic!("{shown} / {name}: op"));
        let problems = common::check(case, run(op, &case["input"]));
        if !problems.is_empty() {
            failures.push(format!(
                "{shown} / {name}:\n    {}",
                problems.join("\n    ")
            ));
        }
    }
    (cases.len(), failures)
}

#[test]
fn every_vector_is_run() {
    // Every folder under tests/vectors is a family or foreign data: nothing lies unrun.
    for entry in std::fs::read_dir(common::vectors_dir()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() {
            assert!(
                FAMILIES.iter().any(|(f, ..)| *f == name) || FOREIGN.contains(&name.as_str()),
                "tests/vectors/{name}/ is no known family: add it to FAMILIES here and to the JS loader"
            );
        } else {
            assert!(
                name.ends_with(".json") || name == "README.md",
                "tests/vectors/{name}: not a vector file"
            );
        }
    }
    let (mut counts, mut failures) = (BTreeMap::new(), Vec::new());
    for (family, least, runs) in FAMILIES {
        let files = family_files(family);
        assert!(
            !files.is_empty(),
            "no vector files in tests/vectors/{family}"
        );
        if !runs {
            continue;
        }
        let mut n = 0;
        for path in files {
            let (run, failed) = run_file(&path);
            n += run;
            failures.extend(failed);
        }
        let shown = if family.is_empty() { "receive" } else { family };
        assert!(
            n >= least,
            "only {n} cases in family {shown} (at least {least})"
        );
        counts.insert(shown, n);
    }
    println!("vectors run: {counts:?}");
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
