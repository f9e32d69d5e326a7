//! Request headers as the host received them.
//!
//! Kept as ordered pairs rather than a map so that repeated headers survive: a delivery with two
//! signature headers must be seen as such, not silently reduced to the first or last one.

/// Ordered `(name, value)` pairs with case-insensitive lookup.
///
/// Every name and value lives in one string, with the pairs as byte ranges into it: a proxy's ten to
/// twenty headers are two allocations per delivery instead of two per header.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    text: String,
    /// `(name start, value start, value end)` in `text`; a name ends where its value starts.
    pairs: Vec<(usize, usize, usize)>,
}

impl core::fmt::Debug for Headers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Headers")
            .field("pairs", &self.iter().collect::<Vec<_>>())
            .finish()
    }
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one header; repeats are kept in order.
    pub fn append(&mut self, name: &str, value: &str) {
        let start = self.text.len();
        self.text.push_str(name);
        let mid = self.text.len();
        self.text.push_str(value);
        self.pairs.push((start, mid, self.text.len()));
    }

    /// Every value of `name` (ASCII case-insensitive), in the order received.
    pub fn get_all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.iter()
            .filter(move |(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The first value of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// How many pairs there are.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        // The ranges are the ones `append` wrote, at char boundaries of `text`: `get` never misses.
        self.pairs.iter().map(|&(start, mid, end)| {
            (
                self.text.get(start..mid).unwrap_or_default(),
                self.text.get(mid..end).unwrap_or_default(),
            )
        })
    }
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for Headers {
    fn from_iter<T: IntoIterator<Item = (N, V)>>(iter: T) -> Self {
        let mut h = Headers::new();
        for (n, v) in iter {
            h.append(n.as_ref(), v.as_ref());
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_keeps_repeats() {
        let h: Headers = [("X-Sig", "a"), ("content-type", "json"), ("x-sig", "b")]
            .into_iter()
            .collect();
        assert_eq!(h.get("x-SIG"), Some("a"));
        assert_eq!(h.get_all("X-SIG").collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(h.get("missing"), None);
        assert_eq!(h.len(), 3);
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            vec![("X-Sig", "a"), ("content-type", "json"), ("x-sig", "b")]
        );
    }

    #[test]
    fn empty_names_and_values_keep_their_places() {
        let h: Headers = [("", "a"), ("b", ""), ("", ""), ("é", "ü")]
            .into_iter()
            .collect();
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            vec![("", "a"), ("b", ""), ("", ""), ("é", "ü")]
        );
        assert_eq!(
            format!("{h:?}"),
            r#"Headers { pairs: [("", "a"), ("b", ""), ("", ""), ("é", "ü")] }"#
        );
        let other: Headers = [("", "a"), ("b", ""), ("", ""), ("é", "ü")]
            .into_iter()
            .collect();
        assert_eq!(h, other);
        // The same text split at other places is other headers.
        let ab_cd: Headers = [("a", "b"), ("c", "d")].into_iter().collect();
        let a_bc_d: Headers = [("a", "bc"), ("", "d")].into_iter().collect();
        assert_ne!(ab_cd, a_bc_d);
    }
}
