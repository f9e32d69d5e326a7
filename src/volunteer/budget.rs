//! The per-organisation request budget for the Volunteer API, whose limits are undocumented.
//!
//! docs.virtuous.org says only that limits "almost certainly exist" and that a Laravel throttle
//! (a 429 with `Retry-After`) is the likely shape. The budget therefore paces requests at a
//! conservative documented default (30 a minute, half Laravel's default `throttle:60,1`), and
//! learns: a 429 halves the pace (at most once a minute, so a burst of in-flight 429s lowers it
//! once), never below `minRequestsPerMinute`; `recoverAfter` successes in a row raise it by one
//! again, never above the configured pace. The wait after a 429 or a failure is the
//! [`RateBudget`]'s: `Retry-After` when present (seconds or an HTTP-date, capped at
//! `maxBackoffMs`), exponential backoff with jitter otherwise; and a server that does send
//! `X-RateLimit-*` headers is counted exactly as CRM+ is.

use crate::reconcile::ratelimit::{
    RateBudget, RateBudgetConfig, RateDecision, RateError, RateObservation, RateRequest,
};
use serde::{Deserialize, Serialize};

/// Default pace: 30 requests a minute.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 30;
/// One minute in ms: the pace's unit and the least time between two lowerings.
pub const MINUTE_MS: i64 = 60_000;

fn d_rpm() -> u32 {
    DEFAULT_REQUESTS_PER_MINUTE
}
fn d_min() -> u32 {
    1
}
fn d_recover() -> u32 {
    100
}
fn d_base() -> i64 {
    1000
}
fn d_max() -> i64 {
    5 * MINUTE_MS
}

/// Budget settings; every field has a documented default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolunteerBudgetConfig {
    /// The starting (and highest) pace, 1..=6000 a minute (default 30).
    #[serde(default = "d_rpm")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub requests_per_minute: u32,
    /// The lowest pace a 429 can teach, 1..=requestsPerMinute (default 1).
    #[serde(default = "d_min")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub min_requests_per_minute: u32,
    /// Successes in a row that raise a learned pace by one, 1..=1,000,000 (default 100).
    #[serde(default = "d_recover")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub recover_after: u32,
    /// First backoff step without `Retry-After` (default 1 s).
    #[serde(default = "d_base")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub base_backoff_ms: i64,
    /// Longest wait, also the cap on `Retry-After` (default 5 min).
    #[serde(default = "d_max")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub max_backoff_ms: i64,
}

impl Default for VolunteerBudgetConfig {
    fn default() -> Self {
        VolunteerBudgetConfig {
            requests_per_minute: d_rpm(),
            min_requests_per_minute: d_min(),
            recover_after: d_recover(),
            base_backoff_ms: d_base(),
            max_backoff_ms: d_max(),
        }
    }
}

/// The budget's state; the host keeps one per organisation (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "VolunteerBudgetState")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolunteerBudget {
    /// Settings.
    #[cfg_attr(feature = "ts", ts(type = "Required<VolunteerBudgetConfig>"))]
    pub config: VolunteerBudgetConfig,
    /// The pace learned so far (requests a minute).
    pub requests_per_minute: u32,
    /// No paced request before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_at_ms: Option<i64>,
    /// Successes since the last 429 or raise.
    #[serde(default)]
    pub successes: u32,
    /// When a 429 last lowered the pace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lowered_at_ms: Option<i64>,
    /// 429s seen in all.
    #[serde(default)]
    pub throttled: u64,
    /// The waits: `Retry-After`, backoff, and any `X-RateLimit-*` the server reports.
    pub limits: RateBudget,
}

/// One step for [`step_budget`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "VolunteerBudgetStep"))]
#[serde(tag = "tag", content = "val", rename_all = "kebab-case")]
pub enum BudgetStep {
    /// May a request go now?
    Decide(BudgetAsk),
    /// A request was sent now.
    Spend(BudgetAsk),
    /// Its response (or network failure) arrived.
    Observe(RateObservation),
}

/// Now, and host randomness for jitter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "VolunteerBudgetAsk")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BudgetAsk {
    /// Now (ms).
    pub now_ms: i64,
    /// Any u32.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub random: u32,
}

/// Go, or wait how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename = "VolunteerBudgetDecision")
)]
#[serde(rename_all = "camelCase")]
pub struct BudgetDecision {
    /// Whether to send now.
    pub go: bool,
    /// How long to wait first (0 when `go`).
    pub wait_ms: i64,
    /// `within-budget`, `pacing`, `retry-after`, `backoff`, `budget-exhausted`.
    #[cfg_attr(
        feature = "ts",
        ts(
            type = "\"within-budget\" | \"pacing\" | \"retry-after\" | \"backoff\" | \"budget-exhausted\""
        )
    )]
    pub reason: String,
    /// The pace in force (requests a minute).
    pub requests_per_minute: u32,
}

impl VolunteerBudget {
    /// A fresh budget at the configured pace.
    pub fn new(config: VolunteerBudgetConfig) -> Result<VolunteerBudget, RateError> {
        let bad = |field, message: &str| {
            Err(RateError::InvalidConfig {
                field,
                message: message.into(),
            })
        };
        if !(1..=6000).contains(&config.requests_per_minute) {
            return bad("requestsPerMinute", "must be 1..=6000");
        }
        if config.min_requests_per_minute == 0
            || config.min_requests_per_minute > config.requests_per_minute
        {
            return bad("minRequestsPerMinute", "must be 1..=requestsPerMinute");
        }
        if !(1..=1_000_000).contains(&config.recover_after) {
            return bad("recoverAfter", "must be 1..=1000000");
        }
        let limits = RateBudget::new(RateBudgetConfig {
            limit: config.requests_per_minute,
            live_headroom: 0,
            base_backoff_ms: config.base_backoff_ms,
            max_backoff_ms: config.max_backoff_ms,
            window_ms: config.max_backoff_ms.max(MINUTE_MS),
        })?;
        Ok(VolunteerBudget {
            requests_per_minute: config.requests_per_minute,
            config,
            next_at_ms: None,
            successes: 0,
            lowered_at_ms: None,
            throttled: 0,
            limits,
        })
    }

    /// A stored budget, checked.
    pub fn restore(state: VolunteerBudget) -> Result<VolunteerBudget, RateError> {
        VolunteerBudget::new(state.config.clone())?;
        let limits = RateBudget::restore(state.limits.clone())?;
        let rpm = state.requests_per_minute.clamp(
            state.config.min_requests_per_minute,
            state.config.requests_per_minute,
        );
        Ok(VolunteerBudget {
            requests_per_minute: rpm,
            limits,
            ..state
        })
    }

    fn interval_ms(&self) -> i64 {
        let rpm = i64::from(self.requests_per_minute.max(1));
        (MINUTE_MS + rpm - 1) / rpm
    }

    /// Go or wait.
    pub fn decide(&self, ask: &BudgetAsk) -> BudgetDecision {
        let d: RateDecision = self.limits.decide(&RateRequest {
            cost: 1,
            priority: crate::reconcile::ratelimit::Priority::Live,
            now_ms: ask.now_ms,
            random: ask.random,
        });
        if !d.go {
            let reason = match d.reason.as_str() {
                "retry-after" | "backoff" => d.reason,
                _ => "budget-exhausted".into(),
            };
            return BudgetDecision {
                go: false,
                wait_ms: d.wait_ms,
                reason,
                requests_per_minute: self.requests_per_minute,
            };
        }
        match self.next_at_ms {
            Some(at) if at > ask.now_ms => BudgetDecision {
                go: false,
                wait_ms: at.saturating_sub(ask.now_ms),
                reason: "pacing".into(),
                requests_per_minute: self.requests_per_minute,
            },
            _ => BudgetDecision {
                go: true,
                wait_ms: 0,
                reason: "within-budget".into(),
                requests_per_minute: self.requests_per_minute,
            },
        }
    }

    /// A request was sent at `now`.
    pub fn spend(&mut self, ask: &BudgetAsk) {
        self.limits.spend(1);
        let from = self.next_at_ms.map_or(ask.now_ms, |n| n.max(ask.now_ms));
        self.next_at_ms = Some(from.saturating_add(self.interval_ms()));
    }

    /// A response arrived (call once per request spent, failures included).
    pub fn observe(&mut self, obs: &RateObservation) {
        self.limits.observe(obs);
        match obs.status {
            Some(429) => {
                self.throttled = self.throttled.saturating_add(1);
                self.successes = 0;
                let recent = self
                    .lowered_at_ms
                    .is_some_and(|l| obs.now_ms.saturating_sub(l) < MINUTE_MS);
                if !recent {
                    self.requests_per_minute =
                        (self.requests_per_minute / 2).max(self.config.min_requests_per_minute);
                    self.lowered_at_ms = Some(obs.now_ms);
                }
            }
            Some(s) if (200..400).contains(&s) => {
                self.successes = self.successes.saturating_add(1);
                if self.successes >= self.config.recover_after
                    && self.requests_per_minute < self.config.requests_per_minute
                {
                    self.requests_per_minute += 1;
                    self.successes = 0;
                }
            }
            _ => {}
        }
    }
}

/// Input of [`step_budget`] (npm `volunteerBudget`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "VolunteerBudgetInput")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BudgetInput {
    /// The stored state (absent: a fresh budget from `config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<VolunteerBudget>,
    /// Settings for a fresh budget (ignored when `state` is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<VolunteerBudgetConfig>,
    /// The steps, in order.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub steps: Vec<BudgetStep>,
}

/// The state to store and the answers to the `decide` steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename = "VolunteerBudgetOutput")
)]
#[serde(rename_all = "camelCase")]
pub struct BudgetOutput {
    /// Store it.
    pub state: VolunteerBudget,
    /// One per `decide` step, in order.
    pub decisions: Vec<BudgetDecision>,
}

/// The most steps one call takes.
pub const MAX_STEPS: usize = 10_000;

/// Runs budget steps on a stored (or fresh) budget.
pub fn step_budget(input: &BudgetInput) -> Result<BudgetOutput, RateError> {
    let mut b = match &input.state {
        Some(s) => VolunteerBudget::restore(s.clone())?,
        None => VolunteerBudget::new(input.config.clone().unwrap_or_default())?,
    };
    if input.steps.len() > MAX_STEPS {
        return Err(RateError::InvalidConfig {
            field: "steps",
            message: format!("at most {MAX_STEPS} steps per call"),
        });
    }
    let mut decisions = Vec::new();
    for s in &input.steps {
        match s {
            BudgetStep::Decide(a) => decisions.push(b.decide(a)),
            BudgetStep::Spend(a) => b.spend(a),
            BudgetStep::Observe(o) => b.observe(o),
        }
    }
    Ok(BudgetOutput {
        state: b,
        decisions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::ratelimit::RateHeaders;

    #[test]
    fn a_429_halves_the_pace_once_a_minute() {
        let mut b = VolunteerBudget::new(VolunteerBudgetConfig::default()).unwrap();
        let obs = |now_ms| RateObservation {
            status: Some(429),
            headers: RateHeaders::default(),
            now_ms,
            random: 0,
        };
        b.observe(&obs(1000));
        b.observe(&obs(1500));
        assert_eq!(b.requests_per_minute, 15);
        b.observe(&obs(70_000));
        assert_eq!(b.requests_per_minute, 7);
    }
}
