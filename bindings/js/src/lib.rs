//! wasm-bindgen adapter of [`virtuous_sync`] for the npm package `virtuous-sync` (see `pkg/`).
//!
//! Conversion only: JS values become bytes, [`Headers`] or `serde_json::Value`, the core decides, and its
//! results go back to JS as plain objects (optional fields absent, never `null`). Every conversion failure is
//! thrown as a `VirtuousSyncError` with code `invalid-argument`; nothing here panics.

mod convert;
mod error;
mod host;
#[cfg(feature = "sync")]
mod ops;

use virtuous_sync::SyncCore as Core;
use wasm_bindgen::prelude::*;

use crate::convert::{
    body_bytes, headers, json_arg, now_ms, options_with_now, string_arg, text_to_js, to_js_json,
};
use crate::error::{config_error, VirtuousSyncError};
use crate::host::HostSha256;

/// The allocator: Talc instead of std's dlmalloc, 6.7 KB smaller in the wasm and no slower (docs/performance.md).
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// A configured receiver: `new SyncCore(config)` validates the config once (secrets, scheme, limits) and then
/// answers `receive(body, headers, nowMs?)` with a receipt for every delivery.
#[wasm_bindgen(js_name = SyncCore)]
pub struct JsSyncCore {
    pub(crate) inner: Core,
}

#[wasm_bindgen(js_class = SyncCore)]
impl JsSyncCore {
    /// Validates `config` and prepares the keyed HMAC state of every secret. Throws `VirtuousSyncError`.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue) -> Result<JsSyncCore, JsValue> {
        let config = json_arg(&config, "")?;
        let inner = Core::from_json(&config).map_err(|e| config_error(&e))?;
        Ok(JsSyncCore { inner })
    }

    /// Decides what to answer to one delivery, from its raw body and headers. `nowMs` defaults to `Date.now()`.
    pub fn receive(
        &self,
        body: JsValue,
        headers_like: JsValue,
        now: JsValue,
    ) -> Result<JsValue, JsValue> {
        let bytes = body_bytes(&body, "body")?;
        let hdrs = headers(&headers_like, "headers")?;
        let now = now_ms(&now, "nowMs")?;
        let receiver = self.inner.receiver();
        let (receipt, at) = receiver.receive_lean_with(&bytes, &hdrs, now, &HostSha256);
        let Some(at) = at else {
            return text_to_js(&receipt.to_json_text());
        };
        // The record is built by the engine's own JSON.parse from the bytes the core just
        // validated (the decoder drops a leading BOM, as the core does): on first read where the
        // glue lends its helper, now otherwise; should the engine ever refuse them, the core's
        // own tree is converted instead.
        let js = text_to_js(&receipt.to_json_text())?;
        let event = js_sys::Reflect::get(&js, &JsValue::from_str("event")).unwrap_or_default();
        if host::lazy_resource(&event, &body, &bytes, &at.key, at.inner.as_deref()) {
            return Ok(js);
        }
        match convert::resource_from_body(&bytes, &at.key, at.inner.as_deref()) {
            Some(resource) => {
                convert::set_event_resource(&js, &resource);
                Ok(js)
            }
            None => text_to_js(
                &receiver
                    .receive_with(&bytes, &hdrs, now, &HostSha256)
                    .to_json_text(),
            ),
        }
    }
}

/// Verifies one signature header value over the raw body with a list of secrets (rotation).
#[wasm_bindgen(js_name = verifySignature)]
pub fn verify_signature(
    body: JsValue,
    header_value: JsValue,
    secrets: JsValue,
    options: JsValue,
) -> Result<JsValue, JsValue> {
    let bytes = body_bytes(&body, "body")?;
    let header_value = string_arg(&header_value, "headerValue")?;
    let secrets = json_arg(&secrets, "secrets")?;
    let options = options_with_now(&options, "options")?;
    let verification = virtuous_sync::receive::signature::verify_signature_json_with(
        &bytes,
        &header_value,
        &secrets,
        &options,
        &HostSha256,
    )
    .map_err(|e| config_error(&e))?;
    text_to_js(&verification.to_json_text())
}

/// Signs a body with one secret under a scheme: returns the signature and the headers to send.
#[wasm_bindgen(js_name = signBody)]
pub fn sign_body(body: JsValue, secret: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let bytes = body_bytes(&body, "body")?;
    let secret = json_arg(&secret, "secret")?;
    let options = convert::optional_json_arg(&options, "options")?;
    let signed = virtuous_sync::receive::signature::sign_body_json(&bytes, &secret, &options)
        .map_err(|e| config_error(&e))?;
    to_js_json(&signed)
}

/// Generates a new webhook secret from the host's secure random source (`crypto.getRandomValues`).
#[wasm_bindgen(js_name = generateSecret)]
pub fn generate_secret(options: JsValue) -> Result<String, JsValue> {
    let options = convert::optional_json_arg(&options, "options")?;
    let len = virtuous_sync::receive::secret::secret_len_requested(&options)
        .map_err(|e| config_error(&e))?;
    let mut random = vec![0u8; len];
    getrandom::getrandom(&mut random).map_err(|e| {
        VirtuousSyncError::new(
            "random-unavailable",
            "",
            &format!("the host gave no secure random bytes: {e}"),
        )
        .into_js()
    })?;
    let secret = virtuous_sync::receive::secret::format_secret(&random, &options)
        .map_err(|e| config_error(&e));
    random.fill(0);
    secret
}
