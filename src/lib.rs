#![doc = include_str!("../README.md")]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod config;
#[cfg(feature = "sync")]
pub mod cursor;
pub mod dedupe;
#[cfg(feature = "sync")]
pub mod deletion;
pub mod envelope;
pub mod event;
pub mod headers;
#[cfg(feature = "sync")]
pub mod id;
#[cfg(feature = "sync")]
pub mod matcher;
#[cfg(feature = "sync")]
pub mod merge;
#[cfg(feature = "sync")]
pub mod ops;
#[cfg(feature = "sync")]
pub mod ratelimit;
pub mod receive;
#[cfg(feature = "sync")]
pub mod reconcile;
#[cfg(feature = "sync")]
pub mod response;
pub mod secret;
pub mod signature;
#[cfg(feature = "sync")]
pub mod subscription;
#[cfg(feature = "sync")]
pub mod sync;
pub mod timestamp;

pub use config::{Config, ConfigError, ConfigErrorCode};
pub use envelope::{EnvelopeError, Limits};
pub use event::{Action, Event, EventType, ResourceKind};
pub use headers::Headers;
pub use receive::{Receipt, ReceiptReason, SyncCore};
pub use secret::{
    format_secret, secret_len_requested, SecretEntry, SecretFormat, MIN_SECRET_BYTES,
};
pub use signature::{
    sign_body, sign_body_json, verify_signature_json, Encoding, Notice, Replay, Scheme,
    SignOptions, SignatureError, SignatureFormat, Signed, SignedContent, Verification, Verifier,
};
