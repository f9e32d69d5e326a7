// Runs one vector case against an API object { SyncCore, verifySignature, signBody, generateSecret }.
// Runtime-agnostic (plain ES2022, no Node APIs): the Node runner and the workerd worker (tests/edge) share it.
// Families: the top-level files (receive, verifySignature, signBody, newCore), sync/ (decideInbound, ...) and
// reconcile/ (planReconciliation, initialMatcher, rateBudget, ...). Every op goes through the public API a host
// uses: SyncCore methods, the InitialMatcher and RateBudget classes, the free functions.

/** The raw bytes of a vector body: {utf8} | {base64} | {hex} | {repeat: {utf8|base64|hex, count}}. */
export function decodeBody(spec) {
  if (spec === undefined || spec === null) return new Uint8Array(0);
  if (typeof spec !== "object") throw new Error(`bad body spec: ${JSON.stringify(spec)}`);
  if ("utf8" in spec) return new TextEncoder().encode(spec.utf8);
  if ("base64" in spec) return fromBase64(spec.base64);
  if ("hex" in spec) return fromHex(spec.hex);
  if ("repeat" in spec) {
    const unit = decodeBody({ ...spec.repeat, count: undefined });
    const count = spec.repeat.count;
    const out = new Uint8Array(unit.length * count);
    for (let i = 0; i < count; i++) out.set(unit, i * unit.length);
    return out;
  }
  throw new Error(`bad body spec: ${JSON.stringify(spec)}`);
}

function fromHex(hex) {
  if (hex.length % 2) throw new Error("odd hex body");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function fromBase64(b64) {
  const bin = atob(b64.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Vector header pairs as Node's IncomingHttpHeaders-like plain object: a repeated name becomes a string[]
 * (so that shape is exercised); order of first appearance kept.
 */
export function pairsToObject(pairs) {
  const out = {};
  for (const [name, value] of pairs ?? []) {
    if (!Object.prototype.hasOwnProperty.call(out, name)) out[name] = value;
    else if (Array.isArray(out[name])) out[name].push(value);
    else out[name] = [out[name], value];
  }
  return out;
}

/**
 * `call(bytes)` of the case's body; a body given as text is also passed as that JS string, which must give the same
 * result, its record included (the glues encode a string into wasm themselves and keep it for the lazy
 * `event.resource`: scripts/post-glue.mjs). A difference, or a throw of one form only, fails the case.
 */
function sameForText(i, ctx, call) {
  const bytes = ctx.body ?? decodeBody(i.body);
  const text = ctx.body === undefined && typeof i.body?.utf8 === "string" ? i.body.utf8 : undefined;
  if (text === undefined) return call(bytes);
  const attempt = (body) => {
    try {
      return { value: call(body) };
    } catch (error) {
      return { error };
    }
  };
  const show = (o) => (o.error ? `a throw: ${o.error?.name} ${o.error?.code} ${o.error?.message}` : JSON.stringify(o.value));
  const fromBytes = attempt(bytes);
  const fromText = attempt(text);
  if (show(fromBytes) !== show(fromText)) {
    throw new Error(`the body as a string gave ${show(fromText)}; as bytes ${show(fromBytes)}`);
  }
  if (fromBytes.error) throw fromBytes.error;
  return fromBytes.value;
}

/** verifySignature options: the input's nowMs goes inside options unless options already has one. */
function verifyOptions(i) {
  if (i.nowMs === undefined) return i.options;
  const options = { ...(i.options ?? {}) };
  if (options.nowMs === undefined) options.nowMs = i.nowMs;
  return options;
}

/**
 * The ops. Each takes (api, case, context) and returns the value to match against `expect`; a case's arguments
 * are its `input` (the one schema of every vector file: tests/vectors/README.md).
 * context.headers, when given, overrides how headers are passed (the edge worker hands over a real Fetch Headers).
 */
export const OPS = {
  receive(api, { input: i }, ctx = {}) {
    const core = new api.SyncCore(i.config);
    try {
      const headers = ctx.headers ?? pairsToObject(i.headers);
      return sameForText(i, ctx, (body) => core.receive(body, headers, i.nowMs));
    } finally {
      core.free?.();
    }
  },
  newCore(api, { input: i }) {
    const core = new api.SyncCore(i.config);
    core.free?.();
    return {};
  },
  verifySignature(api, { input: i }, ctx = {}) {
    return sameForText(i, ctx, (body) => api.verifySignature(body, i.headerValue, i.secrets, verifyOptions(i)));
  },
  signBody(api, { input: i }, ctx = {}) {
    return sameForText(i, ctx, (body) => api.signBody(body, i.secret, i.options));
  },

  // sync/: the options-taking decisions through a SyncCore configured from the case's options.
  lookupKeys(api, c) {
    return withSyncCore(api, c.input.options, (core) => core.lookupKeys(c.input.event));
  },
  decideInbound(api, c) {
    const { event, record, nowMs } = c.input;
    return withSyncCore(api, c.input.options, (core) => core.decideInbound(event, record ?? null, nowMs));
  },
  decideOutbound(api, c) {
    const { record, change, nowMs } = c.input;
    return withSyncCore(api, c.input.options, (core) => core.decideOutbound(record ?? null, change, nowMs));
  },
  resolve(api, c) {
    return withSyncCore(api, c.input.options, (core) => core.resolve(c.input.input));
  },
  resolveConflict(api, c) {
    const { record, choices, nowMs } = c.input;
    return withSyncCore(api, c.input.options, (core) => core.resolveConflict(record, choices, nowMs));
  },
  transition(api, c) {
    return api.transition(c.input.record, c.input.trigger, c.input.nowMs);
  },

  // reconcile/
  planReconciliation(api, c) {
    // The core's `sync` section is the reconciliation's options (field maps, policy, pendingExpiryMs).
    const { options, ...input } = c.input;
    return withSyncCore(api, options, (core) => core.planReconciliation(input));
  },
  initialMatcher(api, c) {
    const m = new api.InitialMatcher(c.input.seed === undefined ? undefined : { seed: c.input.seed });
    try {
      for (const chunk of c.input.chunks ?? []) {
        // `text`: the compact form, the records array's JSON text fed as it is.
        const records = chunk.text ?? chunk.records ?? [];
        if (chunk.side === "partner") m.addPartnerChunk(records);
        else if (chunk.side === "virtuous") m.addVirtuousChunk(records);
        else throw new Error(`bad chunk side ${JSON.stringify(chunk.side)}`);
      }
      return m.finish();
    } finally {
      m.free?.();
    }
  },
  rateBudget(api, c) {
    // Mirrors ratelimit::run_rate_script: one budget, the steps in order, decide/schedule answers collected.
    let budget = new api.RateBudget(c.input.config ?? {});
    try {
      const decisions = [];
      const slices = [];
      for (const { tag, val } of c.input.steps ?? []) {
        if (tag === "observe") budget.observe(val);
        else if (tag === "spend") budget.spend(val);
        else if (tag === "decide") decisions.push(budget.decide(val));
        else if (tag === "schedule") slices.push(budget.schedule(val.remainingRequests, val.nowMs));
        else if (tag === "reload") {
          // What a stateless host does between requests: store the JSON, load it back.
          const stored = JSON.parse(JSON.stringify(budget.toJSON()));
          budget.free?.();
          budget = api.RateBudget.fromJSON(stored);
        }
        else throw new Error(`bad rate step ${JSON.stringify(tag)}`);
      }
      return { decisions, slices, budget: budget.toJSON() };
    } finally {
      budget.free?.();
    }
  },
  queryScript(api, c) {
    // Mirrors cursor::run_query_script: consecutive runs over fixed pages, each from the cursor the last one stored.
    let cursor = c.input.cursor ?? {};
    const runs = [];
    for (const { pages } of c.input.runs ?? []) {
      let step = api.startQueryRun({ cursor, config: c.input.config ?? {} });
      const requests = step.request === undefined ? [] : [step.request];
      const results = [];
      const freshIds = [];
      for (const rows of pages ?? []) {
        step = api.acceptQueryPage({ run: step.run, rows });
        if (step.page.next !== undefined) requests.push(step.page.next);
        freshIds.push(...step.page.freshIds);
        results.push(step.page);
      }
      const out = { requests, pages: results, freshIds };
      if (step.run.done) out.cursor = cursor = api.finishQueryRun(step.run);
      runs.push(out);
    }
    return { runs };
  },
  volunteerPollScript(api, c) {
    // Mirrors tests/common/scripted.rs run_volunteer_script: consecutive Volunteer polls over fixed bodies.
    const i = c.input;
    let cursor = i.cursor;
    const runs = [];
    for (const { pages } of i.runs ?? []) {
      const start = { resource: i.resource };
      if (i.mode !== undefined) start.mode = i.mode;
      if (i.config !== undefined) start.config = i.config;
      if (cursor !== undefined) start.cursor = cursor;
      let step = api.startVolunteerPoll(start);
      const urls = step.request === undefined ? [] : [step.request.url];
      const results = [];
      const changeIds = [];
      for (const body of pages ?? []) {
        step = api.acceptVolunteerPage({ run: step.run, body });
        if (step.request !== undefined) urls.push(step.request.url);
        changeIds.push(...step.page.changes.map((ch) => ch.id));
        results.push(step.page);
      }
      const out = { urls, pages: results, changeIds };
      if (step.run.done) {
        out.end = api.finishVolunteerPoll(step.run);
        cursor = out.end.cursor;
      }
      runs.push(out);
    }
    return { runs };
  },
  mergeSubscription(api, c) {
    return api.mergeSubscription(c.input.current, c.input.change);
  },
  parseModifiedTime(api, c) {
    return api.parseModifiedTime(c.input.text);
  },
};
/** Free functions that take the case's `input` object as their single argument. */
export const INPUT_OBJECT_OPS = [
  "startQueryRun",
  "acceptQueryPage",
  "finishQueryRun",
  "planMergeRemap",
  "planDeletions",
  "planPause",
  "planResume",
  "planSecretRotation",
  "pricePlan",
  "classifyResponse",
  "mergeRaiseSubscription",
  "planRaiseSubscription",
  "learnRaiseEventTypes",
  "summarizeRaiseDeliveryLogs",
  "startVolunteerPoll",
  "acceptVolunteerPage",
  "finishVolunteerPoll",
  "volunteerBudget",
  "planVolunteerDeletions",
];
for (const name of INPUT_OBJECT_OPS) {
  OPS[name] = (api, c) => api[name](c.input);
}

/** A dummy webhook secret (the receive side is not exercised by the sync ops, but the config requires one). */
export const DUMMY_SECRET = "dummy-secret-for-sync-vectors-0123456789";

/**
 * Runs `fn` with a SyncCore configured from vector sync options: `{secrets, platformName: options.platformName,
 * sync: options minus platformName}` (no `sync` section when `options` is undefined).
 */
export function withSyncCore(api, options, fn) {
  const config = { secrets: [DUMMY_SECRET], platformName: options?.platformName ?? "vectors" };
  if (options !== undefined) {
    const { platformName, ...sync } = options;
    config.sync = sync;
  }
  const core = new api.SyncCore(config);
  try {
    return fn(core);
  } finally {
    core.free?.();
  }
}

/**
 * Runs a case and returns { value } or { error: { isError, name, code, field, message } }, never throws for a
 * thrown VirtuousSyncError (that is data to compare), only for an unknown op.
 */
export function runCase(api, c, ctx) {
  const op = OPS[c.op];
  if (!op) throw new Error(`no JS runner for op ${JSON.stringify(c.op)} (case ${c.name})`);
  try {
    return { value: op(api, c, ctx) };
  } catch (e) {
    return {
      error: {
        isError: e instanceof Error,
        // The package's exported class, when the API object has one (every entry does).
        isVirtuousSyncError: typeof api.VirtuousSyncError === "function" ? e instanceof api.VirtuousSyncError : undefined,
        name: e?.name,
        code: e?.code,
        field: e?.field,
        message: String(e?.message ?? e),
      },
    };
  }
}
