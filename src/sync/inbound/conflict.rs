//! The conflict phase of [`decide_inbound`](super::decide_inbound): an event for a record in
//! `conflict`.

use super::settle_our_value;
use super::{complete_unit, explained_by_ours, max_opt, newer_carries, newest_entry_lands};
use super::{InboundAction, ItemSides};
use crate::event::ResourceKind;
use crate::sync::options::{FieldPolicy, FieldSpec, SyncOptions};
use crate::sync::record::{ConflictItem, EchoEntry, RecordState, Side};
use crate::sync::resolve::{merge_field, FieldInput, Outcome};
use crate::sync::units::{composite, consistent, remote_composite, touches};
use serde_json::Value;
use std::collections::BTreeMap;

/// Conflict: an event for a record in `conflict` (decided case 6). The items' Virtuous side is
/// kept current; every other unit keeps flowing in, as outside a conflict: our writes' echoes are
/// ours (the newest one landing settles every pending write, decided case 8, and a partner edit
/// held back since survives it, decided case 7), a staff change is applied, a unit the partner
/// also changed (`held`) goes through the policy.
pub(super) fn decide_in_conflict(
    options: &SyncOptions,
    kind: ResourceKind,
    specs: &[FieldSpec],
    r: RecordState,
    remote: &BTreeMap<String, String>,
    values: &BTreeMap<String, Value>,
    event_ms: Option<i64>,
) -> (InboundAction, RecordState) {
    let mut next = r.clone();
    refresh_items(&mut next, remote, values, event_ms);
    let fresh = match (event_ms, next.virtuous_modified_ms) {
        (Some(e), Some(k)) => e > k,
        _ => true,
    };
    let landed = newest_entry_lands(options, &r, remote, event_ms);
    let in_flight = r.in_flight();
    // The partner's side: the base, what our in-flight writes sent, Virtuous values applied over
    // them since, then its held-back edits.
    let mut local = r.base.clone();
    local.extend(in_flight.clone());
    local.extend(r.overridden.clone());
    local.extend(r.held.clone());
    let c = ConflictCtx {
        options,
        kind,
        specs,
        remote,
        values,
        event_ms,
        local,
        in_flight,
        pending: r.expected_echo.iter().filter(|e| !e.confirmed).collect(),
        landed,
    };
    let mut out = ConflictOut {
        next,
        apply: BTreeMap::new(),
        items: Vec::new(),
    };
    for unit in options.units(kind).into_iter().filter(|_| fresh) {
        conflict_unit(&c, &unit, &mut out);
    }
    let ConflictOut {
        mut next,
        apply,
        items,
    } = out;
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

/// Conflict: the items show Virtuous's side as of the newest event. A group's items take
/// Virtuous's side only from an event carrying the whole group.
fn refresh_items(
    next: &mut RecordState,
    remote: &BTreeMap<String, String>,
    values: &BTreeMap<String, Value>,
    event_ms: Option<i64>,
) {
    for item in &mut next.conflict {
        let newer = match (event_ms, item.remote_modified_ms) {
            (Some(e), Some(k)) => e >= k,
            _ => true,
        };
        let whole = item.group.iter().all(|m| values.contains_key(m));
        if let (true, true, Some(v)) = (newer, whole, values.get(&item.field)) {
            item.remote_digest = remote.get(&item.field).cloned();
            item.remote = Some(v.clone());
            item.remote_modified_ms = event_ms.or(item.remote_modified_ms);
        }
    }
}

/// What [`conflict_unit`] reads.
struct ConflictCtx<'a> {
    options: &'a SyncOptions,
    kind: ResourceKind,
    specs: &'a [FieldSpec],
    remote: &'a BTreeMap<String, String>,
    values: &'a BTreeMap<String, Value>,
    event_ms: Option<i64>,
    /// The partner's side (see [`decide_in_conflict`]).
    local: BTreeMap<String, String>,
    /// What our unconfirmed writes will leave in Virtuous.
    in_flight: BTreeMap<String, String>,
    /// Our unconfirmed writes, oldest first.
    pending: Vec<&'a EchoEntry>,
    /// The event shows the newest of them landed.
    landed: bool,
}

/// What [`conflict_unit`] decides into.
struct ConflictOut {
    next: RecordState,
    apply: BTreeMap<String, Value>,
    items: Vec<ConflictItem>,
}

impl ConflictCtx<'_> {
    /// New conflict items for the unit (the base and partner time as the record holds them now).
    fn push_items(
        &self,
        next: &RecordState,
        unit: &[String],
        policy: FieldPolicy,
        proposed: Side,
        items: &mut Vec<ConflictItem>,
    ) {
        let sides = ItemSides {
            base: &next.base,
            local: &self.local,
            remote: self.remote,
            values: self.values,
            local_ms: next.partner_unit_ms(unit),
            remote_ms: self.event_ms,
            policy,
        };
        sides.push(unit, proposed, items);
    }
}

/// Conflict: one unit outside the conflict items, decided as outside a conflict.
fn conflict_unit(c: &ConflictCtx<'_>, unit: &[String], out: &mut ConflictOut) {
    if out.next.conflict.iter().any(|i| unit.contains(&i.field)) {
        return;
    }
    let present: Vec<(&String, &String)> = unit
        .iter()
        .filter_map(|m| c.remote.get(m).map(|d| (m, d)))
        .collect();
    if present.is_empty() {
        return;
    }
    let group = unit.len() > 1;
    let policy = c
        .options
        .policy
        .for_field(c.kind, unit.first().map_or("", String::as_str));
    let (remote_c, partial) = remote_composite(c.remote, &out.next.base, unit);
    if explained_by_ours(&c.pending, unit, c.remote, c.landed) {
        settle_ours_in_conflict(c, unit, &present, out);
        return;
    }
    if group && partial {
        // The event lacks a member: Virtuous's group cannot be read whole (see merge_unit).
        return;
    }
    let consistent_remote = !group || consistent(c.specs, unit, c.values);
    if touches(&out.next.held, unit) {
        held_in_conflict(c, unit, &present, policy, remote_c, consistent_remote, out);
        return;
    }
    if policy == FieldPolicy::PartnerOwns {
        // The partner value is re-asserted after resolution.
        for (m, d) in &present {
            out.next.base.insert((*m).clone(), (*d).clone());
        }
        return;
    }
    if composite(&out.next.base, unit) == remote_c {
        return;
    }
    if !consistent_remote {
        c.push_items(&out.next, unit, policy, Side::Virtuous, &mut out.items);
        return;
    }
    // A staff change: apply it; if our write of the unit is still in flight and lands later, its
    // echo brings our value back (see `overridden`).
    let sent = touches(&c.in_flight, unit);
    for (m, d) in &present {
        out.next.base.insert((*m).clone(), (*d).clone());
        if sent {
            out.next.overridden.insert((*m).clone(), (*d).clone());
        }
        if let Some(v) = c.values.get(*m) {
            out.apply.insert((*m).clone(), v.clone());
        }
    }
}

/// Conflict: our write's echo, not a staff change. The base moves to it unless a newer write of
/// ours carries the unit (its value is on its way), and a partner edit held back since stays
/// held: it is newer than the write and goes out after the resolution.
fn settle_ours_in_conflict(
    c: &ConflictCtx<'_>,
    unit: &[String],
    present: &[(&String, &String)],
    out: &mut ConflictOut,
) {
    let held = touches(&out.next.held, unit);
    let before = out.apply.len();
    for (m, d) in present {
        if !newer_carries(&out.next, m, d) {
            settle_our_value(
                &mut out.next,
                false,
                held,
                m,
                d,
                c.values.get(*m),
                &mut out.apply,
            );
        }
    }
    if out.apply.len() != before {
        complete_unit(&mut out.apply, unit, c.values);
    }
}

/// Conflict: the partner changed the unit too (held back): the policy decides, as for any unit
/// changed on both sides.
fn held_in_conflict(
    c: &ConflictCtx<'_>,
    unit: &[String],
    present: &[(&String, &String)],
    policy: FieldPolicy,
    remote_c: Option<String>,
    consistent_remote: bool,
    out: &mut ConflictOut,
) {
    let mut held_side = out.next.base.clone();
    held_side.extend(out.next.held.clone());
    let (outcome, _) = merge_field(&FieldInput {
        policy,
        base: composite(&out.next.base, unit).as_deref(),
        local: composite(&held_side, unit).as_deref(),
        remote: remote_c.as_deref(),
        local_ms: out.next.partner_unit_ms(unit),
        remote_ms: c.event_ms,
        skew_ms: c.options.policy.skew_window_ms,
    });
    match outcome {
        Outcome::TakeRemote if !consistent_remote => {
            c.push_items(&out.next, unit, policy, Side::Virtuous, &mut out.items);
        }
        Outcome::TakeRemote | Outcome::Same => {
            if composite(&held_side, unit) != remote_c {
                for (m, _) in present {
                    if let Some(v) = c.values.get(*m) {
                        out.apply.insert((*m).clone(), v.clone());
                    }
                }
            }
            for (m, d) in present {
                out.next.held.remove(*m);
                out.next.base.insert((*m).clone(), (*d).clone());
            }
        }
        // The held value is written after resolution: it differs from what Virtuous holds now.
        Outcome::KeepLocal => {
            for (m, d) in present {
                out.next.base.insert((*m).clone(), (*d).clone());
            }
        }
        Outcome::Unchanged => {}
        Outcome::Conflict(proposed) => {
            c.push_items(&out.next, unit, policy, proposed, &mut out.items);
        }
    }
}
