//! Reading mapped values out of Virtuous payloads and writing them into request bodies.
//!
//! Pointers are RFC 6901 JSON pointers, with one extension for arrays whose order means nothing
//! (the live contact shape's `contactMethods`): a segment `[key*=text]` selects the element whose
//! string property `key` contains `text` (ASCII case-insensitive), the one with `isPrimary: true`
//! first, else the first such element (`/contactIndividuals/0/contactMethods/[type*=Email]/value`).
//! A value absent at a field's pointer (and at its `alsoRead` pointers) is unknown, never null.

use super::options::FieldSpec;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// One decoded pointer segment (borrowed from the pointer unless it had to be unescaped: pointers
/// are read on every decision).
enum Segment<'p> {
    /// An object key or array index.
    Key(Cow<'p, str>),
    /// `[key*=text]`.
    Select { key: &'p str, text: &'p str },
}

fn segment(p: &str) -> Segment<'_> {
    let selector = p
        .strip_prefix('[')
        .and_then(|p| p.strip_suffix(']'))
        .and_then(|p| p.split_once("*="));
    match selector {
        Some((key, text)) => Segment::Select { key, text },
        None => Segment::Key(unescape(p)),
    }
}

/// An RFC 6901 reference token decoded (`~1` is `/`, `~0` is `~`).
fn unescape(p: &str) -> Cow<'_, str> {
    if p.contains('~') {
        Cow::Owned(p.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(p)
    }
}

fn segments(pointer: &str) -> impl Iterator<Item = Segment<'_>> {
    pointer.split('/').skip(1).map(segment)
}

fn selected(items: &[Value], key: &str, text: &str) -> Option<usize> {
    let wanted = text.to_ascii_lowercase();
    let matches = |v: &Value| {
        v.get(key)
            .and_then(Value::as_str)
            .is_some_and(|s| s.to_ascii_lowercase().contains(&wanted))
    };
    items
        .iter()
        .position(|v| matches(v) && v.get("isPrimary") == Some(&Value::Bool(true)))
        .or_else(|| items.iter().position(matches))
}

/// The value at `pointer` (with selector segments), if present.
pub fn read_pointer<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    let mut cur = value;
    for seg in segments(pointer) {
        cur = match (seg, cur) {
            (Segment::Key(k), Value::Object(m)) => m.get(k.as_ref())?,
            (Segment::Key(k), Value::Array(a)) => a.get(k.parse::<usize>().ok()?)?,
            (Segment::Select { key, text }, Value::Array(a)) => a.get(selected(a, key, text)?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// A field's value in a payload: at `pointer`, else at the first `alsoRead` pointer present.
pub fn read_field<'a>(spec: &FieldSpec, resource: &'a Value) -> Option<&'a Value> {
    read_pointer(resource, &spec.pointer).or_else(|| {
        spec.also_read
            .iter()
            .find_map(|p| read_pointer(resource, p))
    })
}

/// Set `value` at `pointer` in `body`, creating objects on the way; an existing array is indexed
/// (an index one past the end appends), a selector segment picks its element or appends
/// `{key: text}`. A path through a scalar replaces it with an object.
pub fn write_pointer(body: &mut Map<String, Value>, pointer: &str, value: Value) {
    let segs: Vec<Segment<'_>> = segments(pointer).collect();
    if segs.is_empty() {
        return;
    }
    let mut root = Value::Object(std::mem::take(body));
    let mut node = Some(&mut root);
    for seg in &segs {
        node = node.and_then(|n| step_mut(n, seg));
    }
    if let Some(n) = node {
        *n = value;
    }
    if let Value::Object(m) = root {
        *body = m;
    }
}

/// One step into `node` for writing, creating what is missing (`None` cannot happen: every
/// branch makes the container it indexes).
fn step_mut<'a>(node: &'a mut Value, seg: &Segment) -> Option<&'a mut Value> {
    match seg {
        Segment::Key(k) => {
            let index = match (&*node, k.parse::<usize>()) {
                (Value::Array(a), Ok(i)) if i <= a.len() => Some(i),
                _ => None,
            };
            if !node.is_object() && index.is_none() {
                *node = Value::Object(Map::new());
            }
            match node {
                Value::Array(a) => {
                    let i = index?;
                    if i == a.len() {
                        a.push(Value::Null);
                    }
                    a.get_mut(i)
                }
                Value::Object(m) => Some(m.entry(k.as_ref()).or_insert(Value::Null)),
                _ => None,
            }
        }
        Segment::Select { key, text } => {
            if !node.is_array() {
                *node = Value::Array(Vec::new());
            }
            let Value::Array(a) = node else { return None };
            let i = match selected(a, key, text) {
                Some(i) => i,
                None => {
                    let mut m = Map::new();
                    m.insert((*key).to_string(), Value::String((*text).to_string()));
                    a.push(Value::Object(m));
                    a.len() - 1
                }
            };
            a.get_mut(i)
        }
    }
}

/// Remove every property `pointer` names; a `*` segment matches every element or property.
pub fn remove_pointer(value: &mut Value, pointer: &str) {
    let parts: Vec<Cow<'_, str>> = pointer.split('/').skip(1).map(unescape).collect();
    remove_parts(value, &parts);
}

fn remove_parts(value: &mut Value, parts: &[Cow<'_, str>]) {
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    match value {
        Value::Object(m) if rest.is_empty() => {
            if first == "*" {
                m.clear();
            } else {
                m.remove(first.as_ref());
            }
        }
        Value::Object(m) => {
            if first == "*" {
                for v in m.values_mut() {
                    remove_parts(v, rest);
                }
            } else if let Some(v) = m.get_mut(first.as_ref()) {
                remove_parts(v, rest);
            }
        }
        Value::Array(a) if !rest.is_empty() => {
            if first == "*" {
                for v in a.iter_mut() {
                    remove_parts(v, rest);
                }
            } else if let Some(v) = first.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                remove_parts(v, rest);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selector_reads_primary_then_first() {
        let c = json!({"contactIndividuals": [{"contactMethods": [
            {"type": "Home Phone", "value": "1"},
            {"type": "Work Email", "value": "w@x"},
            {"type": "Home Email", "value": "h@x", "isPrimary": true}]}]});
        let p = "/contactIndividuals/0/contactMethods/[type*=email]/value";
        assert_eq!(read_pointer(&c, p), Some(&json!("h@x")));
        assert_eq!(read_pointer(&c, "/contactIndividuals/1/x"), None);
        assert_eq!(read_pointer(&c, "/contactAddresses/0/city"), None);
    }

    #[test]
    fn write_into_existing_and_new_paths() {
        let mut b = json!({"contactIndividuals": [{"id": 9, "firstName": "A", "contactMethods": [
            {"type": "Home Email", "value": "old@x", "id": 4}]}], "contactAddresses": []})
        .as_object()
        .cloned()
        .unwrap();
        write_pointer(&mut b, "/contactIndividuals/0/firstName", json!("B"));
        write_pointer(
            &mut b,
            "/contactIndividuals/0/contactMethods/[type*=Email]/value",
            json!("new@x"),
        );
        write_pointer(&mut b, "/contactAddresses/0/city", json!("Gotham"));
        write_pointer(&mut b, "/address/city", json!("Metropolis"));
        assert_eq!(
            Value::Object(b.clone()),
            json!({"contactIndividuals": [{"id": 9, "firstName": "B", "contactMethods": [
                {"type": "Home Email", "value": "new@x", "id": 4}]}],
                "contactAddresses": [{"city": "Gotham"}], "address": {"city": "Metropolis"}})
        );
        let mut e = Map::new();
        write_pointer(&mut e, "/m/[type*=Email]/value", json!("a@x"));
        assert_eq!(
            Value::Object(e),
            json!({"m": [{"type": "Email", "value": "a@x"}]})
        );
    }

    #[test]
    fn remove_with_wildcards() {
        let mut v = json!({"id": 1, "a": [{"id": 2, "k": 1}, {"id": 3}], "b": {"id": 4}});
        remove_pointer(&mut v, "/id");
        remove_pointer(&mut v, "/a/*/id");
        remove_pointer(&mut v, "/b/zz");
        assert_eq!(v, json!({"a": [{"k": 1}, {}], "b": {"id": 4}}));
    }
}
