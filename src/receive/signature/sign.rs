//! Signing (for tests, simulators and senders), the HMAC primitives, and the JSON-shaped
//! `verifySignature` / `signBody` entry points every surface shares.

use super::verify::{tag_matches, Content};
use super::{
    Encoding, Presented, Replay, Scheme, SignatureError, SignatureFormat, SignedContent,
    Verification, Verifier, TAG_LEN,
};
use crate::error::{ConfigError, ConfigErrorCode};
use crate::json;
use crate::receive::digest::{BuiltIn, Sha256Host};
use crate::receive::secret::{self, SecretEntry};
use base64::Engine as _;
use hmac::Mac;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Options of [`sign_body`].
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// Unix seconds, required by schemes that sign a timestamp.
    pub timestamp: Option<i64>,
    /// Delivery id, required by schemes that sign an id.
    pub id: Option<String>,
    /// Force hex or Base64 where the scheme allows either (`Auto` signs Base64, as Virtuous's support article describes).
    pub encoding: Option<Encoding>,
}

/// A signature and the headers to send it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
pub struct Signed {
    /// The signature header's value.
    pub signature: String,
    /// Every header the scheme needs (signature, and timestamp and id where it signs them), lower-case names.
    pub headers: BTreeMap<String, String>,
}

/// Signs `body` the way a sender using `scheme` would: for tests, simulators and local testing.
pub fn sign_body(
    body: &[u8],
    secret: &SecretEntry,
    scheme: &Scheme,
    options: &SignOptions,
    allow_weak: bool,
) -> Result<Signed, ConfigError> {
    scheme.validate("options.scheme")?;
    let key = secret::key_bytes(&secret.secret, scheme.secret_format, "secret")?;
    secret::check_strength(key.len(), allow_weak, "secret")?;
    let mac = secret::keyed(&key)?;
    let needs_ts =
        scheme.signed_content != SignedContent::Body || scheme.timestamp_header.is_some();
    let ts = match (options.timestamp, needs_ts) {
        (Some(t), _) if t < 0 => {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidOption,
                "options.timestamp",
                "expected non-negative Unix seconds",
            ))
        }
        (Some(t), _) => Some(t.to_string()),
        (None, true) => {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidArgument,
                "options.timestamp",
                "this scheme signs a timestamp: pass options.timestamp (Unix seconds)",
            ))
        }
        (None, false) => None,
    };
    let id = options
        .id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if scheme.signed_content == SignedContent::IdTimestampBody && id.is_none() {
        return Err(ConfigError::new(
            ConfigErrorCode::InvalidArgument,
            "options.id",
            "this scheme signs a delivery id: pass options.id",
        ));
    }
    if let Some(id) = id {
        if !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidArgument,
                "options.id",
                "an id is visible ASCII without spaces",
            ));
        }
    }
    let content = Content {
        id: id.unwrap_or(""),
        timestamp: ts.as_deref().unwrap_or(""),
        body,
        kind: scheme.signed_content,
    };
    let tag = content.tag(&mac);
    let encoding = match (options.encoding.unwrap_or(scheme.encoding), scheme.encoding) {
        (Encoding::Auto, _) => Encoding::Base64,
        (e, Encoding::Auto) => e,
        (e, s) if e == s => e,
        (e, s) => {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidOption,
                "options.encoding",
                format!("the scheme only accepts {}, not {}", s.as_str(), e.as_str()),
            ))
        }
    };
    let encoded = match encoding {
        Encoding::Hex => hex::encode(tag),
        _ => base64::engine::general_purpose::STANDARD.encode(tag),
    };
    let signature = match scheme.format {
        // An optional prefix is accepted on input but not written: only a required one is.
        SignatureFormat::Single if scheme.prefix_required => {
            format!("{}{encoded}", scheme.prefix.as_deref().unwrap_or(""))
        }
        SignatureFormat::Single => encoded,
        SignatureFormat::VersionedList => format!("{},{encoded}", scheme.version),
    };
    let mut headers = BTreeMap::new();
    if let Some(h) = scheme.headers.first() {
        headers.insert(h.to_ascii_lowercase(), signature.clone());
    }
    if let (Some(h), Some(t)) = (&scheme.timestamp_header, &ts) {
        headers.insert(h.clone(), t.clone());
    }
    if let (Some(h), Some(i)) = (&scheme.id_header, id) {
        headers.insert(h.clone(), i.to_owned());
    }
    Ok(Signed { signature, headers })
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; TAG_LEN] {
    match secret::keyed(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().into()
        }
        // Unreachable (HMAC takes any key length); a zero tag matches nothing real.
        Err(_) => [0u8; TAG_LEN],
    }
}

/// Constant-time check of a raw tag: `false` for any tag that is not exactly 32 bytes, so a
/// truncated tag is never accepted.
pub fn verify_tag(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    match <[u8; TAG_LEN]>::try_from(tag) {
        Ok(t) => tag_matches(&hmac_sha256(key, message), &[t]),
        Err(_) => false,
    }
}

/// Options of [`verify_signature_json`], read from `{ scheme?, timestamp?, id?, nowMs?, allowWeakSecrets?, diagnostics? }`.
struct VerifyOpts {
    scheme: Scheme,
    timestamp: Option<String>,
    id: Option<String>,
    now_ms: Option<i64>,
    allow_weak: bool,
    diagnostics: bool,
}

fn verify_options(v: &Value) -> Result<VerifyOpts, ConfigError> {
    if v.is_null() {
        return Ok(VerifyOpts {
            scheme: Scheme::virtuous(),
            timestamp: None,
            id: None,
            now_ms: None,
            allow_weak: false,
            diagnostics: true,
        });
    }
    let o = json::as_object(v, "options")?;
    json::only_keys(
        o,
        "options",
        &[
            "scheme",
            "timestamp",
            "id",
            "nowMs",
            "allowWeakSecrets",
            "diagnostics",
        ],
    )?;
    let scheme = Scheme::from_json(o.get("scheme").unwrap_or(&Value::Null), "options.scheme")?;
    let timestamp = match json::opt(o, "timestamp") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(n @ Value::Number(_)) => Some(json::as_u64(n, "options.timestamp")?.to_string()),
        Some(_) => {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidConfig,
                "options.timestamp",
                "expected Unix seconds",
            ))
        }
    };
    Ok(VerifyOpts {
        scheme,
        timestamp,
        id: json::opt_str(o, "options", "id")?.map(str::to_owned),
        now_ms: json::opt_i64(o, "options", "nowMs")?,
        allow_weak: json::opt_bool(o, "options", "allowWeakSecrets")?.unwrap_or(false),
        diagnostics: json::opt_bool(o, "options", "diagnostics")?.unwrap_or(true),
    })
}

/// One-shot verification of a single header value (the JSON-shaped API every surface exposes as
/// `verifySignature`). An empty secret list is reported as the `no-secrets` outcome, not thrown,
/// so a misconfigured deployment still answers 401 rather than crashing.
pub fn verify_signature_json(
    body: &[u8],
    header_value: &str,
    secrets: &Value,
    options: &Value,
) -> Result<Verification, ConfigError> {
    verify_signature_json_with(body, header_value, secrets, options, &BuiltIn)
}

/// [`verify_signature_json`] with the SHA-256 over the body lent by the host
/// ([`crate::receive::digest`]).
pub fn verify_signature_json_with(
    body: &[u8],
    header_value: &str,
    secrets: &Value,
    options: &Value,
    host: &dyn Sha256Host,
) -> Result<Verification, ConfigError> {
    let VerifyOpts {
        scheme,
        timestamp,
        id,
        now_ms,
        allow_weak,
        diagnostics,
    } = verify_options(options)?;
    let list = match secrets {
        Value::Array(a) if a.is_empty() => Vec::new(),
        other => SecretEntry::list_from_json(other, "secrets")?,
    };
    let pending = if scheme.timestamp_header.is_some() {
        Replay::NotChecked
    } else {
        Replay::Unavailable
    };
    if list.is_empty() {
        return Ok(Verification::fail(SignatureError::NoSecrets, None, pending));
    }
    let verifier = Verifier::new(scheme, &list, allow_weak, diagnostics)?;
    let presented = Presented {
        signatures: vec![header_value],
        timestamp: timestamp.as_deref(),
        id: id.as_deref(),
    };
    Ok(verifier.verify_with(body, &presented, now_ms, host))
}

/// JSON-shaped [`sign_body`]: `secret` is a string or `{ secret }`; options are
/// `{ scheme?, timestamp?, id?, encoding?, allowWeakSecrets? }`.
pub fn sign_body_json(body: &[u8], secret: &Value, options: &Value) -> Result<Signed, ConfigError> {
    let entry = SecretEntry::from_json(secret, "secret")?;
    let mut opts = SignOptions::default();
    let mut scheme = Scheme::virtuous();
    let mut allow_weak = false;
    if !options.is_null() {
        let o = json::as_object(options, "options")?;
        json::only_keys(
            o,
            "options",
            &["scheme", "timestamp", "id", "encoding", "allowWeakSecrets"],
        )?;
        scheme = Scheme::from_json(o.get("scheme").unwrap_or(&Value::Null), "options.scheme")?;
        opts.timestamp = json::opt_i64(o, "options", "timestamp")?;
        opts.id = json::opt_str(o, "options", "id")?.map(str::to_owned);
        opts.encoding = match json::opt_str(o, "options", "encoding")? {
            None => None,
            Some("hex") => Some(Encoding::Hex),
            Some("base64") => Some(Encoding::Base64),
            Some(_) => {
                return Err(ConfigError::new(
                    ConfigErrorCode::InvalidOption,
                    "options.encoding",
                    "expected \"hex\" or \"base64\"",
                ))
            }
        };
        allow_weak = json::opt_bool(o, "options", "allowWeakSecrets")?.unwrap_or(false);
    }
    sign_body(body, &entry, &scheme, &opts, allow_weak)
}
