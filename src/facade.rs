//! The facade: [`SyncCore`], one configured value that receives deliveries and, when its
//! configuration has a `sync` section, takes the sync decisions and plans reconciliations with
//! those options. It combines the capabilities (`receive`, `sync`); none of them knows about it.

use crate::error::ConfigError;
use crate::headers::Headers;
use crate::json::{as_object, only_keys, opt};
use crate::receive::config::{self, Config};
use crate::receive::signature::Verifier;
use crate::receive::{Receipt, Receiver};
#[cfg(feature = "sync")]
use crate::sync::{OptionsError, SyncOptions};
use serde_json::Value;

/// Everything a [`SyncCore`] is built from: the receiver's [`Config`] and, optionally, the sync
/// options. A [`Config`] alone converts into one (a core that only receives).
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// The receiver's configuration (secrets, platform name, scheme, limits).
    pub receiver: Config,
    /// Options of the sync decisions (`core.decideInbound`, ...): customer id, cooldown, field
    /// maps, policy. `None`: this core only receives. Their `platform_name` is the receiver's.
    #[cfg(feature = "sync")]
    pub sync: Option<SyncOptions>,
}

impl From<Config> for CoreConfig {
    fn from(receiver: Config) -> CoreConfig {
        CoreConfig {
            receiver,
            #[cfg(feature = "sync")]
            sync: None,
        }
    }
}

impl CoreConfig {
    /// Reads the receiver's keys plus `sync`, naming the field of any error (`sync.cooldownMs`).
    pub fn from_json(v: &Value) -> Result<CoreConfig, ConfigError> {
        let o = as_object(v, "")?;
        let mut keys = config::KEYS.to_vec();
        keys.push("sync");
        only_keys(o, "", &keys)?;
        let receiver = Config::read(o)?;
        #[cfg(feature = "sync")]
        let sync = match opt(o, "sync") {
            None => None,
            Some(section) => Some(sync_section(section, &receiver.platform_name)?),
        };
        #[cfg(not(feature = "sync"))]
        if opt(o, "sync").is_some() {
            return Err(ConfigError::new(
                crate::error::ConfigErrorCode::InvalidConfig,
                "sync",
                "this build has no sync decisions (the receive-only build): use the full package",
            ));
        }
        receiver.validate()?;
        Ok(CoreConfig {
            receiver,
            #[cfg(feature = "sync")]
            sync,
        })
    }
}

/// The `sync` section: the sync options with the configuration's own `platformName` filled in.
/// Errors keep their typed code and name the field under `sync`.
#[cfg(feature = "sync")]
fn sync_section(section: &Value, platform_name: &str) -> Result<SyncOptions, ConfigError> {
    use crate::error::ConfigErrorCode::{InvalidConfig, InvalidOption};
    let Value::Object(so) = section else {
        return Err(ConfigError::new(
            InvalidConfig,
            "sync",
            "expected an object (customerId, cooldownMs, fieldMaps, policy, ...)",
        ));
    };
    let mut so = so.clone();
    match so.get("platformName") {
        None => {
            so.insert(
                "platformName".into(),
                Value::String(platform_name.to_owned()),
            );
        }
        Some(Value::String(p)) if p.trim() == platform_name.trim() => {}
        Some(_) => {
            return Err(ConfigError::new(
                InvalidConfig,
                "sync.platformName",
                "leave it out: the sync options use the config's platformName",
            ))
        }
    }
    let options: SyncOptions = crate::json::typed(&Value::Object(so), "sync")
        .map_err(|(field, message)| ConfigError::new(InvalidConfig, field, message))?;
    options.validate().map_err(|e| match &e {
        OptionsError::Invalid { field, .. } => ConfigError::new(
            InvalidOption,
            crate::json::join("sync", field),
            e.to_string(),
        ),
        OptionsError::Json { .. } => ConfigError::new(InvalidConfig, "sync", e.to_string()),
    })?;
    Ok(options)
}

/// A configured core: the receiver, and the sync options when configured.
#[derive(Debug, Clone)]
pub struct SyncCore {
    receiver: Receiver,
    #[cfg(feature = "sync")]
    sync: Option<SyncOptions>,
}

impl SyncCore {
    /// Validates the configuration and prepares the keyed HMAC state of every secret.
    pub fn new(config: impl Into<CoreConfig>) -> Result<SyncCore, ConfigError> {
        let config = config.into();
        Ok(SyncCore {
            receiver: Receiver::new(config.receiver)?,
            #[cfg(feature = "sync")]
            sync: config.sync,
        })
    }

    /// [`SyncCore::new`] from the JSON-shaped configuration every surface uses.
    pub fn from_json(config: &Value) -> Result<SyncCore, ConfigError> {
        SyncCore::new(CoreConfig::from_json(config)?)
    }

    /// Our platform name (trimmed).
    pub fn platform_name(&self) -> &str {
        self.receiver.platform_name()
    }

    /// The sync options, when the configuration has a `sync` section.
    #[cfg(feature = "sync")]
    pub fn sync_options(&self) -> Option<&SyncOptions> {
        self.sync.as_ref()
    }

    /// The receiver, for callers that only receive.
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }

    /// The verifier, for callers that verify without receiving.
    pub fn verifier(&self) -> &Verifier {
        self.receiver.verifier()
    }

    /// Decides what to answer to one delivery. `now_ms` is the host's clock (ms since the epoch).
    pub fn receive(&self, body: &[u8], headers: &Headers, now_ms: i64) -> Receipt {
        self.receiver.receive(body, headers, now_ms)
    }
}
