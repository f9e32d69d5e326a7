//! The sync, reconciliation and planning operations: each builds its input object from the JS arguments, calls
//! [`virtuous_sync::ops::call`] / [`virtuous_sync::ops::core_call`] (or a core class for the stateful ones) and
//! converts the result. No decisions are taken here: every rule lives in the core, identically on every surface.

use serde_json::{Map, Value};
use virtuous_sync::ops::{self, OpError};
use virtuous_sync::reconcile::matcher::{InitialMatcher as Matcher, MatchRecord};
use virtuous_sync::reconcile::ratelimit::{RateBudget as Budget, RateObservation, RateRequest};
use wasm_bindgen::prelude::*;

use crate::convert::{json_arg, now_ms, optional_json_arg, string_arg, to_js};
use crate::error::op_error;
use crate::JsSyncCore;

/// An input object from named JS arguments (`undefined` arguments become JSON `null`, which the core reads as
/// "none" for optional ones).
fn object(fields: Vec<(&str, Value)>) -> Value {
    let mut map = Map::new();
    for (k, v) in fields {
        map.insert(k.to_owned(), v);
    }
    Value::Object(map)
}

fn free_call(op: &str, input: &Value) -> Result<JsValue, JsValue> {
    to_js(&ops::call(op, input).map_err(op_error)?)
}

/// A whole-input operation: the argument is the operation's input object.
fn whole(op: &str, input: &JsValue) -> Result<JsValue, JsValue> {
    free_call(op, &json_arg(input, "")?)
}

fn now(value: &JsValue) -> Result<Value, JsValue> {
    Ok(Value::from(now_ms(value, "nowMs")?))
}

#[wasm_bindgen(js_class = SyncCore)]
impl JsSyncCore {
    fn core_op(&self, op: &str, input: &Value) -> Result<JsValue, JsValue> {
        to_js(&ops::core_call(&self.inner, op, input).map_err(op_error)?)
    }

    /// The keys that find the stored record for an event, in order (Virtuous id, our external reference, the
    /// merge survivor): `{kind, keys: [{tag, val}]}`.
    #[wasm_bindgen(js_name = lookupKeys)]
    pub fn lookup_keys(&self, event: JsValue) -> Result<JsValue, JsValue> {
        let input = object(vec![("event", json_arg(&event, "event")?)]);
        self.core_op("lookupKeys", &input)
    }

    /// Decides what to do with one inbound event given the stored record state (`null` when none), under the
    /// config's `sync` section. `nowMs` defaults to `Date.now()`.
    #[wasm_bindgen(js_name = decideInbound)]
    pub fn decide_inbound(
        &self,
        event: JsValue,
        record: JsValue,
        now_ms: JsValue,
    ) -> Result<JsValue, JsValue> {
        let input = object(vec![
            ("event", json_arg(&event, "event")?),
            ("record", optional_json_arg(&record, "record")?),
            ("nowMs", now(&now_ms)?),
        ]);
        self.core_op("decideInbound", &input)
    }

    /// Decides what to do with one partner-side change given the stored record state (`null` when none).
    #[wasm_bindgen(js_name = decideOutbound)]
    pub fn decide_outbound(
        &self,
        record: JsValue,
        change: JsValue,
        now_ms: JsValue,
    ) -> Result<JsValue, JsValue> {
        let input = object(vec![
            ("record", optional_json_arg(&record, "record")?),
            ("change", json_arg(&change, "change")?),
            ("nowMs", now(&now_ms)?),
        ]);
        self.core_op("decideOutbound", &input)
    }

    /// The three-way merge of one record's fields against the base, under the config's policy.
    pub fn resolve(&self, input: JsValue) -> Result<JsValue, JsValue> {
        let input = object(vec![("input", json_arg(&input, "input")?)]);
        self.core_op("resolve", &input)
    }

    /// Settles a record in conflict by hand: `choices` maps each conflicting field to the chosen side or value.
    #[wasm_bindgen(js_name = resolveConflict)]
    pub fn resolve_conflict(
        &self,
        record: JsValue,
        choices: JsValue,
        now_ms: JsValue,
    ) -> Result<JsValue, JsValue> {
        let input = object(vec![
            ("record", optional_json_arg(&record, "record")?),
            ("choices", json_arg(&choices, "choices")?),
            ("nowMs", now(&now_ms)?),
        ]);
        self.core_op("resolveConflict", &input)
    }

    /// Plans one page of a periodic reconciliation against the host's stored records.
    #[wasm_bindgen(js_name = planReconciliation)]
    pub fn plan_reconciliation(&self, input: JsValue) -> Result<JsValue, JsValue> {
        self.core_op("planReconciliation", &json_arg(&input, "")?)
    }
}

/// Applies one trigger to a stored record state (the documented state table); a transition outside the table
/// throws. `nowMs` defaults to `Date.now()`.
#[wasm_bindgen]
pub fn transition(record: JsValue, trigger: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
    let input = object(vec![
        ("record", optional_json_arg(&record, "record")?),
        ("trigger", json_arg(&trigger, "trigger")?),
        ("nowMs", now(&now_ms)?),
    ]);
    free_call("transition", &input)
}

/// The GET-then-PUT merge of a webhook subscription: the full record to PUT.
#[wasm_bindgen(js_name = mergeSubscription)]
pub fn merge_subscription(current: JsValue, change: JsValue) -> Result<JsValue, JsValue> {
    let input = object(vec![
        ("current", json_arg(&current, "current")?),
        ("change", json_arg(&change, "change")?),
    ]);
    free_call("mergeSubscription", &input)
}

/// Parses a Virtuous `modifiedDateTimeUtc` (or any date-time the core accepts).
#[wasm_bindgen(js_name = parseModifiedTime)]
pub fn parse_modified_time(text: JsValue) -> Result<JsValue, JsValue> {
    let input = object(vec![("text", Value::String(string_arg(&text, "text")?))]);
    free_call("parseModifiedTime", &input)
}

macro_rules! whole_input_ops {
    ($($(#[$doc:meta])* $rust:ident => $js:literal),* $(,)?) => {$(
        $(#[$doc])*
        #[wasm_bindgen(js_name = $js)]
        pub fn $rust(input: JsValue) -> Result<JsValue, JsValue> {
            whole($js, &input)
        }
    )*};
}

whole_input_ops!(
    /// The remap plan for merged contacts: chains followed to the survivor, cycles refused.
    plan_merge_remap => "planMergeRemap",
    /// The ordered plan that pauses a customer's sync.
    plan_pause => "planPause",
    /// The ordered plan that resumes a customer's sync, with a reconciliation from the pause time.
    plan_resume => "planResume",
    /// The secret rotation plan (new secret first, old one kept until no receipt reports it).
    plan_secret_rotation => "planSecretRotation",
    /// Two-phase tombstones and the breaker for a run's deletions and overwrites.
    plan_deletions => "planDeletions",
    /// What a host should do with one Virtuous response.
    classify_response => "classifyResponse",
    /// Starts a query run from the stored cursor: the first query body.
    start_query_run => "startQueryRun",
    /// Accepts one page of query results into a run.
    accept_query_page => "acceptQueryPage",
    /// Ends a run: the next cursor (advanced only after a complete run).
    finish_query_run => "finishQueryRun",
    /// The price of a plan in requests.
    price_plan => "pricePlan",
);

/// Streaming initial match of both sides: feed chunks from either side, then `finish()` for the plan.
#[wasm_bindgen(js_name = InitialMatcher)]
pub struct JsInitialMatcher {
    inner: Matcher,
}

/// Records via the host's own `JSON.stringify` and `serde_json` inside wasm: one native call instead of
/// a property read per field, which dominates a 1M-record feed. `JSON.stringify` drops `undefined`
/// exactly as the general argument walk does, and unknown keys are still refused by the typed read.
/// Only when that fails does the general walk run, for its field-naming error.
fn records(value: &JsValue) -> Result<Vec<MatchRecord>, JsValue> {
    if let Some(text) = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|t| t.as_string())
    {
        if let Ok(tree) = serde_json::from_str::<serde_json::Value>(&text) {
            if let Ok(records) = ops::input::<Vec<MatchRecord>>(&tree, "records") {
                return Ok(records);
            }
        }
    }
    ops::input(&json_arg(value, "records")?, "records").map_err(op_error)
}

fn matcher_error(e: virtuous_sync::reconcile::matcher::MatchError) -> JsValue {
    op_error(OpError::from(e))
}

#[wasm_bindgen(js_class = InitialMatcher)]
impl JsInitialMatcher {
    /// An empty matcher; `expected` (`{ partner, virtuous }` record counts) pre-sizes it for large runs.
    #[wasm_bindgen(constructor)]
    pub fn new(expected: JsValue) -> Result<JsInitialMatcher, JsValue> {
        let expected = optional_json_arg(&expected, "expected")?;
        let inner = if expected.is_null() {
            Matcher::new()
        } else {
            let sizes: ExpectedSizes = ops::input(&expected, "expected").map_err(op_error)?;
            Matcher::try_with_capacity(sizes.partner, sizes.virtuous).map_err(matcher_error)?
        };
        Ok(JsInitialMatcher { inner })
    }

    /// Feeds a chunk of partner records. A failing chunk changes nothing.
    #[wasm_bindgen(js_name = addPartnerChunk)]
    pub fn add_partner_chunk(&mut self, records_: JsValue) -> Result<(), JsValue> {
        self.inner
            .add_partner_chunk(&records(&records_)?)
            .map_err(matcher_error)
    }

    /// Feeds a chunk of Virtuous records. A failing chunk changes nothing.
    #[wasm_bindgen(js_name = addVirtuousChunk)]
    pub fn add_virtuous_chunk(&mut self, records_: JsValue) -> Result<(), JsValue> {
        self.inner
            .add_virtuous_chunk(&records(&records_)?)
            .map_err(matcher_error)
    }

    /// The plan over everything fed so far (the matcher can keep being fed and finished again).
    pub fn finish(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.finish())
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedSizes {
    #[serde(default)]
    partner: u64,
    #[serde(default)]
    virtuous: u64,
}

/// The per-organisation request budget: feed it every response's rate-limit headers, ask it before sending.
#[wasm_bindgen(js_name = RateBudget)]
pub struct JsRateBudget {
    inner: Budget,
}

/// An object argument with `nowMs` filled in from `Date.now()` when absent (the core has no clock).
fn with_now(value: &JsValue, field: &str) -> Result<Value, JsValue> {
    let mut v = optional_json_arg(value, field)?;
    if v.is_null() {
        v = Value::Object(Map::new());
    }
    if let Some(map) = v.as_object_mut() {
        if map.get("nowMs").is_none_or(Value::is_null) {
            map.insert("nowMs".to_owned(), now(&JsValue::UNDEFINED)?);
        }
    }
    Ok(v)
}

#[wasm_bindgen(js_class = RateBudget)]
impl JsRateBudget {
    /// A fresh budget (`config` optional: limit 5000/h, liveHeadroom 500, backoff 1 s .. 5 min).
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<JsRateBudget, JsValue> {
        let config = optional_json_arg(&config, "config")?;
        let inner = ops::rate_budget(&config, "config").map_err(op_error)?;
        Ok(JsRateBudget { inner })
    }

    /// A budget loaded back from what `toJSON` returned (e.g. kept in KV between edge requests).
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(state: JsValue) -> Result<JsRateBudget, JsValue> {
        let state = json_arg(&state, "state")?;
        let inner = ops::restore_rate_budget(&state, "state").map_err(op_error)?;
        Ok(JsRateBudget { inner })
    }

    /// Feeds one response: `{ status?, headers: { limit?, remaining?, reset?, retryAfter? }, nowMs?, random? }`.
    pub fn observe(&mut self, observation: JsValue) -> Result<(), JsValue> {
        let obs: RateObservation =
            ops::input(&with_now(&observation, "observation")?, "observation").map_err(op_error)?;
        self.inner.observe(&obs);
        Ok(())
    }

    /// Counts `n` requests sent since the last observed response.
    pub fn spend(&mut self, n: JsValue) -> Result<(), JsValue> {
        let n: u32 = ops::input(&json_arg(&n, "n")?, "n").map_err(op_error)?;
        self.inner.spend(n);
        Ok(())
    }

    /// Go, or wait how long: `{ cost?, priority?, nowMs?, random? }`.
    pub fn decide(&self, request: JsValue) -> Result<JsValue, JsValue> {
        let req: RateRequest =
            ops::input(&with_now(&request, "request")?, "request").map_err(op_error)?;
        to_js(&self.inner.decide(&req))
    }

    /// How much of a background plan needing `remaining` requests may run now.
    pub fn schedule(&self, remaining: JsValue, now_ms_: JsValue) -> Result<JsValue, JsValue> {
        let remaining: u64 =
            ops::input(&json_arg(&remaining, "remaining")?, "remaining").map_err(op_error)?;
        to_js(&self.inner.schedule(remaining, now_ms(&now_ms_, "nowMs")?))
    }

    /// Backoff in ms for the `attempt`-th consecutive failure (1-based), jittered by the host's `random` (u32).
    #[wasm_bindgen(js_name = backoffMs)]
    pub fn backoff_ms(&self, attempt: JsValue, random: JsValue) -> Result<f64, JsValue> {
        let attempt: u32 =
            ops::input(&json_arg(&attempt, "attempt")?, "attempt").map_err(op_error)?;
        let random: u32 = if random.is_undefined() {
            0
        } else {
            ops::input(&json_arg(&random, "random")?, "random").map_err(op_error)?
        };
        Ok(self.inner.backoff_ms(attempt, random) as f64)
    }

    /// The budget's state as JSON (config, limit, remaining, resetAtMs, blockedUntilMs, failures).
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner)
    }
}
