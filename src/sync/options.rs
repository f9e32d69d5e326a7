//! Host options: who we are, which fields sync, windows and policies. One [`SyncOptions`] value,
//! deserialised from camelCase JSON (unknown keys are rejected with the key named).

use crate::event::ResourceKind;
use crate::product::Product;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Default cooldown after an inbound change is applied: 10 minutes.
///
/// Why: the cooldown only has to outlast the *bounce* of our own inbound apply — the partner
/// platform's change hook firing on the record we just wrote, and Virtuous redelivering the same
/// webhook on its first retries (its schedule is undocumented but starts at seconds to minutes).
/// Exact bounces are already stopped without any window (a value equal to the base is never
/// submitted); the window catches bounces the partner transformed (normalised phone, trimmed name).
/// It is per field, so an edit to another field is never delayed, and a suppressed edit is retried
/// at `retryAtMs`, so a longer window would only delay genuine edits. It is unrelated to the
/// nightly Transaction batch, which affects `partner_pending` (see [`DEFAULT_PENDING_EXPIRY_MS`]).
pub const DEFAULT_COOLDOWN_MS: i64 = 10 * 60 * 1000;

/// Default time a `partner_pending` write may wait for its confirming webhook: 36 hours.
///
/// Transactions are only turned into records by Virtuous's nightly batch, so a write made just
/// after one batch is confirmed up to ~24 h later; 36 h outlives one missed-by-minutes batch plus
/// webhook retries. After it the record is flagged `stuck` for reconciliation (look the gift up by
/// `transactionSource`/`transactionId`). The expected-echo entries live exactly as long.
pub const DEFAULT_PENDING_EXPIRY_MS: i64 = 36 * 60 * 60 * 1000;

/// Default clock-skew window ε for most-recent-wins: 10 minutes. Timestamps from the partner
/// clock and Virtuous's `modifiedDateTimeUtc` closer than this are treated as simultaneous.
pub const DEFAULT_SKEW_WINDOW_MS: i64 = 10 * 60 * 1000;

/// How a field value is canonicalised before digesting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FieldType {
    /// Canonical JSON, strings exact.
    #[default]
    Plain,
    /// An exact decimal amount: `500`, `500.0` and `"500.00"` are equal.
    Money,
    /// `giftDesignations`: an order-insensitive set of (project, `amountDesignated` as money);
    /// the project is identified by the spec's `itemKeys` (default `projectCode`), and every
    /// other property (`projectId`, designation `id`, ...) is ignored.
    Designations,
    /// A calendar day: `2026-11-20`, `11/20/2026` (`giftDateFormatted`, M/D/YYYY) and a date-time
    /// at midnight UTC (`2026-11-20T00:00:00Z`) are the same value; written as `YYYY-MM-DD`.
    Date,
}

/// One synced field of a record kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FieldSpec {
    /// The field's name in decisions, partner changes, digests and policies.
    pub name: String,
    /// JSON pointer (RFC 6901) to the value in the Virtuous resource of a webhook (`/amount`).
    pub pointer: String,
    /// JSON pointer where the value goes in request bodies, when it differs from `pointer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_pointer: Option<String>,
    /// How the value is compared.
    #[serde(default, rename = "type")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub field_type: FieldType,
    /// Whether outbound writes must carry a non-null, non-empty value.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub required: bool,
    /// Fields that must stay consistent share a group name: they are compared, merged, held,
    /// written, confirmed and put in conflict items as one unit, so no decision hands either side
    /// a combination outbound validation would reject. Without any `group` in a kind's map, its
    /// designations field is grouped with the money field it must sum to (`amount` +
    /// `giftDesignations` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Pointers read, in order, when `pointer` is absent from a payload (the default gift map reads
    /// `giftDate` from `/giftDate`, else `/giftDateFormatted`, as live deliveries carry only the
    /// latter).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub also_read: Vec<String>,
    /// Where a full-record update (`PUT` built on the fetched record) carries the value, when it
    /// differs from `writePointer` (a create body's name): contacts are read and updated in the
    /// read shape (`/contactIndividuals/0/firstName`) but created with Transaction names
    /// (`/firstname`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_pointer: Option<String>,
    /// For `designations`: the element properties that identify the project (default
    /// `["projectCode"]`). Name `projectId` here to compare Virtuous's project ids too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_keys: Option<Vec<String>>,
}

impl FieldSpec {
    /// A field at a top-level key of the same name.
    pub fn top(name: &str, field_type: FieldType, required: bool) -> FieldSpec {
        FieldSpec {
            name: name.to_string(),
            pointer: format!("/{name}"),
            write_pointer: None,
            field_type,
            required,
            group: None,
            also_read: Vec::new(),
            update_pointer: None,
            item_keys: None,
        }
    }

    /// Where the value is written in request bodies.
    pub fn write_path(&self) -> &str {
        self.write_pointer.as_deref().unwrap_or(&self.pointer)
    }

    /// Where a full-record update carries the value (`updatePointer`, else `writePointer`, else
    /// `pointer`).
    pub fn update_path(&self) -> &str {
        self.update_pointer.as_deref().unwrap_or(self.write_path())
    }

    /// The project-identifying properties of a `designations` field.
    pub fn designation_keys(&self) -> Vec<String> {
        self.item_keys
            .clone()
            .unwrap_or_else(|| vec![DEFAULT_DESIGNATION_KEY.to_string()])
    }
}

/// The designation property that identifies a project by default: `projectCode`, the name both
/// the Gift Transaction body and the live read shape carry (Virtuous adds `projectId` on read).
pub const DEFAULT_DESIGNATION_KEY: &str = "projectCode";

/// The default field map for gifts: `amount` (money, required), `giftDate` (date, required; read
/// from `/giftDate`, else `/giftDateFormatted`),
/// `giftType`, `currencyCode`, `notes`, `giftDesignations` (designations), all top-level keys
/// shared by the Gift read shape and the Gift Transaction body.
pub fn default_gift_fields() -> Vec<FieldSpec> {
    vec![
        FieldSpec::top("amount", FieldType::Money, true),
        FieldSpec {
            also_read: vec!["/giftDateFormatted".into()],
            ..FieldSpec::top("giftDate", FieldType::Date, true)
        },
        FieldSpec::top("giftType", FieldType::Plain, false),
        FieldSpec::top("currencyCode", FieldType::Plain, false),
        FieldSpec::top("notes", FieldType::Plain, false),
        FieldSpec::top("giftDesignations", FieldType::Designations, false),
    ]
}

/// The default field map for contacts, read from the live read shape and written with the
/// documented Contact Transaction body names (`POST /api/Contact/Transaction`):
///
/// | field | read (`pointer`) | create (`writePointer`) | full update (`updatePointer`) |
/// |---|---|---|---|
/// | `name` (required) | `/name` | `/name` | `/name` |
/// | `contactType` | `/contactType` | `/contactType` | `/contactType` |
/// | `firstName` | `/contactIndividuals/0/firstName` | `/firstname` | the read pointer |
/// | `lastName` | `/contactIndividuals/0/lastName` | `/lastname` | the read pointer |
/// | `email` | `/contactIndividuals/0/contactMethods/[type*=Email]/value` | `/email` | the read pointer |
/// | `address1`, `city`, `state`, `postal`, `country` | `/contactAddresses/0/<name>` | `/address/<name>` | the read pointer |
///
/// A full-record `PUT` is the fetched read shape, so updates write where the value was read.
pub fn default_contact_fields() -> Vec<FieldSpec> {
    let shaped = |name: &str, read: String, create: &str| FieldSpec {
        name: name.to_string(),
        pointer: read.clone(),
        write_pointer: Some(create.to_string()),
        field_type: FieldType::Plain,
        required: false,
        also_read: Vec::new(),
        update_pointer: Some(read),
        item_keys: None,
        group: None,
    };
    let mut v = vec![
        FieldSpec::top("name", FieldType::Plain, true),
        FieldSpec::top("contactType", FieldType::Plain, false),
        shaped(
            "firstName",
            "/contactIndividuals/0/firstName".into(),
            "/firstname",
        ),
        shaped(
            "lastName",
            "/contactIndividuals/0/lastName".into(),
            "/lastname",
        ),
        shaped(
            "email",
            "/contactIndividuals/0/contactMethods/[type*=Email]/value".into(),
            "/email",
        ),
    ];
    for a in ["address1", "city", "state", "postal", "country"] {
        v.push(shaped(
            a,
            format!("/contactAddresses/0/{a}"),
            &format!("/address/{a}"),
        ));
    }
    v
}

/// How [`field_units`] keys the fields: by their explicit groups, or (none named) the first money
/// field and the first designations field together.
#[derive(Clone, Copy)]
enum UnitKeys {
    Explicit,
    Implicit(usize, usize),
}

impl UnitKeys {
    /// Field `i`'s unit key (`None`: a unit of its own).
    fn get(self, fields: &[FieldSpec], i: usize) -> Option<&str> {
        match self {
            UnitKeys::Explicit => fields.get(i).and_then(|f| f.group.as_deref()),
            UnitKeys::Implicit(a, d) => (i == a || i == d).then_some("\u{0}money"),
        }
    }
}

/// The unit keys of `fields` (`None`: every field is a unit of its own).
fn unit_keys(fields: &[FieldSpec]) -> Option<UnitKeys> {
    if fields.iter().any(|f| f.group.is_some()) {
        return Some(UnitKeys::Explicit);
    }
    let a = fields.iter().position(|f| f.field_type == FieldType::Money);
    let d = fields
        .iter()
        .position(|f| f.field_type == FieldType::Designations);
    a.zip(d).map(|(a, d)| UnitKeys::Implicit(a, d))
}

/// Group a field map into units (see [`FieldSpec::group`]).
pub fn field_units(fields: &[FieldSpec]) -> Vec<Vec<String>> {
    let keys = unit_keys(fields);
    let mut units: Vec<Vec<String>> = Vec::new();
    let mut named: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, f) in fields.iter().enumerate() {
        let key = keys.and_then(|k| k.get(fields, i));
        match key
            .and_then(|k| named.get(k).copied())
            .and_then(|u| units.get_mut(u))
        {
            Some(unit) => unit.push(f.name.clone()),
            None => {
                if let Some(k) = key {
                    named.insert(k, units.len());
                }
                units.push(vec![f.name.clone()]);
            }
        }
    }
    units
}

fn default_field_maps() -> BTreeMap<ResourceKind, Vec<FieldSpec>> {
    let mut m = BTreeMap::new();
    m.insert(ResourceKind::Gift, default_gift_fields());
    m.insert(ResourceKind::Contact, default_contact_fields());
    m
}

/// How the platform name in `transactionSource`/`referenceSource` is compared with ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum NameMatch {
    /// Default: both trimmed of whitespace, ASCII letters compared case-insensitively
    /// (`" Acme Giving "` matches `"acme giving"`; non-ASCII letters must match exactly).
    #[default]
    TrimmedCaseInsensitive,
    /// Both trimmed, then compared exactly.
    Trimmed,
    /// Byte-for-byte.
    Exact,
}

impl NameMatch {
    /// Whether `theirs` names the same platform as `ours`.
    pub fn matches(self, ours: &str, theirs: &str) -> bool {
        match self {
            NameMatch::TrimmedCaseInsensitive => ours.trim().eq_ignore_ascii_case(theirs.trim()),
            NameMatch::Trimmed => ours.trim() == theirs.trim(),
            NameMatch::Exact => ours == theirs,
        }
    }
}

/// What settles a field changed on both sides since the base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FieldPolicy {
    /// The later edit wins when the two times differ by more than the skew window; otherwise the
    /// field is ambiguous and becomes a conflict item.
    MostRecentWins,
    /// The partner owns the field: Virtuous changes to it are ignored, partner changes always go out.
    PartnerOwns,
    /// Virtuous owns the field: partner changes to it are never submitted; Virtuous changes apply.
    VirtuousOwns,
    /// Shared field, Virtuous wins when both changed; one-sided changes flow both ways.
    VirtuousCanonical,
    /// Always a conflict item when both changed.
    Manual,
}

/// Per-kind policy: a default and per-field overrides.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindPolicy {
    /// Policy for this kind's fields not listed in `fields`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<FieldPolicy>,
    /// Per-field policies by field name.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub fields: BTreeMap<String, FieldPolicy>,
}

/// Conflict policy for all kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// Policy for fields nothing more specific covers. Default `virtuous-canonical`, the docs'
    /// "safest default" for shared fields (staff using Virtuous daily are authoritative).
    #[serde(default = "default_field_policy")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub default: FieldPolicy,
    /// Clock-skew window ε in ms for most-recent-wins. Default [`DEFAULT_SKEW_WINDOW_MS`].
    #[serde(default = "default_skew")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub skew_window_ms: i64,
    /// Per-kind overrides.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub kinds: BTreeMap<ResourceKind, KindPolicy>,
}

fn default_field_policy() -> FieldPolicy {
    FieldPolicy::VirtuousCanonical
}
fn default_skew() -> i64 {
    DEFAULT_SKEW_WINDOW_MS
}
fn default_cooldown() -> i64 {
    DEFAULT_COOLDOWN_MS
}
fn default_pending_expiry() -> i64 {
    DEFAULT_PENDING_EXPIRY_MS
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            default: default_field_policy(),
            skew_window_ms: DEFAULT_SKEW_WINDOW_MS,
            kinds: BTreeMap::new(),
        }
    }
}

impl Policy {
    /// The policy for one field of one kind: field override, else kind default, else global default.
    pub fn for_field(&self, kind: ResourceKind, field: &str) -> FieldPolicy {
        match self.kinds.get(&kind) {
            Some(k) => k
                .fields
                .get(field)
                .copied()
                .or(k.default)
                .unwrap_or(self.default),
            None => self.default,
        }
    }
}

/// How an update of a linked record is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum UpdateMode {
    /// Default: GET-then-PUT. Virtuous documents `PUT` as a full replacement, so the body is the
    /// record as the host just fetched it (`PartnerChange.current`) with the changed mapped fields
    /// written and the read-only properties removed. Without `current` the decision asks for the
    /// fetch.
    #[default]
    Full,
    /// `PUT` with only the changed fields. Relies on an unconfirmed behaviour (live `PUT` often
    /// acts like PATCH); if `PUT` replaces the record as documented, it blanks every other field.
    Partial,
}

/// What an inbound event without `modifiedDateTimeUtc` (live deliveries often lack it) does when
/// it carries mapped values the stored state does not already hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum UndatedEvents {
    /// Default: the decision asks the host to fetch the record (`GET`, whose REST shape carries
    /// `modifiedDateTimeUtc`) and decide that instead: an undated delivery cannot be ordered, so
    /// a reordered older one would otherwise overwrite newer values.
    #[default]
    Fetch,
    /// Decide the event as delivered, unordered (for hosts whose deliveries arrive in order).
    Decide,
}

/// What a create event carrying no stamp field at all (`transactionSource`/`transactionId`,
/// `referenceSource`/`referenceId`/`contactReferences` all absent) does when no local record is
/// found for it. Live deliveries are not documented to carry the stamp, so such a create may be
/// the batch's record of a create of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum UnstampedCreates {
    /// Default: never create blindly; the decision (`verify`) gives the host the digests to match
    /// against its pending creates and the lookup that tells.
    #[default]
    Verify,
    /// Create it (for hosts whose deliveries always carry the stamp fields, or that never have
    /// creates pending).
    Create,
}

/// Properties of a fetched record never sent back in a full-record `PUT`: server-assigned ids,
/// audit stamps, derived values. The API reference documents no `PUT` request schema for Gift or
/// Contact, so this list is configurable (`readOnly`); pointers, `*` matches every array element.
pub fn default_read_only() -> BTreeMap<ResourceKind, Vec<String>> {
    let common = [
        "/id",
        "/createDateTimeUtc",
        "/createdByUser",
        "/modifiedDateTimeUtc",
        "/modifiedByUser",
    ];
    let mut gift: Vec<String> = common.iter().map(|s| s.to_string()).collect();
    gift.push("/giftDateFormatted".into());
    let mut contact: Vec<String> = common.iter().map(|s| s.to_string()).collect();
    contact.push("/mergedIntoContactId".into());
    let mut m = BTreeMap::new();
    m.insert(ResourceKind::Gift, gift);
    m.insert(ResourceKind::Contact, contact);
    m
}

/// Everything a host configures, passed to every decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncOptions {
    /// Our platform name, stamped into `transactionSource`/`referenceSource` of every write.
    pub platform_name: String,
    /// The customer (tenant) these decisions are for; every record must carry the same id.
    pub customer_id: String,
    /// The customer's Virtuous organisation id; when set, an event naming another organisation
    /// is a `tenant-mismatch` error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Per-field cooldown after an inbound apply, ms. Default [`DEFAULT_COOLDOWN_MS`].
    #[serde(default = "default_cooldown")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub cooldown_ms: i64,
    /// How long a write waits for its echo before the record is flagged stuck, ms.
    /// Default [`DEFAULT_PENDING_EXPIRY_MS`].
    #[serde(default = "default_pending_expiry")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub pending_expiry_ms: i64,
    /// Platform-name comparison. Default trimmed, ASCII case-insensitive.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub name_match: NameMatch,
    /// Synced fields per kind. Omitted: gifts and contacts with [`default_gift_fields`] and
    /// [`default_contact_fields`]. Given: only the listed kinds sync.
    #[serde(default = "default_field_maps")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub field_maps: BTreeMap<ResourceKind, Vec<FieldSpec>>,
    /// Conflict policy.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub policy: Policy,
    /// How updates of linked records are written. Default `full` (GET-then-PUT).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub update_mode: UpdateMode,
    /// Per kind, pointers removed from a fetched record before it is sent back as a full `PUT`.
    /// Default [`default_read_only`]. Given: replaces the defaults for the kinds listed.
    #[serde(default = "default_read_only")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub read_only: BTreeMap<ResourceKind, Vec<String>>,
    /// Inbound events without `modifiedDateTimeUtc`. Default `fetch`.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub undated_events: UndatedEvents,
    /// Create events without any stamp field and no local record. Default `verify`.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub unstamped_creates: UnstampedCreates,
    /// Raise and Volunteer settings, keyed by product (`raise`, `volunteer`): their field maps
    /// and undated-event handling. Omitted: the per-product defaults
    /// ([`default_product_field_maps`]). CRM+ uses the top-level options; a `crm` key is refused.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub products: BTreeMap<Product, ProductSync>,
}

/// One non-CRM+ product's sync settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductSync {
    /// Synced fields per kind for this product's links. Omitted: [`default_product_field_maps`].
    /// Field names are the partner's, shared with the CRM+ maps, so one partner field has one
    /// name whichever product changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_maps: Option<BTreeMap<ResourceKind, Vec<FieldSpec>>>,
    /// Events without a modification time. Default (`fetch`): there is no CRM+ record to fetch,
    /// so they are ignored (reason `undated`) rather than applied out of order; `decide` applies
    /// them as delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undated_events: Option<UndatedEvents>,
}

/// The default field maps of Raise and Volunteer links. **Assumptions** (neither product
/// documents its payloads field by field): Raise donors `firstName`, `lastName`, `email` and gifts
/// `amount` at the top level; VOMO users `first_name`, `last_name`, `email`, `phone` and
/// participations `status`, `hours` (support.vomo.org's webhook sample). Configure
/// `products.<product>.fieldMaps` to change them.
pub fn default_product_field_maps(product: Product) -> BTreeMap<ResourceKind, Vec<FieldSpec>> {
    let at = |name: &str, pointer: &str, field_type: FieldType| FieldSpec {
        pointer: pointer.to_string(),
        ..FieldSpec::top(name, field_type, false)
    };
    let mut m = BTreeMap::new();
    match product {
        Product::Crm => return default_field_maps(),
        Product::Raise => {
            m.insert(
                ResourceKind::Contact,
                vec![
                    at("firstName", "/firstName", FieldType::Plain),
                    at("lastName", "/lastName", FieldType::Plain),
                    at("email", "/email", FieldType::Plain),
                ],
            );
            m.insert(
                ResourceKind::Gift,
                vec![at("amount", "/amount", FieldType::Money)],
            );
        }
        Product::Volunteer => {
            m.insert(
                ResourceKind::Contact,
                vec![
                    at("firstName", "/first_name", FieldType::Plain),
                    at("lastName", "/last_name", FieldType::Plain),
                    at("email", "/email", FieldType::Plain),
                    at("phone", "/phone", FieldType::Plain),
                ],
            );
            m.insert(
                ResourceKind::Participation,
                vec![
                    at("status", "/status", FieldType::Plain),
                    at("hours", "/hours", FieldType::Plain),
                ],
            );
        }
    }
    m
}

/// Why options are unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionsError {
    /// The JSON did not deserialize (message names the key, e.g. "unknown field `cooldwnMs`").
    Json {
        /// serde's message.
        message: String,
    },
    /// A value is out of range or inconsistent; `field` names it (`cooldownMs`, `fieldMaps.gift.amount`).
    Invalid {
        /// The offending option.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl OptionsError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            // The configuration taxonomy's codes, so the same mistake reads the same whether the
            // options come inline (`ops::call`) or through `new SyncCore({ sync })`.
            OptionsError::Json { .. } => "invalid-config",
            OptionsError::Invalid { .. } => "invalid-option",
        }
    }
}

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionsError::Json { message } => write!(f, "options: {message}"),
            OptionsError::Invalid { field, message } => write!(f, "option {field}: {message}"),
        }
    }
}

impl std::error::Error for OptionsError {}

impl SyncOptions {
    /// Options with defaults for everything but the two identities.
    pub fn new(platform_name: &str, customer_id: &str) -> SyncOptions {
        SyncOptions {
            platform_name: platform_name.to_string(),
            customer_id: customer_id.to_string(),
            organization_id: None,
            cooldown_ms: DEFAULT_COOLDOWN_MS,
            pending_expiry_ms: DEFAULT_PENDING_EXPIRY_MS,
            name_match: NameMatch::default(),
            field_maps: default_field_maps(),
            policy: Policy::default(),
            update_mode: UpdateMode::default(),
            read_only: default_read_only(),
            undated_events: UndatedEvents::default(),
            unstamped_creates: UnstampedCreates::default(),
            products: BTreeMap::new(),
        }
    }

    /// The options a `product` link is decided under: CRM+'s as they are; for Raise and
    /// Volunteer the product's field maps, its undated-event setting, and `unstamped-creates:
    /// create` (we never write those products' records, so an unstamped create cannot be ours).
    pub fn for_product(&self, product: Product) -> std::borrow::Cow<'_, SyncOptions> {
        if product.is_crm() {
            return std::borrow::Cow::Borrowed(self);
        }
        let settings = self.products.get(&product);
        let mut view = self.clone();
        view.products = BTreeMap::new();
        view.field_maps = settings
            .and_then(|s| s.field_maps.clone())
            .unwrap_or_else(|| default_product_field_maps(product));
        view.undated_events = settings.and_then(|s| s.undated_events).unwrap_or_default();
        view.unstamped_creates = UnstampedCreates::Create;
        std::borrow::Cow::Owned(view)
    }

    /// Parse and validate camelCase JSON.
    pub fn from_json(text: &str) -> Result<SyncOptions, OptionsError> {
        let o: SyncOptions = serde_json::from_str(text).map_err(|e| OptionsError::Json {
            message: e.to_string(),
        })?;
        o.validate()?;
        Ok(o)
    }

    /// Check ranges and field maps.
    pub fn validate(&self) -> Result<(), OptionsError> {
        let invalid = |field: &str, message: &str| OptionsError::Invalid {
            field: field.to_string(),
            message: message.to_string(),
        };
        if self.platform_name.trim().is_empty() {
            return Err(invalid("platformName", "must not be empty"));
        }
        for product in self.products.keys() {
            if product.is_crm() {
                return Err(invalid(
                    "products.crm",
                    "CRM+ is configured by the top-level options",
                ));
            }
            if let Err(OptionsError::Invalid { field, message }) =
                self.for_product(*product).validate()
            {
                return Err(OptionsError::Invalid {
                    field: format!("products.{}.{field}", product.as_str()),
                    message,
                });
            }
        }
        if self.customer_id.is_empty() {
            return Err(invalid("customerId", "must not be empty"));
        }
        if self.cooldown_ms < 0 {
            return Err(invalid("cooldownMs", "must be >= 0"));
        }
        if self.pending_expiry_ms <= 0 {
            return Err(invalid("pendingExpiryMs", "must be > 0"));
        }
        if self.policy.skew_window_ms < 0 {
            return Err(invalid("policy.skewWindowMs", "must be >= 0"));
        }
        for (kind, fields) in &self.field_maps {
            for (i, f) in fields.iter().enumerate() {
                // Built only for an error: validation runs on every decision.
                let at = || format!("fieldMaps.{}.{}", kind.as_str(), f.name);
                if f.name.is_empty() {
                    return Err(invalid(&at(), "field name must not be empty"));
                }
                if fields.iter().take(i).any(|g| g.name == f.name) {
                    return Err(invalid(&at(), "duplicate field name"));
                }
                if !f.pointer.starts_with('/')
                    || !f.write_path().starts_with('/')
                    || !f.update_path().starts_with('/')
                    || f.also_read.iter().any(|p| !p.starts_with('/'))
                {
                    return Err(invalid(
                        &at(),
                        "pointers must be JSON pointers starting with '/'",
                    ));
                }
                if f.item_keys.as_ref().is_some_and(|k| k.is_empty()) {
                    return Err(invalid(&at(), "itemKeys must name at least one property"));
                }
                if f.group.as_deref().is_some_and(|g| g.trim().is_empty()) {
                    return Err(invalid(&at(), "group name must not be empty"));
                }
            }
            self.validate_groups(*kind, fields)?;
        }
        for (kind, pointers) in &self.read_only {
            if let Some(p) = pointers.iter().find(|p| !p.starts_with('/') || p.len() < 2) {
                return Err(invalid(
                    &format!("readOnly.{}", kind.as_str()),
                    &format!("{p:?} is not a JSON pointer below the root"),
                ));
            }
        }
        Ok(())
    }

    /// A designations field must be in the unit of the money field it sums to (outbound validation
    /// checks them together), and the members of a unit must share one policy (they are merged as
    /// one value).
    fn validate_groups(
        &self,
        kind: ResourceKind,
        fields: &[FieldSpec],
    ) -> Result<(), OptionsError> {
        // Units as `field_units` forms them, compared without building them (this runs on every
        // decision): two fields share a unit when they are one field or have the same unit key.
        let keys = unit_keys(fields);
        let key = |i: usize| keys.and_then(|k| k.get(fields, i));
        let same_unit = |i: usize, j: usize| i == j || key(i).is_some_and(|k| key(j) == Some(k));
        let amount = fields.iter().position(|f| f.field_type == FieldType::Money);
        for (di, d) in fields.iter().enumerate() {
            if d.field_type != FieldType::Designations {
                continue;
            }
            if let Some(ai) = amount {
                if !same_unit(ai, di) {
                    let a = fields.get(ai).map_or("", |a| a.name.as_str());
                    return Err(OptionsError::Invalid {
                        field: format!("fieldMaps.{}.{}", kind.as_str(), d.name),
                        message: format!(
                            "must be in the group of {a} (designations must sum to it)"
                        ),
                    });
                }
            }
        }
        // In unit order (a unit's place is its first member's), the first member whose policy
        // differs from the unit's first.
        for (hi, head) in fields.iter().enumerate() {
            if key(hi).is_none() || (0..hi).any(|j| same_unit(j, hi)) {
                continue;
            }
            let first = self.policy.for_field(kind, &head.name);
            let differing = fields.iter().enumerate().skip(hi + 1).find(|(mi, m)| {
                same_unit(hi, *mi) && self.policy.for_field(kind, &m.name) != first
            });
            if let Some((_, m)) = differing {
                let (m, head) = (&m.name, &head.name);
                return Err(OptionsError::Invalid {
                    field: format!("policy.kinds.{}.fields.{m}", kind.as_str()),
                    message: format!("must equal the policy of {head} (same field group)"),
                });
            }
        }
        Ok(())
    }

    /// The kind's fields as units, in field-map order: a group's members together, every other
    /// field alone. See [`FieldSpec::group`].
    pub fn units(&self, kind: ResourceKind) -> Vec<Vec<String>> {
        self.fields(kind).map(field_units).unwrap_or_default()
    }

    /// The unit `field` belongs to (the field alone when it is in no group or not mapped).
    pub fn unit_of(&self, kind: ResourceKind, field: &str) -> Vec<String> {
        self.units(kind)
            .into_iter()
            .find(|u| u.iter().any(|m| m == field))
            .unwrap_or_else(|| vec![field.to_string()])
    }

    /// The fields synced for a kind, or `None` when the kind does not sync.
    pub fn fields(&self, kind: ResourceKind) -> Option<&[FieldSpec]> {
        self.field_maps.get(&kind).map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_json_gets_defaults() {
        let o = SyncOptions::from_json(r#"{"platformName":"Acme","customerId":"c1"}"#).unwrap();
        assert_eq!(o, SyncOptions::new("Acme", "c1"));
        assert_eq!(
            o.policy.for_field(ResourceKind::Gift, "amount"),
            FieldPolicy::VirtuousCanonical
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let e =
            SyncOptions::from_json(r#"{"platformName":"Acme","customerId":"c1","cooldwnMs":5}"#)
                .unwrap_err();
        assert_eq!(e.code(), "invalid-config");
        assert!(e.to_string().contains("cooldwnMs"), "{e}");
        let e =
            SyncOptions::from_json(r#"{"platformName":"Acme","customerId":"c1","cooldownMs":-5}"#)
                .unwrap_err();
        assert_eq!(
            e,
            OptionsError::Invalid {
                field: "cooldownMs".into(),
                message: "must be >= 0".into()
            }
        );
    }

    #[test]
    fn policy_lookup_and_names() {
        let o = SyncOptions::from_json(
            r#"{"platformName":"Acme","customerId":"c1","policy":{"default":"most-recent-wins",
               "kinds":{"contact":{"default":"manual","fields":{"name":"partner-owns"}}}}}"#,
        )
        .unwrap();
        assert_eq!(
            o.policy.for_field(ResourceKind::Contact, "name"),
            FieldPolicy::PartnerOwns
        );
        assert_eq!(
            o.policy.for_field(ResourceKind::Contact, "address"),
            FieldPolicy::Manual
        );
        assert_eq!(
            o.policy.for_field(ResourceKind::Gift, "amount"),
            FieldPolicy::MostRecentWins
        );
        assert!(NameMatch::default().matches("Acme Giving", "  acme GIVING "));
        assert!(!NameMatch::Exact.matches("Acme", "acme"));
        assert!(!NameMatch::default().matches("Acme", "Acme2"));
    }

    #[test]
    fn field_map_validation() {
        let e = SyncOptions::from_json(
            r#"{"platformName":"Acme","customerId":"c1","fieldMaps":{"gift":[{"name":"a","pointer":"a"}]}}"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), "invalid-option");
        assert!(e.to_string().contains("fieldMaps.gift.a"));
    }
}
