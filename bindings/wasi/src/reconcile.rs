//! `virtuous:sync/reconcile`: the issue-4 planners (reconciliation, query cursor, merge remap,
//! deletions, subscription plans, request pricing, response classification, time parsing) as
//! typed functions calling the core's typed planners, and the two stateful classes as resources:
//! `initial-matcher` (`virtuous_sync::reconcile::matcher::InitialMatcher`) and `rate-budget`
//! (`virtuous_sync::reconcile::ratelimit::RateBudget`). Configurations, Virtuous rows and bodies, and the
//! opaque states (a query run, a rate budget) stay JSON text.
//!
//! Typed inputs whose defaults the core defines in serde attributes (`cost` 1, the indexing
//! delay, ...) are read through serde from an object of the fields the host set, so the defaults
//! and the field paths stay the core's.

use crate::bindings::exports::virtuous::sync::reconcile::{
    self as wit, MergeSubscriptionInput, PauseInput, PausePlan, PlanStep, QueryCursor, ResumeInput,
    ResumePlan, RotationInput, RotationPhase, RotationPlan, StepAction, SubscriptionPlan,
};
use crate::bindings::exports::virtuous::sync::reconcile::{
    BudgetReason, BudgetSlice as WBudgetSlice, DeletionAction as WDeletionAction, DeletionDecision,
    DeletionInput, DeletionPlan, DeletionReason, DeletionSignal as WDeletionSignal, Error,
    ErrorDetail, Guest, GuestInitialMatcher, GuestRateBudget, HostAction as WHostAction,
    InitialMatcher as InitialMatcherHandle, Json, ParsedTime, PendingTombstone, Priority,
    RateBudget as RateBudgetHandle, RateDecision as WRateDecision, RateObservation,
    RateRequest as WRateRequest, ReconcileInput, ReconciliationPlan, RequestContext, Response,
    ResponseClass as WResponseClass, ResponseClassification, ResponseReason, TimeText,
};
use crate::bindings::exports::virtuous::sync::reconcile::{
    MatchSignal as WSignal, MatchTier as WTier,
};
use crate::bindings::exports::virtuous::sync::reconcile::{
    ReferenceKind as WReferenceKind, RemapAction as WRemapAction,
};
use crate::convert::Obj;
use crate::json::{self, parse, to_text};
use crate::Component;
use core::cell::RefCell;
use serde_json::Value;
use virtuous_sync::ops::ParseTimeInput;
use virtuous_sync::ops::{self, OpError};
use virtuous_sync::reconcile::cursor;
use virtuous_sync::reconcile::deletion::{
    DeletionAction as CDeletionAction, DeletionDecision as CDeletionDecision,
    DeletionInput as CDeletionInput, DeletionSignal as CDeletionSignal,
    PendingTombstone as CPendingTombstone,
};
use virtuous_sync::reconcile::matcher::{
    self, InitialMatcher, MatchRecord, Signal as CSignal, Tier as CTier,
};
use virtuous_sync::reconcile::merge::{
    self, ReferenceKind as CReferenceKind, RemapAction as CRemapAction,
};
use virtuous_sync::reconcile::ratelimit::{
    BudgetSlice, RateBudget as Budget, RateDecision, RateObservation as CRateObservation,
    RateRequest,
};
use virtuous_sync::reconcile::response::{
    HostAction as CHostAction, ResponseClass as CResponseClass, ResponseInput,
};
use virtuous_sync::reconcile::subscription as sub;

/// The resource's state is borrowed once per call and calls never re-enter, so a failed borrow
/// cannot happen; it is still an error rather than a panic.
fn busy(what: &str) -> Error {
    json::error(OpError {
        code: "internal".into(),
        module: "ops",
        field: String::new(),
        message: format!("the {what} is already in use by another call"),
    })
}

impl Guest for Component {
    type InitialMatcher = Matcher;
    type RateBudget = RateBudget;

    fn plan_reconciliation(
        options: Json,
        input: ReconcileInput,
    ) -> Result<ReconciliationPlan, Error> {
        plan(&crate::types::options(&options)?, input)
    }
    fn start_query_run(input: wit::StartRunInput) -> Result<wit::RunStep, Error> {
        let input: cursor::StartRunInput = typed_input(
            Obj::default()
                .opt("cursor", input.cursor.as_ref(), cursor_json)
                .set("config", json::parse_opt(input.config.as_ref(), "config")?)
                .done(),
        )?;
        run_step(cursor::start_query_run(&input).map_err(json::op_error)?)
    }
    fn accept_query_page(input: wit::AcceptPageInput) -> Result<wit::RunStep, Error> {
        let rows = input
            .rows
            .iter()
            .enumerate()
            .map(|(n, r)| parse(r, &format!("rows[{n}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let input = cursor::AcceptPageInput {
            run: ops::input(&parse(&input.run, "run")?, "run").map_err(json::error)?,
            rows,
        };
        run_step(cursor::accept_query_page(&input).map_err(json::op_error)?)
    }
    fn finish_query_run(run: Json) -> Result<QueryCursor, Error> {
        let run: cursor::QueryRun = ops::input(&parse(&run, "")?, "").map_err(json::error)?;
        Ok(query_cursor(
            cursor::finish_query_run(&run).map_err(json::op_error)?,
        ))
    }
    fn plan_merge_remap(input: wit::MergeInput) -> Result<wit::MergeRemapPlan, Error> {
        let input: merge::MergeInput = typed_input(merge_input(&input))?;
        let p = merge::plan_merge_remap(&input).map_err(json::op_error)?;
        Ok(wit::MergeRemapPlan {
            survivors: p.survivors.into_iter().collect(),
            tombstones: p
                .tombstones
                .into_iter()
                .map(|t| wit::MergeTombstone {
                    contact_id: t.contact_id,
                    survivor_id: t.survivor_id,
                    hops: t.hops,
                })
                .collect(),
            remaps: p.remaps.into_iter().map(remap).collect::<Result<_, _>>()?,
            unchanged: p.unchanged,
        })
    }
    fn plan_deletions(input: DeletionInput) -> Result<DeletionPlan, Error> {
        let input: CDeletionInput = typed_input(deletion_input(&input))?;
        let p =
            virtuous_sync::reconcile::deletion::plan_deletions(&input).map_err(json::op_error)?;
        Ok(DeletionPlan {
            decisions: p
                .decisions
                .into_iter()
                .map(deletion_decision)
                .collect::<Result<_, _>>()?,
            breaker: crate::types::breaker_verdict(p.breaker)?,
            halted: p.halted,
        })
    }
    fn merge_subscription(input: MergeSubscriptionInput) -> Result<SubscriptionPlan, Error> {
        let input: ops::MergeSubscriptionInput = typed_input(merge_subscription_input(&input)?)?;
        let p = <ops::MergeSubscription as ops::Operation>::run(&input).map_err(json::error)?;
        Ok(SubscriptionPlan {
            request: http_request(p.request),
            body: p.body.to_string(),
            enabled: event_types(p.enabled)?,
            disabled: event_types(p.disabled)?,
            changed: p.changed,
            notices: p.notices,
        })
    }
    fn merge_raise_subscription(
        input: wit::RaiseSubscriptionInput,
    ) -> Result<wit::RaiseSubscriptionPlan, Error> {
        crate::raise::merge(input)
    }
    fn plan_raise_subscription(input: wit::RaiseSetupInput) -> Result<wit::RaiseSetupPlan, Error> {
        crate::raise::setup(input)
    }
    fn learn_raise_event_types(
        input: wit::RaiseLearnInput,
    ) -> Result<wit::RaiseLearnedLabels, Error> {
        crate::raise::learn(input)
    }
    fn summarize_raise_delivery_logs(
        input: wit::RaiseLogInput,
    ) -> Result<wit::RaiseLogSummary, Error> {
        crate::raise::summarize(input)
    }
    fn plan_pause(input: PauseInput) -> Result<PausePlan, Error> {
        let input = ops::PauseInput {
            webhook_id: input.webhook_id,
            now_ms: input.now_ms,
        };
        let p = <ops::PlanPause as ops::Operation>::run(&input).map_err(json::error)?;
        Ok(PausePlan {
            steps: plan_steps(p.steps)?,
            paused_at_ms: p.paused_at_ms,
        })
    }
    fn plan_resume(input: ResumeInput) -> Result<ResumePlan, Error> {
        let input: ops::ResumeInput = typed_input(
            Obj::default()
                .set("webhookId", Value::from(input.webhook_id))
                .set("pausedAtMs", Value::from(input.paused_at_ms))
                .opt("storedCursor", input.stored_cursor.as_ref(), cursor_json)
                .done(),
        )?;
        let p = <ops::PlanResume as ops::Operation>::run(&input).map_err(json::error)?;
        Ok(ResumePlan {
            steps: plan_steps(p.steps)?,
            reconcile_from: query_cursor(p.reconcile_from),
        })
    }
    fn plan_secret_rotation(input: RotationInput) -> Result<RotationPlan, Error> {
        let input: sub::RotationInput = typed_input(
            Obj::default()
                .set("webhookId", Value::from(input.webhook_id))
                .set("oldSecretId", Value::from(input.old_secret_id))
                .set("newSecretId", Value::from(input.new_secret_id))
                .opt_num("rotatedAtMs", input.rotated_at_ms)
                .opt_num("lastOldReceiptMs", input.last_old_receipt_ms)
                .opt_num("drainMs", input.drain_ms)
                .set("nowMs", Value::from(input.now_ms))
                .done(),
        )?;
        let p = sub::plan_secret_rotation(&input).map_err(json::op_error)?;
        let phase = match p.phase.as_str() {
            "not-started" => RotationPhase::NotStarted,
            "draining" => RotationPhase::Draining,
            "ready-to-retire" => RotationPhase::ReadyToRetire,
            _ => return Err(crate::types::unmapped("rotation phase")),
        };
        Ok(RotationPlan {
            phase,
            steps: plan_steps(p.steps)?,
        })
    }
    fn price_plan(input: wit::PlanSize) -> Result<wit::PlanPrice, Error> {
        let size: virtuous_sync::reconcile::ratelimit::PlanSize = typed_input(
            Obj::default()
                .opt_num("queryRows", input.query_rows)
                .opt_num("take", input.take)
                .opt_num("lookups", input.lookups)
                .opt_num("singleWrites", input.single_writes)
                .opt_num("batchedWrites", input.batched_writes)
                .opt_num("batchSize", input.batch_size)
                .opt_num("doneRequests", input.done_requests)
                .done(),
        )?;
        let p = virtuous_sync::reconcile::ratelimit::price_plan(&size);
        Ok(wit::PlanPrice {
            total: p.total,
            remaining: p.remaining,
            query_pages: p.query_pages,
            writes: p.writes,
        })
    }
    fn classify_response(input: Response) -> Result<ResponseClassification, Error> {
        let input: ResponseInput = typed_input(response_input(&input))?;
        let c = virtuous_sync::reconcile::response::classify_response(&input)
            .map_err(json::op_error)?;
        Ok(ResponseClassification {
            class: response_class(c.class)?,
            action: host_action(c.action)?,
            reason: response_reason(&c.reason)?,
            retryable: c.retryable,
            retry_after_ms: c.retry_after_ms,
            error_code: c.error_code,
            message: c.message,
            details: c
                .details
                .into_iter()
                .map(|d| ErrorDetail {
                    field: d.field,
                    code: d.code,
                    message: d.message,
                })
                .collect(),
        })
    }
    fn start_volunteer_poll(input: Json) -> Result<Json, Error> {
        volunteer_op("startVolunteerPoll", &input)
    }
    fn accept_volunteer_page(input: Json) -> Result<Json, Error> {
        volunteer_op("acceptVolunteerPage", &input)
    }
    fn finish_volunteer_poll(run: Json) -> Result<Json, Error> {
        volunteer_op("finishVolunteerPoll", &run)
    }
    fn volunteer_budget(input: Json) -> Result<Json, Error> {
        volunteer_op("volunteerBudget", &input)
    }
    fn plan_volunteer_deletions(input: Json) -> Result<Json, Error> {
        volunteer_op("planVolunteerDeletions", &input)
    }
    fn parse_modified_time(input: TimeText) -> Result<ParsedTime, Error> {
        let t =
            <ops::ParseModifiedTime as ops::Operation>::run(&ParseTimeInput { text: input.text })
                .map_err(json::error)?;
        Ok(ParsedTime {
            ms: t.ms,
            iso: t.iso,
        })
    }
}

/// A reconciliation plan under `options` (the free function's, or a core's `sync` section).
pub(crate) fn plan(
    options: &virtuous_sync::sync::SyncOptions,
    input: ReconcileInput,
) -> Result<ReconciliationPlan, Error> {
    let input = crate::types::reconcile_input(input)?;
    let plan =
        virtuous_sync::reconcile::plan_reconciliation(options, &input).map_err(json::op_error)?;
    crate::types::reconciliation_plan(plan)
}

/// A typed input as the core's input type, read through serde (the core's defaults and
/// `invalid-argument` field paths).
fn typed_input<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, Error> {
    ops::input(&v, "").map_err(json::error)
}

fn context_name(c: RequestContext) -> Value {
    Value::from(match c {
        RequestContext::Read => "read",
        RequestContext::Query => "query",
        RequestContext::Create => "create",
        RequestContext::TransactionSubmit => "transaction-submit",
        RequestContext::ReadAfterCreate => "read-after-create",
        RequestContext::TransactionLookup => "transaction-lookup",
        RequestContext::Update => "update",
        RequestContext::Delete => "delete",
    })
}

fn response_input(r: &Response) -> Value {
    Obj::default()
        .opt_num("status", r.status)
        .opt_str("body", r.body.as_ref())
        .opt_str("retryAfter", r.retry_after.as_ref())
        .opt("context", r.context.as_ref(), |c| context_name(*c))
        .opt_num("createdAtMs", r.created_at_ms)
        .opt_num("nowMs", r.now_ms)
        .opt_num("indexingDelayMs", r.indexing_delay_ms)
        .done()
}

to_wit!(response_class, CResponseClass => WResponseClass, [
    Success, Transient, Permanent, Authentication, ContextDependent,
]);
to_wit!(host_action, CHostAction => WHostAction, [
    Proceed, RetryWithBackoff, WaitRetryAfter, FailRecord, FailAndAlert, PauseAndReauthenticate,
    RetryAfterDelay, KeepPending, TreatAsNotFound, LookUpExisting, RefetchAndRetry,
]);

/// The core's response reason (a closed set of `&'static str`s) as the WIT enum.
fn response_reason(reason: &str) -> Result<ResponseReason, Error> {
    use ResponseReason as R;
    Ok(match reason {
        "ok" => R::Ok,
        "network-error" => R::NetworkError,
        "timeout" => R::Timeout,
        "server-error" => R::ServerError,
        "rate-limited" => R::RateLimited,
        "bad-request" => R::BadRequest,
        "unprocessable" => R::Unprocessable,
        "forbidden" => R::Forbidden,
        "unauthenticated" => R::Unauthenticated,
        "not-found-after-create" => R::NotFoundAfterCreate,
        "not-yet-matched" => R::NotYetMatched,
        "already-deleted" => R::AlreadyDeleted,
        "not-found" => R::NotFound,
        "already-exists" => R::AlreadyExists,
        "conflict" => R::Conflict,
        "unexpected-status" => R::UnexpectedStatus,
        _ => return Err(crate::types::unmapped("response reason")),
    })
}

/// The core's budget reason as the WIT enum.
fn budget_reason(reason: &str) -> Result<BudgetReason, Error> {
    use BudgetReason as R;
    Ok(match reason {
        "within-budget" => R::WithinBudget,
        "window-reset" => R::WindowReset,
        "retry-after" => R::RetryAfter,
        "backoff" => R::Backoff,
        "budget-exhausted" => R::BudgetExhausted,
        "reserved-for-live" => R::ReservedForLive,
        _ => return Err(crate::types::unmapped("budget reason")),
    })
}

fn observation(o: &RateObservation) -> Value {
    Obj::default()
        .opt_num("status", o.status)
        .opt("headers", o.headers.as_ref(), |h| {
            Obj::default()
                .opt_str("limit", h.limit.as_ref())
                .opt_str("remaining", h.remaining.as_ref())
                .opt_str("reset", h.reset.as_ref())
                .opt_str("retryAfter", h.retry_after.as_ref())
                .done()
        })
        .set("nowMs", Value::from(o.now_ms))
        .opt_num("random", o.random)
        .done()
}

fn rate_request(r: &WRateRequest) -> Value {
    Obj::default()
        .opt_num("cost", r.cost)
        .opt("priority", r.priority.as_ref(), |p| {
            Value::from(match p {
                Priority::Live => "live",
                Priority::Background => "background",
            })
        })
        .set("nowMs", Value::from(r.now_ms))
        .opt_num("random", r.random)
        .done()
}

fn rate_decision(d: RateDecision) -> Result<WRateDecision, Error> {
    Ok(WRateDecision {
        go: d.go,
        wait_ms: d.wait_ms,
        reason: budget_reason(&d.reason)?,
        available: d.available,
    })
}

fn budget_slice(s: BudgetSlice) -> WBudgetSlice {
    WBudgetSlice {
        allowed_now: s.allowed_now,
        left_after: s.left_after,
        resume_at_ms: s.resume_at_ms,
        more_windows: s.more_windows,
    }
}

to_wit!(deletion_signal, CDeletionSignal => WDeletionSignal, [
    AbsentFromPage, AbsentFromFullScan, DeleteEvent, NotFoundOnLookup, FoundOnLookup,
]);
to_wit!(deletion_action, CDeletionAction => WDeletionAction, [
    NoAction, MarkPending, KeepPending, LookUp, ConfirmDelete, ClearTombstone, Held,
]);

fn signal_name(s: WDeletionSignal) -> Value {
    Value::from(match s {
        WDeletionSignal::AbsentFromPage => "absent-from-page",
        WDeletionSignal::AbsentFromFullScan => "absent-from-full-scan",
        WDeletionSignal::DeleteEvent => "delete-event",
        WDeletionSignal::NotFoundOnLookup => "not-found-on-lookup",
        WDeletionSignal::FoundOnLookup => "found-on-lookup",
    })
}

fn tombstone_json(p: &PendingTombstone) -> Value {
    Obj::default()
        .set("firstSeenMs", Value::from(p.first_seen_ms))
        .set("signal", signal_name(p.signal))
        .done()
}

fn deletion_input(i: &DeletionInput) -> Value {
    let candidates = i.candidates.iter().map(|c| {
        Obj::default()
            .set("virtuousId", Value::from(c.virtuous_id.clone()))
            .opt_str("partnerId", c.partner_id.as_ref())
            .set("signal", signal_name(c.signal))
            .set("observedAtMs", Value::from(c.observed_at_ms))
            .opt_num("lastEditMs", c.last_edit_ms)
            .opt("pending", c.pending.as_ref(), tombstone_json)
            .done()
    });
    Obj::default()
        .set("candidates", Value::Array(candidates.collect()))
        .set("totalRecords", Value::from(i.total_records))
        .opt_num("overwrites", i.overwrites)
        .opt_num("confirmAfterMs", i.confirm_after_ms)
        .opt("breaker", i.breaker.as_ref(), |b| {
            Obj::default()
                .opt("maxShare", b.max_share.as_ref(), |x| Value::from(*x))
                .opt_num("minCount", b.min_count)
                .done()
        })
        .done()
}

fn tombstone(p: CPendingTombstone) -> Result<PendingTombstone, Error> {
    Ok(PendingTombstone {
        first_seen_ms: p.first_seen_ms,
        signal: deletion_signal(p.signal)?,
    })
}

/// A deletion reason (the core's closed set of `&'static str`s) as the WIT enum.
fn deletion_reason(reason: &str) -> Result<DeletionReason, Error> {
    use DeletionReason as R;
    Ok(match reason {
        "absence-is-not-deletion" => R::AbsenceIsNotDeletion,
        "first-signal" => R::FirstSignal,
        "awaiting-confirmation" => R::AwaitingConfirmation,
        "confirm-by-lookup" => R::ConfirmByLookup,
        "confirmed-by-lookup" => R::ConfirmedByLookup,
        "newer-edit" => R::NewerEdit,
        "found-on-lookup" => R::FoundOnLookup,
        "mass-change-breaker" => R::MassChangeBreaker,
        _ => return Err(crate::types::unmapped("deletion reason")),
    })
}

fn deletion_decision(d: CDeletionDecision) -> Result<DeletionDecision, Error> {
    Ok(DeletionDecision {
        virtuous_id: d.virtuous_id,
        partner_id: d.partner_id,
        action: deletion_action(d.action)?,
        reason: deletion_reason(&d.reason)?,
        pending: d.pending.map(tombstone).transpose()?,
        confirm_not_before_ms: d.confirm_not_before_ms,
    })
}

fn http_request(r: virtuous_sync::reconcile::HttpRequest) -> wit::Request {
    wit::Request {
        method: r.method,
        path: r.path,
        body: None,
    }
}

fn event_types(list: Vec<virtuous_sync::event::EventType>) -> Result<Vec<wit::EventType>, Error> {
    list.into_iter().map(crate::types::event_type).collect()
}

fn event_names(list: &[wit::EventType]) -> Value {
    let names = list
        .iter()
        .map(|t| Value::from(crate::types::core_event_type(*t).as_str()));
    Value::Array(names.collect())
}

fn merge_subscription_input(i: &MergeSubscriptionInput) -> Result<Value, Error> {
    Ok(Obj::default()
        .set("current", crate::json::parse(&i.current, "current")?)
        .opt("change", i.change.as_ref(), |c| {
            Obj::default()
                .set("add", event_names(&c.add))
                .set("remove", event_names(&c.remove))
                .opt_str("payloadUrl", c.payload_url.as_ref())
                .opt_str("secret", c.secret.as_ref())
                .done()
        })
        .done())
}

fn query_request(r: cursor::QueryRequest) -> wit::QueryRequest {
    wit::QueryRequest {
        method: r.method,
        path: r.path,
        skip: r.skip,
        take: r.take,
        body: r.body.to_string(),
    }
}

fn run_step(s: cursor::RunStep) -> Result<wit::RunStep, Error> {
    Ok(wit::RunStep {
        run: to_text(&s.run)?,
        request: s.request.map(query_request),
        page: s.page.map(|p| wit::PageResult {
            fresh: p.fresh,
            fresh_ids: p.fresh_ids,
            duplicates: p.duplicates,
            discarded: p.discarded,
            malformed: p.malformed,
            undated: p.undated,
            done: p.done,
            next: p.next.map(query_request),
        }),
    })
}

fn cursor_json(c: &QueryCursor) -> Value {
    Obj::default()
        .opt_num("highWaterMs", c.high_water_ms)
        .set(
            "boundaryIds",
            Value::Array(c.boundary_ids.iter().cloned().map(Value::from).collect()),
        )
        .opt_num("cappedAtMs", c.capped_at_ms)
        .done()
}

fn query_cursor(c: virtuous_sync::reconcile::cursor::QueryCursor) -> QueryCursor {
    QueryCursor {
        high_water_ms: c.high_water_ms,
        boundary_ids: c.boundary_ids,
        capped_at_ms: c.capped_at_ms,
    }
}

/// A plan step's action (the core's closed set of `&'static str`s) as the WIT enum.
fn step_action(action: &str) -> Result<StepAction, Error> {
    use StepAction as A;
    Ok(match action {
        "deactivate-webhook" => A::DeactivateWebhook,
        "stop-submitter" => A::StopSubmitter,
        "stop-poller" => A::StopPoller,
        "record-pause-time" => A::RecordPauseTime,
        "activate-webhook" => A::ActivateWebhook,
        "reconcile-from-pause" => A::ReconcileFromPause,
        "start-poller" => A::StartPoller,
        "start-submitter" => A::StartSubmitter,
        "add-new-secret-first" => A::AddNewSecretFirst,
        "get-webhook" => A::GetWebhook,
        "put-webhook-with-new-secret" => A::PutWebhookWithNewSecret,
        "record-rotation-time" => A::RecordRotationTime,
        "wait-for-old-secret-drain" => A::WaitForOldSecretDrain,
        "remove-old-secret" => A::RemoveOldSecret,
        _ => return Err(crate::types::unmapped("plan step action")),
    })
}

fn plan_steps(steps: Vec<sub::PlanStep>) -> Result<Vec<PlanStep>, Error> {
    steps
        .into_iter()
        .map(|s| {
            Ok(PlanStep {
                order: s.order,
                action: step_action(&s.action)?,
                request: s.request.map(http_request),
                at_ms: s.at_ms,
            })
        })
        .collect()
}

fn reference_kind_name(k: wit::ReferenceKind) -> Value {
    Value::from(match k {
        wit::ReferenceKind::ContactLink => "contact-link",
        wit::ReferenceKind::Gift => "gift",
        wit::ReferenceKind::Note => "note",
        wit::ReferenceKind::QueuedWrite => "queued-write",
        wit::ReferenceKind::Other => "other",
    })
}

fn merge_input(i: &wit::MergeInput) -> Value {
    let contacts = i.contacts.iter().map(|c| {
        Obj::default()
            .set("contactId", Value::from(c.contact_id.clone()))
            .opt_str("mergedIntoContactId", c.merged_into_contact_id.as_ref())
            .done()
    });
    let references = i.references.iter().map(|r| {
        Obj::default()
            .set("kind", reference_kind_name(r.kind))
            .set("holderId", Value::from(r.holder_id.clone()))
            .set("contactId", Value::from(r.contact_id.clone()))
            .done()
    });
    Obj::default()
        .set("contacts", Value::Array(contacts.collect()))
        .set("references", Value::Array(references.collect()))
        .done()
}

to_wit!(reference_kind, CReferenceKind => WReferenceKind, [
    ContactLink, Gift, Note, QueuedWrite, Other,
]);
to_wit!(remap_action, CRemapAction => WRemapAction, [Remap, ReaddressQueuedWrite]);

fn remap(r: merge::Remap) -> Result<wit::Remap, Error> {
    let reason = match r.reason.as_str() {
        "merged-away" => wit::RemapReason::MergedAway,
        _ => return Err(crate::types::unmapped("remap reason")),
    };
    Ok(wit::Remap {
        kind: reference_kind(r.kind)?,
        holder_id: r.holder_id,
        from_contact_id: r.from_contact_id,
        to_contact_id: r.to_contact_id,
        action: remap_action(r.action)?,
        reason,
    })
}

fn match_record(r: wit::MatchRecord, n: usize) -> Result<MatchRecord, Error> {
    Ok(MatchRecord {
        id: r.id,
        references: r
            .references
            .into_iter()
            .map(|x| matcher::ExternalRef {
                source: x.source,
                id: x.id,
            })
            .collect(),
        emails: r.emails,
        names: r.names,
        postal_codes: r.postal_codes,
        phones: r.phones,
        data: r
            .data
            .map(|d| parse(&d, &format!("records[{n}].data")))
            .transpose()?,
    })
}

to_wit!(match_signal, CSignal => WSignal, [Reference, Email, NamePostal, NamePhone]);
to_wit!(match_tier, CTier => WTier, [Reference, Email, StrongSignal]);

fn evidence(list: Vec<matcher::Evidence>) -> Result<Vec<wit::Evidence>, Error> {
    list.into_iter()
        .map(|e| {
            Ok(wit::Evidence {
                signal: match_signal(e.signal)?,
                value: e.value,
            })
        })
        .collect()
}

fn match_plan(p: matcher::MatchPlan) -> Result<wit::MatchPlan, Error> {
    let pairs = p
        .pairs
        .into_iter()
        .map(|x| {
            Ok(wit::MatchedPair {
                partner_id: x.partner_id,
                virtuous_id: x.virtuous_id,
                tier: match_tier(x.tier)?,
                state: match x.state {
                    matcher::PairState::InSync => wit::PairState::InSync,
                },
                evidence: evidence(x.evidence)?,
                partner_digest: x.partner_digest,
                virtuous_digest: x.virtuous_digest,
            })
        })
        .collect::<Result<_, Error>>()?;
    let review = p
        .review
        .into_iter()
        .map(|x| {
            let reason = match x.reason.as_str() {
                "shared-value" => wit::ReviewReason::SharedValue,
                _ => return Err(crate::types::unmapped("review reason")),
            };
            Ok(wit::ReviewItem {
                tier: match_tier(x.tier)?,
                reason,
                partner_ids: x.partner_ids,
                virtuous_ids: x.virtuous_ids,
                evidence: evidence(x.evidence)?,
            })
        })
        .collect::<Result<_, Error>>()?;
    let [a, b, c] = p.counts.pairs_by_tier;
    Ok(wit::MatchPlan {
        pairs,
        virtuous_only: p.virtuous_only,
        partner_only: p.partner_only,
        review,
        counts: wit::MatchCounts {
            partner_records: p.counts.partner_records,
            virtuous_records: p.counts.virtuous_records,
            pairs_by_tier: (a, b, c),
            review_partner: p.counts.review_partner,
            review_virtuous: p.counts.review_virtuous,
        },
    })
}

/// The `initial-matcher` resource.
pub(crate) struct Matcher(RefCell<InitialMatcher>);

impl Matcher {
    fn seeded(
        seed: &matcher::MatchSeed,
        expected_partner: Option<u32>,
        expected_virtuous: Option<u32>,
    ) -> Matcher {
        // A WIT constructor cannot fail, so a hint above the core's bound is capped to it (the npm
        // constructor throws `size-hint-too-large` instead); no argument can exhaust the memory.
        let hint = |n: Option<u32>| u64::from(n.unwrap_or(0)).min(matcher::MAX_SIZE_HINT);
        let m =
            InitialMatcher::try_with_options(seed, hint(expected_partner), hint(expected_virtuous))
                .unwrap_or_else(|_| InitialMatcher::with_seed(seed));
        Matcher(RefCell::new(m))
    }

    fn add_json(&self, text: &str, partner: bool) -> Result<(), Error> {
        let mut m = self.0.try_borrow_mut().map_err(|_| busy("matcher"))?;
        let added = if partner {
            m.add_partner_chunk_json(text)
        } else {
            m.add_virtuous_chunk_json(text)
        };
        added.map_err(|e| json::error(e.into()))
    }

    fn add(&self, records: Vec<wit::MatchRecord>, partner: bool) -> Result<(), Error> {
        let records = records
            .into_iter()
            .enumerate()
            .map(|(n, r)| match_record(r, n))
            .collect::<Result<Vec<_>, _>>()?;
        let mut m = self.0.try_borrow_mut().map_err(|_| busy("matcher"))?;
        let added = if partner {
            m.add_partner_chunk(&records)
        } else {
            m.add_virtuous_chunk(&records)
        };
        added.map_err(|e| json::error(e.into()))
    }
}

impl GuestInitialMatcher for Matcher {
    fn new(expected_partner: Option<u32>, expected_virtuous: Option<u32>) -> Matcher {
        let mut seed = [0u8; 32];
        let random = crate::bindings::wasi::random::random::get_random_bytes(32);
        for (slot, b) in seed.iter_mut().zip(random) {
            *slot = b;
        }
        Matcher::seeded(
            &matcher::MatchSeed::from_bytes(seed),
            expected_partner,
            expected_virtuous,
        )
    }

    fn with_seed(
        seed: Vec<u8>,
        expected_partner: Option<u32>,
        expected_virtuous: Option<u32>,
    ) -> Result<InitialMatcherHandle, Error> {
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| json::error(matcher::MatchError::InvalidSeed.into()))?;
        Ok(InitialMatcherHandle::new(Matcher::seeded(
            &matcher::MatchSeed::from_bytes(seed),
            expected_partner,
            expected_virtuous,
        )))
    }

    fn add_partner_chunk_json(&self, records: Json) -> Result<(), Error> {
        self.add_json(&records, true)
    }

    fn add_virtuous_chunk_json(&self, records: Json) -> Result<(), Error> {
        self.add_json(&records, false)
    }

    fn add_partner_chunk(&self, records: Vec<wit::MatchRecord>) -> Result<(), Error> {
        self.add(records, true)
    }

    fn add_virtuous_chunk(&self, records: Vec<wit::MatchRecord>) -> Result<(), Error> {
        self.add(records, false)
    }

    fn size(&self) -> (u64, u64) {
        let (p, v) = self.0.try_borrow().map_or((0, 0), |m| m.len());
        let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
        (n(p), n(v))
    }

    fn finish(&self) -> Result<wit::MatchPlan, Error> {
        let m = self.0.try_borrow().map_err(|_| busy("matcher"))?;
        match_plan(m.finish())
    }
}

/// The `rate-budget` resource.
pub(crate) struct RateBudget(RefCell<Budget>);

impl GuestRateBudget for RateBudget {
    fn new(config: Option<Json>) -> Result<RateBudget, Error> {
        let config = match config {
            Some(text) => parse(&text, "")?,
            None => Value::Null,
        };
        ops::rate_budget(&config, "")
            .map(|b| RateBudget(RefCell::new(b)))
            .map_err(json::error)
    }

    fn from_json(state: Json) -> Result<RateBudgetHandle, Error> {
        let state = ops::restore_rate_budget(&parse(&state, "")?, "").map_err(json::error)?;
        Ok(RateBudgetHandle::new(RateBudget(RefCell::new(state))))
    }

    fn observe(&self, obs: RateObservation) -> Result<(), Error> {
        let obs: CRateObservation = typed_input(observation(&obs))?;
        let mut b = self.0.try_borrow_mut().map_err(|_| busy("rate budget"))?;
        b.observe(&obs);
        Ok(())
    }

    fn spend(&self, requests: u32) {
        if let Ok(mut b) = self.0.try_borrow_mut() {
            b.spend(requests);
        }
    }

    fn decide(&self, request: WRateRequest) -> Result<WRateDecision, Error> {
        let req: RateRequest = typed_input(rate_request(&request))?;
        let b = self.0.try_borrow().map_err(|_| busy("rate budget"))?;
        rate_decision(b.decide(&req))
    }

    fn schedule(&self, remaining_requests: u64, now_ms: i64) -> Result<WBudgetSlice, Error> {
        let b = self.0.try_borrow().map_err(|_| busy("rate budget"))?;
        Ok(budget_slice(b.schedule(remaining_requests, now_ms)))
    }

    fn backoff_ms(&self, attempt: u32, random: u32) -> i64 {
        self.0
            .try_borrow()
            .map_or(0, |b| b.backoff_ms(attempt, random))
    }

    fn to_json(&self) -> Json {
        self.0.try_borrow().map_or_else(
            |_| Value::Null.to_string(),
            |b| to_text(&*b).unwrap_or_default(),
        )
    }
}

/// A Volunteer operation on JSON text: parsed, run by name through the core's operation table,
/// its result back as JSON text.
fn volunteer_op(name: &str, input: &str) -> Result<Json, Error> {
    let value = parse(input, "")?;
    ops::call(name, &value)
        .map(|v| v.to_string())
        .map_err(json::error)
}
