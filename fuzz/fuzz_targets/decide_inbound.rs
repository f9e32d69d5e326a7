//! Any JSON input to the `decideInbound` operation (seeded with the shared vectors' inputs): any outcome but a panic.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::op("decideInbound", data));
