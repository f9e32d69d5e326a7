//! Writes and checks `pkg/types.d.ts`: the TypeScript declarations of every serde type the npm package
//! hands over or takes, generated from the Rust types by `ts-rs` (feature `ts`). `pkg/index.d.ts` keeps
//! only what cannot come from a Rust type (the classes and functions, the byte and header inputs, the
//! configuration read by hand) and re-exports these.
//!
//! `cargo test --features ts --test ts_types` fails when the committed file is not what the Rust types
//! produce; `TS_WRITE_TYPES=1` rewrites it after a deliberate change (scripts/test runs the check).
//!
//! A serde type the package hands over carries `#[cfg_attr(feature = "ts", derive(ts_rs::TS),
//! ts(optional_fields))]` (an `Option` field becomes `name?: T`); a field with a serde default that
//! inputs may omit, `ts(optional = nullable)` (`name?: T`, no `null` unless the type says so); a `String`
//! holding a closed set of codes, `ts(type = "\"a\" | \"b\"")`, so the union stays closed. A type
//! reachable from `roots` without the derive does not compile.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use ts_rs::{Config, TypeVisitor, TS};
use virtuous_sync::receive::signature;
use virtuous_sync::reconcile::{
    self, cursor, deletion, matcher, merge, ratelimit, response, subscription,
};
use virtuous_sync::{raise, sync, timestamp};

/// Every type reachable from these is declared (their fields' types, recursively).
fn roots(v: &mut Collect) {
    v.visit::<virtuous_sync::Receipt>();
    v.visit::<signature::Verification>();
    v.visit::<signature::Signed>();
    v.visit::<sync::LookupKeys>();
    v.visit::<sync::InboundDecision>();
    v.visit::<sync::OutboundDecision>();
    v.visit::<sync::PartnerChange>();
    v.visit::<sync::ResolveInput>();
    v.visit::<sync::Resolution>();
    v.visit::<sync::ConflictResolution>();
    v.visit::<sync::Choice>();
    v.visit::<sync::Trigger>();
    v.visit::<sync::SyncState>();
    v.visit::<sync::SyncOptions>();
    v.visit::<sync::FieldSpec>();
    v.visit::<sync::Policy>();
    v.visit::<sync::UpdateMode>();
    v.visit::<sync::UndatedEvents>();
    v.visit::<sync::UnstampedCreates>();
    v.visit::<sync::NameMatch>();
    v.visit::<reconcile::ReconcileInput>();
    v.visit::<reconcile::ReconciliationPlan>();
    v.visit::<cursor::RunStep>();
    v.visit::<cursor::QueryCursor>();
    v.visit::<cursor::CursorConfig>();
    v.visit::<deletion::DeletionInput>();
    v.visit::<deletion::DeletionPlan>();
    v.visit::<matcher::MatchRecord>();
    v.visit::<matcher::MatchPlan>();
    v.visit::<matcher::MatchProgress>();
    v.visit::<merge::MergeInput>();
    v.visit::<merge::MergeRemapPlan>();
    v.visit::<subscription::SubscriptionChange>();
    v.visit::<subscription::SubscriptionPlan>();
    v.visit::<subscription::PausePlan>();
    v.visit::<subscription::ResumePlan>();
    v.visit::<subscription::RotationInput>();
    v.visit::<subscription::RotationPlan>();
    v.visit::<ratelimit::RateBudgetConfig>();
    v.visit::<ratelimit::RateObservation>();
    v.visit::<ratelimit::RateRequest>();
    v.visit::<ratelimit::RateDecision>();
    v.visit::<ratelimit::BudgetSlice>();
    v.visit::<ratelimit::RateBudget>();
    v.visit::<ratelimit::PlanSize>();
    v.visit::<ratelimit::PlanPrice>();
    v.visit::<response::ResponseInput>();
    v.visit::<response::ResponseClassification>();
    v.visit::<timestamp::ParsedTime>();
    v.visit::<virtuous_sync::Product>();
    v.visit::<virtuous_sync::Action>();
    v.visit::<raise::subscription::RaiseSubscriptionInput>();
    v.visit::<raise::subscription::RaiseSubscriptionPlan>();
    v.visit::<raise::subscription::RaiseSetupInput>();
    v.visit::<raise::subscription::RaiseSetupPlan>();
    v.visit::<raise::event_types::RaiseLearnInput>();
    v.visit::<raise::event_types::RaiseLearnedLabels>();
    v.visit::<raise::logs::RaiseLogInput>();
    v.visit::<raise::logs::RaiseLogSummary>();
    v.visit::<virtuous_sync::volunteer::poll::StartPollInput>();
    v.visit::<virtuous_sync::volunteer::poll::AcceptPollPageInput>();
    v.visit::<virtuous_sync::volunteer::poll::PollStep>();
    v.visit::<virtuous_sync::volunteer::poll::PollEnd>();
    v.visit::<virtuous_sync::volunteer::budget::BudgetInput>();
    v.visit::<virtuous_sync::volunteer::budget::BudgetOutput>();
    v.visit::<virtuous_sync::volunteer::deletion::VolunteerDeletionInput>();
    v.visit::<virtuous_sync::volunteer::deletion::VolunteerDeletionPlan>();
}

/// Declarations by name; a name declared twice by two different types is an error.
struct Collect {
    cfg: Config,
    decls: BTreeMap<String, (String, String)>,
    /// Rust types already visited (the JSON value type refers to itself).
    seen: BTreeSet<&'static str>,
}

impl TypeVisitor for Collect {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if !self.seen.insert(std::any::type_name::<T>()) {
            return;
        }
        // Primitives, containers and `serde_json::Value` (declared as `unknown` below) have no declaration.
        if T::output_path().is_none() || T::ident(&self.cfg) == "JsonValue" {
            T::visit_dependencies(self);
            T::visit_generics(self);
            return;
        }
        let name = T::ident(&self.cfg);
        let rust = std::any::type_name::<T>().to_owned();
        if let Some((other, _)) = self.decls.get(&name) {
            panic!("{other} and {rust} both declare {name}: rename one with #[ts(rename)]");
        }
        // ts-rs writes members flush left, with trailing spaces: indent them for reading.
        let decl = T::decl(&self.cfg);
        let mut lines = decl.lines().map(str::trim_end);
        let mut body = lines.next().unwrap_or_default().to_owned();
        for line in lines {
            body.push_str("\n  ");
            body.push_str(line);
        }
        let text = format!("{}export {body}", T::docs().unwrap_or_default());
        self.decls.insert(name, (rust, text));
        T::visit_dependencies(self);
    }
}

/// The generated file's text.
fn generate() -> String {
    // i64/u64 cross as JSON numbers (every integer the core hands over is within 2^53).
    let mut v = Collect {
        cfg: Config::new().with_large_int("number"),
        decls: BTreeMap::new(),
        seen: BTreeSet::new(),
    };
    roots(&mut v);
    let mut out = String::from(
        "// Generated by tests/ts_types.rs from the Rust types (ts-rs); do not edit.\n\
         // Regenerate: TS_WRITE_TYPES=1 cargo test --features ts --test ts_types\n\
         // Optional properties are absent (undefined) in results, never null. `unknown`: any JSON value.\n\n\
         // The one input no Rust type describes alone (stored states of every version): hand-written.\n\
         import type { StoredRecordState } from \"./index\";\n",
    );
    // Closed sets the Rust code lists as codes rather than as an enum.
    let codes: Vec<String> = virtuous_sync::SignatureError::ALL
        .iter()
        .map(|e| format!("{:?}", e.code()))
        .collect();
    out.push_str(&format!(
        "\n/**\n * Why a signature check failed (closed set).\n */\nexport type VerificationCode = {};\n",
        codes.join(" | ")
    ));
    for (_, text) in v.decls.values() {
        out.push('\n');
        // `serde_json::Value` is any JSON value: `unknown` to TypeScript, as the hand-written types had it.
        out.push_str(&text.replace("JsonValue", "unknown"));
        out.push('\n');
    }
    out
}

#[test]
fn committed_types_are_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pkg")
        .join("types.d.ts");
    let text = generate();
    if std::env::var("TS_WRITE_TYPES").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
    } else {
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == text,
            "{} is not what the Rust types produce: rerun with TS_WRITE_TYPES=1 (and check the diff)",
            path.display()
        );
    }
}
