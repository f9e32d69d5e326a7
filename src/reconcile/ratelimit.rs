//! The per-organisation request budget.
//!
//! Virtuous allows 5,000 requests an hour per organisation (older pages say 1,500), shared by
//! every credential of the organisation, reported on every response in `X-RateLimit-Limit`,
//! `X-RateLimit-Remaining` and `X-RateLimit-Reset` (Unix seconds); a `429` carries `Retry-After`
//! (seconds, or an HTTP-date). [`RateBudget`] is fed those headers and says **go** or **wait how long**, keeping
//! `liveHeadroom` requests for live work (webhook follow-ups, user-triggered writes) that
//! background plans (initial sync, reconciliation, backfill) may not use. Waits carry jitter
//! derived from randomness the host passes in (the core has no random source of its own).
//! Plans are priced in requests ([`price_plan`]) and scheduled in slices ([`RateBudget::schedule`])
//! so they resume where they stopped.
//!
//! Following its decisions never draws a 429 from the documented limit, however many requests
//! are in flight and in whatever order their responses arrive: the budget counts what was spent
//! and not yet answered (`inFlight`) against the *lowest* remaining count reported for the current
//! window (within a window remaining only falls, so an older response arriving late cannot raise
//! it), and counts spends even while no response has reported a remaining count yet.

use core::fmt;
use serde::{Deserialize, Serialize};

/// The documented hourly limit.
pub const DEFAULT_LIMIT: u32 = 5000;
/// One hour in ms.
pub const HOUR_MS: i64 = 3_600_000;
/// Two reports whose `X-RateLimit-Reset` differ by at most this much describe the same window
/// (a reset given in seconds from now moves with the arrival time).
pub const SAME_WINDOW_SLACK_MS: i64 = 2_000;

/// `Retry-After` in ms from `now_ms`: delta-seconds (a fraction rounded up) or an HTTP-date (any of
/// RFC 9110's three forms; needs `now_ms`, a date in the past is 0), clamped to `0..=max_ms` so an
/// absurd value cannot park the host for years. `None` when absent or unreadable.
pub fn retry_after_ms(value: &str, now_ms: Option<i64>, max_ms: i64) -> Option<i64> {
    let t = value.trim();
    let max_ms = max_ms.max(0);
    if t.is_empty() {
        return None;
    }
    if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Digits only: an overflowing number is simply huge, and clamped.
        let secs = whole.parse::<u64>().unwrap_or(u64::MAX);
        let up = u64::from(frac.bytes().any(|b| b != b'0'));
        let ms = secs.saturating_add(up).saturating_mul(1000);
        return Some(i64::try_from(ms).unwrap_or(i64::MAX).min(max_ms));
    }
    let now = now_ms?;
    let at = httpdate::parse_http_date(t).ok()?;
    let at_ms = match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => return Some(0),
    };
    Some(at_ms.saturating_sub(now).clamp(0, max_ms))
}

/// A caller mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateError {
    /// A configuration value is out of range.
    InvalidConfig {
        /// The camelCase field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl RateError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            RateError::InvalidConfig { .. } => "invalid-rate-config",
        }
    }

    /// The camelCase configuration field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            RateError::InvalidConfig { field, .. } => field,
        }
    }
}

impl fmt::Display for RateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateError::InvalidConfig { field, message } => write!(f, "{field}: {message}"),
        }
    }
}

impl std::error::Error for RateError {}

fn d_limit() -> u32 {
    DEFAULT_LIMIT
}
fn d_headroom() -> u32 {
    500
}
fn d_base() -> i64 {
    1000
}
fn d_max() -> i64 {
    5 * 60 * 1000
}
fn d_window() -> i64 {
    HOUR_MS
}

/// Budget settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RateBudgetConfig {
    /// The limit until a response reports one (default 5000).
    #[serde(default = "d_limit")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub limit: u32,
    /// Requests per window reserved for live work (default 500).
    #[serde(default = "d_headroom")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub live_headroom: u32,
    /// First backoff step (default 1 s).
    #[serde(default = "d_base")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub base_backoff_ms: i64,
    /// Longest backoff (default 5 min).
    #[serde(default = "d_max")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub max_backoff_ms: i64,
    /// The limit's window when no reset time is known (default 1 h).
    #[serde(default = "d_window")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub window_ms: i64,
}

impl Default for RateBudgetConfig {
    fn default() -> Self {
        RateBudgetConfig {
            limit: d_limit(),
            live_headroom: d_headroom(),
            base_backoff_ms: d_base(),
            max_backoff_ms: d_max(),
            window_ms: d_window(),
        }
    }
}

/// Raw header values of one response (absent = `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RateHeaders {
    /// `X-RateLimit-Limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// `X-RateLimit-Remaining`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<String>,
    /// `X-RateLimit-Reset` (Unix seconds; values below 10^9 are read as seconds from now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<String>,
    /// `Retry-After` (seconds or an HTTP-date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<String>,
}

/// One response as the budget sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RateObservation {
    /// HTTP status; `None` for a network failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub status: Option<u16>,
    /// The rate headers.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub headers: RateHeaders,
    /// When the response arrived.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub now_ms: i64,
    /// Host randomness for the backoff jitter (any u32).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub random: u32,
}

/// Who wants to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Priority {
    /// Live work: may use the headroom.
    Live,
    /// Plans and backfills: leave the headroom.
    #[default]
    Background,
}

/// A question to the budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RateRequest {
    /// Requests about to be made.
    #[serde(default = "one")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub cost: u32,
    /// Live or background.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub priority: Priority,
    /// Now.
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub now_ms: i64,
    /// Host randomness for jitter.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub random: u32,
}

fn one() -> u32 {
    1
}

/// Go, or wait how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RateDecision {
    /// Whether to send now.
    pub go: bool,
    /// How long to wait first (0 when `go`).
    pub wait_ms: i64,
    /// `within-budget`, `window-reset`, `retry-after`, `backoff`, `budget-exhausted`,
    /// `reserved-for-live`.
    #[cfg_attr(
        feature = "ts",
        ts(
            type = "\"within-budget\" | \"window-reset\" | \"retry-after\" | \"backoff\" | \"budget-exhausted\" | \"reserved-for-live\""
        )
    )]
    pub reason: String,
    /// Requests this priority may still spend in the current window.
    pub available: u32,
}

/// The budget (npm `RateBudget`); serialisable so the host can keep one per organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "RateBudgetState")
)]
#[serde(rename_all = "camelCase")]
pub struct RateBudget {
    /// Settings.
    #[cfg_attr(feature = "ts", ts(type = "Required<RateBudgetConfig>"))]
    pub config: RateBudgetConfig,
    /// The limit last reported.
    pub limit: u32,
    /// The lowest `X-RateLimit-Remaining` reported for the current window (0 after a 429 that
    /// reported none); `None` until a response reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u32>,
    /// Requests spent and not yet answered: counted against the window, since a response that
    /// reported `remaining` may have been processed before them.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub in_flight: u32,
    /// When the window resets (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_at_ms: Option<i64>,
    /// No request before this time (Retry-After or backoff).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_until_ms: Option<i64>,
    /// Consecutive 429/5xx/network failures.
    #[serde(default)]
    pub failures: u32,
    /// Whether the current block is a 429's (reason `retry-after`) rather than a backoff.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub rate_limited: bool,
}

/// Where a response's rate headers sit relative to the window the budget knows.
enum Window {
    /// The known window (or no reset reported while it lasts): remaining can only fall.
    Same,
    /// A later window: its remaining replaces the old one.
    New,
    /// An earlier window (a late response): its remaining says nothing about now.
    Stale,
}

fn parse_u64(s: Option<&str>) -> Option<u64> {
    let t = s?.trim();
    let t = t.split('.').next().unwrap_or(t);
    t.parse::<u64>().ok()
}

impl RateBudget {
    /// A fresh budget.
    pub fn new(config: RateBudgetConfig) -> Result<RateBudget, RateError> {
        let bad = |field, message: &str| {
            Err(RateError::InvalidConfig {
                field,
                message: message.into(),
            })
        };
        if config.limit == 0 {
            return bad("limit", "must be positive");
        }
        if config.live_headroom >= config.limit {
            return bad("liveHeadroom", "must be below the limit");
        }
        if config.base_backoff_ms <= 0 || config.max_backoff_ms < config.base_backoff_ms {
            return bad("baseBackoffMs", "need 0 < baseBackoffMs <= maxBackoffMs");
        }
        if config.window_ms <= 0 {
            return bad("windowMs", "must be positive");
        }
        Ok(RateBudget {
            limit: config.limit,
            config,
            remaining: None,
            in_flight: 0,
            reset_at_ms: None,
            blocked_until_ms: None,
            failures: 0,
            rate_limited: false,
        })
    }

    /// A budget stored with [`RateBudget`]'s JSON form (`toJSON`), loaded back: a stateless host
    /// (an edge worker) keeps what it learned between requests. The stored configuration must
    /// still be one [`RateBudget::new`] accepts.
    pub fn restore(state: RateBudget) -> Result<RateBudget, RateError> {
        RateBudget::new(state.config.clone())?;
        Ok(state)
    }

    /// Backoff for the `attempt`-th consecutive failure (1-based) with "equal jitter": half the
    /// capped exponential step plus a random share of the other half.
    pub fn backoff_ms(&self, attempt: u32, random: u32) -> i64 {
        let exp = attempt.saturating_sub(1).min(30);
        let step = self
            .config
            .base_backoff_ms
            .saturating_mul(1i64 << exp)
            .min(self.config.max_backoff_ms)
            .max(1);
        let half = step / 2;
        let spread = step - half;
        half + i64::from(random) % spread.max(1)
    }

    /// Feeds one response's status and headers (call it once for every request spent, failures
    /// included: each answer takes one request off `inFlight`).
    pub fn observe(&mut self, obs: &RateObservation) {
        let h = &obs.headers;
        let now = obs.now_ms;
        self.in_flight = self.in_flight.saturating_sub(1);
        if let Some(l) = parse_u64(h.limit.as_deref()).filter(|&l| l > 0) {
            self.limit = u32::try_from(l).unwrap_or(u32::MAX);
        }
        let reported =
            parse_u64(h.remaining.as_deref()).map(|r| u32::try_from(r).unwrap_or(u32::MAX));
        // A window never ends more than one window from now, whatever the header says.
        let latest = now.saturating_add(self.config.window_ms);
        let reset = parse_u64(h.reset.as_deref()).map(|r| {
            let r = i64::try_from(r).unwrap_or(i64::MAX);
            let at = if r < 1_000_000_000 {
                now.saturating_add(r.saturating_mul(1000))
            } else {
                r.saturating_mul(1000)
            };
            at.min(latest)
        });
        let window = match (reset, self.reset_at_ms) {
            (Some(r), Some(k)) if r > k.saturating_add(SAME_WINDOW_SLACK_MS) => Window::New,
            (Some(r), Some(k)) if r < k.saturating_sub(SAME_WINDOW_SLACK_MS) => Window::Stale,
            (Some(_), Some(_)) => Window::Same,
            (Some(_), None) => Window::New,
            (None, Some(k)) if now >= k => Window::New,
            (None, _) => Window::Same,
        };
        match window {
            Window::New => {
                if reported.is_some() || reset.is_some() {
                    self.remaining = reported;
                    self.reset_at_ms = reset;
                }
            }
            Window::Same => {
                if let Some(r) = reported {
                    self.remaining = Some(self.remaining.map_or(r, |m| m.min(r)));
                }
                if let (Some(r), Some(k)) = (reset, self.reset_at_ms) {
                    self.reset_at_ms = Some(r.max(k));
                }
            }
            Window::Stale => {}
        }
        let retry_after = h
            .retry_after
            .as_deref()
            .and_then(|v| retry_after_ms(v, Some(now), self.config.window_ms));
        match obs.status {
            Some(s) if (200..400).contains(&s) => {
                self.failures = 0;
                if self.blocked_until_ms.is_some_and(|b| b <= now) {
                    self.blocked_until_ms = None;
                    self.rate_limited = false;
                }
            }
            Some(429) | Some(500..=599) | None => {
                self.failures = self.failures.saturating_add(1);
                let limited = obs.status == Some(429);
                let wait = match (limited, retry_after) {
                    (_, Some(ra)) => ra,
                    (true, None) => {
                        // No Retry-After: wait for the window when it is known to be exhausted.
                        match self.reset_at_ms {
                            Some(r) if self.remaining == Some(0) && r > now => {
                                r.saturating_sub(now)
                            }
                            _ => self.backoff_ms(self.failures, obs.random),
                        }
                    }
                    (false, None) => self.backoff_ms(self.failures, obs.random),
                };
                let until = now.saturating_add(wait);
                if limited && reported.is_none() {
                    // The 429 itself says nothing is left now; Retry-After (or, without one, the
                    // end of the block) says when capacity returns.
                    self.remaining = Some(0);
                    if retry_after.is_some() || self.reset_at_ms.is_none_or(|r| r <= now) {
                        self.reset_at_ms = Some(until);
                    }
                }
                match self.blocked_until_ms {
                    Some(b) if b > until => {}
                    _ => {
                        self.blocked_until_ms = Some(until);
                        self.rate_limited = limited;
                    }
                }
            }
            _ => {}
        }
    }

    /// Counts requests sent (or about to be sent): they are held against the window until their
    /// responses are observed, whether or not a remaining count is known yet.
    pub fn spend(&mut self, n: u32) {
        self.in_flight = self.in_flight.saturating_add(n);
    }

    fn available(&self, priority: Priority, now_ms: i64) -> (u32, bool) {
        let fresh_window = self.reset_at_ms.is_some_and(|r| now_ms >= r);
        let reported = if fresh_window {
            self.limit
        } else {
            self.remaining.unwrap_or(self.limit)
        };
        let remaining = reported.saturating_sub(self.in_flight);
        let reserve = match priority {
            Priority::Live => 0,
            Priority::Background => self.config.live_headroom.min(self.limit),
        };
        (remaining.saturating_sub(reserve), fresh_window)
    }

    fn jitter(&self, wait: i64, random: u32) -> i64 {
        let spread = (wait / 10).clamp(0, 5000);
        wait.saturating_add(i64::from(random) % spread.saturating_add(1))
    }

    /// Go or wait (npm `RateBudget.decide`).
    pub fn decide(&self, req: &RateRequest) -> RateDecision {
        let now = req.now_ms;
        let (available, fresh) = self.available(req.priority, now);
        if let Some(b) = self.blocked_until_ms.filter(|&b| b > now) {
            let reason = if self.rate_limited {
                "retry-after"
            } else {
                "backoff"
            };
            return RateDecision {
                go: false,
                wait_ms: self.jitter(b.saturating_sub(now), req.random),
                reason: reason.into(),
                available,
            };
        }
        if req.cost <= available {
            return RateDecision {
                go: true,
                wait_ms: 0,
                reason: if fresh {
                    "window-reset"
                } else {
                    "within-budget"
                }
                .into(),
                available,
            };
        }
        let (live_avail, _) = self.available(Priority::Live, now);
        let reason = if req.priority == Priority::Background && req.cost <= live_avail {
            "reserved-for-live"
        } else {
            "budget-exhausted"
        };
        let wait = match self.reset_at_ms {
            Some(r) if r > now => r.saturating_sub(now),
            _ => self.config.window_ms,
        };
        RateDecision {
            go: false,
            wait_ms: self.jitter(wait, req.random),
            reason: reason.into(),
            available,
        }
    }

    /// How much of a background plan may run now (npm `RateBudget.schedule`).
    pub fn schedule(&self, remaining_requests: u64, now_ms: i64) -> BudgetSlice {
        let blocked = self.blocked_until_ms.filter(|&b| b > now_ms);
        let (available, _) = self.available(Priority::Background, now_ms);
        let allowed_now = if blocked.is_some() {
            0
        } else {
            remaining_requests.min(u64::from(available))
        };
        let left = remaining_requests.saturating_sub(allowed_now);
        let per_window = u64::from(self.limit.saturating_sub(self.config.live_headroom)).max(1);
        let resume_at_ms = if left == 0 {
            None
        } else if let Some(b) = blocked {
            Some(b)
        } else {
            Some(match self.reset_at_ms {
                Some(r) if r > now_ms => r,
                _ => now_ms.saturating_add(self.config.window_ms),
            })
        };
        BudgetSlice {
            allowed_now,
            left_after: left,
            resume_at_ms,
            more_windows: left.div_ceil(per_window),
        }
    }
}

/// The slice of a plan that may run now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct BudgetSlice {
    /// Requests to make now.
    pub allowed_now: u64,
    /// Requests still needed afterwards.
    pub left_after: u64,
    /// When to ask again, if anything is left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_at_ms: Option<i64>,
    /// Further full windows (hours) the rest needs at the background rate.
    pub more_windows: u64,
}

fn d_take() -> u32 {
    1000
}
fn d_batch() -> u32 {
    100
}

/// What a plan has to do, for pricing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanSize {
    /// Rows to read through query endpoints (all resources together).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub query_rows: u64,
    /// Query page size (default 1000).
    #[serde(default = "d_take")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub take: u32,
    /// Single lookups (`GET /api/Gift/{source}/{id}`...).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub lookups: u64,
    /// Records written one request each.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub single_writes: u64,
    /// Records written through batch endpoints (`/api/v2/Gift/Transactions`, `/api/Contact/Batch`).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub batched_writes: u64,
    /// Records per batch request (default 100).
    #[serde(default = "d_batch")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub batch_size: u32,
    /// Requests already made (for resuming).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub done_requests: u64,
}

/// The price of a plan in requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct PlanPrice {
    /// Requests for the whole plan.
    pub total: u64,
    /// Requests still to make.
    pub remaining: u64,
    /// Query pages (including the final short page).
    pub query_pages: u64,
    /// Write requests.
    pub writes: u64,
}

/// Prices a plan (npm `pricePlan`).
pub fn price_plan(size: &PlanSize) -> PlanPrice {
    let take = u64::from(size.take.clamp(1, 1000));
    let batch = u64::from(size.batch_size.max(1));
    let query_pages = (size.query_rows / take).saturating_add(1);
    let writes = size
        .single_writes
        .saturating_add(size.batched_writes.div_ceil(batch));
    let total = query_pages
        .saturating_add(size.lookups)
        .saturating_add(writes);
    PlanPrice {
        total,
        remaining: total.saturating_sub(size.done_requests),
        query_pages,
        writes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(limit: &str, remaining: &str, reset: &str) -> RateHeaders {
        RateHeaders {
            limit: Some(limit.into()),
            remaining: Some(remaining.into()),
            reset: Some(reset.into()),
            retry_after: None,
        }
    }

    #[test]
    fn restore_keeps_what_was_learned_and_refuses_a_bad_config() {
        let mut b = RateBudget::new(RateBudgetConfig::default()).unwrap();
        b.observe(&RateObservation {
            status: Some(429),
            headers: RateHeaders {
                retry_after: Some("30".into()),
                ..hdr("5000", "0", "1700000600")
            },
            now_ms: 1_700_000_000_000,
            random: 0,
        });
        let stored = serde_json::to_string(&b).unwrap();
        let back = RateBudget::restore(serde_json::from_str(&stored).unwrap()).unwrap();
        assert_eq!(back, b);
        assert_eq!(back.blocked_until_ms, Some(1_700_000_030_000));

        let mut bad = b.clone();
        bad.config.window_ms = 0;
        let e = RateBudget::restore(bad).unwrap_err();
        assert_eq!((e.code(), e.field()), ("invalid-rate-config", "windowMs"));
    }

    #[test]
    fn go_wait_and_headroom() {
        let mut b = RateBudget::new(RateBudgetConfig::default()).unwrap();
        let now = 1_700_000_000_000;
        b.observe(&RateObservation {
            status: Some(200),
            headers: hdr("5000", "600", "1700000600"),
            now_ms: now,
            random: 0,
        });
        let bg = |cost| RateRequest {
            cost,
            priority: Priority::Background,
            now_ms: now,
            random: 0,
        };
        assert!(b.decide(&bg(100)).go);
        let d = b.decide(&bg(200));
        assert!(!d.go);
        assert_eq!(d.reason, "reserved-for-live");
        assert_eq!(d.wait_ms, 600_000);
        assert!(
            b.decide(&RateRequest {
                priority: Priority::Live,
                ..bg(200)
            })
            .go
        );
        // after the reset the window is fresh
        assert_eq!(
            b.decide(&RateRequest {
                now_ms: now + 600_000,
                ..bg(200)
            })
            .reason,
            "window-reset"
        );
        b.observe(&RateObservation {
            status: Some(429),
            headers: RateHeaders {
                retry_after: Some("30".into()),
                ..Default::default()
            },
            now_ms: now,
            random: 0,
        });
        let d = b.decide(&RateRequest {
            priority: Priority::Live,
            ..bg(1)
        });
        assert_eq!((d.go, d.reason.as_str()), (false, "retry-after"));
        assert!(d.wait_ms >= 30_000 && d.wait_ms <= 33_000);
    }

    #[test]
    fn backoff_bounds() {
        let b = RateBudget::new(RateBudgetConfig::default()).unwrap();
        for attempt in [0, 1, 2, 5, 40, u32::MAX] {
            for r in [0, 1, 12345, u32::MAX] {
                let w = b.backoff_ms(attempt, r);
                assert!((500..=300_000).contains(&w), "{attempt} {r} {w}");
            }
        }
    }

    #[test]
    fn pricing() {
        let p = price_plan(&PlanSize {
            query_rows: 1_000_000,
            lookups: 10,
            batched_writes: 250,
            done_requests: 11,
            ..PlanSize {
                take: 1000,
                batch_size: 100,
                ..Default::default()
            }
        });
        assert_eq!(p.query_pages, 1001);
        assert_eq!(p.writes, 3);
        assert_eq!(p.total, 1014);
        assert_eq!(p.remaining, 1003);
    }
}
