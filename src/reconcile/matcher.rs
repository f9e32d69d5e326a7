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
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

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

#[derive(Debug, Default)]
struct SideStore {
    ids: Vec<Box<str>>,
    digests: Vec<Option<[u8; 32]>>,
    by_hash: HashMap<u64, u32>,
    overflow: HashMap<Box<str>, u32>,
}

fn hash_str(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl SideStore {
    fn insert(
        &mut self,
        side: Side,
        id: &str,
        digest: Option<[u8; 32]>,
    ) -> Result<u32, MatchError> {
        let given = id;
        let id = crate::id::key(id);
        if id.is_empty() {
            return Err(MatchError::BlankId { side });
        }
        let idx = u32::try_from(self.ids.len()).map_err(|_| MatchError::TooManyRecords)?;
        if idx >= VBIT - 1 {
            return Err(MatchError::TooManyRecords);
        }
        let dup = || MatchError::DuplicateId {
            side,
            id: id.to_string(),
        };
        match self.by_hash.entry(hash_str(id)) {
            Entry::Vacant(e) => {
                e.insert(idx);
            }
            Entry::Occupied(e) => {
                let existing = *e.get();
                if self.key(existing) == Some(id) {
                    return Err(dup());
                }
                match self.overflow.entry(id.into()) {
                    Entry::Occupied(_) => return Err(dup()),
                    Entry::Vacant(v) => {
                        v.insert(idx);
                    }
                }
            }
        }
        self.ids.push(given.into());
        self.digests.push(digest);
        Ok(idx)
    }

    /// The comparison key of record `i`'s id.
    fn key(&self, i: u32) -> Option<&str> {
        self.ids.get(i as usize).map(|s| crate::id::key(s))
    }

    /// Whether an id with this key is stored.
    fn contains(&self, key: &str) -> bool {
        self.by_hash
            .get(&hash_str(key))
            .is_some_and(|&i| self.key(i) == Some(key))
            || self.overflow.contains_key(key)
    }

    fn id(&self, i: u32) -> String {
        self.ids
            .get(i as usize)
            .map(|s| s.to_string())
            .unwrap_or_default()
    }
}

/// Lowercase, trim, collapse inner whitespace.
fn norm_text(s: &str) -> String {
    s.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Email: trim and lowercase only.
pub fn normalize_email(s: &str) -> Option<String> {
    let e = s.trim().to_lowercase();
    (e.len() >= 3 && e.contains('@')).then_some(e)
}

/// Postal code: uppercase, spaces removed; US ZIP+4 cut to the five-digit ZIP.
pub fn normalize_postal(s: &str) -> Option<String> {
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

/// Phone: digits only, the last ten kept; fewer than seven digits is no phone.
pub fn normalize_phone(s: &str) -> Option<String> {
    let d: Vec<char> = s.chars().filter(char::is_ascii_digit).collect();
    if d.len() < 7 {
        return None;
    }
    let from = d.len().saturating_sub(10);
    Some(d.iter().skip(from).collect())
}

/// Name: lowercase, trimmed, whitespace collapsed; at least two words (first and last).
pub fn normalize_name(s: &str) -> Option<String> {
    let n = norm_text(s);
    (n.split(' ').count() >= 2).then_some(n)
}

fn sha256_json(v: &serde_json::Value) -> [u8; 32] {
    // serde_json's map is ordered by key, so this is canonical for a given value.
    let text = v.to_string();
    let d = Sha256::digest(text.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(&d);
    out
}

/// Streaming initial matcher (npm `InitialMatcher`).
#[derive(Debug, Default)]
pub struct InitialMatcher {
    partner: SideStore,
    virtuous: SideStore,
    index: HashMap<Box<str>, Posting>,
}

fn record_keys(r: &MatchRecord) -> Option<Vec<String>> {
    let lim = MAX_VALUES_PER_RECORD;
    if r.references.len() > lim
        || r.emails.len() > lim
        || r.names.len() > lim
        || r.postal_codes.len() > lim
        || r.phones.len() > lim
    {
        return None;
    }
    let mut keys = Vec::new();
    let mut push = |sig: Signal, value: String| {
        let mut k = String::with_capacity(value.len() + 1);
        k.push(char::from(sig.tag()));
        k.push_str(&value);
        keys.push(k);
    };
    for rf in &r.references {
        let (s, i) = (rf.source.trim().to_lowercase(), rf.id.trim());
        if !s.is_empty() && !i.is_empty() {
            push(Signal::Reference, format!("{s}\u{1f}{i}"));
        }
    }
    for e in r.emails.iter().filter_map(|e| normalize_email(e)) {
        push(Signal::Email, e);
    }
    let names: Vec<String> = r.names.iter().filter_map(|n| normalize_name(n)).collect();
    if !names.is_empty() {
        for p in r.postal_codes.iter().filter_map(|p| normalize_postal(p)) {
            for n in &names {
                push(Signal::NamePostal, format!("{n}|{p}"));
            }
        }
        for ph in r.phones.iter().filter_map(|p| normalize_phone(p)) {
            for n in &names {
                push(Signal::NamePhone, format!("{n}|{ph}"));
            }
        }
    }
    keys.sort();
    keys.dedup();
    Some(keys)
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
    /// An empty matcher.
    pub fn new() -> Self {
        InitialMatcher::default()
    }

    /// An empty matcher sized for the expected record counts (the query `total` and the
    /// partner's own count), which avoids rehashing peaks while feeding a million records.
    pub fn with_capacity(partner: usize, virtuous: usize) -> Self {
        let side = |n: usize| SideStore {
            ids: Vec::with_capacity(n),
            digests: Vec::with_capacity(n),
            by_hash: HashMap::with_capacity(n),
            overflow: HashMap::new(),
        };
        InitialMatcher {
            partner: side(partner),
            virtuous: side(virtuous),
            index: HashMap::with_capacity(partner.saturating_add(virtuous).saturating_mul(3) / 2),
        }
    }

    /// [`InitialMatcher::with_capacity`] for caller-given hints: each at most [`MAX_SIZE_HINT`],
    /// else `size-hint-too-large` (an unbounded hint would abort the instance on allocation).
    pub fn try_with_capacity(partner: u64, virtuous: u64) -> Result<Self, MatchError> {
        let check = |side: Side, hint: u64| {
            if hint > MAX_SIZE_HINT {
                Err(MatchError::SizeHintTooLarge { side, hint })
            } else {
                usize::try_from(hint).map_err(|_| MatchError::SizeHintTooLarge { side, hint })
            }
        };
        Ok(InitialMatcher::with_capacity(
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

    /// Records fed so far: (partner, virtuous).
    pub fn len(&self) -> (usize, usize) {
        (self.partner.ids.len(), self.virtuous.ids.len())
    }

    /// Whether nothing was fed.
    pub fn is_empty(&self) -> bool {
        self.partner.ids.is_empty() && self.virtuous.ids.is_empty()
    }

    fn add(&mut self, side: Side, records: &[MatchRecord]) -> Result<(), MatchError> {
        // Validate the whole chunk first so a failing chunk changes nothing.
        let mut prepared = Vec::with_capacity(records.len());
        let mut seen = std::collections::HashSet::new();
        for r in records {
            let id = crate::id::key(&r.id);
            if id.is_empty() {
                return Err(MatchError::BlankId { side });
            }
            let store = match side {
                Side::Partner => &self.partner,
                Side::Virtuous => &self.virtuous,
            };
            let dup = !seen.insert(id) || store.contains(id);
            if dup {
                return Err(MatchError::DuplicateId {
                    side,
                    id: id.to_string(),
                });
            }
            let keys = record_keys(r).ok_or_else(|| MatchError::TooManyValues {
                side,
                id: id.to_string(),
            })?;
            prepared.push((keys, r.data.as_ref().map(sha256_json)));
        }
        for (r, (keys, digest)) in records.iter().zip(prepared) {
            let store = match side {
                Side::Partner => &mut self.partner,
                Side::Virtuous => &mut self.virtuous,
            };
            let idx = store.insert(side, &r.id, digest)?;
            for k in keys {
                let tagged = match side {
                    Side::Partner => idx,
                    Side::Virtuous => idx | VBIT,
                };
                match self.index.entry(k.into_boxed_str()) {
                    Entry::Vacant(e) => {
                        e.insert(Posting::One(tagged));
                    }
                    Entry::Occupied(mut e) => e.get_mut().push(tagged),
                }
            }
        }
        Ok(())
    }

    /// Computes the plan. The matcher can keep being fed and finished again.
    pub fn finish(&self) -> MatchPlan {
        let mut f = Finishing::new(self);
        for (ti, tier) in [Tier::Reference, Tier::Email, Tier::StrongSignal]
            .into_iter()
            .enumerate()
        {
            f.tier(ti, tier);
        }
        f.plan()
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

/// One run of [`InitialMatcher::finish`]: the records' status, the union-find over both sides
/// (Virtuous positions after the partner's, at `offset`), and the plan so far.
struct Finishing<'m> {
    m: &'m InitialMatcher,
    pstat: Vec<Status>,
    vstat: Vec<Status>,
    offset: u32,
    dsu: Dsu,
    pairs: Vec<MatchedPair>,
    review: Vec<ReviewItem>,
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
            counts: MatchCounts {
                partner_records: np as u64,
                virtuous_records: nv as u64,
                ..MatchCounts::default()
            },
        }
    }

    /// One tier: union the open records sharing its keys, then pair or hold each component.
    fn tier(&mut self, ti: usize, tier: Tier) {
        let (mut touched, key_roots) = self.union_keys(tier);
        touched.sort_unstable();
        touched.dedup();
        // Group members and keys by component root (sorted vectors, no per-group maps).
        let mut members: Vec<(u32, u32)> = touched.iter().map(|&m| (self.dsu.find(m), m)).collect();
        members.sort_unstable();
        let mut keys: Vec<(u32, &str)> = key_roots
            .iter()
            .map(|&(f, k)| (self.dsu.find(f), k))
            .collect();
        keys.sort_unstable();
        let mut ki = 0usize;
        for group in members.chunk_by(|a, b| a.0 == b.0) {
            let Some(&(root, _)) = group.first() else {
                continue;
            };
            while keys.get(ki).is_some_and(|k| k.0 < root) {
                ki += 1;
            }
            let mut evidence: Vec<Evidence> = Vec::new();
            while let Some(&(r, k)) = keys.get(ki) {
                if r != root {
                    break;
                }
                if let (Some(sig), Some(value)) = (
                    k.as_bytes().first().and_then(|&t| Signal::from_tag(t)),
                    k.get(1..),
                ) {
                    evidence.push(Evidence {
                        signal: sig,
                        value: value.to_string(),
                    });
                }
                ki += 1;
            }
            evidence.sort();
            self.settle(ti, tier, group, evidence);
        }
        // Reset the touched slots for the next tier.
        for &m in &touched {
            if let Some(slot) = self.dsu.parent.get_mut(m as usize) {
                *slot = m;
            }
        }
    }

    /// Unions the open records sharing each key of `tier` (when both sides have one): the
    /// records touched, and one member per key.
    fn union_keys(&mut self, tier: Tier) -> (Vec<u32>, Vec<(u32, &'m str)>) {
        let mut key_roots: Vec<(u32, &'m str)> = Vec::new();
        let mut touched: Vec<u32> = Vec::new();
        let m = self.m;
        for (key, posting) in &m.index {
            let Some(sig) = key.as_bytes().first().and_then(|&t| Signal::from_tag(t)) else {
                continue;
            };
            if sig.tier() != tier || matches!(posting, Posting::One(_)) {
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
                key_roots.push((f, key));
            }
        }
        (touched, key_roots)
    }

    /// One component: exactly one record per side is a pair; anything else is held for review.
    fn settle(&mut self, ti: usize, tier: Tier, group: &[(u32, u32)], evidence: Vec<Evidence>) {
        let offset = self.offset;
        let (ps, vs): (Vec<u32>, Vec<u32>) =
            group.iter().map(|&(_, m)| m).partition(|&m| m < offset);
        let (m, counts) = (self.m, &mut self.counts);
        if let ([p], [v]) = (ps.as_slice(), vs.as_slice()) {
            let vi = v.saturating_sub(offset);
            if let Some(s) = self.pstat.get_mut(*p as usize) {
                *s = Status::Paired;
            }
            if let Some(s) = self.vstat.get_mut(vi as usize) {
                *s = Status::Paired;
            }
            if let Some(c) = counts.pairs_by_tier.get_mut(ti) {
                *c = c.saturating_add(1);
            }
            let hexd = |d: Option<&Option<[u8; 32]>>| d.copied().flatten().map(hex::encode);
            self.pairs.push(MatchedPair {
                partner_id: m.partner.id(*p),
                virtuous_id: m.virtuous.id(vi),
                tier,
                state: PairState::InSync,
                evidence,
                partner_digest: hexd(m.partner.digests.get(*p as usize)),
                virtuous_digest: hexd(m.virtuous.digests.get(vi as usize)),
            });
            return;
        }
        let mut partner_ids: Vec<String> = ps
            .iter()
            .map(|&p| {
                if let Some(s) = self.pstat.get_mut(p as usize) {
                    *s = Status::Held;
                }
                m.partner.id(p)
            })
            .collect();
        let mut virtuous_ids: Vec<String> = vs
            .iter()
            .map(|&v| {
                let vi = v.saturating_sub(offset);
                if let Some(s) = self.vstat.get_mut(vi as usize) {
                    *s = Status::Held;
                }
                m.virtuous.id(vi)
            })
            .collect();
        partner_ids.sort();
        virtuous_ids.sort();
        counts.review_partner = counts.review_partner.saturating_add(ps.len() as u64);
        counts.review_virtuous = counts.review_virtuous.saturating_add(vs.len() as u64);
        self.review.push(ReviewItem {
            tier,
            reason: "shared-value".into(),
            partner_ids,
            virtuous_ids,
            evidence,
        });
    }

    /// The plan: pairs by partner id, review items in order, the records left open per side.
    fn plan(self) -> MatchPlan {
        let Finishing {
            m,
            pstat,
            vstat,
            mut pairs,
            mut review,
            counts,
            ..
        } = self;
        pairs.sort_by(|a, b| a.partner_id.cmp(&b.partner_id));
        review.sort_by(|a, b| {
            (a.tier, &a.partner_ids, &a.virtuous_ids).cmp(&(
                b.tier,
                &b.partner_ids,
                &b.virtuous_ids,
            ))
        });
        let open = |stat: &[Status], ids: &SideStore| -> Vec<String> {
            let mut out: Vec<String> = stat
                .iter()
                .enumerate()
                .filter(|(_, s)| **s == Status::Open)
                .map(|(i, _)| ids.id(u32::try_from(i).unwrap_or(u32::MAX)))
                .collect();
            out.sort();
            out
        };
        MatchPlan {
            pairs,
            virtuous_only: open(&vstat, &m.virtuous),
            partner_only: open(&pstat, &m.partner),
            review,
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
}
