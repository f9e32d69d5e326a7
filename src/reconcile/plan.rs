//! Periodic reconciliation: one page of Virtuous query results against the host's stored records.
//!
//! One domain model with the sync decisions: a stored record is the sync module's
//! [`RecordState`] (the same JSON the host stores for `decideInbound` / `decideOutbound`), plus
//! the partner's current values of the mapped fields. Fields, their types and pointers come from
//! the sync options' field maps, policies and skew window from `policy`, and a pending write is
//! stuck after `pendingExpiryMs`, exactly as in the sync decisions. Per record,
//! [`plan_reconciliation`] says:
//!
//! * `missed-change`: Virtuous has a version the host never applied (a webhook lost in an outage or
//!   during a paused subscription). The item carries a normalised [`Event`] built from the query
//!   row, which the host feeds to the same inbound decision as a webhook delivery;
//! * `confirm-pending`: a write stuck in `partner-pending` is in Virtuous (seen in the page by
//!   id or external reference, or found by `GET /api/Gift/{transactionSource}/{transactionId}`);
//! * `look-up-pending`: a write has been pending longer than `pendingExpiryMs` (or is flagged
//!   `stuck`): look it up (the request is in the item, priced in the plan's `requestCost`);
//! * `surface-unmatched`: still not found `unmatchedAfterMs` after submission — it sits in
//!   Virtuous's "needs update" bucket, which no API lists: show it to the customer;
//! * `resolve-drift` / `conflict`: both sides hold the record but mapped fields differ; each
//!   field is merged three-way against the stored base digests with the sync module's merge and
//!   policies; an inconclusive case is a `conflict`, never a coin flip;
//! * `fetch-full-record`: a field the decision needs is absent from the (abbreviated) query row:
//!   absent is unknown, never blank, so the plan asks for the full record instead of guessing;
//! * `merged-away`: the row carries `mergedIntoContactId` (see [`super::merge`]).
//!
//! Absence of a stored record from the page means nothing (see [`super::deletion`]).

use super::cursor::{row_id, row_modified, QueryResource};
use super::deletion::{check_breaker, BreakerConfig, BreakerVerdict};
use crate::event::{Event, EventType, ResourceKind};
use crate::sync::resolve::{merge_field, FieldInput, Outcome};
use crate::sync::units::{composite, group_list, remote_composite};
use crate::sync::{
    field_digest, transition, ConflictItem, ExternalRef, FieldPolicy, FieldSpec, Reason,
    RecordState, Side, SideValues, SyncError, SyncOptions, SyncState, Trigger,
};
use core::fmt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The current shape of [`ReconcileInput`]. Version 1 (no `version`, stored records carrying
/// `partnerValues`/`baseValues`, a `config` with its own policy vocabulary) is refused with
/// [`ReconcileError::LegacyInput`], which names the key and what replaces it.
pub const RECONCILE_INPUT_VERSION: u32 = 2;

/// A caller mistake.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ReconcileError {
    /// A configuration value is out of range.
    InvalidConfig {
        /// The camelCase field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Two stored records claim the same Virtuous id.
    DuplicateStoredRecord {
        /// The id.
        virtuous_id: String,
    },
    /// The input is in the version-1 shape: `field` names the first old key, `message` says what
    /// replaces it.
    LegacyInput {
        /// Path of the old key (`stored[0].partnerValues`, `config.defaultPolicy`).
        field: String,
        /// What to change.
        message: String,
    },
    /// `version` is newer than this library knows.
    UnsupportedVersion {
        /// The version given.
        version: u64,
    },
    /// A stored record state was refused by the sync module (`tenant-mismatch`,
    /// `kind-mismatch`, `unsupported-version`): the code is the sync error's.
    StoredRecord {
        /// Its position in `stored`.
        index: usize,
        /// Why.
        error: SyncError,
    },
}

impl ReconcileError {
    /// Every code this module can produce (the `StoredRecord` variant's come from
    /// [`ReconcileError::STORED_RECORD_CODES`]).
    pub const CODES: [&'static str; 4] = [
        "invalid-reconcile-config",
        "duplicate-stored-record",
        "legacy-reconcile-input",
        "unsupported-reconcile-version",
    ];

    /// The sync codes a stored record can be refused with.
    pub const STORED_RECORD_CODES: [&'static str; 3] =
        ["tenant-mismatch", "kind-mismatch", "unsupported-version"];

    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            ReconcileError::InvalidConfig { .. } => "invalid-reconcile-config",
            ReconcileError::DuplicateStoredRecord { .. } => "duplicate-stored-record",
            ReconcileError::LegacyInput { .. } => "legacy-reconcile-input",
            ReconcileError::UnsupportedVersion { .. } => "unsupported-reconcile-version",
            ReconcileError::StoredRecord { error, .. } => error.code(),
        }
    }

    /// Path of the offending input, or `""`.
    pub fn field(&self) -> String {
        match self {
            ReconcileError::InvalidConfig { field, .. } => format!("config.{field}"),
            ReconcileError::LegacyInput { field, .. } => field.clone(),
            ReconcileError::UnsupportedVersion { .. } => "version".into(),
            ReconcileError::StoredRecord { index, .. } => format!("stored[{index}].record"),
            ReconcileError::DuplicateStoredRecord { .. } => String::new(),
        }
    }
}

impl fmt::Display for ReconcileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReconcileError::InvalidConfig { field, message } => write!(f, "{field}: {message}"),
            ReconcileError::DuplicateStoredRecord { virtuous_id } => {
                write!(f, "two stored records have Virtuous id {virtuous_id}")
            }
            ReconcileError::LegacyInput { field, message } => {
                write!(f, "{field} is the version-1 reconcile input: {message}")
            }
            ReconcileError::UnsupportedVersion { version } => write!(
                f,
                "reconcile input version {version} is newer than {RECONCILE_INPUT_VERSION}"
            ),
            ReconcileError::StoredRecord { index, error } => write!(f, "stored[{index}]: {error}"),
        }
    }
}

impl std::error::Error for ReconcileError {}

/// The result of a direct lookup the host made for a pending write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LookupResult {
    /// Whether Virtuous answered 200 (`true`) or 404 (`false`).
    pub found: bool,
    /// When the lookup was made.
    pub at_ms: i64,
    /// The Virtuous id from the 200 body, when found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtuous_id: Option<String>,
}

/// One stored record: the sync state the host keeps anyway, the partner's current values, and a
/// lookup made for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoredRecord {
    /// The record's sync state, as stored for the sync decisions (any version they load).
    #[cfg_attr(feature = "ts", ts(type = "StoredRecordState"))]
    pub record: RecordState,
    /// The partner's current values of the mapped fields, by field name (absent fields are
    /// unknown), and when the partner last modified the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<SideValues>,
    /// A lookup made for this pending record, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<LookupResult>,
}

/// What the query rows hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum RowShape {
    /// `POST /api/Contact/Query` and `POST /api/Gift/Query` rows: abbreviated (the default).
    /// A mapped field absent from a row is unknown; when a decision needs it the plan asks for
    /// the full record (`fetch-full-record`).
    #[default]
    Abbreviated,
    /// Full records (`POST /api/Contact/Query/FullContact`, or `GET /api/{Kind}/{id}`
    /// bodies). A field still absent stays unknown (never blanked, never pushed) and is listed
    /// in `unknownFields`; no fetch is asked for.
    Full,
}

fn default_unmatched() -> i64 {
    48 * 3600 * 1000
}

/// Reconciliation settings beyond the sync options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReconcileConfig {
    /// Contacts or gifts.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub resource: QueryResource,
    /// Names of the kind's field-map fields compared for drift (absent: every mapped field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
    /// What the rows hold (default `abbreviated`).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub row_shape: RowShape,
    /// A pending write still not found this long after submission is surfaced (default 48 h:
    /// two nightly batches; at least the sync options' `pendingExpiryMs`).
    #[serde(default = "default_unmatched")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub unmatched_after_ms: i64,
    /// The customer's record count; when given, the breaker checks the planned overwrites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_records: Option<u64>,
    /// The breaker threshold.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub breaker: BreakerConfig,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        ReconcileConfig {
            resource: QueryResource::Contact,
            fields: None,
            row_shape: RowShape::Abbreviated,
            unmatched_after_ms: default_unmatched(),
            total_records: None,
            breaker: BreakerConfig::default(),
        }
    }
}

/// Input of [`plan_reconciliation`] (the sync options come separately: the core's `sync`
/// section, or `options` in the free operation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReconcileInput {
    /// [`RECONCILE_INPUT_VERSION`]; absent means current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "2"))]
    pub version: Option<u64>,
    /// Settings.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub config: ReconcileConfig,
    /// One page of query rows (`list`), as returned.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable, type = "Array<Record<string, unknown>>"))]
    pub rows: Vec<Value>,
    /// The host's stored records for those rows plus every `partner-pending` record.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub stored: Vec<StoredRecord>,
    /// The host's current time.
    pub now_ms: i64,
}

/// What an item asks of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ReconcileItemKind"))]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    /// Feed `event` to the inbound decision. For a record unknown locally whose abbreviated row
    /// lacks mapped fields (`unknownFields`), `request` reads the full record first: feed that
    /// as the event's resource, so the record is not created with fields missing.
    MissedChange,
    /// The pending write is in Virtuous: store `record` (state `in-sync`, `virtuousId`).
    ConfirmPending,
    /// Make `request`, then reconcile again with its result in `lookup`.
    LookUpPending,
    /// Not found yet, within the window: keep waiting.
    KeepWaiting,
    /// Show the customer: the Transaction sits unmatched in Virtuous's needs-update bucket.
    SurfaceUnmatched,
    /// Apply the per-field resolutions and store `record`.
    ResolveDrift,
    /// Apply the resolved fields and store `record` (state `conflict` with its items).
    Conflict,
    /// The contact was merged away: run the merge remap to `survivorId`.
    MergedAway,
    /// The breaker tripped: the drift resolution is held.
    Held,
    /// A second Virtuous record carries a stored record's external reference: show the customer
    /// the duplicate (merge it in Virtuous); it is not linked.
    DuplicateInVirtuous,
    /// A row without a usable id.
    MalformedRow,
    /// The row lacks fields needed to decide (`unknownFields`): make `request` and plan again
    /// with the full record in place of the row.
    FetchFullRecord,
}

impl ItemKind {
    /// Every kind.
    pub const ALL: [ItemKind; 12] = [
        ItemKind::MissedChange,
        ItemKind::ConfirmPending,
        ItemKind::LookUpPending,
        ItemKind::KeepWaiting,
        ItemKind::SurfaceUnmatched,
        ItemKind::ResolveDrift,
        ItemKind::Conflict,
        ItemKind::MergedAway,
        ItemKind::Held,
        ItemKind::DuplicateInVirtuous,
        ItemKind::MalformedRow,
        ItemKind::FetchFullRecord,
    ];
}

/// Why an item was planned: a closed set of stable codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ReconcileItemReason"))]
#[serde(rename_all = "kebab-case")]
pub enum ItemReason {
    /// A row for a record the host does not have.
    UnknownLocally,
    /// A row newer than the last applied Virtuous version.
    NewerInVirtuous,
    /// The row carries `mergedIntoContactId`.
    MergedAway,
    /// The pending create appears in the page.
    ConfirmedByQuery,
    /// The host's lookup found it.
    ConfirmedByLookup,
    /// Pending past `pendingExpiryMs` (or flagged `stuck`).
    StuckPending,
    /// Not found yet, inside `unmatchedAfterMs`.
    WithinWindow,
    /// Pending without an external reference to look up.
    NoReferenceToLookUp,
    /// Not found `unmatchedAfterMs` after submission.
    NeedsUpdateBucket,
    /// Mapped fields differ and every one has an answer.
    Drift,
    /// At least one field has no automatic answer.
    FieldConflict,
    /// The breaker held the drift resolution.
    MassChangeBreaker,
    /// A second Virtuous record carries the stored record's reference.
    ReferenceClaimedTwice,
    /// The row has no usable id.
    RowWithoutId,
    /// A field needed to decide is absent from the abbreviated row.
    FieldsNotInRow,
}

impl ItemReason {
    /// Every reason.
    pub const ALL: [ItemReason; 15] = [
        ItemReason::UnknownLocally,
        ItemReason::NewerInVirtuous,
        ItemReason::MergedAway,
        ItemReason::ConfirmedByQuery,
        ItemReason::ConfirmedByLookup,
        ItemReason::StuckPending,
        ItemReason::WithinWindow,
        ItemReason::NoReferenceToLookUp,
        ItemReason::NeedsUpdateBucket,
        ItemReason::Drift,
        ItemReason::FieldConflict,
        ItemReason::MassChangeBreaker,
        ItemReason::ReferenceClaimedTwice,
        ItemReason::RowWithoutId,
        ItemReason::FieldsNotInRow,
    ];
}

/// Which value a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "DriftResolution"))]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    /// Write the Virtuous value to the partner side.
    TakeVirtuous,
    /// Write the partner value to Virtuous (through `decideOutbound`).
    TakePartner,
    /// No automatic choice.
    Conflict,
}

/// One differing field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct FieldDrift {
    /// The field name (the field map's).
    pub field: String,
    /// The Virtuous value (from the row, at the field's pointer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtuous_value: Option<Value>,
    /// The partner value (absent when the host did not give it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_value: Option<Value>,
    /// Digest of the last agreed value, when one is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The resolution.
    pub resolution: Resolution,
    /// The sync module's per-field reason: `remote-only`, `local-only`, `owned-by-other`,
    /// `virtuous-canonical`, `most-recent` or `both-changed`.
    pub reason: Reason,
    /// The policy that applied.
    pub policy: FieldPolicy,
    /// For a conflict: the side the engine would pick if forced (the later edit, else Virtuous).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed: Option<Side>,
}

/// A planned step for one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ReconcileItem {
    /// What to do.
    pub kind: ItemKind,
    /// Why.
    pub reason: ItemReason,
    /// The Virtuous id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtuous_id: Option<String>,
    /// The partner id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// The state to store after the step, when it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_state: Option<SyncState>,
    /// The record state to store once the step is applied (confirmations, drift, conflicts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordState>,
    /// For `missed-change`: the event to feed to the inbound decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
    /// For `look-up-pending`, `fetch-full-record` and a `missed-change` create from an
    /// abbreviated row: the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<HttpRequest>,
    /// For drift and conflict: the fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub fields: Vec<FieldDrift>,
    /// Mapped fields absent from the row whose decision needs Virtuous's value (the partner's
    /// differs from the base): unknown, never taken as blank.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub unknown_fields: Vec<String>,
    /// For `merged-away`: the contact it was merged into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survivor_id: Option<String>,
    /// For a row-driven item: its position in the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
}

/// An HTTP request the host should make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct HttpRequest {
    /// Method.
    pub method: String,
    /// Path (and query), percent-encoded.
    pub path: String,
}

/// Counts per item kind plus rows unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ReconcileCounts {
    /// Rows in the page.
    pub rows: u64,
    /// Rows already applied with no drift.
    pub unchanged: u64,
    /// Pending records not yet stuck.
    pub pending_not_stuck: u64,
    /// Rows of records in `conflict` (awaiting resolution) or `virtuous-pending` (cooldown),
    /// not checked for drift.
    pub skipped: u64,
    /// Items by kind.
    pub items: BTreeMap<ItemKind, u64>,
}

/// The reconciliation plan (npm `core.planReconciliation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ReconciliationPlan {
    /// Steps, row-driven ones first in page order, then pending records in input order.
    pub items: Vec<ReconcileItem>,
    /// Counts.
    pub counts: ReconcileCounts,
    /// Requests the plan needs (lookups and full-record fetches).
    pub request_cost: u64,
    /// The breaker verdict, when `totalRecords` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerVerdict>,
    /// Whether the breaker halted the drift resolutions.
    pub halted: bool,
}

/// Percent-encodes one path segment or query value (RFC 3986 unreserved kept).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The lookup request for a pending write.
pub fn lookup_request(resource: QueryResource, reference: &ExternalRef) -> HttpRequest {
    let path = match resource {
        QueryResource::Gift => format!(
            "/api/Gift/{}/{}",
            encode_component(reference.source.trim()),
            encode_component(reference.id.trim())
        ),
        QueryResource::Contact => format!(
            "/api/Contact/Find?referenceSource={}&referenceId={}",
            encode_component(reference.source.trim()),
            encode_component(reference.id.trim())
        ),
    };
    HttpRequest {
        method: "GET".into(),
        path,
    }
}

fn ref_key(source: &str, id: &str) -> String {
    format!("{}\u{1f}{}", source.trim().to_lowercase(), id.trim())
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// References a query row carries (`transactionSource`/`transactionId`, `referenceSource`/
/// `referenceId`, `contactReferences[].{source,id}`).
fn row_references(row: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (s, i) in [
        ("transactionSource", "transactionId"),
        ("referenceSource", "referenceId"),
    ] {
        if let (Some(s), Some(i)) = (
            row.get(s).and_then(value_text),
            row.get(i).and_then(value_text),
        ) {
            if !s.is_empty() && !i.is_empty() {
                out.push(ref_key(&s, &i));
            }
        }
    }
    if let Some(list) = row.get("contactReferences").and_then(Value::as_array) {
        for r in list {
            if let (Some(s), Some(i)) = (
                r.get("source").and_then(value_text),
                r.get("id").and_then(value_text),
            ) {
                out.push(ref_key(&s, &i));
            }
        }
    }
    out
}

fn event_from_row(kind: QueryResource, row: &Value, id: &str, create: bool) -> Event {
    let (rk, et) = match (kind, create) {
        (QueryResource::Contact, true) => (ResourceKind::Contact, EventType::ContactCreate),
        (QueryResource::Contact, false) => (ResourceKind::Contact, EventType::ContactUpdate),
        (QueryResource::Gift, true) => (ResourceKind::Gift, EventType::GiftCreate),
        (QueryResource::Gift, false) => (ResourceKind::Gift, EventType::GiftUpdate),
    };
    Event {
        event_type: Some(et),
        raw_event_type: et.live_name().to_string(),
        resource_kind: Some(rk),
        event_id: None,
        timestamp: None,
        organization_id: None,
        resource_id: Some(id.to_string()),
        modified_date_time_utc: row
            .get("modifiedDateTimeUtc")
            .and_then(Value::as_str)
            .map(str::to_string),
        resource: Some(row.clone()),
        ..Event::default()
    }
}

/// The full-record request for a row: `GET /api/Contact/{id}` or `GET /api/Gift/{id}` (the
/// documented full read; contacts can also be paged in full with `POST /api/Contact/Query/FullContact`).
pub fn full_record_request(resource: QueryResource, id: &str) -> HttpRequest {
    let kind = match resource {
        QueryResource::Contact => "Contact",
        QueryResource::Gift => "Gift",
    };
    HttpRequest {
        method: "GET".into(),
        path: format!("/api/{kind}/{}", encode_component(id)),
    }
}

/// Keys of the version-1 input, each with what replaces it.
const LEGACY_CONFIG_KEYS: [(&str, &str); 4] = [
    ("policies", "per-field policies are the sync options' `policy.kinds[kind].fields` (virtuous-wins → virtuous-canonical, partner-wins → partner-owns, newest-wins → most-recent-wins, conflict → manual)"),
    ("defaultPolicy", "the default policy is the sync options' `policy.default` (virtuous-wins → virtuous-canonical, partner-wins → partner-owns, newest-wins → most-recent-wins, conflict → manual)"),
    ("stuckAfterMs", "a pending write is stuck after the sync options' `pendingExpiryMs`"),
    ("clockUncertaintyMs", "the skew window is the sync options' `policy.skewWindowMs`"),
];
const LEGACY_STORED_KEYS: [(&str, &str); 9] = [
    (
        "partnerValues",
        "pass the partner's current values as `partner.values`, keyed by field-map name",
    ),
    (
        "baseValues",
        "the base is the stored record state's `base` digests: pass the state as `record`",
    ),
    (
        "virtuousId",
        "pass the stored sync record state as `record` (it carries `virtuousId`)",
    ),
    (
        "partnerId",
        "pass the stored sync record state as `record` (it carries `partnerId`)",
    ),
    (
        "reference",
        "pass the stored sync record state as `record` (its `externalRef`)",
    ),
    (
        "state",
        "pass the stored sync record state as `record` (it carries `state`)",
    ),
    (
        "partnerPendingSinceMs",
        "pass the stored sync record state as `record` (its `pendingSinceMs`)",
    ),
    (
        "lastVirtuousModifiedMs",
        "pass the stored sync record state as `record` (its `virtuousModifiedMs`)",
    ),
    (
        "partnerModifiedMs",
        "pass the partner's modification time as `partner.modifiedMs`",
    ),
];

/// Refuses an input in the version-1 shape (or a newer version) with an error naming the first
/// old key and what replaces it, before the typed read would report it as merely unknown.
pub fn check_input_version(input: &Value) -> Result<(), ReconcileError> {
    let legacy = |field: String, message: &str| ReconcileError::LegacyInput {
        field,
        message: message.to_string(),
    };
    match input.get("version") {
        None | Some(Value::Null) => {}
        Some(v) => match v.as_u64() {
            Some(n) if n == u64::from(RECONCILE_INPUT_VERSION) => {}
            Some(n) if n > u64::from(RECONCILE_INPUT_VERSION) => {
                return Err(ReconcileError::UnsupportedVersion { version: n })
            }
            Some(_) => {
                return Err(legacy(
                    "version".into(),
                    "version 1 inputs carried values and their own policies; send version 2: stored sync record states, the partner's values, and the sync options",
                ))
            }
            None => {} // the typed read names the bad type
        },
    }
    if let Some(cfg) = input.get("config").and_then(Value::as_object) {
        for (k, why) in LEGACY_CONFIG_KEYS {
            if cfg.contains_key(k) {
                return Err(legacy(format!("config.{k}"), why));
            }
        }
    }
    if let Some(stored) = input.get("stored").and_then(Value::as_array) {
        for (i, s) in stored.iter().enumerate() {
            let Some(obj) = s.as_object() else { continue };
            if obj.contains_key("record") {
                continue;
            }
            for (k, why) in LEGACY_STORED_KEYS {
                if obj.contains_key(k) {
                    return Err(legacy(format!("stored[{i}].{k}"), why));
                }
            }
        }
    }
    Ok(())
}

fn item(kind: ItemKind, reason: ItemReason) -> ReconcileItem {
    ReconcileItem {
        kind,
        reason,
        virtuous_id: None,
        partner_id: None,
        next_state: None,
        record: None,
        event: None,
        request: None,
        fields: Vec::new(),
        unknown_fields: Vec::new(),
        survivor_id: None,
        row: None,
    }
}

fn kind_of(resource: QueryResource) -> ResourceKind {
    match resource {
        QueryResource::Contact => ResourceKind::Contact,
        QueryResource::Gift => ResourceKind::Gift,
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ReconcileError {
    ReconcileError::InvalidConfig {
        field: field.to_string(),
        message: message.into(),
    }
}

/// The compared fields: the kind's field map, or the named subset of it.
fn compared_fields<'a>(
    options: &'a SyncOptions,
    c: &ReconcileConfig,
) -> Result<Vec<&'a FieldSpec>, ReconcileError> {
    let kind = kind_of(c.resource);
    let Some(map) = options.fields(kind) else {
        return Err(invalid(
            "resource",
            format!(
                "the sync options' fieldMaps have no {} map: add one, or reconcile a synced kind",
                kind.as_str()
            ),
        ));
    };
    match &c.fields {
        None => Ok(map.iter().collect()),
        Some(names) => names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                map.iter().find(|f| &f.name == n).ok_or_else(|| {
                    invalid(
                        &format!("fields[{i}]"),
                        format!("{n:?} is not in the {} field map", kind.as_str()),
                    )
                })
            })
            .collect(),
    }
}

fn validate(options: &SyncOptions, c: &ReconcileConfig) -> Result<(), ReconcileError> {
    if c.unmatched_after_ms < 0 {
        return Err(invalid(
            "unmatchedAfterMs",
            format!("must not be negative, got {}", c.unmatched_after_ms),
        ));
    }
    if c.unmatched_after_ms < options.pending_expiry_ms {
        return Err(invalid(
            "unmatchedAfterMs",
            "must be at least the sync options' pendingExpiryMs (a write is stuck before it is surfaced)",
        ));
    }
    c.breaker
        .validate()
        .map_err(|_| invalid("breaker.maxShare", "must be within 0..=1"))
}

/// Whether a pending write is stuck: the sync module's one meaning (flagged, or past
/// `pendingExpiresMs`, or `pendingExpiryMs` after it started when no expiry is stored).
fn is_stuck(options: &SyncOptions, r: &RecordState, now_ms: i64) -> bool {
    r.stuck
        || match (r.pending_expires_ms, r.pending_since_ms) {
            (Some(t), _) => t <= now_ms,
            (None, Some(since)) => since.saturating_add(options.pending_expiry_ms) <= now_ms,
            (None, None) => false,
        }
}

/// Plans reconciliation for one page (npm `core.planReconciliation`), under the sync options.
pub fn plan_reconciliation(
    options: &SyncOptions,
    input: &ReconcileInput,
) -> Result<ReconciliationPlan, ReconcileError> {
    check_version(input.version)?;
    let cfg = &input.config;
    validate(options, cfg)?;
    let fields = compared_fields(options, cfg)?;
    let kind = kind_of(cfg.resource);
    let records = stored_records(options, input, kind)?;
    let index = StoredIndex::build(&records)?;
    let newest = newest_rows(&input.rows);
    let mut page = Page {
        options,
        cfg,
        fields: &fields,
        kind,
        now: input.now_ms,
        records: &records,
        stored: &input.stored,
        items: Vec::new(),
        counts: ReconcileCounts {
            rows: input.rows.len() as u64,
            ..ReconcileCounts::default()
        },
        request_cost: 0,
        handled: vec![false; records.len()],
        claimed: vec![false; records.len()],
    };
    for (i, row) in input.rows.iter().enumerate() {
        page.row(&index, &newest, i, row);
    }
    page.pending();
    Ok(page.finish())
}

/// Version 2 only: a newer input is refused, an older one named as the shape to change.
fn check_version(version: Option<u64>) -> Result<(), ReconcileError> {
    if let Some(v) = version {
        if v > u64::from(RECONCILE_INPUT_VERSION) {
            return Err(ReconcileError::UnsupportedVersion { version: v });
        }
        if v < u64::from(RECONCILE_INPUT_VERSION) {
            return Err(ReconcileError::LegacyInput {
                field: "version".into(),
                message: "send version 2: stored sync record states, the partner's values, and the sync options".into(),
            });
        }
    }
    Ok(())
}

/// The records as the sync decisions see them: migrated, tenant-checked, time-driven
/// transitions applied (a lapsed cooldown ends, an expired pending write is flagged).
fn stored_records(
    options: &SyncOptions,
    input: &ReconcileInput,
    kind: ResourceKind,
) -> Result<Vec<RecordState>, ReconcileError> {
    let mut records = Vec::with_capacity(input.stored.len());
    for (index, s) in input.stored.iter().enumerate() {
        let r = crate::sync::check_record(options, &s.record)
            .map_err(|error| ReconcileError::StoredRecord { index, error })?;
        if r.kind != kind {
            return Err(ReconcileError::StoredRecord {
                index,
                error: SyncError::KindMismatch {
                    expected: r.kind,
                    found: kind,
                },
            });
        }
        records.push(crate::sync::refresh(r, input.now_ms));
    }
    Ok(records)
}

/// The stored records by Virtuous id (unique) and by external reference (the first wins).
struct StoredIndex<'a> {
    by_vid: HashMap<&'a str, usize>,
    by_ref: HashMap<String, usize>,
}

impl<'a> StoredIndex<'a> {
    fn build(records: &'a [RecordState]) -> Result<StoredIndex<'a>, ReconcileError> {
        let mut by_vid: HashMap<&str, usize> = HashMap::new();
        let mut by_ref: HashMap<String, usize> = HashMap::new();
        for (i, r) in records.iter().enumerate() {
            if let Some(v) = r
                .virtuous_id
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
            {
                if by_vid.insert(v, i).is_some() {
                    return Err(ReconcileError::DuplicateStoredRecord {
                        virtuous_id: v.to_string(),
                    });
                }
            }
            if let Some(x) = &r.external_ref {
                by_ref.entry(ref_key(&x.source, &x.id)).or_insert(i);
            }
        }
        Ok(StoredIndex { by_vid, by_ref })
    }
}

/// Newest row per id wins within the page: the row index and modification time per id.
fn newest_rows(rows: &[Value]) -> HashMap<String, (usize, Option<i64>)> {
    let mut newest: HashMap<String, (usize, Option<i64>)> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        if let Some(id) = row_id(row) {
            let m = row_modified(row);
            match newest.get(&id) {
                Some((_, old)) if *old >= m => {}
                _ => {
                    newest.insert(id, (i, m));
                }
            }
        }
    }
    newest
}

/// One page being planned: what every row and pending record is decided against, and the plan
/// so far.
struct Page<'a> {
    options: &'a SyncOptions,
    cfg: &'a ReconcileConfig,
    fields: &'a [&'a FieldSpec],
    kind: ResourceKind,
    now: i64,
    records: &'a [RecordState],
    stored: &'a [StoredRecord],
    items: Vec<ReconcileItem>,
    counts: ReconcileCounts,
    request_cost: u64,
    /// Stored records a row settled (the pending checks skip them).
    handled: Vec<bool>,
    /// Stored records a row has linked (a second row claiming one is a duplicate).
    claimed: Vec<bool>,
}

impl<'a> Page<'a> {
    /// One query row: malformed, an older duplicate, unknown locally, or matched to a stored record.
    fn row(
        &mut self,
        index: &StoredIndex<'_>,
        newest: &HashMap<String, (usize, Option<i64>)>,
        i: usize,
        row: &Value,
    ) {
        let pos = u32::try_from(i).ok();
        let Some(id) = row_id(row) else {
            let mut it = item(ItemKind::MalformedRow, ItemReason::RowWithoutId);
            it.row = pos;
            self.items.push(it);
            return;
        };
        if newest.get(&id).map(|(j, _)| *j) != Some(i) {
            self.counts.unchanged = self.counts.unchanged.saturating_add(1);
            return;
        }
        let by_id = index.by_vid.get(id.as_str()).copied();
        let stored_idx = by_id.or_else(|| {
            row_references(row)
                .iter()
                .find_map(|k| index.by_ref.get(k).copied())
        });
        let mut it = item(ItemKind::MissedChange, ItemReason::UnknownLocally);
        it.row = pos;
        it.virtuous_id = Some(id.clone());
        match stored_idx {
            None => self.unknown_locally(it, row, &id),
            Some(si) => self.matched(it, si, by_id.is_some(), row, &id),
        }
    }

    /// The names of the compared fields the row leaves out.
    fn absent_fields(&self, row: &Value) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| row.pointer(&f.pointer).is_none())
            .map(|f| f.name.clone())
            .collect()
    }

    /// A full-record read costs one request.
    fn fetch_full(&mut self, it: &mut ReconcileItem, id: &str) {
        it.request = Some(full_record_request(self.cfg.resource, id));
        self.request_cost = self.request_cost.saturating_add(1);
    }

    /// A Virtuous record the host does not hold: a missed create.
    fn unknown_locally(&mut self, mut it: ReconcileItem, row: &Value, id: &str) {
        it.event = Some(event_from_row(self.cfg.resource, row, id, true));
        if self.cfg.row_shape == RowShape::Abbreviated {
            // A record created from an abbreviated row would start without the fields the row
            // left out: name them and the full read, so the host can create it whole.
            it.unknown_fields = self.absent_fields(row);
            if !it.unknown_fields.is_empty() {
                self.fetch_full(&mut it, id);
            }
        }
        self.items.push(it);
    }

    /// A row matched to stored record `si` (by id when `by_id`, else by external reference).
    fn matched(&mut self, mut it: ReconcileItem, si: usize, by_id: bool, row: &Value, id: &str) {
        let (records, stored) = (self.records, self.stored);
        let (Some(st), Some(stored)) = (records.get(si), stored.get(si)) else {
            return;
        };
        it.partner_id = st.partner_id.clone();
        let linked_elsewhere = !by_id
            && st
                .virtuous_id
                .as_deref()
                .is_some_and(|v| !v.trim().is_empty() && v.trim() != id);
        if linked_elsewhere || self.claimed.get(si).copied().unwrap_or(false) {
            // Two Virtuous records carry the same external reference (a regenerated or repeated
            // Transaction): a duplicate for a person to resolve, never a second link.
            it.kind = ItemKind::DuplicateInVirtuous;
            it.reason = ItemReason::ReferenceClaimedTwice;
            self.items.push(it);
            return;
        }
        if let Some(c) = self.claimed.get_mut(si) {
            *c = true;
        }
        if let Some(h) = self.handled.get_mut(si) {
            *h = true;
        }
        if let Some(target) = row.get("mergedIntoContactId").and_then(value_text) {
            if !target.is_empty() && target != id {
                it.kind = ItemKind::MergedAway;
                it.reason = ItemReason::MergedAway;
                it.survivor_id = Some(target);
                it.event = Some(event_from_row(self.cfg.resource, row, id, false));
                self.items.push(it);
                return;
            }
        }
        if st.state == SyncState::PartnerPending && st.virtuous_id.is_none() {
            it.kind = ItemKind::ConfirmPending;
            it.reason = ItemReason::ConfirmedByQuery;
            it.next_state = Some(SyncState::InSync);
            it.record = confirmed(st, Some(id), self.now);
            self.items.push(it);
            return;
        }
        let modified = row_modified(row);
        let newer = match (modified, st.virtuous_modified_ms) {
            (Some(m), Some(last)) => m > last,
            (_, None) => true,
            (None, Some(_)) => false,
        };
        if newer {
            return self.newer_in_virtuous(it, row, id);
        }
        match st.state {
            SyncState::PartnerPending => {
                // Our own write is still on its way (drift now would be that change): leave the
                // record to the pending checks below.
                if let Some(h) = self.handled.get_mut(si) {
                    *h = false;
                }
            }
            SyncState::InSync => self.drift(it, st, stored, row, id, modified),
            // Awaiting manual resolution, or inside the inbound cooldown: no drift fixing.
            _ => self.counts.skipped = self.counts.skipped.saturating_add(1),
        }
    }

    /// Virtuous has a version the host never applied: the event to decide, or the full read
    /// when the row lacks fields.
    fn newer_in_virtuous(&mut self, mut it: ReconcileItem, row: &Value, id: &str) {
        it.reason = ItemReason::NewerInVirtuous;
        let lacking = if self.cfg.row_shape == RowShape::Abbreviated {
            self.absent_fields(row)
        } else {
            Vec::new()
        };
        if lacking.is_empty() {
            it.event = Some(event_from_row(self.cfg.resource, row, id, false));
        } else {
            // An event from this row would tell `decideInbound` the record's newer time while
            // leaving out the fields the row lacks: a change to one of those would be passed
            // for good. Decide the full record instead.
            it.kind = ItemKind::FetchFullRecord;
            self.fetch_full(&mut it, id);
            it.unknown_fields = lacking;
        }
        self.items.push(it);
    }

    /// Both sides hold the record, in sync as far as the host knows: compare the fields.
    fn drift(
        &mut self,
        mut it: ReconcileItem,
        st: &RecordState,
        stored: &StoredRecord,
        row: &Value,
        id: &str,
        modified: Option<i64>,
    ) {
        let d = field_drift(
            &DriftCtx {
                options: self.options,
                fields: self.fields,
                kind: self.kind,
                row,
                st,
                partner: stored.partner.as_ref(),
                modified,
            },
            self.now,
        );
        if !d.unknown.is_empty() && self.cfg.row_shape == RowShape::Abbreviated {
            it.kind = ItemKind::FetchFullRecord;
            it.reason = ItemReason::FieldsNotInRow;
            self.fetch_full(&mut it, id);
            it.unknown_fields = d.unknown;
            self.items.push(it);
            return;
        }
        if d.fields.is_empty() {
            self.counts.unchanged = self.counts.unchanged.saturating_add(1);
            return;
        }
        it.unknown_fields = d.unknown;
        if d.fields
            .iter()
            .any(|f| f.resolution == Resolution::Conflict)
        {
            it.kind = ItemKind::Conflict;
            it.reason = ItemReason::FieldConflict;
            it.next_state = Some(SyncState::Conflict);
        } else {
            it.kind = ItemKind::ResolveDrift;
            it.reason = ItemReason::Drift;
            it.next_state = Some(SyncState::InSync);
        }
        it.record = Some(d.record);
        it.fields = d.fields;
        self.items.push(it);
    }

    /// The pending writes no row settled: confirm, wait, look up or surface each.
    fn pending(&mut self) {
        let records = self.records;
        for (si, st) in records.iter().enumerate() {
            if self.handled.get(si).copied().unwrap_or(true)
                || st.state != SyncState::PartnerPending
            {
                continue;
            }
            let Some(since) = st.pending_since_ms else {
                continue;
            };
            if let Some(it) = self.pending_item(si, st, since) {
                self.items.push(it);
            }
        }
    }

    /// One pending write pending since `since`; `None` when it is not stuck yet (counted).
    fn pending_item(&mut self, si: usize, st: &RecordState, since: i64) -> Option<ReconcileItem> {
        let (options, cfg, now) = (self.options, self.cfg, self.now);
        let lookup = self.stored.get(si).and_then(|s| s.lookup.as_ref());
        let age = now.saturating_sub(since);
        let mut it = item(ItemKind::KeepWaiting, ItemReason::WithinWindow);
        it.partner_id = st.partner_id.clone();
        it.virtuous_id = st.virtuous_id.clone();
        match (lookup, &st.external_ref) {
            (Some(l), _) if l.found => {
                it.kind = ItemKind::ConfirmPending;
                it.reason = ItemReason::ConfirmedByLookup;
                it.next_state = Some(SyncState::InSync);
                if l.virtuous_id.is_some() {
                    it.virtuous_id = l.virtuous_id.clone();
                }
                it.record = confirmed(st, it.virtuous_id.as_deref(), now);
            }
            _ if !is_stuck(options, st, now) => {
                self.counts.pending_not_stuck = self.counts.pending_not_stuck.saturating_add(1);
                return None;
            }
            (Some(l), _) if l.at_ms >= since && age >= cfg.unmatched_after_ms => {
                it.kind = ItemKind::SurfaceUnmatched;
                it.reason = ItemReason::NeedsUpdateBucket;
            }
            (Some(l), Some(r)) if now.saturating_sub(l.at_ms) >= options.pending_expiry_ms => {
                // The last lookup is old: look again.
                it.kind = ItemKind::LookUpPending;
                it.reason = ItemReason::StuckPending;
                it.request = Some(lookup_request(cfg.resource, r));
                self.request_cost = self.request_cost.saturating_add(1);
            }
            (Some(_), _) => {}
            (None, Some(r)) => {
                it.kind = ItemKind::LookUpPending;
                it.reason = ItemReason::StuckPending;
                it.request = Some(lookup_request(cfg.resource, r));
                self.request_cost = self.request_cost.saturating_add(1);
            }
            (None, None) => {
                it.kind = if age >= cfg.unmatched_after_ms {
                    ItemKind::SurfaceUnmatched
                } else {
                    ItemKind::KeepWaiting
                };
                it.reason = ItemReason::NoReferenceToLookUp;
            }
        }
        Some(it)
    }

    /// The breaker over the run's overwrites (held when tripped), and the counts per kind.
    fn finish(self) -> ReconciliationPlan {
        let Page {
            cfg,
            mut items,
            mut counts,
            request_cost,
            ..
        } = self;
        let overwrites = items
            .iter()
            .filter(|i| i.kind == ItemKind::ResolveDrift)
            .count() as u64;
        let breaker = cfg
            .total_records
            .map(|t| check_breaker(0, overwrites, t, &cfg.breaker));
        let halted = breaker.as_ref().is_some_and(|b| b.tripped);
        if halted {
            for it in &mut items {
                if it.kind == ItemKind::ResolveDrift {
                    it.kind = ItemKind::Held;
                    it.reason = ItemReason::MassChangeBreaker;
                    it.next_state = None;
                    it.record = None;
                }
            }
        }
        for it in &items {
            *counts.items.entry(it.kind).or_insert(0) += 1;
        }
        ReconciliationPlan {
            items,
            counts,
            request_cost,
            breaker,
            halted,
        }
    }
}

/// The record after a confirmation: the sync state machine's `confirmed`, with the Virtuous id.
/// The newest write landed, so what it sent is the base; its echo entries stay (marked confirmed)
/// so a late webhook of it is still recognised. `virtuousModifiedMs` is left as it was: the next
/// row of the record reads as newer and goes through `decideInbound`, which applies whatever the
/// nightly batch changed.
fn confirmed(r: &RecordState, virtuous_id: Option<&str>, now_ms: i64) -> Option<RecordState> {
    let mut next = transition(r, Trigger::Confirmed, now_ms).ok()?;
    if let Some(v) = virtuous_id {
        next.virtuous_id = Some(v.to_string());
    }
    if let Some(newest) = next.expected_echo.iter().rev().find(|e| !e.confirmed) {
        let sent: Vec<(String, String)> = newest
            .fields
            .iter()
            .filter(|(f, _)| newest.sent_field(f))
            .map(|(f, d)| (f.clone(), d.clone()))
            .collect();
        next.base.extend(sent);
    }
    for e in &mut next.expected_echo {
        e.confirmed = true;
    }
    next.stuck = false;
    Some(next)
}

struct Drift {
    fields: Vec<FieldDrift>,
    unknown: Vec<String>,
    record: RecordState,
}

/// What one stored record's fields are compared against: the row and the partner's values.
struct DriftCtx<'a> {
    options: &'a SyncOptions,
    fields: &'a [&'a FieldSpec],
    kind: ResourceKind,
    row: &'a Value,
    st: &'a RecordState,
    partner: Option<&'a SideValues>,
    modified: Option<i64>,
}

/// One unit's merge: the outcome for all its members, and why.
struct UnitMerge {
    outcome: Outcome,
    reason: crate::sync::Reason,
    policy: crate::sync::FieldPolicy,
    group: Vec<String>,
    local_ms: Option<i64>,
}

fn field_drift(cx: &DriftCtx<'_>, now_ms: i64) -> Drift {
    let mut out = Drift {
        fields: Vec::new(),
        unknown: Vec::new(),
        record: cx.st.clone(),
    };
    let mut conflicts = Vec::new();
    // A field group (amount + designations by default) is judged as one unit, as `decideInbound`
    // does: its members take one side together, so drift never hands the partner an amount with
    // designations summing to another.
    for unit in cx.options.units(cx.kind) {
        unit_drift(cx, &unit, &mut out, &mut conflicts);
    }
    if !conflicts.is_empty() {
        if let Ok(mut next) = transition(&out.record, Trigger::Ambiguous, now_ms) {
            next.conflict = conflicts;
            out.record = next;
        }
    } else {
        out.record.last_sync_ms = Some(now_ms);
    }
    out
}

/// One unit (a field, or a group judged as one): its members' digests on both sides, merged.
fn unit_drift(
    cx: &DriftCtx<'_>,
    unit: &[String],
    out: &mut Drift,
    conflicts: &mut Vec<ConflictItem>,
) {
    let st = cx.st;
    let specs: Vec<&FieldSpec> = unit
        .iter()
        .filter_map(|n| cx.fields.iter().find(|f| &f.name == n).copied())
        .collect();
    let mut local: BTreeMap<String, String> = BTreeMap::new();
    let mut remote: BTreeMap<String, String> = BTreeMap::new();
    let mut absent: Vec<String> = Vec::new();
    for spec in &specs {
        if let Some(v) = cx.partner.and_then(|p| p.values.get(&spec.name)) {
            local.insert(spec.name.clone(), field_digest(v, spec.field_type));
        }
        // Absent is unknown, never blank: only a field present in the row (even `null`) is
        // Virtuous's value.
        match cx.row.pointer(&spec.pointer) {
            Some(rv) => {
                remote.insert(spec.name.clone(), field_digest(rv, spec.field_type));
            }
            None => absent.push(spec.name.clone()),
        }
    }
    if !absent.is_empty() {
        // A member the row lacks leaves the unit undecided: ask for it when the partner's
        // side has moved (a present member that moved is decided once the row is complete).
        let moved = specs.iter().any(|s| {
            let b = st.base.get(&s.name);
            local.get(&s.name).is_some_and(|l| Some(l) != b)
                || remote.get(&s.name).is_some_and(|r| Some(r) != b)
        });
        if moved {
            out.unknown.extend(absent);
        }
        return;
    }
    if specs.is_empty() {
        return;
    }
    let local_ms = cx
        .partner
        .and_then(|p| p.modified_ms)
        .or(st.partner_modified_ms);
    let (lc, _) = remote_composite(&local, &st.base, unit);
    let (rc, _) = remote_composite(&remote, &st.base, unit);
    let bc = composite(&st.base, unit);
    let Some(head) = unit.first() else { return };
    let policy = cx.options.policy.for_field(cx.kind, head);
    let (outcome, reason) = merge_field(&FieldInput {
        policy,
        base: bc.as_deref(),
        local: if local.is_empty() {
            None
        } else {
            lc.as_deref()
        },
        remote: rc.as_deref(),
        local_ms,
        remote_ms: cx.modified,
        skew_ms: cx.options.policy.skew_window_ms,
    });
    let merge = UnitMerge {
        outcome,
        reason,
        policy,
        group: group_list(unit),
        local_ms,
    };
    for spec in &specs {
        member_drift(cx, spec, &merge, (&local, &remote), out, conflicts);
    }
}

/// One member of a merged unit: the base it settles on, and the drift or conflict it shows.
fn member_drift(
    cx: &DriftCtx<'_>,
    spec: &FieldSpec,
    merge: &UnitMerge,
    (local, remote): (&BTreeMap<String, String>, &BTreeMap<String, String>),
    out: &mut Drift,
    conflicts: &mut Vec<ConflictItem>,
) {
    let name = spec.name.as_str();
    let lv = cx.partner.and_then(|p| p.values.get(name));
    let ld = local.get(name);
    let Some((rv, rd)) = cx.row.pointer(&spec.pointer).zip(remote.get(name)) else {
        return;
    };
    let base = cx.st.base.get(name).map(String::as_str);
    let mut drift = FieldDrift {
        field: name.to_string(),
        virtuous_value: Some(rv.clone()),
        partner_value: lv.cloned(),
        base: base.map(str::to_string),
        resolution: Resolution::Conflict,
        reason: merge.reason,
        policy: merge.policy,
        proposed: None,
    };
    match merge.outcome {
        Outcome::Unchanged => {}
        Outcome::Same => {
            out.record.base.insert(name.to_string(), rd.clone());
        }
        Outcome::TakeRemote => {
            out.record.base.insert(name.to_string(), rd.clone());
            if ld != Some(rd) {
                drift.resolution = Resolution::TakeVirtuous;
                out.fields.push(drift);
            }
        }
        Outcome::KeepLocal => {
            // Written through `decideOutbound`, which compares with the base: the base
            // stays.
            if lv.is_some() && ld != Some(rd) {
                drift.resolution = Resolution::TakePartner;
                out.fields.push(drift);
            }
        }
        Outcome::Conflict(proposed) => {
            drift.proposed = Some(proposed);
            conflicts.push(ConflictItem {
                field: name.to_string(),
                base: base.map(str::to_string),
                local: lv.cloned(),
                local_digest: ld.cloned(),
                remote: Some(rv.clone()),
                remote_digest: Some(rd.clone()),
                local_modified_ms: merge.local_ms,
                remote_modified_ms: cx.modified,
                policy: merge.policy,
                proposed,
                group: merge.group.clone(),
            });
            out.fields.push(drift);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn options() -> SyncOptions {
        SyncOptions::from_json(
            r#"{"platformName":"P","customerId":"c1","fieldMaps":{"contact":[
                {"name":"name","pointer":"/name"},{"name":"email","pointer":"/email"},
                {"name":"phone","pointer":"/phone"}]}}"#,
        )
        .unwrap()
    }

    #[test]
    fn unknown_row_is_missed_create() {
        let input: ReconcileInput = serde_json::from_value(json!({
            "rows": [{"id": 7, "modifiedDateTimeUtc": "2024-01-01T00:00:00"}], "nowMs": 0}))
        .unwrap();
        let plan = plan_reconciliation(&options(), &input).unwrap();
        assert_eq!(plan.items[0].kind, ItemKind::MissedChange);
        let ev = plan.items[0].event.as_ref().unwrap();
        assert_eq!(ev.event_type, Some(EventType::ContactCreate));
        assert_eq!(ev.resource_id.as_deref(), Some("7"));
    }

    #[test]
    fn an_abbreviated_row_never_blanks_a_field() {
        let o = options();
        let d = |v: &str| field_digest(&json!(v), crate::sync::FieldType::Plain);
        let input: ReconcileInput = serde_json::from_value(json!({
            "rows": [{"id": 7, "name": "Ann", "modifiedDateTimeUtc": "2024-01-01T00:00:00"}],
            "stored": [{"record": {"customerId": "c1", "kind": "contact", "state": "in-sync",
                "virtuousId": "7", "virtuousModifiedMs": 1704067200000i64,
                "base": {"name": d("Ann"), "email": d("a@x.org")}},
                "partner": {"values": {"name": "Ann", "email": "a@x.org", "phone": "555"}}}],
            "nowMs": 1704067200000i64}))
        .unwrap();
        let plan = plan_reconciliation(&o, &input).unwrap();
        // email equals the base (nothing to decide); phone was never agreed: Virtuous's value is
        // needed, so the plan asks for the full record instead of taking the absent field as blank.
        assert_eq!(plan.items.len(), 1);
        assert_eq!(plan.items[0].kind, ItemKind::FetchFullRecord);
        assert_eq!(plan.items[0].unknown_fields, vec!["phone".to_string()]);
        assert_eq!(plan.request_cost, 1);
        assert!(plan.items[0].fields.is_empty());
    }

    #[test]
    fn every_reason_and_kind_serialises_to_a_distinct_code() {
        let kinds: std::collections::BTreeSet<String> = ItemKind::ALL
            .iter()
            .map(|k| {
                serde_json::to_value(k)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(kinds.len(), ItemKind::ALL.len());
        let reasons: std::collections::BTreeSet<String> = ItemReason::ALL
            .iter()
            .map(|k| {
                serde_json::to_value(k)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(reasons.len(), ItemReason::ALL.len());
    }
}
