//! Deletion safety: two-phase tombstones, age guard against newer edits, and a mass-change breaker.
//!
//! * Absence from a query page is **never** deletion: paging, filters and archiving all hide
//!   records that still exist.
//! * Phase 1: a deletion signal (a `giftDelete` event, a direct `GET` answering 404, absence from a
//!   *complete* full scan) makes a **pending** tombstone and asks for a confirming lookup.
//! * Phase 2: a direct lookup answering 404 at least `confirmAfterMs` after the first signal
//!   confirms the deletion.
//! * A tombstone never overrides a newer edit: an edit on either side after the first signal
//!   drops the tombstone and keeps the record.
//! * A breaker halts the run (nothing is deleted or overwritten) when the run would delete or
//!   overwrite more than `maxShare` of the customer's records (and more than `minCount`).

use core::fmt;
use serde::{Deserialize, Serialize};

/// A caller mistake.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DeletionError {
    /// A configuration value is out of range.
    InvalidConfig {
        /// The camelCase field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl DeletionError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            DeletionError::InvalidConfig { .. } => "invalid-deletion-config",
        }
    }
}

impl fmt::Display for DeletionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeletionError::InvalidConfig { field, message } => write!(f, "{field}: {message}"),
        }
    }
}

impl std::error::Error for DeletionError {}

fn default_max_share() -> f64 {
    0.05
}
fn default_min_count() -> u64 {
    10
}
fn default_confirm() -> i64 {
    60 * 60 * 1000
}

/// The mass-change breaker's threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct BreakerConfig {
    /// Largest share (0..=1) of the customer's records one run may delete or overwrite (default 0.05).
    #[serde(default = "default_max_share")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub max_share: f64,
    /// Runs touching at most this many records never trip (default 10), so tiny customers work.
    #[serde(default = "default_min_count")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub min_count: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            max_share: default_max_share(),
            min_count: default_min_count(),
        }
    }
}

impl BreakerConfig {
    /// Checks ranges.
    pub fn validate(&self) -> Result<(), DeletionError> {
        if !self.max_share.is_finite() || !(0.0..=1.0).contains(&self.max_share) {
            return Err(DeletionError::InvalidConfig {
                field: "maxShare",
                message: format!("must be within 0..=1, got {}", self.max_share),
            });
        }
        Ok(())
    }
}

/// The breaker's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct BreakerVerdict {
    /// Whether the run must halt.
    pub tripped: bool,
    /// `within-threshold`, `below-minimum` or `mass-change`.
    #[cfg_attr(
        feature = "ts",
        ts(type = "\"within-threshold\" | \"below-minimum\" | \"mass-change\"")
    )]
    pub reason: String,
    /// Deletions plus overwrites the run would make.
    pub changes: u64,
    /// The customer's record count it was compared with.
    pub total_records: u64,
    /// The largest number of changes allowed.
    pub allowed: u64,
}

/// `floor(share × total)` computed exactly on the share's shortest decimal form, so `0.29 × 100`
/// is 29, not the 28 a binary floating-point product floors to: the breaker trips only *above*
/// the documented limit. A share outside `0..=1` or not finite counts as 0 (validated earlier).
pub fn share_of(share: f64, total: u64) -> u64 {
    if !share.is_finite() || share <= 0.0 {
        return 0;
    }
    if share >= 1.0 {
        return total;
    }
    // Rust prints the shortest decimal that reads back as the same f64, never in exponent form.
    let text = format!("{share}");
    let frac = text.split_once('.').map_or("", |(_, f)| f);
    let digits = frac.len();
    let num: u128 = frac.trim_start_matches('0').parse().unwrap_or(0);
    // At most 17 significant digits: num < 10^17, so num × total < 2^121 fits.
    let Some(den) = u32::try_from(digits)
        .ok()
        .and_then(|d| 10u128.checked_pow(d))
    else {
        // Below 10^-38 of any u64 total: less than one record.
        return 0;
    };
    let product = num.saturating_mul(u128::from(total));
    u64::try_from(product / den).unwrap_or(total).min(total)
}

/// Checks `deletes + overwrites` against the threshold.
pub fn check_breaker(
    deletes: u64,
    overwrites: u64,
    total_records: u64,
    config: &BreakerConfig,
) -> BreakerVerdict {
    let changes = deletes.saturating_add(overwrites);
    let share_allowed = share_of(config.max_share, total_records);
    let allowed = share_allowed.max(config.min_count);
    let (tripped, reason) = if changes <= config.min_count {
        (false, "below-minimum")
    } else if changes > share_allowed {
        (true, "mass-change")
    } else {
        (false, "within-threshold")
    };
    BreakerVerdict {
        tripped,
        reason: reason.into(),
        changes,
        total_records,
        allowed,
    }
}

/// What suggested the record is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum DeletionSignal {
    /// Missing from one query page (never acted on).
    AbsentFromPage,
    /// Missing from a complete full scan of the resource.
    AbsentFromFullScan,
    /// A delete webhook (`giftDelete`, `contactNoteDelete`...).
    DeleteEvent,
    /// A direct `GET` of the record answered 404.
    NotFoundOnLookup,
    /// A direct `GET` found the record (clears a pending tombstone).
    FoundOnLookup,
}

/// A tombstone not yet confirmed, as the host stored it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct PendingTombstone {
    /// When the first signal was seen.
    pub first_seen_ms: i64,
    /// The first signal.
    pub signal: DeletionSignal,
}

/// One record with a deletion signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct DeletionCandidate {
    /// The Virtuous id.
    pub virtuous_id: String,
    /// The partner id, when linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// What was observed now.
    pub signal: DeletionSignal,
    /// When it was observed.
    pub observed_at_ms: i64,
    /// The newest edit known on either side (ms), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_edit_ms: Option<i64>,
    /// The stored pending tombstone, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingTombstone>,
}

/// The decision for one candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum DeletionAction {
    /// Do nothing.
    NoAction,
    /// Store a pending tombstone and look the record up later.
    MarkPending,
    /// Keep waiting for the confirmation window.
    KeepPending,
    /// Look the record up directly now (`GET`) to confirm.
    LookUp,
    /// Delete on the partner side and keep a confirmed tombstone.
    ConfirmDelete,
    /// Drop the pending tombstone; the record lives.
    ClearTombstone,
    /// The breaker tripped: the deletion is held, nothing happens.
    Held,
}

/// A decision with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct DeletionDecision {
    /// The Virtuous id.
    pub virtuous_id: String,
    /// The partner id, when linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// The action.
    pub action: DeletionAction,
    /// Stable reason: `absence-is-not-deletion`, `first-signal`, `awaiting-confirmation`,
    /// `confirm-by-lookup`, `confirmed-by-lookup`, `newer-edit`, `found-on-lookup`,
    /// `mass-change-breaker`.
    #[cfg_attr(
        feature = "ts",
        ts(
            type = "\"absence-is-not-deletion\" | \"first-signal\" | \"awaiting-confirmation\" | \"confirm-by-lookup\" | \"confirmed-by-lookup\" | \"newer-edit\" | \"found-on-lookup\" | \"mass-change-breaker\""
        )
    )]
    pub reason: String,
    /// The pending tombstone to store (for `mark-pending`, `keep-pending`, `look-up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingTombstone>,
    /// Earliest time the confirming lookup counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_not_before_ms: Option<i64>,
}

/// Input of [`plan_deletions`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeletionInput {
    /// Records with signals.
    pub candidates: Vec<DeletionCandidate>,
    /// The customer's total record count for this resource (the breaker's base).
    pub total_records: u64,
    /// Overwrites the same run plans (from reconciliation), counted by the breaker.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub overwrites: u64,
    /// Minimum time between the first signal and the confirming lookup (default 1 h).
    #[serde(default = "default_confirm")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub confirm_after_ms: i64,
    /// The breaker threshold.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub breaker: BreakerConfig,
}

/// The deletion plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct DeletionPlan {
    /// One decision per candidate, in input order.
    pub decisions: Vec<DeletionDecision>,
    /// The breaker verdict (over confirmed deletes plus `overwrites`).
    pub breaker: BreakerVerdict,
    /// Whether the run must halt (breaker tripped); every confirm is then `held`.
    pub halted: bool,
}

/// Plans deletions (npm `planDeletions`).
pub fn plan_deletions(input: &DeletionInput) -> Result<DeletionPlan, DeletionError> {
    input.breaker.validate()?;
    if input.confirm_after_ms < 0 {
        return Err(DeletionError::InvalidConfig {
            field: "confirmAfterMs",
            message: "must not be negative".into(),
        });
    }
    let mut decisions: Vec<DeletionDecision> = input
        .candidates
        .iter()
        .map(|c| decide(c, input.confirm_after_ms))
        .collect();
    let deletes = decisions
        .iter()
        .filter(|d| d.action == DeletionAction::ConfirmDelete)
        .count() as u64;
    let breaker = check_breaker(
        deletes,
        input.overwrites,
        input.total_records,
        &input.breaker,
    );
    if breaker.tripped {
        for d in &mut decisions {
            if d.action == DeletionAction::ConfirmDelete {
                d.action = DeletionAction::Held;
                d.reason = "mass-change-breaker".into();
            }
        }
    }
    Ok(DeletionPlan {
        decisions,
        halted: breaker.tripped,
        breaker,
    })
}

fn decide(c: &DeletionCandidate, confirm_after_ms: i64) -> DeletionDecision {
    let mk = |action, reason: &str, pending: Option<PendingTombstone>, nb: Option<i64>| {
        DeletionDecision {
            virtuous_id: c.virtuous_id.clone(),
            partner_id: c.partner_id.clone(),
            action,
            reason: reason.into(),
            pending,
            confirm_not_before_ms: nb,
        }
    };
    let first_seen = c
        .pending
        .as_ref()
        .map_or(c.observed_at_ms, |p| p.first_seen_ms);
    // A newer edit always wins over a tombstone.
    if c.signal != DeletionSignal::AbsentFromPage && c.last_edit_ms.is_some_and(|e| e > first_seen)
    {
        let action = if c.pending.is_some() {
            DeletionAction::ClearTombstone
        } else {
            DeletionAction::NoAction
        };
        return mk(action, "newer-edit", None, None);
    }
    let not_before = first_seen.checked_add(confirm_after_ms).unwrap_or(i64::MAX);
    match c.signal {
        DeletionSignal::AbsentFromPage => mk(
            DeletionAction::NoAction,
            "absence-is-not-deletion",
            c.pending.clone(),
            None,
        ),
        DeletionSignal::FoundOnLookup => {
            let action = if c.pending.is_some() {
                DeletionAction::ClearTombstone
            } else {
                DeletionAction::NoAction
            };
            mk(action, "found-on-lookup", None, None)
        }
        DeletionSignal::AbsentFromFullScan | DeletionSignal::DeleteEvent => match &c.pending {
            None => mk(
                DeletionAction::MarkPending,
                "first-signal",
                Some(PendingTombstone {
                    first_seen_ms: c.observed_at_ms,
                    signal: c.signal,
                }),
                Some(not_before),
            ),
            Some(p) if c.observed_at_ms >= not_before => mk(
                DeletionAction::LookUp,
                "confirm-by-lookup",
                Some(p.clone()),
                Some(not_before),
            ),
            Some(p) => mk(
                DeletionAction::KeepPending,
                "awaiting-confirmation",
                Some(p.clone()),
                Some(not_before),
            ),
        },
        DeletionSignal::NotFoundOnLookup => match &c.pending {
            Some(_) if c.observed_at_ms >= not_before => mk(
                DeletionAction::ConfirmDelete,
                "confirmed-by-lookup",
                None,
                None,
            ),
            Some(p) => mk(
                DeletionAction::KeepPending,
                "awaiting-confirmation",
                Some(p.clone()),
                Some(not_before),
            ),
            None => mk(
                DeletionAction::MarkPending,
                "first-signal",
                Some(PendingTombstone {
                    first_seen_ms: c.observed_at_ms,
                    signal: c.signal,
                }),
                Some(not_before),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(
        signal: DeletionSignal,
        at: i64,
        pending: Option<i64>,
        edit: Option<i64>,
    ) -> DeletionCandidate {
        DeletionCandidate {
            virtuous_id: "1".into(),
            partner_id: None,
            signal,
            observed_at_ms: at,
            last_edit_ms: edit,
            pending: pending.map(|t| PendingTombstone {
                first_seen_ms: t,
                signal: DeletionSignal::DeleteEvent,
            }),
        }
    }

    #[test]
    fn two_phases() {
        use DeletionAction::*;
        use DeletionSignal::*;
        assert_eq!(
            decide(&cand(AbsentFromPage, 0, None, None), 10).action,
            NoAction
        );
        assert_eq!(
            decide(&cand(DeleteEvent, 0, None, None), 10).action,
            MarkPending
        );
        assert_eq!(
            decide(&cand(NotFoundOnLookup, 5, Some(0), None), 10).action,
            KeepPending
        );
        assert_eq!(
            decide(&cand(NotFoundOnLookup, 10, Some(0), None), 10).action,
            ConfirmDelete
        );
        assert_eq!(
            decide(&cand(NotFoundOnLookup, 10, Some(0), Some(3)), 10).action,
            ClearTombstone
        );
        assert_eq!(
            decide(&cand(FoundOnLookup, 10, Some(0), None), 10).action,
            ClearTombstone
        );
    }

    #[test]
    fn breaker() {
        let c = BreakerConfig::default();
        assert!(!check_breaker(10, 0, 20, &c).tripped);
        assert!(check_breaker(11, 0, 100, &c).tripped);
        assert!(!check_breaker(40, 10, 1000, &c).tripped);
        assert!(check_breaker(40, 11, 1000, &c).tripped);
        // Exactly at the limit never trips (0.29 × 100 is 28.999… in binary floating point).
        let exact = |share| BreakerConfig {
            max_share: share,
            min_count: 0,
        };
        let v = check_breaker(29, 0, 100, &exact(0.29));
        assert_eq!((v.tripped, v.allowed), (false, 29));
        assert!(check_breaker(30, 0, 100, &exact(0.29)).tripped);
        assert_eq!(share_of(0.07, 100), 7);
        assert_eq!(share_of(0.57, 100), 57);
        assert_eq!(share_of(1.0, u64::MAX), u64::MAX);
        assert_eq!(share_of(0.1, u64::MAX), u64::MAX / 10);
        assert_eq!(share_of(5e-324, u64::MAX), 0);
        assert_eq!(share_of(0.0, 10), 0);
        let bad = BreakerConfig {
            max_share: f64::NAN,
            min_count: 0,
        };
        assert_eq!(
            bad.validate().unwrap_err().code(),
            "invalid-deletion-config"
        );
    }
}
