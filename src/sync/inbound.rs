//! `decide_inbound`: what to do with one normalised Virtuous webhook event.
//!
//! **Echo rule.** The stamp (`transactionSource` / `referenceSource`) only says a record is ours —
//! who *created* it. An event is an echo only when its mapped fields equal one of our live
//! expected-echo entries (digests of what we last wrote); a staff edit to a record we created
//! therefore differs from every entry and is applied as new data, with the changed fields named.
//! A create carrying our stamp for a record whose create Transaction is pending is its
//! confirmation (the Virtuous id is captured), never a create; with no local record at all it is
//! ignored (`own-stamp-unlinked`) for reconciliation to link by external id.

use super::digest::field_digest;
use super::options::{FieldSpec, SyncOptions};
use super::reason::{DecisionInputs, Reason};
use super::record::{ConflictItem, RecordState, SyncState, Tombstone};
use super::resolve::{merge_field, FieldInput, Outcome};
use super::state::{transition, Trigger};
use super::{check_record, parse_utc_ms, refresh, SyncError};
use crate::event::{Action, Event, ResourceKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What the host should do locally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "tag",
    content = "val",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum InboundAction {
    /// Create the record locally with these values, then store `record` (set its `partnerId`).
    Create {
        /// Field name → value.
        fields: BTreeMap<String, Value>,
    },
    /// Update these fields locally.
    Apply {
        /// Field name → new value.
        fields: BTreeMap<String, Value>,
    },
    /// Our pending write is confirmed.
    Confirm {
        /// The Virtuous id (captured for a new record).
        virtuous_id: String,
        /// Fields Virtuous holds differently from what we wrote (e.g. normalised by the batch);
        /// apply them locally.
        #[serde(default)]
        apply: BTreeMap<String, Value>,
        /// The partner changed the record while the create waited: call `decideOutbound` again.
        #[serde(default)]
        follow_up: bool,
    },
    /// Do nothing: echo, stale or duplicate (see the reason).
    Skip,
    /// The contact was merged away: re-point local references to the survivor.
    Remap {
        /// The surviving contact's Virtuous id.
        survivor_id: String,
    },
    /// Delete (or unlink) the local record.
    Delete,
    /// Both sides changed fields the policy cannot settle: show the items, apply `apply`.
    Conflict {
        /// The ambiguous fields.
        items: Vec<ConflictItem>,
        /// Unambiguous Virtuous changes to apply locally meanwhile.
        #[serde(default)]
        apply: BTreeMap<String, Value>,
    },
    /// Nothing to do (see the reason).
    Ignore,
}

/// The inbound decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundDecision {
    /// What to do.
    pub action: InboundAction,
    /// Why.
    pub reason: Reason,
    /// What the decision looked at.
    pub inputs: DecisionInputs,
    /// The record state to store (absent: store nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordState>,
}

fn json_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn str_at<'a>(res: &'a Value, key: &str) -> Option<&'a str> {
    res.get(key).and_then(Value::as_str)
}

/// The (source, id) stamp the resource carries, preferring one that names us.
fn stamp(
    options: &SyncOptions,
    kind: ResourceKind,
    res: &Value,
) -> Option<(String, Option<String>)> {
    match kind {
        ResourceKind::Gift => str_at(res, "transactionSource")
            .map(|s| (s.to_string(), res.get("transactionId").and_then(json_id))),
        ResourceKind::Contact => {
            let mut found: Option<(String, Option<String>)> = str_at(res, "referenceSource")
                .map(|s| (s.to_string(), res.get("referenceId").and_then(json_id)));
            if let Some(refs) = res.get("contactReferences").and_then(Value::as_array) {
                for r in refs {
                    if let Some(s) = str_at(r, "source") {
                        let cand = (s.to_string(), r.get("id").and_then(json_id));
                        let ours = options.name_match.matches(&options.platform_name, s);
                        if ours || found.is_none() {
                            found = Some(cand);
                        }
                        if ours {
                            break;
                        }
                    }
                }
            }
            found
        }
        _ => None,
    }
}

fn remote_values(
    fields: &[FieldSpec],
    res: &Value,
) -> (BTreeMap<String, Value>, BTreeMap<String, String>) {
    let mut values = BTreeMap::new();
    let mut digests = BTreeMap::new();
    for f in fields {
        if let Some(v) = res.pointer(&f.pointer) {
            digests.insert(f.name.clone(), field_digest(v, f.field_type));
            values.insert(f.name.clone(), v.clone());
        }
    }
    (values, digests)
}

fn echo_matches(entry: &BTreeMap<String, String>, remote: &BTreeMap<String, String>) -> bool {
    let mut compared = 0usize;
    for (k, d) in remote {
        if let Some(e) = entry.get(k) {
            if e != d {
                return false;
            }
            compared += 1;
        }
    }
    compared > 0
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Start (or extend) the per-field cooldown for the fields an inbound change touched.
fn start_cooldown(
    r: &mut RecordState,
    options: &SyncOptions,
    fields: &BTreeMap<String, Value>,
    now_ms: i64,
) {
    if fields.is_empty() {
        return;
    }
    if !r.cooldown_active(now_ms) {
        r.cooldown_fields.clear();
    }
    for k in fields.keys() {
        if !r.cooldown_fields.contains(k) {
            r.cooldown_fields.push(k.clone());
        }
    }
    r.cooldown_fields.sort();
    r.cooldown_until_ms = Some(now_ms.checked_add(options.cooldown_ms).unwrap_or(i64::MAX));
}

/// Decide what one inbound event means for the local record.
///
/// `record` is the stored state the host found for the event (by Virtuous id, else by our
/// external reference), or `None`. See the module docs for the echo rule and `docs/sync.md` for
/// the full table.
pub fn decide_inbound(
    options: &SyncOptions,
    event: &Event,
    record: Option<&RecordState>,
    now_ms: i64,
) -> Result<InboundDecision, SyncError> {
    options.validate()?;
    let record = match record {
        Some(r) => Some(refresh(check_record(options, r)?, now_ms)),
        None => None,
    };
    if let (Some(ours), Some(theirs)) = (&options.organization_id, &event.organization_id) {
        if ours != theirs {
            return Err(SyncError::TenantMismatch {
                expected: ours.clone(),
                found: theirs.clone(),
            });
        }
    }
    let mut inputs = DecisionInputs {
        customer_id: options.customer_id.clone(),
        kind: event
            .event_type
            .map(|t| t.resource_kind())
            .or(event.resource_kind),
        state_before: record.as_ref().map(|r| r.state),
        event_type: event.event_type,
        known_virtuous_modified_ms: record.as_ref().and_then(|r| r.virtuous_modified_ms),
        cooldown_until_ms: record.as_ref().and_then(|r| r.cooldown_until_ms),
        cooldown_fields: record
            .as_ref()
            .map(|r| r.cooldown_fields.clone())
            .unwrap_or_default(),
        stuck: record.as_ref().is_some_and(|r| r.stuck),
        echo_entries: record.as_ref().map_or(0, |r| r.expected_echo.len()),
        now_ms,
        ..DecisionInputs::default()
    };
    let decision =
        |action, reason, inputs: &DecisionInputs, record: Option<RecordState>| InboundDecision {
            action,
            reason,
            inputs: inputs.clone(),
            record,
        };
    let Some(event_type) = event.event_type else {
        return Ok(decision(
            InboundAction::Ignore,
            Reason::UnsupportedEvent,
            &inputs,
            record,
        ));
    };
    let kind = event_type.resource_kind();
    if let Some(r) = &record {
        if r.kind != kind {
            return Err(SyncError::KindMismatch {
                expected: r.kind,
                found: kind,
            });
        }
    }
    let Some(fields) = options.fields(kind) else {
        return Ok(decision(
            InboundAction::Ignore,
            Reason::NotSynced,
            &inputs,
            record,
        ));
    };
    let resource = event.resource.as_ref().filter(|v| v.is_object());
    let resource_id = event
        .resource_id
        .clone()
        .or_else(|| resource.and_then(|r| r.get("id")).and_then(json_id));
    let Some(resource_id) = resource_id else {
        return Ok(decision(
            InboundAction::Ignore,
            Reason::UnsupportedEvent,
            &inputs,
            record,
        ));
    };
    if let Some(vid) = record.as_ref().and_then(|r| r.virtuous_id.as_ref()) {
        if *vid != resource_id {
            return Err(SyncError::RecordMismatch {
                field: "virtuousId".into(),
                expected: vid.clone(),
                found: resource_id,
            });
        }
    }
    let modified_text = event.modified_date_time_utc.clone().or_else(|| {
        resource
            .and_then(|r| str_at(r, "modifiedDateTimeUtc"))
            .map(str::to_string)
    });
    let event_ms = match modified_text {
        Some(t) => Some(parse_utc_ms(&t).map_err(|error| SyncError::BadTime {
            field: "modifiedDateTimeUtc".into(),
            error,
        })?),
        None => None,
    };
    inputs.event_modified_ms = event_ms;
    if record.as_ref().is_some_and(|r| r.tombstone.is_some()) {
        return Ok(decision(
            InboundAction::Ignore,
            Reason::Tombstoned,
            &inputs,
            record,
        ));
    }

    // Deletes.
    if event_type.action() == Action::Delete {
        let Some(r) = record else {
            return Ok(decision(
                InboundAction::Ignore,
                Reason::UnknownRecord,
                &inputs,
                None,
            ));
        };
        let mut next = transition(&r, Trigger::Removed, now_ms)?;
        next.tombstone = Some(Tombstone::Deleted);
        next.virtuous_id = Some(resource_id);
        next.virtuous_modified_ms = max_opt(next.virtuous_modified_ms, event_ms);
        return Ok(decision(
            InboundAction::Delete,
            Reason::Deleted,
            &inputs,
            Some(next),
        ));
    }
    let Some(res) = resource else {
        return Ok(decision(
            InboundAction::Ignore,
            Reason::UnsupportedEvent,
            &inputs,
            record,
        ));
    };

    // Merged-away contacts.
    if kind == ResourceKind::Contact {
        if let Some(survivor) = res.get("mergedIntoContactId").and_then(json_id) {
            if survivor != resource_id {
                let Some(r) = record else {
                    return Ok(decision(
                        InboundAction::Ignore,
                        Reason::MergedAway,
                        &inputs,
                        None,
                    ));
                };
                let mut next = transition(&r, Trigger::Removed, now_ms)?;
                next.tombstone = Some(Tombstone::MergedInto(survivor.clone()));
                next.virtuous_id = Some(resource_id);
                next.virtuous_modified_ms = max_opt(next.virtuous_modified_ms, event_ms);
                return Ok(decision(
                    InboundAction::Remap {
                        survivor_id: survivor,
                    },
                    Reason::MergedAway,
                    &inputs,
                    Some(next),
                ));
            }
        }
    }

    let stamp = stamp(options, kind, res);
    let ours = stamp
        .as_ref()
        .is_some_and(|(s, _)| options.name_match.matches(&options.platform_name, s));
    inputs.stamp = stamp.as_ref().map(|(s, _)| s.clone());
    inputs.ours = ours;
    let (values, remote) = remote_values(fields, res);

    // No local record: create, unless it is ours.
    let Some(r) = record else {
        if ours {
            return Ok(decision(
                InboundAction::Ignore,
                Reason::OwnStampUnlinked,
                &inputs,
                None,
            ));
        }
        inputs.changed_fields = values.keys().cloned().collect();
        let mut next = RecordState::new(&options.customer_id, kind);
        next.virtuous_id = Some(resource_id);
        next.virtuous_modified_ms = event_ms;
        next.base = remote;
        let mut next = transition(&next, Trigger::InboundApplied, now_ms)?;
        start_cooldown(&mut next, options, &values, now_ms);
        return Ok(decision(
            InboundAction::Create { fields: values },
            Reason::NewRecord,
            &inputs,
            Some(next),
        ));
    };

    inputs.changed_fields = remote
        .iter()
        .filter(|(k, d)| r.base.get(*k) != Some(*d))
        .map(|(k, _)| k.clone())
        .collect();

    // Conflict: hold everything, keep the items' Virtuous side current.
    if r.state == SyncState::Conflict {
        let mut next = r;
        let newer = match (event_ms, next.virtuous_modified_ms) {
            (Some(e), Some(k)) => e >= k,
            _ => true,
        };
        if newer {
            for item in &mut next.conflict {
                if let Some(v) = values.get(&item.field) {
                    item.remote_digest = remote.get(&item.field).cloned();
                    item.remote = Some(v.clone());
                    item.remote_modified_ms = event_ms.or(item.remote_modified_ms);
                }
            }
        }
        return Ok(decision(
            InboundAction::Ignore,
            Reason::InConflict,
            &inputs,
            Some(next),
        ));
    }

    // Stale: older than the newest Virtuous version we already saw.
    if let (Some(e), Some(k)) = (event_ms, r.virtuous_modified_ms) {
        if e < k {
            return Ok(decision(
                InboundAction::Skip,
                Reason::Stale,
                &inputs,
                Some(r),
            ));
        }
    }

    // Echo of one of our live writes.
    let matched = r
        .expected_echo
        .iter()
        .rposition(|e| echo_matches(&e.fields, &remote));
    if let Some(i) = matched {
        let newest = i + 1 == r.expected_echo.len();
        let mut next = r.clone();
        let mut base = next
            .expected_echo
            .get(i)
            .map(|e| e.fields.clone())
            .unwrap_or_default();
        base.extend(remote.clone());
        next.base = base;
        next.expected_echo.drain(..=i);
        next.virtuous_modified_ms = max_opt(next.virtuous_modified_ms, event_ms);
        let first_link = next.virtuous_id.is_none();
        next.virtuous_id = Some(resource_id.clone());
        if next.state == SyncState::PartnerPending && newest {
            let follow_up = next.follow_up;
            next.follow_up = false;
            let next = transition(&next, Trigger::Confirmed, now_ms)?;
            let _ = first_link;
            return Ok(decision(
                InboundAction::Confirm {
                    virtuous_id: resource_id,
                    apply: BTreeMap::new(),
                    follow_up,
                },
                Reason::Confirmed,
                &inputs,
                Some(next),
            ));
        }
        return Ok(decision(
            InboundAction::Skip,
            Reason::Echo,
            &inputs,
            Some(next),
        ));
    }

    // The create-echo of our pending Transaction whose content Virtuous changed: still a
    // confirmation (never a create); the differences are merged as Virtuous changes against
    // what we wrote.
    let ext_matches = match (
        &r.external_ref,
        stamp.as_ref().and_then(|(_, id)| id.as_ref()),
    ) {
        (Some(x), Some(id)) => x.id == *id,
        (None, _) => true,
        (Some(_), None) => false,
    };
    let confirming_create =
        r.state == SyncState::PartnerPending && r.virtuous_id.is_none() && ours && ext_matches;

    let mut next = r.clone();
    let (base, local) = if confirming_create {
        let written = r
            .expected_echo
            .last()
            .map(|e| e.fields.clone())
            .unwrap_or_else(|| r.base.clone());
        (written.clone(), written)
    } else if r.state == SyncState::PartnerPending {
        let local = r
            .expected_echo
            .last()
            .map(|e| e.fields.clone())
            .unwrap_or_else(|| r.base.clone());
        (r.base.clone(), local)
    } else {
        (r.base.clone(), r.base.clone())
    };
    let mut apply = BTreeMap::new();
    let mut items = Vec::new();
    let mut owned_only = false;
    for f in fields {
        let rd = remote.get(&f.name);
        let (outcome, reason) = merge_field(&FieldInput {
            policy: options.policy.for_field(kind, &f.name),
            base: base.get(&f.name).map(String::as_str),
            local: local.get(&f.name).map(String::as_str),
            remote: rd.map(String::as_str),
            local_ms: r.partner_modified_ms,
            remote_ms: event_ms,
            skew_ms: options.policy.skew_window_ms,
        });
        match outcome {
            Outcome::TakeRemote => {
                if let (Some(v), Some(d)) = (values.get(&f.name), rd) {
                    if local.get(&f.name) != Some(d) {
                        apply.insert(f.name.clone(), v.clone());
                    }
                    next.base.insert(f.name.clone(), d.clone());
                }
            }
            Outcome::Same => {
                if let Some(d) = rd {
                    next.base.insert(f.name.clone(), d.clone());
                }
            }
            Outcome::KeepLocal => {
                if reason == Reason::OwnedByOther {
                    owned_only = true;
                }
                if confirming_create {
                    if let Some(d) = local.get(&f.name) {
                        next.base.insert(f.name.clone(), d.clone());
                    }
                }
            }
            Outcome::Unchanged => {
                if let Some(d) = rd {
                    next.base.insert(f.name.clone(), d.clone());
                }
            }
            Outcome::Conflict(proposed) => items.push(ConflictItem {
                field: f.name.clone(),
                base: base.get(&f.name).cloned(),
                local: None,
                local_digest: local.get(&f.name).cloned(),
                remote: values.get(&f.name).cloned(),
                remote_digest: rd.cloned(),
                local_modified_ms: r.partner_modified_ms,
                remote_modified_ms: event_ms,
                policy: options.policy.for_field(kind, &f.name),
                proposed,
            }),
        }
    }
    next.virtuous_modified_ms = max_opt(next.virtuous_modified_ms, event_ms);
    next.virtuous_id = Some(resource_id.clone());

    if confirming_create {
        let follow_up = next.follow_up;
        next.follow_up = false;
        next.expected_echo.clear();
        let mut next = transition(&next, Trigger::Confirmed, now_ms)?;
        if !apply.is_empty() {
            next = transition(&next, Trigger::InboundApplied, now_ms)?;
            start_cooldown(&mut next, options, &apply, now_ms);
        }
        // Fields still ambiguous after confirmation: Virtuous's value is applied (it changed
        // what we wrote, nobody else has edited the new record yet).
        for item in items {
            if let (Some(v), Some(d)) = (item.remote, item.remote_digest) {
                next.base.insert(item.field.clone(), d);
                apply.insert(item.field, v);
            }
        }
        return Ok(decision(
            InboundAction::Confirm {
                virtuous_id: resource_id,
                apply,
                follow_up,
            },
            Reason::Confirmed,
            &inputs,
            Some(next),
        ));
    }
    if !items.is_empty() {
        let mut next = transition(&next, Trigger::Ambiguous, now_ms)?;
        next.conflict = items.clone();
        start_cooldown(&mut next, options, &apply, now_ms);
        return Ok(decision(
            InboundAction::Conflict { items, apply },
            Reason::BothChanged,
            &inputs,
            Some(next),
        ));
    }
    if !apply.is_empty() {
        let mut next = transition(&next, Trigger::InboundApplied, now_ms)?;
        start_cooldown(&mut next, options, &apply, now_ms);
        return Ok(decision(
            InboundAction::Apply { fields: apply },
            Reason::RemoteChanged,
            &inputs,
            Some(next),
        ));
    }
    let reason = if owned_only {
        Reason::OwnedByOther
    } else {
        Reason::NoChange
    };
    let action = if owned_only {
        InboundAction::Ignore
    } else {
        InboundAction::Skip
    };
    Ok(decision(action, reason, &inputs, Some(next)))
}
