// The Volunteer (VOMO) poller end to end: the local Virtuous's VOMO API (sim/src/vomo.mjs) ↔ the host's poller
// (src/volunteer.mjs) ↔ the partner app, over real HTTP, on PGlite and on PostgreSQL (the cursors, the budget and the
// tombstones live in the state store). The scenario is the demo's (examples/partner-app/volunteer.mjs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { startWorld } from "../../examples/partner-app/world.mjs";
import { runVolunteerScenario } from "../../examples/partner-app/volunteer.mjs";
import { checkVolunteerSettings, volunteerEvent } from "../src/volunteer.mjs";
import { openPglite, openPostgres } from "./support/stores.mjs";
import { postgresAvailable } from "./support/postgres.mjs";

const stores = [["pglite", openPglite]];
if (postgresAvailable()) stores.push(["postgres", openPostgres]);

for (const [name, open] of stores) {
  test(`volunteer polling on ${name}: sync, overlap, participations' own cursor, quirks and 429s, two-phase deletion`, { timeout: 120_000 }, async () => {
    const store = await open();
    const w = await startWorld({ store, sync: { cooldownMs: 2_000, policy: { default: "most-recent-wins" } } });
    w.start();
    try {
      const facts = await runVolunteerScenario(w);
      assert.deepEqual(facts.problems, []);
      // The cursor survives in the store: a new host on the same store starts from it.
      const cur = await store.kvGet(w.customerId, "volunteer-cursor:users");
      assert.ok(cur.highWaterMs > 0 && cur.boundaryIds.length >= 1);
    } finally {
      await w.close();
      await store.close();
    }
  });
}

test("volunteer settings are checked, with the core's typed errors", () => {
  assert.throws(() => checkVolunteerSettings({ baseUrl: "https://api.vomo.org/v1" }), /volunteer.token/);
  assert.throws(() => checkVolunteerSettings({ token: "t", pollEveryMs: 60_000 }), /between 15 and 30 minutes/);
  assert.throws(() => checkVolunteerSettings({ token: "t", baseUrl: "http://api.vomo.org/v1" }), (e) => e.code === "invalid-poll-config");
  assert.throws(() => checkVolunteerSettings({ token: "t", budget: { requestsPerMinute: 0 } }), (e) => e.code === "invalid-rate-config");
  assert.throws(() => checkVolunteerSettings({ token: "t", resources: ["donors"] }), /unknown donors/);
  checkVolunteerSettings({ token: "t", pollEveryMs: 30 * 60_000 });
});

test("a polled row becomes the inbound event of its kind", () => {
  const ch = { id: "8", action: "create", updatedAt: "2025-11-19T10:15:00+00:00" };
  assert.deepEqual(volunteerEvent("users", ch, { id: 8 }), { rawEventType: "volunteer.contact.created", resourceKind: "contact", resourceId: "8", resource: { id: 8 }, eventType: "contact-create", modifiedDateTimeUtc: ch.updatedAt });
  assert.equal(volunteerEvent("projects", { ...ch, action: "update" }, {}).eventType, "project-update");
  const p = volunteerEvent("participations", ch, {});
  assert.equal(p.resourceKind, "participation");
  assert.equal(p.eventType, undefined, "no participation event type in the core yet (issue 17 item 4)");
});
