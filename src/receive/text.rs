//! A receipt and a verification as JSON text, written directly: the exact bytes
//! `serde_json::to_string` writes for them (their `Serialize` derives stay the definition, and the
//! tests below hold the two together), without the generic serialiser, which in the size-optimised
//! wasm build cost a small receipt more than its own verification (docs/performance.md).

use super::signature::{Notice, Replay, Verification};
use super::Receipt;
use crate::event::Event;
use crate::json_text::Object;

impl Receipt {
    /// The receipt as compact JSON text: the bytes `serde_json::to_string(self)` gives.
    pub fn to_json_text(&self) -> String {
        let mut out = String::with_capacity(320);
        let mut o = Object::open(&mut out);
        o.uint("status", u64::from(self.status));
        o.str("reason", self.reason.code());
        o.bool("authentic", self.authentic);
        o.bool("deadLetter", self.dead_letter);
        if let Some(event) = &self.event {
            write_event(o.key("event"), event);
        }
        o.opt_str("dedupeKey", self.dedupe_key.as_deref());
        write_check(
            &mut o,
            self.secret_index,
            self.secret_id.as_deref(),
            self.replay,
            &self.warnings,
            &self.diagnostics,
        );
        if let Some(error) = &self.error {
            write_notice(o.key("error"), error);
        }
        o.close();
        out
    }
}

impl Verification {
    /// The verification as compact JSON text: the bytes `serde_json::to_string(self)` gives.
    pub fn to_json_text(&self) -> String {
        let mut out = String::with_capacity(160);
        let mut o = Object::open(&mut out);
        o.bool("ok", self.ok);
        o.opt_str("code", self.code);
        o.opt_str("message", self.message.as_deref());
        write_check(
            &mut o,
            self.secret_index,
            self.secret_id.as_deref(),
            self.replay,
            &self.warnings,
            &self.diagnostics,
        );
        o.close();
        out
    }
}

/// The signature check's fields a receipt and a verification share, in their order.
fn write_check(
    o: &mut Object<'_>,
    secret_index: Option<u32>,
    secret_id: Option<&str>,
    replay: Replay,
    warnings: &[Notice],
    diagnostics: &[Notice],
) {
    if let Some(index) = secret_index {
        o.uint("secretIndex", u64::from(index));
    }
    o.opt_str("secretId", secret_id);
    o.str("replay", replay.as_str());
    write_notices(o.key("warnings"), warnings);
    write_notices(o.key("diagnostics"), diagnostics);
}

fn write_notice(out: &mut String, notice: &Notice) {
    let mut o = Object::open(out);
    o.str("code", &notice.code);
    o.str("message", &notice.message);
    o.close();
}

fn write_notices(out: &mut String, notices: &[Notice]) {
    out.push('[');
    for (n, notice) in notices.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        write_notice(out, notice);
    }
    out.push(']');
}

fn write_event(out: &mut String, e: &Event) {
    let mut o = Object::open(out);
    if !e.product.is_crm() {
        o.str("product", e.product.as_str());
    }
    o.opt_str("action", e.action.map(|a| a.as_str()));
    o.opt_str("productEventType", e.product_event_type.as_deref());
    o.opt_str("eventType", e.event_type.map(|t| t.as_str()));
    o.str("rawEventType", &e.raw_event_type);
    o.opt_str("resourceKind", e.resource_kind.map(|k| k.as_str()));
    o.opt_str("eventId", e.event_id.as_deref());
    o.opt_str("timestamp", e.timestamp.as_deref());
    o.opt_str("organizationId", e.organization_id.as_deref());
    o.opt_str("resourceId", e.resource_id.as_deref());
    o.opt_str("modifiedDateTimeUtc", e.modified_date_time_utc.as_deref());
    if let Some(resource) = &e.resource {
        // The record as received: serde_json's own text of it (numbers formatted as it formats them).
        o.key("resource").push_str(&resource.to_string());
    }
    o.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Action, EventType, ResourceKind};
    use crate::product::Product;
    use crate::receive::ReceiptReason;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn names_are_the_serialised_names() {
        let quoted = |s: &str| format!("\"{s}\"");
        for v in ReceiptReason::ALL {
            assert_eq!(serde_json::to_string(&v).unwrap(), quoted(v.code()));
        }
        for v in Replay::ALL {
            assert_eq!(serde_json::to_string(&v).unwrap(), quoted(v.as_str()));
        }
        for v in Action::ALL {
            assert_eq!(serde_json::to_string(&v).unwrap(), quoted(v.as_str()));
        }
        for v in EventType::ALL {
            assert_eq!(serde_json::to_string(&v).unwrap(), quoted(v.as_str()));
        }
        for v in ResourceKind::ALL {
            assert_eq!(serde_json::to_string(&v).unwrap(), quoted(v.as_str()));
        }
        for v in Product::ALL {
            assert_eq!(serde_json::to_string(&v).unwrap(), quoted(v.as_str()));
        }
    }

    fn text() -> impl Strategy<Value = String> {
        // Quotes, backslashes, control characters, non-ASCII and emoji among ordinary text.
        proptest::string::string_regex("[a-z\"\\\\\u{0}-\u{1f}é☕😀 ]{0,12}").unwrap()
    }

    fn opt_text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(text())
    }

    fn notices() -> impl Strategy<Value = Vec<Notice>> {
        proptest::collection::vec(
            (text(), text()).prop_map(|(code, message)| Notice { code, message }),
            0..3,
        )
    }

    fn event() -> impl Strategy<Value = Event> {
        (
            (
                proptest::sample::select(Product::ALL.to_vec()),
                proptest::option::of(proptest::sample::select(Action::ALL.to_vec())),
                opt_text(),
                proptest::option::of(proptest::sample::select(EventType::ALL.to_vec())),
                text(),
                proptest::option::of(proptest::sample::select(ResourceKind::ALL.to_vec())),
            ),
            (opt_text(), opt_text(), opt_text(), opt_text(), opt_text()),
            proptest::option::of(
                (text(), any::<i64>(), any::<f64>(), any::<bool>()).prop_map(|(s, i, f, b)| {
                    json!({"id": i, "name": s, "amount": f, "flag": b, "nested": {"list": [s, null]}})
                }),
            ),
        )
            .prop_map(|((product, action, pet, et, raw, kind), (eid, ts, org, rid, m), resource)| {
                Event {
                    product,
                    action,
                    product_event_type: pet,
                    event_type: et,
                    raw_event_type: raw,
                    resource_kind: kind,
                    event_id: eid,
                    timestamp: ts,
                    organization_id: org,
                    resource_id: rid,
                    modified_date_time_utc: m,
                    resource,
                }
            })
    }

    proptest! {
        #[test]
        fn a_receipt_is_written_as_serde_json_writes_it(
            status in any::<u16>(),
            reason in proptest::sample::select(ReceiptReason::ALL.to_vec()),
            flags in any::<(bool, bool)>(),
            event in proptest::option::of(event()),
            key in opt_text(),
            index in proptest::option::of(any::<u32>()),
            id in opt_text(),
            replay in proptest::sample::select(Replay::ALL.to_vec()),
            warnings in notices(),
            diagnostics in notices(),
            error in proptest::option::of((text(), text()).prop_map(|(code, message)| Notice { code, message })),
        ) {
            let receipt = Receipt {
                status,
                reason,
                authentic: flags.0,
                dead_letter: flags.1,
                event,
                dedupe_key: key,
                secret_index: index,
                secret_id: id,
                replay,
                warnings,
                diagnostics,
                error,
            };
            prop_assert_eq!(receipt.to_json_text(), serde_json::to_string(&receipt).unwrap());
        }

        #[test]
        fn a_verification_is_written_as_serde_json_writes_it(
            ok in any::<bool>(),
            code in proptest::option::of(proptest::sample::select(vec!["signature-mismatch", "no-secrets", "a\"b"])),
            message in opt_text(),
            index in proptest::option::of(any::<u32>()),
            id in opt_text(),
            replay in proptest::sample::select(Replay::ALL.to_vec()),
            warnings in notices(),
            diagnostics in notices(),
        ) {
            let v = Verification {
                ok,
                code,
                message,
                secret_index: index,
                secret_id: id,
                replay,
                warnings,
                diagnostics,
                error: None,
                delivery_id: Some("not serialised".into()),
            };
            prop_assert_eq!(v.to_json_text(), serde_json::to_string(&v).unwrap());
        }
    }
}
