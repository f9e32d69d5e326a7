//! Receiving a webhook delivery: from raw bytes and headers to one answer an endpoint can act on.
//!
//! This capability knows nothing of the sync decisions or reconciliation: it imports only the
//! shared leaves (errors, JSON readers, headers, the event vocabulary). Its parts: the receiver's
//! [`config`], the [`signature`] scheme and its verification, the webhook [`secret`]s, the
//! [`envelope`] parser and the [`dedupe`] key.
//!
//! Virtuous retries every non-2xx answer, a deliberate 401 included, so the status is chosen for
//! what a retry would achieve:
//!
//! | situation | status | reason | why |
//! |---|---|---|---|
//! | not authentic (missing, malformed, wrong signature) | 401 | the signature code | a forged request must not be acknowledged; a genuine one signed with a secret we lack should be retried until the secret is configured |
//! | authentic but outside the replay window | 401 | `timestamp-too-old` / `-too-new` | freshness is part of authenticity where the scheme signs a timestamp |
//! | authentic, parsed, handled type | 200 | `accepted` | process it (after claiming the dedupe key) |
//! | authentic, type not subscribed | 200 | `unsubscribed-event` | dropped on purpose: acknowledge so it is not retried |
//! | authentic, type unknown to this version | 200 | `unknown-event-type` | tolerated: acknowledge and keep the event for logs |
//! | authentic but unreadable (empty, too large, not UTF-8, malformed, too deep, no type) | 202 | `dead-letter` | a retry sends the same bytes and fails the same way, so retrying only delays; acknowledge and keep the raw body for inspection (`deadLetter: true`) so nothing is lost |

pub mod config;
pub(crate) mod dedupe;
pub mod digest;
pub mod envelope;
mod lean_scan;
pub mod secret;
pub mod signature;
mod text;

use crate::error::ConfigError;
use crate::event::{Event, EventType};
use crate::headers::Headers;
use crate::product::Product;
use crate::raise::event_types::EventTypeLabels;
use config::Config;
use digest::{BuiltIn, Sha256Host};
use envelope::{Limits, ResourceAt};
use serde::Serialize;
use serde_json::Value;
use signature::{Notice, Presented, Replay, Verifier};

/// Why the receipt says what it says; the code is stable on every surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ReceiptReason {
    /// Authentic and parsed: process it.
    Accepted,
    /// Authentic, but the host does not subscribe to this event type.
    UnsubscribedEvent,
    /// Authentic, but an event type this version does not know.
    UnknownEventType,
    /// Authentic, but the body cannot be read: store it for inspection.
    DeadLetter,
    /// See [`signature::SignatureError::MissingSignature`].
    MissingSignature,
    /// See [`signature::SignatureError::MalformedSignature`].
    MalformedSignature,
    /// See [`signature::SignatureError::SignatureMismatch`].
    SignatureMismatch,
    /// See [`signature::SignatureError::MissingTimestamp`].
    MissingTimestamp,
    /// See [`signature::SignatureError::MalformedTimestamp`].
    MalformedTimestamp,
    /// See [`signature::SignatureError::TimestampTooOld`].
    TimestampTooOld,
    /// See [`signature::SignatureError::TimestampTooNew`].
    TimestampTooNew,
    /// See [`signature::SignatureError::MissingId`].
    MissingId,
    /// See [`signature::SignatureError::NoSecrets`].
    NoSecrets,
}

impl ReceiptReason {
    /// Every reason.
    pub const ALL: [ReceiptReason; 13] = [
        ReceiptReason::Accepted,
        ReceiptReason::UnsubscribedEvent,
        ReceiptReason::UnknownEventType,
        ReceiptReason::DeadLetter,
        ReceiptReason::MissingSignature,
        ReceiptReason::MalformedSignature,
        ReceiptReason::SignatureMismatch,
        ReceiptReason::MissingTimestamp,
        ReceiptReason::MalformedTimestamp,
        ReceiptReason::TimestampTooOld,
        ReceiptReason::TimestampTooNew,
        ReceiptReason::MissingId,
        ReceiptReason::NoSecrets,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            ReceiptReason::Accepted => "accepted",
            ReceiptReason::UnsubscribedEvent => "unsubscribed-event",
            ReceiptReason::UnknownEventType => "unknown-event-type",
            ReceiptReason::DeadLetter => "dead-letter",
            ReceiptReason::MissingSignature => "missing-signature",
            ReceiptReason::MalformedSignature => "malformed-signature",
            ReceiptReason::SignatureMismatch => "signature-mismatch",
            ReceiptReason::MissingTimestamp => "missing-timestamp",
            ReceiptReason::MalformedTimestamp => "malformed-timestamp",
            ReceiptReason::TimestampTooOld => "timestamp-too-old",
            ReceiptReason::TimestampTooNew => "timestamp-too-new",
            ReceiptReason::MissingId => "missing-id",
            ReceiptReason::NoSecrets => "no-secrets",
        }
    }

    fn from_signature(e: signature::SignatureError) -> ReceiptReason {
        use signature::SignatureError as S;
        match e {
            S::NoSecrets => ReceiptReason::NoSecrets,
            S::MissingSignature => ReceiptReason::MissingSignature,
            S::MalformedSignature => ReceiptReason::MalformedSignature,
            S::SignatureMismatch => ReceiptReason::SignatureMismatch,
            S::MissingTimestamp => ReceiptReason::MissingTimestamp,
            S::MalformedTimestamp => ReceiptReason::MalformedTimestamp,
            S::TimestampTooOld => ReceiptReason::TimestampTooOld,
            S::TimestampTooNew => ReceiptReason::TimestampTooNew,
            S::MissingId => ReceiptReason::MissingId,
        }
    }
}

/// The answer to one delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The HTTP status to answer with.
    pub status: u16,
    /// Why (stable code, see [`ReceiptReason`]).
    pub reason: ReceiptReason,
    /// Whether the signature (and, where signed, the timestamp) checked out.
    pub authentic: bool,
    /// Authentic but unreadable: the host must keep the raw body for inspection.
    pub dead_letter: bool,
    /// The parsed event (also for unsubscribed and unknown types).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
    /// Claim this before processing; drop the delivery if already claimed. Present for every authentic delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedupe_key: Option<String>,
    /// Which configured secret matched (position in the list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_index: Option<u32>,
    /// That secret's id, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
    /// Whether freshness could be checked (`unavailable` for Virtuous, which signs no timestamp).
    pub replay: Replay,
    /// Remarks on an accepted delivery.
    pub warnings: Vec<Notice>,
    /// On authentication failure: what the failure looks like.
    pub diagnostics: Vec<Notice>,
    /// The failure, for 401s and dead letters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Notice>,
}

/// A configured receiver: secrets prepared once, then `receive` per delivery.
#[derive(Debug, Clone)]
pub struct Receiver {
    product: Product,
    raise_labels: EventTypeLabels,
    verifier: Verifier,
    platform_name: String,
    limits: Limits,
    subscribed: Option<Vec<EventType>>,
}

impl Receiver {
    /// Validates the configuration and prepares the keyed HMAC state of every secret.
    pub fn new(config: Config) -> Result<Receiver, ConfigError> {
        config.validate()?;
        let verifier = Verifier::new(
            config.scheme,
            &config.secrets,
            config.allow_weak_secrets,
            config.diagnostics,
        )?;
        Ok(Receiver {
            product: config.product,
            raise_labels: config.raise_labels,
            verifier,
            platform_name: config.platform_name.trim().to_owned(),
            limits: config.limits,
            subscribed: config.subscribed_events,
        })
    }

    /// [`Receiver::new`] from the JSON-shaped configuration (without a `sync` section).
    pub fn from_json(config: &Value) -> Result<Receiver, ConfigError> {
        Receiver::new(Config::from_json(config)?)
    }

    /// The product whose deliveries this receiver takes.
    pub fn product(&self) -> Product {
        self.product
    }

    /// Our platform name (trimmed).
    pub fn platform_name(&self) -> &str {
        &self.platform_name
    }

    /// The verifier, for callers that verify without receiving.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Decides what to answer to one delivery. `now_ms` is the host's clock (ms since the epoch).
    pub fn receive(&self, body: &[u8], headers: &Headers, now_ms: i64) -> Receipt {
        self.decide(body, headers, now_ms, &BuiltIn, true).0
    }

    /// [`Receiver::receive`] with the SHA-256 over the body (the HMACs, a body-hash dedupe key)
    /// lent by the host ([`digest`]).
    pub fn receive_with(
        &self,
        body: &[u8],
        headers: &Headers,
        now_ms: i64,
        host: &dyn Sha256Host,
    ) -> Receipt {
        self.decide(body, headers, now_ms, host, true).0
    }

    /// [`Receiver::receive_with`], except that the receipt's event has no `resource`: where the
    /// record is in the body comes back beside it ([`envelope::parse_lean`]), for a host whose own
    /// JSON parser builds it faster than a converted tree. Same decision, same receipt otherwise.
    pub fn receive_lean_with(
        &self,
        body: &[u8],
        headers: &Headers,
        now_ms: i64,
        host: &dyn Sha256Host,
    ) -> (Receipt, Option<ResourceAt>) {
        self.decide(body, headers, now_ms, host, false)
    }

    fn decide(
        &self,
        body: &[u8],
        headers: &Headers,
        now_ms: i64,
        host: &dyn Sha256Host,
        keep_resource: bool,
    ) -> (Receipt, Option<ResourceAt>) {
        let presented = Presented::from_headers(headers, self.verifier.scheme());
        let v = self
            .verifier
            .verify_with(body, &presented, Some(now_ms), host);
        if !v.ok {
            let reason = v
                .error
                .map(ReceiptReason::from_signature)
                .unwrap_or(ReceiptReason::SignatureMismatch);
            let receipt = Receipt {
                status: 401,
                reason,
                authentic: false,
                dead_letter: false,
                event: None,
                dedupe_key: None,
                secret_index: None,
                secret_id: None,
                replay: v.replay,
                warnings: Vec::new(),
                diagnostics: v.diagnostics,
                error: Some(Notice::new(
                    reason.code(),
                    v.message.unwrap_or_else(|| reason.code().to_owned()),
                )),
            };
            return (receipt, None);
        }

        let mut receipt = Receipt {
            status: 200,
            reason: ReceiptReason::Accepted,
            authentic: true,
            dead_letter: false,
            event: None,
            dedupe_key: None,
            secret_index: v.secret_index,
            secret_id: v.secret_id,
            replay: v.replay,
            warnings: v.warnings,
            diagnostics: Vec::new(),
            error: None,
        };
        // The lean parse (the record left to the host's own JSON parser) knows CRM+ envelopes only;
        // Raise and Volunteer deliveries are parsed whole.
        let parsed = if keep_resource || self.product != Product::Crm {
            envelope::parse_for(self.product, body, &self.limits, &self.raise_labels)
                .map(|e| (e, None))
        } else {
            envelope::parse_lean(body, &self.limits)
        };
        let mut at = None;
        match parsed {
            Err(e) => {
                receipt.status = 202;
                receipt.reason = ReceiptReason::DeadLetter;
                receipt.dead_letter = true;
                receipt.dedupe_key = Some(dedupe::product_key(
                    self.product,
                    dedupe::dedupe_key_with(None, v.delivery_id.as_deref(), body, host),
                ));
                receipt.error = Some(Notice::new(e.code(), e.to_string()));
            }
            Ok((event, resource_at)) => {
                at = resource_at;
                receipt.dedupe_key = Some(dedupe::dedupe_key_with(
                    Some(&event),
                    v.delivery_id.as_deref(),
                    body,
                    host,
                ));
                receipt.dedupe_key = receipt
                    .dedupe_key
                    .take()
                    .map(|k| dedupe::product_key(self.product, k));
                receipt.reason = match event.event_type {
                    // Raise and Volunteer: known when the type names a kind and an action.
                    None if event.product != Product::Crm
                        && event.resource_kind.is_some()
                        && event.action.is_some() =>
                    {
                        ReceiptReason::Accepted
                    }
                    None => ReceiptReason::UnknownEventType,
                    Some(t) if self.subscribed.as_ref().is_some_and(|s| !s.contains(&t)) => {
                        ReceiptReason::UnsubscribedEvent
                    }
                    Some(_) => ReceiptReason::Accepted,
                };
                receipt.event = Some(event);
            }
        }
        (receipt, at)
    }
}
