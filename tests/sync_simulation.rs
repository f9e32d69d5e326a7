#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Deterministic simulation: a partner store and a model of Virtuous drive the sync core through
//! seeded random schedules.
//!
//! Virtuous model: echoes our writes as webhooks; delivers every event at least once (sometimes
//! twice) and in random order; holds Transactions until a nightly batch (which matches on the
//! external reference, so a resent Transaction does not duplicate); lets staff create and edit
//! records and merge contacts; its clock is skewed by up to ±10 minutes; echoes money in another
//! representation (`"125.00"` comes back as `125.0`) and our platform name in another case.
//! Partner host: pushes dirty records through `decide_outbound`, keeps an outbox of requests that
//! may fail (retried unchanged) or be applied with a lost acknowledgement (resent), applies inbound
//! decisions, and has an admin who settles conflicts.
//!
//! After each round of random activity the world is driven to quiet. Asserted: quiescence (writes
//! stop within a bounded number of cycles and a further cycle writes nothing), convergence (both
//! sides hold the same mapped values, every record exists on both sides exactly once), and no edit
//! lost: a field edited on one side only ends with that side's last value, a field edited on both
//! ends with one of the two last values (policy decides), except fields the other side owns.
//!
//! Two payload profiles run every seed. `classic`: dated deliveries carrying every mapped field
//! and the stamp, `PUT` merging the fields sent (`updateMode: "partial"`). `live`, shaped like the
//! live CRM+ deliveries (reference section 6): most deliveries without `modifiedDateTimeUtc`, gifts
//! with `giftDateFormatted` (M/D/YYYY) and no `giftDate`, designations enriched with `projectId` and
//! ids, stamp fields often absent, unmapped fields (`contactId`, `segmentCode`, `customFields`);
//! `PUT` replaces the whole record (a field missing from the body is blanked, so a partial `PUT`
//! visibly loses data), and the host follows the default options: GET-then-PUT (`fetch`,
//! `apply-inbound`), undated deliveries fetched, unstamped creates verified. Asserted in `live`
//! too: unmapped fields survive every write, and no read-only property is sent back.
//!
//! `SYNC_SIM_SEEDS=n` runs n seeds (default 3000), from `SYNC_SIM_FROM` (default 0), so a long run
//! can be split across cores; `SYNC_SIM_SEED=s` runs one seed with its trace;
//! `SYNC_SIM_PROFILE=classic|live` restricts the run to one profile (default both).
//! A failure prints the seed and a shrunk trace.

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The schedules allocate heavily (events, states, digests); the system allocator took about a
/// third of a seed's time.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
use virtuous_sync::event::{Event, EventType, ResourceKind};
use virtuous_sync::sync::outbound::validate_change;
use virtuous_sync::sync::payload::read_field;
use virtuous_sync::sync::*;

const MIN: i64 = 60_000;
/// Live contacts: the unmapped parts of `contactIndividuals` kept in `VRec.extra`.
const INDIVIDUAL: &str = "_individualId";
const PHONE: &str = "_phone";
const HOUR: i64 = 60 * MIN;
const PLATFORM: &str = "Acme Giving";
const CUSTOMER: &str = "cust-1";

thread_local! {
    /// How often each scenario class of issue 10 occurred, per policy (`name/pN`).
    static REACHED: std::cell::RefCell<BTreeMap<String, u64>> =
        const { std::cell::RefCell::new(BTreeMap::new()) };
}

fn reached(name: &str, policy: u8) {
    REACHED.with(|r| {
        *r.borrow_mut()
            .entry(format!("{name}/p{policy}"))
            .or_default() += 1
    });
}

/// Appends a line to the run's trace, formatted only when the run keeps one (a replay, or the
/// shrunk schedule of a failure): formatting every decision dominated a passing seed's time.
macro_rules! trace {
    ($w:expr, $($arg:tt)*) => {
        if $w.tracing {
            $w.trace.push(format!($($arg)*));
        }
    };
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

#[derive(Clone, Debug)]
enum Step {
    PartnerCreate {
        contact: bool,
    },
    PartnerEdit {
        rec: u64,
        field: u64,
    },
    StaffCreate {
        contact: bool,
    },
    StaffEdit {
        rec: u64,
        field: u64,
    },
    StaffMerge {
        a: u64,
        b: u64,
    },
    Deliver {
        pick: u64,
    },
    Duplicate {
        pick: u64,
    },
    Push,
    Flush {
        fail: u64,
    },
    Batch,
    Resolve {
        pick: u64,
    },
    Advance {
        ms: i64,
    },
    /// Drive to quiet and check (ends a round).
    Quiesce,
}

#[derive(Clone, Copy, Debug)]
struct Config {
    skew_ms: i64,
    policy: u8,
    cooldown_ms: i64,
    /// Values from tiny domains (three amounts, three splits, three notes...), so histories
    /// return to earlier values (A-B-A) on both sides and writes look alike.
    small: bool,
    /// One partner edit in `undo_every` is an undo.
    undo_every: u64,
    /// The host reports per-field partner times (`fieldModifiedMs`).
    field_times: bool,
    /// The live payload profile (see the module docs).
    live: bool,
}

fn options(cfg: &Config) -> SyncOptions {
    let mut o = SyncOptions::new(PLATFORM, CUSTOMER);
    if !cfg.live {
        // The flat contact map this profile was written for (top-level name, type, address).
        o.field_maps.insert(
            ResourceKind::Contact,
            vec![
                FieldSpec::top("name", FieldType::Plain, true),
                FieldSpec::top("contactType", FieldType::Plain, false),
                FieldSpec::top("address", FieldType::Plain, false),
            ],
        );
        o.update_mode = UpdateMode::Partial;
        o.unstamped_creates = UnstampedCreates::Create;
        o.undated_events = UndatedEvents::Decide;
    }
    o.cooldown_ms = cfg.cooldown_ms;
    match cfg.policy {
        0 => {}
        1 => o.policy.default = FieldPolicy::MostRecentWins,
        2 => o.policy.default = FieldPolicy::Manual,
        _ => {
            let mut g = KindPolicy::default();
            g.fields.insert("notes".into(), FieldPolicy::PartnerOwns);
            g.fields
                .insert("giftType".into(), FieldPolicy::VirtuousOwns);
            o.policy.kinds.insert(ResourceKind::Gift, g);
            let mut c = KindPolicy::default();
            c.fields
                .insert("contactType".into(), FieldPolicy::VirtuousOwns);
            c.fields.insert("address".into(), FieldPolicy::PartnerOwns);
            c.fields.insert("city".into(), FieldPolicy::PartnerOwns);
            o.policy.kinds.insert(ResourceKind::Contact, c);
        }
    }
    o
}

/// Editable fields; `amount` also re-splits the designations, `giftDesignations` re-splits the
/// same amount (both edit the amount + designations field group).
const GIFT_EDIT: [&str; 4] = ["notes", "giftType", "amount", "giftDesignations"];
const CONTACT_EDIT: [&str; 4] = ["name", "contactType", "address", "name"];
/// The default field group, checked as one unit (its edits are logged under this key too).
const GROUP: [&str; 2] = ["amount", "giftDesignations"];
const GROUP_KEY: &str = "amount+giftDesignations";

fn in_group(field: &str) -> bool {
    GROUP.contains(&field)
}

/// `cents` split over projects: all on P1, 60/40 over P1 and P2, or all on P2.
fn split(cents: u64, how: u64, variant: u64) -> Value {
    let part = |c: u64, v: u64| money_value(c, v);
    match how % 3 {
        0 => json!([{"projectCode": "P1", "amountDesignated": part(cents, variant)}]),
        1 => {
            let a = cents * 6 / 10;
            json!([{"projectCode": "P1", "amountDesignated": part(a, variant)},
                   {"projectCode": "P2", "amountDesignated": part(cents - a, variant + 1)}])
        }
        _ => json!([{"projectCode": "P2", "amountDesignated": part(cents, variant)}]),
    }
}

fn cents_of(v: Option<&Value>) -> u64 {
    v.and_then(|v| Money::from_json(v).ok())
        .map_or(1000, |m| (m.micros / 10_000) as u64)
}
/// Live profile: the default contact map's fields, read from the live shape.
const LIVE_CONTACT_EDIT: [&str; 4] = ["email", "contactType", "city", "email"];

fn kind_of(contact: bool) -> ResourceKind {
    if contact {
        ResourceKind::Contact
    } else {
        ResourceKind::Gift
    }
}

struct PRec {
    id: String,
    kind: ResourceKind,
    values: BTreeMap<String, Value>,
    modified: i64,
    state: Option<RecordState>,
    dirty: bool,
    retry_at: Option<i64>,
    merged: bool,
    /// When the partner last changed each field (its own edits and values applied from Virtuous).
    field_modified: BTreeMap<String, i64>,
    /// Per field (the amount + designations group under `GROUP_KEY`), the value before the
    /// partner's last edit of it (for undo).
    undo: BTreeMap<String, Value>,
}

struct VRec {
    id: String,
    kind: ResourceKind,
    /// Mapped values in Virtuous's own form (ISO dates, designations with `projectId`).
    values: BTreeMap<String, Value>,
    /// Unmapped properties (live profile), and what they were at creation (nobody edits them).
    extra: Map<String, Value>,
    extra0: Map<String, Value>,
    source: Option<String>,
    ext_id: Option<String>,
    modified: i64,
    merged_into: Option<String>,
}

#[derive(Clone, Debug)]
enum Who {
    Partner(String),
    Virtuous(String),
}

struct World {
    cfg: Config,
    opts: SyncOptions,
    now: i64,
    partner: Vec<PRec>,
    virt: Vec<VRec>,
    holding: Vec<(ResourceKind, Map<String, Value>)>,
    queue: Vec<Event>,
    delivered: Vec<Event>,
    outbox: Vec<(String, Request)>,
    counter: u64,
    submits: usize,
    trace: Vec<String>,
    /// Whether `trace` is kept (see [`trace!`]).
    tracing: bool,
    /// (who, field, value) in order, this round.
    edits: Vec<(Who, String, Value)>,
    /// Partner ids whose conflicts an admin settled this round (policy decides: any edit may win).
    resolved: Vec<String>,
}

/// `SYNC_SIM_WATCH=p7`: the trace also shows that record's event bodies, values and states.
fn watched(partner_id: &str) -> bool {
    static WATCH: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    WATCH
        .get_or_init(|| std::env::var("SYNC_SIM_WATCH").ok())
        .as_deref()
        == Some(partner_id)
}

fn iso(ms: i64, variant: u64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    let base = format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    match variant % 3 {
        0 => format!("{base}.{milli:03}Z"),
        1 => format!("{base}.{milli:03}"),
        _ => format!("{base}.{milli:03}0000+00:00"),
    }
}

const SMALL_AMOUNTS: [u64; 3] = [1000, 2550, 4000];
const SMALL_NOTES: [&str; 3] = ["A", "B", "C"];
const SMALL_TYPES: [&str; 3] = ["Cash", "Check", "Credit"];
const SMALL_NAMES: [&str; 3] = ["Ann", "Bob", "Cy"];

/// The amount + designations group of a gift's values, as one JSON value (for the edit log).
fn group_value(values: &BTreeMap<String, Value>) -> Value {
    json!({"amount": values.get("amount"), "giftDesignations": values.get("giftDesignations")})
}

fn money_value(cents: u64, variant: u64) -> Value {
    let text = format!("{}.{:02}", cents / 100, cents % 100);
    match variant % 2 {
        0 => Value::String(text),
        _ => serde_json::from_str(&text).unwrap(),
    }
}

impl World {
    fn new(cfg: Config) -> World {
        World {
            cfg,
            opts: options(&cfg),
            now: 1_700_000_000_000,
            partner: Vec::new(),
            virt: Vec::new(),
            holding: Vec::new(),
            queue: Vec::new(),
            delivered: Vec::new(),
            outbox: Vec::new(),
            counter: 0,
            submits: 0,
            trace: Vec::new(),
            tracing: true,
            edits: Vec::new(),
            resolved: Vec::new(),
        }
    }

    fn vclock(&self) -> i64 {
        self.now + self.cfg.skew_ms
    }

    fn fresh(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn initial_values(&mut self, kind: ResourceKind, tag: &str) -> BTreeMap<String, Value> {
        let n = self.fresh();
        let mut v = BTreeMap::new();
        if kind == ResourceKind::Gift {
            let cents = if self.cfg.small {
                SMALL_AMOUNTS[(n % 3) as usize]
            } else {
                1000 + n * 7
            };
            v.insert("amount".into(), money_value(cents, n));
            v.insert("giftDate".into(), json!("2026-11-20"));
            v.insert("giftType".into(), json!("Cash"));
            v.insert("currencyCode".into(), json!("USD"));
            let note = if self.cfg.small {
                SMALL_NOTES[(n % 3) as usize].to_string()
            } else {
                format!("{tag}-note-{n}")
            };
            v.insert("notes".into(), json!(note));
            v.insert("giftDesignations".into(), split(cents, n / 3, n + 1));
        } else {
            v.insert("name".into(), json!(format!("{tag}-name-{n}")));
            v.insert("contactType".into(), json!("Household"));
            if self.cfg.live {
                v.insert("firstName".into(), json!(format!("{tag}-first-{n}")));
                v.insert("lastName".into(), json!(format!("{tag}-last-{n}")));
                v.insert("email".into(), json!(format!("{tag}{n}@example.org")));
                v.insert("city".into(), json!(format!("{tag}-city-{n}")));
            } else {
                v.insert("address".into(), json!({"city": format!("{tag}-city-{n}")}));
            }
        }
        v
    }

    /// Give `field` a new value. `amount` re-splits the designations too; `giftDesignations`
    /// re-splits the unchanged amount. Edits of the amount + designations group are also logged
    /// as one unit value.
    fn edit_values(
        &mut self,
        values: &mut BTreeMap<String, Value>,
        field: &str,
        tag: &str,
        who: Who,
    ) -> Value {
        let n = self.fresh();
        let small = self.cfg.small;
        let v = match field {
            "amount" => {
                let cents = if small {
                    SMALL_AMOUNTS[(n % 3) as usize]
                } else {
                    2000 + n * 13
                };
                let d = split(cents, n / 3, n + 1);
                values.insert("giftDesignations".into(), d.clone());
                self.edits.push((who.clone(), "giftDesignations".into(), d));
                money_value(cents, n)
            }
            "giftDesignations" => split(cents_of(values.get("amount")), n, n + 1),
            "address" => json!({"city": format!("{tag}-city-{n}")}),
            "giftType" if small => json!(SMALL_TYPES[(n % 3) as usize]),
            "notes" if small => json!(SMALL_NOTES[(n % 3) as usize]),
            "name" if small => json!(SMALL_NAMES[(n % 3) as usize]),
            other => json!(format!("{tag}-{other}-{n}")),
        };
        values.insert(field.to_string(), v.clone());
        if in_group(field) {
            self.edits
                .push((who, GROUP_KEY.into(), group_value(values)));
        }
        v
    }

    /// Live profile: Virtuous stores dates as days and adds `projectId` and an id to every
    /// designation.
    fn enrich(&mut self, values: &mut BTreeMap<String, Value>) {
        if !self.cfg.live {
            return;
        }
        if let Some(day) = values
            .get("giftDate")
            .and_then(Value::as_str)
            .and_then(virtuous_sync::sync::digest::calendar_day)
        {
            values.insert("giftDate".into(), json!(day));
        }
        if let Some(Value::Array(items)) = values.get("giftDesignations").cloned() {
            let mut out = Vec::new();
            for item in items {
                let mut m = item.as_object().cloned().unwrap_or_default();
                let code = m.get("projectCode").and_then(Value::as_str).unwrap_or("");
                let pid = 300 + code.bytes().map(u64::from).sum::<u64>();
                m.insert("projectId".into(), json!(pid));
                if !m.contains_key("id") {
                    m.insert("id".into(), json!(self.fresh()));
                }
                out.push(Value::Object(m));
            }
            values.insert("giftDesignations".into(), Value::Array(out));
        }
    }

    /// Live profile: unmapped properties Virtuous holds (never edited in this model).
    fn new_extra(&mut self, kind: ResourceKind) -> Map<String, Value> {
        if !self.cfg.live {
            return Map::new();
        }
        let n = self.fresh();
        let v = if kind == ResourceKind::Gift {
            json!({"contactId": 4000 + n, "segmentCode": format!("SEG{n}"), "contactPassthroughId": null,
                   "customFields": {"Receipt Status": "Pending", "n": n}})
        } else {
            json!({"tags": ["Major Donor", format!("t{n}")], "organizationGroups": [], "customContactType": null,
                   INDIVIDUAL: 9000 + n, PHONE: format!("555-{n:04}")})
        };
        v.as_object().cloned().unwrap_or_default()
    }

    /// A live-shaped resource: unmapped properties (the contact skeleton of individuals and
    /// addresses from the synthetic keys), mapped values written where they are read.
    fn shaped(&self, vi: usize) -> Map<String, Value> {
        let r = &self.virt[vi];
        let mut res = Map::new();
        for (k, v) in &r.extra {
            if k != INDIVIDUAL && k != PHONE {
                res.insert(k.clone(), v.clone());
            }
        }
        if r.kind == ResourceKind::Contact {
            res.insert(
                "contactIndividuals".into(),
                json!([{"id": r.extra.get(INDIVIDUAL), "contactMethods": [
                    {"type": "Home Phone", "value": r.extra.get(PHONE), "isPrimary": true}]}]),
            );
            res.insert("contactAddresses".into(), json!([]));
            for f in self.opts.fields(r.kind).unwrap() {
                if let Some(v) = r.values.get(&f.name) {
                    virtuous_sync::sync::payload::write_pointer(&mut res, &f.pointer, v.clone());
                }
            }
        }
        res
    }

    /// The unmapped properties a full `PUT` body leaves (contacts: the skeleton's ids and phone).
    fn unmapped(&self, kind: ResourceKind, body: &Map<String, Value>) -> Map<String, Value> {
        let fields = self.opts.fields(kind).unwrap();
        let stamps = [
            "transactionSource",
            "transactionId",
            "referenceSource",
            "referenceId",
            "contactReferences",
        ];
        let mut extra = Map::new();
        for (k, v) in body {
            let mapped = fields.iter().any(|f| f.pointer == format!("/{k}"));
            let shaped = kind == ResourceKind::Contact
                && (k == "contactIndividuals" || k == "contactAddresses");
            if !mapped && !shaped && !stamps.contains(&k.as_str()) {
                extra.insert(k.clone(), v.clone());
            }
        }
        if kind == ResourceKind::Contact {
            let whole = Value::Object(body.clone());
            if let Some(id) = whole.pointer("/contactIndividuals/0/id") {
                extra.insert(INDIVIDUAL.into(), id.clone());
            }
            if let Some(p) = virtuous_sync::sync::payload::read_pointer(
                &whole,
                "/contactIndividuals/0/contactMethods/[type*=Phone]/value",
            ) {
                extra.insert(PHONE.into(), p.clone());
            }
        }
        extra
    }

    /// `M/D/YYYY` of an ISO day.
    fn formatted(day: &str) -> String {
        let p: Vec<&str> = day.split('-').collect();
        let n = |s: &str| s.parse::<u32>().unwrap_or(0);
        format!("{}/{}/{}", n(p[1]), n(p[2]), p[0])
    }

    /// The record as `GET /api/Gift/{id}` / `GET /api/Contact/{id}` returns it (live profile):
    /// every mapped field, the stamp fields (null when not ours), the dates, unmapped properties.
    fn rest(&self, vi: usize) -> Value {
        let mut res = self.shaped(vi);
        let r = &self.virt[vi];
        res.insert("id".into(), json!(r.id.parse::<u64>().unwrap()));
        for (k, v) in r.values.iter().filter(|_| r.kind == ResourceKind::Gift) {
            if k == "giftDate" {
                let day = v.as_str().unwrap_or("");
                res.insert("giftDate".into(), json!(format!("{day}T00:00:00")));
                res.insert("giftDateFormatted".into(), json!(Self::formatted(day)));
            } else {
                res.insert(k.clone(), v.clone());
            }
        }
        match r.kind {
            ResourceKind::Gift => {
                res.insert("transactionSource".into(), json!(r.source));
                res.insert("transactionId".into(), json!(r.ext_id));
            }
            _ => {
                let refs = match (&r.source, &r.ext_id) {
                    (Some(s), Some(e)) => json!([{"source": s, "id": e}]),
                    _ => json!([]),
                };
                res.insert("contactReferences".into(), refs);
                res.insert(
                    "mergedIntoContactId".into(),
                    json!(r.merged_into.as_ref().map(|m| m.parse::<u64>().unwrap())),
                );
            }
        }
        res.insert("modifiedDateTimeUtc".into(), json!(iso(r.modified, 0)));
        res.insert("createDateTimeUtc".into(), json!("2020-01-01T00:00:00Z"));
        Value::Object(res)
    }

    /// The event the host decides after fetching the record at `path` (live profile).
    fn fetched(&self, ev: &Event, path: &str) -> Event {
        let id = path.rsplit('/').next().unwrap();
        let vi = self
            .virt
            .iter()
            .position(|v| v.id == id)
            .expect("fetch of an unknown id");
        Event {
            event_type: ev.event_type,
            raw_event_type: ev.raw_event_type.clone(),
            resource_kind: ev.resource_kind,
            event_id: ev.event_id.clone(),
            timestamp: ev.timestamp.clone(),
            organization_id: ev.organization_id.clone(),
            resource: Some(self.rest(vi)),
            resource_id: Some(id.to_string()),
            modified_date_time_utc: None,
            ..Event::default()
        }
    }

    fn owned_by(&self, kind: ResourceKind, field: &str) -> FieldPolicy {
        self.opts.policy.for_field(kind, field)
    }

    fn emit(&mut self, vi: usize, create: bool, variant: u64) {
        let live = self.cfg.live;
        let r = &self.virt[vi];
        let mut res = if live { self.shaped(vi) } else { Map::new() };
        res.insert("id".into(), json!(r.id.parse::<u64>().unwrap()));
        for (k, v) in r
            .values
            .iter()
            .filter(|_| !live || r.kind == ResourceKind::Gift)
        {
            if live && k == "giftDate" {
                // Live deliveries carry only the formatted date.
                let day = v.as_str().unwrap_or("");
                res.insert("giftDateFormatted".into(), json!(Self::formatted(day)));
                continue;
            }
            let v = if k == "amount" && variant.is_multiple_of(2) {
                // Virtuous echoes amounts as numbers.
                match Money::from_json(v) {
                    Ok(m) => serde_json::from_str(&m.canonical()).unwrap(),
                    Err(_) => v.clone(),
                }
            } else {
                v.clone()
            };
            res.insert(k.clone(), v);
        }
        let spelled = |s: &str| {
            if variant.is_multiple_of(3) {
                format!(" {} ", s.to_uppercase())
            } else {
                s.to_string()
            }
        };
        // Live deliveries are not documented to carry the stamp: often absent altogether.
        let stamped = !live || variant % 7 < 3;
        match r.kind {
            ResourceKind::Gift if !stamped => {}
            ResourceKind::Gift => {
                if let Some(s) = &r.source {
                    res.insert("transactionSource".into(), json!(spelled(s)));
                    res.insert("transactionId".into(), json!(r.ext_id.clone()));
                }
            }
            _ => {
                if let Some(s) = r.source.as_ref().filter(|_| stamped) {
                    res.insert(
                        "contactReferences".into(),
                        json!([{"source": "Other Platform", "id": "zz"}, {"source": spelled(s), "id": r.ext_id.clone()}]),
                    );
                }
                if let Some(m) = &r.merged_into {
                    res.insert(
                        "mergedIntoContactId".into(),
                        json!(m.parse::<u64>().unwrap()),
                    );
                }
            }
        }
        let et = match (r.kind, create) {
            (ResourceKind::Gift, true) => EventType::GiftCreate,
            (ResourceKind::Gift, false) => EventType::GiftUpdate,
            (_, true) => EventType::ContactCreate,
            (_, false) => EventType::ContactUpdate,
        };
        let ev = Event {
            event_type: Some(et),
            raw_event_type: et.live_name().to_string(),
            resource_kind: Some(r.kind),
            event_id: None,
            timestamp: None,
            organization_id: None,
            resource_id: if variant.is_multiple_of(5) {
                None
            } else {
                Some(r.id.clone())
            },
            // Live deliveries mostly lack modifiedDateTimeUtc.
            modified_date_time_utc: if live && variant % 5 != 4 {
                None
            } else {
                Some(iso(r.modified, variant))
            },
            resource: Some(Value::Object(res)),
            ..Default::default()
        };
        trace!(
            self,
            "    virtuous emits {} for v{} at {}",
            et.as_str(),
            r.id,
            r.modified
        );
        self.queue.push(ev.clone());
        if variant % 4 == 1 {
            self.queue.push(ev); // at least once
        }
    }

    /// Host protocol rule 1: the record for an event is the first found by the core's lookup
    /// keys (Virtuous id, then our external reference on a record not yet linked to another id).
    fn find_partner(&self, ev: &Event) -> Option<usize> {
        let keys = lookup_keys(&self.opts, ev);
        let kind = keys.kind?;
        let event_id = keys.keys.iter().find_map(|k| match k {
            LookupKey::VirtuousId(id) => Some(id.clone()),
            _ => None,
        });
        keys.keys.iter().find_map(|k| {
            self.partner.iter().position(|p| {
                let Some(s) = p.state.as_ref().filter(|_| p.kind == kind) else {
                    return false;
                };
                match k {
                    LookupKey::VirtuousId(id) => s.virtuous_id.as_deref() == Some(id.as_str()),
                    LookupKey::ExternalRef(x) => {
                        s.external_ref.as_ref() == Some(x)
                            && (s.virtuous_id.is_none() || s.virtuous_id == event_id)
                    }
                    _ => false,
                }
            })
        })
    }

    /// No decision may leave the partner holding a record its next write would fail validation
    /// on (a decideOutbound error loop).
    fn assert_valid(&self, i: usize, after: &str) {
        let p = &self.partner[i];
        if p.merged || p.values.is_empty() {
            return;
        }
        let change = PartnerChange {
            customer_id: CUSTOMER.into(),
            kind: p.kind,
            partner_id: p.id.clone(),
            modified_ms: p.modified,
            field_modified_ms: BTreeMap::new(),
            fields: p.values.clone(),
            extra: None,
            external_id: None,
            current: None,
            written: None,
        };
        if let Err(e) = validate_change(self.opts.fields(p.kind).unwrap(), &change) {
            panic!(
                "p{} holds a record outbound validation rejects after {after}: {} {e}",
                p.id,
                e.code()
            );
        }
    }

    fn deliver(&mut self, ev: Event) {
        self.delivered.push(ev.clone());
        // Host protocol: unsent partner edits are reported (decideOutbound) before an inbound
        // decision for the same record is applied.
        if let Some(i) = self.find_partner(&ev) {
            self.push_one(i, true);
        }
        let mut ev = ev;
        let mut pi = self.find_partner(&ev);
        let mut rounds = 0;
        let d = loop {
            rounds += 1;
            assert!(rounds < 6, "fetch/verify loop");
            let rec = pi.and_then(|i| self.partner[i].state.as_ref());
            let d = match decide_inbound(&self.opts, &ev, rec, self.now) {
                Ok(d) => d,
                Err(e) => panic!("decide_inbound error {}: {e}", e.code()),
            };
            // Determinism: same inputs, same output.
            assert_eq!(decide_inbound(&self.opts, &ev, rec, self.now).unwrap(), d);
            let path = match &d.action {
                InboundAction::Fetch(req) => req.path.clone(),
                // An unstamped create: only the REST record's stamp tells whose it is.
                InboundAction::Verify { lookup, .. } => {
                    assert!(d.record.is_none());
                    lookup.path.clone()
                }
                _ => break d,
            };
            let tag = if matches!(d.action, InboundAction::Fetch(_)) {
                "fetch"
            } else {
                "verify"
            };
            trace!(
                self,
                "    {tag} for {} ({}): GET {path}",
                ev.raw_event_type,
                d.reason.code()
            );
            ev = self.fetched(&ev, &path);
            pi = self.find_partner(&ev);
        };
        self.apply_inbound(&ev, pi, d);
    }

    /// Carry out an inbound decision on the partner side (store its record, apply values).
    fn apply_inbound(&mut self, ev: &Event, pi: Option<usize>, mut d: InboundDecision) {
        // The record as the decision saw it (the partner's stored state, not yet replaced).
        let rec = pi.and_then(|i| self.partner[i].state.as_ref());
        if let (Some(before), Some(after)) = (rec, d.record.as_ref()) {
            if before.state == SyncState::Conflict {
                let pending =
                    |r: &RecordState| r.expected_echo.iter().filter(|e| !e.confirmed).count();
                let p = self.cfg.policy;
                if pending(before) >= 2 {
                    reached("conflict-event-with-superseded-writes", p);
                }
                if pending(before) > pending(after) {
                    reached("conflict-echo-settles-writes", p);
                }
                if !before.held.is_empty() && pending(before) > 0 {
                    reached("conflict-event-with-held-edit-and-pending-write", p);
                }
            }
        }
        trace!(
            self,
            "    deliver {} v{:?} -> p{:?}: {:?} ({})",
            ev.raw_event_type,
            ev.resource_id,
            pi.map(|i| self.partner[i].id.clone()),
            d.action,
            d.reason.code()
        );
        if let Some(i) = pi {
            if watched(&self.partner[i].id) {
                trace!(
                    self,
                    "      event {}\n      before {}\n      after  {}",
                    ev.resource
                        .as_ref()
                        .map(Value::to_string)
                        .unwrap_or_default(),
                    rec.map(RecordState::to_json).unwrap_or_default(),
                    d.record
                        .as_ref()
                        .map(RecordState::to_json)
                        .unwrap_or_default()
                );
            }
        }
        if matches!(d.reason, Reason::Echo | Reason::Confirmed) {
            assert!(
                !matches!(
                    d.action,
                    InboundAction::Create { .. } | InboundAction::Apply { .. }
                ),
                "echo yielded create/apply"
            );
        }
        match (&d.action, pi) {
            (InboundAction::Create { fields }, None) => {
                let n = self.fresh();
                let mut state = d.record.take().unwrap();
                let id = format!("p{n}");
                state.partner_id = Some(id.clone());
                self.partner.push(PRec {
                    id,
                    kind: state.kind,
                    values: fields.clone(),
                    modified: self.now,
                    state: Some(state),
                    dirty: true, // the partner's change hook fires on our own create
                    retry_at: None,
                    merged: false,
                    undo: BTreeMap::new(),
                    field_modified: BTreeMap::new(),
                });
                self.assert_valid(self.partner.len() - 1, "create");
                return;
            }
            (InboundAction::Create { .. }, Some(_)) => panic!("create for a linked record"),
            (_, None) => {
                if let Some(t) = d.record.take() {
                    // A tombstone for a record we never had: the host keeps it.
                    assert!(t.tombstone.is_some());
                    let n = self.fresh();
                    self.partner.push(PRec {
                        id: format!("t{n}"),
                        kind: t.kind,
                        values: BTreeMap::new(),
                        modified: self.now,
                        state: Some(t),
                        dirty: false,
                        retry_at: None,
                        merged: true,
                        undo: BTreeMap::new(),
                        field_modified: BTreeMap::new(),
                    });
                }
                return;
            }
            _ => {}
        }
        let Some(i) = pi else { return };
        if matches!(d.action, InboundAction::Confirm { .. }) {
            // The newest write is confirmed: its outbox entry (a lost-ack resend) is done.
            let pid = self.partner[i].id.clone();
            self.outbox.retain(|(id, _)| *id != pid);
        }
        let now = self.now;
        let p = &mut self.partner[i];
        if let Some(r) = d.record.take() {
            p.state = Some(r);
        }
        match &d.action {
            InboundAction::Apply { fields } | InboundAction::Conflict { apply: fields, .. } => {
                for (k, v) in fields {
                    p.values.insert(k.clone(), v.clone());
                    p.field_modified.insert(k.clone(), now);
                }
                if !fields.is_empty() {
                    p.modified = now;
                    p.dirty = true; // bounce
                }
            }
            InboundAction::Confirm {
                apply, follow_up, ..
            } => {
                for (k, v) in apply {
                    p.values.insert(k.clone(), v.clone());
                }
                if !apply.is_empty() || *follow_up {
                    p.dirty = true;
                }
            }
            InboundAction::Remap { .. } => p.merged = true,
            _ => {}
        }
        if !d.reassert_fields.is_empty() {
            p.dirty = true;
        }
        self.assert_valid(i, d.reason.code());
    }

    fn push(&mut self) {
        for i in 0..self.partner.len() {
            self.push_one(i, false);
        }
    }

    fn push_one(&mut self, i: usize, force: bool) {
        self.push_one_written(i, force, None);
    }

    /// `written`: the live full `PUT` Virtuous just answered with 2xx, reported at once (host
    /// protocol: before any later fetch is decided), with the partner's values as they are.
    fn push_one_written(&mut self, i: usize, force: bool, written: Option<Request>) {
        {
            let p = &self.partner[i];
            if written.is_none()
                && (!p.dirty || p.merged || (!force && p.retry_at.is_some_and(|t| t > self.now)))
            {
                return;
            }
        }
        // Full-record updates: fetch when asked, decide a Virtuous change the fetch shows first.
        let mut current: Option<Value> = None;
        let mut rounds = 0;
        let d = loop {
            rounds += 1;
            assert!(rounds < 6, "fetch/apply-inbound loop");
            let p = &self.partner[i];
            let change = PartnerChange {
                current: current.clone(),
                customer_id: CUSTOMER.into(),
                kind: p.kind,
                partner_id: p.id.clone(),
                modified_ms: p.modified,
                // Per-field partner times when the host knows them (half the configurations).
                field_modified_ms: if self.cfg.field_times {
                    p.field_modified.clone()
                } else {
                    BTreeMap::new()
                },
                fields: p.values.clone(),
                extra: if p.kind == ResourceKind::Gift {
                    Some(
                        json!({"contact": {"name": "Donor"}})
                            .as_object()
                            .unwrap()
                            .clone(),
                    )
                } else {
                    None
                },
                external_id: None,
                written: written.clone(),
            };
            let d = match decide_outbound(&self.opts, p.state.as_ref(), &change, self.now) {
                Ok(d) => d,
                Err(e) => panic!("decide_outbound error {}: {e}", e.code()),
            };
            assert_eq!(
                decide_outbound(&self.opts, p.state.as_ref(), &change, self.now).unwrap(),
                d
            );
            match &d.action {
                OutboundAction::Fetch(req) => {
                    assert!(d.record.is_none(), "a fetch request changed state");
                    let id = req.path.rsplit('/').next().unwrap();
                    let vi = self.virt.iter().position(|v| v.id == id).unwrap();
                    trace!(self, "    push p{}: fetch GET {}", p.id, req.path);
                    current = Some(self.rest(vi));
                }
                OutboundAction::ApplyInbound(inb) => {
                    trace!(
                        self,
                        "    push p{}: remote-first {:?} ({})",
                        p.id,
                        inb.action,
                        inb.reason.code()
                    );
                    let ev = Event {
                        event_type: None,
                        raw_event_type: "fetched".into(),
                        resource_kind: Some(p.kind),
                        event_id: None,
                        timestamp: None,
                        organization_id: None,
                        resource_id: None,
                        modified_date_time_utc: None,
                        resource: current.clone(),
                        ..Default::default()
                    };
                    self.apply_inbound(&ev, Some(i), (**inb).clone());
                }
                _ => break d,
            }
        };
        {
            let p = &self.partner[i];
            trace!(
                self,
                "    push p{}: {} {:?} suppressed={:?}",
                p.id,
                d.reason.code(),
                match &d.action {
                    OutboundAction::Submit(r) => format!("{} {} {}", r.method, r.path, r.body),
                    other => format!("{other:?}"),
                },
                d.suppressed_fields
            );
            if p.state
                .as_ref()
                .is_some_and(|s| s.state == SyncState::Conflict)
            {
                assert!(
                    !matches!(d.action, OutboundAction::Submit(_)),
                    "submit during conflict"
                );
            }
            if let (Some(s), OutboundAction::Submit(r)) = (p.state.as_ref(), &d.action) {
                if s.cooldown_active(self.now) {
                    let sent = d
                        .record
                        .as_ref()
                        .and_then(|n| n.expected_echo.last())
                        .map(|e| e.sent.clone())
                        .unwrap_or_default();
                    for f in &s.cooldown_fields {
                        if r.method == "PUT" && self.cfg.live {
                            // The full record carries every field: the cooldown's hold Virtuous's
                            // value (not sent as a partner change).
                            assert!(!sent.contains(f), "cooldown field {f} submitted");
                        } else {
                            assert!(r.body.get(f).is_none(), "cooldown field {f} submitted");
                        }
                    }
                }
            }
            if watched(&p.id) {
                trace!(
                    self,
                    "      values {}\n      after  {}",
                    serde_json::to_string(&p.values).unwrap_or_default(),
                    d.record
                        .as_ref()
                        .map(RecordState::to_json)
                        .unwrap_or_default()
                );
            }
            let p = &mut self.partner[i];
            if let Some(r) = d.record {
                p.state = Some(r);
            }
            match d.action {
                OutboundAction::Submit(req) => {
                    self.submits += 1;
                    // The newest request for a record supersedes queued older ones (one outbox
                    // entry per record, as in Virtuous's documented push pipeline).
                    let pid = p.id.clone();
                    self.outbox.retain(|(id, _)| *id != pid);
                    p.dirty = !d.suppressed_fields.is_empty();
                    p.retry_at = d.retry_at_ms;
                    if self.cfg.live && req.method == "PUT" {
                        // GET-then-PUT: the full-record body is sent as soon as it is built
                        // (Virtuous has no conditional writes; the window between fetch and
                        // write is the host's to keep short). See `flush` for failures.
                        self.outbox.push((pid.clone(), req.clone()));
                        // One send in six fails, one in six loses its acknowledgement.
                        let bits = match self.fresh() % 6 {
                            0 => 0,
                            1 => 1,
                            _ => 2,
                        };
                        self.flush_one_live(bits);
                        if bits == 2 {
                            // The 2xx is reported at once (`written`), before anything else is
                            // decided for the record.
                            trace!(self, "    2xx reported for p{pid}");
                            self.push_one_written(i, true, Some(req));
                        }
                    } else {
                        self.outbox.push((pid, req));
                    }
                }
                OutboundAction::Suppress => {
                    p.retry_at = d.retry_at_ms;
                }
                // Held-back fields (cooldown, undo awaiting an echo): call again later.
                _ if !d.suppressed_fields.is_empty() => {
                    p.retry_at = d.retry_at_ms;
                }
                _ => {
                    p.dirty = false;
                    p.retry_at = None;
                }
            }
        }
    }

    /// Live profile: send the newest outbox entry (a full-record PUT) now; `bits` as in `flush`
    /// (0 failed, 1 applied with its acknowledgement lost, else applied).
    fn flush_one_live(&mut self, bits: u64) {
        let Some(entry) = self.outbox.pop() else {
            return;
        };
        let rest = std::mem::take(&mut self.outbox);
        self.outbox = vec![entry];
        self.flush(bits);
        let mut sent = std::mem::take(&mut self.outbox);
        self.outbox = rest;
        self.outbox.append(&mut sent);
    }

    fn flush(&mut self, fail: u64) {
        let outbox = std::mem::take(&mut self.outbox);
        let pids: Vec<String> = outbox.iter().map(|(id, _)| id.clone()).collect();
        for (n, (pid, req)) in outbox.into_iter().enumerate() {
            let newer_queued = pids.iter().skip(n + 1).any(|id| *id == pid);
            let bits = fail >> ((n % 16) * 4) & 0xF;
            if self.cfg.live && req.method == "PUT" && bits <= 1 {
                // A full-record body is a snapshot: never resent later (it would overwrite what
                // changed in Virtuous since the fetch). Failed or unacknowledged, the host decides
                // again with a fresh fetch.
                if bits == 1 {
                    self.apply_request(&req);
                    trace!(self, "    ack lost (decide again)");
                } else {
                    trace!(
                        self,
                        "    send {} {} failed (decide again)",
                        req.method,
                        req.path
                    );
                }
                if let Some(p) = self.partner.iter_mut().find(|p| p.id == pid) {
                    p.dirty = true;
                    p.retry_at = None;
                }
                continue;
            }
            if bits == 0 {
                trace!(
                    self,
                    "    send {} {} failed (retry later)",
                    req.method,
                    req.path
                );
                self.outbox.push((pid, req));
                continue;
            }
            let lost_ack = bits == 1;
            self.apply_request(&req);
            // Resend after a lost ack only while no newer request for the record exists.
            if lost_ack && !newer_queued && !self.outbox.iter().any(|(id, _)| *id == pid) {
                trace!(self, "    ack lost (resend)");
                self.outbox.push((pid, req));
            }
        }
    }

    fn apply_request(&mut self, req: &Request) {
        let body = req.body.as_object().unwrap().clone();
        trace!(self, "    virtuous receives {} {}", req.method, req.path);
        if req.method == "POST" {
            let kind = if req.path.contains("Gift") {
                ResourceKind::Gift
            } else {
                ResourceKind::Contact
            };
            self.holding.push((kind, body));
            return;
        }
        let id = req.path.rsplit('/').next().unwrap().to_string();
        let vi = self
            .virt
            .iter()
            .position(|v| v.id == id)
            .expect("PUT to unknown id");
        let fields = self.opts.fields(self.virt[vi].kind).unwrap().to_vec();
        if self.cfg.live {
            // PUT replaces the record: what the body lacks is blanked.
            for ro in [
                "id",
                "modifiedDateTimeUtc",
                "createDateTimeUtc",
                "giftDateFormatted",
            ] {
                assert!(
                    body.get(ro).is_none(),
                    "read-only {ro} sent in {}",
                    req.path
                );
            }
            let whole = Value::Object(body.clone());
            let mut values = BTreeMap::new();
            for f in &fields {
                if let Some(v) = read_field(f, &whole) {
                    values.insert(f.name.clone(), v.clone());
                }
            }
            self.enrich(&mut values);
            let extra = self.unmapped(self.virt[vi].kind, &body);
            self.virt[vi].values = values;
            self.virt[vi].extra = extra;
        } else {
            for f in &fields {
                if let Some(v) = body.get(&f.name) {
                    self.virt[vi].values.insert(f.name.clone(), v.clone());
                }
            }
        }
        self.virt[vi].modified = self.vclock();
        let variant = self.fresh();
        self.emit(vi, false, variant);
    }

    fn batch(&mut self) {
        let holding = std::mem::take(&mut self.holding);
        for (kind, body) in holding {
            let (sk, ik) = if kind == ResourceKind::Gift {
                ("transactionSource", "transactionId")
            } else {
                ("referenceSource", "referenceId")
            };
            let source = body[sk].as_str().unwrap().to_string();
            let ext = body[ik].as_str().unwrap().to_string();
            let fields = self.opts.fields(kind).unwrap().to_vec();
            let existing = self
                .virt
                .iter()
                .position(|v| v.kind == kind && v.ext_id.as_deref() == Some(ext.as_str()));
            let variant = self.fresh();
            match existing {
                Some(_) => {
                    // Same transactionSource/transactionId: already imported, not duplicated.
                    let _ = variant;
                    trace!(self, "    batch skips resent Transaction {ext}");
                }
                None => {
                    let n = self.fresh();
                    let mut values = BTreeMap::new();
                    let whole = Value::Object(body.clone());
                    for f in &fields {
                        if let Some(v) = whole.pointer(f.write_path()) {
                            values.insert(f.name.clone(), v.clone());
                        }
                    }
                    self.enrich(&mut values);
                    let extra = self.new_extra(kind);
                    self.virt.push(VRec {
                        id: format!("{}", 1000 + n),
                        kind,
                        values,
                        extra: extra.clone(),
                        extra0: extra,
                        source: Some(source),
                        ext_id: Some(ext),
                        modified: self.vclock(),
                        merged_into: None,
                    });
                    let vi = self.virt.len() - 1;
                    self.emit(vi, true, variant);
                }
            }
        }
    }

    fn resolve_all(&mut self, pick: u64) {
        for i in 0..self.partner.len() {
            let in_conflict = self.partner[i]
                .state
                .as_ref()
                .is_some_and(|s| s.state == SyncState::Conflict);
            let Some(s) = in_conflict.then(|| self.partner[i].state.clone()).flatten() else {
                continue;
            };
            let choice = if (pick >> (i % 64)) & 1 == 0 {
                Choice::Partner
            } else {
                Choice::Virtuous
            };
            let choices: BTreeMap<String, Choice> = s
                .conflict
                .iter()
                .map(|c| (c.field.clone(), choice.clone()))
                .collect();
            let r = resolve_conflict(&s, &choices, self.now).unwrap();
            assert_eq!(r.record.state, SyncState::InSync);
            if s.conflict.iter().any(|c| !c.group.is_empty()) {
                reached("admin-resolves-group", self.cfg.policy);
            }
            trace!(
                self,
                "    admin resolves p{} with {choice:?}: push {:?}",
                self.partner[i].id,
                r.push_fields
            );
            self.resolved.push(self.partner[i].id.clone());
            let p = &mut self.partner[i];
            for (k, v) in r.apply_local {
                p.values.insert(k, v);
            }
            p.state = Some(r.record);
            p.dirty = true;
            p.retry_at = None;
            self.assert_valid(i, "resolve-conflict");
        }
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        trace!(self, "t={} {step:?}", self.now);
        match *step {
            Step::PartnerCreate { contact } => {
                let kind = kind_of(contact);
                let n = self.fresh();
                let values = self.initial_values(kind, "p");
                let id = format!("p{n}");
                for (k, v) in &values {
                    self.edits
                        .push((Who::Partner(id.clone()), k.clone(), v.clone()));
                }
                if kind == ResourceKind::Gift {
                    self.edits.push((
                        Who::Partner(id.clone()),
                        GROUP_KEY.into(),
                        group_value(&values),
                    ));
                }
                self.partner.push(PRec {
                    id,
                    kind,
                    values,
                    modified: self.now,
                    state: None,
                    dirty: true,
                    retry_at: None,
                    merged: false,
                    undo: BTreeMap::new(),
                    field_modified: BTreeMap::new(),
                });
            }
            Step::PartnerEdit { rec, field } => {
                let live: Vec<usize> = (0..self.partner.len())
                    .filter(|&i| !self.partner[i].merged)
                    .collect();
                if live.is_empty() {
                    return Ok(());
                }
                let i = live[(rec % live.len() as u64) as usize];
                let kind = self.partner[i].kind;
                let names = if kind == ResourceKind::Gift {
                    GIFT_EDIT
                } else {
                    if self.cfg.live {
                        LIVE_CONTACT_EDIT
                    } else {
                        CONTACT_EDIT
                    }
                };
                let f = names[(field % 4) as usize];
                if self.owned_by(kind, f) == FieldPolicy::VirtuousOwns {
                    return Ok(()); // read-only on the partner side
                }
                let mut values = std::mem::take(&mut self.partner[i].values);
                let who = Who::Partner(self.partner[i].id.clone());
                let before: BTreeMap<String, Value> = values.clone();
                // One partner edit in `undo_every` is an undo: the field (for the amount +
                // designations group, the group) goes back to its value before the last partner
                // edit of it (often a value one of our writes already sent).
                let key = if in_group(f) { GROUP_KEY } else { f };
                let undo = (field / 4).is_multiple_of(self.cfg.undo_every)
                    && self.partner[i].undo.contains_key(key);
                let v = if undo {
                    let old = self.partner[i].undo[key].clone();
                    if in_group(f) {
                        for k in GROUP {
                            if let Some(v) = old.get(k).filter(|v| !v.is_null()) {
                                values.insert(k.to_string(), v.clone());
                                if k != f {
                                    self.edits.push((who.clone(), k.to_string(), v.clone()));
                                }
                            }
                        }
                        self.edits
                            .push((who.clone(), GROUP_KEY.into(), group_value(&values)));
                    } else {
                        values.insert(f.to_string(), old);
                    }
                    values.get(f).cloned().unwrap_or(Value::Null)
                } else {
                    self.edit_values(&mut values, f, "p", who)
                };
                let p = &mut self.partner[i];
                let prior = if in_group(f) {
                    group_value(&before)
                } else {
                    before.get(f).cloned().unwrap_or(Value::Null)
                };
                p.undo.insert(key.to_string(), prior);
                p.values = values;
                p.modified = self.now;
                let touched: &[&str] = if in_group(f) { &GROUP } else { &[f] };
                for k in touched {
                    p.field_modified.insert(k.to_string(), self.now);
                }
                p.dirty = true;
                let in_conflict = p
                    .state
                    .as_ref()
                    .is_some_and(|s| s.state == SyncState::Conflict);
                if undo && in_conflict {
                    reached("partner-undo-during-conflict", self.cfg.policy);
                }
                let how = if undo { " (undo)" } else { "" };
                trace!(self, "    partner p{} {f} = {v}{how}", p.id);
                self.edits
                    .push((Who::Partner(p.id.clone()), f.to_string(), v));
            }
            Step::StaffCreate { contact } => {
                let kind = kind_of(contact);
                let n = self.fresh();
                let mut values = self.initial_values(kind, "s");
                let id = format!("{}", 1000 + n);
                for (k, v) in &values {
                    self.edits
                        .push((Who::Virtuous(id.clone()), k.clone(), v.clone()));
                }
                if kind == ResourceKind::Gift {
                    self.edits.push((
                        Who::Virtuous(id.clone()),
                        GROUP_KEY.into(),
                        group_value(&values),
                    ));
                }
                self.enrich(&mut values);
                let extra = self.new_extra(kind);
                self.virt.push(VRec {
                    id,
                    kind,
                    values,
                    extra: extra.clone(),
                    extra0: extra,
                    source: None,
                    ext_id: None,
                    modified: self.vclock(),
                    merged_into: None,
                });
                let variant = self.fresh();
                self.emit(self.virt.len() - 1, true, variant);
            }
            Step::StaffEdit { rec, field } => {
                let live: Vec<usize> = (0..self.virt.len())
                    .filter(|&i| self.virt[i].merged_into.is_none())
                    .collect();
                if live.is_empty() {
                    return Ok(());
                }
                let i = live[(rec % live.len() as u64) as usize];
                let kind = self.virt[i].kind;
                let names = if kind == ResourceKind::Gift {
                    GIFT_EDIT
                } else {
                    if self.cfg.live {
                        LIVE_CONTACT_EDIT
                    } else {
                        CONTACT_EDIT
                    }
                };
                let f = names[(field % 4) as usize];
                if f == "giftDesignations" {
                    reached("staff-resplit-same-amount", self.cfg.policy);
                }
                let mut values = std::mem::take(&mut self.virt[i].values);
                let who = Who::Virtuous(self.virt[i].id.clone());
                let v = self.edit_values(&mut values, f, "s", who);
                self.enrich(&mut values);
                self.virt[i].values = values;
                self.virt[i].modified = self.vclock();
                trace!(self, "    staff v{} {f} = {v}", self.virt[i].id);
                let vid = self.virt[i].id.clone();
                let earlier = self.edits.iter().any(|(w, k, x)| {
                    k == f && matches!(w, Who::Virtuous(id) if *id == vid) && *x == v
                });
                if earlier {
                    reached("staff-a-b-a", self.cfg.policy);
                }
                self.edits
                    .push((Who::Virtuous(self.virt[i].id.clone()), f.to_string(), v));
                let variant = self.fresh();
                self.emit(i, false, variant);
            }
            Step::StaffMerge { a, b } => {
                let live: Vec<usize> = (0..self.virt.len())
                    .filter(|&i| {
                        self.virt[i].merged_into.is_none()
                            && self.virt[i].kind == ResourceKind::Contact
                    })
                    .collect();
                if live.len() < 2 {
                    return Ok(());
                }
                let ai = live[(a % live.len() as u64) as usize];
                let bi = live[(b % live.len() as u64) as usize];
                if ai == bi {
                    return Ok(());
                }
                self.virt[ai].merged_into = Some(self.virt[bi].id.clone());
                self.virt[ai].modified = self.vclock();
                let variant = self.fresh();
                self.emit(ai, false, variant);
            }
            Step::Deliver { pick } => {
                if !self.queue.is_empty() {
                    let ev = self.queue.remove((pick % self.queue.len() as u64) as usize);
                    self.deliver(ev);
                }
            }
            Step::Duplicate { pick } => {
                if !self.delivered.is_empty() {
                    let ev = self.delivered[(pick % self.delivered.len() as u64) as usize].clone();
                    self.queue.push(ev);
                }
            }
            Step::Push => self.push(),
            Step::Flush { fail } => self.flush(fail),
            Step::Batch => self.batch(),
            Step::Resolve { pick } => self.resolve_all(pick),
            Step::Advance { ms } => self.now += ms,
            Step::Quiesce => return self.quiesce(),
        }
        self.now += 1000;
        Ok(())
    }

    /// One full cycle; returns whether anything happened.
    fn cycle(&mut self, order: &mut Rng) -> bool {
        let before = (
            self.submits,
            self.queue.len(),
            self.holding.len(),
            self.outbox.len(),
            self.delivered.len(),
        );
        self.resolve_all(order.next());
        self.push();
        self.flush(u64::MAX); // no failures while settling
        while !self.queue.is_empty() {
            let i = order.below(self.queue.len() as u64) as usize;
            let ev = self.queue.remove(i);
            self.deliver(ev);
        }
        if !self.holding.is_empty() {
            self.now += 12 * HOUR; // the nightly batch
            self.batch();
        }
        // Wait out cooldowns of held-back writes.
        if let Some(t) = self
            .partner
            .iter()
            .filter(|p| p.dirty && !p.merged)
            .filter_map(|p| p.retry_at)
            .max()
        {
            if t > self.now {
                self.now = t;
            }
        }
        self.now += 1000;
        let after = (
            self.submits,
            self.queue.len(),
            self.holding.len(),
            self.outbox.len(),
            self.delivered.len(),
        );
        let dirty = self.partner.iter().any(|p| p.dirty && !p.merged);
        before != after || dirty
    }

    fn quiesce(&mut self) -> Result<(), String> {
        trace!(self, "  -- quiesce");
        let mut order = Rng(self.counter ^ 0x5eed);
        let mut cycles = 0;
        while self.cycle(&mut order) {
            cycles += 1;
            if cycles > 12 {
                return Err(format!("no quiescence after {cycles} cycles (ping-pong?)"));
            }
        }
        let submits = self.submits;
        self.cycle(&mut order);
        if self.submits != submits {
            return Err("a quiet cycle still submitted writes".into());
        }
        self.check()?;
        self.edits.clear();
        self.resolved.clear();
        Ok(())
    }

    fn digest(&self, kind: ResourceKind, field: &str, v: &Value) -> String {
        let ft = self
            .opts
            .fields(kind)
            .unwrap()
            .iter()
            .find(|f| f.name == field)
            .unwrap()
            .field_type;
        field_digest(v, ft)
    }

    /// The amount + designations group's digest (as the core compares it: each member's digest).
    fn group_digest(&self, v: &Value) -> String {
        GROUP
            .iter()
            .map(|k| match v.get(k).filter(|x| !x.is_null()) {
                Some(x) => self.digest(ResourceKind::Gift, k, x),
                None => "-".into(),
            })
            .collect::<Vec<_>>()
            .join("|")
    }

    /// No edit lost: a unit (field or group, logged under `key`) edited on one side only ends
    /// with that side's last value; edited on both, with one of this round's edits.
    fn edit_kept(
        &self,
        p: &PRec,
        vid: &str,
        key: &str,
        got: Option<String>,
        policy: FieldPolicy,
        digest: &dyn Fn(&Value) -> String,
    ) -> Result<(), String> {
        let mine = |w: &Who| match w {
            Who::Partner(id) => *id == p.id,
            Who::Virtuous(id) => *id == vid,
        };
        let last = |partner: bool| {
            self.edits
                .iter()
                .rev()
                .find(|(w, k, _)| k == key && mine(w) && matches!(w, Who::Partner(_)) == partner)
                .map(|(_, _, v)| digest(v))
        };
        let (lp, lv) = (last(true), last(false));
        let any_edit = self
            .edits
            .iter()
            .any(|(w, k, v)| k == key && mine(w) && got.as_deref() == Some(digest(v).as_str()));
        let ok = (self.resolved.contains(&p.id) && any_edit)
            || match (&lp, &lv) {
                (None, None) => true,
                (Some(x), None) => policy == FieldPolicy::VirtuousOwns || got.as_ref() == Some(x),
                (None, Some(y)) => policy == FieldPolicy::PartnerOwns || got.as_ref() == Some(y),
                // Both sides edited the unit while writes were in flight. Virtuous has no
                // conditional writes, so its own order can land an earlier edit of either side
                // last (documented limitation): require one of this round's edits.
                (Some(x), Some(y)) => {
                    got.as_ref() == Some(x) || got.as_ref() == Some(y) || any_edit
                }
            };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "edit lost on p{} / v{vid} {key}: final {got:?}, last partner {lp:?}, last staff {lv:?}",
                p.id
            ))
        }
    }

    fn check(&self) -> Result<(), String> {
        let mut linked = BTreeMap::new();
        for p in self.partner.iter().filter(|p| !p.merged) {
            let s = p.state.as_ref().ok_or(format!("p{} never synced", p.id))?;
            if s.tombstone.is_some() {
                continue;
            }
            if s.state == SyncState::Conflict {
                return Err(format!("p{} still in conflict", p.id));
            }
            let vid = s
                .virtuous_id
                .clone()
                .ok_or(format!("p{} has no Virtuous record", p.id))?;
            if let Some(other) = linked.insert(vid.clone(), p.id.clone()) {
                return Err(format!("v{vid} linked to both p{other} and p{}", p.id));
            }
            let v = self
                .virt
                .iter()
                .find(|v| v.id == vid)
                .ok_or(format!("v{vid} missing"))?;
            if v.merged_into.is_some() {
                return Err(format!("p{} linked to merged-away v{vid}", p.id));
            }
            for f in self.opts.fields(p.kind).unwrap() {
                let (a, b) = (p.values.get(&f.name), v.values.get(&f.name));
                let same = match (a, b) {
                    (Some(a), Some(b)) => {
                        self.digest(p.kind, &f.name, a) == self.digest(p.kind, &f.name, b)
                    }
                    (None, None) => true,
                    _ => false,
                };
                if !same {
                    return Err(format!(
                        "p{} / v{vid} disagree on {}: {a:?} vs {b:?}",
                        p.id, f.name
                    ));
                }
                // No edit lost (the amount + designations group is checked as one unit below).
                if p.kind == ResourceKind::Gift && in_group(&f.name) {
                    continue;
                }
                let got = a.map(|a| self.digest(p.kind, &f.name, a));
                let policy = self.owned_by(p.kind, &f.name);
                self.edit_kept(p, &vid, &f.name, got, policy, &|v| {
                    self.digest(p.kind, &f.name, v)
                })?;
            }
            if p.kind == ResourceKind::Gift {
                let got = Some(self.group_digest(&group_value(&p.values)));
                let policy = self.owned_by(p.kind, "amount");
                self.edit_kept(p, &vid, GROUP_KEY, got, policy, &|v| self.group_digest(v))?;
            }
        }
        for v in &self.virt {
            if v.extra != v.extra0 {
                return Err(format!(
                    "v{} lost unmapped fields: {:?} became {:?}",
                    v.id, v.extra0, v.extra
                ));
            }
        }
        for v in self.virt.iter().filter(|v| v.merged_into.is_none()) {
            if !linked.contains_key(&v.id) {
                return Err(format!("v{} has no partner record", v.id));
            }
        }
        let mut ext = BTreeMap::new();
        for v in &self.virt {
            if let Some(e) = &v.ext_id {
                if ext.insert(e.clone(), v.id.clone()).is_some() {
                    return Err(format!("duplicate Virtuous record for external id {e}"));
                }
            }
        }
        Ok(())
    }
}

fn gen_schedule(seed: u64, live: bool) -> (Config, Vec<Step>) {
    let mut r = Rng(seed);
    let cfg = Config {
        skew_ms: r.below(20 * MIN as u64 + 1) as i64 - 10 * MIN,
        policy: r.below(4) as u8,
        cooldown_ms: if r.chance(50) {
            10 * MIN
        } else {
            r.below(5) as i64 * MIN
        },
        small: r.chance(50),
        undo_every: 2 + r.below(5),
        field_times: r.chance(50),
        live,
    };
    let rounds = 1 + r.below(3);
    let mut steps = Vec::new();
    for _ in 0..rounds {
        let n = 10 + r.below(40);
        for _ in 0..n {
            let s = match r.below(100) {
                0..=7 => Step::PartnerCreate {
                    contact: r.chance(40),
                },
                8..=25 => Step::PartnerEdit {
                    rec: r.next(),
                    field: r.next(),
                },
                26..=30 => Step::StaffCreate {
                    contact: r.chance(50),
                },
                31..=45 => Step::StaffEdit {
                    rec: r.next(),
                    field: r.next(),
                },
                46..=47 => Step::StaffMerge {
                    a: r.next(),
                    b: r.next(),
                },
                48..=64 => Step::Deliver { pick: r.next() },
                65..=68 => Step::Duplicate { pick: r.next() },
                69..=78 => Step::Push,
                79..=86 => Step::Flush { fail: r.next() },
                87..=89 => Step::Batch,
                90..=92 => Step::Resolve { pick: r.next() },
                _ => Step::Advance {
                    ms: r.below(30) as i64 * MIN,
                },
            };
            steps.push(s);
        }
        steps.push(Step::Quiesce);
    }
    (cfg, steps)
}

/// One schedule; `tracing`: keep the trace (returned; empty otherwise).
fn run(cfg: Config, steps: &[Step], tracing: bool) -> (Result<(), String>, Vec<String>) {
    let mut w = World::new(cfg);
    w.tracing = tracing;
    let mut steps = steps.to_vec();
    if !matches!(steps.last(), Some(Step::Quiesce)) {
        steps.push(Step::Quiesce);
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for s in &steps {
            w.step(s)?;
        }
        Ok(())
    }));
    let result = match result {
        Ok(r) => r,
        Err(p) => Err(format!(
            "panic: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    };
    (result, w.trace)
}

/// Delta-debugging shrink: drop chunks, then single steps, while the run still fails.
fn shrink(cfg: Config, steps: Vec<Step>) -> Vec<Step> {
    let mut cur = steps;
    let mut chunk = cur.len() / 2;
    while chunk >= 1 {
        let mut i = 0;
        while i < cur.len() {
            let mut cand = cur.clone();
            let end = (i + chunk).min(cand.len());
            cand.drain(i..end);
            if run(cfg, &cand, false).0.is_err() {
                cur = cand;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    cur
}

fn check_seed(seed: u64, live: bool) -> Result<(), String> {
    let (cfg, steps) = gen_schedule(seed, live);
    let (res, _) = run(cfg, &steps, false);
    match res {
        Ok(()) => Ok(()),
        Err(e) => {
            let prev = std::panic::take_hook();
            std::panic::set_hook(Box::new(|_| {}));
            let small = shrink(cfg, steps);
            std::panic::set_hook(prev);
            let (res2, trace) = run(cfg, &small, true);
            Err(format!(
                "seed {seed} ({} profile) failed: {e}\nconfig {cfg:?}\nshrunk to {} steps, failing with {:?}:\n{}",
                if live { "live" } else { "classic" },
                small.len(),
                res2.err(),
                trace.join("\n")
            ))
        }
    }
}

/// The profiles to run: `SYNC_SIM_PROFILE=classic|live`, default both.
fn profiles() -> Vec<bool> {
    match std::env::var("SYNC_SIM_PROFILE").as_deref() {
        Ok("classic") => vec![false],
        Ok("live") => vec![true],
        _ => vec![false, true],
    }
}

/// Live-profile seeds known to diverge (docs/sync.md's "Known limitations"), pinned, not skipped:
/// each must still diverge, and every other seed must converge. Empty: the six seeds of the
/// full `PUT` reverted by staff at once (135, 604, 1205, 1293, 1683, 2166) converge since the host
/// reports the write's 2xx (`PartnerChange.written`).
const KNOWN_LIVE_DIVERGENCES: [u64; 0] = [];

#[test]
fn simulation_seeds() {
    if let Ok(s) = std::env::var("SYNC_SIM_SEED") {
        let seed: u64 = s.parse().unwrap();
        for live in profiles() {
            let (cfg, steps) = gen_schedule(seed, live);
            let (res, trace) = run(cfg, &steps, true);
            println!("{}", trace.join("\n"));
            if res.is_err() {
                // The shrunk schedule too: usually far shorter to read.
                println!(
                    "\n==== shrunk ====\n{}",
                    check_seed(seed, live).unwrap_err()
                );
            }
            res.unwrap();
        }
        return;
    }
    let n: u64 = std::env::var("SYNC_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let from: u64 = std::env::var("SYNC_SIM_FROM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // `SYNC_SIM_KEEP_GOING=1`: a long run logs every failing seed (shrunk) and goes on, failing at
    // the end, so one run finds every failure of its range.
    let keep_going = std::env::var("SYNC_SIM_KEEP_GOING").is_ok_and(|v| v == "1");
    let mut failed = Vec::new();
    for seed in from..from.saturating_add(n) {
        if keep_going && seed > from && (seed - from).is_multiple_of(10_000) {
            eprintln!(
                "progress: seeds {from}..{seed} done, {} failed",
                failed.len()
            );
        }
        for live in profiles() {
            let known = live && KNOWN_LIVE_DIVERGENCES.contains(&seed);
            match (check_seed(seed, live), known) {
                (Err(msg), false) if keep_going => {
                    eprintln!("FAILED {msg}\n---");
                    failed.push((seed, live));
                }
                (Err(msg), false) => panic!("{msg}"),
                // Strict: a pinned seed that converges must leave the list (docs/sync.md too).
                (Ok(()), true) => panic!(
                    "live seed {seed} converges now: remove it from KNOWN_LIVE_DIVERGENCES and \
                     from docs/sync.md's open limitation"
                ),
                _ => {}
            }
        }
    }
    assert!(failed.is_empty(), "failing seeds (seed, live): {failed:?}");
    eprintln!("done: seeds {from}..{} passed", from.saturating_add(n));
    // The default run must reach issue 10's scenario classes (conflicts only arise under
    // most-recent-wins (p1) and manual (p2)).
    let counts = REACHED.with(|r| r.borrow().clone());
    println!("reached: {counts:?}");
    if from == 0 && n >= 3000 {
        let mut missing = Vec::new();
        for p in 0..4 {
            for name in ["staff-resplit-same-amount", "staff-a-b-a"] {
                missing.push(format!("{name}/p{p}"));
            }
        }
        // Two unconfirmed writes in a conflict: in `live` (full-record PUTs) a write built over a
        // failed one retires it (seed 847038), so only `classic` (partial updates) reaches it.
        let classic = profiles().contains(&false);
        for p in 1..3 {
            if classic {
                missing.push(format!("conflict-event-with-superseded-writes/p{p}"));
            }
            for name in [
                "conflict-echo-settles-writes",
                "conflict-event-with-held-edit-and-pending-write",
                "partner-undo-during-conflict",
                "admin-resolves-group",
            ] {
                missing.push(format!("{name}/p{p}"));
            }
        }
        missing.retain(|k| counts.get(k).copied().unwrap_or(0) == 0);
        assert!(missing.is_empty(), "scenarios never reached: {missing:?}");
    }
}
