// The Volunteer (VOMO) poller: the core's polling decisions (startVolunteerPoll / acceptVolunteerPage /
// finishVolunteerPoll, volunteerBudget, planVolunteerDeletions) driven over real HTTP. docs/products/volunteer.md.
//
// Units of work and their guarantees:
//   poll      per customer and resource (users, projects, participations), every 15–30 min: GET pages from the stored
//             cursor (kv `volunteer-cursor:<resource>`) → each changed row into the same inbox as webhooks (dedupe key
//             `volunteer:<resource>:<id>:<updated_at>`, so a row re-read in the overlap is not processed twice, and the
//             inbox serialises per record) → the cursor is stored only after the resource's last page
//   full      daily: the same with mode "full" (every row) → ids the scan did not list become deletion candidates →
//             planVolunteerDeletions (two-phase tombstones in kv `volunteer-tombstones:<resource>`, the breaker) →
//             confirming GET /v1/<resource>/<id> lookups; a confirmed deletion tombstones the Volunteer link (a delete
//             event into the inbox) and is put in the review queue (nothing is deleted on the partner side without a
//             person)
//   budget    every request asks volunteerBudget first (kv `volunteer-budget`): a paced start, Retry-After or backoff
//             after a 429, a pace learned from 429s
import { startVolunteerPoll, acceptVolunteerPage, finishVolunteerPoll, volunteerBudget, planVolunteerDeletions } from "virtuous-sync";
import { randomBytes } from "node:crypto";
import { HostError } from "./errors.mjs";

const MINUTE = 60_000;
export const VOLUNTEER_DEFAULTS = Object.freeze({
  baseUrl: "https://api.vomo.org/v1",
  pollEveryMs: 15 * MINUTE,
  pollMinMs: 15 * MINUTE,
  pollMaxMs: 30 * MINUTE,
  fullEveryMs: 24 * 60 * MINUTE,
  resources: ["users", "projects", "participations"],
  maxWaitMs: 5 * MINUTE,
  maxAttempts: 6,
});
const RESOURCES = new Set(VOLUNTEER_DEFAULTS.resources);
const KIND = { users: "contact", projects: "project", participations: "participation" };
const VOMO_TYPE = { users: "user", projects: "project", participations: "participation" };
const randomU32 = () => randomBytes(4).readUInt32LE(0);

/**
 * Checks a customer's `volunteer` settings: `{token, baseUrl?, pollEveryMs? (15–30 min), fullEveryMs?, resources?,
 * poll? (the core's VolunteerPollConfig less baseUrl), budget? (VolunteerBudgetConfig), breaker?, confirmAfterMs?}`.
 */
export function checkVolunteerSettings(v) {
  if (v == null) return;
  if (typeof v !== "object") throw new HostError("invalid-setting", "volunteer must be an object");
  if (typeof v.token !== "string" || v.token === "") throw new HostError("invalid-setting", "volunteer.token is required");
  volunteerInterval(v.pollEveryMs);
  if (v.fullEveryMs != null && !(Number.isFinite(v.fullEveryMs) && v.fullEveryMs >= 60 * MINUTE))
    throw new HostError("invalid-setting", "volunteer.fullEveryMs must be at least an hour");
  for (const r of v.resources ?? []) if (!RESOURCES.has(r)) throw new HostError("invalid-setting", `volunteer.resources: unknown ${r}`);
  // The core validates the rest (base URL, overlap, tolerance, budget) with typed errors.
  startVolunteerPoll({ resource: "users", config: pollConfig(v) });
  volunteerBudget({ config: v.budget ?? {} });
}

/** The polling interval the docs recommend: 15–30 minutes per resource (default 15). */
export function volunteerInterval(ms) {
  if (ms == null) return VOLUNTEER_DEFAULTS.pollEveryMs;
  if (!Number.isFinite(ms) || ms < VOLUNTEER_DEFAULTS.pollMinMs || ms > VOLUNTEER_DEFAULTS.pollMaxMs)
    throw new HostError("invalid-setting", "volunteer.pollEveryMs must be between 15 and 30 minutes");
  return ms;
}

function pollConfig(v) {
  return { ...(v.poll ?? {}), baseUrl: v.baseUrl ?? VOLUNTEER_DEFAULTS.baseUrl };
}

/**
 * The normalised inbound event for one changed row (users → contact, projects → project, participations), shaped as
 * the `vomo` receiver shapes a webhook's: `product: "volunteer"`, the VOMO type (`user.updated`) and the action, so
 * the core looks it up on its Volunteer link and decides it under `sync.products.volunteer` (docs/sync.md).
 */
export function volunteerEvent(resource, change, row) {
  const kind = KIND[resource];
  const action = change.action === "create" ? "create" : "update";
  const type = `${VOMO_TYPE[resource]}.${action === "create" ? "created" : "updated"}`;
  const event = { product: "volunteer", action, productEventType: type, rawEventType: type, resourceKind: kind, resourceId: change.id, resource: row };
  if (change.updatedAt !== undefined) event.modifiedDateTimeUtc = change.updatedAt;
  return event;
}

export class VolunteerPoller {
  /** @param {import("./host.mjs").Host} host */
  constructor(host) {
    this.host = host;
  }

  get store() {
    return this.host.store;
  }

  /** One poll of every configured resource (mode "incremental", or "full" for the reconciliation). */
  async poll(customerId, { mode = "incremental" } = {}) {
    const c = await this.host.customer(customerId);
    if (!c) throw new HostError("unknown-customer", customerId);
    const v = c.settings.volunteer;
    if (!v) throw new HostError("invalid-setting", "the customer has no volunteer settings");
    const status = (await this.store.kvGet(customerId, "volunteer-poll")) ?? { resources: {} };
    const summary = { mode, startedMs: this.host.now(), resources: {}, fed: 0 };
    for (const resource of v.resources ?? VOLUNTEER_DEFAULTS.resources) {
      try {
        const r = await this.#pollResource(c, v, resource, mode);
        summary.resources[resource] = r;
        summary.fed += r.fed;
        status.resources[resource] = { ...(status.resources[resource] ?? {}), ...r, lastError: undefined, [mode === "full" ? "lastFullMs" : "lastPollMs"]: this.host.now() };
      } catch (err) {
        status.resources[resource] = { ...(status.resources[resource] ?? {}), lastError: String(err?.message ?? err), lastErrorMs: this.host.now() };
        summary.resources[resource] = { error: String(err?.message ?? err) };
      }
    }
    summary.finishedMs = this.host.now();
    const every = volunteerInterval(v.pollEveryMs);
    if (mode === "full") status.nextFullDueMs = summary.finishedMs + (v.fullEveryMs ?? VOLUNTEER_DEFAULTS.fullEveryMs);
    status.nextPollDueMs = summary.finishedMs + every;
    status.last = summary;
    await this.store.kvPut(customerId, "volunteer-poll", status);
    if (summary.fed) this.host.kick();
    return summary;
  }

  async #pollResource(c, v, resource, mode) {
    const customerId = c.customerId;
    const key = `volunteer-cursor:${resource}`;
    const cursor = (await this.store.kvGet(customerId, key)) ?? undefined;
    // The host clock at the start caps the cursor: a row updated while pages shift under the run is read next time.
    let step = startVolunteerPoll({ resource, mode, config: pollConfig(v), startedMs: this.host.now(), ...(cursor ? { cursor } : {}) });
    const out = { pages: 0, changes: 0, fed: 0, duplicates: 0, restarts: 0, issues: 0 };
    const seen = mode === "full" ? new Set() : null;
    while (step.request) {
      const body = await this.#get(c, v, step.request.url);
      step = acceptVolunteerPage({ run: step.run, body });
      out.pages++;
      out.duplicates += step.page.duplicates;
      out.issues += step.page.issues.length;
      if (step.page.restart) out.restarts++;
      if (seen) for (const row of body.data) if (row?.id != null) seen.add(String(row.id));
      for (const ch of step.page.changes) {
        out.changes++;
        const row = body.data[ch.position];
        const event = volunteerEvent(resource, ch, row);
        const dedupeKey = `volunteer:${resource}:${ch.id}:${ch.updatedAt ?? "undated"}`;
        const r = await this.store.inboxInsert({ customerId, dedupeKey, receivedMs: this.host.now(), origin: "volunteer-poll", event });
        if (r.inserted) out.fed++;
        if (seen === null) await this.#remember(customerId, resource, [ch.id]);
      }
    }
    const end = finishVolunteerPoll(step.run);
    await this.store.kvPut(customerId, key, end.cursor);
    out.highWaterMs = end.cursor.highWaterMs;
    out.advanced = end.advanced;
    if (seen) {
      await this.#remember(customerId, resource, [...seen]);
      out.deletions = await this.#deletions(c, v, resource, end.scan, seen);
    }
    return out;
  }

  /** The ids this customer's Volunteer organisation is known to hold (what a full scan's absences are read against). */
  async #remember(customerId, resource, ids) {
    const key = `volunteer-known:${resource}`;
    const known = new Set((await this.store.kvGet(customerId, key)) ?? []);
    const n = known.size;
    for (const id of ids) known.add(String(id));
    if (known.size !== n) await this.store.kvPut(customerId, key, [...known]);
  }

  async #deletions(c, v, resource, scan, seen) {
    const customerId = c.customerId;
    const now = this.host.now();
    const knownKey = `volunteer-known:${resource}`;
    const tombKey = `volunteer-tombstones:${resource}`;
    const known = (await this.store.kvGet(customerId, knownKey)) ?? [];
    const tombs = (await this.store.kvGet(customerId, tombKey)) ?? {};
    const candidates = known.filter((id) => !seen.has(id)).map((id) => ({ virtuousId: id, signal: "absent-from-full-scan", observedAtMs: now, ...(tombs[id] ? { pending: tombs[id] } : {}) }));
    // A tombstoned id the scan listed again lives.
    for (const id of Object.keys(tombs)) if (seen.has(id)) delete tombs[id];
    const counts = { candidates: candidates.length, pending: 0, confirmed: 0, cleared: 0, held: 0 };
    if (!candidates.length) {
      await this.store.kvPut(customerId, tombKey, tombs);
      return counts;
    }
    const input = { resource, scan, candidates, totalRecords: Math.max(known.length, 1), baseUrl: v.baseUrl ?? VOLUNTEER_DEFAULTS.baseUrl, ...(v.breaker ? { breaker: v.breaker } : {}), ...(v.confirmAfterMs != null ? { confirmAfterMs: v.confirmAfterMs } : {}) };
    let plan = planVolunteerDeletions(input);
    if (plan.plan.halted) {
      await this.store.kvPut(customerId, "volunteer-breaker", { atMs: now, resource, verdict: plan.plan.breaker });
      await this.store.addReview(customerId, "mass-change-breaker", { product: "volunteer", resource, verdict: plan.plan.breaker }, now);
      counts.held = plan.plan.decisions.filter((d) => d.action === "held").length;
      await this.store.kvPut(customerId, tombKey, tombs);
      return counts;
    }
    // Phase 2: look up what is due; 404 confirms, 200 clears.
    const second = [];
    for (const d of plan.plan.decisions) {
      if (d.action === "mark-pending" || d.action === "keep-pending") {
        tombs[d.virtuousId] = d.pending;
        counts.pending++;
      }
    }
    for (const l of plan.lookups) {
      const res = await this.#request(c, v, l.url);
      const pending = tombs[l.virtuousId] ?? plan.plan.decisions.find((d) => d.virtuousId === l.virtuousId)?.pending;
      if (res.status === 404) second.push({ virtuousId: l.virtuousId, signal: "not-found-on-lookup", observedAtMs: this.host.now(), pending });
      else if (res.status === 200) second.push({ virtuousId: l.virtuousId, signal: "found-on-lookup", observedAtMs: this.host.now(), pending });
    }
    if (second.length) {
      const { scan: _scan, ...rest } = input;
      plan = planVolunteerDeletions({ ...rest, candidates: second });
      if (plan.plan.halted) {
        await this.store.addReview(customerId, "mass-change-breaker", { product: "volunteer", resource, verdict: plan.plan.breaker }, now);
        counts.held += plan.plan.decisions.filter((d) => d.action === "held").length;
      } else {
        const stillKnown = new Set(known);
        for (const d of plan.plan.decisions) {
          if (d.action === "confirm-delete") {
            delete tombs[d.virtuousId];
            stillKnown.delete(d.virtuousId);
            counts.confirmed++;
            await this.store.addReview(customerId, "volunteer-deleted", { product: "volunteer", resource, kind: KIND[resource], virtuousId: d.virtuousId }, now);
            // The link is tombstoned (the core's delete on a Volunteer link: `ignore`, reason `deleted`), so a late
            // change of the deleted row is never applied; the partner record stays for the person to decide.
            const event = { product: "volunteer", action: "delete", productEventType: `${VOMO_TYPE[resource]}.deleted`, rawEventType: `${VOMO_TYPE[resource]}.deleted`, resourceKind: KIND[resource], resourceId: d.virtuousId, modifiedDateTimeUtc: new Date(this.host.now()).toISOString() };
            await this.store.inboxInsert({ customerId, dedupeKey: `volunteer:${resource}:${d.virtuousId}:deleted`, receivedMs: this.host.now(), origin: "volunteer-poll", event });
          } else if (d.action === "clear-tombstone" || d.action === "no-action") {
            delete tombs[d.virtuousId];
            counts.cleared++;
          }
        }
        await this.store.kvPut(customerId, knownKey, [...stillKnown]);
      }
    }
    await this.store.kvPut(customerId, tombKey, tombs);
    return counts;
  }

  /** One budgeted GET that must answer 200 with a JSON body (429 and 5xx are waited out and retried). */
  async #get(c, v, url) {
    for (let attempt = 1; ; attempt++) {
      const res = await this.#request(c, v, url);
      if (res.status === 200 && res.json !== undefined) return res.json;
      const retriable = res.status === 429 || res.status == null || res.status >= 500;
      if (!retriable || attempt >= VOLUNTEER_DEFAULTS.maxAttempts)
        throw new HostError("poll-failed", `GET ${new URL(url).pathname}: status ${res.status ?? res.error}`);
    }
  }

  /** Waits for the budget, sends, and feeds the answer back to the budget. */
  async #request(c, v, url) {
    const customerId = c.customerId;
    for (;;) {
      const now = this.host.now();
      let state = (await this.store.kvGet(customerId, "volunteer-budget")) ?? undefined;
      // Settings changed since the state was stored: start from the new ones (what was learned goes with the old).
      // (Field by field: a JSON store such as PostgreSQL's jsonb does not keep key order.)
      const want = volunteerBudget({ config: v.budget ?? {} }).state.config;
      if (state && Object.keys(want).some((k) => state.config?.[k] !== want[k])) state = undefined;
      const ask = { nowMs: now, random: randomU32() };
      const r = volunteerBudget({ ...(state ? { state } : { config: v.budget ?? {} }), steps: [{ tag: "decide", val: ask }] });
      const d = r.decisions[0];
      if (d.go) {
        await this.store.kvPut(customerId, "volunteer-budget", volunteerBudget({ state: r.state, steps: [{ tag: "spend", val: ask }] }).state);
        break;
      }
      if (d.waitMs > VOLUNTEER_DEFAULTS.maxWaitMs) throw new HostError("budget", `${d.reason}: wait ${d.waitMs} ms`);
      await new Promise((res) => setTimeout(res, d.waitMs));
    }
    let res;
    try {
      const r = await this.host.fetch.call(globalThis, url, { headers: { accept: "application/json", authorization: `Bearer ${v.token}` }, signal: AbortSignal.timeout(30_000) });
      const text = await r.text().catch(() => "");
      let json;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      const h = (n) => r.headers.get(n) ?? undefined;
      res = { status: r.status, json, headers: { limit: h("x-ratelimit-limit"), remaining: h("x-ratelimit-remaining"), reset: h("x-ratelimit-reset"), retryAfter: h("retry-after") } };
    } catch (e) {
      res = { status: null, headers: {}, error: e?.name === "TimeoutError" ? "timeout" : "network" };
    }
    const state = await this.store.kvGet(customerId, "volunteer-budget");
    const obs = { nowMs: this.host.now(), random: randomU32(), headers: Object.fromEntries(Object.entries(res.headers).filter(([, x]) => x !== undefined)), ...(res.status == null ? {} : { status: res.status }) };
    await this.store.kvPut(customerId, "volunteer-budget", volunteerBudget({ state, steps: [{ tag: "observe", val: obs }] }).state);
    return res;
  }

  /** Polls every unpaused customer with volunteer settings whose poll (or full reconciliation) is due. */
  async pollDue() {
    const now = this.host.now();
    let n = 0;
    for (const id of await this.store.listCustomers()) {
      const c = await this.host.customer(id);
      if (!c || c.pausedAtMs != null || !c.settings.volunteer) continue;
      const st = (await this.store.kvGet(id, "volunteer-poll")) ?? {};
      const full = st.nextFullDueMs == null || st.nextFullDueMs <= now;
      if (!full && st.nextPollDueMs != null && st.nextPollDueMs > now) continue;
      try {
        await this.poll(id, { mode: full ? "full" : "incremental" });
        n++;
      } catch (err) {
        this.host.log("volunteer-poll-failed", { customerId: id, error: String(err?.message ?? err) });
      }
    }
    return n;
  }

  /** The status model's `volunteer` part: per resource cursor, lag and last run; the budget. */
  async status(customerId, settings) {
    const now = this.host.now();
    const st = (await this.store.kvGet(customerId, "volunteer-poll")) ?? { resources: {} };
    const resources = {};
    for (const r of settings.resources ?? VOLUNTEER_DEFAULTS.resources) {
      const cur = await this.store.kvGet(customerId, `volunteer-cursor:${r}`);
      const s = st.resources?.[r] ?? {};
      const tombs = (await this.store.kvGet(customerId, `volunteer-tombstones:${r}`)) ?? {};
      resources[r] = {
        highWaterMs: cur?.highWaterMs,
        lagMs: cur?.highWaterMs != null ? now - cur.highWaterMs : undefined,
        boundaryIds: cur?.boundaryIds?.length ?? 0,
        lastPollMs: s.lastPollMs,
        lastFullMs: s.lastFullMs,
        lastChanges: s.changes,
        restarts: s.restarts,
        pendingTombstones: Object.keys(tombs).length,
        lastError: s.lastError,
      };
    }
    const b = await this.store.kvGet(customerId, "volunteer-budget");
    return {
      pollEveryMs: volunteerInterval(settings.pollEveryMs),
      nextPollDueMs: st.nextPollDueMs,
      nextFullDueMs: st.nextFullDueMs,
      resources,
      budget: b ? { requestsPerMinute: b.requestsPerMinute, configuredPerMinute: b.config.requestsPerMinute, throttled: b.throttled, blockedUntilMs: b.limits?.blockedUntilMs } : undefined,
      breaker: (await this.store.kvGet(customerId, "volunteer-breaker")) ?? undefined,
    };
  }
}
