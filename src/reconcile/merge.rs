//! Merged contacts: `mergedIntoContactId` normalised into a merge graph and a remap plan.
//!
//! Virtuous merges contacts only in its UI, has no merge endpoint and no merge webhook: the
//! merged-away contact keeps existing with `mergedIntoContactId` set (and a `contactUpdate` may
//! fire). [`plan_merge_remap`] follows chains (A into B into C) to the survivor with path
//! compression, refuses cycles and contradictory links, keeps every merged-away id as a tombstone,
//! and says how to re-address every stored reference (gifts, notes, links, queued outbound writes).
//!
//! Ids are compared by their text without surrounding whitespace and returned exactly as given
//! (an integer id, as Virtuous reports contact ids, as its decimal text), so the host finds its
//! own stored values in the plan.

use core::fmt;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// A caller mistake or an impossible merge graph.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MergeError {
    /// Following `mergedIntoContactId` comes back to where it started (incl. a self-merge).
    Cycle {
        /// The ids on the cycle, in order, starting with the smallest.
        ids: Vec<String>,
    },
    /// One contact is said to be merged into two different contacts.
    ConflictingMerge {
        /// The contact.
        id: String,
        /// The two targets (sorted).
        targets: [String; 2],
    },
    /// A blank contact id.
    BlankId,
}

impl MergeError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            MergeError::Cycle { .. } => "merge-cycle",
            MergeError::ConflictingMerge { .. } => "conflicting-merge",
            MergeError::BlankId => "blank-id",
        }
    }
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::Cycle { ids } => write!(f, "merge cycle: {}", ids.join(" -> ")),
            MergeError::ConflictingMerge { id, targets } => write!(
                f,
                "contact {id} merged into both {} and {}",
                targets[0], targets[1]
            ),
            MergeError::BlankId => f.write_str("blank contact id"),
        }
    }
}

impl std::error::Error for MergeError {}

/// One contact as seen in a query row or event: its id and `mergedIntoContactId`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct MergeLink {
    /// The contact id (text or an integer).
    #[serde(deserialize_with = "crate::id::text")]
    #[cfg_attr(feature = "ts", ts(type = "string | number"))]
    pub contact_id: String,
    /// The contact it was merged into, if any (text or an integer).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::id::opt_text"
    )]
    #[cfg_attr(feature = "ts", ts(optional = nullable, type = "string | number | null"))]
    pub merged_into_contact_id: Option<String>,
}

/// What kind of stored thing points at a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ReferenceKind {
    /// The partner record's link to its Virtuous contact.
    ContactLink,
    /// A stored gift's `contactId`.
    Gift,
    /// A stored note's `contactId`.
    Note,
    /// A queued (not yet sent) outbound write aimed at the contact.
    QueuedWrite,
    /// Anything else the host stores.
    Other,
}

/// A stored reference to a Virtuous contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct StoredReference {
    /// What holds the reference.
    pub kind: ReferenceKind,
    /// The host's id of the holder (gift id, note id, queue entry id...; text or an integer).
    #[serde(deserialize_with = "crate::id::text")]
    #[cfg_attr(feature = "ts", ts(type = "string | number"))]
    pub holder_id: String,
    /// The contact it points at (text or an integer).
    #[serde(deserialize_with = "crate::id::text")]
    #[cfg_attr(feature = "ts", ts(type = "string | number"))]
    pub contact_id: String,
}

/// Input of [`plan_merge_remap`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MergeInput {
    /// Known merge links (contacts without `mergedIntoContactId` may be included or left out).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub contacts: Vec<MergeLink>,
    /// Stored references to re-address.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub references: Vec<StoredReference>,
}

/// A merged-away contact kept as a tombstone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct MergeTombstone {
    /// The merged-away id.
    pub contact_id: String,
    /// The final survivor.
    pub survivor_id: String,
    /// Hops from this id to the survivor (1 = merged directly into it).
    pub hops: u32,
}

/// What to do with one stored reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum RemapAction {
    /// Point the stored reference at the survivor.
    Remap,
    /// Rewrite the queued write's target (and body `contactId`) to the survivor before sending.
    ReaddressQueuedWrite,
}

/// One re-addressing step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct Remap {
    /// What holds the reference.
    pub kind: ReferenceKind,
    /// The holder's id.
    pub holder_id: String,
    /// The merged-away contact it pointed at.
    pub from_contact_id: String,
    /// The survivor.
    pub to_contact_id: String,
    /// The action.
    pub action: RemapAction,
    /// Stable reason code: `merged-away`.
    #[cfg_attr(feature = "ts", ts(type = "\"merged-away\""))]
    pub reason: String,
}

/// The remap plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct MergeRemapPlan {
    /// Merged-away id → final survivor, for every merged-away id (sorted by id).
    pub survivors: BTreeMap<String, String>,
    /// Tombstones for the merged-away ids (sorted by id).
    pub tombstones: Vec<MergeTombstone>,
    /// Re-addressing steps, in input order.
    pub remaps: Vec<Remap>,
    /// References that already point at a survivor or an unmerged contact.
    pub unchanged: u64,
}

/// The compressed merge graph, keyed by [`crate::id::key`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MergeGraph {
    next: HashMap<String, String>,
    resolved: HashMap<String, (String, u32)>,
    /// Key → the id as first given.
    spelling: HashMap<String, String>,
}

impl MergeGraph {
    /// Builds and fully resolves the graph; errors on cycles and contradictions.
    pub fn build(links: &[MergeLink]) -> Result<MergeGraph, MergeError> {
        let mut next: HashMap<String, String> = HashMap::new();
        let mut spelling: HashMap<String, String> = HashMap::new();
        let mut spell = |given: &str| {
            spelling
                .entry(crate::id::key(given).to_string())
                .or_insert_with(|| given.to_string());
        };
        for l in links {
            let id = crate::id::key(&l.contact_id);
            if id.is_empty() {
                return Err(MergeError::BlankId);
            }
            spell(&l.contact_id);
            let Some(given_target) = l.merged_into_contact_id.as_deref() else {
                continue;
            };
            let target = crate::id::key(given_target);
            if target.is_empty() {
                continue;
            }
            spell(given_target);
            match next.get(id) {
                Some(existing) if existing != target => {
                    let mut t = [existing.clone(), target.to_string()];
                    crate::sort::sort(&mut t);
                    let given = |k: &String| spelling.get(k).cloned().unwrap_or_else(|| k.clone());
                    return Err(MergeError::ConflictingMerge {
                        id: given(&id.to_string()),
                        targets: t.map(|k| given(&k)),
                    });
                }
                _ => {
                    next.insert(id.to_string(), target.to_string());
                }
            }
        }
        let mut graph = MergeGraph {
            next,
            resolved: HashMap::new(),
            spelling,
        };
        let mut keys: Vec<String> = graph.next.keys().cloned().collect();
        crate::sort::sort(&mut keys);
        for k in keys {
            graph.resolve(&k)?;
        }
        Ok(graph)
    }

    /// Follows the chain from `start` iteratively, compressing every id on the path.
    fn resolve(&mut self, start: &str) -> Result<(String, u32), MergeError> {
        let mut path: Vec<String> = Vec::new();
        let mut on_path: HashMap<String, usize> = HashMap::new();
        let mut cur = start.to_string();
        let (survivor, base_hops) = loop {
            if let Some((s, h)) = self.resolved.get(&cur) {
                break (s.clone(), *h);
            }
            match self.next.get(&cur) {
                None => break (cur.clone(), 0),
                Some(n) => {
                    if let Some(&at) = on_path.get(&cur) {
                        let mut ids: Vec<String> =
                            path.get(at..).map(<[String]>::to_vec).unwrap_or_default();
                        if let Some(min_pos) = ids
                            .iter()
                            .enumerate()
                            .min_by(|a, b| a.1.cmp(b.1))
                            .map(|(i, _)| i)
                        {
                            ids.rotate_left(min_pos);
                        }
                        let ids = ids.iter().map(|k| self.given(k).to_string()).collect();
                        return Err(MergeError::Cycle { ids });
                    }
                    on_path.insert(cur.clone(), path.len());
                    path.push(cur.clone());
                    cur = n.clone();
                }
            }
        };
        let n = path.len();
        for (i, id) in path.into_iter().enumerate() {
            let hops = u32::try_from(n - i)
                .unwrap_or(u32::MAX)
                .saturating_add(base_hops);
            self.resolved.insert(id, (survivor.clone(), hops));
        }
        Ok(self
            .resolved
            .get(start)
            .cloned()
            .unwrap_or((survivor, base_hops)))
    }

    /// The final survivor of `id` as first given (`id` itself when not merged away).
    pub fn survivor<'a>(&'a self, id: &'a str) -> &'a str {
        self.resolved
            .get(crate::id::key(id))
            .map_or(id, |(s, _)| self.given(s))
    }

    /// Whether `id` was merged away.
    pub fn is_merged_away(&self, id: &str) -> bool {
        self.resolved.contains_key(crate::id::key(id))
    }

    /// The id with key `key` as first given.
    fn given<'a>(&'a self, key: &'a str) -> &'a str {
        self.spelling.get(key).map_or(key, String::as_str)
    }
}

/// Builds the remap plan (npm `planMergeRemap`).
pub fn plan_merge_remap(input: &MergeInput) -> Result<MergeRemapPlan, MergeError> {
    let graph = MergeGraph::build(&input.contacts)?;
    let mut survivors = BTreeMap::new();
    let mut tombstones = Vec::new();
    let mut resolved: Vec<(&str, &str, u32)> = graph
        .resolved
        .iter()
        .map(|(id, (s, hops))| (graph.given(id), graph.given(s), *hops))
        .collect();
    crate::sort::sort(&mut resolved);
    for (id, s, hops) in resolved {
        survivors.insert(id.to_string(), s.to_string());
        tombstones.push(MergeTombstone {
            contact_id: id.to_string(),
            survivor_id: s.to_string(),
            hops,
        });
    }
    let mut remaps = Vec::new();
    let mut unchanged = 0u64;
    for r in &input.references {
        if !graph.is_merged_away(&r.contact_id) {
            unchanged = unchanged.saturating_add(1);
            continue;
        }
        remaps.push(Remap {
            kind: r.kind,
            holder_id: r.holder_id.clone(),
            from_contact_id: r.contact_id.clone(),
            to_contact_id: graph.survivor(&r.contact_id).to_string(),
            action: if r.kind == ReferenceKind::QueuedWrite {
                RemapAction::ReaddressQueuedWrite
            } else {
                RemapAction::Remap
            },
            reason: "merged-away".into(),
        });
    }
    Ok(MergeRemapPlan {
        survivors,
        tombstones,
        remaps,
        unchanged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(a: &str, b: Option<&str>) -> MergeLink {
        MergeLink {
            contact_id: a.into(),
            merged_into_contact_id: b.map(str::to_string),
        }
    }

    #[test]
    fn chain_resolves() {
        let input = MergeInput {
            contacts: vec![link("A", Some("B")), link("B", Some("C")), link("C", None)],
            references: vec![
                StoredReference {
                    kind: ReferenceKind::Gift,
                    holder_id: "g1".into(),
                    contact_id: "A".into(),
                },
                StoredReference {
                    kind: ReferenceKind::QueuedWrite,
                    holder_id: "q1".into(),
                    contact_id: "B".into(),
                },
                StoredReference {
                    kind: ReferenceKind::Note,
                    holder_id: "n1".into(),
                    contact_id: "C".into(),
                },
            ],
        };
        let plan = plan_merge_remap(&input).unwrap();
        assert_eq!(plan.survivors["A"], "C");
        assert_eq!(plan.tombstones[0].hops, 2);
        assert_eq!(plan.remaps.len(), 2);
        assert_eq!(plan.remaps[1].action, RemapAction::ReaddressQueuedWrite);
        assert_eq!(plan.unchanged, 1);
    }

    #[test]
    fn ids_round_trip_as_given() {
        let input: MergeInput = serde_json::from_value(serde_json::json!({
            "contacts": [{"contactId": 101, "mergedIntoContactId": " 202 "}, {"contactId": "202", "mergedIntoContactId": 303}],
            "references": [{"kind": "gift", "holderId": 7, "contactId": " 101"}, {"kind": "note", "holderId": "n", "contactId": 303}],
        }))
        .unwrap();
        let plan = plan_merge_remap(&input).unwrap();
        assert_eq!(plan.survivors["101"], "303");
        assert_eq!(plan.survivors[" 202 "], "303");
        let r = &plan.remaps[0];
        assert_eq!(
            (
                r.holder_id.as_str(),
                r.from_contact_id.as_str(),
                r.to_contact_id.as_str()
            ),
            ("7", " 101", "303")
        );
        assert_eq!(plan.unchanged, 1);
    }

    #[test]
    fn cycles_and_conflicts() {
        let e = MergeGraph::build(&[
            link("B", Some("C")),
            link("C", Some("A")),
            link("A", Some("B")),
        ])
        .unwrap_err();
        assert_eq!(
            e,
            MergeError::Cycle {
                ids: vec!["A".into(), "B".into(), "C".into()]
            }
        );
        assert_eq!(
            MergeGraph::build(&[link("A", Some("A"))])
                .unwrap_err()
                .code(),
            "merge-cycle"
        );
        assert_eq!(
            MergeGraph::build(&[link("A", Some("B")), link("A", Some("C"))])
                .unwrap_err()
                .code(),
            "conflicting-merge"
        );
    }
}
