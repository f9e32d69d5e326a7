//! The state machine: exactly the documented table plus the decided open cases. Anything else is
//! a [`TransitionError`], never a silent change.
//!
//! | from | trigger | to |
//! |---|---|---|
//! | `in-sync`, `virtuous-pending`, `partner-pending` | `partner-write` | `partner-pending` |
//! | `in-sync`, `virtuous-pending` | `inbound-applied` | `virtuous-pending` |
//! | `partner-pending` | `inbound-applied` | `partner-pending` (open case: non-echo change while our write is pending) |
//! | `partner-pending` | `confirmed` | `in-sync` |
//! | `virtuous-pending` | `cooldown-elapsed` (only once `cooldownUntilMs <= now`) | `in-sync` |
//! | `partner-pending` | `pending-expired` (only once `pendingExpiresMs <= now`) | `partner-pending`, `stuck: true` |
//! | any | `ambiguous` | `conflict` |
//! | `conflict` | `manual-resolution` | `in-sync` |
//! | any | `removed` (deleted / merged away) | `in-sync` with the caller's tombstone |
//!
//! `partner-write` from `virtuous-pending` is the open case "partner write during cooldown": only
//! the cooldown's fields are held back (see `decide_outbound`), the rest is written.

use super::record::{RecordState, SyncState};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Trigger {
    /// We decided to write a partner change to Virtuous.
    PartnerWrite,
    /// A non-echo inbound change was applied locally.
    InboundApplied,
    /// The webhook (or reconciliation) confirmed our pending write.
    Confirmed,
    /// The cooldown window has passed.
    CooldownElapsed,
    /// Source-of-truth resolution was ambiguous.
    Ambiguous,
    /// A human settled the conflict.
    ManualResolution,
    /// The pending write outlived its expiry.
    PendingExpired,
    /// The record was deleted or merged away in Virtuous.
    Removed,
}

impl Trigger {
    /// Every trigger.
    pub const ALL: [Trigger; 8] = [
        Trigger::PartnerWrite,
        Trigger::InboundApplied,
        Trigger::Confirmed,
        Trigger::CooldownElapsed,
        Trigger::Ambiguous,
        Trigger::ManualResolution,
        Trigger::PendingExpired,
        Trigger::Removed,
    ];
}

/// A transition the table does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransitionError {
    /// No row of the table starts in `from` with `trigger`.
    Invalid {
        /// The current state.
        from: SyncState,
        /// The trigger.
        trigger: Trigger,
    },
    /// `cooldown-elapsed` before the cooldown ended.
    CooldownActive {
        /// When it ends.
        until_ms: i64,
    },
    /// `pending-expired` before the expiry.
    NotExpired {
        /// When it expires (absent: the record has no pending expiry).
        expires_ms: Option<i64>,
    },
}

impl TransitionError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TransitionError::Invalid { .. } => "invalid-transition",
            TransitionError::CooldownActive { .. } => "cooldown-active",
            TransitionError::NotExpired { .. } => "pending-not-expired",
        }
    }
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransitionError::Invalid { from, trigger } => {
                write!(f, "no transition from {from:?} on {trigger:?}")
            }
            TransitionError::CooldownActive { until_ms } => {
                write!(f, "cooldown still active until {until_ms}")
            }
            TransitionError::NotExpired { expires_ms } => match expires_ms {
                Some(t) => write!(f, "pending write not expired before {t}"),
                None => f.write_str("record has no pending expiry"),
            },
        }
    }
}

impl std::error::Error for TransitionError {}

/// Apply one trigger to a record, following the table in the module docs.
///
/// Only the state and its bookkeeping change here (`stuck`, `lastSyncMs`, pending and cooldown
/// markers, conflict items on resolution); the decision functions set ids, digests and values.
pub fn transition(
    record: &RecordState,
    trigger: Trigger,
    now_ms: i64,
) -> Result<RecordState, TransitionError> {
    use SyncState::*;
    let from = record.state;
    let invalid = || TransitionError::Invalid { from, trigger };
    let mut next = record.clone();
    match (trigger, from) {
        (Trigger::PartnerWrite, InSync | VirtuousPending | PartnerPending) => {
            if from != PartnerPending {
                next.pending_since_ms = Some(now_ms);
                next.stuck = false;
            }
            next.state = PartnerPending;
        }
        (Trigger::InboundApplied, InSync | VirtuousPending) => next.state = VirtuousPending,
        (Trigger::InboundApplied, PartnerPending) => {}
        (Trigger::Confirmed, PartnerPending) => {
            next.state = InSync;
            next.stuck = false;
            next.pending_since_ms = None;
            next.pending_expires_ms = None;
            next.last_sync_ms = Some(now_ms);
        }
        (Trigger::CooldownElapsed, VirtuousPending) => {
            if let Some(until_ms) = record.cooldown_until_ms.filter(|u| now_ms < *u) {
                return Err(TransitionError::CooldownActive { until_ms });
            }
            next.state = InSync;
            next.cooldown_until_ms = None;
            next.cooldown_fields.clear();
            next.last_sync_ms = Some(now_ms);
        }
        (Trigger::PendingExpired, PartnerPending) => match record.pending_expires_ms {
            Some(t) if t <= now_ms => next.stuck = true,
            other => return Err(TransitionError::NotExpired { expires_ms: other }),
        },
        (Trigger::Ambiguous, _) => next.state = Conflict,
        (Trigger::ManualResolution, Conflict) => {
            next.state = InSync;
            next.conflict.clear();
            next.expected_echo.clear();
            next.overridden.clear();
            next.pending_since_ms = None;
            next.pending_expires_ms = None;
            next.stuck = false;
            next.last_sync_ms = Some(now_ms);
        }
        (Trigger::Removed, _) => {
            next.state = InSync;
            next.expected_echo.clear();
            next.conflict.clear();
            next.pending_since_ms = None;
            next.pending_expires_ms = None;
            next.cooldown_until_ms = None;
            next.cooldown_fields.clear();
            next.stuck = false;
            next.follow_up = false;
            next.overridden.clear();
            next.held.clear();
        }
        _ => return Err(invalid()),
    }
    next.version = super::record::RECORD_VERSION;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ResourceKind;

    fn rec(state: SyncState) -> RecordState {
        let mut r = RecordState::new("c", ResourceKind::Gift);
        r.state = state;
        r
    }

    #[test]
    fn documented_table() {
        use SyncState::*;
        let ok = |s, t, to| assert_eq!(transition(&rec(s), t, 0).unwrap().state, to, "{s:?} {t:?}");
        ok(InSync, Trigger::PartnerWrite, PartnerPending);
        ok(InSync, Trigger::InboundApplied, VirtuousPending);
        ok(PartnerPending, Trigger::Confirmed, InSync);
        ok(VirtuousPending, Trigger::CooldownElapsed, InSync);
        for s in SyncState::ALL {
            ok(s, Trigger::Ambiguous, Conflict);
        }
        ok(Conflict, Trigger::ManualResolution, InSync);
        ok(VirtuousPending, Trigger::PartnerWrite, PartnerPending);
        ok(PartnerPending, Trigger::InboundApplied, PartnerPending);
    }

    #[test]
    fn rejected() {
        use SyncState::*;
        for (s, t) in [
            (InSync, Trigger::Confirmed),
            (Conflict, Trigger::PartnerWrite),
            (Conflict, Trigger::InboundApplied),
            (InSync, Trigger::ManualResolution),
            (InSync, Trigger::CooldownElapsed),
            (InSync, Trigger::PendingExpired),
        ] {
            assert_eq!(
                transition(&rec(s), t, 0).unwrap_err().code(),
                "invalid-transition"
            );
        }
        let mut r = rec(VirtuousPending);
        r.cooldown_until_ms = Some(100);
        assert_eq!(
            transition(&r, Trigger::CooldownElapsed, 99)
                .unwrap_err()
                .code(),
            "cooldown-active"
        );
        assert!(transition(&r, Trigger::CooldownElapsed, 100).is_ok());
        let mut r = rec(PartnerPending);
        assert_eq!(
            transition(&r, Trigger::PendingExpired, 5)
                .unwrap_err()
                .code(),
            "pending-not-expired"
        );
        r.pending_expires_ms = Some(5);
        assert!(transition(&r, Trigger::PendingExpired, 5).unwrap().stuck);
    }
}
