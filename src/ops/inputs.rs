//! The typed inputs of the operations whose arguments the npm package takes one by one (the
//! planners take their own modules' input types as they are).

use super::OpError;
use crate::event::Event;
use crate::reconcile::cursor::QueryCursor;
use crate::reconcile::subscription::SubscriptionChange;
use crate::sync::{Choice, PartnerChange, RecordState, ResolveInput, Trigger};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The input object, or `invalid-argument` saying it must be one.
pub(super) fn object(value: &Value) -> Result<&Map<String, Value>, OpError> {
    value
        .as_object()
        .ok_or_else(|| OpError::invalid_argument("", "the input must be an object"))
}

/// Reads an input object of named arguments: an unknown key is refused naming it, a missing
/// `nowMs` is refused saying what it is, an absent required argument is refused naming it (read
/// as `null`), and the `options` of a free sync decision are skipped (read before, by the caller).
pub(super) fn read_fields<T: DeserializeOwned>(value: &Value, keys: &[&str]) -> Result<T, OpError> {
    let obj = object(value)?;
    for k in obj.keys() {
        if !keys.contains(&k.as_str()) {
            return Err(OpError::invalid_argument(
                k.clone(),
                format!("unknown input field; expected one of: {}", keys.join(", ")),
            ));
        }
    }
    if keys.contains(&"nowMs") && !obj.contains_key("nowMs") {
        return Err(OpError::invalid_argument(
            "nowMs",
            "missing: the host's clock, ms since the epoch",
        ));
    }
    let mut fields = Map::new();
    for k in keys.iter().filter(|k| **k != "options") {
        let v = obj.get(*k).cloned().unwrap_or(Value::Null);
        fields.insert((*k).to_owned(), v);
    }
    super::input(&Value::Object(fields), "")
}

/// `lookupKeys`: the event whose stored record is looked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LookupKeysInput {
    /// The normalised event.
    pub event: Event,
}

/// `decideInbound`: one Virtuous event against the stored record state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecideInboundInput {
    /// The normalised event.
    pub event: Event,
    /// The stored record state, if any (older versions are migrated).
    #[serde(default)]
    pub record: Option<RecordState>,
    /// The host's clock, ms since the epoch.
    pub now_ms: i64,
}

/// `decideOutbound`: one partner-side change against the stored record state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecideOutboundInput {
    /// The stored record state, if any.
    #[serde(default)]
    pub record: Option<RecordState>,
    /// The partner's change.
    pub change: PartnerChange,
    /// The host's clock, ms since the epoch.
    pub now_ms: i64,
}

/// `resolve`: the three-way merge of one record's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResolveOpInput {
    /// Base, local and remote values.
    pub input: ResolveInput,
}

/// `transition`: one trigger applied to a stored record state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransitionInput {
    /// The stored record state (required).
    #[serde(default)]
    pub record: Option<RecordState>,
    /// The trigger.
    pub trigger: Trigger,
    /// The host's clock, ms since the epoch.
    pub now_ms: i64,
}

/// `resolveConflict`: a person's choices for a record in conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResolveConflictInput {
    /// The stored record state (required).
    #[serde(default)]
    pub record: Option<RecordState>,
    /// Each conflicting field's chosen side or value.
    pub choices: BTreeMap<String, Choice>,
    /// The host's clock, ms since the epoch.
    pub now_ms: i64,
}

/// `mergeSubscription`: the GET body of a webhook subscription and the change to make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MergeSubscriptionInput {
    /// The GET body.
    pub current: Value,
    /// The change.
    #[serde(default)]
    pub change: SubscriptionChange,
}

/// `planPause`: the webhook to pause, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PauseInput {
    /// The webhook id.
    pub webhook_id: String,
    /// Now (the pause time).
    pub now_ms: i64,
}

/// `planResume`: the webhook to resume, the pause time and the stored cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResumeInput {
    /// The webhook id.
    pub webhook_id: String,
    /// When the customer was paused.
    pub paused_at_ms: i64,
    /// The stored query cursor, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_cursor: Option<QueryCursor>,
}

/// `parseModifiedTime`: the date-time text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParseTimeInput {
    /// The date-time text.
    pub text: String,
}
