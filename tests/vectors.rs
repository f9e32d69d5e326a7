//! Runs every shared vector file in `tests/vectors/*.json` against the Rust API. The same files run
//! against the npm package (Node, workerd) and the component (jco, wasmtime).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use serde_json::{json, Value};
use virtuous_sync::{sign_body_json, verify_signature_json, ConfigError, Headers, SyncCore};

fn err_json(e: &ConfigError) -> Value {
    json!({"code": e.code(), "field": e.field(), "message": e.message()})
}

/// Runs one case: `Ok(result)` or `Err(error)` as JSON.
fn run(case: &Value) -> Result<Value, Value> {
    let null = Value::Null;
    let body = || common::body(&case["body"]);
    match case["op"].as_str().unwrap() {
        "newCore" => SyncCore::from_json(&case["config"])
            .map(|_| json!({}))
            .map_err(|e| err_json(&e)),
        "receive" => {
            let core = SyncCore::from_json(&case["config"]).map_err(|e| err_json(&e))?;
            let headers: Headers = case["headers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap(), p[1].as_str().unwrap()))
                .collect();
            let r = core.receive(&body(), &headers, case["nowMs"].as_i64().unwrap());
            Ok(serde_json::to_value(r).unwrap())
        }
        "verifySignature" => verify_signature_json(
            &body(),
            case["headerValue"].as_str().unwrap(),
            &case["secrets"],
            case.get("options").unwrap_or(&null),
        )
        .map(|v| serde_json::to_value(v).unwrap())
        .map_err(|e| err_json(&e)),
        "signBody" => sign_body_json(
            &body(),
            &case["secret"],
            case.get("options").unwrap_or(&null),
        )
        .map(|v| serde_json::to_value(v).unwrap())
        .map_err(|e| err_json(&e)),
        other => panic!("unknown op {other}"),
    }
}

fn run_file(name: &str) {
    let path = common::vectors_dir().join(name);
    let file = common::load(&path);
    let cases = file["cases"].as_array().unwrap();
    assert!(!cases.is_empty(), "{name} has no cases");
    let mut failures = Vec::new();
    for case in cases {
        let cname = case["name"].as_str().unwrap();
        let problems = common::check(case, run(case));
        if !problems.is_empty() {
            failures.push(format!(
                "{name} / {cname}:\n    {}",
                problems.join("\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_vector_file_is_run() {
    // Guards against a new file in tests/vectors that no test below names.
    let mut files: Vec<String> = std::fs::read_dir(common::vectors_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "config.json",
            "events.json",
            "receive.json",
            "sign.json",
            "verify.json"
        ]
    );
}

#[test]
fn receive_vectors() {
    run_file("receive.json");
}

#[test]
fn event_vectors() {
    run_file("events.json");
}

#[test]
fn config_vectors() {
    run_file("config.json");
}

#[test]
fn verify_vectors() {
    run_file("verify.json");
}

#[test]
fn sign_vectors() {
    run_file("sign.json");
}

#[test]
fn enough_cases_of_our_own() {
    let total: usize = [
        "receive.json",
        "events.json",
        "config.json",
        "verify.json",
        "sign.json",
    ]
    .iter()
    .map(|f| {
        common::load(&common::vectors_dir().join(f))["cases"]
            .as_array()
            .unwrap()
            .len()
    })
    .sum();
    assert!(total >= 60, "{total}");
}
