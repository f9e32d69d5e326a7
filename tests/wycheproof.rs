//! Wycheproof HMAC-SHA256 vectors (tests/vectors/wycheproof/, Apache-2.0, licence beside them).
//! Every 256-bit-tag case must verify as labelled; every truncated (128-bit) tag must be rejected,
//! valid or not, because the verifier never accepts a truncated tag.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use virtuous_sync::receive::signature::{hmac_sha256, verify_tag};

#[test]
fn wycheproof_hmac_sha256() {
    let file = common::load(
        &common::vectors_dir()
            .join("wycheproof")
            .join("wycheproof-hmac-sha256.json"),
    );
    let (mut full, mut truncated) = (0, 0);
    for group in file["testGroups"].as_array().unwrap() {
        let tag_bits = group["tagSize"].as_u64().unwrap();
        for t in group["tests"].as_array().unwrap() {
            let id = t["tcId"].as_u64().unwrap();
            let key = hex::decode(t["key"].as_str().unwrap()).unwrap();
            let msg = hex::decode(t["msg"].as_str().unwrap()).unwrap();
            let tag = hex::decode(t["tag"].as_str().unwrap()).unwrap();
            let valid = t["result"].as_str().unwrap() == "valid";
            if tag_bits == 256 {
                full += 1;
                assert_eq!(verify_tag(&key, &msg, &tag), valid, "tcId {id}");
                if valid {
                    assert_eq!(
                        hmac_sha256(&key, &msg).as_slice(),
                        tag.as_slice(),
                        "tcId {id}"
                    );
                }
            } else {
                truncated += 1;
                assert!(
                    !verify_tag(&key, &msg, &tag),
                    "tcId {id}: truncated tag accepted"
                );
                if valid {
                    // The label is right: the truncated tag is a prefix of the full one.
                    assert!(hmac_sha256(&key, &msg).starts_with(&tag), "tcId {id}");
                }
            }
        }
    }
    assert_eq!((full, truncated), (87, 87));
}
