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

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt::Display;
use virtuous_sync::{
    cursor, deletion, matcher, merge, ratelimit, reconcile, response, subscription, timestamp,
};

trait Coded {
    fn code_str(&self) -> &'static str;
}
macro_rules! coded {
    ($($t:ty),*) => {$(impl Coded for $t { fn code_str(&self) -> &'static str { self.code() } })*};
}
coded!(
    cursor::CursorError,
    matcher::MatchError,
    merge::MergeError,
    deletion::DeletionError,
    reconcile::ReconcileError,
    subscription::SubscriptionError,
    ratelimit::RateError,
    response::ResponseError,
    timestamp::TimeError
);

fn call<I: DeserializeOwned, O: Serialize, E: Coded + Display>(
    input: &Value,
    f: impl Fn(&I) -> Result<O, E>,
) -> Result<Value, Value> {
    let parsed: I = serde_json::from_value(input.clone())
        .unwrap_or_else(|e| panic!("input does not deserialise: {e}"));
    f(&parsed)
        .map(|o| serde_json::to_value(o).unwrap())
        .map_err(|e| json!({"code": e.code_str(), "message": e.to_string()}))
}

fn infallible<I: DeserializeOwned, O: Serialize>(
    input: &Value,
    f: impl Fn(&I) -> O,
) -> Result<Value, Value> {
    call(input, |i: &I| Ok::<O, response::ResponseError>(f(i)))
}

fn run(op: &str, input: &Value) -> Result<Value, Value> {
    match op {
        "planReconciliation" => call(input, reconcile::plan_reconciliation),
        "startQueryRun" => call(input, cursor::start_query_run),
        "acceptQueryPage" => call(input, cursor::accept_query_page),
        "finishQueryRun" => call(input, cursor::finish_query_run),
        "initialMatcher" => call(input, matcher::match_chunks),
        "planMergeRemap" => call(input, merge::plan_merge_remap),
        "planDeletions" => call(input, deletion::plan_deletions),
        "mergeSubscription" => call(input, subscription::merge_subscription_input),
        "planPause" => call(input, subscription::plan_pause_input),
        "planResume" => call(input, subscription::plan_resume_input),
        "planSecretRotation" => call(input, subscription::plan_secret_rotation),
        "rateBudget" => call(input, ratelimit::run_rate_script),
        "pricePlan" => infallible(input, ratelimit::price_plan),
        "classifyResponse" => call(input, response::classify_response),
        "parseModifiedTime" => call(input, timestamp::parse_time_input),
        other => panic!("unknown op {other}"),
    }
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
