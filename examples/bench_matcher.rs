//! Native benchmark of the initial matcher: 10k, 100k and 1M contacts per side, generated
//! deterministically with realistic overlaps, fed in chunks, timed, with peak memory (VmHWM).
//!
//! `cargo run --release --example bench_matcher` (all sizes, each in its own process so the peak
//! memory is per size) or `... -- 100000` for one size. `MATCH_JSON=1` feeds each chunk as its
//! JSON text (`add_*_chunk_json`, the npm package's path; serialising excluded) and finishes with
//! `finish_compact` and the plan's JSON text page by page, as the npm adapter does.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;
use virtuous_sync::reconcile::matcher::{ExternalRef, InitialMatcher, MatchRecord};

const CHUNK: usize = 10_000;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

const FIRST: [&str; 12] = [
    "Ann", "Bob", "Carla", "Dmitri", "Eve", "Farah", "Gus", "Hana", "Ivo", "June", "Kofi", "Lena",
];

/// Which population index `i` belongs to (per 20): 6 reference matches, 6 email matches,
/// 2 households (two partner donors sharing the household email), 2 name+postal matches,
/// 2 partner-only, 2 Virtuous-only.
fn kind(i: usize) -> usize {
    i % 20
}

fn name(i: usize) -> String {
    format!("{} Family{}", FIRST[i % FIRST.len()], i)
}

fn partner(i: usize, rng: &mut Rng) -> MatchRecord {
    let mut r = MatchRecord {
        id: format!("p{i}"),
        ..MatchRecord::default()
    };
    let k = kind(i);
    let noise = rng.next();
    match k {
        0..=5 => {
            r.references = vec![ExternalRef {
                source: "PartnerPlatform".into(),
                id: format!("p{i}"),
            }];
            r.emails = vec![format!("ref{i}@example.org")];
        }
        6..=11 => {
            r.emails = vec![if noise.is_multiple_of(2) {
                format!("  Donor{i}@Example.org ")
            } else {
                format!("donor{i}@example.org")
            }]
        }
        12 | 13 => r.emails = vec![format!("household{}@example.org", i - (k - 12))],
        14 | 15 => {
            r.names = vec![name(i)];
            r.postal_codes = vec![format!("{:05}-1234", i % 100_000)];
        }
        16 | 17 => r.emails = vec![format!("ponly{i}@example.org")],
        _ => r.emails = vec![format!("pother{i}@example.org")],
    }
    r.names.push(format!("Person {}", noise % 1000));
    r.data = Some(serde_json::json!({"i": i, "n": noise % 97}));
    r
}

fn virtuous(i: usize, rng: &mut Rng) -> MatchRecord {
    let mut r = MatchRecord {
        id: format!("{}", 1_000_000 + i),
        ..MatchRecord::default()
    };
    let k = kind(i);
    let noise = rng.next();
    match k {
        0..=5 => {
            r.references = vec![ExternalRef {
                source: "partnerplatform".into(),
                id: format!("p{i}"),
            }];
            r.emails = vec![format!("other{i}@example.org")];
        }
        6..=11 => r.emails = vec![format!("donor{i}@example.org")],
        12 => {
            r.emails = vec![
                format!("household{i}@example.org"),
                format!("kid{i}@example.org"),
            ]
        }
        14 | 15 => {
            r.names = vec![name(i), format!("Partner Of{i}")];
            r.postal_codes = vec![format!("{:05}", i % 100_000)];
        }
        _ => r.emails = vec![format!("vonly{i}@example.org")],
    }
    r.phones = vec![format!("555{:07}", noise % 10_000_000)];
    r.data = Some(serde_json::json!({"id": 1_000_000 + i}));
    r
}

fn vm_hwm_kb() -> u64 {
    status_kb("VmHWM:")
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn run(n: usize) {
    let mut m = if std::env::var_os("NO_CAPACITY").is_some() {
        InitialMatcher::new()
    } else {
        InitialMatcher::with_capacity(n, n)
    };
    let mut rp = Rng(0x9E37_79B9_7F4A_7C15);
    let mut rv = Rng(0xD1B5_4A32_D192_ED03);
    let mut feed = std::time::Duration::ZERO;
    let json = std::env::var_os("MATCH_JSON").is_some();
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK).min(n);
        let pc: Vec<MatchRecord> = (start..end).map(|i| partner(i, &mut rp)).collect();
        let vc: Vec<MatchRecord> = (start..end).map(|i| virtuous(i, &mut rv)).collect();
        if json {
            let (pt, vt) = (
                serde_json::to_string(&pc).unwrap(),
                serde_json::to_string(&vc).unwrap(),
            );
            let t = Instant::now();
            m.add_partner_chunk_json(&pt).unwrap();
            m.add_virtuous_chunk_json(&vt).unwrap();
            feed += t.elapsed();
        } else {
            let t = Instant::now();
            m.add_partner_chunk(&pc).unwrap();
            m.add_virtuous_chunk(&vc).unwrap();
            feed += t.elapsed();
        }
        start = end;
    }
    let after_feed_kb = status_kb("VmRSS:");
    let t = Instant::now();
    if json {
        // The npm adapter's finish: the compact plan, then its sections as JSON text in pages.
        const PAGE: usize = 16_384;
        let f = m.finish_compact();
        let mut bytes = 0usize;
        let mut start = 0;
        while start < f.pair_count() {
            bytes += serde_json::to_string(&f.pairs_page(start, PAGE))
                .unwrap()
                .len();
            start += PAGE;
        }
        start = 0;
        while start < f.review_count() {
            bytes += serde_json::to_string(&f.review_page(start, PAGE))
                .unwrap()
                .len();
            start += PAGE;
        }
        bytes += serde_json::to_string(&f.partner_only()).unwrap().len();
        bytes += serde_json::to_string(&f.virtuous_only()).unwrap().len();
        println!(
            "{n:>9} per side | compact finish + plan text ({} MiB) {:.2} s",
            bytes >> 20,
            t.elapsed().as_secs_f64()
        );
    }
    let t = Instant::now();
    let plan = m.finish();
    let finish = t.elapsed();
    let c = &plan.counts;
    println!(
        "{n:>9} per side | feed {:>7.2} s | finish {:>6.2} s | total {:>7.2} s | peak RSS {:>6} MiB (after feed {} MiB) | pairs ref/email/strong {}/{}/{} | review items {} | partner-only {} | virtuous-only {}",
        feed.as_secs_f64(),
        finish.as_secs_f64(),
        (feed + finish).as_secs_f64(),
        vm_hwm_kb() / 1024,
        after_feed_kb / 1024,
        c.pairs_by_tier[0],
        c.pairs_by_tier[1],
        c.pairs_by_tier[2],
        plan.review.len(),
        plan.partner_only.len(),
        plan.virtuous_only.len(),
    );
    // Sanity: every record covered once.
    let covered_p = plan.pairs.len()
        + plan.partner_only.len()
        + plan
            .review
            .iter()
            .map(|r| r.partner_ids.len())
            .sum::<usize>();
    assert_eq!(covered_p, n);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(n) = args.get(1).and_then(|a| a.parse::<usize>().ok()) {
        run(n);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for n in [10_000usize, 100_000, 1_000_000] {
        let status = std::process::Command::new(&exe)
            .arg(n.to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
}
