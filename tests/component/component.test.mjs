// Component-specific checks through jco: randomness from wasi:random, the error record, the fallible
// constructor, a sign -> receive round trip, the core's sync methods against the free `sync`
// functions, the `initial-matcher` and `rate-budget` resources, and that hostile input (receive
// bodies, JSON text, huge numbers, deep nesting) never traps the instance.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Unrepresentable } from "./wit-values.mjs";
import { callCore, callCorePlan, callReconcileTyped, callSync, loadComponent, loadVectorFiles, method, receiptToJs } from "./support.mjs";

const api = await loadComponent();
const { receiver: rx, sync, reconcile } = api;
const SECRET = "virtuous-test-secret-0123456789abcdef";
const WHSEC = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const enc = (s) => new TextEncoder().encode(s);

/** The ComponentError payload of a call that must fail with a WIT `error`. */
function errorOf(fn) {
  try {
    fn();
  } catch (e) {
    assert.equal(e?.constructor?.name, "ComponentError", `expected a ComponentError, got ${e}`);
    assert.deepEqual(Object.keys(e.payload).sort(), ["code", "field", "message", "module"]);
    return e.payload;
  }
  assert.fail("expected the call to fail");
}

test("generate-secret: 32 random bytes from wasi:random, base64url by default, different every call", () => {
  const seen = new Set();
  for (let i = 0; i < 20; i++) {
    const s = rx.generateSecret(undefined);
    assert.match(s, /^[A-Za-z0-9_-]{43}$/);
    seen.add(s);
  }
  assert.equal(seen.size, 20);
});

test("generate-secret: formats and sizes", () => {
  assert.match(rx.generateSecret({ format: "hex" }), /^[0-9a-f]{64}$/);
  assert.match(rx.generateSecret({ bytes: 64, format: "hex" }), /^[0-9a-f]{128}$/);
  assert.match(rx.generateSecret({ format: "whsec" }), /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.match(rx.generateSecret({ bytes: 48 }), /^[A-Za-z0-9_-]{64}$/);
});

test("generate-secret: bad options are an error record, not a trap", () => {
  assert.deepEqual(
    (({ code, field }) => ({ code, field }))(errorOf(() => rx.generateSecret({ bytes: 16 }))),
    { code: "invalid-option", field: "options.bytes" },
  );
  // A format outside the WIT enum cannot be passed at all: jco refuses it before the call.
  assert.throws(() => rx.generateSecret({ format: "base32" }), TypeError);
  assert.equal(errorOf(() => rx.generateSecret({ bytes: 4294967295 })).code, "invalid-option");
});

test("core constructor: bad config throws the error record (fallible constructor)", () => {
  const e = errorOf(() => new rx.Core({ secrets: [{ secret: SECRET }, { secret: "short" }], platformName: "P" }));
  assert.equal(e.code, "weak-secret");
  assert.equal(e.field, "secrets[1]");
  assert.ok(e.message.length > 0);
  assert.equal(errorOf(() => new rx.Core({ secrets: [], platformName: "P" })).code, "no-secrets");
  // A preset outside the WIT enum cannot be passed at all: jco refuses it before the call.
  assert.throws(() => new rx.Core({ secrets: [{ secret: SECRET }], platformName: "P", scheme: { tag: "preset", val: "stripe" } }), TypeError);
});

test("sign-body -> core.receive round trip, resource JSON parsed back", () => {
  const body = enc('{"event":"GiftCreate","gift":{"id":78421,"amount":"500.00","modifiedDateTimeUtc":"2024-12-16T06:02:11Z"}}');
  for (const preset of ["virtuous", "github", "vomo"]) {
    const scheme = { tag: "preset", val: preset };
    const signed = rx.signBody(body, { secret: SECRET }, { scheme });
    const core = new rx.Core({ secrets: [{ id: "k1", secret: SECRET }], platformName: "P", scheme });
    const r = receiptToJs(core.receive(body, signed.headers, 1700000000000n));
    core[Symbol.dispose]();
    assert.equal(r.status, 200, preset);
    assert.equal(r.reason, "accepted");
    assert.equal(r.authentic, true);
    assert.equal(r.secretIndex, 0);
    assert.equal(r.secretId, "k1");
    assert.equal(r.event.eventType, "gift-create");
    assert.deepEqual(r.event.resource, { id: 78421, amount: "500.00", modifiedDateTimeUtc: "2024-12-16T06:02:11Z" });
  }
});

test("hostile input never traps the instance", () => {
  let seed = 0x9e3779b9;
  const rand = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const bytes = (n) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
  const text = (n) => String.fromCharCode(...Array.from({ length: n }, () => 32 + Math.floor(rand() * 0x2000)));
  const sw = { tag: "preset", val: "standard-webhooks" };
  const core = new rx.Core({ secrets: [{ secret: WHSEC }], platformName: "P", scheme: sw });
  const nasty = ["", "{", "[".repeat(5000), '{"event":"GiftCreate","gift":' + "[".repeat(200) + "]".repeat(200) + "}", "\u0000\uffff"];
  for (let i = 0; i < 300; i++) {
    const body = i < nasty.length ? enc(nasty[i]) : bytes(Math.floor(rand() * 512));
    const headers = [["webhook-signature", text(Math.floor(rand() * 200))], ["webhook-timestamp", text(8)], ["webhook-id", text(4)]];
    const now = BigInt(Math.floor(rand() * 2 ** 52)) * (i % 2 ? 1n : -1n);
    const r = core.receive(body, headers, now);
    assert.equal(typeof r.status, "number");
    const v = rx.verifySignature(body, text(100), [{ secret: SECRET }], { nowMs: now, timestamp: text(10) });
    assert.equal(v.ok, false);
  }
  core[Symbol.dispose]();
  // Extremes of every integer the WIT takes.
  assert.equal(errorOf(() => new rx.Core({ secrets: [{ secret: SECRET }], platformName: "P", maxBodyBytes: 4294967295 })).field, "maxBodyBytes");
  assert.equal(errorOf(() => new rx.Core({ secrets: [{ secret: SECRET }], platformName: "P", maxDepth: 4294967295 })).field, "maxDepth");
  const edge = new rx.Core({ secrets: [{ secret: SECRET, notAfter: -(2n ** 63n) }, { secret: SECRET, notAfter: 2n ** 63n - 1n }], platformName: "P" });
  edge.receive(enc("{}"), [], 2n ** 63n - 1n);
  edge.receive(enc("{}"), [], -(2n ** 63n));
  edge[Symbol.dispose]();
  const signed = rx.signBody(enc("x"), { secret: WHSEC }, { timestamp: 2n ** 63n - 1n, scheme: sw, id: "m" });
  assert.match(signed.signature, /^v1,/);
  assert.equal(errorOf(() => rx.signBody(enc("x"), { secret: WHSEC }, { timestamp: -1n, scheme: sw, id: "m" })).code, "invalid-option");
});

// ------------------------------------------------------------------------------- sync, reconcile

const vectorCases = (file) => loadVectorFiles().find((f) => f.file === file).cases;
const OPTIONS = { platformName: "Acme Giving", customerId: "cust-1" };
const syncCore = (options = OPTIONS) => {
  const { platformName, ...section } = options;
  return new rx.Core({ secrets: [{ secret: SECRET }], platformName, sync: JSON.stringify(section) });
};
/** Outcome of a call as comparable data: { ok: the value (JSON text parsed) } or { err: the error record }. */
function outcome(fn) {
  try {
    const v = fn();
    return { ok: typeof v === "string" ? JSON.parse(v) : v };
  } catch (e) {
    assert.equal(e?.constructor?.name, "ComponentError", `expected a ComponentError, got ${e}`);
    return { err: e.payload };
  }
}
/** Like `outcome`, for a call through the vector translation: undefined when WIT cannot hold the input. */
function typedOutcome(fn) {
  try {
    return { ok: fn() };
  } catch (e) {
    if (e instanceof Unrepresentable) return undefined;
    assert.equal(e?.constructor?.name, "ComponentError", `expected a ComponentError, got ${e}`);
    return { err: e.payload };
  }
}
const MERGE_INPUT = { kind: "gift", base: [], local: { values: [] }, remote: { values: [] } };

test("config sync: the core's sync section, validated at construction", () => {
  const e = errorOf(() => new rx.Core({ secrets: [{ secret: SECRET }], platformName: "P", sync: "{customerId:" }));
  assert.deepEqual([e.code, e.field, e.module], ["invalid-argument", "sync", "ops"]);
  const bad = errorOf(() => new rx.Core({ secrets: [{ secret: SECRET }], platformName: "P", sync: '{"customerId":"c","cooldownMs":-1}' }));
  assert.deepEqual([bad.code, bad.field, bad.module], ["invalid-option", "sync.cooldownMs", "config"]);
  const bare = new rx.Core({ secrets: [{ secret: SECRET }], platformName: "P" });
  const ns = errorOf(() => bare.resolve(MERGE_INPUT));
  assert.deepEqual([ns.code, ns.field], ["sync-not-configured", "sync"]);
  bare[Symbol.dispose]();
});

test("core.decide-inbound takes a receipt's event as is and decides as sync.decide-inbound", () => {
  const body = enc('{"event":"GiftCreate","gift":{"id":78421,"amount":"500.00","modifiedDateTimeUtc":"2024-12-16T06:02:11Z"}}');
  const signed = rx.signBody(body, { secret: SECRET }, undefined);
  const core = syncCore();
  const receipt = core.receive(body, signed.headers, 1734328931000n);
  assert.equal(receipt.reason, "accepted");
  const bound = outcome(() => core.decideInbound(receipt.event, undefined, 1734328931000n));
  const free = outcome(() => sync.decideInbound(JSON.stringify(OPTIONS), receipt.event, undefined, 1734328931000n));
  assert.ok(bound.ok, JSON.stringify(bound, (_, v) => (typeof v === "bigint" ? String(v) : v)));
  assert.deepEqual(bound, free);
  // Typed: the action is a variant, the reason an enum, the stored state opaque JSON text.
  // An unstamped create is looked up before anything is created (no state changed).
  assert.deepEqual([bound.ok.action.tag, bound.ok.reason], ["verify", "unstamped-create"]);
  assert.deepEqual([bound.ok.action.val.lookup.method, bound.ok.action.val.lookup.path], ["GET", "/api/Gift/78421"]);
  assert.equal(bound.ok.record, undefined);
  // Decided again with the fetched record (stamped by another platform: not ours) as the event's resource.
  const again = core.decideInbound({ ...receipt.event, resource: JSON.stringify({ id: 78421, amount: "500.00", modifiedDateTimeUtc: "2024-12-16T06:02:11Z", transactionSource: "Another Platform", transactionId: "x-1" }) }, undefined, 1734328931000n);
  assert.deepEqual([again.action.tag, again.reason], ["create", "new-record"]);
  assert.equal(Object.fromEntries(again.action.val.fields.map(([k, v]) => [k, JSON.parse(v)])).amount, "500.00");
  assert.equal(JSON.parse(again.record).state, "virtuous-pending"); // the inbound cooldown
  assert.equal(receiptToJs(receipt).event.resource.id, 78421);
  const e = errorOf(() => core.decideInbound({ ...receipt.event, resource: "{" }, undefined, 0n));
  assert.deepEqual([e.code, e.field], ["invalid-argument", "event.resource"]);
  core[Symbol.dispose]();
});

test("the core's sync methods decide exactly as the free sync functions, on every sync vector", () => {
  let compared = 0;
  for (const file of ["sync/inbound.json", "sync/outbound.json", "sync/resolve.json", "sync/resolve_conflict.json", "sync/sequences.json"]) {
    for (const c of vectorCases(file)) {
      const i = c.input;
      const options = i.options ?? OPTIONS;
      let core;
      try {
        core = syncCore(options);
      } catch {
        continue; // options the constructor refuses (invalid-options-rejected): covered by the vector itself
      }
      try {
        const { options: _, ...rest } = i;
        const bound = outcome(() => callCore(api, core, c.op, rest));
        const free = outcome(() => callSync(api, c.op, c.op === "resolveConflict" ? i : { ...i, options }));
        assert.deepEqual(bound, free, `${file} / ${c.name}`);
        compared++;
      } finally {
        core[Symbol.dispose]();
      }
    }
  }
  assert.ok(compared >= 55, `only ${compared} cases compared`);
  // Reconciliation reads the core's `sync` section: bound (options in the config) and free (options inline) agree.
  let reconciled = 0;
  for (const rc of vectorCases("reconcile/reconciliation.json")) {
    const { options, ...rest } = rc.input;
    const core = syncCore(options);
    const bound = typedOutcome(() => callCorePlan(api, core, rest));
    core[Symbol.dispose]();
    if (bound === undefined) continue; // an input WIT's types cannot hold (a version-1 stored record)
    assert.deepEqual(bound, typedOutcome(() => callReconcileTyped(api, "planReconciliation", rc.input)), rc.name);
    reconciled++;
  }
  assert.ok(reconciled >= 40, `only ${reconciled} reconciliation cases compared`);
});

test("sync/reconcile errors: not-JSON text names the parameter; shapes name the path; module says who", () => {
  const change = { customerId: "cust-1", kind: "gift", partnerId: "p1", modifiedMs: 1n, fieldModifiedMs: [], fields: [["amount", "{"]] };
  const e = errorOf(() => sync.decideOutbound(JSON.stringify(OPTIONS), undefined, change, 0n));
  assert.deepEqual([e.code, e.field, e.module], ["invalid-argument", "change.fields.amount", "ops"]);
  assert.match(e.message, /change\.fields\.amount is not JSON text/);
  const o = errorOf(() => sync.decideOutbound("{", undefined, change, 0n));
  assert.deepEqual([o.code, o.field], ["invalid-argument", "options"]);
  const t = errorOf(() => sync.transition("{}", "partner-write", 0n));
  assert.equal(t.code, "invalid-argument");
  // A trigger outside the WIT enum cannot be passed at all: jco refuses it before the call.
  assert.throws(() => sync.transition(JSON.stringify(vectorCases("sync/transition.json")[0].input.record), "nope", 0n), TypeError);
  const m = errorOf(() => reconcile.planMergeRemap({ contacts: [{ contactId: "A", mergedIntoContactId: "A" }], references: [] }));
  assert.deepEqual([m.code, m.module], ["merge-cycle", "merge"]);
  const c = errorOf(() => reconcile.classifyResponse({ status: 99 }));
  assert.deepEqual([c.code, c.module], ["invalid-status", "response"]);
  assert.deepEqual(callReconcileTyped(api, "classifyResponse", { status: 409, context: "transaction-submit" }).action, "look-up-existing");
  assert.equal(callReconcileTyped(api, "pricePlan", { queryRows: 2500, take: 1000 }).queryPages, 3);
});

test("initial-matcher: chunk by chunk, chunk order does not matter, finish is repeatable", () => {
  const partner = [{ id: "p1", emails: ["Ann@Example.org "] }, { id: "p2", emails: ["bob@example.org"] }, { id: "p3" }];
  const virtuous = [{ id: "v1", emails: ["ann@example.org"] }, { id: "v2", emails: ["bob@example.org"] }, { id: "v9" }];
  const add = method(api.wit, "[method]initial-matcher.add-partner-chunk");
  const run = (order, sizes = [undefined, undefined]) => {
    const m = new reconcile.InitialMatcher(...sizes);
    for (const [side, recs] of order) (side === "p" ? m.addPartnerChunk : m.addVirtuousChunk).call(m, add.arg(recs, "records"));
    const plan = m.finish();
    assert.deepEqual(m.finish(), plan);
    assert.deepEqual(m.size(), [3n, 3n]);
    m[Symbol.dispose]();
    return plan;
  };
  const a = run([["p", partner.slice(0, 2)], ["v", virtuous], ["p", partner.slice(2)]]);
  // Size hints (the largest one capped, not trusted) change nothing but allocation.
  const b = run([["v", virtuous.slice(1)], ["p", partner.slice(2)], ["v", virtuous.slice(0, 1)], ["p", partner.slice(0, 2)]], [3, 4294967295]);
  assert.deepEqual(a, b);
  assert.equal(a.pairs.length, 2);
  assert.deepEqual([a.pairs[0].tier, a.pairs[0].state], ["email", "in-sync"]);
  const m = new reconcile.InitialMatcher(undefined, undefined);
  m.addPartnerChunk(add.arg([{ id: "p1" }], "records"));
  const dup = errorOf(() => m.addPartnerChunk(add.arg([{ id: " p1 " }], "records")));
  assert.deepEqual([dup.code, dup.module], ["duplicate-id", "matcher"]);
  assert.equal(errorOf(() => m.addVirtuousChunk(add.arg([{ id: "v1", data: 1 }, { id: " " }], "records"))).code, "blank-id");
  assert.equal(errorOf(() => m.addVirtuousChunk([{ ...add.arg([{ id: "v2" }], "records")[0], data: "{" }])).field, "records[0].data");
  assert.deepEqual(m.size(), [1n, 0n], "a failed chunk adds nothing");
  m[Symbol.dispose]();
});

test("rate-budget: constructor errors, observe/decide/schedule, backoff, to-json/from-json round trip", () => {
  const e = errorOf(() => new reconcile.RateBudget('{"limit":1500,"liveHeadroom":1500}'));
  assert.deepEqual([e.code, e.field, e.module], ["invalid-rate-config", "liveHeadroom", "ratelimit"]);
  assert.equal(errorOf(() => new reconcile.RateBudget('{"limit":-1}')).field, "limit");
  const b = new reconcile.RateBudget(undefined);
  b.observe({ status: 200, headers: { limit: "5000", remaining: "4200", reset: "1700001800" }, nowMs: 1700000000000n });
  b.spend(100);
  const d = b.decide({ cost: 100, nowMs: 1700000000000n });
  assert.equal(d.go, true);
  assert.equal(d.reason, "within-budget");
  const slice = b.schedule(10000n, 1700000000000n);
  assert.equal(typeof slice.allowedNow, "bigint");
  for (let attempt = 1; attempt < 40; attempt++) {
    const ms = b.backoffMs(attempt, 4294967295);
    assert.ok(ms > 0n && ms <= 300000n, `attempt ${attempt}: ${ms}`);
  }
  const restored = reconcile.RateBudget.fromJson(b.toJson());
  assert.equal(restored.toJson(), b.toJson());
  assert.deepEqual(restored.decide({ cost: 100, nowMs: 1700000000000n }), b.decide({ cost: 100, nowMs: 1700000000000n }));
  const state = JSON.parse(b.toJson());
  state.config.windowMs = 0;
  assert.equal(errorOf(() => reconcile.RateBudget.fromJson(JSON.stringify(state))).field, "config.windowMs");
  // A required field cannot be left out at all: jco refuses the record before the call.
  assert.throws(() => b.observe({}), TypeError);
  restored[Symbol.dispose]();
  b[Symbol.dispose]();
});

test("hostile JSON never traps: every sync and reconcile function, every resource method", () => {
  let seed = 0x1234567;
  const rand = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const HOSTILE_TEXT = ["", " ", "{", "}", "[", "null", "true", "0", "-0", "1e999", "-1e999", "123456789012345678901234567890",
    '"x"', "[]", "{}", '{"a":1,"a":2}', "\u0000", '"\ud800"', "[".repeat(100000), '{"a":'.repeat(20000),
    "[".repeat(127) + "]".repeat(127), '{"nowMs":9223372036854775807}', '{"nowMs":-9223372036854775808}', '{"nowMs":1e300}',
    String.fromCharCode(...Array.from({ length: 300 }, () => 1 + Math.floor(rand() * 0xd7ff)))];
  const deep = (n) => (n === 0 ? 1 : [deep(n - 1)]);
  const HOSTILE_VALUES = [null, true, -1, 0, 2 ** 53, -(2 ** 63), 1.5, 1e308, "", "x".repeat(5000), "9999-99-99T99:99:99",
    [], {}, deep(100), { a: deep(60) }, Array.from({ length: 2000 }, (_, i) => i)];
  /** A vector input with one random leaf (or subtree) replaced by a hostile value. */
  const mutate = (v) => {
    if (v === null || typeof v !== "object" || rand() < 0.2) return pick(HOSTILE_VALUES);
    const keys = Object.keys(v);
    if (keys.length === 0) return pick(HOSTILE_VALUES);
    const copy = Array.isArray(v) ? [...v] : { ...v };
    const k = pick(keys);
    copy[k] = mutate(v[k]);
    return copy;
  };
  const S64S = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n)];
  const tryCall = (fn) => {
    try {
      const out = fn();
      if (typeof out === "string") JSON.parse(out);
    } catch (e) {
      if (e instanceof Unrepresentable) return; // a mutated value WIT's types cannot hold: never sent
      assert.equal(e?.constructor?.name, "ComponentError", `a non-result error (trap?): ${e?.stack ?? e}`);
      assert.equal(typeof e.payload.code, "string");
    }
  };
  const texts = (v) => (rand() < 0.3 ? pick(HOSTILE_TEXT) : JSON.stringify(v ?? null));
  const core = syncCore();
  const files = loadVectorFiles().filter((f) => f.file.startsWith("sync/") || f.file.startsWith("reconcile/") || f.file.startsWith("volunteer/"));
  let calls = 0;
  for (let round = 0; round < 4; round++) {
    for (const { cases } of files) {
      for (const c of cases) {
        const i = mutate(c.input ?? {});
        const g = (k) => (i && typeof i === "object" ? i[k] : undefined);
        const now = pick(S64S);
        const ev = () => ({ rawEventType: "GiftUpdate", eventType: "gift-update", resourceKind: "gift", resourceId: pick(["1", "", "x".repeat(999)]), resource: texts(g("event")) });
        const typed = (op) => () => {
          // The mutated input as typed arguments (when WIT can hold it), then the JSON parameters as hostile text.
          const inp = i && typeof i === "object" && !Array.isArray(i) ? i : {};
          tryCall(() => callSync(api, op, inp));
          if (op !== "transition") tryCall(() => callCore(api, core, op, Object.fromEntries(Object.entries(inp).filter(([k]) => k !== "options"))));
        };
        const fns = {
          lookupKeys: () => [typed("lookupKeys")(), sync.lookupKeys(texts(g("options")), ev()), core.lookupKeys(ev())],
          decideInbound: () => [typed("decideInbound")(), sync.decideInbound(texts(g("options")), ev(), texts(g("record")), now),
            core.decideInbound(ev(), texts(g("record")), now)],
          decideOutbound: () => typed("decideOutbound")(),
          transition: () => [typed("transition")(), sync.transition(texts(g("record")), pick(["confirmed", "removed"]), now)],
          resolve: () => [typed("resolve")(), sync.resolve(texts(g("options")), MERGE_INPUT)],
          resolveConflict: () => [typed("resolveConflict")(), sync.resolveConflict(texts(g("record")), [["amount", { tag: "value", val: texts(g("choices")) }]], now)],
          classifyResponse: () => callReconcileTyped(api, "classifyResponse", i),
          parseModifiedTime: () => callReconcileTyped(api, "parseModifiedTime", i),
          planDeletions: () => callReconcileTyped(api, "planDeletions", i),
          mergeSubscription: () => callReconcileTyped(api, "mergeSubscription", i),
          planPause: () => callReconcileTyped(api, "planPause", i),
          planResume: () => callReconcileTyped(api, "planResume", i),
          planSecretRotation: () => callReconcileTyped(api, "planSecretRotation", i),
          pricePlan: () => callReconcileTyped(api, "pricePlan", i),
          volunteerPollScript: () => {
            // The JSON-text functions, with the mutated input and hostile text.
            tryCall(() => reconcile.startVolunteerPoll(texts(i)));
            const run = { resource: "users", config: {}, start: {}, page: 1 };
            for (const r of Array.isArray(g("runs")) ? g("runs") : [g("runs")]) {
              for (const body of Array.isArray(r?.pages) ? r.pages : [r]) {
                tryCall(() => reconcile.acceptVolunteerPage(texts({ run, body })));
                tryCall(() => reconcile.acceptVolunteerPage(texts({ run: mutate(run), body: mutate(body) })));
              }
            }
            tryCall(() => reconcile.finishVolunteerPoll(texts(mutate(run))));
          },
          planReconciliation: () => {
            tryCall(() => callReconcileTyped(api, "planReconciliation", i));
            const { options: _, ...rest } = i && typeof i === "object" && !Array.isArray(i) ? i : {};
            tryCall(() => callCorePlan(api, core, rest));
          },
          initialMatcher: () => {
            const m = new reconcile.InitialMatcher(undefined, undefined);
            const add = method(api.wit, "[method]initial-matcher.add-partner-chunk");
            for (const ch of Array.isArray(g("chunks")) ? g("chunks") : [g("chunks")]) {
              tryCall(() => m.addPartnerChunk(add.arg(ch?.records, "records")));
              tryCall(() => m.addVirtuousChunk(add.arg(ch?.records, "records")));
            }
            tryCall(() => m.finish());
            m[Symbol.dispose]();
          },
          queryScript: () => {
            tryCall(() => callReconcileTyped(api, "startQueryRun", i));
            tryCall(() => reconcile.startQueryRun({ config: texts(g("config")) }));
            for (const r of Array.isArray(g("runs")) ? g("runs") : [g("runs")]) {
              for (const rows of Array.isArray(r?.pages) ? r.pages : [r]) tryCall(() => reconcile.acceptQueryPage({ run: texts({}), rows: Array.isArray(rows) ? rows.map((x) => texts(x)) : [texts(rows)] }));
            }
          },
          rateBudget: () => {
            let b;
            tryCall(() => (b = new reconcile.RateBudget(texts(g("config")))));
            b ??= new reconcile.RateBudget(undefined);
            const observe = method(api.wit, "[method]rate-budget.observe");
            const decide = method(api.wit, "[method]rate-budget.decide");
            for (const step of Array.isArray(g("steps")) ? g("steps") : [g("steps")]) {
              tryCall(() => b.observe(observe.arg(step?.val, "val")));
              tryCall(() => b.decide(decide.arg(step?.val, "val")));
              tryCall(() => b.decide({ cost: pick([0, 4294967295]), nowMs: now, random: pick([0, 4294967295]) }));
              b.spend(pick([0, 1, 4294967295]));
              b.schedule(pick([0n, 1n, 2n ** 64n - 1n]), now);
              assert.equal(typeof b.backoffMs(pick([0, 1, 31, 4294967295]), pick([0, 4294967295])), "bigint");
            }
            tryCall(() => reconcile.RateBudget.fromJson(texts(mutate(JSON.parse(b.toJson()))))?.[Symbol.dispose]());
            b[Symbol.dispose]();
          },
        };
        // The rest: plan-merge-remap takes JSON text; every other reconcile function is typed.
        const fn = fns[c.op] ?? (() => callReconcileTyped(api, c.op, i));
        tryCall(fn);
        calls++;
      }
    }
  }
  for (const t of HOSTILE_TEXT) {
    tryCall(() => reconcile.planReconciliation(t, { rows: [t], stored: [{ record: t }], config: t, nowMs: 0n }));
    tryCall(() => reconcile.finishQueryRun(t));
    tryCall(() => reconcile.startVolunteerPoll(t));
    tryCall(() => reconcile.acceptVolunteerPage(t));
    tryCall(() => reconcile.volunteerBudget(t));
    tryCall(() => reconcile.planVolunteerDeletions(t));
    tryCall(() => reconcile.acceptQueryPage({ run: t, rows: [t] }));
    tryCall(() => reconcile.startQueryRun({ config: t }));
    tryCall(() => reconcile.parseModifiedTime({ text: t }));
    tryCall(() => reconcile.classifyResponse({ status: 200, body: t, retryAfter: t }));
    tryCall(() => sync.resolve(t, MERGE_INPUT));
    tryCall(() => sync.transition(t, "confirmed", 0n));
    tryCall(() => new rx.Core({ secrets: [{ secret: SECRET }], platformName: "P", sync: t })[Symbol.dispose]());
  }
  core[Symbol.dispose]();
  assert.ok(calls > 700, `${calls} fuzzed calls`);
});

test("the instance is still alive after all of the above", () => {
  assert.match(rx.generateSecret(undefined), /^[A-Za-z0-9_-]{43}$/);
  assert.equal(reconcile.parseModifiedTime({ text: "2024-03-05T14:02:11Z" }).ms, 1709647331000n);
});
