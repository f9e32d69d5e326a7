// The sync and reconciliation surface of the installed npm package beyond the shared vectors: error shape,
// chunked matching, record state round trips through stored JSON, clock defaults, the two classes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { importPackage, requirePackage } from "./support/package.mjs";

const vs = requirePackage();
const esm = await importPackage();
const SECRET = "k3y-for-tests-0123456789abcdefghijklmnopqrstuvwxyz";
const SYNC = { customerId: "cust-1" };
const NOW = 1_763_900_001_000;
const core = () => new vs.SyncCore({ secrets: [SECRET], platformName: "Acme Giving", sync: SYNC });

const GIFT_FIELDS = {
  amount: "500.00",
  giftDate: "2026-11-20",
  giftType: "Cash",
  currencyCode: "USD",
  notes: "n1",
  giftDesignations: [{ projectCode: "P1", amountDesignated: "500.00" }],
};
const change = (fields = GIFT_FIELDS, modifiedMs = NOW - 1000) => ({ customerId: "cust-1", kind: "gift", partnerId: "d-1", modifiedMs, fields });
/** The gift webhook Virtuous sends after applying our Transaction (same content, our stamp). */
function giftEvent(resource, modified) {
  return {
    eventType: "gift-update",
    rawEventType: "GiftUpdate",
    resourceKind: "gift",
    resourceId: String(resource.id),
    modifiedDateTimeUtc: modified,
    resource: { ...resource, modifiedDateTimeUtc: modified },
  };
}

const EXPORTS = [
  "SyncCore",
  "InitialMatcher",
  "RateBudget",
  "transition",
  "mergeSubscription",
  "parseModifiedTime",
  "planMergeRemap",
  "planPause",
  "planResume",
  "planSecretRotation",
  "planDeletions",
  "classifyResponse",
  "startQueryRun",
  "acceptQueryPage",
  "finishQueryRun",
  "pricePlan",
  "VirtuousSyncError",
];

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail("expected a throw");
}

function assertVse(e, { code, field, module }) {
  assert.ok(e instanceof Error, "instanceof Error");
  assert.ok(e instanceof vs.VirtuousSyncError && e instanceof esm.VirtuousSyncError, "instanceof VirtuousSyncError");
  assert.equal(e.name, "VirtuousSyncError");
  assert.deepEqual({ code: e.code, field: e.field, module: e.module }, { code, field, module }, e.message);
  assert.equal(typeof e.message, "string");
  assert.ok(e.message.length > 0);
}

describe("exports", () => {
  test("every sync/reconcile export exists in CommonJS and ESM, same instance", () => {
    for (const name of EXPORTS) {
      assert.equal(typeof vs[name], "function", name);
      assert.equal(esm[name], vs[name], name);
    }
  });
});

describe("errors carry code, field and module", () => {
  test("a core without `sync` refuses the sync decisions", () => {
    const bare = new vs.SyncCore({ secrets: [SECRET], platformName: "Acme Giving" });
    assertVse(thrown(() => bare.decideOutbound(null, change(), NOW)), { code: "sync-not-configured", field: "sync", module: "ops" });
    assertVse(thrown(() => bare.resolve({ kind: "gift", local: {}, remote: {} })), { code: "sync-not-configured", field: "sync", module: "ops" });
  });
  test("a bad sync option fails the constructor, naming it", () => {
    const e = thrown(() => new vs.SyncCore({ secrets: [SECRET], platformName: "P", sync: { customerId: "c", cooldownMs: -1 } }));
    assertVse(e, { code: "invalid-option", field: "sync.cooldownMs", module: "config" });
  });
  test("argument shapes name the path", () => {
    assertVse(thrown(() => core().decideOutbound(null, { ...change(), modifiedMs: "soon" }, NOW)), {
      code: "invalid-argument",
      field: "change.modifiedMs",
      module: "ops",
    });
    // An id is text or an integer (issue 11): a fraction is refused, naming the record.
    assertVse(thrown(() => new vs.InitialMatcher().addPartnerChunk([{ id: "a" }, { id: 7.5 }])), {
      code: "invalid-argument",
      field: "records[1].id",
      module: "ops",
    });
    assertVse(thrown(() => vs.classifyResponse({ status: "x" })), { code: "invalid-argument", field: "status", module: "ops" });
    assertVse(thrown(() => vs.transition(null, "partner-write", NOW)), { code: "invalid-argument", field: "record", module: "ops" });
  });
  test("core module errors keep their module", () => {
    const other = { ...change(), customerId: "cust-2" };
    const e = thrown(() => core().decideOutbound(null, other, NOW));
    assert.equal(e.module, "sync");
    assert.equal(e.code, "tenant-mismatch");
    const m = new vs.InitialMatcher();
    m.addPartnerChunk([{ id: "p1" }]);
    assertVse(thrown(() => m.addPartnerChunk([{ id: "p1" }])), { code: "duplicate-id", field: "", module: "matcher" });
    assertVse(
      thrown(() => vs.planMergeRemap({ contacts: [{ contactId: "1", mergedIntoContactId: "2" }, { contactId: "2", mergedIntoContactId: "1" }] })),
      { code: "merge-cycle", field: "", module: "merge" },
    );
    assertVse(thrown(() => new vs.RateBudget({ limit: 0 })), { code: "invalid-rate-config", field: "config.limit", module: "ratelimit" });
  });
  test("RateBudget.fromJSON loads a stored budget back and refuses a bad one", () => {
    const b = new vs.RateBudget({ liveHeadroom: 100 });
    b.observe({ status: 429, headers: { remaining: "0", retryAfter: "30" }, nowMs: NOW });
    const stored = JSON.parse(JSON.stringify(b.toJSON()));
    const back = vs.RateBudget.fromJSON(stored);
    assert.deepEqual(back.toJSON(), b.toJSON());
    const wait = back.decide({ cost: 1, priority: "live", nowMs: NOW + 1000 });
    assert.deepEqual([wait.go, wait.reason, wait.waitMs >= 29000], [false, "retry-after", true], JSON.stringify(wait));
    assertVse(thrown(() => vs.RateBudget.fromJSON({ ...stored, config: { ...stored.config, windowMs: 0 } })), {
      code: "invalid-rate-config",
      field: "state.config.windowMs",
      module: "ratelimit",
    });
    assertVse(thrown(() => vs.RateBudget.fromJSON({ ...stored, failures: -1 })), { code: "invalid-argument", field: "state.failures", module: "ops" });
    assertVse(thrown(() => vs.RateBudget.fromJSON(undefined)), { code: "invalid-argument", field: "state", module: "ops" });
  });
  test("transition outside the table is a typed error", () => {
    const r = { version: 1, customerId: "c", kind: "gift", state: "in-sync", base: {} };
    const e = thrown(() => vs.transition(r, "confirmed", NOW));
    assert.equal(e.name, "VirtuousSyncError");
    assert.equal(e.module, "sync");
    assert.match(e.code, /transition/);
  });
});

describe("record state round-trips through stored JSON", () => {
  const stored = (r) => JSON.parse(JSON.stringify(r));
  const kindOf = (v) => (Array.isArray(v) ? "array" : v === null ? "null" : typeof v);
  /** Top-level field -> JSON type (maps such as `base` grow as the record learns, so their keys are not compared). */
  const shape = (r) => Object.fromEntries(Object.keys(r).sort().map((k) => [k, kindOf(r[k])]));

  test("submit -> echo -> confirm -> next change: every record is plain JSON and decisions agree on the stored copy", () => {
    const c = core();
    const first = c.decideOutbound(null, change(), NOW);
    assert.equal(first.action.tag, "submit", JSON.stringify(first));
    assert.equal(first.record.state, "partner-pending");
    assert.deepEqual(stored(first.record), first.record, "plain JSON: no undefined, Map or class instances");

    // Virtuous applies the Transaction: its webhook carries our stamp and the written content.
    const body = first.action.val.body;
    const resource = { id: 501, ...GIFT_FIELDS, transactionSource: "Acme Giving", transactionId: body.transactionId ?? "d-1" };
    const event = giftEvent(resource, "2025-11-23T12:13:25.000Z");
    const fromLive = c.decideInbound(event, first.record, NOW + 5000);
    const fromStored = c.decideInbound(event, stored(first.record), NOW + 5000);
    assert.deepEqual(fromStored, fromLive);
    assert.equal(fromLive.action.tag, "confirm", JSON.stringify(fromLive));
    assert.equal(fromLive.record.state, "in-sync");
    assert.equal(fromLive.record.virtuousId, "501");
    assert.deepEqual(stored(fromLive.record), fromLive.record);
    assert.equal(fromLive.record.version, first.record.version);

    // A later partner edit from the stored confirmed record: GET-then-PUT (the default updateMode
    // "full") asks for the record first and changes nothing, then builds the PUT on it.
    const edit = change({ ...GIFT_FIELDS, notes: "n2" }, NOW + 60_000);
    const ask = c.decideOutbound(stored(fromLive.record), edit, NOW + 3_600_000);
    assert.deepEqual(ask.action, { tag: "fetch", val: { method: "GET", path: "/api/Gift/501" } }, JSON.stringify(ask));
    assert.equal(ask.record, undefined);
    const withCurrent = { ...edit, current: { ...resource, segmentCode: "YE24" } };
    const later = c.decideOutbound(stored(fromLive.record), withCurrent, NOW + 3_600_000);
    assert.deepEqual(later, c.decideOutbound(fromLive.record, withCurrent, NOW + 3_600_000));
    assert.equal(later.action.tag, "submit", JSON.stringify(later));
    assert.equal(later.action.val.method, "PUT");
    assert.equal(later.action.val.body.segmentCode, "YE24", "unmapped fields of the fetched record are kept");
    assert.equal(later.action.val.body.notes, "n2");
    assert.deepEqual(stored(later.record), later.record);
    // Same shape as the first pending record (plus what a confirmed record learned: virtuousId, timestamps).
    const [a, b] = [shape(first.record), shape(later.record)];
    for (const k of Object.keys(a)) if (k in b) assert.equal(b[k], a[k], k);
    for (const k of ["version", "customerId", "kind", "partnerId", "state", "base", "externalRef", "expectedEcho"]) {
      assert.ok(k in a && k in b, `${k} in both`);
    }
  });

  test("transition keeps the format and resolveConflict returns in-sync", () => {
    const r = { version: 1, customerId: "c", kind: "contact", state: "in-sync", base: { email: "aa" } };
    const pending = vs.transition(r, "partner-write", NOW);
    assert.equal(pending.state, "partner-pending");
    const conflict = vs.transition(stored(pending), "ambiguous", NOW);
    assert.equal(conflict.state, "conflict");
    assert.deepEqual(stored(conflict), conflict);
  });
});

describe("clock defaults", () => {
  test("nowMs defaults to Date.now() on the decisions and the budget", () => {
    const before = Date.now();
    const d = core().decideOutbound(null, change(GIFT_FIELDS, before - 10));
    const after = Date.now();
    assert.ok(d.inputs.nowMs >= before && d.inputs.nowMs <= after, JSON.stringify(d.inputs));
    const b = new vs.RateBudget();
    b.observe({ status: 200, headers: { remaining: "4000", reset: String(Math.floor(before / 1000) + 600) } });
    const go = b.decide({ cost: 10 });
    assert.equal(go.go, true, JSON.stringify(go));
    assert.equal(b.schedule(100).allowedNow, 100);
  });
});

describe("InitialMatcher", () => {
  /** A deterministic population: references, emails (with noise), households, name+postal, singles. */
  function population(n) {
    const partner = [];
    const virtuous = [];
    for (let i = 0; i < n; i++) {
      const k = i % 10;
      const p = { id: `p${i}`, data: { i } };
      const v = { id: String(10_000 + i), data: { id: i } };
      if (k < 3) {
        p.references = [{ source: "Acme", id: `p${i}` }];
        v.references = [{ source: " acme ", id: `p${i}` }];
      } else if (k < 6) {
        p.emails = [`  Donor${i}@Example.org`];
        v.emails = [`donor${i}@example.org`];
      } else if (k === 6) {
        p.emails = [`house${i - (i % 20 === 6 ? 0 : 10)}@example.org`];
        v.emails = [`house${i}@example.org`];
      } else if (k === 7) {
        p.names = [`Ann Lee${i}`];
        p.postalCodes = ["12345-6789"];
        v.names = [`ann  lee${i}`];
        v.postalCodes = ["12345"];
      } else {
        p.emails = [`p-only${i}@example.org`];
        v.emails = [`v-only${i}@example.org`];
      }
      partner.push(p);
      virtuous.push(v);
    }
    return { partner, virtuous };
  }
  const chunked = (arr, size) => Array.from({ length: Math.ceil(arr.length / size) }, (_, i) => arr.slice(i * size, (i + 1) * size));

  test("1,000 records per side: several chunks, in any order, give the plan of one chunk", () => {
    const { partner, virtuous } = population(1000);
    const one = new vs.InitialMatcher();
    one.addPartnerChunk(partner);
    one.addVirtuousChunk(virtuous);
    const whole = one.finish();
    one.free();
    assert.equal(whole.counts.partnerRecords, 1000);
    assert.ok(whole.pairs.length > 600, `${whole.pairs.length} pairs`);
    assert.ok(whole.review.length > 0, "households give review items");

    for (const [size, order] of [
      [100, "interleaved"],
      [333, "virtuous-first"],
      [7, "reversed"],
    ]) {
      const m = new vs.InitialMatcher({ partner: 1000, virtuous: 1000 });
      const pcs = chunked(partner, size);
      const vcs = chunked(virtuous, size);
      if (order === "interleaved") {
        pcs.forEach((c, i) => {
          m.addPartnerChunk(c);
          if (vcs[i]) m.addVirtuousChunk(vcs[i]);
        });
      } else if (order === "virtuous-first") {
        vcs.forEach((c) => m.addVirtuousChunk(c));
        pcs.forEach((c) => m.addPartnerChunk(c));
      } else {
        [...pcs].reverse().forEach((c) => m.addPartnerChunk(c));
        [...vcs].reverse().forEach((c) => m.addVirtuousChunk(c));
      }
      assert.deepEqual(m.finish(), whole, `${size} per chunk, ${order}`);
      m.free();
    }
  });

  test("a failing chunk changes nothing; finish can be called again after more chunks", () => {
    const m = new vs.InitialMatcher();
    m.addPartnerChunk([{ id: "p1", emails: ["a@x.org"] }]);
    assert.throws(() => m.addVirtuousChunk([{ id: "v1", emails: ["a@x.org"] }, { id: " " }]), { code: "blank-id" });
    assert.deepEqual(m.finish().partnerOnly, ["p1"]);
    m.addVirtuousChunk([{ id: "v1", emails: ["A@x.org "] }]);
    const plan = m.finish();
    assert.equal(plan.pairs.length, 1);
    assert.deepEqual([plan.pairs[0].partnerId, plan.pairs[0].virtuousId, plan.pairs[0].tier], ["p1", "v1", "email"]);
  });
});

describe("RateBudget", () => {
  test("backoff grows with the attempt, jitter from the host's random", () => {
    const b = new vs.RateBudget({ baseBackoffMs: 1000, maxBackoffMs: 60_000 });
    const lo = [1, 2, 3, 4].map((a) => b.backoffMs(a, 0));
    assert.deepEqual(lo, [500, 1000, 2000, 4000]);
    assert.ok(b.backoffMs(3, 999) > b.backoffMs(3, 0));
    assert.ok(b.backoffMs(30, 0xffffffff) <= 60_000);
  });
  test("toJSON is the budget state (JSON.stringify works)", () => {
    const b = new vs.RateBudget();
    b.observe({ status: 200, headers: { limit: "5000", remaining: "10", reset: "1700000600" }, nowMs: 1_700_000_000_000 });
    b.spend(4);
    const state = JSON.parse(JSON.stringify(b));
    // The lowest remaining reported, and the spent requests held until their answers (issue 11).
    assert.equal(state.remaining, 10);
    assert.equal(state.inFlight, 4);
    assert.equal(state.limit, 5000);
    assert.equal(state.config.liveHeadroom, 500);
  });
});
