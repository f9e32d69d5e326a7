//! `decide_outbound`: whether and how to write a partner-side change to Virtuous.
//!
//! Creates go through the matching Transaction endpoints (`POST /api/v2/Gift/Transaction`,
//! `POST /api/Contact/Transaction`) with the full mapped body; updates of a linked record go to
//! `PUT /api/Gift/{id}` / `PUT /api/Contact/{id}` with only the changed fields, so a concurrent
//! staff edit to another field is not overwritten. Every body is stamped with our platform name
//! and the record's stable external id (`transactionSource`/`transactionId`,
//! `referenceSource`/`referenceId`), assigned once and never regenerated.

use super::amounts::check_amounts;
use super::digest::{calendar_day, spec_digest};
use super::inbound::{decide_fetched, InboundAction, InboundDecision};
use super::money::Money;
use super::options::{FieldPolicy, FieldSpec, FieldType, SyncOptions, UpdateMode};
use super::payload::{read_field, remove_pointer, write_pointer};
use super::reason::{DecisionInputs, Reason};
use super::record::{EchoEntry, ExternalRef, RecordState, SyncState, MAX_ECHO_ENTRIES};
pub use super::request::Request;
use super::state::{transition, Trigger};
use super::units::widen;
use super::{check_record, refresh, SyncError};
use crate::event::ResourceKind;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::ops::ControlFlow;

/// A change on the partner side: the record's current values of the mapped fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
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
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
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
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
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

/// What the host should do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
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

/// The wire form of a value: money as a decimal string with at least two fraction digits.
fn wire_value(v: &Value, t: FieldType) -> Value {
    match t {
        FieldType::Money => match Money::from_json(v) {
            Ok(m) => Value::String(m.to_request_string()),
            Err(_) => v.clone(),
        },
        FieldType::Designations => match v {
            Value::Array(items) => Value::Array(items.iter().map(wire_designation).collect()),
            other => other.clone(),
        },
        FieldType::Date => match v.as_str().and_then(calendar_day) {
            Some(day) => Value::String(day),
            None => v.clone(),
        },
        FieldType::Plain => v.clone(),
    }
}

/// One designation on the wire: its `amountDesignated` as money.
fn wire_designation(item: &Value) -> Value {
    match item {
        Value::Object(map) => {
            let mut m = map.clone();
            if let Some(a) = map.get("amountDesignated") {
                m.insert("amountDesignated".into(), wire_value(a, FieldType::Money));
            }
            Value::Object(m)
        }
        other => other.clone(),
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
///
/// The phases, in order: guards, held record (tombstone, conflict), a fetched record confirming
/// our newest write first, undos awaiting an echo, the split of the changed fields, a pending
/// write, nothing to send, then the write itself (full-record or partial/create). Each phase
/// either decides or hands on to the next.
pub fn decide_outbound(
    options: &SyncOptions,
    record: Option<&RecordState>,
    change: &PartnerChange,
    now_ms: i64,
) -> Result<OutboundDecision, SyncError> {
    let mut cx = match guards(options, record, change, now_ms)? {
        ControlFlow::Break(d) => return Ok(d),
        ControlFlow::Continue(cx) => cx,
    };
    if let Some(d) = cx.held_record() {
        return Ok(d);
    }
    cx.read_current()?;
    if let Some(d) = cx.acknowledged_first()? {
        return Ok(d);
    }
    if let Some(d) = cx.confirm_first()? {
        return Ok(d);
    }
    cx.take_superseded_changes();
    let awaiting = cx.awaiting();
    // Whether an undo must wait for our pending write's echo depends on whether that write landed:
    // with full-record updates only the fetched record tells (see `Outbound::awaiting`).
    if cx.full && cx.current.is_none() && !awaiting.is_empty() {
        return Ok(cx.fetch());
    }
    let split = cx.split(&awaiting);
    if let Some(d) = cx.pending(&split)? {
        return Ok(d);
    }
    let to_send: Vec<String> = if cx.linked.is_none() {
        // A create carries the whole record.
        cx.digests.keys().cloned().collect()
    } else {
        split.send.clone()
    };
    // Full-record updates: nothing to send only because our newest pending write carries the
    // partner's values. Its body is never resent, and a decision is asked for again after a failed
    // or unacknowledged send, so only the fetched record tells whether it landed (if not, it is
    // re-issued on the fresh record, see `Outbound::awaiting`); never assume it is on its way.
    if to_send.is_empty() && cx.full && cx.current.is_none() && cx.newest_write_unconfirmed() {
        return Ok(cx.fetch());
    }
    if to_send.is_empty() {
        return Ok(cx.nothing_to_send(split));
    }
    if cx.full {
        return cx.full_write(to_send, split);
    }
    cx.write(to_send, split)
}

/// What every phase of one outbound decision reads: the checked change, the stored record and
/// the changed fields.
struct Outbound<'a> {
    options: &'a SyncOptions,
    change: &'a PartnerChange,
    now_ms: i64,
    kind: ResourceKind,
    specs: &'a [FieldSpec],
    /// The stored record, refreshed to `now_ms`.
    record: Option<RecordState>,
    inputs: DecisionInputs,
    units: Vec<Vec<String>>,
    /// Field → digest of the partner's value.
    digests: BTreeMap<String, String>,
    /// What our unconfirmed writes will leave in Virtuous (see [`RecordState::in_flight`]).
    in_flight: BTreeMap<String, String>,
    /// The changed fields, a field group widened to all its members the partner holds.
    changed: Vec<String>,
    /// The Virtuous id of a linked record (absent: the write is a create).
    linked: Option<String>,
    /// Full-record update (GET-then-PUT) of a linked record.
    full: bool,
    /// The record as just fetched, for a full-record update, when the host passed it.
    current: Option<Fetched>,
}

/// One split of the changed fields for every path after it.
struct Split {
    /// What a write would send.
    send: Vec<String>,
    /// What is held back (cooldown, undo awaiting an echo).
    suppressed: Vec<String>,
    /// What Virtuous owns (never written).
    owned: Vec<String>,
    /// What waits for our newest pending write's echo (see [`hold_all_while_awaiting`]).
    awaiting: Vec<String>,
    /// When to call again for the held-back fields (none when all await an echo).
    retry: Option<i64>,
}

impl Split {
    /// The held-back partner values, field → digest (stored as `held`).
    fn held(&self, digests: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        self.suppressed
            .iter()
            .filter_map(|f| digests.get(f).map(|d| (f.clone(), d.clone())))
            .collect()
    }
}

/// Guards: the options, the stored record and the change belong together and are valid (else an
/// error); a kind the sync does not map is nothing to do. Hands on the context with the changed
/// fields.
fn guards<'a>(
    options: &'a SyncOptions,
    record: Option<&RecordState>,
    change: &'a PartnerChange,
    now_ms: i64,
) -> Result<ControlFlow<OutboundDecision, Outbound<'a>>, SyncError> {
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
        // Partner changes are written through CRM+ links; a Raise or Volunteer link is updated
        // by its product's own events (docs/sync.md, "One partner record, several products").
        if !r.product.is_crm() {
            return Err(SyncError::ProductMismatch {
                expected: crate::product::Product::Crm,
                found: r.product,
            });
        }
        check_same_record(r, change)?;
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
    let Some(specs) = options.fields(kind) else {
        return Ok(ControlFlow::Break(decision(
            OutboundAction::Nothing,
            Reason::NotSynced,
            &inputs,
            record,
            vec![],
            None,
        )));
    };
    if !matches!(kind, ResourceKind::Gift | ResourceKind::Contact) {
        return Err(SyncError::UnsupportedKind { kind });
    }
    validate_change(specs, change)?;
    let units = options.units(kind);
    let record = record.map(|r| forget_edited_overrides(r, specs, change));
    let (digests, in_flight, changed) = changes(specs, &units, record.as_ref(), change);
    inputs.changed_fields = changed.clone();
    let linked = record.as_ref().and_then(|r| r.virtuous_id.clone());
    let full = options.update_mode == UpdateMode::Full && linked.is_some();
    Ok(ControlFlow::Continue(Outbound {
        options,
        change,
        now_ms,
        kind,
        specs,
        record,
        inputs,
        units,
        digests,
        in_flight,
        changed,
        linked,
        full,
        current: None,
    }))
}

/// Guards: the change is for the stored record (same kind, partner id and external id).
fn check_same_record(r: &RecordState, change: &PartnerChange) -> Result<(), SyncError> {
    if r.kind != change.kind {
        return Err(SyncError::KindMismatch {
            expected: r.kind,
            found: change.kind,
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
    Ok(())
}

/// A Virtuous value we gave the partner over our pending write (`overridden`) that the partner no
/// longer holds: the partner has edited the field since, so its side is that edit, not the
/// override. Kept, the merge of a later event took the override for the partner's value: a staff
/// edit back to it read as no change while the partner held another value (seed 747135,
/// `classic`: the partner's return to the pending write's value was coalesced into that write,
/// and staff then set the overriding value again).
fn forget_edited_overrides(
    mut r: RecordState,
    specs: &[FieldSpec],
    change: &PartnerChange,
) -> RecordState {
    r.overridden.retain(|k, d| {
        let spec = specs.iter().find(|s| s.name == *k);
        match (spec, change.fields.get(k)) {
            (Some(s), Some(v)) => spec_digest(v, s) == *d,
            _ => true,
        }
    });
    r
}

/// The partner's digests, what our unconfirmed writes will leave in Virtuous, and the changed
/// fields. Changed: differs from the agreed base, or from what our unconfirmed writes will leave
/// in Virtuous (a partner edit reverting an in-flight value back to the base is a change too). A
/// field whose partner value came from Virtuous over our in-flight write (`overridden`) is
/// settled by that write's echo, not by a new write. A field group is written, held and compared
/// as one unit: a change to any member carries every member the partner holds.
fn changes(
    specs: &[FieldSpec],
    units: &[Vec<String>],
    record: Option<&RecordState>,
    change: &PartnerChange,
) -> (
    BTreeMap<String, String>,
    BTreeMap<String, String>,
    Vec<String>,
) {
    let mut digests = BTreeMap::new();
    for s in specs {
        if let Some(v) = change.fields.get(&s.name) {
            digests.insert(s.name.clone(), spec_digest(v, s));
        }
    }
    let empty = BTreeMap::new();
    let base = record.map_or(&empty, |r| &r.base);
    let in_flight = record.map(RecordState::in_flight).unwrap_or_default();
    let overridden = record.map_or(&empty, |r| &r.overridden);
    let changed: Vec<String> = digests
        .iter()
        .filter(|(k, d)| {
            base.get(*k) != Some(*d)
                || (!overridden.contains_key(*k)
                    && in_flight.get(*k).is_some_and(|sent| sent != *d))
        })
        .map(|(k, _)| k.clone())
        .collect();
    let changed: Vec<String> = widen(units, &changed)
        .into_iter()
        .filter(|f| digests.contains_key(f))
        .collect();
    (digests, in_flight, changed)
}

fn decision(
    action: OutboundAction,
    reason: Reason,
    inputs: &DecisionInputs,
    record: Option<RecordState>,
    suppressed: Vec<String>,
    retry: Option<i64>,
) -> OutboundDecision {
    OutboundDecision {
        action,
        reason,
        inputs: inputs.clone(),
        suppressed_fields: suppressed,
        retry_at_ms: retry,
        record,
    }
}

impl Outbound<'_> {
    /// A decision recording what the phases looked at.
    fn done(
        &self,
        action: OutboundAction,
        reason: Reason,
        record: Option<RecordState>,
        suppressed: Vec<String>,
        retry: Option<i64>,
    ) -> OutboundDecision {
        decision(action, reason, &self.inputs, record, suppressed, retry)
    }

    /// Ask for the linked record (`GET`) for a full-record update. Nothing decided, no state
    /// changed.
    fn fetch(&self) -> OutboundDecision {
        self.done(
            OutboundAction::Fetch(fetch_request(
                self.kind,
                self.linked.as_deref().unwrap_or(""),
            )),
            Reason::NeedsCurrent,
            None,
            vec![],
            None,
        )
    }

    /// Held record: a tombstoned record takes no write. In conflict everything changed is held
    /// back until resolution, and the conflict items show the partner's latest value.
    fn held_record(&self) -> Option<OutboundDecision> {
        let r = self.record.as_ref()?;
        if r.tombstone.is_some() {
            return Some(self.done(
                OutboundAction::Nothing,
                Reason::Tombstoned,
                self.record.clone(),
                vec![],
                None,
            ));
        }
        if r.state != SyncState::Conflict {
            return None;
        }
        let change = self.change;
        let mut next = r.clone();
        for item in &mut next.conflict {
            if let Some(d) = self.digests.get(&item.field) {
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
        next.held = self
            .changed
            .iter()
            .filter_map(|f| self.digests.get(f).map(|d| (f.clone(), d.clone())))
            .collect();
        Some(self.done(
            OutboundAction::Suppress,
            Reason::InConflict,
            Some(next),
            self.changed.clone(),
            None,
        ))
    }

    /// Full-record updates: the record as just fetched, when the host passed it (checked).
    fn read_current(&mut self) -> Result<(), SyncError> {
        self.current = match (&self.linked, self.change.current.as_ref()) {
            (Some(id), Some(c)) if self.full => Some(check_current(self.specs, id, c)?),
            _ => None,
        };
        Ok(())
    }

    /// Our newest pending write's 2xx, reported by the host (`written`): the write landed, so it
    /// is confirmed first, exactly as an undated echo showing its body would (the body is what the
    /// record held once it landed; its time is unknown, so it is decided undated). Records fetched
    /// afterwards are then merged against it: one showing the old value where the write sent
    /// another is a Virtuous change after it (an A-B-A revert), never our write still in flight.
    /// Anything else (a failed or unacknowledged send reports nothing) waits for the echo.
    fn acknowledged_first(&self) -> Result<Option<OutboundDecision>, SyncError> {
        let full_mode = self.options.update_mode == UpdateMode::Full;
        let (Some(w), Some(r), true) = (&self.change.written, &self.record, full_mode) else {
            return Ok(None);
        };
        let Some((body, bd)) = acknowledged(self.specs, r, self.kind, w) else {
            return Ok(None);
        };
        let landed = r.state == SyncState::PartnerPending
            && r.expected_echo
                .last()
                .is_some_and(|e| !e.confirmed && e.shows_in(&bd));
        if !landed || unexplained(r, &bd) {
            return Ok(None);
        }
        let unsent = self.unsent();
        let mut d = inbound_first(
            self.options,
            r,
            self.change,
            &unsent,
            &self.digests,
            &body,
            self.now_ms,
        )?;
        // The write was built on the record as fetched then (`builtOnMs`, else `afterMs`): an
        // event no newer than that shows Virtuous before the write: stale from now on.
        let after = r
            .expected_echo
            .last()
            .and_then(|e| e.after_ms.max(e.built_on_ms));
        if let Some(n) = d.record.as_mut() {
            n.virtuous_modified_ms = n.virtuous_modified_ms.max(after);
        }
        let quiet = quiet_confirmation(&d);
        // Quiet (nothing for the partner to apply): the decision goes on from the confirmed
        // state, unless it would store nothing (a fetch); then, as whenever the partner must
        // apply something, the confirmation is handed over to carry out.
        if let Some(confirmed) = d
            .record
            .as_ref()
            .filter(|_| quiet && d.reason == Reason::Confirmed)
        {
            let mut rest = self.change.clone();
            rest.written = None;
            let next = decide_outbound(self.options, Some(confirmed), &rest, self.now_ms)?;
            if next.record.is_some() {
                return Ok(Some(next));
            }
        }
        Ok(Some(apply_inbound(d, &self.changed, &self.inputs)))
    }

    /// The changed fields a confirmation hands to the inbound decision as the partner's own
    /// (everything but what Virtuous owns).
    fn unsent(&self) -> Vec<String> {
        self.changed
            .iter()
            .filter(|f| self.options.policy.for_field(self.kind, f) != FieldPolicy::VirtuousOwns)
            .cloned()
            .collect()
    }

    /// The stored record waits on our newest write (partner-pending, its newest expected echo
    /// unconfirmed).
    fn newest_write_unconfirmed(&self) -> bool {
        self.record.as_ref().is_some_and(|r| {
            r.state == SyncState::PartnerPending
                && r.expected_echo.last().is_some_and(|e| !e.confirmed)
        })
    }

    /// Confirm first: a fetched record that shows our newest pending write landed confirms it
    /// first (the echo may never be told apart: a same-tick timestamp reads as stale); the
    /// decision then goes on from the confirmed state, or carries the confirmation when the
    /// partner must apply something.
    fn confirm_first(&self) -> Result<Option<OutboundDecision>, SyncError> {
        let (Some((cur, cd)), Some(r)) = (&self.current, &self.record) else {
            return Ok(None);
        };
        let landed = r
            .expected_echo
            .last()
            .is_some_and(|e| !e.confirmed && e.shows_in(cd));
        if !landed || unexplained(r, cd) {
            return Ok(None);
        }
        let unsent = self.unsent();
        let d = inbound_first(
            self.options,
            r,
            self.change,
            &unsent,
            &self.digests,
            cur,
            self.now_ms,
        )?;
        let quiet = quiet_confirmation(&d);
        match d.record {
            Some(confirmed) if quiet && d.reason == Reason::Confirmed => {
                decide_outbound(self.options, Some(&confirmed), self.change, self.now_ms).map(Some)
            }
            _ => Ok(Some(apply_inbound(d, &self.changed, &self.inputs))),
        }
    }

    /// A full-record `PUT` is sent at once and never resent later, so a fetched record that does
    /// not show our newest write means it did not land: nothing of ours is still on its way, and
    /// the write built now (the whole record) supersedes it. Nothing waits for its echo.
    fn superseded(&self) -> bool {
        self.current.as_ref().is_some_and(|(_, cd)| {
            self.record.as_ref().is_some_and(|r| {
                r.expected_echo
                    .last()
                    .is_some_and(|e| !e.confirmed && !e.shows_in(cd))
            })
        })
    }

    /// Superseded, nothing of ours is on its way: a field the fetched record holds differently
    /// from the partner is changed, even where that value is one an older pending write sent (it
    /// landed before the newer write failed, or staff set the same value): the partner's value is
    /// newer than that write, and no pending write will bring it (seed 54447, live). Not so a
    /// value Virtuous gave the partner over our pending write (`overridden`) that the partner
    /// still holds: it is no partner edit, and what the fetched record holds instead is a later
    /// Virtuous change, decided inbound. Counted as changed, a cooldown held it back as the
    /// partner's own value and it was later written over that newer Virtuous change (seed
    /// 3108171, live: a staff re-split A-B-A of the amount + designations group).
    fn take_superseded_changes(&mut self) {
        let Some((_, cd)) = self.current.as_ref().filter(|_| self.superseded()) else {
            return;
        };
        let overridden = self
            .record
            .as_ref()
            .map(|r| r.overridden.clone())
            .unwrap_or_default();
        let mut c = self.changed.clone();
        for (k, d) in &self.digests {
            if overridden.get(k) == Some(d) {
                continue;
            }
            if !c.contains(k) && cd.get(k).is_some_and(|x| x != d) {
                c.push(k.clone());
            }
        }
        self.changed = widen(&self.units, &c)
            .into_iter()
            .filter(|f| self.digests.contains_key(f))
            .collect();
        self.inputs.changed_fields = self.changed.clone();
    }

    /// Awaiting an echo: a value Virtuous may show from a state before our newest pending write
    /// (the base, or a value an older pending write sent) cannot be written yet, unless that
    /// newest write carries it: the echo of a write made now could not be told from that state.
    /// Two cases: an undo of a pending value, and a value only an older pending write carries (a
    /// newer one held the field back, and the older may have been superseded in the outbox). It
    /// waits for the newest write's echo (`followUp` then asks for this decision again); by then
    /// the older writes have landed or never will, and the base says which.
    fn awaiting(&self) -> Vec<String> {
        let superseded = self.superseded();
        match (&self.record, &self.linked) {
            (Some(_), Some(_)) if superseded => Vec::new(),
            (Some(r), Some(_)) => {
                let pending: Vec<&EchoEntry> =
                    r.expected_echo.iter().filter(|e| !e.confirmed).collect();
                self.changed
                    .iter()
                    .filter(|f| self.shown_before_newest(r, &pending, f))
                    .cloned()
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// Awaiting an echo: whether the partner's value of `f` is one Virtuous may show from a state
    /// before our newest pending write (`pending`: our unconfirmed writes, oldest first), and that
    /// write does not carry it.
    fn shown_before_newest(&self, r: &RecordState, pending: &[&EchoEntry], f: &str) -> bool {
        let Some(d) = self
            .digests
            .get(f)
            .filter(|_| self.in_flight.contains_key(f))
        else {
            return false;
        };
        !pending.last().is_some_and(|e| e.sent(f, d))
            && (r.base.get(f) == Some(d) || pending.iter().any(|e| e.sent(f, d)))
    }

    /// Split: what a write would send, what is held back (cooldown, undo awaiting an echo), what
    /// Virtuous owns. A create carries everything.
    fn split(&self, awaiting: &[String]) -> Split {
        let cooling_fields: Vec<String> = self
            .record
            .as_ref()
            .map(|r| widen(&self.units, &r.cooldown_fields))
            .unwrap_or_default();
        // Fields our newest pending write already carries with the partner's value: never sent
        // again.
        let carried: Vec<String> = match &self.record {
            Some(r) => self
                .changed
                .iter()
                .filter(|f| {
                    r.expected_echo.last().is_some_and(|e| {
                        !e.confirmed && self.digests.get(*f).is_some_and(|d| e.sent(f, d))
                    })
                })
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        let awaiting = hold_all_while_awaiting(
            self.options,
            self.kind,
            &self.changed,
            &widen(&self.units, awaiting),
            &[cooling_fields.clone(), carried].concat(),
        );
        let cooling = self
            .record
            .as_ref()
            .filter(|r| self.linked.is_some() && r.cooldown_active(self.now_ms));
        let (mut send, mut suppressed, mut owned) = (Vec::new(), Vec::new(), Vec::new());
        for f in &self.changed {
            if self.linked.is_some()
                && self.options.policy.for_field(self.kind, f) == FieldPolicy::VirtuousOwns
            {
                owned.push(f.clone());
            } else if awaiting.contains(f) || (cooling.is_some() && cooling_fields.contains(f)) {
                suppressed.push(f.clone());
            } else {
                send.push(f.clone());
            }
        }
        let retry = if suppressed.iter().all(|f| awaiting.contains(f)) {
            None
        } else {
            self.record.as_ref().and_then(|r| r.cooldown_until_ms)
        };
        Split {
            send,
            suppressed,
            owned,
            awaiting,
            retry,
        }
    }

    /// Pending: our write is in flight. A change it already carries, unchanged, is coalesced
    /// into it (a second identical write could not be told from the first); a pending create
    /// takes no update before its confirmation (`followUp` asks again then).
    fn pending(&self, split: &Split) -> Result<Option<OutboundDecision>, SyncError> {
        let Some(r) = self
            .record
            .as_ref()
            .filter(|r| r.state == SyncState::PartnerPending)
        else {
            return Ok(None);
        };
        let mut next = r.clone();
        note_partner_times(&mut next, self.change);
        next.held.clear();
        let in_flight_already = r.expected_echo.last().filter(|e| {
            !e.confirmed
                && !split.send.is_empty()
                && split
                    .send
                    .iter()
                    .all(|f| self.digests.get(f).is_some_and(|d| e.sent(f, d)))
        });
        // Full-record updates: a failed or unacknowledged `PUT` is never resent later (its body
        // would overwrite what changed in Virtuous since the fetch); the host decides again. Only
        // the fetched record tells whether that write landed: if it does not show it, the write
        // is re-issued, built on the fresh record.
        let coalesce = match (in_flight_already, self.full, &self.current) {
            (None, ..) => false,
            (Some(_), false, _) => true,
            (Some(_), true, None) => return Ok(Some(self.fetch())),
            (Some(e), true, Some((_, cd))) => e.shows_in(cd),
        };
        if coalesce {
            next.held = split.held(&self.digests);
            next.follow_up |= !split.awaiting.is_empty();
            return Ok(Some(self.done(
                OutboundAction::Coalesce,
                Reason::Coalesced,
                Some(next),
                split.suppressed.clone(),
                split.retry,
            )));
        }
        if self.linked.is_none() {
            next.follow_up = true;
            return Ok(Some(self.done(
                OutboundAction::Coalesce,
                Reason::PendingCreate,
                Some(next),
                vec![],
                None,
            )));
        }
        Ok(None)
    }

    /// Nothing to send: the record notes the partner's times and held-back values; the reason
    /// says why (held back, owned by Virtuous, or no change).
    fn nothing_to_send(&self, split: Split) -> OutboundDecision {
        let next = self.record.clone().map(|mut r| {
            r.partner_id = Some(self.change.partner_id.clone());
            note_partner_times(&mut r, self.change);
            r.held = split.held(&self.digests);
            r.follow_up |= !split.awaiting.is_empty();
            r
        });
        let (action, reason) = if !split.suppressed.is_empty() {
            let reason = if split.suppressed.iter().all(|f| split.awaiting.contains(f)) {
                Reason::AwaitingEcho
            } else {
                Reason::Cooldown
            };
            (OutboundAction::Suppress, reason)
        } else if !split.owned.is_empty() {
            (OutboundAction::Nothing, Reason::OwnedByOther)
        } else {
            (OutboundAction::Nothing, Reason::NoChange)
        };
        self.done(action, reason, next, split.suppressed, split.retry)
    }

    /// Full-record write (GET-then-PUT): without the fetched record, ask for it; a Virtuous
    /// change the state did not know is decided inbound first (see [`remote_first`]); else the
    /// whole record is written (see [`full_update`]).
    fn full_write(
        &self,
        to_send: Vec<String>,
        split: Split,
    ) -> Result<OutboundDecision, SyncError> {
        let Some((current, current_digests)) = &self.current else {
            return Ok(self.fetch());
        };
        if let Some(r) = &self.record {
            if let Some(d) = remote_first(
                self.options,
                r,
                self.change,
                &self.changed,
                &split.owned,
                &self.digests,
                current,
                current_digests,
                &self.inputs,
                self.now_ms,
            )? {
                return Ok(d);
            }
        }
        full_update(
            self.options,
            self.specs,
            self.record.as_ref(),
            self.change,
            FullPlan {
                current: current.clone(),
                current_digests: current_digests.clone(),
                digests: self.digests.clone(),
                in_flight: self.in_flight.clone(),
                to_send,
                suppressed: split.suppressed,
                owned: split.owned,
                awaiting: split.awaiting,
                retry: split.retry,
            },
            self.inputs.clone(),
            self.now_ms,
        )
    }

    /// Write: a create (the whole record through the Transaction endpoint, with `extra`) or a
    /// partial update (only the changed fields, so a concurrent staff edit to another field is
    /// not overwritten), stamped. The expected echo is what Virtuous should hold once the write
    /// lands: the base overlaid with what is sent.
    fn write(&self, to_send: Vec<String>, split: Split) -> Result<OutboundDecision, SyncError> {
        let change = self.change;
        let mut next = self
            .record
            .clone()
            .unwrap_or_else(|| RecordState::new(&self.options.customer_id, self.kind));
        let ext = our_ref(self.options, &next, change);
        let body = self.request_body(&to_send, &ext);
        let (method, path) = match (&self.linked, self.kind) {
            (None, ResourceKind::Gift) => ("POST", "/api/v2/Gift/Transaction".to_string()),
            (None, _) => ("POST", "/api/Contact/Transaction".to_string()),
            (Some(id), ResourceKind::Gift) => ("PUT", format!("/api/Gift/{id}")),
            (Some(id), _) => ("PUT", format!("/api/Contact/{id}")),
        };
        let mut expected = if self.linked.is_none() {
            BTreeMap::new()
        } else {
            next.base.clone()
        };
        for f in &to_send {
            if let Some(d) = self.digests.get(f) {
                expected.insert(f.clone(), d.clone());
            }
            // This write is now the newest for the field: an older write's echo no longer
            // decides it.
            next.overridden.remove(f);
        }
        next.partner_id = Some(change.partner_id.clone());
        next.external_ref = Some(ext);
        next.held = split.held(&self.digests);
        note_partner_times(&mut next, change);
        next.follow_up |= !split.awaiting.is_empty();
        let sent = if self.linked.is_none() {
            Vec::new()
        } else {
            to_send
        };
        let next = pending_write(&next, self.options, self.now_ms, expected, sent, None)?;
        let request = Request {
            method: method.into(),
            path,
            body: Value::Object(body),
        };
        Ok(self.done(
            OutboundAction::Submit(request),
            Reason::PartnerChanged,
            Some(next),
            split.suppressed,
            split.retry,
        ))
    }

    /// Write: the body of a create or partial update: a create's `extra`, the fields sent at
    /// their write pointers, and the stamp.
    fn request_body(&self, to_send: &[String], ext: &ExternalRef) -> Map<String, Value> {
        let (src_key, id_key) = stamp_keys(self.kind);
        let mut body = Map::new();
        if self.linked.is_none() {
            if let Some(extra) = &self.change.extra {
                for (k, v) in extra {
                    body.insert(k.clone(), v.clone());
                }
            }
        }
        for s in self.specs {
            if !to_send.contains(&s.name) {
                continue;
            }
            if let Some(v) = self.change.fields.get(&s.name) {
                write_pointer(&mut body, s.write_path(), wire_value(v, s.field_type));
            }
        }
        body.insert(src_key.into(), Value::String(ext.source.clone()));
        body.insert(id_key.into(), Value::String(ext.id.clone()));
        body
    }
}

/// Our write is now pending: `partner_pending` with a fresh expiry, and its expected echo (what
/// Virtuous will hold once it lands, and the fields it sent) as the newest entry; only the newest
/// [`MAX_ECHO_ENTRIES`] are kept.
fn pending_write(
    next: &RecordState,
    options: &SyncOptions,
    now_ms: i64,
    fields: BTreeMap<String, String>,
    sent: Vec<String>,
    built_on_ms: Option<i64>,
) -> Result<RecordState, SyncError> {
    let mut next = transition(next, Trigger::PartnerWrite, now_ms)?;
    let expires = now_ms
        .checked_add(options.pending_expiry_ms)
        .unwrap_or(i64::MAX);
    next.pending_expires_ms = Some(expires);
    next.stuck = false;
    next.expected_echo.push(EchoEntry {
        fields,
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
    Ok(next)
}

/// Full-record updates: our older writes this one supersedes for good. Each was a full `PUT`
/// (`builtOnMs`), sent at once and never resent, and the host decides again only once its send has
/// ended (a failure, a timeout, a lost response), so the record fetched for this write was read
/// after every one of them ended: a write of which that record shows nothing (no unit it sent
/// reads as sent) never landed, or landed and was overwritten before the fetch. Either way it
/// lands no later than the fetched record's `modifiedDateTimeUtc`, and a Virtuous state dated after
/// that which shows one of its values is Virtuous setting that value again (an A-B-A staff edit),
/// never its echo. Such writes are marked confirmed (settled: from now on they count as ours only
/// for an undated event, as any confirmed write), oldest first, stopping at the first one the
/// record shows something of (it landed; its echo may still be told by its values) or that was no
/// full `PUT`, so the confirmed entries stay the oldest. Left pending, a staff edit back to such a
/// write's value passed for its late echo while a newer write carried the unit: nothing was applied
/// and the partner kept the older Virtuous value (live seed 847038). Returns whether any was
/// retired.
fn retire_superseded(
    next: &mut RecordState,
    units: &[Vec<String>],
    current: &BTreeMap<String, String>,
) -> bool {
    let mut retired = false;
    for e in next.expected_echo.iter_mut().filter(|e| !e.confirmed) {
        // A member the fetched record lacks is unknown: it may show the write.
        let shows = |unit: &Vec<String>| {
            let sent: Vec<&String> = unit.iter().filter(|m| e.sent_field(m)).collect();
            !sent.is_empty()
                && sent
                    .iter()
                    .all(|m| current.get(*m).is_none_or(|d| e.fields.get(*m) == Some(d)))
        };
        let lone: Vec<Vec<String>> = e
            .sent_fields()
            .filter(|(f, _)| !units.iter().any(|u| u.contains(f)))
            .map(|(f, _)| vec![f.clone()])
            .collect();
        if e.built_on_ms.is_none() || units.iter().chain(&lone).any(shows) {
            break;
        }
        e.confirmed = true;
        retired = true;
    }
    retired
}

/// A confirmation with nothing for the partner to apply: the decision can go on from the
/// confirmed state.
fn quiet_confirmation(d: &InboundDecision) -> bool {
    d.reassert_fields.is_empty()
        && matches!(&d.action, InboundAction::Confirm { apply, follow_up, .. }
            if apply.is_empty() && !follow_up)
}

/// `GET` of a linked record, for a full-record update (the body is `null`).
fn fetch_request(kind: ResourceKind, id: &str) -> Request {
    Request::get_record(kind, id)
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

/// Whether the fetched record holds, for a mapped field, a value the stored state cannot account
/// for (neither the base nor a value one of our unconfirmed writes sent): a Virtuous change it
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

/// did not know.
fn unexplained(r: &RecordState, current_digests: &BTreeMap<String, String>) -> bool {
    current_digests.iter().any(|(f, d)| {
        r.base.get(f) != Some(d) && !r.expected_echo.iter().any(|e| !e.confirmed && e.sent(f, d))
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
        ..Default::default()
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
    note_partner_times(&mut next, change);
    next.follow_up |= !plan.awaiting.is_empty();
    crate::sort::sort(&mut sent);
    let retired = built_on_ms.is_some()
        && retire_superseded(&mut next, &options.units(kind), &plan.current_digests);
    let mut next = pending_write(&next, options, now_ms, expected, sent, built_on_ms)?;
    if retired {
        // An event no newer than the record this write is built on shows Virtuous before it,
        // when a retired write may still have been landing: stale from now on.
        next.virtuous_modified_ms = next.virtuous_modified_ms.max(built_on_ms);
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
