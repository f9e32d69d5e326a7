// The local Volunteer (VOMO) API: GET /v1/users, /v1/projects, /v1/participations (and /v1/{resource}/{id}) with
// `updated_after` and `page`, a server-fixed page size, Laravel's {data, links, meta} envelope and Bearer auth,
// plus switchable quirks (docs.virtuous.org/volunteer/pagination-and-conventions, .../rate-limits):
//   stringNullNext   links.next / links.prev spelled as the string "null" (the OpenAPI example) instead of null
//   dropQueryInLinks the links carry ?page=N alone (a paginator without withQueryString)
//   sort             "id" (default) or "updated_at" (an update moves a row to the end: pages shift under a run)
//   rateLimit        {perMinute, retryAfter}: 429s past perMinute requests a minute, with or without Retry-After
//   throttleNext     the next N requests answer 429 (Retry-After: throttleRetryAfter seconds, or none when null)
// Admin under /_sim/vomo (no auth): create/edit/delete rows, same-second bursts, config, the store, the request log.
// Timestamps are written as the docs show them: `2025-11-19T10:15:00+00:00` (whole seconds).
import { SimError, badRequest, notFound } from "./model.mjs";

export const VOMO_RESOURCES = ["users", "projects", "participations"];

export function defaultVomoConfig() {
  return {
    tokens: ["sim-vomo-token"],
    perPage: 15,
    sort: "id",
    stringNullNext: false,
    dropQueryInLinks: false,
    rateLimit: { perMinute: 0, retryAfter: true },
    // The next N API requests answer 429 (Retry-After `throttleRetryAfter` seconds, none when null): a quick storm.
    throttleNext: 0,
    throttleRetryAfter: 1,
  };
}

/** `2025-11-19T10:15:00+00:00` for a time in ms (whole seconds, as the docs show). */
export function vomoTime(ms) {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "+00:00");
}

const isPlain = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

export class Vomo {
  constructor(sim) {
    this.sim = sim;
    this.reset();
  }

  reset(config = {}) {
    this.store = this.sim.store; // the simulator's reset swaps its store: the VOMO organisation resets with it
    this.config = { ...defaultVomoConfig(), ...config, rateLimit: { ...defaultVomoConfig().rateLimit, ...(config.rateLimit ?? {}) } };
    this.rows = { users: new Map(), projects: new Map(), participations: new Map() };
    this.nextId = { users: 8200, projects: 300, participations: 5000 };
    this.requests = [];
    this.window = { startMs: 0, count: 0 };
  }

  /** The organisation, reset when the simulator's store was replaced. */
  current() {
    if (this.store !== this.sim.store) this.reset();
    return this;
  }

  now() {
    return this.sim.clock.now();
  }

  patchConfig(body) {
    if (!isPlain(body)) throw badRequest("body must be an object", "body");
    const c = { ...this.config, ...body, rateLimit: { ...this.config.rateLimit, ...(body.rateLimit ?? {}) } };
    if (!Number.isInteger(c.perPage) || c.perPage < 1 || c.perPage > 1000) throw badRequest("perPage: 1..1000", "perPage");
    if (!["id", "updated_at"].includes(c.sort)) throw badRequest("sort: id or updated_at", "sort");
    if (!Number.isInteger(c.rateLimit.perMinute) || c.rateLimit.perMinute < 0) throw badRequest("rateLimit.perMinute: an integer >= 0 (0: no limit)", "rateLimit.perMinute");
    if (!Number.isInteger(c.throttleNext) || c.throttleNext < 0) throw badRequest("throttleNext: an integer >= 0", "throttleNext");
    if (c.throttleRetryAfter !== null && !(Number.isInteger(c.throttleRetryAfter) && c.throttleRetryAfter >= 0)) throw badRequest("throttleRetryAfter: seconds >= 0, or null", "throttleRetryAfter");
    if (!Array.isArray(c.tokens) || c.tokens.some((t) => typeof t !== "string" || t === "")) throw badRequest("tokens: a list of strings", "tokens");
    this.config = c;
    return this.publicConfig();
  }

  publicConfig() {
    return { ...this.config, tokens: this.config.tokens.map(() => "***") };
  }

  resource(name) {
    if (!VOMO_RESOURCES.includes(name)) throw notFound(`no such resource ${name}`);
    return this.rows[name];
  }

  /** Creates a row; `at` (ms) sets created_at = updated_at (default: now). */
  create(name, fields = {}, at = this.now()) {
    const map = this.resource(name);
    if (!isPlain(fields)) throw badRequest("body must be an object", "body");
    const id = fields.id ?? ++this.nextId[name];
    if (!Number.isInteger(id) || id < 1) throw badRequest("id must be a positive integer", "id");
    if (map.has(id)) throw new SimError(409, "CONFLICT", `${name} ${id} exists`);
    this.nextId[name] = Math.max(this.nextId[name], id);
    if (name === "participations") {
      for (const k of ["user_id", "project_id"]) if (!Number.isInteger(fields[k])) throw badRequest(`${k} must be an integer id`, k);
    }
    const { id: _, ...rest } = fields;
    const row = { ...defaults(name, id), ...rest, id, createdMs: at, updatedMs: at };
    map.set(id, row);
    return render(name, row);
  }

  /** Edits a row and moves its updated_at to now (or `at`). A participation's edit leaves its user as it is. */
  edit(name, id, fields = {}, at = this.now()) {
    const row = this.resource(name).get(id);
    if (!row) throw notFound(`${name} ${id} not found`);
    if (!isPlain(fields)) throw badRequest("body must be an object", "body");
    const { id: _, ...rest } = fields;
    Object.assign(row, rest, { updatedMs: at });
    return render(name, row);
  }

  remove(name, id) {
    const map = this.resource(name);
    const row = map.get(id);
    if (!row) throw notFound(`${name} ${id} not found`);
    map.delete(id);
    return render(name, row);
  }

  /** `count` rows of `name` created in one second (a same-second burst across page boundaries). */
  burst(name, count, at = this.now()) {
    if (!Number.isInteger(count) || count < 1 || count > 10_000) throw badRequest("count: 1..10000", "count");
    const sec = Math.floor(at / 1000) * 1000;
    const out = [];
    for (let i = 0; i < count; i++) {
      const fields = name === "participations" ? { user_id: this.firstId("users"), project_id: this.firstId("projects") } : {};
      out.push(this.create(name, fields, sec + (i % 1000)));
    }
    return out;
  }

  firstId(name) {
    const first = this.rows[name].keys().next();
    if (first.done) throw badRequest(`create a ${name.slice(0, -1)} first`, name);
    return first.value;
  }

  snapshot() {
    return Object.fromEntries(VOMO_RESOURCES.map((n) => [n, [...this.rows[n].values()].map((r) => render(n, r))]));
  }

  authorized(header) {
    const m = /^Bearer\s+(.+)$/i.exec(header ?? "");
    return !!m && this.config.tokens.includes(m[1].trim());
  }

  /** A 429 past the per-minute limit: { retryAfter?: seconds } or null. */
  throttle() {
    if (this.config.throttleNext > 0) {
      this.config.throttleNext--;
      const ra = this.config.throttleRetryAfter;
      return ra == null ? {} : { retryAfter: ra };
    }
    const per = this.config.rateLimit.perMinute;
    if (!per) return null;
    const now = this.now();
    if (now - this.window.startMs >= 60_000) this.window = { startMs: now, count: 0 };
    this.window.count++;
    if (this.window.count <= per) return null;
    const retryAfter = Math.max(1, Math.ceil((this.window.startMs + 60_000 - now) / 1000));
    return this.config.rateLimit.retryAfter ? { retryAfter } : {};
  }

  /** GET /v1/{name}?updated_after=&page= : the Laravel envelope. */
  list(name, qs, origin) {
    const rows = [...this.resource(name).values()];
    let after;
    if (qs.updated_after !== undefined) {
      after = Date.parse(qs.updated_after);
      if (!Number.isFinite(after)) throw new SimError(422, "UNPROCESSABLE", "updated_after must be a date", [{ field: "updated_after" }]);
    }
    const page = qs.page === undefined ? 1 : Number(qs.page);
    if (!Number.isInteger(page) || page < 1) throw new SimError(422, "UNPROCESSABLE", "page must be a positive integer", [{ field: "page" }]);
    // "updated on or after": the docs' wording; the API compares whole seconds
    const hit = rows.filter((r) => after === undefined || Math.floor(r.updatedMs / 1000) * 1000 >= after);
    hit.sort(this.config.sort === "updated_at"
      ? (a, b) => Math.floor(a.updatedMs / 1000) - Math.floor(b.updatedMs / 1000) || a.id - b.id
      : (a, b) => a.id - b.id);
    const per = this.config.perPage;
    const total = hit.length;
    const last = Math.max(1, Math.ceil(total / per));
    const data = hit.slice((page - 1) * per, page * per).map((r) => render(name, r));
    const path = `${origin}/v1/${name}`;
    const query = (n) => {
      const p = new URLSearchParams();
      if (!this.config.dropQueryInLinks && qs.updated_after !== undefined) p.set("updated_after", qs.updated_after);
      p.set("page", String(n));
      return `${path}?${p}`;
    };
    const none = this.config.stringNullNext ? "null" : null;
    return {
      data,
      links: { first: query(1), last: query(last), prev: page > 1 ? query(page - 1) : none, next: page < last ? query(page + 1) : none },
      meta: { current_page: page, from: data.length ? (page - 1) * per + 1 : null, last_page: last, path, per_page: per, to: data.length ? (page - 1) * per + data.length : null, total },
    };
  }

  one(name, id) {
    const row = this.resource(name).get(id);
    if (!row) throw notFound(`${name} ${id} not found`);
    return { data: render(name, row) };
  }
}

function defaults(name, id) {
  if (name === "users") return { first_name: "Vol", last_name: `Unteer${id}`, email: `volunteer${id}@example.org`, user_status: "VERIFIED", membership_status: "ACCEPTED", membership_role: "VOLUNTEER" };
  if (name === "projects") return { name: `Project ${id}`, status: "ACTIVE" };
  return { status: "APPROVED", hours: 0 };
}

/** A row as the API renders it (times as the docs show them). */
export function render(name, row) {
  const { createdMs, updatedMs, ...fields } = row;
  const type = name === "users" ? "user" : name === "projects" ? "project" : "participation";
  const out = { type, ...fields, created_at: vomoTime(createdMs), updated_at: vomoTime(updatedMs) };
  if (name === "users") out.full_name = `${fields.first_name ?? ""} ${fields.last_name ?? ""}`.trim();
  return out;
}

const num = (s, field) => {
  const n = Number(s);
  if (!Number.isInteger(n)) throw badRequest(`${field} must be an integer id`, field);
  return n;
};

/**
 * Handles /v1/* (the API) and /_sim/vomo/* (admin); returns false for any other path.
 * `send(res, status, body, headers)` is the server's.
 */
export async function handleVomo(sim, req, res, { path, qs, body, send }) {
  const v = (sim.vomo ??= new Vomo(sim)).current();
  const segs = path.split("/").filter(Boolean);
  if (segs[0] === "_sim" && segs[1] === "vomo") {
    const [, , a, b] = segs;
    // VOMO's webhook endpoints and events are the product webhooks' admin routes (raise.mjs productAdminRoutes).
    if (a === "endpoints" || a === "events") return false;
    const m = req.method;
    const out = (() => {
      if (a === "config" && m === "GET") return v.publicConfig();
      if (a === "config" && m === "PATCH") return v.patchConfig(body ?? {});
      if (a === "reset" && m === "POST") return (v.reset(isPlain(body) ? body : {}), v.publicConfig());
      if (a === "store" && m === "GET") return v.snapshot();
      if (a === "requests" && m === "GET") return v.requests;
      if (a === "burst" && m === "POST") return v.burst(body?.resource ?? "users", body?.count);
      if (VOMO_RESOURCES.includes(a) && b === undefined && m === "POST") return v.create(a, body ?? {});
      if (VOMO_RESOURCES.includes(a) && b !== undefined && m === "PATCH") return v.edit(a, num(b, "id"), body ?? {});
      if (VOMO_RESOURCES.includes(a) && b !== undefined && m === "DELETE") return v.remove(a, num(b, "id"));
      throw notFound(`${m} ${path}`);
    })();
    send(res, 200, out);
    return true;
  }
  if (segs[0] !== "v1") return false;
  const log = (status) => v.requests.push({ atMs: v.now(), method: req.method, path, query: qs, status });
  if (!v.authorized(req.headers.authorization)) {
    log(401);
    send(res, 401, { message: "Unauthenticated." });
    return true;
  }
  const t = v.throttle();
  if (t) {
    log(429);
    send(res, 429, { message: "Too Many Attempts." }, t.retryAfter === undefined ? {} : { "retry-after": String(t.retryAfter) });
    return true;
  }
  const [, name, id] = segs;
  if (req.method !== "GET" || !VOMO_RESOURCES.includes(name) || segs.length > 3) {
    log(404);
    send(res, 404, { message: `${req.method} ${path} not found` });
    return true;
  }
  const origin = `http://${req.headers.host ?? "127.0.0.1"}`;
  const out = id === undefined ? v.list(name, qs, origin) : v.one(name, num(id, "id"));
  log(200);
  send(res, 200, out);
  return true;
}
