//! Two-way sync decisions: write-origin echo detection, per-record sync state, three-way
//! conflict resolution. Pure: no I/O, no clock, no storage — hosts pass options, the stored
//! [`RecordState`], the event or partner change and `now_ms`, and get a decision back.
//!
//! Entry points: [`lookup_keys`], [`decide_inbound`], [`decide_outbound`], [`transition`],
//! [`resolve`], [`resolve_conflict`]. Every decision carries a [`Reason`] from one taxonomy and the
//! [`DecisionInputs`] it used. `Err` means a caller mistake ([`SyncError`]); outcomes such as
//! echo, stale, cooldown or conflict are values. See `docs/sync.md`.

pub(crate) mod amounts;
pub mod digest;
pub mod inbound;
pub mod lookup;
pub mod money;
pub mod options;
pub mod outbound;
pub mod payload;
pub mod reason;
pub mod record;
pub mod request;
pub mod resolve;
pub mod state;
pub mod time;
pub(crate) mod units;

pub use digest::{field_digest, spec_digest};
pub use inbound::{decide_inbound, InboundAction, InboundDecision};
pub use lookup::{lookup_keys, LookupKey, LookupKeys};
pub use money::{Money, MoneyError};
pub use options::{
    default_product_field_maps, FieldPolicy, FieldSpec, FieldType, KindPolicy, NameMatch,
    OptionsError, Policy, ProductSync, SyncOptions, UndatedEvents, UnstampedCreates, UpdateMode,
};
pub use outbound::{decide_outbound, OutboundAction, OutboundDecision, PartnerChange};
pub use reason::{DecisionInputs, Reason};
pub use record::{
    Choice, ConflictItem, EchoEntry, ExternalRef, RecordState, ResolutionRecord, Side, SyncState,
    Tombstone, RECORD_VERSION,
};
pub use request::Request;
pub use resolve::{
    resolve, resolve_conflict, ConflictResolution, FieldResolution, Resolution, ResolveInput,
    SideValues,
};
pub use state::{transition, TransitionError, Trigger};
pub use time::{parse_utc_ms, TimeError};

use crate::event::ResourceKind;
use std::fmt;

/// A caller mistake: the inputs cannot be decided on. Each variant has a stable [`code`](SyncError::code).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncError {
    /// The record, change or event belongs to another customer/organisation than the options.
    TenantMismatch {
        /// The customer or organisation the options name.
        expected: String,
        /// What the input carried.
        found: String,
    },
    /// The record is of another kind than the event or change.
    KindMismatch {
        /// The record's kind.
        expected: ResourceKind,
        /// The event's or change's kind.
        found: ResourceKind,
    },
    /// The record is another product's link than the event's (a Raise event for a CRM+ link), or
    /// a partner change was given a link outbound writes do not go to (Raise and Volunteer links
    /// are read-only here: partner changes are written through the CRM+ link).
    ProductMismatch {
        /// The record's product (or, for a write, `crm`).
        expected: crate::product::Product,
        /// The event's product (or the link's, for a write).
        found: crate::product::Product,
    },
    /// The record is not the one the event or change is about (`field` names the id).
    RecordMismatch {
        /// `virtuousId`, `partnerId` or `externalId`.
        field: String,
        /// The record's value.
        expected: String,
        /// The input's value.
        found: String,
    },
    /// The stored state is from a newer library version.
    UnsupportedVersion {
        /// The stored version.
        version: u32,
    },
    /// The stored state JSON does not deserialize.
    BadRecord {
        /// serde's message.
        message: String,
    },
    /// A date-time string could not be read.
    BadTime {
        /// Which input (`modifiedDateTimeUtc`).
        field: String,
        /// Why.
        error: TimeError,
    },
    /// A required field is absent, null or empty.
    MissingField {
        /// The field.
        field: String,
    },
    /// A partner change names a field the kind's field map does not declare.
    UnknownField {
        /// The field.
        field: String,
    },
    /// A `date` field is neither a calendar day (`YYYY-MM-DD`, `M/D/YYYY`) nor a date-time.
    InvalidDate {
        /// The field.
        field: String,
    },
    /// A money field is not an exact decimal.
    InvalidMoney {
        /// The field (`amount`, `giftDesignations[1].amountDesignated`).
        field: String,
        /// Why.
        error: MoneyError,
    },
    /// A required money field is zero or negative.
    NonPositiveAmount {
        /// The field.
        field: String,
    },
    /// Designations do not sum to the amount.
    DesignationsMismatch {
        /// The designations field.
        field: String,
        /// Their sum (canonical decimal).
        sum: String,
        /// The amount (canonical decimal).
        amount: String,
    },
    /// Writes of this kind are not supported (only gifts and contacts are written).
    UnsupportedKind {
        /// The kind.
        kind: ResourceKind,
    },
    /// A conflict item has no choice.
    MissingChoice {
        /// The field.
        field: String,
    },
    /// A choice names a field that is not a conflict item.
    UnknownChoice {
        /// The field.
        field: String,
    },
    /// The items of one field group got different sides (a group is settled as one unit: one
    /// side for all its items, or a value for each).
    GroupChoiceMismatch {
        /// The first item whose choice differs from its group's first item.
        field: String,
    },
    /// `change.current` is not a fetched record.
    BadCurrent {
        /// What is wrong.
        message: String,
    },
    /// The options are invalid.
    Options(OptionsError),
    /// The state machine refused.
    Transition(TransitionError),
}

impl SyncError {
    /// Stable machine-readable code (wrapped errors keep their own code).
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::TenantMismatch { .. } => "tenant-mismatch",
            SyncError::KindMismatch { .. } => "kind-mismatch",
            SyncError::ProductMismatch { .. } => "product-mismatch",
            SyncError::RecordMismatch { .. } => "record-mismatch",
            SyncError::UnsupportedVersion { .. } => "unsupported-version",
            SyncError::BadRecord { .. } => "bad-record",
            SyncError::BadTime { .. } => "bad-time",
            SyncError::MissingField { .. } => "missing-field",
            SyncError::UnknownField { .. } => "unknown-field",
            SyncError::InvalidDate { .. } => "invalid-date",
            SyncError::InvalidMoney { .. } => "invalid-money",
            SyncError::NonPositiveAmount { .. } => "non-positive-amount",
            SyncError::DesignationsMismatch { .. } => "designations-mismatch",
            SyncError::UnsupportedKind { .. } => "unsupported-kind",
            SyncError::MissingChoice { .. } => "missing-choice",
            SyncError::UnknownChoice { .. } => "unknown-choice",
            SyncError::GroupChoiceMismatch { .. } => "group-choice-mismatch",
            SyncError::BadCurrent { .. } => "bad-current",
            SyncError::Options(e) => e.code(),
            SyncError::Transition(e) => e.code(),
        }
    }

    /// The input field the error names, when it names one.
    pub fn field(&self) -> Option<&str> {
        match self {
            SyncError::RecordMismatch { field, .. }
            | SyncError::BadTime { field, .. }
            | SyncError::MissingField { field }
            | SyncError::UnknownField { field }
            | SyncError::InvalidMoney { field, .. }
            | SyncError::InvalidDate { field }
            | SyncError::NonPositiveAmount { field }
            | SyncError::DesignationsMismatch { field, .. }
            | SyncError::MissingChoice { field }
            | SyncError::UnknownChoice { field }
            | SyncError::GroupChoiceMismatch { field } => Some(field),
            _ => None,
        }
    }
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::TenantMismatch { expected, found } => {
                write!(
                    f,
                    "input belongs to tenant {found:?}, options are for {expected:?}"
                )
            }
            SyncError::KindMismatch { expected, found } => {
                write!(
                    f,
                    "record is a {}, input is about a {}",
                    expected.as_str(),
                    found.as_str()
                )
            }
            SyncError::ProductMismatch { expected, found } => {
                write!(
                    f,
                    "the record is a {} link, the input is {}: each product's link is its own record state, and partner changes are written through CRM+ links",
                    expected.as_str(),
                    found.as_str()
                )
            }
            SyncError::RecordMismatch {
                field,
                expected,
                found,
            } => {
                write!(
                    f,
                    "{field} mismatch: record has {expected:?}, input has {found:?}"
                )
            }
            SyncError::UnsupportedVersion { version } => {
                write!(
                    f,
                    "stored state version {version} is newer than {RECORD_VERSION}"
                )
            }
            SyncError::BadRecord { message } => write!(f, "stored state: {message}"),
            SyncError::BadTime { field, error } => write!(f, "{field}: {error}"),
            SyncError::MissingField { field } => {
                write!(f, "required field {field} is missing or empty")
            }
            SyncError::UnknownField { field } => write!(f, "field {field} is not in the field map"),
            SyncError::InvalidMoney { field, error } => write!(f, "{field}: {error}"),
            SyncError::InvalidDate { field } => {
                write!(
                    f,
                    "{field} is not a date (YYYY-MM-DD, M/D/YYYY or a date-time)"
                )
            }
            SyncError::NonPositiveAmount { field } => {
                write!(f, "{field} must be greater than zero")
            }
            SyncError::DesignationsMismatch { field, sum, amount } => {
                write!(f, "{field} sum to {sum}, amount is {amount}")
            }
            SyncError::UnsupportedKind { kind } => {
                write!(f, "writes of {} are not supported", kind.as_str())
            }
            SyncError::MissingChoice { field } => write!(f, "no choice for conflict field {field}"),
            SyncError::UnknownChoice { field } => write!(f, "{field} is not a conflict field"),
            SyncError::GroupChoiceMismatch { field } => write!(
                f,
                "{field} is in a field group whose items must take the same side"
            ),
            SyncError::BadCurrent { message } => write!(f, "{message}"),
            SyncError::Options(e) => e.fmt(f),
            SyncError::Transition(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SyncError {}

impl From<OptionsError> for SyncError {
    fn from(e: OptionsError) -> Self {
        SyncError::Options(e)
    }
}

impl From<TransitionError> for SyncError {
    fn from(e: TransitionError) -> Self {
        SyncError::Transition(e)
    }
}

/// Lazily apply time-driven transitions before deciding: a lapsed cooldown ends
/// (`cooldown-elapsed`), an expired pending write is flagged stuck (`pending-expired`).
pub(crate) fn refresh(record: RecordState, now_ms: i64) -> RecordState {
    let mut r = record;
    if r.state == SyncState::VirtuousPending && !r.cooldown_active(now_ms) {
        if let Ok(n) = transition(&r, Trigger::CooldownElapsed, now_ms) {
            r = n;
        }
    } else if !r.cooldown_active(now_ms) && r.cooldown_until_ms.is_some() {
        r.cooldown_until_ms = None;
        r.cooldown_fields.clear();
    }
    if r.state == SyncState::PartnerPending
        && !r.stuck
        && r.pending_expires_ms.is_some_and(|t| t <= now_ms)
    {
        if let Ok(n) = transition(&r, Trigger::PendingExpired, now_ms) {
            r = n;
        }
    }
    r.expected_echo.retain(|e| now_ms < e.expires_ms);
    r
}

/// Common record checks: version and tenant.
pub(crate) fn check_record(
    options: &SyncOptions,
    record: &RecordState,
) -> Result<RecordState, SyncError> {
    let r = record.clone().migrated()?;
    if r.customer_id != options.customer_id {
        return Err(SyncError::TenantMismatch {
            expected: options.customer_id.clone(),
            found: r.customer_id,
        });
    }
    Ok(r)
}
