// Runs the shared vectors (tests/vectors/*.json) against the jco-transpiled component
// (build/component/js, made by scripts/build-component).
//
// The vectors are written in the JS API's shapes; WIT is typed, so this adapter translates them into
// jco's rendering of the WIT types (records camelCase, variants {tag, val}, option -> undefined,
// s64 -> BigInt, `result` errors thrown as ComponentError with .payload), and the results back into
// the contract's JS shapes (resourceJson -> resource, signed headers -> object). A vector input that
// WIT's types cannot express at all (a number where WIT has a string, an unknown key, a missing
// required field) is reported as unrepresentable and skipped: the type system rules that mistake out.
//
// The `sync` family (tests/vectors/sync/) crosses typed WIT: each case's input object becomes the
// named function's arguments and the typed result becomes the npm shape again, both directed by the
// WIT types (wit-values.mjs; the same convention as test_wasmtime.py). The `reconcile` family
// (tests/vectors/reconcile/) still crosses as JSON text: the input object as text, the result text
// parsed. `initialMatcher` and `rateBudget` cases drive the `initial-matcher` and `rate-budget`
// resources call by call. Everything is then deep-subset matched.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { decodeBody } from "../js/support/ops.mjs";
import { subsetMismatches } from "../js/support/match.mjs";
import { ROOT } from "../js/support/vectors.mjs";
import { Unrepresentable, loadWit } from "./wit-values.mjs";

export { subsetMismatches };

export const COMPONENT_JS = join(ROOT, "build", "component", "js", "virtuous_sync.js");

/** Vector folders the component runs: the same families as the npm runner ("" = the top-level files). */
export { FAMILY_DIRS as COMPONENT_FAMILIES, loadVectorFiles } from "../js/support/vectors.mjs";

/** The component's three exports, instantiated once for the whole process, and its WIT types. */
export async function loadComponent() {
  if (!existsSync(COMPONENT_JS)) throw new Error(`${COMPONENT_JS} missing: run scripts/build-component`);
  const mod = await import(COMPONENT_JS);
  return { receiver: mod.receiver, sync: mod.sync, reconcile: mod.reconcile, wit: loadWit() };
}

/** The component's `virtuous:sync/receiver` export. */
export async function loadReceiver() {
  return (await loadComponent()).receiver;
}

export { Unrepresentable };
/** The WIT types, for the receiver's enums (loaded lazily: build/component/wit.json). */
let WIT;
const wit = () => (WIT ??= loadWit());
/** A case of a `receiver` or `types` enum, checked against the WIT. */
function en(name, iface = "receiver") {
  return (v, path) => wit().toWit(wit().named(iface, name), v, path);
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const absent = (v) => v === undefined || v === null;
const nope = (path, why) => {
  throw new Unrepresentable(`${path}: ${why}`);
};

function onlyKeys(obj, path, keys) {
  for (const k of Object.keys(obj)) if (!keys.includes(k)) nope(`${path}.${k}`, "no such field in the WIT record");
}
function str(v, path) {
  return typeof v === "string" ? v : nope(path, `${JSON.stringify(v)} where WIT has a string`);
}
function bool(v, path) {
  return typeof v === "boolean" ? v : nope(path, `${JSON.stringify(v)} where WIT has a bool`);
}
function u32(v, path) {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : nope(path, `${JSON.stringify(v)} where WIT has a u32`);
}
function s64(v, path) {
  return Number.isSafeInteger(v) ? BigInt(v) : nope(path, `${JSON.stringify(v)} where WIT has an s64`);
}
function list(v, path, item) {
  return Array.isArray(v) ? v.map((x, i) => item(x, `${path}[${i}]`)) : nope(path, "not a list");
}
const opt = (v, path, conv) => (absent(v) ? undefined : conv(v, path));
function required(obj, key, path) {
  return absent(obj[key]) ? nope(`${path}.${key}`, "required by the WIT record") : obj[key];
}

/** SecretLike -> WIT `secret`. */
export function secret(v, path = "secret") {
  if (typeof v === "string") return { secret: v };
  if (!isObject(v)) nope(path, "a secret is a string or a record");
  onlyKeys(v, path, ["id", "secret", "notAfter"]);
  return {
    id: opt(v.id, `${path}.id`, str),
    secret: str(required(v, "secret", path), `${path}.secret`),
    notAfter: opt(v.notAfter, `${path}.notAfter`, s64),
  };
}

/** PresetName | SchemeObject -> WIT `scheme-spec`. */
export function schemeSpec(v, path = "scheme") {
  if (typeof v === "string") return { tag: "preset", val: en("preset")(v, path) };
  if (!isObject(v)) nope(path, "a scheme is a preset name or a record");
  const keys = ["preset", "headers", "encoding", "prefix", "prefixRequired", "format", "version",
    "signedContent", "timestampHeader", "idHeader", "tolerance", "secretFormat"];
  onlyKeys(v, path, keys);
  const s = {};
  for (const k of keys) {
    const p = `${path}.${k}`;
    if (k === "headers") s[k] = opt(v[k], p, (x) => list(x, p, str));
    else if (ENUMS[k]) s[k] = opt(v[k], p, en(ENUMS[k]));
    else if (k === "prefixRequired") s[k] = opt(v[k], p, bool);
    else if (k === "tolerance") {
      s[k] = opt(v[k], p, (t) => {
        if (!isObject(t)) nope(p, "not a record");
        onlyKeys(t, p, ["pastSeconds", "futureSeconds"]);
        return { pastSeconds: opt(t.pastSeconds, `${p}.pastSeconds`, u32), futureSeconds: opt(t.futureSeconds, `${p}.futureSeconds`, u32) };
      });
    } else if (k === "signedContent") {
      s[k] = opt(v[k], p, (x) => (typeof x === "string" && SIGNED_CONTENT[x]) || nope(p, `${JSON.stringify(x)} is not a case of the WIT enum`));
    } else s[k] = opt(v[k], p, str);
  }
  return { tag: "custom", val: s };
}
/** Scheme fields that are WIT enums. */
const ENUMS = { preset: "preset", encoding: "encoding", format: "signature-format", secretFormat: "secret-format" };
/** `signedContent` strings -> the WIT enum's case names. */
const SIGNED_CONTENT = { body: "body", "timestamp.body": "timestamp-body", "id.timestamp.body": "id-timestamp-body" };

/** SyncConfig -> WIT `config`. */
export function config(v, path = "config") {
  if (!isObject(v)) nope(path, "the config is a record");
  onlyKeys(v, path, ["secrets", "platformName", "scheme", "maxBodyBytes", "maxDepth", "subscribedEvents",
    "allowWeakSecrets", "diagnostics", "product", "raise", "sync"]);
  return {
    secrets: list(required(v, "secrets", path), `${path}.secrets`, secret),
    platformName: str(required(v, "platformName", path), `${path}.platformName`),
    scheme: opt(v.scheme, `${path}.scheme`, schemeSpec),
    maxBodyBytes: opt(v.maxBodyBytes, `${path}.maxBodyBytes`, u32),
    maxDepth: opt(v.maxDepth, `${path}.maxDepth`, u32),
    // The JS API also accepts `giftCreate` / `GiftCreate`; WIT has the kebab-case enum case.
    subscribedEvents: opt(v.subscribedEvents, `${path}.subscribedEvents`, (x, p) =>
      list(x, p, (n, q) => en("event-type", "types")(typeof n === "string" ? n.replace(/(?<=[a-z])([A-Z])/g, "-$1").toLowerCase() : n, q))),
    allowWeakSecrets: opt(v.allowWeakSecrets, `${path}.allowWeakSecrets`, bool),
    diagnostics: opt(v.diagnostics, `${path}.diagnostics`, bool),
    product: opt(v.product, `${path}.product`, en("product", "types")),
    // Raise's label overrides: a map of integer text to a label, null (none) removing one.
    raise: opt(v.raise, `${path}.raise`, (r, p) => {
      if (!isObject(r)) nope(p, "not a record");
      onlyKeys(r, p, ["eventTypes"]);
      return {
        eventTypes: opt(r.eventTypes, `${p}.eventTypes`, (m, q) =>
          isObject(m) ? Object.entries(m).map(([k, x]) => [k, x === null ? undefined : str(x, `${q}.${k}`)]) : nope(q, "not a map")),
      };
    }),
    // The sync section crosses as JSON text.
    sync: absent(v.sync) ? undefined : JSON.stringify(v.sync),
  };
}

/** VerifyOptions (with the input's nowMs, as the JS runner does) -> WIT `verify-options`. */
export function verifyOptions(c) {
  const o = c.options ?? {};
  if (!isObject(o)) nope("options", "not a record");
  onlyKeys(o, "options", ["scheme", "timestamp", "id", "nowMs", "allowWeakSecrets", "diagnostics"]);
  return {
    scheme: opt(o.scheme, "options.scheme", schemeSpec),
    // The WIT field is the timestamp header's text; a number in a vector is written as that text.
    timestamp: opt(o.timestamp, "options.timestamp", (t, p) => (Number.isSafeInteger(t) && t >= 0 ? String(t) : str(t, p))),
    id: opt(o.id, "options.id", str),
    nowMs: opt(o.nowMs ?? c.nowMs, "options.nowMs", s64),
    allowWeakSecrets: opt(o.allowWeakSecrets, "options.allowWeakSecrets", bool),
    diagnostics: opt(o.diagnostics, "options.diagnostics", bool),
  };
}

/** SignOptions -> WIT `sign-options` (undefined when the case has none). */
export function signOptions(o) {
  if (absent(o)) return undefined;
  if (!isObject(o)) nope("options", "not a record");
  onlyKeys(o, "options", ["scheme", "timestamp", "id", "encoding", "allowWeakSecrets"]);
  return {
    scheme: opt(o.scheme, "options.scheme", schemeSpec),
    timestamp: opt(o.timestamp, "options.timestamp", s64),
    id: opt(o.id, "options.id", str),
    encoding: opt(o.encoding, "options.encoding", en("tag-encoding")),
    allowWeakSecrets: opt(o.allowWeakSecrets, "options.allowWeakSecrets", bool),
  };
}

/** Header pairs exactly as listed (the WIT surface takes a list of pairs: order and repeats kept). */
export function headerPairs(pairs) {
  return list(pairs ?? [], "headers", (p, path) => {
    if (!Array.isArray(p) || p.length !== 2) nope(path, "a header is a [name, value] pair");
    return [str(p[0], `${path}[0]`), str(p[1], `${path}[1]`)];
  });
}

/** Drops keys whose value is undefined (jco's `none`), recursively, so results print cleanly. */
function clean(v) {
  if (Array.isArray(v)) return v.map(clean);
  if (!isObject(v) || v instanceof Uint8Array) return v;
  const out = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = clean(x);
  return out;
}

/** WIT `receipt` -> the contract's Receipt (event.resource, JSON text, parsed). */
export function receiptToJs(r) {
  const out = clean(r);
  if (out.event && out.event.resource !== undefined) out.event.resource = JSON.parse(out.event.resource);
  return out;
}

/** WIT `signed` -> the contract's Signed (headers as an object). */
export function signedToJs(s) {
  return { signature: s.signature, headers: Object.fromEntries(s.headers) };
}

/** An optional JSON text parameter: none for an absent or null value. */
const Jopt = (v) => (absent(v) ? undefined : JSON.stringify(v));
function u64(v, path) {
  return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : nope(path, `${JSON.stringify(v)} where WIT has a u64`);
}

/** `sync` family: the case's input object -> the typed arguments -> the typed result -> npm shape. */
const SYNC_FNS = { lookupKeys: "lookup-keys", decideInbound: "decide-inbound", decideOutbound: "decide-outbound",
  transition: "transition", resolve: "resolve", resolveConflict: "resolve-conflict" };
export function callSync(api, op, input) {
  const f = api.wit.func("sync", SYNC_FNS[op]);
  const args = api.wit.args(f, input ?? {});
  return api.wit.fromWit(api.wit.okType(f.result), api.sync[op](...args));
}

/** A `core` sync method on a vector input object (no `options`: the core's own). */
export function callCore(api, core, op, input) {
  const f = api.wit.func("receiver", `[method]core.${SYNC_FNS[op]}`);
  const args = api.wit.args(f, input ?? {}, 1);
  return api.wit.fromWit(api.wit.okType(f.result), core[op](...args));
}

/** Typed `reconcile` functions: the case's input object is the function's one argument. */
const RECONCILE_TYPED = { classifyResponse: "classify-response", parseModifiedTime: "parse-modified-time",
  planReconciliation: "plan-reconciliation", planDeletions: "plan-deletions", mergeSubscription: "merge-subscription",
  planPause: "plan-pause", planResume: "plan-resume", planSecretRotation: "plan-secret-rotation", pricePlan: "price-plan",
  startQueryRun: "start-query-run", acceptQueryPage: "accept-query-page", finishQueryRun: "finish-query-run",
  planMergeRemap: "plan-merge-remap", mergeRaiseSubscription: "merge-raise-subscription", planRaiseSubscription: "plan-raise-subscription",
  learnRaiseEventTypes: "learn-raise-event-types", summarizeRaiseDeliveryLogs: "summarize-raise-delivery-logs",
    startVolunteerPoll: "start-volunteer-poll",
  acceptVolunteerPage: "accept-volunteer-page", finishVolunteerPoll: "finish-volunteer-poll",
  volunteerBudget: "volunteer-budget", planVolunteerDeletions: "plan-volunteer-deletions" };
export function callReconcileTyped(api, op, input) {
  const f = api.wit.func("reconcile", RECONCILE_TYPED[op]);
  return api.wit.fromWit(api.wit.okType(f.result), api.reconcile[op](...reconcileArgs(api.wit, f, input ?? {})));
}
/** The arguments of a typed reconcile function: the input object, less `options` when the function takes them apart. */
function reconcileArgs(wit, f, input) {
  if (f.params.length === 2 && f.params[0].name === "options") {
    const { options, ...rest } = isObject(input) ? input : nope("input", "not an object");
    return [wit.toWit(f.params[0].type, options, "options"), wit.toWit(f.params[1].type, rest, "input")];
  }
  return [wit.toWit(f.params[0].type, input, "input")];
}
/** The core's `plan-reconciliation` on a vector input (no `options`: the core's own). */
export function callCorePlan(api, core, input) {
  const f = api.wit.func("receiver", "[method]core.plan-reconciliation");
  return api.wit.fromWit(api.wit.okType(f.result), core.planReconciliation(api.wit.toWit(f.params[1].type, input, "input")));
}

/** A typed resource method's one argument from a vector value, and its result in the npm shape. */
export function method(wit, name) {
  const f = wit.func("reconcile", name);
  return {
    arg: (v, path) => wit.toWit(f.params[1].type, v, path),
    out: (v) => wit.fromWit(wit.okType(f.result), v),
  };
}


/** The bytes of hex text (any length; an odd or non-hex text gives bytes the core then refuses by length). */
function hexBytes(hex) {
  const out = new Uint8Array(Math.floor(String(hex).length / 2));
  for (let k = 0; k < out.length; k++) out[k] = parseInt(String(hex).slice(2 * k, 2 * k + 2), 16) || 0;
  return out;
}

/** `initialMatcher`: the `initial-matcher` resource fed chunk by chunk, then finished. */
export function driveMatcher(api, input) {
  const rc = api.reconcile;
  const add = method(api.wit, "[method]initial-matcher.add-partner-chunk");
  const finish = api.wit.func("reconcile", "[method]initial-matcher.finish");
  const i = input ?? {};
  if (!isObject(i)) nope("input", "not an object");
  onlyKeys(i, "input", ["chunks", "seed"]);
  // A seed is 64 hex characters in the vectors, 32 bytes in WIT (`with-seed`).
  const m = i.seed === undefined ? new rc.InitialMatcher() : rc.InitialMatcher.withSeed(hexBytes(i.seed));
  try {
    for (const [n, chunk] of (i.chunks ?? []).entries()) {
      if (!isObject(chunk)) nope(`chunks[${n}]`, "not an object");
      onlyKeys(chunk, `chunks[${n}]`, ["side", "records", "text"]);
      if (chunk.text !== undefined) {
        if (chunk.side === "partner") m.addPartnerChunkJson(chunk.text);
        else if (chunk.side === "virtuous") m.addVirtuousChunkJson(chunk.text);
        else nope(`chunks[${n}].side`, "neither partner nor virtuous: no such resource method");
        continue;
      }
      const records = add.arg(chunk.records ?? [], `chunks[${n}].records`);
      if (chunk.side === "partner") m.addPartnerChunk(records);
      else if (chunk.side === "virtuous") m.addVirtuousChunk(records);
      else nope(`chunks[${n}].side`, "neither partner nor virtuous: no such resource method");
    }
    return api.wit.fromWit(api.wit.okType(finish.result), m.finish());
  } finally {
    m[Symbol.dispose]?.();
  }
}

/** `queryScript`: consecutive query runs over fixed pages (cursor::run_query_script), through the free functions. */
export function driveQueryScript(api, input) {
  const i = input ?? {};
  if (!isObject(i)) nope("input", "not an object");
  let cursor = i.cursor ?? {};
  const runs = [];
  for (const [n, r] of (i.runs ?? []).entries()) {
    if (!isObject(r)) nope(`runs[${n}]`, "not an object");
    let step = callReconcileTyped(api, "startQueryRun", { cursor, config: i.config ?? {} });
    const requests = step.request === undefined ? [] : [step.request];
    const pages = [];
    const freshIds = [];
    for (const rows of r.pages ?? []) {
      step = callReconcileTyped(api, "acceptQueryPage", { run: step.run, rows });
      if (step.page.next !== undefined) requests.push(step.page.next);
      freshIds.push(...step.page.freshIds);
      pages.push(step.page);
    }
    const out = { requests, pages, freshIds };
    if (step.run.done) out.cursor = cursor = callReconcileTyped(api, "finishQueryRun", step.run);
    runs.push(out);
  }
  return { runs };
}

/** `volunteerPollScript`: consecutive Volunteer polls over fixed bodies (tests/common/scripted.rs), through the exports. */
export function driveVolunteerScript(api, input) {
  const i = input ?? {};
  if (!isObject(i)) nope("input", "not an object");
  let cursor = i.cursor;
  const runs = [];
  for (const [n, r] of (i.runs ?? []).entries()) {
    if (!isObject(r)) nope(`runs[${n}]`, "not an object");
    const start = { resource: i.resource };
    if (i.mode !== undefined) start.mode = i.mode;
    if (i.config !== undefined) start.config = i.config;
    if (cursor !== undefined) start.cursor = cursor;
    let step = callReconcileTyped(api, "startVolunteerPoll", start);
    const urls = step.request === undefined ? [] : [step.request.url];
    const pages = [];
    const changeIds = [];
    for (const body of r.pages ?? []) {
      step = callReconcileTyped(api, "acceptVolunteerPage", { run: step.run, body });
      if (step.request !== undefined) urls.push(step.request.url);
      changeIds.push(...step.page.changes.map((ch) => ch.id));
      pages.push(step.page);
    }
    const out = { urls, pages, changeIds };
    if (step.run.done) {
      out.end = callReconcileTyped(api, "finishVolunteerPoll", step.run);
      cursor = out.end.cursor;
    }
    runs.push(out);
  }
  return { runs };
}

/** `rateBudget`: the `rate-budget` resource driven step by step (ratelimit::run_rate_script). */
export function driveBudget(rc, input, wit) {
  const observe = method(wit, "[method]rate-budget.observe");
  const decide = method(wit, "[method]rate-budget.decide");
  const schedule = method(wit, "[method]rate-budget.schedule");
  const i = input ?? {};
  if (!isObject(i)) nope("input", "not an object");
  let b = new rc.RateBudget(Jopt(i.config));
  const decisions = [];
  const slices = [];
  try {
    for (const [n, step] of (i.steps ?? []).entries()) {
      const p = `steps[${n}]`;
      if (!isObject(step)) nope(p, "not an object");
      const { tag, val } = step;
      if (tag === "observe") b.observe(observe.arg(val, `${p}.val`));
      else if (tag === "spend") b.spend(u32(val, `${p}.val`));
      else if (tag === "decide") decisions.push(decide.out(b.decide(decide.arg(val, `${p}.val`))));
      else if (tag === "schedule") {
        if (!isObject(val)) nope(`${p}.val`, "not an object");
        onlyKeys(val, `${p}.val`, ["remainingRequests", "nowMs"]);
        slices.push(schedule.out(b.schedule(u64(val.remainingRequests, `${p}.val.remainingRequests`), s64(val.nowMs, `${p}.val.nowMs`))));
      } else if (tag === "reload") {
        const stored = b.toJson();
        b[Symbol.dispose]?.();
        b = rc.RateBudget.fromJson(stored);
      } else nope(`${p}.tag`, "no such resource method");
    }
    return { decisions, slices, budget: JSON.parse(b.toJson()) };
  } finally {
    b[Symbol.dispose]?.();
  }
}

/** The ops: (component exports, case) -> the value to match. Throws what the component throws. */
export const OPS = {
  ...Object.fromEntries(Object.keys(SYNC_FNS).map((op) => [op, (api, c) => callSync(api, op, c.input)])),
  initialMatcher: (api, c) => driveMatcher(api, c.input),
  ...Object.fromEntries(Object.keys(RECONCILE_TYPED).map((op) => [op, (api, c) => callReconcileTyped(api, op, c.input)])),
  rateBudget: (api, c) => driveBudget(api.reconcile, c.input, api.wit),
  queryScript: (api, c) => driveQueryScript(api, c.input),
  volunteerPollScript: (api, c) => driveVolunteerScript(api, c.input),
  receive({ receiver: rx }, { input: c }) {
    const core = new rx.Core(config(c.config));
    try {
      return receiptToJs(core.receive(decodeBody(c.body), headerPairs(c.headers), s64(c.nowMs ?? 0, "nowMs")));
    } finally {
      core[Symbol.dispose]?.();
    }
  },
  newCore({ receiver: rx }, { input: c }) {
    const core = new rx.Core(config(c.config));
    core[Symbol.dispose]?.();
    return {};
  },
  verifySignature({ receiver: rx }, { input: c }) {
    const secrets = list(c.secrets, "secrets", secret);
    return clean(rx.verifySignature(decodeBody(c.body), str(c.headerValue, "headerValue"), secrets, verifyOptions(c)));
  },
  signBody({ receiver: rx }, { input: c }) {
    return signedToJs(rx.signBody(decodeBody(c.body), secret(c.secret), signOptions(c.options)));
  },
};

/**
 * Runs one case: { skipped: reason } | { value } | { error: payload } | { trap: message }.
 * `error` is a `result` err (ComponentError.payload); anything else thrown by the component is a trap.
 */
export function runCase(api, c) {
  const op = OPS[c.op];
  if (!op) throw new Error(`no component runner for op ${JSON.stringify(c.op)} (case ${c.name})`);
  try {
    return { value: op(api, c) };
  } catch (e) {
    if (e instanceof Unrepresentable) return { skipped: `not representable in WIT: ${e.message}` };
    if (e && typeof e === "object" && "payload" in e && isObject(e.payload)) return { error: e.payload };
    return { trap: `${e?.name ?? typeof e}: ${e?.message ?? e}` };
  }
}

/** Mismatches of an outcome against `expect` / `expectError` (the contract's deep-subset rules). */
export function checkOutcome(c, outcome) {
  if (outcome.trap) return [`the component trapped or threw a non-result error: ${outcome.trap}`];
  if (c.expectError) {
    if (!outcome.error) return [`expected an error ${JSON.stringify(c.expectError)}, got ${JSON.stringify(outcome.value)}`];
    const problems = Object.keys(c.expectError).flatMap((k) =>
      subsetMismatches(outcome.error[k], c.expectError[k], `error.${k}`),
    );
    if (problems.length) problems.push(`(message: ${outcome.error.message})`);
    return problems;
  }
  if (outcome.error) {
    return [`unexpected error: ${outcome.error.code}/${outcome.error.field}: ${outcome.error.message}`];
  }
  return subsetMismatches(emptyListsAsAbsent(outcome.value, c.expect ?? {}), c.expect ?? {});
}

/**
 * A WIT list cannot be absent: where a vector expects a key absent (`null`) and the typed result
 * has an empty list (the npm package omits empty lists such as `reassertFields`), the key is
 * dropped before matching. Nothing else is changed.
 */
function emptyListsAsAbsent(actual, expected) {
  if (!isObject(actual) || !isObject(expected)) {
    if (Array.isArray(actual) && Array.isArray(expected)) return actual.map((x, i) => emptyListsAsAbsent(x, expected[i]));
    return actual;
  }
  const out = { ...actual };
  for (const [k, e] of Object.entries(expected)) {
    if (e === null && Array.isArray(out[k]) && out[k].length === 0) delete out[k];
    else if (k in out) out[k] = emptyListsAsAbsent(out[k], e);
  }
  return out;
}
