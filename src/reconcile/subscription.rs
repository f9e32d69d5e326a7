//! The CRM+ webhook subscription: its 15 event toggles, the GET-then-PUT merge, `payloadUrl`
//! validation, secret rotation and pause/resume as ordered plans.
//!
//! `PUT /api/Webhook/{id}` **replaces** the record: a toggle left out becomes `false`. So a change
//! is always made by reading the subscription (`GET /api/Webhook/{id}`), changing only the named
//! toggles in what was read, and writing every toggle back explicitly ([`merge_subscription`]).
//! An inactive subscription drops events rather than queueing them, so resuming always
//! reconciles from the pause time.

use super::cursor::QueryCursor;
use super::plan::{encode_component, HttpRequest};
use crate::event::EventType;
use core::fmt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A caller mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscriptionError {
    /// `payloadUrl` is not `https://`.
    InsecurePayloadUrl(String),
    /// `payloadUrl` is not a usable absolute URL (no host, whitespace, credentials...).
    InvalidPayloadUrl(String),
    /// An event type is both added and removed.
    ConflictingChange(EventType),
    /// The current subscription (the GET body) is not an object with an `id`.
    InvalidCurrent(String),
    /// A blank webhook id or another unusable argument.
    InvalidArgument(String),
}

impl SubscriptionError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            SubscriptionError::InsecurePayloadUrl(_) => "insecure-payload-url",
            SubscriptionError::InvalidPayloadUrl(_) => "invalid-payload-url",
            SubscriptionError::ConflictingChange(_) => "conflicting-change",
            SubscriptionError::InvalidCurrent(_) => "invalid-current-subscription",
            SubscriptionError::InvalidArgument(_) => "invalid-argument",
        }
    }
}

impl fmt::Display for SubscriptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscriptionError::InsecurePayloadUrl(u) => {
                write!(f, "payloadUrl must be https: {u:?}")
            }
            SubscriptionError::InvalidPayloadUrl(m) => write!(f, "payloadUrl unusable: {m}"),
            SubscriptionError::ConflictingChange(t) => {
                write!(f, "{} is both added and removed", t.toggle())
            }
            SubscriptionError::InvalidCurrent(m) => write!(f, "current subscription: {m}"),
            SubscriptionError::InvalidArgument(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SubscriptionError {}

/// Checks that a payload URL is an absolute `https://` URL with a host and no credentials.
pub fn validate_payload_url(url: &str) -> Result<(), SubscriptionError> {
    let u = url.trim();
    let lower = u.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("https://") else {
        return Err(SubscriptionError::InsecurePayloadUrl(u.to_string()));
    };
    if u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(SubscriptionError::InvalidPayloadUrl(
            "contains whitespace".into(),
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(SubscriptionError::InvalidPayloadUrl(
            "credentials in the URL".into(),
        ));
    }
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(authority, |(h, _)| h);
    if host.is_empty() || host.starts_with('.') {
        return Err(SubscriptionError::InvalidPayloadUrl("no host".into()));
    }
    Ok(())
}

/// The subscription as stored by Virtuous (`GET /api/Webhook/{id}`), typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// The webhook id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Where deliveries go (HTTPS).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub payload_url: String,
    /// The signing secret, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Whether deliveries are sent (an inactive subscription drops events).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub active: bool,
    /// The 15 toggles, in Virtuous's table order.
    #[serde(default)]
    pub events: Vec<EventType>,
}

/// Reads the 15 toggles of a subscription object (missing or non-boolean = `false`).
pub fn read_toggles(current: &Map<String, Value>) -> Vec<EventType> {
    EventType::ALL
        .into_iter()
        .filter(|t| match current.get(t.toggle()) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
            _ => false,
        })
        .collect()
}

fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a GET body into a [`Subscription`].
pub fn parse_subscription(current: &Value) -> Result<Subscription, SubscriptionError> {
    let obj = current
        .as_object()
        .ok_or_else(|| SubscriptionError::InvalidCurrent("not an object".into()))?;
    Ok(Subscription {
        id: id_text(obj.get("id")),
        payload_url: obj
            .get("payloadUrl")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        secret: obj
            .get("secret")
            .and_then(Value::as_str)
            .map(str::to_string),
        active: obj.get("active").and_then(Value::as_bool).unwrap_or(false),
        events: read_toggles(obj),
    })
}

/// The requested change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionChange {
    /// Toggles to turn on.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub add: Vec<EventType>,
    /// Toggles to turn off.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub remove: Vec<EventType>,
    /// A new payload URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_url: Option<String>,
    /// A new secret (secret rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// The PUT to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionPlan {
    /// `PUT /api/Webhook/{id}`.
    pub request: HttpRequest,
    /// The full body: the GET body with the change applied and all 15 toggles explicit.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub body: Value,
    /// Toggles this PUT turns on.
    pub enabled: Vec<EventType>,
    /// Toggles this PUT turns off.
    pub disabled: Vec<EventType>,
    /// Whether anything changes at all (if not, the host may skip the PUT).
    pub changed: bool,
    /// Remarks: `no-secret` (neither the GET body nor the change carries a secret, so the PUT
    /// may leave the subscription unsigned), `inactive` (the subscription is inactive and drops
    /// events), `active-missing` (the GET body has no `active`; the PUT sends `false`... so it is
    /// set explicitly to `true`).
    pub notices: Vec<String>,
}

/// The GET-then-PUT merge (npm `mergeSubscription`): `current` is the GET body.
pub fn merge_subscription(
    current: &Value,
    change: &SubscriptionChange,
) -> Result<SubscriptionPlan, SubscriptionError> {
    for t in &change.add {
        if change.remove.contains(t) {
            return Err(SubscriptionError::ConflictingChange(*t));
        }
    }
    let obj = current
        .as_object()
        .ok_or_else(|| SubscriptionError::InvalidCurrent("not an object".into()))?;
    let id =
        id_text(obj.get("id")).ok_or_else(|| SubscriptionError::InvalidCurrent("no id".into()))?;
    let before = read_toggles(obj);
    let mut body = obj.clone();
    let mut enabled = Vec::new();
    let mut disabled = Vec::new();
    for t in EventType::ALL {
        let was = before.contains(&t);
        let now = if change.add.contains(&t) {
            true
        } else if change.remove.contains(&t) {
            false
        } else {
            was
        };
        if now && !was {
            enabled.push(t);
        }
        if was && !now {
            disabled.push(t);
        }
        body.insert(t.toggle().to_string(), Value::Bool(now));
    }
    let mut changed = !enabled.is_empty() || !disabled.is_empty();
    let old_url = obj
        .get("payloadUrl")
        .and_then(Value::as_str)
        .map(str::to_string);
    let url = change
        .payload_url
        .clone()
        .or(old_url.clone())
        .unwrap_or_default();
    validate_payload_url(&url)?;
    if old_url.as_deref() != Some(url.as_str()) {
        changed = true;
    }
    body.insert("payloadUrl".into(), Value::String(url.trim().to_string()));
    let mut notices = Vec::new();
    if let Some(s) = &change.secret {
        if s.is_empty() {
            return Err(SubscriptionError::InvalidArgument(
                "secret must not be empty".into(),
            ));
        }
        if obj.get("secret").and_then(Value::as_str) != Some(s.as_str()) {
            changed = true;
        }
        body.insert("secret".into(), Value::String(s.clone()));
    } else if obj
        .get("secret")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        notices.push("no-secret".to_string());
    }
    match obj.get("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => notices.push("inactive".into()),
        _ => {
            notices.push("active-missing".into());
            body.insert("active".into(), Value::Bool(true));
        }
    }
    Ok(SubscriptionPlan {
        request: HttpRequest {
            method: "PUT".into(),
            path: format!("/api/Webhook/{}", encode_component(&id)),
        },
        body: Value::Object(body),
        enabled,
        disabled,
        changed,
        notices,
    })
}

/// One step of an ordered plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct PlanStep {
    /// 1-based position; run in order, each after the previous succeeded.
    pub order: u32,
    /// Stable action code.
    pub action: String,
    /// The request, for steps that call Virtuous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<HttpRequest>,
    /// A time the step refers to (pause time, earliest retirement...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<i64>,
}

fn step(order: u32, action: &str, request: Option<HttpRequest>, at_ms: Option<i64>) -> PlanStep {
    PlanStep {
        order,
        action: action.into(),
        request,
        at_ms,
    }
}

fn webhook_path(id: &str) -> Result<String, SubscriptionError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(SubscriptionError::InvalidArgument(
            "webhookId must not be blank".into(),
        ));
    }
    Ok(format!("/api/Webhook/{}", encode_component(id)))
}

fn req(method: &str, path: String) -> Option<HttpRequest> {
    Some(HttpRequest {
        method: method.into(),
        path,
    })
}

/// Pause a customer (npm `planPause`): deactivate, stop the submitter, stop the poller, record
/// the pause time (the resume reconciles from it).
pub fn plan_pause(webhook_id: &str, now_ms: i64) -> Result<Vec<PlanStep>, SubscriptionError> {
    let p = webhook_path(webhook_id)?;
    Ok(vec![
        step(
            1,
            "deactivate-webhook",
            req("PUT", format!("{p}/Active?active=false")),
            None,
        ),
        step(2, "stop-submitter", None, None),
        step(3, "stop-poller", None, None),
        step(4, "record-pause-time", None, Some(now_ms)),
    ])
}

/// The resume plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ResumePlan {
    /// Ordered steps.
    pub steps: Vec<PlanStep>,
    /// The cursor the catch-up reconciliation starts from (the pause time; the run subtracts
    /// its overlap as always). Use it instead of the stored cursor if it is earlier.
    pub reconcile_from: QueryCursor,
}

/// Resume a customer (npm `planResume`): reactivate first (events flow again), reconcile from the
/// pause time to completion (events during the pause were dropped), then restart the poller and
/// finally the submitter, so queued partner writes are weighed against what changed in Virtuous
/// while paused instead of overwriting it.
pub fn plan_resume(
    webhook_id: &str,
    paused_at_ms: i64,
    stored_cursor: Option<&QueryCursor>,
) -> Result<ResumePlan, SubscriptionError> {
    let p = webhook_path(webhook_id)?;
    let from = match stored_cursor.and_then(|c| c.high_water_ms) {
        Some(h) if h < paused_at_ms => stored_cursor.cloned().unwrap_or_default(),
        _ => QueryCursor::from_time(paused_at_ms),
    };
    Ok(ResumePlan {
        steps: vec![
            step(
                1,
                "activate-webhook",
                req("PUT", format!("{p}/Active?active=true")),
                None,
            ),
            step(2, "reconcile-from-pause", None, Some(paused_at_ms)),
            step(3, "start-poller", None, None),
            step(4, "start-submitter", None, None),
        ],
        reconcile_from: from,
    })
}

fn default_drain() -> i64 {
    72 * 3600 * 1000
}

/// Where a secret rotation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotationInput {
    /// The webhook id.
    pub webhook_id: String,
    /// The id of the secret in use (as in the verifier's secret list).
    pub old_secret_id: String,
    /// The id of the new secret.
    pub new_secret_id: String,
    /// When the PUT with the new secret succeeded, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at_ms: Option<i64>,
    /// The last time a receipt reported the old secret (`secretId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_old_receipt_ms: Option<i64>,
    /// How long without a receipt on the old secret before it is retired (default 72 h: covers
    /// Virtuous's retries of deliveries signed before the switch).
    #[serde(default = "default_drain")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub drain_ms: i64,
    /// The host's current time.
    pub now_ms: i64,
}

/// The rotation plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RotationPlan {
    /// `not-started`, `draining` or `ready-to-retire`.
    #[cfg_attr(
        feature = "ts",
        ts(type = "\"not-started\" | \"draining\" | \"ready-to-retire\"")
    )]
    pub phase: String,
    /// The remaining steps, in order.
    pub steps: Vec<PlanStep>,
}

/// Secret rotation (npm `planSecretRotation`): the new secret goes first in the verifier while
/// the old one stays, then the subscription is switched (GET-then-PUT), and the old secret is
/// retired only after no receipt has reported it for `drainMs`.
pub fn plan_secret_rotation(input: &RotationInput) -> Result<RotationPlan, SubscriptionError> {
    let p = webhook_path(&input.webhook_id)?;
    if input.old_secret_id.trim().is_empty()
        || input.new_secret_id.trim().is_empty()
        || input.old_secret_id == input.new_secret_id
    {
        return Err(SubscriptionError::InvalidArgument(
            "oldSecretId and newSecretId must be distinct and non-blank".into(),
        ));
    }
    if input.drain_ms < 0 {
        return Err(SubscriptionError::InvalidArgument(
            "drainMs must not be negative".into(),
        ));
    }
    let Some(rotated) = input.rotated_at_ms else {
        return Ok(RotationPlan {
            phase: "not-started".into(),
            steps: vec![
                step(1, "add-new-secret-first", None, None),
                step(2, "get-webhook", req("GET", p.clone()), None),
                step(3, "put-webhook-with-new-secret", req("PUT", p), None),
                step(4, "record-rotation-time", None, None),
                step(5, "wait-for-old-secret-drain", None, None),
                step(6, "remove-old-secret", None, None),
            ],
        });
    };
    let last = input
        .last_old_receipt_ms
        .map_or(rotated, |l| l.max(rotated));
    let retire_at = last.checked_add(input.drain_ms).unwrap_or(i64::MAX);
    if input.now_ms >= retire_at {
        Ok(RotationPlan {
            phase: "ready-to-retire".into(),
            steps: vec![step(1, "remove-old-secret", None, Some(retire_at))],
        })
    } else {
        Ok(RotationPlan {
            phase: "draining".into(),
            steps: vec![
                step(1, "wait-for-old-secret-drain", None, Some(retire_at)),
                step(2, "remove-old-secret", None, Some(retire_at)),
            ],
        })
    }
}

/// The pause plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct PausePlan {
    /// Ordered steps.
    pub steps: Vec<PlanStep>,
    /// The pause time to store (the resume reconciles from it).
    pub paused_at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_keeps_others() {
        let cur = json!({"id": 12, "payloadUrl": "https://x.example/hook", "secret": "s", "active": true,
            "contactCreate": true, "giftCreate": true, "name": "keep me"});
        let plan = merge_subscription(
            &cur,
            &SubscriptionChange {
                add: vec![EventType::GiftDelete],
                remove: vec![EventType::ContactCreate],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(plan.body["giftCreate"], true);
        assert_eq!(plan.body["giftDelete"], true);
        assert_eq!(plan.body["contactCreate"], false);
        assert_eq!(plan.body["eventDelete"], false);
        assert_eq!(plan.body["name"], "keep me");
        assert_eq!(plan.request.path, "/api/Webhook/12");
        assert_eq!(plan.enabled, vec![EventType::GiftDelete]);
        assert!(plan.changed);
    }

    #[test]
    fn urls() {
        assert!(validate_payload_url("https://hooks.example.org/v/1?x=1").is_ok());
        assert!(validate_payload_url("HTTPS://hooks.example.org:8443/").is_ok());
        for (u, code) in [
            ("http://hooks.example.org/", "insecure-payload-url"),
            ("hooks.example.org", "insecure-payload-url"),
            ("https://", "invalid-payload-url"),
            ("https://user:pw@hooks.example.org/", "invalid-payload-url"),
            ("https://hooks.example.org/a b", "invalid-payload-url"),
        ] {
            assert_eq!(validate_payload_url(u).unwrap_err().code(), code, "{u}");
        }
    }
}
