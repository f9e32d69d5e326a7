// Transactions are held until the nightly batch, which then creates or matches records and fires their create
// webhooks carrying our stamp.
import assert from "node:assert/strict";
import { test } from "node:test";
import { giftTransaction, json, simWithReceiver } from "./helpers.mjs";

test("a gift Transaction: 200 with no id, 404 by source/id until the batch, then GiftCreate with our stamp", async () => {
  const t = await simWithReceiver();
  try {
    const res = await t.api.raw("POST", "/api/v2/Gift/Transaction", giftTransaction(9421));
    assert.equal(res.status, 200);
    assert.deepEqual(await json(res), {});
    assert.equal((await t.api.raw("GET", "/api/Gift/PartnerPlatform/donation-9421")).status, 404);
    await t.admin.flush();
    assert.equal(t.rx.received.length, 0, "nothing fires before the batch");
    assert.equal((await t.admin.transactions())[0].state, "held");

    const report = await t.admin.runBatch();
    assert.equal(report.processed, 1);
    assert.equal(report.created.length, 1);
    await t.admin.flush();
    assert.deepEqual(t.rx.received.map((d) => d.json.event), ["ContactCreate", "GiftCreate"]);
    const contact = t.rx.received[0].json.contact;
    assert.deepEqual(contact.contactReferences, [{ source: "PartnerPlatform", id: "donor-9421" }]);
    assert.equal(contact.contactIndividuals[0].contactMethods[0].value, "bruce9421@wayne.example");
    const gift = t.rx.received[1].json.gift;
    assert.equal(gift.transactionSource, "PartnerPlatform");
    assert.equal(gift.transactionId, "donation-9421");
    assert.equal(gift.contactId, contact.id);
    assert.equal(gift.amount, 500);
    assert.equal(gift.giftDate, "2024-12-15");
    assert.equal(gift.giftDateFormatted, "12/15/2024");
    assert.equal(gift.giftDesignations[0].projectCode, "CLEAN-WATER");
    assert.match(gift.modifiedDateTimeUtc, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);

    // The lookup is case-insensitive on the source.
    const found = await t.api.raw("GET", "/api/Gift/partnerplatform/donation-9421");
    assert.equal(found.status, 200);
    assert.equal((await json(found)).id, gift.id);
    assert.equal((await t.admin.transactions())[0].state, "imported");
  } finally {
    await t.close();
  }
});

test("the same transactionSource/transactionId twice creates one gift; the contact is matched by reference, then email", async () => {
  const t = await simWithReceiver();
  try {
    await t.api.request("POST", "/api/v2/Gift/Transaction", giftTransaction(1));
    await t.api.request("POST", "/api/v2/Gift/Transaction", giftTransaction(1)); // a retry of the same write
    await t.api.request("POST", "/api/v2/Gift/Transaction", giftTransaction(2, { contact: { referenceId: "donor-1", firstname: "Bruce" } }));
    const other = giftTransaction(3, { contact: { referenceId: "elsewhere-3", email: "BRUCE1@wayne.example", firstname: "B" } });
    await t.api.request("POST", "/api/v2/Gift/Transaction", other);
    const r = await t.admin.runBatch();
    assert.equal(r.created.length, 3);
    assert.equal(r.duplicates.length, 1);
    const s = await t.admin.store();
    assert.equal(s.gifts.length, 3);
    assert.equal(s.contacts.length, 1, "matched by reference, then by email");
    assert.deepEqual(s.contacts[0].contactReferences.map((x) => x.id).sort(), ["donor-1", "elsewhere-3"]);
    assert.equal(new Set(s.gifts.map((g) => g.contactId)).size, 1);
    await t.admin.flush();
    const events = t.rx.received.map((d) => d.json.event);
    assert.deepEqual(events, ["ContactCreate", "GiftCreate", "GiftCreate", "ContactUpdate", "GiftCreate"]);
    // A second batch has nothing to do.
    assert.equal((await t.admin.runBatch()).processed, 0);
  } finally {
    await t.close();
  }
});

test("validation: designations must sum to the amount; required fields; the batch endpoint is all or nothing", async () => {
  const t = await simWithReceiver();
  try {
    let res = await t.api.raw("POST", "/api/v2/Gift/Transaction", giftTransaction(5, { giftDesignations: [{ projectCode: "A", amountDesignated: "100.00" }] }));
    assert.equal(res.status, 400);
    const body = await json(res);
    assert.equal(body.error.code, "BAD_REQUEST");
    assert.equal(body.error.details[0].field, "giftDesignations");
    res = await t.api.raw("POST", "/api/v2/Gift/Transaction", giftTransaction(6, { transactionId: "" }));
    assert.equal(res.status, 400);
    res = await t.api.raw("POST", "/api/v2/Gift/Transaction", giftTransaction(7, { amount: "five" }));
    assert.equal(res.status, 400);
    res = await t.api.raw("POST", "/api/v2/Gift/Transactions", {
      transactionSource: "PartnerPlatform",
      transactions: [giftTransaction(8), giftTransaction(9, { giftDate: "not a date" })],
    });
    assert.equal(res.status, 400);
    assert.match((await json(res)).error.message, /transactions\[1\]/);
    assert.equal((await t.admin.transactions()).length, 0, "nothing held");
    res = await t.api.raw("POST", "/api/v2/Gift/Transactions", { transactionSource: "PartnerPlatform", transactions: [giftTransaction(8), giftTransaction(9)] });
    assert.equal(res.status, 200);
    assert.equal((await t.admin.transactions()).length, 2);
  } finally {
    await t.close();
  }
});

test("needs-update: a flagged Transaction or one whose contact has no name creates nothing and stays 404", async () => {
  const t = await simWithReceiver();
  try {
    await t.api.request("POST", "/api/v2/Gift/Transaction", giftTransaction(11));
    await t.api.request("POST", "/api/v2/Gift/Transaction", giftTransaction(12, { contact: { referenceId: "nobody" } }));
    const r = await t.admin.runBatch({ needsUpdate: ["PartnerPlatform:donation-11"] });
    assert.deepEqual(r.needsUpdate.sort(), ["PartnerPlatform:donation-11", "PartnerPlatform:donation-12"]);
    assert.equal((await t.admin.store()).gifts.length, 0);
    assert.equal((await t.api.raw("GET", "/api/Gift/PartnerPlatform/donation-11")).status, 404);
    await t.admin.flush();
    assert.equal(t.rx.received.length, 0);
  } finally {
    await t.close();
  }
});

test("a contact Transaction creates a contact with our reference, or updates the one it matches", async () => {
  const t = await simWithReceiver();
  try {
    const res = await t.api.raw("POST", "/api/Contact/Transaction", { referenceSource: "PartnerPlatform", referenceId: "donor-77", firstName: "Grace", lastName: "Hopper", email: "grace@example.org", tags: ["Volunteer"] });
    assert.equal(res.status, 200);
    assert.equal((await t.api.raw("POST", "/api/Contact/Transaction", { tags: [] })).status, 400);
    assert.equal((await t.api.raw("GET", "/api/Contact/Find?referenceSource=PartnerPlatform&referenceId=donor-77")).status, 404);
    await t.admin.runBatch();
    await t.api.request("POST", "/api/Contact/Transaction", { referenceSource: "PartnerPlatform", referenceId: "donor-77", lastName: "Hopper-Murray" });
    const r = await t.admin.runBatch();
    assert.equal(r.matched.length, 1);
    await t.admin.flush();
    assert.deepEqual(t.rx.received.map((d) => d.json.event), ["ContactCreate", "ContactUpdate"]);
    const c = await t.api.request("GET", "/api/Contact/Find?referenceSource=PartnerPlatform&referenceId=donor-77");
    assert.equal(c.contactIndividuals[0].lastName, "Hopper-Murray");
    assert.equal(c.contactIndividuals[0].firstName, "Grace");
    assert.deepEqual(c.tags, ["Volunteer"]);
    assert.deepEqual(c.contactReferences, [{ source: "PartnerPlatform", id: "donor-77" }]);
  } finally {
    await t.close();
  }
});

test("a Transaction the batch cannot apply waits in needs-update; the rest of the batch still runs", async () => {
  const t = await simWithReceiver();
  try {
    await t.api.request("POST", "/api/Contact/Transaction", { referenceSource: "PartnerPlatform", referenceId: "bad-1", name: "Bad", customFields: "not an object" });
    await t.api.request("POST", "/api/v2/Gift/Transaction", giftTransaction(31));
    const r = await t.admin.runBatch();
    assert.deepEqual(r.needsUpdate, ["PartnerPlatform:bad-1"]);
    assert.equal(r.created.length, 1);
    const txs = await t.admin.transactions();
    assert.match(txs[0].note, /customFields/);
    assert.equal(txs[1].state, "imported");
  } finally {
    await t.close();
  }
});
