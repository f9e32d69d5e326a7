//! `decide_inbound`: what to do with one normalised Virtuous webhook event.
//!
//! **Echo rule.** The stamp (`transactionSource` / `referenceSource`) only says a record is ours —
//! who *created* it. An event is an echo only when its mapped fields equal one of our live
//! expected-echo entries (digests of what we last wrote); a staff edit to a record we created
//! therefore differs from every entry and is applied as new data, with the changed fields named.
//! A create carrying our stamp for a record whose create Transaction is pending is its
//! confirmation (the Virtuous id is captured), never a create; with no local record at all it is
//! ignored (`own-stamp-unlinked`) for reconciliation to link by external id.
//!
//! **Phases.** One decision runs its phases in order over one context value (`Inbound`), each
//! deciding or handing on: guards, tombstones and new record (here), conflict (`conflict`),
//! stale and echo (`echo`), create-echo/merge and finalise (`merge`).

mod conflict;
mod echo;
mod merge;

use super::digest::spec_digest;
use super::options::{FieldPolicy, FieldSpec, SyncOptions, UndatedEvents, UnstampedCreates};
use super::payload::read_field;
use super::reason::{DecisionInputs, Reason};
use super::record::{ConflictItem, EchoEntry, RecordState, Side, SyncState, Tombstone};
use super::request::Request;
use super::state::{transition, Trigger};
use super::units::group_list;
use super::{check_record, parse_utc_ms, refresh, SyncError};
use crate::event::{Action, Event, ResourceKind};
use conflict::decide_in_conflict;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ops::ControlFlow;

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
        ResourceKind::Contact => contact_stamp(options, res),
        _ => None,
    }
}

/// A contact's stamp: the first of its `contactReferences` that names us, else
/// `referenceSource`/`referenceId`, else its first reference with a source.
fn contact_stamp(options: &SyncOptions, res: &Value) -> Option<(String, Option<String>)> {
    let mut found: Option<(String, Option<String>)> = str_at(res, "referenceSource")
        .map(|s| (s.to_string(), res.get("referenceId").and_then(json_id)));
    let refs = res.get("contactReferences").and_then(Value::as_array);
    for r in refs.into_iter().flatten() {
        let Some(s) = str_at(r, "source") else {
            continue;
        };
        let cand = (s.to_string(), r.get("id").and_then(json_id));
        let ours = options.name_match.matches(&options.platform_name, s);
        if ours || found.is_none() {
            found = Some(cand);
        }
        if ours {
            break;
        }
    }
    found
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
            && e.shows_in(remote)
    })
}

/// Whether one of our writes (`writes`, oldest first) explains the event's values of `unit`: it
/// sent a member, and every member the event carries reads as that write left it. Once the event
/// shows our newest write landed (`landed`), every older one landed before it (one outbox entry
/// per record, sent in order), so only the newest write that sent the unit can explain it: an
/// older write's value there is a staff edit back to it (A-B-A), not our echo (`classic` seed
/// 879684).
fn explained_by_ours(
    writes: &[&EchoEntry],
    unit: &[String],
    remote: &BTreeMap<String, String>,
    landed: bool,
) -> bool {
    let present: Vec<&String> = unit.iter().filter(|m| remote.contains_key(*m)).collect();
    if present.is_empty() {
        return false;
    }
    let explains = |e: &EchoEntry| present.iter().all(|m| e.fields.get(*m) == remote.get(*m));
    let mut senders = writes
        .iter()
        .filter(|e| unit.iter().any(|m| e.sent_field(m)));
    if landed {
        senders.next_back().is_some_and(|e| explains(e))
    } else {
        senders.any(|e| explains(e))
    }
}

/// Whether a write of ours newer than the one that sent `digest` for `field` also carries the
/// field and is still pending (its value is on its way, so Virtuous showing `digest` is not final).
fn newer_carries(r: &RecordState, field: &str, digest: &str) -> bool {
    r.expected_echo
        .iter()
        .rposition(|e| e.sent(field, digest))
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
    crate::sort::sort(&mut r.cooldown_fields);
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
    Request::get_record(kind, id)
}

/// The phases of an inbound decision, in order: guards, tombstones, new record, conflict, stale,
/// echo, create-echo/merge, finalise. Each phase either decides or hands on to the next, so a
/// phase only sees events every earlier phase let through.
fn decide(
    options: &SyncOptions,
    event: &Event,
    record: Option<&RecordState>,
    now_ms: i64,
    fetched: bool,
) -> Result<InboundDecision, SyncError> {
    if !event.product.is_crm() {
        return decide_product(options, event, record, now_ms, fetched);
    }
    decide_crm(options, event, record, now_ms, fetched)
}

/// A Raise or Volunteer event, decided by the same rules as a CRM+ one on its own link, from
/// the event's kind and action (a Raise `donor-update` is decided as a contact update), under the
/// product's options ([`SyncOptions::for_product`]). Such a record has no CRM+ REST record to
/// fetch, so an undated event is ignored (`undated`) unless the product's `undatedEvents` is
/// `decide`; a delete tombstones this link and is otherwise ignored (reason `deleted`), since the
/// partner record may have other links.
fn decide_product(
    options: &SyncOptions,
    event: &Event,
    record: Option<&RecordState>,
    now_ms: i64,
    fetched: bool,
) -> Result<InboundDecision, SyncError> {
    if let Some(r) = record {
        if r.product != event.product {
            return Err(SyncError::ProductMismatch {
                expected: r.product,
                found: event.product,
            });
        }
    }
    let view = options.for_product(event.product);
    let mut d = decide_crm(&view, event, record, now_ms, fetched)?;
    match d.action {
        InboundAction::Fetch(_) | InboundAction::Verify { .. } => {
            d.action = InboundAction::Ignore;
            d.reason = Reason::Undated;
        }
        // A delete retires this link only: the partner record may have other links.
        InboundAction::Delete => d.action = InboundAction::Ignore,
        _ => {}
    }
    if let Some(r) = d.record.as_mut() {
        r.product = event.product;
    }
    Ok(d)
}

fn decide_crm(
    options: &SyncOptions,
    event: &Event,
    record: Option<&RecordState>,
    now_ms: i64,
    fetched: bool,
) -> Result<InboundDecision, SyncError> {
    let (mut cx, record) = match guards(options, event, record, now_ms, fetched)? {
        ControlFlow::Break(d) => return Ok(d),
        ControlFlow::Continue(go) => go,
    };
    if let Some(d) = cx.removed(record.as_ref())? {
        return Ok(d);
    }
    let Some(res) = cx.resource else {
        return Ok(cx.decision(InboundAction::Ignore, Reason::UnsupportedEvent, record));
    };
    if let Some(d) = cx.merged_away(record.as_ref(), res)? {
        return Ok(d);
    }
    let body = cx.read_body(res);
    let Some(r) = record else {
        return cx.new_record(body);
    };
    cx.inputs.changed_fields = body
        .remote
        .iter()
        .filter(|(k, d)| r.base.get(*k) != Some(*d))
        .map(|(k, _)| k.clone())
        .collect();
    if let Some(d) = cx.needs_lookup(&body, &r) {
        return Ok(d);
    }
    // Conflict: hold everything, keep the items' Virtuous side current.
    if r.state == SyncState::Conflict {
        let (action, next) = decide_in_conflict(
            options,
            cx.kind,
            cx.fields,
            r,
            &body.remote,
            &body.values,
            cx.event_ms,
        );
        return Ok(cx.decision(action, Reason::InConflict, Some(next)));
    }
    if let Some(d) = cx.stale(&body, &r)? {
        return Ok(d);
    }
    let newest_landed = newest_lands(options, &r, &body.remote, cx.event_ms);
    if let Some(d) = cx.echo(&body, &r, newest_landed)? {
        return Ok(d);
    }
    let merged = cx.merge(&body, &r, newest_landed);
    cx.finalise(&body, merged, newest_landed)
}

/// What every phase of one inbound decision reads: the checked event, and what the decision has
/// looked at so far (`inputs` grows as the phases read more of the event).
struct Inbound<'a> {
    options: &'a SyncOptions,
    now_ms: i64,
    /// The event is a record the host just fetched (see [`decide_fetched`]).
    fetched: bool,
    action: Action,
    kind: ResourceKind,
    fields: &'a [FieldSpec],
    resource: Option<&'a Value>,
    resource_id: String,
    event_ms: Option<i64>,
    inputs: DecisionInputs,
}

/// The event's body as the sync reads it: the stamp, and the mapped fields' values and digests.
struct Body {
    stamp: Option<(String, Option<String>)>,
    /// The stamp names us.
    ours: bool,
    values: BTreeMap<String, Value>,
    remote: BTreeMap<String, String>,
    /// No stamp field at all: it may be the batch's record of a create of ours.
    may_be_ours: bool,
}

fn decision(
    action: InboundAction,
    reason: Reason,
    inputs: &DecisionInputs,
    record: Option<RecordState>,
) -> InboundDecision {
    InboundDecision {
        action,
        reason,
        inputs: inputs.clone(),
        record,
        reassert_fields: Vec::new(),
    }
}

/// Guards: the options and the stored record are valid and belong to this event (else an error);
/// an event the sync cannot use is ignored with its reason. Hands on the context and the record,
/// refreshed to `now_ms`.
fn guards<'a>(
    options: &'a SyncOptions,
    event: &'a Event,
    record: Option<&RecordState>,
    now_ms: i64,
    fetched: bool,
) -> Result<ControlFlow<InboundDecision, (Inbound<'a>, Option<RecordState>)>, SyncError> {
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
    let ignore = |reason, inputs: &DecisionInputs, record| {
        ControlFlow::Break(decision(InboundAction::Ignore, reason, inputs, record))
    };
    // CRM+ events by their type; Raise and Volunteer events by their kind and action.
    let (action, kind) = match (event.event_type, event.resource_kind, event.action) {
        (Some(t), ..) => (t.action(), t.resource_kind()),
        (None, Some(k), Some(a)) if !event.product.is_crm() && a != Action::Submit => (a, k),
        _ => return Ok(ignore(Reason::UnsupportedEvent, &inputs, record)),
    };
    if let Some(r) = &record {
        if r.kind != kind {
            return Err(SyncError::KindMismatch {
                expected: r.kind,
                found: kind,
            });
        }
    }
    let Some(fields) = options.fields(kind) else {
        return Ok(ignore(Reason::NotSynced, &inputs, record));
    };
    let resource = event.resource.as_ref().filter(|v| v.is_object());
    let resource_id = event
        .resource_id
        .clone()
        .or_else(|| resource.and_then(|r| r.get("id")).and_then(json_id));
    let Some(resource_id) = resource_id else {
        return Ok(ignore(Reason::UnsupportedEvent, &inputs, record));
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
    let event_ms = event_time(event, resource)?;
    inputs.event_modified_ms = event_ms;
    let cx = Inbound {
        options,
        now_ms,
        fetched,
        action,
        kind,
        fields,
        resource,
        resource_id,
        event_ms,
        inputs,
    };
    Ok(ControlFlow::Continue((cx, record)))
}

/// The event's `modifiedDateTimeUtc` (the envelope's, else the resource's); absent: undated.
fn event_time(event: &Event, resource: Option<&Value>) -> Result<Option<i64>, SyncError> {
    let modified_text = event.modified_date_time_utc.clone().or_else(|| {
        resource
            .and_then(|r| str_at(r, "modifiedDateTimeUtc"))
            .map(str::to_string)
    });
    match modified_text {
        Some(t) => Ok(Some(parse_utc_ms(&t).map_err(|error| {
            SyncError::BadTime {
                field: "modifiedDateTimeUtc".into(),
                error,
            }
        })?)),
        None => Ok(None),
    }
}

impl Inbound<'_> {
    /// A decision recording what the phases have looked at so far.
    fn decision(
        &self,
        action: InboundAction,
        reason: Reason,
        record: Option<RecordState>,
    ) -> InboundDecision {
        decision(action, reason, &self.inputs, record)
    }

    /// Tombstones: a tombstoned record ignores every later event. A delete tombstones the record,
    /// also when we never had it, so an older, reordered event never creates or resurrects it.
    fn removed(&self, record: Option<&RecordState>) -> Result<Option<InboundDecision>, SyncError> {
        if record.is_some_and(|r| r.tombstone.is_some()) {
            return Ok(Some(self.decision(
                InboundAction::Ignore,
                Reason::Tombstoned,
                record.cloned(),
            )));
        }
        if self.action != Action::Delete {
            return Ok(None);
        }
        let (action, reason) = match record {
            Some(_) => (InboundAction::Delete, Reason::Deleted),
            None => (InboundAction::Ignore, Reason::UnknownRecord),
        };
        let next = self.tombstoned(record.cloned(), Tombstone::Deleted)?;
        Ok(Some(self.decision(action, reason, next)))
    }

    /// Tombstones: a contact merged away is tombstoned with its survivor (the tombstone is stored
    /// even without a local record to remap).
    fn merged_away(
        &self,
        record: Option<&RecordState>,
        res: &Value,
    ) -> Result<Option<InboundDecision>, SyncError> {
        if self.kind != ResourceKind::Contact {
            return Ok(None);
        }
        let survivor = res.get("mergedIntoContactId").and_then(json_id);
        let Some(survivor) = survivor.filter(|s| *s != self.resource_id) else {
            return Ok(None);
        };
        if record.is_none()
            && unstamped(self.kind, res)
            && self.options.unstamped_creates == UnstampedCreates::Verify
        {
            // Merged away before we saw it: without a stamp it may be the batch's record of a
            // create of ours, which must learn of the merge (the lookup carries the stamp).
            let (_, digests) = remote_values(self.fields, res);
            return Ok(Some(self.decision(
                InboundAction::Verify {
                    lookup: lookup_request(self.kind, &self.resource_id),
                    digests,
                },
                Reason::UnstampedCreate,
                None,
            )));
        }
        let action = match record {
            Some(_) => InboundAction::Remap {
                survivor_id: survivor.clone(),
            },
            None => InboundAction::Ignore,
        };
        let next = self.tombstoned(record.cloned(), Tombstone::MergedInto(survivor))?;
        Ok(Some(self.decision(action, Reason::MergedAway, next)))
    }

    /// The record (a fresh one when we never had it) with the tombstone set.
    fn tombstoned(
        &self,
        record: Option<RecordState>,
        tombstone: Tombstone,
    ) -> Result<Option<RecordState>, SyncError> {
        let mut next = match record {
            Some(r) => transition(&r, Trigger::Removed, self.now_ms)?,
            None => RecordState::new(&self.options.customer_id, self.kind),
        };
        next.tombstone = Some(tombstone);
        next.virtuous_id = Some(self.resource_id.clone());
        next.virtuous_modified_ms = max_opt(next.virtuous_modified_ms, self.event_ms);
        Ok(Some(next))
    }

    /// Reads the stamp and the mapped fields; the inputs record the stamp.
    fn read_body(&mut self, res: &Value) -> Body {
        let stamp = stamp(self.options, self.kind, res);
        let ours = stamp.as_ref().is_some_and(|(s, _)| {
            self.options
                .name_match
                .matches(&self.options.platform_name, s)
        });
        self.inputs.stamp = stamp.as_ref().map(|(s, _)| s.clone());
        self.inputs.ours = ours;
        let (values, remote) = remote_values(self.fields, res);
        Body {
            stamp,
            ours,
            values,
            remote,
            may_be_ours: unstamped(self.kind, res),
        }
    }

    /// A create (or an update overtaking its create) without any stamp field may be the batch's
    /// record of a create of ours: only the REST record's stamp tells.
    fn verify(&self, body: &Body) -> InboundDecision {
        self.decision(
            InboundAction::Verify {
                lookup: lookup_request(self.kind, &self.resource_id),
                digests: body.remote.clone(),
            },
            Reason::UnstampedCreate,
            None,
        )
    }

    /// New record: no local record, so create it, unless it is ours (or may be: no stamp field at
    /// all).
    fn new_record(&mut self, body: Body) -> Result<InboundDecision, SyncError> {
        if body.ours {
            return Ok(self.decision(InboundAction::Ignore, Reason::OwnStampUnlinked, None));
        }
        if body.may_be_ours && self.options.unstamped_creates == UnstampedCreates::Verify {
            return Ok(self.verify(&body));
        }
        self.inputs.changed_fields = body.values.keys().cloned().collect();
        let mut next = RecordState::new(&self.options.customer_id, self.kind);
        next.virtuous_id = Some(self.resource_id.clone());
        next.virtuous_modified_ms = self.event_ms;
        next.base = body.remote;
        let mut next = transition(&next, Trigger::InboundApplied, self.now_ms)?;
        start_cooldown(&mut next, self.options, &body.values, self.now_ms);
        Ok(self.decision(
            InboundAction::Create {
                fields: body.values,
            },
            Reason::NewRecord,
            Some(next),
        ))
    }

    /// Guards of a known record: an event that cannot be decided as it is asks for a lookup.
    fn needs_lookup(&self, body: &Body, r: &RecordState) -> Option<InboundDecision> {
        // Handed a record without a Virtuous id (a pending create of ours) for an event without
        // any stamp: only the stamp can tell whether it is that create. Values never do: two
        // pending creates, or a staff record, can show exactly the values a create of ours sent.
        if r.virtuous_id.is_none()
            && body.may_be_ours
            && self.options.unstamped_creates == UnstampedCreates::Verify
        {
            return Some(self.verify(body));
        }
        // An undated event cannot be ordered against what we know: a reordered older delivery
        // would put old values back, and one showing exactly what the state holds may be the
        // newest version (Virtuous changing a field and back, A-B-A, with the B's dated delivery
        // still to come: the undated A would leave no trace, and the B would then be applied over
        // it). Decide the record as fetched instead: its `modifiedDateTimeUtc` orders everything
        // delivered later.
        if self.event_ms.is_none()
            && !self.fetched
            && self.options.undated_events == UndatedEvents::Fetch
        {
            let id = r
                .virtuous_id
                .clone()
                .unwrap_or_else(|| self.resource_id.clone());
            return Some(self.decision(
                InboundAction::Fetch(lookup_request(self.kind, &id)),
                Reason::Undated,
                None,
            ));
        }
        None
    }
}

/// The sides of the conflict items a unit becomes.
struct ItemSides<'a> {
    base: &'a BTreeMap<String, String>,
    local: &'a BTreeMap<String, String>,
    remote: &'a BTreeMap<String, String>,
    values: &'a BTreeMap<String, Value>,
    local_ms: Option<i64>,
    remote_ms: Option<i64>,
    policy: FieldPolicy,
}

impl ItemSides<'_> {
    /// One conflict item per member of the unit (a group's items carry the whole group).
    fn push(&self, unit: &[String], proposed: Side, items: &mut Vec<ConflictItem>) {
        for m in unit {
            items.push(ConflictItem {
                field: m.clone(),
                base: self.base.get(m).cloned(),
                local: None,
                local_digest: self.local.get(m).cloned(),
                remote: self.values.get(m).cloned(),
                remote_digest: self.remote.get(m).cloned(),
                local_modified_ms: self.local_ms,
                remote_modified_ms: self.remote_ms,
                policy: self.policy,
                proposed,
                group: group_list(unit),
            });
        }
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
