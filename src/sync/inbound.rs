//! `decide_inbound`: what to do with one normalised Virtuous webhook event.
//!
//! **Echo rule.** The stamp (`transactionSource` / `referenceSource`) only says a record is ours —
//! who *created* it. An event is an echo only when its mapped fields equal one of our live
//! expected-echo entries (digests of what we last wrote); a staff edit to a record we created
//! therefore differs from every entry and is applied as new data, with the changed fields named.
//! A create carrying our stamp for a record whose create Transaction is pending is its
//! confirmation (the Virtuous id is captured), never a create; with no local record at all it is
//! ignored (`own-stamp-unlinked`) for reconciliation to link by external id.

use super::digest::spec_digest;
use super::options::{FieldSpec, SyncOptions, UndatedEvents, UnstampedCreates};
use super::outbound::Request;
use super::payload::read_field;
use super::reason::{DecisionInputs, Reason};
use super::record::{ConflictItem, RecordState, Side, SyncState, Tombstone};
use super::resolve::{merge_field, FieldInput, Outcome};
use super::state::{transition, Trigger};
use super::units::{composite, consistent, group_list, remote_composite, touches};
use super::{check_record, parse_utc_ms, refresh, SyncError};
use crate::event::{Action, Event, ResourceKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What the host should do locally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// The event cannot be ordered (no `modifiedDateTimeUtc`, reason `undated`): fetch the
    /// record (`GET`, no body) and call `decideInbound` again with the same event whose `resource`
    /// is the fetched body (its `modifiedDateTimeUtc` is read from there). No state changed.
    Fetch(Request),
    /// A create (or an update for a record not found) with no stamp field at all (reason
    /// `unstamped-create`) may be the batch's record of a create of ours. Fetch `lookup` (its REST
    /// shape carries the stamp fields) and decide the event again with the fetched body as
    /// `resource`: the stamp, never the values, tells which record it is (identical gifts are
    /// common). `digests` are the event's mapped values (for logs). No state changed.
    Verify {
        /// `GET /api/Gift/{id}` or `GET /api/Contact/{id}`.
        lookup: Request,
        /// Field name → digest of the event's mapped values (what a pending create expects).
        digests: BTreeMap<String, String>,
    },
}

/// The inbound decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
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
    /// Fields Virtuous changed where the partner value wins (the partner owns the field, or its
    /// edit is the later one): call `decideOutbound`, which writes the partner value back (their
    /// base now records the Virtuous value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub reassert_fields: Vec<String>,
}

pub(crate) fn json_id(v: &Value) -> Option<String> {
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
pub(crate) fn stamp(
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
        if let Some(v) = read_field(f, res) {
            digests.insert(f.name.clone(), spec_digest(v, f));
            // A day is handed to the partner as `YYYY-MM-DD`, whichever form Virtuous sent.
            let day = (f.field_type == super::options::FieldType::Date)
                .then(|| v.as_str().and_then(super::digest::calendar_day))
                .flatten();
            values.insert(f.name.clone(), day.map_or_else(|| v.clone(), Value::String));
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

/// Whether the event shows our newest unconfirmed write landed: every field it sent reads back
/// as sent. (`decide_outbound` never writes a value Virtuous may still show from before an older
/// pending write of ours, so this is no coincidence of our own making.) A snapshot no newer than
/// the Virtuous state known when we decided the write (`afterMs`), or older than the write by more
/// than the clock-skew window, cannot show it: an undo can put back a value from Virtuous's
/// history.
fn newest_lands(
    options: &SyncOptions,
    r: &RecordState,
    remote: &BTreeMap<String, String>,
    event_ms: Option<i64>,
) -> bool {
    r.state == SyncState::PartnerPending && newest_entry_lands(options, r, remote, event_ms)
}

/// [`newest_lands`] in any state (a record in `conflict` still has writes in flight).
fn newest_entry_lands(
    options: &SyncOptions,
    r: &RecordState,
    remote: &BTreeMap<String, String>,
    event_ms: Option<i64>,
) -> bool {
    r.expected_echo.last().is_some_and(|e| {
        !e.confirmed
            && event_ms.is_none_or(|t| {
                e.after_ms.is_none_or(|a| t > a)
                    && t.saturating_add(options.policy.skew_window_ms) >= e.written_ms
            })
            && e.fields
                .iter()
                .filter(|(k, _)| e.sent_field(k))
                .all(|(k, d)| remote.get(k) == Some(d))
    })
}

/// Whether a write of ours newer than the one that sent `digest` for `field` also carries the
/// field and is still pending (its value is on its way, so Virtuous showing `digest` is not final).
fn newer_carries(r: &RecordState, field: &str, digest: &str) -> bool {
    r.expected_echo
        .iter()
        .rposition(|e| {
            e.sent_field(field) && e.fields.get(field).map(String::as_str) == Some(digest)
        })
        .is_some_and(|i| {
            r.expected_echo
                .iter()
                .skip(i + 1)
                .any(|e| !e.confirmed && e.sent_field(field))
        })
}

/// Virtuous shows `digest`, a value one of our writes sent for `field`: the base moves to it. If
/// no newer write of ours carries the field (`newer`, see [`newer_carries`]), Virtuous's order
/// makes ours the current value, and a
/// Virtuous value we had applied over it meanwhile (`overridden`) is replaced on the partner side
/// (unless the partner holds back an edit of its own).
fn settle_our_value(
    next: &mut RecordState,
    newer: bool,
    held: bool,
    field: &str,
    digest: &str,
    value: Option<&Value>,
    apply: &mut BTreeMap<String, Value>,
) {
    if !newer {
        if let Some(holds) = next.overridden.remove(field) {
            if holds != digest && !held {
                if let Some(v) = value {
                    apply.insert(field.to_string(), v.clone());
                }
            }
        }
    }
    next.base.insert(field.to_string(), digest.to_string());
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// At confirmation: fields where a Virtuous change was applied locally over our pending write,
/// and our write then landed after it. Virtuous's own order says our write is the newer one, and
/// the event is Virtuous's current state, so the partner takes it back (no stale value is
/// re-asserted). Returns the values to apply locally; the base records them.
fn take_overridden(
    r: &mut RecordState,
    remote: &BTreeMap<String, String>,
    values: &BTreeMap<String, Value>,
) -> BTreeMap<String, Value> {
    let fields = std::mem::take(&mut r.overridden);
    let mut apply = BTreeMap::new();
    for (f, partner_holds) in fields {
        if let (Some(d), Some(v)) = (remote.get(&f), values.get(&f)) {
            if *d != partner_holds && !r.held.contains_key(&f) {
                apply.insert(f.clone(), v.clone());
            }
            r.base.insert(f, d.clone());
        }
    }
    apply
}

/// Start (or extend) the per-field cooldown for the fields an inbound change touched.
/// Our pending write landed: `partner_pending -> in_sync`, then `-> virtuous_pending` with a
/// cooldown when the same event also carries Virtuous changes to apply.
fn confirm(
    mut next: RecordState,
    options: &SyncOptions,
    apply: BTreeMap<String, Value>,
    follow_up: bool,
    virtuous_id: String,
    now_ms: i64,
) -> Result<(InboundAction, RecordState), SyncError> {
    next.follow_up = false;
    let mut next = transition(&next, Trigger::Confirmed, now_ms)?;
    if !apply.is_empty() {
        next = transition(&next, Trigger::InboundApplied, now_ms)?;
        start_cooldown(&mut next, options, &apply, now_ms);
    }
    let action = InboundAction::Confirm {
        virtuous_id,
        apply,
        follow_up,
    };
    Ok((action, next))
}

fn start_cooldown(
    r: &mut RecordState,
    options: &SyncOptions,
    fields: &BTreeMap<String, Value>,
    now_ms: i64,
) {
    if fields.is_empty() {
        return;
    }
    // The partner now holds the applied values (a field group is applied and cooled as one unit).
    let touched: Vec<String> = fields.keys().cloned().collect();
    let touched = super::units::widen(&options.units(r.kind), &touched);
    for k in &touched {
        r.held.remove(k);
    }
    if !r.cooldown_active(now_ms) {
        r.cooldown_fields.clear();
    }
    for k in &touched {
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
    decide(options, event, record, now_ms, false)
}

/// [`decide_inbound`] for a record the host just fetched (its values are Virtuous's current
/// state, so an undated one is decided rather than fetched again).
pub(crate) fn decide_fetched(
    options: &SyncOptions,
    event: &Event,
    record: Option<&RecordState>,
    now_ms: i64,
) -> Result<InboundDecision, SyncError> {
    decide(options, event, record, now_ms, true)
}

/// Whether the resource carries none of the kind's stamp fields (absent, not null).
fn unstamped(kind: ResourceKind, res: &Value) -> bool {
    let keys: &[&str] = match kind {
        ResourceKind::Gift => &["transactionSource", "transactionId"],
        _ => &["referenceSource", "referenceId", "contactReferences"],
    };
    keys.iter().all(|k| res.get(k).is_none())
}

fn lookup_request(kind: ResourceKind, id: &str) -> Request {
    let path = match kind {
        ResourceKind::Gift => format!("/api/Gift/{id}"),
        _ => format!("/api/Contact/{id}"),
    };
    Request {
        method: "GET".into(),
        path,
        body: Value::Null,
    }
}

fn decide(
    options: &SyncOptions,
    event: &Event,
    record: Option<&RecordState>,
    now_ms: i64,
    fetched: bool,
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
        event_type: event.event_type,
        ..DecisionInputs::from_record(record.as_ref(), now_ms)
    };
    let decision =
        |action, reason, inputs: &DecisionInputs, record: Option<RecordState>| InboundDecision {
            action,
            reason,
            inputs: inputs.clone(),
            record,
            reassert_fields: Vec::new(),
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

    // Deletes and merges: the record is tombstoned (also when we never had it, so an older,
    // reordered event never creates or resurrects it).
    let tombstoned = |record: Option<RecordState>, resource_id: String, tombstone| {
        let mut next = match record {
            Some(r) => transition(&r, Trigger::Removed, now_ms)?,
            None => RecordState::new(&options.customer_id, kind),
        };
        next.tombstone = Some(tombstone);
        next.virtuous_id = Some(resource_id);
        next.virtuous_modified_ms = max_opt(next.virtuous_modified_ms, event_ms);
        Ok::<_, SyncError>(Some(next))
    };
    if event_type.action() == Action::Delete {
        let (action, reason) = match record {
            Some(_) => (InboundAction::Delete, Reason::Deleted),
            None => (InboundAction::Ignore, Reason::UnknownRecord),
        };
        let next = tombstoned(record, resource_id, Tombstone::Deleted)?;
        return Ok(decision(action, reason, &inputs, next));
    }
    let Some(res) = resource else {
        return Ok(decision(
            InboundAction::Ignore,
            Reason::UnsupportedEvent,
            &inputs,
            record,
        ));
    };
    if kind == ResourceKind::Contact {
        if let Some(survivor) = res.get("mergedIntoContactId").and_then(json_id) {
            if survivor != resource_id {
                if record.is_none()
                    && unstamped(kind, res)
                    && options.unstamped_creates == UnstampedCreates::Verify
                {
                    // Merged away before we saw it: without a stamp it may be the batch's record
                    // of a create of ours, which must learn of the merge (the lookup carries the
                    // stamp).
                    let (_, digests) = remote_values(fields, res);
                    return Ok(decision(
                        InboundAction::Verify {
                            lookup: lookup_request(kind, &resource_id),
                            digests,
                        },
                        Reason::UnstampedCreate,
                        &inputs,
                        None,
                    ));
                }
                // Nothing local to remap without a record; the tombstone is still stored.
                let action = match record {
                    Some(_) => InboundAction::Remap {
                        survivor_id: survivor.clone(),
                    },
                    None => InboundAction::Ignore,
                };
                let next = tombstoned(record, resource_id, Tombstone::MergedInto(survivor))?;
                return Ok(decision(action, Reason::MergedAway, &inputs, next));
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

    // A create (or an update overtaking its create) without any stamp field may be the batch's
    // record of a create of ours.
    let may_be_ours = unstamped(kind, res);
    let verify = |inputs: &DecisionInputs| {
        decision(
            InboundAction::Verify {
                lookup: lookup_request(kind, &resource_id),
                digests: remote.clone(),
            },
            Reason::UnstampedCreate,
            inputs,
            None,
        )
    };

    // No local record: create, unless it is ours (or may be: no stamp field at all).
    let Some(r) = record else {
        if ours {
            return Ok(decision(
                InboundAction::Ignore,
                Reason::OwnStampUnlinked,
                &inputs,
                None,
            ));
        }
        if may_be_ours && options.unstamped_creates == UnstampedCreates::Verify {
            return Ok(verify(&inputs));
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
    // Handed a record without a Virtuous id (a pending create of ours) for an event without any
    // stamp: only the stamp can tell whether it is that create. Values never do: two pending
    // creates, or a staff record, can show exactly the values a create of ours sent.
    if r.virtuous_id.is_none()
        && may_be_ours
        && options.unstamped_creates == UnstampedCreates::Verify
    {
        return Ok(verify(&inputs));
    }
    // An undated event cannot be ordered against what we know: a reordered older delivery would
    // put old values back, and one showing exactly what the state holds may be the newest version
    // (Virtuous changing a field and back, A-B-A, with the B's dated delivery still to come: the
    // undated A would leave no trace, and the B would then be applied over it). Decide the record
    // as fetched instead: its `modifiedDateTimeUtc` orders everything delivered later.
    if event_ms.is_none() && !fetched && options.undated_events == UndatedEvents::Fetch {
        let id = r.virtuous_id.clone().unwrap_or_else(|| resource_id.clone());
        return Ok(decision(
            InboundAction::Fetch(lookup_request(kind, &id)),
            Reason::Undated,
            &inputs,
            None,
        ));
    }

    // Conflict: hold everything, keep the items' Virtuous side current.
    if r.state == SyncState::Conflict {
        let (action, next) =
            decide_in_conflict(options, kind, fields, r, &remote, &values, event_ms);
        return Ok(decision(action, Reason::InConflict, &inputs, Some(next)));
    }

    // Stale: older than the newest Virtuous version we already saw.
    if let (Some(e), Some(k)) = (event_ms, r.virtuous_modified_ms) {
        // Same timestamp: with our writes in play, two versions within one clock tick cannot be
        // ordered; treat the event as not newer (a same-tick staff edit is left to reconciliation).
        if e < k || (e == k && !r.expected_echo.is_empty()) {
            // A late echo of our newest pending write: it landed before (or in the same tick as)
            // the state we already know; confirm it. Only a same-tick one moves the base.
            if newest_lands(options, &r, &remote, event_ms) {
                let mut next = r.clone();
                // Virtuous moved past our write: if it now holds something else for a field we
                // wrote (a newer Virtuous change, or a partner-owned field awaiting
                // re-assertion), let the host re-check the partner side.
                let follow_up = next.follow_up
                    || (e < k
                        && r.expected_echo.last().is_some_and(|en| {
                            en.fields
                                .iter()
                                .any(|(f, d)| en.sent_field(f) && r.base.get(f) != Some(d))
                        }));
                let mut apply = BTreeMap::new();
                if e == k {
                    if let Some(en) = r.expected_echo.last() {
                        for (f, d) in &en.fields {
                            if en.sent_field(f) {
                                next.base.insert(f.clone(), d.clone());
                            }
                        }
                    }
                    apply = take_overridden(&mut next, &remote, &values);
                }
                for en in &mut next.expected_echo {
                    en.confirmed = true;
                }
                next.overridden.clear();
                let (action, next) = confirm(next, options, apply, follow_up, resource_id, now_ms)?;
                return Ok(decision(action, Reason::Confirmed, &inputs, Some(next)));
            }
            return Ok(decision(
                InboundAction::Skip,
                Reason::Stale,
                &inputs,
                Some(r),
            ));
        }
    }

    let newest_landed = newest_lands(options, &r, &remote, event_ms);
    // Echo of one of our live writes. An older entry that matches while our newest write reads
    // back as landed is a coincidence (e.g. the newest restored a value the older one had): the
    // event shows the newest write, and older writes can no longer land after it (one outbox
    // entry per record), so it is merged below and confirms them all. The newest entry matching
    // without showing it landed (see `newest_lands`) is merged too, and confirms nothing.
    // An entry's unsent fields are the base when the write was decided. A dated event newer than
    // everything known that shows one of them while the base has moved on (a Virtuous change was
    // applied since) is Virtuous changing that field back, not only our write: merged below.
    let explained = |e: &super::record::EchoEntry| {
        event_ms.is_none()
            || e.fields
                .iter()
                .filter(|(k, _)| !e.sent_field(k))
                .all(|(k, d)| remote.get(k) != Some(d) || r.base.get(k) == Some(d))
    };
    let matched = r
        .expected_echo
        .iter()
        .rposition(|e| {
            (!e.confirmed || event_ms.is_none()) && echo_matches(&e.fields, &remote) && explained(e)
        })
        .filter(|&i| {
            let newest = i + 1 == r.expected_echo.len();
            r.expected_echo.get(i).is_some_and(|e| e.confirmed) || newest == newest_landed
        });
    if let Some(i) = matched {
        let mut next = r.clone();
        next.virtuous_modified_ms = max_opt(next.virtuous_modified_ms, event_ms);
        let superseded = next.expected_echo.iter().skip(i).any(|e| e.confirmed);
        if superseded {
            // A late or duplicate delivery of a write already confirmed (or overtaken by a
            // confirmed newer one): the base already reflects it.
            return Ok(decision(
                InboundAction::Skip,
                Reason::Echo,
                &inputs,
                Some(next),
            ));
        }
        let newest = i + 1 == next.expected_echo.len();
        let mut base = next
            .expected_echo
            .get(i)
            .map(|e| e.fields.clone())
            .unwrap_or_default();
        base.extend(remote.clone());
        next.base = base;
        for e in next.expected_echo.iter_mut().take(i + 1) {
            e.confirmed = true;
        }
        next.virtuous_id = Some(resource_id.clone());
        let mut apply = take_overridden(&mut next, &remote, &values);
        // Fields a newer in-flight write of ours carries: the partner's newer value is on its
        // way to Virtuous; do not pull the older one back.
        let newer_sent: Vec<String> = r
            .expected_echo
            .iter()
            .skip(i + 1)
            .flat_map(|e| {
                e.fields
                    .keys()
                    .filter(|f| e.sent_field(f))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect();
        apply.retain(|f, _| !newer_sent.contains(f));
        for f in &newer_sent {
            if let Some(d) = r.overridden.get(f) {
                next.overridden.insert(f.clone(), d.clone());
            }
        }
        if !newest && !apply.is_empty() {
            // An older write of ours landed over a Virtuous change we had applied: Virtuous now
            // holds our older value; mirror it (a newer write is still pending).
            let mut next = transition(&next, Trigger::InboundApplied, now_ms)?;
            start_cooldown(&mut next, options, &apply, now_ms);
            return Ok(decision(
                InboundAction::Apply { fields: apply },
                Reason::RemoteChanged,
                &inputs,
                Some(next),
            ));
        }
        if next.state == SyncState::PartnerPending && newest {
            let follow_up = next.follow_up;
            let (action, next) = confirm(next, options, apply, follow_up, resource_id, now_ms)?;
            return Ok(decision(action, Reason::Confirmed, &inputs, Some(next)));
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
    let (base, mut local) = if confirming_create {
        let written = r
            .expected_echo
            .last()
            .map(|e| e.fields.clone())
            .unwrap_or_else(|| r.base.clone());
        (written.clone(), written)
    } else if r.state == SyncState::PartnerPending {
        // The partner's current values: the base, overlaid with what our in-flight writes sent
        // (newest last), then with Virtuous values applied over them since.
        let mut local = r.base.clone();
        for e in r.expected_echo.iter().filter(|e| !e.confirmed) {
            for (k, d) in &e.fields {
                if e.sent_field(k) {
                    local.insert(k.clone(), d.clone());
                }
            }
        }
        for (k, d) in &r.overridden {
            local.insert(k.clone(), d.clone());
        }
        (r.base.clone(), local)
    } else {
        (r.base.clone(), r.base.clone())
    };
    // Held-back partner values are the partner's real current values.
    for (k, d) in &r.held {
        local.insert(k.clone(), d.clone());
    }
    let mut apply = BTreeMap::new();
    let mut items = Vec::new();
    let mut owned_only = false;
    let mut reassert: Vec<String> = Vec::new();
    let unconfirmed: Vec<&super::record::EchoEntry> = if confirming_create {
        Vec::new()
    } else {
        r.expected_echo.iter().filter(|e| !e.confirmed).collect()
    };
    // Confirmed writes still count as ours only for an undated event: a dated one newer than
    // everything known that equals an old write is Virtuous changing back (a revert).
    let ours_writes: Vec<&super::record::EchoEntry> = if confirming_create {
        Vec::new()
    } else {
        r.expected_echo
            .iter()
            .filter(|e| !e.confirmed || event_ms.is_none())
            .collect()
    };
    for unit in options.units(kind) {
        merge_unit(
            &UnitCtx {
                options,
                kind,
                specs: fields,
                r: &r,
                base: &base,
                local: &local,
                remote: &remote,
                values: &values,
                ours_writes: &ours_writes,
                unconfirmed: &unconfirmed,
                event_ms,
                confirming_create,
            },
            &unit,
            &mut UnitOut {
                next: &mut next,
                apply: &mut apply,
                items: &mut items,
                reassert: &mut reassert,
                owned_only: &mut owned_only,
            },
        );
    }
    next.virtuous_modified_ms = max_opt(next.virtuous_modified_ms, event_ms);
    next.virtuous_id = Some(resource_id.clone());
    // Virtuous moved on past our confirmed writes: a later event equal to one of them is a
    // staff edit (e.g. a revert), not an echo.
    if !apply.is_empty() || !items.is_empty() {
        next.expected_echo.retain(|e| !e.confirmed);
    }

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
        let mut d = decision(
            InboundAction::Confirm {
                virtuous_id: resource_id,
                apply,
                follow_up,
            },
            Reason::Confirmed,
            &inputs,
            Some(next),
        );
        d.reassert_fields = reassert;
        return Ok(d);
    }
    // Our newest in-flight write landed alongside other Virtuous changes: confirm it, then apply
    // the rest.
    if newest_landed && items.is_empty() {
        if let Some(e) = unconfirmed.last() {
            for (k, d) in &e.fields {
                if e.sent_field(k) {
                    next.base.insert(k.clone(), d.clone());
                }
            }
        }
        if !apply.is_empty() {
            next.expected_echo.retain(|e| !e.confirmed);
        }
        for e in &mut next.expected_echo {
            e.confirmed = true;
        }
        let mut apply = apply;
        apply.extend(take_overridden(&mut next, &remote, &values));
        let follow_up = next.follow_up;
        let (action, next) = confirm(next, options, apply, follow_up, resource_id, now_ms)?;
        let mut d = decision(action, Reason::Confirmed, &inputs, Some(next));
        d.reassert_fields = reassert;
        return Ok(d);
    }
    if !items.is_empty() {
        let mut next = transition(&next, Trigger::Ambiguous, now_ms)?;
        next.conflict = items.clone();
        start_cooldown(&mut next, options, &apply, now_ms);
        let mut d = decision(
            InboundAction::Conflict { items, apply },
            Reason::BothChanged,
            &inputs,
            Some(next),
        );
        d.reassert_fields = reassert;
        return Ok(d);
    }
    if !apply.is_empty() {
        let mut next = transition(&next, Trigger::InboundApplied, now_ms)?;
        start_cooldown(&mut next, options, &apply, now_ms);
        let mut d = decision(
            InboundAction::Apply { fields: apply },
            Reason::RemoteChanged,
            &inputs,
            Some(next),
        );
        d.reassert_fields = reassert;
        return Ok(d);
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
    let mut d = decision(action, reason, &inputs, Some(next));
    d.reassert_fields = reassert;
    Ok(d)
}

/// What [`merge_unit`] reads: the event, the record before it and the three sides' digests.
struct UnitCtx<'a> {
    options: &'a SyncOptions,
    kind: ResourceKind,
    specs: &'a [FieldSpec],
    r: &'a RecordState,
    base: &'a BTreeMap<String, String>,
    local: &'a BTreeMap<String, String>,
    remote: &'a BTreeMap<String, String>,
    values: &'a BTreeMap<String, Value>,
    ours_writes: &'a [&'a super::record::EchoEntry],
    unconfirmed: &'a [&'a super::record::EchoEntry],
    event_ms: Option<i64>,
    confirming_create: bool,
}

/// What [`merge_unit`] decides into.
struct UnitOut<'a> {
    next: &'a mut RecordState,
    apply: &'a mut BTreeMap<String, Value>,
    items: &'a mut Vec<ConflictItem>,
    reassert: &'a mut Vec<String>,
    owned_only: &'a mut bool,
}

/// Whether one of our writes explains the event's values of the unit: it sent a member, and every
/// member the event carries reads as that write left it.
fn unit_is_ours(c: &UnitCtx<'_>, unit: &[String]) -> bool {
    let present: Vec<&String> = unit.iter().filter(|m| c.remote.contains_key(*m)).collect();
    !present.is_empty()
        && c.ours_writes.iter().any(|e| {
            unit.iter().any(|m| e.sent_field(m))
                && present.iter().all(|m| e.fields.get(*m) == c.remote.get(*m))
        })
}

/// Merge one unit (a field, or a field group as one value) of a non-echo event: three-way against
/// the base with the partner side `local`, under the unit's policy. A group is taken from
/// Virtuous only whole and only when its values pass outbound validation together; otherwise
/// (the event lacks a member, or carries an inconsistent pair) it becomes conflict items, so the
/// partner is never handed a record it could not write back.
fn merge_unit(c: &UnitCtx<'_>, unit: &[String], out: &mut UnitOut<'_>) {
    let group = unit.len() > 1;
    let present: Vec<(&String, &String)> = unit
        .iter()
        .filter_map(|m| c.remote.get(m).map(|d| (m, d)))
        .collect();
    // Values one of our in-flight writes sent are ours, not a Virtuous change: the event is a
    // snapshot taken after that write landed (a newer write of ours may still follow).
    if unit_is_ours(c, unit) {
        let held = touches(&out.next.held, unit);
        let before = out.apply.len();
        for (m, d) in &present {
            let newer = newer_carries(out.next, m, d);
            settle_our_value(out.next, newer, held, m, d, c.values.get(*m), out.apply);
        }
        if out.apply.len() != before {
            complete_unit(out.apply, unit, c.values);
        }
        return;
    }
    let (remote_c, partial) = remote_composite(c.remote, c.base, unit);
    if group && partial {
        // The event lacks a member (absent is unknown, not empty): Virtuous's group cannot be
        // read whole, so it is left as it is; a full read (reconciliation) settles it.
        return;
    }
    let policy = c
        .options
        .policy
        .for_field(c.kind, unit.first().map_or("", String::as_str));
    let base_c = composite(c.base, unit);
    let local_c = composite(c.local, unit);
    let (outcome, reason) = merge_field(&FieldInput {
        policy,
        base: base_c.as_deref(),
        local: local_c.as_deref(),
        remote: remote_c.as_deref(),
        local_ms: c.r.partner_unit_ms(unit),
        remote_ms: c.event_ms,
        skew_ms: c.options.policy.skew_window_ms,
    });
    let to_items = |out: &mut UnitOut<'_>, proposed: Side| {
        for m in unit {
            out.items.push(ConflictItem {
                field: m.clone(),
                base: c.base.get(m).cloned(),
                local: None,
                local_digest: c.local.get(m).cloned(),
                remote: c.values.get(m).cloned(),
                remote_digest: c.remote.get(m).cloned(),
                local_modified_ms: c.r.partner_unit_ms(unit),
                remote_modified_ms: c.event_ms,
                policy,
                proposed,
                group: group_list(unit),
            });
        }
    };
    match outcome {
        Outcome::TakeRemote => {
            if present.is_empty() {
                return;
            }
            if group && !consistent(c.specs, unit, c.values) {
                // Virtuous's values of the group disagree (designations not summing to the
                // amount): taking them would hand the partner a record outbound validation
                // rejects, so a human decides.
                to_items(out, Side::Virtuous);
                return;
            }
            let differs = present.iter().any(|(m, d)| c.local.get(*m) != Some(*d));
            let sent = c
                .unconfirmed
                .iter()
                .any(|e| unit.iter().any(|m| e.sent_field(m)));
            for (m, d) in &present {
                if differs {
                    if let Some(v) = c.values.get(*m) {
                        out.apply.insert((*m).clone(), v.clone());
                    }
                }
                if sent {
                    out.next.overridden.insert((*m).clone(), (*d).clone());
                }
                out.next.base.insert((*m).clone(), (*d).clone());
            }
        }
        Outcome::Same | Outcome::Unchanged => {
            for (m, d) in &present {
                out.next.base.insert((*m).clone(), (*d).clone());
            }
        }
        Outcome::KeepLocal => {
            if reason == Reason::OwnedByOther {
                *out.owned_only = true;
            }
            // The partner value wins over a Virtuous change (it owns the unit, or its edit is
            // the later one): record what Virtuous holds so decideOutbound restores the partner
            // value there, even if the partner later undoes its edit back to the old base. A unit
            // Virtuous did not change (`local-only`) needs no re-assertion: the partner's value
            // is already on its way (pending write) or waits for `retryAtMs` (held).
            let virtuous_changed = reason != Reason::LocalOnly;
            let reasserted = virtuous_changed
                && (reason == Reason::OwnedByOther || !c.confirming_create)
                && present.iter().any(|(m, d)| c.local.get(*m) != Some(*d));
            if reasserted {
                for (m, d) in &present {
                    out.next.base.insert((*m).clone(), (*d).clone());
                }
                for m in unit {
                    if !out.reassert.contains(m) {
                        out.reassert.push(m.clone());
                    }
                }
            }
            if c.confirming_create && !reasserted {
                for m in unit {
                    if let Some(d) = c.local.get(m) {
                        out.next.base.insert(m.clone(), d.clone());
                    }
                }
            }
        }
        Outcome::Conflict(proposed) => to_items(out, proposed),
    }
}

/// Once any member of a group is applied, apply every member the event carries, so the partner
/// receives the group as Virtuous holds it.
fn complete_unit(
    apply: &mut BTreeMap<String, Value>,
    unit: &[String],
    values: &BTreeMap<String, Value>,
) {
    for m in unit {
        if let Some(v) = values.get(m) {
            apply.insert(m.clone(), v.clone());
        }
    }
}

/// Decided case 6: an event for a record in `conflict`. The items' Virtuous side is kept current;
/// every other unit keeps flowing in, as outside a conflict: our writes' echoes are ours (the
/// newest one landing settles every pending write, decided case 8, and a partner edit held back
/// since survives it, decided case 7), a staff change is applied, a unit the partner also changed
/// (`held`) goes through the policy.
fn decide_in_conflict(
    options: &SyncOptions,
    kind: ResourceKind,
    specs: &[FieldSpec],
    r: RecordState,
    remote: &BTreeMap<String, String>,
    values: &BTreeMap<String, Value>,
    event_ms: Option<i64>,
) -> (InboundAction, RecordState) {
    let mut next = r.clone();
    for item in &mut next.conflict {
        let newer = match (event_ms, item.remote_modified_ms) {
            (Some(e), Some(k)) => e >= k,
            _ => true,
        };
        // A group's items take Virtuous's side only from an event carrying the whole group.
        let whole = item.group.iter().all(|m| values.contains_key(m));
        if let (true, true, Some(v)) = (newer, whole, values.get(&item.field)) {
            item.remote_digest = remote.get(&item.field).cloned();
            item.remote = Some(v.clone());
            item.remote_modified_ms = event_ms.or(item.remote_modified_ms);
        }
    }
    let fresh = match (event_ms, next.virtuous_modified_ms) {
        (Some(e), Some(k)) => e > k,
        _ => true,
    };
    let landed = newest_entry_lands(options, &r, remote, event_ms);
    let in_flight = r.in_flight();
    let pending: Vec<&super::record::EchoEntry> =
        r.expected_echo.iter().filter(|e| !e.confirmed).collect();
    // The partner's side: the base, what our in-flight writes sent, Virtuous values applied over
    // them since, then its held-back edits.
    let mut local = r.base.clone();
    local.extend(in_flight.clone());
    local.extend(r.overridden.clone());
    local.extend(r.held.clone());
    let mut apply = BTreeMap::new();
    let mut items = Vec::new();
    for unit in options.units(kind).into_iter().filter(|_| fresh) {
        if next.conflict.iter().any(|i| unit.contains(&i.field)) {
            continue;
        }
        let present: Vec<(&String, &String)> = unit
            .iter()
            .filter_map(|m| remote.get(m).map(|d| (m, d)))
            .collect();
        if present.is_empty() {
            continue;
        }
        let group = unit.len() > 1;
        let policy = options
            .policy
            .for_field(kind, unit.first().map_or("", String::as_str));
        let (remote_c, partial) = remote_composite(remote, &next.base, &unit);
        let to_items = |items: &mut Vec<ConflictItem>, next: &RecordState, proposed| {
            for m in &unit {
                items.push(ConflictItem {
                    field: m.clone(),
                    base: next.base.get(m).cloned(),
                    local: None,
                    local_digest: local.get(m).cloned(),
                    remote: values.get(m).cloned(),
                    remote_digest: remote.get(m).cloned(),
                    local_modified_ms: next.partner_unit_ms(&unit),
                    remote_modified_ms: event_ms,
                    policy,
                    proposed,
                    group: group_list(&unit),
                });
            }
        };
        let ours = pending.iter().any(|e| {
            unit.iter().any(|m| e.sent_field(m))
                && present.iter().all(|(m, d)| e.fields.get(*m) == Some(*d))
        });
        if ours {
            // Our write's echo, not a staff change: the base moves to it unless a newer write of
            // ours carries the unit (its value is on its way), and a partner edit held back since
            // stays held: it is newer than the write and goes out after the resolution.
            let held = touches(&next.held, &unit);
            let before = apply.len();
            for (m, d) in &present {
                if !newer_carries(&next, m, d) {
                    settle_our_value(&mut next, false, held, m, d, values.get(*m), &mut apply);
                }
            }
            if apply.len() != before {
                complete_unit(&mut apply, &unit, values);
            }
            continue;
        }
        if group && partial {
            // The event lacks a member: Virtuous's group cannot be read whole (see merge_unit).
            continue;
        }
        let consistent_remote = !group || consistent(specs, &unit, values);
        if touches(&next.held, &unit) {
            // The partner changed it too (held back): the policy decides, as for any unit
            // changed on both sides.
            let mut held_side = next.base.clone();
            held_side.extend(next.held.clone());
            let (outcome, _) = merge_field(&FieldInput {
                policy,
                base: composite(&next.base, &unit).as_deref(),
                local: composite(&held_side, &unit).as_deref(),
                remote: remote_c.as_deref(),
                local_ms: next.partner_unit_ms(&unit),
                remote_ms: event_ms,
                skew_ms: options.policy.skew_window_ms,
            });
            match outcome {
                Outcome::TakeRemote if !consistent_remote => {
                    to_items(&mut items, &next, Side::Virtuous);
                }
                Outcome::TakeRemote | Outcome::Same => {
                    if composite(&held_side, &unit) != remote_c {
                        for (m, _) in &present {
                            if let Some(v) = values.get(*m) {
                                apply.insert((*m).clone(), v.clone());
                            }
                        }
                    }
                    for (m, d) in &present {
                        next.held.remove(*m);
                        next.base.insert((*m).clone(), (*d).clone());
                    }
                }
                // The held value is written after resolution: it differs from what Virtuous
                // holds now.
                Outcome::KeepLocal => {
                    for (m, d) in &present {
                        next.base.insert((*m).clone(), (*d).clone());
                    }
                }
                Outcome::Unchanged => {}
                Outcome::Conflict(proposed) => to_items(&mut items, &next, proposed),
            }
            continue;
        }
        if policy == super::options::FieldPolicy::PartnerOwns {
            // The partner value is re-asserted after resolution.
            for (m, d) in &present {
                next.base.insert((*m).clone(), (*d).clone());
            }
            continue;
        }
        if composite(&next.base, &unit) != remote_c {
            if !consistent_remote {
                to_items(&mut items, &next, Side::Virtuous);
                continue;
            }
            // A staff change: apply it; if our write of the unit is still in flight and lands
            // later, its echo brings our value back (see `overridden`).
            let sent = touches(&in_flight, &unit);
            for (m, d) in &present {
                next.base.insert((*m).clone(), (*d).clone());
                if sent {
                    next.overridden.insert((*m).clone(), (*d).clone());
                }
                if let Some(v) = values.get(*m) {
                    apply.insert((*m).clone(), v.clone());
                }
            }
        }
    }
    if landed {
        // Our newest write landed: older ones can no longer land after it (one outbox entry per
        // record), so every pending write is settled, exactly as outside a conflict.
        for e in &mut next.expected_echo {
            e.confirmed = true;
        }
    }
    next.conflict.extend(items);
    next.virtuous_modified_ms = max_opt(next.virtuous_modified_ms, event_ms);
    let action = if apply.is_empty() {
        InboundAction::Ignore
    } else {
        InboundAction::Conflict {
            items: next.conflict.clone(),
            apply,
        }
    };
    (action, next)
}
