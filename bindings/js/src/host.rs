//! The host's own SHA-256, when the JS glue lends one (Node, Bun and Deno's Node compatibility lend
//! `node:crypto`'s, native and hardware-accelerated; workerd and browsers lend none and the core's
//! built-in implementation runs). Conversion only: the core builds every HMAC from it and decides.

use std::cell::RefCell;

use js_sys::{Function, Uint8Array, WebAssembly};
use virtuous_sync::receive::digest::Sha256Host;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

thread_local! {
    static HOST_SHA256: RefCell<Option<Function>> = const { RefCell::new(None) };
    static HOST_SHA256_MIN: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
    static LAZY_RESOURCE: RefCell<Option<Function>> = const { RefCell::new(None) };
    static FLAT_HEADERS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Called once by the glue with a function that writes a headers value as one string,
/// `name\0value\0…` in the order the adapter's own walk reads it (a plain object's own enumerable
/// keys, a Fetch `Headers` in iteration order; `undefined` values left out, arrays one pair per
/// element), or answers `undefined` for anything else, which the adapter then walks itself. One
/// crossing instead of several per header: a proxy's ten to twenty headers cost more than the rest
/// of a small delivery (docs/performance.md, "Seventh round"). Not part of the API.
#[wasm_bindgen(js_name = "__setFlatHeaders")]
pub fn set_flat_headers(f: JsValue) {
    FLAT_HEADERS.with(|h| *h.borrow_mut() = f.dyn_into::<Function>().ok());
}

/// The headers as the lent function writes them, `None` when none is lent or it declines.
pub(crate) fn flat_headers(value: &JsValue) -> Option<String> {
    FLAT_HEADERS.with(|h| {
        let h = h.borrow();
        h.as_ref()?.call1(&JsValue::NULL, value).ok()?.as_string()
    })
}

/// Called once by the glue with a function, called as `f.call(event, body, key, inner)`, which
/// defines `event.resource` as `JSON.parse` of the body's text at `[key]` / `[key][inner]`, parsed
/// on first read. `body` is the caller's string, or a view of the wasm memory that the function
/// copies before it returns. Not part of the API.
#[wasm_bindgen(js_name = "__setLazyResource")]
pub fn set_lazy_resource(f: JsValue) {
    LAZY_RESOURCE.with(|h| *h.borrow_mut() = f.dyn_into::<Function>().ok());
}

/// Hands the record to the lent helper: `event.resource` is built by `JSON.parse` from the body when
/// first read: the caller's own string when the body was one (a JS string cannot change), a copy of
/// the bytes otherwise. `false` when no helper is lent (the caller builds it now).
pub(crate) fn lazy_resource(
    event: &JsValue,
    original: &JsValue,
    body: &[u8],
    key: &str,
    inner: Option<&str>,
) -> bool {
    LAZY_RESOURCE.with(|h| {
        let h = h.borrow();
        let Some(f) = h.as_ref() else {
            return false;
        };
        let inner = inner.map_or(JsValue::UNDEFINED, JsValue::from_str);
        // The event is the call's `this`: three arguments go without an array built for `apply`.
        // A view of the wasm memory, which the helper copies at once (before anything can grow the
        // memory) by the runtime's cheapest way: Node's pooled Buffer for small bodies.
        let source = if original.is_string() {
            original.clone()
        } else {
            memory_view(body).into()
        };
        f.call3(event, &source, &JsValue::from_str(key), &inner)
            .is_ok()
    })
}

/// Called once by the glue with `(head, body) => sha256(head ‖ body)` as hex text (the runtime's node:crypto),
/// and the body length from which lending pays: below it the built-in SHA-256 runs, where a call
/// out costs more than hashing in wasm (workerd: 4 KB; Node: 0). Not part of the API.
#[wasm_bindgen(js_name = "__setHostSha256")]
pub fn set_host_sha256(f: JsValue, min_body_bytes: Option<u32>) {
    HOST_SHA256.with(|h| *h.borrow_mut() = f.dyn_into::<Function>().ok());
    HOST_SHA256_MIN.with(|m| m.set(min_body_bytes.unwrap_or(0) as usize));
}

/// A view of bytes inside the wasm memory, for the host to read without a copy. Valid only until
/// the memory grows; the host function only reads it and calls nothing back.
pub(crate) fn memory_view(bytes: &[u8]) -> Uint8Array {
    view_in(&memory_buffer(), bytes)
}

/// The wasm memory's current buffer, for [`view_in`].
fn memory_buffer() -> JsValue {
    let memory: WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory.buffer()
}

/// [`memory_view`] in a buffer already fetched (several views, one fetch).
fn view_in(buffer: &JsValue, bytes: &[u8]) -> Uint8Array {
    Uint8Array::new_with_byte_offset_and_length(buffer, bytes.as_ptr() as u32, bytes.len() as u32)
}

/// The lent SHA-256; answers `None` (built-in) when none is lent or it misbehaves.
pub(crate) struct HostSha256;

impl Sha256Host for HostSha256 {
    fn sha256(&self, head: &[u8], body: &[u8]) -> Option<[u8; 32]> {
        if body.len() < HOST_SHA256_MIN.with(core::cell::Cell::get) {
            return None;
        }
        HOST_SHA256.with(|h| {
            let h = h.borrow();
            let f = h.as_ref()?;
            // Both as views of the wasm memory: no copy of the body, and none of the head (the
            // HMAC's key pad) left behind in JS memory.
            let buffer = memory_buffer();
            let out = f
                .call2(
                    &JsValue::NULL,
                    &view_in(&buffer, head),
                    &view_in(&buffer, body),
                )
                .ok()?;
            // Hex text: cheaper for the host to make than a Buffer (scripts/post-glue.mjs). Anything
            // else, or text of another length, and the built-in SHA-256 runs instead.
            let out = out.as_string()?;
            let mut digest = [0u8; 32];
            hex::decode_to_slice(out.as_bytes(), &mut digest).ok()?;
            Some(digest)
        })
    }
}
