//! JS value -> Rust conversions and Rust -> JS results. No decisions are taken here.

use js_sys::{Array, ArrayBuffer, Object, SharedArrayBuffer, Uint8Array};
use serde::Serialize;
use virtuous_sync::Headers;
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{invalid_argument, VirtuousSyncError};

/// The bytes of a body: `Uint8Array` (so `Buffer`), any other `ArrayBufferView`, `ArrayBuffer` are copied as they
/// are, with no re-encoding; a string is encoded as UTF-8.
pub(crate) fn body_bytes(value: &JsValue, field: &str) -> Result<Vec<u8>, JsValue> {
    if let Some(u8s) = value.dyn_ref::<Uint8Array>() {
        return Ok(u8s.to_vec());
    }
    if let Some(s) = value.as_string() {
        return Ok(s.into_bytes());
    }
    // `ArrayBuffer.isView` is realm-independent: views made in another realm (vm contexts) still pass.
    if ArrayBuffer::is_view(value) {
        let view: &Object = value.unchecked_ref();
        let buffer = get(view, "buffer");
        let offset = get(view, "byteOffset").as_f64();
        let len = get(view, "byteLength").as_f64();
        if let (Some(offset), Some(len)) = (offset, len) {
            if buffer.is_instance_of::<ArrayBuffer>()
                || buffer.is_instance_of::<SharedArrayBuffer>()
            {
                return Ok(Uint8Array::new_with_byte_offset_and_length(
                    &buffer,
                    offset as u32,
                    len as u32,
                )
                .to_vec());
            }
        }
    }
    if value.is_instance_of::<ArrayBuffer>() || value.is_instance_of::<SharedArrayBuffer>() {
        return Ok(Uint8Array::new(value).to_vec());
    }
    Err(invalid_argument(
        field,
        &format!(
            "{field} must be a Uint8Array, Buffer, ArrayBuffer or string, got {}",
            type_name(value)
        ),
    ))
}

/// Headers from a plain object (`string | string[] | undefined` values, as Node's `IncomingHttpHeaders`), a Fetch
/// `Headers`, a `Map`, or any iterable of `[name, value]` pairs. Order and repeats are kept.
pub(crate) fn headers(value: &JsValue, field: &str) -> Result<Headers, JsValue> {
    let mut out = Headers::new();
    if value.is_undefined() || value.is_null() || value.is_string() || !value.is_object() {
        return Err(invalid_argument(
            field,
            &format!(
                "{field} must be a plain object, a Fetch Headers or an iterable of [name, value] pairs, got {}",
                type_name(value)
            ),
        ));
    }
    if let Some(flat) = crate::host::flat_headers(value) {
        if let Some(out) = from_flat(&flat) {
            return Ok(out);
        }
    }
    let iter = js_sys::try_iter(value)
        .map_err(|_| invalid_argument(field, &format!("{field} could not be iterated")))?;
    if let Some(iter) = iter {
        for item in iter {
            let item = item
                .map_err(|_| invalid_argument(field, &format!("{field} could not be iterated")))?;
            let pair = item.dyn_ref::<Array>().ok_or_else(|| {
                invalid_argument(
                    field,
                    &format!("every entry of {field} must be a [name, value] pair"),
                )
            })?;
            let name = pair.get(0).as_string().ok_or_else(|| {
                invalid_argument(
                    field,
                    &format!("every header name in {field} must be a string"),
                )
            })?;
            append_value(&mut out, &name, &pair.get(1), field)?;
        }
        return Ok(out);
    }
    let object: &Object = value.unchecked_ref();
    for entry in Object::entries(object).iter() {
        let pair: Array = entry.unchecked_into();
        let name = pair.get(0).as_string().unwrap_or_default();
        append_value(&mut out, &name, &pair.get(1), field)?;
    }
    Ok(out)
}

/// `name\0value\0…` (the lent flattener's string) as pairs; `None` for a string of another shape,
/// which the lent function never writes (the caller then walks the value itself).
fn from_flat(flat: &str) -> Option<Headers> {
    let mut out = Headers::new();
    let mut parts = flat.split('\0');
    loop {
        match (parts.next(), parts.next()) {
            (Some(name), Some(value)) => out.append(name, value),
            // The string ends with a NUL: the split's last piece is the empty rest.
            (Some(""), None) => return Some(out),
            _ => return None,
        }
    }
}

fn append_value(
    out: &mut Headers,
    name: &str,
    value: &JsValue,
    field: &str,
) -> Result<(), JsValue> {
    if value.is_undefined() {
        return Ok(());
    }
    if let Some(v) = value.as_string() {
        out.append(name, &v);
        return Ok(());
    }
    if let Some(values) = value.dyn_ref::<Array>() {
        for v in values.iter() {
            let v = v.as_string().ok_or_else(|| bad_header_value(name, field))?;
            out.append(name, &v);
        }
        return Ok(());
    }
    Err(bad_header_value(name, field))
}

fn bad_header_value(name: &str, field: &str) -> JsValue {
    invalid_argument(
        field,
        &format!("the value of header {name:?} in {field} must be a string, an array of strings or undefined"),
    )
}

/// Deepest nesting accepted in a JSON-shaped argument; also stops cyclic objects.
const MAX_ARG_DEPTH: usize = 64;

/// Any JSON-shaped argument (config, secrets, options), converted as it is; the core validates it.
///
/// Walked by hand (not by a generic JS-value deserializer), for JS semantics: a property whose value is
/// `undefined` is absent (serde-wasm-bindgen's `from_value` turns it into `null`, which the core reads as "set to nothing", e.g. it would
/// clear a preset's `timestampHeader`), and a cyclic or absurdly deep object is an error instead of a stack
/// overflow.
/// `field` is the path prefix of errors: "" for the config (the core names config fields without a prefix, e.g.
/// `secrets[0]`), the argument name otherwise (`options.scheme`).
pub(crate) fn json_arg(value: &JsValue, field: &str) -> Result<serde_json::Value, JsValue> {
    to_json(value, &Path::Root(field), 0)
}

/// Where a value sits in an argument, written out only for an error (formatting every element's
/// path on the way down showed in profiles of small calls).
enum Path<'a> {
    Root(&'a str),
    Index(&'a Path<'a>, usize),
    Key(&'a Path<'a>, &'a str),
}

impl Path<'_> {
    /// `secrets[0]`, `options.scheme`; the config's own fields without a prefix (`[0]`, `scheme`).
    fn render(&self) -> String {
        match self {
            Path::Root(name) => (*name).to_owned(),
            Path::Index(parent, i) => format!("{}[{i}]", parent.render()),
            Path::Key(parent, key) => {
                let parent = parent.render();
                if parent.is_empty() {
                    (*key).to_owned()
                } else {
                    format!("{parent}.{key}")
                }
            }
        }
    }
}

fn bad_json(path: &Path<'_>, what: &str) -> JsValue {
    let path = path.render();
    let name = if path.is_empty() { "config" } else { &path };
    invalid_argument(&path, &format!("{name} {what}"))
}

fn to_json(value: &JsValue, path: &Path<'_>, depth: usize) -> Result<serde_json::Value, JsValue> {
    use serde_json::Value;
    // Strings first, then numbers: the commonest leaves (secrets, ids, `nowMs`) cost one call
    // into the engine each; the primitive kinds exclude one another, so the order decides nothing.
    if let Some(s) = value.as_string() {
        return Ok(Value::String(s));
    }
    if let Some(n) = value.as_f64() {
        if n.is_finite() && n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0 {
            return Ok(Value::from(n as i64));
        }
        return serde_json::Number::from_f64(n)
            .map(Value::Number)
            .ok_or_else(|| bad_json(path, "must be a finite number"));
    }
    if let Some(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if value.is_null() || value.is_undefined() {
        return Ok(Value::Null);
    }
    if depth >= MAX_ARG_DEPTH {
        return Err(bad_json(path, "is nested too deeply (or cyclic)"));
    }
    if let Some(array) = value.dyn_ref::<Array>() {
        let mut out = Vec::with_capacity(array.length() as usize);
        for (i, item) in array.iter().enumerate() {
            out.push(to_json(&item, &Path::Index(path, i), depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    if value.is_object() && !value.is_function() {
        let mut out = serde_json::Map::new();
        for entry in Object::entries(value.unchecked_ref()).iter() {
            let pair: Array = entry.unchecked_into();
            let item = pair.get(1);
            if item.is_undefined() {
                continue;
            }
            let key = pair.get(0).as_string().unwrap_or_default();
            let item = to_json(&item, &Path::Key(path, &key), depth + 1)?;
            out.insert(key, item);
        }
        return Ok(Value::Object(out));
    }
    Err(bad_json(
        path,
        &format!(
            "must be JSON-like (objects, arrays, strings, numbers, booleans), got {}",
            type_name(value)
        ),
    ))
}

/// An optional JSON-shaped argument: `undefined` and `null` become `Null` (the core's defaults).
pub(crate) fn optional_json_arg(
    value: &JsValue,
    field: &str,
) -> Result<serde_json::Value, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(serde_json::Value::Null);
    }
    json_arg(value, field)
}

/// Verify options with `nowMs` filled in from `Date.now()` when the caller gave none (the core has no clock).
pub(crate) fn options_with_now(value: &JsValue, field: &str) -> Result<serde_json::Value, JsValue> {
    let mut options = optional_json_arg(value, field)?;
    if options.is_null() {
        options = serde_json::Value::Object(serde_json::Map::new());
    }
    if let Some(map) = options.as_object_mut() {
        if map.get("nowMs").is_none_or(serde_json::Value::is_null) {
            map.insert("nowMs".to_owned(), serde_json::Value::from(date_now()));
        }
    }
    Ok(options)
}

/// A required string argument.
pub(crate) fn string_arg(value: &JsValue, field: &str) -> Result<String, JsValue> {
    value.as_string().ok_or_else(|| {
        invalid_argument(
            field,
            &format!("{field} must be a string, got {}", type_name(value)),
        )
    })
}

/// `nowMs`: milliseconds since the Unix epoch; `undefined`/`null` mean `Date.now()`.
pub(crate) fn now_ms(value: &JsValue, field: &str) -> Result<i64, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(date_now());
    }
    match value.as_f64() {
        Some(ms) if ms.is_finite() && ms.abs() <= 9_007_199_254_740_991.0 => Ok(ms.trunc() as i64),
        _ => Err(invalid_argument(
            field,
            &format!(
                "{field} must be a finite number of milliseconds since the Unix epoch, got {}",
                type_name(value)
            ),
        )),
    }
}

fn date_now() -> i64 {
    js_sys::Date::now().trunc() as i64
}

#[cfg(feature = "sync")]
/// A core result as a plain JS object. Optional fields are absent, never `null`: the core's result types
/// skip `None` when serialising. Through JSON text, as [`to_js_json`]: the same objects as a field-by-field
/// conversion for what the results hold, one call instead of one per field, and no second serializer
/// compiled into the wasm for every result type.
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    to_js_json(value)
}

/// A core result as a plain JS object through JSON text and the engine's `JSON.parse`: one call
/// instead of one per field. Used for results made of strings, booleans, small integers, arrays
/// and string-keyed maps, where both ways give the same object.
pub(crate) fn to_js_json<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|_| internal())?;
    text_to_js(&text)
}

/// A result whose JSON text the core wrote itself (a receipt, a verification: the same bytes as
/// [`to_js_json`] gives, without the generic serialiser) as a plain JS object.
pub(crate) fn text_to_js(text: &str) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(text).map_err(|_| internal())
}

fn internal() -> JsValue {
    VirtuousSyncError::new("internal", "", "could not convert the result to JS").into_js()
}

#[wasm_bindgen]
extern "C" {
    type TextDecoder;
    #[wasm_bindgen(constructor)]
    fn new() -> TextDecoder;
    #[wasm_bindgen(method)]
    fn decode(this: &TextDecoder, input: &Uint8Array) -> JsValue;
    /// `JSON.parse` of a JS string as it is (js_sys's takes a Rust `&str`, which would copy it back).
    #[wasm_bindgen(js_namespace = JSON, js_name = parse, catch)]
    fn json_parse(text: &JsValue) -> Result<JsValue, JsValue>;
}

thread_local! {
    static DECODER: TextDecoder = TextDecoder::new();
}

/// The embedded record of a body the core has validated, built by `JSON.parse`: `body[key]` or
/// `body[key][inner]`. `None` if the engine disagrees (never expected: it accepts all the core does).
pub(crate) fn resource_from_body(body: &[u8], key: &str, inner: Option<&str>) -> Option<JsValue> {
    let text = DECODER.with(|d| d.decode(&crate::host::memory_view(body)));
    let doc = json_parse(&text).ok()?;
    let outer = js_sys::Reflect::get(&doc, &JsValue::from_str(key)).ok()?;
    let record = match inner {
        Some(k) => js_sys::Reflect::get(&outer, &JsValue::from_str(k)).ok()?,
        None => outer,
    };
    record.is_object().then_some(record)
}

/// `receipt.event.resource = resource` on a receipt object just built.
pub(crate) fn set_event_resource(receipt: &JsValue, resource: &JsValue) {
    let event = js_sys::Reflect::get(receipt, &JsValue::from_str("event")).unwrap_or_default();
    if event.is_object() {
        let _ = js_sys::Reflect::set(&event, &JsValue::from_str("resource"), resource);
    }
}

fn get(object: &Object, key: &str) -> JsValue {
    js_sys::Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A short description of a JS value's type for error messages; never the value itself (it may be a secret).
fn type_name(value: &JsValue) -> String {
    if value.is_null() {
        return "null".to_owned();
    }
    if Array::is_array(value) {
        return "an array".to_owned();
    }
    value
        .js_typeof()
        .as_string()
        .unwrap_or_else(|| "an unknown value".to_owned())
}
