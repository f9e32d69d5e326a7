//! The `virtuous:sync@0.1.0` WebAssembly component (world `sync-core`, see `wit/world.wit`):
//! interfaces `receiver` (typed WIT), `sync` and `reconcile` (JSON text, through
//! `virtuous_sync::ops`; see `json.rs`).
//!
//! Conversion only: WIT records in, core call, WIT records out. Configuration and options are
//! turned into the same JSON shape the npm package hands the core (camelCase keys, absent fields
//! omitted), so every surface shares one validation path and reports identical error codes and
//! field paths. Randomness for `generate-secret` comes from the imported `wasi:random`.
//!
//! Built for `wasm32-unknown-unknown` and wrapped with `wasm-tools component new`
//! (`scripts/build-component`): the component's only import is `wasi:random/random@0.2.6`.
//! Nothing here can panic (a panic would trap and kill the host's instance).

/// wit-bindgen's generated glue: the only `unsafe` code of this crate.
#[allow(unsafe_code)]
mod bindings {
    wit_bindgen::generate!({
        world: "sync-core",
        path: "../../wit",
        generate_all,
    });

    use super::Component;
    export!(Component);
}

mod convert;
mod json;
mod reconcile;
mod sync;

use bindings::exports::virtuous::sync::receiver::{
    Config, Error, Event, Guest, GuestCore, Receipt, Secret, SecretOptions, SignOptions, Signed,
    Verification, VerifyOptions,
};
use bindings::wasi::random::random::get_random_bytes;
use virtuous_sync::{ConfigError, ConfigErrorCode};

/// The component's exports (`receiver` here, `sync` and `reconcile` in their modules).
struct Component;

/// The `core` resource: a configured [`virtuous_sync::SyncCore`].
struct Core(virtuous_sync::SyncCore);

impl GuestCore for Core {
    fn new(config: Config) -> Result<Core, Error> {
        virtuous_sync::SyncCore::from_json(&convert::config(&config)?)
            .map(Core)
            .map_err(convert::error)
    }

    fn receive(&self, body: Vec<u8>, headers: Vec<(String, String)>, now_ms: i64) -> Receipt {
        convert::receipt(self.0.receive(&body, &convert::headers(&headers), now_ms))
    }

    fn lookup_keys(&self, event: Event) -> Result<String, Error> {
        let input = json::object(vec![("event", json::event(&event)?)]);
        json::core_call(&self.0, "lookupKeys", &input)
    }

    fn decide_inbound(
        &self,
        event: Event,
        record_json: Option<String>,
        now_ms: i64,
    ) -> Result<String, Error> {
        let input = json::object(vec![
            ("event", json::event(&event)?),
            ("record", json::parse_opt(record_json.as_ref(), "record")?),
            ("nowMs", now_ms.into()),
        ]);
        json::core_call(&self.0, "decideInbound", &input)
    }

    fn decide_outbound(
        &self,
        record_json: Option<String>,
        change_json: String,
        now_ms: i64,
    ) -> Result<String, Error> {
        let input = json::object(vec![
            ("record", json::parse_opt(record_json.as_ref(), "record")?),
            ("change", json::parse(&change_json, "change")?),
            ("nowMs", now_ms.into()),
        ]);
        json::core_call(&self.0, "decideOutbound", &input)
    }

    fn resolve(&self, input_json: String) -> Result<String, Error> {
        let input = json::object(vec![("input", json::parse(&input_json, "input")?)]);
        json::core_call(&self.0, "resolve", &input)
    }

    fn resolve_conflict(
        &self,
        record_json: String,
        choices_json: String,
        now_ms: i64,
    ) -> Result<String, Error> {
        let input = json::object(vec![
            ("record", json::parse(&record_json, "record")?),
            ("choices", json::parse(&choices_json, "choices")?),
            ("nowMs", now_ms.into()),
        ]);
        json::core_call(&self.0, "resolveConflict", &input)
    }

    fn plan_reconciliation(&self, input_json: String) -> Result<String, Error> {
        json::core_call(
            &self.0,
            "planReconciliation",
            &json::parse(&input_json, "")?,
        )
    }
}

impl Guest for Component {
    type Core = Core;

    fn verify_signature(
        body: Vec<u8>,
        header_value: String,
        secrets: Vec<Secret>,
        options: Option<VerifyOptions>,
    ) -> Result<Verification, Error> {
        let secrets = serde_json::Value::Array(secrets.iter().map(convert::secret).collect());
        let options = options
            .as_ref()
            .map_or(serde_json::Value::Null, convert::verify_options);
        virtuous_sync::receive::signature::verify_signature_json(
            &body,
            &header_value,
            &secrets,
            &options,
        )
        .map(convert::verification)
        .map_err(convert::error)
    }

    fn sign_body(
        body: Vec<u8>,
        secret: Secret,
        options: Option<SignOptions>,
    ) -> Result<Signed, Error> {
        let options = options
            .as_ref()
            .map_or(serde_json::Value::Null, convert::sign_options);
        virtuous_sync::receive::signature::sign_body_json(
            &body,
            &convert::secret(&secret),
            &options,
        )
        .map(convert::signed)
        .map_err(convert::error)
    }

    fn generate_secret(options: Option<SecretOptions>) -> Result<String, Error> {
        let options = options
            .as_ref()
            .map_or(serde_json::Value::Null, convert::secret_options);
        let len = virtuous_sync::receive::secret::secret_len_requested(&options)
            .map_err(convert::error)?;
        let len = u64::try_from(len).map_err(|_| {
            convert::error(ConfigError::new(
                ConfigErrorCode::InvalidOption,
                "options.bytes",
                "too many bytes requested",
            ))
        })?;
        virtuous_sync::receive::secret::format_secret(&get_random_bytes(len), &options)
            .map_err(convert::error)
    }
}
