// The organisation's data: contacts, gifts, held Transactions, webhook subscriptions. Every mutation stamps
// `modifiedDateTimeUtc` from the simulator clock and reports the webhook event Virtuous would fire through
// `emit(type, record)`.
import {
  CONTACT_EDITABLE, CONTACT_REQUIRED, GIFT_EDITABLE, GIFT_REQUIRED, SimError, TOGGLES, badRequest, clone,
  contactFieldValue, giftFieldValue, notFound, primaryIndividual, primaryMethod, toAmount, toDate, toDesignations,
  toCustomFields,
} from "./model.mjs";

const lower = (s) => (typeof s === "string" ? s.trim().toLowerCase() : s);

export class Store {
  /** @param {{rng: import("./rng.mjs").Rng, clock: import("./clock.mjs").Clock, config: object, emit: Function}} deps */
  constructor({ rng, clock, config, emit }) {
    this.clock = clock;
    this.config = config;
    this.emit = emit;
    this.contacts = new Map();
    this.gifts = new Map();
    this.deletedGifts = new Map();
    this.deletedContacts = new Map();
    this.transactions = [];
    this.subscriptions = new Map();
    this.projects = new Map();
    // Ids start at seed-derived bases so two seeds never look alike, and one seed always does.
    this.nextIds = {
      contact: rng.int(1000, 4999),
      individual: rng.int(9000, 12999),
      method: rng.int(20000, 24999),
      address: rng.int(30000, 34999),
      gift: rng.int(70000, 79999),
      project: rng.int(300, 399),
      subscription: rng.int(1, 99),
      transaction: 1,
    };
    this.lastStampMs = 0;
  }

  newId(kind) {
    return this.nextIds[kind]++;
  }

  /** A modification time strictly after the previous one, so every change has its own `modifiedDateTimeUtc`. */
  stamp() {
    let ms = this.clock.now();
    const step = this.config.timestampPrecision === "s" ? 1000 : 1;
    if (step === 1000) ms = Math.floor(ms / 1000) * 1000;
    if (this.config.uniqueTimestamps !== false && ms <= this.lastStampMs) ms = this.lastStampMs + step;
    this.lastStampMs = Math.max(this.lastStampMs, ms);
    const iso = new Date(ms).toISOString();
    return step === 1000 ? iso.replace(/\.\d{3}Z$/, "Z") : iso;
  }

  // ---- contacts ---------------------------------------------------------------------------------------------

  contact(id) {
    const c = this.contacts.get(Number(id));
    if (!c) throw notFound(`contact ${id} not found`);
    return c;
  }

  /** Follows `mergedIntoContactId` to the surviving contact (stops on a cycle). */
  survivor(c) {
    const seen = new Set();
    while (c && c.mergedIntoContactId && !seen.has(c.id)) {
      seen.add(c.id);
      const next = this.contacts.get(c.mergedIntoContactId);
      if (!next) break;
      c = next;
    }
    return c;
  }

  assignContactIds(c) {
    for (const ind of c.contactIndividuals) {
      ind.id ??= this.newId("individual");
      for (const m of ind.contactMethods) m.id ??= this.newId("method");
    }
    for (const a of c.contactAddresses) a.id ??= this.newId("address");
  }

  /**
   * A contact from loose fields: `name`, `contactType`, `firstName`/`firstname`, `lastName`/`lastname`, `email`,
   * `phone`, `address{}` or `address1…`, `tags`, `customFields`, `contactIndividuals`, `contactAddresses`.
   */
  contactFromInput(input, where = "contact") {
    const c = {
      id: null, contactType: input.contactType ?? input.type ?? "Household", name: null, isPrivate: false,
      description: input.description ?? null, mergedIntoContactId: null, contactIndividuals: [], contactAddresses: [],
      contactReferences: [], tags: [], organizationGroups: [], customFields: {},
    };
    if (input.contactIndividuals) c.contactIndividuals = contactFieldValue("contactIndividuals", input.contactIndividuals);
    else {
      const firstName = input.firstName ?? input.firstname ?? null;
      const lastName = input.lastName ?? input.lastname ?? null;
      const methods = [];
      if (input.email) methods.push({ id: null, type: input.emailType ?? "Home Email", value: String(input.email), isPrimary: true });
      if (input.phone) methods.push({ id: null, type: input.phoneType ?? "Home Phone", value: String(input.phone), isPrimary: true });
      if (firstName || lastName || methods.length)
        c.contactIndividuals = [{ id: null, firstName, lastName, isPrimary: true, contactMethods: methods }];
    }
    if (input.contactAddresses) c.contactAddresses = contactFieldValue("contactAddresses", input.contactAddresses);
    else {
      const a = input.address && typeof input.address === "object" ? input.address : input;
      if (["address1", "address2", "city", "state", "postal", "country"].some((k) => a[k]))
        c.contactAddresses = contactFieldValue("contactAddresses", [a]);
    }
    if (input.tags !== undefined) c.tags = contactFieldValue("tags", input.tags);
    if (input.organizationGroups !== undefined) c.organizationGroups = contactFieldValue("organizationGroups", input.organizationGroups);
    if (input.customFields !== undefined) c.customFields = toCustomFields(input.customFields, `${where}.customFields`);
    const ind = c.contactIndividuals[0];
    c.name = input.name ?? (ind ? [ind.firstName, ind.lastName].filter(Boolean).join(" ") || null : null);
    if (!c.name) throw badRequest(`${where} needs a name, or a first or last name`, `${where}.name`);
    return c;
  }

  /** Creates a contact and fires ContactCreate (unless `silent`: fixtures that existed before the run). */
  createContact(input, { references = [], silent = false } = {}) {
    const c = this.contactFromInput(input);
    c.id = this.newId("contact");
    for (const r of [...(input.contactReferences ?? []), ...references]) this.addReference(c, r.source, r.id);
    this.assignContactIds(c);
    c.createDateTimeUtc = c.modifiedDateTimeUtc = this.stamp();
    this.contacts.set(c.id, c);
    if (!silent) this.emit("ContactCreate", c);
    return c;
  }

  addReference(c, source, id) {
    if (!source) return false;
    const exists = c.contactReferences.some((r) => lower(r.source) === lower(source) && String(r.id) === String(id ?? ""));
    if (exists) return false;
    c.contactReferences.push({ source: String(source), id: id === undefined || id === null ? null : String(id) });
    return true;
  }

  /** Full-replacement PUT: every editable field absent from the body is blanked. */
  putContact(id, body) {
    const c = this.contact(id);
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("body must be a contact object");
    const next = {};
    for (const f of CONTACT_EDITABLE) {
      const v = body[f];
      if (this.config.putMode === "patch" && v === undefined) continue;
      next[f] = contactFieldValue(f, v);
    }
    // `address` (the read shape's primary address) replaces the primary entry of the addresses, so a GET-then-PUT
    // that changed only `address` is not undone by the unchanged `contactAddresses` it also carries.
    if (body.address !== undefined && body.address !== null) {
      const a = contactFieldValue("contactAddresses", [body.address])[0];
      const list = next.contactAddresses ?? clone(c.contactAddresses);
      const i = list.findIndex((x) => x.isPrimary);
      if (i >= 0) list[i] = { ...a, id: a.id ?? list[i].id, isPrimary: true };
      else list.unshift({ ...a, isPrimary: true });
      next.contactAddresses = list;
    }
    const missing = CONTACT_REQUIRED.filter((f) => this.config.putMode !== "patch" && (next[f] === null || next[f] === ""));
    if (missing.length) throw new SimError(400, "BAD_REQUEST", `required: ${missing.join(", ")}`, missing.map((f) => ({ field: f, code: "REQUIRED", message: `${f} is required` })));
    Object.assign(c, next);
    this.assignContactIds(c);
    c.modifiedDateTimeUtc = this.stamp();
    this.emit("ContactUpdate", c);
    return c;
  }

  /** A staff edit in the Virtuous UI: sets the given fields (paths) only, then fires ContactUpdate. */
  editContact(id, set, { silent = false } = {}) {
    const c = this.contact(id);
    const draft = clone(c);
    for (const [path, value] of Object.entries(set)) setContactPath(draft, path, value);
    Object.assign(c, draft);
    this.assignContactIds(c);
    c.modifiedDateTimeUtc = this.stamp();
    if (!silent) this.emit("ContactUpdate", c);
    return c;
  }

  /**
   * An admin merge (Data Health → Merge Contacts; no API exists): `from` keeps existing with
   * `mergedIntoContactId`, its gifts and references move to `into`; ContactUpdate fires for both.
   */
  mergeContacts(fromId, intoId) {
    const from = this.contact(fromId);
    const into = this.contact(intoId);
    if (from.id === into.id) throw badRequest("cannot merge a contact into itself", "into");
    if (from.mergedIntoContactId) throw new SimError(409, "CONFLICT", `contact ${from.id} is already merged into ${from.mergedIntoContactId}`);
    if (into.mergedIntoContactId) throw new SimError(409, "CONFLICT", `contact ${into.id} was merged into ${into.mergedIntoContactId}: merge into the survivor`);
    if (this.survivor(into).id === from.id) throw new SimError(409, "CONFLICT", "the merge would form a cycle");
    for (const r of from.contactReferences) this.addReference(into, r.source, r.id);
    const moved = [];
    for (const g of this.gifts.values())
      if (g.contactId === from.id) {
        g.contactId = into.id;
        g.contactIndividualId = primaryIndividual(into)?.id ?? null;
        g.modifiedDateTimeUtc = this.stamp();
        moved.push(g);
      }
    from.mergedIntoContactId = into.id;
    from.modifiedDateTimeUtc = this.stamp();
    into.modifiedDateTimeUtc = this.stamp();
    this.emit("ContactUpdate", from);
    this.emit("ContactUpdate", into);
    if (this.config.mergeGiftUpdates) for (const g of moved) this.emit("GiftUpdate", g);
    return { from, into, movedGiftIds: moved.map((g) => g.id) };
  }

  /** Deletes a contact (no webhook: Virtuous has no contact delete toggle). Its gifts go with it. */
  deleteContact(id) {
    const c = this.contact(id);
    this.contacts.delete(c.id);
    this.deletedContacts.set(c.id, c);
    const gifts = [...this.gifts.values()].filter((g) => g.contactId === c.id);
    for (const g of gifts) this.deleteGift(g.id);
    return { contact: c, deletedGiftIds: gifts.map((g) => g.id) };
  }

  findContacts({ email, referenceSource, referenceId }) {
    const all = [...this.contacts.values()];
    let found = [];
    if (referenceId !== undefined && referenceId !== null && referenceId !== "") {
      found = all.filter((c) =>
        c.contactReferences.some((r) => String(r.id) === String(referenceId) && (!referenceSource || lower(r.source) === lower(referenceSource))),
      );
    } else if (email) {
      found = all.filter((c) => c.contactIndividuals.some((i) => i.contactMethods.some((m) => lower(m.value) === lower(email))));
    }
    // Survivors first: a merged-away contact is still found, but after the contact it merged into.
    return found.sort((a, b) => Number(Boolean(a.mergedIntoContactId)) - Number(Boolean(b.mergedIntoContactId)) || a.id - b.id);
  }

  // ---- gifts ------------------------------------------------------------------------------------------------

  gift(id) {
    const g = this.gifts.get(Number(id));
    if (!g) throw notFound(`gift ${id} not found`);
    return g;
  }

  giftByTransaction(source, id) {
    for (const g of this.gifts.values())
      if (g.transactionSource && lower(g.transactionSource) === lower(source) && String(g.transactionId) === String(id)) return g;
    return null;
  }

  projectId(code) {
    if (!code) return null;
    if (!this.projects.has(code)) this.projects.set(code, this.newId("project"));
    return this.projects.get(code);
  }

  designations(list) {
    return toDesignations(list).map((d) => ({ ...d, projectId: d.projectId ?? this.projectId(d.projectCode) }));
  }

  /** Creates a gift for an existing contact and fires GiftCreate (unless `silent`). */
  createGift(input, { silent = false } = {}) {
    const contact = this.contact(input.contactId);
    const g = { id: this.newId("gift") };
    for (const f of GIFT_EDITABLE) g[f] = giftFieldValue(f, input[f]);
    if (g.amount === null) throw badRequest("amount is required", "amount");
    g.giftDate ??= new Date(this.clock.now()).toISOString().slice(0, 10);
    g.giftType ??= "Cash";
    g.currencyCode ??= "USD";
    g.segmentCode ??= input.segment ?? null;
    g.contactIndividualId ??= primaryIndividual(contact)?.id ?? null;
    g.giftDesignations = this.designations(g.giftDesignations);
    g.createDateTimeUtc = g.modifiedDateTimeUtc = this.stamp();
    this.gifts.set(g.id, g);
    if (!silent) this.emit("GiftCreate", g);
    return g;
  }

  /** Full-replacement PUT of a gift. */
  putGift(id, body) {
    const g = this.gift(id);
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("body must be a gift object");
    const next = {};
    for (const f of GIFT_EDITABLE) {
      if (this.config.putMode === "patch" && body[f] === undefined) continue;
      next[f] = giftFieldValue(f, body[f]);
    }
    if (this.config.putMode !== "patch") {
      const missing = GIFT_REQUIRED.filter((f) => next[f] === null);
      if (missing.length) throw new SimError(400, "BAD_REQUEST", `required: ${missing.join(", ")}`, missing.map((f) => ({ field: f, code: "REQUIRED", message: `${f} is required` })));
    }
    if (next.contactId !== undefined && next.contactId !== null) this.contact(next.contactId);
    if (next.giftDesignations) next.giftDesignations = this.designations(next.giftDesignations);
    Object.assign(g, next);
    g.modifiedDateTimeUtc = this.stamp();
    this.emit("GiftUpdate", g);
    return g;
  }

  /** A staff edit: sets the given fields (paths like `amount`, `customFields.Receipt Status`), fires GiftUpdate. */
  editGift(id, set, { silent = false } = {}) {
    const g = this.gift(id);
    // Applied to a copy first: a bad path or value leaves the gift untouched.
    const draft = clone(g);
    for (const [path, value] of Object.entries(set)) setGiftPath(draft, path, value);
    if (draft.contactId !== g.contactId) this.contact(draft.contactId);
    if (set.giftDesignations !== undefined) draft.giftDesignations = this.designations(draft.giftDesignations);
    Object.assign(g, draft);
    g.modifiedDateTimeUtc = this.stamp();
    if (!silent) this.emit("GiftUpdate", g);
    return g;
  }

  /** Deletes a gift; GiftDelete carries the full gift (live behaviour). */
  deleteGift(id) {
    const g = this.gift(id);
    this.gifts.delete(g.id);
    this.deletedGifts.set(g.id, g);
    this.emit("GiftDelete", g);
    return g;
  }

  // ---- transactions and the nightly batch ----------------------------------------------------------------------

  submitGiftTransaction(body) {
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("body must be a gift transaction object");
    for (const f of ["transactionSource", "transactionId"])
      if (body[f] === undefined || body[f] === null || String(body[f]).trim() === "") throw badRequest(`${f} is required`, f);
    const amount = toAmount(body.amount);
    if (body.giftDate !== undefined) toDate(body.giftDate);
    if (body.giftDesignations !== undefined && body.giftDesignations !== null) {
      const ds = toDesignations(body.giftDesignations);
      const sum = ds.reduce((s, d) => s + Math.round(d.amountDesignated * 100), 0);
      if (ds.length && sum !== Math.round(amount * 100))
        throw badRequest(`giftDesignations sum to ${sum / 100}, not the gift amount ${amount}`, "giftDesignations");
    }
    if (!body.contact || typeof body.contact !== "object") throw badRequest("contact is required", "contact");
    return this.hold("gift", body);
  }

  submitContactTransaction(body) {
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("body must be a contact transaction object");
    const hasIdentity = ["referenceId", "name", "firstName", "firstname", "lastName", "lastname", "email", "id"].some((k) => body[k]);
    if (!hasIdentity) throw badRequest("a contact transaction needs a referenceId, a name or an email", "referenceId");
    return this.hold("contact", body);
  }

  hold(kind, body) {
    const t = {
      seq: this.newId("transaction"), kind, state: "held", receivedAtMs: this.clock.now(), body: clone(body),
      source: kind === "gift" ? String(body.transactionSource) : body.referenceSource ?? null,
      externalId: kind === "gift" ? String(body.transactionId) : body.referenceId ?? null,
      resultId: null, note: null,
    };
    this.transactions.push(t);
    return t;
  }

  /** Matches a Transaction's contact: id, then our reference, then email; merged-away contacts resolve to the survivor. */
  matchContact(input, source) {
    if (input.id !== undefined && input.id !== null && this.contacts.has(Number(input.id))) return this.survivor(this.contacts.get(Number(input.id)));
    if (input.referenceId) {
      const [byRef] = this.findContacts({ referenceSource: source, referenceId: input.referenceId });
      if (byRef) return this.survivor(byRef);
    }
    if (input.email) {
      const [byEmail] = this.findContacts({ email: input.email }).filter((c) => !c.mergedIntoContactId);
      if (byEmail) return byEmail;
    }
    return null;
  }

  /**
   * The nightly batch: every held Transaction in submission order. `needsUpdate` lists Transactions (by
   * `source:id` or seq) to leave in the needs-update bucket, as an import a person must fix.
   */
  runBatch({ needsUpdate = [] } = {}) {
    const report = { processed: 0, created: [], matched: [], needsUpdate: [], duplicates: [] };
    const flagged = new Set(needsUpdate.map(String));
    for (const t of this.transactions.filter((t) => t.state === "held")) {
      report.processed++;
      const key = `${t.source}:${t.externalId}`;
      if (flagged.has(key) || flagged.has(String(t.seq))) {
        t.state = "needs-update";
        t.note = "flagged needs-update by the admin API";
        report.needsUpdate.push(key);
        continue;
      }
      try {
        if (t.kind === "gift") this.importGift(t, report);
        else this.importContact(t, report);
      } catch (e) {
        if (!(e instanceof SimError)) throw e;
        // An import the batch cannot apply waits for a person, as Virtuous's Update Needed bucket does.
        t.state = "needs-update";
        t.note = e.message;
        report.needsUpdate.push(key);
      }
    }
    return report;
  }

  importGift(t, report) {
    const b = t.body;
    const key = `${t.source}:${t.externalId}`;
    const existing = this.giftByTransaction(t.source, t.externalId);
    if (existing) {
      t.state = "duplicate";
      t.resultId = existing.id;
      t.note = `a gift with this transactionSource/transactionId exists (${existing.id}); nothing created`;
      report.duplicates.push({ key, giftId: existing.id });
      return;
    }
    let contact = this.matchContact(b.contact, t.source);
    if (contact) {
      if (b.contact.referenceId && this.addReference(contact, t.source, b.contact.referenceId)) {
        contact.modifiedDateTimeUtc = this.stamp();
        this.emit("ContactUpdate", contact);
      }
    } else {
      try {
        contact = this.createContact(b.contact, { references: b.contact.referenceId ? [{ source: t.source, id: b.contact.referenceId }] : [] });
      } catch {
        t.state = "needs-update";
        t.note = "no contact matched and the transaction's contact cannot create one";
        report.needsUpdate.push(key);
        return;
      }
    }
    const g = this.createGift({
      contactId: contact.id, transactionSource: t.source, transactionId: t.externalId, giftType: b.giftType,
      giftDate: b.giftDate, amount: b.amount, currencyCode: b.currencyCode, batch: b.batch, segmentCode: b.segment ?? b.segmentCode,
      notes: b.notes, isPrivate: b.isPrivate, giftDesignations: b.giftDesignations, customFields: b.customFields,
    });
    t.state = "imported";
    t.resultId = g.id;
    report.created.push({ key, giftId: g.id, contactId: contact.id });
  }

  importContact(t, report) {
    const b = t.body;
    const key = `${t.source}:${t.externalId}`;
    const match = this.matchContact(b, t.source);
    if (match) {
      // The batch merges what the Transaction carries into the matched contact; absent fields stay as they are.
      const set = {};
      for (const k of ["firstName", "lastName", "email", "phone"]) {
        const v = b[k] ?? b[k.toLowerCase()];
        if (v) set[k] = v;
      }
      if (b.name) set.name = b.name;
      if (b.contactType) set.contactType = b.contactType;
      const addr = b.address && typeof b.address === "object" ? b.address : b;
      for (const k of ["address1", "address2", "city", "state", "postal", "country"]) if (addr[k]) set[`address.${k}`] = addr[k];
      if (Array.isArray(b.tags)) set.tags = [...new Set([...match.tags, ...b.tags])];
      if (b.customFields) for (const [k, v] of Object.entries(toCustomFields(b.customFields))) set[`customFields.${k}`] = v;
      const draft = clone(match);
      for (const path of Object.keys(set)) setContactPath(draft, path, set[path]);
      Object.assign(match, draft);
      if (b.referenceSource) this.addReference(match, b.referenceSource, b.referenceId);
      this.assignContactIds(match);
      match.modifiedDateTimeUtc = this.stamp();
      this.emit("ContactUpdate", match);
      t.state = "matched";
      t.resultId = match.id;
      report.matched.push({ key, contactId: match.id });
      return;
    }
    const c = this.createContact(b, { references: b.referenceSource ? [{ source: b.referenceSource, id: b.referenceId }] : [] });
    t.state = "imported";
    t.resultId = c.id;
    report.created.push({ key, contactId: c.id });
  }

  // ---- webhook subscriptions --------------------------------------------------------------------------------

  subscription(id) {
    const s = this.subscriptions.get(Number(id));
    if (!s) throw notFound(`webhook ${id} not found`);
    return s;
  }

  /** POST and PUT share one rule: the body is the whole subscription; omitted toggles are false. */
  subscriptionFromBody(body, { create }) {
    if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("body must be a webhook object");
    if (typeof body.payloadUrl !== "string" || !/^https?:\/\//i.test(body.payloadUrl)) throw badRequest("payloadUrl must be an http(s) URL", "payloadUrl");
    if (this.config.requireHttps && !/^https:/i.test(body.payloadUrl)) throw badRequest("payloadUrl must be HTTPS", "payloadUrl");
    const s = { payloadUrl: body.payloadUrl, secret: body.secret ?? null };
    for (const t of TOGGLES) s[t] = body[t] === true;
    // POST without `active` creates an active subscription; PUT without it (a full replacement) leaves it inactive.
    s.active = body.active === undefined ? create : body.active === true;
    return s;
  }

  createSubscription(body) {
    const s = { id: this.newId("subscription"), ...this.subscriptionFromBody(body, { create: true }) };
    s.createDateTimeUtc = s.modifiedDateTimeUtc = this.stamp();
    this.subscriptions.set(s.id, s);
    return s;
  }

  replaceSubscription(id, body) {
    const old = this.subscription(id);
    const s = { id: old.id, ...this.subscriptionFromBody(body, { create: false }), createDateTimeUtc: old.createDateTimeUtc };
    s.modifiedDateTimeUtc = this.stamp();
    this.subscriptions.set(s.id, s);
    return s;
  }

  setSubscriptionActive(id, active) {
    const s = this.subscription(id);
    s.active = active;
    s.modifiedDateTimeUtc = this.stamp();
    return s;
  }

  deleteSubscription(id) {
    const s = this.subscription(id);
    this.subscriptions.delete(s.id);
    return s;
  }

  snapshot() {
    return {
      contacts: [...this.contacts.values()].map(clone),
      gifts: [...this.gifts.values()].map(clone),
      deletedGifts: [...this.deletedGifts.values()].map(clone),
      deletedContacts: [...this.deletedContacts.values()].map(clone),
      transactions: this.transactions.map(clone),
      subscriptions: [...this.subscriptions.values()].map(clone),
      projects: Object.fromEntries(this.projects),
    };
  }
}

// ---- field paths for staff edits --------------------------------------------------------------------------

function setPath(obj, path, value) {
  const parts = path.split(".");
  let cur = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = Array.isArray(cur) ? Number(parts[i]) : parts[i];
    if (cur[k] === undefined || cur[k] === null) throw badRequest(`no field at ${parts.slice(0, i + 1).join(".")}`, path);
    cur = cur[k];
  }
  const last = Array.isArray(cur) ? Number(parts.at(-1)) : parts.at(-1);
  cur[last] = value;
}

/** Gift paths: any editable field, `customFields.<name>`, `giftDesignations.<i>.<field>`. */
export function setGiftPath(g, path, value) {
  const [head, ...rest] = path.split(".");
  if (!GIFT_EDITABLE.includes(head)) throw badRequest(`${head} is not an editable gift field`, path);
  if (head === "customFields" && rest.length) {
    g.customFields[rest.join(".")] = value;
    return;
  }
  if (!rest.length) {
    g[head] = giftFieldValue(head, value);
    return;
  }
  setPath(g, path, head === "giftDesignations" && rest.at(-1) === "amountDesignated" ? toAmount(value, path) : value);
}

/**
 * Contact paths: any editable field, `customFields.<name>`, and shortcuts for the primary individual:
 * `firstName`, `lastName`, `email`, `phone`, and the primary address: `address.<field>`.
 */
export function setContactPath(c, path, value) {
  const [head, ...rest] = path.split(".");
  const primaryInd = () => {
    let ind = primaryIndividual(c);
    if (!ind) {
      ind = { id: null, firstName: null, lastName: null, isPrimary: true, contactMethods: [] };
      c.contactIndividuals.push(ind);
    }
    return ind;
  };
  if (head === "firstName" || head === "lastName") {
    primaryInd()[head] = value === null ? null : String(value);
    return;
  }
  if (head === "email" || head === "phone") {
    const m = primaryMethod(c, head);
    if (m) {
      const ind = c.contactIndividuals.find((i) => i.contactMethods.some((x) => x.id === m.id && x.type === m.type && x.value === m.value));
      const target = ind.contactMethods.find((x) => x.id === m.id && x.type === m.type && x.value === m.value);
      target.value = value === null ? null : String(value);
    } else {
      primaryInd().contactMethods.push({ id: null, type: head === "email" ? "Home Email" : "Home Phone", value: String(value), isPrimary: true });
    }
    return;
  }
  if (head === "address") {
    if (!c.contactAddresses.length) c.contactAddresses.push(contactFieldValue("contactAddresses", [{}])[0]);
    const a = c.contactAddresses.find((x) => x.isPrimary) ?? c.contactAddresses[0];
    if (rest.length !== 1 || !(rest[0] in a)) throw badRequest(`unknown address field ${rest.join(".")}`, path);
    a[rest[0]] = value === null ? null : String(value);
    return;
  }
  if (!CONTACT_EDITABLE.includes(head)) throw badRequest(`${head} is not an editable contact field`, path);
  if (head === "customFields" && rest.length) {
    c.customFields[rest.join(".")] = value;
    return;
  }
  if (!rest.length) {
    c[head] = contactFieldValue(head, value);
    return;
  }
  setPath(c, path, value);
}
