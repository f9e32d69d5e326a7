//! Configuration errors and the small JSON readers every surface shares.
//!
//! Hosts hand configuration over as JSON-shaped data (a JS object, a vector file); reading it here,
//! once, gives every surface the same checks and the same error naming the offending field
//! (`secrets[1].notAfter`), instead of a generic deserialisation message.

use core::fmt;
use serde_json::{Map, Value};

/// A configuration or argument the caller got wrong. Never carries secret material.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    code: ConfigErrorCode,
    field: String,
    message: String,
}

/// What kind of configuration mistake it is; each has a stable kebab-case [`code`](ConfigErrorCode::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorCode {
    /// A value has the wrong type or shape.
    InvalidConfig,
    /// `scheme` names a preset that does not exist.
    UnknownPreset,
    /// A scheme field is inconsistent or out of range.
    InvalidScheme,
    /// The secret list is empty.
    NoSecrets,
    /// A secret is empty, not text, or not decodable in the scheme's secret format.
    InvalidSecret,
    /// A secret is shorter than [`crate::secret::MIN_SECRET_BYTES`] and weak secrets were not allowed.
    WeakSecret,
    /// `platformName` is missing or blank.
    InvalidPlatformName,
    /// A size, depth, count or other option is out of range.
    InvalidOption,
    /// An argument to a call (not the configuration) is unusable.
    InvalidArgument,
}

impl ConfigErrorCode {
    /// Every code, for documentation and uniqueness tests.
    pub const ALL: [ConfigErrorCode; 9] = [
        ConfigErrorCode::InvalidConfig,
        ConfigErrorCode::UnknownPreset,
        ConfigErrorCode::InvalidScheme,
        ConfigErrorCode::NoSecrets,
        ConfigErrorCode::InvalidSecret,
        ConfigErrorCode::WeakSecret,
        ConfigErrorCode::InvalidPlatformName,
        ConfigErrorCode::InvalidOption,
        ConfigErrorCode::InvalidArgument,
    ];

    /// The stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            ConfigErrorCode::InvalidConfig => "invalid-config",
            ConfigErrorCode::UnknownPreset => "unknown-preset",
            ConfigErrorCode::InvalidScheme => "invalid-scheme",
            ConfigErrorCode::NoSecrets => "no-secrets",
            ConfigErrorCode::InvalidSecret => "invalid-secret",
            ConfigErrorCode::WeakSecret => "weak-secret",
            ConfigErrorCode::InvalidPlatformName => "invalid-platform-name",
            ConfigErrorCode::InvalidOption => "invalid-option",
            ConfigErrorCode::InvalidArgument => "invalid-argument",
        }
    }
}

impl ConfigError {
    /// A new error about `field` (a dotted path such as `scheme.tolerance.pastSeconds`).
    pub fn new(
        code: ConfigErrorCode,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            code,
            field: field.into(),
            message: message.into(),
        }
    }

    /// The stable code (`weak-secret`).
    pub fn code(&self) -> &'static str {
        self.code.code()
    }

    /// The typed code.
    pub fn kind(&self) -> ConfigErrorCode {
        self.code
    }

    /// The path of the offending field (`secrets[0]`), or `""` when it is the whole value.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// A sentence saying what is wrong and how to fix it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{} ({})", self.message, self.code())
        } else {
            write!(f, "{}: {} ({})", self.field, self.message, self.code())
        }
    }
}

impl std::error::Error for ConfigError {}

/// Joins a parent path and a key: `join("scheme", "prefix") == "scheme.prefix"`.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(field: &str, wanted: &str, got: &Value) -> ConfigError {
    ConfigError::new(
        ConfigErrorCode::InvalidConfig,
        field,
        format!("expected {wanted}, got {}", type_name(got)),
    )
}

/// Reads an object, or fails naming `field`. `null` counts as absent where the caller allows it.
pub(crate) fn as_object<'a>(
    v: &'a Value,
    field: &str,
) -> Result<&'a Map<String, Value>, ConfigError> {
    v.as_object()
        .ok_or_else(|| wrong_type(field, "an object", v))
}

/// Rejects keys the reader does not know, so a typo (`secret` for `secrets`) is an error, not a
/// silently ignored setting.
pub(crate) fn only_keys(
    obj: &Map<String, Value>,
    parent: &str,
    known: &[&str],
) -> Result<(), ConfigError> {
    for key in obj.keys() {
        if !known.contains(&key.as_str()) {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidConfig,
                join(parent, key),
                format!("unknown field; expected one of: {}", known.join(", ")),
            ));
        }
    }
    Ok(())
}

/// An optional field: absent and `null` both give `None`.
pub(crate) fn opt<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

pub(crate) fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<Option<&'a str>, ConfigError> {
    match opt(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(&join(parent, key), "a string", other)),
    }
}

pub(crate) fn opt_bool(
    obj: &Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<Option<bool>, ConfigError> {
    match opt(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(&join(parent, key), "a boolean", other)),
    }
}

/// A whole, non-negative number (JS numbers arrive as floats: `1.0` is accepted, `1.5` is not).
pub(crate) fn opt_u64(
    obj: &Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<Option<u64>, ConfigError> {
    match opt(obj, key) {
        None => Ok(None),
        Some(v) => as_u64(v, &join(parent, key)).map(Some),
    }
}

pub(crate) fn as_u64(v: &Value, field: &str) -> Result<u64, ConfigError> {
    if let Some(n) = v.as_u64() {
        return Ok(n);
    }
    if let Some(f) = v.as_f64() {
        if f.fract() == 0.0 && (0.0..=9.007_199_254_740_991e15).contains(&f) {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            return Ok(f as u64);
        }
        return Err(ConfigError::new(
            ConfigErrorCode::InvalidOption,
            field,
            "expected a whole, non-negative number",
        ));
    }
    Err(wrong_type(field, "a number", v))
}

/// A whole number that may be negative (times in milliseconds since the epoch).
pub(crate) fn as_i64(v: &Value, field: &str) -> Result<i64, ConfigError> {
    if let Some(n) = v.as_i64() {
        return Ok(n);
    }
    if let Some(f) = v.as_f64() {
        if f.fract() == 0.0 && (-9.007_199_254_740_991e15..=9.007_199_254_740_991e15).contains(&f) {
            #[allow(clippy::cast_possible_truncation)]
            return Ok(f as i64);
        }
        return Err(ConfigError::new(
            ConfigErrorCode::InvalidOption,
            field,
            "expected a whole number (milliseconds since the Unix epoch)",
        ));
    }
    Err(wrong_type(field, "a number", v))
}

pub(crate) fn opt_i64(
    obj: &Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<Option<i64>, ConfigError> {
    match opt(obj, key) {
        None => Ok(None),
        Some(v) => as_i64(v, &join(parent, key)).map(Some),
    }
}

pub(crate) fn opt_str_list(
    obj: &Map<String, Value>,
    parent: &str,
    key: &str,
) -> Result<Option<Vec<String>>, ConfigError> {
    let field = join(parent, key);
    match opt(obj, key) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(wrong_type(&format!("{field}[{i}]"), "a string", other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(wrong_type(&field, "an array of strings", other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_kebab_case() {
        let codes: HashSet<_> = ConfigErrorCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes.len(), ConfigErrorCode::ALL.len());
        for c in codes {
            assert!(
                c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{c}"
            );
        }
    }

    #[test]
    fn display_names_field_and_code() {
        let e = ConfigError::new(ConfigErrorCode::WeakSecret, "secrets[0]", "too short");
        assert_eq!(e.to_string(), "secrets[0]: too short (weak-secret)");
    }

    #[test]
    fn whole_numbers_from_js_floats() {
        assert_eq!(as_u64(&serde_json::json!(5.0), "x").unwrap(), 5);
        assert!(as_u64(&serde_json::json!(5.5), "x").is_err());
        assert!(as_u64(&serde_json::json!(-1), "x").is_err());
        assert_eq!(as_i64(&serde_json::json!(-1.0), "x").unwrap(), -1);
    }
}

use crate::envelope::{self, Limits};
use crate::event::EventType;
use crate::secret::SecretEntry;
use crate::signature::Scheme;

/// Largest configurable body limit (64 MiB); Virtuous deliveries embed a single record.
pub const MAX_BODY_LIMIT: usize = 64 * 1024 * 1024;

/// Everything a [`crate::receive::SyncCore`] is built from. Validated once, at construction.
#[derive(Debug, Clone)]
pub struct Config {
    /// Current and recent webhook secrets, newest first by convention (rotation).
    pub secrets: Vec<SecretEntry>,
    /// Our platform's name, as stamped in `transactionSource` / `referenceSource` on every write.
    pub platform_name: String,
    /// The signing scheme (default: the `virtuous` preset).
    pub scheme: Scheme,
    /// Body size and JSON depth limits.
    pub limits: Limits,
    /// Event types the host handles; others are acknowledged (2xx) and dropped. `None`: all 15.
    pub subscribed_events: Option<Vec<EventType>>,
    /// Accept secrets shorter than [`crate::secret::MIN_SECRET_BYTES`] (for existing secrets that cannot be changed yet).
    pub allow_weak_secrets: bool,
    /// Run failure diagnostics (on failures only; never weakens a check). Default on.
    pub diagnostics: bool,
    #[cfg(feature = "sync")]
    /// Options of the sync decisions (`core.decideInbound`, ...): customer id, cooldown, field
    /// maps, policy. `None`: this core only receives. `platform_name` is always the config's own.
    pub sync: Option<crate::sync::SyncOptions>,
}

impl Config {
    /// A configuration with the Virtuous scheme and default limits.
    pub fn new(platform_name: impl Into<String>, secrets: Vec<SecretEntry>) -> Config {
        Config {
            secrets,
            platform_name: platform_name.into(),
            scheme: Scheme::virtuous(),
            limits: Limits::default(),
            subscribed_events: None,
            allow_weak_secrets: false,
            diagnostics: true,
            #[cfg(feature = "sync")]
            sync: None,
        }
    }

    /// Reads `{ secrets, platformName, scheme?, maxBodyBytes?, maxDepth?, subscribedEvents?,
    /// allowWeakSecrets?, diagnostics? }`, naming the field of any error.
    pub fn from_json(v: &Value) -> Result<Config, ConfigError> {
        let o = as_object(v, "")?;
        only_keys(
            o,
            "",
            &[
                "secrets",
                "platformName",
                "scheme",
                "maxBodyBytes",
                "maxDepth",
                "subscribedEvents",
                "allowWeakSecrets",
                "diagnostics",
                "sync",
            ],
        )?;
        let secrets =
            SecretEntry::list_from_json(o.get("secrets").unwrap_or(&Value::Null), "secrets")?;
        let platform_name = opt_str(o, "", "platformName")?
            .ok_or_else(|| {
                ConfigError::new(
                    ConfigErrorCode::InvalidPlatformName,
                    "platformName",
                    "missing: the name stamped in transactionSource/referenceSource on every write",
                )
            })?
            .to_owned();
        let scheme = Scheme::from_json(o.get("scheme").unwrap_or(&Value::Null), "scheme")?;
        let mut limits = Limits::default();
        if let Some(n) = opt_u64(o, "", "maxBodyBytes")? {
            limits.max_body_bytes = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = opt_u64(o, "", "maxDepth")? {
            limits.max_depth = usize::try_from(n).unwrap_or(usize::MAX);
        }
        let subscribed_events = match opt_str_list(o, "", "subscribedEvents")? {
            None => None,
            Some(names) => Some(
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| {
                        envelope::normalize_event_type(n).ok_or_else(|| {
                            ConfigError::new(
                                ConfigErrorCode::InvalidOption,
                                format!("subscribedEvents[{i}]"),
                                "not one of the 15 CRM+ event types (e.g. \"gift-create\", \"giftCreate\")",
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        #[cfg(feature = "sync")]
        let sync = match opt(o, "sync") {
            None => None,
            Some(Value::Object(so)) => {
                let mut so = so.clone();
                match so.get("platformName") {
                    None => {
                        so.insert("platformName".into(), Value::String(platform_name.clone()));
                    }
                    Some(Value::String(p)) if p.trim() == platform_name.trim() => {}
                    Some(_) => {
                        return Err(ConfigError::new(
                            ConfigErrorCode::InvalidConfig,
                            "sync.platformName",
                            "leave it out: the sync options use the config's platformName",
                        ))
                    }
                }
                let parsed = crate::ops::sync_options(&Value::Object(so), "sync").map_err(|e| {
                    let field = if e.field.starts_with("sync") {
                        e.field.clone()
                    } else {
                        e.field.replacen("options", "sync", 1)
                    };
                    // A shape mistake (unknown key, wrong type) or a value out of range.
                    let code = if e.code == "invalid-option" {
                        ConfigErrorCode::InvalidOption
                    } else {
                        ConfigErrorCode::InvalidConfig
                    };
                    ConfigError::new(code, field, e.message)
                })?;
                Some(parsed)
            }
            Some(_) => {
                return Err(ConfigError::new(
                    ConfigErrorCode::InvalidConfig,
                    "sync",
                    "expected an object (customerId, cooldownMs, fieldMaps, policy, ...)",
                ))
            }
        };
        #[cfg(not(feature = "sync"))]
        if opt(o, "sync").is_some() {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidConfig,
                "sync",
                "this build has no sync decisions (the receive-only build): use the full package",
            ));
        }
        let c = Config {
            secrets,
            platform_name,
            scheme,
            limits,
            subscribed_events,
            allow_weak_secrets: opt_bool(o, "", "allowWeakSecrets")?.unwrap_or(false),
            diagnostics: opt_bool(o, "", "diagnostics")?.unwrap_or(true),
            #[cfg(feature = "sync")]
            sync,
        };
        c.validate()?;
        Ok(c)
    }

    /// Checks the fields that are not checked while preparing secrets.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let name = self.platform_name.trim();
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidPlatformName,
                "platformName",
                "expected 1 to 128 printable characters",
            ));
        }
        if !(1..=MAX_BODY_LIMIT).contains(&self.limits.max_body_bytes) {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidOption,
                "maxBodyBytes",
                format!("expected 1 to {MAX_BODY_LIMIT}"),
            ));
        }
        if !(1..=envelope::MAX_DEPTH_LIMIT).contains(&self.limits.max_depth) {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidOption,
                "maxDepth",
                format!("expected 1 to {}", envelope::MAX_DEPTH_LIMIT),
            ));
        }
        self.scheme.validate("scheme")
    }
}
