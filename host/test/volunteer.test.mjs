// The Volunteer (VOMO) poller end to end: the local Virtuous's VOMO API (sim/src/vomo.mjs) ↔ the host's poller
// (src/volunteer.mjs) ↔ the partner app, over real HTTP, on PGlite and on PostgreSQL (the cursors, the budget and the
// tombstones live in the state store). The scenario is the demo's (examples/partner-app/volunteer.mjs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { startWorld } from "../../examples/partner-app/world.mjs";
import { runVolunteerScenario } from "../../examples/partner-app/volunteer.mjs";
import { SyncCore } from "virtuous-sync";
import { checkVolunteerSettings, volunteerEvent } from "../src/volunteer.mjs";
import { lookupKeys } from "../src/keys.mjs";
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

test("a polled row becomes a Volunteer event on its own link, decided under the product's field maps", () => {
  const ch = { id: "8", action: "create", updatedAt: "2025-11-19T10:15:00+00:00" };
  const user = volunteerEvent("users", ch, { id: 8, first_name: "Ada", email: "ada@example.org" });
  assert.deepEqual(user, {
    product: "volunteer", action: "create", productEventType: "user.created", rawEventType: "user.created", resourceKind: "contact", resourceId: "8",
    resource: { id: 8, first_name: "Ada", email: "ada@example.org" }, modifiedDateTimeUtc: ch.updatedAt,
  });
  assert.equal(volunteerEvent("projects", { ...ch, action: "update" }, {}).productEventType, "project.updated");
  const core = new SyncCore({ secrets: ["s".repeat(32)], platformName: "Acme", sync: { customerId: "c" } });
  try {
    // The core keys it as a Volunteer link (never the CRM+ contact 8) and decides a create with VOMO's field names.
    assert.deepEqual(lookupKeys(core, user), { product: "volunteer", kind: "contact", virtuousId: "8", refs: [] });
    const d = core.decideInbound(user, null, Date.parse("2025-11-19T10:16:00Z"));
    assert.equal(d.action.tag, "create");
    assert.deepEqual(d.action.val.fields, { firstName: "Ada", email: "ada@example.org" });
    assert.equal(d.record.product, "volunteer");
    const p = volunteerEvent("participations", ch, { id: 9, status: "approved", hours: 2 });
    assert.deepEqual(lookupKeys(core, p), { product: "volunteer", kind: "participation", virtuousId: "8", refs: [] });
    assert.equal(core.decideInbound(p, null, Date.parse("2025-11-19T10:16:00Z")).action.tag, "create");
  } finally {
    core.free();
  }
});
