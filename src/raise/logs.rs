//! Raise's delivery logs (`GET /api/Webhook/log/list`) as an observability source: the rows
//! (`WebhookLogListModel`: `success`, `httpStatusCode`, `serverResponse`, `contextId`,
//! `createdDate`, and `eventType`/`eventTypeDisplay`, `webhookId` where present) summarised into
//! one line per delivery, a delivery being the attempts that share a webhook and a `contextId`
//! (Raise retries under the same `contextId`). The host's status page shows the deliveries whose
//! last attempt failed: what Raise could not deliver, which this side never saw.
//!
//! Rows are read defensively (the model's field types are not documented): a row without a
//! `success` flag is skipped and counted, never guessed.

use crate::timestamp::parse_time;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Longest `serverResponse` kept per delivery (characters); longer ones are cut.
pub const DEFAULT_RESPONSE_CHARS: usize = 200;

/// Input of `summarizeRaiseDeliveryLogs`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RaiseLogInput {
    /// Log rows as Raise returns them (one page or several concatenated).
    #[cfg_attr(feature = "ts", ts(type = "Array<unknown>"))]
    pub rows: Vec<Value>,
    /// Longest `serverResponse` kept (default 200 characters).
    #[serde(default)]
    pub max_response_chars: Option<u32>,
}

/// One delivery whose attempts failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RaiseFailedDelivery {
    /// The webhook, when the rows name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<String>,
    /// The delivery's `contextId`; absent when Raise gave none (the row is then its own delivery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    /// The event type integer, as logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<u16>,
    /// Raise's name for it (`eventTypeDisplay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type_display: Option<String>,
    /// Attempts logged.
    pub attempts: u32,
    /// Of which failed.
    pub failures: u32,
    /// Whether the last attempt succeeded (a delivery that failed, then got through).
    pub delivered: bool,
    /// The last attempt's HTTP status, when logged (absent: no response, such as a timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    /// The last attempt's `serverResponse`, cut to the limit, control characters dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_response: Option<String>,
    /// The last attempt's `createdDate`, as logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<String>,
    /// The same in ms since the epoch, when it parses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_ms: Option<i64>,
}

/// The summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RaiseLogSummary {
    /// Deliveries whose last attempt failed, newest first: what Raise could not deliver.
    pub failed: Vec<RaiseFailedDelivery>,
    /// Deliveries that failed at least once and then succeeded, newest first.
    pub recovered: Vec<RaiseFailedDelivery>,
    /// Deliveries seen.
    pub deliveries: u64,
    /// Rows read.
    pub rows: u64,
    /// Rows skipped (not an object, or no `success` flag).
    pub skipped_rows: u64,
}

struct Attempt {
    index: usize,
    success: bool,
    status: Option<u16>,
    response: Option<String>,
    created: Option<String>,
    created_ms: Option<i64>,
    event_type: Option<u16>,
    display: Option<String>,
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn success(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn cut(s: &str, max: usize) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = clean.chars().take(max).collect();
    if clean.chars().count() > max {
        out.push('…');
    }
    out
}

/// Groups log rows into deliveries and reports the failed ones (see the module docs).
pub fn summarize_delivery_logs(input: &RaiseLogInput) -> RaiseLogSummary {
    let max = input
        .max_response_chars
        .map_or(DEFAULT_RESPONSE_CHARS, |m| m as usize);
    let mut groups: BTreeMap<(Option<String>, String), Vec<Attempt>> = BTreeMap::new();
    let mut skipped = 0u64;
    for (index, row) in input.rows.iter().enumerate() {
        let Some(obj) = row.as_object() else {
            skipped += 1;
            continue;
        };
        let Some(ok) = success(obj.get("success")) else {
            skipped += 1;
            continue;
        };
        let webhook = text(obj.get("webhookId"));
        // No contextId: the row is its own delivery (keyed by position, never merged with others).
        let context = text(obj.get("contextId"))
            .map(|c| format!("c:{c}"))
            .unwrap_or_else(|| format!("row:{index}"));
        let created = text(obj.get("createdDate"));
        groups.entry((webhook, context)).or_default().push(Attempt {
            index,
            success: ok,
            status: obj
                .get("httpStatusCode")
                .and_then(|v| match v {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.trim().parse().ok(),
                    _ => None,
                })
                .and_then(|n| u16::try_from(n).ok()),
            response: obj
                .get("serverResponse")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(|s| cut(s, max)),
            created_ms: created.as_deref().and_then(|c| parse_time(c).ok()),
            created,
            event_type: obj
                .get("eventType")
                .and_then(super::event_types::parse_code),
            display: text(obj.get("eventTypeDisplay")),
        });
    }
    let mut failed = Vec::new();
    let mut recovered = Vec::new();
    let deliveries = groups.len() as u64;
    for ((webhook_id, key), mut attempts) in groups {
        // In time order when every attempt's date parses, else in the order Raise listed them.
        if attempts.iter().all(|a| a.created_ms.is_some()) {
            crate::sort::sort_by_key(&mut attempts, |a| (a.created_ms, a.index));
        }
        let failures = attempts.iter().filter(|a| !a.success).count();
        if failures == 0 {
            continue;
        }
        let Some(last) = attempts.last() else {
            continue;
        };
        let d = RaiseFailedDelivery {
            webhook_id,
            context_id: key.strip_prefix("c:").map(str::to_owned),
            event_type: attempts.iter().find_map(|a| a.event_type),
            event_type_display: attempts.iter().find_map(|a| a.display.clone()),
            attempts: u32::try_from(attempts.len()).unwrap_or(u32::MAX),
            failures: u32::try_from(failures).unwrap_or(u32::MAX),
            delivered: last.success,
            last_status: last.status,
            last_response: last.response.clone(),
            last_attempt: last.created.clone(),
            last_attempt_ms: last.created_ms,
        };
        if d.delivered {
            recovered.push(d);
        } else {
            failed.push(d);
        }
    }
    let newest_first = |a: &RaiseFailedDelivery, b: &RaiseFailedDelivery| {
        b.last_attempt_ms
            .cmp(&a.last_attempt_ms)
            .then_with(|| a.context_id.cmp(&b.context_id))
    };
    crate::sort::sort_by(&mut failed, newest_first);
    crate::sort::sort_by(&mut recovered, newest_first);
    RaiseLogSummary {
        failed,
        recovered,
        deliveries,
        rows: input.rows.len() as u64,
        skipped_rows: skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_retries_by_context_id() {
        let rows = vec![
            json!({"webhookId": 7, "contextId": "a", "success": false, "httpStatusCode": 500, "serverResponse": "boom", "createdDate": "2025-04-01T12:00:00Z", "eventType": 10, "eventTypeDisplay": "Gift Created"}),
            json!({"webhookId": 7, "contextId": "a", "success": false, "httpStatusCode": 401, "serverResponse": "x".repeat(300), "createdDate": "2025-04-01T12:05:00Z"}),
            json!({"webhookId": 7, "contextId": "b", "success": false, "httpStatusCode": 500, "createdDate": "2025-04-01T11:00:00Z"}),
            json!({"webhookId": 7, "contextId": "b", "success": true, "httpStatusCode": 200, "createdDate": "2025-04-01T11:01:00Z"}),
            json!({"webhookId": 7, "contextId": "c", "success": true, "httpStatusCode": 200, "createdDate": "2025-04-01T11:01:00Z"}),
            json!({"contextId": "d"}),
            json!(5),
        ];
        let s = summarize_delivery_logs(&RaiseLogInput {
            rows,
            max_response_chars: None,
        });
        assert_eq!((s.rows, s.skipped_rows, s.deliveries), (7, 2, 3));
        assert_eq!(s.failed.len(), 1);
        let a = &s.failed[0];
        assert_eq!(a.context_id.as_deref(), Some("a"));
        assert_eq!((a.attempts, a.failures, a.last_status), (2, 2, Some(401)));
        assert_eq!(a.last_response.as_ref().unwrap().chars().count(), 201);
        assert_eq!(a.event_type, Some(10));
        assert_eq!(s.recovered.len(), 1);
        assert_eq!(s.recovered[0].context_id.as_deref(), Some("b"));
    }
}
