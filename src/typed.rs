//! The typed reading of a JSON value that names the offending field (`rows[3].modifiedDateTimeUtc`).
//!
//! Why not `serde_path_to_error` over `&serde_json::Value`: that crate wraps every deserializer,
//! visitor and access of the inner one in generic adapters, so each input type's `Deserialize`
//! code was compiled three times over (adapter, `&Value`, adapter of the adapter) and the
//! adapters made up about a quarter of the npm package's code. This is one deserializer over
//! `&Value` that keeps the path itself: the same behaviour as `serde_json`'s `&Value`
//! deserializer (the same calls into the visitors, the same `serde_json::Error` messages) and the
//! same path as `serde_path_to_error` (the innermost place an error passed, keys that were not
//! read as text shown as `?`). `tests` below compare both on every failure they can provoke.

use serde::de::{
    self, value::CowStrDeserializer, value::StrDeserializer, DeserializeOwned, DeserializeSeed,
    Deserializer, EnumAccess, MapAccess, SeqAccess, Unexpected, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Error, Map, Number, Value};
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt::Write as _;

/// Where the reader is: the parent chain of keys, indexes and enum variants.
#[derive(Clone, Copy)]
enum Chain<'a> {
    Root,
    Seq {
        parent: &'a Chain<'a>,
        index: usize,
    },
    Key {
        parent: &'a Chain<'a>,
        key: &'a str,
    },
    /// A key or variant that was not read as text (a numeric map key, an enum used as a key).
    Unknown {
        parent: &'a Chain<'a>,
    },
}

/// The path of the first (innermost) failure; later, outer failures keep it.
#[derive(Default)]
struct Track(Cell<Option<String>>);

impl Track {
    #[cold]
    #[inline(never)]
    fn trigger(&self, chain: &Chain<'_>, e: Error) -> Error {
        let set = self.0.take().unwrap_or_else(|| path(chain));
        self.0.set(Some(set));
        e
    }
}

/// `a.b[2].c`: keys joined with `.`, indexes in brackets; `""` at the root.
fn path(chain: &Chain<'_>) -> String {
    let mut segments = Vec::new();
    let mut at = chain;
    loop {
        match at {
            Chain::Root => break,
            Chain::Seq { parent, .. } | Chain::Key { parent, .. } | Chain::Unknown { parent } => {
                segments.push(at);
                at = parent;
            }
        }
    }
    let mut out = String::new();
    let mut separator = "";
    for segment in segments.iter().rev() {
        match segment {
            Chain::Seq { index, .. } => {
                let _ = write!(out, "[{index}]");
            }
            Chain::Key { key, .. } => {
                out.push_str(separator);
                out.push_str(key);
            }
            Chain::Unknown { .. } => {
                out.push_str(separator);
                out.push('?');
            }
            Chain::Root => {}
        }
        separator = ".";
    }
    out
}

/// Reads `value` as `T`. On failure: the path of the offending field under `name` (`""` reads a
/// whole-input object) and `serde_json`'s sentence, for the caller to wrap in its own error type.
pub(crate) fn typed<T: DeserializeOwned>(value: &Value, name: &str) -> Result<T, (String, String)> {
    let track = Track::default();
    T::deserialize(De {
        value,
        chain: &Chain::Root,
        track: &track,
    })
    .map_err(|e| failure(&track, name, &e))
}

/// The path under `name` and the sentence of a failed read (out of line: one copy, not one per type).
#[cold]
#[inline(never)]
fn failure(track: &Track, name: &str, e: &Error) -> (String, String) {
    let inner = track.0.take().unwrap_or_default();
    let path = match (name.is_empty(), inner.is_empty()) {
        (true, _) => inner,
        (false, true) => name.to_owned(),
        (false, false) if inner.starts_with('[') => format!("{name}{inner}"),
        (false, false) => format!("{name}.{inner}"),
    };
    (path, e.to_string())
}

/// What a JSON value is, for "invalid type" messages (as `serde_json` words them).
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => number_unexpected(n),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

fn number_unexpected(n: &Number) -> Unexpected<'static> {
    match (n.as_u64(), n.as_i64(), n.as_f64()) {
        (Some(u), _, _) => Unexpected::Unsigned(u),
        (None, Some(i), _) => Unexpected::Signed(i),
        (None, None, f) => Unexpected::Float(f.unwrap_or(f64::NAN)),
    }
}

#[cold]
fn invalid_type(value: &Value, exp: &dyn de::Expected) -> Error {
    de::Error::invalid_type(unexpected(value), exp)
}

/// A value at a place in the input.
#[derive(Clone, Copy)]
struct De<'de, 'c> {
    value: &'de Value,
    chain: &'c Chain<'c>,
    track: &'c Track,
}

impl De<'_, '_> {
    fn fail(self, e: Error) -> Error {
        self.track.trigger(self.chain, e)
    }
}

fn visit_array<'de, V: Visitor<'de>>(
    array: &'de [Value],
    visitor: V,
    chain: &Chain<'_>,
    track: &Track,
) -> Result<V::Value, Error> {
    let mut access = Seq {
        iter: array.iter(),
        index: 0,
        chain,
        track,
    };
    let seq = visitor.visit_seq(&mut access)?;
    if access.iter.len() == 0 {
        Ok(seq)
    } else {
        Err(de::Error::invalid_length(
            array.len(),
            &"fewer elements in array",
        ))
    }
}

fn visit_object<'de, V: Visitor<'de>>(
    object: &'de Map<String, Value>,
    visitor: V,
    chain: &Chain<'_>,
    track: &Track,
) -> Result<V::Value, Error> {
    let mut access = Object {
        iter: object.iter(),
        value: None,
        key: None,
        chain,
        track,
    };
    let map = visitor.visit_map(&mut access)?;
    if access.iter.len() == 0 {
        Ok(map)
    } else {
        Err(de::Error::invalid_length(
            object.len(),
            &"fewer elements in map",
        ))
    }
}

macro_rules! numbers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::Number(n) => n.deserialize_any(visitor),
                other => Err(invalid_type(other, &visitor)),
            }
            .map_err(|e| self.fail(e))
        }
    )*};
}

impl<'de> Deserializer<'de> for De<'de, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => n.deserialize_any(visitor),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(a) => visit_array(a, visitor, self.chain, self.track),
            Value::Object(o) => visit_object(o, visitor, self.chain, self.track),
        }
        .map_err(|e| self.fail(e))
    }

    numbers!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64);

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
        .map_err(|e| self.fail(e))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let access = |variant: &'de str, value: Option<&'de Value>| Enum {
            variant,
            value,
            chain: self.chain,
            track: self.track,
        };
        match self.value {
            Value::Object(o) => {
                let mut entries = o.iter();
                match (entries.next(), entries.next()) {
                    (Some((variant, value)), None) => {
                        visitor.visit_enum(access(variant, Some(value)))
                    }
                    _ => Err(de::Error::invalid_value(
                        Unexpected::Map,
                        &"map with a single key",
                    )),
                }
            }
            Value::String(variant) => visitor.visit_enum(access(variant, None)),
            other => Err(invalid_type(other, &"string or map")),
        }
        .map_err(|e| self.fail(e))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self).map_err(|e| self.fail(e))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Bool(b) => visitor.visit_bool(*b),
            other => Err(invalid_type(other, &visitor)),
        }
        .map_err(|e| self.fail(e))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::String(s) => visitor.visit_borrowed_str(s),
            other => Err(invalid_type(other, &visitor)),
        }
        .map_err(|e| self.fail(e))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(a) => visit_array(a, visitor, self.chain, self.track),
            other => Err(invalid_type(other, &visitor)),
        }
        .map_err(|e| self.fail(e))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            other => Err(invalid_type(other, &visitor)),
        }
        .map_err(|e| self.fail(e))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(a) => visit_array(a, visitor, self.chain, self.track),
            other => Err(invalid_type(other, &visitor)),
        }
        .map_err(|e| self.fail(e))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(o) => visit_object(o, visitor, self.chain, self.track),
            other => Err(invalid_type(other, &visitor)),
        }
        .map_err(|e| self.fail(e))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(o) => visit_object(o, visitor, self.chain, self.track),
            other => Err(invalid_type(other, &visitor)),
        }
        .map_err(|e| self.fail(e))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit().map_err(|e| self.fail(e))
    }
}

/// The elements of an array, each at its index.
struct Seq<'de, 'c> {
    iter: std::slice::Iter<'de, Value>,
    index: usize,
    chain: &'c Chain<'c>,
    track: &'c Track,
}

impl<'de> SeqAccess<'de> for Seq<'de, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let chain = Chain::Seq {
            parent: self.chain,
            index: self.index,
        };
        self.index += 1;
        match self.iter.next() {
            Some(value) => seed
                .deserialize(De {
                    value,
                    chain: &chain,
                    track: self.track,
                })
                .map(Some)
                .map_err(|e| self.track.trigger(&chain, e)),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The entries of an object, each value at its key.
struct Object<'de, 'c> {
    iter: serde_json::map::Iter<'de>,
    value: Option<&'de Value>,
    /// The current key as the path names it (see [`Key`]).
    key: Option<Cow<'de, str>>,
    chain: &'c Chain<'c>,
    track: &'c Track,
}

/// The place of an object's value: its key, or `?` when the key was not read as text.
fn entry<'a>(parent: &'a Chain<'a>, key: Option<&'a str>) -> Chain<'a> {
    match key {
        Some(key) => Chain::Key { parent, key },
        None => Chain::Unknown { parent },
    }
}

impl<'de> MapAccess<'de> for Object<'de, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        let taken = Cell::new(None);
        let read = seed.deserialize(Key {
            key,
            taken: Some(&taken),
        });
        self.key = taken.take();
        read.map(Some).map_err(|e| {
            let key = self.key.take();
            let chain = entry(self.chain, key.as_deref());
            self.track.trigger(&chain, e)
        })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let key = self.key.take();
        let chain = entry(self.chain, key.as_deref());
        match self.value.take() {
            Some(value) => seed
                .deserialize(De {
                    value,
                    chain: &chain,
                    track: self.track,
                })
                .map_err(|e| self.track.trigger(&chain, e)),
            None => Err(self
                .track
                .trigger(self.chain, de::Error::custom("value is missing"))),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// An object key, as `serde_json` reads it: text, or a number or boolean parsed from it. `taken`
/// receives the key as the path names it: the text, or the integer or boolean read from it
/// (as `serde_path_to_error` records it; a float or an enum key stays unnamed).
struct Key<'de, 'c> {
    key: &'de str,
    taken: Option<&'c Cell<Option<Cow<'de, str>>>>,
}

impl<'de, 'c> Key<'de, 'c> {
    fn take(&self, text: Cow<'de, str>) {
        if let Some(taken) = self.taken {
            taken.set(Some(text));
        }
    }

    /// The same key, no longer recording (a reader nested in an option or a newtype).
    fn untracked(&self) -> Key<'de, 'c> {
        Key {
            key: self.key,
            taken: None,
        }
    }
}

/// Records the integer or boolean a numeric key was read as, then hands it on.
struct Taken<'c, 'de, V> {
    visitor: V,
    taken: Option<&'c Cell<Option<Cow<'de, str>>>>,
}

impl<V> Taken<'_, '_, V> {
    fn note(&self, text: String) {
        if let Some(taken) = self.taken {
            taken.set(Some(Cow::Owned(text)));
        }
    }
}

macro_rules! noted {
    ($($method:ident($t:ty))*) => {$(
        fn $method<E: de::Error>(self, v: $t) -> Result<Self::Value, E> {
            self.note(v.to_string());
            self.visitor.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Taken<'_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.visitor.expecting(f)
    }

    noted!(visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64) visit_i128(i128)
        visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64) visit_u128(u128));

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.visitor.visit_f64(v)
    }
}

macro_rules! numeric_keys {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            // serde_json reads the key as one whole JSON number, nothing before or after it.
            if !matches!(self.key.as_bytes().first(), Some(b'0'..=b'9' | b'-')) {
                return Err(de::Error::custom(NOT_NUMERIC));
            }
            let mut de = serde_json::Deserializer::from_str(self.key);
            let number = de.$method(Taken { visitor, taken: self.taken })?;
            if de.end().is_err() || self.key.ends_with([' ', '\n', '\t', '\r']) {
                return Err(de::Error::custom(NOT_NUMERIC));
            }
            Ok(number)
        }
    )*};
}

/// `serde_json`'s sentence for a map key that should be a number and is not.
const NOT_NUMERIC: &str = "invalid value: expected key to be a number in quotes";

impl<'de> Deserializer<'de> for Key<'de, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.take(Cow::Borrowed(self.key));
        visitor.visit_borrowed_str(self.key)
    }

    numeric_keys!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64);

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.key {
            "true" | "false" => {
                self.take(Cow::Borrowed(self.key));
                visitor.visit_bool(self.key == "true")
            }
            other => Err(de::Error::invalid_type(Unexpected::Str(other), &visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self.untracked())
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self.untracked())
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        CowStrDeserializer::<Error>::new(Cow::Borrowed(self.key))
            .deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct
        map struct identifier ignored_any
    }
}

/// An enum's variant name (the string, or the one key of the object) and its content.
struct Enum<'de, 'c> {
    variant: &'de str,
    value: Option<&'de Value>,
    chain: &'c Chain<'c>,
    track: &'c Track,
}

impl<'de, 'c> EnumAccess<'de> for Enum<'de, 'c> {
    type Error = Error;
    type Variant = Variant<'de, 'c>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), Error> {
        let taken = Cell::new(false);
        let read = seed
            .deserialize(VariantName {
                name: self.variant,
                taken: &taken,
            })
            .map_err(|e| self.track.trigger(self.chain, e))?;
        let named = taken.get().then_some(self.variant);
        Ok((
            read,
            Variant {
                value: self.value,
                named,
                parent: self.chain,
                track: self.track,
            },
        ))
    }
}

/// A variant name, read as `serde`'s `StrDeserializer` reads it.
struct VariantName<'de, 'c> {
    name: &'de str,
    taken: &'c Cell<bool>,
}

impl<'de> Deserializer<'de> for VariantName<'de, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.taken.set(true);
        visitor.visit_str(self.name)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        StrDeserializer::<Error>::new(self.name).deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

/// An enum variant's content, at the variant's name.
struct Variant<'de, 'c> {
    value: Option<&'de Value>,
    named: Option<&'de str>,
    parent: &'c Chain<'c>,
    track: &'c Track,
}

impl<'de> Variant<'de, '_> {
    /// Runs `read` at the variant's place; a failure is tracked there.
    fn at<R>(
        self,
        read: impl FnOnce(Option<&'de Value>, &Chain<'_>, &Track) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let chain = entry(self.parent, self.named);
        read(self.value, &chain, self.track).map_err(|e| self.track.trigger(&chain, e))
    }
}

impl<'de> VariantAccess<'de> for Variant<'de, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        self.at(|value, _, _| match value {
            Some(value) => de::Deserialize::deserialize(value),
            None => Ok(()),
        })
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        self.at(|value, chain, track| match value {
            Some(value) => seed.deserialize(De {
                value,
                chain,
                track,
            }),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.at(|value, chain, track| match value {
            Some(Value::Array(a)) if a.is_empty() => visitor.visit_unit(),
            Some(Value::Array(a)) => visit_array(a, visitor, chain, track),
            Some(other) => Err(invalid_type(other, &"tuple variant")),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            )),
        })
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.at(|value, chain, track| match value {
            Some(Value::Object(o)) => visit_object(o, visitor, chain, track),
            Some(other) => Err(invalid_type(other, &"struct variant")),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    //! The reader against `serde_path_to_error` over `serde_json`'s `&Value` deserializer (what it
    //! replaced): the same value or the same path and sentence, on every object in the vector
    //! files and on mutations of those each input type accepts.
    use super::typed;
    use crate::ops::*;
    use crate::reconcile::{
        self, cursor, deletion, matcher, merge, ratelimit, response, subscription,
    };
    use crate::volunteer::{budget, deletion as vdeletion, poll};
    use serde::de::DeserializeOwned;
    use serde_json::{json, Value};
    use std::fmt::Debug;

    fn reference<T: DeserializeOwned>(value: &Value, name: &str) -> Result<T, (String, String)> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let inner = e.path().to_string();
            let path = match (name.is_empty(), inner == ".") {
                (true, true) => String::new(),
                (true, false) => inner,
                (false, true) => name.to_owned(),
                (false, false) if inner.starts_with('[') => format!("{name}{inner}"),
                (false, false) => format!("{name}.{inner}"),
            };
            (path, e.into_inner().to_string())
        })
    }

    #[derive(Default)]
    struct Tally {
        compared: usize,
        errors: usize,
        /// Arrays given where a struct belongs: refused by ours, read by position by the reference.
        arrays_refused: usize,
        mismatches: Vec<String>,
    }

    /// The value at a path this reader names (`in.a[2].b`), when every step exists.
    fn at_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
        let mut at = value;
        let mut rest = path.strip_prefix("in")?;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('[') {
                let (index, r) = r.split_once(']')?;
                at = at.as_array()?.get(index.parse::<usize>().ok()?)?;
                rest = r;
            } else {
                let r = rest.strip_prefix('.')?;
                let end = r.find(['.', '[']).unwrap_or(r.len());
                at = at.as_object()?.get(&r[..end])?;
                rest = &r[end..];
            }
        }
        Some(at)
    }

    /// Compares both readers on `value`; true when the reference accepts it. The one intended
    /// difference: an array where a struct belongs is refused at that place (serde would read
    /// its elements as the fields, in order), whatever the reference made of it.
    fn compare<T: DeserializeOwned + Debug>(value: &Value, tally: &mut Tally) -> bool {
        let ours = typed::<T>(value, "in").map(|t| format!("{t:?}"));
        let theirs = reference::<T>(value, "in").map(|t| format!("{t:?}"));
        tally.compared += 1;
        if theirs.is_err() {
            tally.errors += 1;
        }
        if let Err((path, message)) = &ours {
            if (message.starts_with("invalid type: sequence, expected struct ")
                || message.starts_with("invalid type: sequence, expected adjacently tagged enum "))
                && at_path(value, path).is_some_and(Value::is_array)
            {
                tally.arrays_refused += 1;
                return theirs.is_ok();
            }
        }
        if ours != theirs && tally.mismatches.len() < 20 {
            tally.mismatches.push(format!(
                "{}: {value}\n  ours   {ours:?}\n  theirs {theirs:?}",
                std::any::type_name::<T>()
            ));
        }
        theirs.is_ok()
    }

    /// Every value at every depth of `v`.
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        out.push(v);
        match v {
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }

    /// `v` with the node at each position replaced by odd values, each key dropped, and an
    /// unknown key added to each object.
    fn mutations(v: &Value) -> Vec<Value> {
        let odd = [
            Value::Null,
            json!(true),
            json!(0),
            json!(-1),
            json!(1.5),
            json!(1e300),
            json!(18446744073709551615u64),
            json!("x"),
            json!(""),
            json!([]),
            json!({}),
            json!([null]),
            json!({"zz": 0}),
            json!({"a": 1, "b": 2}),
        ];
        let mut out = Vec::new();
        for replacement in &odd {
            out.push(replacement.clone());
        }
        match v {
            Value::Array(a) => {
                for i in 0..a.len() {
                    for m in mutations(&a[i]) {
                        let mut c = a.clone();
                        c[i] = m;
                        out.push(Value::Array(c));
                    }
                }
            }
            Value::Object(o) => {
                for (k, child) in o {
                    for m in mutations(child) {
                        let mut c = o.clone();
                        c.insert(k.clone(), m);
                        out.push(Value::Object(c));
                    }
                    let mut c = o.clone();
                    c.remove(k);
                    out.push(Value::Object(c));
                }
                let mut c = o.clone();
                c.insert("zzUnknown".into(), json!(1));
                out.push(Value::Object(c));
            }
            _ => {}
        }
        out
    }

    fn vector_values() -> Vec<Value> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
        let mut files = Vec::new();
        let mut dirs = vec![root];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    if !p.ends_with("wycheproof") {
                        dirs.push(p);
                    }
                } else if p.extension().is_some_and(|x| x == "json") {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for f in files {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            let mut all = Vec::new();
            walk(&doc, &mut all);
            for v in all {
                if (v.is_object() || v.is_array()) && seen.insert(v.to_string()) {
                    out.push(v.clone());
                }
            }
        }
        out
    }

    /// Every object of the vectors against `T`; the first `seeds` it accepts (smallest first)
    /// mutated everywhere.
    fn check<T: DeserializeOwned + Debug>(values: &[Value], seeds: usize, tally: &mut Tally) {
        let mut accepted: Vec<&Value> = values.iter().filter(|v| compare::<T>(v, tally)).collect();
        accepted.sort_by_key(|v| v.to_string().len());
        for seed in accepted.iter().take(seeds) {
            for m in mutations(seed) {
                compare::<T>(&m, tally);
            }
        }
    }

    #[test]
    fn paths_and_sentences_match_serde_path_to_error() {
        let values = vector_values();
        let mut t = Tally::default();
        macro_rules! each {
            ($($ty:ty),* $(,)?) => {$( check::<$ty>(&values, 3, &mut t); )*};
        }
        each!(
            LookupKeysInput,
            DecideInboundInput,
            DecideOutboundInput,
            ResolveOpInput,
            TransitionInput,
            ResolveConflictInput,
            MergeSubscriptionInput,
            PauseInput,
            ResumeInput,
            ParseTimeInput,
            reconcile::ReconcileInput,
            cursor::StartRunInput,
            cursor::AcceptPageInput,
            cursor::QueryRun,
            merge::MergeInput,
            deletion::DeletionInput,
            subscription::RotationInput,
            ratelimit::PlanSize,
            ratelimit::RateBudgetConfig,
            ratelimit::RateBudget,
            ratelimit::RateObservation,
            ratelimit::RateRequest,
            response::ResponseInput,
            crate::raise::subscription::RaiseSubscriptionInput,
            crate::raise::event_types::RaiseLearnInput,
            crate::raise::logs::RaiseLogInput,
            poll::StartPollInput,
            poll::AcceptPollPageInput,
            poll::PollRun,
            budget::BudgetInput,
            vdeletion::VolunteerDeletionInput,
            crate::sync::SyncOptions,
            crate::sync::RecordState,
            Vec<matcher::MatchRecord>,
            std::collections::BTreeMap<crate::event::ResourceKind, Vec<u32>>,
            std::collections::BTreeMap<u16, String>,
            (u8, String),
        );
        assert!(
            t.mismatches.is_empty(),
            "{} of {} differ:\n{}",
            t.mismatches.len(),
            t.compared,
            t.mismatches.join("\n")
        );
        eprintln!(
            "{} compared, {} failures, {} arrays refused as structs",
            t.compared, t.errors, t.arrays_refused
        );
        assert!(
            t.compared - t.arrays_refused > 100_000
                && t.errors > 50_000
                && t.arrays_refused > 1_000,
            "{} / {} / {}",
            t.compared,
            t.errors,
            t.arrays_refused
        );
    }

    #[test]
    fn an_array_is_no_struct() {
        // serde's derive reads a struct from an array by position: `["c1", 5]` would fill the
        // first two fields. A host that passed an array by mistake gets an error naming the place.
        let row = json!({"platformName": "P", "customerId": "c1"});
        assert!(typed::<crate::sync::SyncOptions>(&row, "sync").is_ok());
        let top = typed::<crate::sync::SyncOptions>(&json!(["c1"]), "sync");
        let nested = json!({"nowMs": 1, "config": ["a"]});
        let inner = typed::<reconcile::ReconcileInput>(&nested, "");
        for (err, place) in [(top.unwrap_err(), "sync"), (inner.unwrap_err(), "config")] {
            assert_eq!(err.0, place);
            assert!(
                err.1
                    .starts_with("invalid type: sequence, expected struct "),
                "{}",
                err.1
            );
        }
    }
}
