//! The one error shape thrown to JS: a real `Error` with `name = "VirtuousSyncError"`, `code`, `field`, `module`,
//! `message`.

use js_sys::Reflect;
#[cfg(feature = "sync")]
use virtuous_sync::ops::OpError;
use virtuous_sync::ConfigError;
use wasm_bindgen::JsValue;

/// Code of every failure to convert a JS argument (wrong type or shape).
pub(crate) const INVALID_ARGUMENT: &str = "invalid-argument";

/// A VirtuousSyncError about to be thrown.
pub(crate) struct VirtuousSyncError<'a> {
    code: &'a str,
    field: &'a str,
    module: &'a str,
    message: &'a str,
}

impl<'a> VirtuousSyncError<'a> {
    pub(crate) fn new(code: &'a str, field: &'a str, message: &'a str) -> Self {
        VirtuousSyncError {
            code,
            field,
            module: "ops",
            message,
        }
    }

    /// The same, raised by core module `module` (`config`, `sync`, `matcher`, ...).
    pub(crate) fn in_module(mut self, module: &'a str) -> Self {
        self.module = module;
        self
    }

    /// Builds the JS `Error` object. Setting properties on a fresh Error cannot fail, so the results are ignored.
    pub(crate) fn into_js(self) -> JsValue {
        let err = js_sys::Error::new(self.message);
        err.set_name("VirtuousSyncError");
        let _ = Reflect::set(
            &err,
            &JsValue::from_str("code"),
            &JsValue::from_str(self.code),
        );
        let _ = Reflect::set(
            &err,
            &JsValue::from_str("field"),
            &JsValue::from_str(self.field),
        );
        let _ = Reflect::set(
            &err,
            &JsValue::from_str("module"),
            &JsValue::from_str(self.module),
        );
        err.into()
    }
}

/// A core configuration error, thrown with the core's own code, field and message.
pub(crate) fn config_error(e: &ConfigError) -> JsValue {
    VirtuousSyncError::new(e.code(), e.field(), e.message())
        .in_module("config")
        .into_js()
}

#[cfg(feature = "sync")]
/// A failed core operation, thrown with its code, module, field and message.
pub(crate) fn op_error(e: OpError) -> JsValue {
    VirtuousSyncError::new(&e.code, &e.field, &e.message)
        .in_module(e.module)
        .into_js()
}

/// An argument that could not be converted.
pub(crate) fn invalid_argument(field: &str, message: &str) -> JsValue {
    VirtuousSyncError::new(INVALID_ARGUMENT, field, message).into_js()
}
