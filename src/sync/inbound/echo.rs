//! The stale and echo phases of [`decide_inbound`](super::decide_inbound): an event older than
//! what we know is skipped unless it is the late echo of our newest write; an event equal to one
//! of our live writes settles it.

use super::{confirm, max_opt, newest_lands, take_overridden, Body, Inbound, InboundAction};
use super::{start_cooldown, InboundDecision};
use crate::sync::reason::Reason;
use crate::sync::record::{EchoEntry, RecordState, SyncState};
use crate::sync::state::{transition, Trigger};
use crate::sync::SyncError;
use std::collections::BTreeMap;

impl Inbound<'_> {
    /// Stale: older than the newest Virtuous version we already saw. Same timestamp: with our
    /// writes in play, two versions within one clock tick cannot be ordered; the event is treated
    /// as not newer (a same-tick staff edit is left to reconciliation).
    pub(super) fn stale(
        &self,
        body: &Body,
        r: &RecordState,
    ) -> Result<Option<InboundDecision>, SyncError> {
        let (Some(e), Some(k)) = (self.event_ms, r.virtuous_modified_ms) else {
            return Ok(None);
        };
        let stale = e < k || (e == k && !r.expected_echo.is_empty());
        if !stale {
            return Ok(None);
        }
        if newest_lands(self.options, r, &body.remote, self.event_ms) {
            return self.late_echo(body, r, e < k).map(Some);
        }
        Ok(Some(self.decision(
            InboundAction::Skip,
            Reason::Stale,
            Some(r.clone()),
        )))
    }

    /// Stale: a late echo of our newest pending write. It landed before (`older`) or in the same
    /// tick as the state we already know; confirm it. Only a same-tick one moves the base.
    fn late_echo(
        &self,
        body: &Body,
        r: &RecordState,
        older: bool,
    ) -> Result<InboundDecision, SyncError> {
        let mut next = r.clone();
        // Virtuous moved past our write: if it now holds something else for a field we wrote (a
        // newer Virtuous change, or a partner-owned field awaiting re-assertion), let the host
        // re-check the partner side.
        let follow_up = next.follow_up
            || (older
                && r.expected_echo
                    .last()
                    .is_some_and(|en| en.sent_fields().any(|(f, d)| r.base.get(f) != Some(d))));
        let mut apply = BTreeMap::new();
        if !older {
            if let Some(en) = r.expected_echo.last() {
                for (f, d) in en.sent_fields() {
                    next.base.insert(f.clone(), d.clone());
                }
            }
            apply = take_overridden(&mut next, &body.remote, &body.values);
        }
        for en in &mut next.expected_echo {
            en.confirmed = true;
        }
        next.overridden.clear();
        let (action, next) = confirm(
            next,
            self.options,
            apply,
            follow_up,
            self.resource_id.clone(),
            self.now_ms,
        )?;
        Ok(self.decision(action, Reason::Confirmed, Some(next)))
    }

    /// Echo: the event is one of our live writes coming back (see [`Inbound::matched_echo`]). It
    /// settles that write and every older one; a newer write of ours still on its way keeps its
    /// fields.
    pub(super) fn echo(
        &self,
        body: &Body,
        r: &RecordState,
        newest_landed: bool,
    ) -> Result<Option<InboundDecision>, SyncError> {
        let Some(i) = self.matched_echo(body, r, newest_landed) else {
            return Ok(None);
        };
        let mut next = r.clone();
        next.virtuous_modified_ms = max_opt(next.virtuous_modified_ms, self.event_ms);
        let superseded = next.expected_echo.iter().skip(i).any(|e| e.confirmed);
        if superseded {
            // A late or duplicate delivery of a write already confirmed (or overtaken by a
            // confirmed newer one): the base already reflects it.
            return Ok(Some(self.decision(
                InboundAction::Skip,
                Reason::Echo,
                Some(next),
            )));
        }
        let newest = i + 1 == next.expected_echo.len();
        let mut base = next
            .expected_echo
            .get(i)
            .map(|e| e.fields.clone())
            .unwrap_or_default();
        base.extend(body.remote.clone());
        next.base = base;
        for e in next.expected_echo.iter_mut().take(i + 1) {
            e.confirmed = true;
        }
        next.virtuous_id = Some(self.resource_id.clone());
        let mut apply = take_overridden(&mut next, &body.remote, &body.values);
        // Fields a newer in-flight write of ours carries: the partner's newer value is on its
        // way to Virtuous; do not pull the older one back.
        let newer_sent: Vec<String> = r
            .expected_echo
            .iter()
            .skip(i + 1)
            .flat_map(|e| e.sent_fields().map(|(f, _)| f.clone()))
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
            let mut next = transition(&next, Trigger::InboundApplied, self.now_ms)?;
            start_cooldown(&mut next, self.options, &apply, self.now_ms);
            return Ok(Some(self.decision(
                InboundAction::Apply { fields: apply },
                Reason::RemoteChanged,
                Some(next),
            )));
        }
        if next.state == SyncState::PartnerPending && newest {
            let follow_up = next.follow_up;
            let (action, next) = confirm(
                next,
                self.options,
                apply,
                follow_up,
                self.resource_id.clone(),
                self.now_ms,
            )?;
            return Ok(Some(self.decision(action, Reason::Confirmed, Some(next))));
        }
        Ok(Some(self.decision(
            InboundAction::Skip,
            Reason::Echo,
            Some(next),
        )))
    }

    /// Echo: the newest of our live writes the event echoes, if any. An older entry that matches
    /// while our newest write reads back as landed is a coincidence (e.g. the newest restored a
    /// value the older one had): the event shows the newest write, and older writes can no
    /// longer land after it (one outbox entry per record), so it is merged instead and confirms
    /// them all. The newest entry matching without showing it landed (see [`newest_lands`]) is
    /// merged too, and confirms nothing. An entry's unsent fields are the base when the write was
    /// decided. A dated event newer than everything known that shows one of them while the base
    /// has moved on (a Virtuous change was applied since) is Virtuous changing that field back,
    /// not only our write: merged too.
    fn matched_echo(&self, body: &Body, r: &RecordState, newest_landed: bool) -> Option<usize> {
        let explained = |e: &EchoEntry| {
            self.event_ms.is_none()
                || e.unsent_fields()
                    .all(|(k, d)| body.remote.get(k) != Some(d) || r.base.get(k) == Some(d))
        };
        r.expected_echo
            .iter()
            .rposition(|e| {
                (!e.confirmed || self.event_ms.is_none())
                    && echo_matches(&e.fields, &body.remote)
                    && explained(e)
            })
            .filter(|&i| {
                let newest = i + 1 == r.expected_echo.len();
                r.expected_echo.get(i).is_some_and(|e| e.confirmed) || newest == newest_landed
            })
    }
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
