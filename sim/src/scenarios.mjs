// Named scenarios: each a short script of staff actions and faults, run against the live simulator so a host
// under test sees exactly what it would see from Virtuous. Each returns the steps it took.
import { SimError } from "./model.mjs";

const ensureGift = async (sim, steps, opts) => {
  if (opts.giftId !== undefined) return Number(opts.giftId);
  const stamped = sim.newest(sim.store.gifts, (g) => Boolean(g.transactionSource) && (!opts.source || g.transactionSource.toLowerCase() === String(opts.source).toLowerCase()));
  const any = stamped ?? sim.newest(sim.store.gifts);
  if (any) return any.id;
  const r = sim.trigger({ event: "GiftCreate" });
  steps.push({ step: "no gift existed: staff created one", giftId: r.gift.id });
  await sim.deliverer.flush(); // its creation is delivered before the scenario's own faults begin
  return r.gift.id;
};

export const SCENARIOS = {
  "staff-edit": {
    description: "A staff member edits a gift in the Virtuous UI (default: the newest gift carrying a transactionSource; `giftId`, `set`).",
    async run(sim, opts, steps) {
      const id = await ensureGift(sim, steps, opts);
      const before = sim.store.gift(id);
      const set = opts.set ?? { amount: Number(before.amount) + 5, notes: "Corrected by staff" };
      if (opts.set === undefined && before.giftDesignations.length === 1) set["giftDesignations.0.amountDesignated"] = set.amount;
      sim.store.editGift(id, set);
      steps.push({ step: "staff edit", giftId: id, set });
    },
  },
  "contact-edit": {
    description: "A staff member edits a contact (default: the newest unmerged contact; `contactId`, `set`).",
    async run(sim, opts, steps) {
      const r = sim.trigger({ event: "ContactUpdate", id: opts.contactId, set: opts.set ?? { lastName: "Staff-Edited" } });
      steps.push({ step: "staff edit", contactId: r.contact.id });
    },
  },
  merge: {
    description: "An admin merges two contacts (`from`, `into`; default: a new duplicate of the newest contact merged into it).",
    async run(sim, opts, steps) {
      let { from, into } = opts;
      if (from === undefined || into === undefined) {
        const survivor = into !== undefined ? sim.store.contact(into) : sim.newest(sim.store.contacts, (c) => !c.mergedIntoContactId) ?? sim.store.createContact(sim.person());
        into = survivor.id;
        if (from === undefined) {
          const dup = sim.store.createContact({ name: survivor.name, firstName: survivor.contactIndividuals[0]?.firstName, lastName: survivor.contactIndividuals[0]?.lastName, email: `dup.${survivor.id}@example.org` });
          from = dup.id;
          steps.push({ step: "staff created a duplicate contact", contactId: from });
        }
      }
      const r = sim.store.mergeContacts(Number(from), Number(into));
      steps.push({ step: "merge", from: r.from.id, into: r.into.id, movedGiftIds: r.movedGiftIds });
    },
  },
  reorder: {
    description: "Two staff edits to one gift delivered newest first (hold, edit twice, release in reverse).",
    async run(sim, opts, steps) {
      const id = await ensureGift(sim, steps, opts);
      sim.deliverer.hold();
      const g = sim.store.gift(id);
      const first = opts.first ?? { notes: "First staff edit" };
      const second = opts.second ?? { notes: "Second staff edit" };
      sim.store.editGift(id, first);
      sim.store.editGift(id, second);
      steps.push({ step: "held deliveries; two staff edits", giftId: g.id, first, second });
      const order = sim.deliverer.release("reverse");
      steps.push({ step: "released in reverse order", deliveries: order });
    },
  },
  duplicate: {
    description: "A staff edit whose delivery arrives twice (same bytes).",
    async run(sim, opts, steps) {
      const id = await ensureGift(sim, steps, opts);
      sim.deliverer.duplicateNext = (opts.copies ?? 1);
      sim.store.editGift(id, opts.set ?? { notes: "Edited once, delivered twice" });
      steps.push({ step: "staff edit; next delivery duplicated", giftId: id, copies: opts.copies ?? 1 });
    },
  },
  "rate-storm": {
    description: "The next `count` API requests (default 20) get 429 with Retry-After `retryAfterSeconds` (default 2).",
    async run(sim, opts, steps) {
      const s = sim.rate.startStorm({ count: opts.count ?? 20, durationMs: opts.durationMs ?? null, retryAfterSeconds: opts.retryAfterSeconds ?? 2 });
      steps.push({ step: "429 storm", storm: s.storm });
    },
  },
  outage: {
    description:
      "The webhook endpoint is unreachable while a staff edit happens; with `exhaust` (default) every retry fails, so only reconciliation can catch it; then the endpoint comes back.",
    async run(sim, opts, steps) {
      const id = await ensureGift(sim, steps, opts);
      sim.setOutages({ webhooks: true });
      const g = sim.store.editGift(id, opts.set ?? { notes: "Edited during an outage" });
      steps.push({ step: "webhook endpoint unreachable; staff edit", giftId: id, modifiedDateTimeUtc: g.modifiedDateTimeUtc });
      if (opts.exhaust !== false) {
        const f = await sim.deliverer.flush({ advance: true });
        steps.push({ step: "every retry failed", ...f });
      }
      if (opts.restore !== false) {
        sim.setOutages({ webhooks: false });
        steps.push({ step: "webhook endpoint reachable again" });
      }
    },
  },
  "api-outage": {
    description: "The API answers 500 (or `status`) to the next `count` requests (default 5).",
    async run(sim, opts, steps) {
      const o = sim.setOutages({ api: { status: opts.status ?? 500, count: opts.count ?? 5 } });
      steps.push({ step: "API outage", api: o.api });
    },
  },
  "nightly-batch": {
    description: "Runs the nightly Transaction batch now.",
    async run(sim, opts, steps) {
      steps.push({ step: "nightly batch", ...sim.store.runBatch(opts) });
    },
  },
};

export async function runScenario(sim, name, opts = {}) {
  const s = SCENARIOS[name];
  if (!s) {
    throw new SimError(404, "NOT_FOUND", `unknown scenario "${name}": ${Object.keys(SCENARIOS).join(", ")}`);
  }
  const steps = [];
  await s.run(sim, opts, steps);
  if (opts.flush !== false && !sim.deliverer.held) {
    const f = await sim.deliverer.flush({ advance: Boolean(opts.advance) });
    steps.push({ step: "deliveries flushed", ...f });
  }
  return { scenario: name, steps };
}
