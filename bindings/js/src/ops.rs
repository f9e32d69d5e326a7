//! The sync, reconciliation and planning operations, generated from the core's operation table (each builds its
//! input object from the JS arguments and runs it through [`virtuous_sync::ops`]), and the two stateful classes.
//! No decisions are taken here: every rule lives in the core, identically on every surface.

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

/// One JS argument as the input object's JSON value, by its kind in the operation table.
macro_rules! arg {
    (json $v:ident) => {
        json_arg(&$v, stringify!($v))?
    };
    (opt $v:ident) => {
        optional_json_arg(&$v, stringify!($v))?
    };
    (now $v:ident) => {
        Value::from(now_ms(&$v, stringify!($v))?)
    };
    (text $v:ident) => {
        Value::String(string_arg(&$v, stringify!($v))?)
    };
}

/// The npm exports, generated from the core's operation table (`virtuous_sync::operation_table!`): a `sync`
/// operation or a `method` is a `SyncCore` method, a `free` one a free function. Each builds its input object from
/// its JS arguments (named as in the table), runs it through the table's typed entry point and converts the typed
/// result to JS once.
macro_rules! js_exports {
    ($( $(#[$doc:meta])* $kind:ident $name:ident $op:ident $shape:tt; )*) => {
        $( js_exports!(@shape [$(#[$doc])*] $kind $name $op $shape); )*
    };
    (@shape $doc:tt $kind:ident $name:ident $op:ident whole) => {
        js_exports!(@fn $doc $kind $name $op [input] { json_arg(&input, "")? });
    };
    (@shape $doc:tt $kind:ident $name:ident $op:ident ($($arg:ident: $conv:ident),*)) => {
        js_exports!(@fn $doc $kind $name $op [$($arg),*] {
            object(vec![$((stringify!($arg), arg!($conv $arg))),*])
        });
    };
    (@fn [$($doc:tt)*] sync $name:ident $op:ident [$($p:ident),*] $value:block) => {
        #[wasm_bindgen(js_class = SyncCore)]
        impl JsSyncCore {
            $($doc)*
            #[allow(non_snake_case)]
            pub fn $name(&self, $($p: JsValue),*) -> Result<JsValue, JsValue> {
                let value = $value;
                to_js(&ops::run_bound::<ops::$op>(&self.inner, &value).map_err(op_error)?)
            }
        }
    };
    (@fn [$($doc:tt)*] method $name:ident $op:ident [$($p:ident),*] $value:block) => {
        #[wasm_bindgen(js_class = SyncCore)]
        impl JsSyncCore {
            $($doc)*
            #[allow(non_snake_case)]
            pub fn $name(&self, $($p: JsValue),*) -> Result<JsValue, JsValue> {
                let value = $value;
                to_js(&ops::run::<ops::$op>(&value).map_err(op_error)?)
            }
        }
    };
    (@fn [$($doc:tt)*] free $name:ident $op:ident [$($p:ident),*] $value:block) => {
        $($doc)*
        #[wasm_bindgen]
        #[allow(non_snake_case)]
        pub fn $name($($p: JsValue),*) -> Result<JsValue, JsValue> {
            let value = $value;
            to_js(&ops::run::<ops::$op>(&value).map_err(op_error)?)
        }
    };
}

virtuous_sync::operation_table!(js_exports);

fn now(value: &JsValue) -> Result<Value, JsValue> {
    Ok(Value::from(now_ms(value, "nowMs")?))
}

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
