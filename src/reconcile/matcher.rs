//! The initial bidirectional match of a customer's first connection.
//!
//! Records from both sides arrive in chunks ([`InitialMatcher::add_partner_chunk`],
//! [`InitialMatcher::add_virtuous_chunk`]) so no call carries a million records across the JS
//! boundary; [`InitialMatcher::finish`] returns the plan.
//!
//! Tiers, strongest first, each pair carrying the evidence that linked it:
//!
//! 1. `reference`: the external reference pair (`referenceSource`/`referenceId` or
//!    `transactionSource`/`transactionId`), source compared case-insensitively, id exactly (trimmed);
//! 2. `email`: exact email after trim and lowercase (no provider rules such as Gmail dots);
//! 3. `strong-signal`: normalised full name with postal code, or with phone number (last 10 digits).
//!
//! Strictly one-to-one. Within a tier, records sharing a value form a connected group; a group of
//! exactly one partner and one Virtuous record is a pair, any larger group (a household sharing an
//! email, duplicates on one side) becomes **one review item** and its records are held out of
//! lower tiers. Everything is keyed by hash maps on normalised values (no pairwise comparison),
//! and the plan is sorted, so the result does not depend on chunk order.
//!
//! Record ids are opaque: text or an integer, returned in the plan exactly as given (an integer as
//! its decimal text); only their comparison ignores surrounding whitespace.

use core::fmt;
use hashbrown::HashTable;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::ops::ControlFlow;

use crate::json_text::push_str as push_json_str;

/// Most values of one kind (emails, names, postal codes, phones, references) per record.
pub const MAX_VALUES_PER_RECORD: usize = 32;

/// The largest per-side size hint [`InitialMatcher::try_with_capacity`] accepts (2^20 records):
/// the pre-allocation for it fits a wasm instance, while a caller's `1e9` would abort it. Larger
/// runs work without a hint; it only pre-sizes.
pub const MAX_SIZE_HINT: u64 = 1 << 20;

/// A caller mistake feeding the matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatchError {
    /// The same record id was fed twice for one side.
    DuplicateId {
        /// Which side.
        side: Side,
        /// The id.
        id: String,
    },
    /// A record has a blank id.
    BlankId {
        /// Which side.
        side: Side,
    },
    /// A record carries more than [`MAX_VALUES_PER_RECORD`] values of one kind.
    TooManyValues {
        /// Which side.
        side: Side,
        /// The record.
        id: String,
    },
    /// More than `u32::MAX - 1` records on one side.
    TooManyRecords,
    /// A size hint above [`MAX_SIZE_HINT`].
    SizeHintTooLarge {
        /// Which side.
        side: Side,
        /// The hint given.
        hint: u64,
    },
    /// A seed that is not 64 hex characters (32 bytes).
    InvalidSeed,
    /// A chunk's JSON text above [`MAX_CHUNK_JSON_BYTES`].
    ChunkTooLarge {
        /// Which side.
        side: Side,
        /// Its length in bytes.
        bytes: u64,
    },
    /// A chunk's JSON text that does not read as an array of records.
    InvalidChunk {
        /// Which side.
        side: Side,
        /// The path of the offending field (`[3].emails`), or empty.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The progress callback asked [`InitialMatcher::finish_with_progress`] to stop.
    Cancelled,
}

impl MatchError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            MatchError::DuplicateId { .. } => "duplicate-id",
            MatchError::BlankId { .. } => "blank-id",
            MatchError::TooManyValues { .. } => "too-many-values",
            MatchError::TooManyRecords => "too-many-records",
            MatchError::SizeHintTooLarge { .. } => "size-hint-too-large",
            MatchError::InvalidSeed => "invalid-seed",
            MatchError::ChunkTooLarge { .. } => "chunk-too-large",
            MatchError::InvalidChunk { .. } => "invalid-chunk",
            MatchError::Cancelled => "cancelled",
        }
    }

    /// The path of the input field at fault (`records[3].emails`), or `""`.
    pub fn field(&self) -> String {
        match self {
            MatchError::InvalidChunk { field, .. } if field.starts_with('[') => {
                format!("records{field}")
            }
            MatchError::InvalidChunk { field, .. } if !field.is_empty() => {
                format!("records.{field}")
            }
            MatchError::InvalidChunk { .. } | MatchError::ChunkTooLarge { .. } => {
                "records".to_owned()
            }
            MatchError::InvalidSeed => "seed".to_owned(),
            _ => String::new(),
        }
    }
}

impl fmt::Display for MatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatchError::DuplicateId { side, id } => {
                write!(f, "{} record id {id:?} fed twice", side.as_str())
            }
            MatchError::BlankId { side } => write!(f, "{} record with a blank id", side.as_str()),
            MatchError::TooManyValues { side, id } => write!(
                f,
                "{} record {id:?} has more than {MAX_VALUES_PER_RECORD} values of one kind",
                side.as_str()
            ),
            MatchError::TooManyRecords => f.write_str("too many records on one side"),
            MatchError::SizeHintTooLarge { side, hint } => write!(
                f,
                "{} size hint {hint} is above {MAX_SIZE_HINT}; omit it for larger runs (it only pre-sizes)",
                side.as_str()
            ),
            MatchError::InvalidSeed => {
                f.write_str("the seed must be 64 hex characters (32 random bytes)")
            }
            MatchError::ChunkTooLarge { side, bytes } => write!(
                f,
                "{} chunk text of {bytes} bytes is above {MAX_CHUNK_JSON_BYTES}; send smaller chunks",
                side.as_str()
            ),
            MatchError::InvalidChunk { side, message, .. } => write!(
                f,
                "{} chunk is not an array of match records: {message}",
                side.as_str()
            ),
            MatchError::Cancelled => f.write_str("the match was cancelled by its progress callback"),
        }
    }
}

impl std::error::Error for MatchError {}

/// Which system a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "MatchSide"))]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The partner platform.
    Partner,
    /// Virtuous CRM.
    Virtuous,
}

impl Side {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Partner => "partner",
            Side::Virtuous => "virtuous",
        }
    }
}

/// An external reference pair (`referenceSource`/`referenceId`, `transactionSource`/`transactionId`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "MatchReference")
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalRef {
    /// The source (platform name).
    pub source: String,
    /// The id within that source.
    pub id: String,
}

/// One record offered for matching, from either side. Unknown keys are refused (`email` for
/// `emails` would otherwise silently match nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MatchRecord {
    /// The record's id on its own side (text or an integer), returned in the plan exactly as
    /// given; two ids equal but for surrounding whitespace are the same id (`duplicate-id`).
    #[serde(deserialize_with = "crate::id::text")]
    #[cfg_attr(feature = "ts", ts(type = "string | number"))]
    pub id: String,
    /// External reference pairs it carries (a partner record: its own source and id; a Virtuous
    /// contact: its `contactReferences`).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub references: Vec<ExternalRef>,
    /// Email addresses (a Virtuous household: every individual's).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub emails: Vec<String>,
    /// Full person names (`first last`) of the individuals.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub names: Vec<String>,
    /// Postal codes.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub postal_codes: Vec<String>,
    /// Phone numbers.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub phones: Vec<String>,
    /// The mapped field values to digest as the pair's sync base (SHA-256 of its canonical JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

/// Which kind of value linked two records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "MatchSignal"))]
#[serde(rename_all = "kebab-case")]
pub enum Signal {
    /// External reference pair.
    Reference,
    /// Email, trimmed and lowercased.
    Email,
    /// Name with postal code.
    NamePostal,
    /// Name with phone number.
    NamePhone,
}

impl Signal {
    fn tag(self) -> u8 {
        match self {
            Signal::Reference => b'r',
            Signal::Email => b'e',
            Signal::NamePostal => b'p',
            Signal::NamePhone => b'h',
        }
    }
    fn from_tag(t: u8) -> Option<Signal> {
        match t {
            b'r' => Some(Signal::Reference),
            b'e' => Some(Signal::Email),
            b'p' => Some(Signal::NamePostal),
            b'h' => Some(Signal::NamePhone),
            _ => None,
        }
    }
    fn tier(self) -> Tier {
        match self {
            Signal::Reference => Tier::Reference,
            Signal::Email => Tier::Email,
            Signal::NamePostal | Signal::NamePhone => Tier::StrongSignal,
        }
    }
}

/// Match tiers, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "MatchTier"))]
#[serde(rename_all = "kebab-case")]
pub enum Tier {
    /// External reference pair.
    Reference,
    /// Exact email.
    Email,
    /// Name with postal code or phone.
    StrongSignal,
}

/// The sync state a matched pair starts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum PairState {
    /// Both sides hold the record and agree on the base.
    InSync,
}

/// One shared normalised value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// Which kind of value.
    pub signal: Signal,
    /// The normalised value (`source\u{1f}id`, `email`, `name|postal`, `name|phone`).
    pub value: String,
}

/// A linked pair: both ids, marked `in-sync`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct MatchedPair {
    /// Partner record id.
    pub partner_id: String,
    /// Virtuous record id.
    pub virtuous_id: String,
    /// The tier that linked them.
    pub tier: Tier,
    /// Always `in-sync`.
    pub state: PairState,
    /// Every value of that tier the two share (sorted).
    pub evidence: Vec<Evidence>,
    /// SHA-256 (hex) of the partner record's `data`, when given: the sync base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_digest: Option<String>,
    /// SHA-256 (hex) of the Virtuous record's `data`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtuous_digest: Option<String>,
}

/// A group of records sharing values at one tier without a one-to-one reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct ReviewItem {
    /// The tier where the ambiguity showed.
    pub tier: Tier,
    /// Always `shared-value`.
    #[cfg_attr(feature = "ts", ts(type = "\"shared-value\""))]
    pub reason: String,
    /// Partner ids in the group (sorted).
    pub partner_ids: Vec<String>,
    /// Virtuous ids in the group (sorted).
    pub virtuous_ids: Vec<String>,
    /// The shared values (sorted).
    pub evidence: Vec<Evidence>,
}

/// Counts of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct MatchCounts {
    /// Partner records fed.
    pub partner_records: u64,
    /// Virtuous records fed.
    pub virtuous_records: u64,
    /// Pairs per tier: reference, email, strong signal.
    pub pairs_by_tier: [u64; 3],
    /// Records held for review, partner side.
    pub review_partner: u64,
    /// Records held for review, Virtuous side.
    pub review_virtuous: u64,
}

/// The initial sync plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct MatchPlan {
    /// Linked pairs (`in-sync`), sorted by partner id.
    pub pairs: Vec<MatchedPair>,
    /// Virtuous-only record ids: create them on the partner side (sorted).
    pub virtuous_only: Vec<String>,
    /// Partner-only record ids: submit to Virtuous and mark `partner-pending` (sorted).
    pub partner_only: Vec<String>,
    /// Ambiguous groups for a person to resolve; never linked automatically.
    pub review: Vec<ReviewItem>,
    /// Totals.
    pub counts: MatchCounts,
}

/// Marks a Virtuous record's position in a posting (partner positions have the bit clear).
const VBIT: u32 = 1 << 31;

/// The 256-bit key of the matcher's hash tables.
///
/// Record values come from CRM data a third party may have typed in, so the tables are keyed:
/// without the seed nobody can craft values that collide and turn the feed quadratic. The core
/// reads no entropy itself; the seed is an input. The npm `InitialMatcher` fills it from
/// `crypto.getRandomValues`, the WIT component from `wasi:random`, and a Rust host from its own
/// random source (`MatchSeed::from_os` with the `os-rng` feature). [`MatchSeed::FIXED`] (what
/// [`InitialMatcher::new`] uses) is public knowledge: fine for tests and data you control.
/// The plan never depends on the seed.
#[derive(Clone, PartialEq, Eq)]
pub struct MatchSeed([u8; 32]);

impl fmt::Debug for MatchSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A seed is kept from logs like a secret: knowing it is what makes flooding possible.
        f.write_str("MatchSeed(..)")
    }
}

impl MatchSeed {
    /// The publicly known all-zero seed of [`InitialMatcher::new`]: no protection against crafted
    /// collisions.
    pub const FIXED: MatchSeed = MatchSeed([0; 32]);

    /// A seed from 32 random bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> MatchSeed {
        MatchSeed(bytes)
    }

    /// A seed from its 64-character hex text (either case); `invalid-seed` otherwise.
    pub fn from_hex(text: &str) -> Result<MatchSeed, MatchError> {
        let mut out = [0u8; 32];
        match hex::decode_to_slice(text, &mut out) {
            Ok(()) => Ok(MatchSeed(out)),
            Err(_) => Err(MatchError::InvalidSeed),
        }
    }

    /// A seed from the operating system's random source.
    #[cfg(feature = "os-rng")]
    pub fn from_os() -> Result<MatchSeed, getrandom::Error> {
        let mut out = [0u8; 32];
        getrandom::getrandom(&mut out)?;
        Ok(MatchSeed(out))
    }

    fn state(&self) -> ahash::RandomState {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            if let Some(s) = self.0.get(i * 8..i * 8 + 8) {
                w.copy_from_slice(s);
            }
            u64::from_le_bytes(w)
        };
        ahash::RandomState::with_seeds(word(0), word(1), word(2), word(3))
    }
}

/// Positions of the records sharing one key (Virtuous ones tagged with [`VBIT`]). Most keys
/// hold one or two records, which need no allocation of their own.
#[derive(Debug)]
enum Posting {
    One(u32),
    Two(u32, u32),
    Many(Vec<u32>),
}

impl Posting {
    fn push(&mut self, x: u32) {
        *self = match core::mem::replace(self, Posting::Many(Vec::new())) {
            Posting::One(a) => Posting::Two(a, x),
            Posting::Two(a, b) => Posting::Many(vec![a, b, x]),
            Posting::Many(mut v) => {
                v.push(x);
                Posting::Many(v)
            }
        }
    }

    fn for_each(&self, mut f: impl FnMut(u32)) {
        match self {
            Posting::One(a) => f(*a),
            Posting::Two(a, b) => {
                f(*a);
                f(*b);
            }
            Posting::Many(v) => v.iter().for_each(|&x| f(x)),
        }
    }
}

/// Texts stored back to back in one allocation (ids, keys): no allocation per text.
#[derive(Debug, Default)]
struct Arena {
    text: String,
    ends: Vec<u32>,
}

impl Arena {
    fn with_capacity(items: usize, bytes: usize) -> Arena {
        Arena {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(items),
        }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: u32) -> &str {
        let i = i as usize;
        let end = self.ends.get(i).copied().unwrap_or(0) as usize;
        let start = match i.checked_sub(1) {
            Some(p) => self.ends.get(p).copied().unwrap_or(0) as usize,
            None => 0,
        };
        self.text.get(start..end).unwrap_or("")
    }

    /// Appends `s`; `None` when the arena would pass `u32` offsets (4 GiB of text).
    fn push(&mut self, s: &str) -> Option<u32> {
        let idx = u32::try_from(self.ends.len()).ok()?;
        let end = u32::try_from(self.text.len().checked_add(s.len())?).ok()?;
        self.text.push_str(s);
        self.ends.push(end);
        Some(idx)
    }
}

#[derive(Debug, Default)]
struct SideStore {
    /// Ids exactly as given.
    ids: Arena,
    /// Record positions by the hash of their id's comparison key.
    by_key: HashTable<u32>,
    digests: Vec<Option<[u8; 32]>>,
}

impl SideStore {
    fn with_capacity(n: usize) -> SideStore {
        SideStore {
            ids: Arena::with_capacity(n, n.saturating_mul(12)),
            by_key: HashTable::with_capacity(n),
            digests: Vec::with_capacity(n),
        }
    }

    /// The comparison key of record `i`'s id.
    fn key(&self, i: u32) -> &str {
        crate::id::key(self.ids.get(i))
    }

    /// Whether an id with this key (already trimmed) is stored.
    fn contains(&self, hash: u64, key: &str) -> bool {
        self.by_key.find(hash, |&i| self.key(i) == key).is_some()
    }

    fn id(&self, i: u32) -> String {
        self.ids.get(i).to_string()
    }
}

/// The keys of one tier: their texts (tag byte, then the normalised value), a table from a key's
/// hash to its number, and the records holding each key.
#[derive(Debug, Default)]
struct TierIndex {
    keys: Arena,
    table: HashTable<u32>,
    postings: Vec<Posting>,
}

impl TierIndex {
    fn with_capacity(n: usize) -> TierIndex {
        TierIndex {
            keys: Arena::with_capacity(n, n.saturating_mul(24)),
            table: HashTable::with_capacity(n),
            postings: Vec::with_capacity(n),
        }
    }

    fn add(&mut self, hs: &ahash::RandomState, key: &str, tagged: u32) -> Result<(), MatchError> {
        let hash = hs.hash_one(key);
        let TierIndex {
            keys,
            table,
            postings,
        } = self;
        match table.entry(hash, |&k| keys.get(k) == key, |&k| hs.hash_one(keys.get(k))) {
            hashbrown::hash_table::Entry::Occupied(e) => {
                if let Some(p) = postings.get_mut(*e.get() as usize) {
                    p.push(tagged);
                }
            }
            hashbrown::hash_table::Entry::Vacant(e) => {
                let k = keys.push(key).ok_or(MatchError::TooManyRecords)?;
                postings.push(Posting::One(tagged));
                e.insert(k);
            }
        }
        Ok(())
    }
}

/// Whether `b` is an ASCII byte `char::is_whitespace` accepts (`\t \n \x0B \x0C \r` and space).
fn ascii_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// Appends ASCII `bytes` to `out` (a no-op for anything else, which callers never pass).
fn push_ascii(out: &mut String, bytes: &[u8]) {
    out.push_str(core::str::from_utf8(bytes).unwrap_or(""));
}

/// Lowercases (`upper == false`) or uppercases the ASCII letters of `out` from byte `start`.
fn ascii_case_from(out: &mut str, start: usize, upper: bool) {
    if let Some(t) = out.get_mut(start..) {
        if upper {
            t.make_ascii_uppercase();
        } else {
            t.make_ascii_lowercase();
        }
    }
}

/// Appends `s` lowercased, trimmed, inner whitespace collapsed to one space; the word count.
fn push_norm_text(s: &str, out: &mut String) -> usize {
    let mut words = 0;
    if s.is_ascii() {
        // Byte-wise: the same words as `split_whitespace` on ASCII text, no per-char work.
        let start = out.len();
        for w in s.as_bytes().split(|&b| ascii_ws(b)) {
            if w.is_empty() {
                continue;
            }
            if words > 0 {
                out.push(' ');
            }
            words += 1;
            push_ascii(out, w);
        }
        ascii_case_from(out, start, false);
    } else {
        for w in s.split_whitespace() {
            if words > 0 {
                out.push(' ');
            }
            words += 1;
            out.push_str(&w.to_lowercase());
        }
    }
    words
}

/// Appends the normalised email; `false` (and nothing kept) when it is no email.
fn push_email(s: &str, out: &mut String) -> bool {
    let start = out.len();
    let t = s.trim();
    if t.is_ascii() {
        out.push_str(t);
        ascii_case_from(out, start, false);
    } else {
        out.push_str(&t.to_lowercase());
    }
    let ok = out
        .get(start..)
        .is_some_and(|e| e.len() >= 3 && e.contains('@'));
    if !ok {
        out.truncate(start);
    }
    ok
}

/// Appends the normalised postal code; `false` (and nothing kept) when blank.
fn push_postal(s: &str, out: &mut String) -> bool {
    let start = out.len();
    if s.is_ascii() {
        for w in s.as_bytes().split(|&b| ascii_ws(b)) {
            push_ascii(out, w);
        }
        ascii_case_from(out, start, true);
    } else {
        out.extend(
            s.chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_uppercase),
        );
    }
    let zip4 = out.get(start..).is_some_and(|p| {
        let b = p.as_bytes();
        b.len() == 10
            && b.get(5) == Some(&b'-')
            && b.iter().filter(|c| c.is_ascii_digit()).count() == 9
    });
    if zip4 {
        out.truncate(start + 5);
    }
    out.len() > start
}

/// Appends the normalised phone (the last ten of its ASCII digits); `false` when fewer than seven.
fn push_phone(s: &str, out: &mut String) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    if digits < 7 {
        return false;
    }
    let skip = digits.saturating_sub(10);
    let mut kept = [0u8; 10];
    let mut n = 0;
    for (slot, b) in kept
        .iter_mut()
        .zip(s.bytes().filter(u8::is_ascii_digit).skip(skip))
    {
        *slot = b;
        n += 1;
    }
    push_ascii(out, kept.get(..n).unwrap_or(&[]));
    true
}

/// Email: trim and lowercase only.
pub fn normalize_email(s: &str) -> Option<String> {
    let mut out = String::new();
    push_email(s, &mut out).then_some(out)
}

/// Postal code: uppercase, spaces removed; US ZIP+4 cut to the five-digit ZIP.
pub fn normalize_postal(s: &str) -> Option<String> {
    let mut out = String::new();
    push_postal(s, &mut out).then_some(out)
}

/// Phone: digits only, the last ten kept; fewer than seven digits is no phone.
pub fn normalize_phone(s: &str) -> Option<String> {
    let mut out = String::new();
    push_phone(s, &mut out).then_some(out)
}

/// Name: lowercase, trimmed, whitespace collapsed; at least two words (first and last).
pub fn normalize_name(s: &str) -> Option<String> {
    let mut out = String::new();
    (push_norm_text(s, &mut out) >= 2).then_some(out)
}

fn sha256_json(v: &serde_json::Value) -> [u8; 32] {
    // serde_json's map is ordered by key, so this is canonical for a given value. `to_writer`
    // writes the bytes `to_string` would, without the formatting machinery.
    let mut h = Sha256::new();
    if serde_json::to_writer(DigestWriter(&mut h), v).is_err() {
        h = Sha256::new();
        h.update(v.to_string().as_bytes());
    }
    let d = h.finalize();
    let mut out = [0u8; 32];
    out.copy_from_slice(&d);
    out
}

/// Feeds serialised bytes straight into the hash (no text buffer).
struct DigestWriter<'a>(&'a mut Sha256);

impl std::io::Write for DigestWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One record as the matcher reads it: [`MatchRecord`], or the borrowed form read straight from
/// a chunk's JSON text ([`InitialMatcher::add_partner_chunk_json`]).
trait RecordView {
    fn id(&self) -> &str;
    fn counts(&self) -> [usize; 5];
    fn for_references(&self, f: &mut dyn FnMut(&str, &str));
    fn for_emails(&self, f: &mut dyn FnMut(&str));
    fn for_names(&self, f: &mut dyn FnMut(&str));
    fn for_postal_codes(&self, f: &mut dyn FnMut(&str));
    fn for_phones(&self, f: &mut dyn FnMut(&str));
    fn digest(&self) -> Option<[u8; 32]>;
}

impl RecordView for MatchRecord {
    fn id(&self) -> &str {
        &self.id
    }
    fn counts(&self) -> [usize; 5] {
        [
            self.references.len(),
            self.emails.len(),
            self.names.len(),
            self.postal_codes.len(),
            self.phones.len(),
        ]
    }
    fn for_references(&self, f: &mut dyn FnMut(&str, &str)) {
        self.references.iter().for_each(|r| f(&r.source, &r.id));
    }
    fn for_emails(&self, f: &mut dyn FnMut(&str)) {
        self.emails.iter().for_each(|s| f(s));
    }
    fn for_names(&self, f: &mut dyn FnMut(&str)) {
        self.names.iter().for_each(|s| f(s));
    }
    fn for_postal_codes(&self, f: &mut dyn FnMut(&str)) {
        self.postal_codes.iter().for_each(|s| f(s));
    }
    fn for_phones(&self, f: &mut dyn FnMut(&str)) {
        self.phones.iter().for_each(|s| f(s));
    }
    fn digest(&self) -> Option<[u8; 32]> {
        self.data.as_ref().map(sha256_json)
    }
}

/// A string borrowed from the chunk's JSON text when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(core::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(core::marker::PhantomData))
    }
}

/// `T` read only from a JSON object, never from an array: serde's derive would read an array by
/// position, which the typed reader refuses for every other input (`src/typed.rs`). Any other
/// value is refused with the public type's name, the typed reader's sentence.
struct Obj<T>(T);

/// The name an [`Obj`] expects, as the typed reader words it (`struct MatchRecord`).
trait Expecting {
    const EXPECTING: &'static str;
}

impl<'de, T: Deserialize<'de> + Expecting> Deserialize<'de> for Obj<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(core::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Expecting> serde::de::Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(T::EXPECTING)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(V(core::marker::PhantomData))
    }
}

/// [`MatchRecord`] borrowed from JSON text, read with the same rules (unknown keys refused, the
/// id text or an integer, every list optional). `D` is how `data` is read: its raw text (the fast
/// read, [`read_chunk`]) or a [`serde_json::Value`] (the reference read, [`parse_chunk`]).
#[derive(Deserialize)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    bound(deserialize = "D: Deserialize<'de>")
)]
struct RecordIn<'a, D> {
    #[serde(borrow, deserialize_with = "crate::id::text_cow")]
    id: Cow<'a, str>,
    #[serde(default, borrow)]
    references: Vec<Obj<RefIn<'a>>>,
    #[serde(default, borrow)]
    emails: Vec<Text<'a>>,
    #[serde(default, borrow)]
    names: Vec<Text<'a>>,
    #[serde(default, borrow)]
    postal_codes: Vec<Text<'a>>,
    #[serde(default, borrow)]
    phones: Vec<Text<'a>>,
    #[serde(default)]
    data: Option<D>,
    /// SHA-256 of `data`'s canonical JSON, filled in after the read.
    #[serde(skip)]
    digest: Option<[u8; 32]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefIn<'a> {
    #[serde(borrow)]
    source: Text<'a>,
    #[serde(borrow)]
    id: Text<'a>,
}

impl<D> Expecting for RecordIn<'_, D> {
    const EXPECTING: &'static str = "struct MatchRecord";
}

impl Expecting for RefIn<'_> {
    const EXPECTING: &'static str = "struct ExternalRef";
}

fn each(list: &[Text<'_>], f: &mut dyn FnMut(&str)) {
    list.iter().for_each(|s| f(&s.0));
}

impl<D> RecordView for RecordIn<'_, D> {
    fn id(&self) -> &str {
        &self.id
    }
    fn counts(&self) -> [usize; 5] {
        [
            self.references.len(),
            self.emails.len(),
            self.names.len(),
            self.postal_codes.len(),
            self.phones.len(),
        ]
    }
    fn for_references(&self, f: &mut dyn FnMut(&str, &str)) {
        self.references
            .iter()
            .for_each(|Obj(r)| f(&r.source.0, &r.id.0));
    }
    fn for_emails(&self, f: &mut dyn FnMut(&str)) {
        each(&self.emails, f);
    }
    fn for_names(&self, f: &mut dyn FnMut(&str)) {
        each(&self.names, f);
    }
    fn for_postal_codes(&self, f: &mut dyn FnMut(&str)) {
        each(&self.postal_codes, f);
    }
    fn for_phones(&self, f: &mut dyn FnMut(&str)) {
        each(&self.phones, f);
    }
    fn digest(&self) -> Option<[u8; 32]> {
        self.digest
    }
}

/// The most bytes of chunk JSON text one call accepts (64 MiB: a 10,000-record chunk is about
/// 2 MiB); larger texts are refused with `chunk-too-large` before anything is parsed.
pub const MAX_CHUNK_JSON_BYTES: usize = 64 << 20;

/// A chunk's JSON text could not be read as records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkJsonError {
    /// The path of the offending field (`[3].emails[0]`), or empty.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// The reference read of a chunk: `data` as a [`serde_json::Value`], digested from it. The path
/// of a bad field is only tracked when the plain read fails (tracking it costs a third of the read).
fn parse_chunk(text: &str) -> Result<Vec<RecordIn<'_, serde_json::Value>>, ChunkJsonError> {
    type Rec<'a> = Obj<RecordIn<'a, serde_json::Value>>;
    let records = match serde_json::from_str::<Vec<Rec<'_>>>(text) {
        Ok(records) => records,
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(text);
            let records: Vec<Rec<'_>> =
                serde_path_to_error::deserialize(&mut de).map_err(|e| ChunkJsonError {
                    field: match e.path().to_string() {
                        p if p == "." => String::new(),
                        p => p,
                    },
                    message: e.into_inner().to_string(),
                })?;
            de.end().map_err(|e| ChunkJsonError {
                field: String::new(),
                message: e.to_string(),
            })?;
            records
        }
    };
    let mut records: Vec<_> = records.into_iter().map(|Obj(r)| r).collect();
    for r in &mut records {
        r.digest = r.data.as_ref().map(sha256_json);
    }
    Ok(records)
}

/// The fast read of a chunk: `data` kept as its raw text and, when that text is already the
/// canonical JSON [`sha256_json`] would write, digested as it stands (no value tree). `None`
/// whenever anything would differ from [`parse_chunk`] (a read error, a `data` the value reader
/// refuses, nesting deep enough to meet the reader's depth limit): the caller then uses
/// [`parse_chunk`], so records, digests and errors are always the reference read's.
fn read_chunk(text: &str) -> Option<Vec<RecordIn<'_, &serde_json::value::RawValue>>> {
    let mut records: Vec<_> =
        serde_json::from_str::<Vec<Obj<RecordIn<'_, &serde_json::value::RawValue>>>>(text)
            .ok()?
            .into_iter()
            .map(|Obj(r)| r)
            .collect();
    for r in &mut records {
        if let Some(raw) = r.data {
            let raw = raw.get();
            r.digest = Some(match canonical_json(raw.as_bytes())? {
                true => sha256_bytes(raw.as_bytes()),
                false => sha256_json(&serde_json::from_str::<serde_json::Value>(raw).ok()?),
            });
        }
    }
    Some(records)
}

fn sha256_bytes(b: &[u8]) -> [u8; 32] {
    let d = Sha256::digest(b);
    let mut out = [0u8; 32];
    out.copy_from_slice(&d);
    out
}

/// Nesting past this inside `data` sends the chunk to the reference read (whose depth limit of
/// 128 counts the chunk's own two levels).
const MAX_FAST_DEPTH: usize = 64;

/// Whether valid JSON text `raw` is byte for byte what `serde_json` writes for its value (no
/// whitespace, object keys strictly ascending with no escapes, strings with no escapes, integers
/// of at most 18 digits with no `-0`, no fractions or exponents): then its SHA-256 is the digest
/// of `data`. `None` when nested deeper than [`MAX_FAST_DEPTH`] anywhere (the whole text is
/// always scanned, so a deep value is never read on its own with a fresh depth budget).
fn canonical_json(raw: &[u8]) -> Option<bool> {
    // Per open container: `None` for an array; for an object, the previous key and whether the
    // next string is a key.
    type Open<'a> = Option<(Option<&'a [u8]>, bool)>;
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut canonical = true;
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        i += 1;
        match b {
            b'{' | b'[' => {
                if stack.len() >= MAX_FAST_DEPTH {
                    return None;
                }
                stack.push((b == b'{').then_some((None, true)));
            }
            b'}' | b']' => {
                stack.pop();
            }
            b',' => {
                if let Some(Some((_, expect_key))) = stack.last_mut() {
                    *expect_key = true;
                }
            }
            b':' => {}
            b'"' => {
                let start = i;
                let mut escaped = false;
                while let Some(&c) = raw.get(i) {
                    i += 1;
                    match c {
                        b'\\' => {
                            escaped = true;
                            i += 1;
                        }
                        b'"' => break,
                        _ => {}
                    }
                }
                canonical &= !escaped;
                let s = raw.get(start..i.saturating_sub(1)).unwrap_or(&[]);
                if let Some(Some((prev, expect_key))) = stack.last_mut() {
                    if *expect_key {
                        canonical &= !prev.is_some_and(|p| p >= s);
                        *prev = Some(s);
                        *expect_key = false;
                    }
                }
            }
            b't' | b'n' => i += 3,
            b'f' => i += 4,
            b'-' | b'0'..=b'9' => {
                let rest = raw.get(i - 1..).unwrap_or(&[]);
                let len = rest
                    .iter()
                    .position(|c| !matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .unwrap_or(rest.len());
                let num = rest.get(..len).unwrap_or(&[]);
                let digits = num.strip_prefix(b"-").unwrap_or(num);
                canonical &= digits.len() <= 18
                    && digits.iter().all(u8::is_ascii_digit)
                    && match digits.first() {
                        Some(b'0') => num == b"0",
                        Some(_) => true,
                        None => false,
                    };
                i += len - 1;
            }
            _ => canonical = false,
        }
    }
    Some(canonical)
}

/// Streaming initial matcher (npm `InitialMatcher`).
#[derive(Debug)]
pub struct InitialMatcher {
    hs: ahash::RandomState,
    partner: SideStore,
    virtuous: SideStore,
    /// Keys per tier (reference, email, strong signal).
    tiers: [TierIndex; 3],
}

impl Default for InitialMatcher {
    fn default() -> Self {
        InitialMatcher::with_seed(&MatchSeed::FIXED)
    }
}

/// The tier index of key tag `t`.
fn tier_of_tag(t: u8) -> Option<usize> {
    Some(match Signal::from_tag(t)?.tier() {
        Tier::Reference => 0,
        Tier::Email => 1,
        Tier::StrongSignal => 2,
    })
}

/// One chunk's keys while it is validated: the texts back to back, each record's key spans.
#[derive(Default)]
struct ChunkKeys {
    text: String,
    spans: Vec<(u32, u32)>,
    /// The end (in `spans`) of each record's keys.
    record_ends: Vec<u32>,
    names: String,
    name_spans: Vec<(u32, u32)>,
    value: String,
}

fn span(s: &str, (a, b): (u32, u32)) -> &str {
    s.get(a as usize..b as usize).unwrap_or("")
}

impl ChunkKeys {
    fn push_key(&mut self, tag: u8, value_from: &str) {
        let start = self.text.len() as u32;
        self.text.push(char::from(tag));
        self.text.push_str(value_from);
        self.spans.push((start, self.text.len() as u32));
    }

    /// Appends record `r`'s keys (sorted, deduplicated); `false` when it has too many values.
    fn add_record(&mut self, r: &dyn RecordView) -> bool {
        if r.counts().iter().any(|&n| n > MAX_VALUES_PER_RECORD) {
            return false;
        }
        let first = self.spans.len();
        let mut value = core::mem::take(&mut self.value);
        r.for_references(&mut |source, id| {
            let (s, i) = (source.trim(), id.trim());
            if s.is_empty() || i.is_empty() {
                return;
            }
            value.clear();
            if s.is_ascii() {
                value.push_str(s);
                value.make_ascii_lowercase();
            } else {
                value.push_str(&s.to_lowercase());
            }
            if value.is_empty() {
                return;
            }
            value.push('\u{1f}');
            value.push_str(i);
            self.push_key(Signal::Reference.tag(), &value);
        });
        r.for_emails(&mut |e| {
            value.clear();
            if push_email(e, &mut value) {
                self.push_key(Signal::Email.tag(), &value);
            }
        });
        self.names.clear();
        self.name_spans.clear();
        {
            let (names, name_spans) = (&mut self.names, &mut self.name_spans);
            r.for_names(&mut |n| {
                let start = names.len();
                if push_norm_text(n, names) >= 2 {
                    name_spans.push((start as u32, names.len() as u32));
                } else {
                    names.truncate(start);
                }
            });
        }
        if !self.name_spans.is_empty() {
            let names = core::mem::take(&mut self.names);
            let name_spans = core::mem::take(&mut self.name_spans);
            let combine = |tag: u8, v: &str, this: &mut ChunkKeys| {
                for &ns in &name_spans {
                    let start = this.text.len() as u32;
                    this.text.push(char::from(tag));
                    this.text.push_str(span(&names, ns));
                    this.text.push('|');
                    this.text.push_str(v);
                    this.spans.push((start, this.text.len() as u32));
                }
            };
            r.for_postal_codes(&mut |p| {
                value.clear();
                if push_postal(p, &mut value) {
                    combine(Signal::NamePostal.tag(), &value, self);
                }
            });
            r.for_phones(&mut |p| {
                value.clear();
                if push_phone(p, &mut value) {
                    combine(Signal::NamePhone.tag(), &value, self);
                }
            });
            self.names = names;
            self.name_spans = name_spans;
        }
        self.value = value;
        if let Some(mine) = self.spans.get_mut(first..) {
            let text = &self.text;
            mine.sort_unstable_by(|&a, &b| span(text, a).cmp(span(text, b)));
        }
        // Deduplicate this record's keys in place.
        let mut w = first;
        for i in first..self.spans.len() {
            let cur = self.spans.get(i).copied();
            let prev = w
                .checked_sub(1)
                .filter(|&p| p >= first)
                .and_then(|p| self.spans.get(p).copied());
            if let Some(c) = cur {
                if prev.is_some_and(|p| span(&self.text, p) == span(&self.text, c)) {
                    continue;
                }
                if let Some(slot) = self.spans.get_mut(w) {
                    *slot = c;
                }
                w += 1;
            }
        }
        self.spans.truncate(w);
        self.record_ends.push(w as u32);
        true
    }
}

/// Union-find with path halving, on `u32` slots.
struct Dsu {
    parent: Vec<u32>,
}

impl Dsu {
    fn find(&mut self, mut x: u32) -> u32 {
        loop {
            let p = self.parent.get(x as usize).copied().unwrap_or(x);
            if p == x {
                return x;
            }
            let gp = self.parent.get(p as usize).copied().unwrap_or(p);
            if let Some(slot) = self.parent.get_mut(x as usize) {
                *slot = gp;
            }
            x = gp;
        }
    }
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            if let Some(slot) = self.parent.get_mut(hi as usize) {
                *slot = lo;
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Open,
    Paired,
    Held,
}

impl InitialMatcher {
    /// An empty matcher keyed by the public [`MatchSeed::FIXED`]: for tests and data you control.
    /// For CRM data, use [`InitialMatcher::with_seed`] with a random seed.
    pub fn new() -> Self {
        InitialMatcher::default()
    }

    /// An empty matcher whose hash tables are keyed by `seed` (see [`MatchSeed`]).
    pub fn with_seed(seed: &MatchSeed) -> Self {
        InitialMatcher::sized(seed, 0, 0)
    }

    fn sized(seed: &MatchSeed, partner: usize, virtuous: usize) -> Self {
        let all = partner.saturating_add(virtuous);
        InitialMatcher {
            hs: seed.state(),
            partner: SideStore::with_capacity(partner),
            virtuous: SideStore::with_capacity(virtuous),
            tiers: [
                TierIndex::with_capacity(all / 2),
                TierIndex::with_capacity(all.saturating_mul(3) / 4),
                TierIndex::with_capacity(all / 4),
            ],
        }
    }

    /// An empty matcher sized for the expected record counts (the query `total` and the
    /// partner's own count), which avoids rehashing peaks while feeding a million records.
    /// Keyed by [`MatchSeed::FIXED`]; [`InitialMatcher::try_with_options`] takes a seed.
    pub fn with_capacity(partner: usize, virtuous: usize) -> Self {
        InitialMatcher::sized(&MatchSeed::FIXED, partner, virtuous)
    }

    /// [`InitialMatcher::with_capacity`] for caller-given hints: each at most [`MAX_SIZE_HINT`],
    /// else `size-hint-too-large` (an unbounded hint would abort the instance on allocation).
    pub fn try_with_capacity(partner: u64, virtuous: u64) -> Result<Self, MatchError> {
        InitialMatcher::try_with_options(&MatchSeed::FIXED, partner, virtuous)
    }

    /// A keyed matcher pre-sized for caller-given hints (each at most [`MAX_SIZE_HINT`], else
    /// `size-hint-too-large`; 0 pre-sizes nothing).
    pub fn try_with_options(
        seed: &MatchSeed,
        partner: u64,
        virtuous: u64,
    ) -> Result<Self, MatchError> {
        let check = |side: Side, hint: u64| {
            if hint > MAX_SIZE_HINT {
                Err(MatchError::SizeHintTooLarge { side, hint })
            } else {
                usize::try_from(hint).map_err(|_| MatchError::SizeHintTooLarge { side, hint })
            }
        };
        Ok(InitialMatcher::sized(
            seed,
            check(Side::Partner, partner)?,
            check(Side::Virtuous, virtuous)?,
        ))
    }

    /// Feeds a chunk of partner records.
    pub fn add_partner_chunk(&mut self, records: &[MatchRecord]) -> Result<(), MatchError> {
        self.add(Side::Partner, records)
    }

    /// Feeds a chunk of Virtuous records.
    pub fn add_virtuous_chunk(&mut self, records: &[MatchRecord]) -> Result<(), MatchError> {
        self.add(Side::Virtuous, records)
    }

    /// Feeds a chunk of partner records given as the JSON text of a [`MatchRecord`] array (the
    /// compact form: no JS object crosses into wasm, strings are read in place). The same records
    /// and rules as [`InitialMatcher::add_partner_chunk`]; a text that does not read as records
    /// is `invalid-chunk` naming the field, one above [`MAX_CHUNK_JSON_BYTES`] `chunk-too-large`.
    pub fn add_partner_chunk_json(&mut self, text: &str) -> Result<(), MatchError> {
        self.add_json(Side::Partner, text)
    }

    /// [`InitialMatcher::add_partner_chunk_json`] for Virtuous records.
    pub fn add_virtuous_chunk_json(&mut self, text: &str) -> Result<(), MatchError> {
        self.add_json(Side::Virtuous, text)
    }

    fn add_json(&mut self, side: Side, text: &str) -> Result<(), MatchError> {
        if text.len() > MAX_CHUNK_JSON_BYTES {
            return Err(MatchError::ChunkTooLarge {
                side,
                bytes: text.len() as u64,
            });
        }
        if let Some(records) = read_chunk(text) {
            return self.add(side, &records);
        }
        let records = parse_chunk(text).map_err(|e| MatchError::InvalidChunk {
            side,
            field: e.field,
            message: e.message,
        })?;
        self.add(side, &records)
    }

    /// Records fed so far: (partner, virtuous).
    pub fn len(&self) -> (usize, usize) {
        (self.partner.ids.len(), self.virtuous.ids.len())
    }

    /// Whether nothing was fed.
    pub fn is_empty(&self) -> bool {
        self.partner.ids.len() == 0 && self.virtuous.ids.len() == 0
    }

    fn add<R: RecordView>(&mut self, side: Side, records: &[R]) -> Result<(), MatchError> {
        // Validate the whole chunk first so a failing chunk changes nothing.
        let hs = &self.hs;
        let store = match side {
            Side::Partner => &self.partner,
            Side::Virtuous => &self.virtuous,
        };
        let total = store.ids.len().saturating_add(records.len());
        if u32::try_from(total).map_or(true, |t| t >= VBIT - 1) {
            return Err(MatchError::TooManyRecords);
        }
        let mut seen: HashTable<u32> = HashTable::with_capacity(records.len());
        let mut hashes = Vec::with_capacity(records.len());
        let mut keys = ChunkKeys::default();
        let mut digests = Vec::with_capacity(records.len());
        for (n, r) in records.iter().enumerate() {
            let id = crate::id::key(r.id());
            if id.is_empty() {
                return Err(MatchError::BlankId { side });
            }
            let hash = hs.hash_one(id);
            let dup = || MatchError::DuplicateId {
                side,
                id: id.to_string(),
            };
            if store.contains(hash, id) {
                return Err(dup());
            }
            let ids_of = |i: &u32| {
                records
                    .get(*i as usize)
                    .map_or("", |r: &R| crate::id::key(r.id()))
            };
            match seen.entry(hash, |i| ids_of(i) == id, |i| hs.hash_one(ids_of(i))) {
                hashbrown::hash_table::Entry::Occupied(_) => return Err(dup()),
                hashbrown::hash_table::Entry::Vacant(v) => {
                    v.insert(n as u32);
                }
            }
            if !keys.add_record(r) {
                return Err(MatchError::TooManyValues {
                    side,
                    id: id.to_string(),
                });
            }
            hashes.push(hash);
            digests.push(r.digest());
        }
        // Everything is valid: store the records and index their keys.
        let mut from = 0usize;
        for ((r, hash), (digest, &end)) in records
            .iter()
            .zip(hashes)
            .zip(digests.into_iter().zip(&keys.record_ends))
        {
            let store = match side {
                Side::Partner => &mut self.partner,
                Side::Virtuous => &mut self.virtuous,
            };
            let idx = store.ids.push(r.id()).ok_or(MatchError::TooManyRecords)?;
            store.digests.push(digest);
            let SideStore { ids, by_key, .. } = store;
            by_key.insert_unique(hash, idx, |&i| hs.hash_one(crate::id::key(ids.get(i))));
            let tagged = match side {
                Side::Partner => idx,
                Side::Virtuous => idx | VBIT,
            };
            let end = end as usize;
            for &sp in keys.spans.get(from..end).unwrap_or(&[]) {
                let key = span(&keys.text, sp);
                let tier = key.as_bytes().first().and_then(|&t| tier_of_tag(t));
                if let Some(t) = tier.and_then(|t| self.tiers.get_mut(t)) {
                    t.add(hs, key, tagged)?;
                }
            }
            from = end;
        }
        Ok(())
    }

    /// Computes the plan. The matcher can keep being fed and finished again.
    pub fn finish(&self) -> MatchPlan {
        self.finish_compact().to_plan()
    }

    /// The plan without its texts copied out: what [`InitialMatcher::finish`] returns, ready to
    /// serialise section by section (the npm adapter converts a million-pair plan page by page).
    pub fn finish_compact(&self) -> FinishedPlan<'_> {
        match self.finish_with_progress(&mut |_| ControlFlow::Continue(())) {
            Ok(p) => p,
            // Unreachable: the callback never breaks; an empty plan rather than a panic.
            Err(_) => Finishing::new(self).plan(),
        }
    }

    /// [`InitialMatcher::finish_compact`] reporting progress to `progress` (every
    /// [`PROGRESS_STEP`] keys of each tier, and each phase's start and end); the callback
    /// returning `Break` stops the run with `cancelled`.
    pub fn finish_with_progress(
        &self,
        progress: &mut dyn FnMut(MatchProgress) -> ControlFlow<()>,
    ) -> Result<FinishedPlan<'_>, MatchError> {
        let mut f = Finishing::new(self);
        for (ti, tier) in [Tier::Reference, Tier::Email, Tier::StrongSignal]
            .into_iter()
            .enumerate()
        {
            f.tier(ti, tier, progress)?;
        }
        let total = f
            .counts
            .partner_records
            .saturating_add(f.counts.virtuous_records);
        report(progress, MatchPhase::Plan, 0, total)?;
        let plan = f.plan();
        report(progress, MatchPhase::Plan, total, total)?;
        Ok(plan)
    }
}

/// How often (in keys) [`InitialMatcher::finish_with_progress`] reports within a tier.
pub const PROGRESS_STEP: u64 = 1 << 16;

/// A phase of [`InitialMatcher::finish_with_progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum MatchPhase {
    /// Grouping the reference keys.
    Reference,
    /// Grouping the email keys.
    Email,
    /// Grouping the name+postal and name+phone keys.
    StrongSignal,
    /// Sorting the plan (`total`: records of both sides).
    Plan,
}

/// One progress report of a long finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MatchProgress {
    /// The phase.
    pub phase: MatchPhase,
    /// Units done in this phase (keys of the tier; records in `plan`).
    pub done: u64,
    /// Units in this phase.
    pub total: u64,
}

fn report(
    progress: &mut dyn FnMut(MatchProgress) -> ControlFlow<()>,
    phase: MatchPhase,
    done: u64,
    total: u64,
) -> Result<(), MatchError> {
    match progress(MatchProgress { phase, done, total }) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(()) => Err(MatchError::Cancelled),
    }
}

/// Whether posting entry `e` (a partner position, or a Virtuous one tagged with [`VBIT`]) is
/// still open.
fn is_open(pstat: &[Status], vstat: &[Status], e: u32) -> bool {
    if e & VBIT == 0 {
        pstat.get(e as usize) == Some(&Status::Open)
    } else {
        vstat.get((e & !VBIT) as usize) == Some(&Status::Open)
    }
}

/// A piece of evidence: tier index and key number (the key's text carries the signal).
type EvRef = (u8, u32);

#[derive(Debug, Clone, Copy)]
struct PairRef {
    p: u32,
    v: u32,
    tier: Tier,
    /// Range in `FinishedPlan::evidence`.
    ev: (u32, u32),
}

#[derive(Debug, Clone, Copy)]
struct ReviewRef {
    tier: Tier,
    /// Ranges in `FinishedPlan::members` (partner positions, then Virtuous positions).
    ps: (u32, u32),
    vs: (u32, u32),
    ev: (u32, u32),
}

/// A finished plan holding positions into the matcher, not copies of its texts
/// ([`InitialMatcher::finish_compact`]). [`FinishedPlan::to_plan`] is the [`MatchPlan`];
/// serialising it (or its sections) writes exactly the [`MatchPlan`]'s JSON.
#[derive(Debug)]
pub struct FinishedPlan<'m> {
    m: &'m InitialMatcher,
    pairs: Vec<PairRef>,
    review: Vec<ReviewRef>,
    members: Vec<u32>,
    evidence: Vec<EvRef>,
    partner_only: Vec<u32>,
    virtuous_only: Vec<u32>,
    counts: MatchCounts,
}

fn range<T>(v: &[T], (a, b): (u32, u32)) -> &[T] {
    v.get(a as usize..b as usize).unwrap_or(&[])
}

impl<'m> FinishedPlan<'m> {
    fn key(&self, (t, k): EvRef) -> &'m str {
        self.m.tiers.get(t as usize).map_or("", |ti| ti.keys.get(k))
    }

    fn evidence_of(&self, ev: (u32, u32)) -> impl Iterator<Item = (Signal, &'m str)> + '_ {
        range(&self.evidence, ev).iter().filter_map(|&e| {
            let k = self.key(e);
            let sig = k.as_bytes().first().and_then(|&t| Signal::from_tag(t))?;
            Some((sig, k.get(1..)?))
        })
    }

    /// Number of pairs.
    pub fn pair_count(&self) -> usize {
        self.pairs.len()
    }

    /// Number of review items.
    pub fn review_count(&self) -> usize {
        self.review.len()
    }

    /// The totals.
    pub fn counts(&self) -> &MatchCounts {
        &self.counts
    }

    /// Pairs `range` (clamped), serialisable as the plan's `pairs` elements.
    pub fn pairs_page(&self, start: usize, len: usize) -> PlanSection<'_, 'm> {
        PlanSection::Pairs(self, clamp(self.pairs.len(), start, len))
    }

    /// Review items `range` (clamped).
    pub fn review_page(&self, start: usize, len: usize) -> PlanSection<'_, 'm> {
        PlanSection::Review(self, clamp(self.review.len(), start, len))
    }

    /// The `virtuousOnly` ids.
    pub fn virtuous_only(&self) -> PlanSection<'_, 'm> {
        PlanSection::Ids(self, Side::Virtuous)
    }

    /// The `partnerOnly` ids.
    pub fn partner_only(&self) -> PlanSection<'_, 'm> {
        PlanSection::Ids(self, Side::Partner)
    }

    fn store(&self, side: Side) -> &'m SideStore {
        match side {
            Side::Partner => &self.m.partner,
            Side::Virtuous => &self.m.virtuous,
        }
    }

    fn pair(&self, p: &PairRef) -> MatchedPair {
        let hexd = |s: &SideStore, i: u32| {
            s.digests
                .get(i as usize)
                .copied()
                .flatten()
                .map(hex::encode)
        };
        MatchedPair {
            partner_id: self.m.partner.id(p.p),
            virtuous_id: self.m.virtuous.id(p.v),
            tier: p.tier,
            state: PairState::InSync,
            evidence: self
                .evidence_of(p.ev)
                .map(|(signal, v)| Evidence {
                    signal,
                    value: v.to_string(),
                })
                .collect(),
            partner_digest: hexd(&self.m.partner, p.p),
            virtuous_digest: hexd(&self.m.virtuous, p.v),
        }
    }

    fn review_item(&self, r: &ReviewRef) -> ReviewItem {
        let ids = |side: Side, rg| {
            range(&self.members, rg)
                .iter()
                .map(|&i| self.store(side).id(i))
                .collect()
        };
        ReviewItem {
            tier: r.tier,
            reason: "shared-value".into(),
            partner_ids: ids(Side::Partner, r.ps),
            virtuous_ids: ids(Side::Virtuous, r.vs),
            evidence: self
                .evidence_of(r.ev)
                .map(|(signal, v)| Evidence {
                    signal,
                    value: v.to_string(),
                })
                .collect(),
        }
    }

    /// The plan with its texts copied out.
    pub fn to_plan(&self) -> MatchPlan {
        let ids = |side: Side, list: &[u32]| list.iter().map(|&i| self.store(side).id(i)).collect();
        MatchPlan {
            pairs: self.pairs.iter().map(|p| self.pair(p)).collect(),
            virtuous_only: ids(Side::Virtuous, &self.virtuous_only),
            partner_only: ids(Side::Partner, &self.partner_only),
            review: self.review.iter().map(|r| self.review_item(r)).collect(),
            counts: self.counts.clone(),
        }
    }
}

fn clamp(len: usize, start: usize, n: usize) -> (usize, usize) {
    let a = start.min(len);
    (a, a.saturating_add(n).min(len))
}

/// A section of a [`FinishedPlan`] that serialises as the matching part of the [`MatchPlan`]
/// JSON, writing from the matcher's own texts (no per-pair copies).
#[derive(Debug)]
pub enum PlanSection<'p, 'm> {
    /// `pairs[a..b]`.
    Pairs(&'p FinishedPlan<'m>, (usize, usize)),
    /// `review[a..b]`.
    Review(&'p FinishedPlan<'m>, (usize, usize)),
    /// `partnerOnly` or `virtuousOnly`.
    Ids(&'p FinishedPlan<'m>, Side),
}

struct Seq<I>(core::cell::Cell<Option<I>>);

impl<I: Iterator<Item = T>, T: Serialize> Serialize for Seq<I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.take() {
            Some(it) => s.collect_seq(it),
            None => s.collect_seq(core::iter::empty::<T>()),
        }
    }
}

fn seq<I: Iterator<Item = T>, T: Serialize>(it: I) -> Seq<I> {
    Seq(core::cell::Cell::new(Some(it)))
}

/// A digest as 64 hex characters, written without an allocation.
struct Hex<'a>(&'a [u8; 32]);

impl Serialize for Hex<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 64];
        match hex::encode_to_slice(self.0, &mut buf) {
            Ok(()) => s.serialize_str(core::str::from_utf8(&buf).unwrap_or("")),
            Err(_) => s.serialize_str(""),
        }
    }
}

#[derive(Serialize)]
struct EvOut<'a> {
    signal: Signal,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PairOut<'a, E: Serialize> {
    partner_id: &'a str,
    virtuous_id: &'a str,
    tier: Tier,
    state: PairState,
    evidence: E,
    #[serde(skip_serializing_if = "Option::is_none")]
    partner_digest: Option<Hex<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    virtuous_digest: Option<Hex<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReviewOut<'a, P: Serialize, V: Serialize, E: Serialize> {
    tier: Tier,
    reason: &'a str,
    partner_ids: P,
    virtuous_ids: V,
    evidence: E,
}

impl Serialize for PlanSection<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            PlanSection::Pairs(f, (a, b)) => {
                fn digest(st: &SideStore, i: u32) -> Option<Hex<'_>> {
                    st.digests.get(i as usize).and_then(|d| d.as_ref()).map(Hex)
                }
                s.collect_seq(f.pairs.get(a..b).unwrap_or(&[]).iter().map(|p| {
                    PairOut {
                        partner_id: f.m.partner.ids.get(p.p),
                        virtuous_id: f.m.virtuous.ids.get(p.v),
                        tier: p.tier,
                        state: PairState::InSync,
                        evidence: seq(f
                            .evidence_of(p.ev)
                            .map(|(signal, value)| EvOut { signal, value })),
                        partner_digest: digest(&f.m.partner, p.p),
                        virtuous_digest: digest(&f.m.virtuous, p.v),
                    }
                }))
            }
            PlanSection::Review(f, (a, b)) => {
                let ids = |side: Side, rg| {
                    let st = f.store(side);
                    seq(range(&f.members, rg).iter().map(move |&i| st.ids.get(i)))
                };
                s.collect_seq(f.review.get(a..b).unwrap_or(&[]).iter().map(|r| {
                    ReviewOut {
                        tier: r.tier,
                        reason: "shared-value",
                        partner_ids: ids(Side::Partner, r.ps),
                        virtuous_ids: ids(Side::Virtuous, r.vs),
                        evidence: seq(f
                            .evidence_of(r.ev)
                            .map(|(signal, value)| EvOut { signal, value })),
                    }
                }))
            }
            PlanSection::Ids(f, side) => {
                let st = f.store(side);
                let list = match side {
                    Side::Partner => &f.partner_only,
                    Side::Virtuous => &f.virtuous_only,
                };
                s.collect_seq(list.iter().map(|&i| st.ids.get(i)))
            }
        }
    }
}

impl Tier {
    fn name(self) -> &'static str {
        match self {
            Tier::Reference => "reference",
            Tier::Email => "email",
            Tier::StrongSignal => "strong-signal",
        }
    }
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Reference => "reference",
            Signal::Email => "email",
            Signal::NamePostal => "name-postal",
            Signal::NamePhone => "name-phone",
        }
    }
}

impl PlanSection<'_, '_> {
    /// Appends this section's JSON text to `out`: the bytes `serde_json::to_string` writes for it,
    /// written directly (the npm adapter's plan pages; several times faster than the generic
    /// serialiser in the size-optimised wasm build).
    pub fn write_json(&self, out: &mut String) {
        fn ids<'a>(out: &mut String, list: impl Iterator<Item = &'a str>) {
            out.push('[');
            for (n, id) in list.enumerate() {
                if n > 0 {
                    out.push(',');
                }
                push_json_str(out, id);
            }
            out.push(']');
        }
        fn evidence(out: &mut String, f: &FinishedPlan<'_>, ev: (u32, u32)) {
            out.push_str(",\"evidence\":[");
            for (n, (signal, value)) in f.evidence_of(ev).enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str("{\"signal\":\"");
                out.push_str(signal.name());
                out.push_str("\",\"value\":");
                push_json_str(out, value);
                out.push('}');
            }
            out.push(']');
        }
        fn digest(out: &mut String, key: &str, st: &SideStore, i: u32) {
            if let Some(d) = st.digests.get(i as usize).and_then(|d| d.as_ref()) {
                out.push_str(key);
                crate::json_text::push_hex(out, d);
                out.push('"');
            }
        }
        match *self {
            PlanSection::Pairs(f, (a, b)) => {
                out.push('[');
                for (n, p) in f.pairs.get(a..b).unwrap_or(&[]).iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"partnerId\":");
                    push_json_str(out, f.m.partner.ids.get(p.p));
                    out.push_str(",\"virtuousId\":");
                    push_json_str(out, f.m.virtuous.ids.get(p.v));
                    out.push_str(",\"tier\":\"");
                    out.push_str(p.tier.name());
                    out.push_str("\",\"state\":\"in-sync\"");
                    evidence(out, f, p.ev);
                    digest(out, ",\"partnerDigest\":\"", &f.m.partner, p.p);
                    digest(out, ",\"virtuousDigest\":\"", &f.m.virtuous, p.v);
                    out.push('}');
                }
                out.push(']');
            }
            PlanSection::Review(f, (a, b)) => {
                out.push('[');
                for (n, r) in f.review.get(a..b).unwrap_or(&[]).iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"tier\":\"");
                    out.push_str(r.tier.name());
                    out.push_str("\",\"reason\":\"shared-value\",\"partnerIds\":");
                    let (p, v) = (&f.m.partner, &f.m.virtuous);
                    ids(out, range(&f.members, r.ps).iter().map(|&i| p.ids.get(i)));
                    out.push_str(",\"virtuousIds\":");
                    ids(out, range(&f.members, r.vs).iter().map(|&i| v.ids.get(i)));
                    evidence(out, f, r.ev);
                    out.push('}');
                }
                out.push(']');
            }
            PlanSection::Ids(f, side) => {
                let st = f.store(side);
                let list = match side {
                    Side::Partner => &f.partner_only,
                    Side::Virtuous => &f.virtuous_only,
                };
                ids(out, list.iter().map(|&i| st.ids.get(i)));
            }
        }
    }
}

impl Serialize for FinishedPlan<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("MatchPlan", 5)?;
        st.serialize_field("pairs", &self.pairs_page(0, usize::MAX))?;
        st.serialize_field("virtuousOnly", &self.virtuous_only())?;
        st.serialize_field("partnerOnly", &self.partner_only())?;
        st.serialize_field("review", &self.review_page(0, usize::MAX))?;
        st.serialize_field("counts", &self.counts)?;
        st.end()
    }
}

/// One run of [`InitialMatcher::finish`]: the records' status, the union-find over both sides
/// (Virtuous positions after the partner's, at `offset`), and the plan so far.
struct Finishing<'m> {
    m: &'m InitialMatcher,
    pstat: Vec<Status>,
    vstat: Vec<Status>,
    offset: u32,
    dsu: Dsu,
    pairs: Vec<PairRef>,
    review: Vec<ReviewRef>,
    members: Vec<u32>,
    evidence: Vec<EvRef>,
    counts: MatchCounts,
}

impl<'m> Finishing<'m> {
    fn new(m: &'m InitialMatcher) -> Finishing<'m> {
        let np = m.partner.ids.len();
        let nv = m.virtuous.ids.len();
        let total = np.saturating_add(nv);
        Finishing {
            m,
            pstat: vec![Status::Open; np],
            vstat: vec![Status::Open; nv],
            offset: u32::try_from(np).unwrap_or(u32::MAX),
            dsu: Dsu {
                parent: (0..u32::try_from(total).unwrap_or(u32::MAX)).collect(),
            },
            pairs: Vec::new(),
            review: Vec::new(),
            members: Vec::new(),
            evidence: Vec::new(),
            counts: MatchCounts {
                partner_records: np as u64,
                virtuous_records: nv as u64,
                ..MatchCounts::default()
            },
        }
    }

    /// One tier: union the open records sharing its keys, then pair or hold each component.
    fn tier(
        &mut self,
        ti: usize,
        tier: Tier,
        progress: &mut dyn FnMut(MatchProgress) -> ControlFlow<()>,
    ) -> Result<(), MatchError> {
        let phase = match tier {
            Tier::Reference => MatchPhase::Reference,
            Tier::Email => MatchPhase::Email,
            Tier::StrongSignal => MatchPhase::StrongSignal,
        };
        let (mut touched, key_roots) = self.union_keys(ti, phase, progress)?;
        touched.sort_unstable();
        touched.dedup();
        // Group members and keys by component root (sorted vectors, no per-group maps).
        let mut members: Vec<(u32, u32)> = touched.iter().map(|&m| (self.dsu.find(m), m)).collect();
        members.sort_unstable();
        let mut keys: Vec<(u32, u32)> = key_roots
            .iter()
            .map(|&(f, k)| (self.dsu.find(f), k))
            .collect();
        keys.sort_unstable();
        let m = self.m;
        let index = m.tiers.get(ti);
        let key_text = |k: u32| index.map_or("", |t| t.keys.get(k));
        let mut ki = 0usize;
        for group in members.chunk_by(|a, b| a.0 == b.0) {
            let Some(&(root, _)) = group.first() else {
                continue;
            };
            while keys.get(ki).is_some_and(|k| k.0 < root) {
                ki += 1;
            }
            let ev_start = self.evidence.len();
            while let Some(&(r, k)) = keys.get(ki) {
                if r != root {
                    break;
                }
                if key_text(k)
                    .as_bytes()
                    .first()
                    .and_then(|&t| Signal::from_tag(t))
                    .is_some()
                {
                    self.evidence.push((ti as u8, k));
                }
                ki += 1;
            }
            // Evidence sorted as `Evidence` orders: signal, then value.
            if let Some(ev) = self.evidence.get_mut(ev_start..) {
                ev.sort_unstable_by(|&(_, a), &(_, b)| {
                    let (ka, kb) = (key_text(a), key_text(b));
                    let sig = |k: &str| k.as_bytes().first().and_then(|&t| Signal::from_tag(t));
                    (sig(ka), ka.get(1..)).cmp(&(sig(kb), kb.get(1..)))
                });
            }
            let ev = (ev_start as u32, self.evidence.len() as u32);
            self.settle(ti, tier, group, ev);
        }
        // Reset the touched slots for the next tier.
        for &m in &touched {
            if let Some(slot) = self.dsu.parent.get_mut(m as usize) {
                *slot = m;
            }
        }
        Ok(())
    }

    /// Unions the open records sharing each key of tier `ti` (when both sides have one): the
    /// records touched, and one member per key.
    #[allow(clippy::type_complexity)]
    fn union_keys(
        &mut self,
        ti: usize,
        phase: MatchPhase,
        progress: &mut dyn FnMut(MatchProgress) -> ControlFlow<()>,
    ) -> Result<(Vec<u32>, Vec<(u32, u32)>), MatchError> {
        let mut key_roots: Vec<(u32, u32)> = Vec::new();
        let mut touched: Vec<u32> = Vec::new();
        let m = self.m;
        let postings: &[Posting] = m.tiers.get(ti).map_or(&[], |t| &t.postings);
        let total = postings.len() as u64;
        report(progress, phase, 0, total)?;
        for (k, posting) in postings.iter().enumerate() {
            if k > 0 && (k as u64).is_multiple_of(PROGRESS_STEP) {
                report(progress, phase, k as u64, total)?;
            }
            if matches!(posting, Posting::One(_)) {
                continue;
            }
            let (mut has_p, mut has_v) = (false, false);
            posting.for_each(|e| {
                if is_open(&self.pstat, &self.vstat, e) {
                    has_p |= e & VBIT == 0;
                    has_v |= e & VBIT != 0;
                }
            });
            if !(has_p && has_v) {
                continue;
            }
            let mut first: Option<u32> = None;
            posting.for_each(|e| {
                if is_open(&self.pstat, &self.vstat, e) {
                    let g = if e & VBIT == 0 {
                        e
                    } else {
                        self.offset.saturating_add(e & !VBIT)
                    };
                    match first {
                        None => first = Some(g),
                        Some(f) => self.dsu.union(f, g),
                    }
                    touched.push(g);
                }
            });
            if let Some(f) = first {
                key_roots.push((f, k as u32));
            }
        }
        report(progress, phase, total, total)?;
        Ok((touched, key_roots))
    }

    /// One component: exactly one record per side is a pair; anything else is held for review.
    fn settle(&mut self, ti: usize, tier: Tier, group: &[(u32, u32)], ev: (u32, u32)) {
        let offset = self.offset;
        let mut n_p = 0usize;
        let mut n_v = 0usize;
        let (mut one_p, mut one_v) = (0u32, 0u32);
        for &(_, m) in group {
            if m < offset {
                n_p += 1;
                one_p = m;
            } else {
                n_v += 1;
                one_v = m.saturating_sub(offset);
            }
        }
        if n_p == 1 && n_v == 1 {
            if let Some(s) = self.pstat.get_mut(one_p as usize) {
                *s = Status::Paired;
            }
            if let Some(s) = self.vstat.get_mut(one_v as usize) {
                *s = Status::Paired;
            }
            if let Some(c) = self.counts.pairs_by_tier.get_mut(ti) {
                *c = c.saturating_add(1);
            }
            self.pairs.push(PairRef {
                p: one_p,
                v: one_v,
                tier,
                ev,
            });
            return;
        }
        let m = self.m;
        let ps_start = self.members.len();
        for &(_, g) in group {
            if g < offset {
                if let Some(s) = self.pstat.get_mut(g as usize) {
                    *s = Status::Held;
                }
                self.members.push(g);
            }
        }
        let ps_end = self.members.len();
        for &(_, g) in group {
            if g >= offset {
                let vi = g.saturating_sub(offset);
                if let Some(s) = self.vstat.get_mut(vi as usize) {
                    *s = Status::Held;
                }
                self.members.push(vi);
            }
        }
        let vs_end = self.members.len();
        if let Some(list) = self.members.get_mut(ps_start..ps_end) {
            list.sort_unstable_by(|&a, &b| m.partner.ids.get(a).cmp(m.partner.ids.get(b)));
        }
        if let Some(list) = self.members.get_mut(ps_end..vs_end) {
            list.sort_unstable_by(|&a, &b| m.virtuous.ids.get(a).cmp(m.virtuous.ids.get(b)));
        }
        self.counts.review_partner = self.counts.review_partner.saturating_add(n_p as u64);
        self.counts.review_virtuous = self.counts.review_virtuous.saturating_add(n_v as u64);
        self.review.push(ReviewRef {
            tier,
            ps: (ps_start as u32, ps_end as u32),
            vs: (ps_end as u32, vs_end as u32),
            ev,
        });
    }

    /// The plan: pairs by partner id, review items in order, the records left open per side.
    fn plan(self) -> FinishedPlan<'m> {
        let Finishing {
            m,
            pstat,
            vstat,
            mut pairs,
            mut review,
            members,
            evidence,
            counts,
            ..
        } = self;
        pairs.sort_unstable_by(|a, b| m.partner.ids.get(a.p).cmp(m.partner.ids.get(b.p)));
        let ids_cmp = |st: &SideStore, a: &[u32], b: &[u32]| {
            a.iter()
                .map(|&i| st.ids.get(i))
                .cmp(b.iter().map(|&i| st.ids.get(i)))
        };
        review.sort_by(|a, b| {
            a.tier
                .cmp(&b.tier)
                .then_with(|| ids_cmp(&m.partner, range(&members, a.ps), range(&members, b.ps)))
                .then_with(|| ids_cmp(&m.virtuous, range(&members, a.vs), range(&members, b.vs)))
        });
        let open = |stat: &[Status], st: &SideStore| -> Vec<u32> {
            let mut out: Vec<u32> = stat
                .iter()
                .enumerate()
                .filter(|(_, s)| **s == Status::Open)
                .map(|(i, _)| i as u32)
                .collect();
            out.sort_unstable_by(|&a, &b| st.ids.get(a).cmp(st.ids.get(b)));
            out
        };
        FinishedPlan {
            m,
            virtuous_only: open(&vstat, &m.virtuous),
            partner_only: open(&pstat, &m.partner),
            pairs,
            review,
            members,
            evidence,
            counts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, emails: &[&str]) -> MatchRecord {
        MatchRecord {
            id: id.into(),
            emails: emails.iter().map(|s| s.to_string()).collect(),
            ..MatchRecord::default()
        }
    }

    #[test]
    fn tiers_and_households() {
        let mut m = InitialMatcher::new();
        let mut p1 = rec("p1", &["x@example.org"]);
        p1.references = vec![ExternalRef {
            source: "Partner".into(),
            id: "p1".into(),
        }];
        let mut v1 = rec("v1", &["other@example.org"]);
        v1.references = vec![ExternalRef {
            source: " partner ".into(),
            id: "p1".into(),
        }];
        m.add_partner_chunk(&[
            p1,
            rec("p2", &[" Ann@Example.org "]),
            rec("p3", &["family@example.org"]),
            rec("p4", &["family@example.org"]),
            rec("p5", &[]),
        ])
        .unwrap();
        m.add_virtuous_chunk(&[
            v1,
            rec("v2", &["ann@example.org"]),
            rec("v3", &["family@example.org"]),
            rec("v4", &[]),
        ])
        .unwrap();
        let plan = m.finish();
        assert_eq!(plan.pairs.len(), 2);
        assert_eq!(plan.pairs[0].tier, Tier::Reference);
        assert_eq!(plan.pairs[1].evidence[0].value, "ann@example.org");
        assert_eq!(plan.review.len(), 1);
        assert_eq!(plan.review[0].partner_ids, vec!["p3", "p4"]);
        assert_eq!(plan.partner_only, vec!["p5"]);
        assert_eq!(plan.virtuous_only, vec!["v4"]);
    }

    #[test]
    fn duplicate_ids_rejected_atomically() {
        let mut m = InitialMatcher::new();
        m.add_partner_chunk(&[rec("a", &[])]).unwrap();
        let e = m
            .add_partner_chunk(&[rec("b", &[]), rec("a", &[])])
            .unwrap_err();
        assert_eq!(e.code(), "duplicate-id");
        assert_eq!(m.len(), (1, 0));
        assert_eq!(
            m.add_virtuous_chunk(&[rec(" ", &[])]).unwrap_err().code(),
            "blank-id"
        );
    }

    #[test]
    fn normalisers() {
        assert_eq!(normalize_postal("12345-6789").as_deref(), Some("12345"));
        assert_eq!(normalize_postal("sw1a 1aa").as_deref(), Some("SW1A1AA"));
        assert_eq!(
            normalize_phone("+1 (555) 123-4567").as_deref(),
            Some("5551234567")
        );
        assert_eq!(normalize_phone("123"), None);
        assert_eq!(
            normalize_name("  Ann   SMITH ").as_deref(),
            Some("ann smith")
        );
        assert_eq!(normalize_name("Cher"), None);
        assert_eq!(normalize_email("nope"), None);
    }

    /// The normalisers before the allocation-free rewrite (issue 16), kept as the reference.
    mod reference {
        pub fn norm_text(s: &str) -> String {
            s.split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join(" ")
        }
        pub fn email(s: &str) -> Option<String> {
            let e = s.trim().to_lowercase();
            (e.len() >= 3 && e.contains('@')).then_some(e)
        }
        pub fn postal(s: &str) -> Option<String> {
            let p: String = s
                .chars()
                .filter(|c| !c.is_whitespace())
                .flat_map(char::to_uppercase)
                .collect();
            let b = p.as_bytes();
            if b.len() == 10
                && b.get(5) == Some(&b'-')
                && p.chars().filter(char::is_ascii_digit).count() == 9
            {
                return p.get(..5).map(str::to_string);
            }
            (!p.is_empty()).then_some(p)
        }
        pub fn phone(s: &str) -> Option<String> {
            let d: Vec<char> = s.chars().filter(char::is_ascii_digit).collect();
            if d.len() < 7 {
                return None;
            }
            let from = d.len().saturating_sub(10);
            Some(d.iter().skip(from).collect())
        }
        pub fn name(s: &str) -> Option<String> {
            let n = norm_text(s);
            (n.split(' ').count() >= 2).then_some(n)
        }
    }

    #[test]
    fn normalisers_match_the_reference() {
        use proptest::prelude::*;
        let text = prop::collection::vec(
            prop::sample::select(vec![
                "a", "Z", " ", "\t", "\u{b}", "\u{c}", "\r\n", "\u{a0}", "\u{2003}", "\u{85}", "@",
                "-", "1", "9", "İ", "ß", "É", "ǅ", "\u{200b}", "ﬃ", "Σ", ".",
            ]),
            0..14,
        )
        .prop_map(|v| v.concat());
        proptest!(ProptestConfig::with_cases(4000), |(s in text)| {
            prop_assert_eq!(normalize_email(&s), reference::email(&s));
            prop_assert_eq!(normalize_postal(&s), reference::postal(&s));
            prop_assert_eq!(normalize_phone(&s), reference::phone(&s));
            prop_assert_eq!(normalize_name(&s), reference::name(&s));
        });
        // ZIP+4 in full width and with inner spaces.
        for s in ["12345-6789", "1234 5-6789", "１２３４５-6789", "12345-678x"] {
            assert_eq!(normalize_postal(s), reference::postal(s), "{s}");
        }
    }

    fn sample() -> (Vec<MatchRecord>, Vec<MatchRecord>) {
        let mut ps = Vec::new();
        let mut vs = Vec::new();
        for i in 0..300u32 {
            let mut p = rec(&format!(" p{i}"), &[&format!("e{}@x.org", i % 40)]);
            p.names = vec![format!("Ann Smith{}", i % 7)];
            p.phones = vec![format!("555 000 {:04}", i % 11)];
            p.data = (i % 3 == 0).then(|| serde_json::json!({"i": i, "s": "é\u{1}"}));
            if i % 5 == 0 {
                p.references = vec![ExternalRef {
                    source: "P".into(),
                    id: format!("r{i}"),
                }];
            }
            ps.push(p);
            let mut v = rec(&format!("{}", 1000 + i), &[&format!("E{}@x.org", i % 55)]);
            v.names = vec![format!("ann  smith{}", i % 7)];
            v.phones = vec![format!("+1 555-000-{:04}", i % 13)];
            v.data = (i % 2 == 0).then(|| serde_json::json!({"v": i}));
            if i % 5 == 0 {
                v.references = vec![ExternalRef {
                    source: " p ".into(),
                    id: format!("r{i}"),
                }];
            }
            vs.push(v);
        }
        (ps, vs)
    }

    #[test]
    fn compact_plan_json_is_the_plan_json_and_seeds_do_not_matter() {
        let (ps, vs) = sample();
        let mut a = InitialMatcher::new();
        a.add_partner_chunk(&ps).unwrap();
        a.add_virtuous_chunk(&vs).unwrap();
        let plan = a.finish();
        assert!(!plan.pairs.is_empty() && !plan.review.is_empty());
        let compact = a.finish_compact();
        assert_eq!(
            serde_json::to_string(&compact).unwrap(),
            serde_json::to_string(&plan).unwrap()
        );
        // The direct writer writes serde_json's bytes, page by page and whole, escapes included.
        for section in [
            compact.pairs_page(0, usize::MAX),
            compact.pairs_page(3, 5),
            compact.review_page(0, usize::MAX),
            compact.review_page(1, 2),
            compact.partner_only(),
            compact.virtuous_only(),
            compact.pairs_page(usize::MAX, 1),
        ] {
            let mut out = String::new();
            section.write_json(&mut out);
            assert_eq!(out, serde_json::to_string(&section).unwrap());
        }
        for s in [
            "",
            "a\"b\\c\u{1f}\u{0}\u{7f}é\u{8}\u{c}\n\r\t/\u{1F600}\u{2028}",
        ] {
            let mut out = String::new();
            push_json_str(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
        // Pages concatenate to the whole section.
        let mut paged: Vec<serde_json::Value> = Vec::new();
        for start in (0..compact.pair_count()).step_by(7) {
            let page = serde_json::to_value(compact.pairs_page(start, 7)).unwrap();
            paged.extend(page.as_array().unwrap().iter().cloned());
        }
        assert_eq!(
            serde_json::Value::Array(paged),
            serde_json::to_value(&plan.pairs).unwrap()
        );
        // Another seed, the JSON text form, chunks split differently: the same plan.
        let mut b = InitialMatcher::with_seed(&MatchSeed::from_bytes([7; 32]));
        for c in vs.chunks(64) {
            b.add_virtuous_chunk_json(&serde_json::to_string(c).unwrap())
                .unwrap();
        }
        for c in ps.chunks(50) {
            b.add_partner_chunk(c).unwrap();
        }
        assert_eq!(b.finish(), plan);
    }

    #[test]
    fn progress_reports_every_phase_and_can_cancel() {
        let (ps, vs) = sample();
        let mut m = InitialMatcher::with_seed(&MatchSeed::from_hex(&"ab".repeat(32)).unwrap());
        m.add_partner_chunk(&ps).unwrap();
        m.add_virtuous_chunk(&vs).unwrap();
        let mut seen = Vec::new();
        let plan = m
            .finish_with_progress(&mut |p| {
                seen.push(p);
                ControlFlow::Continue(())
            })
            .unwrap()
            .to_plan();
        assert_eq!(plan, m.finish());
        let phases: Vec<MatchPhase> = seen.iter().map(|p| p.phase).collect();
        assert_eq!(
            phases,
            [
                MatchPhase::Reference,
                MatchPhase::Reference,
                MatchPhase::Email,
                MatchPhase::Email,
                MatchPhase::StrongSignal,
                MatchPhase::StrongSignal,
                MatchPhase::Plan,
                MatchPhase::Plan
            ]
        );
        assert!(seen.iter().all(|p| p.done <= p.total));
        assert_eq!(seen.last().unwrap().total, 600);
        let mut calls = 0;
        let e = m
            .finish_with_progress(&mut |_| {
                calls += 1;
                if calls == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .unwrap_err();
        assert_eq!((e.code(), calls), ("cancelled", 3));
    }

    #[test]
    fn chunk_text_reads_records_only_from_objects() {
        // serde's derive would read `["p1"]` as a record with id p1: refused, as the typed reader
        // refuses it, with the same sentence and the place.
        let mut m = InitialMatcher::new();
        for (text, field, message) in [
            (
                r#"[["p1"]]"#,
                "records[0]",
                "invalid type: sequence, expected struct MatchRecord",
            ),
            (
                r#"["p1"]"#,
                "records[0]",
                "invalid type: string \"p1\", expected struct MatchRecord",
            ),
            (
                r#"[{"id":"p1","references":[["S","r1"]]}]"#,
                "records[0].references[0]",
                "invalid type: sequence, expected struct ExternalRef",
            ),
        ] {
            let e = m.add_partner_chunk_json(text).unwrap_err();
            assert_eq!(e.code(), "invalid-chunk", "{text}");
            assert_eq!(e.field(), field, "{text}");
            assert!(e.to_string().contains(message), "{text}: {e}");
            let typed = crate::typed::typed::<Vec<MatchRecord>>(
                &serde_json::from_str(text).unwrap(),
                "records",
            )
            .unwrap_err();
            assert_eq!(
                (typed.0.as_str(), typed.1.as_str()),
                (field, message),
                "{text}"
            );
        }
        let ok = r#"[{"id":"p1","references":[{"source":"S","id":"r1"}],"data":{"a":[1,2]}}]"#;
        m.add_partner_chunk_json(ok).unwrap();
        assert_eq!(m.len(), (1, 0));
    }

    #[test]
    fn seeds_and_chunk_text_are_bounded() {
        assert_eq!(
            MatchSeed::from_hex("00").unwrap_err().code(),
            "invalid-seed"
        );
        assert_eq!(
            MatchSeed::from_hex(&"zz".repeat(32)).unwrap_err().code(),
            "invalid-seed"
        );
        assert_eq!(
            format!("{:?}", MatchSeed::from_bytes([9; 32])),
            "MatchSeed(..)"
        );
        let mut m = InitialMatcher::new();
        let big = " ".repeat(MAX_CHUNK_JSON_BYTES + 1);
        let e = m.add_partner_chunk_json(&big).unwrap_err();
        assert_eq!(
            (e.code(), e.field().as_str()),
            ("chunk-too-large", "records")
        );
        let e = m
            .add_partner_chunk_json(r#"[{"id":"a"},{"id":"b","emails":[1]}]"#)
            .unwrap_err();
        assert_eq!(
            (e.code(), e.field().as_str()),
            ("invalid-chunk", "records[1].emails[0]")
        );
        assert!(m.is_empty());
        // A failing chunk (a duplicate at its end) adds none of its records.
        let e = m
            .add_partner_chunk_json(r#"[{"id":"a","emails":["a@x.org"]},{"id":" a"}]"#)
            .unwrap_err();
        assert_eq!(e.code(), "duplicate-id");
        assert!(m.is_empty());
        m.add_partner_chunk_json(r#"[{"id":"a"}]"#).unwrap();
        assert_eq!(m.len(), (1, 0));
    }

    /// Renders `v` as JSON text in one of the many spellings of the same value (keys in any order,
    /// duplicates, whitespace, escapes, other number forms), driven by `pick`.
    fn spell(v: &serde_json::Value, pick: &mut dyn FnMut(u32) -> u32, out: &mut String) {
        use serde_json::Value as V;
        let ws = |pick: &mut dyn FnMut(u32) -> u32, out: &mut String| {
            if pick(8) == 0 {
                out.push_str([" ", "\n", "\t", "\r "][pick(4) as usize]);
            }
        };
        let string = |t: &str, pick: &mut dyn FnMut(u32) -> u32, out: &mut String| {
            if pick(6) == 0 {
                // Every character escaped as \uXXXX (surrogate pairs beyond the BMP).
                out.push('"');
                for u in t.encode_utf16() {
                    out.push_str(&format!("\\u{u:04x}"));
                }
                out.push('"');
            } else {
                out.push_str(&serde_json::to_string(t).unwrap());
            }
        };
        ws(pick, out);
        match v {
            V::Object(map) => {
                let mut entries: Vec<(&String, &V)> = map.iter().collect();
                if pick(3) == 0 && entries.len() > 1 {
                    entries.reverse();
                }
                out.push('{');
                let mut first = true;
                for (k, x) in &entries {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    if pick(10) == 0 {
                        // A shadowed duplicate: the last one wins in the value reader.
                        string(k, pick, out);
                        out.push_str(":0,");
                    }
                    string(k, pick, out);
                    ws(pick, out);
                    out.push(':');
                    spell(x, pick, out);
                }
                out.push('}');
            }
            V::Array(items) => {
                out.push('[');
                for (n, x) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    spell(x, pick, out);
                }
                out.push(']');
            }
            V::String(t) => string(t, pick, out),
            V::Number(n) => match (n.as_i64(), pick(5)) {
                (Some(i), 0) => out.push_str(&format!("{i}.0")),
                (Some(i), 1) => out.push_str(&format!("{i}e0")),
                (Some(0), 2) => out.push_str("-0"),
                _ => out.push_str(&n.to_string()),
            },
            other => out.push_str(&other.to_string()),
        }
        ws(pick, out);
    }

    #[test]
    fn data_digested_from_its_text_is_the_value_digest() {
        use proptest::prelude::*;
        use serde_json::Value as V;
        let leaf = prop_oneof![
            Just(V::Null),
            any::<bool>().prop_map(V::Bool),
            any::<i64>().prop_map(V::from),
            any::<u64>().prop_map(V::from),
            (-1000i64..1000).prop_map(V::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(V::from),
            "[a-c\"\\\u{1}\u{7f}é\u{1F600} ]{0,4}".prop_map(V::String),
        ];
        let value = leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(V::Array),
                prop::collection::btree_map("[a-cB_\"é]{0,3}", inner, 0..4)
                    .prop_map(|m| V::Object(m.into_iter().collect())),
            ]
        });
        let fast = core::cell::Cell::new(0u32);
        proptest!(ProptestConfig::with_cases(3000), |(v in value, picks in prop::collection::vec(any::<u32>(), 64))| {
            let mut at = 0usize;
            let mut pick = |n: u32| {
                at += 1;
                picks.get(at % picks.len()).copied().unwrap_or(0) % n
            };
            for text in [serde_json::to_string(&v).unwrap(), {
                let mut t = String::new();
                spell(&v, &mut pick, &mut t);
                t
            }] {
                let parsed: V = serde_json::from_str(&text).unwrap();
                let want = sha256_json(&parsed);
                match canonical_json(text.as_bytes()) {
                    Some(true) => {
                        fast.set(fast.get() + 1);
                        prop_assert_eq!(sha256_bytes(text.as_bytes()), want, "{}", text);
                    }
                    Some(false) => {}
                    None => prop_assert!(false, "shallow value reported deep: {}", text),
                }
                // The whole read: the fast reader's digest is the reference reader's.
                let chunk = format!("[{{\"id\":\"a\",\"data\":{text}}}]");
                let reference = parse_chunk(&chunk).unwrap();
                let got = read_chunk(&chunk).map(|r| r.iter().map(|x| x.digest).collect::<Vec<_>>());
                if let Some(got) = got {
                    prop_assert_eq!(got, vec![reference.first().and_then(|r| r.digest)]);
                }
            }
        });
        // Most serde_json texts take the fast path (floats and escapes do not).
        assert!(fast.get() > 1000, "{}", fast.get());
    }

    #[test]
    fn data_the_value_reader_refuses_is_refused_the_same_way() {
        // Out of range, and nested past the reader's depth limit: the fast read hands over to the
        // reference read, whose error (and field) is the answer.
        let deep = format!("{}{}", "[".repeat(130), "]".repeat(130));
        let just_fits = format!("{}{}", "[".repeat(126), "]".repeat(126));
        for data in [
            "1e400",
            "-1e999",
            deep.as_str(),
            just_fits.as_str(),
            "{\"b\":1,\"a\":1e400}",
        ] {
            let chunk = format!("[{{\"id\":\"a\"}},{{\"id\":\"b\",\"data\":{data}}}]");
            let want = parse_chunk(&chunk).map(|r| r.iter().map(|x| x.digest).collect::<Vec<_>>());
            let mut m = InitialMatcher::new();
            let got = m.add_partner_chunk_json(&chunk);
            match want {
                Ok(_) => assert!(got.is_ok(), "{data}"),
                Err(e) => {
                    let g = got.unwrap_err();
                    assert_eq!(g.code(), "invalid-chunk");
                    assert_eq!(g.field(), format!("records{}", e.field));
                    assert!(g.to_string().contains(&e.message), "{g} / {}", e.message);
                }
            }
        }
        assert_eq!(canonical_json(deep.as_bytes()), None);
        assert_eq!(
            canonical_json(b"{\"a\":1,\"b\":[true,false,null,\"x\",-5,0]}"),
            Some(true)
        );
        for t in [
            "{\"b\":1,\"a\":2}",
            "{\"a\":1,\"a\":2}",
            "-0",
            "1.0",
            "1e2",
            "01",
            " 1",
            "\"\\n\"",
            "1234567890123456789",
        ] {
            assert_eq!(canonical_json(t.as_bytes()), Some(false), "{t}");
        }
    }
}
