//! Any operation of the by-name table (`ops::OPERATIONS`), above all those with no target of their own: the Raise
//! and Volunteer planners, the query run's ends, merges, deletions, pause/resume, rotation, pricing, responses,
//! transitions. The input is the operation's npm name, a NUL byte, then its JSON input (seeded with every vector
//! case of those operations; a new operation in the table is reached as soon as a vector names it). Any outcome
//! but a panic.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let cut = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (name, rest) = data.split_at(cut);
    let Ok(name) = std::str::from_utf8(name) else {
        return;
    };
    if virtuous_sync::ops::OPERATIONS.contains(&name) {
        common::op(name, rest.get(1..).unwrap_or(&[]));
    }
});
