//! The sync, reconciliation and planning operations, generated from the core's operation table (each builds its
//! input object from the JS arguments and runs it through [`virtuous_sync::ops`]), and the two stateful classes.
//! No decisions are taken here: every rule lives in the core, identically on every surface.

use serde_json::{Map, Value};
use std::ops::ControlFlow;
use virtuous_sync::ops::{self, OpError};
use virtuous_sync::reconcile::matcher::{
    FinishedPlan, InitialMatcher as Matcher, MatchError, MatchRecord, MatchSeed, PlanSection, Side,
    MAX_CHUNK_JSON_BYTES,
};
use virtuous_sync::reconcile::ratelimit::{RateBudget as Budget, RateObservation, RateRequest};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

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

/// A chunk into the matcher. A string is the compact form: the JSON text of the records array, read by
/// the core in place (`invalid-chunk` naming the field when it does not read). An array goes through the
/// host's own `JSON.stringify` and the same in-place read: one native call instead of a property read per
/// field. `JSON.stringify` drops `undefined` exactly as the general argument walk does, and unknown keys are
/// still refused. Only when that read fails does the general walk run, for its field-naming error.
fn add_chunk(m: &mut Matcher, partner: bool, value: &JsValue) -> Result<(), JsValue> {
    let side = if partner {
        Side::Partner
    } else {
        Side::Virtuous
    };
    let add = |m: &mut Matcher, text: &js_sys::JsString| {
        let text = utf8(text, side)?;
        if partner {
            m.add_partner_chunk_json(&text)
        } else {
            m.add_virtuous_chunk_json(&text)
        }
    };
    if let Some(text) = value.dyn_ref::<js_sys::JsString>() {
        return add(m, text).map_err(matcher_error);
    }
    // `JSON.stringify` answers `undefined` (not a string) for `undefined`, functions and symbols: only a
    // string goes on, so no JS method is ever called on a non-string (an exception thrown through wasm
    // would leave the matcher borrowed).
    if let Some(text) = js_sys::JSON::stringify(value)
        .ok()
        .filter(|t| JsValue::from(t).is_string())
    {
        match add(m, &text) {
            Ok(()) => return Ok(()),
            Err(MatchError::InvalidChunk { .. } | MatchError::ChunkTooLarge { .. }) => {}
            Err(e) => return Err(matcher_error(e)),
        }
    }
    let records: Vec<MatchRecord> =
        ops::input(&json_arg(value, "records")?, "records").map_err(op_error)?;
    let added = if partner {
        m.add_partner_chunk(&records)
    } else {
        m.add_virtuous_chunk(&records)
    };
    added.map_err(matcher_error)
}

#[wasm_bindgen]
extern "C" {
    /// The engine's `TextEncoder` (every supported runtime has it as a global).
    type TextEncoder;
    #[wasm_bindgen(constructor, catch)]
    fn new() -> Result<TextEncoder, JsValue>;
    /// Writes `source` as UTF-8 straight into `dest` (wasm memory): one native copy, where passing a
    /// `String` argument walks the text character by character in JS first.
    #[wasm_bindgen(method, catch, js_name = encodeInto)]
    fn encode_into(
        this: &TextEncoder,
        source: &js_sys::JsString,
        dest: &mut [u8],
    ) -> Result<js_sys::Object, JsValue>;
}

/// A JS string as UTF-8 in wasm memory, refused (`chunk-too-large`) before any copy when its UTF-16
/// length already passes the core's bound (each unit is at least one UTF-8 byte).
fn utf8(text: &js_sys::JsString, side: Side) -> Result<String, MatchError> {
    let units = text.length() as usize;
    if units > MAX_CHUNK_JSON_BYTES {
        return Err(MatchError::ChunkTooLarge {
            side,
            bytes: units as u64,
        });
    }
    let unreadable = |what: &str| MatchError::InvalidChunk {
        side,
        field: String::new(),
        message: format!("the text could not be read: {what}"),
    };
    let mut buf = vec![0u8; units.saturating_mul(3)];
    let done = TextEncoder::new()
        .and_then(|e| e.encode_into(text, &mut buf))
        .map_err(|_| unreadable("the engine's TextEncoder failed"))?;
    let written = js_sys::Reflect::get(&done, &JsValue::from_str("written"))
        .ok()
        .and_then(|w| w.as_f64())
        .ok_or_else(|| unreadable("TextEncoder.encodeInto reported no length"))?
        as usize;
    if written > buf.len() {
        return Err(unreadable(
            "TextEncoder.encodeInto reported a length past its buffer",
        ));
    }
    buf.truncate(written);
    // encodeInto writes lone surrogates as U+FFFD, so this is valid UTF-8; a failure is refused, never trusted.
    String::from_utf8(buf).map_err(|_| MatchError::InvalidChunk {
        side,
        field: String::new(),
        message: "the text is not valid UTF-8".into(),
    })
}

fn matcher_error(e: MatchError) -> JsValue {
    op_error(OpError::from(e))
}

/// Pairs and review items cross into JS in pages of this many: each page is serialised by the core
/// straight from its own texts and parsed by the engine's `JSON.parse`, so neither side holds the whole
/// plan as text.
const PLAN_PAGE: usize = 16_384;

fn section_json<T: serde::Serialize>(value: &T) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(|e| {
        crate::error::VirtuousSyncError::new(
            "internal",
            "",
            &format!("could not write the plan: {e}"),
        )
        .into_js()
    })
}

fn plan_to_js<'p, 'm>(plan: &'p FinishedPlan<'m>) -> Result<JsValue, JsValue> {
    // One text buffer reused for every page; the core writes each section's JSON directly.
    let mut text = String::new();
    let mut parse = |section: PlanSection<'_, '_>| {
        text.clear();
        section.write_json(&mut text);
        js_sys::JSON::parse(&text)
    };
    let mut paged = |n: usize, page: &dyn Fn(usize) -> PlanSection<'p, 'm>| {
        let out = js_sys::Array::new();
        let mut start = 0;
        while start < n {
            let items: js_sys::Array = parse(page(start))?.unchecked_into();
            for v in items.iter() {
                out.push(&v);
            }
            start += PLAN_PAGE;
        }
        Ok::<_, JsValue>(out)
    };
    let pairs = paged(plan.pair_count(), &|s| plan.pairs_page(s, PLAN_PAGE))?;
    let review = paged(plan.review_count(), &|s| plan.review_page(s, PLAN_PAGE))?;
    let out = js_sys::Object::new();
    let set =
        |k: &str, v: &JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), v).map(|_| ());
    set("pairs", &pairs)?;
    set("virtuousOnly", &parse(plan.virtuous_only())?)?;
    set("partnerOnly", &parse(plan.partner_only())?)?;
    set("review", &review)?;
    set(
        "counts",
        &js_sys::JSON::parse(&section_json(plan.counts())?)?,
    )?;
    Ok(out.into())
}

#[wasm_bindgen(js_class = InitialMatcher)]
impl JsInitialMatcher {
    /// An empty matcher; `options` (`{ partner, virtuous, seed }`): record counts per side pre-size it for
    /// large runs; `seed` (64 hex characters) keys its hash tables, by default 32 bytes from
    /// `crypto.getRandomValues` so crafted CRM values cannot flood them.
    #[wasm_bindgen(constructor)]
    pub fn new(expected: JsValue) -> Result<JsInitialMatcher, JsValue> {
        let expected = optional_json_arg(&expected, "expected")?;
        let sizes: ExpectedSizes = if expected.is_null() {
            ExpectedSizes::default()
        } else {
            ops::input(&expected, "expected").map_err(op_error)?
        };
        let seed = match sizes.seed.as_deref() {
            Some(hex) => MatchSeed::from_hex(hex).map_err(|e| {
                let mut e = OpError::from(e);
                e.field = "expected.seed".into();
                op_error(e)
            })?,
            None => {
                let mut random = [0u8; 32];
                getrandom::getrandom(&mut random).map_err(|e| {
                    crate::error::VirtuousSyncError::new(
                        "random-unavailable",
                        "",
                        &format!(
                            "the host gave no secure random bytes for the matcher's seed: {e}"
                        ),
                    )
                    .into_js()
                })?;
                MatchSeed::from_bytes(random)
            }
        };
        let inner = Matcher::try_with_options(&seed, sizes.partner, sizes.virtuous)
            .map_err(matcher_error)?;
        Ok(JsInitialMatcher { inner })
    }

    /// Feeds a chunk of partner records (an array, or its JSON text). A failing chunk changes nothing.
    #[wasm_bindgen(js_name = addPartnerChunk)]
    pub fn add_partner_chunk(&mut self, records: JsValue) -> Result<(), JsValue> {
        add_chunk(&mut self.inner, true, &records)
    }

    /// Feeds a chunk of Virtuous records (an array, or its JSON text). A failing chunk changes nothing.
    #[wasm_bindgen(js_name = addVirtuousChunk)]
    pub fn add_virtuous_chunk(&mut self, records: JsValue) -> Result<(), JsValue> {
        add_chunk(&mut self.inner, false, &records)
    }

    /// The plan over everything fed so far (the matcher can keep being fed and finished again).
    /// `options.onProgress({phase, done, total})` is called through the run; returning `false` (or
    /// throwing) stops it: `finish` then throws `cancelled` (or what the callback threw).
    pub fn finish(&self, options: JsValue) -> Result<JsValue, JsValue> {
        let callback = if options.is_object() {
            js_sys::Reflect::get(&options, &JsValue::from_str("onProgress"))?
        } else if options.is_undefined() || options.is_null() {
            JsValue::UNDEFINED
        } else {
            return Err(op_error(OpError::invalid_argument(
                "options",
                "options must be an object",
            )));
        };
        if callback.is_undefined() || callback.is_null() {
            return plan_to_js(&self.inner.finish_compact());
        }
        let Some(callback) = callback.dyn_ref::<js_sys::Function>() else {
            return Err(op_error(OpError::invalid_argument(
                "options.onProgress",
                "options.onProgress must be a function",
            )));
        };
        let mut thrown: Option<JsValue> = None;
        let plan = self.inner.finish_with_progress(&mut |p| {
            let stop = match to_js(&p).and_then(|arg| callback.call1(&JsValue::NULL, &arg)) {
                Ok(answer) => answer == JsValue::FALSE,
                Err(e) => {
                    thrown = Some(e);
                    true
                }
            };
            if stop {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        match plan {
            Ok(plan) => plan_to_js(&plan),
            Err(e) => Err(thrown.take().unwrap_or_else(|| matcher_error(e))),
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExpectedSizes {
    #[serde(default)]
    partner: u64,
    #[serde(default)]
    virtuous: u64,
    #[serde(default)]
    seed: Option<String>,
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
