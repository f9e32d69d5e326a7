//! Verification: the presented signatures decoded, every prepared secret tried in constant
//! time, then freshness where the scheme signs a timestamp.

use super::{
    Encoding, Scheme, SignatureFormat, SignedContent, MAX_SIGNATURES, MAX_SIGNATURE_HEADER_BYTES,
    TAG_LEN,
};
use crate::error::ConfigError;
use crate::receive::digest::{BuiltIn, Sha256Host};
use crate::receive::secret::{self, HmacSha256, PreparedSecret, SecretEntry};
use base64::Engine as _;
use hmac::Mac;
use serde::Serialize;
use subtle::ConstantTimeEq;

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

impl Replay {
    /// Every value, in a fixed order.
    pub const ALL: [Replay; 3] = [Replay::Checked, Replay::Unavailable, Replay::NotChecked];

    /// The stable kebab-case name (`not-checked`), as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Replay::Checked => "checked",
            Replay::Unavailable => "unavailable",
            Replay::NotChecked => "not-checked",
        }
    }
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
    pub(super) fn fail(
        error: SignatureError,
        detail: Option<String>,
        replay: Replay,
    ) -> Verification {
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
    pub(super) scheme: Scheme,
    pub(super) secrets: Vec<PreparedSecret>,
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
        self.verify_with(body, presented, now_ms, &BuiltIn)
    }

    /// [`Verifier::verify`] with the SHA-256 of the HMACs over the body lent by the host.
    pub fn verify_with(
        &self,
        body: &[u8],
        presented: &Presented<'_>,
        now_ms: Option<i64>,
        host: &dyn Sha256Host,
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
                    v.diagnostics = self.malformed_diagnostics(&presented.signatures);
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

        let Some(index) = match_any(&self.secrets, |s| content.tag_with(s, host), &candidates)
        else {
            let mut v = Verification::fail(SignatureError::SignatureMismatch, None, pending);
            if self.diagnostics {
                v.diagnostics =
                    self.mismatch_diagnostics(&content, &candidates, &presented.signatures);
            }
            return v;
        };

        let mut warnings = Vec::new();
        // Authentic; now freshness.
        let replay = match self.freshness(ts_secs, now_ms, &mut warnings) {
            Ok(replay) => replay,
            Err((error, detail)) => {
                let mut v = Verification::fail(error, Some(detail), Replay::Checked);
                v.secret_index = u32::try_from(index).ok();
                return v;
            }
        };
        self.accepted(index, presented, now_ms, replay, warnings, delivery_id)
    }

    /// The replay check of an authentic delivery: how it was checked, or the failure (and its
    /// detail) when the signed timestamp is outside the tolerance window.
    fn freshness(
        &self,
        ts_secs: Option<i64>,
        now_ms: Option<i64>,
        warnings: &mut Vec<Notice>,
    ) -> Result<Replay, CandidateError> {
        match (ts_secs, now_ms) {
            (Some(ts), Some(now)) => {
                let now_s = now.div_euclid(1000);
                let age = i128::from(now_s) - i128::from(ts);
                let (error, detail) = if age > i128::from(self.scheme.tolerance_past_secs) {
                    (
                        SignatureError::TimestampTooOld,
                        format!(
                            "{age} s old, tolerance {} s",
                            self.scheme.tolerance_past_secs
                        ),
                    )
                } else if -age > i128::from(self.scheme.tolerance_future_secs) {
                    (
                        SignatureError::TimestampTooNew,
                        format!(
                            "{} s ahead, tolerance {} s",
                            -age, self.scheme.tolerance_future_secs
                        ),
                    )
                } else {
                    return Ok(Replay::Checked);
                };
                Err((error, detail))
            }
            (Some(_), None) => {
                warnings.push(Notice::new(
                    "replay-not-checked",
                    "no current time was given, so the signed timestamp was not checked against the tolerance window",
                ));
                Ok(Replay::NotChecked)
            }
            (None, _) => Ok(Replay::Unavailable),
        }
    }

    /// The success: which secret matched, with the remarks a host should see.
    fn accepted(
        &self,
        index: usize,
        presented: &Presented<'_>,
        now_ms: Option<i64>,
        replay: Replay,
        mut warnings: Vec<Notice>,
        delivery_id: Option<String>,
    ) -> Verification {
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
}

/// The bytes covered by the tag, streamed into the HMAC without concatenating.
#[derive(Clone, Copy)]
pub(super) struct Content<'a> {
    pub(super) id: &'a str,
    pub(super) timestamp: &'a str,
    pub(super) body: &'a [u8],
    pub(super) kind: SignedContent,
}

impl Content<'_> {
    pub(super) fn tag(&self, keyed: &HmacSha256) -> [u8; TAG_LEN] {
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

    /// [`Content::tag`] under a prepared secret, the inner hash by the host when it lends one.
    pub(super) fn tag_with(&self, secret: &PreparedSecret, host: &dyn Sha256Host) -> [u8; TAG_LEN] {
        let prefix = match self.kind {
            SignedContent::Body => Vec::new(),
            SignedContent::TimestampBody => [self.timestamp.as_bytes(), b"."].concat(),
            SignedContent::IdTimestampBody => {
                [self.id.as_bytes(), b".", self.timestamp.as_bytes(), b"."].concat()
            }
        };
        secret
            .pads
            .hmac(host, &prefix, self.body)
            .unwrap_or_else(|| self.tag(secret.mac()))
    }
}

/// Constant-time over the candidates: every candidate is compared, no early exit.
pub(super) fn tag_matches(tag: &[u8; TAG_LEN], candidates: &[[u8; TAG_LEN]]) -> bool {
    let mut any = subtle::Choice::from(0u8);
    for c in candidates {
        any |= tag.ct_eq(c);
    }
    any.into()
}

/// The first secret whose tag matches a candidate. Which secret matched is not secret.
pub(super) fn match_any(
    secrets: &[PreparedSecret],
    tag_of: impl Fn(&PreparedSecret) -> [u8; TAG_LEN],
    candidates: &[[u8; TAG_LEN]],
) -> Option<usize> {
    secrets
        .iter()
        .position(|s| tag_matches(&tag_of(s), candidates))
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

pub(super) fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    // Into a buffer of the known length: `hex::decode` collects through a fallible iterator,
    // which at opt-level "z" cost more than the rest of a 1 KB verification's parsing.
    let mut out = vec![0u8; s.len() / 2];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// Standard or URL-safe alphabet, padding optional, canonical trailing bits required.
pub(super) fn decode_b64(s: &str) -> Option<Vec<u8>> {
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
