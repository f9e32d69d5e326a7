//! Every JSON-shaped operation by its npm name, in one place.
//!
//! The JS and WIT adapters, and every vector runner, call [`call`] (or the typed helpers
//! [`input`] / [`output`]) instead of wiring each planner themselves: an operation is added here
//! once and appears identically on every surface, and the adapters stay pure conversions.
//! Inputs that do not deserialise fail with `invalid-argument` naming the path of the offending
//! field (`rows[3].modifiedDateTimeUtc`).

use crate::event::Event;
use crate::facade::SyncCore;
use crate::reconcile::{self, cursor, deletion, matcher, merge, ratelimit, response, subscription};
use crate::sync::{self, Choice, PartnerChange, RecordState, ResolveInput, SyncOptions, Trigger};
use crate::timestamp;
use core::fmt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A failed operation: a stable `code`, the `module` that raised it, the `field` at fault when
/// known, and a sentence. Never carries secret material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// Stable kebab-case code (`invalid-argument`, `merge-cycle`, ...).
    pub code: String,
    /// The module that raised it (`ops`, `matcher`, `sync`, ...).
    pub module: &'static str,
    /// Path of the offending input field, or `""`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl OpError {
    /// An error about an input field.
    pub fn invalid_argument(field: impl Into<String>, message: impl Into<String>) -> OpError {
        OpError {
            code: "invalid-argument".into(),
            module: "ops",
            field: field.into(),
            message: message.into(),
        }
    }

    fn coded(module: &'static str, code: &str, message: String) -> OpError {
        OpError {
            code: code.to_owned(),
            module,
            field: String::new(),
            message,
        }
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{} ({})", self.message, self.code)
        } else {
            write!(f, "{}: {} ({})", self.field, self.message, self.code)
        }
    }
}

impl std::error::Error for OpError {}

macro_rules! from_module_error {
    ($($module:literal => $t:ty),* $(,)?) => {$(
        impl From<$t> for OpError {
            fn from(e: $t) -> OpError {
                OpError::coded($module, e.code(), e.to_string())
            }
        }
    )*};
}

from_module_error!(
    "cursor" => cursor::CursorError,
    "matcher" => matcher::MatchError,
    "merge" => merge::MergeError,
    "deletion" => deletion::DeletionError,
    "subscription" => subscription::SubscriptionError,
    "response" => response::ResponseError,
    "timestamp" => timestamp::TimeError,
);

impl From<ratelimit::RateError> for OpError {
    fn from(e: ratelimit::RateError) -> OpError {
        OpError {
            field: e.field().to_owned(),
            ..OpError::coded("ratelimit", e.code(), e.to_string())
        }
    }
}

/// `prefix.field`, or `field` alone when `prefix` is empty.
fn join_path(prefix: &str, field: &str) -> String {
    match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{field}"),
    }
}

/// A rate budget from its configuration object (`null` = defaults); `name` prefixes error paths.
pub fn rate_budget(config: &Value, name: &str) -> Result<ratelimit::RateBudget, OpError> {
    let config: ratelimit::RateBudgetConfig = if config.is_null() {
        ratelimit::RateBudgetConfig::default()
    } else {
        input(config, name)?
    };
    ratelimit::RateBudget::new(config).map_err(|e| {
        let mut op = OpError::from(e);
        op.field = join_path(name, &op.field);
        op
    })
}

/// A rate budget loaded back from its stored JSON state; `name` prefixes error paths.
pub fn restore_rate_budget(state: &Value, name: &str) -> Result<ratelimit::RateBudget, OpError> {
    let state: ratelimit::RateBudget = input(state, name)?;
    ratelimit::RateBudget::restore(state).map_err(|e| {
        let mut op = OpError::from(e);
        op.field = join_path(&join_path(name, "config"), &op.field);
        op
    })
}

impl From<reconcile::ReconcileError> for OpError {
    fn from(e: reconcile::ReconcileError) -> OpError {
        OpError {
            field: e.field(),
            ..OpError::coded("reconcile", e.code(), e.to_string())
        }
    }
}

impl From<sync::SyncError> for OpError {
    fn from(e: sync::SyncError) -> OpError {
        OpError {
            code: e.code().to_owned(),
            module: "sync",
            field: e.field().unwrap_or("").to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<sync::TransitionError> for OpError {
    fn from(e: sync::TransitionError) -> OpError {
        OpError::coded("sync", e.code(), e.to_string())
    }
}

impl From<sync::OptionsError> for OpError {
    fn from(e: sync::OptionsError) -> OpError {
        let field = match &e {
            sync::OptionsError::Invalid { field, .. } => format!("options.{field}"),
            _ => "options".to_owned(),
        };
        OpError {
            code: e.code().to_owned(),
            module: "sync",
            field,
            message: e.to_string(),
        }
    }
}

impl From<crate::error::ConfigError> for OpError {
    fn from(e: crate::error::ConfigError) -> OpError {
        OpError {
            code: e.code().to_owned(),
            module: "config",
            field: e.field().to_owned(),
            message: e.message().to_owned(),
        }
    }
}

/// Deserialises an operation's input, naming the offending field on failure. `name` prefixes the
/// path (`records[2].email`); pass `""` for a whole-input object.
pub fn input<T: DeserializeOwned>(value: &Value, name: &str) -> Result<T, OpError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = match (name.is_empty(), inner == ".") {
            (true, true) => String::new(),
            (true, false) => inner,
            (false, true) => name.to_owned(),
            (false, false) if inner.starts_with('[') => format!("{name}{inner}"),
            (false, false) => format!("{name}.{inner}"),
        };
        OpError::invalid_argument(path, e.into_inner().to_string())
    })
}

/// Serialises an operation's output.
pub fn output<T: Serialize>(value: &T) -> Result<Value, OpError> {
    serde_json::to_value(value).map_err(|e| OpError {
        code: "internal".into(),
        module: "ops",
        field: String::new(),
        message: format!("the result could not be serialised: {e}"),
    })
}

fn run<I: DeserializeOwned, O: Serialize, E: Into<OpError>>(
    value: &Value,
    f: impl FnOnce(&I) -> Result<O, E>,
) -> Result<Value, OpError> {
    let parsed: I = input(value, "")?;
    output(&f(&parsed).map_err(Into::into)?)
}

fn run_infallible<I: DeserializeOwned, O: Serialize>(
    value: &Value,
    f: impl FnOnce(&I) -> O,
) -> Result<Value, OpError> {
    let parsed: I = input(value, "")?;
    output(&f(&parsed))
}

/// Reads and validates sync options.
pub fn sync_options(value: &Value, name: &str) -> Result<SyncOptions, OpError> {
    let o: SyncOptions = input(value, name)?;
    o.validate()?;
    Ok(o)
}

/// Reads a stored record state (`null` or absent: no record), migrating older versions.
pub fn record_state(value: Option<&Value>, name: &str) -> Result<Option<RecordState>, OpError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let r: RecordState = input(v, name)?;
            Ok(Some(r.migrated()?))
        }
    }
}

fn required_record(value: Option<&Value>, name: &str) -> Result<RecordState, OpError> {
    record_state(value, name)?
        .ok_or_else(|| OpError::invalid_argument(name, "a stored record state is required"))
}

fn field<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    obj.get(key)
}

fn now(obj: &Value) -> Result<i64, OpError> {
    match field(obj, "nowMs") {
        Some(v) => input(v, "nowMs"),
        None => Err(OpError::invalid_argument(
            "nowMs",
            "missing: the host's clock, ms since the epoch",
        )),
    }
}

fn object(value: &Value) -> Result<&serde_json::Map<String, Value>, OpError> {
    value
        .as_object()
        .ok_or_else(|| OpError::invalid_argument("", "the input must be an object"))
}

fn only(value: &Value, known: &[&str]) -> Result<(), OpError> {
    for k in object(value)?.keys() {
        if !known.contains(&k.as_str()) {
            return Err(OpError::invalid_argument(
                k.clone(),
                format!("unknown input field; expected one of: {}", known.join(", ")),
            ));
        }
    }
    Ok(())
}

/// The sync decisions, given their options explicitly (`{ options, ... }` inputs).
fn sync_call(op: &str, options: &SyncOptions, v: &Value) -> Result<Value, OpError> {
    match op {
        "lookupKeys" => {
            only(v, &["options", "event"])?;
            let event: Event = input(field(v, "event").unwrap_or(&Value::Null), "event")?;
            output(&sync::lookup_keys(options, &event))
        }
        "decideInbound" => {
            only(v, &["options", "event", "record", "nowMs"])?;
            let event: Event = input(field(v, "event").unwrap_or(&Value::Null), "event")?;
            let record = record_state(field(v, "record"), "record")?;
            output(&sync::decide_inbound(
                options,
                &event,
                record.as_ref(),
                now(v)?,
            )?)
        }
        "decideOutbound" => {
            only(v, &["options", "record", "change", "nowMs"])?;
            let record = record_state(field(v, "record"), "record")?;
            let change: PartnerChange =
                input(field(v, "change").unwrap_or(&Value::Null), "change")?;
            output(&sync::decide_outbound(
                options,
                record.as_ref(),
                &change,
                now(v)?,
            )?)
        }
        "resolve" => {
            only(v, &["options", "input"])?;
            let ri: ResolveInput = input(field(v, "input").unwrap_or(&Value::Null), "input")?;
            output(&sync::resolve(options, &ri))
        }
        _ => Err(OpError::invalid_argument(
            "op",
            format!("`{op}` takes no sync options"),
        )),
    }
}

fn transition_call(v: &Value) -> Result<Value, OpError> {
    only(v, &["record", "trigger", "nowMs"])?;
    let record = required_record(field(v, "record"), "record")?;
    let trigger: Trigger = input(field(v, "trigger").unwrap_or(&Value::Null), "trigger")?;
    output(&sync::transition(&record, trigger, now(v)?)?)
}

fn resolve_conflict_call(v: &Value) -> Result<Value, OpError> {
    only(v, &["record", "choices", "nowMs", "options"])?;
    let record = required_record(field(v, "record"), "record")?;
    let choices: BTreeMap<String, Choice> =
        input(field(v, "choices").unwrap_or(&Value::Null), "choices")?;
    output(&sync::resolve_conflict(&record, &choices, now(v)?)?)
}

/// The operations bound to a configured [`SyncCore`] (npm `core.decideInbound(...)` and so on):
/// the same as [`call`], with the core's sync options instead of an `options` input.
pub fn core_call(core: &SyncCore, op: &str, v: &Value) -> Result<Value, OpError> {
    match op {
        "lookupKeys" | "decideInbound" | "decideOutbound" | "resolve" => {
            let options = core.sync_options().ok_or_else(|| OpError {
                code: "sync-not-configured".into(),
                module: "ops",
                field: "sync".into(),
                message: "this core has no `sync` configuration (customerId, field maps, policy): add it to the config".into(),
            })?;
            sync_call(op, options, v)
        }
        "resolveConflict" => resolve_conflict_call(v),
        "planReconciliation" => {
            let options = core.sync_options().ok_or_else(|| OpError {
                code: "sync-not-configured".into(),
                module: "ops",
                field: "sync".into(),
                message: "reconciliation reads the core's `sync` configuration (customerId, field maps, policy, pendingExpiryMs): add it to the config".into(),
            })?;
            if field(v, "options").is_some() {
                return Err(OpError::invalid_argument(
                    "options",
                    "the core's `sync` configuration is used; pass the options to the free operation instead",
                ));
            }
            reconcile_call(options, v)
        }
        other => Err(OpError::invalid_argument(
            "op",
            format!("`{other}` is not a core operation"),
        )),
    }
}

/// A reconciliation plan under `options`: an input in the version-1 shape is refused naming the
/// key to change, before the typed read.
fn reconcile_call(options: &SyncOptions, v: &Value) -> Result<Value, OpError> {
    reconcile::check_input_version(v)?;
    let mut rest = object(v)?.clone();
    rest.remove("options");
    let parsed: reconcile::ReconcileInput = input(&Value::Object(rest), "")?;
    output(&reconcile::plan_reconciliation(options, &parsed)?)
}

/// Sync options given inline as `options`, as the free functions and the vectors pass them.
fn inline_sync(op: &str, v: &Value) -> Result<Value, OpError> {
    let options = sync_options(field(v, "options").unwrap_or(&Value::Null), "options")?;
    sync_call(op, &options, v)
}

/// The stateless operations [`call`] knows, by npm name.
pub const OPERATIONS: &[&str] = &[
    "lookupKeys",
    "decideInbound",
    "decideOutbound",
    "transition",
    "resolve",
    "resolveConflict",
    "planReconciliation",
    "startQueryRun",
    "acceptQueryPage",
    "finishQueryRun",
    "queryScript",
    "initialMatcher",
    "planMergeRemap",
    "planDeletions",
    "mergeSubscription",
    "planPause",
    "planResume",
    "planSecretRotation",
    "rateBudget",
    "pricePlan",
    "classifyResponse",
    "parseModifiedTime",
];

/// Runs the stateless operation `op` on its JSON input object.
pub fn call(op: &str, value: &Value) -> Result<Value, OpError> {
    match op {
        "lookupKeys" | "decideInbound" | "decideOutbound" | "resolve" => inline_sync(op, value),
        "transition" => transition_call(value),
        "resolveConflict" => resolve_conflict_call(value),
        "planReconciliation" => {
            reconcile::check_input_version(value)?;
            let options = sync_options(field(value, "options").unwrap_or(&Value::Null), "options")?;
            reconcile_call(&options, value)
        }
        "startQueryRun" => run(value, cursor::start_query_run),
        "acceptQueryPage" => run(value, cursor::accept_query_page),
        "finishQueryRun" => run(value, cursor::finish_query_run),
        // Consecutive runs over fixed pages (what the vectors drive, as a host's loop would).
        "queryScript" => run(value, cursor::run_query_script),
        // The class as one call: chunks fed in order, then finish (what the vectors drive).
        "initialMatcher" => run(value, matcher::match_chunks),
        "planMergeRemap" => run(value, merge::plan_merge_remap),
        "planDeletions" => run(value, deletion::plan_deletions),
        "mergeSubscription" => run(value, subscription::merge_subscription_input),
        "planPause" => run(value, subscription::plan_pause_input),
        "planResume" => run(value, subscription::plan_resume_input),
        "planSecretRotation" => run(value, subscription::plan_secret_rotation),
        // The class as one call: a script of observe/spend/decide steps.
        "rateBudget" => run(value, ratelimit::run_rate_script),
        "pricePlan" => run_infallible(value, ratelimit::price_plan),
        "classifyResponse" => run(value, response::classify_response),
        "parseModifiedTime" => run(value, timestamp::parse_time_input),
        other => Err(OpError::invalid_argument(
            "op",
            format!(
                "unknown operation `{other}`; expected one of: {}",
                OPERATIONS.join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bad_input_names_the_field() {
        let e = call("classifyResponse", &json!({"status": "x"})).unwrap_err();
        assert_eq!(e.code, "invalid-argument");
        assert_eq!(e.field, "status");
        let e = call("nope", &json!({})).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.field.as_str()),
            ("invalid-argument", "op")
        );
        let e = input::<Vec<u32>>(&json!([1, "a"]), "records").unwrap_err();
        assert_eq!(e.field, "records[1]");
    }

    #[test]
    fn core_bound_sync_uses_the_config_sync_section() {
        let secret = "a-secret-of-at-least-32-bytes-0123456789";
        let bare = SyncCore::from_json(&json!({"secrets": [secret], "platformName": "P"})).unwrap();
        let event = json!({"eventType": "gift-create", "rawEventType": "GiftCreate", "resourceKind": "gift",
            "resourceId": "1", "resource": {"id": 1, "amount": 5}});
        let e =
            core_call(&bare, "decideInbound", &json!({"event": event, "nowMs": 0})).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.field.as_str()),
            ("sync-not-configured", "sync")
        );

        let core = SyncCore::from_json(
            &json!({"secrets": [secret], "platformName": "P", "sync": {"customerId": "c1"}}),
        )
        .unwrap();
        assert_eq!(core.sync_options().unwrap().platform_name, "P");
        let d = core_call(&core, "decideInbound", &json!({"event": event, "nowMs": 0})).unwrap();
        let free = call("decideInbound", &json!({"options": {"platformName": "P", "customerId": "c1",
            "cooldownMs": 600000, "policy": {"default": "virtuous-canonical"}}, "event": event, "nowMs": 0}))
        .unwrap();
        assert_eq!(
            d, free,
            "the core method and the free operation decide alike"
        );

        let err = SyncCore::from_json(&json!({"secrets": [secret], "platformName": "P", "sync": {"customerId": "c1", "cooldownMs": -1}})).unwrap_err();
        assert_eq!(
            (err.code(), err.field()),
            ("invalid-option", "sync.cooldownMs")
        );
        let err = SyncCore::from_json(&json!({"secrets": [secret], "platformName": "P", "sync": {"customerId": "c1", "platformName": "Q"}})).unwrap_err();
        assert_eq!(err.field(), "sync.platformName");
        let err = SyncCore::from_json(&json!({"secrets": [secret], "platformName": "P", "sync": {"customerId": "c1", "cooldwnMs": 5}})).unwrap_err();
        assert_eq!(err.code(), "invalid-config");
        let free = call(
            "decideOutbound",
            &json!({"options": {"platformName": "P", "customerId": "c1", "cooldownMs": -1}}),
        )
        .unwrap_err();
        assert_eq!(
            (free.code.as_str(), free.field.as_str()),
            ("invalid-option", "options.cooldownMs")
        );
    }

    #[test]
    fn a_misspelt_match_field_is_refused_not_ignored() {
        let e = call("initialMatcher", &json!({"chunks": [{"side": "partner", "records": [{"id": "p1", "email": "a@x.org"}]}]}))
            .unwrap_err();
        assert_eq!(e.code, "invalid-argument");
        assert!(e.field.starts_with("chunks[0].records[0]"), "{}", e.field);
    }

    #[test]
    fn module_errors_keep_their_code() {
        let e = call("parseModifiedTime", &json!({"text": "yesterday"})).unwrap_err();
        assert_eq!(e.module, "timestamp");
        assert_eq!(e.code, "malformed-time");
    }
}
