//! Reconciliation: what the webhooks missed, found by querying Virtuous on a schedule, and the
//! planners a host runs around it. Each part decides one thing:
//!
//! | module | decides |
//! |---|---|
//! | [`plan`] (re-exported here) | one page of query results against the stored records: missed changes, stuck writes, drift, conflicts |
//! | [`cursor`] | the query cursor: which page to ask for next, when a run may advance the stored cursor |
//! | [`matcher`] | the initial match of both sides' records (streaming, chunk by chunk) |
//! | [`merge`] | the remap plan for merged contacts (chains followed, cycles refused) |
//! | [`deletion`] | two-phase tombstones and the breaker for mass deletions and overwrites |
//! | [`subscription`] | the webhook subscription's GET-then-PUT merge, pause, resume, secret rotation |
//! | [`ratelimit`] | the per-organisation request budget |
//! | [`response`] | what a host does with one Virtuous response |
//!
//! It applies the sync module's rules (record state, field merge) in bulk; it knows nothing of
//! receiving.

pub mod cursor;
pub mod deletion;
pub mod matcher;
pub mod merge;
pub mod plan;
pub mod ratelimit;
pub mod response;
pub mod subscription;

pub use plan::*;
