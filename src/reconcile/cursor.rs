//! The incremental query cursor for `POST /api/Contact/Query` and `POST /api/Gift/Query`.
//!
//! Correct by construction against the known ways connectors lose records:
//!
//! * the cursor is the highest `modifiedDateTimeUtc` **seen in results**, never the wall clock;
//! * every run starts at `highWater − overlap` with a **closed** lower bound (the query asks for
//!   "Is After" one second before the bound, floored to the second, so whatever precision the
//!   server filters with, a record at exactly the bound is returned);
//! * within a run each page restarts at the highest time seen so far (keyset paging) instead of a
//!   growing `skip`, so records modified during the run (which move to the end of an ascending
//!   sort) cannot shift an unread record out of the window; `skip` is only used to walk a single
//!   second holding a full page of rows, and then each page overlaps the previous one by one row
//!   (the *anchor*). Rows modified during the walk leave the second and shift the unread ones
//!   back: the anchor then shows up earlier than where it was read, or not at all, and a page
//!   holding no row read before is dropped and asked for again one page further back, so no
//!   unread row is stepped over. Only an anchor found *later* than where it was read (rows
//!   inserted or reordered before it) restarts the walk from `skip = 0`. After [`MAX_RESTARTS`]
//!   restarts (or as many fruitless steps back) at one bound the walk goes on but the run commits
//!   no further than that bound, so the next run re-reads it;
//! * a page is the last one only when it is shorter than `min(take, pageCap)`: the server's page
//!   cap is not published consistently (1000, or "up to 100"), and a capped page taken for a
//!   short one would end every run early;
//! * duplicates are dropped by `(id, modified)` within the run, and across runs by the ids seen at
//!   exactly the committed high-water time (`boundaryIds`);
//! * the cursor only advances through [`QueryRun::finish`] after the last (short) page: a run
//!   that fails midway is simply dropped and the stored cursor stays where it was.
//!
//! What it cannot see: a row that becomes visible later than `overlap` after its own
//! `modifiedDateTimeUtc` minus the run's duration. Choose `overlapMs` ≥ longest run + commit lag
//! (default 15 minutes).

use crate::timestamp::{floor_second, format_time_seconds, parse_time};
use core::fmt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashSet;

/// The most rows Virtuous returns per query page.
pub const MAX_TAKE: u32 = 1000;
/// Restarts of a skip walk at one lower bound before the run gives up verifying it.
pub const MAX_RESTARTS: u32 = 8;
/// Default overlap re-read at the start of every run: 15 minutes.
pub const DEFAULT_OVERLAP_MS: i64 = 15 * 60 * 1000;
/// Default for the most rows the server may return per page whatever `take` asks: the lower of
/// the two documented caps, so a capped page is never mistaken for the last one.
pub const DEFAULT_PAGE_CAP: u32 = 100;

/// A caller mistake in the cursor API.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CursorError {
    /// A configuration value is out of range (`take` 0 or above 1000, overlap under one second...).
    InvalidConfig {
        /// The camelCase field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A page was offered to a run that already saw its last page.
    RunFinished,
    /// `finish` was called before the last page: the cursor must not advance.
    RunIncomplete,
}

impl CursorError {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            CursorError::InvalidConfig { .. } => "invalid-cursor-config",
            CursorError::RunFinished => "run-finished",
            CursorError::RunIncomplete => "run-incomplete",
        }
    }
}

impl fmt::Display for CursorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CursorError::InvalidConfig { field, message } => write!(f, "{field}: {message}"),
            CursorError::RunFinished => f.write_str("the run already received its last page"),
            CursorError::RunIncomplete => {
                f.write_str("the run has not seen its last page; the cursor must not advance")
            }
        }
    }
}

impl std::error::Error for CursorError {}

/// Which query endpoint a cursor walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum QueryResource {
    /// `POST /api/Contact/Query`.
    #[default]
    Contact,
    /// `POST /api/Gift/Query`.
    Gift,
}

impl QueryResource {
    /// The query endpoint path.
    pub fn query_path(self) -> &'static str {
        match self {
            QueryResource::Contact => "/api/Contact/Query",
            QueryResource::Gift => "/api/Gift/Query",
        }
    }
}

fn default_take() -> u32 {
    MAX_TAKE
}
fn default_overlap() -> i64 {
    DEFAULT_OVERLAP_MS
}
fn default_parameter() -> String {
    "Last Modified Date".to_string()
}
fn default_page_cap() -> u32 {
    DEFAULT_PAGE_CAP
}

/// How a run queries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct CursorConfig {
    /// Contacts or gifts.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub resource: QueryResource,
    /// Page size, 2..=1000 (default 1000; at least 2 because skip walks overlap by one row).
    #[serde(default = "default_take")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub take: u32,
    /// How far before the committed high-water mark each run starts (default 15 min, at least 1 s).
    #[serde(default = "default_overlap")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub overlap_ms: i64,
    /// The query parameter holding the modification time (default `Last Modified Date`; check
    /// `GET /api/Contact/QueryOptions` for the organisation).
    #[serde(default = "default_parameter")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub modified_parameter: String,
    /// The most rows the server may return per page however large `take` is, 2..=1000 (default
    /// 100): a page shorter than `take` but holding at least this many rows is not the last one.
    #[serde(default = "default_page_cap")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub page_cap: u32,
}

impl Default for CursorConfig {
    fn default() -> Self {
        CursorConfig {
            resource: QueryResource::Contact,
            take: MAX_TAKE,
            overlap_ms: DEFAULT_OVERLAP_MS,
            modified_parameter: default_parameter(),
            page_cap: DEFAULT_PAGE_CAP,
        }
    }
}

impl CursorConfig {
    /// Checks ranges.
    pub fn validate(&self) -> Result<(), CursorError> {
        if self.take < 2 || self.take > MAX_TAKE {
            return Err(CursorError::InvalidConfig {
                field: "take",
                message: format!("must be 2..=1000, got {}", self.take),
            });
        }
        if self.page_cap < 2 || self.page_cap > MAX_TAKE {
            return Err(CursorError::InvalidConfig {
                field: "pageCap",
                message: format!("must be 2..=1000, got {}", self.page_cap),
            });
        }
        if self.overlap_ms < 1000 {
            return Err(CursorError::InvalidConfig {
                field: "overlapMs",
                message: format!("must be at least 1000, got {}", self.overlap_ms),
            });
        }
        if self.modified_parameter.trim().is_empty() {
            return Err(CursorError::InvalidConfig {
                field: "modifiedParameter",
                message: "must not be blank".into(),
            });
        }
        Ok(())
    }

    /// Rows a page must hold for more to follow: `min(take, pageCap)`.
    pub fn full_page(&self) -> u32 {
        self.take.min(self.page_cap)
    }
}

/// The committed cursor the host stores per organisation and resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct QueryCursor {
    /// Highest `modifiedDateTimeUtc` (ms) seen by a complete run; `None` before the first one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_water_ms: Option<i64>,
    /// Ids already processed at exactly `highWaterMs` (sorted).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub boundary_ids: Vec<String>,
    /// Set when the last run was held back at this time because a skip walk could not be
    /// verified; a second run held at the same point advances anyway if it saw the tie order
    /// change (an unstable tie order in a second with more rows than a page would otherwise pin
    /// the cursor forever), and stays held if rows only moved out of the second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capped_at_ms: Option<i64>,
}

impl QueryCursor {
    /// A cursor that starts the next run at `at_ms` (e.g. the pause time when resuming).
    pub fn from_time(at_ms: i64) -> Self {
        QueryCursor {
            high_water_ms: Some(at_ms),
            boundary_ids: Vec::new(),
            capped_at_ms: None,
        }
    }
}

/// The HTTP request for the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct QueryRequest {
    /// Always `POST`.
    pub method: String,
    /// Path with `skip` and `take` query parameters.
    pub path: String,
    /// Rows to skip.
    pub skip: u64,
    /// Rows to take (≤ 1000).
    pub take: u32,
    /// The JSON body.
    pub body: Value,
}

/// A run over the query pages; the host persists it between pages to resume after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryRun {
    /// The query configuration.
    pub config: CursorConfig,
    /// The committed cursor this run started from.
    pub start: QueryCursor,
    /// The current page window's lower bound (ms); `None` = from the beginning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_ms: Option<i64>,
    /// Rows to skip within the window (only inside one dense second).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub skip: u64,
    /// Highest modification time seen in this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seen_ms: Option<i64>,
    /// Ids seen at exactly `maxSeenMs`.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub ids_at_max: Vec<String>,
    /// `(id, modifiedMs)` seen in the window's second or later, for dropping re-read rows.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub window: Vec<(String, i64)>,
    /// During a skip walk: the last row of the previous page, expected first on the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<(String, i64)>,
    /// The position (`skip`) at which the anchor was read; absent: the current `skip`. Rows
    /// leaving the second can only move it earlier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor_at: Option<u64>,
    /// Restarts of the skip walk at the current lower bound.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub restarts: u32,
    /// Steps back in a row (pages holding no row read before) without a fresh row since.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub step_backs: u32,
    /// The run gave up verifying a walk whose rows were reordered or inserted before its
    /// position (not merely moved out of the second).
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub unstable_order: bool,
    /// If set, the run commits no further than this time (a skip walk could not be verified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewind_to_ms: Option<i64>,
    /// Pages accepted so far.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub pages: u32,
    /// Rows handed on as fresh so far.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub fresh_rows: u64,
    /// Whether the last (short) page has been seen.
    #[serde(default)]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub done: bool,
}

/// How a page of a skip walk lines up with the walk so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// Nothing unread can lie between the previous page and this one.
    Connected,
    /// No row of the page was read before: rows left the second and the unread ones moved back.
    StepBack,
    /// Rows were inserted or reordered before the walk's position.
    Reordered,
}

/// What one page contained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct PageResult {
    /// Positions (in the page) of rows to process, in page order.
    pub fresh: Vec<u32>,
    /// Their ids, same order.
    pub fresh_ids: Vec<String>,
    /// Rows dropped as already processed (re-read in this run or at the committed boundary).
    pub duplicates: u32,
    /// Rows of a page that is asked for again further back (rows moved out of the walked
    /// second): not processed now, they come again.
    #[serde(default)]
    pub discarded: u32,
    /// Positions of rows without a usable `id` (not processed).
    pub malformed: Vec<u32>,
    /// Positions of fresh rows whose `modifiedDateTimeUtc` is missing or unreadable (processed,
    /// but they cannot move the cursor).
    pub undated: Vec<u32>,
    /// Whether paging is done; call `finish` next.
    pub done: bool,
    /// The next request, unless done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<QueryRequest>,
}

/// Reads a record id (number or string) from a query row.
pub fn row_id(row: &Value) -> Option<String> {
    match row.get("id")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads and parses `modifiedDateTimeUtc` from a query row.
pub fn row_modified(row: &Value) -> Option<i64> {
    row.get("modifiedDateTimeUtc")
        .and_then(Value::as_str)
        .and_then(|s| parse_time(s).ok())
}

impl QueryRun {
    /// Starts a run from the committed cursor (the cursor itself is not changed).
    pub fn start(cursor: &QueryCursor, config: &CursorConfig) -> Result<QueryRun, CursorError> {
        config.validate()?;
        let lower_ms = cursor
            .high_water_ms
            .map(|h| h.saturating_sub(config.overlap_ms));
        Ok(QueryRun {
            config: config.clone(),
            start: cursor.clone(),
            lower_ms,
            skip: 0,
            max_seen_ms: None,
            ids_at_max: Vec::new(),
            window: Vec::new(),
            anchor: None,
            anchor_at: None,
            restarts: 0,
            step_backs: 0,
            unstable_order: false,
            rewind_to_ms: None,
            pages: 0,
            fresh_rows: 0,
            done: false,
        })
    }

    /// The request for the next page, or `None` when paging is done.
    pub fn next_request(&self) -> Option<QueryRequest> {
        if self.done {
            return None;
        }
        Some(build_query(&self.config, self.lower_ms, self.skip))
    }

    /// How a page of a skip walk lines up with what the walk read before.
    fn verify(&self, rows: &[Value]) -> Walk {
        let Some((aid, am)) = self.anchor.as_ref().filter(|_| self.skip > 0) else {
            return Walk::Connected;
        };
        let expected = self.anchor_at.unwrap_or(self.skip);
        let dated: Vec<(String, i64)> = rows
            .iter()
            .filter_map(|r| Some((row_id(r)?, row_modified(r)?)))
            .collect();
        if let Some(j) = dated.iter().position(|(id, m)| id == aid && m == am) {
            // Rows only ever leave a past second (a modification moves them to now), which moves
            // the anchor earlier; later means rows were inserted or reordered before it.
            let at = self
                .skip
                .saturating_add(u64::try_from(j).unwrap_or(u64::MAX));
            return if at > expected {
                Walk::Reordered
            } else {
                Walk::Connected
            };
        }
        // The anchor itself left. Rows read before must come first, then the unread ones.
        let read: HashSet<&(String, i64)> = self.window.iter().collect();
        let known: Vec<bool> = dated.iter().map(|k| read.contains(k)).collect();
        if !known.contains(&true) {
            Walk::StepBack
        } else if known.windows(2).any(|w| matches!(w, [false, true])) {
            Walk::Reordered
        } else {
            Walk::Connected
        }
    }

    /// Takes one page of rows (the `list` of the response, in the order returned).
    pub fn accept_page(&mut self, rows: &[Value]) -> Result<PageResult, CursorError> {
        if self.done {
            return Err(CursorError::RunFinished);
        }
        let mut out = PageResult {
            fresh: Vec::new(),
            fresh_ids: Vec::new(),
            duplicates: 0,
            discarded: 0,
            malformed: Vec::new(),
            undated: Vec::new(),
            done: false,
            next: None,
        };
        self.pages = self.pages.saturating_add(1);
        let verdict = self.verify(rows);
        let given_up = self.restarts >= MAX_RESTARTS;
        let page = u64::from(self.config.full_page());
        if verdict == Walk::StepBack && !given_up && self.step_backs < MAX_RESTARTS {
            // Rows left the second since the last page and the unread ones moved back past
            // `skip`: ask again one page further back, where the anchor's neighbours now are.
            out.discarded = u32::try_from(rows.len()).unwrap_or(u32::MAX);
            self.step_backs = self.step_backs.saturating_add(1);
            self.skip = self.skip.saturating_sub(page.saturating_sub(1).max(1));
            out.next = self.next_request();
            return Ok(out);
        }
        let mut window: HashSet<(String, i64)> = self.window.iter().cloned().collect();
        let page_max = self.read_rows(rows, &mut out, &mut window);
        if out.fresh.len() > out.undated.len() {
            self.step_backs = 0;
        }
        self.walk_on(verdict, given_up, rows, page_max, &mut window);
        let mut w: Vec<(String, i64)> = window.into_iter().collect();
        crate::sort::sort(&mut w);
        self.window = w;
        out.done = self.done;
        out.next = self.next_request();
        Ok(out)
    }

    /// Reads one page's rows into `out`: the fresh ones (moving the run's newest time), the
    /// duplicates of rows already read, the malformed and the undated. The newest time on the page.
    fn read_rows(
        &mut self,
        rows: &[Value],
        out: &mut PageResult,
        window: &mut HashSet<(String, i64)>,
    ) -> Option<i64> {
        let boundary: HashSet<&str> = self.start.boundary_ids.iter().map(String::as_str).collect();
        let mut page_max: Option<i64> = None;
        for (i, row) in rows.iter().enumerate() {
            let pos = u32::try_from(i).unwrap_or(u32::MAX);
            let Some(id) = row_id(row) else {
                out.malformed.push(pos);
                continue;
            };
            let modified = row_modified(row);
            if let Some(m) = modified {
                page_max = Some(page_max.map_or(m, |p| p.max(m)));
                let at_boundary =
                    self.start.high_water_ms == Some(m) && boundary.contains(id.as_str());
                if at_boundary || window.contains(&(id.clone(), m)) {
                    out.duplicates = out.duplicates.saturating_add(1);
                    // Read now, in this run: a later page can line up on it.
                    window.insert((id, m));
                    continue;
                }
                window.insert((id.clone(), m));
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
            out.fresh.push(pos);
            out.fresh_ids.push(id);
            self.fresh_rows = self.fresh_rows.saturating_add(1);
        }
        page_max
    }

    /// After a page: start a reordered walk again, or (having given up verifying it) never
    /// commit past its start; then end the run on a short page, move the window on when the
    /// page reached a later second, or walk on with `skip`.
    fn walk_on(
        &mut self,
        verdict: Walk,
        given_up: bool,
        rows: &[Value],
        page_max: Option<i64>,
        window: &mut HashSet<(String, i64)>,
    ) {
        let page = u64::from(self.config.full_page());
        let last = rows
            .last()
            .and_then(|r| Some((row_id(r)?, row_modified(r)?)));
        let full = rows.len() as u64 >= page;
        if verdict == Walk::Reordered && !given_up {
            // Rows were inserted or reordered under the walk: start it again (re-read rows are
            // dropped as duplicates).
            self.restarts = self.restarts.saturating_add(1);
            self.skip = 0;
            self.anchor = None;
            self.anchor_at = None;
            self.step_backs = 0;
        } else {
            if verdict != Walk::Connected {
                // Gave up verifying this walk: never commit past its start.
                let floor = self
                    .lower_ms
                    .map_or(i64::MIN, |l| floor_second(l).saturating_sub(1000));
                self.rewind_to_ms = Some(self.rewind_to_ms.map_or(floor, |r| r.min(floor)));
                if verdict == Walk::Reordered {
                    self.unstable_order = true;
                }
            }
            if !full {
                self.done = true;
            } else {
                let advance = match (page_max, self.lower_ms) {
                    (Some(pm), Some(lower)) => floor_second(pm) > floor_second(lower),
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if let (true, Some(pm)) = (advance, page_max) {
                    self.lower_ms = Some(pm);
                    self.skip = 0;
                    self.anchor = None;
                    self.anchor_at = None;
                    self.restarts = 0;
                    self.step_backs = 0;
                    let sec = floor_second(pm).saturating_sub(1000);
                    window.retain(|(_, m)| floor_second(*m) >= sec);
                } else {
                    // The whole page sits in the window's second: walk on with skip, overlapping
                    // one row so a shift under the walk shows.
                    let step = u64::try_from(rows.len().saturating_sub(1)).unwrap_or(u64::MAX);
                    self.skip = self.skip.saturating_add(step.max(1));
                    self.anchor = last;
                    self.anchor_at = Some(self.skip);
                }
            }
        }
    }

    /// The cursor to store after the last page. Errors (and changes nothing) before that.
    pub fn finish(&self) -> Result<QueryCursor, CursorError> {
        if !self.done {
            return Err(CursorError::RunIncomplete);
        }
        let start_hw = self.start.high_water_ms;
        let mut cursor = advance_cursor(&self.start, self.max_seen_ms, &self.ids_at_max);
        if let (Some(r), Some(h)) = (self.rewind_to_ms, cursor.high_water_ms) {
            if r < h {
                // Commit no further than the unverified walk; an empty boundary set re-reads
                // all of it next run.
                let floor = start_hw.map_or(r, |s| r.max(s.saturating_sub(self.config.overlap_ms)));
                // Held back at the same point twice: advance only past a tie order seen to
                // change; rows merely leaving the second are re-read until the walk completes.
                if self.start.capped_at_ms != Some(floor) || !self.unstable_order {
                    cursor = QueryCursor {
                        high_water_ms: Some(floor),
                        boundary_ids: Vec::new(),
                        capped_at_ms: Some(floor),
                    };
                }
            }
        }
        Ok(cursor)
    }
}

/// The cursor a complete run commits: the highest time it saw and the ids seen at exactly that
/// time (joined with the start's boundary ids when the run ended at the same time); never below
/// the start. Shared by every cursor on `modified`/`updated_at` times (CRM+ query runs, Volunteer
/// polls), so they give the same guarantee.
pub fn advance_cursor(
    start: &QueryCursor,
    max_seen_ms: Option<i64>,
    ids_at_max: &[String],
) -> QueryCursor {
    match (max_seen_ms, start.high_water_ms) {
        (None, _) => QueryCursor {
            capped_at_ms: None,
            ..start.clone()
        },
        (Some(m), Some(h)) if m < h => QueryCursor {
            capped_at_ms: None,
            ..start.clone()
        },
        (Some(m), Some(h)) if m == h => {
            let mut ids = start.boundary_ids.clone();
            ids.extend(ids_at_max.iter().cloned());
            crate::sort::sort(&mut ids);
            ids.dedup();
            QueryCursor {
                high_water_ms: Some(m),
                boundary_ids: ids,
                capped_at_ms: None,
            }
        }
        (Some(m), _) => {
            let mut ids = ids_at_max.to_vec();
            crate::sort::sort(&mut ids);
            ids.dedup();
            QueryCursor {
                high_water_ms: Some(m),
                boundary_ids: ids,
                capped_at_ms: None,
            }
        }
    }
}

/// Input of [`start_query_run`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartRunInput {
    /// The committed cursor (empty for the first run: a full export).
    #[serde(default)]
    pub cursor: QueryCursor,
    /// The query configuration.
    #[serde(default)]
    pub config: CursorConfig,
}

/// A run and its next request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase")]
pub struct RunStep {
    /// The run state to keep.
    pub run: QueryRun,
    /// The next request (absent when done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<QueryRequest>,
    /// What the page contained (absent for a fresh run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageResult>,
}

/// Input of [`accept_query_page`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcceptPageInput {
    /// The run state.
    pub run: QueryRun,
    /// The page's rows (`list`).
    #[serde(default)]
    pub rows: Vec<Value>,
}

/// Starts a run (npm `startQueryRun`).
pub fn start_query_run(input: &StartRunInput) -> Result<RunStep, CursorError> {
    let run = QueryRun::start(&input.cursor, &input.config)?;
    Ok(RunStep {
        request: run.next_request(),
        run,
        page: None,
    })
}

/// Takes one page (npm `acceptQueryPage`); returns the new run state.
pub fn accept_query_page(input: &AcceptPageInput) -> Result<RunStep, CursorError> {
    let mut run = input.run.clone();
    let page = run.accept_page(&input.rows)?;
    Ok(RunStep {
        request: run.next_request(),
        run,
        page: Some(page),
    })
}

/// The cursor to store after the last page (npm `finishQueryRun`); `run-incomplete` before.
pub fn finish_query_run(run: &QueryRun) -> Result<QueryCursor, CursorError> {
    run.finish()
}

/// Builds the query request for a window lower bound and skip.
pub fn build_query(config: &CursorConfig, lower_ms: Option<i64>, skip: u64) -> QueryRequest {
    let take = config.take.clamp(1, MAX_TAKE);
    let groups = match lower_ms {
        None => json!([]),
        Some(lower) => json!([{ "conditions": [{
            "parameter": config.modified_parameter,
            "operator": "Is After",
            "value": format_time_seconds(floor_second(lower).saturating_sub(1000)),
        }]}]),
    };
    QueryRequest {
        method: "POST".into(),
        path: format!("{}?skip={skip}&take={take}", config.resource.query_path()),
        skip,
        take,
        body: json!({
            "groups": groups,
            "sortBy": config.modified_parameter,
            "descending": false,
            "includeArchived": true,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::format_time;

    fn row(id: u32, ms: i64) -> Value {
        json!({"id": id, "modifiedDateTimeUtc": format_time(ms)})
    }

    fn cfg(take: u32) -> CursorConfig {
        CursorConfig {
            take,
            overlap_ms: 60_000,
            ..CursorConfig::default()
        }
    }

    #[test]
    fn query_body_shape() {
        let run = QueryRun::start(&QueryCursor::from_time(1_709_647_331_453), &cfg(1000)).unwrap();
        let q = run.next_request().unwrap();
        assert_eq!(q.path, "/api/Contact/Query?skip=0&take=1000");
        assert_eq!(q.body["includeArchived"], true);
        assert_eq!(q.body["descending"], false);
        let c = &q.body["groups"][0]["conditions"][0];
        assert_eq!(c["operator"], "Is After");
        // 14:02:11.453 − 60 s = 14:01:11.453 → floor 14:01:11 → minus 1 s
        assert_eq!(c["value"], "2024-03-05T14:01:10");
        let first = QueryRun::start(&QueryCursor::default(), &cfg(10)).unwrap();
        assert_eq!(first.next_request().unwrap().body["groups"], json!([]));
    }

    #[test]
    fn config_errors() {
        for (take, overlap) in [(0, 60_000), (1001, 60_000), (10, 999), (10, -5)] {
            let c = CursorConfig {
                take,
                overlap_ms: overlap,
                ..CursorConfig::default()
            };
            assert_eq!(
                QueryRun::start(&QueryCursor::default(), &c)
                    .unwrap_err()
                    .code(),
                "invalid-cursor-config"
            );
        }
    }

    #[test]
    fn failed_run_does_not_advance() {
        let cursor = QueryCursor::from_time(5_000);
        let mut run = QueryRun::start(&cursor, &cfg(2)).unwrap();
        run.accept_page(&[row(1, 10_000), row(2, 11_000)]).unwrap();
        assert_eq!(run.finish().unwrap_err().code(), "run-incomplete");
        run.accept_page(&[row(3, 12_000)]).unwrap();
        let c = run.finish().unwrap();
        assert_eq!(c.high_water_ms, Some(12_000));
        assert_eq!(c.boundary_ids, vec!["3"]);
        assert_eq!(run.accept_page(&[]).unwrap_err().code(), "run-finished");
    }

    #[test]
    fn boundary_ids_dedupe_across_runs() {
        let cursor = QueryCursor {
            high_water_ms: Some(10_000),
            boundary_ids: vec!["1".into()],
            capped_at_ms: None,
        };
        let mut run = QueryRun::start(&cursor, &cfg(10)).unwrap();
        let r = run
            .accept_page(&[row(1, 10_000), row(2, 10_000), row(3, 9_000)])
            .unwrap();
        assert_eq!(r.fresh_ids, vec!["2", "3"]);
        assert_eq!(r.duplicates, 1);
        let c = run.finish().unwrap();
        assert_eq!(c.boundary_ids, vec!["1", "2"]);
    }
}
