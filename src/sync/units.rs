//! Field units: a field group (see [`FieldSpec::group`](super::options::FieldSpec::group)) is
//! compared, merged, held and written as one value, so neither side is ever handed a combination
//! that outbound validation rejects (an amount with designations summing to another amount). A
//! field in no group is a unit of one, and everything here reduces to that field's own digest.

use super::amounts::check_amounts;
use super::digest::digest_text;
use super::options::FieldSpec;
use serde_json::Value;
use std::collections::BTreeMap;

/// One digest for the unit's values in `map`: the field's own digest for a unit of one; for a
/// group, a digest of every member's digest (`?` for a member `map` lacks). `None` when `map`
/// has no member at all.
pub(crate) fn composite(map: &BTreeMap<String, String>, unit: &[String]) -> Option<String> {
    if let [single] = unit {
        return map.get(single).cloned();
    }
    if !unit.iter().any(|m| map.contains_key(m)) {
        return None;
    }
    let text: Vec<String> = unit
        .iter()
        .map(|m| format!("{m}={}", map.get(m).map_or("?", String::as_str)))
        .collect();
    Some(digest_text(&text.join(";")))
}

/// The event's side of a unit: its composite, with members the event lacks (unknown, not
/// empty) read as `base`; and whether any member was lacking while another was present.
pub(crate) fn remote_composite(
    remote: &BTreeMap<String, String>,
    base: &BTreeMap<String, String>,
    unit: &[String],
) -> (Option<String>, bool) {
    let present = unit.iter().filter(|m| remote.contains_key(*m)).count();
    if present == 0 || present == unit.len() {
        return (composite(remote, unit), false);
    }
    let mut filled = remote.clone();
    for m in unit {
        if !filled.contains_key(m) {
            if let Some(d) = base.get(m) {
                filled.insert(m.clone(), d.clone());
            }
        }
    }
    (composite(&filled, unit), true)
}

/// Whether the unit's values pass outbound validation on their own (money exact, designations
/// summing to the amount). Units of one are not checked here: a single field cannot disagree
/// with itself, and its own format is checked when the partner writes it.
pub(crate) fn consistent(
    specs: &[FieldSpec],
    unit: &[String],
    values: &BTreeMap<String, Value>,
) -> bool {
    if unit.len() < 2 {
        return true;
    }
    let own: BTreeMap<String, Value> = unit
        .iter()
        .filter_map(|m| values.get(m).map(|v| (m.clone(), v.clone())))
        .collect();
    check_amounts(specs, &own).is_ok()
}

/// `fields` widened to whole units: every member of a unit any of them belongs to, in unit order
/// (fields in no unit are kept as they are, after the others).
pub(crate) fn widen(units: &[Vec<String>], fields: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for unit in units {
        if unit.iter().any(|m| fields.contains(m)) {
            out.extend(unit.iter().cloned());
        }
    }
    for f in fields {
        if !out.contains(f) {
            out.push(f.clone());
        }
    }
    out
}

/// Whether any member of `unit` is a key of `map`.
pub(crate) fn touches<V>(map: &BTreeMap<String, V>, unit: &[String]) -> bool {
    unit.iter().any(|m| map.contains_key(m))
}

/// The unit's members as a group list for conflict items (empty for a unit of one).
pub(crate) fn group_list(unit: &[String]) -> Vec<String> {
    if unit.len() > 1 {
        unit.to_vec()
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn single_field_unit_is_its_digest() {
        let unit = vec!["notes".to_string()];
        assert_eq!(composite(&m(&[("notes", "d1")]), &unit), Some("d1".into()));
        assert_eq!(composite(&m(&[]), &unit), None);
    }

    #[test]
    fn group_changes_when_any_member_does() {
        let unit = vec!["amount".to_string(), "giftDesignations".to_string()];
        let a = composite(&m(&[("amount", "a"), ("giftDesignations", "x")]), &unit);
        let b = composite(&m(&[("amount", "a"), ("giftDesignations", "y")]), &unit);
        assert!(a.is_some() && a != b);
        let base = m(&[("amount", "a"), ("giftDesignations", "x")]);
        let (c, partial) = remote_composite(&m(&[("amount", "a")]), &base, &unit);
        assert!(partial);
        assert_eq!(c, a);
        assert_eq!(
            widen(
                &[unit.clone(), vec!["notes".into()]],
                &["giftDesignations".into()]
            ),
            unit
        );
    }
}
