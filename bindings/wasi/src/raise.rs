//! The Raise operations of the `reconcile` interface <-> the core's. Conversion only.

use crate::bindings::exports::virtuous::sync::reconcile as wit;
use crate::bindings::exports::virtuous::sync::types::Error;
use crate::convert::Obj;
use crate::json::{self, parse};
use serde_json::Value;
use virtuous_sync::ops::{self, Operation};
use virtuous_sync::raise::{event_types as labels, logs, subscription as sub};

fn typed<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, Error> {
    ops::input(&v, "").map_err(json::error)
}

fn rows(list: &[String]) -> Result<Value, Error> {
    list.iter()
        .enumerate()
        .map(|(i, r)| parse(r, &format!("rows[{i}]")))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn ints(list: &[u16]) -> Value {
    Value::Array(list.iter().map(|t| Value::from(*t)).collect())
}

pub(crate) fn merge(
    input: wit::RaiseSubscriptionInput,
) -> Result<wit::RaiseSubscriptionPlan, Error> {
    let c = &input.change;
    let change = Obj::default()
        .set("add", ints(&c.add))
        .set("remove", ints(&c.remove))
        .opt_str("notificationUrl", c.notification_url.as_ref())
        .opt_str("securityToken", c.security_token.as_ref())
        .opt("status", c.status.as_ref(), |s| Value::from(*s))
        .done();
    let v = Obj::default()
        .set("current", parse(&input.current, "current")?)
        .set("change", change)
        .done();
    let i: sub::RaiseSubscriptionInput = typed(v)?;
    let p = ops::MergeRaiseSubscription::run(&i).map_err(json::error)?;
    Ok(wit::RaiseSubscriptionPlan {
        request: crate::bindings::exports::virtuous::sync::types::Request {
            method: p.request.method,
            path: p.request.path,
            body: None,
        },
        body: p.body.to_string(),
        event_types: p.event_types,
        enabled: p.enabled,
        disabled: p.disabled,
        changed: p.changed,
        notices: p.notices,
    })
}

pub(crate) fn setup(input: wit::RaiseSetupInput) -> Result<wit::RaiseSetupPlan, Error> {
    let v = Obj::default()
        .set("existing", parse(&input.existing, "existing")?)
        .set("notificationUrl", Value::String(input.notification_url))
        .set("eventTypes", ints(&input.event_types))
        .set("securityToken", Value::String(input.security_token))
        .opt_str("name", input.name.as_ref())
        .opt("format", input.format.as_ref(), |f| Value::from(*f))
        .done();
    let i: sub::RaiseSetupInput = typed(v)?;
    let p = ops::PlanRaiseSubscription::run(&i).map_err(json::error)?;
    Ok(wit::RaiseSetupPlan {
        action: match p.action {
            sub::RaiseSetupAction::Create => wit::RaiseSetupAction::Create,
            sub::RaiseSetupAction::Merge => wit::RaiseSetupAction::Merge,
        },
        request: crate::bindings::exports::virtuous::sync::types::Request {
            method: p.request.method,
            path: p.request.path,
            body: None,
        },
        body: p.body.map(|b| b.to_string()),
        webhook_id: p.webhook_id,
        change: p.change.map(|c| wit::RaiseSubscriptionChange {
            add: c.add,
            remove: c.remove,
            notification_url: c.notification_url,
            security_token: c.security_token,
            status: c.status,
        }),
        notices: p.notices,
    })
}

fn kind(k: labels::RaiseLabelDisagreementKind) -> wit::RaiseLabelDisagreementKind {
    use labels::RaiseLabelDisagreementKind as C;
    use wit::RaiseLabelDisagreementKind as W;
    match k {
        C::DifferentLabel => W::DifferentLabel,
        C::NotConfigured => W::NotConfigured,
        C::UnreadableDisplay => W::UnreadableDisplay,
        C::InconsistentDisplay => W::InconsistentDisplay,
    }
}

pub(crate) fn learn(input: wit::RaiseLearnInput) -> Result<wit::RaiseLearnedLabels, Error> {
    let configured = match &input.configured {
        Some(c) => Some(parse(c, "configured")?),
        None => None,
    };
    let v = Obj::default()
        .set("rows", rows(&input.rows)?)
        .opt("configured", configured.as_ref(), Value::clone)
        .done();
    let i: labels::RaiseLearnInput = typed(v)?;
    let out = ops::LearnRaiseEventTypes::run(&i).map_err(json::error)?;
    Ok(wit::RaiseLearnedLabels {
        learned: out
            .learned
            .into_iter()
            .map(|l| wit::RaiseLearnedType {
                code: l.code,
                display: l.display,
                label: l.label,
                rows: l.rows,
            })
            .collect(),
        disagreements: out
            .disagreements
            .into_iter()
            .map(|d| wit::RaiseLabelDisagreement {
                code: d.code,
                kind: kind(d.kind),
                configured: d.configured,
                learned: d.learned,
                display: d.display,
            })
            .collect(),
        suggested: out.suggested.into_iter().collect(),
        skipped_rows: out.skipped_rows,
    })
}

fn delivery(d: logs::RaiseFailedDelivery) -> wit::RaiseFailedDelivery {
    wit::RaiseFailedDelivery {
        webhook_id: d.webhook_id,
        context_id: d.context_id,
        event_type: d.event_type,
        event_type_display: d.event_type_display,
        attempts: d.attempts,
        failures: d.failures,
        delivered: d.delivered,
        last_status: d.last_status,
        last_response: d.last_response,
        last_attempt: d.last_attempt,
        last_attempt_ms: d.last_attempt_ms,
    }
}

pub(crate) fn summarize(input: wit::RaiseLogInput) -> Result<wit::RaiseLogSummary, Error> {
    let v = Obj::default()
        .set("rows", rows(&input.rows)?)
        .opt("maxResponseChars", input.max_response_chars.as_ref(), |m| {
            Value::from(*m)
        })
        .done();
    let i: logs::RaiseLogInput = typed(v)?;
    let s = ops::SummarizeRaiseDeliveryLogs::run(&i).map_err(json::error)?;
    Ok(wit::RaiseLogSummary {
        failed: s.failed.into_iter().map(delivery).collect(),
        recovered: s.recovered.into_iter().map(delivery).collect(),
        deliveries: s.deliveries,
        rows: s.rows,
        skipped_rows: s.skipped_rows,
    })
}
