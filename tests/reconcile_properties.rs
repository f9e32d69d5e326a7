//! Property tests for the reconciliation planners: the initial matcher, the query cursor and the
//! merge remapper.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use virtuous_sync::cursor::{CursorConfig, QueryCursor, QueryRun};
use virtuous_sync::matcher::{ExternalRef, InitialMatcher, MatchPlan, MatchRecord};
use virtuous_sync::merge::{plan_merge_remap, MergeError, MergeGraph, MergeInput, MergeLink};
use virtuous_sync::timestamp::{format_time, parse_time};

// ---------------------------------------------------------------- matcher

fn arb_record(
    side: &'static str,
) -> impl Strategy<Value = (Vec<u8>, Vec<u8>, Vec<u8>, Option<u8>)> {
    let _ = side;
    (
        proptest::collection::vec(0u8..6, 0..3), // emails from a small pool
        proptest::collection::vec(0u8..4, 0..2), // names
        proptest::collection::vec(0u8..3, 0..2), // postal codes
        proptest::option::of(0u8..6),            // reference
    )
}

fn build(
    side: &str,
    i: usize,
    (emails, names, postals, reference): &(Vec<u8>, Vec<u8>, Vec<u8>, Option<u8>),
) -> MatchRecord {
    MatchRecord {
        id: format!("{side}{i}"),
        references: reference
            .iter()
            .map(|r| ExternalRef {
                source: if *r % 2 == 0 {
                    "Partner".into()
                } else {
                    " PARTNER ".into()
                },
                id: format!("ref{}", r / 2),
            })
            .collect(),
        emails: emails
            .iter()
            .map(|e| {
                if e % 2 == 0 {
                    format!("u{e}@x.org")
                } else {
                    format!(" U{}@X.org ", e - 1)
                }
            })
            .collect(),
        names: names.iter().map(|n| format!("Ann Smith{n}")).collect(),
        postal_codes: postals.iter().map(|p| format!("1000{p}")).collect(),
        phones: vec![],
        data: Some(json!({"i": i})),
    }
}

fn run_matcher(p: &[MatchRecord], v: &[MatchRecord], chunk: usize, order: &[bool]) -> MatchPlan {
    let mut m = InitialMatcher::new();
    let (mut pi, mut vi) = (0, 0);
    let mut k = 0;
    while pi < p.len() || vi < v.len() {
        let take_p = order.get(k % order.len().max(1)).copied().unwrap_or(true);
        k += 1;
        if (take_p && pi < p.len()) || vi >= v.len() {
            let end = (pi + chunk).min(p.len());
            m.add_partner_chunk(&p[pi..end]).unwrap();
            pi = end;
        } else {
            let end = (vi + chunk).min(v.len());
            m.add_virtuous_chunk(&v[vi..end]).unwrap();
            vi = end;
        }
    }
    m.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn matcher_invariants(
        ps in proptest::collection::vec(arb_record("p"), 0..25),
        vs in proptest::collection::vec(arb_record("v"), 0..25),
        chunk in 1usize..7,
        order in proptest::collection::vec(any::<bool>(), 1..5),
        seed in any::<u64>(),
    ) {
        let p: Vec<MatchRecord> = ps.iter().enumerate().map(|(i, r)| build("p", i, r)).collect();
        let v: Vec<MatchRecord> = vs.iter().enumerate().map(|(i, r)| build("v", i, r)).collect();
        let plan = run_matcher(&p, &v, chunk, &order);

        // every record exactly once across pairs, only-lists and review items
        let mut seen_p: HashMap<String, u32> = HashMap::new();
        let mut seen_v: HashMap<String, u32> = HashMap::new();
        for pair in &plan.pairs {
            *seen_p.entry(pair.partner_id.clone()).or_default() += 1;
            *seen_v.entry(pair.virtuous_id.clone()).or_default() += 1;
            prop_assert!(!pair.evidence.is_empty());
            prop_assert!(pair.partner_digest.is_some() && pair.virtuous_digest.is_some());
        }
        for id in &plan.partner_only { *seen_p.entry(id.clone()).or_default() += 1; }
        for id in &plan.virtuous_only { *seen_v.entry(id.clone()).or_default() += 1; }
        for r in &plan.review {
            prop_assert!(r.partner_ids.len() + r.virtuous_ids.len() > 2);
            prop_assert!(!r.partner_ids.is_empty() && !r.virtuous_ids.is_empty());
            for id in &r.partner_ids { *seen_p.entry(id.clone()).or_default() += 1; }
            for id in &r.virtuous_ids { *seen_v.entry(id.clone()).or_default() += 1; }
        }
        prop_assert_eq!(seen_p.len(), p.len());
        prop_assert_eq!(seen_v.len(), v.len());
        prop_assert!(seen_p.values().all(|&c| c == 1), "partner record covered twice: {:?}", seen_p);
        prop_assert!(seen_v.values().all(|&c| c == 1), "virtuous record covered twice: {:?}", seen_v);

        // independent of chunk order: reversed and shuffled inputs, other chunking
        let mut p2 = p.clone();
        let mut v2 = v.clone();
        p2.reverse();
        let n = v2.len();
        if n > 1 { v2.rotate_left((seed as usize) % n); }
        let plan2 = run_matcher(&p2, &v2, 1 + (seed as usize % 5), &[false, true, true]);
        prop_assert_eq!(&plan, &plan2);
    }
}

#[test]
fn matcher_household_is_review_not_link() {
    let mut m = InitialMatcher::new();
    let rec = |id: &str, e: &str| MatchRecord {
        id: id.into(),
        emails: vec![e.into()],
        ..MatchRecord::default()
    };
    m.add_partner_chunk(&[rec("husband", "family@x.org"), rec("wife", "Family@X.org")])
        .unwrap();
    m.add_virtuous_chunk(&[rec("household", "family@x.org")])
        .unwrap();
    let plan = m.finish();
    assert!(plan.pairs.is_empty());
    assert_eq!(plan.review.len(), 1);
    assert_eq!(plan.review[0].virtuous_ids, vec!["household"]);
}

// ---------------------------------------------------------------- cursor

#[derive(Debug, Clone)]
enum Op {
    Touch(usize),
    Insert,
    LateInsert(i64),
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..1000).prop_map(Op::Touch),
        Just(Op::Insert),
        (0i64..2000).prop_map(Op::LateInsert),
    ]
}

struct Server {
    rows: BTreeMap<u32, i64>,
    next_id: u32,
    now: i64,
}

impl Server {
    fn query(&self, body: &Value, skip: u64, take: u32) -> Vec<Value> {
        let after = body["groups"]
            .as_array()
            .and_then(|g| g.first())
            .map(|g| parse_time(g["conditions"][0]["value"].as_str().unwrap()).unwrap());
        let mut list: Vec<(i64, u32)> = self
            .rows
            .iter()
            .filter(|(_, &m)| after.is_none_or(|a| m > a))
            .map(|(&id, &m)| (m, id))
            .collect();
        list.sort();
        list.into_iter()
            .skip(skip as usize)
            .take(take as usize)
            .map(|(m, id)| json!({"id": id, "modifiedDateTimeUtc": format_time(m)}))
            .collect()
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Touch(i) => {
                let ids: Vec<u32> = self.rows.keys().copied().collect();
                if !ids.is_empty() {
                    let id = ids[i % ids.len()];
                    self.rows.insert(id, self.now);
                }
            }
            Op::Insert => {
                self.rows.insert(self.next_id, self.now);
                self.next_id += 1;
            }
            Op::LateInsert(lag) => {
                self.rows.insert(self.next_id, self.now - lag);
                self.next_id += 1;
            }
        }
    }
}

/// Runs pages until done (or `fail_after` pages), applying mutations between pages.
fn run_once(
    server: &mut Server,
    cursor: &QueryCursor,
    cfg: &CursorConfig,
    ops: &mut std::slice::Iter<'_, (Vec<Op>, u8)>,
    emitted: &mut HashSet<(String, i64)>,
    fail_after: Option<u32>,
) -> Option<QueryCursor> {
    let mut run = QueryRun::start(cursor, cfg).unwrap();
    let mut local = HashSet::new();
    let mut pages = 0;
    while let Some(req) = run.next_request() {
        assert!(req.take <= 1000);
        if fail_after == Some(pages) {
            assert_eq!(run.finish().unwrap_err().code(), "run-incomplete");
            return None;
        }
        let rows = server.query(&req.body, req.skip, req.take);
        let page = run.accept_page(&rows).unwrap();
        for &i in &page.fresh {
            let r = &rows[i as usize];
            let m = parse_time(r["modifiedDateTimeUtc"].as_str().unwrap()).unwrap();
            local.insert((r["id"].to_string(), m));
        }
        pages += 1;
        assert!(pages < 10_000, "run does not terminate");
        // mutations while the run is in progress
        server.now += 100;
        if let Some((burst, step)) = ops.next() {
            server.now += i64::from(*step) * 100;
            for op in burst {
                server.apply(op);
            }
        }
    }
    emitted.extend(local);
    Some(run.finish().unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// No record version ever goes unseen: every final (id, modified) is emitted by a complete
    /// run, whatever the page size, ties, rows committed mid-run and failed runs.
    #[test]
    fn cursor_never_skips(
        initial in proptest::collection::vec(0i64..12, 0..10),
        fresh in proptest::collection::vec(0i64..12, 0..30),
        take in 2u32..6,
        ops in proptest::collection::vec((proptest::collection::vec(arb_op(), 0..4), 0u8..5), 0..20),
        fail_after in proptest::option::of(0u32..6),
    ) {
        let base = 1_700_000_000_000i64;
        let mut server = Server { rows: BTreeMap::new(), next_id: 0, now: base + 10_000 };
        for q in &initial {
            server.rows.insert(server.next_id, base + q * 400);
            server.next_id += 1;
        }
        let cfg = CursorConfig { take, overlap_ms: 30_000, ..CursorConfig::default() };
        let mut emitted = HashSet::new();
        let none: Vec<(Vec<Op>, u8)> = vec![];
        let c0 = run_once(&mut server, &QueryCursor::default(), &cfg, &mut none.iter(), &mut emitted, None).unwrap();
        // Rows written after the first run, 400 ms apart with many exact ties, so seconds hold
        // several rows (often more than `take`). The next run happens ~2 min later and the
        // overlap (30 s) covers the longest run plus the commit lag but not the history, so a
        // record lost at a page boundary is not rescued by the following run's overlap.
        for q in &fresh {
            server.rows.insert(server.next_id, base + 60_000 + q * 400);
            server.next_id += 1;
        }
        server.now = base + 200_000;
        let mut it = ops.iter();
        let mut attempt = HashSet::new();
        let c1 = match run_once(&mut server, &c0, &cfg, &mut it, &mut attempt, fail_after) {
            // A failed run: its output is thrown away and the stored cursor stays at c0.
            None => run_once(&mut server, &c0, &cfg, &mut it, &mut emitted, None).unwrap(),
            Some(c) => {
                emitted.extend(attempt);
                c
            }
        };
        let _c2 = run_once(&mut server, &c1, &cfg, &mut none.iter(), &mut emitted, None).unwrap();
        for (&id, &m) in &server.rows {
            prop_assert!(
                emitted.contains(&(id.to_string(), m)),
                "record {} at {} never emitted (c0 {:?}, c1 {:?})", id, m, c0, c1
            );
        }
    }
}

// ---------------------------------------------------------------- merge remapper

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A random forest of merges (each contact merged into a later one, or not): every chain
    /// resolves to its root, and closing any chain into a loop is a cycle error.
    #[test]
    fn remapper_chains_and_cycles(
        parents in proptest::collection::vec(proptest::option::of(0usize..1000), 1..40),
        close in any::<prop::sample::Index>(),
        shuffle in any::<u64>(),
    ) {
        let n = parents.len();
        // contact i may only merge into j > i: acyclic by construction
        let next: Vec<Option<usize>> = parents
            .iter()
            .enumerate()
            .map(|(i, p)| p.and_then(|p| (i + 1 < n).then(|| i + 1 + p % (n - i - 1))))
            .collect();
        let mut links: Vec<MergeLink> = next
            .iter()
            .enumerate()
            .map(|(i, p)| MergeLink {
                contact_id: format!("c{i}"),
                merged_into_contact_id: p.map(|p| format!("c{p}")),
            })
            .collect();
        let k = links.len();
        links.rotate_left((shuffle as usize) % k);
        let graph = MergeGraph::build(&links).unwrap();
        for i in 0..n {
            let mut root = i;
            while let Some(p) = next[root] { root = p; }
            let ci = format!("c{i}");
            prop_assert_eq!(graph.survivor(&ci), format!("c{root}"));
            prop_assert_eq!(graph.is_merged_away(&format!("c{i}")), next[i].is_some());
        }
        let plan = plan_merge_remap(&MergeInput { contacts: links.clone(), references: vec![] }).unwrap();
        prop_assert_eq!(plan.tombstones.len(), next.iter().filter(|p| p.is_some()).count());
        for t in &plan.tombstones {
            prop_assert!(!graph.is_merged_away(&t.survivor_id));
        }

        // Close a chain: the root of some contact's chain merges back into that contact.
        let start = close.index(n);
        let mut root = start;
        while let Some(p) = next[root] { root = p; }
        let mut cyclic = links.clone();
        for l in &mut cyclic {
            if l.contact_id == format!("c{root}") {
                l.merged_into_contact_id = Some(format!("c{start}"));
            }
        }
        match MergeGraph::build(&cyclic) {
            Err(MergeError::Cycle { ids }) => {
                let (r, st) = (format!("c{root}"), format!("c{start}"));
                prop_assert!(ids.contains(&r));
                prop_assert!(ids.contains(&st));
            }
            other => prop_assert!(false, "expected a cycle, got {:?}", other),
        }
    }
}

/// A record already read is modified mid-run and moves to the end of the sort; the unread
/// record that slides into its page slot must still be read (regression for skip/take paging).
#[test]
fn cursor_row_moved_mid_run_does_not_shift_the_window() {
    let base = 1_700_000_000_000i64;
    let mut server = Server {
        rows: BTreeMap::new(),
        next_id: 0,
        now: base + 200_000,
    };
    for i in 0..6 {
        server.rows.insert(i, base + 60_000 + i64::from(i) * 1500);
    }
    server.next_id = 6;
    let cfg = CursorConfig {
        take: 2,
        overlap_ms: 30_000,
        ..CursorConfig::default()
    };
    let mut emitted = HashSet::new();
    let c0 = QueryCursor::from_time(base + 60_000);
    let ops = [(vec![Op::Touch(0)], 0u8), (vec![Op::Touch(1)], 0u8)];
    let c1 = run_once(&mut server, &c0, &cfg, &mut ops.iter(), &mut emitted, None).unwrap();
    let none: Vec<(Vec<Op>, u8)> = vec![];
    run_once(&mut server, &c1, &cfg, &mut none.iter(), &mut emitted, None).unwrap();
    for (&id, &m) in &server.rows {
        assert!(emitted.contains(&(id.to_string(), m)), "{id} at {m} lost");
    }
}

/// Inside one second holding more rows than `take`, two rows already read are modified while
/// the walk goes on: the unread row sliding two places down must not be skipped.
#[test]
fn cursor_dense_second_walk_survives_two_moves() {
    let base = 1_700_000_000_000i64;
    let mut server = Server {
        rows: BTreeMap::new(),
        next_id: 0,
        now: base + 200_000,
    };
    for i in 0..8 {
        server.rows.insert(i, base + 60_000);
    }
    server.next_id = 8;
    let cfg = CursorConfig {
        take: 3,
        overlap_ms: 30_000,
        ..CursorConfig::default()
    };
    let mut emitted = HashSet::new();
    let c0 = QueryCursor::from_time(base + 50_000);
    // page 1 keyset-jumps to the dense second, page 2 starts walking it, then rows 0 and 1
    // (already read) move to the end.
    let ops = [(vec![], 0u8), (vec![Op::Touch(0), Op::Touch(1)], 0u8)];
    let c1 = run_once(&mut server, &c0, &cfg, &mut ops.iter(), &mut emitted, None).unwrap();
    let none: Vec<(Vec<Op>, u8)> = vec![];
    run_once(&mut server, &c1, &cfg, &mut none.iter(), &mut emitted, None).unwrap();
    for (&id, &m) in &server.rows {
        assert!(emitted.contains(&(id.to_string(), m)), "{id} at {m} lost");
    }
}

// ---------------------------------------------------------------- no panic from any input

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Extreme times and counts never panic (a panic in wasm kills the host's instance).
    #[test]
    fn no_panic_on_extreme_numbers(
        t in proptest::collection::vec(any::<i64>(), 8),
        n in proptest::collection::vec(any::<u32>(), 6),
        big in any::<u64>(),
        text in ".{0,30}",
        status in proptest::option::of(any::<u16>()),
    ) {
        use virtuous_sync::{deletion, ratelimit, reconcile, response, subscription};
        let options = virtuous_sync::sync::SyncOptions::from_json(
            r#"{"platformName":"P","customerId":"c","fieldMaps":{"contact":[{"name":"a","pointer":"/a"},{"name":"c","pointer":"/b/c"}]},
                "policy":{"default":"most-recent-wins"}}"#).unwrap();
        let stored = json!([{"record": {"customerId": "c", "kind": "contact", "virtuousId": "1", "state": "partner-pending",
            "pendingSinceMs": t[0], "pendingExpiresMs": t[5], "externalRef": {"source": text, "id": "x"},
            "virtuousModifiedMs": t[1], "partnerModifiedMs": t[2], "base": {"a": text}},
            "partner": {"values": {"a": text}, "modifiedMs": t[2]}, "lookup": {"found": false, "atMs": t[3]}},
            {"record": {"customerId": "c", "kind": "contact", "partnerId": "2", "state": "partner-pending", "pendingSinceMs": t[4]}}]);
        let input: reconcile::ReconcileInput = serde_json::from_value(json!({
            "config": {"unmatchedAfterMs": t[5].max(0), "totalRecords": big},
            "rows": [{"id": 1, "modifiedDateTimeUtc": text, "a": 1}, {"id": text, "mergedIntoContactId": text}],
            "stored": stored, "nowMs": t[7]})).unwrap();
        let _ = reconcile::plan_reconciliation(&options, &input);

        let mut b = ratelimit::RateBudget::new(ratelimit::RateBudgetConfig {
            limit: n[0].max(2), live_headroom: 1, base_backoff_ms: 1, max_backoff_ms: i64::MAX, window_ms: i64::MAX,
        }).unwrap();
        for (i, &now) in t.iter().enumerate() {
            b.observe(&ratelimit::RateObservation {
                status, now_ms: now, random: n[i % 6],
                headers: ratelimit::RateHeaders { limit: Some(n[1].to_string()), remaining: Some(text.clone()),
                    reset: Some(big.to_string()), retry_after: Some(n[2].to_string()) },
            });
            b.spend(n[3]);
            let _ = b.decide(&ratelimit::RateRequest { cost: n[4], priority: ratelimit::Priority::Background, now_ms: now, random: n[5] });
            let _ = b.schedule(big, now);
            let _ = b.backoff_ms(n[i % 6], n[(i + 1) % 6]);
        }
        let _ = ratelimit::price_plan(&ratelimit::PlanSize { query_rows: big, take: n[0], lookups: big, single_writes: big,
            batched_writes: big, batch_size: n[1], done_requests: big });

        let _ = response::classify_response(&response::ResponseInput { status, body: Some(text.clone()),
            retry_after: Some(text.clone()), context: response::RequestContext::ReadAfterCreate,
            created_at_ms: Some(t[0]), now_ms: Some(t[1]), indexing_delay_ms: t[2] });

        let d: deletion::DeletionInput = serde_json::from_value(json!({
            "candidates": [{"virtuousId": "1", "signal": "not-found-on-lookup", "observedAtMs": t[0], "lastEditMs": t[1],
                            "pending": {"firstSeenMs": t[2], "signal": "delete-event"}},
                           {"virtuousId": "2", "signal": "delete-event", "observedAtMs": t[3]}],
            "totalRecords": big, "overwrites": big, "confirmAfterMs": t[4].max(0)})).unwrap();
        let _ = deletion::plan_deletions(&d);

        let _ = subscription::plan_secret_rotation(&subscription::RotationInput { webhook_id: "1".into(),
            old_secret_id: "a".into(), new_secret_id: "b".into(), rotated_at_ms: Some(t[0]),
            last_old_receipt_ms: Some(t[1]), drain_ms: t[2].max(0), now_ms: t[3] });
        let _ = subscription::plan_resume("1", t[0], Some(&QueryCursor::from_time(t[1])));
        let _ = subscription::validate_payload_url(&text);

        let mut run = QueryRun::start(&QueryCursor::from_time(t[0]), &CursorConfig { take: 2, ..CursorConfig::default() }).unwrap();
        let rows = vec![json!({"id": 1, "modifiedDateTimeUtc": format_time(t[1])}), json!({"id": text, "modifiedDateTimeUtc": text})];
        let _ = run.accept_page(&rows);
        let _ = run.next_request();
        let _ = run.accept_page(&rows[..1]);
        let _ = run.finish();
    }
}

// ---------------------------------------------------------------- reconciliation plan shape

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the page and the stored records: a row yields at most one item, a stored record at
    /// most one, lookups are priced, a halted plan overwrites nothing, confirmations name the
    /// Virtuous id, and missed changes carry an event for the row's id.
    #[test]
    fn reconciliation_plan_shape(
        rows in proptest::collection::vec((0u8..8, 0i64..6, any::<bool>(), 0u8..3), 0..12),
        stored in proptest::collection::vec((proptest::option::of(0u8..8), 0u8..4, 0i64..6, any::<bool>(), 0u8..3, any::<bool>()), 0..10),
        total in proptest::option::of(1u64..20),
        now_h in 0i64..100,
    ) {
        use virtuous_sync::reconcile::{plan_reconciliation, ItemKind, ItemReason, ReconcileInput};
        let h = 3_600_000i64;
        let base = 1_700_000_000_000i64;
        let rows_json: Vec<Value> = rows.iter().map(|(id, m, with_ref, name)| {
            let mut r = json!({"id": id, "modifiedDateTimeUtc": format_time(base + m * h), "name": format!("N{name}")});
            // An abbreviated row without the mapped field: unknown, never blank.
            if *name == 2 { r.as_object_mut().unwrap().remove("name"); }
            if *with_ref { r["transactionSource"] = json!("P"); r["transactionId"] = json!(format!("t{id}")); }
            r
        }).collect();
        let mut seen_vid = HashSet::new();
        let stored_json: Vec<Value> = stored.iter().enumerate().filter_map(|(i, (vid, state, m, looked, name, base_same))| {
            if let Some(v) = vid { if !seen_vid.insert(*v) { return None; } }
            let states = ["in-sync", "partner-pending", "virtuous-pending", "conflict"];
            let mut r = json!({"customerId": "c", "kind": "gift", "partnerId": format!("p{i}"), "state": states[*state as usize],
                "virtuousModifiedMs": base + m * h, "pendingSinceMs": base,
                "externalRef": {"source": "p", "id": format!("t{}", (i + usize::from(*name)) % 8)}});
            if let Some(v) = vid { r["virtuousId"] = json!(v.to_string()); }
            if *base_same { r["base"] = json!({"name": virtuous_sync::sync::field_digest(&json!("N0"), virtuous_sync::sync::FieldType::Plain)}); }
            let mut s = json!({"record": r, "partner": {"values": {"name": format!("N{name}")}}});
            if *looked { s["lookup"] = json!({"found": i % 2 == 0, "atMs": base + h}); }
            Some(s)
        }).collect();
        let options = virtuous_sync::sync::SyncOptions::from_json(
            r#"{"platformName":"P","customerId":"c","fieldMaps":{"gift":[{"name":"name","pointer":"/name"}]}}"#).unwrap();
        let mut cfg = json!({"resource": "gift", "breaker": {"maxShare": 0.2, "minCount": 1}});
        if let Some(t) = total { cfg["totalRecords"] = json!(t); }
        let input: ReconcileInput = serde_json::from_value(json!({
            "config": cfg, "rows": rows_json, "stored": stored_json, "nowMs": base + now_h * h})).unwrap();
        let plan = plan_reconciliation(&options, &input).unwrap();
        let mut row_items = HashSet::new();
        let mut partner_items = HashSet::new();
        let mut lookups = 0u64;
        for it in &plan.items {
            if it.request.is_some() { lookups += 1; }
            if let Some(r) = it.row { prop_assert!(row_items.insert(r), "row {} planned twice", r); }
            if let Some(p) = &it.partner_id {
                if it.kind != ItemKind::DuplicateInVirtuous {
                    prop_assert!(partner_items.insert(p.clone()), "{} planned twice", p);
                }
            }
            match it.kind {
                ItemKind::LookUpPending | ItemKind::FetchFullRecord => prop_assert!(it.request.is_some()),
                ItemKind::ConfirmPending => prop_assert!(it.virtuous_id.is_some() || it.reason == ItemReason::ConfirmedByLookup),
                ItemKind::MissedChange => {
                    let ev = it.event.as_ref().unwrap();
                    prop_assert_eq!(ev.resource_id.as_ref(), it.virtuous_id.as_ref());
                }
                ItemKind::ResolveDrift | ItemKind::Conflict => {
                    prop_assert!(it.kind == ItemKind::Conflict || !plan.halted);
                    // A field absent from the row is never resolved (least of all to blank).
                    let row = &rows_json[it.row.unwrap() as usize];
                    for f in &it.fields { prop_assert!(row.get(&f.field).is_some(), "{} resolved from an absent field", f.field); }
                }
                _ => {}
            }
        }
        prop_assert_eq!(plan.request_cost, lookups);
        prop_assert_eq!(plan.halted, plan.breaker.as_ref().is_some_and(|b| b.tripped));
        let counted: u64 = plan.counts.items.values().sum();
        prop_assert_eq!(counted, plan.items.len() as u64);
    }
}
