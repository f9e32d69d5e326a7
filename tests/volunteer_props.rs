//! Property test for the Volunteer polling cursor (issue 17): a simulated VOMO server pages by
//! number in the adversarial order (`updated_at`, then id: an update moves a row to the end, so
//! unread rows slide back past a page boundary), while rows are updated and created between page
//! fetches, several runs in a row, then a quiet run. Every row's final version must have been
//! handed on by some run: no change is ever skipped, whatever moved under the pages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use virtuous_sync::reconcile::cursor::QueryCursor;
use virtuous_sync::timestamp::{format_time, parse_time};
use virtuous_sync::volunteer::poll::{PollConfig, PollMode, PollRun, VolunteerResource};

const BASE: &str = "https://api.vomo.org/v1";

/// What happens on the server before one page is served.
#[derive(Debug, Clone)]
enum Churn {
    Nothing,
    Update(usize),
    Insert,
    Delete(usize),
}

fn churn() -> impl Strategy<Value = Churn> {
    prop_oneof![
        4 => Just(Churn::Nothing),
        2 => (0usize..64).prop_map(Churn::Update),
        1 => Just(Churn::Insert),
        1 => (0usize..64).prop_map(Churn::Delete),
    ]
}

struct Server {
    rows: BTreeMap<u32, i64>, // id -> updated (ms, whole seconds)
    next_id: u32,
    now: i64,
    per_page: usize,
}

impl Server {
    fn apply(&mut self, c: &Churn) {
        match c {
            Churn::Nothing => {}
            Churn::Update(i) if !self.rows.is_empty() => {
                let id = *self.rows.keys().nth(i % self.rows.len()).unwrap();
                self.rows.insert(id, self.now);
            }
            Churn::Delete(i) if !self.rows.is_empty() => {
                let id = *self.rows.keys().nth(i % self.rows.len()).unwrap();
                self.rows.remove(&id);
            }
            Churn::Insert => {
                self.next_id += 1;
                self.rows.insert(self.next_id, self.now);
            }
            _ => {}
        }
    }

    fn serve(&self, url: &str) -> Value {
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let mut after = None;
        let mut page = 1usize;
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap();
            match k {
                "updated_after" => after = Some(parse_time(v).unwrap()),
                "page" => page = v.parse().unwrap(),
                _ => panic!("unexpected parameter {k}"),
            }
        }
        let mut hit: Vec<(i64, u32)> = self
            .rows
            .iter()
            .filter(|(_, &u)| after.is_none_or(|a| u >= a))
            .map(|(&id, &u)| (u, id))
            .collect();
        hit.sort();
        let total = hit.len();
        let last = total.div_ceil(self.per_page).max(1);
        let data: Vec<Value> = hit
            .iter()
            .skip((page - 1) * self.per_page)
            .take(self.per_page)
            .map(|(u, id)| json!({"id": id, "created_at": format_time(0), "updated_at": format_time(*u)}))
            .collect();
        let next = if page < last {
            json!(format!("{BASE}/users?page={}", page + 1))
        } else {
            Value::Null
        };
        json!({"data": data, "links": {"next": next}, "meta": {"current_page": page, "per_page": self.per_page, "total": total}})
    }
}

/// One run: pages fetched until done, churn applied before each fetch. The (id, updated) handed on.
fn run(
    server: &mut Server,
    cursor: &QueryCursor,
    churn: &mut dyn Iterator<Item = Churn>,
) -> (QueryCursor, Vec<(String, i64)>) {
    let config = PollConfig {
        overlap_ms: 1000,
        ..PollConfig::default()
    };
    let mut r = PollRun::start(
        VolunteerResource::Users,
        PollMode::Incremental,
        cursor,
        &config,
    )
    .unwrap()
    .started_at(Some(server.now));
    let mut handed = Vec::new();
    let mut guard = 0;
    while let Some(req) = r.next_request() {
        guard += 1;
        assert!(guard < 500, "the run does not end");
        server.now += 1000;
        if let Some(c) = churn.next() {
            server.apply(&c);
        }
        let body = server.serve(&req.url);
        let page = r.accept_page(&body).unwrap();
        for ch in page.changes {
            handed.push((ch.id, ch.updated_ms.unwrap()));
        }
    }
    (r.finish().unwrap().cursor, handed)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn no_change_is_skipped(
        initial in 0usize..25,
        per_page in 1usize..5,
        runs in proptest::collection::vec(proptest::collection::vec(churn(), 0..20), 1..5),
    ) {
        let mut server = Server { rows: BTreeMap::new(), next_id: 0, now: 1_700_000_000_000, per_page };
        for _ in 0..initial {
            server.apply(&Churn::Insert);
        }
        let mut cursor = QueryCursor::default();
        let mut seen: HashSet<(String, i64)> = HashSet::new();
        for churns in &runs {
            let mut it = churns.clone().into_iter();
            let (c, handed) = run(&mut server, &cursor, &mut it);
            // Whatever the run did not fetch a page for happens before the next run.
            for rest in it {
                server.apply(&rest);
            }
            cursor = c;
            seen.extend(handed);
        }
        // A quiet run: nothing moves.
        let (_, handed) = run(&mut server, &cursor, &mut std::iter::empty());
        seen.extend(handed);
        for (id, u) in &server.rows {
            prop_assert!(seen.contains(&(id.to_string(), *u)), "row {id} at {u} was never handed on");
        }
    }
}
