//! Issue 17's one sync model across products, run end to end through `ops::call` as a host
//! following docs/sync.md ("One partner record, several products") would: a donor present in CRM+
//! and Raise is one partner record with two links (one record state per product link, the same
//! `partnerId`); an edit arriving from Raise reaches the CRM+ link as a partner-side change and
//! never echoes back. Expectations are hand-written for every decisive step.
//!
//! The decisive steps are shared vectors: `tests/vectors/sync/products.json` holds each one's input
//! (the stored states the earlier steps produced) and its expectation, and runs on every surface.
//! This test checks that file is exactly what the sequence produces;
//! `SYNC_WRITE_VECTORS=1 cargo test --test sync_products` rewrites it after a deliberate change.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use serde_json::{json, Value};

const T0: i64 = 1_763_900_000_000; // 2025-11-23T12:13:20Z
const MIN: i64 = 60_000;

/// Partial updates keep the CRM+ write to the changed field; the CRM+ contact map is the partner's
/// three fields at the top level, so the Raise map's names and the CRM+ map's names are one set.
fn options() -> Value {
    json!({"platformName": "Acme Giving", "customerId": "cust-1", "updateMode": "partial",
           "unstampedCreates": "create", "policy": {"default": "most-recent-wins"},
           "fieldMaps": {"contact": [
               {"name": "firstName", "pointer": "/firstName"},
               {"name": "lastName", "pointer": "/lastName"},
               {"name": "email", "pointer": "/email"}]}})
}

fn crm_event(create: bool, email: &str, ms: &str) -> Value {
    let t = if create {
        "contact-create"
    } else {
        "contact-update"
    };
    let raw = if create {
        "ContactCreate"
    } else {
        "ContactUpdate"
    };
    json!({"eventType": t, "rawEventType": raw, "resourceKind": "contact", "resourceId": "4821",
           "modifiedDateTimeUtc": ms,
           "resource": {"id": 4821, "firstName": "Bruce", "lastName": "Wayne", "email": email,
                        "modifiedDateTimeUtc": ms}})
}

fn raise_event(action: &str, email: &str, modified: Option<&str>) -> Value {
    let mut res = json!({"id": 77, "firstName": "Bruce", "lastName": "Wayne", "email": email});
    let mut ev = json!({"product": "raise", "action": action, "productEventType": format!("donor-{action}"),
        "rawEventType": if action == "create" { "30" } else { "31" }, "resourceKind": "contact",
        "resourceId": "77", "eventId": format!("ctx-{email}")});
    if let Some(m) = modified {
        res["modifiedDate"] = json!(m);
        ev["modifiedDateTimeUtc"] = json!(m);
    }
    ev["resource"] = res;
    ev
}

struct Run {
    cases: Vec<Value>,
    failures: Vec<String>,
}

impl Run {
    fn call(&self, op: &str, input: &Value) -> Result<Value, Value> {
        common::scripted::call(op, input).map_err(
            |e| json!({"code": e.code, "field": e.field, "message": e.message, "module": e.module}),
        )
    }

    /// A decisive step: run it, check `expect` (or `expectError`), keep it as a vector case.
    fn step(&mut self, name: &str, why: &str, op: &str, input: Value, expect: Value) -> Value {
        let is_err = expect.get("expectError").is_some();
        let mut case = json!({"name": name, "why": why, "op": op, "input": input});
        if is_err {
            case["expectError"] = expect["expectError"].clone();
        } else {
            case["expect"] = expect;
        }
        let result = self.call(op, &case["input"]);
        let problems = common::check(&case, result.clone());
        if !problems.is_empty() {
            self.failures
                .push(format!("{name}:\n  {}", problems.join("\n  ")));
        }
        self.cases.push(case);
        result.unwrap_or(Value::Null)
    }
}

/// The host links a record to its partner record (matching is the host's): it sets `partnerId`.
fn linked(mut record: Value) -> Value {
    record["partnerId"] = json!("donor-1");
    record
}

#[test]
fn one_partner_record_two_links() {
    let mut run = Run {
        cases: Vec::new(),
        failures: Vec::new(),
    };
    let o = options();

    // The CRM+ link: staff created the contact in CRM+ an hour ago; the host linked it to donor-1.
    let d = run
        .call("decideInbound", &json!({"options": o, "event": crm_event(true, "bruce@wayne.example", "2025-11-23T11:00:00Z"), "nowMs": T0 - 60 * MIN}))
        .unwrap();
    assert_eq!(d["action"]["tag"], "create", "{d}");
    let crm_link = linked(d["record"].clone());
    assert!(
        crm_link.get("product").is_none(),
        "a CRM+ state omits product"
    );

    // Raise: the same donor arrives as a Raise donor (its own Virtuous id in Raise).
    let d = run.step(
        "products-raise-donor-create-is-its-own-link",
        "a Raise donor-create with no stored link creates a record state for the Raise link (product raise); the host links it to the partner record it matches, so donor-1 has two links",
        "decideInbound",
        json!({"options": o, "event": raise_event("create", "bruce@wayne.example", Some("2025-11-23T11:30:00Z")), "record": null, "nowMs": T0 - 30 * MIN}),
        json!({"action": {"tag": "create", "val": {"fields": {"email": "bruce@wayne.example", "firstName": "Bruce", "lastName": "Wayne"}}},
               "reason": "new-record", "record": {"product": "raise", "kind": "contact", "virtuousId": "77"}}),
    );
    let raise_link = linked(d["record"].clone());

    // Lookup keys are product-qualified: the host stores and serialises per (product, kind, key).
    run.step(
        "products-lookup-keys-raise",
        "a Raise event's keys name the product: the host looks up (raise, contact, 77), never the CRM+ contact 77",
        "lookupKeys",
        json!({"options": o, "event": raise_event("update", "x@y.example", Some("2025-11-23T12:00:00Z"))}),
        json!({"product": "raise", "kind": "contact", "keys": [{"tag": "virtuous-id", "val": "77"}]}),
    );
    run.step(
        "products-lookup-keys-crm-unchanged",
        "a CRM+ event's keys carry no product (as before)",
        "lookupKeys",
        json!({"options": o, "event": crm_event(false, "x@y.example", "2025-11-23T12:00:00Z")}),
        json!({"product": null, "kind": "contact", "keys": [{"tag": "virtuous-id", "val": "4821"}]}),
    );

    // The donor changes their email on a Raise donation page.
    let d = run.step(
        "products-raise-edit-applies-on-the-raise-link",
        "a Raise donor-update is decided by the same rules as a CRM+ contact-update, on the Raise link: the changed email is applied to the partner record",
        "decideInbound",
        json!({"options": o, "event": raise_event("update", "bruce@wayne-ent.example", Some("2025-11-23T12:10:00Z")), "record": raise_link, "nowMs": T0}),
        json!({"action": {"tag": "apply", "val": {"fields": {"email": "bruce@wayne-ent.example"}}},
               "reason": "remote-changed", "record": {"product": "raise", "state": "virtuous-pending"}}),
    );
    let raise_link = d["record"].clone();

    // The host applied it to donor-1; the partner record changed, so it fans out to the other links.
    let change = json!({"customerId": "cust-1", "kind": "contact", "partnerId": "donor-1",
                        "modifiedMs": T0 + MIN, "fields": {"email": "bruce@wayne-ent.example"}});
    let d = run.step(
        "products-fan-out-reaches-the-crm-link",
        "the partner-side change the Raise edit made reaches the CRM+ link as a partner change: written to CRM+ (partial PUT of the email)",
        "decideOutbound",
        json!({"options": o, "record": crm_link, "change": change, "nowMs": T0 + MIN}),
        json!({"action": {"tag": "submit", "val": {"method": "PUT", "path": "/api/Contact/4821", "body": {"email": "bruce@wayne-ent.example"}}},
               "reason": "partner-changed", "record": {"state": "partner-pending", "product": null}}),
    );
    let crm_link = d["record"].clone();

    run.step(
        "products-no-write-back-to-raise",
        "the fan-out never goes back to the Raise link: writes go through CRM+ links only (product-mismatch)",
        "decideOutbound",
        json!({"options": o, "record": raise_link, "change": change, "nowMs": T0 + MIN}),
        json!({"expectError": {"code": "product-mismatch"}}),
    );

    // CRM+ confirms our write with its webhook: recognised as ours, nothing applied, no fan-out.
    run.step(
        "products-crm-echo-is-recognised",
        "the CRM+ webhook for our write is its echo: confirmed, nothing applied (so nothing fans out to Raise)",
        "decideInbound",
        json!({"options": o, "event": crm_event(false, "bruce@wayne-ent.example", "2025-11-23T12:15:00Z"), "record": crm_link, "nowMs": T0 + 2 * MIN}),
        json!({"action": {"tag": "confirm"}, "reason": "confirmed", "record": {"state": "in-sync"}}),
    );

    // Virtuous's own Raise sync shows the same email on the Raise donor again: nothing to apply.
    run.step(
        "products-raise-repeat-is-no-change",
        "Raise showing the value the Raise link already holds applies nothing: the edit does not bounce",
        "decideInbound",
        json!({"options": o, "event": raise_event("update", "bruce@wayne-ent.example", Some("2025-11-23T12:20:00Z")), "record": raise_link, "nowMs": T0 + 20 * MIN}),
        json!({"action": {"tag": "skip"}, "reason": "no-change"}),
    );

    run.step(
        "products-raise-event-on-crm-link-refused",
        "a Raise event is never decided against a CRM+ link (product-mismatch)",
        "decideInbound",
        json!({"options": o, "event": raise_event("update", "z@y.example", Some("2025-11-23T12:30:00Z")), "record": crm_link, "nowMs": T0 + 30 * MIN}),
        json!({"expectError": {"code": "product-mismatch"}}),
    );

    run.step(
        "products-raise-undated-ignored",
        "a Raise event without a modification time has no CRM+ record to fetch: ignored (undated) rather than applied out of order",
        "decideInbound",
        json!({"options": o, "event": raise_event("update", "late@y.example", None), "record": raise_link, "nowMs": T0 + 30 * MIN}),
        json!({"action": {"tag": "ignore"}, "reason": "undated"}),
    );
    let mut decide = o.clone();
    decide["products"] = json!({"raise": {"undatedEvents": "decide"}});
    run.step(
        "products-raise-undated-decide-switch",
        "products.raise.undatedEvents: decide applies it as delivered",
        "decideInbound",
        json!({"options": decide, "event": raise_event("update", "late@y.example", None), "record": raise_link, "nowMs": T0 + 30 * MIN}),
        json!({"action": {"tag": "apply", "val": {"fields": {"email": "late@y.example"}}}}),
    );

    // Volunteer: a participation and a user on the default Volunteer maps.
    let part = json!({"product": "volunteer", "action": "update", "productEventType": "participation.updated",
        "rawEventType": "participation.updated", "resourceKind": "participation", "resourceId": "12",
        "organizationId": "77", "modifiedDateTimeUtc": "2025-11-23T12:00:00.000000Z",
        "resource": {"id": 12, "user_id": 3, "project_id": 44, "status": "approved", "hours": 3,
                     "updated_at": "2025-11-23T12:00:00.000000Z"}});
    run.step(
        "products-volunteer-participation-new-link",
        "a VOMO participation (default Volunteer map: status, hours) is a Volunteer link of kind participation",
        "decideInbound",
        json!({"options": o, "event": part, "record": null, "nowMs": T0}),
        json!({"action": {"tag": "create", "val": {"fields": {"status": "approved", "hours": 3}}},
               "record": {"product": "volunteer", "kind": "participation", "virtuousId": "12"}}),
    );
    let user = json!({"product": "volunteer", "action": "update", "rawEventType": "user.updated",
        "productEventType": "user.updated", "resourceKind": "contact", "resourceId": "3",
        "modifiedDateTimeUtc": "2025-11-23T12:00:00.000000Z",
        "resource": {"id": 3, "first_name": "Selina", "last_name": "Kyle", "email": "selina@example.org"}});
    let d = run.step(
        "products-volunteer-user-maps-snake-case",
        "a VOMO user syncs as a contact through the Volunteer map (first_name -> firstName)",
        "decideInbound",
        json!({"options": o, "event": user, "record": null, "nowMs": T0}),
        json!({"action": {"tag": "create", "val": {"fields": {"firstName": "Selina", "lastName": "Kyle", "email": "selina@example.org"}}},
               "record": {"product": "volunteer", "kind": "contact"}}),
    );
    let del = json!({"product": "volunteer", "action": "delete", "rawEventType": "user.deleted",
        "resourceKind": "contact", "resourceId": "3", "resource": {"id": 3}});
    let user_link = linked(d["record"].clone());
    run.step(
        "products-volunteer-user-delete-retires-link-only",
        "a VOMO user.deleted tombstones the Volunteer link only (action ignore, reason deleted): the partner record may have other links, so it is never deleted for one product",
        "decideInbound",
        json!({"options": o, "event": del, "record": user_link, "nowMs": T0 + MIN}),
        json!({"action": {"tag": "ignore"}, "reason": "deleted", "record": {"product": "volunteer", "tombstone": {"tag": "deleted"}}}),
    );

    // Old stored states load unchanged.
    let old = json!({"version": 1, "customerId": "cust-1", "kind": "contact", "partnerId": "donor-1",
        "virtuousId": "4821", "state": "in-sync", "base": {}});
    run.step(
        "products-old-state-loads-as-crm",
        "a record state stored before products existed (no product key) loads as a CRM+ link and is written back without one",
        "transition",
        json!({"record": old, "trigger": "inbound-applied", "nowMs": T0}),
        json!({"product": null, "customerId": "cust-1", "virtuousId": "4821", "state": "virtuous-pending"}),
    );
    run.step(
        "products-old-state-takes-crm-events",
        "the same old state takes CRM+ events as before",
        "decideInbound",
        json!({"options": o, "event": crm_event(false, "new@wayne.example", "2025-11-23T12:40:00Z"), "record": old, "nowMs": T0 + 40 * MIN}),
        json!({"action": {"tag": "apply", "val": {"fields": {"email": "new@wayne.example", "firstName": "Bruce", "lastName": "Wayne"}}},
               "record": {"product": null}}),
    );

    // Options.
    let mut bad = o.clone();
    bad["products"] = json!({"crm": {}});
    run.step(
        "products-options-crm-key-refused",
        "CRM+ is configured at the top level; products.crm is refused",
        "lookupKeys",
        json!({"options": bad, "event": crm_event(false, "x", "2025-11-23T12:00:00Z")}),
        json!({"expectError": {"code": "invalid-option"}}),
    );
    let mut bad = o.clone();
    bad["products"] =
        json!({"raise": {"fieldMaps": {"contact": [{"name": "", "pointer": "/email"}]}}});
    run.step(
        "products-options-bad-field-map-named",
        "a bad per-product field map is refused naming its path",
        "lookupKeys",
        json!({"options": bad, "event": crm_event(false, "x", "2025-11-23T12:00:00Z")}),
        json!({"expectError": {"code": "invalid-option"}}),
    );

    assert!(run.failures.is_empty(), "{}", run.failures.join("\n"));
    let file = json!({
        "description": "Issue 17: one sync model across products (written by tests/sync_products.rs): a donor in CRM+ and Raise is one partner record with two links; a Raise edit reaches the CRM+ link as a partner change and never echoes back; Volunteer maps; old states load unchanged.",
        "cases": run.cases,
    });
    let path = common::vectors_dir().join("sync").join("products.json");
    let text = serde_json::to_string_pretty(&file).unwrap() + "\n";
    if std::env::var("SYNC_WRITE_VECTORS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
    } else {
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == text,
            "{} is not what the sequence produces: rerun with SYNC_WRITE_VECTORS=1",
            path.display()
        );
    }
}
