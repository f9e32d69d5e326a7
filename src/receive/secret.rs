//! Webhook secrets: parsing the configured list, preparing keyed HMAC state once, and generating
//! new secrets from randomness the host supplies.
//!
//! The key bytes never leave this module in a printable form: `Debug` is redacted, errors name the
//! list position (`secrets[1]`), never the value.

use crate::error::{ConfigError, ConfigErrorCode};
use crate::json;
use base64::Engine as _;
use core::fmt;
use hmac::{Hmac, KeyInit};
use serde_json::Value;
use sha2::Sha256;

/// Secrets shorter than this many key bytes are refused unless weak secrets are explicitly allowed.
/// Virtuous asks for "at least 32 bytes"; HMAC-SHA256 gains nothing from more than 64.
pub const MIN_SECRET_BYTES: usize = 32;

/// The most random bytes [`format_secret`] will format.
pub const MAX_GENERATED_BYTES: usize = 64;

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// How a configured secret string becomes HMAC key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretFormat {
    /// The UTF-8 bytes of the string, as given (Virtuous, GitHub, VOMO).
    Raw,
    /// Standard Webhooks: an optional `whsec_` prefix, then Base64 of the key bytes.
    Whsec,
}

impl SecretFormat {
    /// The stable name (`raw`, `whsec`).
    pub fn as_str(self) -> &'static str {
        match self {
            SecretFormat::Raw => "raw",
            SecretFormat::Whsec => "whsec",
        }
    }
}

/// One configured secret: a current or recent one (rotation keeps several).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretEntry {
    /// A label the receipt reports when this secret matched (defaults to none; the index is always reported).
    pub id: Option<String>,
    /// The secret text as configured.
    pub secret: String,
    /// After this instant (ms since the epoch) the secret should no longer match; when it still
    /// does, verification succeeds with a `secret-past-not-after` warning so the host can finish the rotation.
    pub not_after_ms: Option<i64>,
}

impl fmt::Debug for SecretEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretEntry")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("not_after_ms", &self.not_after_ms)
            .finish()
    }
}

impl SecretEntry {
    /// A secret with no id and no retirement date.
    pub fn new(secret: impl Into<String>) -> Self {
        SecretEntry {
            id: None,
            secret: secret.into(),
            not_after_ms: None,
        }
    }

    /// Reads `"text"` or `{ id?, secret, notAfter? }`.
    pub fn from_json(v: &Value, field: &str) -> Result<SecretEntry, ConfigError> {
        match v {
            Value::String(s) => Ok(SecretEntry::new(s.clone())),
            Value::Object(obj) => {
                json::only_keys(obj, field, &["id", "secret", "notAfter"])?;
                let secret = json::opt_str(obj, field, "secret")?.ok_or_else(|| {
                    ConfigError::new(
                        ConfigErrorCode::InvalidSecret,
                        json::join(field, "secret"),
                        "missing: each secret object needs a `secret` string",
                    )
                })?;
                Ok(SecretEntry {
                    id: json::opt_str(obj, field, "id")?.map(str::to_owned),
                    secret: secret.to_owned(),
                    not_after_ms: json::opt_i64(obj, field, "notAfter")?,
                })
            }
            _ => Err(ConfigError::new(
                ConfigErrorCode::InvalidSecret,
                field,
                "a secret must be a string or { id?, secret, notAfter? }",
            )),
        }
    }

    /// Reads a list of secrets (`secrets` in the config).
    pub fn list_from_json(v: &Value, field: &str) -> Result<Vec<SecretEntry>, ConfigError> {
        match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    SecretEntry::from_json(item, "").map_err(|e| e.under(&format!("{field}[{i}]")))
                })
                .collect(),
            // A single secret where a list was expected is a common slip; accept it as a list of one.
            Value::String(_) | Value::Object(_) => Ok(vec![
                SecretEntry::from_json(v, "").map_err(|e| e.under(&format!("{field}[0]")))?
            ]),
            Value::Null => Err(ConfigError::new(
                ConfigErrorCode::NoSecrets,
                field,
                "no secrets configured: pass the webhook subscription's secret",
            )),
            _ => Err(ConfigError::new(
                ConfigErrorCode::InvalidConfig,
                field,
                "expected an array of secrets",
            )),
        }
    }
}

/// Turns a secret string into key bytes under `format`.
pub(crate) fn key_bytes(
    secret: &str,
    format: SecretFormat,
    field: &str,
) -> Result<Vec<u8>, ConfigError> {
    // Only whitespace is no secret either (an env variable of blanks): a typed error, never a key
    // anyone can guess (issue 16's adversarial corpus).
    if secret.trim().is_empty() {
        return Err(ConfigError::new(
            ConfigErrorCode::InvalidSecret,
            field,
            "the secret is empty or only whitespace",
        ));
    }
    match format {
        SecretFormat::Raw => Ok(secret.as_bytes().to_vec()),
        SecretFormat::Whsec => {
            let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| {
                    ConfigError::new(
                        ConfigErrorCode::InvalidSecret,
                        field,
                        "not a Standard Webhooks secret: expected `whsec_` followed by Base64",
                    )
                })
        }
    }
}

/// A secret ready for verification: the key as HMAC pads for a host-supplied SHA-256
/// ([`crate::receive::digest`]), and the built-in keyed HMAC state, computed on first use (a host
/// that lends its SHA-256 never needs it; a one-shot `verifySignature` then hashes no key block in
/// wasm) and cloned per call after that.
#[derive(Clone)]
pub(crate) struct PreparedSecret {
    pub(crate) id: Option<String>,
    pub(crate) not_after_ms: Option<i64>,
    mac: std::sync::OnceLock<HmacSha256>,
    pub(crate) pads: crate::receive::digest::Pads,
    /// Kept only to run failure diagnostics (whitespace, format) without re-reading the config.
    pub(crate) text: String,
    pub(crate) format: SecretFormat,
}

impl fmt::Debug for PreparedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedSecret")
            .field("id", &self.id)
            .field("not_after_ms", &self.not_after_ms)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl PreparedSecret {
    /// The built-in keyed HMAC state: keyed by the pads' key block, which is the same HMAC as the
    /// key itself (RFC 2104: a key is zero-padded to the block, a longer one hashed first).
    pub(crate) fn mac(&self) -> &HmacSha256 {
        self.mac
            .get_or_init(|| HmacSha256::new(&self.pads.key_block().into()))
    }
}

pub(crate) fn keyed(key: &[u8]) -> Result<HmacSha256, ConfigError> {
    // HMAC accepts keys of any length; the error arm exists only because the API is fallible.
    HmacSha256::new_from_slice(key).map_err(|_| {
        ConfigError::new(
            ConfigErrorCode::InvalidSecret,
            "",
            "the HMAC key could not be used",
        )
    })
}

/// Prepares every secret, enforcing non-emptiness, the scheme's format and the strength rule.
pub(crate) fn prepare(
    secrets: &[SecretEntry],
    format: SecretFormat,
    allow_weak: bool,
    field: &str,
) -> Result<Vec<PreparedSecret>, ConfigError> {
    if secrets.is_empty() {
        return Err(ConfigError::new(
            ConfigErrorCode::NoSecrets,
            field,
            "no secrets configured: pass the webhook subscription's secret",
        ));
    }
    secrets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let at = |e: ConfigError| e.under(&format!("{field}[{i}]"));
            let key = key_bytes(&s.secret, format, "").map_err(at)?;
            check_strength(key.len(), allow_weak, "").map_err(at)?;
            Ok(PreparedSecret {
                id: s.id.clone(),
                not_after_ms: s.not_after_ms,
                mac: std::sync::OnceLock::new(),
                pads: crate::receive::digest::Pads::new(&key),
                text: s.secret.clone(),
                format,
            })
        })
        .collect()
}

/// The strength rule: at least [`MIN_SECRET_BYTES`] key bytes unless `allow_weak`.
pub fn check_strength(key_len: usize, allow_weak: bool, field: &str) -> Result<(), ConfigError> {
    if key_len < MIN_SECRET_BYTES && !allow_weak {
        return Err(ConfigError::new(
            ConfigErrorCode::WeakSecret,
            field,
            format!(
                "the secret has {key_len} key bytes; at least {MIN_SECRET_BYTES} are required \
                 (generate one with generateSecret(), or set allowWeakSecrets: true for an existing secret you cannot change)"
            ),
        ));
    }
    Ok(())
}

/// How a generated secret is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneratedFormat {
    /// URL-safe Base64 without padding: safe in URLs, JSON and environment variables (the default).
    Base64Url,
    /// Lower-case hex.
    Hex,
    /// Standard Webhooks: `whsec_` + standard Base64.
    Whsec,
}

/// Options of [`format_secret`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Random bytes in the secret, [`MIN_SECRET_BYTES`]..=[`MAX_GENERATED_BYTES`].
    pub bytes: usize,
    /// How to write them.
    pub format: GeneratedFormat,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            bytes: MIN_SECRET_BYTES,
            format: GeneratedFormat::Base64Url,
        }
    }
}

impl GenerateOptions {
    /// Reads `{ bytes?, format? }` (`null` or absent means defaults).
    pub fn from_json(v: &Value) -> Result<GenerateOptions, ConfigError> {
        let mut o = GenerateOptions::default();
        if v.is_null() {
            return Ok(o);
        }
        let obj = json::as_object(v, "options")?;
        json::only_keys(obj, "options", &["bytes", "format"])?;
        if let Some(n) = json::opt_u64(obj, "options", "bytes")? {
            o.bytes = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(f) = json::opt_str(obj, "options", "format")? {
            o.format = match f {
                "base64url" => GeneratedFormat::Base64Url,
                "hex" => GeneratedFormat::Hex,
                "whsec" => GeneratedFormat::Whsec,
                _ => {
                    return Err(ConfigError::new(
                        ConfigErrorCode::InvalidOption,
                        "options.format",
                        "expected \"base64url\", \"hex\" or \"whsec\"",
                    ))
                }
            };
        }
        if !(MIN_SECRET_BYTES..=MAX_GENERATED_BYTES).contains(&o.bytes) {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidOption,
                "options.bytes",
                format!("expected {MIN_SECRET_BYTES} to {MAX_GENERATED_BYTES} bytes"),
            ));
        }
        Ok(o)
    }
}

/// How many random bytes a host must fetch for these options (JSON form of the options).
pub fn secret_len_requested(options: &Value) -> Result<usize, ConfigError> {
    GenerateOptions::from_json(options).map(|o| o.bytes)
}

/// Formats host-supplied random bytes as a secret. The core reads no random source itself: the
/// JS surface passes `crypto.getRandomValues`, the component `wasi:random`, Rust the OS.
pub fn format_secret_with(random: &[u8], options: GenerateOptions) -> Result<String, ConfigError> {
    if random.len() != options.bytes {
        return Err(ConfigError::new(
            ConfigErrorCode::InvalidArgument,
            "random",
            format!(
                "expected {} random bytes, got {}",
                options.bytes,
                random.len()
            ),
        ));
    }
    if random.iter().all(|b| *b == 0) {
        // An all-zero buffer means the host's random source was not actually called.
        return Err(ConfigError::new(
            ConfigErrorCode::InvalidArgument,
            "random",
            "the random bytes are all zero; the host's random source did not fill the buffer",
        ));
    }
    Ok(match options.format {
        GeneratedFormat::Base64Url => {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
        }
        GeneratedFormat::Hex => hex::encode(random),
        GeneratedFormat::Whsec => format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(random)
        ),
    })
}

/// [`format_secret_with`] taking the options as JSON (`{ bytes?, format? }`).
pub fn format_secret(random: &[u8], options: &Value) -> Result<String, ConfigError> {
    format_secret_with(random, GenerateOptions::from_json(options)?)
}

/// Generates a secret from the operating system's secure random source.
#[cfg(feature = "os-rng")]
pub fn generate_secret(options: GenerateOptions) -> Result<String, ConfigError> {
    let mut buf = vec![0u8; options.bytes];
    getrandom::getrandom(&mut buf).map_err(|_| {
        ConfigError::new(
            ConfigErrorCode::InvalidArgument,
            "random",
            "the operating system's random source is unavailable",
        )
    })?;
    format_secret_with(&buf, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn debug_never_shows_the_secret() {
        let s = SecretEntry::new("super-secret-value-that-must-not-leak");
        assert!(!format!("{s:?}").contains("super-secret"));
        let p = prepare(&[s], SecretFormat::Raw, false, "secrets").unwrap();
        assert!(!format!("{p:?}").contains("super-secret"));
    }

    #[test]
    fn strength_rule() {
        let short = SecretEntry::new("short");
        let err = prepare(
            std::slice::from_ref(&short),
            SecretFormat::Raw,
            false,
            "secrets",
        )
        .unwrap_err();
        assert_eq!(err.code(), "weak-secret");
        assert_eq!(err.field(), "secrets[0]");
        assert!(!err.to_string().contains("short\""));
        assert!(prepare(&[short], SecretFormat::Raw, true, "secrets").is_ok());
        assert_eq!(
            prepare(&[], SecretFormat::Raw, true, "secrets")
                .unwrap_err()
                .code(),
            "no-secrets"
        );
    }

    #[test]
    fn whsec_decodes_base64() {
        let key = key_bytes(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            SecretFormat::Whsec,
            "s",
        )
        .unwrap();
        assert_eq!(key.len(), 24);
        assert_eq!(
            key_bytes("whsec_!!", SecretFormat::Whsec, "s")
                .unwrap_err()
                .code(),
            "invalid-secret"
        );
    }

    #[test]
    fn secret_json_forms() {
        let e = SecretEntry::from_json(
            &json!({"id": "k2", "secret": "x", "notAfter": 5.0}),
            "secrets[0]",
        )
        .unwrap();
        assert_eq!(e.id.as_deref(), Some("k2"));
        assert_eq!(e.not_after_ms, Some(5));
        let err = SecretEntry::from_json(&json!({"secret": "x", "notafter": 1}), "secrets[0]")
            .unwrap_err();
        assert_eq!(err.field(), "secrets[0].notafter");
        assert_eq!(
            SecretEntry::from_json(&json!(5), "secrets[2]")
                .unwrap_err()
                .field(),
            "secrets[2]"
        );
    }

    #[test]
    fn formats_secrets() {
        let r = [7u8; 32];
        assert_eq!(format_secret(&r, &Value::Null).unwrap().len(), 43);
        assert_eq!(
            format_secret(&r, &json!({"format": "hex"})).unwrap().len(),
            64
        );
        assert!(format_secret(&r, &json!({"format": "whsec"}))
            .unwrap()
            .starts_with("whsec_"));
        assert_eq!(
            format_secret(&r[..16], &Value::Null).unwrap_err().code(),
            "invalid-argument"
        );
        assert_eq!(
            format_secret(&[0u8; 32], &Value::Null).unwrap_err().code(),
            "invalid-argument"
        );
        assert_eq!(
            secret_len_requested(&json!({"bytes": 16}))
                .unwrap_err()
                .code(),
            "invalid-option"
        );
        assert_eq!(secret_len_requested(&json!({"bytes": 48})).unwrap(), 48);
    }

    #[cfg(feature = "os-rng")]
    #[test]
    fn os_generation_differs() {
        let a = generate_secret(GenerateOptions::default()).unwrap();
        let b = generate_secret(GenerateOptions::default()).unwrap();
        assert_ne!(a, b);
    }
}
