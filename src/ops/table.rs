//! The operation table: every operation the surfaces expose, once.

/// The operation table. Each row: what kind of operation it is, its npm name, its type in
/// [`ops`](crate::ops), and its npm argument shape. The macro hands the rows to `$callback`:
/// [`ops`](crate::ops) builds the operation types, [`OPERATIONS`](crate::ops::OPERATIONS) and
/// the by-name [`call`](crate::ops::call) / [`core_call`](crate::ops::core_call) from them, and
/// the npm adapter its exports, so every surface is checked against this one list.
///
/// Kinds: `sync` — a sync decision ([`SyncOperation`](crate::ops::SyncOperation)): npm
/// `SyncCore` method under the core's options, free by-name form with inline `options`;
/// `method` — an [`Operation`](crate::ops::Operation) that is also a `SyncCore` method; `free` —
/// a free function. Shapes: `whole` (one argument, the input object) or the named arguments in
/// order, each `json` (required JSON), `opt` (JSON or nothing), `now` (ms; npm defaults it to
/// `Date.now()`) or `text` (a string).
#[doc(hidden)]
#[macro_export]
macro_rules! operation_table {
    ($callback:ident) => {
        $callback! {
            /// The keys that find the stored record for an event, in order (Virtuous id, our
            /// external reference, the merge survivor).
            sync lookupKeys LookupKeys (event: json);
            /// What to do with one inbound event given the stored record state.
            sync decideInbound DecideInbound (event: json, record: opt, nowMs: now);
            /// What to do with one partner-side change given the stored record state.
            sync decideOutbound DecideOutbound (record: opt, change: json, nowMs: now);
            /// Applies one trigger to a stored record state (the documented state table).
            free transition Transition (record: opt, trigger: json, nowMs: now);
            /// The three-way merge of one record's fields against the base, under the policy.
            sync resolve Resolve (input: json);
            /// Settles a record in conflict by hand: each conflicting field's chosen side or value.
            method resolveConflict ResolveConflict (record: opt, choices: json, nowMs: now);
            /// Plans one page of a periodic reconciliation against the host's stored records.
            sync planReconciliation PlanReconciliation whole;
            /// Starts a query run from the stored cursor: the first query body.
            free startQueryRun StartQueryRun whole;
            /// Accepts one page of query results into a run.
            free acceptQueryPage AcceptQueryPage whole;
            /// Ends a run: the next cursor (advanced only after a complete run).
            free finishQueryRun FinishQueryRun whole;
            /// The remap plan for merged contacts: chains followed to the survivor, cycles refused.
            free planMergeRemap PlanMergeRemap whole;
            /// Two-phase tombstones and the breaker for a run's deletions and overwrites.
            free planDeletions PlanDeletions whole;
            /// The GET-then-PUT merge of a webhook subscription: the full record to PUT.
            free mergeSubscription MergeSubscription (current: json, change: json);
            /// The ordered plan that pauses a customer's sync.
            free planPause PlanPause whole;
            /// The ordered plan that resumes a customer's sync, with a reconciliation from the pause time.
            free planResume PlanResume whole;
            /// The secret rotation plan (new secret first, old one kept until no receipt reports it).
            free planSecretRotation PlanSecretRotation whole;
            /// The price of a plan in requests.
            free pricePlan PricePlan whole;
            /// What a host should do with one Virtuous response.
            free classifyResponse ClassifyResponse whole;
            /// The GET-then-PUT merge of a Raise webhook: the full record to PUT, the customer's
            /// other event types and settings kept.
            free mergeRaiseSubscription MergeRaiseSubscription whole;
            /// Subscribing when the Raise account may have no webhook for us yet: a POST creating
            /// it, or the GET-then-PUT merge into the one that delivers to the URL.
            free planRaiseSubscription PlanRaiseSubscription whole;
            /// Raise's event type labels learned from delivery-log rows (`eventTypeDisplay`), and
            /// where the configured labels disagree.
            free learnRaiseEventTypes LearnRaiseEventTypes whole;
            /// Raise's delivery-log rows summarised into failed deliveries per webhook and `contextId`.
            free summarizeRaiseDeliveryLogs SummarizeRaiseDeliveryLogs whole;
            /// Parses a Virtuous `modifiedDateTimeUtc` (or any date-time the core accepts).
            free parseModifiedTime ParseModifiedTime (text: text);
            /// Starts a Volunteer (VOMO) poll of one resource from its stored cursor: the first `GET`.
            free startVolunteerPoll StartVolunteerPoll whole;
            /// Accepts one Volunteer page (`{data, links, meta}`): the changed rows and the next `GET`.
            free acceptVolunteerPage AcceptVolunteerPage whole;
            /// Ends a Volunteer poll: the cursor to store (advanced only after a complete run) and a full scan's summary.
            free finishVolunteerPoll FinishVolunteerPoll whole;
            /// Steps the Volunteer request budget (pace learned from 429s, Retry-After, backoff).
            free volunteerBudget VolunteerBudget whole;
            /// Two-phase tombstones and the breaker for records a complete Volunteer full scan lost.
            free planVolunteerDeletions PlanVolunteerDeletions whole;
        }
    };
}
