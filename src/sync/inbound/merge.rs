//! The create-echo/merge and finalise phases of [`decide_inbound`](super::decide_inbound): a
//! non-echo event merged unit by unit, three-way against the base, under each unit's policy, and
//! the merged outcome made the decision.

use super::{complete_unit, confirm, explained_by_ours, max_opt, newer_carries};
use super::{settle_our_value, start_cooldown};
use super::{take_overridden, Body, Inbound, InboundAction, InboundDecision, ItemSides};
use crate::event::ResourceKind;
use crate::sync::options::{FieldSpec, SyncOptions};
use crate::sync::reason::Reason;
use crate::sync::record::{ConflictItem, EchoEntry, RecordState, Side, SyncState};
use crate::sync::resolve::{merge_field, FieldInput, Outcome};
use crate::sync::state::{transition, Trigger};
use crate::sync::units::{composite, consistent, remote_composite, touches};
use crate::sync::SyncError;
use serde_json::Value;
use std::collections::BTreeMap;

impl Inbound<'_> {
    /// Create-echo: the create-echo of our pending Transaction whose content Virtuous changed is
    /// still a confirmation (never a create); the differences are merged as Virtuous changes
    /// against what we wrote.
    fn confirms_create(&self, body: &Body, r: &RecordState) -> bool {
        let ext_matches = match (
            &r.external_ref,
            body.stamp.as_ref().and_then(|(_, id)| id.as_ref()),
        ) {
            (Some(x), Some(id)) => x.id == *id,
            (None, _) => true,
            (Some(_), None) => false,
        };
        r.state == SyncState::PartnerPending && r.virtuous_id.is_none() && body.ours && ext_matches
    }

    /// Merge: every unit of a non-echo event, three-way against the base (see [`merge_unit`]).
    pub(super) fn merge<'r>(
        &self,
        body: &Body,
        r: &'r RecordState,
        newest_landed: bool,
    ) -> Merged<'r> {
        let confirming_create = self.confirms_create(body, r);
        let (base, local) = merge_sides(r, confirming_create);
        let unconfirmed: Vec<&EchoEntry> = if confirming_create {
            Vec::new()
        } else {
            r.expected_echo.iter().filter(|e| !e.confirmed).collect()
        };
        // Confirmed writes still count as ours only for an undated event: a dated one newer than
        // everything known that equals an old write is Virtuous changing back (a revert).
        let ours_writes: Vec<&EchoEntry> = if confirming_create {
            Vec::new()
        } else {
            r.expected_echo
                .iter()
                .filter(|e| !e.confirmed || self.event_ms.is_none())
                .collect()
        };
        let mut m = Merged {
            next: r.clone(),
            apply: BTreeMap::new(),
            items: Vec::new(),
            reassert: Vec::new(),
            owned_only: false,
            confirming_create,
            unconfirmed,
        };
        for unit in self.options.units(self.kind) {
            merge_unit(
                &UnitCtx {
                    options: self.options,
                    kind: self.kind,
                    specs: self.fields,
                    r,
                    base: &base,
                    local: &local,
                    remote: &body.remote,
                    values: &body.values,
                    ours_writes: &ours_writes,
                    unconfirmed: &m.unconfirmed,
                    event_ms: self.event_ms,
                    confirming_create,
                    newest_landed,
                },
                &unit,
                &mut UnitOut {
                    next: &mut m.next,
                    apply: &mut m.apply,
                    items: &mut m.items,
                    reassert: &mut m.reassert,
                    owned_only: &mut m.owned_only,
                },
            );
        }
        m.next.virtuous_modified_ms = max_opt(m.next.virtuous_modified_ms, self.event_ms);
        m.next.virtuous_id = Some(self.resource_id.clone());
        // Virtuous moved on past our confirmed writes: a later event equal to one of them is a
        // staff edit (e.g. a revert), not an echo.
        if !m.apply.is_empty() || !m.items.is_empty() {
            m.next.expected_echo.retain(|e| !e.confirmed);
        }
        m
    }

    /// Finalise: the merged outcome becomes the decision: a confirmed create, our newest write
    /// confirmed alongside Virtuous changes, a conflict, changes to apply, or nothing to do.
    pub(super) fn finalise(
        &self,
        body: &Body,
        m: Merged<'_>,
        newest_landed: bool,
    ) -> Result<InboundDecision, SyncError> {
        if m.confirming_create {
            return self.confirm_create(m);
        }
        if newest_landed && m.items.is_empty() {
            return self.confirm_landed(body, m);
        }
        let Merged {
            next,
            apply,
            items,
            reassert,
            owned_only,
            ..
        } = m;
        let mut d = if !items.is_empty() {
            let mut next = transition(&next, Trigger::Ambiguous, self.now_ms)?;
            next.conflict = items.clone();
            start_cooldown(&mut next, self.options, &apply, self.now_ms);
            self.decision(
                InboundAction::Conflict { items, apply },
                Reason::BothChanged,
                Some(next),
            )
        } else if !apply.is_empty() {
            let mut next = transition(&next, Trigger::InboundApplied, self.now_ms)?;
            start_cooldown(&mut next, self.options, &apply, self.now_ms);
            self.decision(
                InboundAction::Apply { fields: apply },
                Reason::RemoteChanged,
                Some(next),
            )
        } else if owned_only {
            self.decision(InboundAction::Ignore, Reason::OwnedByOther, Some(next))
        } else {
            self.decision(InboundAction::Skip, Reason::NoChange, Some(next))
        };
        d.reassert_fields = reassert;
        Ok(d)
    }

    /// Finalise: our pending create confirmed. Fields still ambiguous after confirmation take
    /// Virtuous's value (it changed what we wrote, nobody else has edited the new record yet).
    fn confirm_create(&self, m: Merged<'_>) -> Result<InboundDecision, SyncError> {
        let Merged {
            mut next,
            mut apply,
            items,
            reassert,
            ..
        } = m;
        let follow_up = next.follow_up;
        next.follow_up = false;
        next.expected_echo.clear();
        let mut next = transition(&next, Trigger::Confirmed, self.now_ms)?;
        if !apply.is_empty() {
            next = transition(&next, Trigger::InboundApplied, self.now_ms)?;
            start_cooldown(&mut next, self.options, &apply, self.now_ms);
        }
        for item in items {
            if let (Some(v), Some(d)) = (item.remote, item.remote_digest) {
                next.base.insert(item.field.clone(), d);
                apply.insert(item.field, v);
            }
        }
        let mut d = self.decision(
            InboundAction::Confirm {
                virtuous_id: self.resource_id.clone(),
                apply,
                follow_up,
            },
            Reason::Confirmed,
            Some(next),
        );
        d.reassert_fields = reassert;
        Ok(d)
    }

    /// Finalise: our newest in-flight write landed alongside other Virtuous changes: confirm it,
    /// then apply the rest.
    fn confirm_landed(&self, body: &Body, m: Merged<'_>) -> Result<InboundDecision, SyncError> {
        let Merged {
            mut next,
            mut apply,
            reassert,
            unconfirmed,
            ..
        } = m;
        if let Some(e) = unconfirmed.last() {
            for (k, d) in e.sent_fields() {
                next.base.insert(k.clone(), d.clone());
            }
        }
        if !apply.is_empty() {
            next.expected_echo.retain(|e| !e.confirmed);
        }
        for e in &mut next.expected_echo {
            e.confirmed = true;
        }
        apply.extend(take_overridden(&mut next, &body.remote, &body.values));
        let follow_up = next.follow_up;
        let (action, next) = confirm(
            next,
            self.options,
            apply,
            follow_up,
            self.resource_id.clone(),
            self.now_ms,
        )?;
        let mut d = self.decision(action, Reason::Confirmed, Some(next));
        d.reassert_fields = reassert;
        Ok(d)
    }
}

/// What the merge phase leaves for finalisation.
pub(super) struct Merged<'r> {
    next: RecordState,
    apply: BTreeMap<String, Value>,
    items: Vec<ConflictItem>,
    reassert: Vec<String>,
    /// Only fields the other side owns differed.
    owned_only: bool,
    confirming_create: bool,
    /// Our writes not yet confirmed (none when confirming a create), oldest first.
    unconfirmed: Vec<&'r EchoEntry>,
}

/// The merge's base and partner side. Confirming a create: both are what we wrote. With writes
/// in flight, the partner side is the base overlaid with what they sent (newest last), then with
/// Virtuous values applied over them since. Held-back partner values are the partner's real
/// current values.
fn merge_sides(
    r: &RecordState,
    confirming_create: bool,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let (base, mut local) = if confirming_create {
        let written = r
            .expected_echo
            .last()
            .map(|e| e.fields.clone())
            .unwrap_or_else(|| r.base.clone());
        (written.clone(), written)
    } else if r.state == SyncState::PartnerPending {
        let mut local = r.base.clone();
        for e in r.expected_echo.iter().filter(|e| !e.confirmed) {
            for (k, d) in e.sent_fields() {
                local.insert(k.clone(), d.clone());
            }
        }
        for (k, d) in &r.overridden {
            local.insert(k.clone(), d.clone());
        }
        (r.base.clone(), local)
    } else {
        (r.base.clone(), r.base.clone())
    };
    for (k, d) in &r.held {
        local.insert(k.clone(), d.clone());
    }
    (base, local)
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
    ours_writes: &'a [&'a EchoEntry],
    unconfirmed: &'a [&'a EchoEntry],
    event_ms: Option<i64>,
    confirming_create: bool,
    /// The event shows our newest write landed, so every older write landed before it.
    newest_landed: bool,
}

/// What [`merge_unit`] decides into.
struct UnitOut<'a> {
    next: &'a mut RecordState,
    apply: &'a mut BTreeMap<String, Value>,
    items: &'a mut Vec<ConflictItem>,
    reassert: &'a mut Vec<String>,
    owned_only: &'a mut bool,
}

/// Whether one of our writes explains the event's values of the unit (see [`explained_by_ours`]).
fn unit_is_ours(c: &UnitCtx<'_>, unit: &[String]) -> bool {
    explained_by_ours(c.ours_writes, unit, c.remote, c.newest_landed)
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
    let sides = ItemSides {
        base: c.base,
        local: c.local,
        remote: c.remote,
        values: c.values,
        local_ms: c.r.partner_unit_ms(unit),
        remote_ms: c.event_ms,
        policy,
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
                sides.push(unit, Side::Virtuous, out.items);
                return;
            }
            take_remote_unit(c, unit, &present, out);
        }
        Outcome::Same | Outcome::Unchanged => {
            for (m, d) in &present {
                out.next.base.insert((*m).clone(), (*d).clone());
            }
        }
        Outcome::KeepLocal => keep_local_unit(c, unit, &present, reason, out),
        Outcome::Conflict(proposed) => sides.push(unit, proposed, out.items),
    }
}

/// [`merge_unit`]: Virtuous's value of the unit is taken. If our write of the unit is still in
/// flight and lands later, its echo brings our value back (see `overridden`).
fn take_remote_unit(
    c: &UnitCtx<'_>,
    unit: &[String],
    present: &[(&String, &String)],
    out: &mut UnitOut<'_>,
) {
    let differs = present.iter().any(|(m, d)| c.local.get(*m) != Some(*d));
    let sent = c
        .unconfirmed
        .iter()
        .any(|e| unit.iter().any(|m| e.sent_field(m)));
    for (m, d) in present {
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

/// [`merge_unit`]: the partner value wins over a Virtuous change (it owns the unit, or its edit is
/// the later one): record what Virtuous holds so decideOutbound restores the partner value there,
/// even if the partner later undoes its edit back to the old base. A unit Virtuous did not change
/// (`local-only`) needs no re-assertion: the partner's value is already on its way (pending
/// write) or waits for `retryAtMs` (held).
fn keep_local_unit(
    c: &UnitCtx<'_>,
    unit: &[String],
    present: &[(&String, &String)],
    reason: Reason,
    out: &mut UnitOut<'_>,
) {
    if reason == Reason::OwnedByOther {
        *out.owned_only = true;
    }
    let virtuous_changed = reason != Reason::LocalOnly;
    let reasserted = virtuous_changed
        && (reason == Reason::OwnedByOther || !c.confirming_create)
        && present.iter().any(|(m, d)| c.local.get(*m) != Some(*d));
    if reasserted {
        for (m, d) in present {
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
