// Record shapes: how the simulator stores gifts and contacts, and how it renders them for REST reads, query
// rows and webhook payloads (the live `{event, gift|contact}` shape, docs section 6).

export class SimError extends Error {
  /** @param {number} status @param {string} code @param {string} message @param {object[]} [details] */
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const badRequest = (message, field) =>
  new SimError(400, "BAD_REQUEST", message, field ? [{ field, code: "INVALID", message }] : []);
export const notFound = (message) => new SimError(404, "NOT_FOUND", message);

/** Decimal amount from a number or a decimal string ("500.00"); the API types money as strings. */
export function toAmount(v, field = "amount") {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  throw badRequest(`${field} must be a decimal amount`, field);
}

/** A gift date as YYYY-MM-DD from "2024-12-15", "2024-12-15T00:00:00" or "12/15/2024". */
export function toDate(v, field = "giftDate") {
  if (typeof v === "string") {
    let m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$/.exec(v.trim());
    if (m) return `${m[1]}-${m[2]}-${m[3]}`;
    m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(v.trim());
    if (m) return `${m[3]}-${m[1].padStart(2, "0")}-${m[2].padStart(2, "0")}`;
  }
  throw badRequest(`${field} must be a date (YYYY-MM-DD or M/D/YYYY)`, field);
}

/** M/D/YYYY, as live webhook payloads format `giftDateFormatted`. */
export function formattedDate(ymd) {
  if (!ymd) return null;
  const [y, m, d] = ymd.split("-");
  return `${Number(m)}/${Number(d)}/${y}`;
}

export const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** customFields arrive as a name-keyed object (webhooks) or a `[{name, value}]` list (REST); stored as the object. */
export function toCustomFields(v, field = "customFields") {
  if (v === null || v === undefined) return {};
  if (Array.isArray(v)) {
    const out = {};
    for (const [i, e] of v.entries()) {
      if (!e || typeof e.name !== "string") throw badRequest(`${field}[${i}].name must be a string`, `${field}[${i}].name`);
      out[e.name] = e.value ?? null;
    }
    return out;
  }
  if (typeof v === "object") return { ...v };
  throw badRequest(`${field} must be an object or a list of {name, value}`, field);
}

// ---- gifts ------------------------------------------------------------------------------------------------

/** Fields a gift PUT replaces (absent ones are blanked) and a staff edit may set. */
export const GIFT_EDITABLE = [
  "transactionSource", "transactionId", "contactId", "contactIndividualId", "giftType", "giftDate", "amount",
  "currencyCode", "batch", "segmentCode", "notes", "isPrivate", "giftDesignations", "customFields",
];
/** Fields a full-replacement gift PUT must carry (Virtuous rejects a gift without them). */
export const GIFT_REQUIRED = ["contactId", "giftDate", "amount"];

export function blankGiftField(name) {
  if (name === "giftDesignations") return [];
  if (name === "customFields") return {};
  if (name === "isPrivate") return false;
  return null;
}

export function toDesignations(v, field = "giftDesignations") {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw badRequest(`${field} must be a list`, field);
  return v.map((d, i) => {
    if (!d || typeof d !== "object") throw badRequest(`${field}[${i}] must be an object`, `${field}[${i}]`);
    return {
      projectId: d.projectId ?? null,
      projectCode: d.projectCode ?? null,
      amountDesignated: toAmount(d.amountDesignated, `${field}[${i}].amountDesignated`),
    };
  });
}

/** Validates and normalises one gift field value (from a PUT body, a staff edit or a Transaction). */
export function giftFieldValue(name, v) {
  if (v === null || v === undefined) return blankGiftField(name);
  switch (name) {
    case "amount": return toAmount(v, name);
    case "giftDate": return toDate(v, name);
    case "contactId": case "contactIndividualId": {
      const n = typeof v === "string" ? Number(v) : v;
      if (!Number.isInteger(n)) throw badRequest(`${name} must be an integer id`, name);
      return n;
    }
    case "isPrivate": return Boolean(v);
    case "giftDesignations": return toDesignations(v);
    case "customFields": return toCustomFields(v);
    default:
      if (typeof v === "object") throw badRequest(`${name} must be a scalar`, name);
      return String(v);
  }
}

const giftCommon = (g) => ({
  id: g.id,
  transactionSource: g.transactionSource,
  transactionId: g.transactionId,
  contactId: g.contactId,
  contactIndividualId: g.contactIndividualId,
  contactPassthroughId: null,
  giftType: g.giftType,
  giftDate: g.giftDate,
  amount: g.amount,
  currencyCode: g.currencyCode,
  batch: g.batch,
  segmentCode: g.segmentCode,
  notes: g.notes,
  isPrivate: g.isPrivate,
  giftDesignations: clone(g.giftDesignations),
  customFields: clone(g.customFields),
  createDateTimeUtc: g.createDateTimeUtc,
  modifiedDateTimeUtc: g.modifiedDateTimeUtc,
});

/** `GET /api/Gift/{id}`. */
export const renderGift = (g) => giftCommon(g);
/** The `gift` object of a webhook: the REST fields plus the live payload's `giftDateFormatted`. */
export const renderGiftHook = (g) => ({ ...giftCommon(g), giftDateFormatted: formattedDate(g.giftDate) });
/** An abbreviated `Gift/Query` row: no designations, custom fields or notes. */
export const renderGiftRow = (g, contactName) => ({
  id: g.id,
  transactionSource: g.transactionSource,
  transactionId: g.transactionId,
  contactId: g.contactId,
  contactName: contactName ?? null,
  giftType: g.giftType,
  giftDate: g.giftDate,
  amount: g.amount,
  currencyCode: g.currencyCode,
  batch: g.batch,
  createDateTimeUtc: g.createDateTimeUtc,
  modifiedDateTimeUtc: g.modifiedDateTimeUtc,
});

// ---- contacts ---------------------------------------------------------------------------------------------

/** Fields a contact PUT replaces. References and `mergedIntoContactId` are not writable through PUT. */
export const CONTACT_EDITABLE = [
  "contactType", "name", "isPrivate", "description", "contactIndividuals", "contactAddresses", "tags",
  "organizationGroups", "customFields",
];
export const CONTACT_REQUIRED = ["name"];

export function blankContactField(name) {
  if (["contactIndividuals", "contactAddresses", "tags", "organizationGroups"].includes(name)) return [];
  if (name === "customFields") return {};
  if (name === "isPrivate") return false;
  return null;
}

const ADDRESS_KEYS = ["address1", "address2", "city", "state", "postal", "country"];

export function toAddress(a, field) {
  if (!a || typeof a !== "object" || Array.isArray(a)) throw badRequest(`${field} must be an object`, field);
  const out = { id: a.id ?? null, isPrimary: a.isPrimary ?? true };
  for (const k of ADDRESS_KEYS) out[k] = a[k] ?? null;
  return out;
}

export function toStringList(v, field) {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) throw badRequest(`${field} must be a list of strings`, field);
  return [...v];
}

/** Validates and normalises one contact field (ids of individuals/methods are assigned by the store). */
export function contactFieldValue(name, v) {
  if (v === null || v === undefined) return blankContactField(name);
  switch (name) {
    case "isPrivate": return Boolean(v);
    case "tags": case "organizationGroups": return toStringList(v, name);
    case "customFields": return toCustomFields(v);
    case "contactAddresses":
      if (!Array.isArray(v)) throw badRequest(`${name} must be a list`, name);
      return v.map((a, i) => toAddress(a, `${name}[${i}]`));
    case "contactIndividuals":
      if (!Array.isArray(v)) throw badRequest(`${name} must be a list`, name);
      return v.map((ind, i) => {
        if (!ind || typeof ind !== "object") throw badRequest(`${name}[${i}] must be an object`, `${name}[${i}]`);
        const methods = ind.contactMethods ?? [];
        if (!Array.isArray(methods)) throw badRequest(`${name}[${i}].contactMethods must be a list`, `${name}[${i}].contactMethods`);
        return {
          id: ind.id ?? null,
          firstName: ind.firstName ?? null,
          lastName: ind.lastName ?? null,
          isPrimary: ind.isPrimary ?? i === 0,
          contactMethods: methods.map((m, j) => ({
            id: m?.id ?? null,
            type: m?.type ?? null,
            value: m?.value ?? null,
            isPrimary: m?.isPrimary ?? j === 0,
          })),
        };
      });
    default:
      if (typeof v === "object") throw badRequest(`${name} must be a scalar`, name);
      return String(v);
  }
}

export function primaryIndividual(c) {
  return c.contactIndividuals.find((i) => i.isPrimary) ?? c.contactIndividuals[0] ?? null;
}

/** The primary method of a kind ("email" or "phone") across the contact's individuals. */
export function primaryMethod(c, kind) {
  const re = kind === "email" ? /email/i : /phone|mobile|cell/i;
  const all = c.contactIndividuals.flatMap((i) => i.contactMethods.map((m) => ({ ...m, ind: i })));
  const matching = all.filter((m) => m.type && re.test(m.type));
  return matching.find((m) => m.isPrimary) ?? matching[0] ?? null;
}

const contactCommon = (c) => ({
  id: c.id,
  contactType: c.contactType,
  name: c.name,
  isPrivate: c.isPrivate,
  description: c.description,
  mergedIntoContactId: c.mergedIntoContactId,
  contactIndividuals: clone(c.contactIndividuals),
  contactAddresses: clone(c.contactAddresses),
  contactReferences: clone(c.contactReferences),
  tags: [...c.tags],
  organizationGroups: [...c.organizationGroups],
  createDateTimeUtc: c.createDateTimeUtc,
  modifiedDateTimeUtc: c.modifiedDateTimeUtc,
});

/** `GET /api/Contact/{id}`: `address` is the primary address (docs), custom fields as a `[{name, value}]` list. */
export function renderContact(c) {
  return {
    ...contactCommon(c),
    address: clone(primaryAddress(c)),
    customFields: Object.entries(c.customFields).map(([name, value]) => ({ name, value })),
  };
}
const primaryAddress = (c) => c.contactAddresses.find((a) => a.isPrimary) ?? c.contactAddresses[0] ?? null;

/**
 * The `contact` object of a webhook: custom fields as a name-keyed object, as observed live; the REST `address`
 * only with `payload.contactAddress` (live payloads show `contactAddresses` only).
 */
export function renderContactHook(c, payload = {}) {
  const out = { ...contactCommon(c), customContactType: null, customFields: clone(c.customFields) };
  if (payload.contactAddress) out.address = clone(primaryAddress(c));
  return out;
}
/** An abbreviated `Contact/Query` row. */
export function renderContactRow(c) {
  const email = primaryMethod(c, "email");
  const ind = primaryIndividual(c);
  const addr = c.contactAddresses.find((a) => a.isPrimary) ?? c.contactAddresses[0] ?? null;
  return {
    id: c.id,
    contactType: c.contactType,
    name: c.name,
    firstName: ind?.firstName ?? null,
    lastName: ind?.lastName ?? null,
    email: email?.value ?? null,
    city: addr?.city ?? null,
    state: addr?.state ?? null,
    postal: addr?.postal ?? null,
    mergedIntoContactId: c.mergedIntoContactId,
    createDateTimeUtc: c.createDateTimeUtc,
    modifiedDateTimeUtc: c.modifiedDateTimeUtc,
  };
}

// ---- events -----------------------------------------------------------------------------------------------

/** The webhook toggle of each event type (docs 1.2) and its live `event` value. */
export const EVENT_TYPES = {
  ContactCreate: { toggle: "contactCreate", kind: "contact" },
  ContactUpdate: { toggle: "contactUpdate", kind: "contact" },
  GiftCreate: { toggle: "giftCreate", kind: "gift" },
  GiftUpdate: { toggle: "giftUpdate", kind: "gift" },
  GiftDelete: { toggle: "giftDelete", kind: "gift" },
};

/** The 15 subscription toggles (docs 1.2). */
export const TOGGLES = [
  "contactCreate", "contactUpdate", "giftCreate", "giftUpdate", "giftDelete", "projectCreate", "projectUpdate",
  "projectDelete", "formSubmission", "contactNoteCreate", "contactNoteUpdate", "contactNoteDelete", "eventCreate",
  "eventUpdate", "eventDelete",
];

/** `GiftCreate`, `giftCreate`, `gift.created`, `gift-create`, `gift.create` → `GiftCreate`. */
export function canonicalEventType(name) {
  const key = String(name).toLowerCase().replace(/[^a-z]/g, "");
  const table = {
    contactcreate: "ContactCreate", contactcreated: "ContactCreate",
    contactupdate: "ContactUpdate", contactupdated: "ContactUpdate",
    giftcreate: "GiftCreate", giftcreated: "GiftCreate",
    giftupdate: "GiftUpdate", giftupdated: "GiftUpdate",
    giftdelete: "GiftDelete", giftdeleted: "GiftDelete",
    contactmerge: "ContactMerge", contactmerged: "ContactMerge",
    contactdelete: "ContactDelete", contactdeleted: "ContactDelete",
  };
  return table[key] ?? null;
}
