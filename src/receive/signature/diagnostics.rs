//! Failure diagnostics: on a failed check only, try the known corruptions (a Base64-re-encoded
//! body, a secret with stray whitespace, another scheme's header) and *report* which one fits.
//! They never turn a failure into success.

use super::verify::{decode_b64, decode_hex, match_any, tag_matches, Content, Notice, Verifier};
use super::{Encoding, Scheme, SignatureFormat, TAG_LEN};
use crate::receive::secret::{self, SecretFormat};

// The diagnostics are methods of the verifier (which calls them on a failure only); this file
// imports the verification's parts, never the other way round.
impl Verifier {
    /// On a malformed signature header only: what format the header looks like instead.
    pub(super) fn malformed_diagnostics(&self, raw: &[&str]) -> Vec<Notice> {
        header_diagnostics(raw, &self.scheme)
    }

    /// On a mismatch only: re-run known corruptions and say which one fits. Bounded work: a few
    /// extra HMACs per secret over a body that already passed the host's size limit.
    pub(super) fn mismatch_diagnostics(
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
            if match_any(&self.secrets, |s| alt.tag(s.mac()), candidates).is_some() {
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
