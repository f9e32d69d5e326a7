// The simulator against the core's own sync decisions, as a host drives them: the core's outbound request is
// accepted, the batch's GiftCreate is recognised as the echo of our write, a staff edit applies, a GET-then-PUT of
// the core's update lands, its echo confirms, and a merge remaps. Catches any drift between the simulator's shapes
// and what the core reads. Needs the installed core package (SIM_REQUIRE_CORE=1 makes its absence a failure).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SECRET, simWithReceiver } from "./helpers.mjs";

const APP = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "build", "npm-scratch", "app");

async function core() {
  if (!existsSync(join(APP, "node_modules", "virtuous-sync", "package.json"))) {
    if (process.env.SIM_REQUIRE_CORE === "1") throw new Error(`the core package is not installed in ${APP}`);
    return null;
  }
  return import(pathToFileURL(join(APP, "esm.mjs")).href);
}

const C = "customer-1";

test("core round trip: Transaction → batch → echo confirmed; staff edit applied; GET-then-PUT update confirmed; merge remapped", async (ctx) => {
  const pkg = await core();
  if (!pkg) return ctx.skip("core package not installed");
  const t = await simWithReceiver();
  // Designations stay out of the map: Virtuous adds `projectId` to each on read, which a partner's write lacks
  // (see the README's note on designations).
  const giftFields = ["amount", "giftDate", "giftType", "currencyCode", "notes"].map((name) => ({ name, pointer: `/${name}`, type: name === "amount" ? "money" : "plain" }));
  const contactFields = ["name", "contactType", "address"].map((name) => ({ name, pointer: `/${name}` }));
  const sync = new pkg.SyncCore({ secrets: [SECRET], platformName: "PartnerPlatform", sync: { customerId: C, cooldownMs: 1000, fieldMaps: { gift: giftFields, contact: contactFields } } });
  const now = () => t.sim.sim.clock.now();
  const deliveries = async () => {
    await t.admin.flush();
    const out = t.rx.received.splice(0).map((d) => {
      const receipt = sync.receive(d.raw, d.headers, now());
      assert.equal(receipt.status, 200, JSON.stringify(receipt.error));
      return receipt.event;
    });
    return out;
  };
  const send = async (req) => {
    const res = await t.api.raw(req.method, req.path, req.body);
    const text = await res.text();
    assert.equal(res.status, 200, `${req.method} ${req.path}: ${text}`);
    return JSON.parse(text);
  };
  try {
    // 1. A partner donation: the core asks for a Gift Transaction.
    const fields = { amount: "50.00", giftDate: "2026-03-01", giftType: "Cash", currencyCode: "USD", notes: "first" };
    const extra = { giftDesignations: [{ projectCode: "GENERAL", amountDesignated: "50.00" }], contact: { referenceId: "donor-1", firstname: "Ada", lastname: "Lovelace", email: "ada@example.org" } };
    let out = sync.decideOutbound(null, { customerId: C, kind: "gift", partnerId: "don-1", modifiedMs: now(), fields, extra }, now());
    assert.equal(out.action.tag, "submit");
    assert.equal(out.action.val.path, "/api/v2/Gift/Transaction");
    await send(out.action.val);
    let gift = out.record;
    assert.equal((await t.admin.runBatch()).created.length, 1);
    const [contactCreate, giftCreate] = await deliveries();
    assert.equal(contactCreate.rawEventType, "ContactCreate");
    let d = sync.decideInbound(giftCreate, gift, now());
    assert.equal(d.action.tag, "confirm", JSON.stringify(d));
    gift = d.record;
    const giftId = d.action.val.virtuousId;

    // 2. A staff edit to our gift (it carries our stamp) is applied, not taken for an echo.
    await t.admin.advance(5_000);
    await t.admin.editGift(Number(giftId), { amount: 75, "giftDesignations.0.amountDesignated": 75 });
    let [upd] = await deliveries();
    d = sync.decideInbound(upd, gift, now());
    assert.equal(d.action.tag, "apply", JSON.stringify(d));
    assert.equal(Number(d.action.val.fields.amount), 75);
    gift = d.record;

    // 3. A partner change after the cooldown: the core asks for the current record (GET), then builds the full PUT
    //    from it (Virtuous replaces the whole record on PUT); the echo confirms it.
    await t.admin.advance(60_000);
    const change = { customerId: C, kind: "gift", partnerId: "don-1", modifiedMs: now(), fields: { ...fields, amount: "75.00", notes: "second" } };
    out = sync.decideOutbound(gift, change, now());
    assert.equal(out.action.tag, "fetch", JSON.stringify(out));
    assert.equal(out.action.val.method, "GET");
    const current = await t.api.request("GET", out.action.val.path);
    out = sync.decideOutbound(gift, { ...change, current }, now());
    assert.equal(out.action.tag, "submit", JSON.stringify(out));
    assert.equal(out.action.val.method, "PUT");
    assert.equal(out.action.val.body.contactId, current.contactId, "the PUT body is the fetched record");
    await send(out.action.val);
    gift = out.record;
    [upd] = await deliveries();
    d = sync.decideInbound(upd, gift, now());
    assert.equal(d.action.tag, "confirm", JSON.stringify(d));
    const after = await t.api.request("GET", `/api/Gift/${giftId}`);
    assert.equal(after.notes, "second");
    assert.equal(after.transactionSource, "PartnerPlatform", "the GET-then-PUT kept the stamp");

    // 4. A staff-created contact is created on the partner; merged into another, its ContactUpdate remaps.
    const a = await t.admin.createContact({ firstName: "Grace", lastName: "Hopper", email: "grace@example.org" });
    const [aCreate] = await deliveries();
    const created = sync.decideInbound(aCreate, null, now());
    assert.equal(created.action.tag, "create", JSON.stringify(created));
    assert.equal(created.action.val.fields.name, "Grace Hopper");
    const survivor = await t.admin.createContact({ firstName: "Grace", lastName: "Hopper", email: "g.hopper@example.org" });
    await deliveries();
    await t.admin.merge(a.id, survivor.id);
    const [away, into] = await deliveries();
    assert.equal(away.resourceId, String(a.id));
    assert.equal(into.resourceId, String(survivor.id));
    d = sync.decideInbound(away, { ...created.record, partnerId: "donor-grace" }, now());
    assert.equal(d.action.tag, "remap", JSON.stringify(d));
    assert.equal(d.action.val.survivorId, String(survivor.id));
    // Our own contact's ContactCreate (from the batch) is recognised as ours.
    assert.equal(sync.decideInbound(contactCreate, null, now()).inputs.ours, true);
  } finally {
    sync.free();
    await t.close();
  }
});
