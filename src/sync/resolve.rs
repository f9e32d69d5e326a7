//! Three-way merge per field against the stored base, and manual conflict resolution.
//!
//! Per field: changed on one side only → take it (unless the other side owns the field);
//! changed on both to different values → the field's [`FieldPolicy`]. Timestamps only break
//! ties between two real changes, and two edits closer than the skew window are ambiguous.

use super::digest::field_digest;
use super::options::{FieldPolicy, FieldType, SyncOptions};
use super::reason::Reason;
use super::record::{Choice, ConflictItem, RecordState, ResolutionRecord, Side, SyncState};
use super::state::{transition, Trigger};
use super::units::{composite, consistent, group_list, remote_composite};
use super::SyncError;
use crate::event::ResourceKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What the merge decided for one field (digest level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Nobody changed it.
    Unchanged,
    /// Both changed it to the same value.
    Same,
    /// The partner value stands.
    KeepLocal,
    /// The Virtuous value wins.
    TakeRemote,
    /// Ambiguous.
    Conflict(Side),
}

/// One field's digests and times.
pub(crate) struct FieldInput<'a> {
    pub policy: FieldPolicy,
    pub base: Option<&'a str>,
    pub local: Option<&'a str>,
    pub remote: Option<&'a str>,
    pub local_ms: Option<i64>,
    pub remote_ms: Option<i64>,
    pub skew_ms: i64,
}

fn later(local_ms: Option<i64>, remote_ms: Option<i64>, skew_ms: i64) -> Option<Side> {
    let (l, r) = (i128::from(local_ms?), i128::from(remote_ms?));
    if (l - r).abs() <= i128::from(skew_ms) {
        None
    } else if l > r {
        Some(Side::Partner)
    } else {
        Some(Side::Virtuous)
    }
}

/// Merge one field. Returns the outcome and the per-field reason.
pub(crate) fn merge_field(f: &FieldInput<'_>) -> (Outcome, Reason) {
    use FieldPolicy::*;
    let (Some(remote), local) = (f.remote, f.local) else {
        // Virtuous side unknown: whatever the partner did stands, unless Virtuous owns it.
        return match f.local {
            Some(l) if Some(l) != f.base => {
                if f.policy == VirtuousOwns {
                    (Outcome::Unchanged, Reason::OwnedByOther)
                } else {
                    (Outcome::KeepLocal, Reason::LocalOnly)
                }
            }
            _ => (Outcome::Unchanged, Reason::Unchanged),
        };
    };
    let Some(local) = local else {
        return if Some(remote) == f.base {
            (Outcome::Unchanged, Reason::Unchanged)
        } else if f.policy == PartnerOwns {
            (Outcome::KeepLocal, Reason::OwnedByOther)
        } else {
            (Outcome::TakeRemote, Reason::RemoteOnly)
        };
    };
    if local == remote {
        return if Some(local) == f.base {
            (Outcome::Unchanged, Reason::Unchanged)
        } else {
            (Outcome::Same, Reason::SameChange)
        };
    }
    if Some(remote) == f.base {
        return if f.policy == VirtuousOwns {
            (Outcome::TakeRemote, Reason::OwnedByOther)
        } else {
            (Outcome::KeepLocal, Reason::LocalOnly)
        };
    }
    if Some(local) == f.base {
        return if f.policy == PartnerOwns {
            (Outcome::KeepLocal, Reason::OwnedByOther)
        } else {
            (Outcome::TakeRemote, Reason::RemoteOnly)
        };
    }
    // Both changed (or never agreed) and they differ.
    let proposed = later(f.local_ms, f.remote_ms, f.skew_ms).unwrap_or(Side::Virtuous);
    match f.policy {
        PartnerOwns => (Outcome::KeepLocal, Reason::OwnedByOther),
        VirtuousOwns => (Outcome::TakeRemote, Reason::OwnedByOther),
        VirtuousCanonical => (Outcome::TakeRemote, Reason::VirtuousCanonical),
        MostRecentWins => match later(f.local_ms, f.remote_ms, f.skew_ms) {
            Some(Side::Partner) => (Outcome::KeepLocal, Reason::MostRecent),
            Some(Side::Virtuous) => (Outcome::TakeRemote, Reason::MostRecent),
            None => (Outcome::Conflict(proposed), Reason::BothChanged),
        },
        Manual => (Outcome::Conflict(proposed), Reason::BothChanged),
    }
}

/// One side's values of a record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct SideValues {
    /// Field name → value (fields absent are unknown, not null).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub values: BTreeMap<String, Value>,
    /// When this side last modified the record (ms, its own clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_ms: Option<i64>,
}

/// Input of [`resolve`]: the base digests (from a [`RecordState`]) and both sides' values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ResolveInput {
    /// Record kind (selects field types and policies).
    pub kind: ResourceKind,
    /// Field → digest of the last agreed value.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub base: BTreeMap<String, String>,
    /// The partner side.
    pub local: SideValues,
    /// The Virtuous side.
    pub remote: SideValues,
}

/// What happened to one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct FieldResolution {
    /// Field name.
    pub field: String,
    /// Per-field reason (`unchanged`, `local-only`, `remote-only`, `same-change`, `most-recent`,
    /// `virtuous-canonical`, `owned-by-other`, `both-changed`).
    pub reason: Reason,
    /// The winning side, absent when unchanged or ambiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winner: Option<Side>,
}

/// Result of a three-way merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    /// `merged`, or `both-changed` when conflict items remain.
    pub reason: Reason,
    /// Every field's outcome, by name order.
    pub fields: Vec<FieldResolution>,
    /// The merged record (ambiguous fields keep the proposed side's value).
    pub merged: BTreeMap<String, Value>,
    /// Virtuous values to write on the partner side.
    pub apply_local: BTreeMap<String, Value>,
    /// Partner values to write to Virtuous.
    pub push_remote: BTreeMap<String, Value>,
    /// Ambiguous fields.
    pub conflicts: Vec<ConflictItem>,
}

fn field_type(options: &SyncOptions, kind: ResourceKind, field: &str) -> FieldType {
    options
        .fields(kind)
        .and_then(|fs| fs.iter().find(|f| f.name == field))
        .map(|f| f.field_type)
        .unwrap_or_default()
}

/// Three-way merge of both sides' values against the base, per field, under `options.policy`.
pub fn resolve(options: &SyncOptions, input: &ResolveInput) -> Resolution {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    if let Some(fs) = options.fields(input.kind) {
        names.extend(fs.iter().map(|f| f.name.as_str()));
    }
    names.extend(input.local.values.keys().map(String::as_str));
    names.extend(input.remote.values.keys().map(String::as_str));
    let mut out = Resolution {
        reason: Reason::Merged,
        fields: Vec::new(),
        merged: BTreeMap::new(),
        apply_local: BTreeMap::new(),
        push_remote: BTreeMap::new(),
        conflicts: Vec::new(),
    };
    let digests = |values: &BTreeMap<String, Value>| -> BTreeMap<String, String> {
        values
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    field_digest(v, field_type(options, input.kind, k)),
                )
            })
            .collect()
    };
    let (local_d, remote_d) = (digests(&input.local.values), digests(&input.remote.values));
    for name in names {
        let lv = input.local.values.get(name);
        let rv = input.remote.values.get(name);
        if lv.is_none() && rv.is_none() {
            continue;
        }
        let ld = local_d.get(name).cloned();
        let rd = remote_d.get(name).cloned();
        let policy = options.policy.for_field(input.kind, name);
        // A field group merges as one value (see `FieldSpec.group`); a field alone is a unit of one.
        let unit = options.unit_of(input.kind, name);
        let (remote_c, partial) = remote_composite(&remote_d, &input.base, &unit);
        let (mut outcome, mut reason) = merge_field(&FieldInput {
            policy,
            base: composite(&input.base, &unit).as_deref(),
            local: composite(&local_d, &unit).as_deref(),
            remote: remote_c.as_deref(),
            local_ms: input.local.modified_ms,
            remote_ms: input.remote.modified_ms,
            skew_ms: options.policy.skew_window_ms,
        });
        let specs = options.fields(input.kind).unwrap_or_default();
        if outcome == Outcome::TakeRemote
            && unit.len() > 1
            && (partial || !consistent(specs, &unit, &input.remote.values))
        {
            // Taking part of a group, or an inconsistent pair, would break outbound validation.
            (outcome, reason) = (Outcome::Conflict(Side::Virtuous), Reason::BothChanged);
        }
        let winner = match outcome {
            Outcome::KeepLocal => Some(Side::Partner),
            Outcome::TakeRemote => Some(Side::Virtuous),
            _ => None,
        };
        match outcome {
            Outcome::Unchanged | Outcome::Same => {
                if let Some(v) = lv.or(rv) {
                    out.merged.insert(name.to_string(), v.clone());
                }
            }
            Outcome::KeepLocal => {
                if let Some(v) = lv {
                    out.merged.insert(name.to_string(), v.clone());
                    if ld != rd {
                        out.push_remote.insert(name.to_string(), v.clone());
                    }
                }
            }
            Outcome::TakeRemote => {
                if let Some(v) = rv {
                    out.merged.insert(name.to_string(), v.clone());
                    if ld != rd {
                        out.apply_local.insert(name.to_string(), v.clone());
                    }
                }
            }
            Outcome::Conflict(proposed) => {
                let v = if proposed == Side::Partner { lv } else { rv };
                if let Some(v) = v {
                    out.merged.insert(name.to_string(), v.clone());
                }
                out.reason = Reason::BothChanged;
                out.conflicts.push(ConflictItem {
                    field: name.to_string(),
                    base: input.base.get(name).cloned(),
                    local: lv.cloned(),
                    local_digest: ld.clone(),
                    remote: rv.cloned(),
                    remote_digest: rd.clone(),
                    local_modified_ms: input.local.modified_ms,
                    remote_modified_ms: input.remote.modified_ms,
                    policy,
                    proposed,
                    group: group_list(&unit),
                });
            }
        }
        out.fields.push(FieldResolution {
            field: name.to_string(),
            reason,
            winner,
        });
    }
    out
}

/// The outcome of [`resolve_conflict`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ConflictResolution {
    /// Always `manual-resolution`.
    pub reason: Reason,
    /// The record, `in-sync`, with the resolution recorded in `lastResolution`.
    pub record: RecordState,
    /// Values to write on the partner side now (Virtuous or custom choices).
    pub apply_local: BTreeMap<String, Value>,
    /// Fields whose chosen value Virtuous does not hold yet: after applying `applyLocal`, call
    /// `decideOutbound` with the partner's values and it submits exactly these (their base is set
    /// to the Virtuous value so they count as partner changes).
    pub push_fields: Vec<String>,
}

/// A field group's items are settled as one unit: all `partner`, all `virtuous`, or a value for
/// each (a host choosing values is responsible for their agreeing, as for any partner write).
fn check_group_choices(
    items: &[ConflictItem],
    choices: &BTreeMap<String, Choice>,
) -> Result<(), SyncError> {
    let side = |c: &Choice| match c {
        Choice::Partner => 0u8,
        Choice::Virtuous => 1,
        Choice::Value(_) => 2,
    };
    for item in items.iter().filter(|i| !i.group.is_empty()) {
        let Some(mine) = choices.get(&item.field).map(side) else {
            continue;
        };
        for other in &item.group {
            let theirs = choices.get(other).map(side);
            let is_item = items.iter().any(|i| &i.field == other);
            if is_item && theirs.is_some_and(|t| t != mine) {
                return Err(SyncError::GroupChoiceMismatch {
                    field: item.field.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Settle a conflict by hand: one [`Choice`] per conflict item, by field name.
pub fn resolve_conflict(
    record: &RecordState,
    choices: &BTreeMap<String, Choice>,
    now_ms: i64,
) -> Result<ConflictResolution, SyncError> {
    let record = record.clone().migrated()?;
    if record.state != SyncState::Conflict {
        return Err(SyncError::Transition(
            super::state::TransitionError::Invalid {
                from: record.state,
                trigger: Trigger::ManualResolution,
            },
        ));
    }
    for field in choices.keys() {
        if !record.conflict.iter().any(|i| &i.field == field) {
            return Err(SyncError::UnknownChoice {
                field: field.clone(),
            });
        }
    }
    check_group_choices(&record.conflict, choices)?;
    let mut next = transition(&record, Trigger::ManualResolution, now_ms)?;
    let mut apply_local = BTreeMap::new();
    let mut push_fields = Vec::new();
    for item in &record.conflict {
        let choice = choices
            .get(&item.field)
            .ok_or_else(|| SyncError::MissingChoice {
                field: item.field.clone(),
            })?;
        // The base records what Virtuous holds; a partner-side value that differs is then an
        // ordinary partner change for decideOutbound.
        match &item.remote_digest {
            Some(d) => {
                next.base.insert(item.field.clone(), d.clone());
            }
            None => {
                next.base.remove(&item.field);
            }
        }
        match choice {
            Choice::Virtuous => {
                if let Some(v) = &item.remote {
                    apply_local.insert(item.field.clone(), v.clone());
                }
            }
            Choice::Partner => {
                if item.local_digest != item.remote_digest {
                    push_fields.push(item.field.clone());
                }
            }
            Choice::Value(v) => {
                apply_local.insert(item.field.clone(), v.clone());
                push_fields.push(item.field.clone());
            }
        }
    }
    next.last_resolution = Some(ResolutionRecord {
        at_ms: now_ms,
        items: record.conflict.clone(),
        choices: choices.clone(),
    });
    Ok(ConflictResolution {
        reason: Reason::ManualResolution,
        record: next,
        apply_local,
        push_fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fi<'a>(
        policy: FieldPolicy,
        b: &'a str,
        l: &'a str,
        r: &'a str,
        lm: i64,
        rm: i64,
    ) -> FieldInput<'a> {
        FieldInput {
            policy,
            base: Some(b),
            local: Some(l),
            remote: Some(r),
            local_ms: Some(lm),
            remote_ms: Some(rm),
            skew_ms: 10,
        }
    }

    #[test]
    fn one_sided_changes() {
        use FieldPolicy::*;
        assert_eq!(
            merge_field(&fi(MostRecentWins, "a", "b", "a", 0, 0)).0,
            Outcome::KeepLocal
        );
        assert_eq!(
            merge_field(&fi(MostRecentWins, "a", "a", "b", 0, 0)).0,
            Outcome::TakeRemote
        );
        assert_eq!(
            merge_field(&fi(PartnerOwns, "a", "a", "b", 0, 0)),
            (Outcome::KeepLocal, Reason::OwnedByOther)
        );
        assert_eq!(
            merge_field(&fi(VirtuousOwns, "a", "b", "a", 0, 0)),
            (Outcome::TakeRemote, Reason::OwnedByOther)
        );
        assert_eq!(
            merge_field(&fi(Manual, "a", "b", "b", 0, 0)),
            (Outcome::Same, Reason::SameChange)
        );
        assert_eq!(
            merge_field(&fi(Manual, "a", "a", "a", 0, 0)),
            (Outcome::Unchanged, Reason::Unchanged)
        );
    }

    #[test]
    fn both_changed() {
        use FieldPolicy::*;
        assert_eq!(
            merge_field(&fi(MostRecentWins, "a", "b", "c", 100, 0)),
            (Outcome::KeepLocal, Reason::MostRecent)
        );
        assert_eq!(
            merge_field(&fi(MostRecentWins, "a", "b", "c", 0, 100)),
            (Outcome::TakeRemote, Reason::MostRecent)
        );
        assert_eq!(
            merge_field(&fi(MostRecentWins, "a", "b", "c", 5, 0)),
            (Outcome::Conflict(Side::Virtuous), Reason::BothChanged)
        );
        assert_eq!(
            merge_field(&fi(VirtuousCanonical, "a", "b", "c", 100, 0)).0,
            Outcome::TakeRemote
        );
        assert_eq!(
            merge_field(&fi(Manual, "a", "b", "c", 100, 0)).0,
            Outcome::Conflict(Side::Partner)
        );
        // Extreme timestamps do not overflow.
        let f = FieldInput {
            local_ms: Some(i64::MAX),
            remote_ms: Some(i64::MIN),
            ..fi(MostRecentWins, "a", "b", "c", 0, 0)
        };
        assert_eq!(merge_field(&f).0, Outcome::KeepLocal);
    }
}
