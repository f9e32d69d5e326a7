//! The Volunteer polling cursor: `GET /v1/{users,projects,participations}?updated_after=…&page=N`.
//!
//! Same guarantees as the CRM+ query cursor ([`crate::reconcile::cursor`]), whose committed cursor
//! ([`QueryCursor`]) and advance rule ([`advance_cursor`]) it shares:
//!
//! * the cursor is the highest `updated_at` **seen in results**, never the wall clock, with the ids
//!   seen at exactly that time (`boundaryIds`): a same-second change is never skipped, and a row
//!   already handed on at the boundary is not handed on twice;
//! * every run starts at `highWater − overlap` with a **closed** lower bound (`updated_after` one
//!   second before the bound, floored to the second, or the day before in `date` format);
//! * the cursor only advances through [`PollRun::finish`] after the last page: a run that fails
//!   midway is dropped and the stored cursor stays where it was.
//!
//! Volunteer pages by number with a server-fixed page size and an undocumented sort order, so
//! keyset paging is not available. Instead a run checks that its pages tile one unchanged result
//! set: `meta.total` the same on every page, the rows of the pass adding up to it, and no row read
//! twice (a re-read row means the set shifted under the run, so another row slid past a page
//! boundary unread). A run whose pages do not tile restarts at page 1 (rows read before are dropped
//! as duplicates by `(id, updated_at)`); after `maxRestarts` it carries on but commits nothing, so
//! the next run reads the same window again. Each page's rows are handed on at once either way.
//!
//! `links.next` decides whether a page follows and which page number it is; the request itself is
//! rebuilt from the base URL, the resource, our own `updated_after` and that number, so a link that
//! dropped the filter (a Laravel paginator without `withQueryString`) cannot turn an incremental run
//! into a full export, and a link to another host never receives the bearer token. JSON `null` ends
//! the run; the string `"null"` (the OpenAPI example's spelling) ends it too unless `meta` says more
//! rows follow; a page without `links` (or without `links.next`) is an error, not an end.

use crate::event::{Action, ResourceKind};
use crate::product::Product;
use crate::reconcile::cursor::{advance_cursor, row_id, QueryCursor};
use crate::timestamp::{floor_second, format_time_seconds, parse_time, TimeError};
use core::fmt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// The documented API base.
pub const DEFAULT_BASE_URL: &str = "https://api.vomo.org/v1";
/// Default overlap re-read at the start of every run: 15 minutes, as the CRM+ cursor.
pub const DEFAULT_OVERLAP_MS: i64 = 15 * 60 * 1000;
/// Default tolerance of `created_at ≈ updated_at` for a new record: 2 seconds (the API reports
/// whole seconds; a record saved twice while being created stays "new").
pub const DEFAULT_CREATED_TOLERANCE_MS: i64 = 2000;
/// Default most pages one run follows.
pub const DEFAULT_MAX_PAGES: u32 = 10_000;
/// Default restarts of a run whose pages did not tile one result set.
pub const DEFAULT_MAX_RESTARTS: u32 = 3;
/// Default most `(id, updated_at)` pairs a run remembers to recognise re-read rows.
pub const DEFAULT_TRACK_LIMIT: u32 = 5000;
/// The most rows one page may hold (the server's page size is fixed and small: 15 in the docs).
pub const MAX_PAGE_ROWS: usize = 1000;
/// The largest `meta` count believed (a size hint beyond it is a malformed page).
pub const MAX_META_COUNT: u64 = 1_000_000_000_000;

/// A caller mistake or a page the run cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PollError {
    /// A configuration value is out of range.
    InvalidConfig {
        /// The camelCase field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The page has no `links` object, or `links` has no `next` key: the run cannot know
    /// whether more pages follow, so it does not guess that none do.
    MissingLinks {
        /// `links` or `links.next`.
        field: &'static str,
    },
    /// The page is not the `{data, links, meta}` envelope (or a count in it is out of bounds).
    InvalidPage {
        /// The offending field (`data`, `meta.total`, `links.next`...).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// `links.next` points outside the configured base URL and resource.
    ForeignNextLink,
    /// The page numbers do not move forward (`links.next` not after the current page, or
    /// `meta.current_page` not the page asked for).
    PaginationLoop {
        /// The offending field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The run followed `maxPages` pages.
    TooManyPages,
    /// A page was offered to a run that already saw its last page.
    RunFinished,
    /// `finish` was called before the last page: the cursor must not advance.
    RunIncomplete,
}

impl PollError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            PollError::InvalidConfig { .. } => "invalid-poll-config",
            PollError::MissingLinks { .. } => "missing-links",
            PollError::InvalidPage { .. } => "invalid-page",
            PollError::ForeignNextLink => "foreign-next-link",
            PollError::PaginationLoop { .. } => "pagination-loop",
            PollError::TooManyPages => "too-many-pages",
            PollError::RunFinished => "run-finished",
            PollError::RunIncomplete => "run-incomplete",
        }
    }

    /// The camelCase field at fault, or `""`.
    pub fn field(&self) -> String {
        match self {
            PollError::InvalidConfig { field, .. } => format!("config.{field}"),
            PollError::MissingLinks { field } => format!("body.{field}"),
            PollError::InvalidPage { field, .. } => format!("body.{field}"),
            PollError::ForeignNextLink => "body.links.next".into(),
            PollError::PaginationLoop { field, .. } => format!("body.{field}"),
            PollError::TooManyPages | PollError::RunFinished | PollError::RunIncomplete => {
                String::new()
            }
        }
    }
}

impl fmt::Display for PollError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PollError::InvalidConfig { field, message } => write!(f, "{field}: {message}"),
            PollError::MissingLinks { field } => write!(
                f,
                "the page has no `{field}`: whether more pages follow is unknown, so the run does not end here"
            ),
            PollError::InvalidPage { field, message } => write!(f, "{field}: {message}"),
            PollError::ForeignNextLink => f.write_str(
                "links.next points outside the configured base URL and resource; it is not followed (the bearer token would go with it)",
            ),
            PollError::PaginationLoop { field, message } => write!(f, "{field}: {message}"),
            PollError::TooManyPages => {
                f.write_str("the run followed maxPages pages; raise maxPages or check the server")
            }
            PollError::RunFinished => f.write_str("the run already received its last page"),
            PollError::RunIncomplete => {
                f.write_str("the run has not seen its last page; the cursor must not advance")
            }
        }
    }
}

impl std::error::Error for PollError {}

/// A polled Volunteer resource; each has its own cursor (participations do not advance the
/// user's `updated_at`, so a user cursor never sees them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum VolunteerResource {
    /// `GET /v1/users`: volunteers, as contacts.
    Users,
    /// `GET /v1/projects`.
    Projects,
    /// `GET /v1/participations`: a user's sign-up to a project (hours, status).
    Participations,
}

impl VolunteerResource {
    /// Every resource, in polling order.
    pub const ALL: [VolunteerResource; 3] = [
        VolunteerResource::Users,
        VolunteerResource::Projects,
        VolunteerResource::Participations,
    ];

    /// The path under the base URL.
    pub fn path(self) -> &'static str {
        match self {
            VolunteerResource::Users => "/users",
            VolunteerResource::Projects => "/projects",
            VolunteerResource::Participations => "/participations",
        }
    }

    /// The record kind of the one sync model.
    pub fn kind(self) -> ResourceKind {
        match self {
            VolunteerResource::Users => ResourceKind::Contact,
            VolunteerResource::Projects => ResourceKind::Project,
            VolunteerResource::Participations => ResourceKind::Participation,
        }
    }
}

/// Incremental (`updated_after` from the cursor) or a full scan (every row: the daily/weekly
/// reconciliation, the only source of deletions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum PollMode {
    /// From the stored cursor.
    #[default]
    Incremental,
    /// Every row, no filter.
    Full,
}

/// How `updated_after` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum UpdatedAfterFormat {
    /// `YYYY-MM-DDTHH:MM:SSZ`, one second before the floored bound (default).
    #[default]
    DateTime,
    /// `YYYY-MM-DD`, the day holding one second before the bound (for a server that filters
    /// by date only: more overlap, nothing lost).
    Date,
}

fn d_base() -> String {
    DEFAULT_BASE_URL.into()
}
fn d_overlap() -> i64 {
    DEFAULT_OVERLAP_MS
}
fn d_tolerance() -> i64 {
    DEFAULT_CREATED_TOLERANCE_MS
}
fn d_true() -> bool {
    true
}
fn d_pages() -> u32 {
    DEFAULT_MAX_PAGES
}
fn d_restarts() -> u32 {
    DEFAULT_MAX_RESTARTS
}
fn d_track() -> u32 {
    DEFAULT_TRACK_LIMIT
}

/// How a poll runs. Every field has a documented default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "VolunteerPollConfig")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PollConfig {
    /// The API base (default `https://api.vomo.org/v1`); `https://`, or `http://` for a local
    /// host (`localhost`, `127.0.0.1`, `[::1]`) only.
    #[serde(default = "d_base")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub base_url: String,
    /// How far before the committed high-water mark each run starts (default 15 min, ≥ 1 s).
    #[serde(default = "d_overlap")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub overlap_ms: i64,
    /// A row whose `created_at` is within this of its `updated_at` is new (default 2000 ms,
    /// 0..=86,400,000).
    #[serde(default = "d_tolerance")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub created_tolerance_ms: i64,
    /// How `updated_after` is written (default `date-time`).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub updated_after_format: UpdatedAfterFormat,
    /// Whether `links.next: "null"` (a string) ends the run when `meta` does not say more rows
    /// follow (default true: the OpenAPI example spells it so). Off: such a link is foreign.
    #[serde(default = "d_true")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub tolerate_string_null: bool,
    /// Most pages one run follows, 1..=1,000,000 (default 10,000).
    #[serde(default = "d_pages")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub max_pages: u32,
    /// Restarts of a run whose pages did not tile one result set, 0..=20 (default 3).
    #[serde(default = "d_restarts")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub max_restarts: u32,
    /// Most `(id, updated_at)` pairs a run remembers to recognise re-read rows, 0..=100,000
    /// (default 5000; beyond it only `meta.total` checks the tiling).
    #[serde(default = "d_track")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub track_limit: u32,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            base_url: d_base(),
            overlap_ms: d_overlap(),
            created_tolerance_ms: d_tolerance(),
            updated_after_format: UpdatedAfterFormat::DateTime,
            tolerate_string_null: true,
            max_pages: d_pages(),
            max_restarts: d_restarts(),
            track_limit: d_track(),
        }
    }
}

fn bad(field: &'static str, message: impl Into<String>) -> PollError {
    PollError::InvalidConfig {
        field,
        message: message.into(),
    }
}

impl PollConfig {
    /// Checks ranges and the base URL.
    pub fn validate(&self) -> Result<(), PollError> {
        let base = self.base_url.trim_end_matches('/');
        let local = ["http://localhost", "http://127.0.0.1", "http://[::1]"];
        let host_ok = base.starts_with("https://")
            || local.iter().any(|l| {
                base == *l
                    || base.starts_with(&format!("{l}:"))
                    || base.starts_with(&format!("{l}/"))
            });
        if !host_ok || base.contains(['?', '#', ' ']) || base.len() > 2048 {
            return Err(bad(
                "baseUrl",
                "must be an https:// URL (http:// only for localhost) without query or fragment",
            ));
        }
        if self.overlap_ms < 1000 {
            return Err(bad(
                "overlapMs",
                format!("must be at least 1000, got {}", self.overlap_ms),
            ));
        }
        if !(0..=86_400_000).contains(&self.created_tolerance_ms) {
            return Err(bad(
                "createdToleranceMs",
                format!("must be 0..=86400000, got {}", self.created_tolerance_ms),
            ));
        }
        if !(1..=1_000_000).contains(&self.max_pages) {
            return Err(bad(
                "maxPages",
                format!("must be 1..=1000000, got {}", self.max_pages),
            ));
        }
        if self.max_restarts > 20 {
            return Err(bad(
                "maxRestarts",
                format!("must be 0..=20, got {}", self.max_restarts),
            ));
        }
        if self.track_limit > 100_000 {
            return Err(bad(
                "trackLimit",
                format!("must be 0..=100000, got {}", self.track_limit),
            ));
        }
        Ok(())
    }

    fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }
}

/// The HTTP request for the next page (`Authorization: Bearer <token>` is the host's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "VolunteerRequest"))]
#[serde(rename_all = "camelCase")]
pub struct PollRequest {
    /// Always `GET`.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// The page number asked for (1-based).
    pub page: u32,
}

/// A poll in progress; the host persists it between pages to resume after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "VolunteerPollRun")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PollRun {
    /// The resource polled.
    pub resource: VolunteerResource,
    /// Incremental or full.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub mode: PollMode,
    /// The configuration.
    pub config: PollConfig,
    /// The committed cursor this run started from.
    pub start: QueryCursor,
    /// The host's clock when the run began (ms), when it gave it: the cursor never advances past it,
    /// so a row updated while the pages were read (and missed by page-number paging that shifted
    /// under the run) is inside the next run's window, whatever the run's length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<i64>,
    /// The lower bound (ms) `updated_after` is written from; absent: every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_ms: Option<i64>,
    /// The page asked for next (1-based).
    pub page: u32,
    /// `meta.total` of this pass's first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Rows read in this pass (for the tiling check against `total`).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub pass_rows: u64,
    /// `(id, updatedMs, pass)` read in this run, up to `trackLimit`: the pass (restarts so far)
    /// that last read it, so a re-read within one pass shows.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub seen: Vec<(String, i64, u32)>,
    /// More rows were read than `trackLimit`: re-reads are no longer all recognised.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub untracked: bool,
    /// Highest `updated_at` seen in this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seen_ms: Option<i64>,
    /// Ids seen at exactly `maxSeenMs`.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub ids_at_max: Vec<String>,
    /// Restarts so far.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub restarts: u32,
    /// The pages never tiled one result set within `maxRestarts`: the run commits nothing.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub unverified: bool,
    /// Pages accepted.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub pages: u32,
    /// Rows handed on as changes.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub changes: u64,
    /// Whether the last page was seen.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub done: bool,
}

/// One changed row: what the host feeds to the inbound decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "VolunteerChange")
)]
#[serde(rename_all = "camelCase")]
pub struct PolledChange {
    /// Position of the row in the page's `data`.
    pub position: u32,
    /// The Volunteer id, as text.
    pub id: String,
    /// Always `volunteer`.
    pub product: Product,
    /// `contact` (users), `project`, `participation`.
    pub kind: ResourceKind,
    /// `create` when `created_at ≈ updated_at` (within `createdToleranceMs`), else `update`
    /// (also when `created_at` is absent or unreadable: an update looks the record up first).
    pub action: Action,
    /// `updated_at` in ms, when readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_ms: Option<i64>,
    /// `updated_at` as sent (the event's modification time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// `created_at` in ms, when readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_ms: Option<i64>,
    /// A participation's `user_id` (as text): the host serialises per user as well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// A participation's `project_id` (as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

/// A row the run could not fully read (reported, never guessed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "VolunteerRowIssue"))]
#[serde(rename_all = "camelCase")]
pub struct RowIssue {
    /// Position in `data`.
    pub position: u32,
    /// `data[3].updated_at`...
    pub field: String,
    /// `missing-id`, `missing-time`, `malformed-time`, `time-out-of-range`.
    #[cfg_attr(
        feature = "ts",
        ts(
            type = "\"missing-id\" | \"missing-time\" | \"malformed-time\" | \"time-out-of-range\""
        )
    )]
    pub code: String,
}

/// What one page held and what comes next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "VolunteerPage")
)]
#[serde(rename_all = "camelCase")]
pub struct PollPage {
    /// Rows to process, in page order.
    pub changes: Vec<PolledChange>,
    /// Rows dropped as already handed on (re-read in this run, or at the committed boundary).
    pub duplicates: u32,
    /// Positions of rows without a usable `id` (not processed).
    pub malformed: Vec<u32>,
    /// Positions of changes without a readable `updated_at` (processed, but they cannot move the
    /// cursor).
    pub undated: Vec<u32>,
    /// Every row the run could not fully read.
    pub issues: Vec<RowIssue>,
    /// Why the run starts again at page 1, when it does: `total-changed`, `row-reread`,
    /// `rows-missing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "ts",
        ts(type = "\"total-changed\" | \"row-reread\" | \"rows-missing\"")
    )]
    pub restart: Option<String>,
    /// Where the next page number came from: `link`, or `meta` (a string `"null"` while `meta`
    /// says more rows follow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "\"link\" | \"meta\""))]
    pub next_from: Option<String>,
    /// Whether the run saw its last page: call `finishVolunteerPoll` next.
    pub done: bool,
}

/// A complete full scan's summary: what deletion planning needs to trust an absence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "VolunteerScan")
)]
#[serde(rename_all = "camelCase")]
pub struct FullScan {
    /// The resource scanned.
    pub resource: VolunteerResource,
    /// Whether the pages tiled one unchanged result set (only then is an absence a signal).
    pub complete: bool,
    /// Rows the last pass read.
    pub rows: u64,
    /// `meta.total`, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// The end of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "VolunteerPollEnd")
)]
#[serde(rename_all = "camelCase")]
pub struct PollEnd {
    /// The cursor to store (the start's, unchanged, when the run was unverified).
    pub cursor: QueryCursor,
    /// Whether the cursor moved.
    pub advanced: bool,
    /// For a full scan: its summary, for `planVolunteerDeletions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<FullScan>,
}

/// Reads an integer or a decimal string (the OpenAPI examples spell `meta` counts as strings).
fn meta_count(meta: Option<&Value>, key: &str) -> Result<Option<u64>, PollError> {
    let Some(v) = meta.and_then(|m| m.get(key)) else {
        return Ok(None);
    };
    let n = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n <= MAX_META_COUNT => Ok(Some(n)),
        _ => Err(PollError::InvalidPage {
            field: format!("meta.{key}"),
            message: format!("not a count in 0..={MAX_META_COUNT}"),
        }),
    }
}

/// A JSON id (number or non-blank string) as text.
fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A row time: `Ok(None)` when absent or null, the time error otherwise.
fn row_time(row: &Value, key: &str) -> Result<Option<i64>, TimeError> {
    match row.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_time(s).map(Some),
        Some(other) => Err(TimeError::Malformed(other.to_string())),
    }
}

/// The `page` query parameter of a link, when it has one.
fn link_page(query: &str) -> Option<Option<u32>> {
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == "page" {
            return Some(v.parse::<u32>().ok());
        }
    }
    None
}

impl PollRun {
    /// Starts a run from the committed cursor (the cursor itself is not changed).
    pub fn start(
        resource: VolunteerResource,
        mode: PollMode,
        cursor: &QueryCursor,
        config: &PollConfig,
    ) -> Result<PollRun, PollError> {
        config.validate()?;
        let lower_ms = match mode {
            PollMode::Full => None,
            PollMode::Incremental => cursor
                .high_water_ms
                .map(|h| h.saturating_sub(config.overlap_ms)),
        };
        Ok(PollRun {
            resource,
            mode,
            config: config.clone(),
            start: cursor.clone(),
            started_ms: None,
            lower_ms,
            page: 1,
            total: None,
            pass_rows: 0,
            seen: Vec::new(),
            untracked: false,
            max_seen_ms: None,
            ids_at_max: Vec::new(),
            restarts: 0,
            unverified: false,
            pages: 0,
            changes: 0,
            done: false,
        })
    }

    /// The run with the host's clock at its start (see [`PollRun::started_ms`]).
    pub fn started_at(self, started_ms: Option<i64>) -> PollRun {
        PollRun { started_ms, ..self }
    }

    /// The `updated_after` value, when the run filters.
    pub fn updated_after(&self) -> Option<String> {
        let bound = floor_second(self.lower_ms?).saturating_sub(1000);
        let text = format_time_seconds(bound);
        Some(match self.config.updated_after_format {
            UpdatedAfterFormat::DateTime => format!("{text}Z"),
            UpdatedAfterFormat::Date => text.get(..10).unwrap_or(&text).to_string(),
        })
    }

    /// The request for the current page, unless done.
    pub fn next_request(&self) -> Option<PollRequest> {
        if self.done {
            return None;
        }
        let mut url = format!("{}{}?", self.config.base(), self.resource.path());
        if let Some(after) = self.updated_after() {
            // Only digits, `-`, `:` and `T`/`Z`: nothing to percent-encode.
            url.push_str("updated_after=");
            url.push_str(&after);
            url.push('&');
        }
        url.push_str(&format!("page={}", self.page));
        Some(PollRequest {
            method: "GET".into(),
            url,
            page: self.page,
        })
    }

    /// Which page follows: `Some((page, from))`, or `None` at the end.
    fn next_page(
        &self,
        body: &Value,
        meta: Option<&Value>,
    ) -> Result<Option<(u32, &'static str)>, PollError> {
        let links = body
            .get("links")
            .filter(|l| l.is_object())
            .ok_or(PollError::MissingLinks { field: "links" })?;
        let next = links.get("next").ok_or(PollError::MissingLinks {
            field: "links.next",
        })?;
        let more_by_meta = || -> Result<bool, PollError> {
            let current = meta_count(meta, "current_page")?;
            let last = meta_count(meta, "last_page")?;
            let per = meta_count(meta, "per_page")?;
            let total = meta_count(meta, "total")?;
            Ok(match (current, last, per, total) {
                (Some(c), Some(l), _, _) => c < l,
                (Some(c), None, Some(p), Some(t)) => c.saturating_mul(p) < t,
                _ => false,
            })
        };
        match next {
            Value::Null => Ok(None),
            Value::String(s) if self.config.tolerate_string_null && s.trim() == "null" => {
                if more_by_meta()? {
                    Ok(Some((self.page.saturating_add(1), "meta")))
                } else {
                    Ok(None)
                }
            }
            Value::String(s) => {
                let prefix = format!("{}{}", self.config.base(), self.resource.path());
                let rest = s
                    .trim()
                    .strip_prefix(prefix.as_str())
                    .ok_or(PollError::ForeignNextLink)?;
                let query = match rest.strip_prefix('?') {
                    Some(q) => q.split('#').next().unwrap_or(q),
                    None => return Err(PollError::ForeignNextLink),
                };
                let n = link_page(query)
                    .flatten()
                    .ok_or_else(|| PollError::InvalidPage {
                        field: "links.next".into(),
                        message: "the link has no page number".into(),
                    })?;
                if n <= self.page {
                    return Err(PollError::PaginationLoop {
                        field: "links.next",
                        message: format!("page {n} does not follow page {}", self.page),
                    });
                }
                Ok(Some((n, "link")))
            }
            _ => Err(PollError::InvalidPage {
                field: "links.next".into(),
                message: "neither a URL nor null".into(),
            }),
        }
    }

    /// Takes one response body (`{data, links, meta}`). An error changes nothing: the run may be
    /// retried with the same page or dropped.
    pub fn accept_page(&mut self, body: &Value) -> Result<PollPage, PollError> {
        if self.done {
            return Err(PollError::RunFinished);
        }
        if !body.is_object() {
            return Err(PollError::InvalidPage {
                field: String::new(),
                message: "the page is not a JSON object".into(),
            });
        }
        let rows =
            body.get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| PollError::InvalidPage {
                    field: "data".into(),
                    message: "not an array".into(),
                })?;
        if rows.len() > MAX_PAGE_ROWS {
            return Err(PollError::InvalidPage {
                field: "data".into(),
                message: format!("{} rows; a page holds at most {MAX_PAGE_ROWS}", rows.len()),
            });
        }
        let meta = match body.get("meta") {
            None | Some(Value::Null) => None,
            Some(m) if m.is_object() => Some(m),
            Some(_) => {
                return Err(PollError::InvalidPage {
                    field: "meta".into(),
                    message: "not an object".into(),
                })
            }
        };
        if let Some(c) = meta_count(meta, "current_page")? {
            if c != u64::from(self.page) {
                return Err(PollError::PaginationLoop {
                    field: "meta.current_page",
                    message: format!("asked for page {}, got page {c}", self.page),
                });
            }
        }
        let total = meta_count(meta, "total")?;
        let next = self.next_page(body, meta)?;
        if let Some((n, _)) = next {
            if n > self.config.max_pages {
                return Err(PollError::TooManyPages);
            }
        }
        // The page is usable: from here on nothing fails.
        let mut out = PollPage {
            changes: Vec::new(),
            duplicates: 0,
            malformed: Vec::new(),
            undated: Vec::new(),
            issues: Vec::new(),
            restart: None,
            next_from: next.map(|(_, from)| from.to_string()),
            done: false,
        };
        self.pages = self.pages.saturating_add(1);
        let total_changed = matches!((self.total, total), (Some(a), Some(b)) if a != b);
        if self.total.is_none() {
            self.total = total;
        }
        self.pass_rows = self.pass_rows.saturating_add(rows.len() as u64);
        let reread = self.read_rows(rows, &mut out);
        let restart = if total_changed {
            Some("total-changed")
        } else if reread {
            Some("row-reread")
        } else if next.is_none() && self.total.is_some_and(|t| t != self.pass_rows) {
            Some("rows-missing")
        } else {
            None
        };
        match (restart, next) {
            (Some(why), _) if self.restarts < self.config.max_restarts => {
                self.restarts = self.restarts.saturating_add(1);
                self.page = 1;
                self.total = None;
                self.pass_rows = 0;
                out.restart = Some(why.into());
                out.next_from = None;
            }
            (why, next) => {
                if why.is_some() {
                    self.unverified = true;
                }
                match next {
                    Some((n, _)) => self.page = n,
                    None => self.done = true,
                }
            }
        }
        out.done = self.done;
        Ok(out)
    }

    /// Reads a page's rows into `out`; whether a row of this run was read again.
    fn read_rows(&mut self, rows: &[Value], out: &mut PollPage) -> bool {
        let boundary: HashSet<&str> = self.start.boundary_ids.iter().map(String::as_str).collect();
        // id -> indexes into `self.seen`.
        let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
        for (n, (id, _, _)) in self.seen.iter().enumerate() {
            seen.entry(id.clone()).or_default().push(n);
        }
        let pass = self.restarts;
        let mut reread = false;
        let kind = self.resource.kind();
        for (i, row) in rows.iter().enumerate() {
            let pos = u32::try_from(i).unwrap_or(u32::MAX);
            let Some(id) = row_id(row) else {
                out.malformed.push(pos);
                out.issues.push(RowIssue {
                    position: pos,
                    field: format!("data[{i}].id"),
                    code: "missing-id".into(),
                });
                continue;
            };
            let updated = match row_time(row, "updated_at") {
                Ok(Some(ms)) => Some(ms),
                Ok(None) => {
                    out.issues.push(RowIssue {
                        position: pos,
                        field: format!("data[{i}].updated_at"),
                        code: "missing-time".into(),
                    });
                    None
                }
                Err(e) => {
                    out.issues.push(RowIssue {
                        position: pos,
                        field: format!("data[{i}].updated_at"),
                        code: e.code().into(),
                    });
                    None
                }
            };
            let created = match row_time(row, "created_at") {
                Ok(c) => c,
                Err(e) => {
                    out.issues.push(RowIssue {
                        position: pos,
                        field: format!("data[{i}].created_at"),
                        code: e.code().into(),
                    });
                    None
                }
            };
            if let Some(m) = updated {
                let known: Vec<usize> = seen.get(&id).cloned().unwrap_or_default();
                if known
                    .iter()
                    .any(|&n| self.seen.get(n).is_some_and(|e| e.2 == pass))
                {
                    // Read before in this pass: the result set moved under the run.
                    reread = true;
                }
                let same = known
                    .iter()
                    .copied()
                    .find(|&n| self.seen.get(n).is_some_and(|e| e.1 == m));
                let at_boundary =
                    self.start.high_water_ms == Some(m) && boundary.contains(id.as_str());
                if let Some(n) = same {
                    if let Some(e) = self.seen.get_mut(n) {
                        e.2 = pass;
                    }
                }
                if same.is_none() {
                    if self.seen.len() < self.config.track_limit as usize {
                        seen.entry(id.clone()).or_default().push(self.seen.len());
                        self.seen.push((id.clone(), m, pass));
                    } else {
                        self.untracked = true;
                    }
                }
                if at_boundary || same.is_some() {
                    out.duplicates = out.duplicates.saturating_add(1);
                    continue;
                }
                match self.max_seen_ms {
                    Some(max) if m < max => {}
                    Some(max) if m == max => self.ids_at_max.push(id.clone()),
                    _ => {
                        self.max_seen_ms = Some(m);
                        self.ids_at_max = vec![id.clone()];
                    }
                }
            } else {
                out.undated.push(pos);
            }
            let action = match (created, updated) {
                (Some(c), Some(u))
                    if (u.saturating_sub(c)).abs() <= self.config.created_tolerance_ms =>
                {
                    Action::Create
                }
                _ => Action::Update,
            };
            let participation = self.resource == VolunteerResource::Participations;
            out.changes.push(PolledChange {
                position: pos,
                id,
                product: Product::Volunteer,
                kind,
                action,
                updated_ms: updated,
                updated_at: row
                    .get("updated_at")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                created_ms: created,
                user_id: participation.then(|| id_text(row.get("user_id"))).flatten(),
                project_id: participation
                    .then(|| id_text(row.get("project_id")))
                    .flatten(),
            });
            self.changes = self.changes.saturating_add(1);
        }
        reread
    }

    /// The cursor to store after the last page; `run-incomplete` (changing nothing) before.
    pub fn finish(&self) -> Result<PollEnd, PollError> {
        if !self.done {
            return Err(PollError::RunIncomplete);
        }
        let cursor = if self.unverified {
            QueryCursor {
                capped_at_ms: None,
                ..self.start.clone()
            }
        } else {
            match (self.max_seen_ms, self.started_ms) {
                // Rows seen past the run's start may have been read beside a missed update: no
                // boundary ids there, and the next run reads from the start on.
                (Some(m), Some(s)) if m > s => advance_cursor(&self.start, Some(s), &[]),
                _ => advance_cursor(&self.start, self.max_seen_ms, &self.ids_at_max),
            }
        };
        let advanced = cursor.high_water_ms != self.start.high_water_ms
            || cursor.boundary_ids != self.start.boundary_ids;
        let scan = (self.mode == PollMode::Full).then_some(FullScan {
            resource: self.resource,
            complete: !self.unverified,
            rows: self.pass_rows,
            total: self.total,
        });
        Ok(PollEnd {
            cursor,
            advanced,
            scan,
        })
    }
}

/// Input of [`start_volunteer_poll`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "StartVolunteerPollInput")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartPollInput {
    /// The resource.
    pub resource: VolunteerResource,
    /// Incremental (default) or full.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub mode: PollMode,
    /// The committed cursor of this resource (empty: every row).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub cursor: QueryCursor,
    /// The configuration.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub config: PollConfig,
    /// The host's clock at the run's start (ms): the cursor never advances past it. Without it, a
    /// row updated during a run longer than `overlapMs` can be missed when pages shift under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<i64>,
}

/// A run and its next request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(optional_fields, rename = "VolunteerPollStep")
)]
#[serde(rename_all = "camelCase")]
pub struct PollStep {
    /// The run state to keep.
    pub run: PollRun,
    /// The next request (absent when done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<PollRequest>,
    /// What the page held (absent for a fresh run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PollPage>,
}

/// Input of [`accept_volunteer_page`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename = "AcceptVolunteerPageInput")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcceptPollPageInput {
    /// The run state.
    pub run: PollRun,
    /// The response body as returned (`{data, links, meta}`).
    #[cfg_attr(feature = "ts", ts(type = "unknown"))]
    pub body: Value,
}

/// Starts a run (npm `startVolunteerPoll`).
pub fn start_volunteer_poll(input: &StartPollInput) -> Result<PollStep, PollError> {
    let run = PollRun::start(input.resource, input.mode, &input.cursor, &input.config)?
        .started_at(input.started_ms);
    Ok(PollStep {
        request: run.next_request(),
        run,
        page: None,
    })
}

/// Takes one page (npm `acceptVolunteerPage`).
pub fn accept_volunteer_page(input: &AcceptPollPageInput) -> Result<PollStep, PollError> {
    let mut run = input.run.clone();
    run.config.validate()?;
    let page = run.accept_page(&input.body)?;
    Ok(PollStep {
        request: run.next_request(),
        run,
        page: Some(page),
    })
}

/// Ends a run (npm `finishVolunteerPoll`): the cursor to store; `run-incomplete` before the end.
pub fn finish_volunteer_poll(run: &PollRun) -> Result<PollEnd, PollError> {
    run.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(id: u32, t: &str) -> Value {
        json!({"id": id, "created_at": "2025-11-01T00:00:00+00:00", "updated_at": t})
    }

    fn body(rows: Vec<Value>, next: Value, page: u32, total: u64) -> Value {
        json!({"data": rows, "links": {"first": "x", "last": "y", "prev": null, "next": next},
               "meta": {"current_page": page, "per_page": 2, "total": total}})
    }

    #[test]
    fn pages_follow_links_and_advance_only_at_the_end() {
        let cfg = PollConfig::default();
        let mut run = PollRun::start(
            VolunteerResource::Users,
            PollMode::Incremental,
            &QueryCursor::default(),
            &cfg,
        )
        .unwrap();
        assert_eq!(
            run.next_request().unwrap().url,
            "https://api.vomo.org/v1/users?page=1"
        );
        let next = json!("https://api.vomo.org/v1/users?page=2");
        let p = run
            .accept_page(&body(
                vec![
                    row(1, "2025-11-19T10:15:00+00:00"),
                    row(2, "2025-11-19T10:15:00+00:00"),
                ],
                next,
                1,
                3,
            ))
            .unwrap();
        assert_eq!(p.changes.len(), 2);
        assert_eq!(run.finish().unwrap_err().code(), "run-incomplete");
        run.accept_page(&body(
            vec![row(3, "2025-11-19T10:15:00+00:00")],
            Value::Null,
            2,
            3,
        ))
        .unwrap();
        let end = run.finish().unwrap();
        assert_eq!(end.cursor.boundary_ids, vec!["1", "2", "3"]);
        let again = PollRun::start(
            VolunteerResource::Users,
            PollMode::Incremental,
            &end.cursor,
            &cfg,
        )
        .unwrap();
        assert_eq!(
            again.next_request().unwrap().url,
            "https://api.vomo.org/v1/users?updated_after=2025-11-19T09:59:59Z&page=1"
        );
    }

    #[test]
    fn missing_links_is_an_error_not_an_end() {
        let mut run = PollRun::start(
            VolunteerResource::Projects,
            PollMode::Incremental,
            &QueryCursor::default(),
            &PollConfig::default(),
        )
        .unwrap();
        let e = run.accept_page(&json!({"data": []})).unwrap_err();
        assert_eq!(e.code(), "missing-links");
        assert!(!run.done);
    }
}
