//! Every JSON-shaped operation by its npm name, in one place.
//!
//! The JS and WIT adapters, and every vector runner, call [`call`] (or the typed helpers
//! [`input`] / [`output`]) instead of wiring each planner themselves: an operation is added here
//! once and appears identically on every surface, and the adapters stay pure conversions.
//! Inputs that do not deserialise fail with `invalid-argument` naming the path of the offending
//! field (`rows[3].modifiedDateTimeUtc`).

use crate::{
    cursor, deletion, matcher, merge, ratelimit, reconcile, response, subscription, timestamp,
};
use core::fmt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

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
    "reconcile" => reconcile::ReconcileError,
    "subscription" => subscription::SubscriptionError,
    "ratelimit" => ratelimit::RateError,
    "response" => response::ResponseError,
    "timestamp" => timestamp::TimeError,
);

impl From<crate::config::ConfigError> for OpError {
    fn from(e: crate::config::ConfigError) -> OpError {
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

/// The stateless operations [`call`] knows, by npm name.
pub const OPERATIONS: &[&str] = &[
    "planReconciliation",
    "startQueryRun",
    "acceptQueryPage",
    "finishQueryRun",
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
        "planReconciliation" => run(value, reconcile::plan_reconciliation),
        "startQueryRun" => run(value, cursor::start_query_run),
        "acceptQueryPage" => run(value, cursor::accept_query_page),
        "finishQueryRun" => run(value, cursor::finish_query_run),
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
    fn module_errors_keep_their_code() {
        let e = call("parseModifiedTime", &json!({"text": "yesterday"})).unwrap_err();
        assert_eq!(e.module, "timestamp");
        assert_eq!(e.code, "malformed-time");
    }
}
