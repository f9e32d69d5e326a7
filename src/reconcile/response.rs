//! Classifying Virtuous responses (npm `classifyResponse`), each class with the host's action.
//!
//! | status | class | action |
//! |---|---|---|
//! | 2xx | `success` | `proceed` |
//! | network failure, 408, 5xx | `transient` | `retry-with-backoff` |
//! | 429 | `transient` | `wait-retry-after` |
//! | 400, 422 | `permanent` | `fail-record` |
//! | 403 | `permanent` | `fail-and-alert` |
//! | 401 (body may be plain text) | `authentication` | `pause-and-reauthenticate` |
//! | 404 within `indexingDelayMs` after a create | `context-dependent` | `retry-after-delay` |
//! | 404 on a Transaction lookup | `context-dependent` | `keep-pending` |
//! | 404 on a delete | `context-dependent` | `proceed` (already gone) |
//! | other 404 | `context-dependent` | `treat-as-not-found` |
//! | 409 on a create or Transaction | `context-dependent` | `look-up-existing` |
//! | other 409 | `context-dependent` | `refetch-and-retry` |
//! | anything else | `permanent` | `fail-record` |
//!
//! `Retry-After` is read as seconds or an HTTP-date and clamped to one hour.
//! The error body is read defensively: the documented `{error:{code,message,details}}`, a bare
//! `{message}`/`{Message}`, or plain text (some 401s).

use core::fmt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest message kept from a body.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Longest `Retry-After` passed on (one hour, the rate limit's window): longer values are clamped.
pub const MAX_RETRY_AFTER_MS: i64 = super::ratelimit::HOUR_MS;

/// A caller mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseError {
    /// A status outside 100..=599.
    InvalidStatus(u16),
}

impl ResponseError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            ResponseError::InvalidStatus(_) => "invalid-status",
        }
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::InvalidStatus(s) => write!(f, "HTTP status {s} is not within 100..=599"),
        }
    }
}

impl std::error::Error for ResponseError {}

/// What the request was for; decides 404 and 409.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum RequestContext {
    /// A plain read.
    #[default]
    Read,
    /// A query page.
    Query,
    /// A direct create (`POST /api/Contact`, `POST /api/Gift`).
    Create,
    /// A Transaction submission (`POST /api/v2/Gift/Transaction`, `/api/Contact/Transaction`).
    TransactionSubmit,
    /// A read of a record the host created moments ago.
    ReadAfterCreate,
    /// `GET /api/Gift/{transactionSource}/{transactionId}` for a pending write.
    TransactionLookup,
    /// An update (`PUT`).
    Update,
    /// A delete.
    Delete,
}

/// The response class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ResponseClass {
    /// 2xx.
    Success,
    /// Retry later.
    Transient,
    /// Retrying the same request will not help.
    Permanent,
    /// Credentials are rejected.
    Authentication,
    /// The meaning depends on what was asked.
    ContextDependent,
}

/// What the host should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum HostAction {
    /// Carry on.
    Proceed,
    /// Retry with jittered backoff ([`super::ratelimit::RateBudget::backoff_ms`]).
    RetryWithBackoff,
    /// Wait `retryAfterMs` (feed the response to the `RateBudget`), then retry.
    WaitRetryAfter,
    /// Mark the record's write failed with the error details; do not retry unchanged.
    FailRecord,
    /// Fail and alert the operator (permissions).
    FailAndAlert,
    /// Pause the organisation's workers and ask for new credentials.
    PauseAndReauthenticate,
    /// Retry after a short delay (the record may not be indexed yet).
    RetryAfterDelay,
    /// Keep the write `partner-pending` (the Transaction is held or unmatched).
    KeepPending,
    /// The record does not exist (a deletion signal for two-phase tombstones).
    TreatAsNotFound,
    /// Look up the existing record instead of creating it again.
    LookUpExisting,
    /// Re-read the record, merge, and retry the write.
    RefetchAndRetry,
}

/// One field error from the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// The field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

fn d_delay() -> i64 {
    60_000
}

/// A response to classify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponseInput {
    /// HTTP status; absent for a network failure (timeout, reset, DNS, TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub status: Option<u16>,
    /// The body as text, if read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `Retry-After` header value: seconds, or an HTTP-date (read against `nowMs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
    /// What the request was for.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub context: RequestContext,
    /// For `read-after-create`: when the create succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at_ms: Option<i64>,
    /// Now (needed with `createdAtMs`, and for a `Retry-After` given as an HTTP-date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now_ms: Option<i64>,
    /// How long after a create a 404 still means "not indexed yet" (default 60 s).
    #[serde(default = "d_delay")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub indexing_delay_ms: i64,
}

/// The classification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ResponseClassification {
    /// The class.
    pub class: ResponseClass,
    /// The action.
    pub action: HostAction,
    /// Stable reason: `ok`, `network-error`, `timeout`, `server-error`, `rate-limited`,
    /// `bad-request`, `unprocessable`, `forbidden`, `unauthenticated`, `not-found-after-create`,
    /// `not-yet-matched`, `already-deleted`, `not-found`, `already-exists`, `conflict`,
    /// `unexpected-status`.
    #[cfg_attr(
        feature = "ts",
        ts(
            type = "\"ok\" | \"network-error\" | \"timeout\" | \"server-error\" | \"rate-limited\" | \"bad-request\" | \"unprocessable\" | \"forbidden\" | \"unauthenticated\" | \"not-found-after-create\" | \"not-yet-matched\" | \"already-deleted\" | \"not-found\" | \"already-exists\" | \"conflict\" | \"unexpected-status\""
        )
    )]
    pub reason: String,
    /// Whether the same request may be sent again.
    pub retryable: bool,
    /// From `Retry-After`, in ms (at most one hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<i64>,
    /// The body's error code (`BAD_REQUEST`...), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The body's message, or its plain text, trimmed and shortened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Field errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub details: Vec<ErrorDetail>,
}

fn short(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    Some(t.chars().take(MAX_MESSAGE_CHARS).collect())
}

fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => short(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_body(body: &str) -> (Option<String>, Option<String>, Vec<ErrorDetail>) {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return (None, short(body), Vec::new());
    };
    let err = v.get("error").filter(|e| e.is_object()).unwrap_or(&v);
    let code = text_of(err.get("code"));
    let message = text_of(err.get("message"))
        .or_else(|| text_of(err.get("Message")))
        .or_else(|| text_of(v.get("error")))
        .or_else(|| v.as_str().and_then(short));
    let details = err
        .get("details")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .take(50)
                .map(|d| ErrorDetail {
                    field: text_of(d.get("field")),
                    code: text_of(d.get("code")),
                    message: text_of(d.get("message")),
                })
                .collect()
        })
        .unwrap_or_default();
    (code, message, details)
}

/// Classifies a response (npm `classifyResponse`).
pub fn classify_response(input: &ResponseInput) -> Result<ResponseClassification, ResponseError> {
    use HostAction as A;
    use ResponseClass as C;
    if let Some(s) = input.status {
        if !(100..=599).contains(&s) {
            return Err(ResponseError::InvalidStatus(s));
        }
    }
    let (error_code, message, details) =
        input
            .body
            .as_deref()
            .map(parse_body)
            .unwrap_or((None, None, Vec::new()));
    let retry_after_ms = input
        .retry_after
        .as_deref()
        .and_then(|s| super::ratelimit::retry_after_ms(s, input.now_ms, MAX_RETRY_AFTER_MS));
    let ctx = input.context;
    let (class, action, reason) = match input.status {
        None => (C::Transient, A::RetryWithBackoff, "network-error"),
        Some(200..=299) => (C::Success, A::Proceed, "ok"),
        Some(408) => (C::Transient, A::RetryWithBackoff, "timeout"),
        Some(429) => (C::Transient, A::WaitRetryAfter, "rate-limited"),
        Some(500..=599) => (C::Transient, A::RetryWithBackoff, "server-error"),
        Some(400) => (C::Permanent, A::FailRecord, "bad-request"),
        Some(422) => (C::Permanent, A::FailRecord, "unprocessable"),
        Some(403) => (C::Permanent, A::FailAndAlert, "forbidden"),
        Some(401) => (
            C::Authentication,
            A::PauseAndReauthenticate,
            "unauthenticated",
        ),
        Some(404) => match ctx {
            RequestContext::ReadAfterCreate => {
                let recent = match (input.created_at_ms, input.now_ms) {
                    (Some(c), Some(n)) => n.saturating_sub(c) <= input.indexing_delay_ms,
                    // Without times, trust the caller's context.
                    _ => true,
                };
                if recent {
                    (
                        C::ContextDependent,
                        A::RetryAfterDelay,
                        "not-found-after-create",
                    )
                } else {
                    (C::ContextDependent, A::TreatAsNotFound, "not-found")
                }
            }
            RequestContext::TransactionLookup => {
                (C::ContextDependent, A::KeepPending, "not-yet-matched")
            }
            RequestContext::Delete => (C::ContextDependent, A::Proceed, "already-deleted"),
            _ => (C::ContextDependent, A::TreatAsNotFound, "not-found"),
        },
        Some(409) => match ctx {
            RequestContext::Create | RequestContext::TransactionSubmit => {
                (C::ContextDependent, A::LookUpExisting, "already-exists")
            }
            _ => (C::ContextDependent, A::RefetchAndRetry, "conflict"),
        },
        Some(_) => (C::Permanent, A::FailRecord, "unexpected-status"),
    };
    let retryable = matches!(
        action,
        A::RetryWithBackoff | A::WaitRetryAfter | A::RetryAfterDelay | A::RefetchAndRetry
    );
    Ok(ResponseClassification {
        class,
        action,
        reason: reason.into(),
        retryable,
        retry_after_ms: if input.status == Some(429) || input.status.is_some_and(|s| s >= 500) {
            retry_after_ms
        } else {
            None
        },
        error_code,
        message,
        details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(
        status: Option<u16>,
        body: Option<&str>,
        context: RequestContext,
    ) -> ResponseClassification {
        classify_response(&ResponseInput {
            status,
            body: body.map(str::to_string),
            context,
            indexing_delay_ms: 60_000,
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn classes() {
        let r = st(
            Some(401),
            Some("Authorization has been denied for this request."),
            RequestContext::Read,
        );
        assert_eq!(r.class, ResponseClass::Authentication);
        assert_eq!(
            r.message.as_deref(),
            Some("Authorization has been denied for this request.")
        );
        let r = st(
            Some(400),
            Some(
                r#"{"error":{"code":"BAD_REQUEST","message":"bad","details":[{"field":"amount","code":"INVALID","message":"sum"}]}}"#,
            ),
            RequestContext::TransactionSubmit,
        );
        assert_eq!(r.error_code.as_deref(), Some("BAD_REQUEST"));
        assert_eq!(r.details[0].field.as_deref(), Some("amount"));
        assert_eq!(
            st(None, None, RequestContext::Read).class,
            ResponseClass::Transient
        );
        assert_eq!(
            st(Some(404), None, RequestContext::TransactionLookup).action,
            HostAction::KeepPending
        );
        assert_eq!(
            st(Some(409), None, RequestContext::Update).action,
            HostAction::RefetchAndRetry
        );
        assert_eq!(
            classify_response(&ResponseInput {
                status: Some(700),
                ..Default::default()
            })
            .unwrap_err()
            .code(),
            "invalid-status"
        );
    }

    #[test]
    fn retry_after_forms() {
        let ra = |v: &str, now: Option<i64>| {
            classify_response(&ResponseInput {
                status: Some(429),
                retry_after: Some(v.into()),
                now_ms: now,
                ..Default::default()
            })
            .unwrap()
            .retry_after_ms
        };
        let now = 1_700_000_000_000; // 2023-11-14T22:13:20Z
        assert_eq!(ra("30", None), Some(30_000));
        assert_eq!(ra(" 1.2 ", None), Some(2_000));
        assert_eq!(ra("99999999999", None), Some(3_600_000));
        assert_eq!(ra("Tue, 14 Nov 2023 22:14:00 GMT", Some(now)), Some(40_000));
        assert_eq!(
            ra("Tuesday, 14-Nov-23 22:14:00 GMT", Some(now)),
            Some(40_000)
        );
        assert_eq!(ra("Tue Nov 14 22:14:00 2023", Some(now)), Some(40_000));
        assert_eq!(ra("Tue, 14 Nov 2023 22:00:00 GMT", Some(now)), Some(0));
        assert_eq!(ra("Tue, 14 Nov 2023 22:14:00 GMT", None), None);
        assert_eq!(ra("-5", None), None);
        assert_eq!(ra("soon", Some(now)), None);
    }
}
