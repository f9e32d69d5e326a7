// Query endpoints (`POST /api/Gift/Query`, `/api/Contact/Query`): groups of conditions (conditions in a group
// AND, groups OR), sortBy/descending, skip/take with a page cap, abbreviated rows.
import { badRequest, primaryMethod } from "./model.mjs";

const lower = (s) => (typeof s === "string" ? s.toLowerCase() : s);

/** Query parameters by name (case-insensitive), each a getter on the stored record, with its value type. */
export const GIFT_PARAMETERS = {
  "gift id": { type: "number", get: (g) => g.id },
  id: { type: "number", get: (g) => g.id },
  "contact id": { type: "number", get: (g) => g.contactId },
  "transaction source": { type: "string", get: (g) => g.transactionSource },
  "transaction id": { type: "string", get: (g) => g.transactionId },
  "gift type": { type: "string", get: (g) => g.giftType },
  batch: { type: "string", get: (g) => g.batch },
  amount: { type: "number", get: (g) => g.amount },
  "gift date": { type: "date", get: (g) => g.giftDate },
  "last modified date": { type: "date", get: (g) => g.modifiedDateTimeUtc },
  "create date": { type: "date", get: (g) => g.createDateTimeUtc },
};

export const CONTACT_PARAMETERS = {
  "contact id": { type: "number", get: (c) => c.id },
  id: { type: "number", get: (c) => c.id },
  name: { type: "string", get: (c) => c.name },
  "contact type": { type: "string", get: (c) => c.contactType },
  email: { type: "string", get: (c) => primaryMethod(c, "email")?.value ?? null },
  "reference source": { type: "string", many: true, get: (c) => c.contactReferences.map((r) => r.source) },
  "reference id": { type: "string", many: true, get: (c) => c.contactReferences.map((r) => r.id) },
  "merged into contact id": { type: "number", get: (c) => c.mergedIntoContactId },
  "last modified date": { type: "date", get: (c) => c.modifiedDateTimeUtc },
  "create date": { type: "date", get: (c) => c.createDateTimeUtc },
};

function coerce(type, v, field) {
  if (v === null || v === undefined) return null;
  if (type === "number") {
    const n = Number(v);
    if (!Number.isFinite(n)) throw badRequest(`${field} must be a number`, field);
    return n;
  }
  if (type === "date") {
    const ms = Date.parse(/^\d{4}-\d{2}-\d{2}T[^Z+]*$/.test(String(v)) && !/[zZ]|[+-]\d{2}:?\d{2}$/.test(String(v)) ? `${v}Z` : v);
    if (!Number.isFinite(ms)) throw badRequest(`${field} must be a date`, field);
    return ms;
  }
  return lower(String(v));
}

const OPERATORS = {
  is: (a, b) => a === b,
  "is not": (a, b) => a !== b,
  "is after": (a, b) => a !== null && a > b,
  "is before": (a, b) => a !== null && a < b,
  "is greater than": (a, b) => a !== null && a > b,
  "is less than": (a, b) => a !== null && a < b,
  "is on or after": (a, b) => a !== null && a >= b,
  "is on or before": (a, b) => a !== null && a <= b,
  "is greater than or equal to": (a, b) => a !== null && a >= b,
  "is less than or equal to": (a, b) => a !== null && a <= b,
  contains: (a, b) => typeof a === "string" && a.includes(b),
  "is known": (a) => a !== null && a !== "",
  "is not known": (a) => a === null || a === "",
};

function compileCondition(params, cond, where) {
  if (!cond || typeof cond !== "object") throw badRequest(`${where} must be an object`, where);
  const p = params[lower(String(cond.parameter ?? ""))];
  if (!p) throw badRequest(`${where}.parameter: unknown query parameter "${cond.parameter}" (see QueryOptions)`, `${where}.parameter`);
  const op = lower(String(cond.operator ?? ""));
  const raw = (r) => {
    const v = p.get(r);
    return p.many ? v.map((x) => coerce(p.type, x, where)) : [coerce(p.type, v, where)];
  };
  if (op === "between") {
    const lo = coerce(p.type, cond.value, `${where}.value`);
    const hi = coerce(p.type, cond.secondaryValue, `${where}.secondaryValue`);
    return (r) => raw(r).some((a) => a !== null && a >= lo && a <= hi);
  }
  if (op === "is on" && p.type === "date") {
    const day = String(cond.value).slice(0, 10);
    return (r) => p.get(r) !== null && String(p.get(r)).slice(0, 10) === day;
  }
  if (op === "in" || op === "is one of") {
    if (!Array.isArray(cond.values)) throw badRequest(`${where}.values must be a list`, `${where}.values`);
    const set = new Set(cond.values.map((v) => coerce(p.type, v, `${where}.values`)));
    return (r) => raw(r).some((a) => set.has(a));
  }
  const fn = OPERATORS[op];
  if (!fn) throw badRequest(`${where}.operator: unknown operator "${cond.operator}"`, `${where}.operator`);
  const b = op === "is known" || op === "is not known" ? null : coerce(p.type, cond.value, `${where}.value`);
  if (op === "is not") return (r) => raw(r).every((a) => fn(a, b));
  return (r) => raw(r).some((a) => fn(a, b));
}

/**
 * Runs one query. Returns `{list, total}` with `total` the count before paging.
 * @param {object[]} records stored records
 * @param {object} body request body
 * @param {{skip?: string, take?: string}} qs query-string paging
 */
export function runQuery(records, body, qs, { params, maxTake, defaultTake, render }) {
  body = body ?? {};
  if (typeof body !== "object" || Array.isArray(body)) throw badRequest("body must be a query object");
  const groups = body.groups ?? [];
  if (!Array.isArray(groups)) throw badRequest("groups must be a list", "groups");
  const compiled = groups.map((g, i) => {
    const conds = g?.conditions ?? [];
    if (!Array.isArray(conds)) throw badRequest(`groups[${i}].conditions must be a list`, `groups[${i}].conditions`);
    return conds.map((c, j) => compileCondition(params, c, `groups[${i}].conditions[${j}]`));
  });
  let list = records.filter((r) => !compiled.length || compiled.some((conds) => conds.every((f) => f(r))));
  const sortName = body.sortBy ? lower(String(body.sortBy)) : "id";
  const sp = params[sortName];
  if (!sp) throw badRequest(`sortBy: unknown sort "${body.sortBy}"`, "sortBy");
  const key = (r) => coerce(sp.type, sp.many ? sp.get(r)[0] : sp.get(r), "sortBy");
  const dir = body.descending === true || body.descending === "true" ? -1 : 1;
  list.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) {
      if (ka === null) return 1;
      if (kb === null) return -1;
      return (ka < kb ? -1 : 1) * dir;
    }
    return (a.id - b.id) * dir; // ties: by id, in the same direction
  });
  const skip = qs.skip === undefined ? 0 : Number(qs.skip);
  let take = qs.take === undefined ? defaultTake : Number(qs.take);
  if (!Number.isInteger(skip) || skip < 0) throw badRequest("skip must be an integer >= 0", "skip");
  if (!Number.isInteger(take) || take < 0) throw badRequest("take must be an integer >= 0", "take");
  take = Math.min(take, maxTake);
  const total = list.length;
  list = list.slice(skip, skip + take).map(render);
  return { list, total };
}

export function queryOptions(params) {
  return {
    parameters: Object.entries(params).map(([name, p]) => ({ parameter: name.replace(/\b\w/g, (c) => c.toUpperCase()), type: p.type })),
    operators: [...Object.keys(OPERATORS), "between", "is on", "in"].map((o) => o.replace(/\b\w/g, (c) => c.toUpperCase())),
  };
}

