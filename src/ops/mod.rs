//! The operation table: every JSON-shaped operation by its npm name, in one place.
//!
//! Each operation has one typed input and one typed output ([`Operation`]). One table,
//! [`operation_table!`](crate::operation_table), lists them; from it come the by-name [`call`] and
//! [`core_call`] the vector runners and the WIT adapter use, the [`OPERATIONS`] list, and (through
//! the same macro) the npm adapter's exports, so the compiler checks every surface against one
//! list. Inputs that do not deserialise fail with `invalid-argument` naming the path of the
//! offending field (`rows[3].modifiedDateTimeUtc`).
//!
//! Only the adapters and the test runners import this module; the capabilities and the facade
//! below it know nothing of operation names.

mod error;
mod inputs;
mod table;

pub use error::OpError;
pub use inputs::{
    DecideInboundInput, DecideOutboundInput, LookupKeysInput, MergeSubscriptionInput,
    ParseTimeInput, PauseInput, ResolveConflictInput, ResolveOpInput, ResumeInput, TransitionInput,
};

use crate::facade::SyncCore;
use crate::raise;
use crate::reconcile::{self, cursor, deletion, merge, ratelimit, response, subscription};
use crate::sync::{self, RecordState, SyncOptions};
use crate::timestamp::{self, ParsedTime};
use crate::volunteer::{budget as vbudget, deletion as vdeletion, poll};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// One operation: its typed input (read from the JSON-shaped object every surface hands over,
/// naming the field at fault) and its typed output.
pub trait Operation {
    /// What the operation takes.
    type Input;
    /// What it returns.
    type Output: Serialize;
    /// Reads the input object.
    fn read(value: &Value) -> Result<Self::Input, OpError>;
    /// Runs the operation.
    fn run(input: &Self::Input) -> Result<Self::Output, OpError>;
}

/// A sync decision: it reads the sync options, given inline (`options`) to the free operation or
/// taken from a configured [`SyncCore`] by the core's method.
pub trait SyncOperation {
    /// What the operation takes besides the options.
    type Input;
    /// What it returns.
    type Output: Serialize;
    /// Reads the input object (an `options` key is the free form's and is skipped here).
    fn read(value: &Value) -> Result<Self::Input, OpError>;
    /// Runs the decision under `options`.
    fn run(options: &SyncOptions, input: &Self::Input) -> Result<Self::Output, OpError>;
    /// A check of the raw input before the options are read (free form) or after the core's
    /// options are found (`bound`: the core's method).
    fn precheck(_value: &Value, _bound: bool) -> Result<(), OpError> {
        Ok(())
    }
    /// What to say when a core without a `sync` section is asked.
    const NOT_CONFIGURED: &'static str = "this core has no `sync` configuration (customerId, field maps, policy): add it to the config";
}

/// Deserialises an operation's input, naming the offending field on failure. `name` prefixes the
/// path (`records[2].email`); pass `""` for a whole-input object.
pub fn input<T: DeserializeOwned>(value: &Value, name: &str) -> Result<T, OpError> {
    crate::json::typed(value, name)
        .map_err(|(field, message)| OpError::invalid_argument(field, message))
}

/// Serialises an operation's output.
pub fn output<T: Serialize>(value: &T) -> Result<Value, OpError> {
    serde_json::to_value(value).map_err(|e| OpError {
        code: "internal".into(),
        module: "ops",
        field: String::new(),
        message: format!("the result could not be serialised: {e}"),
    })
}

/// Reads and validates sync options; `name` prefixes error paths.
pub fn sync_options(value: &Value, name: &str) -> Result<SyncOptions, OpError> {
    let o: SyncOptions = input(value, name)?;
    o.validate()?;
    Ok(o)
}

/// A rate budget from its configuration object (`null` = defaults); `name` prefixes error paths.
pub fn rate_budget(config: &Value, name: &str) -> Result<ratelimit::RateBudget, OpError> {
    let config: ratelimit::RateBudgetConfig = if config.is_null() {
        ratelimit::RateBudgetConfig::default()
    } else {
        input(config, name)?
    };
    ratelimit::RateBudget::new(config).map_err(|e| OpError::from(e).under(name))
}

/// A rate budget loaded back from its stored JSON state; `name` prefixes error paths.
pub fn restore_rate_budget(state: &Value, name: &str) -> Result<ratelimit::RateBudget, OpError> {
    let state: ratelimit::RateBudget = input(state, name)?;
    let prefix = if name.is_empty() {
        "config".to_owned()
    } else {
        format!("{name}.config")
    };
    ratelimit::RateBudget::restore(state).map_err(|e| OpError::from(e).under(&prefix))
}

/// A stored record state from its JSON value (`null`: no record), migrated from older versions;
/// `name` prefixes error paths. For adapters that hold the state apart from an input object.
pub fn record_state(value: &Value, name: &str) -> Result<Option<RecordState>, OpError> {
    if value.is_null() {
        return Ok(None);
    }
    let r: RecordState = input(value, name)?;
    migrated(Some(&r))
}

/// A stored record state as the sync decisions take it: migrated from older versions.
fn migrated(record: Option<&RecordState>) -> Result<Option<RecordState>, OpError> {
    record
        .map(|r| r.clone().migrated())
        .transpose()
        .map_err(OpError::from)
}

/// The stored record an operation cannot run without.
fn required(record: Option<&RecordState>) -> Result<RecordState, OpError> {
    migrated(record)?
        .ok_or_else(|| OpError::invalid_argument("record", "a stored record state is required"))
}

impl SyncOperation for LookupKeys {
    type Input = LookupKeysInput;
    type Output = sync::LookupKeys;
    fn read(value: &Value) -> Result<Self::Input, OpError> {
        inputs::read_fields(value, &["options", "event"])
    }
    fn run(options: &SyncOptions, i: &Self::Input) -> Result<Self::Output, OpError> {
        Ok(sync::lookup_keys(options, &i.event))
    }
}

impl SyncOperation for DecideInbound {
    type Input = DecideInboundInput;
    type Output = sync::InboundDecision;
    fn read(value: &Value) -> Result<Self::Input, OpError> {
        inputs::read_fields(value, &["options", "event", "record", "nowMs"])
    }
    fn run(options: &SyncOptions, i: &Self::Input) -> Result<Self::Output, OpError> {
        let record = migrated(i.record.as_ref())?;
        Ok(sync::decide_inbound(
            options,
            &i.event,
            record.as_ref(),
            i.now_ms,
        )?)
    }
}

impl SyncOperation for DecideOutbound {
    type Input = DecideOutboundInput;
    type Output = sync::OutboundDecision;
    fn read(value: &Value) -> Result<Self::Input, OpError> {
        inputs::read_fields(value, &["options", "record", "change", "nowMs"])
    }
    fn run(options: &SyncOptions, i: &Self::Input) -> Result<Self::Output, OpError> {
        let record = migrated(i.record.as_ref())?;
        Ok(sync::decide_outbound(
            options,
            record.as_ref(),
            &i.change,
            i.now_ms,
        )?)
    }
}

impl SyncOperation for Resolve {
    type Input = ResolveOpInput;
    type Output = sync::Resolution;
    fn read(value: &Value) -> Result<Self::Input, OpError> {
        inputs::read_fields(value, &["options", "input"])
    }
    fn run(options: &SyncOptions, i: &Self::Input) -> Result<Self::Output, OpError> {
        Ok(sync::resolve(options, &i.input))
    }
}

impl SyncOperation for PlanReconciliation {
    type Input = reconcile::ReconcileInput;
    type Output = reconcile::ReconciliationPlan;
    const NOT_CONFIGURED: &'static str = "reconciliation reads the core's `sync` configuration (customerId, field maps, policy, pendingExpiryMs): add it to the config";
    /// The core's method takes its options from the core, never inline; the free form refuses an
    /// input in the version-1 shape naming the key to change, before anything else.
    fn precheck(value: &Value, bound: bool) -> Result<(), OpError> {
        if !bound {
            reconcile::check_input_version(value)?;
        } else if value.get("options").is_some() {
            return Err(OpError::invalid_argument(
                "options",
                "the core's `sync` configuration is used; pass the options to the free operation instead",
            ));
        }
        Ok(())
    }
    /// An input in the version-1 shape is refused naming the key to change, before the typed read.
    fn read(value: &Value) -> Result<Self::Input, OpError> {
        reconcile::check_input_version(value)?;
        let mut rest = inputs::object(value)?.clone();
        rest.remove("options");
        input(&Value::Object(rest), "")
    }
    fn run(options: &SyncOptions, i: &Self::Input) -> Result<Self::Output, OpError> {
        Ok(reconcile::plan_reconciliation(options, i)?)
    }
}

impl Operation for Transition {
    type Input = TransitionInput;
    type Output = RecordState;
    fn read(value: &Value) -> Result<Self::Input, OpError> {
        inputs::read_fields(value, &["record", "trigger", "nowMs"])
    }
    fn run(i: &Self::Input) -> Result<Self::Output, OpError> {
        Ok(sync::transition(
            &required(i.record.as_ref())?,
            i.trigger,
            i.now_ms,
        )?)
    }
}

impl Operation for ResolveConflict {
    type Input = ResolveConflictInput;
    type Output = sync::ConflictResolution;
    fn read(value: &Value) -> Result<Self::Input, OpError> {
        inputs::read_fields(value, &["record", "choices", "nowMs", "options"])
    }
    fn run(i: &Self::Input) -> Result<Self::Output, OpError> {
        let record = required(i.record.as_ref())?;
        Ok(sync::resolve_conflict(&record, &i.choices, i.now_ms)?)
    }
}

/// An operation whose input type is read as one object and whose planner is one function.
macro_rules! planners {
    ($($op:ident($input:ty) -> $output:ty = $run:expr;)*) => {$(
        impl Operation for $op {
            type Input = $input;
            type Output = $output;
            fn read(value: &Value) -> Result<Self::Input, OpError> {
                input(value, "")
            }
            fn run(i: &Self::Input) -> Result<Self::Output, OpError> {
                #[allow(clippy::redundant_closure_call)]
                ($run)(i)
            }
        }
    )*};
}

planners! {
    StartQueryRun(cursor::StartRunInput) -> cursor::RunStep =
        |i| Ok(cursor::start_query_run(i)?);
    AcceptQueryPage(cursor::AcceptPageInput) -> cursor::RunStep =
        |i| Ok(cursor::accept_query_page(i)?);
    FinishQueryRun(cursor::QueryRun) -> cursor::QueryCursor =
        |i| Ok(cursor::finish_query_run(i)?);
    PlanMergeRemap(merge::MergeInput) -> merge::MergeRemapPlan =
        |i| Ok(merge::plan_merge_remap(i)?);
    PlanDeletions(deletion::DeletionInput) -> deletion::DeletionPlan =
        |i| Ok(deletion::plan_deletions(i)?);
    MergeSubscription(MergeSubscriptionInput) -> subscription::SubscriptionPlan =
        |i: &MergeSubscriptionInput| Ok(subscription::merge_subscription(&i.current, &i.change)?);
    PlanPause(PauseInput) -> subscription::PausePlan = |i: &PauseInput| {
        Ok(subscription::PausePlan {
            steps: subscription::plan_pause(&i.webhook_id, i.now_ms)?,
            paused_at_ms: i.now_ms,
        })
    };
    PlanResume(ResumeInput) -> subscription::ResumePlan = |i: &ResumeInput| {
        Ok(subscription::plan_resume(&i.webhook_id, i.paused_at_ms, i.stored_cursor.as_ref())?)
    };
    PlanSecretRotation(subscription::RotationInput) -> subscription::RotationPlan =
        |i| Ok(subscription::plan_secret_rotation(i)?);
    PricePlan(ratelimit::PlanSize) -> ratelimit::PlanPrice =
        |i| Ok(ratelimit::price_plan(i));
    ClassifyResponse(response::ResponseInput) -> response::ResponseClassification =
        |i| Ok(response::classify_response(i)?);
    MergeRaiseSubscription(raise::subscription::RaiseSubscriptionInput) -> raise::subscription::RaiseSubscriptionPlan =
        |i| Ok(raise::subscription::merge_raise_subscription(i)?);
    PlanRaiseSubscription(raise::subscription::RaiseSetupInput) -> raise::subscription::RaiseSetupPlan =
        |i| Ok(raise::subscription::plan_raise_subscription(i)?);
    LearnRaiseEventTypes(raise::event_types::RaiseLearnInput) -> raise::event_types::RaiseLearnedLabels =
        |i| raise::event_types::learn_event_types(i).map_err(|e| {
            OpError::invalid_argument(
                if e.key.is_empty() { "configured".to_owned() } else { format!("configured.{}", e.key) },
                e.message,
            )
        });
    SummarizeRaiseDeliveryLogs(raise::logs::RaiseLogInput) -> raise::logs::RaiseLogSummary =
        |i| Ok(raise::logs::summarize_delivery_logs(i));
    StartVolunteerPoll(poll::StartPollInput) -> poll::PollStep =
        |i| Ok(poll::start_volunteer_poll(i)?);
    AcceptVolunteerPage(poll::AcceptPollPageInput) -> poll::PollStep =
        |i| Ok(poll::accept_volunteer_page(i)?);
    FinishVolunteerPoll(poll::PollRun) -> poll::PollEnd =
        |i| Ok(poll::finish_volunteer_poll(i)?);
    VolunteerBudget(vbudget::BudgetInput) -> vbudget::BudgetOutput =
        |i| Ok(vbudget::step_budget(i)?);
    PlanVolunteerDeletions(vdeletion::VolunteerDeletionInput) -> vdeletion::VolunteerDeletionPlan =
        |i| Ok(vdeletion::plan_volunteer_deletions(i)?);
    ParseModifiedTime(ParseTimeInput) -> ParsedTime = |i: &ParseTimeInput| {
        let ms = timestamp::parse_time(&i.text)?;
        Ok(ParsedTime { ms, iso: timestamp::format_time(ms) })
    };
}

/// Runs an operation on its input object, typed output.
pub fn run<O: Operation>(value: &Value) -> Result<O::Output, OpError> {
    O::run(&O::read(value)?)
}

/// Runs a free sync decision: the options are the input's `options`, read first.
pub fn run_free<O: SyncOperation>(value: &Value) -> Result<O::Output, OpError> {
    O::precheck(value, false)?;
    let options = sync_options(value.get("options").unwrap_or(&Value::Null), "options")?;
    O::run(&options, &O::read(value)?)
}

/// Runs a sync decision under a core's `sync` section (npm `core.decideInbound(...)`).
pub fn run_bound<O: SyncOperation>(core: &SyncCore, value: &Value) -> Result<O::Output, OpError> {
    let options = core.sync_options().ok_or_else(|| OpError {
        code: "sync-not-configured".into(),
        module: "ops",
        field: "sync".into(),
        message: O::NOT_CONFIGURED.into(),
    })?;
    O::precheck(value, true)?;
    O::run(options, &O::read(value)?)
}

/// Defines the operation types, the list and the by-name dispatch from the table.
macro_rules! dispatch {
    ($( $(#[$doc:meta])* $kind:ident $name:ident $op:ident $shape:tt; )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $op;
            impl $op {
                /// The operation's npm name.
                pub const NAME: &'static str = stringify!($name);
            }
        )*

        /// The operations [`call`] knows, by npm name.
        pub const OPERATIONS: &[&str] = &[$(stringify!($name)),*];

        /// Runs the free operation `op` on its JSON input object.
        pub fn call(op: &str, value: &Value) -> Result<Value, OpError> {
            match op {
                $(stringify!($name) => dispatch!(@free $kind $op value),)*
                other => Err(OpError::invalid_argument(
                    "op",
                    format!(
                        "unknown operation `{other}`; expected one of: {}",
                        OPERATIONS.join(", ")
                    ),
                )),
            }
        }

        /// The operations bound to a configured [`SyncCore`] (npm `core.decideInbound(...)` and
        /// so on): the same as [`call`], with the core's sync options instead of an `options`
        /// input.
        pub fn core_call(core: &SyncCore, op: &str, value: &Value) -> Result<Value, OpError> {
            match op {
                $(stringify!($name) => dispatch!(@core $kind $op core value),)*
                other => Err(OpError::invalid_argument(
                    "op",
                    format!("`{other}` is not a core operation"),
                )),
            }
        }
    };
    (@free sync $op:ident $v:ident) => { output(&run_free::<$op>($v)?) };
    (@free $kind:ident $op:ident $v:ident) => { output(&run::<$op>($v)?) };
    (@core sync $op:ident $core:ident $v:ident) => { output(&run_bound::<$op>($core, $v)?) };
    (@core method $op:ident $core:ident $v:ident) => { output(&run::<$op>($v)?) };
    (@core $kind:ident $op:ident $core:ident $v:ident) => {
        Err(OpError::invalid_argument("op", format!("`{}` is not a core operation", $op::NAME)))
    };
}

crate::operation_table!(dispatch);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bad_input_names_the_field() {
        let e = call("classifyResponse", &json!({"status": "x"})).unwrap_err();
        assert_eq!(e.code, "invalid-argument");
        assert_eq!(e.field, "status");
        let e = call("nope", &json!({})).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.field.as_str()),
            ("invalid-argument", "op")
        );
        let e = input::<Vec<u32>>(&json!([1, "a"]), "records").unwrap_err();
        assert_eq!(e.field, "records[1]");
    }

    #[test]
    fn core_bound_sync_uses_the_config_sync_section() {
        let secret = "a-secret-of-at-least-32-bytes-0123456789";
        let bare = SyncCore::from_json(&json!({"secrets": [secret], "platformName": "P"})).unwrap();
        let event = json!({"eventType": "gift-create", "rawEventType": "GiftCreate", "resourceKind": "gift",
            "resourceId": "1", "resource": {"id": 1, "amount": 5}});
        let e =
            core_call(&bare, "decideInbound", &json!({"event": event, "nowMs": 0})).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.field.as_str()),
            ("sync-not-configured", "sync")
        );

        let core = SyncCore::from_json(
            &json!({"secrets": [secret], "platformName": "P", "sync": {"customerId": "c1"}}),
        )
        .unwrap();
        assert_eq!(core.sync_options().unwrap().platform_name, "P");
        let d = core_call(&core, "decideInbound", &json!({"event": event, "nowMs": 0})).unwrap();
        let free = call("decideInbound", &json!({"options": {"platformName": "P", "customerId": "c1",
            "cooldownMs": 600000, "policy": {"default": "virtuous-canonical"}}, "event": event, "nowMs": 0}))
        .unwrap();
        assert_eq!(
            d, free,
            "the core method and the free operation decide alike"
        );

        let err = SyncCore::from_json(&json!({"secrets": [secret], "platformName": "P", "sync": {"customerId": "c1", "cooldownMs": -1}})).unwrap_err();
        assert_eq!(
            (err.code(), err.field()),
            ("invalid-option", "sync.cooldownMs")
        );
        let err = SyncCore::from_json(&json!({"secrets": [secret], "platformName": "P", "sync": {"customerId": "c1", "platformName": "Q"}})).unwrap_err();
        assert_eq!(err.field(), "sync.platformName");
        let err = SyncCore::from_json(&json!({"secrets": [secret], "platformName": "P", "sync": {"customerId": "c1", "cooldwnMs": 5}})).unwrap_err();
        assert_eq!(err.code(), "invalid-config");
        let free = call(
            "decideOutbound",
            &json!({"options": {"platformName": "P", "customerId": "c1", "cooldownMs": -1}}),
        )
        .unwrap_err();
        assert_eq!(
            (free.code.as_str(), free.field.as_str()),
            ("invalid-option", "options.cooldownMs")
        );
    }

    #[test]
    fn a_misspelt_match_field_is_refused_not_ignored() {
        // The adapters read a matcher chunk exactly so.
        let e = input::<Vec<crate::reconcile::matcher::MatchRecord>>(
            &json!([{"id": "p1", "email": "a@x.org"}]),
            "records",
        )
        .unwrap_err();
        assert_eq!(e.code, "invalid-argument");
        assert!(e.field.starts_with("records[0]"), "{}", e.field);
        // An unknown key of a typed input is refused too, and so is an unknown operation.
        let e = call(
            "planPause",
            &json!({"webhookId": "1", "nowMs": 0, "nowMS": 1}),
        )
        .unwrap_err();
        assert_eq!(e.code, "invalid-argument");
    }

    #[test]
    fn module_errors_keep_their_code() {
        let e = call("parseModifiedTime", &json!({"text": "yesterday"})).unwrap_err();
        assert_eq!(e.module, "timestamp");
        assert_eq!(e.code, "malformed-time");
    }
}
