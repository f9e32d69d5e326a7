// Raise and VOMO deliveries on the Worker host (workerd via miniflare, Durable Objects and Queues) against the local
// Virtuous and the partner app over real HTTP: the same behaviour as the Node host (host/test/product-links.test.mjs),
// each link in its own record Object (`raise:contact:v7001`): a Raise donor joining its CRM+ contact's partner record,
// its edit reaching CRM+ once, an ambiguous match in the review queue resolved by a person, a VOMO participation created and updated, a
// delete tombstoning only its link, a redelivery answered as a duplicate.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { signBody } from "virtuous-sync";
import { startWorkerWorld } from "../../../examples/partner-app/worker-world.mjs";
import { until } from "../../../examples/partner-app/world.mjs";

const C = "worker-products";
const RAISE_TOKEN = randomBytes(32).toString("hex");
const VOMO_SECRET = randomBytes(32).toString("hex");
let w;
const partnerStore = async () => (await fetch(`${w.partner.url}/store`)).json();
const status = () => w.call("GET", "/status");
const records = async () => (await w.call("GET", "/records")).records;
const timeline = (key) => w.call("GET", `/records/${encodeURIComponent(key)}/timeline`);
const sim = async (method, path, body, auth) => {
  const res = await fetch(w.sim.url + path, {
    method,
    headers: { ...(body ? { "content-type": "application/json" } : {}), ...(auth ? { authorization: `Bearer ${w.sim.sim.config.auth.apiKeys[0]}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  assert.ok(res.ok, `${method} ${path}: ${res.status}`);
  return res.status === 204 ? null : res.json();
};
const raise = async (eventType, record) => {
  await sim("POST", "/_sim/raise/events", { eventType, record });
  await sim("POST", "/_sim/product-webhooks/flush");
};
const vomo = async (type, data) => {
  await sim("POST", "/_sim/vomo/events", { type, organization_id: 7, data });
  await sim("POST", "/_sim/product-webhooks/flush");
};
const settled = async (what = "a quiet host") => {
  for (let i = 0; i < 2; i++) {
    await w.sim.admin.flush();
    await until(async () => {
      const s = await status();
      return s.inbox.pending === 0 && s.outbox.depth === 0 && s.records.dirty === 0 && w.partner.pendingHooks() === 0;
    }, { what, timeoutMs: 30_000 });
  }
};

before(async () => {
  w = await startWorkerWorld({ customerId: C, sync: { cooldownMs: 500 } });
  // The customer's settings again, with the Raise and VOMO receivers (PUT replaces them: the admin route).
  const sub = (await w.sim.admin.subscriptions())[0];
  await w.call("PUT", "", {
    customerId: C, platformName: "Acme Giving", secrets: [{ id: "initial", secret: w.secret }],
    virtuous: { baseUrl: w.sim.url, token: w.sim.sim.config.auth.apiKeys[0] }, partner: { url: w.partner.url }, webhookId: sub.id,
    sync: { cooldownMs: 500 }, reconcile: { resources: ["contact", "gift"] },
    receivers: { raise: { secrets: [RAISE_TOKEN] }, volunteer: { secrets: [VOMO_SECRET] } },
  }, { authorization: `Bearer ${w.adminToken}` });
  await sim("POST", "/raise/api/Webhook", { name: "sync", notificationUrl: `${w.hostUrl}/webhooks/raise/${C}`, eventTypesList: [30, 31, 32], securityToken: RAISE_TOKEN }, true);
  await sim("POST", "/_sim/vomo/endpoints", { url: `${w.hostUrl}/webhooks/volunteer/${C}`, secret: VOMO_SECRET });
});
after(async () => {
  await w?.close();
});

test("Worker: a Raise donor joins its CRM+ contact's partner record; its edit reaches CRM+ once; a redelivery is a duplicate; a delete tombstones only its link", { timeout: 120_000 }, async () => {
  const contact = await w.sim.admin.createContact({
    name: "Ada Lovelace", contactType: "Household",
    contactIndividuals: [{ firstName: "Ada", lastName: "Lovelace", contactMethods: [{ type: "Home Email", value: "ada@example.org" }] }],
  });
  await w.sim.admin.flush();
  const donor = await until(async () => Object.values((await partnerStore()).donors).find((d) => d.virtuousId === String(contact.id)), { what: "Ada on the partner side" });
  await settled();
  const donors = Object.keys((await partnerStore()).donors).length;

  await raise(30, { id: 7001, firstName: "Ada", lastName: "Lovelace", email: "ada@example.org", modifiedDate: "2026-11-30T10:00:00Z" });
  const link = await until(async () => (await records()).find((r) => r.recordKey === "raise:contact:v7001" && r.state), { what: "the Raise link" });
  await settled();
  assert.equal(link.product, "raise");
  assert.equal(link.partnerId, donor.id, "linked to Ada's partner record");
  assert.equal(Object.keys((await partnerStore()).donors).length, donors, "no second partner record");
  assert.ok((await timeline("raise:contact:v7001")).entries.some((e) => e.action === "link" && e.reason === "email"));
  const putsBefore = (await w.sim.admin.requests({ method: "PUT", path: `/api/Contact/${contact.id}` })).length;

  await raise(31, { id: 7001, firstName: "Ada", lastName: "King", email: "ada@example.org", modifiedDate: "2026-11-30T11:00:00Z" });
  await until(async () => (await w.sim.admin.contact(contact.id)).contactIndividuals[0].lastName === "King", { what: "the Raise edit in CRM+", timeoutMs: 30_000 });
  await settled();
  assert.equal((await partnerStore()).donors[donor.id].fields.lastName, "King");
  const modified = (await partnerStore()).donors[donor.id].modifiedMs;
  await new Promise((r) => setTimeout(r, 500));
  await settled();
  assert.equal((await w.sim.admin.requests({ method: "PUT", path: `/api/Contact/${contact.id}` })).length - putsBefore, 1, "one write to CRM+, no echo loop");
  assert.equal((await partnerStore()).donors[donor.id].modifiedMs, modified, "nothing applied again");

  const body = JSON.stringify({ eventType: 31, contextId: "ctx_worker_again", donor: { id: 7001, firstName: "Ada", lastName: "King", email: "ada@example.org", modifiedDate: "2026-11-30T11:00:00Z" } });
  const headers = { "content-type": "application/json", "x-raise-signature": signBody(body, RAISE_TOKEN, { encoding: "hex" }).signature };
  const url = `${w.hostUrl}/webhooks/raise/${C}`;
  assert.equal((await fetch(url, { method: "POST", headers, body })).status, 200);
  await settled();
  const before = (await timeline("raise:contact:v7001")).entries.length;
  await fetch(url, { method: "POST", headers, body });
  await settled();
  // The Worker's dedupe is the record Object's done-marker (the Queue is the inbox): the second copy decides nothing.
  assert.equal((await timeline("raise:contact:v7001")).entries.length, before, "the redelivery decided nothing");

  await raise(32, { id: 7001, modifiedDate: "2026-11-30T12:00:00Z" });
  await until(async () => (await records()).find((r) => r.recordKey === "raise:contact:v7001")?.state?.tombstone, { what: "the tombstoned Raise link" });
  await settled();
  const crm = (await records()).find((r) => r.recordKey === `contact:v${contact.id}`);
  assert.equal(crm.state.tombstone, undefined, "the CRM+ link stays");
  assert.ok(!(await partnerStore()).donors[donor.id].deleted, "the partner record stays");
  assert.equal((await status()).inbox.deadLetters, 0);
});

test("Worker: an ambiguous match goes to the review queue; a VOMO participation is created and updated", { timeout: 120_000 }, async () => {
  for (const first of ["Sam", "Alex"])
    await fetch(`${w.partner.url}/donors`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ fields: { name: `${first} Rivera`, firstName: first, lastName: "Rivera", email: "riveras@example.org" } }) });
  await settled();
  const donors = Object.keys((await partnerStore()).donors).length;
  await raise(30, { id: 8001, firstName: "Sam", lastName: "Rivera", email: "riveras@example.org", modifiedDate: "2026-11-30T10:00:00Z" });
  const item = await until(async () => (await w.call("GET", "/review")).items.find((r) => r.kind === "product-link"), { what: "the review item" });
  assert.equal(item.item.reason, "ambiguous-match");
  assert.equal(item.item.partnerIds.length, 2);
  await settled();
  assert.equal(Object.keys((await partnerStore()).donors).length, donors, "nothing created");
  assert.equal((await records()).find((r) => r.recordKey === "raise:contact:v8001" && r.state), undefined, "no link stored");
  // A person chooses Sam's record (POST .../review/:id/resolve): the held event goes back in and the link is made.
  const sam = Object.values((await partnerStore()).donors).find((d) => d.fields.firstName === "Sam");
  const resolved = await w.call("POST", `/review/${item.id}/resolve`, { partnerId: sam.id });
  assert.deepEqual([resolved.recordKey, resolved.partnerId, resolved.refed], ["raise:contact:v8001", sam.id, true]);
  const samLink = await until(async () => (await records()).find((r) => r.recordKey === "raise:contact:v8001" && r.state), { what: "the resolved link" });
  assert.equal(samLink.partnerId, sam.id);
  await settled();
  assert.equal(Object.keys((await partnerStore()).donors).length, donors, "nothing created");
  assert.equal((await w.call("GET", "/review")).items.filter((r) => r.kind === "product-link").length, 0);
  await assert.rejects(w.call("POST", `/review/${item.id}/resolve`, { partnerId: sam.id }), /404/);

  // A donor new to everyone: created from Raise; then Virtuous copies her into CRM+ and the CRM+ contact joins her.
  await raise(30, { id: 8002, firstName: "Noor", lastName: "Haddad", email: "noor@example.org", modifiedDate: "2026-11-30T10:00:00Z" });
  const noor = await until(async () => Object.values((await partnerStore()).donors).find((d) => d.links?.raise === "8002"), { what: "Noor on the partner side" });
  await settled();
  const copy = await w.sim.admin.createContact({
    name: "Noor Haddad", contactType: "Household",
    contactIndividuals: [{ firstName: "Noor", lastName: "Haddad", contactMethods: [{ type: "Home Email", value: "noor@example.org" }] }],
  });
  await until(async () => (await partnerStore()).donors[noor.id].virtuousId === String(copy.id), { what: "the CRM+ contact joining Noor's partner record" });
  await settled();
  assert.equal(Object.values((await partnerStore()).donors).filter((d) => d.fields.email === "noor@example.org").length, 1, "one partner record for Noor");
  assert.equal((await records()).find((r) => r.recordKey === `contact:v${copy.id}`).partnerId, noor.id);

  await vomo("participation.created", { id: 901, user_id: 12, status: "approved", hours: 2, updated_at: "2026-11-30T10:00:00Z" });
  const part = await until(async () => Object.values((await partnerStore()).participations ?? {}).find((p) => p.links?.volunteer === "901"), { what: "the participation" });
  assert.deepEqual(part.fields, { status: "approved", hours: 2 });
  await vomo("participation.updated", { id: 901, user_id: 12, status: "approved", hours: 5, updated_at: "2026-11-30T11:00:00Z" });
  await until(async () => (await partnerStore()).participations[part.id].fields.hours === 5, { what: "the new hours" });
  const link = (await records()).find((r) => r.recordKey === "volunteer:participation:v901");
  assert.equal(link.product, "volunteer");
  assert.equal(link.partnerId, part.id);
});
