//! The per-record sync state a host stores as JSON and passes back in. Versioned.
//!
//! **Versions.** The current format is `"version": 1`. A stored state without `version` (or with
//! `0`) is the pre-release format: the same camelCase keys, any of them possibly missing, and the
//! state spelled `in_sync`/`partner_pending`/... as in Virtuous's docs. It loads with every missing
//! field at its default (empty base, no expected echo, not stuck); the next decision writes it back
//! as version 1. An empty base only means "no agreed value known": the next Virtuous values are taken as
//! Virtuous changes (subject to field ownership) and the next partner values as partner changes,
//! so nothing is silently dropped. A
//! version newer than this library knows is refused (`unsupported-version`) rather than
//! half-read.

use super::options::FieldPolicy;
use crate::event::ResourceKind;
use crate::product::Product;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The current stored-state version.
pub const RECORD_VERSION: u32 = 1;

/// The four sync states of Virtuous's two-way sync table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SyncState {
    /// Both sides agree; nothing pending.
    #[serde(alias = "in_sync")]
    InSync,
    /// Our write to Virtuous is queued or in flight, awaiting its confirming webhook.
    #[serde(alias = "partner_pending")]
    PartnerPending,
    /// An inbound change was just applied; outbound writes of its fields wait for the cooldown.
    #[serde(alias = "virtuous_pending")]
    VirtuousPending,
    /// Both sides changed the record and policy could not settle it; waits for manual resolution.
    #[serde(alias = "conflict")]
    Conflict,
}

impl SyncState {
    /// Every state.
    pub const ALL: [SyncState; 4] = [
        SyncState::InSync,
        SyncState::PartnerPending,
        SyncState::VirtuousPending,
        SyncState::Conflict,
    ];
}

/// The external reference pair we stamp: (`transactionSource`, `transactionId`) for gifts,
/// (`referenceSource`, `referenceId`) for contacts. Never changes once set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ExternalRef {
    /// Our platform name as written.
    pub source: String,
    /// Our stable external id.
    pub id: String,
}

/// What we last wrote: digests of every mapped field as the partner held it, with an expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct EchoEntry {
    /// Field name → digest.
    pub fields: BTreeMap<String, String>,
    /// The fields the write actually sent (empty: all of `fields`, as for a create).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub sent: Vec<String>,
    /// When the write was decided.
    pub written_ms: i64,
    /// The newest Virtuous `modifiedDateTimeUtc` known when the write was decided (Virtuous's
    /// clock): an event no newer than this shows a state from before the write, whatever it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<i64>,
    /// Full-record updates: the `modifiedDateTimeUtc` of the fetched record the write was built
    /// on (Virtuous's clock). Once the host reports the write's 2xx (`PartnerChange.written`), an
    /// event no newer than this shows Virtuous before the write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_on_ms: Option<i64>,
    /// After this the entry no longer identifies echoes.
    pub expires_ms: i64,
    /// Virtuous has confirmed this write (or a newer one). Kept until expiry so late duplicate
    /// deliveries of it are recognised; dropped once a non-echo Virtuous change is applied.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "ts", ts(optional = nullable, type = "true"))]
    pub confirmed: bool,
}

/// Why a record no longer syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "tag", content = "val", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Tombstone {
    /// Deleted in Virtuous.
    Deleted,
    /// Merged into the contact with this Virtuous id.
    MergedInto(String),
}

/// A side of the sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The partner platform.
    Partner,
    /// Virtuous.
    Virtuous,
}

/// One ambiguous field awaiting a human.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ConflictItem {
    /// Field name.
    pub field: String,
    /// Digest of the last agreed value (absent: never agreed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The partner value, when known (inbound decisions know only its digest; the host has the value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<Value>,
    /// Digest of the partner value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_digest: Option<String>,
    /// The Virtuous value, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<Value>,
    /// Digest of the Virtuous value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_digest: Option<String>,
    /// Partner modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_modified_ms: Option<i64>,
    /// Virtuous modification time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_modified_ms: Option<i64>,
    /// The policy that applied.
    pub policy: FieldPolicy,
    /// The side the engine would pick if forced (the later edit, else Virtuous).
    pub proposed: Side,
    /// Every field of the item's field group (see `FieldSpec.group`), this one included; empty
    /// for a field in no group. The group's items are settled together: one side for all of them,
    /// or a value for each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub group: Vec<String>,
}

/// A manual choice for one conflict item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "tag", content = "val", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Choice {
    /// Keep the partner value (it is pushed to Virtuous).
    Partner,
    /// Take the Virtuous value (it is applied locally).
    Virtuous,
    /// A new value for both sides.
    Value(Value),
}

/// The audit record of a manual resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ResolutionRecord {
    /// When it was resolved.
    pub at_ms: i64,
    /// The items as they were.
    pub items: Vec<ConflictItem>,
    /// The choices made, by field.
    pub choices: BTreeMap<String, Choice>,
}

/// The sync state of one record, owned by the core, stored by the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RecordState {
    /// Format version (see module docs); absent = 0.
    #[serde(default)]
    pub version: u32,
    /// The customer (tenant) the record belongs to.
    pub customer_id: String,
    /// The Virtuous product this link is in. CRM+ (the default) is omitted, so states stored
    /// before Raise and Volunteer existed load unchanged. A partner record present in several
    /// products has one record state per link, all with the same `partnerId` (docs/sync.md).
    #[serde(default, skip_serializing_if = "Product::is_crm")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub product: Product,
    /// Record kind.
    pub kind: ResourceKind,
    /// The partner platform's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<String>,
    /// The Virtuous id, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtuous_id: Option<String>,
    /// Sync state.
    #[serde(alias = "syncState")]
    pub state: SyncState,
    /// Last partner modification we saw (partner clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_modified_ms: Option<i64>,
    /// When the partner last modified each field (from `PartnerChange.fieldModifiedMs`, partner
    /// clock). Most-recent-wins reads a unit's partner time from here (its members' newest) and
    /// falls back to `partnerModifiedMs`, so a later edit of an unrelated field does not make an
    /// older held value look newer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub partner_field_modified_ms: BTreeMap<String, i64>,
    /// Newest Virtuous `modifiedDateTimeUtc` applied or confirmed (Virtuous clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtuous_modified_ms: Option<i64>,
    /// When both sides last agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_ms: Option<i64>,
    /// End of the per-field cooldown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown_until_ms: Option<i64>,
    /// Fields the cooldown covers (those the last inbound changes touched).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub cooldown_fields: Vec<String>,
    /// Our external reference pair, once assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<ExternalRef>,
    /// Field → digest of the value both sides last agreed on.
    #[serde(default)]
    pub base: BTreeMap<String, String>,
    /// Our writes awaiting their echo, oldest first (at most [`MAX_ECHO_ENTRIES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub expected_echo: Vec<EchoEntry>,
    /// When the current pending write started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_since_ms: Option<i64>,
    /// When the current pending write becomes stuck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_expires_ms: Option<i64>,
    /// The pending write outlived its expiry; reconciliation should look it up.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "ts", ts(optional = nullable, type = "true"))]
    pub stuck: bool,
    /// The partner changed the record while our create waited for the batch: call
    /// `decideOutbound` again once confirmed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "ts", ts(optional = nullable, type = "true"))]
    pub follow_up: bool,
    /// Fields where a Virtuous change was applied locally over our still-pending write. If that
    /// write lands afterwards it overwrote the winner in Virtuous, so its confirmation asks for a
    /// follow-up write of the partner (winning) value.
    /// Field → digest of the value the partner holds for it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub overridden: BTreeMap<String, String>,
    /// Partner values held back by a cooldown or conflict (field → digest): the partner's real
    /// current value for those fields, not yet written. Inbound merges treat them as the local
    /// side so an inbound decision never silently overwrites them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub held: BTreeMap<String, String>,
    /// Deleted or merged away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tombstone: Option<Tombstone>,
    /// Open conflict items (state `conflict`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub conflict: Vec<ConflictItem>,
    /// The last manual resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_resolution: Option<ResolutionRecord>,
}

/// At most this many writes are remembered for echo detection.
pub const MAX_ECHO_ENTRIES: usize = 8;

/// The questions every decision asks of one of our writes.
impl EchoEntry {
    /// Whether this write sent `field`.
    pub fn sent_field(&self, field: &str) -> bool {
        if self.sent.is_empty() {
            self.fields.contains_key(field)
        } else {
            self.sent.iter().any(|f| f == field)
        }
    }

    /// Whether this write sent `digest` for `field`: Virtuous showing that value may be its doing.
    pub(crate) fn sent(&self, field: &str, digest: &str) -> bool {
        self.sent_field(field) && self.fields.get(field).is_some_and(|d| d == digest)
    }

    /// The fields this write sent, with their digests.
    pub(crate) fn sent_fields(&self) -> impl Iterator<Item = (&String, &String)> {
        self.fields.iter().filter(|(f, _)| self.sent_field(f))
    }

    /// The fields this write did not send: the base when the write was decided.
    pub(crate) fn unsent_fields(&self) -> impl Iterator<Item = (&String, &String)> {
        self.fields.iter().filter(|(f, _)| !self.sent_field(f))
    }

    /// Whether `digests` (an event or a fetched record) shows every field this write sent, as
    /// sent: the write landed (or something put the same values back).
    pub(crate) fn shows_in(&self, digests: &BTreeMap<String, String>) -> bool {
        self.sent_fields().all(|(f, d)| digests.get(f) == Some(d))
    }
}

impl RecordState {
    /// A fresh record, in sync, with nothing agreed yet.
    pub fn new(customer_id: &str, kind: ResourceKind) -> RecordState {
        RecordState {
            version: RECORD_VERSION,
            customer_id: customer_id.to_string(),
            product: Product::Crm,
            kind,
            partner_id: None,
            virtuous_id: None,
            state: SyncState::InSync,
            partner_modified_ms: None,
            partner_field_modified_ms: BTreeMap::new(),
            virtuous_modified_ms: None,
            last_sync_ms: None,
            cooldown_until_ms: None,
            cooldown_fields: Vec::new(),
            external_ref: None,
            base: BTreeMap::new(),
            expected_echo: Vec::new(),
            pending_since_ms: None,
            pending_expires_ms: None,
            stuck: false,
            follow_up: false,
            overridden: BTreeMap::new(),
            held: BTreeMap::new(),
            tombstone: None,
            conflict: Vec::new(),
            last_resolution: None,
        }
    }

    /// Load stored JSON, migrating older versions (see module docs).
    pub fn from_json(text: &str) -> Result<RecordState, super::SyncError> {
        let r: RecordState =
            serde_json::from_str(text).map_err(|e| super::SyncError::BadRecord {
                message: e.to_string(),
            })?;
        r.migrated()
    }

    /// The record at the current version, or `unsupported-version`.
    pub fn migrated(mut self) -> Result<RecordState, super::SyncError> {
        if self.version > RECORD_VERSION {
            return Err(super::SyncError::UnsupportedVersion {
                version: self.version,
            });
        }
        self.version = RECORD_VERSION;
        Ok(self)
    }

    /// Serialise for storage.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The partner's modification time for a unit of fields: the newest per-field time given for
    /// any member, else the record's `partnerModifiedMs`.
    pub fn partner_unit_ms(&self, unit: &[String]) -> Option<i64> {
        unit.iter()
            .filter_map(|m| self.partner_field_modified_ms.get(m).copied())
            .max()
            .or(self.partner_modified_ms)
    }

    /// Whether a cooldown is active at `now_ms`.
    pub fn cooldown_active(&self, now_ms: i64) -> bool {
        self.cooldown_until_ms.is_some_and(|u| now_ms < u)
    }

    /// Per field, what our unconfirmed writes will leave in Virtuous once they land (the newest
    /// write that sent the field wins).
    pub fn in_flight(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for e in self.expected_echo.iter().filter(|e| !e.confirmed) {
            for (f, d) in e.sent_fields() {
                out.insert(f.clone(), d.clone());
            }
        }
        out
    }

    /// Expected-echo entries still live at `now_ms`.
    pub fn live_echoes(&self, now_ms: i64) -> impl Iterator<Item = &EchoEntry> {
        self.expected_echo
            .iter()
            .filter(move |e| now_ms < e.expires_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v0_loads_and_v2_is_refused() {
        let r = RecordState::from_json(
            r#"{"customerId":"c1","kind":"gift","virtuousId":"9","syncState":"partner_pending"}"#,
        )
        .unwrap();
        assert_eq!(r.version, 1);
        assert_eq!(r.state, SyncState::PartnerPending);
        assert!(r.base.is_empty());
        let e = RecordState::from_json(
            r#"{"version":2,"customerId":"c1","kind":"gift","state":"in-sync"}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), "unsupported-version");
        let e =
            RecordState::from_json(r#"{"version":1,"kind":"gift","state":"in-sync"}"#).unwrap_err();
        assert_eq!(e.code(), "bad-record");
    }

    #[test]
    fn roundtrip() {
        let mut r = RecordState::new("c1", ResourceKind::Contact);
        r.tombstone = Some(Tombstone::MergedInto("7".into()));
        r.base.insert("name".into(), "0123456789abcdef".into());
        let back = RecordState::from_json(&r.to_json()).unwrap();
        assert_eq!(back, r);
        assert!(r
            .to_json()
            .contains(r#""tombstone":{"tag":"merged-into","val":"7"}"#));
    }
}
