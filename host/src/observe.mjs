// Observability for the host: the onDecision hook's plumbing, counters as JSON and in the Prometheus text format,
// OpenTelemetry spans (when a tracer is given), a redacting logger, plain-language reason texts and retention.
// Nothing here decides anything: it reports what the core and the host already did.
import { HostError } from "./errors.mjs";

/** Span names (documented in docs/host-observability.md); one span per unit of work. */
export const SPAN_NAMES = Object.freeze({
  receive: "virtuous_sync.receive",
  processInbox: "virtuous_sync.inbound",
  processPartnerChanges: "virtuous_sync.outbound",
  submitDue: "virtuous_sync.submit",
  reconcile: "virtuous_sync.reconcile",
  resolveConflict: "virtuous_sync.resolve_conflict",
  pause: "virtuous_sync.pause",
  resume: "virtuous_sync.resume",
  applyRetention: "virtuous_sync.retention",
});

/** Default retention (customer settings `retention: {decisionsDays, deadLettersDays, inboxDays}` override it). */
export const RETENTION_DEFAULTS = Object.freeze({ decisionsDays: 90, deadLettersDays: 30, inboxDays: 30 });
const DAY = 86_400_000;

/**
 * Wraps the host's public units of work in spans of an OpenTelemetry tracer (`@opentelemetry/api`'s
 * `trace.getTracer(...)`, or anything with `startActiveSpan(name, {attributes}, fn)`). Attributes carry the customer
 * id and, for receive, the receipt's reason and status; never a body or a secret.
 */
export function instrument(host, tracer) {
  if (!tracer || typeof tracer.startActiveSpan !== "function") return;
  for (const [method, name] of Object.entries(SPAN_NAMES)) {
    const orig = host[method];
    if (typeof orig !== "function") continue;
    host[method] = function traced(...args) {
      const attributes = typeof args[0] === "string" ? { "virtuous_sync.customer_id": args[0] } : {};
      return tracer.startActiveSpan(name, { attributes }, async (span) => {
        try {
          const r = await orig.apply(host, args);
          if (method === "receive" && r) span.setAttributes?.({ "virtuous_sync.reason": String(r.body?.reason ?? r.body?.error ?? ""), "http.response.status_code": r.status });
          if (method === "resolveConflict" && r) span.setAttributes?.({ "virtuous_sync.reason": String(r.reason ?? "") });
          return r;
        } catch (e) {
          span.recordException?.({ name: e?.name ?? "Error", message: String(e?.code ?? e?.name ?? "error") });
          span.setStatus?.({ code: 2 });
          throw e;
        } finally {
          span.end();
        }
      });
    };
  }
}

/** Calls the host's `onDecision` hook for each entry; a failing hook is logged and never stops the sync. */
export function emitDecisions(host, customerId, recordKey, atMs, entries) {
  const fn = host.onDecision;
  if (!fn || !entries?.length) return;
  for (const e of entries) {
    try {
      const r = fn({ customerId, recordKey: recordKey ?? undefined, atMs, direction: e.direction, action: e.action, reason: e.reason, detail: e.detail });
      if (r && typeof r.catch === "function") r.catch((err) => host.log("on-decision-failed", { error: String(err?.message ?? err) }));
    } catch (err) {
      host.log("on-decision-failed", { error: String(err?.message ?? err) });
    }
  }
}

// --- logging ---------------------------------------------------------------------------------------------------
const SECRET_KEYS = /secret|token|password|authorization|signature|apikey|api_key|cookie/i;
const PAYLOAD_KEYS = /^(body|text|resource|event|fields|record|state|payload|applyLocal|choices|base|partner|virtuous|value|values)$/i;

/** A copy of `fields` fit for a log line: secret-like keys and payload-like keys replaced, long strings cut. */
export function redact(fields, { maxString = 300, depth = 0 } = {}) {
  if (fields == null || typeof fields !== "object") return typeof fields === "string" && fields.length > maxString ? `${fields.slice(0, maxString)}…` : fields;
  if (depth > 4) return "[…]";
  const out = Array.isArray(fields) ? [] : {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEYS.test(k)) out[k] = "[redacted]";
    else if (PAYLOAD_KEYS.test(k) && v != null && typeof v === "object") out[k] = "[payload omitted]";
    else out[k] = redact(v, { maxString, depth: depth + 1 });
  }
  return out;
}

/**
 * The host's `log` option for production: one JSON line per event on `write` (default stderr), redacted (no secret,
 * no payload). `level: "debug"` adds each decision (codes and field names only).
 */
export function jsonLogger({ write = (line) => process.stderr.write(`${line}\n`), clock = () => Date.now() } = {}) {
  return (event, fields = {}) => {
    try {
      write(JSON.stringify({ at: new Date(clock()).toISOString(), event, ...redact(fields) }));
    } catch {
      // Logging never breaks the sync.
    }
  };
}

// --- metrics ---------------------------------------------------------------------------------------------------
/** Persisted counter names (store `countersAdd`) and what they count, for the JSON and Prometheus outputs. */
const COUNTERS = [
  ["echoes", "echoes_recognised_total", "Deliveries recognised as the echo (or confirmation) of our own write"],
  ["applied", "partner_applies_total", "Changes from Virtuous applied to the partner platform"],
  ["conflicts", "conflicts_raised_total", "Conflicts raised (both sides changed a field the policy will not settle)"],
  ["resolved", "conflicts_resolved_total", "Conflicts settled by a person"],
  ["remaps", "merges_followed_total", "Virtuous contact merges followed on the partner side"],
  ["queued", "writes_queued_total", "Writes to Virtuous queued"],
];
const WRITE_OUTCOMES = [["writes", "written"], ["retries", "retried"], ["rateLimited", "rate-limited"], ["failedWrites", "failed"], ["budgetWaits", "waited-for-budget"]];

/** Every customer's counters and gauges as one JSON object (from the store, so every worker reports the same). */
export async function metrics(host, { customerIds } = {}) {
  const ids = customerIds ?? (await host.store.listCustomers());
  const customers = {};
  for (const id of ids) {
    const s = await host.status(id);
    const c = s.counters ?? {};
    const deliveries = {};
    for (const [k, v] of Object.entries(c)) if (k.startsWith("delivery:")) deliveries[k.slice(9)] = v;
    const lag = {};
    for (const [res, cur] of Object.entries(s.reconciliation?.cursors ?? {})) if (cur.lagMs != null) lag[res] = cur.lagMs;
    customers[id] = {
      paused: s.paused,
      deliveriesByReason: deliveries,
      echoesRecognised: c.echoes ?? 0,
      writesByOutcome: Object.fromEntries(WRITE_OUTCOMES.map(([k, name]) => [name, c[k] ?? 0])),
      counters: Object.fromEntries(COUNTERS.map(([k]) => [k, c[k] ?? 0])),
      openConflicts: s.openConflicts ?? 0,
      stuckWrites: s.outbox?.stuckWrites?.length ?? 0,
      stuckRecords: s.records?.stuck ?? 0,
      deadLetters: s.inbox?.deadLetters ?? 0,
      inboxPending: s.inbox?.pending ?? 0,
      outboxDepth: s.outbox?.depth ?? 0,
      oldestPendingWriteAgeMs: s.outbox?.oldestPendingWriteAgeMs,
      budgetRemaining: s.budget?.remaining ?? s.budget?.available,
      budgetLimit: s.budget?.limit,
      reconciliationLagMs: lag,
      lastReconciliationMs: s.reconciliation?.lastCompleteMs,
      review: s.review ?? 0,
    };
  }
  return { apiVersion: 1, atMs: host.now(), customers };
}

const esc = (v) => String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const labels = (o) => `{${Object.entries(o).map(([k, v]) => `${k}="${esc(v)}"`).join(",")}}`;

/** The JSON of `metrics()` in the Prometheus text exposition format (version 0.0.4). */
export function prometheus(m) {
  const lines = [];
  const family = (name, type, help, samples) => {
    if (!samples.length) return;
    lines.push(`# HELP virtuous_sync_${name} ${help}`, `# TYPE virtuous_sync_${name} ${type}`);
    for (const [l, v] of samples) lines.push(`virtuous_sync_${name}${labels(l)} ${Number.isFinite(v) ? v : 0}`);
  };
  const cs = Object.entries(m.customers);
  family("deliveries_total", "counter", "Webhook deliveries received, by the receipt's reason", cs.flatMap(([customer, c]) => Object.entries(c.deliveriesByReason).map(([reason, v]) => [{ customer, reason }, v])));
  for (const [k, name, help] of COUNTERS) family(name, "counter", help, cs.map(([customer, c]) => [{ customer }, c.counters[k]]));
  family("writes_total", "counter", "Requests to Virtuous from the outbox, by outcome", cs.flatMap(([customer, c]) => Object.entries(c.writesByOutcome).map(([outcome, v]) => [{ customer, outcome }, v])));
  family("open_conflicts", "gauge", "Records waiting for a person to settle a conflict", cs.map(([customer, c]) => [{ customer }, c.openConflicts]));
  family("stuck_writes", "gauge", "Writes to Virtuous that failed or keep retrying", cs.map(([customer, c]) => [{ customer }, c.stuckWrites]));
  family("stuck_records", "gauge", "Records whose write was never confirmed in time", cs.map(([customer, c]) => [{ customer }, c.stuckRecords]));
  family("dead_letters", "gauge", "Deliveries or changes kept aside because they could not be processed", cs.map(([customer, c]) => [{ customer }, c.deadLetters]));
  family("inbox_pending", "gauge", "Received changes waiting to be processed", cs.map(([customer, c]) => [{ customer }, c.inboxPending]));
  family("outbox_depth", "gauge", "Writes waiting to be sent to Virtuous", cs.map(([customer, c]) => [{ customer }, c.outboxDepth]));
  family("budget_remaining", "gauge", "Requests left in the Virtuous hourly rate budget", cs.filter(([, c]) => c.budgetRemaining != null).map(([customer, c]) => [{ customer }, c.budgetRemaining]));
  family("reconciliation_lag_seconds", "gauge", "How far behind now the reconciliation's high-water mark is", cs.flatMap(([customer, c]) => Object.entries(c.reconciliationLagMs).map(([resource, v]) => [{ customer, resource }, v / 1000])));
  family("paused", "gauge", "1 while the customer's sync is paused", cs.map(([customer, c]) => [{ customer }, c.paused ? 1 : 0]));
  return `${lines.join("\n")}\n`;
}

// --- retention -------------------------------------------------------------------------------------------------
/** The customer's retention in days, defaults filled in; an unknown key or a value under one day is refused. */
export function retentionOf(settings) {
  const given = settings?.retention ?? {};
  if (typeof given !== "object" || Array.isArray(given)) throw new HostError("invalid-setting", "retention must be an object");
  for (const [k, v] of Object.entries(given)) {
    if (!(k in RETENTION_DEFAULTS)) throw new HostError("invalid-setting", `retention.${k} is not a setting (decisionsDays, deadLettersDays, inboxDays)`);
    if (typeof v !== "number" || !Number.isFinite(v) || v < 1) throw new HostError("invalid-setting", `retention.${k} must be a number of days, at least 1`);
  }
  return { ...RETENTION_DEFAULTS, ...given };
}

/**
 * Applies each customer's retention (`settings.retention`, defaults RETENTION_DEFAULTS): decisions older than
 * `decisionsDays` and dead letters older than `deadLettersDays` are deleted; finished inbox entries older than
 * `inboxDays` lose their stored event (the dedupe key stays). Returns the counts per customer.
 */
export async function applyRetention(host, { nowMs = host.now() } = {}) {
  const out = {};
  for (const id of await host.store.listCustomers()) {
    const c = await host.store.getCustomer(id);
    const r = retentionOf(c?.settings);
    out[id] = await host.store.prune(id, {
      decisionsBeforeMs: nowMs - r.decisionsDays * DAY,
      deadLettersBeforeMs: nowMs - r.deadLettersDays * DAY,
      inboxBeforeMs: nowMs - r.inboxDays * DAY,
    });
  }
  return out;
}
