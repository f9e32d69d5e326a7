//! The fast path of [`parse_lean`](super::envelope::parse_lean): one validating scan of the body's
//! text that builds the same kept levels as the serde_json path (the top object, the container,
//! the record, the record's scalars; below that empty placeholders of the same JSON type; below
//! the top only objects and the entries the envelope reads), without serde's per-value calls and
//! without decoding or converting what it only checks.
//!
//! It answers only when it is certain: `Some` only for a body serde_json accepts, with the same
//! tree; `None` for anything else and anything it does not judge itself (an error of any kind, a
//! `\u` escape in the surrogate range, a number that could be out of `f64` range, nesting past the
//! limit, a top level that is not an object). On `None` the serde_json path runs and decides,
//! with its exact error, line and column. So the scan may be stricter than serde_json, never
//! laxer: `lean_scan_agrees_with_serde` and the receive vectors hold it to that.

use serde_json::{Map, Value};

/// The body's top-level object with `levels` object levels kept, or `None` (see the module docs).
pub(super) fn scan(text: &str, levels: u8, limit: usize) -> Option<Map<String, Value>> {
    let mut s = Scan {
        b: text.as_bytes(),
        i: 0,
        limit,
        top_levels: levels,
    };
    s.ws();
    if s.peek()? != b'{' {
        return None;
    }
    let Value::Object(top) = s.kept(levels, 0)? else {
        return None;
    };
    s.ws();
    (s.i == s.b.len()).then_some(top)
}

/// Word-at-a-time constants for finding `"`, `\` or a control character in eight bytes.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
    limit: usize,
    /// The levels kept at the top: below it, only what [`super::envelope::lean_keeps`] names.
    top_levels: u8,
}

impl<'a> Scan<'a> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// JSON whitespace (the four characters serde_json skips).
    #[inline(always)]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.i += 1;
        }
    }

    /// `c` after optional whitespace, consumed.
    #[inline(always)]
    fn expect(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// A value at nesting `depth`, built as the serde_json path builds it with `levels` object
    /// levels left to keep.
    fn kept(&mut self, levels: u8, depth: usize) -> Option<Value> {
        self.ws();
        match self.peek()? {
            b'{' => {
                let depth = self.enter(depth)?;
                if levels == 0 {
                    self.skip_container(depth)?;
                    return Some(Value::Object(Map::new()));
                }
                self.i += 1;
                let mut out = Map::new();
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Some(Value::Object(out));
                }
                loop {
                    self.ws();
                    let key = self.owned_string()?;
                    self.expect(b':')?;
                    self.ws();
                    // Below the top, what the envelope does not read is checked and dropped (an
                    // earlier duplicate kept is overwritten with null, as the serde_json path does).
                    if levels < self.top_levels
                        && self.peek()? != b'{'
                        && !super::envelope::lean_keeps(&key, false)
                    {
                        self.skip_value(depth)?;
                        if out.contains_key(&key) {
                            out.insert(key, Value::Null);
                        }
                    } else {
                        let value = self.kept(levels - 1, depth)?;
                        out.insert(key, value);
                    }
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(Value::Object(out));
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                let depth = self.enter(depth)?;
                self.skip_container(depth)?;
                Some(Value::Array(Vec::new()))
            }
            b'"' => self.owned_string().map(Value::String),
            b't' => self.literal(b"true").map(|()| Value::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Value::Bool(false)),
            b'n' => self.literal(b"null").map(|()| Value::Null),
            _ => {
                let start = self.i;
                self.number()?;
                // The few kept numbers are read by serde_json itself: the same `Number`.
                let text = core::str::from_utf8(self.b.get(start..self.i)?).ok()?;
                serde_json::from_str(text).ok()
            }
        }
    }

    /// Checks one value that is not an object (a scalar or an array) and steps past it, building
    /// nothing: the same checks as [`Scan::kept`] makes of it.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'[' => {
                let depth = self.enter(depth)?;
                self.skip_container(depth)
            }
            b'"' => self.string().map(|_| ()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    /// The nesting of a container opened at `depth`, within the limit.
    #[inline(always)]
    fn enter(&self, depth: usize) -> Option<usize> {
        let depth = depth + 1;
        (depth <= self.limit).then_some(depth)
    }

    #[inline(always)]
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// A string, decoded: as it is when it has no escape, else by serde_json (same decoding).
    #[inline(always)]
    fn owned_string(&mut self) -> Option<String> {
        let start = self.i;
        let escaped = self.string()?;
        let quoted = core::str::from_utf8(self.b.get(start..self.i)?).ok()?;
        if escaped {
            // Read as a `Value` (whose reader is in the build anyway), not a `String`: the typed
            // read's error messages would bring float formatting into the receive-only build.
            match serde_json::from_str(quoted).ok()? {
                Value::String(s) => Some(s),
                _ => None,
            }
        } else {
            quoted.get(1..quoted.len() - 1).map(str::to_owned)
        }
    }

    /// Checks a string at `"` and steps past it; `true` when it holds an escape. Refuses control
    /// characters, unknown escapes, bad hex and (not judged here) surrogate escapes.
    #[inline(always)]
    fn string(&mut self) -> Option<bool> {
        if self.peek()? != b'"' {
            return None;
        }
        self.i += 1;
        let mut escaped = false;
        loop {
            self.skip_plain();
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(escaped);
                }
                b'\\' => {
                    escaped = true;
                    self.i += 1;
                    match self.peek()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => {
                            let hex = self.b.get(self.i + 1..self.i + 5)?;
                            let mut n = 0u32;
                            for &h in hex {
                                n = n * 16 + char::from(h).to_digit(16)?;
                            }
                            if matches!(n, 0xD800..=0xDFFF) {
                                return None;
                            }
                            self.i += 5;
                        }
                        _ => return None,
                    }
                }
                _ => return None, // a control character
            }
        }
    }

    /// Steps to the next `"`, `\` or control character (or the end), eight bytes at a time.
    #[inline(always)]
    fn skip_plain(&mut self) {
        while let Some(&[a, b, c, d, e, f, g, h]) = self.b.get(self.i..self.i + 8) {
            let c = u64::from_le_bytes([a, b, c, d, e, f, g, h]);
            let ctrl = c.wrapping_sub(ONES * 0x20);
            let q = c ^ (ONES * u64::from(b'"'));
            let quote = q.wrapping_sub(ONES) & !q;
            let bs = c ^ (ONES * u64::from(b'\\'));
            let backslash = bs.wrapping_sub(ONES) & !bs;
            let hits = (ctrl | quote | backslash) & !c & HIGHS;
            if hits != 0 {
                self.i += (hits.trailing_zeros() / 8) as usize;
                return;
            }
            self.i += 8;
        }
        while let Some(&b) = self.b.get(self.i) {
            if b == b'"' || b == b'\\' || b < 0x20 {
                return;
            }
            self.i += 1;
        }
    }

    /// Checks a number (JSON's grammar) and steps past it. Refuses, as not judged here, numbers
    /// whose magnitude could leave `f64`'s range (serde_json refuses those that do).
    #[inline(always)]
    fn number(&mut self) -> Option<()> {
        let start = self.i;
        if self.peek()? == b'-' {
            self.i += 1;
        }
        let int_digits = match self.peek()? {
            b'0' => {
                self.i += 1;
                0
            }
            b'1'..=b'9' => self.digits(),
            _ => return None,
        };
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        let mut exp = 0i64;
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            let negative = match self.peek()? {
                b'-' => {
                    self.i += 1;
                    true
                }
                b'+' => {
                    self.i += 1;
                    false
                }
                _ => false,
            };
            let from = self.i;
            if self.digits() == 0 || self.i - from > 4 {
                return None;
            }
            for &d in self.b.get(from..self.i)? {
                exp = exp * 10 + i64::from(d - b'0');
            }
            if negative {
                exp = -exp;
            }
        }
        // A digit right after (`01`) is serde_json's error; the caller checks every other follower.
        let magnitude = int_digits as i64 + exp;
        (self.i - start <= 100
            && matches!(magnitude, -300..=300)
            && !matches!(self.peek(), Some(b'0'..=b'9')))
        .then_some(())
    }

    /// Steps over ASCII digits; how many.
    #[inline(always)]
    fn digits(&mut self) -> usize {
        let from = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - from
    }

    /// Checks the array or object at `{` / `[` (already at nesting `depth`) and everything in it,
    /// without building anything, and steps past it. Iterative: one bit per open container
    /// (`true` for an object), at most the nesting limit (≤ 120) deep.
    fn skip_container(&mut self, depth: usize) -> Option<()> {
        let mut objects: u128 = 0;
        let mut open = 0u32;
        self.open(depth, &mut objects, &mut open)?;
        if open == 0 {
            return Some(());
        }
        loop {
            // A value.
            self.ws();
            match self.peek()? {
                b'{' | b'[' => {
                    if self.open(depth, &mut objects, &mut open)? {
                        continue;
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => self.number()?,
            }
            // After a value: a comma (then the next value, or key and value) or closings.
            loop {
                self.ws();
                let object = objects & 1 == 1;
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        if object {
                            self.ws();
                            self.member_key()?;
                        }
                        break;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                self.i += 1;
                objects >>= 1;
                open -= 1;
                if open == 0 {
                    return Some(());
                }
            }
        }
    }

    /// Enters the container at `self.i` (the `open`th inside one at nesting `depth`), and its first
    /// key if it is an object; `false` when it closes at once.
    #[inline(always)]
    fn open(&mut self, depth: usize, objects: &mut u128, open: &mut u32) -> Option<bool> {
        if depth + *open as usize > self.limit || *open >= 127 {
            return None;
        }
        let object = self.peek()? == b'{';
        self.i += 1;
        *objects = (*objects << 1) | u128::from(object);
        *open += 1;
        self.ws();
        let close = if object { b'}' } else { b']' };
        if self.peek()? == close {
            self.i += 1;
            *objects >>= 1;
            *open -= 1;
            return Some(false);
        }
        if object {
            self.member_key()?;
        }
        Some(true)
    }

    /// An object member's key and colon, at the key's `"`.
    #[inline(always)]
    fn member_key(&mut self) -> Option<()> {
        self.string()?;
        self.expect(b':')
    }
}
