//! The one reason-code taxonomy every decision, field outcome and resolution uses, and the
//! small record of inputs each decision reports.

use super::record::SyncState;
use crate::event::{EventType, ResourceKind};
use serde::{Deserialize, Serialize};

/// Why a decision came out as it did. Serialised as a stable kebab-case code (`echo`).
///
/// Caller mistakes are not reasons but errors (`tenant-mismatch`, `invalid-transition`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reason {
    // ---- inbound ----
    /// Inbound: a record we do not have and did not write: create it locally.
    NewRecord,
    /// Inbound: Virtuous changed mapped fields; apply them (named in the action).
    RemoteChanged,
    /// Inbound: the webhook confirms our pending write (Virtuous id captured if new).
    Confirmed,
    /// Inbound: the event's mapped fields equal what we wrote: our own echo, skipped.
    Echo,
    /// Inbound: the event is older than the newest Virtuous version already seen.
    Stale,
    /// Inbound/outbound: nothing mapped differs from the agreed base (duplicate delivery, unmapped edit).
    NoChange,
    /// Inbound: the contact was merged into another (`mergedIntoContactId`); remap to the survivor.
    MergedAway,
    /// Inbound: the record was deleted in Virtuous; delete (or unlink) locally.
    Deleted,
    /// Inbound/outbound: the record is already deleted or merged away; nothing to do.
    Tombstoned,
    /// Both sides changed a field and the policy cannot settle it: conflict raised.
    BothChanged,
    /// The change touches only fields the other side owns; ignored by policy.
    OwnedByOther,
    /// The record is in conflict: inbound changes are held, outbound writes suppressed.
    InConflict,
    /// Inbound: event type unknown, or no usable resource/id.
    UnsupportedEvent,
    /// Inbound: the host does not sync this record kind.
    NotSynced,
    /// Inbound: a create carrying our stamp with no local record: never create; reconcile by external id.
    OwnStampUnlinked,
    /// Inbound: an update or delete for a record we do not track and cannot create.
    UnknownRecord,
    // ---- outbound ----
    /// Outbound: the partner changed fields; submit them.
    PartnerChanged,
    /// Outbound: the changed fields are inside an inbound change's cooldown; retry later.
    Cooldown,
    /// Outbound: an identical write is already pending; nothing new to send.
    Coalesced,
    /// Outbound: our create Transaction still waits for the nightly batch; the change is sent
    /// after confirmation (`followUp`).
    PendingCreate,
    /// Outbound: the change puts back a value Virtuous may still show from before an unconfirmed
    /// write of ours (an undo); it is sent once that write's echo arrives (`followUp`), so the
    /// older state can never be taken for this write's echo.
    AwaitingEcho,
    /// Outbound: a full-record update needs the record as Virtuous holds it now: fetch it
    /// (`fetch`) and decide again with `change.current`.
    NeedsCurrent,
    /// Outbound: the fetched record shows a Virtuous change the state did not know; it is decided
    /// as an inbound change first (`apply-inbound`), then the host decides the write again.
    RemoteFirst,
    /// Inbound: an event without `modifiedDateTimeUtc` carries values the state does not hold;
    /// it cannot be ordered, so the record is fetched (`fetch`) and the fetched record decided.
    Undated,
    /// Inbound: a create without any stamp field while a create of ours of that kind may be
    /// pending: it may be ours; look it up (`verify`) before creating.
    UnstampedCreate,
    // ---- state ----
    /// The pending write outlived `pendingExpiryMs`: flagged stuck for reconciliation.
    StuckPending,
    /// A conflict was settled by hand.
    ManualResolution,
    // ---- per-field merge outcomes ----
    /// Field: no side changed it.
    Unchanged,
    /// Field: only the partner changed it; partner value kept.
    LocalOnly,
    /// Field: only Virtuous changed it; Virtuous value taken.
    RemoteOnly,
    /// Field: both changed it to the same value.
    SameChange,
    /// Field: both changed it; the later edit (outside the skew window) wins.
    MostRecent,
    /// Field: both changed a shared field; Virtuous is canonical.
    VirtuousCanonical,
    /// Resolution: every field merged without conflict.
    Merged,
}

impl Reason {
    /// The stable code (`stuck-pending`).
    pub fn code(self) -> &'static str {
        use Reason::*;
        match self {
            NewRecord => "new-record",
            RemoteChanged => "remote-changed",
            Confirmed => "confirmed",
            Echo => "echo",
            Stale => "stale",
            NoChange => "no-change",
            MergedAway => "merged-away",
            Deleted => "deleted",
            Tombstoned => "tombstoned",
            BothChanged => "both-changed",
            OwnedByOther => "owned-by-other",
            InConflict => "in-conflict",
            UnsupportedEvent => "unsupported-event",
            NotSynced => "not-synced",
            OwnStampUnlinked => "own-stamp-unlinked",
            UnknownRecord => "unknown-record",
            PartnerChanged => "partner-changed",
            Cooldown => "cooldown",
            Coalesced => "coalesced",
            PendingCreate => "pending-create",
            AwaitingEcho => "awaiting-echo",
            NeedsCurrent => "needs-current",
            RemoteFirst => "remote-first",
            Undated => "undated",
            UnstampedCreate => "unstamped-create",
            StuckPending => "stuck-pending",
            ManualResolution => "manual-resolution",
            Unchanged => "unchanged",
            LocalOnly => "local-only",
            RemoteOnly => "remote-only",
            SameChange => "same-change",
            MostRecent => "most-recent",
            VirtuousCanonical => "virtuous-canonical",
            Merged => "merged",
        }
    }
}

/// The inputs a decision used, reported with it so a host can explain it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct DecisionInputs {
    /// The customer the decision is for.
    pub customer_id: String,
    /// Record kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ResourceKind>,
    /// The record's state before the decision (absent: no record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_before: Option<SyncState>,
    /// The event type (inbound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<EventType>,
    /// The event's `modifiedDateTimeUtc` in ms (inbound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_modified_ms: Option<i64>,
    /// The newest Virtuous modification time the record knew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_virtuous_modified_ms: Option<i64>,
    /// The partner modification time (outbound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_modified_ms: Option<i64>,
    /// The stamp (`transactionSource`/`referenceSource`) the event carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<String>,
    /// Whether the stamp names our platform.
    #[serde(default)]
    pub ours: bool,
    /// Mapped fields that differ from the base (inbound: Virtuous side; outbound: partner side).
    #[serde(default)]
    pub changed_fields: Vec<String>,
    /// Number of live expected-echo entries compared.
    #[serde(default)]
    pub echo_entries: usize,
    /// Active cooldown end, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown_until_ms: Option<i64>,
    /// Fields the active cooldown covers.
    #[serde(default)]
    pub cooldown_fields: Vec<String>,
    /// Whether the record's pending write is past its expiry.
    #[serde(default)]
    pub stuck: bool,
    /// The `now` the decision used.
    pub now_ms: i64,
}

impl DecisionInputs {
    /// What the stored record contributes to every decision's inputs (the rest stays default).
    pub fn from_record(record: Option<&super::RecordState>, now_ms: i64) -> DecisionInputs {
        DecisionInputs {
            state_before: record.map(|r| r.state),
            known_virtuous_modified_ms: record.and_then(|r| r.virtuous_modified_ms),
            cooldown_until_ms: record.and_then(|r| r.cooldown_until_ms),
            cooldown_fields: record
                .map(|r| r.cooldown_fields.clone())
                .unwrap_or_default(),
            stuck: record.is_some_and(|r| r.stuck),
            echo_entries: record.map_or(0, |r| r.expected_echo.len()),
            now_ms,
            ..DecisionInputs::default()
        }
    }
}
