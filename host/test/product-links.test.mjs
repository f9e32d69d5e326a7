// One partner record, several products (docs/sync.md): Raise and Volunteer deliveries sent by the local Virtuous (sim/)
// over real HTTP, carried out by the host on each store (memory, PGlite, PostgreSQL) against the partner app: a Raise
// donor linked to the partner record its CRM+ contact already has (one partner record, two links), its edit reaching
// CRM+ once and never echoing back, an ambiguous match going to the review queue (nothing merged, nothing created),
// a VOMO participation created and updated, a deletion tombstoning only its link, a redelivery answered as a duplicate.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { signBody } from "virtuous-sync";
import { startWorld, until } from "../../examples/partner-app/world.mjs";
import { openMemory, openPglite, openPostgres } from "./support/stores.mjs";
import { postgresAvailable } from "./support/postgres.mjs";

const RAISE_TOKEN = randomBytes(32).toString("hex");
const VOMO_SECRET = randomBytes(32).toString("hex");
const stores = [["memory", openMemory], ["pglite", openPglite]];
if (postgresAvailable()) stores.push(["postgres", openPostgres]);

async function world(open) {
  const store = await open();
  const w = await startWorld({ store, sync: { cooldownMs: 500 } });
  const c = await w.host.customer(w.customerId);
  await w.host.putCustomer({ ...c.settings, receivers: { raise: { secrets: [RAISE_TOKEN] }, volunteer: { secrets: [VOMO_SECRET] } } });
  w.start();
  const sim = async (method, path, body) => {
    const res = await fetch(w.sim.url + path, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
    assert.ok(res.ok, `${method} ${path}: ${res.status}`);
    return res.status === 204 ? null : res.json();
  };
  const raiseUrl = `${w.hostUrl}/webhooks/raise/${w.customerId}`;
  // The Raise API takes the simulator's bearer token, as CRM+'s does.
  const sub = await fetch(`${w.sim.url}/raise/api/Webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${w.sim.sim.config.auth.apiKeys[0]}` },
    body: JSON.stringify({ name: "sync", notificationUrl: raiseUrl, eventTypesList: [30, 31, 32], securityToken: RAISE_TOKEN }),
  });
  assert.ok(sub.ok, `POST /raise/api/Webhook: ${sub.status}`);
  await sim("POST", "/_sim/vomo/endpoints", { url: `${w.hostUrl}/webhooks/volunteer/${w.customerId}`, secret: VOMO_SECRET });
  /** Emits a Raise event and sends it (the delivery's HTTP status is checked). */
  const raise = async (eventType, record) => {
    await sim("POST", "/_sim/raise/events", { eventType, record });
    await sim("POST", "/_sim/product-webhooks/flush");
  };
  const vomo = async (type, data) => {
    await sim("POST", "/_sim/vomo/events", { type, organization_id: 7, data });
    await sim("POST", "/_sim/product-webhooks/flush");
  };
  const partnerStore = async () => (await fetch(`${w.partner.url}/store`)).json();
  const settled = async () => {
    await w.sim.admin.flush();
    await until(async () => {
      const s = await w.host.status(w.customerId);
      return s.inbox.pending === 0 && s.outbox.depth === 0 && s.records.dirty === 0 && w.partner.pendingHooks() === 0;
    }, { what: "a quiet host", timeoutMs: 30_000 });
    // Echoes of our own writes arrive as CRM+ deliveries: settle again after them.
    await w.sim.admin.flush();
    await until(async () => (await w.host.status(w.customerId)).inbox.pending === 0, { what: "echoes processed" });
  };
  return { w, store, sim, raise, vomo, raiseUrl, partnerStore, settled, close: async () => (await w.close(), await store.close()) };
}

for (const [name, open] of stores) {
  test(`${name}: a Raise donor joins the partner record of its CRM+ contact; its edit reaches CRM+ once; a delete tombstones only its link`, { timeout: 120_000 }, async () => {
    const { w, store, raise, raiseUrl, partnerStore, settled, close } = await world(open);
    try {
      // Staff create Ada in CRM+: the host creates her donor on the partner side (the CRM+ link).
      const contact = await w.sim.admin.createContact({
        name: "Ada Lovelace", contactType: "Household",
        contactIndividuals: [{ firstName: "Ada", lastName: "Lovelace", contactMethods: [{ type: "Home Email", value: "ada@example.org" }] }],
      });
      await w.sim.admin.flush();
      const donor = await until(async () => Object.values((await partnerStore()).donors).find((d) => d.virtuousId === String(contact.id)), { what: "Ada on the partner side" });
      await settled();
      const donorsBefore = Object.keys((await partnerStore()).donors).length;

      // Ada gives through Raise: donor 7001 with the same email. One partner record, two links.
      await raise(30, { id: 7001, firstName: "Ada", lastName: "Lovelace", email: "ada@example.org", modifiedDate: "2026-11-30T10:00:00Z" });
      await settled();
      assert.equal(Object.keys((await partnerStore()).donors).length, donorsBefore, "no second partner record");
      const links = await store.partnerLinks(w.customerId, { kind: "contact", partnerId: donor.id });
      assert.deepEqual(links.map((l) => [l.product, l.recordKey, l.virtuousId]).sort(), [["crm", `contact:v${contact.id}`, String(contact.id)], ["raise", "raise:contact:v7001", "7001"]].sort());
      const raiseLink = links.find((l) => l.product === "raise");
      assert.equal(raiseLink.state.product, "raise");
      assert.equal(raiseLink.state.partnerId, donor.id);
      const tl = await w.host.timeline(w.customerId, "raise:contact:v7001");
      assert.ok(tl.entries.some((e) => e.action === "link" && e.reason === "email" && e.detail.partnerId === donor.id), JSON.stringify(tl.entries));
      const putsBefore = (await w.sim.admin.requests({ method: "PUT", path: `/api/Contact/${contact.id}` })).length;

      // Ada changes her last name in Raise: the partner record takes it, and the CRM+ link writes it to CRM+ once.
      await raise(31, { id: 7001, firstName: "Ada", lastName: "King", email: "ada@example.org", modifiedDate: "2026-11-30T11:00:00Z" });
      await until(async () => (await partnerStore()).donors[donor.id].fields.lastName === "King", { what: "the Raise edit on the partner side" });
      await settled();
      await until(async () => (await w.sim.admin.contact(contact.id)).contactIndividuals[0].lastName === "King", { what: "the Raise edit in CRM+" });
      await settled();
      const puts = (await w.sim.admin.requests({ method: "PUT", path: `/api/Contact/${contact.id}` })).length - putsBefore;
      assert.equal(puts, 1, "one write to CRM+");
      // No echo loop: the CRM+ echo is confirmed, nothing more is queued or applied, the links are in sync.
      const crmTl = await w.host.timeline(w.customerId, `contact:v${contact.id}`);
      // The echo is recognised as ours (confirmed, echo, stale when a read-before-write already saw it, or no-change
      // once the full-record PUT's 2xx was reported at once): one write sent, and nothing the echo carried applied back
      // to the partner record.
      const steps = crmTl.entries.map((e) => [e.direction, e.action, e.reason]);
      assert.equal(steps.filter(([d, a]) => d === "submit" && a === "proceed").length, 1, JSON.stringify(steps));
      const sent = steps.findIndex(([d]) => d === "submit");
      assert.ok(steps.slice(sent).every(([d, a]) => d !== "inbound" || !["apply", "create", "conflict"].includes(a)), JSON.stringify(steps));
      assert.ok(steps.slice(sent).some(([d, , r]) => d === "inbound" && ["confirmed", "echo", "stale", "no-change"].includes(r)), JSON.stringify(steps));
      assert.equal(crmTl.outbox, undefined);
      const modified = (await partnerStore()).donors[donor.id].modifiedMs;
      await new Promise((r) => setTimeout(r, 300));
      await settled();
      assert.equal((await partnerStore()).donors[donor.id].modifiedMs, modified, "nothing applied again");
      assert.equal((await w.sim.admin.requests({ method: "PUT", path: `/api/Contact/${contact.id}` })).length - putsBefore, 1);

      // The same Raise delivery twice (Raise's redelivery: same contextId): one inbox entry, answered as a duplicate.
      const body = JSON.stringify({ eventType: 31, contextId: "ctx_again", donor: { id: 7001, firstName: "Ada", lastName: "King", email: "ada@example.org", modifiedDate: "2026-11-30T11:00:00Z" } });
      const headers = { "content-type": "application/json", "x-raise-signature": signBody(body, RAISE_TOKEN, { encoding: "hex" }).signature };
      const first = await (await fetch(raiseUrl, { method: "POST", headers, body })).json();
      const second = await (await fetch(raiseUrl, { method: "POST", headers, body })).json();
      assert.deepEqual([first.duplicate, second.duplicate], [false, true]);
      await settled();
      assert.equal((await partnerStore()).donors[donor.id].modifiedMs, modified, "the redelivered (unchanged) event applies nothing");

      // Ada's Raise donor is deleted: its link is tombstoned; the partner record and the CRM+ link stay.
      await raise(32, { id: 7001, modifiedDate: "2026-11-30T12:00:00Z" });
      await settled();
      const after = await store.partnerLinks(w.customerId, { kind: "contact", partnerId: donor.id });
      assert.ok(after.find((l) => l.product === "raise").state.tombstone, "the Raise link is tombstoned");
      const crm = after.find((l) => l.product === "crm");
      assert.equal(crm.state.tombstone, undefined, "the CRM+ link is not");
      const d = (await partnerStore()).donors[donor.id];
      assert.ok(!d.deleted && d.fields.lastName === "King", "the partner record is not deleted");
      // A later Raise edit of the deleted donor changes nothing.
      await raise(31, { id: 7001, firstName: "Ada", lastName: "Gone", email: "ada@example.org", modifiedDate: "2026-11-30T13:00:00Z" });
      await settled();
      assert.equal((await partnerStore()).donors[donor.id].fields.lastName, "King");
      const s = await w.host.status(w.customerId);
      assert.equal(s.inbox.deadLetters, 0);
      assert.ok(s.counters.raiseEvents >= 5 && s.counters.linked === 1, JSON.stringify(s.counters));
    } finally {
      await close();
    }
  });

  test(`${name}: an ambiguous Raise match goes to the review queue; an unmatched donor is created; VOMO participations are created and updated`, { timeout: 120_000 }, async () => {
    const { w, store, raise, vomo, partnerStore, settled, close } = await world(open);
    try {
      // Two partner donors share an email (a household): a Raise donor with it matches both.
      for (const first of ["Sam", "Alex"])
        await fetch(`${w.partner.url}/donors`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ fields: { name: `${first} Rivera`, firstName: first, lastName: "Rivera", email: "riveras@example.org" } }) });
      await settled();
      const before = Object.keys((await partnerStore()).donors).length;
      await raise(30, { id: 8001, firstName: "Sam", lastName: "Rivera", email: "riveras@example.org", modifiedDate: "2026-11-30T10:00:00Z" });
      await settled();
      assert.equal(Object.keys((await partnerStore()).donors).length, before, "no partner record created");
      assert.equal(await store.findRecord(w.customerId, { product: "raise", kind: "contact", virtuousId: "8001" }), null, "no link stored on a guess");
      const review = (await store.listReview(w.customerId)).filter((r) => r.kind === "product-link");
      assert.equal(review.length, 1, JSON.stringify(review));
      assert.equal(review[0].item.reason, "ambiguous-match");
      assert.equal(review[0].item.partnerIds.length, 2);
      assert.deepEqual(review[0].item.fields, { firstName: "Sam", lastName: "Rivera", email: "riveras@example.org" });

      // A Raise donor nobody has: the partner record is created from the Raise values, linked to Raise only; the
      // partner app's change hook for it submits nothing to CRM+ (Virtuous copies Raise donors into CRM+ itself).
      await raise(30, { id: 8002, firstName: "Noor", lastName: "Haddad", email: "noor@example.org", modifiedDate: "2026-11-30T10:00:00Z" });
      await settled();
      const noor = Object.values((await partnerStore()).donors).find((d) => d.fields.email === "noor@example.org");
      assert.ok(noor && noor.links?.raise === "8002" && noor.virtuousId === undefined, JSON.stringify(noor));
      assert.deepEqual((await store.partnerLinks(w.customerId, { kind: "contact", partnerId: noor.id })).map((l) => l.product), ["raise"]);
      assert.equal((await w.sim.admin.transactions()).filter((t) => JSON.stringify(t).includes("noor@example.org")).length, 0, "not submitted to CRM+");
      // Virtuous copies Noor into CRM+ itself: the CRM+ contact joins her partner record (one record, two links).
      const donorsNow = Object.keys((await partnerStore()).donors).length;
      const copy = await w.sim.admin.createContact({
        name: "Noor Haddad", contactType: "Household",
        contactIndividuals: [{ firstName: "Noor", lastName: "Haddad", contactMethods: [{ type: "Home Email", value: "noor@example.org" }] }],
      });
      await settled();
      assert.equal(Object.keys((await partnerStore()).donors).length, donorsNow, "no second partner record for Noor");
      assert.deepEqual((await store.partnerLinks(w.customerId, { kind: "contact", partnerId: noor.id })).map((l) => [l.product, l.virtuousId]), [["crm", String(copy.id)], ["raise", "8002"]]);
      const joined = (await partnerStore()).donors[noor.id];
      assert.equal(joined.virtuousId, String(copy.id));
      assert.equal(joined.fields.name, "Noor Haddad", "what the partner record lacked is filled in");

      // VOMO: a volunteer (a new partner record), then her participation, created on the partner side naming her
      // partner record (its owner, through her Volunteer link), then updated.
      await vomo("user.created", { id: 12, first_name: "Vera", last_name: "Okafor", email: "vera@example.org", created_at: "2026-11-30T09:00:00Z", updated_at: "2026-11-30T09:00:00Z" });
      const vera = await until(async () => Object.values((await partnerStore()).donors).find((d) => d.links?.volunteer === "12"), { what: "the volunteer on the partner side" });
      await settled();
      await vomo("participation.created", { id: 901, user_id: 12, project_id: 3, status: "approved", hours: 2, updated_at: "2026-11-30T10:00:00Z" });
      const part = await until(async () => Object.values((await partnerStore()).participations ?? {}).find((p) => p.links?.volunteer === "901"), { what: "the participation on the partner side" });
      assert.deepEqual(part.fields, { status: "approved", hours: 2 });
      assert.equal(part.owner, vera.id, "the participation names its volunteer's partner record");
      await vomo("participation.updated", { id: 901, user_id: 12, project_id: 3, status: "approved", hours: 5, updated_at: "2026-11-30T11:00:00Z" });
      await until(async () => (await partnerStore()).participations[part.id].fields.hours === 5, { what: "the participation's new hours" });
      await settled();
      const link = await store.findRecord(w.customerId, { product: "volunteer", kind: "participation", virtuousId: "901" });
      assert.equal(link.partnerId, part.id);
      assert.equal(link.state.product, "volunteer");
      assert.equal(Object.keys((await partnerStore()).participations).length, 1);
      const s = await w.host.status(w.customerId);
      assert.equal(s.inbox.deadLetters, 0);
      assert.equal(s.counters.volunteerEvents, 3);
    } finally {
      await close();
    }
  });
}
