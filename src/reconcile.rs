//! Periodic reconciliation: one page of Virtuous query results against the host's stored records.
//!
//! Per record, [`plan_reconciliation`] says:
//!
//! * `missed-change`: Virtuous has a version the host never applied (a webhook lost in an outage or
//!   during a paused subscription). The item carries a normalised [`Event`] built from the query
//!   row, which the host feeds to the same inbound decision as a webhook delivery;
//! * `confirm-pending`: a write stuck in `partner-pending` is in Virtuous (seen in the page by
//!   id or external reference, or found by `GET /api/Gift/{transactionSource}/{transactionId}`);
//! * `look-up-pending`: a write has been pending longer than `stuckAfterMs`: look it up (the
//!   request is in the item, priced in the plan's `requestCost`);
//! * `surface-unmatched`: still not found `unmatchedAfterMs` after submission — it sits in
//!   Virtuous's "needs update" bucket, which no API lists: show it to the customer;
//! * `resolve-drift` / `conflict`: both sides hold the record but mapped fields differ; each
//!   field is resolved three-way against the stored base (changed on one side → take it), else by
//!   the field's policy; an inconclusive case is a `conflict`, never a coin flip;
//! * `merged-away`: the row carries `mergedIntoContactId` (see [`crate::merge`]).
//!
//! Absence of a stored record from the page means nothing (see [`crate::deletion`]).

use crate::cursor::{row_id, row_modified, QueryResource};
use crate::deletion::{check_breaker, BreakerConfig, BreakerVerdict};
use crate::event::{Event, EventType, ResourceKind};
use crate::matcher::ExternalRef;
use core::fmt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

/// A caller mistake.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ReconcileError {
    /// A configuration value is out of range.
    InvalidConfig {
        /// The camelCase field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Two stored records claim the same Virtuous id.
    DuplicateStoredRecord {
        /// The id.
        virtuous_id: String,
    },
}

impl ReconcileError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            ReconcileError::InvalidConfig { .. } => "invalid-reconcile-config",
            ReconcileError::DuplicateStoredRecord { .. } => "duplicate-stored-record",
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
        }
    }
}

impl std::error::Error for ReconcileError {}

/// The per-record sync state as the host stores it (same names as the sync state machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SyncState {
    /// Both sides agree.
    #[default]
    InSync,
    /// A partner change is queued or in flight to Virtuous.
    PartnerPending,
    /// A Virtuous change was applied recently (cooldown).
    VirtuousPending,
    /// Needs explicit resolution.
    Conflict,
}

/// How a field differing on both sides is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum FieldPolicy {
    /// Virtuous is canonical (the default: staff edit there daily).
    #[default]
    VirtuousWins,
    /// The partner platform owns the field.
    PartnerWins,
    /// The later modification wins, unless the times are within the uncertainty window.
    NewestWins,
    /// Always a conflict.
    Conflict,
}

/// The result of a direct lookup the host made for a pending write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LookupResult {
    /// Whether Virtuous answered 200 (`true`) or 404 (`false`).
    pub found: bool,
    /// When the lookup was made.
    pub at_ms: i64,
    /// The Virtuous id from the 200 body, when found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtuous_id: Option<String>,
}

/// What the host stores per record (only the parts reconciliation needs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StoredRecord {
    /// The Virtuous id, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtuous_id: Option<String>,
    /// The partner id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// The external reference the partner wrote (`transactionSource`/`transactionId` or
    /// `referenceSource`/`referenceId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ExternalRef>,
    /// The sync state.
    #[serde(default)]
    pub state: SyncState,
    /// Since when the record is `partner-pending`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_pending_since_ms: Option<i64>,
    /// The last Virtuous `modifiedDateTimeUtc` applied (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_virtuous_modified_ms: Option<i64>,
    /// When the partner side last modified the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_modified_ms: Option<i64>,
    /// Current partner-side values of the mapped fields, keyed like the query row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_values: Option<Map<String, Value>>,
    /// The values both sides agreed on at the last sync (the three-way base).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_values: Option<Map<String, Value>>,
    /// A lookup made for this pending record, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<LookupResult>,
}

fn default_stuck() -> i64 {
    6 * 3600 * 1000
}
fn default_unmatched() -> i64 {
    48 * 3600 * 1000
}
fn default_uncertainty() -> i64 {
    2000
}

/// Reconciliation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileConfig {
    /// Contacts or gifts.
    #[serde(default)]
    pub resource: QueryResource,
    /// Mapped fields compared for drift (dotted paths into the query row, e.g. `address.postal`).
    #[serde(default)]
    pub fields: Vec<String>,
    /// Per-field policy overrides.
    #[serde(default)]
    pub policies: BTreeMap<String, FieldPolicy>,
    /// Policy for fields without an override (default `virtuous-wins`).
    #[serde(default)]
    pub default_policy: FieldPolicy,
    /// A pending write older than this is looked up (default 6 h).
    #[serde(default = "default_stuck")]
    pub stuck_after_ms: i64,
    /// A pending write still not found this long after submission is surfaced (default 48 h:
    /// two nightly batches).
    #[serde(default = "default_unmatched")]
    pub unmatched_after_ms: i64,
    /// Timestamps closer than this are inconclusive for `newest-wins` (default 2 s).
    #[serde(default = "default_uncertainty")]
    pub clock_uncertainty_ms: i64,
    /// The customer's record count; when given, the breaker checks the planned overwrites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_records: Option<u64>,
    /// The breaker threshold.
    #[serde(default)]
    pub breaker: BreakerConfig,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        ReconcileConfig {
            resource: QueryResource::Contact,
            fields: Vec::new(),
            policies: BTreeMap::new(),
            default_policy: FieldPolicy::VirtuousWins,
            stuck_after_ms: default_stuck(),
            unmatched_after_ms: default_unmatched(),
            clock_uncertainty_ms: default_uncertainty(),
            total_records: None,
            breaker: BreakerConfig::default(),
        }
    }
}

/// Input of [`plan_reconciliation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileInput {
    /// Settings.
    #[serde(default)]
    pub config: ReconcileConfig,
    /// One page of query rows (`list`), as returned.
    #[serde(default)]
    pub rows: Vec<Value>,
    /// The host's stored records for those rows plus every `partner-pending` record.
    #[serde(default)]
    pub stored: Vec<StoredRecord>,
    /// The host's current time.
    pub now_ms: i64,
}

/// What an item asks of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    /// Feed `event` to the inbound decision.
    MissedChange,
    /// Mark the pending write confirmed (`in-sync`), storing `virtuousId`.
    ConfirmPending,
    /// Make `request`, then reconcile again with its result in `lookup`.
    LookUpPending,
    /// Not found yet, within the window: keep waiting.
    KeepWaiting,
    /// Show the customer: the Transaction sits unmatched in Virtuous's needs-update bucket.
    SurfaceUnmatched,
    /// Apply the per-field resolutions.
    ResolveDrift,
    /// Move the record to `conflict` with the field details.
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
}

/// Which value a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    /// Write the Virtuous value to the partner side.
    TakeVirtuous,
    /// Write the partner value to Virtuous.
    TakePartner,
    /// No automatic choice.
    Conflict,
}

/// One differing field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDrift {
    /// The field path.
    pub field: String,
    /// The Virtuous value (`null` when absent).
    pub virtuous_value: Value,
    /// The partner value (`null` when absent).
    pub partner_value: Value,
    /// The base value, when a base is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_value: Option<Value>,
    /// The resolution.
    pub resolution: Resolution,
    /// Stable reason: `changed-in-virtuous`, `changed-on-partner`, `policy-virtuous-wins`,
    /// `policy-partner-wins`, `newer-in-virtuous`, `newer-on-partner`, `timestamps-inconclusive`,
    /// `policy-conflict`.
    pub reason: String,
}

/// A planned step for one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileItem {
    /// What to do.
    pub kind: ItemKind,
    /// Stable reason code (see the docs).
    pub reason: String,
    /// The Virtuous id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtuous_id: Option<String>,
    /// The partner id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// The state to store after the step, when it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_state: Option<SyncState>,
    /// For `missed-change`: the event to feed to the inbound decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
    /// For `look-up-pending`: the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<HttpRequest>,
    /// For drift and conflict: the fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldDrift>,
    /// For `merged-away`: the contact it was merged into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survivor_id: Option<String>,
    /// For a row-driven item: its position in the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
}

/// An HTTP request the host should make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequest {
    /// Method.
    pub method: String,
    /// Path (and query), percent-encoded.
    pub path: String,
}

/// Counts per item kind plus rows unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
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
    pub items: BTreeMap<String, u64>,
}

/// The reconciliation plan (npm `core.planReconciliation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconciliationPlan {
    /// Steps, row-driven ones first in page order, then pending records in input order.
    pub items: Vec<ReconcileItem>,
    /// Counts.
    pub counts: ReconcileCounts,
    /// Requests the plan needs (lookups).
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

fn field_value(row: &Value, path: &str) -> Value {
    let mut cur = row;
    for part in path.split('.') {
        match cur.get(part) {
            Some(v) => cur = v,
            None => return Value::Null,
        }
    }
    cur.clone()
}

/// Loose equality: `null` = absent, scalars compared as trimmed text or as numbers.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    let blank = |v: &Value| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty());
    if blank(a) && blank(b) {
        return true;
    }
    match (value_text(a), value_text(b)) {
        (Some(x), Some(y)) => {
            if x == y {
                return true;
            }
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(p), Ok(q)) => p.is_finite() && p == q,
                _ => false,
            }
        }
        _ => false,
    }
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
    }
}

fn item(kind: ItemKind, reason: &str) -> ReconcileItem {
    ReconcileItem {
        kind,
        reason: reason.into(),
        virtuous_id: None,
        partner_id: None,
        next_state: None,
        event: None,
        request: None,
        fields: Vec::new(),
        survivor_id: None,
        row: None,
    }
}

fn validate(c: &ReconcileConfig) -> Result<(), ReconcileError> {
    for (field, v) in [
        ("stuckAfterMs", c.stuck_after_ms),
        ("unmatchedAfterMs", c.unmatched_after_ms),
        ("clockUncertaintyMs", c.clock_uncertainty_ms),
    ] {
        if v < 0 {
            return Err(ReconcileError::InvalidConfig {
                field,
                message: format!("must not be negative, got {v}"),
            });
        }
    }
    if c.unmatched_after_ms < c.stuck_after_ms {
        return Err(ReconcileError::InvalidConfig {
            field: "unmatchedAfterMs",
            message: "must be at least stuckAfterMs".into(),
        });
    }
    c.breaker
        .validate()
        .map_err(|_| ReconcileError::InvalidConfig {
            field: "breaker.maxShare",
            message: "must be within 0..=1".into(),
        })
}

/// Plans reconciliation for one page (npm `core.planReconciliation`).
pub fn plan_reconciliation(input: &ReconcileInput) -> Result<ReconciliationPlan, ReconcileError> {
    let cfg = &input.config;
    validate(cfg)?;
    let mut by_vid: HashMap<&str, usize> = HashMap::new();
    let mut by_ref: HashMap<String, usize> = HashMap::new();
    for (i, s) in input.stored.iter().enumerate() {
        if let Some(v) = s
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
        if let Some(r) = &s.reference {
            by_ref.entry(ref_key(&r.source, &r.id)).or_insert(i);
        }
    }
    // Newest row per id wins within the page.
    let mut newest: HashMap<String, (usize, Option<i64>)> = HashMap::new();
    for (i, row) in input.rows.iter().enumerate() {
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
    let mut items = Vec::new();
    let mut counts = ReconcileCounts {
        rows: input.rows.len() as u64,
        ..ReconcileCounts::default()
    };
    let mut handled = vec![false; input.stored.len()];
    let mut claimed = vec![false; input.stored.len()];
    for (i, row) in input.rows.iter().enumerate() {
        let pos = u32::try_from(i).ok();
        let Some(id) = row_id(row) else {
            let mut it = item(ItemKind::MalformedRow, "row-without-id");
            it.row = pos;
            items.push(it);
            continue;
        };
        if newest.get(&id).map(|(j, _)| *j) != Some(i) {
            counts.unchanged = counts.unchanged.saturating_add(1);
            continue;
        }
        let modified = row_modified(row);
        let by_id = by_vid.get(id.as_str()).copied();
        let stored_idx = by_id.or_else(|| {
            row_references(row)
                .iter()
                .find_map(|k| by_ref.get(k).copied())
        });
        let mut it = item(ItemKind::MissedChange, "unknown-locally");
        it.row = pos;
        it.virtuous_id = Some(id.clone());
        let Some(si) = stored_idx else {
            it.event = Some(event_from_row(cfg.resource, row, &id, true));
            items.push(it);
            continue;
        };
        let Some(st) = input.stored.get(si) else {
            continue;
        };
        it.partner_id = st.partner_id.clone();
        let linked_elsewhere = by_id.is_none()
            && st
                .virtuous_id
                .as_deref()
                .is_some_and(|v| !v.trim().is_empty() && v.trim() != id);
        if linked_elsewhere || claimed.get(si).copied().unwrap_or(false) {
            // Two Virtuous records carry the same external reference (a regenerated or repeated
            // Transaction): a duplicate for a person to resolve, never a second link.
            it.kind = ItemKind::DuplicateInVirtuous;
            it.reason = "reference-claimed-twice".into();
            items.push(it);
            continue;
        }
        if let Some(c) = claimed.get_mut(si) {
            *c = true;
        }
        if let Some(h) = handled.get_mut(si) {
            *h = true;
        }
        if let Some(target) = row.get("mergedIntoContactId").and_then(value_text) {
            if !target.is_empty() && target != id {
                it.kind = ItemKind::MergedAway;
                it.reason = "merged-away".into();
                it.survivor_id = Some(target);
                it.event = Some(event_from_row(cfg.resource, row, &id, false));
                items.push(it);
                continue;
            }
        }
        if st.state == SyncState::PartnerPending && st.virtuous_id.is_none() {
            it.kind = ItemKind::ConfirmPending;
            it.reason = "confirmed-by-query".into();
            it.next_state = Some(SyncState::InSync);
            items.push(it);
            continue;
        }
        let newer = match (modified, st.last_virtuous_modified_ms) {
            (Some(m), Some(last)) => m > last,
            (_, None) => true,
            (None, Some(_)) => false,
        };
        if newer {
            it.reason = "newer-in-virtuous".into();
            it.event = Some(event_from_row(cfg.resource, row, &id, false));
            items.push(it);
            continue;
        }
        match st.state {
            SyncState::PartnerPending => {
                // Our own write is still on its way (drift now would be that change): leave the
                // record to the pending checks below.
                if let Some(h) = handled.get_mut(si) {
                    *h = false;
                }
                continue;
            }
            SyncState::Conflict | SyncState::VirtuousPending => {
                // Awaiting manual resolution, or inside the inbound cooldown: no drift fixing.
                counts.skipped = counts.skipped.saturating_add(1);
                continue;
            }
            SyncState::InSync => {}
        }
        let drift = field_drift(cfg, row, st, modified);
        if drift.is_empty() {
            counts.unchanged = counts.unchanged.saturating_add(1);
            continue;
        }
        if drift.iter().any(|d| d.resolution == Resolution::Conflict) {
            it.kind = ItemKind::Conflict;
            it.reason = "field-conflict".into();
            it.next_state = Some(SyncState::Conflict);
        } else {
            it.kind = ItemKind::ResolveDrift;
            it.reason = "drift".into();
            it.next_state = Some(SyncState::InSync);
        }
        it.fields = drift;
        items.push(it);
    }
    let mut request_cost = 0u64;
    for (si, st) in input.stored.iter().enumerate() {
        if handled.get(si).copied().unwrap_or(true) || st.state != SyncState::PartnerPending {
            continue;
        }
        let Some(since) = st.partner_pending_since_ms else {
            continue;
        };
        let age = input.now_ms.saturating_sub(since);
        let mut it = item(ItemKind::KeepWaiting, "within-window");
        it.partner_id = st.partner_id.clone();
        it.virtuous_id = st.virtuous_id.clone();
        match (&st.lookup, &st.reference) {
            (Some(l), _) if l.found => {
                it.kind = ItemKind::ConfirmPending;
                it.reason = "confirmed-by-lookup".into();
                it.next_state = Some(SyncState::InSync);
                if l.virtuous_id.is_some() {
                    it.virtuous_id = l.virtuous_id.clone();
                }
            }
            _ if age < cfg.stuck_after_ms => {
                counts.pending_not_stuck = counts.pending_not_stuck.saturating_add(1);
                continue;
            }
            (Some(l), _) if l.at_ms >= since && age >= cfg.unmatched_after_ms => {
                it.kind = ItemKind::SurfaceUnmatched;
                it.reason = "needs-update-bucket".into();
            }
            (Some(l), Some(r)) if input.now_ms.saturating_sub(l.at_ms) >= cfg.stuck_after_ms => {
                // The last lookup is old: look again.
                it.kind = ItemKind::LookUpPending;
                it.reason = "stuck-pending".into();
                it.request = Some(lookup_request(cfg.resource, r));
                request_cost = request_cost.saturating_add(1);
            }
            (Some(_), _) => {}
            (None, Some(r)) => {
                it.kind = ItemKind::LookUpPending;
                it.reason = "stuck-pending".into();
                it.request = Some(lookup_request(cfg.resource, r));
                request_cost = request_cost.saturating_add(1);
            }
            (None, None) => {
                it.kind = if age >= cfg.unmatched_after_ms {
                    ItemKind::SurfaceUnmatched
                } else {
                    ItemKind::KeepWaiting
                };
                it.reason = "no-reference-to-look-up".into();
            }
        }
        items.push(it);
    }
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
                it.reason = "mass-change-breaker".into();
                it.next_state = None;
            }
        }
    }
    for it in &items {
        let key = serde_json::to_value(it.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *counts.items.entry(key).or_insert(0) += 1;
    }
    Ok(ReconciliationPlan {
        items,
        counts,
        request_cost,
        breaker,
        halted,
    })
}

fn field_drift(
    cfg: &ReconcileConfig,
    row: &Value,
    st: &StoredRecord,
    modified: Option<i64>,
) -> Vec<FieldDrift> {
    let Some(pv) = &st.partner_values else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for f in &cfg.fields {
        let v = field_value(row, f);
        let p = pv.get(f).cloned().unwrap_or(Value::Null);
        if values_equal(&v, &p) {
            continue;
        }
        let b = st
            .base_values
            .as_ref()
            .map(|b| b.get(f).cloned().unwrap_or(Value::Null));
        let (resolution, reason) = match &b {
            Some(b) if values_equal(&v, b) => (Resolution::TakePartner, "changed-on-partner"),
            Some(b) if values_equal(&p, b) => (Resolution::TakeVirtuous, "changed-in-virtuous"),
            _ => match cfg.policies.get(f).copied().unwrap_or(cfg.default_policy) {
                FieldPolicy::VirtuousWins => (Resolution::TakeVirtuous, "policy-virtuous-wins"),
                FieldPolicy::PartnerWins => (Resolution::TakePartner, "policy-partner-wins"),
                FieldPolicy::Conflict => (Resolution::Conflict, "policy-conflict"),
                FieldPolicy::NewestWins => match (modified, st.partner_modified_ms) {
                    (Some(vm), Some(pm)) => {
                        let diff = vm.saturating_sub(pm);
                        if diff.saturating_abs() < cfg.clock_uncertainty_ms {
                            (Resolution::Conflict, "timestamps-inconclusive")
                        } else if diff > 0 {
                            (Resolution::TakeVirtuous, "newer-in-virtuous")
                        } else {
                            (Resolution::TakePartner, "newer-on-partner")
                        }
                    }
                    _ => (Resolution::Conflict, "timestamps-inconclusive"),
                },
            },
        };
        out.push(FieldDrift {
            field: f.clone(),
            virtuous_value: v,
            partner_value: p,
            base_value: b,
            resolution,
            reason: reason.into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encoding_and_equality() {
        assert_eq!(encode_component("Partner X/1"), "Partner%20X%2F1");
        assert!(values_equal(&json!("10.00"), &json!(10)));
        assert!(values_equal(&json!(null), &json!(" ")));
        assert!(!values_equal(&json!("a"), &json!("b")));
        assert!(
            !values_equal(&json!("NaN"), &json!("NaN "))
                || values_equal(&json!("NaN"), &json!("NaN"))
        );
    }

    #[test]
    fn unknown_row_is_missed_create() {
        let input = ReconcileInput {
            config: ReconcileConfig::default(),
            rows: vec![json!({"id": 7, "modifiedDateTimeUtc": "2024-01-01T00:00:00"})],
            stored: vec![],
            now_ms: 0,
        };
        let plan = plan_reconciliation(&input).unwrap();
        assert_eq!(plan.items[0].kind, ItemKind::MissedChange);
        let ev = plan.items[0].event.as_ref().unwrap();
        assert_eq!(ev.event_type, Some(EventType::ContactCreate));
        assert_eq!(ev.resource_id.as_deref(), Some("7"));
    }
}
