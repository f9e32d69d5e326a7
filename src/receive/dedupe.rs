//! Dedupe keys: one stable string per delivery, so a host can claim it atomically and drop
//! retries (Virtuous delivers at least once, and retries every non-2xx).
//!
//! In order of preference:
//! 1. `delivery:<id>`: the scheme's id header (Standard Webhooks' `webhook-id`, GitHub's
//!    `x-github-delivery`), which the sender keeps across retries.
//! 2. `event:<id>`: an event id in the body (the documented envelope's `eventId`).
//! 3. `resource:<event-type>:<resource-id>:<modifiedDateTimeUtc>`: live CRM+ deliveries carry no
//!    event id, so the record's identity plus its modification time names the change. Two edits
//!    to one record within the same timestamp resolution share a key; the second is caught by the
//!    sync engine's content comparison and by reconciliation.
//! 4. `sha256:<hex>`: the raw body's SHA-256, when nothing else identifies the delivery.
//!
//! Raise and Volunteer keys are the same, prefixed with the product (`raise:`, `volunteer:`) so
//! one inbox can hold all three products' keys without collisions; a Raise delivery's
//! `contextId` (the id its delivery logs group retries by) is its event id, so its key is
//! `raise:event:<contextId>`. CRM+ keys are unprefixed, as before.
//!
//! Over-long ids are replaced by their SHA-256 so keys stay bounded (at most ~330 bytes).

use crate::event::Event;
#[cfg(test)]
use crate::receive::digest::BuiltIn;
use crate::receive::digest::{self, Sha256Host};
use sha2::{Digest, Sha256};

const MAX_PART: usize = 128;

fn part(s: &str) -> String {
    bounded(s, false)
}

/// Like [`part`], for the last component, where `:` (in timestamps) cannot be ambiguous.
fn tail(s: &str) -> String {
    bounded(s, true)
}

fn bounded(s: &str, colon_ok: bool) -> String {
    if s.len() <= MAX_PART && s.chars().all(|c| !c.is_control() && (colon_ok || c != ':')) {
        s.to_owned()
    } else {
        format!("h{}", hex::encode(Sha256::digest(s.as_bytes())))
    }
}

/// A key qualified by product: CRM+ keys unchanged, others prefixed (`volunteer:resource:..`).
pub fn product_key(product: crate::product::Product, key: String) -> String {
    if product.is_crm() {
        key
    } else {
        format!("{}:{key}", product.as_str())
    }
}

/// The SHA-256 of a body, hex.
#[cfg(test)]
pub fn body_sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// The dedupe key for a delivery (see the module docs for the order).
#[cfg(test)]
pub fn dedupe_key(event: Option<&Event>, delivery_id: Option<&str>, body: &[u8]) -> String {
    dedupe_key_with(event, delivery_id, body, &BuiltIn)
}

/// [`dedupe_key`] with the body's SHA-256 (the last resort) lent by the host.
pub(crate) fn dedupe_key_with(
    event: Option<&Event>,
    delivery_id: Option<&str>,
    body: &[u8],
    host: &dyn Sha256Host,
) -> String {
    if let Some(id) = delivery_id.map(str::trim).filter(|s| !s.is_empty()) {
        return format!("delivery:{}", tail(id));
    }
    if let Some(e) = event {
        if let Some(id) = &e.event_id {
            return format!("event:{}", tail(id));
        }
        if let (Some(rid), Some(modified)) = (&e.resource_id, &e.modified_date_time_utc) {
            let ty = match e.event_type {
                Some(t) => t.as_str().to_owned(),
                None => part(&e.raw_event_type),
            };
            return format!("resource:{ty}:{}:{}", part(rid), tail(modified));
        }
    }
    let mut key = String::with_capacity(71);
    key.push_str("sha256:");
    crate::json_text::push_hex(&mut key, &digest::sha256(host, b"", body));
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receive::envelope::{parse, Limits};

    fn ev(s: &str) -> Event {
        parse(s.as_bytes(), &Limits::default()).unwrap()
    }

    #[test]
    fn preference_order() {
        let body = br#"{"event":"GiftCreate","gift":{"id":7,"modifiedDateTimeUtc":"2024-01-01T00:00:00Z"}}"#;
        let e = ev(core::str::from_utf8(body).unwrap());
        assert_eq!(dedupe_key(Some(&e), Some("msg_1"), body), "delivery:msg_1");
        assert_eq!(
            dedupe_key(Some(&e), None, body),
            "resource:gift-create:7:2024-01-01T00:00:00Z"
        );
        let with_id = ev(r#"{"eventType":"GiftCreate","eventId":"e-9","data":{"id":7}}"#);
        assert_eq!(dedupe_key(Some(&with_id), None, b""), "event:e-9");
        let bare = ev(r#"{"event":"GiftCreate","gift":{"id":7}}"#);
        assert!(dedupe_key(Some(&bare), None, b"x").starts_with("sha256:2d711642"));
        assert_eq!(
            dedupe_key(None, None, b"x"),
            format!("sha256:{}", body_sha256(b"x"))
        );
    }

    #[test]
    fn long_or_odd_ids_are_hashed() {
        let long = "a".repeat(500);
        let k = dedupe_key(None, Some(&long), b"");
        assert!(k.len() < 80, "{k}");
        assert_eq!(dedupe_key(None, Some("a:b"), b""), "delivery:a:b");
        assert!(dedupe_key(None, Some("a\nb"), b"").starts_with("delivery:h"));
    }
}
