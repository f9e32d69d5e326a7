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

//!
//! The parts: [`scheme`](Scheme) (the wire format as data, its presets and its JSON reading),
//! verification ([`Verifier`]), failure diagnostics (what a mismatch looks like) and signing
//! ([`sign_body`], for tests, simulators and senders).

mod diagnostics;
mod scheme;
mod sign;
mod verify;

pub use scheme::{Encoding, Scheme, SignatureFormat, SignedContent, PRESETS};
pub use sign::{
    hmac_sha256, sign_body, sign_body_json, verify_signature_json, verify_signature_json_with,
    verify_tag, SignOptions, Signed,
};
pub use verify::{Notice, Presented, Replay, SignatureError, Verification, Verifier};

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
