//! `decide_outbound`: whether and how to write a partner-side change to Virtuous.
//!
//! Creates go through the matching Transaction endpoints (`POST /api/v2/Gift/Transaction`,
//! `POST /api/Contact/Transaction`) with the full mapped body; updates of a linked record go to
//! `PUT /api/Gift/{id}` / `PUT /api/Contact/{id}` with only the changed fields, so a concurrent
//! staff edit to another field is not overwritten. Every body is stamped with our platform name
//! and the record's stable external id (`transactionSource`/`transactionId`,
//! `referenceSource`/`referenceId`), assigned once and never regenerated.

use super::digest::{calendar_day, spec_digest};
use super::inbound::{decide_fetched, InboundAction, InboundDecision};
use super::money::Money;
use super::options::{FieldPolicy, FieldSpec, FieldType, SyncOptions, UpdateMode};
use super::payload::{read_field, remove_pointer, write_pointer};
use super::reason::{DecisionInputs, Reason};
use super::record::{EchoEntry, ExternalRef, RecordState, SyncState, MAX_ECHO_ENTRIES};
use super::state::{transition, Trigger};
use super::units::widen;
use super::{check_record, refresh, SyncError};
use crate::event::ResourceKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A change on the partner side: the record's current values of the mapped fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartnerChange {
    /// The customer the record belongs to.
    pub customer_id: String,
    /// Record kind.
    pub kind: ResourceKind,
    /// The partner's record id.
    pub partner_id: String,
    /// When the partner last modified the record (partner clock, ms).
    pub modified_ms: i64,
    /// When the partner last modified each field (partner clock, ms), when it knows: under
    /// most-recent-wins a field's (or field group's) own time is compared with Virtuous's, so a
    /// later edit of another field does not make an older value look newer. Fields absent here
    /// use `modifiedMs`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub field_modified_ms: BTreeMap<String, i64>,
    /// Current value of every mapped field the partner holds (by field name).
    pub fields: BTreeMap<String, Value>,
    /// Extra body content for create Transactions (e.g. the gift's `contact` block); not digested,
    /// never overrides mapped fields or stamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<Map<String, Value>>,
    /// The external id to stamp on first write (default: `partnerId`). Ignored once the record
    /// has one; a different value is a `record-mismatch` error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The linked Virtuous record as the host just fetched it (`GET /api/Gift/{id}`,
    /// `GET /api/Contact/{id}`), for a full-record update (`updateMode: "full"`, the default).
    /// Without it, an update asks for the fetch (`fetch`). Ignored for creates and partial updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Value>,
    /// The update of ours (the `PUT` exactly as a `submit` decision gave it) that Virtuous just
    /// answered with a 2xx: our newest pending write landed. Report it before deciding any
    /// record fetched after that response (call `decideOutbound` with the partner's values as they
    /// are then plus `written`); a record fetched later that does not show the write in a field
    /// it sent is then a Virtuous change made after it (staff setting the field back, A-B-A),
    /// not a write still on its way. Absent (the default, a failed send, a lost response): the
    /// write waits for its echo as before. Ignored unless it is a `PUT` of the linked record
    /// whose body shows our newest pending write, and in `updateMode: "partial"` (a queued
    /// partial write lands long after its decision; only full-record writes, sent at once and
    /// built on a dated fetch, tell what an acknowledged write makes stale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written: Option<Request>,
}

/// An HTTP request to make against the Virtuous API (a `GET` has a `null` body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// `POST`, `PUT` or `GET`.
    pub method: String,
    /// Path under the API host (`/api/v2/Gift/Transaction`).
    pub path: String,
    /// JSON body (absent for a `GET`).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub body: Value,
}

/// What the host should do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "tag", content = "val", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum OutboundAction {
    /// Make this request (retry it unchanged until 2xx: the body and external id are stable).
    Submit(Request),
    /// Send nothing now; retry at `retryAtMs` if given (cooldown) or after resolution (conflict).
    Suppress,
    /// An identical write (or the pending create) already covers this change.
    Coalesce,
    /// Nothing to send.
    Nothing,
    /// Fetch this record (`GET`, no body) and call `decideOutbound` again with the response body
    /// as `change.current`. Nothing was decided and no state changed (`record` is absent).
    Fetch(Request),
    /// The fetched record shows a Virtuous change the stored state did not know. It is decided as
    /// an inbound change first (never overwritten blindly): carry out this inbound decision's
    /// action on the partner side, store `record` (also the inbound decision's), then call
    /// `decideOutbound` again with the partner's values as they are then and the same `current`.
    ApplyInbound(Box<InboundDecision>),
}

/// The outbound decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundDecision {
    /// What to do.
    pub action: OutboundAction,
    /// Why.
    pub reason: Reason,
    /// What the decision looked at.
    pub inputs: DecisionInputs,
    /// Fields held back by a cooldown or conflict.
    #[serde(default)]
    pub suppressed_fields: Vec<String>,
    /// When to call again for the held-back fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<i64>,
    /// The record state to store once the host accepts the decision (for `submit`: before sending).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordState>,
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// Validate a partner change against the field map: unknown fields, required fields, exact
/// money, designations summing to the amount. Errors name the field.
pub fn validate_change(specs: &[FieldSpec], change: &PartnerChange) -> Result<(), SyncError> {
    for k in change.fields.keys().chain(change.field_modified_ms.keys()) {
        if !specs.iter().any(|s| &s.name == k) {
            return Err(SyncError::UnknownField { field: k.clone() });
        }
    }
    for s in specs {
        let v = change.fields.get(&s.name);
        if s.required && v.is_none_or(is_empty_value) {
            return Err(SyncError::MissingField {
                field: s.name.clone(),
            });
        }
    }
    check_amounts(specs, &change.fields)
}

/// The money checks of [`validate_change`] on any set of field values: exact money, positive
/// required amounts, designations summing to the (first) money field when both are present.
pub(crate) fn check_amounts(
    specs: &[FieldSpec],
    fields: &BTreeMap<String, Value>,
) -> Result<(), SyncError> {
    let mut amount: Option<Money> = None;
    for s in specs {
        let v = fields.get(&s.name);
        let Some(v) = v.filter(|v| !v.is_null()) else {
            continue;
        };
        if s.field_type == FieldType::Date {
            let day = v.as_str().and_then(calendar_day);
            let datetime = v.as_str().is_some_and(|t| super::parse_utc_ms(t).is_ok());
            if day.is_none() && !datetime {
                return Err(SyncError::InvalidDate {
                    field: s.name.clone(),
                });
            }
        }
        if s.field_type == FieldType::Money {
            let m = Money::from_json(v).map_err(|error| SyncError::InvalidMoney {
                field: s.name.clone(),
                error,
            })?;
            if s.required && m.micros <= 0 {
                return Err(SyncError::NonPositiveAmount {
                    field: s.name.clone(),
                });
            }
            if amount.is_none() {
                amount = Some(m);
            }
        }
    }
    for s in specs
        .iter()
        .filter(|s| s.field_type == FieldType::Designations)
    {
        let Some(v) = fields.get(&s.name).filter(|v| !v.is_null()) else {
            continue;
        };
        let Some(items) = v.as_array() else {
            return Err(SyncError::InvalidMoney {
                field: s.name.clone(),
                error: super::MoneyError::NotDecimal,
            });
        };
        if items.is_empty() {
            continue;
        }
        let mut sum = Money { micros: 0 };
        for (i, item) in items.iter().enumerate() {
            let field = format!("{}[{i}].amountDesignated", s.name);
            let a = item
                .get("amountDesignated")
                .ok_or_else(|| SyncError::MissingField {
                    field: field.clone(),
                })?;
            let m = Money::from_json(a).map_err(|error| SyncError::InvalidMoney {
                field: field.clone(),
                error,
            })?;
            sum = sum.checked_add(m).ok_or(SyncError::InvalidMoney {
                field: field.clone(),
                error: super::MoneyError::Overflow,
            })?;
        }
        if let Some(amount) = amount {
            if sum != amount {
                return Err(SyncError::DesignationsMismatch {
                    field: s.name.clone(),
                    sum: sum.canonical(),
                    amount: amount.canonical(),
                });
            }
        }
    }
    Ok(())
}

/// The wire form of a value: money as a decimal string with at least two fraction digits.
fn wire_value(v: &Value, t: FieldType) -> Value {
    match t {
        FieldType::Money => match Money::from_json(v) {
            Ok(m) => Value::String(m.to_request_string()),
            Err(_) => v.clone(),
        },
        FieldType::Designations => match v {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| match item {
                        Value::Object(map) => {
                            let mut m = map.clone();
                            if let Some(a) = map.get("amountDesignated") {
                                m.insert(
                                    "amountDesignated".into(),
                                    wire_value(a, FieldType::Money),
                                );
                            }
                            Value::Object(m)
                        }
                        other => other.clone(),
                    })
                    .collect(),
            ),
            other => other.clone(),
        },
        FieldType::Date => match v.as_str().and_then(calendar_day) {
            Some(day) => Value::String(day),
            None => v.clone(),
        },
        FieldType::Plain => v.clone(),
    }
}

/// While a unit awaits our newest pending write's echo (decided case 7), no new write is made at
/// all: a newer write that left the unit out would become the write whose echo settles the older
/// ones, and a staff edit that happens to equal it (small value domains make that likely) would
/// pass for that echo, settling the older write as superseded while it still lands later, over the
/// value the partner returned to. So every other changed field waits for the same echo (except
/// fields Virtuous owns, never written, fields under cooldown, which keep their own retry, and
/// fields the newest pending write already carries: `exempt`).
fn hold_all_while_awaiting(
    options: &SyncOptions,
    kind: ResourceKind,
    changed: &[String],
    awaiting: &[String],
    exempt: &[String],
) -> Vec<String> {
    if awaiting.is_empty() {
        return Vec::new();
    }
    changed
        .iter()
        .filter(|f| {
            awaiting.contains(f)
                || (options.policy.for_field(kind, f) != FieldPolicy::VirtuousOwns
                    && !exempt.contains(f))
        })
        .cloned()
        .collect()
}

/// The partner's modification times the change carries, for later most-recent-wins merges.
fn note_partner_times(r: &mut RecordState, change: &PartnerChange) {
    r.partner_modified_ms = Some(change.modified_ms);
    r.partner_field_modified_ms = change.field_modified_ms.clone();
}

/// The external reference our writes stamp: the one the record already has, else the partner's
/// external id (or its partner id) under our platform name.
fn our_ref(options: &SyncOptions, r: &RecordState, change: &PartnerChange) -> ExternalRef {
    r.external_ref.clone().unwrap_or_else(|| ExternalRef {
        source: options.platform_name.clone(),
        id: change
            .external_id
            .clone()
            .unwrap_or_else(|| change.partner_id.clone()),
    })
}

fn stamp_keys(kind: ResourceKind) -> (&'static str, &'static str) {
    match kind {
        ResourceKind::Gift => ("transactionSource", "transactionId"),
        _ => ("referenceSource", "referenceId"),
    }
}

/// Decide whether to write a partner change to Virtuous, and build the request.
pub fn decide_outbound(
    options: &SyncOptions,
    record: Option<&RecordState>,
    change: &PartnerChange,
    now_ms: i64,
) -> Result<OutboundDecision, SyncError> {
    options.validate()?;
    if change.customer_id != options.customer_id {
        return Err(SyncError::TenantMismatch {
            expected: options.customer_id.clone(),
            found: change.customer_id.clone(),
        });
    }
    let record = match record {
        Some(r) => Some(refresh(check_record(options, r)?, now_ms)),
        None => None,
    };
    let kind = change.kind;
    if let Some(r) = &record {
        if r.kind != kind {
            return Err(SyncError::KindMismatch {
                expected: r.kind,
                found: kind,
            });
        }
        if let Some(pid) = r.partner_id.as_ref().filter(|p| **p != change.partner_id) {
            return Err(SyncError::RecordMismatch {
                field: "partnerId".into(),
                expected: pid.clone(),
                found: change.partner_id.clone(),
            });
        }
        if let (Some(x), Some(id)) = (&r.external_ref, &change.external_id) {
            if x.id != *id {
                return Err(SyncError::RecordMismatch {
                    field: "externalId".into(),
                    expected: x.id.clone(),
                    found: id.clone(),
                });
            }
        }
    }
    if change.partner_id.trim().is_empty() {
        return Err(SyncError::MissingField {
            field: "partnerId".into(),
        });
    }
    let mut inputs = DecisionInputs {
        customer_id: options.customer_id.clone(),
        kind: Some(kind),
        partner_modified_ms: Some(change.modified_ms),
        ..DecisionInputs::from_record(record.as_ref(), now_ms)
    };
    let done = |action,
                reason,
                inputs: &DecisionInputs,
                record: Option<RecordState>,
                suppressed: Vec<String>,
                retry: Option<i64>| {
        OutboundDecision {
            action,
            reason,
            inputs: inputs.clone(),
            suppressed_fields: suppressed,
            retry_at_ms: retry,
            record,
        }
    };
    let Some(specs) = options.fields(kind) else {
        return Ok(done(
            OutboundAction::Nothing,
            Reason::NotSynced,
            &inputs,
            record,
            vec![],
            None,
        ));
    };
    if !matches!(kind, ResourceKind::Gift | ResourceKind::Contact) {
        return Err(SyncError::UnsupportedKind { kind });
    }
    validate_change(specs, change)?;

    let mut digests = BTreeMap::new();
    for s in specs {
        if let Some(v) = change.fields.get(&s.name) {
            digests.insert(s.name.clone(), spec_digest(v, s));
        }
    }
    let empty = BTreeMap::new();
    let base = record.as_ref().map_or(&empty, |r| &r.base);
    let in_flight = record
        .as_ref()
        .map(RecordState::in_flight)
        .unwrap_or_default();
    let overridden = record.as_ref().map_or(&empty, |r| &r.overridden);
    // Changed: differs from the agreed base, or from what our unconfirmed writes will leave in
    // Virtuous (a partner edit reverting an in-flight value back to the base is a change too).
    // A field whose partner value came from Virtuous over our in-flight write (`overridden`) is
    // settled by that write's echo, not by a new write.
    let changed: Vec<String> = digests
        .iter()
        .filter(|(k, d)| {
            base.get(*k) != Some(*d)
                || (!overridden.contains_key(*k)
                    && in_flight.get(*k).is_some_and(|sent| sent != *d))
        })
        .map(|(k, _)| k.clone())
        .collect();
    // A field group is written, held and compared as one unit: a change to any member carries
    // every member the partner holds.
    let units = options.units(kind);
    let changed: Vec<String> = widen(&units, &changed)
        .into_iter()
        .filter(|f| digests.contains_key(f))
        .collect();
    inputs.changed_fields = changed.clone();

    if let Some(r) = &record {
        if r.tombstone.is_some() {
            return Ok(done(
                OutboundAction::Nothing,
                Reason::Tombstoned,
                &inputs,
                record,
                vec![],
                None,
            ));
        }
        if r.state == SyncState::Conflict {
            let mut next = r.clone();
            // The conflict items show the partner's latest value.
            for item in &mut next.conflict {
                if let Some(d) = digests.get(&item.field) {
                    item.local_digest = Some(d.clone());
                    item.local = change.fields.get(&item.field).cloned();
                    item.local_modified_ms = Some(
                        change
                            .field_modified_ms
                            .get(&item.field)
                            .copied()
                            .unwrap_or(change.modified_ms),
                    );
                }
            }
            note_partner_times(&mut next, change);
            next.held = changed
                .iter()
                .filter_map(|f| digests.get(f).map(|d| (f.clone(), d.clone())))
                .collect();
            return Ok(done(
                OutboundAction::Suppress,
                Reason::InConflict,
                &inputs,
                Some(next),
                changed,
                None,
            ));
        }
    }
    let linked = record.as_ref().and_then(|r| r.virtuous_id.clone());
    let pending = record
        .as_ref()
        .is_some_and(|r| r.state == SyncState::PartnerPending);

    // A value Virtuous may show from a state before our newest pending write (the base, or a value
    // an older pending write sent) cannot be written yet, unless that newest write carries it: the
    // echo of a write made now could not be told from that state. Two cases: an undo of a pending
    // value, and a value only an older pending write carries (a newer one held the field back, and
    // the older may have been superseded in the outbox). It waits for the newest write's echo
    // (`followUp` then asks for this decision again); by then the older writes have landed or never
    // will, and the base says which.
    // Full-record updates: the record as just fetched, when the host passed it.
    let full = options.update_mode == UpdateMode::Full && linked.is_some();
    let current = match (&linked, change.current.as_ref()) {
        (Some(id), Some(c)) if full => Some(check_current(specs, id, c)?),
        _ => None,
    };
    // Our newest pending write's 2xx, reported by the host (`written`): the write landed, so it is
    // confirmed first, exactly as an undated echo showing its body would (the body is what the
    // record held once it landed; its time is unknown, so it is decided undated). Records fetched
    // afterwards are then merged against it: one showing the old value where the write sent
    // another is a Virtuous change after it (an A-B-A revert), never our write still in flight.
    // Anything else (a failed or unacknowledged send reports nothing) waits for the echo.
    let full_mode = options.update_mode == UpdateMode::Full;
    if let (Some(w), Some(r), true) = (&change.written, &record, full_mode) {
        if let Some((body, bd)) = acknowledged(specs, r, kind, w) {
            let landed = r.state == SyncState::PartnerPending
                && r.expected_echo
                    .last()
                    .is_some_and(|e| !e.confirmed && shows_write(e, &bd));
            if landed && !unexplained(r, &bd) {
                let unsent: Vec<String> = changed
                    .iter()
                    .filter(|f| options.policy.for_field(kind, f) != FieldPolicy::VirtuousOwns)
                    .cloned()
                    .collect();
                let mut d = inbound_first(options, r, change, &unsent, &digests, &body, now_ms)?;
                // The write was built on the record as fetched then (`builtOnMs`, else `afterMs`):
                // an event no newer than that shows Virtuous before the write: stale from now on.
                let after = r
                    .expected_echo
                    .last()
                    .and_then(|e| e.after_ms.max(e.built_on_ms));
                if let Some(n) = d.record.as_mut() {
                    n.virtuous_modified_ms = n.virtuous_modified_ms.max(after);
                }
                let quiet = d.reassert_fields.is_empty()
                    && matches!(&d.action, InboundAction::Confirm { apply, follow_up, .. }
                        if apply.is_empty() && !follow_up);
                // Quiet (nothing for the partner to apply): the decision goes on from the
                // confirmed state, unless it would store nothing (a fetch); then, as whenever the
                // partner must apply something, the confirmation is handed over to carry out.
                if let Some(confirmed) = d
                    .record
                    .as_ref()
                    .filter(|_| quiet && d.reason == Reason::Confirmed)
                {
                    let mut rest = change.clone();
                    rest.written = None;
                    let next = decide_outbound(options, Some(confirmed), &rest, now_ms)?;
                    if next.record.is_some() {
                        return Ok(next);
                    }
                }
                return Ok(apply_inbound(d, &changed, &inputs));
            }
        }
    }
    // A fetched record that shows our newest pending write landed confirms it first (the echo may
    // never be told apart: a same-tick timestamp reads as stale); the decision then goes on from
    // the confirmed state, or carries the confirmation when the partner must apply something.
    if let (Some((cur, cd)), Some(r)) = (&current, &record) {
        let landed = r
            .expected_echo
            .last()
            .is_some_and(|e| !e.confirmed && shows_write(e, cd));
        if landed && !unexplained(r, cd) {
            let unsent: Vec<String> = changed
                .iter()
                .filter(|f| options.policy.for_field(kind, f) != FieldPolicy::VirtuousOwns)
                .cloned()
                .collect();
            let d = inbound_first(options, r, change, &unsent, &digests, cur, now_ms)?;
            let quiet = d.reassert_fields.is_empty()
                && matches!(&d.action, InboundAction::Confirm { apply, follow_up, .. }
                    if apply.is_empty() && !follow_up);
            match d.record {
                Some(confirmed) if quiet && d.reason == Reason::Confirmed => {
                    return decide_outbound(options, Some(&confirmed), change, now_ms);
                }
                _ => return Ok(apply_inbound(d, &changed, &inputs)),
            }
        }
    }
    // A full-record `PUT` is sent at once and never resent later, so a fetched record that does
    // not show our newest write means it did not land: nothing of ours is still on its way, and
    // the write built now (the whole record) supersedes it. Nothing waits for its echo.
    let superseded = current.as_ref().is_some_and(|(_, cd)| {
        record.as_ref().is_some_and(|r| {
            r.expected_echo
                .last()
                .is_some_and(|e| !e.confirmed && !shows_write(e, cd))
        })
    });
    // Superseded, nothing of ours is on its way: a field the fetched record holds differently
    // from the partner is changed, even where that value is one an older pending write sent (it
    // landed before the newer write failed, or staff set the same value): the partner's value is
    // newer than that write, and no pending write will bring it (seed 54447, live).
    let changed: Vec<String> = match &current {
        Some((_, cd)) if superseded => {
            let mut c = changed;
            for (k, d) in &digests {
                if !c.contains(k) && cd.get(k).is_some_and(|x| x != d) {
                    c.push(k.clone());
                }
            }
            widen(&units, &c)
                .into_iter()
                .filter(|f| digests.contains_key(f))
                .collect()
        }
        _ => changed,
    };
    inputs.changed_fields = changed.clone();
    let awaiting: Vec<String> = match (&record, &linked) {
        (Some(_), Some(_)) if superseded => Vec::new(),
        (Some(r), Some(_)) => {
            let pending: Vec<&EchoEntry> =
                r.expected_echo.iter().filter(|e| !e.confirmed).collect();
            let sent =
                |e: &EchoEntry, f: &str, d: &String| e.sent_field(f) && e.fields.get(f) == Some(d);
            changed
                .iter()
                .filter(|f| {
                    let Some(d) = digests.get(*f).filter(|_| in_flight.contains_key(*f)) else {
                        return false;
                    };
                    !pending.last().is_some_and(|e| sent(e, f, d))
                        && (base.get(*f) == Some(d) || pending.iter().any(|e| sent(e, f, d)))
                })
                .cloned()
                .collect()
        }
        _ => Vec::new(),
    };
    // Whether an undo must wait for our pending write's echo depends on whether that write landed:
    // with full-record updates only the fetched record tells (see `superseded`).
    if full && current.is_none() && !awaiting.is_empty() {
        return Ok(done(
            OutboundAction::Fetch(fetch_request(kind, linked.as_deref().unwrap_or(""))),
            Reason::NeedsCurrent,
            &inputs,
            None,
            vec![],
            None,
        ));
    }
    let cooling_fields: Vec<String> = record
        .as_ref()
        .map(|r| widen(&units, &r.cooldown_fields))
        .unwrap_or_default();
    // Fields our newest pending write already carries with the partner's value: never sent again.
    let carried: Vec<String> = match &record {
        Some(r) => changed
            .iter()
            .filter(|f| {
                r.expected_echo.last().is_some_and(|e| {
                    !e.confirmed && e.sent_field(f) && e.fields.get(*f) == digests.get(*f)
                })
            })
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let awaiting = hold_all_while_awaiting(
        options,
        kind,
        &changed,
        &widen(&units, &awaiting),
        &[cooling_fields.clone(), carried].concat(),
    );
    // One split of the changed fields for every path below: what a write would send, what is held
    // back (cooldown, undo awaiting an echo), what Virtuous owns. A create carries everything.
    let cooling = record
        .as_ref()
        .filter(|r| linked.is_some() && r.cooldown_active(now_ms));
    let (mut send, mut suppressed, mut owned) = (Vec::new(), Vec::new(), Vec::new());
    for f in &changed {
        if linked.is_some() && options.policy.for_field(kind, f) == FieldPolicy::VirtuousOwns {
            owned.push(f.clone());
        } else if awaiting.contains(f) || (cooling.is_some() && cooling_fields.contains(f)) {
            suppressed.push(f.clone());
        } else {
            send.push(f.clone());
        }
    }
    let held_digests = || -> BTreeMap<String, String> {
        suppressed
            .iter()
            .filter_map(|f| digests.get(f).map(|d| (f.clone(), d.clone())))
            .collect()
    };
    let retry = if suppressed.iter().all(|f| awaiting.contains(f)) {
        None
    } else {
        record.as_ref().and_then(|r| r.cooldown_until_ms)
    };

    if pending {
        if let Some(r) = &record {
            let mut next = r.clone();
            note_partner_times(&mut next, change);
            next.held.clear();
            let in_flight_already = r.expected_echo.last().filter(|e| {
                // Everything sendable that differs from the base is already in flight,
                // unchanged: a second identical write could not be told from the first.
                !e.confirmed
                    && !send.is_empty()
                    && send
                        .iter()
                        .all(|f| e.sent_field(f) && e.fields.get(f) == digests.get(f))
            });
            // Full-record updates: a failed or unacknowledged `PUT` is never resent later (its
            // body would overwrite what changed in Virtuous since the fetch); the host decides
            // again. Only the fetched record tells whether that write landed: if it does not show
            // it, the write is re-issued, built on the fresh record.
            let coalesce = match (in_flight_already, full, &current) {
                (None, ..) => false,
                (Some(_), false, _) => true,
                (Some(_), true, None) => {
                    return Ok(done(
                        OutboundAction::Fetch(fetch_request(kind, linked.as_deref().unwrap_or(""))),
                        Reason::NeedsCurrent,
                        &inputs,
                        None,
                        vec![],
                        None,
                    ));
                }
                (Some(e), true, Some((_, cd))) => shows_write(e, cd),
            };
            if coalesce {
                next.held = held_digests();
                next.follow_up |= !awaiting.is_empty();
                return Ok(done(
                    OutboundAction::Coalesce,
                    Reason::Coalesced,
                    &inputs,
                    Some(next),
                    suppressed,
                    retry,
                ));
            }
            if linked.is_none() {
                next.follow_up = true;
                return Ok(done(
                    OutboundAction::Coalesce,
                    Reason::PendingCreate,
                    &inputs,
                    Some(next),
                    vec![],
                    None,
                ));
            }
        }
    }

    let to_send: Vec<String> = if linked.is_none() {
        // A create carries the whole record.
        digests.keys().cloned().collect()
    } else {
        send
    };
    // Full-record updates: nothing to send only because our newest pending write carries the
    // partner's values. Its body is never resent, and a decision is asked for again after a failed
    // or unacknowledged send, so only the fetched record tells whether it landed (if not, it is
    // re-issued on the fresh record, see `superseded`); never assume it is on its way.
    let unsure = pending
        && record
            .as_ref()
            .and_then(|r| r.expected_echo.last())
            .is_some_and(|e| !e.confirmed);
    if to_send.is_empty() && full && current.is_none() && unsure {
        return Ok(done(
            OutboundAction::Fetch(fetch_request(kind, linked.as_deref().unwrap_or(""))),
            Reason::NeedsCurrent,
            &inputs,
            None,
            vec![],
            None,
        ));
    }
    if to_send.is_empty() {
        let next = record.clone().map(|mut r| {
            r.partner_id = Some(change.partner_id.clone());
            note_partner_times(&mut r, change);
            r.held = held_digests();
            r.follow_up |= !awaiting.is_empty();
            r
        });
        let (action, reason) = if !suppressed.is_empty() {
            let reason = if suppressed.iter().all(|f| awaiting.contains(f)) {
                Reason::AwaitingEcho
            } else {
                Reason::Cooldown
            };
            (OutboundAction::Suppress, reason)
        } else if !owned.is_empty() {
            (OutboundAction::Nothing, Reason::OwnedByOther)
        } else {
            (OutboundAction::Nothing, Reason::NoChange)
        };
        return Ok(done(action, reason, &inputs, next, suppressed, retry));
    }

    if full {
        let Some((current, current_digests)) = current else {
            return Ok(done(
                OutboundAction::Fetch(fetch_request(kind, linked.as_deref().unwrap_or(""))),
                Reason::NeedsCurrent,
                &inputs,
                None,
                vec![],
                None,
            ));
        };
        if let Some(r) = &record {
            if let Some(d) = remote_first(
                options,
                r,
                change,
                &changed,
                &owned,
                &digests,
                &current,
                &current_digests,
                &inputs,
                now_ms,
            )? {
                return Ok(d);
            }
        }
        return full_update(
            options,
            specs,
            record.as_ref(),
            change,
            FullPlan {
                current,
                current_digests,
                digests,
                in_flight,
                to_send,
                suppressed,
                owned,
                awaiting,
                retry,
            },
            inputs,
            now_ms,
        );
    }

    // Build the request.
    let mut next = record
        .clone()
        .unwrap_or_else(|| RecordState::new(&options.customer_id, kind));
    let ext = our_ref(options, &next, change);
    let (src_key, id_key) = stamp_keys(kind);
    let mut body = Map::new();
    if linked.is_none() {
        if let Some(extra) = &change.extra {
            for (k, v) in extra {
                body.insert(k.clone(), v.clone());
            }
        }
    }
    for s in specs {
        if !to_send.contains(&s.name) {
            continue;
        }
        if let Some(v) = change.fields.get(&s.name) {
            write_pointer(&mut body, s.write_path(), wire_value(v, s.field_type));
        }
    }
    body.insert(src_key.into(), Value::String(ext.source.clone()));
    body.insert(id_key.into(), Value::String(ext.id.clone()));
    let (method, path) = match (&linked, kind) {
        (None, ResourceKind::Gift) => ("POST", "/api/v2/Gift/Transaction".to_string()),
        (None, _) => ("POST", "/api/Contact/Transaction".to_string()),
        (Some(id), ResourceKind::Gift) => ("PUT", format!("/api/Gift/{id}")),
        (Some(id), _) => ("PUT", format!("/api/Contact/{id}")),
    };

    // What Virtuous should hold once the write lands: base overlaid with what we send.
    let mut expected = if linked.is_none() {
        BTreeMap::new()
    } else {
        next.base.clone()
    };
    for f in &to_send {
        if let Some(d) = digests.get(f) {
            expected.insert(f.clone(), d.clone());
        }
        // This write is now the newest for the field: an older write's echo no longer decides it.
        next.overridden.remove(f);
    }
    next.partner_id = Some(change.partner_id.clone());
    next.external_ref = Some(ext);
    next.held = held_digests();
    note_partner_times(&mut next, change);
    next.follow_up |= !awaiting.is_empty();
    let mut next = transition(&next, Trigger::PartnerWrite, now_ms)?;
    let expires = now_ms
        .checked_add(options.pending_expiry_ms)
        .unwrap_or(i64::MAX);
    next.pending_expires_ms = Some(expires);
    next.stuck = false;
    next.expected_echo.push(EchoEntry {
        fields: expected,
        sent: if linked.is_none() {
            Vec::new()
        } else {
            to_send.clone()
        },
        written_ms: now_ms,
        after_ms: next.virtuous_modified_ms,
        built_on_ms: None,
        expires_ms: expires,
        confirmed: false,
    });
    while next.expected_echo.len() > MAX_ECHO_ENTRIES {
        next.expected_echo.remove(0);
    }
    let request = Request {
        method: method.into(),
        path,
        body: Value::Object(body),
    };
    Ok(done(
        OutboundAction::Submit(request),
        Reason::PartnerChanged,
        &inputs,
        Some(next),
        suppressed,
        retry,
    ))
}

/// `GET` of a linked record, for a full-record update (the body is `null`).
fn fetch_request(kind: ResourceKind, id: &str) -> Request {
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

/// Per mapped field, the digest of what a payload holds (absent fields are unknown: left out).
pub(crate) fn payload_digests(specs: &[FieldSpec], resource: &Value) -> BTreeMap<String, String> {
    specs
        .iter()
        .filter_map(|s| read_field(s, resource).map(|v| (s.name.clone(), spec_digest(v, s))))
        .collect()
}

/// A fetched record and the digests of its mapped fields.
type Fetched = (Map<String, Value>, BTreeMap<String, String>);

/// The fetched record must be an object and, when it names its id, the linked one.
fn check_current(specs: &[FieldSpec], linked: &str, current: &Value) -> Result<Fetched, SyncError> {
    let Some(map) = current.as_object() else {
        return Err(SyncError::BadCurrent {
            message: "change.current must be the fetched record (a JSON object)".into(),
        });
    };
    let id = match map.get("id") {
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    if let Some(id) = id.filter(|i| i != linked) {
        return Err(SyncError::RecordMismatch {
            field: "virtuousId".into(),
            expected: linked.to_string(),
            found: id,
        });
    }
    Ok((map.clone(), payload_digests(specs, current)))
}

/// The body of `written` when it is a `PUT` of the record's linked Virtuous id, read as the
/// record once that write landed: its digests, undated (the write's time is unknown).
fn acknowledged(
    specs: &[FieldSpec],
    r: &RecordState,
    kind: ResourceKind,
    written: &Request,
) -> Option<Fetched> {
    let id = r.virtuous_id.as_deref()?;
    if r.tombstone.is_some()
        || !written.method.eq_ignore_ascii_case("PUT")
        || written.path != fetch_request(kind, id).path
    {
        return None;
    }
    let mut body = written.body.as_object()?.clone();
    body.remove("modifiedDateTimeUtc");
    let value = Value::Object(body.clone());
    Some((body, payload_digests(specs, &value)))
}

/// Whether a fetched record shows every field the write sent, as sent.
fn shows_write(e: &EchoEntry, current: &BTreeMap<String, String>) -> bool {
    e.fields
        .iter()
        .filter(|(f, _)| e.sent_field(f))
        .all(|(f, d)| current.get(f) == Some(d))
}

/// Whether the fetched record holds, for a mapped field, a value the stored state cannot account
/// for (neither the base nor a value one of our unconfirmed writes sent): a Virtuous change it
/// did not know.
fn unexplained(r: &RecordState, current_digests: &BTreeMap<String, String>) -> bool {
    current_digests.iter().any(|(f, d)| {
        r.base.get(f) != Some(d)
            && !r
                .expected_echo
                .iter()
                .any(|e| !e.confirmed && e.sent_field(f) && e.fields.get(f) == Some(d))
    })
}

/// The fetched record decided as an inbound event, with the partner's unsent values held so the
/// merge sees them. The record is what Virtuous holds now, whatever its date says against the
/// webhooks seen (a same-tick timestamp reads as stale): a stale verdict is decided unordered.
fn inbound_first(
    options: &SyncOptions,
    r: &RecordState,
    change: &PartnerChange,
    unsent: &[String],
    digests: &BTreeMap<String, String>,
    current: &Map<String, Value>,
    now_ms: i64,
) -> Result<InboundDecision, SyncError> {
    let mut held = r.clone();
    held.partner_modified_ms = Some(change.modified_ms);
    for f in unsent {
        if let Some(d) = digests.get(f) {
            held.held.insert(f.clone(), d.clone());
        }
    }
    let event_type = match r.kind {
        ResourceKind::Gift => crate::event::EventType::GiftUpdate,
        _ => crate::event::EventType::ContactUpdate,
    };
    let modified = current
        .get("modifiedDateTimeUtc")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut event = crate::event::Event {
        event_type: Some(event_type),
        raw_event_type: event_type.live_name().to_string(),
        resource_kind: Some(r.kind),
        event_id: None,
        timestamp: None,
        organization_id: None,
        resource_id: r.virtuous_id.clone(),
        modified_date_time_utc: modified,
        resource: Some(Value::Object(current.clone())),
    };
    let decision = decide_fetched(options, &event, Some(&held), now_ms)?;
    if decision.reason != Reason::Stale {
        return Ok(decision);
    }
    event.modified_date_time_utc = None;
    if let Some(Value::Object(res)) = event.resource.as_mut() {
        res.remove("modifiedDateTimeUtc");
    }
    decide_fetched(options, &event, Some(&held), now_ms)
}

/// A Virtuous change the state did not know (see [`unexplained`]) is decided as an inbound change
/// first; the outbound decision carries the inbound decision.
#[allow(clippy::too_many_arguments)]
fn remote_first(
    options: &SyncOptions,
    r: &RecordState,
    change: &PartnerChange,
    changed: &[String],
    owned: &[String],
    digests: &BTreeMap<String, String>,
    current: &Map<String, Value>,
    current_digests: &BTreeMap<String, String>,
    inputs: &DecisionInputs,
    now_ms: i64,
) -> Result<Option<OutboundDecision>, SyncError> {
    if !unexplained(r, current_digests) {
        return Ok(None);
    }
    let unsent: Vec<String> = changed
        .iter()
        .filter(|f| !owned.contains(f))
        .cloned()
        .collect();
    let decision = inbound_first(options, r, change, &unsent, digests, current, now_ms)?;
    Ok(Some(apply_inbound(decision, changed, inputs)))
}

fn apply_inbound(
    decision: InboundDecision,
    changed: &[String],
    inputs: &DecisionInputs,
) -> OutboundDecision {
    let record = decision.record.clone();
    OutboundDecision {
        action: OutboundAction::ApplyInbound(Box::new(decision)),
        reason: Reason::RemoteFirst,
        inputs: inputs.clone(),
        suppressed_fields: changed.to_vec(),
        retry_at_ms: None,
        record,
    }
}

/// What a full-record update is built from.
struct FullPlan {
    current: Map<String, Value>,
    current_digests: BTreeMap<String, String>,
    digests: BTreeMap<String, String>,
    in_flight: BTreeMap<String, String>,
    to_send: Vec<String>,
    suppressed: Vec<String>,
    owned: Vec<String>,
    awaiting: Vec<String>,
    retry: Option<i64>,
}

/// GET-then-PUT: the fetched record, read-only properties removed, the changed mapped fields
/// written at their update pointers, stamped. Values our unconfirmed writes sent that the
/// partner still holds and the fetched record does not show are written too (it may predate them
/// landing, and a full replacement must not put the older value back); they count as sent. The expected echo is what
/// Virtuous will hold: the fetched values overlaid with what is sent.
fn full_update(
    options: &SyncOptions,
    specs: &[FieldSpec],
    record: Option<&RecordState>,
    change: &PartnerChange,
    plan: FullPlan,
    inputs: DecisionInputs,
    now_ms: i64,
) -> Result<OutboundDecision, SyncError> {
    let kind = change.kind;
    let Some(r) = record else {
        return Err(SyncError::MissingField {
            field: "record".into(),
        });
    };
    let id = r.virtuous_id.clone().unwrap_or_default();
    let mut sent = plan.to_send.clone();
    for (f, d) in &plan.in_flight {
        if !sent.contains(f)
            && !plan.suppressed.contains(f)
            && !plan.owned.contains(f)
            && plan.digests.get(f) == Some(d)
            // Already in the fetched record: nothing to protect, and the partner may hold it
            // only because Virtuous just gave it back (never a partner change then).
            && plan.current_digests.get(f) != Some(d)
        {
            sent.push(f.clone());
        }
    }
    let built_on_ms = plan
        .current
        .get("modifiedDateTimeUtc")
        .and_then(Value::as_str)
        .and_then(|t| super::parse_utc_ms(t).ok());
    let mut body = Value::Object(plan.current);
    if let Some(pointers) = options.read_only.get(&kind) {
        for p in pointers {
            remove_pointer(&mut body, p);
        }
    }
    let mut body = match body {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut expected = plan.current_digests.clone();
    let mut next = r.clone();
    for s in specs.iter().filter(|s| sent.contains(&s.name)) {
        if let Some(v) = change.fields.get(&s.name) {
            write_pointer(&mut body, s.update_path(), wire_value(v, s.field_type));
        }
        if let Some(d) = plan.digests.get(&s.name) {
            expected.insert(s.name.clone(), d.clone());
        }
        next.overridden.remove(&s.name);
    }
    let ext = our_ref(options, &next, change);
    let (src_key, id_key) = stamp_keys(kind);
    body.insert(src_key.into(), Value::String(ext.source.clone()));
    body.insert(id_key.into(), Value::String(ext.id.clone()));
    let held: BTreeMap<String, String> = plan
        .suppressed
        .iter()
        .filter_map(|f| plan.digests.get(f).map(|d| (f.clone(), d.clone())))
        .collect();
    next.partner_id = Some(change.partner_id.clone());
    next.external_ref = Some(ext);
    next.held = held;
    next.partner_modified_ms = Some(change.modified_ms);
    next.follow_up |= !plan.awaiting.is_empty();
    let mut next = transition(&next, Trigger::PartnerWrite, now_ms)?;
    let expires = now_ms
        .checked_add(options.pending_expiry_ms)
        .unwrap_or(i64::MAX);
    next.pending_expires_ms = Some(expires);
    next.stuck = false;
    sent.sort();
    next.expected_echo.push(EchoEntry {
        fields: expected,
        sent,
        written_ms: now_ms,
        after_ms: next.virtuous_modified_ms,
        built_on_ms,
        expires_ms: expires,
        confirmed: false,
    });
    while next.expected_echo.len() > MAX_ECHO_ENTRIES {
        next.expected_echo.remove(0);
    }
    let path = match kind {
        ResourceKind::Gift => format!("/api/Gift/{id}"),
        _ => format!("/api/Contact/{id}"),
    };
    Ok(OutboundDecision {
        action: OutboundAction::Submit(Request {
            method: "PUT".into(),
            path,
            body: Value::Object(body),
        }),
        reason: Reason::PartnerChanged,
        inputs,
        suppressed_fields: plan.suppressed,
        retry_at_ms: plan.retry,
        record: Some(next),
    })
}
