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

// Leaves: imported by everything above, importing nothing of the crate but each other's errors.
mod error;
pub mod event;
mod headers;
#[cfg(feature = "sync")]
mod id;
mod json;
mod json_text;
pub mod product;
#[cfg(feature = "sync")]
mod sort;
pub mod timestamp;
#[cfg(feature = "sync")]
mod typed;

// Capabilities: each imports only leaves (and `reconcile` the `sync` rules it applies in bulk;
// `raise` the subscription URL check of `reconcile`).
pub mod raise;
pub mod receive;
#[cfg(feature = "sync")]
pub mod reconcile;
#[cfg(feature = "sync")]
pub mod sync;
#[cfg(feature = "sync")]
pub mod volunteer;

// The facade that combines the capabilities, and the operation table above it (for the adapters).
mod facade;
#[cfg(feature = "sync")]
pub mod ops;

pub use error::{ConfigError, ConfigErrorCode};
pub use event::{Action, Event, EventType, ResourceKind};
pub use facade::{CoreConfig, SyncCore};
pub use headers::Headers;
pub use product::Product;
pub use receive::config::Config;
pub use receive::envelope::{EnvelopeError, Limits};
pub use receive::secret::{
    format_secret, secret_len_requested, SecretEntry, SecretFormat, MIN_SECRET_BYTES,
};
pub use receive::signature::{
    sign_body, sign_body_json, verify_signature_json, Encoding, Notice, Replay, Scheme,
    SignOptions, SignatureError, SignatureFormat, Signed, SignedContent, Verification, Verifier,
};
pub use receive::{Receipt, ReceiptReason, Receiver};
