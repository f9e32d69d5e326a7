//! Where SHA-256 comes from. The core computes every HMAC and hash itself by default; a host with a
//! faster synchronous SHA-256 of its own (Node's `node:crypto`, native and SHA-NI-accelerated, beside
//! a wasm build without SIMD) may lend it through [`Sha256Host`]. Only the primitive is lent: the
//! HMAC construction, the key handling, the constant-time comparison and every decision stay here,
//! and a host that answers nothing (or the wrong length) leaves the built-in implementation in charge.

use sha2::{Digest, Sha256};

/// A SHA-256 the host supplies.
pub trait Sha256Host {
    /// SHA-256 of `head` followed by `body`, or `None` to use the built-in implementation.
    fn sha256(&self, head: &[u8], body: &[u8]) -> Option<[u8; 32]>;
}

/// No host implementation: always the built-in one.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltIn;

impl Sha256Host for BuiltIn {
    fn sha256(&self, _head: &[u8], _body: &[u8]) -> Option<[u8; 32]> {
        None
    }
}

/// SHA-256 of `head` then `body`, by the host when it answers, else built in.
pub(crate) fn sha256(host: &dyn Sha256Host, head: &[u8], body: &[u8]) -> [u8; 32] {
    host.sha256(head, body).unwrap_or_else(|| {
        let mut h = Sha256::new();
        h.update(head);
        h.update(body);
        h.finalize().into()
    })
}

/// The HMAC key block (RFC 2104: the key, or its SHA-256 when longer than a block, zero-padded)
/// XORed with the inner and the outer pad, so a host's plain SHA-256 can compute the HMAC.
#[derive(Clone)]
pub(crate) struct Pads {
    pub(crate) inner: [u8; 64],
    pub(crate) outer: [u8; 64],
}

impl Pads {
    pub(crate) fn new(key: &[u8]) -> Pads {
        let mut block = [0u8; 64];
        let digest: [u8; 32];
        let key = if key.len() > 64 {
            digest = Sha256::digest(key).into();
            &digest[..]
        } else {
            key
        };
        for (slot, b) in block.iter_mut().zip(key) {
            *slot = *b;
        }
        let mut pads = Pads {
            inner: [0x36; 64],
            outer: [0x5c; 64],
        };
        for ((i, o), b) in pads.inner.iter_mut().zip(pads.outer.iter_mut()).zip(&block) {
            *i ^= b;
            *o ^= b;
        }
        block.fill(0);
        pads
    }

    /// The key block the pads were made from (the key zero-padded, or its SHA-256 zero-padded).
    pub(crate) fn key_block(&self) -> [u8; 64] {
        let mut block = self.inner;
        for b in &mut block {
            *b ^= 0x36;
        }
        block
    }

    /// HMAC-SHA256 of `prefix` then `body`, the long inner hash by the host.
    pub(crate) fn hmac(
        &self,
        host: &dyn Sha256Host,
        prefix: &[u8],
        body: &[u8],
    ) -> Option<[u8; 32]> {
        let mut head = Vec::with_capacity(64 + prefix.len());
        head.extend_from_slice(&self.inner);
        head.extend_from_slice(prefix);
        let inner = host.sha256(&head, body);
        head.fill(0);
        let inner = inner?;
        let mut outer = Sha256::new();
        outer.update(self.outer);
        outer.update(inner);
        Some(outer.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};

    /// A "host" that is the built-in SHA-256 itself, to check the HMAC construction.
    struct Same;
    impl Sha256Host for Same {
        fn sha256(&self, head: &[u8], body: &[u8]) -> Option<[u8; 32]> {
            let mut h = Sha256::new();
            h.update(head);
            h.update(body);
            Some(h.finalize().into())
        }
    }

    #[test]
    fn host_hmac_equals_the_hmac_crate_for_every_key_length() {
        let body: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        for len in [0usize, 1, 31, 32, 63, 64, 65, 100, 128, 200] {
            let key: Vec<u8> = (0..len).map(|i| (i * 13 + 1) as u8).collect();
            for prefix in [&b""[..], b"1700000000.", b"msg_1.1700000000."] {
                let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
                mac.update(prefix);
                mac.update(&body);
                let want: [u8; 32] = mac.finalize().into_bytes().into();
                assert_eq!(
                    Pads::new(&key).hmac(&Same, prefix, &body),
                    Some(want),
                    "key {len}"
                );
            }
        }
    }

    /// The lazily keyed built-in HMAC of a prepared secret is keyed by the pads' key block.
    #[test]
    fn the_key_block_keys_the_same_hmac_as_the_key_for_every_length() {
        let body = b"{\"eventType\":\"GiftCreate\"}";
        for len in [0usize, 1, 31, 32, 63, 64, 65, 100, 128, 200] {
            let key: Vec<u8> = (0..len).map(|i| (i * 29 + 3) as u8).collect();
            let mut by_key = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            let mut by_block = Hmac::<Sha256>::new(&Pads::new(&key).key_block().into());
            by_key.update(body);
            by_block.update(body);
            assert_eq!(
                by_key.finalize().into_bytes(),
                by_block.finalize().into_bytes(),
                "key {len}"
            );
        }
    }

    #[test]
    fn a_silent_host_leaves_the_built_in_hash() {
        assert_eq!(Pads::new(b"k").hmac(&BuiltIn, b"", b"x"), None);
        assert_eq!(
            sha256(&BuiltIn, b"a", b"bc"),
            <[u8; 32]>::from(Sha256::digest(b"abc"))
        );
    }
}
