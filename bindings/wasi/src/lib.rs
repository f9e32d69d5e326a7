//! The `virtuous:sync@0.1.0` WebAssembly component (world `sync-core`, see `wit/world.wit`).
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

use bindings::exports::virtuous::sync::receiver::{
    Config, Error, Guest, GuestCore, Receipt, Secret, SecretOptions, SignOptions, Signed,
    Verification, VerifyOptions,
};
use bindings::wasi::random::random::get_random_bytes;
use virtuous_sync::config::{ConfigError, ConfigErrorCode};

/// The component's export of `virtuous:sync/receiver`.
struct Component;

/// The `core` resource: a configured [`virtuous_sync::receive::SyncCore`].
struct Core(virtuous_sync::receive::SyncCore);

impl GuestCore for Core {
    fn new(config: Config) -> Result<Core, Error> {
        virtuous_sync::receive::SyncCore::from_json(&convert::config(&config))
            .map(Core)
            .map_err(convert::error)
    }

    fn receive(&self, body: Vec<u8>, headers: Vec<(String, String)>, now_ms: i64) -> Receipt {
        convert::receipt(self.0.receive(&body, &convert::headers(&headers), now_ms))
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
        virtuous_sync::signature::verify_signature_json(&body, &header_value, &secrets, &options)
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
        virtuous_sync::signature::sign_body_json(&body, &convert::secret(&secret), &options)
            .map(convert::signed)
            .map_err(convert::error)
    }

    fn generate_secret(options: Option<SecretOptions>) -> Result<String, Error> {
        let options = options
            .as_ref()
            .map_or(serde_json::Value::Null, convert::secret_options);
        let len = virtuous_sync::secret::secret_len_requested(&options).map_err(convert::error)?;
        let len = u64::try_from(len).map_err(|_| {
            convert::error(ConfigError::new(
                ConfigErrorCode::InvalidOption,
                "options.bytes",
                "too many bytes requested",
            ))
        })?;
        virtuous_sync::secret::format_secret(&get_random_bytes(len), &options)
            .map_err(convert::error)
    }
}
