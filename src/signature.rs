//! Signature verification over the exact bytes received, with the signing scheme as data.
//!
//! Virtuous has not published its header name or encoding (its support article says Base64, its
//! docs' samples use hex), so nothing about the wire format is baked in: a [`Scheme`] says which
//! header(s) carry the signature, how the tag is encoded, whether a prefix or a version list wraps
//! it, what content is signed and where a timestamp and an id come from. Presets cover Virtuous
//! (the default), Standard Webhooks, GitHub and VOMO.
//!
//! Rules that hold for every scheme: the tag is HMAC-SHA256 over raw bytes (a body that is not
//! UTF-8 still verifies), compared in constant time, and only a full 32-byte tag is ever accepted.
//! Failure diagnostics try known corruptions (a Base64-re-encoded body, a secret with stray
//! whitespace, another scheme's header) and *report* them; they never turn a failure into success.

use crate::config::{self, ConfigError, ConfigErrorCode};
use crate::secret::{self, HmacSha256, PreparedSecret, SecretEntry, SecretFormat};
use base64::Engine as _;
use hmac::Mac;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

/// Length of an HMAC-SHA256 tag; shorter (truncated) or longer tags are always rejected.
pub const TAG_LEN: usize = 32;
/// Signature headers longer than this are rejected before any decoding.
pub const MAX_SIGNATURE_HEADER_BYTES: usize = 8 * 1024;
/// At most this many signatures are considered in one delivery (repeated headers, lists).
pub const MAX_SIGNATURES: usize = 16;
/// Upper bound for either side of the tolerance window (7 days).
pub const MAX_TOLERANCE_SECS: u64 = 7 * 24 * 3600;
/// Default tolerance, past and future: five minutes, as Virtuous and Standard Webhooks recommend.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

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
pub const PRESETS: [&str; 4] = ["virtuous", "standard-webhooks", "github", "vomo"];

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

    /// A preset by name.
    pub fn preset(name: &str) -> Option<Scheme> {
        match name {
            "virtuous" => Some(Scheme::virtuous()),
            "standard-webhooks" => Some(Scheme::standard_webhooks()),
            "github" => Some(Scheme::github()),
            "vomo" => Some(Scheme::vomo()),
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
        config::only_keys(
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
        let mut s = match config::opt_str(obj, field, "preset")? {
            Some(name) => preset_or_err(name, &config::join(field, "preset"))?,
            None => Scheme::virtuous(),
        };
        let customised = obj.keys().any(|k| k != "preset");
        if customised {
            s.name = "custom".into();
        }
        let f = |k: &str| config::join(field, k);
        if let Some(h) = config::opt_str_list(obj, field, "headers")? {
            s.headers = h.iter().map(|x| x.trim().to_ascii_lowercase()).collect();
        }
        if let Some(e) = config::opt_str(obj, field, "encoding")? {
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
            s.prefix = config::opt_str(obj, field, "prefix")?
                .filter(|p| !p.is_empty())
                .map(str::to_owned);
            s.prefix_required = s.prefix.is_some();
        }
        if let Some(r) = config::opt_bool(obj, field, "prefixRequired")? {
            s.prefix_required = r;
        }
        if let Some(fmt) = config::opt_str(obj, field, "format")? {
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
        if let Some(v) = config::opt_str(obj, field, "version")? {
            s.version = v.to_owned();
        }
        if let Some(c) = config::opt_str(obj, field, "signedContent")? {
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
            s.timestamp_header = config::opt_str(obj, field, "timestampHeader")?
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty());
        }
        if obj.contains_key("idHeader") {
            s.id_header = config::opt_str(obj, field, "idHeader")?
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty());
        }
        if let Some(t) = config::opt(obj, "tolerance") {
            let tf = f("tolerance");
            let t = config::as_object(t, &tf)?;
            config::only_keys(t, &tf, &["pastSeconds", "futureSeconds"])?;
            if let Some(p) = config::opt_u64(t, &tf, "pastSeconds")? {
                s.tolerance_past_secs = p;
            }
            if let Some(p) = config::opt_u64(t, &tf, "futureSeconds")? {
                s.tolerance_future_secs = p;
            }
        }
        if let Some(sf) = config::opt_str(obj, field, "secretFormat")? {
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
        let f = |k: &str| config::join(field, k);
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

/// Why a signature check failed. Each has a stable kebab-case [`code`](SignatureError::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureError {
    /// No secret to verify with (only reachable through [`verify_signature_json`] with an empty list).
    NoSecrets,
    /// No signature header, or only empty ones.
    MissingSignature,
    /// The header holds no decodable full-length tag: wrong encoding, truncated or padded tag,
    /// missing prefix, non-ASCII, oversized.
    MalformedSignature,
    /// Well-formed, but no configured secret produces it: wrong secret, or the bytes changed.
    SignatureMismatch,
    /// The scheme signs a timestamp and the delivery has none.
    MissingTimestamp,
    /// The timestamp is not whole Unix seconds.
    MalformedTimestamp,
    /// Authentic, but older than the tolerance allows: a replay, or a long-queued delivery.
    TimestampTooOld,
    /// Authentic, but further in the future than the tolerance allows (clock skew).
    TimestampTooNew,
    /// The scheme signs a delivery id and the delivery has none.
    MissingId,
}

impl SignatureError {
    /// Every variant.
    pub const ALL: [SignatureError; 9] = [
        SignatureError::NoSecrets,
        SignatureError::MissingSignature,
        SignatureError::MalformedSignature,
        SignatureError::SignatureMismatch,
        SignatureError::MissingTimestamp,
        SignatureError::MalformedTimestamp,
        SignatureError::TimestampTooOld,
        SignatureError::TimestampTooNew,
        SignatureError::MissingId,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            SignatureError::NoSecrets => "no-secrets",
            SignatureError::MissingSignature => "missing-signature",
            SignatureError::MalformedSignature => "malformed-signature",
            SignatureError::SignatureMismatch => "signature-mismatch",
            SignatureError::MissingTimestamp => "missing-timestamp",
            SignatureError::MalformedTimestamp => "malformed-timestamp",
            SignatureError::TimestampTooOld => "timestamp-too-old",
            SignatureError::TimestampTooNew => "timestamp-too-new",
            SignatureError::MissingId => "missing-id",
        }
    }
}

impl core::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SignatureError::NoSecrets => "no secrets are configured to verify with",
            SignatureError::MissingSignature => "the delivery has no signature header",
            SignatureError::MalformedSignature => {
                "the signature header holds no well-formed HMAC-SHA256 tag"
            }
            SignatureError::SignatureMismatch => {
                "the signature does not match the body under any configured secret"
            }
            SignatureError::MissingTimestamp => "the delivery has no timestamp header",
            SignatureError::MalformedTimestamp => "the timestamp is not whole Unix seconds",
            SignatureError::TimestampTooOld => {
                "the signature is authentic but older than the tolerance window"
            }
            SignatureError::TimestampTooNew => {
                "the signature is authentic but its timestamp is too far in the future"
            }
            SignatureError::MissingId => "the delivery has no id header",
        })
    }
}

impl std::error::Error for SignatureError {}

/// A coded, human-readable remark: a warning on success or a diagnostic on failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
pub struct Notice {
    /// Stable kebab-case code.
    pub code: String,
    /// A sentence for logs and people. Never contains secret or signature material.
    pub message: String,
}

impl Notice {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> Notice {
        Notice {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// Whether freshness was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ReplayCheck"))]
#[serde(rename_all = "kebab-case")]
pub enum Replay {
    /// The signed timestamp was within the tolerance window.
    Checked,
    /// The scheme carries no timestamp (Virtuous documents none): the signature proves
    /// authenticity and integrity, not freshness. Dedupe keys are the remaining replay defence.
    Unavailable,
    /// The scheme has a timestamp but no `now` was given, or the check did not get that far.
    NotChecked,
}

/// The outcome of a signature check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// Whether the delivery is authentic (and fresh, where the scheme can tell).
    pub ok: bool,
    /// The failure code (`signature-mismatch`, ...), absent on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable, type = "VerificationCode"))]
    pub code: Option<&'static str>,
    /// The failure sentence, absent on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Position in the secret list of the secret that matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_index: Option<u32>,
    /// That secret's id, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
    /// Whether freshness was checked.
    pub replay: Replay,
    /// Remarks on a success (an expired secret still matching, ...).
    pub warnings: Vec<Notice>,
    /// On failure only: what the failure looks like, from checks that never weaken the verdict.
    pub diagnostics: Vec<Notice>,
    /// The typed failure, for Rust callers.
    #[serde(skip)]
    pub error: Option<SignatureError>,
    /// The delivery id the scheme's id header carried, when any (used for dedupe).
    #[serde(skip)]
    pub delivery_id: Option<String>,
}

impl Verification {
    fn fail(error: SignatureError, detail: Option<String>, replay: Replay) -> Verification {
        let message = match detail {
            Some(d) => format!("{error}: {d}"),
            None => error.to_string(),
        };
        Verification {
            ok: false,
            code: Some(error.code()),
            message: Some(message),
            secret_index: None,
            secret_id: None,
            replay,
            warnings: Vec::new(),
            diagnostics: Vec::new(),
            error: Some(error),
            delivery_id: None,
        }
    }
}

/// What a delivery presents for verification, gathered from its headers.
#[derive(Debug, Clone, Default)]
pub struct Presented<'a> {
    /// Every value of every signature header, in order.
    pub signatures: Vec<&'a str>,
    /// The timestamp header's value.
    pub timestamp: Option<&'a str>,
    /// The id header's value.
    pub id: Option<&'a str>,
}

impl<'a> Presented<'a> {
    /// Collects the scheme's headers.
    pub fn from_headers(headers: &'a crate::headers::Headers, scheme: &'a Scheme) -> Presented<'a> {
        Presented {
            signatures: scheme
                .headers
                .iter()
                .flat_map(|h| headers.get_all(h))
                .collect(),
            timestamp: scheme
                .timestamp_header
                .as_deref()
                .and_then(|h| headers.get(h)),
            id: scheme.id_header.as_deref().and_then(|h| headers.get(h)),
        }
    }
}

/// A scheme with its secrets prepared: build once, verify many deliveries.
#[derive(Debug, Clone)]
pub struct Verifier {
    scheme: Scheme,
    secrets: Vec<PreparedSecret>,
    diagnostics: bool,
}

impl Verifier {
    /// Prepares `secrets` under `scheme`; fails on an empty list, an undecodable secret, or a weak
    /// one unless `allow_weak`.
    pub fn new(
        scheme: Scheme,
        secrets: &[SecretEntry],
        allow_weak: bool,
        diagnostics: bool,
    ) -> Result<Verifier, ConfigError> {
        scheme.validate("scheme")?;
        let secrets = secret::prepare(secrets, scheme.secret_format, allow_weak, "secrets")?;
        Ok(Verifier {
            scheme,
            secrets,
            diagnostics,
        })
    }

    /// The scheme in use.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Verifies a delivery. `now_ms` is the host's clock; `None` skips the freshness check
    /// (reported as [`Replay::NotChecked`]).
    pub fn verify(
        &self,
        body: &[u8],
        presented: &Presented<'_>,
        now_ms: Option<i64>,
    ) -> Verification {
        let has_ts = self.scheme.timestamp_header.is_some();
        let pending = if has_ts {
            Replay::NotChecked
        } else {
            Replay::Unavailable
        };
        let delivery_id = presented
            .id
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);

        if self.secrets.is_empty() {
            return Verification::fail(SignatureError::NoSecrets, None, pending);
        }
        let candidates = match parse_candidates(&presented.signatures, &self.scheme) {
            Ok(c) => c,
            Err((err, detail)) => {
                let mut v = Verification::fail(err, Some(detail), pending);
                if self.diagnostics && err == SignatureError::MalformedSignature {
                    v.diagnostics = header_diagnostics(&presented.signatures, &self.scheme);
                }
                return v;
            }
        };

        // Timestamp and id: needed to build the signed content, so checked for presence first.
        let needs_ts = self.scheme.signed_content != SignedContent::Body;
        let ts_text = presented.timestamp.map(str::trim);
        let ts_secs = match ts_text {
            Some(t) => match parse_unix_seconds(t) {
                Some(n) => Some(n),
                None => {
                    return Verification::fail(SignatureError::MalformedTimestamp, None, pending)
                }
            },
            None if needs_ts || has_ts => {
                return Verification::fail(SignatureError::MissingTimestamp, None, pending)
            }
            None => None,
        };
        let id_text = presented.id.map(str::trim).filter(|s| !s.is_empty());
        if self.scheme.signed_content == SignedContent::IdTimestampBody && id_text.is_none() {
            return Verification::fail(SignatureError::MissingId, None, pending);
        }
        let content = Content {
            id: id_text.unwrap_or(""),
            timestamp: ts_text.unwrap_or(""),
            body,
            kind: self.scheme.signed_content,
        };

        let Some(index) = match_any(&self.secrets, |mac| content.tag(mac), &candidates) else {
            let mut v = Verification::fail(SignatureError::SignatureMismatch, None, pending);
            if self.diagnostics {
                v.diagnostics =
                    self.mismatch_diagnostics(&content, &candidates, &presented.signatures);
            }
            return v;
        };

        let mut warnings = Vec::new();
        // Authentic; now freshness.
        let replay = match (ts_secs, now_ms) {
            (Some(ts), Some(now)) => {
                let now_s = now.div_euclid(1000);
                let age = i128::from(now_s) - i128::from(ts);
                if age > i128::from(self.scheme.tolerance_past_secs) {
                    let mut v = Verification::fail(
                        SignatureError::TimestampTooOld,
                        Some(format!(
                            "{age} s old, tolerance {} s",
                            self.scheme.tolerance_past_secs
                        )),
                        Replay::Checked,
                    );
                    v.secret_index = u32::try_from(index).ok();
                    return v;
                }
                if -age > i128::from(self.scheme.tolerance_future_secs) {
                    let mut v = Verification::fail(
                        SignatureError::TimestampTooNew,
                        Some(format!(
                            "{} s ahead, tolerance {} s",
                            -age, self.scheme.tolerance_future_secs
                        )),
                        Replay::Checked,
                    );
                    v.secret_index = u32::try_from(index).ok();
                    return v;
                }
                Replay::Checked
            }
            (Some(_), None) => {
                warnings.push(Notice::new(
                    "replay-not-checked",
                    "no current time was given, so the signed timestamp was not checked against the tolerance window",
                ));
                Replay::NotChecked
            }
            (None, _) => Replay::Unavailable,
        };

        let matched = self.secrets.get(index);
        if let (Some(s), Some(now)) = (matched, now_ms) {
            if s.not_after_ms.is_some_and(|na| now > na) {
                warnings.push(Notice::new(
                    "secret-past-not-after",
                    format!(
                        "secret {index} matched after its notAfter time: the sender still signs with it, so keep it until no receipt reports it"
                    ),
                ));
            }
        }
        if presented.signatures.len() > 1 {
            warnings.push(Notice::new(
                "repeated-signature-header",
                format!(
                    "{} signature header values were present; one matched",
                    presented.signatures.len()
                ),
            ));
        }
        Verification {
            ok: true,
            code: None,
            message: None,
            secret_index: u32::try_from(index).ok(),
            secret_id: matched.and_then(|s| s.id.clone()),
            replay,
            warnings,
            diagnostics: Vec::new(),
            error: None,
            delivery_id,
        }
    }

    /// On a mismatch only: re-run known corruptions and say which one fits. Bounded work: a few
    /// extra HMACs per secret over a body that already passed the host's size limit.
    fn mismatch_diagnostics(
        &self,
        content: &Content<'_>,
        candidates: &[[u8; TAG_LEN]],
        raw: &[&str],
    ) -> Vec<Notice> {
        let mut out = header_diagnostics(raw, &self.scheme);
        let body = content.body;

        // A gateway (API Gateway with isBase64Encoded, some proxies) handed over Base64 text.
        if let Some(decoded) = decode_base64_body(body) {
            let alt = Content {
                body: &decoded,
                ..*content
            };
            if match_any(&self.secrets, |mac| alt.tag(mac), candidates).is_some() {
                out.push(Notice::new(
                    "body-base64-encoded",
                    "the body is Base64 text whose decoded bytes match the signature: a gateway re-encoded the body; decode it before verifying",
                ));
            } else if decoded.first() == Some(&b'{') {
                out.push(Notice::new(
                    "body-looks-base64",
                    "the body is Base64 text that decodes to JSON: a gateway may have re-encoded it",
                ));
            }
        }
        if body == b"[object Object]" {
            out.push(Notice::new(
                "body-not-raw",
                "the body is the text \"[object Object]\": a parsed object was passed instead of the raw request bytes",
            ));
        }

        for (i, s) in self.secrets.iter().enumerate() {
            let trimmed = s.text.trim();
            if trimmed.len() != s.text.len() && !trimmed.is_empty() {
                let fits = secret::key_bytes(trimmed, s.format, "")
                    .ok()
                    .and_then(|k| secret::keyed(&k).ok())
                    .is_some_and(|mac| tag_matches(&content.tag(&mac), candidates));
                out.push(Notice::new(
                    "secret-whitespace",
                    if fits {
                        format!("secret {i} has leading or trailing whitespace; without it the signature matches: remove it")
                    } else {
                        format!("secret {i} has leading or trailing whitespace, which is part of the key")
                    },
                ));
            }
            let other = match s.format {
                SecretFormat::Raw if s.text.starts_with("whsec_") => Some(SecretFormat::Whsec),
                SecretFormat::Whsec => Some(SecretFormat::Raw),
                SecretFormat::Raw => None,
            };
            if let Some(fmt) = other {
                let fits = secret::key_bytes(&s.text, fmt, "")
                    .ok()
                    .and_then(|k| secret::keyed(&k).ok())
                    .is_some_and(|mac| tag_matches(&content.tag(&mac), candidates));
                if fits {
                    out.push(Notice::new(
                        "secret-format",
                        format!(
                            "secret {i} matches when read as secretFormat \"{}\": set that in the scheme",
                            fmt.as_str()
                        ),
                    ));
                }
            }
        }
        // The weakest hint, only when nothing more specific explains the failure.
        if out.is_empty() && looks_reserialized(body) {
            out.push(Notice::new(
                "body-may-be-reserialized",
                "the body is compact JSON, as a serializer writes it: if a framework parsed and re-stringified it (e.g. express.json()), pass the raw request bytes instead",
            ));
        }
        out
    }
}

/// The bytes covered by the tag, streamed into the HMAC without concatenating.
#[derive(Clone, Copy)]
struct Content<'a> {
    id: &'a str,
    timestamp: &'a str,
    body: &'a [u8],
    kind: SignedContent,
}

impl Content<'_> {
    fn tag(&self, keyed: &HmacSha256) -> [u8; TAG_LEN] {
        let mut mac = keyed.clone();
        match self.kind {
            SignedContent::Body => {}
            SignedContent::TimestampBody => {
                mac.update(self.timestamp.as_bytes());
                mac.update(b".");
            }
            SignedContent::IdTimestampBody => {
                mac.update(self.id.as_bytes());
                mac.update(b".");
                mac.update(self.timestamp.as_bytes());
                mac.update(b".");
            }
        }
        mac.update(self.body);
        mac.finalize().into_bytes().into()
    }
}

/// Constant-time over the candidates: every candidate is compared, no early exit.
fn tag_matches(tag: &[u8; TAG_LEN], candidates: &[[u8; TAG_LEN]]) -> bool {
    let mut any = subtle::Choice::from(0u8);
    for c in candidates {
        any |= tag.ct_eq(c);
    }
    any.into()
}

/// The first secret whose tag matches a candidate. Which secret matched is not secret.
fn match_any(
    secrets: &[PreparedSecret],
    tag_of: impl Fn(&HmacSha256) -> [u8; TAG_LEN],
    candidates: &[[u8; TAG_LEN]],
) -> Option<usize> {
    secrets
        .iter()
        .position(|s| tag_matches(&tag_of(&s.mac), candidates))
}

fn parse_unix_seconds(t: &str) -> Option<i64> {
    if t.is_empty() || t.len() > 12 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

type CandidateError = (SignatureError, String);

/// Splits and decodes every presented signature into full-length tags.
fn parse_candidates(
    values: &[&str],
    scheme: &Scheme,
) -> Result<Vec<[u8; TAG_LEN]>, CandidateError> {
    let malformed = |d: String| (SignatureError::MalformedSignature, d);
    if values.iter().all(|v| v.trim().is_empty()) {
        return Err((
            SignatureError::MissingSignature,
            format!("expected header {}", scheme.headers.join(" or ")),
        ));
    }
    let mut out = Vec::new();
    let mut first_err: Option<String> = None;
    let mut pieces = 0usize;
    for value in values {
        if value.len() > MAX_SIGNATURE_HEADER_BYTES {
            return Err(malformed(format!(
                "the header is {} bytes, over the {MAX_SIGNATURE_HEADER_BYTES}-byte limit",
                value.len()
            )));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
        {
            return Err(malformed(
                "the header contains non-ASCII or control characters".into(),
            ));
        }
        let entries: Vec<&str> = match scheme.format {
            SignatureFormat::Single => value
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect(),
            SignatureFormat::VersionedList => value
                .split_ascii_whitespace()
                .map(|e| e.trim_end_matches(','))
                .filter(|e| !e.is_empty())
                .collect(),
        };
        for entry in entries {
            pieces += 1;
            if pieces > MAX_SIGNATURES {
                return Err(malformed(format!(
                    "more than {MAX_SIGNATURES} signatures presented"
                )));
            }
            let sig = match scheme.format {
                SignatureFormat::Single => Some(entry),
                SignatureFormat::VersionedList => match entry.split_once(',') {
                    Some((ver, sig)) if ver == scheme.version => Some(sig),
                    Some(_) => None, // another version: skipped, as the specification asks
                    None => {
                        first_err.get_or_insert_with(|| {
                            format!("entry is not `{},<signature>`", scheme.version)
                        });
                        None
                    }
                },
            };
            let Some(sig) = sig else { continue };
            match decode_tag(sig, scheme) {
                Ok(tag) => out.push(tag),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
    }
    if out.is_empty() {
        return Err(malformed(first_err.unwrap_or_else(|| {
            format!("no `{}` signature in the list", scheme.version)
        })));
    }
    Ok(out)
}

/// Decodes one signature to exactly 32 bytes, or says why not.
fn decode_tag(sig: &str, scheme: &Scheme) -> Result<[u8; TAG_LEN], String> {
    let mut s = sig.trim();
    if let Some(prefix) = &scheme.prefix {
        let has = s.len() >= prefix.len()
            && s.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix));
        if has {
            s = s.get(prefix.len()..).unwrap_or("");
        } else if scheme.prefix_required {
            return Err(format!("expected the `{prefix}` prefix"));
        }
    }
    let bytes = match scheme.encoding {
        Encoding::Hex => decode_hex(s).ok_or_else(|| "not hex".to_owned())?,
        Encoding::Base64 => decode_b64(s).ok_or_else(|| "not Base64".to_owned())?,
        Encoding::Auto => {
            if s.len() == 2 * TAG_LEN && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                decode_hex(s).ok_or_else(|| "not hex".to_owned())?
            } else if let Some(b) = decode_b64(s) {
                b
            } else if let Some(b) = decode_hex(s) {
                b
            } else {
                return Err("neither hex nor Base64".into());
            }
        }
    };
    <[u8; TAG_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
        format!(
            "decodes to {} bytes; an HMAC-SHA256 tag is {TAG_LEN} (truncated or padded tags are never accepted)",
            bytes.len()
        )
    })
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    hex::decode(s).ok()
}

/// Standard or URL-safe alphabet, padding optional, canonical trailing bits required.
fn decode_b64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{
        general_purpose, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig,
    };
    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
    const URL: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
    let _ = general_purpose::STANDARD; // the strict engines are used for encoding elsewhere
    if s.is_empty() {
        return None;
    }
    if s.contains(['-', '_']) {
        URL.decode(s).ok()
    } else {
        STD.decode(s).ok()
    }
}

fn decode_base64_body(body: &[u8]) -> Option<Vec<u8>> {
    let text = core::str::from_utf8(body).ok()?.trim();
    if text.len() < 8
        || !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=-_".contains(&b))
    {
        return None;
    }
    decode_b64(text)
}

/// Compact JSON (no whitespace between tokens) is what `JSON.stringify` writes after a framework
/// parsed the body; only a hint, since some senders write compact JSON too.
fn looks_reserialized(body: &[u8]) -> bool {
    if body.len() > 1024 * 1024 || body.first() != Some(&b'{') {
        return false;
    }
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b.is_ascii_whitespace() {
            return false;
        }
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// Remarks on a header that looks like another scheme's format.
fn header_diagnostics(values: &[&str], scheme: &Scheme) -> Vec<Notice> {
    let mut out = Vec::new();
    let mut say = |code: &str, msg: String| {
        if !out.iter().any(|n: &Notice| n.code == code) {
            out.push(Notice::new(code, msg));
        }
    };
    for v in values {
        let v = v.trim();
        let lower = v.to_ascii_lowercase();
        if lower.starts_with("sha1=") {
            say(
                "header-other-scheme",
                "the header holds a SHA-1 signature (`sha1=`); only HMAC-SHA256 is verified".into(),
            );
        } else if lower.starts_with("t=") && lower.contains(",v1=") {
            say(
                "header-other-scheme",
                "the header looks like a Stripe-style `t=...,v1=...` signature; configure a scheme with signedContent \"timestamp.body\"".into(),
            );
        } else if scheme.format == SignatureFormat::Single
            && v.len() > 3
            && v.as_bytes()
                .get(..3)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"v1,"))
        {
            say(
                "header-other-scheme",
                "the header looks like a Standard Webhooks signature list (`v1,<base64>`); use the \"standard-webhooks\" scheme".into(),
            );
        } else if lower.starts_with("sha256=") && scheme.prefix.is_none() {
            say(
                "header-other-scheme",
                "the header has a `sha256=` prefix (GitHub style); set the scheme's prefix to \"sha256=\" or use the \"github\" preset".into(),
            );
        }
        let bare = lower.strip_prefix("sha256=").unwrap_or(&lower);
        let is_hex = bare.len() == 2 * TAG_LEN && bare.bytes().all(|b| b.is_ascii_hexdigit());
        if scheme.encoding == Encoding::Base64 && is_hex {
            say("encoding-mismatch", "the signature is hex but the scheme expects Base64; set encoding \"auto\" or \"hex\"".into());
        }
        if scheme.encoding == Encoding::Hex
            && !is_hex
            && decode_b64(v).is_some_and(|b| b.len() == TAG_LEN)
        {
            say("encoding-mismatch", "the signature is Base64 but the scheme expects hex; set encoding \"auto\" or \"base64\"".into());
        }
        if let Some(len) = decode_hex(bare)
            .or_else(|| decode_b64(bare))
            .map(|b| b.len())
        {
            if len != TAG_LEN && (len == 16 || len == 20 || len == 48 || len == 64) {
                say(
                    "signature-length",
                    format!("the signature decodes to {len} bytes: a truncated tag or another hash (SHA-1 is 20, SHA-512 is 64); only full 32-byte HMAC-SHA256 tags are accepted"),
                );
            }
        }
    }
    out
}

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
    let o = config::as_object(v, "options")?;
    config::only_keys(
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
    let timestamp = match config::opt(o, "timestamp") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(n @ Value::Number(_)) => Some(config::as_u64(n, "options.timestamp")?.to_string()),
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
        id: config::opt_str(o, "options", "id")?.map(str::to_owned),
        now_ms: config::opt_i64(o, "options", "nowMs")?,
        allow_weak: config::opt_bool(o, "options", "allowWeakSecrets")?.unwrap_or(false),
        diagnostics: config::opt_bool(o, "options", "diagnostics")?.unwrap_or(true),
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
    Ok(verifier.verify(body, &presented, now_ms))
}

/// JSON-shaped [`sign_body`]: `secret` is a string or `{ secret }`; options are
/// `{ scheme?, timestamp?, id?, encoding?, allowWeakSecrets? }`.
pub fn sign_body_json(body: &[u8], secret: &Value, options: &Value) -> Result<Signed, ConfigError> {
    let entry = SecretEntry::from_json(secret, "secret")?;
    let mut opts = SignOptions::default();
    let mut scheme = Scheme::virtuous();
    let mut allow_weak = false;
    if !options.is_null() {
        let o = config::as_object(options, "options")?;
        config::only_keys(
            o,
            "options",
            &["scheme", "timestamp", "id", "encoding", "allowWeakSecrets"],
        )?;
        scheme = Scheme::from_json(o.get("scheme").unwrap_or(&Value::Null), "options.scheme")?;
        opts.timestamp = config::opt_i64(o, "options", "timestamp")?;
        opts.id = config::opt_str(o, "options", "id")?.map(str::to_owned);
        opts.encoding = match config::opt_str(o, "options", "encoding")? {
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
        allow_weak = config::opt_bool(o, "options", "allowWeakSecrets")?.unwrap_or(false);
    }
    sign_body(body, &entry, &scheme, &opts, allow_weak)
}
