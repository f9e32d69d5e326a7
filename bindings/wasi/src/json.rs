//! JSON text <-> the core's JSON values, and the core's errors as the WIT `error` record. Text that
//! is not JSON is an `invalid-argument` error naming the parameter (in the npm package's naming),
//! never a trap; results go back as compact JSON text.

use crate::bindings::exports::virtuous::sync::types::{Error, ErrorCode, ErrorModule};
use serde_json::Value;
use virtuous_sync::ops::{self, OpError};

/// An error code as the WIT enum. The WIT enum lists every code the core raises
/// (`tests/closed_sets.rs` checks it), so the fallback is never taken; if it were, the code is
/// kept in the message rather than lost.
fn code(code: &str) -> Option<ErrorCode> {
    Some(match code {
        "invalid-config" => ErrorCode::InvalidConfig,
        "unknown-preset" => ErrorCode::UnknownPreset,
        "invalid-scheme" => ErrorCode::InvalidScheme,
        "no-secrets" => ErrorCode::NoSecrets,
        "invalid-secret" => ErrorCode::InvalidSecret,
        "weak-secret" => ErrorCode::WeakSecret,
        "invalid-platform-name" => ErrorCode::InvalidPlatformName,
        "invalid-option" => ErrorCode::InvalidOption,
        "invalid-argument" => ErrorCode::InvalidArgument,
        "sync-not-configured" => ErrorCode::SyncNotConfigured,
        "internal" => ErrorCode::Internal,
        "tenant-mismatch" => ErrorCode::TenantMismatch,
        "kind-mismatch" => ErrorCode::KindMismatch,
        "product-mismatch" => ErrorCode::ProductMismatch,
        "record-mismatch" => ErrorCode::RecordMismatch,
        "unsupported-version" => ErrorCode::UnsupportedVersion,
        "bad-record" => ErrorCode::BadRecord,
        "bad-time" => ErrorCode::BadTime,
        "missing-field" => ErrorCode::MissingField,
        "unknown-field" => ErrorCode::UnknownField,
        "invalid-money" => ErrorCode::InvalidMoney,
        "invalid-date" => ErrorCode::InvalidDate,
        "bad-current" => ErrorCode::BadCurrent,
        "non-positive-amount" => ErrorCode::NonPositiveAmount,
        "designations-mismatch" => ErrorCode::DesignationsMismatch,
        "unsupported-kind" => ErrorCode::UnsupportedKind,
        "missing-choice" => ErrorCode::MissingChoice,
        "unknown-choice" => ErrorCode::UnknownChoice,
        "group-choice-mismatch" => ErrorCode::GroupChoiceMismatch,
        "invalid-transition" => ErrorCode::InvalidTransition,
        "cooldown-active" => ErrorCode::CooldownActive,
        "pending-not-expired" => ErrorCode::PendingNotExpired,
        "invalid-reconcile-config" => ErrorCode::InvalidReconcileConfig,
        "duplicate-stored-record" => ErrorCode::DuplicateStoredRecord,
        "legacy-reconcile-input" => ErrorCode::LegacyReconcileInput,
        "unsupported-reconcile-version" => ErrorCode::UnsupportedReconcileVersion,
        "invalid-cursor-config" => ErrorCode::InvalidCursorConfig,
        "run-finished" => ErrorCode::RunFinished,
        "run-incomplete" => ErrorCode::RunIncomplete,
        "duplicate-id" => ErrorCode::DuplicateId,
        "blank-id" => ErrorCode::BlankId,
        "too-many-values" => ErrorCode::TooManyValues,
        "too-many-records" => ErrorCode::TooManyRecords,
        "size-hint-too-large" => ErrorCode::SizeHintTooLarge,
        "invalid-seed" => ErrorCode::InvalidSeed,
        "chunk-too-large" => ErrorCode::ChunkTooLarge,
        "invalid-chunk" => ErrorCode::InvalidChunk,
        "cancelled" => ErrorCode::Cancelled,
        "merge-cycle" => ErrorCode::MergeCycle,
        "conflicting-merge" => ErrorCode::ConflictingMerge,
        "invalid-deletion-config" => ErrorCode::InvalidDeletionConfig,
        "insecure-payload-url" => ErrorCode::InsecurePayloadUrl,
        "invalid-payload-url" => ErrorCode::InvalidPayloadUrl,
        "conflicting-change" => ErrorCode::ConflictingChange,
        "invalid-current-subscription" => ErrorCode::InvalidCurrentSubscription,
        "invalid-rate-config" => ErrorCode::InvalidRateConfig,
        "invalid-status" => ErrorCode::InvalidStatus,
        "malformed-time" => ErrorCode::MalformedTime,
        "time-out-of-range" => ErrorCode::TimeOutOfRange,
        "invalid-poll-config" => ErrorCode::InvalidPollConfig,
        "missing-links" => ErrorCode::MissingLinks,
        "invalid-page" => ErrorCode::InvalidPage,
        "foreign-next-link" => ErrorCode::ForeignNextLink,
        "pagination-loop" => ErrorCode::PaginationLoop,
        "too-many-pages" => ErrorCode::TooManyPages,
        "scan-incomplete" => ErrorCode::ScanIncomplete,
        _ => return None,
    })
}

/// The module that raised an error, as the WIT enum (`ops` for anything unlisted).
fn module(module: &str) -> ErrorModule {
    match module {
        "config" => ErrorModule::Config,
        "sync" => ErrorModule::Sync,
        "matcher" => ErrorModule::Matcher,
        "cursor" => ErrorModule::Cursor,
        "merge" => ErrorModule::Merge,
        "deletion" => ErrorModule::Deletion,
        "reconcile" => ErrorModule::Reconcile,
        "subscription" => ErrorModule::Subscription,
        "ratelimit" => ErrorModule::Ratelimit,
        "response" => ErrorModule::Response,
        "timestamp" => ErrorModule::Timestamp,
        "volunteer" => ErrorModule::Volunteer,
        _ => ErrorModule::Ops,
    }
}

/// A core error (code, module, field, message) as the WIT `error` record.
pub(crate) fn coded(code_text: &str, module_name: &str, field: String, message: String) -> Error {
    match code(code_text) {
        Some(c) => Error {
            code: c,
            field,
            message,
            module: module(module_name),
        },
        None => Error {
            code: ErrorCode::Internal,
            field,
            message: format!("{message} (unlisted code `{code_text}`)"),
            module: module(module_name),
        },
    }
}

/// An operation error as the WIT `error` record.
pub(crate) fn error(e: OpError) -> Error {
    coded(&e.code, e.module, e.field, e.message)
}

/// Any core error that [`OpError`] knows how to read (its code, module and field).
pub(crate) fn op_error<E: Into<OpError>>(e: E) -> Error {
    error(e.into())
}

/// Parses one JSON text parameter; `field` names it in errors (`""`: the whole input object).
/// serde_json refuses nesting deeper than 128 levels and numbers out of range with an error.
pub(crate) fn parse(text: &str, field: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|e| {
        let what = if field.is_empty() { "the input" } else { field };
        error(OpError::invalid_argument(
            field,
            format!("{what} is not JSON text: {e}"),
        ))
    })
}

/// An optional JSON text parameter (none: `null`, i.e. absent).
pub(crate) fn parse_opt(text: Option<&String>, field: &str) -> Result<Value, Error> {
    text.map_or(Ok(Value::Null), |t| parse(t, field))
}

/// A serialisable result as JSON text, or the `internal` error saying it could not be serialised.
pub(crate) fn to_text<T: serde::Serialize>(v: &T) -> Result<String, Error> {
    ops::output(v).map(|v| v.to_string()).map_err(error)
}
