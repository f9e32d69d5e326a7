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

#[path = "receive/config.rs"]
pub mod config;
#[cfg(feature = "sync")]
#[path = "reconcile/cursor.rs"]
pub mod cursor;
#[path = "receive/dedupe.rs"]
pub mod dedupe;
#[cfg(feature = "sync")]
#[path = "reconcile/deletion.rs"]
pub mod deletion;
#[path = "receive/envelope.rs"]
pub mod envelope;
pub mod event;
pub mod headers;
#[cfg(feature = "sync")]
pub mod id;
#[cfg(feature = "sync")]
#[path = "reconcile/matcher.rs"]
pub mod matcher;
#[cfg(feature = "sync")]
#[path = "reconcile/merge.rs"]
pub mod merge;
#[cfg(feature = "sync")]
pub mod ops;
#[cfg(feature = "sync")]
#[path = "reconcile/ratelimit.rs"]
pub mod ratelimit;
#[path = "receive/mod.rs"]
pub mod receive;
#[cfg(feature = "sync")]
#[path = "reconcile/plan.rs"]
pub mod reconcile;
#[cfg(feature = "sync")]
#[path = "reconcile/response.rs"]
pub mod response;
#[path = "receive/secret.rs"]
pub mod secret;
#[path = "receive/signature/mod.rs"]
pub mod signature;
#[cfg(feature = "sync")]
#[path = "reconcile/subscription.rs"]
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
