//! The `types` interface <-> the core's typed values: events, triggers, reasons, actions,
//! decisions, conflict items, lookup keys, partner changes, merges and choices. Conversion only.
//!
//! Open-ended values (field values, Virtuous record bodies, request bodies) and the stored record
//! state cross as JSON text: parsed here into `serde_json::Value` / [`RecordState`] (field paths
//! in errors, as the npm package reports them) and serialised back as compact text.

use crate::bindings::exports::virtuous::sync::types as wit;
use crate::json::{self, parse};
use serde_json::Value;
use std::collections::BTreeMap;
use virtuous_sync::event::{
    Action as CAction, Event, EventType as CEventType, ResourceKind as CResourceKind,
};
use virtuous_sync::ops::{self, OpError};
use virtuous_sync::sync::{
    Choice, ConflictItem, ConflictResolution, DecisionInputs, FieldPolicy as CFieldPolicy,
    FieldResolution, InboundAction, InboundDecision, LookupKey, LookupKeys, OutboundAction,
    OutboundDecision, PartnerChange, Reason as CReason, RecordState, Request, Resolution,
    ResolveInput, Side as CSide, SideValues, SyncState as CSyncState, Trigger as CTrigger,
};
use virtuous_sync::Product as CProduct;
use wit::{
    Action as WAction, Error, EventType as WEventType, FieldPolicy as WFieldPolicy,
    Product as WProduct, Reason as WReason, ResourceKind as WResourceKind, Side as WSide,
    SyncState as WSyncState, Trigger as WTrigger,
};

/// A core value this adapter has no WIT case for. The WIT enums and variants list every case of
/// the core's (`#[non_exhaustive]`) enums, so this is never returned; it is an error, not a trap.
pub(crate) fn unmapped(what: &str) -> Error {
    json::error(OpError {
        code: "internal".into(),
        module: "ops",
        field: String::new(),
        message: format!("a {what} the WIT interface does not list"),
    })
}

to_wit!(reason, CReason => WReason, [
    NewRecord, RemoteChanged, Confirmed, Echo, Stale, NoChange, MergedAway, Deleted, Tombstoned,
    BothChanged, OwnedByOther, InConflict, UnsupportedEvent, NotSynced, OwnStampUnlinked,
    UnknownRecord, PartnerChanged, Cooldown, Coalesced, PendingCreate, AwaitingEcho, NeedsCurrent,
    RemoteFirst, Undated, UnstampedCreate, StuckPending, ManualResolution, Unchanged, LocalOnly,
    RemoteOnly, SameChange, MostRecent, VirtuousCanonical, Merged,
]);
to_wit!(sync_state, CSyncState => WSyncState, [InSync, PartnerPending, VirtuousPending, Conflict]);
to_wit!(side, CSide => WSide, [Partner, Virtuous]);
to_wit!(field_policy, CFieldPolicy => WFieldPolicy, [
    MostRecentWins, PartnerOwns, VirtuousOwns, VirtuousCanonical, Manual,
]);
to_wit!(resource_kind, CResourceKind => WResourceKind, [
    Contact, Gift, Project, FormSubmission, ContactNote, Event, RecurringGift, Campaign, Page,
    Participation,
]);
from_wit!(core_resource_kind, WResourceKind => CResourceKind, [
    Contact, Gift, Project, FormSubmission, ContactNote, Event, RecurringGift, Campaign, Page,
    Participation,
]);
to_wit!(event_type, CEventType => WEventType, [
    ContactCreate, ContactUpdate, GiftCreate, GiftUpdate, GiftDelete, ProjectCreate,
    ProjectUpdate, ProjectDelete, FormSubmission, ContactNoteCreate, ContactNoteUpdate,
    ContactNoteDelete, EventCreate, EventUpdate, EventDelete,
]);
from_wit!(core_event_type, WEventType => CEventType, [
    ContactCreate, ContactUpdate, GiftCreate, GiftUpdate, GiftDelete, ProjectCreate,
    ProjectUpdate, ProjectDelete, FormSubmission, ContactNoteCreate, ContactNoteUpdate,
    ContactNoteDelete, EventCreate, EventUpdate, EventDelete,
]);
to_wit!(product, CProduct => WProduct, [Crm, Raise, Volunteer]);
from_wit!(core_product, WProduct => CProduct, [Crm, Raise, Volunteer]);
to_wit!(action, CAction => WAction, [Create, Update, Delete, Submit]);
from_wit!(core_action, WAction => CAction, [Create, Update, Delete, Submit]);
from_wit!(trigger, WTrigger => CTrigger, [
    PartnerWrite, InboundApplied, Confirmed, CooldownElapsed, Ambiguous, ManualResolution,
    PendingExpired, Removed,
]);

fn opt_map<T, U>(v: Option<T>, f: impl FnOnce(T) -> Result<U, Error>) -> Result<Option<U>, Error> {
    v.map(f).transpose()
}

fn list<T, U>(v: Vec<T>, f: impl FnMut(T) -> Result<U, Error>) -> Result<Vec<U>, Error> {
    v.into_iter().map(f).collect()
}

/// A JSON value as text.
fn text(v: &Value) -> String {
    v.to_string()
}

/// Field name -> value, as WIT `field-values`.
fn field_values(m: BTreeMap<String, Value>) -> Vec<(String, String)> {
    m.into_iter().map(|(k, v)| (k, text(&v))).collect()
}

/// WIT `field-values` -> field name -> value; `path` names the parameter (`change.fields`).
fn core_field_values(
    pairs: Vec<(String, String)>,
    path: &str,
) -> Result<BTreeMap<String, Value>, Error> {
    pairs
        .into_iter()
        .map(|(k, v)| {
            let value = parse(&v, &format!("{path}.{k}"))?;
            Ok((k, value))
        })
        .collect()
}

/// The stored record state as JSON text.
fn record_text(r: &RecordState) -> Result<String, Error> {
    json::to_text(r)
}

/// A stored record state from JSON text (none, or `null` text: no record), migrated to the
/// current version.
pub(crate) fn record(text: Option<&String>, name: &str) -> Result<Option<RecordState>, Error> {
    let value = json::parse_opt(text, name)?;
    ops::record_state(&value, name).map_err(json::error)
}

/// A stored record state that must be there.
pub(crate) fn required_record(text: &str, name: &str) -> Result<RecordState, Error> {
    let value = parse(text, name)?;
    ops::record_state(&value, name)
        .map_err(json::error)?
        .ok_or_else(|| {
            json::error(OpError::invalid_argument(
                name,
                "a stored record state is required",
            ))
        })
}

/// The sync options from JSON text, validated.
pub(crate) fn options(text: &str) -> Result<virtuous_sync::sync::SyncOptions, Error> {
    ops::sync_options(&parse(text, "options")?, "options").map_err(json::error)
}

/// The next record state as JSON text.
pub(crate) fn state(r: &RecordState) -> Result<String, Error> {
    record_text(r)
}

/// WIT `event` -> the core's event.
pub(crate) fn event(e: wit::Event) -> Result<Event, Error> {
    Ok(Event {
        product: e.product.map(core_product).unwrap_or_default(),
        action: e.action.map(core_action),
        product_event_type: e.product_event_type,
        event_type: e.event_type.map(core_event_type),
        raw_event_type: e.raw_event_type,
        resource_kind: e.resource_kind.map(core_resource_kind),
        event_id: e.event_id,
        timestamp: e.timestamp,
        organization_id: e.organization_id,
        resource_id: e.resource_id,
        modified_date_time_utc: e.modified_date_time_utc,
        resource: opt_map(e.resource, |r| parse(&r, "event.resource"))?,
    })
}

/// The core's event -> WIT `event`.
pub(crate) fn wit_event(e: Event) -> Result<wit::Event, Error> {
    Ok(wit::Event {
        product: if e.product.is_crm() {
            None
        } else {
            Some(product(e.product)?)
        },
        action: opt_map(e.action, action)?,
        product_event_type: e.product_event_type,
        event_type: opt_map(e.event_type, event_type)?,
        raw_event_type: e.raw_event_type,
        resource_kind: opt_map(e.resource_kind, resource_kind)?,
        event_id: e.event_id,
        timestamp: e.timestamp,
        organization_id: e.organization_id,
        resource_id: e.resource_id,
        modified_date_time_utc: e.modified_date_time_utc,
        resource: e.resource.as_ref().map(text),
    })
}

fn request(r: Request) -> wit::Request {
    wit::Request {
        method: r.method,
        path: r.path,
        body: Some(&r.body).filter(|b| !b.is_null()).map(text),
    }
}

fn conflict_item(c: ConflictItem) -> Result<wit::ConflictItem, Error> {
    Ok(wit::ConflictItem {
        field: c.field,
        base: c.base,
        local: c.local.as_ref().map(text),
        local_digest: c.local_digest,
        remote: c.remote.as_ref().map(text),
        remote_digest: c.remote_digest,
        local_modified_ms: c.local_modified_ms,
        remote_modified_ms: c.remote_modified_ms,
        policy: field_policy(c.policy)?,
        proposed: side(c.proposed)?,
        group: c.group,
    })
}

fn inputs(i: DecisionInputs) -> Result<wit::DecisionInputs, Error> {
    Ok(wit::DecisionInputs {
        customer_id: i.customer_id,
        kind: opt_map(i.kind, resource_kind)?,
        state_before: opt_map(i.state_before, sync_state)?,
        event_type: opt_map(i.event_type, event_type)?,
        event_modified_ms: i.event_modified_ms,
        known_virtuous_modified_ms: i.known_virtuous_modified_ms,
        partner_modified_ms: i.partner_modified_ms,
        stamp: i.stamp,
        ours: i.ours,
        changed_fields: i.changed_fields,
        echo_entries: u32::try_from(i.echo_entries).unwrap_or(u32::MAX),
        cooldown_until_ms: i.cooldown_until_ms,
        cooldown_fields: i.cooldown_fields,
        stuck: i.stuck,
        now_ms: i.now_ms,
    })
}

fn inbound_action(a: InboundAction) -> Result<wit::InboundAction, Error> {
    use wit::InboundAction as W;
    Ok(match a {
        InboundAction::Create { fields } => W::Create(wit::FieldChanges {
            fields: field_values(fields),
        }),
        InboundAction::Apply { fields } => W::Apply(wit::FieldChanges {
            fields: field_values(fields),
        }),
        InboundAction::Confirm {
            virtuous_id,
            apply,
            follow_up,
        } => W::Confirm(wit::Confirmation {
            virtuous_id,
            apply: field_values(apply),
            follow_up,
        }),
        InboundAction::Skip => W::Skip,
        InboundAction::Remap { survivor_id } => W::Remap(wit::Remap { survivor_id }),
        InboundAction::Delete => W::Delete,
        InboundAction::Conflict { items, apply } => W::Conflict(wit::Conflict {
            items: list(items, conflict_item)?,
            apply: field_values(apply),
        }),
        InboundAction::Ignore => W::Ignore,
        InboundAction::Fetch(r) => W::Fetch(request(r)),
        InboundAction::Verify { lookup, digests } => W::Verify(wit::VerificationLookup {
            lookup: request(lookup),
            digests: digests.into_iter().collect(),
        }),
        _ => return Err(unmapped("inbound action")),
    })
}

/// The inbound decision as WIT.
pub(crate) fn inbound_decision(d: InboundDecision) -> Result<wit::InboundDecision, Error> {
    Ok(wit::InboundDecision {
        action: inbound_action(d.action)?,
        reason: reason(d.reason)?,
        inputs: inputs(d.inputs)?,
        record: opt_map(d.record.as_ref(), record_text)?,
        reassert_fields: d.reassert_fields,
    })
}

/// The outbound decision as WIT.
pub(crate) fn outbound_decision(d: OutboundDecision) -> Result<wit::OutboundDecision, Error> {
    use wit::OutboundAction as W;
    let action = match d.action {
        OutboundAction::Submit(r) => W::Submit(request(r)),
        OutboundAction::Suppress => W::Suppress,
        OutboundAction::Coalesce => W::Coalesce,
        OutboundAction::Nothing => W::Nothing,
        OutboundAction::Fetch(r) => W::Fetch(request(r)),
        OutboundAction::ApplyInbound(inbound) => W::ApplyInbound(inbound_decision(*inbound)?),
        _ => return Err(unmapped("outbound action")),
    };
    Ok(wit::OutboundDecision {
        action,
        reason: reason(d.reason)?,
        inputs: inputs(d.inputs)?,
        suppressed_fields: d.suppressed_fields,
        retry_at_ms: d.retry_at_ms,
        record: opt_map(d.record.as_ref(), record_text)?,
    })
}

/// WIT `partner-change` -> the core's change (field values parsed, `extra` a JSON object).
pub(crate) fn partner_change(c: wit::PartnerChange) -> Result<PartnerChange, Error> {
    let extra = match c.extra {
        None => None,
        Some(text) => match parse(&text, "change.extra")? {
            Value::Object(m) => Some(m),
            _ => {
                return Err(json::error(OpError::invalid_argument(
                    "change.extra",
                    "extra body content must be a JSON object",
                )))
            }
        },
    };
    Ok(PartnerChange {
        customer_id: c.customer_id,
        kind: core_resource_kind(c.kind),
        partner_id: c.partner_id,
        modified_ms: c.modified_ms,
        field_modified_ms: c.field_modified_ms.into_iter().collect(),
        fields: core_field_values(c.fields, "change.fields")?,
        extra,
        external_id: c.external_id,
        current: opt_map(c.current, |t| parse(&t, "change.current"))?,
        written: opt_map(c.written, core_request)?,
    })
}

/// WIT `request` -> the core's request (the body JSON text parsed; absent: `null`, a `GET`).
fn core_request(r: wit::Request) -> Result<Request, Error> {
    Ok(Request {
        method: r.method,
        path: r.path,
        body: match r.body {
            Some(t) => parse(&t, "change.written.body")?,
            None => Value::Null,
        },
    })
}

/// The lookup keys as WIT.
pub(crate) fn lookup_keys(k: LookupKeys) -> Result<wit::RecordLookup, Error> {
    let keys = list(k.keys, |key| {
        Ok(match key {
            LookupKey::VirtuousId(id) => wit::LookupKey::VirtuousId(id),
            LookupKey::ExternalRef(r) => wit::LookupKey::ExternalRef(wit::ExternalRef {
                source: r.source,
                id: r.id,
            }),
            LookupKey::MergedInto(id) => wit::LookupKey::MergedInto(id),
            _ => return Err(unmapped("lookup key")),
        })
    })?;
    Ok(wit::RecordLookup {
        product: if k.product.is_crm() {
            None
        } else {
            Some(product(k.product)?)
        },
        kind: opt_map(k.kind, resource_kind)?,
        keys,
    })
}

fn side_values(s: wit::SideValues, path: &str) -> Result<SideValues, Error> {
    Ok(SideValues {
        values: core_field_values(s.values, &format!("{path}.values"))?,
        modified_ms: s.modified_ms,
    })
}

/// WIT `resolve-input` -> the core's merge input.
pub(crate) fn resolve_input(i: wit::ResolveInput) -> Result<ResolveInput, Error> {
    Ok(ResolveInput {
        kind: core_resource_kind(i.kind),
        base: i.base.into_iter().collect(),
        local: side_values(i.local, "input.local")?,
        remote: side_values(i.remote, "input.remote")?,
    })
}

fn field_resolution(f: FieldResolution) -> Result<wit::FieldResolution, Error> {
    Ok(wit::FieldResolution {
        field: f.field,
        reason: reason(f.reason)?,
        winner: opt_map(f.winner, side)?,
    })
}

/// The merge result as WIT.
pub(crate) fn resolution(r: Resolution) -> Result<wit::Resolution, Error> {
    Ok(wit::Resolution {
        reason: reason(r.reason)?,
        fields: list(r.fields, field_resolution)?,
        merged: field_values(r.merged),
        apply_local: field_values(r.apply_local),
        push_remote: field_values(r.push_remote),
        conflicts: list(r.conflicts, conflict_item)?,
    })
}

/// WIT choices -> the core's choices by field (a repeated field: the last choice counts).
pub(crate) fn choices(list: Vec<(String, wit::Choice)>) -> Result<BTreeMap<String, Choice>, Error> {
    list.into_iter()
        .map(|(field, c)| {
            let choice = match c {
                wit::Choice::Partner => Choice::Partner,
                wit::Choice::Virtuous => Choice::Virtuous,
                wit::Choice::Value(v) => Choice::Value(parse(&v, &format!("choices.{field}.val"))?),
            };
            Ok((field, choice))
        })
        .collect()
}

/// The manual resolution as WIT.
pub(crate) fn conflict_resolution(r: ConflictResolution) -> Result<wit::ConflictResolution, Error> {
    Ok(wit::ConflictResolution {
        reason: reason(r.reason)?,
        record: record_text(&r.record)?,
        apply_local: field_values(r.apply_local),
        push_fields: r.push_fields,
    })
}

// ---- reconciliation ----

use virtuous_sync::reconcile::deletion::BreakerVerdict;
use virtuous_sync::reconcile::{
    FieldDrift, ItemKind as CItemKind, ItemReason as CItemReason, ReconcileInput, ReconcileItem,
    ReconciliationPlan, Resolution as CDriftResolution,
};
use wit::{DriftResolution as WDriftResolution, ItemKind as WItemKind, ItemReason as WItemReason};

to_wit!(item_kind, CItemKind => WItemKind, [
    MissedChange, ConfirmPending, LookUpPending, KeepWaiting, SurfaceUnmatched, ResolveDrift,
    Conflict, MergedAway, Held, DuplicateInVirtuous, MalformedRow, FetchFullRecord,
]);
to_wit!(item_reason, CItemReason => WItemReason, [
    UnknownLocally, NewerInVirtuous, MergedAway, ConfirmedByQuery, ConfirmedByLookup,
    StuckPending, WithinWindow, NoReferenceToLookUp, NeedsUpdateBucket, Drift, FieldConflict,
    MassChangeBreaker, ReferenceClaimedTwice, RowWithoutId, FieldsNotInRow,
]);
to_wit!(drift_resolution, CDriftResolution => WDriftResolution, [
    TakeVirtuous, TakePartner, Conflict,
]);

/// The reconciliation input as the core's JSON shape, read by the core through serde (its
/// defaults, its version check and its field paths: `stored[0].record.customerId`).
pub(crate) fn reconcile_input(i: wit::ReconcileInput) -> Result<ReconcileInput, Error> {
    let mut obj = serde_json::Map::new();
    if let Some(v) = i.version {
        obj.insert("version".into(), Value::from(v));
    }
    if let Some(c) = i.config {
        obj.insert("config".into(), parse(&c, "config")?);
    }
    let rows = i
        .rows
        .iter()
        .enumerate()
        .map(|(n, r)| parse(r, &format!("rows[{n}]")))
        .collect::<Result<Vec<_>, _>>()?;
    obj.insert("rows".into(), Value::Array(rows));
    let mut stored = Vec::with_capacity(i.stored.len());
    for (n, s) in i.stored.into_iter().enumerate() {
        let mut entry = serde_json::Map::new();
        entry.insert(
            "record".into(),
            parse(&s.record, &format!("stored[{n}].record"))?,
        );
        if let Some(p) = s.partner {
            let values = core_field_values(p.values, &format!("stored[{n}].partner.values"))?;
            let mut side = serde_json::Map::new();
            side.insert("values".into(), Value::Object(values.into_iter().collect()));
            if let Some(ms) = p.modified_ms {
                side.insert("modifiedMs".into(), Value::from(ms));
            }
            entry.insert("partner".into(), Value::Object(side));
        }
        if let Some(l) = s.lookup {
            let mut lookup = serde_json::Map::new();
            lookup.insert("found".into(), Value::Bool(l.found));
            lookup.insert("atMs".into(), Value::from(l.at_ms));
            if let Some(id) = l.virtuous_id {
                lookup.insert("virtuousId".into(), Value::String(id));
            }
            entry.insert("lookup".into(), Value::Object(lookup));
        }
        stored.push(Value::Object(entry));
    }
    obj.insert("stored".into(), Value::Array(stored));
    obj.insert("nowMs".into(), Value::from(i.now_ms));
    let value = Value::Object(obj);
    virtuous_sync::reconcile::check_input_version(&value).map_err(json::op_error)?;
    ops::input(&value, "").map_err(json::error)
}

fn field_drift(f: FieldDrift) -> Result<wit::FieldDrift, Error> {
    Ok(wit::FieldDrift {
        field: f.field,
        virtuous_value: f.virtuous_value.as_ref().map(text),
        partner_value: f.partner_value.as_ref().map(text),
        base: f.base,
        resolution: drift_resolution(f.resolution)?,
        reason: reason(f.reason)?,
        policy: field_policy(f.policy)?,
        proposed: opt_map(f.proposed, side)?,
    })
}

fn reconcile_item(i: ReconcileItem) -> Result<wit::ReconcileItem, Error> {
    Ok(wit::ReconcileItem {
        kind: item_kind(i.kind)?,
        reason: item_reason(i.reason)?,
        virtuous_id: i.virtuous_id,
        partner_id: i.partner_id,
        next_state: opt_map(i.next_state, sync_state)?,
        record: opt_map(i.record.as_ref(), record_text)?,
        event: opt_map(i.event, wit_event)?,
        request: i.request.map(|r| wit::Request {
            method: r.method,
            path: r.path,
            body: None,
        }),
        fields: list(i.fields, field_drift)?,
        unknown_fields: i.unknown_fields,
        survivor_id: i.survivor_id,
        row: i.row,
    })
}

pub(crate) fn breaker_verdict(b: BreakerVerdict) -> Result<wit::BreakerVerdict, Error> {
    let reason = match b.reason.as_str() {
        "within-threshold" => wit::BreakerReason::WithinThreshold,
        "below-minimum" => wit::BreakerReason::BelowMinimum,
        "mass-change" => wit::BreakerReason::MassChange,
        _ => return Err(unmapped("breaker reason")),
    };
    Ok(wit::BreakerVerdict {
        tripped: b.tripped,
        reason,
        changes: b.changes,
        total_records: b.total_records,
        allowed: b.allowed,
    })
}

/// The reconciliation plan as WIT.
pub(crate) fn reconciliation_plan(p: ReconciliationPlan) -> Result<wit::ReconciliationPlan, Error> {
    let counts = wit::ReconcileCounts {
        rows: p.counts.rows,
        unchanged: p.counts.unchanged,
        pending_not_stuck: p.counts.pending_not_stuck,
        skipped: p.counts.skipped,
        items: list(p.counts.items.into_iter().collect(), |(k, n)| {
            Ok((item_kind(k)?, n))
        })?,
    };
    Ok(wit::ReconciliationPlan {
        items: list(p.items, reconcile_item)?,
        counts,
        request_cost: p.request_cost,
        breaker: opt_map(p.breaker, breaker_verdict)?,
        halted: p.halted,
    })
}
