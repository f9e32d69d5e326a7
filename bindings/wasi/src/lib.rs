//! The `virtuous:sync@0.1.0` WebAssembly component (world `sync-core`, see `wit/world.wit`):
//! interfaces `types` (the shared vocabulary), `receiver` and `sync` (typed WIT: `types.rs`
//! converts to and from the core's types and `sync.rs` calls the core's typed decisions), and
//! `reconcile` (still JSON text, through `virtuous_sync::ops`).
//!
//! Conversion only: WIT values in, core call, WIT values out. The receiver's configuration and
//! options are turned into the same JSON shape the npm package hands the core (camelCase keys,
//! absent fields omitted), so every surface shares one validation path and reports identical
//! error codes and field paths. Randomness for `generate-secret` comes from the imported
//! `wasi:random`.
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

// Enum conversions between the core's and wit-bindgen's same-named unit enums.
/// Same-named unit enums: core -> WIT (fallible: the core's enums are `#[non_exhaustive]`).
macro_rules! to_wit {
    ($name:ident, $from:ident => $to:ident, [$($v:ident),* $(,)?]) => {
        pub(crate) fn $name(v: $from) -> Result<$to, $crate::bindings::exports::virtuous::sync::types::Error> {
            #[allow(unreachable_patterns)]
            match v {
                $($from::$v => Ok($to::$v),)*
                _ => Err($crate::types::unmapped(stringify!($name))),
            }
        }
    };
}

/// Same-named unit enums: WIT -> core (total).
macro_rules! from_wit {
    ($name:ident, $from:ident => $to:ident, [$($v:ident),* $(,)?]) => {
        pub(crate) fn $name(v: $from) -> $to {
            match v {
                $($from::$v => $to::$v,)*
            }
        }
    };
}

/// The allocator: Talc instead of std's dlmalloc, as in bindings/js (docs/performance.md).
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

mod convert;
mod json;
mod raise;
mod reconcile;
mod sync;
mod types;

use bindings::exports::virtuous::sync::receiver::{
    Config, Guest, GuestCore, Json, Receipt, Secret, SecretOptions, SignOptions, Signed,
    Verification, VerifyOptions,
};
use bindings::exports::virtuous::sync::types::{
    Choice, ConflictResolution, Error, Event, InboundDecision, OutboundDecision, PartnerChange,
    ReconcileInput, ReconciliationPlan, RecordLookup, Resolution, ResolveInput,
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

    fn lookup_keys(&self, event: Event) -> Result<RecordLookup, Error> {
        sync::lookup_keys(self.options()?, event)
    }

    fn decide_inbound(
        &self,
        event: Event,
        record: Option<Json>,
        now_ms: i64,
    ) -> Result<InboundDecision, Error> {
        sync::decide_inbound(self.options()?, event, record, now_ms)
    }

    fn decide_outbound(
        &self,
        record: Option<Json>,
        change: PartnerChange,
        now_ms: i64,
    ) -> Result<OutboundDecision, Error> {
        sync::decide_outbound(self.options()?, record, change, now_ms)
    }

    fn resolve(&self, input: ResolveInput) -> Result<Resolution, Error> {
        sync::resolve(self.options()?, input)
    }

    fn resolve_conflict(
        &self,
        record: Json,
        choices: Vec<(String, Choice)>,
        now_ms: i64,
    ) -> Result<ConflictResolution, Error> {
        sync::resolve_conflict(record, choices, now_ms)
    }

    fn plan_reconciliation(&self, input: ReconcileInput) -> Result<ReconciliationPlan, Error> {
        reconcile::plan(self.options()?, input)
    }
}

impl Core {
    /// This core's sync options, or `sync-not-configured` (the same error the npm core's sync
    /// methods throw).
    fn options(&self) -> Result<&virtuous_sync::sync::SyncOptions, Error> {
        self.0.sync_options().ok_or_else(|| {
            json::coded(
                "sync-not-configured",
                "ops",
                "sync".into(),
                "this core has no `sync` configuration (customerId, field maps, policy): add it to the config".into(),
            )
        })
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
        .map_err(convert::error)
        .and_then(convert::verification)
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
