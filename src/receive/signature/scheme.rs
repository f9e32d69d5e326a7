//! The signing scheme as data: which header(s) carry the signature, how the tag is encoded and
//! wrapped, what content is signed; the presets; and the scheme's JSON reading and validation.

use super::{DEFAULT_TOLERANCE_SECS, MAX_TOLERANCE_SECS};
use crate::error::{ConfigError, ConfigErrorCode};
use crate::json;
use crate::receive::secret::SecretFormat;
use serde_json::{Map, Value};

/// How the tag is written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Hex (64 characters, any case) or Base64 (standard or URL-safe, padded or not): whichever
    /// decodes to exactly 32 bytes. Safe because both must still produce the full tag.
    Auto,
    /// Hex only.
    Hex,
    /// Base64 only (standard or URL-safe alphabet, padding optional).
    Base64,
}

impl Encoding {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Auto => "auto",
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
        }
    }
}

/// How one header value holds signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFormat {
    /// One signature (optionally prefixed); a comma-joined value (as Fetch joins repeated
    /// headers) is read as several.
    Single,
    /// Standard Webhooks: space-separated `version,signature` entries; other versions are skipped.
    VersionedList,
}

/// What bytes the HMAC covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedContent {
    /// The raw body only.
    Body,
    /// `{timestamp}.{body}`.
    TimestampBody,
    /// `{id}.{timestamp}.{body}` (Standard Webhooks).
    IdTimestampBody,
}

impl SignedContent {
    /// The stable name (`body`, `timestamp.body`, `id.timestamp.body`).
    pub fn as_str(self) -> &'static str {
        match self {
            SignedContent::Body => "body",
            SignedContent::TimestampBody => "timestamp.body",
            SignedContent::IdTimestampBody => "id.timestamp.body",
        }
    }
}

/// A signing scheme: everything about the wire format, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    /// The preset it came from, or `custom`.
    pub name: String,
    /// Header names that may carry the signature, looked up case-insensitively, all of them read.
    pub headers: Vec<String>,
    /// Tag encoding.
    pub encoding: Encoding,
    /// A prefix before the tag, such as `sha256=` (matched case-insensitively).
    pub prefix: Option<String>,
    /// Whether the prefix must be present (`false`: stripped when present).
    pub prefix_required: bool,
    /// How signatures are laid out in a header value.
    pub format: SignatureFormat,
    /// The version label in a [`SignatureFormat::VersionedList`] (`v1`).
    pub version: String,
    /// What is signed.
    pub signed_content: SignedContent,
    /// The header carrying a Unix-seconds timestamp, if the scheme has one.
    pub timestamp_header: Option<String>,
    /// The header carrying a delivery id, if the scheme has one (also used as the dedupe key).
    pub id_header: Option<String>,
    /// How old a timestamp may be, in seconds.
    pub tolerance_past_secs: u64,
    /// How far in the future a timestamp may be, in seconds (clock skew).
    pub tolerance_future_secs: u64,
    /// How secret strings become keys.
    pub secret_format: SecretFormat,
}

/// The preset names, in documentation order.
pub const PRESETS: [&str; 5] = ["virtuous", "standard-webhooks", "github", "vomo", "raise"];

impl Scheme {
    /// Virtuous CRM+ (the default): `x-virtuous-signature`, HMAC-SHA256 of the body, Base64 or hex
    /// (both documented somewhere, neither confirmed), optional `sha256=` prefix, no timestamp.
    pub fn virtuous() -> Scheme {
        Scheme {
            name: "virtuous".into(),
            headers: vec!["x-virtuous-signature".into()],
            encoding: Encoding::Auto,
            prefix: Some("sha256=".into()),
            prefix_required: false,
            format: SignatureFormat::Single,
            version: "v1".into(),
            signed_content: SignedContent::Body,
            timestamp_header: None,
            id_header: None,
            tolerance_past_secs: DEFAULT_TOLERANCE_SECS,
            tolerance_future_secs: DEFAULT_TOLERANCE_SECS,
            secret_format: SecretFormat::Raw,
        }
    }

    /// Standard Webhooks 1.0: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64> ...`,
    /// signed `{id}.{timestamp}.{body}`, `whsec_` secrets, 5-minute window both ways.
    pub fn standard_webhooks() -> Scheme {
        Scheme {
            name: "standard-webhooks".into(),
            headers: vec!["webhook-signature".into()],
            encoding: Encoding::Base64,
            prefix: None,
            format: SignatureFormat::VersionedList,
            signed_content: SignedContent::IdTimestampBody,
            timestamp_header: Some("webhook-timestamp".into()),
            id_header: Some("webhook-id".into()),
            secret_format: SecretFormat::Whsec,
            ..Scheme::virtuous()
        }
    }

    /// GitHub: `x-hub-signature-256: sha256=<hex>` over the body; `x-github-delivery` is the id.
    pub fn github() -> Scheme {
        Scheme {
            name: "github".into(),
            headers: vec!["x-hub-signature-256".into()],
            encoding: Encoding::Hex,
            prefix_required: true,
            id_header: Some("x-github-delivery".into()),
            ..Scheme::virtuous()
        }
    }

    /// Virtuous Volunteer (VOMO): `vomo-signature: <hex>` over the body (PHP `hash_hmac`).
    pub fn vomo() -> Scheme {
        Scheme {
            name: "vomo".into(),
            headers: vec!["vomo-signature".into()],
            encoding: Encoding::Hex,
            prefix: None,
            ..Scheme::virtuous()
        }
    }

    /// Virtuous Raise: the scheme is entirely undocumented (header, algorithm, encoding, signed
    /// bytes), so this is a safe guess, not a fact: HMAC-SHA256 of the raw body under the
    /// subscription's `securityToken`, hex or Base64, optional `sha256=` prefix, in any of
    /// `x-raise-signature`, `x-webhook-signature`, `x-signature`, `signature`. Safe because a
    /// delivery is accepted only with a full tag our secret produces: an unsigned or differently
    /// signed delivery is refused (401), Raise retries it and its delivery log records the failure,
    /// which [`crate::raise::logs`] surfaces, so nothing forged is accepted and nothing is lost
    /// while the operator configures the real scheme.
    pub fn raise() -> Scheme {
        Scheme {
            name: "raise".into(),
            headers: vec![
                "x-raise-signature".into(),
                "x-webhook-signature".into(),
                "x-signature".into(),
                "signature".into(),
            ],
            ..Scheme::virtuous()
        }
    }

    /// The default scheme of a product's receiver: `virtuous`, `raise` or `vomo`.
    pub fn for_product(product: crate::product::Product) -> Scheme {
        match product {
            crate::product::Product::Crm => Scheme::virtuous(),
            crate::product::Product::Raise => Scheme::raise(),
            crate::product::Product::Volunteer => Scheme::vomo(),
        }
    }

    /// A preset by name.
    pub fn preset(name: &str) -> Option<Scheme> {
        match name {
            "virtuous" => Some(Scheme::virtuous()),
            "standard-webhooks" => Some(Scheme::standard_webhooks()),
            "github" => Some(Scheme::github()),
            "vomo" => Some(Scheme::vomo()),
            "raise" => Some(Scheme::raise()),
            _ => None,
        }
    }

    /// Reads a preset name, or an object overriding a preset (`preset`, default `virtuous`).
    /// `null` gives the Virtuous preset.
    pub fn from_json(v: &Value, field: &str) -> Result<Scheme, ConfigError> {
        match v {
            Value::Null => Ok(Scheme::virtuous()),
            Value::String(name) => preset_or_err(name, field),
            Value::Object(obj) => Scheme::from_object(obj, field),
            _ => Err(ConfigError::new(
                ConfigErrorCode::InvalidConfig,
                field,
                "expected a preset name or a scheme object",
            )),
        }
    }

    fn from_object(obj: &Map<String, Value>, field: &str) -> Result<Scheme, ConfigError> {
        json::only_keys(
            obj,
            field,
            &[
                "preset",
                "headers",
                "encoding",
                "prefix",
                "prefixRequired",
                "format",
                "version",
                "signedContent",
                "timestampHeader",
                "idHeader",
                "tolerance",
                "secretFormat",
            ],
        )?;
        let mut s = match json::opt_str(obj, field, "preset")? {
            Some(name) => preset_or_err(name, &json::join(field, "preset"))?,
            None => Scheme::virtuous(),
        };
        let customised = obj.keys().any(|k| k != "preset");
        if customised {
            s.name = "custom".into();
        }
        let f = |k: &str| json::join(field, k);
        if let Some(h) = json::opt_str_list(obj, field, "headers")? {
            s.headers = h.iter().map(|x| x.trim().to_ascii_lowercase()).collect();
        }
        if let Some(e) = json::opt_str(obj, field, "encoding")? {
            s.encoding = match e {
                "auto" => Encoding::Auto,
                "hex" => Encoding::Hex,
                "base64" => Encoding::Base64,
                _ => {
                    return Err(scheme_err(
                        &f("encoding"),
                        "expected \"auto\", \"hex\" or \"base64\"",
                    ))
                }
            };
        }
        if obj.contains_key("prefix") {
            s.prefix = json::opt_str(obj, field, "prefix")?
                .filter(|p| !p.is_empty())
                .map(str::to_owned);
            s.prefix_required = s.prefix.is_some();
        }
        if let Some(r) = json::opt_bool(obj, field, "prefixRequired")? {
            s.prefix_required = r;
        }
        if let Some(fmt) = json::opt_str(obj, field, "format")? {
            s.format = match fmt {
                "single" => SignatureFormat::Single,
                "versioned-list" => SignatureFormat::VersionedList,
                _ => {
                    return Err(scheme_err(
                        &f("format"),
                        "expected \"single\" or \"versioned-list\"",
                    ))
                }
            };
        }
        if let Some(v) = json::opt_str(obj, field, "version")? {
            s.version = v.to_owned();
        }
        if let Some(c) = json::opt_str(obj, field, "signedContent")? {
            s.signed_content = match c {
                "body" => SignedContent::Body,
                "timestamp.body" => SignedContent::TimestampBody,
                "id.timestamp.body" => SignedContent::IdTimestampBody,
                _ => {
                    return Err(scheme_err(
                        &f("signedContent"),
                        "expected \"body\", \"timestamp.body\" or \"id.timestamp.body\"",
                    ))
                }
            };
        }
        if obj.contains_key("timestampHeader") {
            s.timestamp_header = json::opt_str(obj, field, "timestampHeader")?
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty());
        }
        if obj.contains_key("idHeader") {
            s.id_header = json::opt_str(obj, field, "idHeader")?
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty());
        }
        if let Some(t) = json::opt(obj, "tolerance") {
            let tf = f("tolerance");
            let t = json::as_object(t, &tf)?;
            json::only_keys(t, &tf, &["pastSeconds", "futureSeconds"])?;
            if let Some(p) = json::opt_u64(t, &tf, "pastSeconds")? {
                s.tolerance_past_secs = p;
            }
            if let Some(p) = json::opt_u64(t, &tf, "futureSeconds")? {
                s.tolerance_future_secs = p;
            }
        }
        if let Some(sf) = json::opt_str(obj, field, "secretFormat")? {
            s.secret_format = match sf {
                "raw" => SecretFormat::Raw,
                "whsec" => SecretFormat::Whsec,
                _ => {
                    return Err(scheme_err(
                        &f("secretFormat"),
                        "expected \"raw\" or \"whsec\"",
                    ))
                }
            };
        }
        s.validate(field)?;
        Ok(s)
    }

    /// Checks the scheme is self-consistent; presets always are.
    pub fn validate(&self, field: &str) -> Result<(), ConfigError> {
        let f = |k: &str| json::join(field, k);
        if self.headers.is_empty() {
            return Err(scheme_err(
                &f("headers"),
                "at least one signature header name is needed",
            ));
        }
        for (i, h) in self.headers.iter().enumerate() {
            if !is_header_name(h) {
                return Err(scheme_err(
                    &format!("{}[{i}]", f("headers")),
                    "not a valid HTTP header name",
                ));
            }
        }
        for (key, h) in [
            ("timestampHeader", &self.timestamp_header),
            ("idHeader", &self.id_header),
        ] {
            if let Some(h) = h {
                if !is_header_name(h) {
                    return Err(scheme_err(&f(key), "not a valid HTTP header name"));
                }
            }
        }
        if let Some(p) = &self.prefix {
            if p.len() > 32 || !p.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(scheme_err(
                    &f("prefix"),
                    "a prefix is up to 32 visible ASCII characters",
                ));
            }
        }
        if self.format == SignatureFormat::VersionedList
            && (self.version.is_empty() || !self.version.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(scheme_err(
                &f("version"),
                "a version label is letters and digits, such as v1",
            ));
        }
        let needs_ts = self.signed_content != SignedContent::Body;
        if needs_ts && self.timestamp_header.is_none() {
            return Err(scheme_err(
                &f("timestampHeader"),
                "signedContent includes a timestamp, so timestampHeader must be set",
            ));
        }
        if self.signed_content == SignedContent::IdTimestampBody && self.id_header.is_none() {
            return Err(scheme_err(
                &f("idHeader"),
                "signedContent includes an id, so idHeader must be set",
            ));
        }
        if self.tolerance_past_secs > MAX_TOLERANCE_SECS
            || self.tolerance_future_secs > MAX_TOLERANCE_SECS
        {
            return Err(ConfigError::new(
                ConfigErrorCode::InvalidOption,
                f("tolerance"),
                format!("tolerance is at most {MAX_TOLERANCE_SECS} seconds each way"),
            ));
        }
        Ok(())
    }
}

fn preset_or_err(name: &str, field: &str) -> Result<Scheme, ConfigError> {
    Scheme::preset(name).ok_or_else(|| {
        ConfigError::new(
            ConfigErrorCode::UnknownPreset,
            field,
            format!(
                "unknown scheme preset; expected one of: {}",
                PRESETS.join(", ")
            ),
        )
    })
}

fn scheme_err(field: &str, msg: &str) -> ConfigError {
    ConfigError::new(ConfigErrorCode::InvalidScheme, field, msg)
}

fn is_header_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 256
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
