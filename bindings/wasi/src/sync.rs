//! `virtuous:sync/sync`: the sync decisions as free functions with explicit options. Each
//! converts its WIT arguments to the core's types (`types.rs`), calls the core's typed decision
//! (`virtuous_sync::sync::*`) and converts the result back. The options and the stored record
//! state are read exactly as the npm package's operations read them (`ops::sync_options`,
//! `ops::record_state`), so errors carry the same codes and field paths.

use crate::bindings::exports::virtuous::sync::sync::{Guest, Json};
use crate::bindings::exports::virtuous::sync::types::{
    Choice, ConflictResolution, Error, Event, InboundDecision, OutboundDecision, PartnerChange,
    RecordLookup, Resolution, ResolveInput, Trigger,
};
use crate::json::op_error;
use crate::types as t;
use crate::Component;
use virtuous_sync::sync::{self as core, SyncOptions};

/// The keys of `event` under `options`.
pub(crate) fn lookup_keys(options: &SyncOptions, event: Event) -> Result<RecordLookup, Error> {
    t::lookup_keys(core::lookup_keys(options, &t::event(event)?))
}

/// An inbound decision under `options`.
pub(crate) fn decide_inbound(
    options: &SyncOptions,
    event: Event,
    record: Option<Json>,
    now_ms: i64,
) -> Result<InboundDecision, Error> {
    let event = t::event(event)?;
    let record = t::record(record.as_ref(), "record")?;
    let d = core::decide_inbound(options, &event, record.as_ref(), now_ms).map_err(op_error)?;
    t::inbound_decision(d)
}

/// An outbound decision under `options`.
pub(crate) fn decide_outbound(
    options: &SyncOptions,
    record: Option<Json>,
    change: PartnerChange,
    now_ms: i64,
) -> Result<OutboundDecision, Error> {
    let record = t::record(record.as_ref(), "record")?;
    let change = t::partner_change(change)?;
    let d = core::decide_outbound(options, record.as_ref(), &change, now_ms).map_err(op_error)?;
    t::outbound_decision(d)
}

/// A three-way merge under `options`.
pub(crate) fn resolve(options: &SyncOptions, input: ResolveInput) -> Result<Resolution, Error> {
    t::resolution(core::resolve(options, &t::resolve_input(input)?))
}

/// A manual conflict resolution (it needs no options).
pub(crate) fn resolve_conflict(
    record: Json,
    choices: Vec<(String, Choice)>,
    now_ms: i64,
) -> Result<ConflictResolution, Error> {
    let record = t::required_record(&record, "record")?;
    let choices = t::choices(choices)?;
    let r = core::resolve_conflict(&record, &choices, now_ms).map_err(op_error)?;
    t::conflict_resolution(r)
}

impl Guest for Component {
    fn lookup_keys(options: Json, event: Event) -> Result<RecordLookup, Error> {
        lookup_keys(&t::options(&options)?, event)
    }

    fn decide_inbound(
        options: Json,
        event: Event,
        record: Option<Json>,
        now_ms: i64,
    ) -> Result<InboundDecision, Error> {
        decide_inbound(&t::options(&options)?, event, record, now_ms)
    }

    fn decide_outbound(
        options: Json,
        record: Option<Json>,
        change: PartnerChange,
        now_ms: i64,
    ) -> Result<OutboundDecision, Error> {
        decide_outbound(&t::options(&options)?, record, change, now_ms)
    }

    fn transition(record: Json, trigger: Trigger, now_ms: i64) -> Result<Json, Error> {
        let record = t::required_record(&record, "record")?;
        let next = core::transition(&record, t::trigger(trigger), now_ms).map_err(op_error)?;
        t::state(&next)
    }

    fn resolve(options: Json, input: ResolveInput) -> Result<Resolution, Error> {
        resolve(&t::options(&options)?, input)
    }

    fn resolve_conflict(
        record: Json,
        choices: Vec<(String, Choice)>,
        now_ms: i64,
    ) -> Result<ConflictResolution, Error> {
        resolve_conflict(record, choices, now_ms)
    }
}
