//! The Raise webhook subscription (`GET/PUT /api/Webhook/{id}`): `name`, `notificationUrl`,
//! `eventTypesList` (integers), `format`, `status`, `securityToken`.
//!
//! Like CRM+'s, a PUT is assumed to **replace** the webhook (the docs do not say otherwise), so a
//! change is made by reading it (`GET /api/Webhook/{id}`), changing only what was asked in what was
//! read, and writing everything back ([`merge_raise_subscription`]): a customer's other event
//! types, its `format`, `status`, `name` and any field this version does not know are kept as
//! read. A GET body whose `eventTypesList` cannot be read as integers is refused rather than
//! risk a PUT that drops the customer's types.

use super::event_types::{parse_code, EVENT_TYPE_RANGE};
use crate::reconcile::plan::{encode_component, HttpRequest};
use crate::reconcile::subscription::validate_payload_url;
use core::fmt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A caller mistake; codes shared with the CRM+ subscription's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RaiseSubscriptionError {
    /// `notificationUrl` is not `https://`.
    InsecureUrl(String),
    /// `notificationUrl` is not a usable absolute URL.
    InvalidUrl(String),
    /// An event type is both added and removed.
    ConflictingChange(u16),
    /// The GET body is not an object with an `id` and a readable `eventTypesList`.
    InvalidCurrent(String),
    /// An event type outside 10..52, a blank token, or another unusable argument.
    InvalidArgument(String),
}

impl RaiseSubscriptionError {
    /// The stable code (the CRM+ subscription's codes).
    pub fn code(&self) -> &'static str {
        match self {
            RaiseSubscriptionError::InsecureUrl(_) => "insecure-payload-url",
            RaiseSubscriptionError::InvalidUrl(_) => "invalid-payload-url",
            RaiseSubscriptionError::ConflictingChange(_) => "conflicting-change",
            RaiseSubscriptionError::InvalidCurrent(_) => "invalid-current-subscription",
            RaiseSubscriptionError::InvalidArgument(_) => "invalid-argument",
        }
    }
}

impl fmt::Display for RaiseSubscriptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RaiseSubscriptionError::InsecureUrl(u) => {
                write!(f, "notificationUrl must be https: {u:?}")
            }
            RaiseSubscriptionError::InvalidUrl(m) => write!(f, "notificationUrl unusable: {m}"),
            RaiseSubscriptionError::ConflictingChange(t) => {
                write!(f, "event type {t} is both added and removed")
            }
            RaiseSubscriptionError::InvalidCurrent(m) => write!(f, "current webhook: {m}"),
            RaiseSubscriptionError::InvalidArgument(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RaiseSubscriptionError {}

/// The requested change to a Raise webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RaiseSubscriptionChange {
    /// Event type integers to subscribe to (10..52).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub add: Vec<u16>,
    /// Event type integers to stop.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub remove: Vec<u16>,
    /// A new notification URL (HTTPS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
    /// A new `securityToken` (rotation). Never echoed in notices or errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_token: Option<String>,
    /// A new `status` (the docs call 1 "typically active"; 2 is assumed inactive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
}

/// Input of `mergeRaiseSubscription`: the GET body and the change.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RaiseSubscriptionInput {
    /// `GET /api/Webhook/{id}`'s body, as received.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub current: Value,
    /// What to change.
    pub change: RaiseSubscriptionChange,
}

/// The PUT to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RaiseSubscriptionPlan {
    /// `PUT /api/Webhook/{id}` (under the Raise API host).
    pub request: HttpRequest,
    /// The full body: the GET body with the change applied, every field kept.
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub body: Value,
    /// The resulting `eventTypesList`.
    pub event_types: Vec<u16>,
    /// Types this PUT adds.
    pub enabled: Vec<u16>,
    /// Types this PUT removes.
    pub disabled: Vec<u16>,
    /// Whether anything changes (if not, the host may skip the PUT).
    pub changed: bool,
    /// Remarks: `no-security-token` (neither the GET body nor the change has one: Raise may
    /// deliver unsigned, which the receiver refuses), `inactive` (status is not 1), `status-missing`
    /// and `format-missing` (the GET body lacks them; the PUT leaves them out rather than invent
    /// values Raise leaves unlabeled).
    pub notices: Vec<String>,
}

fn check_code(t: u16, field: &str) -> Result<u16, RaiseSubscriptionError> {
    if EVENT_TYPE_RANGE.contains(&t) {
        Ok(t)
    } else {
        Err(RaiseSubscriptionError::InvalidArgument(format!(
            "{field}: event type {t} is outside {}..={}",
            EVENT_TYPE_RANGE.start(),
            EVENT_TYPE_RANGE.end()
        )))
    }
}

/// The event types of a GET body, as integers (in the documented range or not: the customer's).
fn read_types(obj: &Map<String, Value>) -> Result<Vec<Value>, RaiseSubscriptionError> {
    let list = obj
        .get("eventTypesList")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            RaiseSubscriptionError::InvalidCurrent(
                "no eventTypesList array: refusing to PUT a list that could drop the customer's event types".into(),
            )
        })?;
    for v in list {
        let ok = match v {
            Value::Number(n) => n.as_u64().is_some(),
            Value::String(s) => s.trim().parse::<u64>().is_ok(),
            _ => false,
        };
        if !ok {
            return Err(RaiseSubscriptionError::InvalidCurrent(
                "eventTypesList holds a value that is not an integer: refusing to rewrite it"
                    .into(),
            ));
        }
    }
    Ok(list.clone())
}

/// The GET-then-PUT merge (npm `mergeRaiseSubscription`).
pub fn merge_raise_subscription(
    input: &RaiseSubscriptionInput,
) -> Result<RaiseSubscriptionPlan, RaiseSubscriptionError> {
    let change = &input.change;
    for (i, t) in change.add.iter().enumerate() {
        check_code(*t, &format!("change.add[{i}]"))?;
        if change.remove.contains(t) {
            return Err(RaiseSubscriptionError::ConflictingChange(*t));
        }
    }
    for (i, t) in change.remove.iter().enumerate() {
        check_code(*t, &format!("change.remove[{i}]"))?;
    }
    let obj = input
        .current
        .as_object()
        .ok_or_else(|| RaiseSubscriptionError::InvalidCurrent("not an object".into()))?;
    let id = match obj.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(RaiseSubscriptionError::InvalidCurrent("no id".into())),
    };
    let before = read_types(obj)?;
    let mut body = obj.clone();
    // Keep every current entry as read (unknown integers included) except those removed.
    let mut disabled = Vec::new();
    let mut types: Vec<Value> = Vec::new();
    let mut have: Vec<u16> = Vec::new();
    for v in before {
        match parse_code(&v) {
            Some(c) if change.remove.contains(&c) => {
                if !disabled.contains(&c) {
                    disabled.push(c);
                }
            }
            Some(c) => {
                have.push(c);
                types.push(v);
            }
            None => types.push(v),
        }
    }
    let mut enabled = Vec::new();
    for t in &change.add {
        if !have.contains(t) && !enabled.contains(t) {
            enabled.push(*t);
            types.push(Value::from(*t));
        }
    }
    let event_types: Vec<u16> = types
        .iter()
        .filter_map(|v| match v {
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .collect();
    body.insert("eventTypesList".into(), Value::Array(types));
    let mut changed = !enabled.is_empty() || !disabled.is_empty();

    let old_url = obj
        .get("notificationUrl")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let url = change
        .notification_url
        .clone()
        .or(old_url.clone())
        .unwrap_or_default();
    validate_payload_url(&url).map_err(|e| match e {
        crate::reconcile::subscription::SubscriptionError::InsecurePayloadUrl(u) => {
            RaiseSubscriptionError::InsecureUrl(u)
        }
        other => RaiseSubscriptionError::InvalidUrl(other.to_string()),
    })?;
    if old_url.as_deref() != Some(url.trim()) {
        changed = true;
    }
    body.insert(
        "notificationUrl".into(),
        Value::String(url.trim().to_owned()),
    );

    let mut notices = Vec::new();
    match &change.security_token {
        Some(t) if t.trim().is_empty() => {
            return Err(RaiseSubscriptionError::InvalidArgument(
                "change.securityToken must not be blank".into(),
            ))
        }
        Some(t) => {
            if obj.get("securityToken").and_then(Value::as_str) != Some(t.as_str()) {
                changed = true;
            }
            body.insert("securityToken".into(), Value::String(t.clone()));
        }
        None => {
            if obj
                .get("securityToken")
                .and_then(Value::as_str)
                .is_none_or(|s| s.trim().is_empty())
            {
                notices.push("no-security-token".to_owned());
            }
        }
    }
    if let Some(s) = change.status {
        if obj.get("status").and_then(Value::as_u64) != Some(u64::from(s)) {
            changed = true;
        }
        body.insert("status".into(), Value::from(s));
    }
    match body.get("status") {
        None | Some(Value::Null) => notices.push("status-missing".into()),
        Some(v) if v.as_u64() != Some(1) => notices.push("inactive".into()),
        Some(_) => {}
    }
    if obj.get("format").is_none_or(Value::is_null) {
        notices.push("format-missing".into());
    }
    Ok(RaiseSubscriptionPlan {
        request: HttpRequest {
            method: "PUT".into(),
            path: format!("/api/Webhook/{}", encode_component(&id)),
        },
        body: Value::Object(body),
        event_types,
        enabled,
        disabled,
        changed,
        notices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(current: Value, change: Value) -> Result<RaiseSubscriptionPlan, RaiseSubscriptionError> {
        merge_raise_subscription(&RaiseSubscriptionInput {
            current,
            change: serde_json::from_value(change).unwrap(),
        })
    }

    #[test]
    fn keeps_the_customers_other_types_and_fields() {
        let cur = json!({"id": 7, "name": "CRM sync", "notificationUrl": "https://p.example/raise",
            "eventTypesList": [30, 31, 99, "12"], "format": 2, "status": 1, "securityToken": "t", "extra": {"a": 1}});
        let p = run(cur, json!({"add": [10, 31], "remove": [12]})).unwrap();
        assert_eq!(p.request.path, "/api/Webhook/7");
        assert_eq!(p.body["eventTypesList"], json!([30, 31, 99, 10]));
        assert_eq!(p.enabled, vec![10]);
        assert_eq!(p.disabled, vec![12]);
        assert_eq!(p.body["extra"], json!({"a": 1}));
        assert_eq!(p.body["format"], 2);
        assert!(p.changed);
        assert!(p.notices.is_empty());
    }

    #[test]
    fn refuses_what_could_drop_types() {
        let e = run(
            json!({"id": 7, "notificationUrl": "https://x.example"}),
            json!({}),
        )
        .unwrap_err();
        assert_eq!(e.code(), "invalid-current-subscription");
        let e = run(json!({"id": 7, "eventTypesList": [{"id": 10}]}), json!({})).unwrap_err();
        assert_eq!(e.code(), "invalid-current-subscription");
        let e = run(json!({"id": 7, "eventTypesList": []}), json!({"add": [9]})).unwrap_err();
        assert_eq!(e.code(), "invalid-argument");
        let e = run(
            json!({"id": 7, "eventTypesList": []}),
            json!({"add": [10], "remove": [10]}),
        )
        .unwrap_err();
        assert_eq!(e.code(), "conflicting-change");
        let e = run(
            json!({"id": 7, "eventTypesList": [], "notificationUrl": "http://x"}),
            json!({}),
        )
        .unwrap_err();
        assert_eq!(e.code(), "insecure-payload-url");
    }
}
