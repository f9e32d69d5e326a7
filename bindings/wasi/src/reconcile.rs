//! `virtuous:sync/reconcile`: the issue-4 planners as functions taking their operation's input
//! object as JSON text (through `virtuous_sync::ops::call`), and the two stateful classes as
//! resources: `initial-matcher` (`virtuous_sync::reconcile::matcher::InitialMatcher`) and `rate-budget`
//! (`virtuous_sync::reconcile::ratelimit::RateBudget`).

use crate::bindings::exports::virtuous::sync::reconcile::{
    Error, Guest, GuestInitialMatcher, GuestRateBudget, RateBudget as RateBudgetHandle,
};
use crate::json::{self, call_text, parse, to_text};
use crate::Component;
use core::cell::RefCell;
use serde_json::Value;
use virtuous_sync::ops::{self, OpError};
use virtuous_sync::reconcile::matcher::{self, InitialMatcher, MatchRecord};
use virtuous_sync::reconcile::ratelimit::{RateBudget as Budget, RateObservation, RateRequest};

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

    fn plan_reconciliation(input_json: String) -> Result<String, Error> {
        call_text("planReconciliation", &input_json)
    }
    fn start_query_run(input_json: String) -> Result<String, Error> {
        call_text("startQueryRun", &input_json)
    }
    fn accept_query_page(input_json: String) -> Result<String, Error> {
        call_text("acceptQueryPage", &input_json)
    }
    fn finish_query_run(input_json: String) -> Result<String, Error> {
        call_text("finishQueryRun", &input_json)
    }
    fn plan_merge_remap(input_json: String) -> Result<String, Error> {
        call_text("planMergeRemap", &input_json)
    }
    fn plan_deletions(input_json: String) -> Result<String, Error> {
        call_text("planDeletions", &input_json)
    }
    fn merge_subscription(input_json: String) -> Result<String, Error> {
        call_text("mergeSubscription", &input_json)
    }
    fn plan_pause(input_json: String) -> Result<String, Error> {
        call_text("planPause", &input_json)
    }
    fn plan_resume(input_json: String) -> Result<String, Error> {
        call_text("planResume", &input_json)
    }
    fn plan_secret_rotation(input_json: String) -> Result<String, Error> {
        call_text("planSecretRotation", &input_json)
    }
    fn price_plan(input_json: String) -> Result<String, Error> {
        call_text("pricePlan", &input_json)
    }
    fn classify_response(input_json: String) -> Result<String, Error> {
        call_text("classifyResponse", &input_json)
    }
    fn parse_modified_time(input_json: String) -> Result<String, Error> {
        call_text("parseModifiedTime", &input_json)
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

    fn add_partner_chunk(&self, records_json: String) -> Result<(), Error> {
        self.add(&records_json, true)
    }

    fn add_virtuous_chunk(&self, records_json: String) -> Result<(), Error> {
        self.add(&records_json, false)
    }

    fn size(&self) -> (u64, u64) {
        let (p, v) = self.0.try_borrow().map_or((0, 0), |m| m.len());
        let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
        (n(p), n(v))
    }

    fn finish(&self) -> Result<String, Error> {
        let m = self.0.try_borrow().map_err(|_| busy("matcher"))?;
        to_text(&m.finish())
    }
}

/// The `rate-budget` resource.
pub(crate) struct RateBudget(RefCell<Budget>);

impl GuestRateBudget for RateBudget {
    fn new(config_json: Option<String>) -> Result<RateBudget, Error> {
        let config = match config_json {
            Some(text) => parse(&text, "")?,
            None => Value::Null,
        };
        ops::rate_budget(&config, "")
            .map(|b| RateBudget(RefCell::new(b)))
            .map_err(json::error)
    }

    fn from_json(state_json: String) -> Result<RateBudgetHandle, Error> {
        let state = ops::restore_rate_budget(&parse(&state_json, "")?, "").map_err(json::error)?;
        Ok(RateBudgetHandle::new(RateBudget(RefCell::new(state))))
    }

    fn observe(&self, observation_json: String) -> Result<(), Error> {
        let obs: RateObservation = input(&observation_json, "")?;
        let mut b = self.0.try_borrow_mut().map_err(|_| busy("rate budget"))?;
        b.observe(&obs);
        Ok(())
    }

    fn spend(&self, requests: u32) {
        if let Ok(mut b) = self.0.try_borrow_mut() {
            b.spend(requests);
        }
    }

    fn decide(&self, request_json: String) -> Result<String, Error> {
        let req: RateRequest = input(&request_json, "")?;
        let b = self.0.try_borrow().map_err(|_| busy("rate budget"))?;
        to_text(&b.decide(&req))
    }

    fn schedule(&self, remaining_requests: u64, now_ms: i64) -> String {
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

    fn to_json(&self) -> String {
        self.0.try_borrow().map_or_else(
            |_| Value::Null.to_string(),
            |b| to_text(&*b).unwrap_or_default(),
        )
    }
}
