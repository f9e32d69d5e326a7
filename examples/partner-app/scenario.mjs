// The demo's scenario, step by step, against a running world (./world.mjs). Every step checks what it shows and
// throws when it does not hold, so the demo and the end-to-end test fail loudly. Returns the facts it observed.
import { until } from "./world.mjs";

const money = (v) => (v == null ? null : Number(v).toFixed(2));

export async function runScenario(w, { say = () => {} } = {}) {
  const C = w.customerId;
  const P = w.partner.url;
  const admin = w.sim.admin;
  const api = `${w.hostUrl}/api/v1/customers/${encodeURIComponent(C)}`;
  const call = async (base, method, path, body) => {
    const res = await fetch(base + path, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const partner = (m, p, b) => call(P, m, p, b);
  const hostApi = (m, p, b) => call(api, m, p, b);
  const status = () => hostApi("GET", "/status");
  const puts = async () => (await admin.requests({ method: "PUT" })).filter((r) => /^\/api\/(Gift|Contact)\/\d+$/i.test(r.path));
  const requests = async (method, path) => (await admin.requests({ method })).filter((r) => r.path === path);
  const quiet = async (what) => {
    await admin.flush();
    let last;
    try {
      await until(
        async () => {
          const s = (last = await status());
          return s.inbox.pending === 0 && s.outbox.depth === 0 && w.partner.pendingHooks() === 0 && s.records.dirty === 0 ? s : null;
        },
        { what },
      );
    } catch (err) {
      // What was still going on, for the failure's reader: the counts, the stuck writes and the newest decisions.
      const recent = await hostApi("GET", "/decisions?limit=12").catch(() => null);
      const outbox = [];
      for (const k of new Set((recent?.decisions ?? []).map((d) => d.recordKey).filter(Boolean))) {
        const t = await hostApi("GET", `/records?id=${encodeURIComponent(k)}`).catch(() => null);
        if (t?.outbox) outbox.push({ recordKey: k, ...t.outbox });
      }
      const seen = { inbox: last?.inbox, outbox: last?.outbox, entries: outbox, records: last?.records, pendingHooks: w.partner.pendingHooks(), recent: recent?.decisions ?? recent };
      throw new Error(`${err.message}; still: ${JSON.stringify(seen)}`);
    }
    await admin.flush();
  };
  const facts = {};

  // 1 ---------------------------------------------------------------------------------------------------------
  say("1. A donor gives on the partner platform: the donation becomes one Gift Transaction, held by Virtuous until its nightly batch.");
  await partner("POST", "/donors", { id: "donor-1", fields: { name: "Ada Lovelace", contactType: "Household" }, email: "ada@example.org" });
  await partner("POST", "/donations", { id: "don-1", donorId: "donor-1", fields: { amount: "50.00", giftDate: "2026-11-30", giftType: "Cash", currencyCode: "USD" } });
  await until(async () => (await admin.transactions()).filter((t) => t.state === "held").length === 2, { what: "two held Transactions" });
  say("   The donor edits the donation's note before the batch: coalesced into the pending create, never a second Transaction.");
  await partner("PATCH", "/donations/don-1", { fields: { notes: "In memory of Charles" } });
  await quiet("the coalesced edit");
  const held = (await admin.transactions()).filter((t) => t.kind === "gift");
  if (held.length !== 1) throw new Error(`expected one gift Transaction, saw ${held.length}`);
  say(`   Virtuous holds ${held.length} gift Transaction (transactionId ${held[0].externalId}). The nightly batch runs:`);
  const batch = await admin.runBatch();
  const gift = batch.created.find((c) => c.giftId);
  say(`   batch created contact ${gift.contactId} and gift ${gift.giftId}; its GiftCreate carries our stamp and confirms the donation.`);
  await quiet("the batch's confirmation and the follow-up write");
  const g1 = await admin.gift(gift.giftId);
  const gifts = (await admin.store()).gifts.filter((g) => g.transactionId === "don-1");
  if (gifts.length !== 1) throw new Error(`duplicated: ${gifts.length} gifts for don-1`);
  if (g1.notes !== "In memory of Charles") throw new Error(`follow-up write missing: notes=${g1.notes}`);
  say(`   ✓ one gift in Virtuous for don-1; the held note went out after the confirmation (PUT /api/Gift/${gift.giftId}).`);
  facts.giftId = gift.giftId;
  facts.contactId = gift.contactId;

  // 2 ---------------------------------------------------------------------------------------------------------
  say("2. Staff raise the gift to 75.00 in Virtuous (the gift still carries our stamp): applied to the partner, not echoed back.");
  const putsBefore = (await puts()).length;
  await admin.editGift(gift.giftId, { amount: 75 });
  await until(async () => money((await partner("GET", "/donations/don-1")).fields.amount) === "75.00", { what: "the staff edit on the partner" });
  await quiet("the staff edit");
  await new Promise((r) => setTimeout(r, 300));
  await quiet("the bounce");
  const putsAfter = (await puts()).length;
  if (putsAfter !== putsBefore) throw new Error(`the staff edit was echoed back: ${putsAfter - putsBefore} PUT(s)`);
  say("   ✓ the partner shows 75.00; the partner's change hook fired for our own apply and the core recognised it: no write back.");

  // 3 ---------------------------------------------------------------------------------------------------------
  say("3. Staff create a duplicate of Ada in Virtuous, then merge it into the original.");
  const dup = await admin.createContact({ name: "Ada Lovelace (duplicate)", firstName: "Ada", lastName: "Lovelace", contactType: "Household" });
  await until(async () => Object.values((await partner("GET", "/store")).donors).some((d) => d.fields.name === "Ada Lovelace (duplicate)"), { what: "the duplicate on the partner" });
  await quiet("the duplicate");
  const dupDonor = Object.values((await partner("GET", "/store")).donors).find((d) => d.fields.name === "Ada Lovelace (duplicate)");
  await admin.merge(dup.id, gift.contactId);
  await until(async () => (await partner("GET", `/donors/${dupDonor.id}`)).mergedInto, { what: "the merge remap" });
  await quiet("the merge");
  const merged = await partner("GET", `/donors/${dupDonor.id}`);
  if (merged.mergedInto !== "donor-1") throw new Error(`remapped to ${merged.mergedInto}, expected donor-1`);
  say(`   ✓ the partner's ${dupDonor.id} is marked merged into donor-1 (Virtuous contact ${dup.id} → ${gift.contactId}).`);

  // 4 ---------------------------------------------------------------------------------------------------------
  say("4. Staff and the partner edit the gift's note at the same moment.");
  const getsBefore = (await requests("GET", `/api/Gift/${gift.giftId}`)).length;
  await admin.hold(); // the staff edit's webhook is still in flight when the partner's change is written
  await admin.editGift(gift.giftId, { notes: "Staff: thank-you call made" });
  await partner("PATCH", "/donations/don-1", { fields: { notes: "Donor: please no calls" } });
  // The host reads the gift before writing (GET-then-PUT): the fetched record already shows the staff's note, so
  // the core decides it as an inbound change first: both sides changed the note at the same moment, a conflict,
  // and nothing is written over the staff's edit.
  await until(async () => (await requests("GET", `/api/Gift/${gift.giftId}`)).length > getsBefore, { what: "the host's read before writing" });
  await admin.release("fifo");
  const conflicts = await until(async () => {
    const c = await hostApi("GET", "/conflicts");
    return c.conflicts.length ? c.conflicts : null;
  }, { what: "a conflict" });
  const item = conflicts[0].items.find((i) => i.field === "notes");
  say(`   conflict listed by GET /api/v1/customers/${C}/conflicts: ${conflicts[0].recordKey}, field notes:`);
  say(`     partner: ${JSON.stringify(item.partner ?? item.partnerCurrent)}  virtuous: ${JSON.stringify(item.virtuous)}  base digest: ${item.base}`);
  const resolved = await hostApi("POST", `/conflicts/${encodeURIComponent(conflicts[0].recordKey)}/resolve`, { choices: { notes: "partner" } });
  say(`   resolved through POST .../conflicts/${conflicts[0].recordKey}/resolve {notes: "partner"} → ${resolved.state}`);
  await quiet("the resolution");
  const g4 = await admin.gift(gift.giftId);
  const d4 = await partner("GET", "/donations/don-1");
  if (g4.notes !== "Donor: please no calls" || d4.fields.notes !== "Donor: please no calls") throw new Error(`not converged after resolution: ${g4.notes} / ${d4.fields.notes}`);
  say("   ✓ both sides hold the partner's note.");
  facts.conflicts = conflicts.length;

  // 5 ---------------------------------------------------------------------------------------------------------
  say("5. A 429 storm: Virtuous answers 429 (Retry-After 1 s) to the next 3 requests while the partner records three donations.");
  // The sim's rate window is shortened to 4 s for the demo: a 429 tells the budget the window is spent, so it waits
  // for the window's reset (X-RateLimit-Reset), which must come within seconds here, not within the hour.
  await admin.patchConfig({ rateLimit: { windowMs: 4_000 } });
  await admin.storm({ count: 3, retryAfterSeconds: 1 });
  for (const [id, amount] of [["don-2", "20.00"], ["don-3", "30.00"], ["don-4", "40.00"]])
    await partner("POST", "/donations", { id, donorId: "donor-1", fields: { amount, giftDate: "2026-11-30", giftType: "Cash", currencyCode: "USD" } });
  await until(async () => (await admin.transactions()).filter((t) => t.state === "held").length === 3, { what: "three Transactions after the storm", timeoutMs: 30_000 });
  await quiet("the storm");
  await admin.patchConfig({ rateLimit: { windowMs: 3_600_000 } });
  const s5 = await status();
  const held5 = (await admin.transactions()).filter((t) => t.state === "held").map((t) => t.externalId).sort();
  if (held5.join() !== "don-2,don-3,don-4") throw new Error(`expected one Transaction each, saw ${held5}`);
  say(`   ✓ each donation landed exactly once: ${s5.counters.rateLimited ?? 0} answers were 429; the budget held every write until Virtuous allowed it.`);
  facts.rateLimited = s5.counters.rateLimited ?? 0;
  await admin.runBatch();
  await quiet("the second batch");

  // 6 ---------------------------------------------------------------------------------------------------------
  say("6. The webhook endpoint is unreachable while staff change a gift: every delivery attempt fails.");
  await admin.setOutages({ webhooks: true });
  await admin.editGift(gift.giftId, { amount: 80 });
  await until(async () => (await admin.deliveries({ state: "pending" })).length === 0, { what: "the deliveries to fail" });
  const failed = (await admin.deliveries({ state: "failed" })).length;
  await admin.setOutages({ webhooks: false });
  say(`   ${failed} delivery failed for good. Reconciliation pages the Query API from the stored cursor:`);
  const rec = await w.host.reconcile(C);
  await quiet("the reconciliation");
  const d6 = await partner("GET", "/donations/don-1");
  if (money(d6.fields.amount) !== "80.00") throw new Error(`reconciliation missed the change: ${d6.fields.amount}`);
  say(`   ✓ ${rec.fed} missed change(s) fed through the same inbound path; the partner shows 80.00.`);

  // Convergence ------------------------------------------------------------------------------------------------
  const store = await partner("GET", "/store");
  const vs = await admin.store();
  const rows = await w.host.store.listRecords(C);
  const problems = [];
  let compared = 0;
  for (const r of rows) {
    if (!r.partnerId || !r.virtuousId || r.state?.tombstone) continue;
    if (r.kind === "gift") {
      const p = store.donations[r.partnerId];
      const v = vs.gifts.find((g) => String(g.id) === r.virtuousId);
      for (const f of ["amount", "giftDate", "giftType", "currencyCode", "notes"]) {
        const a = f === "amount" ? money(p?.fields[f]) : (p?.fields[f] ?? null);
        const b = f === "amount" ? money(v?.[f]) : (v?.[f] ?? null);
        if (a !== b) problems.push(`${r.recordKey}.${f}: partner ${a} vs virtuous ${b}`);
      }
    } else {
      const p = store.donors[r.partnerId];
      const v = vs.contacts.find((c) => String(c.id) === r.virtuousId);
      if ((p?.fields.name ?? null) !== (v?.name ?? null)) problems.push(`${r.recordKey}.name: partner ${p?.fields.name} vs virtuous ${v?.name}`);
    }
    compared++;
  }
  const donations = Object.keys(store.donations).length;
  const ourGifts = vs.gifts.filter((g) => g.transactionSource === "Acme Giving").length;
  if (ourGifts !== donations) problems.push(`${donations} donations but ${ourGifts} gifts stamped by us`);
  const final = await status();
  facts.status = final;
  facts.compared = compared;
  facts.problems = problems;
  return facts;
}
