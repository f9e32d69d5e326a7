//! Defensive parsing of a delivery body into an [`Event`].
//!
//! Virtuous publishes no webhook schema, and three shapes are known: the live one
//! (`{"event":"GiftCreate","gift":{..}}`), the documented illustrative one
//! (`{"eventType","eventId","timestamp","organizationId","data"}`), and dotted names
//! (`gift.created`) on one docs page. All normalise to the same [`Event`]. Unknown event types and
//! unknown fields are kept, not rejected; numbers sent as strings are accepted. What is refused,
//! with a typed error, is what cannot be read at all: an empty, oversized, non-UTF-8, malformed,
//! too deeply nested or non-object body, or one without any event type.

use crate::event::{Action, Event, EventType, ResourceKind};
use crate::product::Product;
use crate::raise::event_types::{self as raise_types, EventTypeLabels, Family};
use core::fmt;
use serde::Serialize;
use serde_json::{Map, Value};

/// Default body size limit: 1 MiB (CRM+ deliveries embed one record; this is generous).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default nesting limit for JSON arrays and objects.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// The highest nesting limit that can be configured (serde_json's own recursion guard is 128).
pub const MAX_DEPTH_LIMIT: usize = 120;

/// Parsing limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bodies longer than this are not parsed.
    pub max_body_bytes: usize,
    /// Arrays and objects nested deeper than this are not parsed.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// Why a body could not be read as a delivery. Each has a stable [`code`](EnvelopeError::code).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The body is empty.
    EmptyBody,
    /// The body is larger than the configured limit.
    BodyTooLarge {
        /// Bytes received.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The body is not UTF-8.
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// Arrays or objects are nested deeper than the limit.
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The body is not JSON.
    MalformedJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// The JSON is not an object.
    NotAnObject,
    /// No event type field (`event`, `eventType`, `type`) holds a string.
    MissingEventType,
}

impl EnvelopeError {
    /// Every code, for documentation and uniqueness tests.
    pub const CODES: [&'static str; 7] = [
        "empty-body",
        "body-too-large",
        "invalid-utf8",
        "too-deep",
        "malformed-json",
        "not-an-object",
        "missing-event-type",
    ];

    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            EnvelopeError::EmptyBody => "empty-body",
            EnvelopeError::BodyTooLarge { .. } => "body-too-large",
            EnvelopeError::InvalidUtf8 { .. } => "invalid-utf8",
            EnvelopeError::TooDeep { .. } => "too-deep",
            EnvelopeError::MalformedJson { .. } => "malformed-json",
            EnvelopeError::NotAnObject => "not-an-object",
            EnvelopeError::MissingEventType => "missing-event-type",
        }
    }
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::EmptyBody => write!(f, "the body is empty"),
            EnvelopeError::BodyTooLarge { size, limit } => {
                write!(f, "the body is {size} bytes, over the {limit}-byte limit")
            }
            EnvelopeError::InvalidUtf8 { offset } => {
                write!(
                    f,
                    "the body is not UTF-8 (invalid byte sequence at offset {offset})"
                )
            }
            EnvelopeError::TooDeep { limit } => {
                write!(
                    f,
                    "the JSON nests arrays or objects deeper than {limit} levels"
                )
            }
            EnvelopeError::MalformedJson { line, column } => {
                write!(
                    f,
                    "the body is not valid JSON (line {line}, column {column})"
                )
            }
            EnvelopeError::NotAnObject => write!(f, "the JSON body is not an object"),
            EnvelopeError::MissingEventType => {
                write!(
                    f,
                    "the body names no event type (`event`, `eventType` or `type`)"
                )
            }
        }
    }
}

impl std::error::Error for EnvelopeError {}

/// Parses a CRM+ delivery body.
pub fn parse(body: &[u8], limits: &Limits) -> Result<Event, EnvelopeError> {
    from_object(read_object(body, limits)?, true).map(|(event, _)| event)
}

/// Parses a delivery body of `product` (Raise needs its event type labels).
pub fn parse_for(
    product: Product,
    body: &[u8],
    limits: &Limits,
    raise_labels: &EventTypeLabels,
) -> Result<Event, EnvelopeError> {
    let top = read_object(body, limits)?;
    match product {
        Product::Crm => from_object(top, true).map(|(event, _)| event),
        Product::Volunteer => vomo_event(top),
        Product::Raise => raise_event(top, raise_labels),
    }
}

/// Reads a body as a JSON object under the limits (the checks every product shares).
fn read_object(body: &[u8], limits: &Limits) -> Result<Map<String, Value>, EnvelopeError> {
    let text = checked_text(body, limits)?;
    let value: Value = serde_json::from_str(text).map_err(malformed)?;
    let Value::Object(top) = value else {
        return Err(EnvelopeError::NotAnObject);
    };
    Ok(top)
}

/// Where the embedded record sits in the body's top-level object: `body[key]`, or
/// `body[key][inner]` when it is nested in a generic container (`data.gift`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceAt {
    /// The top-level key, exactly as the body spells it.
    pub key: String,
    /// The key inside that container, when the record is nested one level down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner: Option<String>,
}

/// [`parse`] that validates the whole body exactly as `parse` does (same errors, same event) but
/// builds only the levels it reads: the event comes back without its `resource`, with where that
/// record is instead, so a host with its own fast JSON parser (JavaScript's `JSON.parse`) builds the
/// record itself rather than receiving a tree converted value by value.
pub fn parse_lean(
    body: &[u8],
    limits: &Limits,
) -> Result<(Event, Option<ResourceAt>), EnvelopeError> {
    let text = unnested_text(body, limits)?;
    let limit = limits.max_depth.min(MAX_DEPTH_LIMIT);
    // The fast scan answers for the bodies it is sure of; serde_json decides everything else.
    let top = match super::lean_scan::scan(text, LEAN_LEVELS, limit) {
        Some(top) => top,
        None => lean_by_serde(text, limit)?,
    };
    from_object(top, false)
}

/// The kept levels of the top-level object as serde_json reads them, with its exact errors.
fn lean_by_serde(text: &str, limit: usize) -> Result<Map<String, Value>, EnvelopeError> {
    // The nesting check rides along the parse (one pass over the body instead of two); on a parse
    // error the separate scan runs, so a body both too deep and malformed is still `too-deep`.
    let deepest = core::cell::Cell::new(0usize);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = serde::de::DeserializeSeed::deserialize(
        Keep {
            levels: LEAN_LEVELS,
            depth: 0,
            deepest: &deepest,
        },
        &mut de,
    )
    .and_then(|v| de.end().map(|()| v));
    let value = match parsed {
        Ok(_) if deepest.get() > limit => return Err(EnvelopeError::TooDeep { limit }),
        Ok(v) => v,
        Err(e) => {
            check_depth(text.as_bytes(), limit)?;
            return Err(malformed(e));
        }
    };
    let Value::Object(top) = value else {
        return Err(EnvelopeError::NotAnObject);
    };
    Ok(top)
}

fn malformed(e: serde_json::Error) -> EnvelopeError {
    EnvelopeError::MalformedJson {
        line: e.line(),
        column: e.column(),
    }
}

/// The body as text, after the size, UTF-8, emptiness and nesting checks.
fn checked_text<'a>(body: &'a [u8], limits: &Limits) -> Result<&'a str, EnvelopeError> {
    let text = unnested_text(body, limits)?;
    check_depth(text.as_bytes(), limits.max_depth.min(MAX_DEPTH_LIMIT))?;
    Ok(text)
}

/// The body as text, after the size, UTF-8 and emptiness checks.
fn unnested_text<'a>(body: &'a [u8], limits: &Limits) -> Result<&'a str, EnvelopeError> {
    if body.len() > limits.max_body_bytes {
        return Err(EnvelopeError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let text = core::str::from_utf8(body).map_err(|e| EnvelopeError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(EnvelopeError::EmptyBody);
    }
    Ok(text)
}

// The top-level JSON value with every level [`from_object`] reads (objects down to the record's
// own fields, scalars one level further) and, below that, empty placeholders of the same JSON
// type. Everything is still parsed by serde_json's `deserialize_any`, as `Value` is: the same
// numbers, strings and escapes are refused at the same place, only nothing unread is allocated.

/// Object levels kept: top → container (`data`) → record (`gift`) → the record's scalars; below
/// the top only objects and the entries [`lean_keeps`] names (the rest is checked, not kept).
const LEAN_LEVELS: u8 = 3;

/// Builds a value, keeping `levels` more object levels, and notes the deepest nesting seen.
#[derive(Clone, Copy)]
struct Keep<'c> {
    levels: u8,
    depth: usize,
    deepest: &'c core::cell::Cell<usize>,
}

impl Keep<'_> {
    /// The nesting of this value's children, noted.
    fn enter(&self) -> usize {
        let depth = self.depth + 1;
        self.deepest.set(self.deepest.get().max(depth));
        depth
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Keep<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Keep<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let skip = Skip(Keep {
            depth: self.enter(),
            ..self
        });
        while seq.next_element_seed(skip)?.is_some() {}
        Ok(Value::Array(Vec::new()))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.enter();
        let mut out = Map::new();
        if self.levels == 0 {
            let skip = Skip(Keep { depth, ..self });
            while map.next_key_seed(skip)?.is_some() {
                map.next_value_seed(skip)?;
            }
        } else {
            let child = Keep {
                levels: self.levels - 1,
                depth,
                deepest: self.deepest,
            };
            while let Some(key) = map.next_key::<String>()? {
                let value = map.next_value_seed(child)?;
                // Below the top, only what `from_object` reads. A later duplicate of a kept key
                // that is dropped overwrites it with null (which nothing reads), so an earlier
                // object under that key is no longer found.
                if self.levels == LEAN_LEVELS || lean_keeps(&key, value.is_object()) {
                    out.insert(key, value);
                } else if out.contains_key(&key) {
                    out.insert(key, Value::Null);
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// Parses and discards any value (validated as `Value` would be, nothing allocated), noting its
/// nesting in the [`Keep`] it carries.
#[derive(Clone, Copy)]
struct Skip<'c>(Keep<'c>);

impl<'de> serde::de::DeserializeSeed<'de> for Skip<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Skip<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let skip = Skip(Keep {
            depth: self.0.enter(),
            ..self.0
        });
        while seq.next_element_seed(skip)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let skip = Skip(Keep {
            depth: self.0.enter(),
            ..self.0
        });
        while map.next_key_seed(skip)?.is_some() {
            map.next_value_seed(skip)?;
        }
        Ok(())
    }
}

/// Scans nesting depth without building anything, so a hostile `[[[[...` costs one pass and no stack.
fn check_depth(bytes: &[u8], limit: usize) -> Result<(), EnvelopeError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Err(EnvelopeError::TooDeep { limit });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Lower-case letters and digits only: `event_type`, `EventType` and `event-type` compare equal.
fn squash(s: &str) -> String {
    squashed(s).collect()
}

/// The characters of [`squash`], without building the string.
fn squashed(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
}

/// `squash(key) == want` for an already squashed `want`, allocation-free and byte by byte (keys
/// are compared many times per delivery; a non-ASCII character is never kept by [`squash`], and
/// none of its bytes is an ASCII letter or digit).
fn squash_eq(key: &str, want: &str) -> bool {
    let mut want = want.bytes();
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() && want.next() != Some(b.to_ascii_lowercase()) {
            return false;
        }
    }
    want.next().is_none()
}

/// The value under the first key whose squashed form is one of `names`, in `names` order (the
/// first such key for the earliest name; one pass over the keys).
fn lookup<'a>(obj: &'a Map<String, Value>, names: &[&str]) -> Option<(&'a String, &'a Value)> {
    let mut best: Option<(usize, (&'a String, &'a Value))> = None;
    for (k, v) in obj {
        let Some(rank) = names.iter().position(|want| squash_eq(k, want)) else {
            continue;
        };
        if best.is_none_or(|(r, _)| rank < r) {
            best = Some((rank, (k, v)));
            if rank == 0 {
                break;
            }
        }
    }
    best.map(|(_, found)| found)
}

/// The names a CRM+ record is read by (squashed): its id and its modification time.
const RECORD_ID: [&str; 1] = ["id"];
const RECORD_MODIFIED: [&str; 3] = ["modifieddatetimeutc", "modifieddatetime", "updatedat"];

/// Whether the lean parse keeps an entry of an object below the top level: the record's id and
/// modification time (read above), and every object (a container's record). Nothing else below
/// the top is read, so the rest is validated and dropped, never built.
pub(super) fn lean_keeps(key: &str, value_is_object: bool) -> bool {
    value_is_object
        || RECORD_ID
            .iter()
            .chain(&RECORD_MODIFIED)
            .any(|want| squash_eq(key, want))
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_owned())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The event of a top-level object; with `keep_resource` the record is copied into it, without, only
/// where it is comes back.
fn from_object(
    top: Map<String, Value>,
    keep_resource: bool,
) -> Result<(Event, Option<ResourceAt>), EnvelopeError> {
    // The event type: a string under one of these keys. (`event` may instead hold the resource
    // of an Event-family delivery, so only a string counts.)
    let raw_event_type = ["eventtype", "event", "type", "eventname", "topic"]
        .iter()
        .find_map(|want| {
            top.iter()
                .find(|(k, v)| squash_eq(k, want) && v.is_string())
                .and_then(|(_, v)| v.as_str())
        })
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or(EnvelopeError::MissingEventType)?;
    let event_type = normalize_event_type(&raw_event_type);
    let kind = event_type.map(EventType::resource_kind);

    // For an unknown type, the family prefix (`GiftArchive` -> gift) still says where the record is.
    let (at, resource) = match find_resource(&top, kind.or_else(|| family_of(&raw_event_type))) {
        Some((at, v)) => (Some(at), Some(v)),
        None => (None, None),
    };
    let event_id = lookup(
        &top,
        &["eventid", "webhookeventid", "deliveryid", "webhookid"],
    )
    .and_then(|(_, v)| scalar_string(v));
    let timestamp = lookup(
        &top,
        &["timestamp", "eventtimestamp", "occurredat", "sentat"],
    )
    .and_then(|(_, v)| scalar_string(v));
    let organization_id = lookup(&top, &["organizationid", "orgid", "organisationid"])
        .and_then(|(_, v)| scalar_string(v));
    let (resource_id, modified) = match resource.and_then(Value::as_object) {
        Some(r) => (
            lookup(r, &RECORD_ID).and_then(|(_, v)| scalar_string(v)),
            lookup(r, &RECORD_MODIFIED).and_then(|(_, v)| scalar_string(v)),
        ),
        None => (None, None),
    };
    let event = Event {
        product: Product::Crm,
        action: None,
        product_event_type: None,
        event_type,
        raw_event_type,
        resource_kind: kind,
        event_id,
        timestamp,
        organization_id,
        resource_id,
        modified_date_time_utc: modified,
        resource: if keep_resource {
            resource.cloned()
        } else {
            None
        },
    };
    Ok((event, at))
}

/// The embedded record and where it is: under the kind's own key (`gift`, `contactNote`), else a
/// generic container (`data`, `payload`, `resource`), looking one level into the container for the
/// kind's key.
fn find_resource(
    top: &Map<String, Value>,
    kind: Option<ResourceKind>,
) -> Option<(ResourceAt, &Value)> {
    let at = |key: &String, inner: Option<&String>| ResourceAt {
        key: key.clone(),
        inner: inner.cloned(),
    };
    if let Some(kind) = kind {
        if let Some((k, v)) = object_under(top, &squash(kind.payload_key())) {
            return Some((at(k, None), v));
        }
    }
    for container in ["data", "payload", "resource", "object", "record"] {
        if let Some((k, v)) = object_under(top, container) {
            if let (Some(kind), Some(inner)) = (kind, v.as_object()) {
                if let Some((ik, nested)) = object_under(inner, &squash(kind.payload_key())) {
                    return Some((at(k, Some(ik)), nested));
                }
            }
            return Some((at(k, None), v));
        }
    }
    None
}

/// The first object-valued entry whose squashed key is `want`.
fn object_under<'a>(obj: &'a Map<String, Value>, want: &str) -> Option<(&'a String, &'a Value)> {
    obj.iter()
        .find(|(k, v)| squash_eq(k, want) && v.is_object())
}

/// The record family a type name starts with, for types this version does not know.
fn family_of(raw: &str) -> Option<ResourceKind> {
    let s = squash(raw);
    [
        ResourceKind::FormSubmission,
        ResourceKind::ContactNote,
        ResourceKind::Contact,
        ResourceKind::Project,
        ResourceKind::Event,
        ResourceKind::Gift,
    ]
    .into_iter()
    .find(|k| s.starts_with(&squash(k.payload_key())))
}

/// A VOMO (Volunteer) delivery: `{"type": "participation.created", "organization_id": 77, "data":
/// {"id", "user_id", "project_id", "updated_at", ..}}`. Types are `<family>.<verb>`: families
/// `participation`, `project` and `user` (a user syncs as a contact), verbs `created`, `updated`,
/// `deleted`. Any other type is tolerated as unknown, with its record kept.
fn vomo_event(top: Map<String, Value>) -> Result<Event, EnvelopeError> {
    let raw_event_type = type_text(&top, &["type", "event", "eventtype"])?;
    let lower = raw_event_type.to_ascii_lowercase();
    let parsed = lower.split_once('.').and_then(|(family, verb)| {
        let kind = match family {
            "participation" | "participations" => ResourceKind::Participation,
            "project" | "projects" => ResourceKind::Project,
            "user" | "users" | "volunteer" => ResourceKind::Contact,
            _ => return None,
        };
        Some((kind, verb_action(verb)?))
    });
    let resource = object_under(&top, "data").map(|(_, v)| v).cloned();
    let (resource_id, modified) = resource_identity(resource.as_ref(), &["updatedat"]);
    Ok(Event {
        product: Product::Volunteer,
        action: parsed.map(|(_, a)| a),
        product_event_type: parsed.map(|_| lower.clone()),
        event_type: None,
        raw_event_type,
        resource_kind: parsed.map(|(k, _)| k),
        event_id: lookup(&top, &["eventid", "id", "webhookid"]).and_then(|(_, v)| scalar_string(v)),
        timestamp: lookup(&top, &["timestamp", "sentat", "createdat"])
            .and_then(|(_, v)| scalar_string(v)),
        organization_id: lookup(&top, &["organizationid", "orgid", "organisationid"])
            .and_then(|(_, v)| scalar_string(v)),
        resource_id,
        modified_date_time_utc: modified,
        resource,
    })
}

/// A Raise delivery. Raise documents no payload, so this is defensive: the event type is an
/// integer (or numeric text) under `eventType`, `eventTypeId`, `type` or `event`, or a display text
/// (`Gift Created`) there; the record sits under its family's key (`gift`, `recurringGift`,
/// `donor`, `campaign`, `page`) or a generic container (`data`, `payload`, ..); `contextId` (the
/// id Raise's delivery logs group retries by) is the event id when present. An integer the
/// configured labels do not name is an unknown type, never a guessed kind.
fn raise_event(top: Map<String, Value>, labels: &EventTypeLabels) -> Result<Event, EnvelopeError> {
    const TYPE_KEYS: [&str; 5] = [
        "eventtype",
        "eventtypeid",
        "webhookeventtype",
        "type",
        "event",
    ];
    let found = TYPE_KEYS.iter().find_map(|want| {
        top.iter()
            .find(|(k, v)| squash(k) == *want && (v.is_number() || v.is_string()))
            .map(|(_, v)| v)
    });
    let Some(found) = found else {
        return Err(EnvelopeError::MissingEventType);
    };
    let raw_event_type = scalar_string(found).ok_or(EnvelopeError::MissingEventType)?;
    let label = match raise_types::parse_code(found) {
        Some(code) => labels.get(code),
        // A number outside the documented range is unknown, not a label.
        None if found.is_number() => None,
        None => raise_types::Label::parse(&raw_event_type),
    };
    let family_key = |f: Family| match f {
        Family::Gift => "gift",
        Family::RecurringGift => "recurringgift",
        Family::Donor => "donor",
        Family::Campaign => "campaign",
        Family::Page => "page",
    };
    let mut resource = label
        .and_then(|l| object_under(&top, family_key(l.family)))
        .map(|(_, v)| v);
    if resource.is_none() {
        for container in ["data", "payload", "resource", "object", "record", "entity"] {
            if let Some((_, v)) = object_under(&top, container) {
                resource = label
                    .and_then(|l| {
                        v.as_object()
                            .and_then(|o| object_under(o, family_key(l.family)))
                            .map(|(_, v)| v)
                    })
                    .or(Some(v));
                break;
            }
        }
    }
    let resource = resource.cloned();
    let (resource_id, modified) = resource_identity(
        resource.as_ref(),
        &[
            "modifieddatetimeutc",
            "modifieddate",
            "modifiedon",
            "lastmodifieddate",
            "datemodified",
            "updatedat",
        ],
    );
    Ok(Event {
        product: Product::Raise,
        action: label.map(|l| l.action),
        product_event_type: label.map(raise_types::Label::code),
        event_type: None,
        raw_event_type,
        resource_kind: label.map(|l| l.family.resource_kind()),
        event_id: lookup(&top, &["contextid", "eventid"]).and_then(|(_, v)| scalar_string(v)),
        timestamp: lookup(&top, &["timestamp", "createddate", "eventdate", "sentat"])
            .and_then(|(_, v)| scalar_string(v)),
        organization_id: lookup(
            &top,
            &["organizationid", "orgid", "organisationid", "tenantid"],
        )
        .and_then(|(_, v)| scalar_string(v)),
        resource_id,
        modified_date_time_utc: modified,
        resource,
    })
}

/// A string event type under the first of `keys` (squashed) that holds non-blank text.
fn type_text(top: &Map<String, Value>, keys: &[&str]) -> Result<String, EnvelopeError> {
    keys.iter()
        .find_map(|want| {
            top.iter()
                .find(|(k, v)| squash(k) == *want && v.is_string())
                .and_then(|(_, v)| v.as_str())
        })
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or(EnvelopeError::MissingEventType)
}

/// `created`/`create` and the like; `None` for any other verb.
fn verb_action(verb: &str) -> Option<Action> {
    match verb {
        "created" | "create" => Some(Action::Create),
        "updated" | "update" => Some(Action::Update),
        "deleted" | "delete" => Some(Action::Delete),
        _ => None,
    }
}

/// The record's id and modification time (the first of `modified_keys` present).
fn resource_identity(
    resource: Option<&Value>,
    modified_keys: &[&str],
) -> (Option<String>, Option<String>) {
    match resource.and_then(Value::as_object) {
        Some(r) => (
            lookup(r, &["id"]).and_then(|(_, v)| scalar_string(v)),
            lookup(r, modified_keys).and_then(|(_, v)| scalar_string(v)),
        ),
        None => (None, None),
    }
}

/// Maps any spelling of a CRM+ event type to the canonical one: `GiftCreate`, `giftCreate`,
/// `gift.created`, `gift_create`, `GIFT-CREATED`, `contact_note.updated`, `form.submitted`.
/// `None` means a type this version does not know.
pub fn normalize_event_type(raw: &str) -> Option<EventType> {
    let s = squash(raw);
    // Longest family names first so `contactnote...` is not read as `contact` + `note...`.
    const FAMILIES: [(&str, ResourceKind); 8] = [
        ("formsubmission", ResourceKind::FormSubmission),
        ("contactnote", ResourceKind::ContactNote),
        ("contact", ResourceKind::Contact),
        ("project", ResourceKind::Project),
        ("event", ResourceKind::Event),
        ("gift", ResourceKind::Gift),
        ("form", ResourceKind::FormSubmission),
        ("note", ResourceKind::ContactNote),
    ];
    const ACTIONS: [(&str, Action); 10] = [
        ("create", Action::Create),
        ("created", Action::Create),
        ("update", Action::Update),
        ("updated", Action::Update),
        ("delete", Action::Delete),
        ("deleted", Action::Delete),
        ("submission", Action::Submit),
        ("submitted", Action::Submit),
        ("submit", Action::Submit),
        ("", Action::Submit),
    ];
    for (family, kind) in FAMILIES {
        let Some(rest) = s.strip_prefix(family) else {
            continue;
        };
        let Some(action) = ACTIONS.iter().find(|(a, _)| *a == rest).map(|(_, a)| *a) else {
            continue;
        };
        let action = match (kind, action) {
            // A form submission is one event whatever verb names it (`formSubmission`, `form.submitted`, `formSubmission.created`).
            (ResourceKind::FormSubmission, Action::Create | Action::Submit) => Action::Submit,
            (ResourceKind::FormSubmission, _) => continue,
            (_, Action::Submit) => continue,
            (_, a) => a,
        };
        if let Some(t) = EventType::from_parts(kind, action) {
            return Some(t);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Event, EnvelopeError> {
        parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn all_spellings_normalise() {
        for t in EventType::ALL {
            let pascal = t.live_name();
            let camel = t.toggle();
            let kebab = t.as_str();
            assert_eq!(normalize_event_type(pascal), Some(t), "{pascal}");
            assert_eq!(normalize_event_type(camel), Some(t), "{camel}");
            assert_eq!(normalize_event_type(kebab), Some(t), "{kebab}");
            assert_eq!(
                normalize_event_type(&kebab.to_uppercase().replace('-', "_")),
                Some(t)
            );
        }
        assert_eq!(
            normalize_event_type("gift.created"),
            Some(EventType::GiftCreate)
        );
        assert_eq!(
            normalize_event_type("contact_note.updated"),
            Some(EventType::ContactNoteUpdate)
        );
        assert_eq!(
            normalize_event_type("form.submitted"),
            Some(EventType::FormSubmission)
        );
        assert_eq!(
            normalize_event_type("event.deleted"),
            Some(EventType::EventDelete)
        );
        assert_eq!(normalize_event_type("giftArchive"), None);
        assert_eq!(normalize_event_type("formDelete"), None);
        assert_eq!(normalize_event_type("contactSubmitted"), None);
        assert_eq!(normalize_event_type(""), None);
    }

    #[test]
    fn live_shape() {
        let e = p(r#"{"event":"GiftCreate","gift":{"id":78421,"amount":500.0,"modifiedDateTimeUtc":"2024-12-16T06:02:11Z","x":1}}"#).unwrap();
        assert_eq!(e.event_type, Some(EventType::GiftCreate));
        assert_eq!(e.resource_kind, Some(ResourceKind::Gift));
        assert_eq!(e.resource_id.as_deref(), Some("78421"));
        assert_eq!(
            e.modified_date_time_utc.as_deref(),
            Some("2024-12-16T06:02:11Z")
        );
        assert_eq!(e.resource.unwrap()["x"], 1);
        assert_eq!(e.event_id, None);
    }

    #[test]
    fn documented_shape_with_string_numbers() {
        let e = p(r#"{"eventType":"contact.updated","eventId":"evt-1","timestamp":"2024-01-01T00:00:00Z","organizationId":42,"data":{"id":"4821"}}"#).unwrap();
        assert_eq!(e.event_type, Some(EventType::ContactUpdate));
        assert_eq!(e.event_id.as_deref(), Some("evt-1"));
        assert_eq!(e.organization_id.as_deref(), Some("42"));
        assert_eq!(e.resource_id.as_deref(), Some("4821"));
    }

    #[test]
    fn event_family_resource_under_event_key() {
        let e = p(r#"{"type":"EventUpdate","event":{"id":9}}"#).unwrap();
        assert_eq!(e.event_type, Some(EventType::EventUpdate));
        assert_eq!(e.resource_id.as_deref(), Some("9"));
    }

    #[test]
    fn nested_data_container() {
        let e = p(r#"{"eventType":"GiftUpdate","data":{"gift":{"id":5}}}"#).unwrap();
        assert_eq!(e.resource_id.as_deref(), Some("5"));
    }

    #[test]
    fn unknown_type_is_tolerated() {
        let e = p(r#"{"event":"GiftArchive","gift":{"id":1}}"#).unwrap();
        assert_eq!(e.event_type, None);
        assert_eq!(e.raw_event_type, "GiftArchive");
        assert_eq!(e.resource_kind, None);
        assert_eq!(e.resource_id.as_deref(), Some("1"));
    }

    #[test]
    fn typed_errors() {
        assert_eq!(p("").unwrap_err().code(), "empty-body");
        assert_eq!(p("  \n").unwrap_err().code(), "empty-body");
        assert_eq!(
            parse(b"{\"a\":\"\xff\"}", &Limits::default())
                .unwrap_err()
                .code(),
            "invalid-utf8"
        );
        assert_eq!(p("{").unwrap_err().code(), "malformed-json");
        assert_eq!(p("[1]").unwrap_err().code(), "not-an-object");
        assert_eq!(
            p(r#"{"gift":{}}"#).unwrap_err().code(),
            "missing-event-type"
        );
        assert_eq!(
            p(r#"{"event":5}"#).unwrap_err().code(),
            "missing-event-type"
        );
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(p(&deep).unwrap_err(), EnvelopeError::TooDeep { limit: 64 });
        let deep_ok = format!(
            r#"{{"event":"GiftCreate","x":{}{}}}"#,
            "[".repeat(63),
            "]".repeat(63)
        );
        assert!(p(&deep_ok).is_ok());
        let small = Limits {
            max_body_bytes: 4,
            max_depth: 8,
        };
        assert_eq!(
            parse(b"{\"a\":1}", &small).unwrap_err().code(),
            "body-too-large"
        );
        // Brackets inside strings do not count towards depth.
        let s = format!(r#"{{"event":"GiftCreate","n":"{}"}}"#, "[".repeat(500));
        assert!(p(&s).is_ok());
    }

    /// `parse_lean` decides exactly as `parse` does: the same error, or the same event without its
    /// resource, which sits where `ResourceAt` says in the fully parsed body.
    #[test]
    fn lean_parse_equals_full_parse() {
        let deep_ok = format!(
            r#"{{"event":"GiftCreate","gift":{{"id":1,"x":{}{}}}}}"#,
            "[".repeat(62),
            "]".repeat(62)
        );
        let deep_bad = format!(
            r#"{{"event":"GiftCreate","gift":{{"id":1,"x":{}{}}}}}"#,
            "[".repeat(64),
            "]".repeat(64)
        );
        let bodies: Vec<String> = vec![
            r#"{"event":"GiftCreate","gift":{"id":78421,"amount":500.0,"modifiedDateTimeUtc":"2024-12-16T06:02:11Z","giftDesignations":[{"projectId":1,"amount":2.5}],"customFields":{"a":{"b":1},"c":"d"}}}"#.into(),
            r#"{"eventType":"gift.created","eventId":"e-1","timestamp":"2024-01-01","organizationId":7,"data":{"gift":{"id":"9","updatedAt":"x"}}}"#.into(),
            r#"{"eventType":"GiftArchive","data":{"id":3,"modifiedDateTime":12.5}}"#.into(),
            r#"{"event":"ContactNoteUpdate","contact_note":{"ID":4},"contactNote":{"id":5}}"#.into(),
            r#"{"event":"GiftCreate","gift":{"id":1},"gift":{"id":2}}"#.into(),
            r#"{"event":"GiftCreate","gift":{"id":1,"big":[1e400]}}"#.into(),
            r#"{"event":"GiftCreate","gift":{"id":1,"s":[{"t":"\ud800"}]}}"#.into(),
            r#"{"event":"GiftCreate","gift":{"id":1,"s":[{"t":"\u00e9\n"}]}}"#.into(),
            r#"{"event":"GiftCreate","gift":{"id":12345678901234567890,"n":-0.0}}"#.into(),
            r#"{"event":"GiftCreate","gift":{"id":1}} x"#.into(),
            r#"{"event":"GiftCreate","gift":{"id":1,"a":[1,2,]}}"#.into(),
            r#"{"event":"GiftCreate","gift":{"id":1,"a":[{"k" 1}]}}"#.into(),
            "\u{feff}{\"event\":\"GiftCreate\",\"gift\":{\"id\":1}}".into(),
            r#"[{"event":"GiftCreate"}]"#.into(),
            r#"{"gift":{"id":1}}"#.into(),
            r#"{"event":{"id":1},"type":"EventUpdate"}"#.into(),
            "".into(),
            "  ".into(),
            format!("{{\"event\":\"GiftCreate\",\"a\":x,\"b\":{}{}}}", "[".repeat(70), "]".repeat(70)),
            format!("{{\"event\":\"GiftCreate\",\"b\":{}{} x}}", "[".repeat(70), "]".repeat(70)),
            format!("{{\"event\":\"GiftCreate\",\"b\":{}", "[".repeat(70)),
            format!("{{\"event\":\"GiftCreate\",\"b\":{}{}}}", "{\"a\":".repeat(64), "}".repeat(64)),
            format!("{{\"event\":\"GiftCreate\",\"b\":{}{}}}", "{\"a\":".repeat(63), "}".repeat(63)),
            format!("{{\"event\":\"GiftCreate\",\"b\":{}1{}}}", "[".repeat(130), "]".repeat(130)),
            deep_ok,
            deep_bad,
        ];
        for body in &bodies {
            let full = p(body);
            let lean = parse_lean(body.as_bytes(), &Limits::default());
            match (full, lean) {
                (Err(a), Err(b)) => assert_eq!(a, b, "{body}"),
                (Ok(mut full), Ok((event, at))) => {
                    let resource = full.resource.take();
                    assert_eq!(full, event, "{body}");
                    let text = body.trim_start_matches('\u{feff}');
                    let doc: Value = serde_json::from_str(text).unwrap();
                    let found = at.map(|at| {
                        let outer = &doc[at.key.as_str()];
                        match &at.inner {
                            Some(k) => outer[k.as_str()].clone(),
                            None => outer.clone(),
                        }
                    });
                    assert_eq!(resource, found, "{body}");
                }
                (a, b) => panic!("{body}: {a:?} vs {b:?}"),
            }
        }
    }

    /// Bodies for the scan's differential test: the vectors' bodies and tricky hand-written ones.
    fn scan_corpus() -> Vec<String> {
        fn bodies(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(o) => {
                    if let Some(t) = o
                        .get("body")
                        .and_then(|b| b.get("utf8"))
                        .and_then(Value::as_str)
                    {
                        out.push(t.to_owned());
                    }
                    o.values().for_each(|v| bodies(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| bodies(v, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");
        let mut files = vec![
            format!("{root}/receive.json"),
            format!("{root}/events.json"),
        ];
        for entry in std::fs::read_dir(format!("{root}/adversarial")).unwrap() {
            files.push(entry.unwrap().path().display().to_string());
        }
        for f in files {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
            bodies(&doc, &mut out);
        }
        assert!(out.len() > 50, "{} bodies", out.len());
        for n in [
            "0",
            "-0",
            "1",
            "-1",
            "10",
            "01",
            "-01",
            "1.5",
            "1.",
            ".5",
            "-",
            "1e5",
            "1E+5",
            "1e-5",
            "1e",
            "1e+",
            "2.5e300",
            "1e301",
            "1e400",
            "9e-400",
            "1e-301",
            "0e999",
            "1.0e00001",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
            "12345678901234567890123",
            "1.7976931348623157e308",
            "tru",
            "nul",
            "falsey",
            "true",
            "null",
            "false",
            "\"\\u00e9\"",
            "\"\\ud83d\\ude00\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\u12\"",
            "\"\\x\"",
            "\"a\tb\"",
            "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
            "\"é😀\"",
            "[]",
            "{}",
            "[1,]",
            "[,1]",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{,}",
            "[1 2]",
            "{\"a\":1 \"b\":2}",
            "[[[]]]",
            "{\"k\":{\"k\":{\"k\":{\"k\":[1]}}}}",
        ] {
            out.push(format!(
                r#"{{"event":"GiftCreate","n":{n},"gift":{{"id":{n},"x":[{n}],"y":{{"z":{n}}}}}}}"#
            ));
            out.push(format!(
                r#"{{"event":"GiftCreate","data":{{"gift":{{"id":1,"d":{{"e":[{{"f":{n}}}]}}}}}}}}"#
            ));
            out.push(format!(r#"{{"event":{n},"type":"GiftUpdate"}}"#));
            // Scalars below the top that the envelope does not read: checked, not built.
            out.push(format!(
                r#"{{"event":"GiftCreate","gift":{{"id":1,"amount":{n},"notes":[{n}]}}}}"#
            ));
            out.push(format!(
                r#"{{"event":"GiftCreate","data":{{"note":{n},"gift":{{"amount":{n},"id":2}}}}}}"#
            ));
        }
        // Duplicate keys below the top, kept and dropped: the later entry decides, as an insert.
        out.push(
            r#"{"event":"GiftCreate","gift":{"x":{},"x":1,"id":5,"ID":{"a":1},"Id":"7","modifiedDateTimeUtc":"a","modified_date_time_utc":{},"modifiedDateTimeUtc":2}}"#
                .into(),
        );
        out.push(r#"{"event":"GiftCreate","data":{"gift":{"id":1},"gift":2}}"#.into());
        out.push(r#"{"event":"GiftCreate","data":{"gift":3,"gift":{"Id":"4","id":[]}}}"#.into());
        out.push(format!(
            r#"{{"event":"GiftCreate","gift":{{"id":1,"notes":"{}"}}}}"#,
            "abcdefgh\\\"".repeat(40)
        ));
        out.push(format!(
            "{{\"event\":\"GiftCreate\",\"gift\":{{\"id\":1,\"a\":{}{}}}}}",
            "[".repeat(62),
            "]".repeat(62)
        ));
        out.push(format!(
            "{{\"event\":\"GiftCreate\",\"gift\":{{\"id\":1,\"a\":{}{}}}}}",
            "[".repeat(63),
            "]".repeat(63)
        ));
        out.push(format!(
            "{{\"event\":\"GiftCreate\",\"b\":{}1{}}}",
            "{\"a\":".repeat(70),
            "}".repeat(70)
        ));
        out.push(" \t\r\n{\"event\" : \"GiftCreate\" , \"gift\" : { \"id\" : 7 } } \n".into());
        out
    }

    /// The fast scan never accepts what serde_json refuses, and builds the same kept tree; it takes
    /// the plain bodies itself (else it would be dead code). Every seed body, and every one-byte
    /// deletion, insertion and replacement of the smaller ones, under the default and a small
    /// nesting limit.
    #[test]
    fn lean_scan_agrees_with_serde() {
        const BYTES: &[u8] = b"\"\\{}[],:0-+.eE 1u\tnx\x01";
        let mut checked = 0usize;
        let mut taken = 0usize;
        let mut check = |text: &str, limit: usize| {
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            checked += 1;
            if let Some(top) = super::super::lean_scan::scan(text, LEAN_LEVELS, limit) {
                taken += 1;
                assert_eq!(
                    lean_by_serde(text, limit),
                    Ok(top),
                    "{text:?} limit {limit}"
                );
            }
        };
        for body in scan_corpus() {
            for limit in [64, 3] {
                check(&body, limit);
            }
            if body.len() > 300 {
                continue;
            }
            let bytes = body.as_bytes();
            for i in 0..=bytes.len() {
                let mut variants = vec![];
                if i < bytes.len() {
                    let mut v = bytes.to_vec();
                    v.remove(i);
                    variants.push(v);
                }
                for &b in BYTES {
                    let mut v = bytes.to_vec();
                    v.insert(i, b);
                    variants.push(v);
                    if i < bytes.len() {
                        let mut v = bytes.to_vec();
                        v[i] = b;
                        variants.push(v);
                    }
                }
                for v in variants {
                    if let Ok(t) = core::str::from_utf8(&v) {
                        check(t, 64);
                    }
                }
            }
        }
        assert!(
            checked > 100_000 && taken > 10_000,
            "{checked} checked, {taken} taken by the scan"
        );
        // The plain shapes go through the scan.
        for body in [
            r#"{"event":"GiftCreate","gift":{"id":78421,"amount":500.0,"giftDesignations":[{"projectId":1,"amountDesignated":12.5,"projectCode":"P-1"}],"notes":"x\ny"}}"#,
            r#"{"eventType":"gift.created","data":{"gift":{"id":"9"}},"organizationId":-7e2}"#,
        ] {
            assert!(
                super::super::lean_scan::scan(body, LEAN_LEVELS, 64).is_some(),
                "{body}"
            );
        }
    }

    /// The one-pass `lookup` and the byte-wise `squash_eq` answer as the plain definitions do.
    #[test]
    fn lookup_is_first_key_for_first_name() {
        let naive = |obj: &Map<String, Value>, names: &[&str]| {
            names
                .iter()
                .find_map(|want| obj.iter().find(|(k, _)| squash(k) == *want))
                .map(|(k, _)| k.clone())
        };
        let keys = [
            "id",
            "ID",
            "_id",
            "Id!",
            "iD ",
            "updatedAt",
            "updated_at",
            "UPDATED-AT",
            "modifiedDateTime",
            "modified_date_time_utc",
            "modifiedDateTimeUtc",
            "ïd",
            "i\u{301}d",
            "x",
            "",
            "ｉｄ",
            "updatedat2",
        ];
        let names: [&[&str]; 3] = [
            &["id"],
            &["modifieddatetimeutc", "modifieddatetime", "updatedat"],
            &["updatedat", "id"],
        ];
        for mask in 0u32..(1 << keys.len()) {
            if mask.count_ones() > 5 {
                continue;
            }
            let obj: Map<String, Value> = keys
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(i, k)| ((*k).to_owned(), Value::from(i)))
                .collect();
            for n in names {
                assert_eq!(
                    lookup(&obj, n).map(|(k, _)| k.clone()),
                    naive(&obj, n),
                    "{obj:?} {n:?}"
                );
            }
        }
        for k in keys {
            assert_eq!(squash_eq(k, "id"), squash(k) == "id", "{k}");
        }
    }

    #[test]
    fn codes_unique() {
        let set: std::collections::HashSet<_> = EnvelopeError::CODES.iter().collect();
        assert_eq!(set.len(), EnvelopeError::CODES.len());
    }
}
