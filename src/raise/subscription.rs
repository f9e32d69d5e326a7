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

/// What to do to subscribe when the customer's Raise account may have no webhook for us yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum RaiseSetupAction {
    /// No webhook delivers to the URL: `POST /api/Webhook` with `body`.
    Create,
    /// One does (`webhookId`): `GET /api/Webhook/{id}`, then [`merge_raise_subscription`] with
    /// that body and `change`, so the customer's other types and settings are kept.
    Merge,
}

/// Input of `planRaiseSubscription`: the webhooks the account has and the subscription wanted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RaiseSetupInput {
    /// `GET /api/Webhook/list`'s body, as received (an array of webhooks).
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub existing: Value,
    /// Where Raise should deliver (HTTPS): the host's `/webhooks/raise/<customerId>`.
    pub notification_url: String,
    /// The event type integers wanted (10..52).
    pub event_types: Vec<u16>,
    /// The `securityToken` deliveries are signed with (the receiver's secret). Never echoed in
    /// notices or errors.
    pub security_token: String,
    /// The new webhook's `name` (default `virtuous-sync`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new webhook's `format` (1 or 2; the docs leave both unlabeled, so it is never invented:
    /// omitted, the POST leaves it out and a `format-missing` notice says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<u8>,
}

/// The plan: create the webhook, or merge into the one that already delivers to the URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RaiseSetupPlan {
    /// `create` or `merge`.
    pub action: RaiseSetupAction,
    /// `POST /api/Webhook` (create) or `GET /api/Webhook/{id}` (merge), under the Raise API host.
    pub request: HttpRequest,
    /// The POST body (create): `{name, notificationUrl, eventTypesList, status: 1, securityToken,
    /// format?}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub body: Option<Value>,
    /// The webhook that already delivers to the URL (merge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<String>,
    /// The change to hand to `mergeRaiseSubscription` with the GET body (merge): the wanted
    /// types added, the token set, status 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<RaiseSubscriptionChange>,
    /// `format-missing` (create without a `format`).
    pub notices: Vec<String>,
}

/// A webhook's id as text (a number or non-blank text), if it has one.
fn webhook_id(v: &Value) -> Option<String> {
    match v.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Subscribing when there may be no webhook yet (npm `planRaiseSubscription`): read the account's
/// webhooks (`GET /api/Webhook/list`); none delivering to `notificationUrl` → a `POST` creating
/// one (active, signed with the token); exactly one → merge into it (GET-then-PUT, every other
/// type and setting kept); several → refused (`invalid-current-subscription`: which one to
/// change is a person's choice). URLs are compared trimmed, exactly.
pub fn plan_raise_subscription(
    input: &RaiseSetupInput,
) -> Result<RaiseSetupPlan, RaiseSubscriptionError> {
    let url = input.notification_url.trim();
    validate_payload_url(url).map_err(|e| match e {
        crate::reconcile::subscription::SubscriptionError::InsecurePayloadUrl(u) => {
            RaiseSubscriptionError::InsecureUrl(u)
        }
        other => RaiseSubscriptionError::InvalidUrl(other.to_string()),
    })?;
    if input.event_types.is_empty() {
        return Err(RaiseSubscriptionError::InvalidArgument(
            "eventTypes must name at least one event type".into(),
        ));
    }
    let mut types: Vec<u16> = Vec::new();
    for (i, t) in input.event_types.iter().enumerate() {
        check_code(*t, &format!("eventTypes[{i}]"))?;
        if !types.contains(t) {
            types.push(*t);
        }
    }
    if input.security_token.trim().is_empty() {
        return Err(RaiseSubscriptionError::InvalidArgument(
            "securityToken must not be blank (an unsigned webhook's deliveries are refused)".into(),
        ));
    }
    let name = match &input.name {
        Some(n) if n.trim().is_empty() => {
            return Err(RaiseSubscriptionError::InvalidArgument(
                "name must not be blank".into(),
            ))
        }
        Some(n) => n.clone(),
        None => "virtuous-sync".to_owned(),
    };
    if let Some(f) = input.format {
        if f != 1 && f != 2 {
            return Err(RaiseSubscriptionError::InvalidArgument(format!(
                "format must be 1 or 2, not {f}"
            )));
        }
    }
    let list = input.existing.as_array().ok_or_else(|| {
        RaiseSubscriptionError::InvalidCurrent(
            "the webhook list is not an array: refusing to create a second webhook on a guess"
                .into(),
        )
    })?;
    let mut same = Vec::new();
    for w in list {
        let Some(obj) = w.as_object() else {
            return Err(RaiseSubscriptionError::InvalidCurrent(
                "a webhook in the list is not an object".into(),
            ));
        };
        if obj
            .get("notificationUrl")
            .and_then(Value::as_str)
            .is_some_and(|u| u.trim() == url)
        {
            same.push(w);
        }
    }
    match same.as_slice() {
        [] => {
            let mut body = Map::new();
            body.insert("name".into(), Value::String(name));
            body.insert("notificationUrl".into(), Value::String(url.to_owned()));
            body.insert(
                "eventTypesList".into(),
                Value::Array(types.iter().map(|t| Value::from(*t)).collect()),
            );
            body.insert("status".into(), Value::from(1u8));
            body.insert(
                "securityToken".into(),
                Value::String(input.security_token.clone()),
            );
            let mut notices = Vec::new();
            match input.format {
                Some(f) => {
                    body.insert("format".into(), Value::from(f));
                }
                None => notices.push("format-missing".to_owned()),
            }
            Ok(RaiseSetupPlan {
                action: RaiseSetupAction::Create,
                request: HttpRequest {
                    method: "POST".into(),
                    path: "/api/Webhook".into(),
                },
                body: Some(Value::Object(body)),
                webhook_id: None,
                change: None,
                notices,
            })
        }
        [w] => {
            let id = webhook_id(w).ok_or_else(|| {
                RaiseSubscriptionError::InvalidCurrent(
                    "the webhook delivering to this URL has no id".into(),
                )
            })?;
            Ok(RaiseSetupPlan {
                action: RaiseSetupAction::Merge,
                request: HttpRequest {
                    method: "GET".into(),
                    path: format!("/api/Webhook/{}", encode_component(&id)),
                },
                body: None,
                webhook_id: Some(id),
                change: Some(RaiseSubscriptionChange {
                    add: types,
                    remove: Vec::new(),
                    notification_url: None,
                    security_token: Some(input.security_token.clone()),
                    status: Some(1),
                }),
                notices: Vec::new(),
            })
        }
        _ => Err(RaiseSubscriptionError::InvalidCurrent(format!(
            "{} webhooks deliver to this URL: which one to change is a person's choice",
            same.len()
        ))),
    }
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

    fn setup(existing: Value, extra: Value) -> Result<RaiseSetupPlan, RaiseSubscriptionError> {
        let mut v = json!({"existing": existing, "notificationUrl": "https://h.example/webhooks/raise/c1",
            "eventTypes": [30, 31, 30], "securityToken": "tok"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        plan_raise_subscription(&serde_json::from_value(v).unwrap())
    }

    #[test]
    fn creates_when_no_webhook_delivers_to_the_url() {
        let p = setup(json!([{"id": 3, "notificationUrl": "https://other.example/x", "eventTypesList": [10]}]), json!({})).unwrap();
        assert_eq!(p.action, RaiseSetupAction::Create);
        assert_eq!(p.request.method, "POST");
        assert_eq!(p.body.unwrap()["eventTypesList"], json!([30, 31]));
        assert_eq!(p.notices, vec!["format-missing"]);
    }

    #[test]
    fn merges_into_the_one_that_does_and_refuses_several() {
        let p = setup(json!([{"id": "w 1", "notificationUrl": " https://h.example/webhooks/raise/c1 ", "eventTypesList": []}]), json!({"format": 2})).unwrap();
        assert_eq!(p.action, RaiseSetupAction::Merge);
        assert_eq!(p.request.path, "/api/Webhook/w%201");
        assert_eq!(p.change.unwrap().add, vec![30, 31]);
        let two = json!([{"id": 1, "notificationUrl": "https://h.example/webhooks/raise/c1"}, {"id": 2, "notificationUrl": "https://h.example/webhooks/raise/c1"}]);
        assert_eq!(
            setup(two, json!({})).unwrap_err().code(),
            "invalid-current-subscription"
        );
        assert_eq!(
            setup(json!({}), json!({})).unwrap_err().code(),
            "invalid-current-subscription"
        );
        assert_eq!(
            setup(json!([]), json!({"securityToken": " "}))
                .unwrap_err()
                .code(),
            "invalid-argument"
        );
        assert_eq!(
            setup(json!([]), json!({"eventTypes": [53]}))
                .unwrap_err()
                .code(),
            "invalid-argument"
        );
        assert_eq!(
            setup(json!([]), json!({"notificationUrl": "http://h.example/x"}))
                .unwrap_err()
                .code(),
            "insecure-payload-url"
        );
    }
}
