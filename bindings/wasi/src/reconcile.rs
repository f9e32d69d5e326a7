//! `virtuous:sync/reconcile`: the issue-4 planners as functions taking their operation's input
//! object as JSON text (through `virtuous_sync::ops::call`), and the two stateful classes as
//! resources: `initial-matcher` (`virtuous_sync::matcher::InitialMatcher`) and `rate-budget`
//! (`virtuous_sync::ratelimit::RateBudget`).

use crate::bindings::exports::virtuous::sync::reconcile::{
    Error, Guest, GuestInitialMatcher, GuestRateBudget, Json, RateBudget as RateBudgetHandle,
};
use crate::json::{self, call_text, parse, to_text};
use crate::Component;
use core::cell::RefCell;
use serde_json::Value;
use virtuous_sync::matcher::{self, InitialMatcher, MatchRecord};
use virtuous_sync::ops::{self, OpError};
use virtuous_sync::ratelimit::{RateBudget as Budget, RateObservation, RateRequest};

/// The resource's state is borrowed once per call and calls never re-enter, so a failed borrow
/// cannot happen; it is still an error rather than a panic.
fn busy(what: &str) -> Error {
    json::error(OpError {
        code: "internal".into(),
        module: "ops",
        field: String::new(),
        message: format!("the {what} is already in use by another call"),
    })
}

fn input<T: serde::de::DeserializeOwned>(text: &str, name: &str) -> Result<T, Error> {
    ops::input(&parse(text, name)?, name).map_err(json::error)
}

impl Guest for Component {
    type InitialMatcher = Matcher;
    type RateBudget = RateBudget;

    fn plan_reconciliation(input: Json) -> Result<Json, Error> {
        call_text("planReconciliation", &input)
    }
    fn start_query_run(input: Json) -> Result<Json, Error> {
        call_text("startQueryRun", &input)
    }
    fn accept_query_page(input: Json) -> Result<Json, Error> {
        call_text("acceptQueryPage", &input)
    }
    fn finish_query_run(input: Json) -> Result<Json, Error> {
        call_text("finishQueryRun", &input)
    }
    fn plan_merge_remap(input: Json) -> Result<Json, Error> {
        call_text("planMergeRemap", &input)
    }
    fn plan_deletions(input: Json) -> Result<Json, Error> {
        call_text("planDeletions", &input)
    }
    fn merge_subscription(input: Json) -> Result<Json, Error> {
        call_text("mergeSubscription", &input)
    }
    fn plan_pause(input: Json) -> Result<Json, Error> {
        call_text("planPause", &input)
    }
    fn plan_resume(input: Json) -> Result<Json, Error> {
        call_text("planResume", &input)
    }
    fn plan_secret_rotation(input: Json) -> Result<Json, Error> {
        call_text("planSecretRotation", &input)
    }
    fn price_plan(input: Json) -> Result<Json, Error> {
        call_text("pricePlan", &input)
    }
    fn classify_response(input: Json) -> Result<Json, Error> {
        call_text("classifyResponse", &input)
    }
    fn parse_modified_time(input: Json) -> Result<Json, Error> {
        call_text("parseModifiedTime", &input)
    }
}

/// The `initial-matcher` resource.
pub(crate) struct Matcher(RefCell<InitialMatcher>);

impl Matcher {
    fn add(&self, records_json: &str, partner: bool) -> Result<(), Error> {
        let records: Vec<MatchRecord> = input(records_json, "records")?;
        let mut m = self.0.try_borrow_mut().map_err(|_| busy("matcher"))?;
        let added = if partner {
            m.add_partner_chunk(&records)
        } else {
            m.add_virtuous_chunk(&records)
        };
        added.map_err(|e| json::error(e.into()))
    }
}

impl GuestInitialMatcher for Matcher {
    fn new(expected_partner: Option<u32>, expected_virtuous: Option<u32>) -> Matcher {
        // A WIT constructor cannot fail, so a hint above the core's bound is capped to it (the npm
        // constructor throws `size-hint-too-large` instead); no argument can exhaust the memory.
        let hint = |n: Option<u32>| u64::from(n.unwrap_or(0)).min(matcher::MAX_SIZE_HINT);
        let m = InitialMatcher::try_with_capacity(hint(expected_partner), hint(expected_virtuous))
            .unwrap_or_default();
        Matcher(RefCell::new(m))
    }

    fn add_partner_chunk(&self, records: Json) -> Result<(), Error> {
        self.add(&records, true)
    }

    fn add_virtuous_chunk(&self, records: Json) -> Result<(), Error> {
        self.add(&records, false)
    }

    fn size(&self) -> (u64, u64) {
        let (p, v) = self.0.try_borrow().map_or((0, 0), |m| m.len());
        let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
        (n(p), n(v))
    }

    fn finish(&self) -> Result<Json, Error> {
        let m = self.0.try_borrow().map_err(|_| busy("matcher"))?;
        to_text(&m.finish())
    }
}

/// The `rate-budget` resource.
pub(crate) struct RateBudget(RefCell<Budget>);

impl GuestRateBudget for RateBudget {
    fn new(config: Option<Json>) -> Result<RateBudget, Error> {
        let config = match config {
            Some(text) => parse(&text, "")?,
            None => Value::Null,
        };
        ops::rate_budget(&config, "")
            .map(|b| RateBudget(RefCell::new(b)))
            .map_err(json::error)
    }

    fn from_json(state: Json) -> Result<RateBudgetHandle, Error> {
        let state = ops::restore_rate_budget(&parse(&state, "")?, "").map_err(json::error)?;
        Ok(RateBudgetHandle::new(RateBudget(RefCell::new(state))))
    }

    fn observe(&self, observation: Json) -> Result<(), Error> {
        let obs: RateObservation = input(&observation, "")?;
        let mut b = self.0.try_borrow_mut().map_err(|_| busy("rate budget"))?;
        b.observe(&obs);
        Ok(())
    }

    fn spend(&self, requests: u32) {
        if let Ok(mut b) = self.0.try_borrow_mut() {
            b.spend(requests);
        }
    }

    fn decide(&self, request: Json) -> Result<Json, Error> {
        let req: RateRequest = input(&request, "")?;
        let b = self.0.try_borrow().map_err(|_| busy("rate budget"))?;
        to_text(&b.decide(&req))
    }

    fn schedule(&self, remaining_requests: u64, now_ms: i64) -> Json {
        self.0.try_borrow().map_or_else(
            |_| Value::Null.to_string(),
            |b| to_text(&b.schedule(remaining_requests, now_ms)).unwrap_or_default(),
        )
    }

    fn backoff_ms(&self, attempt: u32, random: u32) -> i64 {
        self.0
            .try_borrow()
            .map_or(0, |b| b.backoff_ms(attempt, random))
    }

    fn to_json(&self) -> Json {
        self.0.try_borrow().map_or_else(
            |_| Value::Null.to_string(),
            |b| to_text(&*b).unwrap_or_default(),
        )
    }
}
