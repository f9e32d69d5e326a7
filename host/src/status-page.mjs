// The people side of the host's HTTP app: the status page (one HTML page over the JSON API), the routes it reads
// beyond the core API (customer list, recent decisions, record lookup), and the metrics endpoints.
//   GET /status                                          the status page (HTML; it reads the JSON API)
//   GET /metrics                                         every customer's counters and gauges, Prometheus text format
//   GET /api/v1/metrics                                  the same as JSON
//   GET /api/v1/customers                                every customer with a health summary
//   GET /api/v1/customers/:customerId/decisions?limit=   the newest decisions, newest first, with plain texts
//   GET /api/v1/customers/:customerId/records?kind=&id=  find a record by Virtuous id, partner id or record key
//                                                        (without ?id=: every record's row)
//   GET /api/v1/customers/:customerId/outbox             every pending write (method, path, attempts; never a body)
//   GET /api/v1/customers/:customerId/reconciliation     the last runs, the run under way, the last error
// The page and the routes' answers are framework-free (peopleApi, STATUS_PAGE): the Worker host serves the same.
import { metrics, prometheus } from "./observe.mjs";
import { REASONS, explain } from "./reasons.mjs";
import { HostError } from "./errors.mjs";

/** The health a person sees first: paused, action needed, needs attention, healthy. */
export function health(s) {
  if (s.paused) return { level: "paused", text: "Paused: nothing is sent or received until the sync is resumed." };
  if (s.alert?.code === "authentication") return { level: "action", text: "Action needed: Virtuous did not accept the API key." };
  const issues = [];
  if (s.openConflicts) issues.push(`${s.openConflicts} conflict${s.openConflicts === 1 ? "" : "s"} to settle`);
  if (s.outbox?.stuckWrites?.length) issues.push(`${s.outbox.stuckWrites.length} stuck write${s.outbox.stuckWrites.length === 1 ? "" : "s"}`);
  if (s.inbox?.deadLetters) issues.push(`${s.inbox.deadLetters} set-aside change${s.inbox.deadLetters === 1 ? "" : "s"}`);
  if (s.records?.stuck) issues.push(`${s.records.stuck} unconfirmed record${s.records.stuck === 1 ? "" : "s"}`);
  if (s.reconciliation?.breaker) issues.push("the safety check stopped a large change");
  if (issues.length) return { level: "attention", text: `Needs attention: ${issues.join(", ")}.` };
  return { level: "healthy", text: "Healthy: changes are flowing both ways." };
}

const withText = (d) => ({ ...d, explanation: explain(d.reason) });
const must = async (host, id) => {
  if (!(await host.customer(id))) throw new HostError("unknown-customer", id);
};

/** The HTTP status of an API error code (the JSON API's table in docs/host.md). */
export function statusOfError(e) {
  const code = e?.code ?? "internal";
  return API_STATUS[code] ?? (e?.name === "VirtuousSyncError" ? 400 : code === "internal" ? 500 : 400);
}
const API_STATUS = {
  "unknown-customer": 404, "unknown-record": 404, "unknown-review": 404, "not-found": 404, "record-busy": 409, "not-in-conflict": 409, "not-empty": 409, "not-drained": 409,
  "invalid-argument": 400, "missing-choice": 400, "unknown-choice": 400, "invalid-setting": 400, unauthorized: 401, internal: 500,
  "subscription-read": 502, "subscription-write": 502,
};

/**
 * The people routes beyond the core API, framework-free: the Node app (Hono, below) and the Worker host
 * (worker/index.mjs) serve the same answers from them. `timeline(customerId, recordKey)` reads one record's
 * history (the Worker asks the record's Durable Object); each throws a HostError for a bad request.
 */
export function peopleApi(host, { timeline = (id, key) => host.timeline(id, key) } = {}) {
  return {
    /** `GET /api/v1/customers`: every customer with a health summary. */
    async customers() {
      const out = [];
      for (const id of await host.store.listCustomers()) {
        const s = await host.status(id);
        out.push({ customerId: id, paused: s.paused, openConflicts: s.openConflicts, health: health(s) });
      }
      return { apiVersion: 1, customers: out };
    },
    /** `GET .../decisions?limit=`: the newest decisions, newest first, with plain texts. */
    async decisions(id, limitParam) {
      await must(host, id);
      const limit = Math.min(500, Math.max(1, Number(limitParam ?? 50) || 50));
      return { apiVersion: 1, decisions: (await host.store.recentDecisions(id, { limit })).map(withText) };
    },
    /** `GET .../records?kind=&id=`: a record by Virtuous id, partner id or record key, with its history. */
    async lookup(id, { kind, id: query } = {}) {
      await must(host, id);
      const q = String(query ?? "").trim();
      if (!q) throw new HostError("invalid-argument", "give ?id= (a Virtuous id, a partner id or a record key)");
      const row =
        (await host.store.findRecord(id, { recordKey: q })) ??
        (kind ? (await host.store.findRecord(id, { kind, virtuousId: q })) ?? (await host.store.findRecord(id, { kind, partnerId: q })) : null) ??
        (!kind ? await firstOf(host, id, q) : null);
      if (!row) throw new HostError("unknown-record", `no record ${kind ? `${kind} ` : ""}${q}`);
      const tl = await timeline(id, row.recordKey);
      return { ...tl, entries: tl.entries.map(withText) };
    },
    /** `GET .../records` without `?id=`: every record's stored row (keys, state, dirty mark), by record key. */
    async records(id, { kind } = {}) {
      await must(host, id);
      return { apiVersion: 1, records: await host.store.listRecords(id, kind ? { kind } : {}) };
    },
    /** `GET .../outbox`: every pending write, oldest first (method and path; never a body). */
    async outbox(id) {
      await must(host, id);
      const items = (await host.store.listOutbox(id)).map((e) => ({
        recordKey: e.recordKey, status: e.status === "in-flight" ? "queued" : e.status, attempts: e.attempts, queuedMs: e.queuedMs,
        lastError: e.lastError, lastStatus: e.lastStatus, method: e.request?.method, path: e.request?.path,
      }));
      return { apiVersion: 1, items };
    },
    /** `GET .../reconciliation`: the last complete run, the newest runs, the run under way (Worker host), errors. */
    async reconciliation(id) {
      await must(host, id);
      const rec = (await host.store.kvGet(id, "reconcile")) ?? {};
      // The Worker host keeps its newest run's progress (it runs page by page from its Queue); the Node host none.
      const r = (await host.store.kvGet(id, "reconcile-run")) ?? null;
      const latest = r && { runId: r.runId, startedMs: r.startedMs, finishedMs: r.finishedMs, failedMs: r.failedMs, resource: r.resource, page: r.page, lastError: r.lastError, lastErrorMs: r.lastErrorMs };
      return {
        apiVersion: 1,
        lastCompleteMs: rec.lastCompleteMs, nextDueMs: rec.nextDueMs, lastError: rec.lastError, lastErrorMs: rec.lastErrorMs,
        running: latest && !latest.finishedMs && !latest.failedMs ? latest : null,
        latest,
        runs: (await host.store.kvGet(id, "reconcile-runs")) ?? (rec.last ? [rec.last] : []),
      };
    },
    metrics: () => metrics(host),
    prometheus: async () => prometheus(await metrics(host)),
  };
}

/**
 * Adds the page, the extra API routes (on `api`, so they share its token check) and /metrics to the Hono `app`.
 * Call before `app.route("/api...", api)`.
 */
export function mountStatusPage(app, api, host, { token } = {}) {
  const people = peopleApi(host);
  const run = (fn) => async (c) => {
    try {
      return c.json(await fn(c));
    } catch (e) {
      return c.json({ error: e?.code ?? "internal", message: e?.name === "HostError" ? e.message : "internal error" }, statusOfError(e));
    }
  };
  const id = (c) => c.req.param("customerId");
  api.get("/customers", run(() => people.customers()));
  api.get("/customers/:customerId/decisions", run((c) => people.decisions(id(c), c.req.query("limit"))));
  api.get("/customers/:customerId/records", run((c) => (c.req.query("id") == null ? people.records(id(c), { kind: c.req.query("kind") }) : people.lookup(id(c), { kind: c.req.query("kind"), id: c.req.query("id") }))));
  api.get("/customers/:customerId/outbox", run((c) => people.outbox(id(c))));
  api.get("/customers/:customerId/reconciliation", run((c) => people.reconciliation(id(c))));
  api.get("/metrics", run(() => people.metrics()));
  app.get("/metrics", async (c) => {
    if (token && c.req.header("authorization") !== `Bearer ${token}`) return c.text("unauthorized\n", 401);
    return c.body(await people.prometheus(), 200, { "content-type": PROMETHEUS_TYPE });
  });
  app.get("/status", (c) => c.html(STATUS_PAGE));
}
export const PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

async function firstOf(host, customerId, q) {
  for (const kind of ["gift", "contact"]) {
    const r = (await host.store.findRecord(customerId, { kind, virtuousId: q })) ?? (await host.store.findRecord(customerId, { kind, partnerId: q }));
    if (r) return r;
  }
  return null;
}

/** The status page: one static HTML page that reads the JSON API (the same on every host). */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Virtuous sync status</title>
<style>
  :root { --ok: #1d7a46; --wait: #8a6100; --act: #b42318; --muted: #5b6472; --line: #d9dee5; }
  * { box-sizing: border-box; }
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1c2430; background: #f6f7f9; }
  header { background: #23395d; color: #fff; padding: 14px 24px; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
  header h1 { font-size: 19px; margin: 0; flex: 1; }
  main { max-width: 1100px; margin: 0 auto; padding: 18px 24px 40px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; margin-bottom: 16px; }
  h2 { font-size: 16px; margin: 0 0 10px; }
  table { width: 100%; border-collapse: collapse; font-size: 14px; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { color: var(--muted); font-weight: 600; }
  .health { font-size: 17px; font-weight: 600; padding: 10px 14px; border-radius: 6px; }
  .health.healthy { background: #e7f5ec; color: var(--ok); }
  .health.attention { background: #fff4e0; color: var(--wait); }
  .health.action, .health.paused { background: #fde8e7; color: var(--act); }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin-top: 12px; }
  .tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
  .tile b { display: block; font-size: 20px; }
  .tile span { color: var(--muted); font-size: 13px; }
  .tone-ok { color: var(--ok); } .tone-wait { color: var(--wait); } .tone-act { color: var(--act); }
  code { background: #eef1f5; padding: 1px 5px; border-radius: 4px; font-size: 12.5px; white-space: nowrap; }
  button { font: inherit; padding: 5px 12px; border-radius: 5px; border: 1px solid #23395d; background: #fff; color: #23395d; cursor: pointer; }
  button.primary { background: #23395d; color: #fff; }
  button:disabled { opacity: .5; cursor: default; }
  .empty { color: var(--muted); }
  .conflict { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin-bottom: 10px; }
  .conflict .actions { display: flex; gap: 8px; margin-top: 8px; flex-wrap: wrap; }
  .msg { margin-top: 8px; font-weight: 600; }
  form { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
  input, select { font: inherit; padding: 5px 8px; border: 1px solid #aab3c0; border-radius: 5px; }
  header select { min-width: 180px; }
</style>
</head>
<body>
<header>
  <h1>Virtuous sync status</h1>
  <label>Organisation <select id="customer" aria-label="Organisation"></select></label>
  <span id="updated" style="font-size:13px;opacity:.85"></span>
</header>
<main>
  <section id="auth" hidden>
    <h2>Sign in</h2>
    <form id="auth-form"><input id="token" type="password" placeholder="Access token" aria-label="Access token"><button class="primary">Open</button></form>
  </section>
  <section id="health-section">
    <h2>Health</h2>
    <div id="health" class="health">Loading…</div>
    <div class="grid" id="tiles"></div>
    <div class="actions" style="margin-top:10px"><button id="pause">Pause sync</button> <button id="resume">Resume sync</button></div>
  </section>
  <section id="conflicts-section">
    <h2>Conflicts to settle</h2>
    <div id="conflicts"></div>
  </section>
  <section id="stuck-section">
    <h2>Stuck writes</h2>
    <div id="stuck"></div>
  </section>
  <section id="volunteer-section" hidden>
    <h2>Volunteer polling</h2>
    <div id="volunteer"></div>
  </section>
  <section id="raise-section" hidden>
    <h2>Raise deliveries</h2>
    <div id="raise"></div>
  </section>
  <section id="dead-section">
    <h2>Changes set aside (dead letters)</h2>
    <div id="dead"></div>
  </section>
  <section id="decisions-section">
    <h2>Recent activity</h2>
    <div id="decisions"></div>
  </section>
  <section id="lookup-section">
    <h2>Look up a record</h2>
    <form id="lookup-form">
      <select id="lookup-kind" aria-label="Kind"><option value="">Any</option><option value="gift">Gift</option><option value="contact">Contact</option></select>
      <input id="lookup-id" placeholder="Virtuous id or your platform's id" aria-label="Record id" size="30">
      <button class="primary">Show history</button>
    </form>
    <div id="timeline"></div>
  </section>
</main>
<script>
const REASONS = ${JSON.stringify(REASONS)};
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const show = (v) => v === undefined ? "<span class=empty>(not known)</span>" : v === null || v === "" ? "<span class=empty>(empty)</span>" : esc(typeof v === "object" ? JSON.stringify(v) : v);
const when = (ms) => ms == null ? "never" : new Date(ms).toLocaleString();
const ago = (ms) => ms == null ? "—" : ms < 90000 ? Math.round(ms / 1000) + " s" : ms < 5400000 ? Math.round(ms / 60000) + " min" : Math.round(ms / 3600000) + " h";
function explain(code) {
  const r = REASONS[code];
  if (r) return { tone: r[0], text: r[1] };
  return { tone: "ok", text: 'Recorded as "' + code + '".' };
}
let token = sessionStorage.getItem("vs-token") || "";
async function api(path, init = {}) {
  const headers = { ...(init.headers || {}), ...(token ? { authorization: "Bearer " + token } : {}) };
  if (init.body) headers["content-type"] = "application/json";
  const r = await fetch("/api/v1" + path, { ...init, headers });
  if (r.status === 401) { $("auth").hidden = false; throw new Error("unauthorized"); }
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(j.message || j.error || r.status), { body: j });
  return j;
}
$("auth-form").onsubmit = (e) => { e.preventDefault(); token = $("token").value; sessionStorage.setItem("vs-token", token); $("auth").hidden = true; boot(); };
const cid = () => $("customer").value;
const enc = encodeURIComponent;

function renderHealth(s, h) {
  $("health").className = "health " + h.level;
  $("health").textContent = h.text;
  const lag = Object.values(s.reconciliation.cursors || {}).map((c) => c.lagMs).filter((x) => x != null);
  const tiles = [
    ["Last change received", s.lastDeliveryMs ? ago(s.nowMs - s.lastDeliveryMs) + " ago" : "none yet"],
    ["Waiting to process", s.inbox.pending ?? 0],
    ["Waiting to send", s.outbox.depth ?? 0],
    ["Conflicts", s.openConflicts ?? 0],
    ["Stuck writes", s.outbox.stuckWrites.length],
    ["Set aside", s.inbox.deadLetters ?? 0],
    ["Last full check-up", s.reconciliation.lastCompleteMs ? ago(s.nowMs - s.reconciliation.lastCompleteMs) + " ago" : "not yet"],
    ["Check-up behind by", lag.length ? ago(Math.max(...lag)) : "—"],
    ["Virtuous requests left this hour", s.budget?.remaining ?? "not known yet"],
  ];
  $("tiles").innerHTML = tiles.map(([k, v]) => '<div class="tile"><b>' + esc(v) + "</b><span>" + esc(k) + "</span></div>").join("");
  $("pause").disabled = s.paused; $("resume").disabled = !s.paused;
}

function renderConflicts(list) {
  if (!list.length) { $("conflicts").innerHTML = '<p class="empty">No conflicts. Nothing to settle.</p>'; return; }
  $("conflicts").innerHTML = list.map((r, i) => {
    const rows = r.items.map((it) => {
      const partner = it.partner !== undefined ? it.partner : it.partnerCurrent;
      return "<tr><td><b>" + esc(it.field) + "</b></td><td>" + show(partner) + "</td><td>" + show(it.virtuous) + "</td><td>" +
        '<label><input type="radio" name="c' + i + "-" + esc(it.field) + '" value="partner"> your platform</label> ' +
        '<label><input type="radio" name="c' + i + "-" + esc(it.field) + '" value="virtuous"> Virtuous</label></td></tr>';
    }).join("");
    return '<div class="conflict" data-key="' + esc(r.recordKey) + '" data-index="' + i + '">' +
      "<div><b>" + esc(r.kind === "gift" ? "Gift" : "Contact") + "</b> " + esc(r.virtuousId ? "Virtuous #" + r.virtuousId : "") + " · your platform: " + esc(r.partnerId ?? "—") + "</div>" +
      "<p>" + esc(explain("both-changed").text) + "</p>" +
      "<table><tr><th>Field</th><th>Your platform</th><th>Virtuous</th><th>Keep</th></tr>" + rows + "</table>" +
      '<div class="actions"><button class="keep-partner">Keep your platform\\'s values</button><button class="keep-virtuous">Keep Virtuous values</button><button class="primary resolve">Save choices</button></div>' +
      '<div class="msg"></div></div>';
  }).join("");
  document.querySelectorAll(".conflict").forEach((el) => {
    const r = list[Number(el.dataset.index)];
    const send = async (choices) => {
      el.querySelectorAll("button").forEach((b) => (b.disabled = true));
      try {
        const out = await api("/customers/" + enc(cid()) + "/conflicts/" + enc(r.recordKey) + "/resolve", { method: "POST", body: JSON.stringify({ choices }) });
        el.querySelector(".msg").textContent = "Settled. " + (out.pushFields?.length ? "Virtuous is being updated." : "Your platform was updated.");
        el.classList.add("resolved");
        setTimeout(refresh, 600);
      } catch (e) {
        el.querySelector(".msg").textContent = "Could not save: " + e.message;
        el.querySelectorAll("button").forEach((b) => (b.disabled = false));
      }
    };
    const all = (side) => Object.fromEntries(r.items.map((it) => [it.field, side]));
    el.querySelector(".keep-partner").onclick = () => send(all("partner"));
    el.querySelector(".keep-virtuous").onclick = () => send(all("virtuous"));
    el.querySelector(".resolve").onclick = () => {
      const choices = {};
      for (const it of r.items) {
        const c = el.querySelector('input[name="c' + el.dataset.index + "-" + it.field + '"]:checked');
        if (!c) { el.querySelector(".msg").textContent = "Choose a side for " + it.field + "."; return; }
        choices[it.field] = c.value;
      }
      send(choices);
    };
  });
}

function renderVolunteer(s) {
  const v = s.volunteer;
  $("volunteer-section").hidden = !v;
  if (!v) return;
  const rows = Object.entries(v.resources).map(([r, c]) =>
    "<tr><td>" + esc(r) + "</td><td>" + esc(c.highWaterMs != null ? when(c.highWaterMs) : "not yet") + "</td><td>" + esc(ago(c.lagMs)) +
    "</td><td>" + esc(c.lastPollMs != null ? ago(s.nowMs - c.lastPollMs) + " ago" : "never") + "</td><td>" + esc(c.lastFullMs != null ? ago(s.nowMs - c.lastFullMs) + " ago" : "never") +
    "</td><td>" + esc(c.pendingTombstones) + "</td><td>" + esc(c.lastError || "") + "</td></tr>").join("");
  const b = v.budget;
  $("volunteer").innerHTML = "<table><tr><th>Resource</th><th>Read up to</th><th>Behind by</th><th>Last poll</th><th>Last full check</th><th>Possibly deleted</th><th>Last error</th></tr>" + rows + "</table>" +
    "<p>Requests: " + esc(b ? b.requestsPerMinute + " a minute (set to " + b.configuredPerMinute + "; " + b.throttled + " slow-downs asked by Volunteer)" : "none sent yet") +
    " · next poll " + esc(v.nextPollDueMs != null ? when(v.nextPollDueMs) : "soon") + "</p>";
}

function renderRaise(s) {
  const r = s.raiseDeliveries;
  $("raise-section").hidden = !r;
  if (!r) return;
  const rows = r.failed.map((f) =>
    "<tr><td>" + esc(f.webhookId) + "</td><td>" + esc(f.contextId || "none") + "</td><td>" + esc(f.eventTypeDisplay || f.eventType) +
    "</td><td>" + esc(f.attempts) + "</td><td>" + esc(f.lastStatus != null ? f.lastStatus : "no response") + "</td><td>" + esc(f.lastResponse || "") +
    "</td><td>" + esc(f.lastAttempt || "") + "</td></tr>").join("");
  $("raise").innerHTML = (r.failed.length ? "<p>Deliveries Raise could not make (this side never saw them):</p><table><tr><th>Webhook</th><th>contextId</th><th>Event</th><th>Attempts</th><th>Last status</th><th>Last response</th><th>Last attempt</th></tr>" + rows + "</table>"
      : '<p class="empty">No failed deliveries in the Raise logs.</p>') +
    "<p>" + esc(r.deliveries != null ? r.deliveries + " deliveries logged, " + r.recovered + " recovered after a failure" : "Logs not read yet") +
    " · last read " + esc(r.readMs != null ? ago(s.nowMs - r.readMs) + " ago" : "never") + (r.lastError ? " · last error: " + esc(r.lastError) : "") + "</p>";
}

function renderStuck(s) {
  const w = s.outbox.stuckWrites;
  $("stuck").innerHTML = !w.length ? '<p class="empty">No stuck writes.</p>' :
    "<table><tr><th>Record</th><th>Tries</th><th>Why</th></tr>" + w.map((x) =>
      "<tr><td>" + esc(x.recordKey) + "</td><td>" + esc(x.attempts) + "</td><td>" + esc(explain(String(x.lastError || "").split(":")[0]).text) + " <code>" + esc(x.lastError || x.status) + "</code></td></tr>").join("") + "</table>";
}
function renderDead(items) {
  $("dead").innerHTML = !items.length ? '<p class="empty">Nothing set aside.</p>' :
    "<table><tr><th>When</th><th>From</th><th>Why</th></tr>" + items.map((x) =>
      "<tr><td>" + esc(when(x.atMs)) + "</td><td>" + esc(x.origin === "receipt" ? "a message from Virtuous" : "a change being processed") + "</td><td><code>" + esc(String(x.error).split(":")[0]) + "</code></td></tr>").join("") + "</table>";
}
function decisionRow(d, withRecord = true) {
  const e = d.explanation || explain(d.reason);
  return "<tr><td>" + esc(when(d.atMs)) + "</td>" + (withRecord ? "<td>" + esc(d.recordKey || "") + "</td>" : "") + '<td class="tone-' + e.tone + '">' + esc(e.text) + "</td><td><code>" + esc(d.reason) + "</code></td></tr>";
}
function renderDecisions(list) {
  $("decisions").innerHTML = !list.length ? '<p class="empty">Nothing yet.</p>' :
    "<table><tr><th>When</th><th>Record</th><th>What happened</th><th>Code</th></tr>" + list.map((d) => decisionRow(d)).join("") + "</table>";
}
$("lookup-form").onsubmit = async (e) => {
  e.preventDefault();
  const q = $("lookup-id").value.trim();
  if (!q) return;
  try {
    const t = await api("/customers/" + enc(cid()) + "/records?id=" + enc(q) + ($("lookup-kind").value ? "&kind=" + enc($("lookup-kind").value) : ""));
    $("timeline").innerHTML = '<p id="timeline-summary"><b>' + esc(t.recordKey) + "</b> · Virtuous #" + esc(t.virtuousId ?? "—") + " · your platform: " + esc(t.partnerId ?? "—") +
      " · state: <code>" + esc(t.state) + "</code>" + (t.stuck ? " · <b class=tone-act>stuck</b>" : "") + "</p>" +
      "<table><tr><th>When</th><th>What happened</th><th>Code</th></tr>" + t.entries.slice().reverse().map((d) => decisionRow(d, false)).join("") + "</table>";
  } catch (err) {
    $("timeline").innerHTML = '<p class="tone-act">' + esc(err.body?.error === "unknown-record" ? "No record found for " + q + "." : "Could not look it up: " + err.message) + "</p>";
  }
};
$("pause").onclick = async () => { await api("/customers/" + enc(cid()) + "/pause", { method: "POST" }); refresh(); };
$("resume").onclick = async () => { $("resume").disabled = true; await api("/customers/" + enc(cid()) + "/resume", { method: "POST" }); refresh(); };

async function refresh() {
  const id = cid();
  if (!id) return;
  const [s, c, d, dl] = await Promise.all([
    api("/customers/" + enc(id) + "/status"),
    api("/customers/" + enc(id) + "/conflicts"),
    api("/customers/" + enc(id) + "/decisions?limit=25"),
    api("/customers/" + enc(id) + "/dead-letters"),
  ]);
  const list = await api("/customers");
  renderHealth(s, (list.customers.find((x) => x.customerId === id) || {}).health || { level: "healthy", text: "" });
  renderConflicts(c.conflicts);
  renderStuck(s);
  renderVolunteer(s);
  renderRaise(s);
  renderDead(dl.items);
  renderDecisions(d.decisions);
  $("updated").textContent = "Updated " + new Date().toLocaleTimeString();
  document.body.dataset.loaded = "1";
}
async function boot() {
  try {
    const list = await api("/customers");
    const want = new URLSearchParams(location.search).get("customer");
    $("customer").innerHTML = list.customers.map((c) => "<option>" + esc(c.customerId) + "</option>").join("");
    if (want) $("customer").value = want;
    $("customer").onchange = refresh;
    await refresh();
  } catch (e) {
    if (e.message !== "unauthorized") $("health").textContent = "Could not load the status: " + e.message;
  }
}
boot();
setInterval(() => { if (!document.hidden) refresh().catch(() => {}); }, 15000);
</script>
</body>
</html>
`;
