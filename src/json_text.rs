//! JSON text written directly, byte for byte what `serde_json::to_string` writes for the same value.
//!
//! The results the npm adapter hands to JavaScript travel as JSON text (one `JSON.parse` instead of
//! one call per field). In the size-optimised wasm build `serde_json`'s generic serialiser is
//! compiled at opt-level "z" and was the largest single cost of a small receipt; these writers are
//! used where that showed (the receipt, a verification, the matcher's plan pages), and each is
//! tested against `serde_json` byte for byte. A leaf: it imports nothing of the crate.

/// Appends `s` as a JSON string, escaped exactly as `serde_json` escapes it (`"`, `\\`, and the
/// control characters: `\b \f \n \r \t` by name, the others as `\u00xx`; nothing else).
pub(crate) fn push_str(out: &mut String, s: &str) {
    out.push('"');
    let mut from = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let named = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(from..i).unwrap_or(""));
        if named.is_empty() {
            out.push_str("\\u00");
            push_hex(out, &[b]);
        } else {
            out.push_str(named);
        }
        from = i + 1;
    }
    out.push_str(s.get(from..).unwrap_or(""));
    out.push('"');
}

/// Appends `bytes` in lower-case hex (what `hex::encode` gives), 32 bytes at a time through a
/// buffer. A plain nibble loop: `hex`'s own encoders index through an iterator of positions and
/// made the matcher's plan pages 12–20 % slower to finish in the size-optimised build.
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 64];
    for chunk in bytes.chunks(32) {
        for (pair, &b) in buf.chunks_exact_mut(2).zip(chunk) {
            for (slot, nibble) in pair.iter_mut().zip([b >> 4, b & 15]) {
                *slot = HEX.get(usize::from(nibble)).copied().unwrap_or(b'0');
            }
        }
        let text = buf.get(..chunk.len() * 2).unwrap_or(&[]);
        out.push_str(core::str::from_utf8(text).unwrap_or(""));
    }
}

/// An object being written: its fields in order, each key a fixed ASCII name (written as it is).
pub(crate) struct Object<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Object<'a> {
    /// Opens an object in `out`.
    pub(crate) fn open(out: &'a mut String) -> Object<'a> {
        out.push('{');
        Object { out, first: true }
    }

    /// Writes `"key":` (after a comma but for the first field) and hands back the text for the value.
    pub(crate) fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.out
    }

    /// A string field.
    pub(crate) fn str(&mut self, key: &str, value: &str) {
        push_str(self.key(key), value);
    }

    /// A string field, left out when `None` (`skip_serializing_if = "Option::is_none"`).
    pub(crate) fn opt_str(&mut self, key: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.str(key, value);
        }
    }

    /// A boolean field.
    pub(crate) fn bool(&mut self, key: &str, value: bool) {
        self.key(key).push_str(if value { "true" } else { "false" });
    }

    /// An unsigned integer field (formatted by `itoa`, as `serde_json` formats it).
    pub(crate) fn uint(&mut self, key: &str, value: u64) {
        let mut digits = itoa::Buffer::new();
        self.key(key).push_str(digits.format(value));
    }

    /// Closes the object.
    pub(crate) fn close(self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn strings_are_escaped_as_serde_json_does(s in any::<String>(), c in 0u32..0x80) {
            let s = format!("{s}{}{s}", char::from_u32(c).unwrap_or('x'));
            let mut out = String::new();
            push_str(&mut out, &s);
            prop_assert_eq!(out, serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn hex_is_hex_encode(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut out = String::new();
            push_hex(&mut out, &bytes);
            prop_assert_eq!(out, hex::encode(&bytes));
        }

        #[test]
        fn integers_are_written_as_serde_json_does(n in any::<u64>()) {
            let mut out = String::new();
            let mut o = Object::open(&mut out);
            o.uint("n", n);
            o.close();
            prop_assert_eq!(out, serde_json::to_string(&serde_json::json!({"n": n})).unwrap());
        }
    }

    #[test]
    fn every_control_character_and_the_edges() {
        for c in (0u32..0x80).chain([0x7f, 0x80, 0x2028, 0xfeff, 0x1f600]) {
            let s = char::from_u32(c).unwrap().to_string();
            let mut out = String::new();
            push_str(&mut out, &s);
            assert_eq!(out, serde_json::to_string(&s).unwrap(), "U+{c:04X}");
        }
        for n in [0, 9, 10, 99, 100, u64::from(u32::MAX), u64::MAX] {
            let mut out = String::new();
            let mut o = Object::open(&mut out);
            o.uint("n", n);
            o.close();
            assert_eq!(out, format!("{{\"n\":{n}}}"));
        }
    }
}
