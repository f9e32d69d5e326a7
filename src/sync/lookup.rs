//! `lookup_keys`: which stored record an event is about. The host stores one record state per
//! partner record; this says, in order, the keys to look it up by, so that every host finds the
//! same record the decisions expect:
//!
//! 1. `virtuous-id`: the event's Virtuous id (always, when the event names one);
//! 2. `external-ref`: our external reference (`transactionSource`/`transactionId`,
//!    `referenceSource`/`referenceId` or a `contactReferences` entry naming us), on creates *and*
//!    updates: a Transaction's batch create carries an id the host has never seen, and a stamped
//!    update can arrive before that create;
//! 3. `merged-into` (contact merges only): the surviving contact's Virtuous id — the record the
//!    `remap` action moves local references to. It is never the event's own record.
//!
//! The event's record is the first one found by key 1 or 2; one found by `external-ref` whose
//! `virtuousId` is set to another id is another record (skip it). No record: pass none.

use super::inbound::{json_id, stamp};
use super::options::SyncOptions;
use super::record::ExternalRef;
use crate::event::{Event, ResourceKind};
use crate::product::Product;
use serde::{Deserialize, Serialize};

/// One key to look a stored record state up by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "tag", content = "val", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LookupKey {
    /// The record's `virtuousId`.
    VirtuousId(String),
    /// The record's `externalRef` (`source` is our platform name as the record stores it).
    ExternalRef(ExternalRef),
    /// The surviving contact's `virtuousId` (merge events): the `remap` target, never the event's
    /// own record.
    MergedInto(String),
}

/// The keys for one event, in the order to try them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct LookupKeys {
    /// The product of the link to look up (records are stored per product, kind and key: one
    /// partner record has one link per product). CRM+ (the default) is omitted.
    #[serde(default, skip_serializing_if = "Product::is_crm")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub product: Product,
    /// The record kind (records are stored per kind); absent for an event type not synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ResourceKind>,
    /// In order; empty when the event names no record.
    pub keys: Vec<LookupKey>,
}

/// Which keys identify the stored record for `event`, in order (see the module docs).
pub fn lookup_keys(options: &SyncOptions, event: &Event) -> LookupKeys {
    if !event.product.is_crm() {
        return product_lookup_keys(options, event);
    }
    let kind = event
        .event_type
        .map(|t| t.resource_kind())
        .or(event.resource_kind);
    let resource = event.resource.as_ref().filter(|v| v.is_object());
    // Exactly the id `decide_inbound` checks the record against.
    let id = event
        .resource_id
        .clone()
        .or_else(|| resource.and_then(|r| r.get("id")).and_then(json_id));
    let mut keys = Vec::new();
    if let Some(id) = &id {
        keys.push(LookupKey::VirtuousId(id.clone()));
    }
    if let (Some(kind), Some(res)) = (kind, resource) {
        if let Some((source, Some(ext))) = stamp(options, kind, res) {
            if options.name_match.matches(&options.platform_name, &source) {
                keys.push(LookupKey::ExternalRef(ExternalRef {
                    source: options.platform_name.clone(),
                    id: ext,
                }));
            }
        }
        if kind == ResourceKind::Contact {
            if let Some(survivor) = res.get("mergedIntoContactId").and_then(json_id) {
                if id.as_ref() != Some(&survivor) {
                    keys.push(LookupKey::MergedInto(survivor));
                }
            }
        }
    }
    LookupKeys {
        product: Product::Crm,
        kind: kind.filter(|k| options.fields(*k).is_some()),
        keys,
    }
}

/// A Raise or Volunteer event's keys: its Virtuous id only (we never stamp those products'
/// records), qualified by the product and the kind its field maps sync.
fn product_lookup_keys(options: &SyncOptions, event: &Event) -> LookupKeys {
    let view = options.for_product(event.product);
    let id = event.resource_id.clone().or_else(|| {
        event
            .resource
            .as_ref()
            .and_then(|r| r.get("id"))
            .and_then(json_id)
    });
    LookupKeys {
        product: event.product,
        kind: event.resource_kind.filter(|k| view.fields(*k).is_some()),
        keys: id.map(LookupKey::VirtuousId).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn event(v: Value) -> Event {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn stamped_update_has_both_keys_in_order() {
        let o = SyncOptions::new("Acme Giving", "c1");
        let e = event(
            json!({"eventType": "gift-update", "rawEventType": "GiftUpdate",
            "resource": {"id": 501, "transactionSource": " ACME GIVING ", "transactionId": "d-1"}}),
        );
        let k = lookup_keys(&o, &e);
        assert_eq!(k.kind, Some(ResourceKind::Gift));
        assert_eq!(
            k.keys,
            vec![
                LookupKey::VirtuousId("501".into()),
                LookupKey::ExternalRef(ExternalRef {
                    source: "Acme Giving".into(),
                    id: "d-1".into()
                })
            ]
        );
        let other = event(
            json!({"eventType": "gift-update", "rawEventType": "GiftUpdate",
            "resource": {"id": 501, "transactionSource": "Other", "transactionId": "d-1"}}),
        );
        assert_eq!(lookup_keys(&o, &other).keys.len(), 1);
    }
}
