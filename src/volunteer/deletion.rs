//! Volunteer deletions: polling never sees them (a deleted row simply stops appearing), so the
//! only first signal is absence from a **complete** full scan (the daily or weekly full
//! reconciliation), and the only confirmation a direct `GET /v1/{resource}/{id}` answering 404 at
//! least `confirmAfterMs` later. The tombstones, the age guard and the mass-change breaker are
//! the CRM+ ones ([`crate::reconcile::deletion`]); this module refuses an absence that an
//! incomplete scan reported, names the confirming lookups, and also trips the breaker on a scan
//! that lost more than the breaker allows at once (nothing is even marked then).

use super::poll::{FullScan, PollConfig, VolunteerResource};
use crate::reconcile::deletion::{
    check_breaker, plan_deletions, BreakerConfig, DeletionAction, DeletionCandidate, DeletionInput,
    DeletionPlan, DeletionSignal,
};
use core::fmt;
use serde::{Deserialize, Serialize};

/// Why a deletion plan was refused.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum VolunteerDeletionError {
    /// A candidate is absent from a full scan, but no complete scan of this resource was given.
    ScanIncomplete {
        /// What is missing.
        message: String,
    },
    /// A configuration value is out of range (the CRM+ deletion codes).
    Deletion(crate::reconcile::deletion::DeletionError),
    /// The base URL is not one a poll accepts.
    Config(super::poll::PollError),
}

impl VolunteerDeletionError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            VolunteerDeletionError::ScanIncomplete { .. } => "scan-incomplete",
            VolunteerDeletionError::Deletion(e) => e.code(),
            VolunteerDeletionError::Config(e) => e.code(),
        }
    }
}

impl fmt::Display for VolunteerDeletionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VolunteerDeletionError::ScanIncomplete { message } => f.write_str(message),
            VolunteerDeletionError::Deletion(e) => e.fmt(f),
            VolunteerDeletionError::Config(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for VolunteerDeletionError {}

fn d_confirm() -> i64 {
    60 * 60 * 1000
}
fn d_base() -> String {
    super::poll::DEFAULT_BASE_URL.into()
}

/// Input of [`plan_volunteer_deletions`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "VolunteerDeletionInput")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolunteerDeletionInput {
    /// The resource.
    pub resource: VolunteerResource,
    /// The full scan's summary from `finishVolunteerPoll` (required when a candidate's signal is
    /// `absent-from-full-scan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<FullScan>,
    /// Records with signals (stored records the scan did not list; lookup results).
    pub candidates: Vec<DeletionCandidate>,
    /// The customer's record count for this resource (the breaker's base).
    pub total_records: u64,
    /// Minimum time from the first signal to the confirming lookup (default 1 h).
    #[serde(default = "d_confirm")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub confirm_after_ms: i64,
    /// The breaker threshold.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub breaker: BreakerConfig,
    /// The API base for the lookups (default `https://api.vomo.org/v1`).
    #[serde(default = "d_base")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub base_url: String,
}

/// A confirming lookup to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "VolunteerLookup"))]
#[serde(rename_all = "camelCase")]
pub struct VolunteerLookup {
    /// The Volunteer id.
    pub virtuous_id: String,
    /// `GET`.
    pub method: String,
    /// The absolute URL (the id path-encoded).
    pub url: String,
}

/// The plan and its lookups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename = "VolunteerDeletionPlan")
)]
#[serde(rename_all = "camelCase")]
pub struct VolunteerDeletionPlan {
    /// The CRM+ deletion plan: decisions, breaker verdict, `halted`.
    pub plan: DeletionPlan,
    /// One per `look-up` decision: answer 404 → pass `not-found-on-lookup`, 200 →
    /// `found-on-lookup`.
    pub lookups: Vec<VolunteerLookup>,
}

fn encode_segment(id: &str) -> String {
    let mut out = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Plans Volunteer deletions (npm `planVolunteerDeletions`).
pub fn plan_volunteer_deletions(
    input: &VolunteerDeletionInput,
) -> Result<VolunteerDeletionPlan, VolunteerDeletionError> {
    let config = PollConfig {
        base_url: input.base_url.clone(),
        ..PollConfig::default()
    };
    config.validate().map_err(VolunteerDeletionError::Config)?;
    let absent = input
        .candidates
        .iter()
        .any(|c| c.signal == DeletionSignal::AbsentFromFullScan);
    if absent {
        match &input.scan {
            None => {
                return Err(VolunteerDeletionError::ScanIncomplete {
                    message: "a candidate is absent from a full scan, but no scan was given".into(),
                })
            }
            Some(s) if s.resource != input.resource => {
                return Err(VolunteerDeletionError::ScanIncomplete {
                    message: "the scan is of another resource".into(),
                })
            }
            Some(s) if !s.complete => {
                return Err(VolunteerDeletionError::ScanIncomplete {
                    message: "the full scan's pages did not tile one result set: an absence from it is not a signal; run it again".into(),
                })
            }
            Some(_) => {}
        }
    }
    let plan = plan_deletions(&DeletionInput {
        candidates: input.candidates.clone(),
        total_records: input.total_records,
        overwrites: 0,
        confirm_after_ms: input.confirm_after_ms,
        breaker: input.breaker.clone(),
    })
    .map_err(VolunteerDeletionError::Deletion)?;
    let mut plan = plan;
    // A scan that lost many records at once (a token scoped to another organisation, a filter
    // the server added) trips the breaker before a single tombstone is laid.
    let lost = input
        .candidates
        .iter()
        .filter(|c| c.signal == DeletionSignal::AbsentFromFullScan)
        .count() as u64;
    let scan_verdict = check_breaker(lost, 0, input.total_records, &input.breaker);
    if scan_verdict.tripped && !plan.halted {
        plan.halted = true;
        plan.breaker = scan_verdict;
        for d in &mut plan.decisions {
            if matches!(
                d.action,
                DeletionAction::MarkPending
                    | DeletionAction::LookUp
                    | DeletionAction::ConfirmDelete
            ) {
                d.action = DeletionAction::Held;
                d.reason = "mass-change-breaker".into();
                d.pending = None;
                d.confirm_not_before_ms = None;
            }
        }
    }
    let base = input.base_url.trim_end_matches('/');
    let lookups = plan
        .decisions
        .iter()
        .filter(|d| d.action == DeletionAction::LookUp)
        .map(|d| VolunteerLookup {
            virtuous_id: d.virtuous_id.clone(),
            method: "GET".into(),
            url: format!(
                "{base}{}/{}",
                input.resource.path(),
                encode_segment(&d.virtuous_id)
            ),
        })
        .collect();
    Ok(VolunteerDeletionPlan { plan, lookups })
}
