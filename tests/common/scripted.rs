//! The scripted operations the vector files use for the two stateful classes and the query loop:
//! `queryScript` (consecutive query runs), `initialMatcher` (chunks fed, then finish) and
//! `rateBudget` (a budget and a script of calls). They drive the crate's public API the way a
//! host's loop does, exactly as the JS (`tests/js/support/ops.mjs`) and component
//! (`tests/component/support.mjs`) runners do; they are test harness, not operations of the crate.
//! Every other op goes to `virtuous_sync::ops::call`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use virtuous_sync::ops::{self, OpError};
use virtuous_sync::reconcile::cursor::{
    CursorConfig, CursorError, PageResult, QueryCursor, QueryRequest, QueryRun,
};
use virtuous_sync::reconcile::matcher::{
    InitialMatcher, MatchError, MatchPlan, MatchRecord, MatchSeed, Side,
};
use virtuous_sync::reconcile::ratelimit::{
    BudgetSlice, RateBudget, RateBudgetConfig, RateDecision, RateError, RateObservation,
    RateRequest,
};

/// Runs vector op `op` on its input: a scripted op here, any other through `ops::call`.
pub fn call(op: &str, input: &Value) -> Result<Value, OpError> {
    match op {
        "queryScript" => scripted(input, run_query_script),
        "initialMatcher" => scripted(input, match_chunks),
        "rateBudget" => scripted(input, run_rate_script),
        "volunteerPollScript" => run_volunteer_script(input),
        _ => ops::call(op, input),
    }
}

fn scripted<I: serde::de::DeserializeOwned, O: Serialize, E: Into<OpError>>(
    value: &Value,
    f: impl FnOnce(&I) -> Result<O, E>,
) -> Result<Value, OpError> {
    let parsed: I = ops::input(value, "")?;
    ops::output(&f(&parsed).map_err(Into::into)?)
}

/// One run of a [`QueryScript`]: the pages the server answered, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ScriptRun {
    /// Each page's rows (`list`), answering the run's requests in turn.
    #[serde(default)]
    pub pages: Vec<Vec<Value>>,
}

/// Consecutive runs fed fixed pages, each starting from the cursor the previous one stored (the
/// vectors' shape of a host's loop: `startQueryRun`, `acceptQueryPage`..., `finishQueryRun`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct QueryScript {
    /// The cursor the first run starts from.
    #[serde(default)]
    pub cursor: QueryCursor,
    /// The query configuration.
    #[serde(default)]
    pub config: CursorConfig,
    /// The runs.
    #[serde(default)]
    pub runs: Vec<ScriptRun>,
}

/// What one scripted run asked and stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptRunResult {
    /// Every request the run made: the first from `startQueryRun`, then each page's `next`.
    pub requests: Vec<QueryRequest>,
    /// What each page contained.
    pub pages: Vec<PageResult>,
    /// Every fresh row id handed on, in order.
    pub fresh_ids: Vec<String>,
    /// The cursor stored after the last page (absent if the pages ran out first: the stored
    /// cursor stays, and the next run starts from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<QueryCursor>,
}

/// The answers of a [`QueryScript`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryScriptResult {
    /// One result per run.
    pub runs: Vec<ScriptRunResult>,
}

/// Runs a [`QueryScript`].
pub fn run_query_script(script: &QueryScript) -> Result<QueryScriptResult, CursorError> {
    let mut cursor = script.cursor.clone();
    let mut runs = Vec::new();
    for r in &script.runs {
        let mut run = QueryRun::start(&cursor, &script.config)?;
        let mut requests: Vec<QueryRequest> = run.next_request().into_iter().collect();
        let mut pages = Vec::new();
        let mut fresh_ids = Vec::new();
        for rows in &r.pages {
            let page = run.accept_page(rows)?;
            requests.extend(page.next.clone());
            fresh_ids.extend(page.fresh_ids.iter().cloned());
            pages.push(page);
        }
        let stored = if run.done {
            let c = run.finish()?;
            cursor = c.clone();
            Some(c)
        } else {
            None
        };
        runs.push(ScriptRunResult {
            requests,
            pages,
            fresh_ids,
            cursor: stored,
        });
    }
    Ok(QueryScriptResult { runs })
}

/// One chunk for [`match_chunks`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchChunk {
    /// Which side the records come from.
    pub side: Side,
    /// The records.
    #[serde(default)]
    pub records: Vec<MatchRecord>,
    /// The records as JSON text (the compact form), fed as given instead of `records`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Input of [`match_chunks`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct InitialMatchInput {
    /// Chunks in feeding order.
    #[serde(default)]
    pub chunks: Vec<MatchChunk>,
    /// The hash seed (64 hex characters); absent: a fixed one (the plan never depends on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
}

/// Feeds chunks in order and finishes (one-shot form of [`InitialMatcher`], for vectors and
/// small inputs).
pub fn match_chunks(input: &InitialMatchInput) -> Result<MatchPlan, MatchError> {
    let mut m = match &input.seed {
        Some(hex) => InitialMatcher::with_seed(&MatchSeed::from_hex(hex)?),
        None => InitialMatcher::new(),
    };
    for c in &input.chunks {
        match (c.side, &c.text) {
            (Side::Partner, None) => m.add_partner_chunk(&c.records)?,
            (Side::Virtuous, None) => m.add_virtuous_chunk(&c.records)?,
            (Side::Partner, Some(t)) => m.add_partner_chunk_json(t)?,
            (Side::Virtuous, Some(t)) => m.add_virtuous_chunk_json(t)?,
        }
    }
    Ok(m.finish())
}

/// One step of a [`RateScript`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "tag", content = "val", rename_all = "kebab-case")]
pub enum RateStep {
    /// [`RateBudget::observe`].
    Observe(RateObservation),
    /// [`RateBudget::spend`].
    Spend(u32),
    /// [`RateBudget::decide`].
    Decide(RateRequest),
    /// [`RateBudget::schedule`].
    Schedule(ScheduleRequest),
    /// Stored and loaded back with [`RateBudget::restore`], as a stateless host does between
    /// requests (the npm and component runners go through the JSON text).
    Reload,
}

/// A question for [`RateBudget::schedule`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleRequest {
    /// Requests the plan still needs.
    pub remaining_requests: u64,
    /// Now.
    pub now_ms: i64,
}

/// A budget and a sequence of calls on it (the vectors' and adapters' shape of the npm class).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RateScript {
    /// Settings for a new budget.
    #[serde(default)]
    pub config: RateBudgetConfig,
    /// Calls, in order.
    #[serde(default)]
    pub steps: Vec<RateStep>,
}

/// The answers of a [`RateScript`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateScriptResult {
    /// One answer per `decide` step, in order.
    pub decisions: Vec<RateDecision>,
    /// One answer per `schedule` step, in order.
    pub slices: Vec<BudgetSlice>,
    /// The budget afterwards.
    pub budget: RateBudget,
}

/// Runs a [`RateScript`] (npm: `new RateBudget(config)` then the calls).
pub fn run_rate_script(script: &RateScript) -> Result<RateScriptResult, RateError> {
    let mut budget = RateBudget::new(script.config.clone())?;
    let mut decisions = Vec::new();
    let mut slices = Vec::new();
    for step in &script.steps {
        match step {
            RateStep::Observe(o) => budget.observe(o),
            RateStep::Spend(n) => budget.spend(*n),
            RateStep::Decide(r) => decisions.push(budget.decide(r)),
            RateStep::Schedule(s) => slices.push(budget.schedule(s.remaining_requests, s.now_ms)),
            RateStep::Reload => budget = RateBudget::restore(budget)?,
        }
    }
    Ok(RateScriptResult {
        decisions,
        slices,
        budget,
    })
}

/// `volunteerPollScript`: consecutive Volunteer polls fed fixed response bodies, each from the
/// cursor the previous one stored, through the by-name operations (`startVolunteerPoll`,
/// `acceptVolunteerPage`..., `finishVolunteerPoll`) exactly as the JS and component runners do.
/// Input `{resource, mode?, config?, cursor?, runs: [{pages: [body...]}]}`; output per run: the
/// URLs requested, each page's result, the change ids in order, and `end` once the run is done.
fn run_volunteer_script(input: &Value) -> Result<Value, OpError> {
    use serde_json::{json, Map};
    let obj = input
        .as_object()
        .ok_or_else(|| OpError::invalid_argument("", "not an object"))?;
    let mut cursor = obj.get("cursor").cloned();
    let mut runs = Vec::new();
    let empty = Vec::new();
    for r in obj.get("runs").and_then(Value::as_array).unwrap_or(&empty) {
        let mut start = Map::new();
        for k in ["resource", "mode", "config"] {
            if let Some(v) = obj.get(k) {
                start.insert(k.into(), v.clone());
            }
        }
        if let Some(c) = &cursor {
            start.insert("cursor".into(), c.clone());
        }
        let mut step = ops::call("startVolunteerPoll", &Value::Object(start))?;
        let mut urls: Vec<Value> = step.pointer("/request/url").cloned().into_iter().collect();
        let mut pages = Vec::new();
        let mut ids = Vec::new();
        for body in r.get("pages").and_then(Value::as_array).unwrap_or(&empty) {
            step = ops::call(
                "acceptVolunteerPage",
                &json!({"run": step["run"], "body": body}),
            )?;
            urls.extend(step.pointer("/request/url").cloned());
            for c in step["page"]["changes"].as_array().unwrap_or(&empty) {
                ids.push(c["id"].clone());
            }
            pages.push(step["page"].clone());
        }
        let mut out = json!({"urls": urls, "pages": pages, "changeIds": ids});
        if step["run"]["done"] == Value::Bool(true) {
            let end = ops::call("finishVolunteerPoll", &step["run"])?;
            cursor = Some(end["cursor"].clone());
            out["end"] = end;
        }
        runs.push(out);
    }
    Ok(json!({ "runs": runs }))
}
