// The npm InitialMatcher beyond the shared vectors (issue 16): the default seed from crypto.getRandomValues,
// progress callbacks (stop by `false` or by throwing), the compact JSON-text chunk beside arrays, typed errors
// for bad seeds, options and texts. Never timed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { requirePackage } from "./support/package.mjs";

const { InitialMatcher, VirtuousSyncError } = requirePackage();

function population(n) {
  const partner = [];
  const virtuous = [];
  for (let i = 0; i < n; i++) {
    partner.push({ id: `p${i}`, emails: [`d${i % (n - 3)}@x.org`], names: ["Ann Smith"], phones: [`555000${String(i).padStart(4, "0")}`] });
    virtuous.push({ id: 1000 + i, emails: [`D${i}@x.org`], data: { i } });
  }
  return { partner, virtuous };
}

function run(m, { partner, virtuous }, asText = false) {
  const form = (c) => (asText ? JSON.stringify(c) : c);
  for (let k = 0; k < partner.length; k += 37) m.addPartnerChunk(form(partner.slice(k, k + 37)));
  for (let k = 0; k < virtuous.length; k += 41) m.addVirtuousChunk(form(virtuous.slice(k, k + 41)));
  return m;
}

describe("InitialMatcher (npm)", () => {
  const data = population(300);
  const reference = run(new InitialMatcher({ seed: "00".repeat(32) }), data).finish();

  test("the default random seed, other seeds and the text form give the same plan", () => {
    assert.ok(reference.pairs.length > 200 && reference.review.length > 0);
    assert.deepEqual(run(new InitialMatcher(), data).finish(), reference);
    assert.deepEqual(run(new InitialMatcher({ seed: "Ab".repeat(32), partner: 300 }), data, true).finish(), reference);
  });

  test("progress: every phase's start and end, in order; done never above total", () => {
    const seen = [];
    const plan = run(new InitialMatcher(), data).finish({ onProgress: (p) => void seen.push(p) });
    assert.deepEqual(plan, reference);
    assert.deepEqual(
      seen.map((p) => p.phase),
      ["reference", "reference", "email", "email", "strong-signal", "strong-signal", "plan", "plan"],
    );
    assert.ok(seen.every((p) => Number.isInteger(p.done) && p.done <= p.total));
    assert.deepEqual(seen.at(-1), { phase: "plan", done: 600, total: 600 });
  });

  test("progress returning false stops finish with cancelled; a throwing callback's error is rethrown", () => {
    const m = run(new InitialMatcher(), data);
    let calls = 0;
    assert.throws(() => m.finish({ onProgress: () => ++calls < 3 }), (e) => e instanceof VirtuousSyncError && e.code === "cancelled" && e.module === "matcher");
    assert.equal(calls, 3);
    const mine = new Error("stop here");
    assert.throws(() => m.finish({ onProgress: () => { throw mine; } }), (e) => e === mine);
    // The matcher is unchanged and finishes afterwards.
    assert.deepEqual(m.finish(), reference);
  });

  test("bad seeds and options are typed errors", () => {
    for (const seed of ["00", "zz".repeat(32), "0".repeat(65)]) {
      assert.throws(() => new InitialMatcher({ seed }), (e) => e.code === "invalid-seed" && e.field === "expected.seed");
    }
    assert.throws(() => new InitialMatcher({ seed: 5 }), (e) => e.code === "invalid-argument");
    assert.throws(() => new InitialMatcher({ sead: "00".repeat(32) }), (e) => e.code === "invalid-argument");
    const m = new InitialMatcher();
    assert.throws(() => m.finish(5), (e) => e.code === "invalid-argument" && e.field === "options");
    assert.throws(() => m.finish({ onProgress: 5 }), (e) => e.code === "invalid-argument" && e.field === "options.onProgress");
  });

  test("compact text: errors name the field, a failing chunk adds nothing, the array form keeps its errors", () => {
    const m = new InitialMatcher();
    assert.throws(() => m.addPartnerChunk('[{"id":"a"},{"id":"b","emails":[1]}]'),
      (e) => e.code === "invalid-chunk" && e.field === "records[1].emails[0]");
    assert.throws(() => m.addPartnerChunk('[{"id":"a"},{"id":" a"}]'), (e) => e.code === "duplicate-id");
    m.addPartnerChunk('[{"id":"a"}]');
    // Arrays keep the general walk's field-naming error (an unknown key).
    assert.throws(() => m.addVirtuousChunk([{ id: "v", email: ["x@y.org"] }]), (e) => e.code === "invalid-argument" && /email/.test(e.field));
    // A lone surrogate in the JS text becomes U+FFFD on the way in; written as a JSON escape it is invalid-chunk.
    m.addVirtuousChunk('[{"id":"v\ud800","emails":["a\udfff@x.org"]}]');
    assert.deepEqual(m.finish().virtuousOnly, ["v\ufffd"]);
    assert.throws(() => m.addVirtuousChunk('[{"id":"w\\ud800"}]'), (e) => e.code === "invalid-chunk" && e.field === "records[0].id");
  });
});
