// The simulator: one Virtuous organisation (store, webhooks, rate budget, auth, clock) behind `handle`.
import { Clock } from "./clock.mjs";
import { canonicalEventType, clone, EVENT_TYPES, badRequest, notFound, renderContactHook, renderGiftHook } from "./model.mjs";
import { RateLimiter } from "./ratelimit.mjs";
import { Rng } from "./rng.mjs";
import { Store } from "./store.mjs";
import { Deliverer } from "./webhooks.mjs";

/** Every default, each a documented fact or a documented assumption (README: "Facts and assumptions"). */
export function defaultConfig() {
  return {
    seed: 1,
    clock: { mode: "real" },
    signature: { header: "X-Virtuous-Signature", encoding: "base64", prefix: "" },
    unsignedWithoutSecret: true,
    retry: { delaysMs: [10_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000], jitterMs: 0 },
    faults: { duplicateRate: 0, duplicateDelayMs: 1_000, reorderRate: 0, reorderDelayMs: 2_000 },
    deliveryTimeoutMs: 10_000,
    autoDeliver: true,
    pumpIntervalMs: 25,
    payload: { eventId: false, contactAddress: false, dated: true },
    rateLimit: { limit: 5_000, windowMs: 3_600_000 },
    query: { maxTake: 1_000, defaultTake: 10 },
    putMode: "replace",
    timestampPrecision: "ms",
    uniqueTimestamps: true,
    mergeGiftUpdates: false,
    requireHttps: false,
    auth: {
      required: true,
      apiKeys: ["sim-api-key"],
      users: [{ username: "sim@example.org", password: "sim-password" }],
      tokenTtlSeconds: 1_296_000,
    },
  };
}

function isPlain(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Deep merge of plain objects (arrays and scalars replace). */
export function mergeConfig(base, over) {
  if (!isPlain(over)) return base;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isPlain(v) && isPlain(base[k]) ? mergeConfig(base[k], v) : v;
  return out;
}

function validateConfig(c) {
  const bad = (field, msg) => {
    throw badRequest(`config.${field}: ${msg}`, `config.${field}`);
  };
  if (!["base64", "hex"].includes(c.signature.encoding)) bad("signature.encoding", "base64 or hex");
  if (typeof c.signature.header !== "string" || !/^[A-Za-z0-9-]+$/.test(c.signature.header)) bad("signature.header", "a header name");
  if (!Array.isArray(c.retry.delaysMs) || c.retry.delaysMs.some((d) => !Number.isFinite(d) || d < 0)) bad("retry.delaysMs", "a list of delays in ms");
  for (const k of ["duplicateRate", "reorderRate"]) if (!(c.faults[k] >= 0 && c.faults[k] <= 1)) bad(`faults.${k}`, "a probability in [0, 1]");
  if (!Number.isInteger(c.rateLimit.limit) || c.rateLimit.limit < 0) bad("rateLimit.limit", "an integer >= 0");
  if (!(c.rateLimit.windowMs > 0)) bad("rateLimit.windowMs", "a positive number");
  if (!Number.isInteger(c.query.maxTake) || c.query.maxTake < 1) bad("query.maxTake", "an integer >= 1");
  if (!["replace", "patch"].includes(c.putMode)) bad("putMode", "replace or patch");
  if (!["ms", "s"].includes(c.timestampPrecision)) bad("timestampPrecision", "ms or s");
  return c;
}

const FIRST = ["Ada", "Bruce", "Clara", "Dev", "Elena", "Farid", "Grace", "Hiro", "Imani", "Jonas", "Keiko", "Luis", "Maya", "Noor", "Owen", "Priya"];
const LAST = ["Lovelace", "Wayne", "Barton", "Patel", "Rossi", "Haddad", "Hopper", "Tanaka", "Okafor", "Berg", "Sato", "Ortega", "Lin", "Aziz", "Reed", "Shah"];
const PROJECTS = ["CLEAN-WATER", "SCHOOLS", "GENERAL", "RELIEF"];

export class Simulator {
  constructor(options = {}) {
    this.options = options;
    this.reset(options);
  }

  /** A fresh organisation; `options` as the constructor's (the seed and config default to the current ones). */
  reset(options = {}) {
    const prevConfig = this.config;
    const over = { ...(options.config ?? {}) };
    if (options.clock) over.clock = options.clock;
    this.config = validateConfig(mergeConfig(prevConfig ?? defaultConfig(), over));
    if (options.seed !== undefined) this.config.seed = options.seed;
    const seed = this.config.seed;
    this.deliverer?.close();
    this.clock = new Clock(this.config.clock);
    this.rng = new Rng(seed, "ids");
    this.faultRng = new Rng(seed, "faults");
    this.tokenRng = new Rng(seed, "tokens");
    this.fixtureRng = new Rng(seed, "fixtures");
    this.events = [];
    this.eventSeq = 0;
    this.requests = [];
    this.tokens = new Map();
    this.apiOutage = null;
    this.apiFaults = [];
    this.store = new Store({ rng: this.rng, clock: this.clock, config: this.config, emit: (t, r) => this.emit(t, r) });
    this.rate = new RateLimiter({ clock: this.clock, config: this.config });
    this.deliverer = new Deliverer({ clock: this.clock, config: this.config, rng: this.faultRng, store: this.store, log: (e) => this.onDelivery?.(e) });
    if (this.started) this.deliverer.start();
    for (const s of this.config.subscriptions ?? []) this.store.createSubscription(s);
    if (this.config.fixtures) this.fixtures(this.config.fixtures);
  }

  start() {
    this.started = true;
    this.deliverer.start();
  }

  async close() {
    this.started = false;
    await this.deliverer.close();
  }

  /** Records one event and queues a delivery for every active subscription with its toggle on. */
  emit(type, record) {
    const meta = EVENT_TYPES[type];
    const id = `evt_${String(++this.eventSeq).padStart(5, "0")}`;
    const resource = meta.kind === "gift" ? renderGiftHook(record) : renderContactHook(record, this.config.payload);
    // Live deliveries are often undated (no modifiedDateTimeUtc): `payload.dated: false` leaves it out.
    if (this.config.payload.dated === false) delete resource.modifiedDateTimeUtc;
    const payload = this.config.payload.eventId ? { eventId: id, event: type, [meta.kind]: resource } : { event: type, [meta.kind]: resource };
    const body = JSON.stringify(payload);
    const ev = { id, type, kind: meta.kind, resourceId: record.id, atMs: this.clock.now(), body, deliveries: [], droppedFor: [] };
    for (const s of this.store.subscriptions.values()) {
      if (!s[meta.toggle]) continue;
      if (!s.active) {
        ev.droppedFor.push(s.id); // inactive subscriptions drop events (no later redelivery)
        continue;
      }
      ev.deliveries.push(this.deliverer.enqueue(ev, s, body).id);
    }
    this.events.push(ev);
    return ev;
  }

  // ---- auth -------------------------------------------------------------------------------------------------

  /** `POST /Token`: password or refresh_token grant (form-encoded, like OAuth2's token endpoint). */
  issueToken(form) {
    const now = this.clock.now();
    const a = this.config.auth;
    let user;
    if (form.grant_type === "password") {
      user = a.users.find((u) => u.username === form.username && u.password === form.password);
      if (!user) return null;
      user = user.username;
    } else if (form.grant_type === "refresh_token") {
      const entry = [...this.tokens.values()].find((t) => t.refreshToken === form.refresh_token);
      if (!entry) return null;
      user = entry.user;
    } else return undefined;
    const access = `simtok_${this.tokenRng.hex(16)}`;
    const refresh = `simref_${this.tokenRng.hex(16)}`;
    const expiresMs = now + a.tokenTtlSeconds * 1000;
    this.tokens.set(access, { user, expiresMs, refreshToken: refresh });
    return {
      access_token: access,
      token_type: "bearer",
      expires_in: a.tokenTtlSeconds,
      refresh_token: refresh,
      userName: user,
      ".issued": new Date(now).toUTCString(),
      ".expires": new Date(expiresMs).toUTCString(),
    };
  }

  /** Whether an Authorization header carries an API key or an unexpired token. */
  authorized(header) {
    if (!this.config.auth.required) return true;
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? "");
    if (!m) return false;
    if (this.config.auth.apiKeys.includes(m[1])) return true;
    const t = this.tokens.get(m[1]);
    return Boolean(t && t.expiresMs > this.clock.now());
  }

  // ---- outages --------------------------------------------------------------------------------------------

  setOutages({ webhooks, api } = {}) {
    if (webhooks !== undefined) this.deliverer.unreachable = Boolean(webhooks);
    if (api !== undefined) {
      if (api === false || api === null) this.apiOutage = null;
      else {
        const o = api === true ? {} : api;
        const status = o.status ?? 500;
        if (!Number.isInteger(status) || status < 500 || status > 599) throw badRequest("api.status must be a 5xx status", "api.status");
        this.apiOutage = { status, remaining: o.count ?? null };
      }
    }
    return this.outages();
  }

  outages() {
    return { webhooks: this.deliverer.unreachable, api: this.apiOutage ? { ...this.apiOutage } : false };
  }

  /** Whether this API request falls into an API outage (and spends one of its `count`). */
  apiDown() {
    const o = this.apiOutage;
    if (!o) return null;
    if (o.remaining !== null) {
      if (o.remaining <= 0) {
        this.apiOutage = null;
        return null;
      }
      o.remaining--;
    }
    return o.status;
  }

  /**
   * One-shot faults on matching API requests (`PUT /_sim/api-faults`), in order: each spends one of its `count`
   * (default 1) on the next request whose method and path match (`path`: a case-insensitive prefix). `status`
   * alone: the request is answered with it and not applied (a failure). `apply: true`: the request is applied and
   * then its answer is lost: `drop` closes the connection with no response, `delayMs` holds the response that long
   * (a client with a shorter timeout sees a timeout), `status` answers with that status instead of the real one.
   */
  setApiFaults(list) {
    if (!Array.isArray(list)) throw badRequest("api faults must be an array", "faults");
    const out = [];
    for (const [i, f] of list.entries()) {
      if (!isPlain(f)) throw badRequest(`faults[${i}] must be an object`, `faults[${i}]`);
      const count = f.count ?? 1;
      if (!Number.isInteger(count) || count < 1) throw badRequest(`faults[${i}].count must be a positive integer`, `faults[${i}].count`);
      if (f.status != null && (!Number.isInteger(f.status) || f.status < 200 || f.status > 599)) throw badRequest(`faults[${i}].status must be an HTTP status`, `faults[${i}].status`);
      if (f.delayMs != null && !(Number.isInteger(f.delayMs) && f.delayMs >= 0 && f.delayMs <= 120_000)) throw badRequest(`faults[${i}].delayMs must be 0..120000`, `faults[${i}].delayMs`);
      const apply = f.apply === true;
      if (!apply && f.status == null) throw badRequest(`faults[${i}]: a fault that does not apply the request needs a status`, `faults[${i}].status`);
      if (apply && f.status == null && !f.drop && f.delayMs == null) throw badRequest(`faults[${i}]: an applied request needs drop, delayMs or status`, `faults[${i}]`);
      out.push({ method: f.method ? String(f.method).toUpperCase() : null, path: f.path ? String(f.path).toLowerCase() : null, count, status: f.status ?? null, apply, drop: f.drop === true, delayMs: f.delayMs ?? null });
    }
    this.apiFaults = out;
    return this.apiFaults.map((f) => ({ ...f }));
  }

  /** The first fault matching this API request (one of its `count` spent), or null. */
  takeApiFault(method, path) {
    const p = path.toLowerCase();
    const i = this.apiFaults.findIndex((f) => (!f.method || f.method === method) && (!f.path || p.startsWith(f.path)));
    if (i < 0) return null;
    const f = this.apiFaults[i];
    if (--f.count <= 0) this.apiFaults.splice(i, 1);
    return { ...f };
  }

  // ---- fixtures, triggers -----------------------------------------------------------------------------------

  /** A person from the seeded name lists. */
  person() {
    const r = this.fixtureRng;
    const firstName = r.pick(FIRST);
    const lastName = r.pick(LAST);
    const n = r.int(1, 999);
    return { firstName, lastName, email: `${firstName}.${lastName}${n}@example.org`.toLowerCase(), contactType: "Household" };
  }

  /**
   * Records that exist before the run: `contacts` people with `giftsPerContact` gifts each. Silent (no webhooks)
   * unless `emit`. `source` stamps them as ours (contact reference + gift transaction source/id).
   */
  fixtures({ contacts = 3, giftsPerContact = 1, emit = false, source = null } = {}) {
    const out = { contacts: [], gifts: [] };
    for (let i = 0; i < contacts; i++) {
      const p = this.person();
      const refs = source ? [{ source, id: `fixture-contact-${this.store.nextIds.contact}` }] : [];
      const c = this.store.createContact(p, { references: refs, silent: !emit });
      out.contacts.push(c.id);
      for (let j = 0; j < giftsPerContact; j++) {
        const amount = this.fixtureRng.int(1, 40) * 25;
        const g = this.store.createGift(
          {
            contactId: c.id, amount, giftType: "Cash", giftDate: new Date(this.clock.now() - this.fixtureRng.int(1, 300) * 86_400_000).toISOString().slice(0, 10),
            transactionSource: source, transactionId: source ? `fixture-gift-${this.store.nextIds.gift}` : null,
            giftDesignations: [{ projectCode: this.fixtureRng.pick(PROJECTS), amountDesignated: amount }],
          },
          { silent: !emit },
        );
        out.gifts.push(g.id);
      }
    }
    return out;
  }

  newest(map, filter = () => true) {
    const all = [...map.values()].filter(filter);
    if (!all.length) return null;
    return all.reduce((a, b) => (a.modifiedDateTimeUtc > b.modifiedDateTimeUtc || (a.modifiedDateTimeUtc === b.modifiedDateTimeUtc && a.id > b.id) ? a : b));
  }

  /**
   * One staff action that fires `event` (any spelling: `gift.updated`, `GiftUpdate`, ...): `id` picks the record
   * (default: the most recently modified), `set` the fields. ContactMerge takes `from`/`into`.
   */
  trigger({ event, id, set, contactId, from, into } = {}) {
    const type = canonicalEventType(event ?? "");
    if (!type) throw badRequest(`unknown event "${event}": GiftCreate, GiftUpdate, GiftDelete, ContactCreate, ContactUpdate, ContactMerge, ContactDelete`, "event");
    const s = this.store;
    const live = (c) => !c.mergedIntoContactId;
    const pick = (map, what, filter) => {
      if (id !== undefined && id !== null) return Number(id);
      const r = this.newest(map, filter);
      if (!r) throw notFound(`no ${what} to ${type}: create one first`);
      return r.id;
    };
    switch (type) {
      case "GiftCreate": {
        const cid = contactId ?? this.newest(s.contacts, live)?.id ?? s.createContact(this.person()).id;
        const amount = set?.amount ?? this.fixtureRng.int(1, 20) * 10;
        return { type, gift: clone(s.createGift({ contactId: cid, amount, giftDesignations: [{ projectCode: "GENERAL", amountDesignated: amount }], ...set })) };
      }
      case "GiftUpdate":
        return { type, gift: clone(s.editGift(pick(s.gifts, "gift"), set ?? { notes: `Edited by staff at ${new Date(this.clock.now()).toISOString()}` })) };
      case "GiftDelete":
        return { type, gift: clone(s.deleteGift(pick(s.gifts, "gift"))) };
      case "ContactCreate":
        return { type, contact: clone(s.createContact({ ...this.person(), ...set })) };
      case "ContactUpdate":
        return { type, contact: clone(s.editContact(pick(s.contacts, "contact", live), set ?? { description: `Edited by staff at ${new Date(this.clock.now()).toISOString()}` })) };
      case "ContactDelete": {
        const r = s.deleteContact(pick(s.contacts, "contact"));
        return { type, contact: clone(r.contact), deletedGiftIds: r.deletedGiftIds };
      }
      case "ContactMerge": {
        let f = from ?? id;
        let t = into;
        if (f === undefined || t === undefined) {
          const liveOnes = [...s.contacts.values()].filter(live).sort((a, b) => b.id - a.id);
          if (liveOnes.length < 2) throw notFound("a merge needs two contacts that are not merged");
          f ??= liveOnes[0].id;
          t ??= liveOnes.find((c) => c.id !== Number(f)).id;
        }
        const r = s.mergeContacts(f, t);
        return { type, from: r.from.id, into: r.into.id, movedGiftIds: r.movedGiftIds };
      }
    }
    throw badRequest(`cannot trigger ${type}`);
  }

  /**
   * Changes configuration at run time (deep merge): faults, retry, rateLimit, query, putMode, signature,
   * timestampPrecision, mergeGiftUpdates, requireHttps, unsignedWithoutSecret, autoDeliver, payload. The seed,
   * clock mode and auth only change through `reset`.
   */
  patchConfig(patch) {
    for (const k of ["seed", "clock", "auth", "subscriptions", "fixtures"])
      if (patch[k] !== undefined) throw badRequest(`config.${k} changes only through reset`, `config.${k}`);
    const next = validateConfig(mergeConfig(this.config, patch));
    Object.assign(this.config, next);
    if (this.started && this.config.autoDeliver !== false) this.deliverer.start();
    this.deliverer.kick();
    return this.publicConfig();
  }

  logRequest(entry) {
    this.requests.push(entry);
    if (this.requests.length > 10_000) this.requests.splice(0, this.requests.length - 10_000);
  }

  snapshot() {
    return {
      config: this.publicConfig(),
      clock: this.clock.toJSON(),
      ...this.store.snapshot(),
      events: this.events.map((e) => ({ ...e })),
      deliveries: this.deliverer.list(),
      rateLimit: this.rate.status(),
      outages: this.outages(),
    };
  }

  /** The configuration without credentials or secrets. */
  publicConfig() {
    const c = clone(this.config);
    c.subscriptions = (c.subscriptions ?? []).map((sub) => ({ ...sub, secret: sub.secret ? "[redacted]" : null }));
    c.auth = { required: c.auth.required, apiKeys: c.auth.apiKeys.length, users: c.auth.users.map((u) => u.username), tokenTtlSeconds: c.auth.tokenTtlSeconds };
    return c;
  }
}
