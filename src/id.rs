//! Record ids as hosts and Virtuous give them: text, or an integer (Virtuous reports contact and
//! gift ids as JSON numbers in webhooks and query rows). An integer becomes its decimal text; text
//! is kept exactly as given, so an id handed back to the host is the id the host handed in.
//! Comparisons use [`key`] (surrounding whitespace ignored), never the output.

use core::fmt;
use serde::de::{self, Deserializer, Visitor};

struct IdText;

impl Visitor<'_> for IdText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id: a string or an integer")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// `#[serde(deserialize_with = "crate::id::text")]`: a string as given, an integer as decimal text.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(IdText)
}

struct CowIdText;

impl<'de> Visitor<'de> for CowIdText {
    type Value = std::borrow::Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id: a string or an integer")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_string()))
    }
}

/// [`text`] borrowing the string from the input when it can (the matcher's JSON chunks).
pub fn text_cow<'de, D: Deserializer<'de>>(d: D) -> Result<std::borrow::Cow<'de, str>, D::Error> {
    d.deserialize_any(CowIdText)
}

struct OptIdText;

impl<'de> Visitor<'de> for OptIdText {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id (a string or an integer) or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        text(d).map(Some)
    }
}

/// The optional form of [`text`] (use with `#[serde(default)]`).
pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_option(OptIdText)
}

/// The comparison key of an id: surrounding whitespace is not part of it.
pub fn key(id: &str) -> &str {
    id.trim()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "super::text")]
        id: String,
        #[serde(default, deserialize_with = "super::opt_text")]
        other: Option<String>,
    }

    #[test]
    fn text_or_integer_as_given() {
        let t: T = serde_json::from_value(json!({"id": " P1 ", "other": 101})).unwrap();
        assert_eq!((t.id.as_str(), t.other.as_deref()), (" P1 ", Some("101")));
        let t: T = serde_json::from_value(json!({"id": -7, "other": null})).unwrap();
        assert_eq!((t.id.as_str(), t.other), ("-7", None));
        let t: T = serde_json::from_value(json!({"id": "x"})).unwrap();
        assert_eq!(t.other, None);
        for bad in [
            json!({"id": 1.5}),
            json!({"id": true}),
            json!({"id": ["1"]}),
        ] {
            let e = serde_json::from_value::<T>(bad).err().unwrap().to_string();
            assert!(e.contains("a string or an integer"), "{e}");
        }
    }
}
