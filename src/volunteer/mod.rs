//! Virtuous Volunteer (VOMO): polling, its request budget and its deletions.
//!
//! Volunteer is pull-first (docs.virtuous.org: "Volunteer has no webhooks"): the host polls
//! `GET /v1/users`, `/v1/projects` and `/v1/participations` with `updated_after` every 15–30
//! minutes per resource and runs a full reconciliation daily. The core decides what to ask for,
//! which rows are new, changed or already seen, when a run is complete and where its cursor may
//! advance ([`poll`]); how fast to ask when the limits are undocumented ([`budget`]); and which
//! records a complete full scan lost ([`deletion`]). It opens no socket and reads no clock.

pub mod budget;
pub mod deletion;
pub mod poll;

pub use budget::{VolunteerBudget, VolunteerBudgetConfig};
pub use poll::{PollConfig, PollError, PollRun, VolunteerResource};
