#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Runs every `tests/vectors/sync/*.json` case against the Rust surface. The same files run on
//! the JS and WIT surfaces, so inputs are pure JSON of the public serde types.
//!
//! Case: `{ "name", "why", "op", "input", "expect" | "expectError" }`. `expect` is a deep subset
//! of the serialised output; an expected `null` means the key must be absent (or null).
//! `expectError` is `{ "code", "field"? }`.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use virtuous_sync::event::Event;
use virtuous_sync::sync::*;

#[derive(Deserialize)]
struct File {
    description: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    why: String,
    op: String,
    input: Value,
    #[serde(default)]
    expect: Option<Value>,
    #[serde(default, rename = "expectError")]
    expect_error: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InboundIn {
    options: SyncOptions,
    event: Event,
    #[serde(default)]
    record: Option<RecordState>,
    now_ms: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OutboundIn {
    options: SyncOptions,
    #[serde(default)]
    record: Option<RecordState>,
    change: PartnerChange,
    now_ms: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TransitionIn {
    record: RecordState,
    trigger: Trigger,
    now_ms: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResolveIn {
    options: SyncOptions,
    input: ResolveInput,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ResolveConflictIn {
    record: RecordState,
    choices: BTreeMap<String, Choice>,
    now_ms: i64,
}

fn run(op: &str, input: Value) -> Result<Value, (String, Option<String>)> {
    let err = |e: SyncError| (e.code().to_string(), e.field().map(str::to_string));
    let out = match op {
        "decideInbound" => {
            let i: InboundIn = serde_json::from_value(input).expect("input");
            serde_json::to_value(
                decide_inbound(&i.options, &i.event, i.record.as_ref(), i.now_ms).map_err(err)?,
            )
        }
        "decideOutbound" => {
            let i: OutboundIn = serde_json::from_value(input).expect("input");
            serde_json::to_value(
                decide_outbound(&i.options, i.record.as_ref(), &i.change, i.now_ms).map_err(err)?,
            )
        }
        "transition" => {
            let i: TransitionIn = serde_json::from_value(input).expect("input");
            let r = transition(&i.record, i.trigger, i.now_ms)
                .map_err(|e| (e.code().to_string(), None))?;
            serde_json::to_value(r)
        }
        "resolve" => {
            let i: ResolveIn = serde_json::from_value(input).expect("input");
            serde_json::to_value(resolve(&i.options, &i.input))
        }
        "resolveConflict" => {
            let i: ResolveConflictIn = serde_json::from_value(input).expect("input");
            serde_json::to_value(resolve_conflict(&i.record, &i.choices, i.now_ms).map_err(err)?)
        }
        other => panic!("unknown op {other}"),
    };
    Ok(out.unwrap())
}

/// Deep subset match; returns the path of the first mismatch.
fn subset(expected: &Value, actual: &Value, path: &str) -> Result<(), String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = format!("{path}.{k}");
                match (ev, a.get(k)) {
                    (Value::Null, None | Some(Value::Null)) => {}
                    (Value::Null, Some(av)) => {
                        return Err(format!("{p}: expected absent, got {av}"))
                    }
                    (_, None) => return Err(format!("{p}: missing")),
                    (ev, Some(av)) => subset(ev, av, &p)?,
                }
            }
            Ok(())
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Err(format!(
                    "{path}: expected {} items, got {}: {actual}",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                subset(ev, av, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, got {a}")),
    }
}

#[test]
fn sync_vectors() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sync");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let file: File = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!file.description.is_empty());
        for case in file.cases {
            count += 1;
            assert!(!case.why.is_empty(), "{}: why", case.name);
            let label = format!(
                "{} / {}",
                path.file_name().unwrap().to_string_lossy(),
                case.name
            );
            let got = run(&case.op, case.input);
            match (&case.expect, &case.expect_error, got) {
                (Some(e), None, Ok(v)) => {
                    if let Err(m) = subset(e, &v, "$") {
                        failures.push(format!("{label}: {m}\n  full: {v}"));
                    }
                }
                (None, Some(e), Err((code, field))) => {
                    if e["code"] != Value::String(code.clone()) {
                        failures.push(format!("{label}: expected error {}, got {code}", e["code"]));
                    }
                    if let Some(f) = e.get("field") {
                        if Some(f.as_str().unwrap_or("")) != field.as_deref() {
                            failures.push(format!("{label}: expected field {f}, got {field:?}"));
                        }
                    }
                }
                (Some(_), None, Err(e)) => {
                    failures.push(format!("{label}: unexpected error {e:?}"))
                }
                (None, Some(_), Ok(v)) => {
                    failures.push(format!("{label}: expected an error, got {v}"))
                }
                _ => failures.push(format!(
                    "{label}: needs exactly one of expect / expectError"
                )),
            }
        }
    }
    assert!(count >= 30, "only {count} vector cases");
    assert!(
        failures.is_empty(),
        "{} of {count} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
