// GET/PUT of gifts and contacts (full replacement), staff edits, deletes, merges, Find and Query.
import assert from "node:assert/strict";
import { test } from "node:test";
import { giftTransaction, json, simWithReceiver } from "./helpers.mjs";

async function importedGift(t, n = 1) {
  await t.api.request("POST", "/api/v2/Gift/Transaction", giftTransaction(n, { notes: "first gift", customFields: { "Receipt Status": "Pending" } }));
  await t.admin.runBatch();
  await t.admin.flush();
  return t.api.request("GET", `/api/Gift/PartnerPlatform/donation-${n}`);
}

test("PUT /api/Gift replaces the whole gift: absent fields are blanked, required ones are enforced", async () => {
  const t = await simWithReceiver();
  try {
    const g = await importedGift(t);
    assert.equal(g.notes, "first gift");
    assert.deepEqual(g.customFields, { "Receipt Status": "Pending" });
    // Only the changed field: everything else except the required fields is blanked.
    let res = await t.api.raw("PUT", `/api/Gift/${g.id}`, { contactId: g.contactId, amount: 600, giftDate: g.giftDate });
    assert.equal(res.status, 200);
    const after = await t.api.request("GET", `/api/Gift/${g.id}`);
    assert.equal(after.amount, 600);
    for (const f of ["notes", "transactionSource", "transactionId", "giftType", "batch", "currencyCode"]) assert.equal(after[f], null, f);
    assert.deepEqual(after.giftDesignations, []);
    assert.deepEqual(after.customFields, {});
    assert.ok(after.modifiedDateTimeUtc > g.modifiedDateTimeUtc);
    // GET-then-PUT of the full record keeps everything.
    const full = { ...g, amount: 700, giftDesignations: [{ projectCode: "CLEAN-WATER", amountDesignated: 700 }] };
    await t.api.request("PUT", `/api/Gift/${g.id}`, full);
    const kept = await t.api.request("GET", `/api/Gift/${g.id}`);
    assert.equal(kept.notes, "first gift");
    assert.equal(kept.transactionSource, "PartnerPlatform");
    assert.equal(kept.amount, 700);
    // Missing required fields: 400 with details, and nothing changed.
    res = await t.api.raw("PUT", `/api/Gift/${g.id}`, { notes: "x" });
    assert.equal(res.status, 400);
    assert.deepEqual((await json(res)).error.details.map((d) => d.field).sort(), ["amount", "contactId", "giftDate"]);
    assert.equal((await t.api.request("GET", `/api/Gift/${g.id}`)).notes, "first gift");
    assert.equal((await t.api.raw("PUT", "/api/Gift/1", full)).status, 404);
    await t.admin.flush();
    assert.deepEqual(t.rx.received.slice(2).map((d) => d.json.event), ["GiftUpdate", "GiftUpdate"]);
  } finally {
    await t.close();
  }
});

test("putMode patch keeps absent fields (the switch for live PATCH-like behaviour)", async () => {
  const t = await simWithReceiver({ config: { putMode: "patch" } });
  try {
    const g = await importedGift(t);
    await t.api.request("PUT", `/api/Gift/${g.id}`, { amount: 600 });
    const after = await t.api.request("GET", `/api/Gift/${g.id}`);
    assert.equal(after.amount, 600);
    assert.equal(after.notes, "first gift");
  } finally {
    await t.close();
  }
});

test("PUT /api/Contact replaces; references and mergedIntoContactId are not writable", async () => {
  const t = await simWithReceiver();
  try {
    const g = await importedGift(t);
    const c = await t.api.request("GET", `/api/Contact/${g.contactId}`);
    assert.equal(c.address.postal, "07001");
    await t.api.request("PUT", `/api/Contact/${c.id}`, { name: "Bruce Wayne", contactReferences: [], mergedIntoContactId: 5 });
    const after = await t.api.request("GET", `/api/Contact/${c.id}`);
    assert.deepEqual(after.contactIndividuals, []);
    assert.deepEqual(after.contactAddresses, []);
    assert.equal(after.address, null);
    assert.equal(after.contactType, null);
    assert.deepEqual(after.contactReferences, c.contactReferences);
    assert.equal(after.mergedIntoContactId, null);
    assert.equal((await t.api.raw("PUT", `/api/Contact/${c.id}`, { contactType: "Household" })).status, 400);
    // The full record back restores it.
    await t.api.request("PUT", `/api/Contact/${c.id}`, c);
    const restored = await t.api.request("GET", `/api/Contact/${c.id}`);
    assert.equal(restored.contactIndividuals[0].firstName, "Bruce");
    assert.equal(restored.address.postal, "07001");
    // GET-then-PUT that changes only `address` (the read shape's primary address) keeps the change.
    await t.api.request("PUT", `/api/Contact/${c.id}`, { ...restored, address: { ...restored.address, postal: "07002", city: "Gotham" } });
    const moved = await t.api.request("GET", `/api/Contact/${c.id}`);
    assert.equal(moved.address.postal, "07002");
    assert.equal(moved.address.id, restored.address.id);
    assert.deepEqual(moved.contactAddresses.map((a) => a.postal), ["07002"]);
    await t.admin.flush();
    const hook = t.rx.received.at(-1).json.contact;
    assert.equal(hook.address, undefined, "live webhook contacts carry contactAddresses only");
    assert.equal(hook.contactAddresses[0].postal, "07002");
    await t.admin.patchConfig({ payload: { contactAddress: true } });
    await t.admin.editContact(c.id, { "address.state": "NJ" });
    await t.admin.flush();
    assert.equal(t.rx.received.at(-1).json.contact.address.state, "NJ", "payload.contactAddress adds it");
    assert.ok(t.rx.received.at(-1).json.contact.modifiedDateTimeUtc, "deliveries are dated by default");
    await t.admin.patchConfig({ payload: { dated: false } });
    await t.admin.editContact(c.id, { "address.state": "NY" });
    await t.admin.flush();
    assert.equal(t.rx.received.at(-1).json.contact.address.state, "NY");
    assert.equal("modifiedDateTimeUtc" in t.rx.received.at(-1).json.contact, false, "payload.dated: false leaves the time out");
    assert.ok((await t.api.request("GET", `/api/Contact/${c.id}`)).modifiedDateTimeUtc, "the REST record still carries it");
  } finally {
    await t.close();
  }
});

test("staff edits: one field, several fields; the gift keeps our stamp; a bad path changes nothing", async () => {
  const t = await simWithReceiver();
  try {
    const g = await importedGift(t);
    await t.admin.editGift(g.id, { amount: 550 });
    await t.admin.editGift(g.id, { notes: "Corrected", "customFields.Receipt Status": "Sent", "giftDesignations.0.amountDesignated": 550 });
    await assert.rejects(t.admin.editGift(g.id, { amount: 1, nope: 2 }), (e) => e.status === 400);
    await assert.rejects(t.admin.editGift(g.id, {}), (e) => e.status === 400);
    await t.admin.flush();
    const updates = t.rx.received.filter((d) => d.json.event === "GiftUpdate").map((d) => d.json.gift);
    assert.equal(updates.length, 2);
    assert.equal(updates[0].amount, 550);
    assert.equal(updates[0].notes, "first gift");
    assert.equal(updates[1].notes, "Corrected");
    assert.deepEqual(updates[1].customFields, { "Receipt Status": "Sent" });
    for (const u of updates) {
      assert.equal(u.transactionSource, "PartnerPlatform");
      assert.equal(u.transactionId, "donation-1");
    }
    assert.equal((await t.api.request("GET", `/api/Gift/${g.id}`)).amount, 550);

    await t.admin.editContact(g.contactId, { email: "bruce@cave.example", "address.city": "Gotham", lastName: "Wayne II" });
    await t.admin.flush();
    const cu = t.rx.received.at(-1).json;
    assert.equal(cu.event, "ContactUpdate");
    assert.equal(cu.contact.contactIndividuals[0].contactMethods[0].value, "bruce@cave.example");
    assert.equal(cu.contact.contactIndividuals[0].lastName, "Wayne II");
    assert.equal(cu.contact.contactAddresses[0].city, "Gotham");
    assert.equal((await t.api.request("GET", "/api/Contact/Find?email=BRUCE@cave.example")).id, g.contactId);
  } finally {
    await t.close();
  }
});

test("deletes: GiftDelete carries the full gift, then 404; a contact delete takes its gifts and fires no contact event", async () => {
  const t = await simWithReceiver();
  try {
    const g = await importedGift(t, 1);
    const g2 = await importedGift(t, 2);
    const res = await t.api.raw("DELETE", `/api/Gift/${g.id}`);
    assert.equal(res.status, 204);
    assert.equal((await t.api.raw("GET", `/api/Gift/${g.id}`)).status, 404);
    assert.equal((await t.api.raw("GET", "/api/Gift/PartnerPlatform/donation-1")).status, 404);
    await t.admin.flush();
    const del = t.rx.received.at(-1).json;
    assert.equal(del.event, "GiftDelete");
    assert.equal(del.gift.id, g.id);
    assert.equal(del.gift.amount, 500);
    assert.equal(del.gift.contactId, g.contactId);
    const before = t.rx.received.length;
    await t.admin.deleteContact(g2.contactId);
    await t.admin.flush();
    assert.deepEqual(t.rx.received.slice(before).map((d) => d.json.event), ["GiftDelete"]);
    assert.equal((await t.api.raw("GET", `/api/Contact/${g2.contactId}`)).status, 404);
  } finally {
    await t.close();
  }
});

test("merges: the merged-away contact keeps existing with mergedIntoContactId; gifts and references move; ContactUpdate for both", async () => {
  const t = await simWithReceiver();
  try {
    const g = await importedGift(t);
    const survivor = await t.admin.createContact({ firstName: "Bruce", lastName: "Wayne", email: "b.wayne@example.org" });
    await t.admin.flush();
    const n = t.rx.received.length;
    const r = await t.admin.merge(g.contactId, survivor.id);
    assert.deepEqual(r.movedGiftIds, [g.id]);
    await t.admin.flush();
    const evs = t.rx.received.slice(n).map((d) => d.json);
    assert.deepEqual(evs.map((e) => [e.event, e.contact.id]), [["ContactUpdate", g.contactId], ["ContactUpdate", survivor.id]]);
    assert.equal(evs[0].contact.mergedIntoContactId, survivor.id);
    const away = await t.api.request("GET", `/api/Contact/${g.contactId}`);
    assert.equal(away.mergedIntoContactId, survivor.id);
    assert.equal((await t.api.request("GET", `/api/Gift/${g.id}`)).contactId, survivor.id);
    const found = await t.api.request("GET", "/api/Contact/Find?referenceSource=PartnerPlatform&referenceId=donor-1");
    assert.equal(found.id, survivor.id, "the survivor comes first");
    await assert.rejects(t.admin.merge(g.contactId, survivor.id), (e) => e.status === 409);
    await assert.rejects(t.admin.merge(survivor.id, g.contactId), (e) => e.status === 409, "into a merged-away contact");
    // A later Transaction naming the merged-away contact's reference lands on the survivor.
    await t.api.request("POST", "/api/v2/Gift/Transaction", giftTransaction(2, { contact: { referenceId: "donor-1" } }));
    const rep = await t.admin.runBatch();
    assert.equal(rep.created[0].contactId, survivor.id);
  } finally {
    await t.close();
  }
});

test("Query: filters, sorting, skip/take paging, the page cap, abbreviated and full rows", async () => {
  const t = await simWithReceiver({ config: { query: { maxTake: 4 } } });
  try {
    await t.admin.fixtures({ contacts: 5, giftsPerContact: 2, source: "PartnerPlatform" });
    await t.admin.advance(60_000);
    const first = (await t.admin.store()).gifts[0];
    await t.admin.editGift(first.id, { notes: "late edit" });
    const since = { groups: [{ conditions: [{ parameter: "Last Modified Date", operator: "Is After", value: first.createDateTimeUtc }] }], sortBy: "Last Modified Date" };
    let r = await t.api.request("POST", "/api/Gift/Query?skip=0&take=100", since);
    assert.equal(r.total, 10, "the other nine were created after the first gift, which was edited since");
    assert.equal(r.list.length, 4, "take is capped at query.maxTake");
    assert.equal(r.list[0].notes, undefined, "abbreviated rows");
    assert.ok("contactName" in r.list[0]);
    // Paging walks every row once, ascending by modification time.
    const seen = [];
    for (let skip = 0; skip < r.total; skip += 4) {
      const page = await t.api.request("POST", `/api/Gift/Query?skip=${skip}&take=4`, since);
      seen.push(...page.list);
    }
    assert.equal(new Set(seen.map((x) => x.id)).size, 10);
    const times = seen.map((x) => x.modifiedDateTimeUtc);
    assert.deepEqual(times, [...times].sort());
    assert.equal(seen.at(-1).id, first.id, "the late edit sorts last");
    // Descending, by id.
    r = await t.api.request("POST", "/api/Gift/Query?take=3", { sortBy: "Id", descending: true });
    assert.deepEqual(r.list.map((x) => x.id), [...r.list.map((x) => x.id)].sort((a, b) => b - a));
    // Default take is 10 (then the cap of 4 here).
    r = await t.api.request("POST", "/api/Gift/Query", {});
    assert.equal(r.list.length, 4);
    // Full rows.
    r = await t.api.request("POST", "/api/Gift/Query/FullGift?take=1", { groups: [{ conditions: [{ parameter: "Gift Id", operator: "Is", value: String(first.id) }] }] });
    assert.equal(r.total, 1);
    assert.equal(r.list[0].notes, "late edit");
    assert.equal(r.list[0].giftDesignations.length, 1);
    // Groups OR, conditions AND; Between; In.
    const ids = (await t.admin.store()).gifts.map((g) => g.id).sort((a, b) => a - b);
    r = await t.api.request("POST", "/api/Gift/Query?take=4", {
      groups: [
        { conditions: [{ parameter: "Gift Id", operator: "Between", value: ids[0], secondaryValue: ids[1] }] },
        { conditions: [{ parameter: "Gift Id", operator: "In", values: [ids[9]] }, { parameter: "Transaction Source", operator: "Is", value: "partnerplatform" }] },
      ],
    });
    assert.deepEqual(r.list.map((x) => x.id), [ids[0], ids[1], ids[9]]);
    // Unknown parameter: 400.
    const bad = await t.api.raw("POST", "/api/Gift/Query", { groups: [{ conditions: [{ parameter: "Favourite Colour", operator: "Is", value: "x" }] }] });
    assert.equal(bad.status, 400);
    // Contacts: merged-away ones are listed with mergedIntoContactId.
    const cs = (await t.admin.store()).contacts;
    await t.admin.merge(cs[0].id, cs[1].id);
    r = await t.api.request("POST", "/api/Contact/Query?take=4", { groups: [{ conditions: [{ parameter: "Merged Into Contact Id", operator: "Is Known" }] }] });
    assert.deepEqual(r.list.map((x) => [x.id, x.mergedIntoContactId]), [[cs[0].id, cs[1].id]]);
    assert.equal(r.list[0].contactIndividuals, undefined, "abbreviated rows");
    r = await t.api.request("POST", "/api/Contact/Query/FullContact?take=1", { groups: [{ conditions: [{ parameter: "Reference Source", operator: "Is", value: "PartnerPlatform" }] }] });
    assert.equal(r.total, 5);
    assert.ok(Array.isArray(r.list[0].contactIndividuals));
  } finally {
    await t.close();
  }
});

test("direct creates fire at once (no batch); ByReference and QueryOptions answer", async () => {
  const t = await simWithReceiver();
  try {
    const c = await t.api.request("POST", "/api/Contact", { referenceSource: "PartnerPlatform", referenceId: "p-9", firstName: "Noor", lastName: "Aziz", email: "noor@example.org", contactType: "Household" });
    assert.deepEqual(c.contactReferences, [{ source: "PartnerPlatform", id: "p-9" }]);
    assert.equal((await t.api.raw("POST", "/api/Gift", { amount: 5 })).status, 400, "a direct gift needs a contactId");
    assert.equal((await t.api.raw("POST", "/api/Gift", { contactId: 1, amount: 5 })).status, 404, "an existing one");
    const g = await t.api.request("POST", "/api/Gift", { contactId: c.id, amount: "12.50", giftDate: "3/2/2026", transactionSource: "PartnerPlatform", transactionId: "direct-1" });
    assert.equal(g.giftDate, "2026-03-02");
    assert.equal(g.amount, 12.5);
    await t.admin.flush();
    assert.deepEqual(t.rx.received.map((d) => d.json.event), ["ContactCreate", "GiftCreate"]);
    assert.equal((await t.api.request("GET", "/api/Contact/ByReference/p-9")).id, c.id);
    assert.equal((await t.api.raw("GET", "/api/Contact/ByReference/nope")).status, 404);
    assert.equal((await t.api.raw("GET", "/api/Contact/Find")).status, 400);
    const opts = await t.api.request("GET", "/api/Gift/QueryOptions");
    assert.ok(opts.parameters.some((p) => p.parameter === "Last Modified Date"));
    assert.ok(opts.operators.includes("Is After"));
    assert.equal((await t.api.request("GET", "/api/Gift/PartnerPlatform/direct-1")).id, g.id);
  } finally {
    await t.close();
  }
});
