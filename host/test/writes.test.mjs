// Which writes are full-record snapshots (never resent), and how a move between engines treats one in flight.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isFullRecordPut } from "../src/writes.mjs";
import { comparableState, transferDocument } from "../src/transfer.mjs";

const put = (path) => ({ method: "PUT", path, body: {} });

test("isFullRecordPut: gift and contact PUTs in full mode (the default) only", () => {
  assert.equal(isFullRecordPut({}, put("/api/Gift/78421")), true);
  assert.equal(isFullRecordPut({ sync: { updateMode: "full" } }, put("/api/contact/12")), true);
  assert.equal(isFullRecordPut({ sync: { updateMode: "partial" } }, put("/api/Gift/78421")), false, "partial mode keeps its retries");
  assert.equal(isFullRecordPut({}, { method: "POST", path: "/api/v2/Gift/Transaction", body: {} }), false, "creates keep their retries");
  assert.equal(isFullRecordPut({}, put("/api/Webhook/4")), false);
  assert.equal(isFullRecordPut({}, put("/api/Gift/78421/extra")), false);
  assert.equal(isFullRecordPut({}, { method: "GET", path: "/api/Gift/78421" }), false);
});

test("a move: an in-flight full-record PUT is not moved (its record moves dirty, decided again); other writes move queued", () => {
  const state = { state: "partner-pending", virtuousId: "1" };
  const parts = {
    records: [
      { recordKey: "gift:v1", kind: "gift", partnerId: "d1", virtuousId: "1", state, dirty: false },
      { recordKey: "gift:v2", kind: "gift", partnerId: "d2", virtuousId: "2", state, dirty: false, written: put("/api/Gift/2") },
      { recordKey: "gift:d3", kind: "gift", partnerId: "d3", state: { state: "partner-pending" }, dirty: false },
    ],
    outbox: [
      { recordKey: "gift:v1", request: put("/api/Gift/1"), status: "in-flight", attempts: 0 },
      { recordKey: "gift:v2", request: put("/api/Gift/2"), status: "queued", attempts: 0 },
      { recordKey: "gift:d3", request: { method: "POST", path: "/api/v2/Gift/Transaction", body: {} }, status: "in-flight", attempts: 1 },
    ],
  };
  const doc = transferDocument("c", parts, { settings: {}, nowMs: 500 });
  assert.deepEqual(doc.outbox.map((o) => [o.recordKey, o.status]), [["gift:v2", "queued"], ["gift:d3", "queued"]]);
  assert.deepEqual(doc.records.map((r) => [r.recordKey, r.dirty, r.recheckMs ?? null]), [["gift:v1", true, 500], ["gift:v2", false, null], ["gift:d3", false, null]]);
  assert.deepEqual(comparableState(doc).records.find((r) => r.recordKey === "gift:v2").written, put("/api/Gift/2"), "an unreported 2xx moves with its record");
  const partial = transferDocument("c", parts, { settings: { sync: { updateMode: "partial" } }, nowMs: 500 });
  assert.equal(partial.outbox.length, 3, "partial updates move queued, as before");
});
