#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Property tests for the sync core (see issue 3): state-table closure, echo never creates or
//! applies, a staff edit to our record is never an echo, nothing is written during a cooldown (for
//! its fields) or a conflict, determinism, and no panic on arbitrary state and events.

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use virtuous_sync::event::{Event, EventType, ResourceKind};
use virtuous_sync::sync::*;

const T0: i64 = 1_763_900_000_000;

/// Partial updates: these properties predate full-record updates and keep their meaning;
/// `full_update_*` covers the default mode.
fn opts() -> SyncOptions {
    let mut o = SyncOptions::new("Acme Giving", "cust-1");
    o.update_mode = UpdateMode::Partial;
    o
}

/// The documented table, written independently of the implementation.
fn table(from: SyncState, t: Trigger) -> Option<SyncState> {
    use SyncState::*;
    match (from, t) {
        (InSync | VirtuousPending | PartnerPending, Trigger::PartnerWrite) => Some(PartnerPending),
        (InSync | VirtuousPending, Trigger::InboundApplied) => Some(VirtuousPending),
        (PartnerPending, Trigger::InboundApplied) => Some(PartnerPending),
        (PartnerPending, Trigger::Confirmed) => Some(InSync),
        (VirtuousPending, Trigger::CooldownElapsed) => Some(InSync),
        (PartnerPending, Trigger::PendingExpired) => Some(PartnerPending),
        (_, Trigger::Ambiguous) => Some(Conflict),
        (Conflict, Trigger::ManualResolution) => Some(InSync),
        (_, Trigger::Removed) => Some(InSync),
        _ => None,
    }
}

fn any_state() -> impl Strategy<Value = SyncState> {
    prop::sample::select(SyncState::ALL.to_vec())
}
fn any_trigger() -> impl Strategy<Value = Trigger> {
    prop::sample::select(Trigger::ALL.to_vec())
}

fn gift(amount_cents: u32, notes: &str, gift_type: &str) -> BTreeMap<String, Value> {
    let amount = format!("{}.{:02}", amount_cents / 100, amount_cents % 100);
    let mut v = BTreeMap::new();
    v.insert("amount".into(), json!(amount));
    v.insert("giftDate".into(), json!("2026-11-20"));
    v.insert("giftType".into(), json!(gift_type));
    v.insert("currencyCode".into(), json!("USD"));
    v.insert("notes".into(), json!(notes));
    v.insert(
        "giftDesignations".into(),
        json!([{"projectCode": "P1", "amountDesignated": amount}]),
    );
    v
}

fn digests(v: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    let o = opts();
    let specs = o.fields(ResourceKind::Gift).unwrap();
    v.iter()
        .map(|(k, x)| {
            (
                k.clone(),
                field_digest(x, specs.iter().find(|s| &s.name == k).unwrap().field_type),
            )
        })
        .collect()
}

fn linked(state: SyncState, base: &BTreeMap<String, Value>) -> RecordState {
    let mut r = RecordState::new("cust-1", ResourceKind::Gift);
    r.partner_id = Some("d-1".into());
    r.virtuous_id = Some("501".into());
    r.external_ref = Some(ExternalRef {
        source: "Acme Giving".into(),
        id: "d-1".into(),
    });
    r.base = digests(base);
    r.state = state;
    r.virtuous_modified_ms = Some(T0 - 60_000);
    r
}

fn iso(ms: i64) -> String {
    // Small helper for times within 2025-11-23 (T0 is 12:13:20Z that day).
    let secs = (ms - 1_763_856_000_000) / 1000; // since 2025-11-23T00:00:00Z
    let millis = ms.rem_euclid(1000);
    format!(
        "2025-11-23T{:02}:{:02}:{:02}.{millis:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn gift_event(
    et: EventType,
    values: &BTreeMap<String, Value>,
    stamp: Option<&str>,
    modified: i64,
    numeric: bool,
) -> Event {
    let mut res = Map::new();
    res.insert("id".into(), json!(501));
    for (k, v) in values {
        let v = if numeric && k == "amount" {
            serde_json::from_str::<Value>(&Money::from_json(v).unwrap().canonical()).unwrap()
        } else {
            v.clone()
        };
        res.insert(k.clone(), v);
    }
    if let Some(s) = stamp {
        res.insert("transactionSource".into(), json!(s));
        res.insert("transactionId".into(), json!("d-1"));
    }
    Event {
        event_type: Some(et),
        raw_event_type: et.live_name().into(),
        resource_kind: Some(ResourceKind::Gift),
        event_id: None,
        timestamp: None,
        organization_id: None,
        resource_id: Some("501".into()),
        modified_date_time_utc: Some(iso(modified)),
        resource: Some(Value::Object(res)),
        ..Default::default()
    }
}

fn change(values: &BTreeMap<String, Value>, modified: i64) -> PartnerChange {
    PartnerChange {
        current: None,
        written: None,
        customer_id: "cust-1".into(),
        kind: ResourceKind::Gift,
        partner_id: "d-1".into(),
        modified_ms: modified,
        field_modified_ms: BTreeMap::new(),
        fields: values.clone(),
        extra: None,
        external_id: None,
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "500.00",
            "1e400",
            "-0.0000001",
            "2025-11-23T12:00:00Z",
            "Acme Giving",
            "501"
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "id",
                    "amount",
                    "notes",
                    "giftType",
                    "giftDesignations",
                    "amountDesignated",
                    "transactionSource",
                    "transactionId",
                    "mergedIntoContactId",
                    "modifiedDateTimeUtc",
                    "name",
                    "contactReferences",
                    "source",
                    "x"
                ])
                .prop_map(String::from),
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_record() -> impl Strategy<Value = RecordState> {
    let times = prop_oneof![
        Just(None),
        Just(Some(i64::MAX)),
        Just(Some(i64::MIN)),
        (T0 - 100_000..T0 + 100_000).prop_map(Some)
    ];
    let digest = prop::sample::select(vec!["0604cd3138feed20", "231325fda7ca20db", "x"])
        .prop_map(String::from);
    let fields = prop::collection::btree_map(
        prop::sample::select(vec!["amount", "notes", "giftType", "bogus"]).prop_map(String::from),
        digest,
        0..4,
    );
    (
        any_state(),
        prop::sample::select(vec![
            ResourceKind::Gift,
            ResourceKind::Contact,
            ResourceKind::Project,
        ]),
        prop::option::of(prop::sample::select(vec!["501", "42"]).prop_map(String::from)),
        times.clone(),
        times.clone(),
        times,
        fields.clone(),
        prop::collection::vec((fields, any::<bool>(), any::<i64>()), 0..3),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![
            Tombstone::Deleted,
            Tombstone::MergedInto("7".into()),
        ])),
    )
        .prop_map(
            |(state, kind, vid, vm, cool, pend, base, echoes, stamped, tomb)| {
                let mut r = RecordState::new("cust-1", kind);
                r.state = state;
                r.virtuous_id = vid;
                r.virtuous_modified_ms = vm;
                r.cooldown_until_ms = cool;
                r.cooldown_fields = vec!["notes".into()];
                r.pending_expires_ms = pend;
                r.base = base;
                if stamped {
                    r.external_ref = Some(ExternalRef {
                        source: "Acme Giving".into(),
                        id: "d-1".into(),
                    });
                }
                r.expected_echo = echoes
                    .into_iter()
                    .map(|(fields, confirmed, exp)| EchoEntry {
                        fields,
                        sent: vec![],
                        written_ms: 0,
                        after_ms: None,
                        built_on_ms: None,
                        expires_ms: exp,
                        confirmed,
                    })
                    .collect();
                r.tombstone = tomb;
                r
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn state_table_closure(start in any_state(), triggers in prop::collection::vec((any_trigger(), -5i64..5), 0..30)) {
        let mut r = RecordState::new("cust-1", ResourceKind::Gift);
        r.state = start;
        let mut now = T0;
        for (t, dt) in triggers {
            now += dt;
            // Time-guarded rows: make them sometimes due.
            if dt > 0 { r.cooldown_until_ms = Some(now); r.pending_expires_ms = Some(now); }
            match transition(&r, t, now) {
                Ok(next) => {
                    prop_assert_eq!(Some(next.state), table(r.state, t), "{:?} --{:?}-->", r.state, t);
                    r = next;
                }
                Err(e) => {
                    let guarded = matches!(e, TransitionError::CooldownActive { .. } | TransitionError::NotExpired { .. });
                    prop_assert!(guarded || table(r.state, t).is_none(), "{:?} refused {:?}: {}", r.state, t, e);
                    // The refusal names what refused it: the table's own row, or the guard of the timed trigger.
                    match &e {
                        TransitionError::Invalid { from, trigger } => {
                            prop_assert_eq!((*from, *trigger), (r.state, t));
                            prop_assert_eq!(e.code(), "invalid-transition");
                        }
                        TransitionError::CooldownActive { until_ms } => {
                            prop_assert_eq!(t, Trigger::CooldownElapsed);
                            prop_assert!(now < *until_ms && Some(*until_ms) == r.cooldown_until_ms);
                            prop_assert_eq!(e.code(), "cooldown-active");
                        }
                        TransitionError::NotExpired { expires_ms } => {
                            prop_assert_eq!(t, Trigger::PendingExpired);
                            prop_assert!(expires_ms.is_none_or(|x| now < x) && *expires_ms == r.pending_expires_ms);
                            prop_assert_eq!(e.code(), "pending-not-expired");
                        }
                        other => prop_assert!(false, "a refusal this test does not know: {:?}", other),
                    }
                }
            }
        }
    }

    #[test]
    fn echo_never_creates_or_applies(
        base_c in 1u32..100_000, our_c in 1u32..100_000, notes in "[a-z]{1,8}", numeric in any::<bool>(),
        stamp in prop::sample::select(vec!["Acme Giving", " acme giving ", "ACME GIVING"]), dup in 1usize..3,
        delay in 0i64..3_600_000,
    ) {
        let o = opts();
        let base = gift(base_c, "n0", "Cash");
        let ours = gift(our_c, &notes, "Cash");
        let r = linked(SyncState::InSync, &base);
        let d = decide_outbound(&o, Some(&r), &change(&ours, T0), T0).unwrap();
        let rec = d.record.unwrap();
        let mut cur = rec;
        for i in 0..dup {
            let ev = gift_event(EventType::GiftUpdate, &ours, Some(stamp), T0 + delay, numeric);
            let d = decide_inbound(&o, &ev, Some(&cur), T0 + delay + i as i64).unwrap();
            prop_assert!(!matches!(d.action, InboundAction::Create { .. } | InboundAction::Apply { .. } | InboundAction::Conflict { .. }),
                "echo gave {:?} ({})", d.action, d.reason.code());
            if let InboundAction::Confirm { apply, .. } = &d.action { prop_assert!(apply.is_empty()); }
            cur = d.record.unwrap();
        }
        prop_assert_eq!(cur.state, SyncState::InSync);
    }

    #[test]
    fn full_update_keeps_unmapped_fields_and_its_echo_is_ours(
        base_c in 1u32..100_000, our_c in 1u32..100_000, notes in "[a-z]{1,8}", numeric in any::<bool>(),
        segment in "[A-Z0-9]{1,6}", receipt in "[a-z ]{0,12}", delay in 1i64..3_600_000,
    ) {
        let o = SyncOptions::new("Acme Giving", "cust-1");
        let base = gift(base_c, "n0", "Cash");
        let ours = gift(our_c, &notes, "Cash");
        let r = linked(SyncState::InSync, &base);
        // Without the fetched record: ask for it, change nothing.
        let d = decide_outbound(&o, Some(&r), &change(&ours, T0), T0).unwrap();
        if base == ours {
            prop_assert_eq!(d.reason, Reason::NoChange);
            return Ok(());
        }
        prop_assert_eq!(&d.action, &OutboundAction::Fetch(Request { method: "GET".into(), path: "/api/Gift/501".into(), body: Value::Null }));
        prop_assert!(d.record.is_none());
        // With it: the fetched record, unmapped fields kept, read-only ones removed.
        let fetched = gift_event(EventType::GiftUpdate, &base, Some("Acme Giving"), T0 - 60_000, numeric);
        let mut current = fetched.resource.clone().unwrap();
        current["segmentCode"] = json!(segment);
        current["customFields"] = json!({"Receipt Status": receipt});
        current["giftDateFormatted"] = json!("11/20/2026");
        current["modifiedDateTimeUtc"] = json!(iso(T0 - 60_000));
        let mut c = change(&ours, T0);
        c.current = Some(current.clone());
        let d = decide_outbound(&o, Some(&r), &c, T0).unwrap();
        let OutboundAction::Submit(req) = &d.action else { panic!("{:?}", d.action) };
        prop_assert_eq!(&req.path, "/api/Gift/501");
        prop_assert_eq!(&req.body["segmentCode"], &json!(segment));
        prop_assert_eq!(&req.body["customFields"], &current["customFields"]);
        for gone in ["id", "modifiedDateTimeUtc", "giftDateFormatted"] {
            prop_assert!(req.body.get(gone).is_none(), "{} sent", gone);
        }
        prop_assert_eq!(&req.body["notes"], &json!(notes));
        // Virtuous replaces the record with the body; its echo is ours.
        let mut after = req.body.clone();
        after["id"] = json!(501);
        let echo = Event {
            resource: Some(after),
            modified_date_time_utc: Some(iso(T0 + delay)),
            ..fetched
        };
        let rec = d.record.unwrap();
        let d = decide_inbound(&o, &echo, Some(&rec), T0 + delay).unwrap();
        prop_assert_eq!(d.reason, Reason::Confirmed, "{:?}", d.action);
        prop_assert!(matches!(&d.action, InboundAction::Confirm { apply, .. } if apply.is_empty()), "{:?}", d.action);
    }

    #[test]
    fn staff_edit_to_our_record_is_never_an_echo(
        c in 1u32..100_000, notes in "[a-z]{1,8}", staff in "[A-Z]{1,8}", pending in any::<bool>(), delay in 1i64..3_600_000,
    ) {
        let o = opts();
        let base = gift(c, "n0", "Cash");
        let mut r = linked(SyncState::InSync, &base);
        if pending {
            // Our own write of `notes` is in flight.
            r = decide_outbound(&o, Some(&r), &change(&gift(c, &notes, "Cash"), T0), T0).unwrap().record.unwrap();
        }
        // Staff edit giftType on the gift we created (our stamp stays on it).
        let mut v = if pending { gift(c, &notes, "Cash") } else { base.clone() };
        v.insert("giftType".into(), json!(format!("staff-{staff}")));
        let ev = gift_event(EventType::GiftUpdate, &v, Some("Acme Giving"), T0 + delay, false);
        let d = decide_inbound(&o, &ev, Some(&r), T0 + delay).unwrap();
        prop_assert!(d.reason != Reason::Echo && d.reason != Reason::NoChange && d.reason != Reason::Stale, "{:?}", d.reason);
        let applied = match &d.action {
            InboundAction::Apply { fields } => fields.clone(),
            InboundAction::Confirm { apply, .. } => apply.clone(),
            InboundAction::Conflict { apply, .. } => apply.clone(),
            other => panic!("staff edit gave {other:?}"),
        };
        prop_assert!(applied.contains_key("giftType"));
    }

    #[test]
    fn nothing_written_in_cooldown_or_conflict(
        c in 1u32..100_000, n in "[a-z]{1,6}", t in "[a-z]{1,6}", covered in prop::sample::subsequence(vec!["notes", "giftType", "amount", "giftDesignations"], 0..4),
        conflict in any::<bool>(), left in 1i64..600_000,
    ) {
        let o = opts();
        let base = gift(c, "n0", "Cash");
        let mut r = linked(if conflict { SyncState::Conflict } else { SyncState::VirtuousPending }, &base);
        r.cooldown_until_ms = Some(T0 + left);
        r.cooldown_fields = covered.iter().map(|s| s.to_string()).collect();
        let d = decide_outbound(&o, Some(&r), &change(&gift(c + 1, &n, &t), T0), T0).unwrap();
        if let OutboundAction::Submit(req) = &d.action {
            prop_assert!(!conflict, "submitted during conflict");
            for f in &covered {
                prop_assert!(req.body.get(*f).is_none(), "{} written during cooldown", f);
            }
        }
        if conflict { prop_assert_eq!(d.reason, Reason::InConflict); }
    }

    #[test]
    fn same_inputs_same_outputs(r in arb_record(), res in arb_json(), et in prop::option::of(prop::sample::select(EventType::ALL.to_vec())), now in any::<i64>()) {
        let o = opts();
        let ev = Event {
            event_type: et, raw_event_type: "X".into(), resource_kind: et.map(|e| e.resource_kind()), event_id: None,
            timestamp: None, organization_id: None, resource_id: None, modified_date_time_utc: None, resource: Some(res),
            ..Default::default()
        };
        let a = decide_inbound(&o, &ev, Some(&r), now);
        let b = decide_inbound(&o, &ev, Some(&r), now);
        prop_assert_eq!(&a, &b);
        if let Ok(d) = a {
            let text = serde_json::to_string(&d).unwrap();
            let back: InboundDecision = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back, d);
        }
    }

    #[test]
    fn no_panic_on_arbitrary_inputs(
        r in prop::option::of(arb_record()), res in arb_json(), et in prop::option::of(prop::sample::select(EventType::ALL.to_vec())),
        modified in prop::option::of(prop_oneof![".{0,30}".boxed(), Just("2025-11-23T12:00:00Z".to_string()).boxed(), Just("9999-12-31T23:59:59.999+23:59".to_string()).boxed()]),
        rid in prop::option::of(prop::sample::select(vec!["501", "42", ""]).prop_map(String::from)),
        fields in prop::collection::btree_map(prop::sample::select(vec!["amount", "notes", "giftDesignations", "giftDate"]).prop_map(String::from), arb_json(), 0..4),
        now in any::<i64>(), pm in any::<i64>(), text in ".{0,40}",
    ) {
        let mut o = opts();
        o.cooldown_ms = i64::MAX;
        o.pending_expiry_ms = i64::MAX;
        let ev = Event {
            event_type: et, raw_event_type: "X".into(), resource_kind: et.map(|e| e.resource_kind()), event_id: None,
            timestamp: None, organization_id: None, resource_id: rid, modified_date_time_utc: modified, resource: Some(res),
            ..Default::default()
        };
        let _ = decide_inbound(&o, &ev, r.as_ref(), now);
        let mut ch = change(&BTreeMap::new(), pm);
        ch.fields = fields;
        let _ = decide_outbound(&o, r.as_ref(), &ch, now);
        if let Some(r) = &r {
            for t in Trigger::ALL { let _ = transition(r, t, now); }
            let _ = resolve_conflict(r, &BTreeMap::new(), now);
        }
        let _ = parse_utc_ms(&text);
        let _ = Money::parse_str(&text);
    }
}
