//! Any bytes and headers into `SyncCore::receive`, under every configuration of the receive vectors.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((setup, rest)) = common::pick(data) else {
        return;
    };
    let (headers, body) = common::split_delivery(rest);
    let receipt = setup.core.receive(body, &headers, setup.now_ms);
    common::check_receipt(setup, &receipt, rest);
});
