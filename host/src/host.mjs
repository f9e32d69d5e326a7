// The reference host: everything between the core's decisions and the world. The partner implements the
// `partner` port (and optionally `clock`); this file receives, processes, writes, reconciles and answers people.
//
// Units of work and their guarantees:
//   receive   verify (core.receive) → insert-if-absent into the inbox by dedupe key → only then 2xx
//   inbound   claim an inbox entry → lock its record (compare-and-set on the version) → partner edits first
//             (host protocol 2) → decideInbound → apply through the partner port → one commit: next state,
//             decision log, outbox change, inbox completion. Failure: release with backoff; dead letter after N.
//   outbound  a reported partner change (or a due recheck) → lock → partner.read → decideOutbound → commit
//   submit    lease due outbox entries → RateBudget → send → classifyResponse → done / retry / failed. A full-record
//             PUT is a snapshot, never resent: its 2xx is reported to the core at once (decideOutbound with
//             `written`, kept on the record until reported), and after a failure, a timeout or a lost answer the
//             record is decided again (a fresh fetch; the core re-issues the write only if Virtuous does not show it)
//   reconcile per customer, every 4–12 h: Query pages from the stored cursor → planReconciliation → missed
//             changes into the same inbox; the cursor advances only after a complete run
import {
  SyncCore,
  RateBudget,
  classifyResponse,
  startQueryRun,
  acceptQueryPage,
  finishQueryRun,
  planPause,
  planResume,
  planSecretRotation,
  mergeSubscription,
  InitialMatcher,
} from "virtuous-sync";
import { randomBytes, randomUUID } from "node:crypto";
import { lookupKeys, refKey } from "./keys.mjs";
import { VirtuousClient } from "./virtuous.mjs";
import { HostError } from "./errors.mjs";
import { isFullRecordPut } from "./writes.mjs";
import { instrument, emitDecisions, retentionOf, applyRetention } from "./observe.mjs";
import { VolunteerPoller, checkVolunteerSettings } from "./volunteer.mjs";
import { RaiseLogReader, checkReceiverSettings, checkRaiseLogSettings, receiverConfig } from "./products.mjs";
import { RaiseSubscription, checkRaiseApiSettings } from "./raise-subscription.mjs";

const HOUR = 3_600_000;
const RECONCILE_RUNS_KEPT = 20;
export const DEFAULTS = Object.freeze({
  leaseMs: 30_000,
  maxAttempts: 8,
  retryBaseMs: 1_000,
  retryMaxMs: 5 * 60_000,
  busyDelayMs: 50,
  busyWaitMs: 5_000,
  reconcileEveryMs: 6 * HOUR,
  reconcileMinMs: 4 * HOUR,
  reconcileMaxMs: 12 * HOUR,
  take: 1000,
});

const randomU32 = () => randomBytes(4).readUInt32LE(0);
const SYNCED = new Set(["gift", "contact"]);
const eventTypeFor = (kind, created) => `${kind}-${created ? "create" : "update"}`;
const rawTypeFor = (kind, created) => `${kind[0].toUpperCase()}${kind.slice(1)}${created ? "Create" : "Update"}`;

/** The record key of a Raise or Volunteer link (`raise:contact:v77`): never equal to a CRM+ key (`contact:v77`). */
export const productRecordKey = (product, kind, virtuousId) => `${product}:${kind}:v${virtuousId}`;

/** A Raise or Volunteer link's decided values (partner field names) as the initial matcher reads them. */
export function matchRecordFromFields(id, fields = {}) {
  const text = (v) => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);
  const full = [text(fields.firstName), text(fields.lastName)].filter(Boolean).join(" ");
  const some = (...v) => [...new Set(v.map(text).filter(Boolean))];
  return { id, references: [], emails: some(fields.email), names: some(fields.name, full), postalCodes: some(fields.postal), phones: some(fields.phone) };
}

/**
 * Linking to a partner record that exists: `fill`, the values it lacks (absent or empty), to apply; `kept`, the fields
 * it holds with another value, left as they are (nothing is overwritten on a match).
 */
export function missingFields(current, fields = {}) {
  const fill = {};
  const kept = [];
  for (const [f, v] of Object.entries(fields ?? {})) {
    const have = current?.fields?.[f];
    if (have == null || have === "") fill[f] = v;
    else if (JSON.stringify(have) !== JSON.stringify(v)) kept.push(f);
  }
  return { fill, kept };
}

/** A normalised event built from a Virtuous record as Query or GET returned it (what reconciliation feeds in). */
export function eventFromRecord(kind, record, created) {
  return {
    eventType: eventTypeFor(kind, created),
    rawEventType: rawTypeFor(kind, created),
    resourceKind: kind,
    resourceId: String(record.id),
    modifiedDateTimeUtc: record.modifiedDateTimeUtc ?? undefined,
    resource: record,
  };
}

/** A Virtuous query row as the initial matcher reads it (contacts: references, email, name, postal code). */
export function matchRecordFromRow(kind, row) {
  const list = (...v) => v.filter((x) => typeof x === "string" && x.trim() !== "").slice(0, 32);
  const refs = [];
  if (Array.isArray(row.contactReferences)) for (const r of row.contactReferences) if (r?.source && r?.id) refs.push({ source: String(r.source), id: String(r.id) });
  if (row.referenceSource && row.referenceId) refs.push({ source: String(row.referenceSource), id: String(row.referenceId) });
  if (kind === "gift" && row.transactionSource && row.transactionId) refs.push({ source: String(row.transactionSource), id: String(row.transactionId) });
  // Abbreviated rows carry email/postal at the top; full contacts in contactIndividuals[].contactMethods and addresses.
  const emails = [row.email];
  const phones = [row.phone];
  for (const ind of Array.isArray(row.contactIndividuals) ? row.contactIndividuals : [])
    for (const m of Array.isArray(ind?.contactMethods) ? ind.contactMethods : []) {
      if (/mail/i.test(String(m?.type ?? ""))) emails.push(m.value);
      else if (/phone|mobile|cell/i.test(String(m?.type ?? ""))) phones.push(m.value);
    }
  const postals = [row.postal, row.address?.postal];
  for (const a of Array.isArray(row.contactAddresses) ? row.contactAddresses : []) postals.push(a?.postal);
  const uniq = (v) => [...new Set(list(...v))];
  return { id: String(row.id), references: refs.slice(0, 32), emails: uniq(emails), names: list(row.name), postalCodes: uniq(postals), phones: uniq(phones) };
}

/**
 * The query path for a resource. Contact query rows are abbreviated and carry no `contactReferences`, so a pending
 * contact could not be matched to its row by reference (and its row would look unknown, i.e. new): contacts are
 * queried through `/Query/FullContact` (same paging, same price) unless `reconcile.fullContacts` is false.
 */
export function queryPath(resource, path, reconcileSettings = {}) {
  const [base, qs] = path.split("?");
  if (resource === "contact" && reconcileSettings.fullContacts !== false && /\/Contact\/Query$/i.test(base)) return `${base}/FullContact${qs ? `?${qs}` : ""}`;
  return path;
}

/** An http:// URL on the loopback interface (127.0.0.0/8, ::1, localhost): a local Virtuous. */
export function isLoopbackHttp(url) {
  try {
    const u = new URL(url);
    return u.protocol === "http:" && (u.hostname === "localhost" || u.hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(u.hostname));
  } catch {
    return false;
  }
}

/** The clamp the issue asks for: a reconciliation interval between 4 and 12 hours. */
export function reconcileInterval(ms) {
  if (ms == null) return DEFAULTS.reconcileEveryMs;
  if (!Number.isFinite(ms) || ms < DEFAULTS.reconcileMinMs || ms > DEFAULTS.reconcileMaxMs)
    throw new HostError("invalid-setting", "reconcile.everyMs must be between 4 and 12 hours");
  return ms;
}

export class Host {
  /**
   * @param {object} o
   * @param {import('./store/contract.mjs')} o.store
   * @param {{apply(op): Promise<{partnerId?: string}|void>, read(ref): Promise<{fields, modifiedMs?, extra?}|null>}} o.partner
   * @param {{now(): number}} [o.clock]
   * @param {string} [o.workerId]
   * @param {typeof fetch} [o.fetch] used for Virtuous requests (tests inject faults here)
   * @param {(d: {customerId, recordKey?, atMs, direction, action, reason, detail?}) => void} [o.onDecision] called
   *   after each decision is stored (and for each delivery, direction "receive"); see docs/host-observability.md
   * @param {object} [o.tracer] an OpenTelemetry tracer: one span per unit of work (observe.mjs SPAN_NAMES)
   */
  constructor({ store, partner, clock, workerId, fetch: f, options = {}, log = () => {}, onDecision, tracer }) {
    if (!store) throw new HostError("invalid-setting", "store is required");
    if (!partner || typeof partner.apply !== "function" || typeof partner.read !== "function")
      throw new HostError("invalid-setting", "partner must implement apply() and read()");
    this.store = store;
    this.partner = partner;
    this.clock = clock ?? { now: () => Date.now() };
    this.workerId = workerId ?? `w-${randomUUID().slice(0, 8)}`;
    this.fetch = f ?? globalThis.fetch;
    this.o = { ...DEFAULTS, ...options };
    this.log = log;
    this.cores = new Map(); // customerId -> {rev, core, settings, client}
    this.timers = [];
    this.running = false;
    this.wake = null;
    this.onDecision = onDecision;
    instrument(this, tracer);
  }

  now() {
    return this.clock.now();
  }

  // --- customers ---------------------------------------------------------------------------------------------
  /**
   * Adds or replaces a customer: `{customerId, platformName, secrets: [{id, secret}], scheme?, sync?, virtuous:
   * {baseUrl, token}, webhookId?, reconcile?: {everyMs, resources, take, breaker, totalRecords}, budget?, inbox?:
   * {maxAttempts}}`. The settings are validated by building the core once.
   */
  async putCustomer(settings) {
    const s = structuredClone(settings);
    if (!s?.customerId) throw new HostError("invalid-setting", "customerId is required");
    reconcileInterval(s.reconcile?.everyMs);
    checkVolunteerSettings(s.volunteer);
    checkReceiverSettings(s.receivers);
    checkRaiseLogSettings(s.raiseLogs);
    checkRaiseApiSettings(s.raiseApi);
    retentionOf(s);
    const b = this.#buildCore(s);
    b.core.free();
    for (const r of Object.values(b.receivers)) r.free();
    await this.store.putCustomer(s.customerId, s, this.now());
    this.cores.delete(s.customerId);
    return s.customerId;
  }

  #buildCore(s) {
    const core = new SyncCore({
      secrets: s.secrets,
      platformName: s.platformName,
      scheme: s.scheme,
      sync: { ...(s.sync ?? {}), customerId: s.customerId },
    });
    const client = s.virtuous ? new VirtuousClient({ ...s.virtuous, fetch: this.fetch }) : null;
    // Raise and VOMO deliveries are verified by their own receivers; the decisions stay with `core`.
    const receivers = {};
    try {
      for (const [product, r] of Object.entries(s.receivers ?? {})) receivers[product] = new SyncCore(receiverConfig(s, product, r));
    } catch (e) {
      core.free();
      for (const r of Object.values(receivers)) r.free();
      throw e;
    }
    return { core, client, settings: s, receivers };
  }

  /** The customer's settings, core and Virtuous client (cached per settings revision). */
  async customer(customerId) {
    const c = await this.store.getCustomer(customerId);
    if (!c) return null;
    const cached = this.cores.get(customerId);
    if (cached && cached.rev === c.rev) return { ...cached, pausedAtMs: c.pausedAtMs };
    cached?.core.free();
    for (const r of Object.values(cached?.receivers ?? {})) r.free();
    const built = { ...this.#buildCore(c.settings), rev: c.rev, customerId };
    this.cores.set(customerId, built);
    return { ...built, pausedAtMs: c.pausedAtMs };
  }

  async #mustCustomer(customerId) {
    const c = await this.customer(customerId);
    if (!c) throw new HostError("unknown-customer", customerId);
    return c;
  }

  // --- receiving -----------------------------------------------------------------------------------------------
  /**
   * One delivery: `{status, body}` to answer. 401 and nothing stored for a forged delivery; the entry is in the
   * inbox before any 2xx; a duplicate answers 2xx again without a second entry. `product` ("crm", "raise",
   * "volunteer") picks the receiver: CRM+ by the customer's core, the others by `settings.receivers[product]`.
   */
  async receive(customerId, body, headers, { product = "crm" } = {}) {
    const r = await this.#receive(customerId, body, headers, product);
    const reason = r.body?.reason ?? r.body?.error ?? "unknown";
    // Deliveries by reason (observability); a counting failure never changes the answer.
    if (r.status !== 404) await this.#count(customerId, { [`delivery:${reason}`]: 1 }).catch(() => {});
    emitDecisions(this, customerId, null, this.now(), [{ direction: "receive", action: String(r.status), reason }]);
    return r;
  }

  async #receive(customerId, body, headers, product) {
    const c = await this.customer(customerId);
    if (!c) return { status: 404, body: { error: "unknown-customer" } };
    const crm = product === "crm";
    const receiver = crm ? c.core : Object.hasOwn(c.receivers, product) ? c.receivers[product] : null;
    if (!receiver) return { status: 404, body: { error: "no-receiver" } };
    const now = this.now();
    const receipt = receiver.receive(body, headers, now);
    if (!receipt.authentic) return { status: receipt.status, body: { reason: receipt.reason } };
    const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
    try {
      // Secret rotation reads which secret deliveries carry (CRM+'s under `secret-seen:<id>`, Raise's and VOMO's
      // under `secret-seen:<product>:<id>`).
      if (receipt.secretId) await this.store.kvPut(customerId, crm ? `secret-seen:${receipt.secretId}` : `secret-seen:${product}:${receipt.secretId}`, now);
      if (receipt.deadLetter) {
        await this.store.deadLetter({ customerId, origin: "receipt", dedupeKey: receipt.dedupeKey, body: text, error: receipt.error?.code ?? receipt.reason, atMs: now });
        return { status: receipt.status, body: { reason: receipt.reason } };
      }
      if (receipt.reason !== "accepted" || !receipt.event) return { status: receipt.status, body: { reason: receipt.reason } };
      // The dedupe key is product-qualified by the core: a Raise contextId never collides with a CRM+ delivery.
      const origin = crm ? "webhook" : `${product}-webhook`;
      const r = await this.store.inboxInsert({ customerId, dedupeKey: receipt.dedupeKey, receivedMs: now, origin, body: text, event: receipt.event });
      this.kick();
      return { status: receipt.status, body: { reason: receipt.reason, duplicate: !r.inserted } };
    } catch (e) {
      // Not stored: Virtuous must retry.
      this.log("receive-store-failed", { customerId, error: String(e?.message ?? e) });
      return { status: 503, body: { error: "store-unavailable" } };
    }
  }

  // --- inbound processing --------------------------------------------------------------------------------------
  /** Claims and processes up to `limit` inbox entries; returns how many were claimed. */
  async processInbox({ limit = 25 } = {}) {
    const entries = await this.store.inboxClaim({ owner: this.workerId, nowMs: this.now(), leaseMs: this.o.leaseMs, limit });
    // One processing pass: with several entries, the partner's records listed to match new product links are listed
    // once and kept for the pass (#matchLink, #noteWrite); a single entry lists narrowed by `match` as before.
    const batch = { lists: entries.length > 1 ? new Map() : null };
    for (const e of entries) await this.#processEntry(e, batch);
    return entries.length;
  }

  async #processEntry(entry, batch) {
    const owner = this.workerId;
    let e = entry;
    try {
      const c = await this.#mustCustomer(e.customerId);
      const now = this.now();
      const keys = lookupKeys(c.core, e.event);
      // A Raise or Volunteer event: decided and applied on its own link (docs/sync.md, "One partner record, several
      // products").
      if (keys.product && keys.product !== "crm") return await this.#processProductEntry(c, e, keys, now, batch);
      if (!SYNCED.has(keys.kind) || !keys.virtuousId) {
        // Not a record this host keeps: the core says why (unsupported-event, not-synced, ...).
        const d = c.core.decideInbound(e.event, null, now);
        await this.#logDecision(e.customerId, null, now, { direction: "inbound", action: d.action.tag, reason: d.reason, detail: { dedupeKey: e.dedupeKey } });
        await this.store.inboxComplete(e.id, owner, now);
        return;
      }
      // At most twice: a fetched record (core `verify`) may name the stored record under another key.
      for (let pass = 0; pass < 2; pass++) {
        const k = pass ? lookupKeys(c.core, e.event) : keys;
        const found = await this.store.findRecord(e.customerId, { kind: k.kind, virtuousId: k.virtuousId, refs: k.refs });
        const key = found?.recordKey ?? `${k.kind}:v${k.virtuousId}`;
        const row = await this.store.lockRecord(e.customerId, key, {
          owner, nowMs: now, leaseMs: this.o.leaseMs, create: found ? undefined : { kind: k.kind, virtuousId: k.virtuousId },
        });
        if (!row) {
          // Another worker holds the record: come back shortly, without counting a failure.
          await this.store.inboxRelease(e.id, owner, { dueMs: now + this.o.busyDelayMs + (randomU32() % this.o.busyDelayMs), countAttempt: false });
          return;
        }
        try {
          const work = await this.#inbound(c, row, e, now, { redirected: pass > 0, batch });
          if (work.redirect) {
            // Decide again with the fetched record, under whichever key its stamp names (maybe this one).
            if (row.state == null) await this.store.dropStub(e.customerId, row.recordKey, owner, row.version);
            else await this.store.unlockRecord(e.customerId, row.recordKey, owner, row.version);
            e = { ...e, event: work.redirect };
            continue;
          }
          await this.#commit({ ...work, customerId: e.customerId, recordKey: row.recordKey, owner, version: row.version, changeSeq: row.changeSeq, inbox: { id: e.id, owner }, nowMs: now });
          await this.#count(e.customerId, work.counts);
          return;
        } catch (err) {
          await this.store.unlockRecord(e.customerId, row.recordKey, owner, row.version).catch(() => {});
          throw err;
        }
      }
    } catch (err) {
      const msg = `${err?.code ?? err?.name ?? "error"}: ${err?.message ?? err}`;
      this.log("inbound-failed", { customerId: e.customerId, dedupeKey: e.dedupeKey, attempts: e.attempts, error: msg });
      const max = (await this.customer(e.customerId).catch(() => null))?.settings.inbox?.maxAttempts ?? this.o.maxAttempts;
      // The core's errors are caller mistakes about this input (a bad record, another tenant): retrying cannot help.
      if (e.attempts >= max || err?.name === "VirtuousSyncError") await this.store.inboxDeadLetter(e.id, owner, msg, this.now()).catch(() => {});
      else await this.store.inboxRelease(e.id, owner, { dueMs: this.now() + this.#backoff(e.attempts), error: msg }).catch(() => {});
    }
  }

  #backoff(attempt) {
    const cap = Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** Math.max(0, attempt - 1));
    return Math.floor(cap / 2 + (randomU32() / 2 ** 32) * (cap / 2)); // equal jitter
  }

  /**
   * A Raise or Volunteer event, on its link (product, kind, Virtuous id; docs/sync.md "One partner record, several
   * products"): locked like a CRM+ record, decided with the link's own state, applied to the partner record the link
   * names. A new link is first matched to a partner record (#matchLink): one match links it, an ambiguous one goes to
   * the review queue (nothing stored, nothing applied: never a guessed merge, never a second partner record), none
   * creates the partner record as the core's `create` says. What is applied fans out to the partner record's CRM+
   * links (#fanOut). A delete tombstones this link only (the core answers `ignore`, reason `deleted`).
   */
  async #processProductEntry(c, e, keys, now, batch) {
    const owner = this.workerId;
    const { product, kind, virtuousId } = keys;
    const eventType = e.event.productEventType ?? e.event.rawEventType;
    const events = { [`${product}Events`]: 1 };
    if (!kind || !virtuousId) {
      // Not a record this host keeps (a kind the product's field maps do not sync, no id): the core says why.
      const d = c.core.decideInbound(e.event, null, now);
      await this.#logDecision(e.customerId, null, now, { direction: "inbound", action: d.action.tag, reason: d.reason, detail: { origin: e.origin, dedupeKey: e.dedupeKey, product, eventType } });
      await this.#count(e.customerId, events);
      await this.store.inboxComplete(e.id, owner, now);
      return;
    }
    const found = await this.store.findRecord(e.customerId, { product, kind, virtuousId });
    const recordKey = found?.recordKey ?? productRecordKey(product, kind, virtuousId);
    const row = await this.store.lockRecord(e.customerId, recordKey, { owner, nowMs: now, leaseMs: this.o.leaseMs, create: found ? undefined : { product, kind, virtuousId } });
    if (!row) {
      await this.store.inboxRelease(e.id, owner, { dueMs: now + this.o.busyDelayMs + (randomU32() % this.o.busyDelayMs), countAttempt: false });
      return;
    }
    try {
      const work = await this.#productInbound(c, row, e, now, product, batch);
      if (work.fanOut) await this.#fanOut(e.customerId, kind, work.partnerId, now);
      if (work.review || (work.state == null && row.state == null)) {
        // Nothing to keep for the link (an ambiguous match, an event that stores no state): the row made for it goes.
        await this.store.dropStub(e.customerId, row.recordKey, owner, row.version);
        if (work.review) await this.store.addReview(e.customerId, "product-link", work.review, now);
        for (const entry of work.log) await this.#logDecision(e.customerId, row.recordKey, now, entry);
        await this.#count(e.customerId, { ...events, ...work.counts });
        await this.store.inboxComplete(e.id, owner, now);
        return;
      }
      await this.#commit({ ...work, customerId: e.customerId, recordKey: row.recordKey, owner, version: row.version, changeSeq: row.changeSeq, inbox: { id: e.id, owner }, nowMs: now });
      await this.#count(e.customerId, { ...events, ...work.counts });
      if (work.fanOut) this.kick();
    } catch (err) {
      await this.store.unlockRecord(e.customerId, row.recordKey, owner, row.version).catch(() => {});
      throw err;
    }
  }

  /** The inbound unit of work on a locked Raise or Volunteer link; returns what to commit (or `review`). */
  async #productInbound(c, row, entry, now, product, batch) {
    const work = { state: row.state, dirty: false, recheckMs: undefined, log: [], outbox: [], counts: {}, partnerId: row.partnerId };
    const noted = (how, fields, partnerId = work.partnerId) => this.#noteWrite(batch, c.customerId, row.kind, { how, partnerId, fields });
    const retry = (entry.attempts ?? 1) > 1 || (row.state == null && row.version > 1);
    const event = entry.event;
    const d = c.core.decideInbound(event, row.state ?? null, now);
    const tag = d.action.tag;
    const val = d.action.val;
    work.log.push({
      direction: "inbound", action: tag, reason: d.reason,
      detail: {
        origin: entry.origin, dedupeKey: entry.dedupeKey, product, eventType: event.productEventType ?? event.rawEventType, modifiedDateTimeUtc: event.modifiedDateTimeUtc,
        changedFields: d.inputs?.changedFields, fields: tag === "apply" || tag === "create" ? Object.keys(val.fields) : undefined,
      },
    });
    if (tag === "conflict") work.counts.conflicts = 1;
    const base = { customerId: c.customerId, product, kind: row.kind, recordKey: row.recordKey, virtuousId: row.virtuousId };
    const update = async (fields, how = "change") => {
      if (!work.partnerId || !fields || !Object.keys(fields).length) return;
      await this.partner.apply({ ...base, action: "update", partnerId: work.partnerId, fields });
      noted(how, fields);
      work.counts.applied = 1;
      work.fanOut = true;
    };
    if (tag === "create" && !work.partnerId) {
      // A person's choice for this link (resolveReview) stands in for the match.
      const chosen = await this.store.kvGet(c.customerId, `product-link:${row.recordKey}`);
      const m = chosen?.partnerId != null ? await this.#chosenLink(c, row, product, chosen) : await this.#matchLink(c, row, product, val.fields, batch);
      if (m.review) {
        // The event is kept with the item, so a person's resolution carries the link out at once (resolveReview).
        work.review = {
          product, kind: row.kind, virtuousId: row.virtuousId, recordKey: row.recordKey, dedupeKey: entry.dedupeKey, origin: entry.origin,
          reason: m.reason, tier: m.tier, partnerIds: m.partnerIds, fields: val.fields, event,
        };
        work.log.push({ direction: "inbound", action: "review", reason: m.reason, detail: { partnerIds: m.partnerIds, tier: m.tier } });
        work.counts.productReviews = 1;
        return work;
      }
      if (m.partnerId) {
        // The partner record exists: link to it and fill in only what it lacks. A value it holds that differs is kept
        // (never overwritten on a match); the link's base holds the product's values, so their next change applies.
        work.partnerId = m.partnerId;
        const cur = await this.partner.read({ customerId: c.customerId, kind: row.kind, partnerId: m.partnerId, recordKey: row.recordKey });
        const { fill, kept } = missingFields(cur, val.fields);
        work.log.push({ direction: "inbound", action: "link", reason: m.reason, detail: { partnerId: m.partnerId, evidence: m.evidence, filled: Object.keys(fill), kept } });
        work.counts.linked = 1;
        await update(fill, "fill");
      } else {
        // The partner must make this idempotent on (product, virtuousId): after a crash before commit it is asked again.
        const owner = await this.#ownerOf(c, row, product, event);
        const r = await this.partner.apply({ ...base, action: "create", fields: val.fields, ...(owner ? { owner } : {}) });
        if (!r?.partnerId) throw new HostError("partner-port", "apply(create) must return {partnerId}");
        work.partnerId = String(r.partnerId);
        work.counts.applied = 1;
        if (r.existed === true || retry) await this.partner.apply({ ...base, action: "update", partnerId: work.partnerId, fields: val.fields });
        noted(r.existed === true || retry ? "change" : "create", val.fields);
      }
    } else if (tag === "create" || tag === "apply") await update(val.fields);
    else if (tag === "confirm" || tag === "conflict") await update(val.apply);
    const next = d.record ? structuredClone(d.record) : work.state;
    if (next && work.partnerId && !next.partnerId) next.partnerId = work.partnerId;
    work.state = next ?? null;
    return work;
  }

  /**
   * Which partner record a new Raise or Volunteer contact link belongs to: the core's InitialMatcher (the matching of
   * the initial match: our reference, then email, then name with postal code or phone) over the partner's records
   * (`partner.list`, which may narrow them to those sharing a value with `match`; a port without it, or answering
   * null, cannot match: the link waits in the review queue) and the link's values.
   * `{partnerId, reason: tier, evidence}` for one match; `{review, reason, partnerIds}` for an ambiguous one, or one
   * whose partner record already has a link of this product; `{}` for none (other kinds are never matched: they are
   * records of their own).
   */
  async #matchLink(c, row, product, fields, batch) {
    if (row.kind !== "contact") return {};
    const mine = matchRecordFromFields(`${product}:${row.virtuousId}`, fields);
    if (!mine.emails.length && !mine.phones.length && !mine.names.length) return {};
    if (typeof this.partner.list !== "function") return { review: true, reason: "no-partner-list" };
    const records = await this.#partnerRecords(c.customerId, row.kind, product, mine, batch);
    if (records == null) return { review: true, reason: "no-partner-list" }; // the port cannot list
    const matcher = new InitialMatcher();
    try {
      for (let i = 0; i < records.length; i += 500) matcher.addPartnerChunk(records.slice(i, i + 500));
      matcher.addVirtuousChunk([mine]);
      const plan = matcher.finish();
      const pair = plan.pairs.find((p) => p.virtuousId === mine.id);
      if (pair) {
        const links = await this.store.partnerLinks(c.customerId, { kind: row.kind, partnerId: pair.partnerId });
        if (links.some((l) => l.product === product && l.recordKey !== row.recordKey && l.state != null))
          return { review: true, reason: "partner-record-already-linked", partnerIds: [pair.partnerId], tier: pair.tier };
        return { partnerId: pair.partnerId, reason: pair.tier, evidence: pair.evidence.map((x) => x.signal) };
      }
      const amb = plan.review.find((r) => r.virtuousIds.includes(mine.id));
      if (amb) return { review: true, reason: "ambiguous-match", partnerIds: amb.partnerIds, tier: amb.tier };
      return {};
    } finally {
      matcher.free();
    }
  }

  /**
   * Whose record a new Volunteer participation is, by its `user_id` (documented in VOMO's payloads and rows) and that
   * user's Volunteer link: `{product, kind: "contact", virtuousId, partnerId}` (`partnerId` null while the user's link
   * is not known yet), so the partner attaches the participation to the right person. Participations and Raise gifts are
   * never matched to existing partner records: they are made in VOMO and Raise, so the partner has no record of them to
   * match (and a Raise gift names its donor by no documented key).
   */
  async #ownerOf(c, row, product, event) {
    if (product !== "volunteer" || row.kind !== "participation") return null;
    const uid = event?.resource?.user_id;
    if (uid == null || (typeof uid !== "string" && typeof uid !== "number") || String(uid).trim() === "") return null;
    const user = await this.store.findRecord(c.customerId, { product, kind: "contact", virtuousId: String(uid).trim() });
    return { product, kind: "contact", virtuousId: String(uid).trim(), partnerId: user?.state != null && user.partnerId != null ? user.partnerId : null };
  }

  /**
   * A link a person resolved (`{partnerId}` or `{partnerId: "new"}`, kv `product-link:<recordKey>`): "new" creates the
   * partner record; a partner record is linked unless it has meanwhile got another link of this product (then the
   * review queue again, never two links of one product on one partner record).
   */
  async #chosenLink(c, row, product, chosen) {
    if (chosen.partnerId === "new") return {};
    const partnerId = String(chosen.partnerId);
    const links = await this.store.partnerLinks(c.customerId, { kind: row.kind, partnerId });
    if (links.some((l) => l.product === product && l.recordKey !== row.recordKey && l.state != null))
      return { review: true, reason: "partner-record-already-linked", partnerIds: [partnerId] };
    return { partnerId, reason: "review-resolved", evidence: [`review:${chosen.reviewId}`] };
  }

  /**
   * A person resolves a `product-link` review item (an ambiguous match, a partner record already linked, a port that
   * cannot list): `partnerId` names the partner record the Raise or Volunteer link belongs to, or "new" for a new
   * partner record. The choice is kept for the link (kv `product-link:<recordKey>`), the item is closed, and the
   * event it held goes back into the inbox (origin `review`), so the link proceeds at once: linked (filling in only
   * what the partner record lacks) or created. Items filed before events were kept with them (`refed: false`) proceed
   * with the link's next event.
   */
  async resolveReview(customerId, reviewId, { partnerId } = {}) {
    await this.#mustCustomer(customerId);
    const id = String(reviewId);
    const open = (await this.store.listReview(customerId)).find((r) => String(r.id) === id);
    if (!open) throw new HostError("unknown-review", id);
    if (open.kind !== "product-link") throw new HostError("invalid-argument", `review item ${id} is ${open.kind}: only product-link items are resolved here`);
    if (typeof partnerId !== "string" || partnerId.trim() === "") throw new HostError("invalid-argument", 'partnerId must be a partner record id or "new"');
    const item = open.item;
    const now = this.now();
    if (partnerId !== "new") {
      const cur = await this.partner.read({ customerId, kind: item.kind, partnerId, recordKey: item.recordKey });
      if (!cur) throw new HostError("invalid-argument", `partner record ${partnerId} does not exist`);
      const links = await this.store.partnerLinks(customerId, { kind: item.kind, partnerId });
      if (links.some((l) => l.product === item.product && l.recordKey !== item.recordKey && l.state != null))
        throw new HostError("invalid-argument", `partner record ${partnerId} already has a ${item.product} link`);
    }
    await this.store.kvPut(customerId, `product-link:${item.recordKey}`, { partnerId, reviewId: id, atMs: now });
    const closed = await this.store.resolveReview(customerId, id, { partnerId }, now);
    if (!closed) throw new HostError("unknown-review", id); // resolved by someone else meanwhile
    let refed = false;
    if (item.event) {
      const r = await this.store.inboxInsert({ customerId, dedupeKey: `review:${id}:${item.dedupeKey}`, receivedMs: now, origin: "review", event: item.event });
      refed = r.inserted === true;
      this.kick();
    }
    await this.#logDecision(customerId, item.recordKey, now, { direction: "resolution", action: "resolve-review", reason: "review-resolved", detail: { reviewId: id, partnerId, product: item.product, refed } });
    return { reviewId: id, recordKey: item.recordKey, partnerId, refed };
  }

  /**
   * The partner's records of a kind as the matcher reads them (`partner.list`, every page), or null when the port
   * cannot list. Alone (no `batch.lists`), narrowed by `match`. In a pass of several entries, listed once without
   * `match` and kept for the pass, so a burst of new links costs one list; what the pass itself writes to the
   * partner's records is folded in (#noteWrite).
   */
  async #partnerRecords(customerId, kind, product, mine, batch) {
    const lists = batch?.lists;
    const key = `${customerId}\u0000${kind}\u0000${product}`;
    if (lists?.has(key)) return lists.get(key);
    const records = [];
    let cursor;
    do {
      const page = await this.partner.list({ customerId, kind, cursor, limit: 500, product, ...(lists ? {} : { match: mine }) });
      if (page == null && cursor == null) {
        lists?.set(key, null);
        return null;
      }
      for (const r of page?.records ?? []) {
        const rec = { ...r, id: String(r.partnerId ?? r.id) };
        delete rec.partnerId;
        records.push(rec);
      }
      cursor = page?.cursor;
    } while (cursor != null);
    lists?.set(key, records);
    return records;
  }

  /**
   * Keeps the pass's listed records true to what the pass wrote to the partner (`how`): a record it created is added
   * with its values; values filled in on a match (only where the partner record had none, so nothing it held is
   * replaced) are added to the record's emails, phones and postal codes; anything else (an overwrite, a name, a
   * delete, a remap, a record not in the list) drops the kind's lists, and the next match lists again.
   */
  #noteWrite(batch, customerId, kind, { how, partnerId, fields = {} }) {
    const lists = batch?.lists;
    if (!lists || partnerId == null) return;
    const prefix = `${customerId}\u0000${kind}\u0000`;
    const add = matchRecordFromFields(String(partnerId), fields);
    for (const [key, records] of [...lists]) {
      if (!key.startsWith(prefix) || records == null) continue;
      if (how === "create") {
        records.push(structuredClone(add));
        continue;
      }
      const r = how === "fill" && !["name", "firstName", "lastName"].some((f) => Object.hasOwn(fields, f)) ? records.find((x) => x.id === String(partnerId)) : null;
      if (!r) {
        lists.delete(key);
        continue;
      }
      for (const f of ["emails", "phones", "postalCodes"]) r[f] = [...new Set([...(Array.isArray(r[f]) ? r[f] : []), ...add[f]])];
    }
  }

  /**
   * A CRM+ contact Virtuous made from a Raise donor or a Volunteer user (it copies them into CRM+ itself) arrives as a
   * CRM+ create, while its partner record may already exist, known through that Raise or Volunteer link only. It is
   * matched as a new product link is (#matchLink); one match whose partner record has Raise or Volunteer links and no
   * CRM+ link takes the CRM+ link (filling in only what it lacks), so the person stays one partner record. Anything
   * else is created as before. Only customers with product links pay for reading the partner's records.
   */
  async #joinProductRecord(c, row, fields, work) {
    if (row.kind !== "contact" || (row.product ?? "crm") !== "crm" || !row.virtuousId) return false;
    if (typeof this.store.hasProductLinks !== "function" || !(await this.store.hasProductLinks(c.customerId, row.kind))) return false;
    if (typeof this.partner.list !== "function") return false;
    const m = await this.#matchLink(c, row, "crm", fields, work.batch);
    if (!m.partnerId) return false;
    const links = await this.store.partnerLinks(c.customerId, { kind: row.kind, partnerId: m.partnerId });
    if (!links.some((l) => (l.product ?? "crm") !== "crm" && l.state != null)) return false;
    const cur = await this.partner.read({ customerId: c.customerId, kind: row.kind, partnerId: m.partnerId, recordKey: row.recordKey });
    if (!cur) return false;
    const { fill, kept } = missingFields(cur, fields);
    work.partnerId = m.partnerId;
    work.log.push({ direction: "inbound", action: "link", reason: m.reason, detail: { partnerId: m.partnerId, evidence: m.evidence, filled: Object.keys(fill), kept } });
    work.counts.linked = 1;
    // The update names the CRM+ id, so the partner records the link (as a create's would).
    await this.partner.apply({ customerId: c.customerId, kind: row.kind, recordKey: row.recordKey, virtuousId: row.virtuousId, action: "update", partnerId: m.partnerId, fields: fill });
    this.#noteWrite(work.batch, c.customerId, row.kind, { how: "fill", partnerId: m.partnerId, fields: fill });
    work.counts.applied = 1;
    return true;
  }

  /**
   * Values applied to a partner record from a Raise or Volunteer link reach Virtuous through the partner record's CRM+
   * links only: each is marked dirty, and the outbound path (decideOutbound) writes what changed. Raise and Volunteer
   * links are never written (Virtuous carries their data into CRM+ itself).
   */
  async #fanOut(customerId, kind, partnerId, now) {
    if (partnerId == null || !SYNCED.has(kind)) return;
    for (const l of await this.store.partnerLinks(customerId, { kind, partnerId }))
      if ((l.product ?? "crm") === "crm" && l.state != null) await this.store.markDirty(customerId, { kind, partnerId, recordKey: l.recordKey }, now);
  }

  /** The inbound unit of work on a locked record; returns what to commit. */
  async #inbound(c, row, entry, now, { redirected = false, batch } = {}) {
    const work = { state: row.state, dirty: row.dirty, recheckMs: row.recheckMs, log: [], outbox: [], counts: {}, partnerId: row.partnerId, batch };
    // An earlier unit of work on this record may have applied a create and lost its commit (a crash, a store
    // error): this delivery's earlier attempt, or another delivery's (the row was locked before and holds no state).
    work.retry = (entry.attempts ?? 1) > 1 || (row.state == null && row.version > 1);
    // Host protocol 2: partner edits the core has not seen yet go first, so it knows the held values.
    if (row.dirty && row.partnerId) await this.#outboundStep(c, row, work, now);
    let event = entry.event;
    let d = c.core.decideInbound(event, work.state ?? null, now);
    ({ event, d } = await this.fetchForInbound(c, work, event, d, now, { redirected }));
    if (d.action.tag === "verify-redirect") {
      work.redirect = event;
      return work;
    }
    const tag = d.action.tag;
    work.log.push({
      direction: "inbound",
      action: tag,
      reason: d.reason,
      detail: {
        origin: entry.origin, dedupeKey: entry.dedupeKey, eventType: event.eventType, modifiedDateTimeUtc: event.modifiedDateTimeUtc,
        changedFields: d.inputs?.changedFields, reassertFields: d.reassertFields,
        fields: tag === "apply" || tag === "create" ? Object.keys(d.action.val.fields) : undefined,
      },
    });
    if (d.reason === "echo" || d.reason === "confirmed") work.counts.echoes = 1;
    if (tag === "conflict") work.counts.conflicts = 1;
    // Host protocol 1: store the decision's record whenever present (tombstones too).
    const next = d.record ? structuredClone(d.record) : work.state;
    if (next && work.partnerId && !next.partnerId) next.partnerId = work.partnerId;
    await this.#applyInbound(c, row, d, next, work, now);
    work.state = next;
    if (tag === "confirm") work.outbox.push({ drop: true }); // host protocol 3: never resend a confirmed write
    // Host protocol 4: a follow-up or a re-assertion asks for decideOutbound again.
    const again = (tag === "confirm" && d.action.val.followUp) || (d.reassertFields?.length ?? 0) > 0;
    if (again && work.partnerId && !next?.tombstone) await this.#outboundStep(c, row, work, now);
    return work;
  }

  async #applyInbound(c, row, d, next, work, now) {
    const base = { customerId: c.customerId, kind: row.kind, recordKey: row.recordKey, virtuousId: next?.virtuousId ?? row.virtuousId };
    const tag = d.action.tag;
    const val = d.action.val;
    const noted = (how, fields) => this.#noteWrite(work.batch, c.customerId, row.kind, { how, partnerId: work.partnerId, fields });
    const update = async (fields) => {
      if (!work.partnerId || !fields || !Object.keys(fields).length) return;
      await this.partner.apply({ ...base, action: "update", partnerId: work.partnerId, fields });
      noted("change", fields);
      work.counts.applied = 1;
    };
    if (tag === "create" && !work.partnerId && (await this.#joinProductRecord(c, row, val.fields, work))) {
      if (next) next.partnerId = work.partnerId;
    } else if (tag === "create") {
      // The partner must make this idempotent on `virtuousId`: after a crash before commit it is asked again.
      const r = await this.partner.apply({ ...base, action: "create", fields: val.fields });
      if (!r?.partnerId) throw new HostError("partner-port", "apply(create) must return {partnerId}");
      work.partnerId = String(r.partnerId);
      if (next) next.partnerId = work.partnerId;
      work.counts.applied = 1;
      // The partner already held the record (`existed`, or this is a retry, for ports that do not say): made by a
      // lost attempt, with that attempt's values, which may be older than these (a verified create reads Virtuous
      // again). Bring it to these values, or the state would say the partner holds them and the older ones would
      // later be pushed back to Virtuous as a partner change.
      if (r.existed === true || work.retry) await this.partner.apply({ ...base, action: "update", partnerId: work.partnerId, fields: val.fields });
      noted(r.existed === true || work.retry ? "change" : "create", val.fields);
    } else if (tag === "apply") await update(val.fields);
    else if (tag === "confirm") await update(val.apply);
    else if (tag === "conflict") await update(val.apply);
    else if (tag === "delete" && work.partnerId) {
      await this.partner.apply({ ...base, action: "delete", partnerId: work.partnerId });
      noted("change");
    } else if (tag === "remap" && work.partnerId) {
      noted("change");
      const survivor = await this.store.findRecord(c.customerId, { kind: row.kind, virtuousId: val.survivorId });
      await this.partner.apply({ ...base, action: "remap", partnerId: work.partnerId, survivorVirtuousId: val.survivorId, survivorPartnerId: survivor?.partnerId });
      work.counts.remaps = 1;
    }
  }

  // --- outbound (partner changes) ------------------------------------------------------------------------------
  /** The partner's change hook calls this: the record is marked dirty (durably) and processed by a worker. */
  async reportPartnerChange({ customerId, kind, partnerId }) {
    if (!SYNCED.has(kind)) throw new HostError("invalid-argument", `kind ${kind} is not synced`);
    const key = await this.store.markDirty(customerId, { kind, partnerId: String(partnerId) }, this.now());
    this.kick();
    return key;
  }

  /** Runs the outbound path for up to `limit` dirty records whose recheck time has come. */
  async processPartnerChanges({ limit = 25 } = {}) {
    const due = await this.store.dueRecords({ nowMs: this.now(), limit });
    let n = 0;
    for (const r of due) n += await this.#outboundRecord(r);
    return n;
  }

  /** The outbound unit of work on one record (`{customerId, recordKey}`): 1 when it committed, else 0. */
  async #outboundRecord(r) {
    const now = this.now();
    const row = await this.store.lockRecord(r.customerId, r.recordKey, { owner: this.workerId, nowMs: now, leaseMs: this.o.leaseMs });
    if (!row) return 0;
    try {
      const c = await this.#mustCustomer(r.customerId);
      if (await this.#productLinkOnly(r.customerId, row, now)) return 0;
      const work = { state: row.state, dirty: row.dirty, recheckMs: row.recheckMs, log: [], outbox: [], counts: {}, partnerId: row.partnerId };
      await this.#outboundStep(c, row, work, now);
      if (work.fold) {
        // The stub is a record stored under another key: drop it and let that record look at the change.
        await this.store.dropStub(r.customerId, row.recordKey, this.workerId, row.version);
        await this.store.markDirty(r.customerId, { kind: row.kind, partnerId: row.partnerId }, now);
        return 0;
      }
      await this.#commit({ ...work, customerId: r.customerId, recordKey: row.recordKey, owner: this.workerId, version: row.version, changeSeq: row.changeSeq, nowMs: now });
      await this.#count(r.customerId, work.counts);
      return 1;
    } catch (err) {
      this.log("outbound-failed", { customerId: r.customerId, recordKey: r.recordKey, error: String(err?.message ?? err) });
      // Keep it dirty and look again later (the unlock leaves dirty/recheck as they were: move the recheck on).
      await this.store.unlockRecord(r.customerId, row.recordKey, this.workerId, row.version).catch(() => {});
      await this.store.markDirty(r.customerId, { kind: row.kind, partnerId: row.partnerId }, now + this.#backoff(2)).catch(() => {});
      return 0;
    }
  }

  /**
   * A change the partner reported for a partner record the host knows only through Raise or Volunteer links (no CRM+
   * link yet): never submitted to CRM+ as a new record, since Virtuous carries those products' records into CRM+
   * itself (a second contact would follow). The stub goes; the change reaches CRM+ once the CRM+ link exists. Also
   * clears a dirty mark on a product link (those are never written). True when the row was settled here.
   */
  async #productLinkOnly(customerId, row, now) {
    if ((row.product ?? "crm") !== "crm") {
      await this.#commit({ customerId: customerId, recordKey: row.recordKey, owner: this.workerId, version: row.version, changeSeq: row.changeSeq, state: row.state, partnerId: row.partnerId, dirty: false, log: [], nowMs: now });
      return true;
    }
    if (row.state != null || row.virtuousId || row.partnerId == null) return false;
    const links = await this.store.partnerLinks(customerId, { kind: row.kind, partnerId: row.partnerId });
    const other = links.find((l) => (l.product ?? "crm") !== "crm" && l.state != null);
    if (!other) return false;
    await this.store.dropStub(customerId, row.recordKey, this.workerId, row.version);
    await this.#logDecision(customerId, other.recordKey, now, { direction: "outbound", action: "nothing", reason: "no-crm-link", detail: { partnerId: row.partnerId, product: other.product } });
    return true;
  }

  /** partner.read → decideOutbound (→ read-before-write) → the outbox change; updates `work` in place. */
  async #outboundStep(c, row, work, now) {
    const partnerId = work.partnerId;
    // A full-record PUT of ours got a 2xx and is not reported yet (the submitter stored it on the record): this
    // decision reports it (`written`), and the commit clears it, whatever the decision.
    const written = row.written ?? undefined;
    if (written) work.reported = written;
    // A full-record PUT of the record still being sent: decide nothing until its send has ended (the submitter makes
    // the record due then). The core's full-record protocol relies on it: a record fetched for a new write is read
    // after every older full PUT ended, so one it shows nothing of never landed (docs/sync.md). Deciding meanwhile,
    // the fetch could miss a PUT about to land and the new write would take it for failed.
    const sending = written ? null : await this.store.getOutbox(c.customerId, row.recordKey);
    if (sending?.status === "in-flight" && isFullRecordPut(c.settings, sending.request)) {
      work.log.push({ direction: "outbound", action: "nothing", reason: "write-in-flight", detail: { method: sending.request.method, path: sending.request.path } });
      Object.assign(work, { dirty: true, recheckMs: Math.max(now + 50, sending.leaseUntilMs ?? now + this.o.leaseMs) });
      return;
    }
    const current = await this.partner.read({ customerId: c.customerId, kind: row.kind, partnerId, recordKey: row.recordKey });
    if (!current) {
      // The partner record is gone: nothing to write (partner-side deletes are not synced to Virtuous).
      work.log.push({ direction: "outbound", action: "nothing", reason: "partner-record-missing" });
      Object.assign(work, { dirty: false, recheckMs: undefined });
      return;
    }
    if (work.state == null && !row.virtuousId) {
      // A partner record the host has not linked yet. It may be one the host is creating from a Virtuous record
      // right now (the partner's hook reported it before the create was committed): never submit it as new then.
      if (await this.store.createInProgress(c.customerId, row.kind, now)) {
        work.log.push({ direction: "outbound", action: "nothing", reason: "create-in-progress" });
        Object.assign(work, { dirty: true, recheckMs: now + 250 });
        return;
      }
      const linked = current.virtuousId != null ? await this.store.findRecord(c.customerId, { kind: row.kind, virtuousId: String(current.virtuousId) }) : null;
      if (linked && linked.recordKey !== row.recordKey) {
        work.fold = linked.recordKey;
        work.log.push({ direction: "outbound", action: "nothing", reason: "linked-elsewhere", detail: { recordKey: linked.recordKey } });
        return;
      }
    }
    const change = {
      customerId: c.customerId,
      kind: row.kind,
      partnerId,
      modifiedMs: current.modifiedMs ?? now,
      fields: current.fields,
      ...(current.extra ? { extra: current.extra } : {}),
      ...(current.externalId ? { externalId: current.externalId } : {}),
      ...(written ? { written } : {}),
    };
    let d = c.core.decideOutbound(work.state ?? null, change, now);
    d = await this.readBeforeWrite(c, row, work, change, d, now);
    if (d.record) work.state = structuredClone(d.record);
    if (work.state && !work.state.partnerId) work.state.partnerId = partnerId;
    const tag = d.action.tag;
    const held = d.suppressedFields ?? [];
    work.log.push({
      direction: "outbound",
      action: tag,
      reason: d.reason,
      detail: {
        changedFields: d.inputs?.changedFields, suppressedFields: held.length ? held : undefined, retryAtMs: d.retryAtMs,
        request: tag === "submit" ? { method: d.action.val.method, path: d.action.val.path } : undefined,
        written: written ? { method: written.method, path: written.path } : undefined,
      },
    });
    if (tag === "submit") {
      work.outbox.push({ put: d.action.val });
      work.counts.queued = (work.counts.queued ?? 0) + 1;
    }
    // Host protocol 4: held fields (cooldown, awaiting an echo, coalesced) mean unsent partner values: look again at
    // retryAtMs, or when a confirmation asks (no time: the record stays dirty and the next inbound event runs it).
    if (tag === "suppress" || held.length) Object.assign(work, { dirty: true, recheckMs: d.retryAtMs ?? undefined });
    else Object.assign(work, { dirty: false, recheckMs: undefined });
  }

  /**
   * GET-then-PUT, the one place the core's read-before-write contract is carried out. `fetch`: GET the linked record
   * and decide again with `change.current` set to it. `apply-inbound`: the fetched record showed a Virtuous change the
   * state did not know: apply that inbound decision on the partner side, keep its record, re-read the partner and
   * decide again with the same `current`. Any other decision is returned as it is.
   */
  async readBeforeWrite(c, row, work, change, d, now) {
    for (let round = 0; round < 4; round++) {
      const tag = d.action?.tag;
      if (tag === "fetch") {
        const path = d.action.val.path;
        const res = await this.#send(c, { method: "GET", path }, { priority: "live" });
        const cls = classifyResponse({ status: res.status, body: res.text, retryAfter: res.headers.retryAfter, context: "read", nowMs: this.now() });
        if (cls.action !== "proceed" || !res.json || typeof res.json !== "object") throw new HostError("read-before-write", `GET ${path}: ${cls.reason}`);
        work.log.push({ direction: "outbound", action: "fetch", reason: d.reason, detail: { path } });
        change = { ...change, current: res.json };
        d = c.core.decideOutbound(work.state ?? null, change, now);
      } else if (tag === "apply-inbound") {
        const inbound = d.action.val;
        work.log.push({ direction: "inbound", action: inbound.action.tag, reason: inbound.reason, detail: { origin: "fetched", changedFields: inbound.inputs?.changedFields } });
        if (inbound.action.tag === "conflict") work.counts.conflicts = 1;
        const next = inbound.record ? structuredClone(inbound.record) : work.state;
        if (next && work.partnerId && !next.partnerId) next.partnerId = work.partnerId;
        await this.#applyInbound(c, row, inbound, next, work, now);
        work.state = next;
        const cur = await this.partner.read({ customerId: c.customerId, kind: row.kind, partnerId: work.partnerId, recordKey: row.recordKey });
        if (!cur) return { ...d, action: { tag: "nothing" }, suppressedFields: [] };
        change = { ...change, fields: cur.fields, modifiedMs: cur.modifiedMs ?? now };
        d = c.core.decideOutbound(work.state ?? null, change, now);
      } else return d;
    }
    throw new HostError("read-before-write", "the core asked to read again after four reads");
  }

  /**
   * Inbound reads the core may ask for: `fetch` (an undated event: decide again with the fetched record as its
   * resource) and `verify` (an unstamped create that may be the batch's record of ours: the fetched REST record
   * carries the stamp; when it names a record stored under another key, the caller redirects there).
   */
  async fetchForInbound(c, work, event, d, now, { redirected = false } = {}) {
    for (let round = 0; round < 3; round++) {
      const tag = d.action?.tag;
      if (tag !== "fetch" && tag !== "verify") return { event, d };
      const req = tag === "fetch" ? d.action.val : d.action.val.lookup;
      const res = await this.#send(c, { method: "GET", path: req.path }, { priority: "live" });
      if (res.status === 404) return { event, d: { ...d, action: { tag: "ignore" }, reason: d.reason } };
      if (res.status !== 200 || !res.json || typeof res.json !== "object") throw new HostError("read-before-write", `GET ${req.path}: status ${res.status}`);
      work.log.push({ direction: "inbound", action: tag, reason: d.reason, detail: { path: req.path } });
      event = { ...event, resource: res.json, modifiedDateTimeUtc: res.json.modifiedDateTimeUtc ?? event.modifiedDateTimeUtc };
      if (tag === "verify" && !redirected && work.state == null && lookupKeys(c.core, event).refs.length)
        return { event, d: { ...d, action: { tag: "verify-redirect" } } };
      d = c.core.decideInbound(event, work.state ?? null, now);
    }
    throw new HostError("read-before-write", "the core asked to read again after three reads");
  }

  // --- submitting ----------------------------------------------------------------------------------------------
  /** Leases and sends up to `limit` due outbox entries; returns how many were leased. */
  async submitDue({ limit = 10 } = {}) {
    const entries = await this.store.leaseOutbox({ owner: this.workerId, nowMs: this.now(), leaseMs: this.o.leaseMs, limit });
    for (const e of entries) await this.#submitOne(e);
    return entries.length;
  }

  async #submitOne(e) {
    const owner = this.workerId;
    const c = await this.customer(e.customerId);
    const now = this.now();
    const finish = (outcome) => this.store.finishOutbox(e.customerId, e.recordKey, owner, outcome, this.now());
    if (!c?.client) return finish({ failed: true, error: "no Virtuous connection configured" });
    const req = e.request;
    const context = req.method === "POST" ? "transaction-submit" : req.method === "PUT" ? "update" : req.method === "DELETE" ? "delete" : "read";
    // A full-record PUT is a snapshot of the record as fetched: never sent again later (docs/sync.md, "The
    // full-record protocol"). Whenever it is not known to have landed, the record is decided again instead.
    const full = isFullRecordPut(c.settings, req);
    // The attempts carry over to the record's next write (store contract, `retried`): it backs off further each time.
    const redecide = async (retryAtMs, reason, status, countAttempt = true) => {
      await this.#logDecision(e.customerId, e.recordKey, this.now(), { direction: "submit", action: "redecide", reason, detail: { method: req.method, path: req.path, status: status ?? null, attempt: e.attempts + 1 } });
      return finish({ redecide: true, retryAtMs, error: reason, status, countAttempt });
    };
    if (full && e.leasedBefore) return redecide(now, "lease-lapsed"); // sent before? unknown: never resent
    const gate = await this.#budgetDecide(c, { priority: "live", now });
    if (!gate.go) {
      await this.#count(e.customerId, { budgetWaits: 1 });
      if (full) return redecide(now + gate.waitMs, `budget: ${gate.reason}`, undefined, false); // the snapshot would age meanwhile
      return finish({ retryAtMs: now + gate.waitMs, error: `budget: ${gate.reason}`, countAttempt: false });
    }
    const res = await this.#sendMeasured(c, req);
    const cls = classifyResponse({ status: res.status, body: res.text, retryAfter: res.headers.retryAfter, context, createdAtMs: e.queuedMs, nowMs: this.now() });
    const attempt = e.attempts + 1;
    await this.#logDecision(e.customerId, e.recordKey, this.now(), {
      direction: "submit", action: cls.action, reason: cls.reason, detail: { method: req.method, path: req.path, status: res.status ?? null, attempt },
    });
    switch (cls.action) {
      case "proceed":
      case "look-up-existing": // 409 on a create: it exists; reconciliation's lookup links it
        await this.#count(e.customerId, { writes: 1 });
        if (full && cls.action === "proceed") {
          // Report the 2xx at once, before any record fetched after it is decided: stored on the record first (a
          // crash before the report loses nothing), then reported by the outbound unit of work on the record.
          const ok = await finish({ done: true, written: req });
          if (ok) await this.#outboundRecord({ customerId: e.customerId, recordKey: e.recordKey });
          return ok;
        }
        return finish({ done: true });
      case "wait-retry-after":
        await this.#count(e.customerId, { retries: 1, rateLimited: 1 });
        if (full) return redecide(this.now() + (cls.retryAfterMs ?? this.#backoff(attempt)) + (randomU32() % 250), cls.reason, res.status);
        return finish({ retryAtMs: this.now() + (cls.retryAfterMs ?? this.#backoff(attempt)) + (randomU32() % 250), error: cls.reason, status: res.status });
      case "retry-with-backoff":
      case "retry-after-delay":
      case "refetch-and-retry":
        await this.#count(e.customerId, { retries: 1 });
        // A timeout or a lost answer may have landed: the fresh fetch tells (the core confirms it, or writes again).
        if (full) return redecide(this.now() + this.#budgetBackoff(c, attempt), cls.reason, res.status);
        return finish({ retryAtMs: this.now() + this.#budgetBackoff(c, attempt), error: cls.reason, status: res.status });
      case "pause-and-reauthenticate":
        await this.store.kvPut(e.customerId, "alert", { code: "authentication", atMs: now, message: cls.message });
        await this.#count(e.customerId, { failedWrites: 1 });
        return finish({ failed: true, error: cls.reason, status: res.status });
      default:
        await this.#count(e.customerId, { failedWrites: 1 });
        return finish({ failed: true, error: `${cls.reason}${cls.message ? `: ${cls.message}` : ""}`, status: res.status });
    }
  }

  #budgetBackoff(c, attempt) {
    const b = new RateBudget(c.settings.budget ?? {});
    try {
      return b.backoffMs(attempt, randomU32());
    } finally {
      b.free();
    }
  }

  #loadBudget(c, state) {
    return state ? RateBudget.fromJSON(state) : new RateBudget(c.settings.budget ?? {});
  }

  /** Decides and, when it goes, spends one request from the customer's budget (one atomic store update). */
  async #budgetDecide(c, { priority, now, cost = 1 }) {
    return this.store.updateBudget(c.customerId, (state) => {
      const b = this.#loadBudget(c, state);
      try {
        const d = b.decide({ cost, priority, nowMs: now, random: randomU32() });
        if (d.go) b.spend(cost);
        return { state: b.toJSON(), result: d };
      } finally {
        b.free();
      }
    });
  }

  async #sendMeasured(c, req) {
    const res = await c.client.send(req);
    await this.store.updateBudget(c.customerId, (state) => {
      const b = this.#loadBudget(c, state);
      try {
        b.observe({ status: res.status, headers: res.headers, nowMs: this.now(), random: randomU32() });
        return { state: b.toJSON(), result: null };
      } finally {
        b.free();
      }
    });
    return res;
  }

  /** One request outside the outbox (queries, lookups, subscription calls): waits for the budget, then sends. */
  async #send(c, req, { priority = "background", maxWaitMs = 60_000 } = {}) {
    if (!c.client) throw new HostError("invalid-setting", "no Virtuous connection configured");
    for (;;) {
      const now = this.now();
      const gate = await this.#budgetDecide(c, { priority, now });
      if (gate.go) return this.#sendMeasured(c, req);
      if (gate.waitMs > maxWaitMs) throw new HostError("budget", `${gate.reason}: wait ${gate.waitMs} ms`);
      await new Promise((r) => setTimeout(r, gate.waitMs));
    }
  }

  // --- Volunteer (VOMO) polling (volunteer.mjs) -------------------------------------------------------------------
  /** One poll of the customer's Volunteer resources (`mode: "full"`: the daily reconciliation, with deletions). */
  async pollVolunteer(customerId, { mode = "incremental", process = true } = {}) {
    const summary = await this.volunteer.poll(customerId, { mode });
    if (process) await this.drain();
    return summary;
  }

  /** The customer's Raise webhook subscription (raise-subscription.mjs). */
  get raiseSubscription() {
    return (this._raiseSubscription ??= new RaiseSubscription(this));
  }

  /**
   * Registers or updates the customer's Raise webhook (`{notificationUrl, eventTypes, name?, format?}`) by the core's
   * plan: created when none delivers to the URL, else merged by GET-then-PUT (the customer's other types and settings
   * kept; no PUT when nothing changes). Needs `raiseApi` (or `raiseLogs`) and `receivers.raise`.
   */
  async setupRaiseSubscription(customerId, wanted) {
    return this.raiseSubscription.setup(customerId, wanted);
  }

  /** Reads every due customer's Raise delivery logs and stores their summary (products.mjs). */
  get raiseLogs() {
    return (this._raiseLogs ??= new RaiseLogReader(this));
  }

  get volunteer() {
    return (this._volunteer ??= new VolunteerPoller(this));
  }

  // --- reconciliation ------------------------------------------------------------------------------------------
  /**
   * One complete reconciliation run for a customer: every configured resource paged from its stored cursor, each
   * page planned against the stored records, missed changes fed to the inbox. The cursor is stored only after the
   * resource's last page; a failing run leaves it where it was. The run is `reconcileBegin` then `reconcileStep`
   * until done, one query page per step: the Worker host runs each step from its own Queue message.
   */
  async reconcile(customerId, { process = true } = {}) {
    let run = await this.reconcileBegin(customerId);
    while (!run.done) run = await this.reconcileStep(customerId, run);
    if (process) await this.drain();
    return run.summary;
  }

  /** A new run's state (plain JSON: the Worker keeps it in storage and in Queue messages); nothing is fetched yet. */
  async reconcileBegin(customerId, { runId = randomUUID() } = {}) {
    const c = await this.#mustCustomer(customerId);
    const resources = c.settings.reconcile?.resources ?? ["contact", "gift"];
    return { runId, resources, resourceIdx: 0, step: null, counts: null, done: false, summary: { startedMs: this.now(), resources: {}, fed: 0, review: 0, halted: false } };
  }

  /**
   * One page of a run: starts the next resource from its stored cursor when none is under way, sends that query
   * page, plans it and feeds what it found; after a resource's last page stores its cursor, and after the last
   * resource the run's summary. Returns the next state (the input is not changed). A step that throws changed no
   * cursor, and running the same step again feeds the same items under the same dedupe keys.
   */
  async reconcileStep(customerId, prev) {
    const c = await this.#mustCustomer(customerId);
    const r = c.settings.reconcile ?? {};
    const run = structuredClone(prev);
    if (run.done) return run;
    const summary = run.summary;
    let fetched = false; // one query page per step
    for (;;) {
      const resource = run.resources[run.resourceIdx];
      if (!run.step) {
        const cursor = await this.store.kvGet(customerId, `cursor:${resource}`);
        run.step = startQueryRun({ cursor, config: { resource, take: r.take ?? DEFAULTS.take, ...(r.overlapMs != null ? { overlapMs: r.overlapMs } : {}) } });
        run.counts = { pages: 0, rows: 0, items: {} };
      }
      if (run.step.request) {
        const q = run.step.request;
        const path = queryPath(resource, q.path, r);
        const res = await this.#send(c, { method: q.method, path, body: q.body, query: { skip: q.skip, take: q.take } });
        if (res.status !== 200) throw new HostError("query-failed", `${path}: status ${res.status}`);
        fetched = true;
        const rows = Array.isArray(res.json?.list) ? res.json.list : [];
        const step = acceptQueryPage({ run: run.step.run, rows });
        run.counts.pages++;
        const fresh = step.page.fresh.map((i) => rows[i]);
        run.counts.rows += fresh.length;
        const out = await this.#reconcilePage(c, resource, fresh, run.counts);
        summary.fed += out.fed;
        summary.review += out.review;
        if (out.halted) summary.halted = true;
        run.step = { run: step.run, request: step.request };
        if (run.step.request) return run;
      }
      const next = finishQueryRun(run.step.run);
      await this.store.kvPut(customerId, `cursor:${resource}`, next);
      summary.resources[resource] = { ...run.counts, highWaterMs: next.highWaterMs };
      run.step = null;
      run.counts = null;
      run.resourceIdx++;
      if (run.resourceIdx < run.resources.length) {
        if (fetched) return run;
        continue;
      }
      summary.finishedMs = this.now();
      const everyMs = reconcileInterval(r.everyMs);
      await this.store.kvPut(customerId, "reconcile", { lastCompleteMs: summary.finishedMs, nextDueMs: summary.finishedMs + everyMs, last: summary });
      // The newest runs, newest first (GET .../reconciliation).
      const runs = (await this.store.kvGet(customerId, "reconcile-runs")) ?? [];
      await this.store.kvPut(customerId, "reconcile-runs", [{ runId: run.runId, ...summary }, ...runs].slice(0, RECONCILE_RUNS_KEPT));
      run.done = true;
      return run;
    }
  }

  async #reconcilePage(c, resource, rows, counts) {
    const customerId = c.customerId;
    const now = this.now();
    const ids = rows.map((x) => (x?.id != null ? String(x.id) : null)).filter(Boolean);
    const refs = [];
    for (const row of rows) {
      const k = lookupKeys(c.core, eventFromRecord(resource, row ?? {}, false));
      refs.push(...k.refs);
    }
    // The stored records this page can concern: a store that can look them up by the page's keys does
    // (`reconcileCandidates`: the Worker's customer Object, which cannot hand out every record in one call);
    // otherwise every record of the kind, filtered here.
    const found = typeof this.store.reconcileCandidates === "function" ? await this.store.reconcileCandidates(customerId, { kind: resource, virtuousIds: ids, refs }) : null;
    const all = found ? found.records : await this.store.listRecords(customerId, { kind: resource });
    const total = found ? found.total : all.length;
    const stored = all
      .filter((x) => x.state && (x.product ?? "crm") === "crm") // reconciliation covers CRM+ links
      .filter((x) => ids.includes(x.virtuousId) || x.state.state === "partner-pending" || (x.state.externalRef && refs.some((r) => { const k = refKey(x.state.externalRef.source, x.state.externalRef.id); return k.source === r.source && k.id === r.id; })))
      // The stored sync state is the reconciliation input (one state per record); drift needs the partner's current
      // values too, which this host does not read per page: drift is settled by the webhook path and reviews.
      .map((x) => ({ record: x.state }));
    const rc = c.settings.reconcile ?? {};
    const plan = c.core.planReconciliation({
      config: {
        resource,
        // Contacts are paged through /Query/FullContact (full rows) unless reconcile.fullContacts is false.
        rowShape: resource === "contact" && rc.fullContacts !== false ? "full" : "abbreviated",
        totalRecords: rc.totalRecords ?? Math.max(total, rows.length),
        ...(rc.breaker ? { breaker: rc.breaker } : {}),
      },
      rows,
      stored,
      nowMs: now,
    });
    const out = { fed: 0, review: 0, halted: plan.halted };
    if (plan.halted) {
      await this.store.kvPut(customerId, "breaker", { atMs: now, resource, verdict: plan.breaker });
      await this.store.addReview(customerId, "mass-change-breaker", { resource, verdict: plan.breaker }, now);
      out.review++;
      return out;
    }
    for (const item of plan.items) {
      counts.items[item.kind] = (counts.items[item.kind] ?? 0) + 1;
      let event;
      if (item.kind === "missed-change") event = item.event;
      else if ((item.kind === "confirm-pending" || item.kind === "merged-away") && item.row != null && rows[item.row])
        event = eventFromRecord(resource, rows[item.row], item.kind === "confirm-pending");
      else if ((item.kind === "look-up-pending" || item.kind === "fetch-full-record") && item.request) {
        const res = await this.#send(c, item.request);
        if (res.status === 200 && res.json?.id != null) event = eventFromRecord(resource, res.json, item.kind === "look-up-pending");
        else await this.#logDecision(customerId, null, now, { direction: "reconcile", action: "look-up-pending", reason: `lookup-${res.status}`, detail: { path: item.request.path } });
      } else if (["surface-unmatched", "duplicate-in-virtuous", "conflict", "resolve-drift", "held", "malformed-row"].includes(item.kind)) {
        await this.store.addReview(customerId, item.kind, item, now);
        out.review++;
      }
      if (event) {
        const dedupeKey = `reconcile:${event.eventType}:${event.resourceId}:${event.modifiedDateTimeUtc ?? "undated"}`;
        const r = await this.store.inboxInsert({ customerId, dedupeKey, receivedMs: now, origin: "reconcile", event });
        if (r.inserted) out.fed++;
      }
    }
    return out;
  }

  // --- the initial match --------------------------------------------------------------------------------------
  /**
   * First connection of a customer: both sides exported in chunks into the core's InitialMatcher; one-to-one pairs
   * are stored `in-sync` (an empty base: the next change on either side flows), ambiguous groups (households sharing
   * an email) go to the review queue, partner-only records are reported as partner changes (submitted as creates),
   * Virtuous-only ones are fed to the inbox as creates. Progress is kept under `initial-match:<kind>` (the status
   * API shows it). Needs the optional port method `partner.list({customerId, kind, cursor, limit})` →
   * `{records: [{partnerId, references?, emails?, names?, postalCodes?, phones?, data?}], cursor?}`.
   */
  async initialMatch(customerId, { kind = "contact", chunk = 500 } = {}) {
    const c = await this.#mustCustomer(customerId);
    if (typeof this.partner.list !== "function") throw new HostError("invalid-setting", "the initial match needs partner.list()");
    if (!SYNCED.has(kind)) throw new HostError("invalid-argument", `kind ${kind} is not synced`);
    const key = `initial-match:${kind}`;
    const progress = { phase: "partner", kind, startedMs: this.now(), partnerRecords: 0, virtuousRecords: 0, pages: 0 };
    const save = () => this.store.kvPut(customerId, key, progress);
    await save();
    const matcher = new InitialMatcher();
    const rows = new Map();
    try {
      let cursor;
      do {
        const page = await this.partner.list({ customerId, kind, cursor, limit: chunk });
        const recs = (page?.records ?? []).map((r) => ({ ...r, id: String(r.partnerId ?? r.id) }));
        for (const r of recs) delete r.partnerId;
        matcher.addPartnerChunk(recs);
        progress.partnerRecords += recs.length;
        cursor = page?.cursor;
        await save();
      } while (cursor != null);
      progress.phase = "virtuous";
      let step = startQueryRun({ cursor: undefined, config: { resource: kind, take: c.settings.reconcile?.take ?? DEFAULTS.take } });
      while (step.request) {
        const q = step.request;
        const path = queryPath(kind, q.path, c.settings.reconcile ?? {});
        const res = await this.#send(c, { method: q.method, path, body: q.body, query: { skip: q.skip, take: q.take } });
        if (res.status !== 200) throw new HostError("query-failed", `${path}: status ${res.status}`);
        const list = Array.isArray(res.json?.list) ? res.json.list : [];
        step = acceptQueryPage({ run: step.run, rows: list });
        const fresh = step.page.fresh.map((i) => list[i]).filter((r) => r?.id != null && !r.mergedIntoContactId);
        for (const r of fresh) rows.set(String(r.id), r);
        matcher.addVirtuousChunk(fresh.map((r) => matchRecordFromRow(kind, r)));
        progress.virtuousRecords += fresh.length;
        progress.pages++;
        await save();
      }
      // The export's cursor is where periodic reconciliation starts.
      await this.store.kvPut(customerId, `cursor:${kind}`, finishQueryRun(step.run));
      progress.phase = "linking";
      await save();
      const plan = matcher.finish();
      const now = this.now();
      let linked = 0;
      for (const p of plan.pairs) {
        const byVirtuous = await this.store.findRecord(customerId, { kind, virtuousId: p.virtuousId });
        const byPartner = await this.store.findRecord(customerId, { kind, partnerId: p.partnerId });
        // Already linked on either side: never relinked. A stub (a reported partner change, nothing decided yet) is
        // linked here instead, and its change is not written: the pair starts with nothing to push.
        if (byVirtuous || (byPartner && (byPartner.state != null || byPartner.virtuousId))) continue;
        const recordKey = byPartner?.recordKey ?? `${kind}:${p.partnerId}`;
        const row = await this.store.lockRecord(customerId, recordKey, { owner: this.workerId, nowMs: now, leaseMs: this.o.leaseMs, create: byPartner ? undefined : { kind, partnerId: p.partnerId, virtuousId: p.virtuousId } });
        if (!row) continue;
        const state = { version: 1, customerId, kind, partnerId: p.partnerId, virtuousId: p.virtuousId, state: "in-sync", base: {}, lastSyncMs: now };
        await this.#commit({
          customerId, recordKey, owner: this.workerId, version: row.version, changeSeq: row.changeSeq, nowMs: now, state,
          log: [{ direction: "initial-match", action: "pair", reason: p.tier, detail: { evidence: p.evidence.map((e) => e.signal) } }],
        });
        linked++;
      }
      for (const r of plan.review) await this.store.addReview(customerId, "initial-match", { kind, ...r }, now);
      for (const id of plan.partnerOnly) await this.store.markDirty(customerId, { kind, partnerId: id }, now);
      let fed = 0;
      for (const id of plan.virtuousOnly) {
        const row = rows.get(id);
        if (!row) continue;
        const event = eventFromRecord(kind, row, true);
        const r = await this.store.inboxInsert({ customerId, dedupeKey: `initial-match:${kind}:${id}`, receivedMs: now, origin: "initial-match", event });
        if (r.inserted) fed++;
      }
      Object.assign(progress, { phase: "done", finishedMs: this.now(), pairs: linked, review: plan.review.length, partnerOnly: plan.partnerOnly.length, virtuousOnly: fed, pairsByTier: plan.counts.pairsByTier });
      await save();
      this.kick();
      return progress;
    } catch (err) {
      Object.assign(progress, { phase: "failed", error: String(err?.message ?? err) });
      await save();
      throw err;
    } finally {
      matcher.free();
    }
  }

  // --- people: conflicts, pause/resume, rotation, status, timeline -----------------------------------------------
  async conflicts(customerId) {
    await this.#mustCustomer(customerId);
    const rows = await this.store.listRecords(customerId, { state: "conflict" });
    const out = [];
    for (const r of rows) {
      const partnerNow = r.partnerId ? await this.partner.read({ customerId, kind: r.kind, partnerId: r.partnerId, recordKey: r.recordKey }).catch(() => null) : null;
      out.push({
        recordKey: r.recordKey, kind: r.kind, partnerId: r.partnerId, virtuousId: r.virtuousId,
        items: (r.state.conflict ?? []).map((i) => ({
          field: i.field, base: i.base, partner: i.local, partnerDigest: i.localDigest, virtuous: i.remote, virtuousDigest: i.remoteDigest,
          partnerModifiedMs: i.localModifiedMs, virtuousModifiedMs: i.remoteModifiedMs, policy: i.policy, proposed: i.proposed,
          partnerCurrent: partnerNow?.fields?.[i.field],
        })),
      });
    }
    return out;
  }

  /**
   * Settles a conflict: `choices` maps each conflicting field to "partner", "virtuous" or `{value}`. Host protocol
   * 5: apply `applyLocal` on the partner side, then decideOutbound. One commit.
   */
  async resolveConflict(customerId, recordKey, choices) {
    const c = await this.#mustCustomer(customerId);
    const now = this.now();
    // A worker may hold the record for a moment: wait up to `busyWaitMs` for it, then answer record-busy.
    let row;
    for (const end = Date.now() + this.o.busyWaitMs; ; ) {
      row = await this.store.lockRecord(customerId, recordKey, { owner: this.workerId, nowMs: this.now(), leaseMs: this.o.leaseMs });
      if (row) break;
      const exists = await this.store.findRecord(customerId, { recordKey });
      if (!exists || Date.now() > end) throw new HostError(exists ? "record-busy" : "unknown-record", recordKey);
      await new Promise((r) => setTimeout(r, 20));
    }
    try {
      if (row.state?.state !== "conflict") throw new HostError("not-in-conflict", recordKey);
      const coreChoices = {};
      for (const [field, ch] of Object.entries(choices ?? {})) {
        if (ch === "partner" || ch === "virtuous") coreChoices[field] = { tag: ch };
        else if (ch && typeof ch === "object" && "value" in ch) coreChoices[field] = { tag: "value", val: ch.value };
        else throw new HostError("invalid-argument", `choice for ${field} must be "partner", "virtuous" or {value}`);
      }
      const r = c.core.resolveConflict(row.state, coreChoices, now);
      const work = { state: structuredClone(r.record), dirty: row.dirty, recheckMs: row.recheckMs, log: [], outbox: [], counts: { resolved: 1 }, partnerId: row.partnerId };
      if (work.partnerId && !work.state.partnerId) work.state.partnerId = work.partnerId;
      work.log.push({ direction: "resolution", action: "resolve-conflict", reason: r.reason, detail: { choices, applyLocal: Object.keys(r.applyLocal), pushFields: r.pushFields } });
      const product = row.product ?? "crm";
      if (work.partnerId && Object.keys(r.applyLocal).length)
        await this.partner.apply({ customerId, ...(product !== "crm" ? { product } : {}), kind: row.kind, recordKey, virtuousId: row.virtuousId, action: "update", partnerId: work.partnerId, fields: r.applyLocal });
      // A Raise or Volunteer link is never written: what its resolution applied reaches CRM+ through the CRM+ links.
      if (work.partnerId && product === "crm") await this.#outboundStep(c, row, work, now);
      else if (work.partnerId && Object.keys(r.applyLocal).length) await this.#fanOut(customerId, row.kind, work.partnerId, now);
      await this.#commit({ ...work, customerId, recordKey, owner: this.workerId, version: row.version, changeSeq: row.changeSeq, nowMs: now });
      await this.#count(customerId, work.counts);
      this.kick();
      return { reason: r.reason, applied: r.applyLocal, pushFields: r.pushFields, state: work.state.state };
    } catch (err) {
      await this.store.unlockRecord(customerId, recordKey, this.workerId, row.version).catch(() => {});
      throw err;
    }
  }

  /** planPause: deactivate the subscription (when a webhook id is configured), stop the submitter and poller. */
  async pause(customerId) {
    const c = await this.#mustCustomer(customerId);
    if (c.pausedAtMs != null) return { pausedAtMs: c.pausedAtMs, already: true };
    const now = this.now();
    const plan = planPause({ webhookId: String(c.settings.webhookId ?? "none"), nowMs: now });
    for (const s of plan.steps) if (s.request && c.settings.webhookId != null) await this.#send(c, s.request, { priority: "live" });
    // The Raise webhook the host manages (raise-subscription.mjs) is deactivated too, by GET-then-PUT.
    const raise = await this.raiseSubscription.setActive(customerId, c.settings, false);
    await this.store.setPaused(customerId, plan.pausedAtMs);
    return { pausedAtMs: plan.pausedAtMs, steps: [...plan.steps.map((s) => s.action), ...(raise ? [raise] : [])] };
  }

  /**
   * planResume: reactivate, reconcile from the pause time to completion, then start the poller and the submitter
   * last, so writes queued during the pause are weighed against what changed in Virtuous meanwhile.
   */
  async resume(customerId, { reconcile = true } = {}) {
    const c = await this.#mustCustomer(customerId);
    if (c.pausedAtMs == null) return { resumed: false };
    const resources = c.settings.reconcile?.resources ?? ["contact", "gift"];
    const plan = planResume({ webhookId: String(c.settings.webhookId ?? "none"), pausedAtMs: c.pausedAtMs, storedCursor: await this.store.kvGet(customerId, `cursor:${resources[0]}`) });
    for (const s of plan.steps) if (s.request && c.settings.webhookId != null) await this.#send(c, s.request, { priority: "live" });
    const raise = await this.raiseSubscription.setActive(customerId, c.settings, true);
    for (const res of resources) {
      const stored = await this.store.kvGet(customerId, `cursor:${res}`);
      if (!stored || stored.highWaterMs == null || (plan.reconcileFrom.highWaterMs ?? 0) < stored.highWaterMs)
        await this.store.kvPut(customerId, `cursor:${res}`, plan.reconcileFrom);
    }
    let summary;
    if (reconcile && c.client) summary = await this.reconcile(customerId, { process: true });
    await this.store.setPaused(customerId, null);
    this.kick();
    return { resumed: true, steps: [...plan.steps.map((s) => s.action), ...(raise ? [raise] : [])], reconcileFrom: plan.reconcileFrom, reconciled: summary ? summary.fed : undefined };
  }

  /**
   * Secret rotation, phase 1: the new secret goes first in the verifier (the old one kept), then the subscription
   * gets it by GET-then-PUT. Later calls report the phase; `retireOld: true` drops the old secret once
   * planSecretRotation says `ready-to-retire` (no delivery signed with it for `drainMs`).
   */
  async rotateSecret(customerId, { product = "crm", newSecret, newSecretId, drainMs, retireOld = false } = {}) {
    if (product === "raise") return this.#rotateRaiseSecret(customerId, { newSecret, newSecretId, drainMs, retireOld });
    if (product !== "crm") throw new HostError("invalid-argument", `secret rotation is for crm or raise, not ${product}`);
    const c = await this.#mustCustomer(customerId);
    const now = this.now();
    const s = structuredClone(c.settings);
    const rot = (await this.store.kvGet(customerId, "rotation")) ?? null;
    if (newSecret) {
      const id = newSecretId ?? `s-${now}`;
      const old = s.secrets[0];
      const oldId = typeof old === "string" ? "s-initial" : (old.id ?? "s-initial");
      s.secrets = [{ id, secret: newSecret }, ...s.secrets.map((x, i) => (typeof x === "string" ? { id: i ? `s-${i}` : oldId, secret: x } : { ...x, id: x.id ?? (i ? `s-${i}` : oldId) }))];
      await this.putCustomer(s);
      const c2 = await this.#mustCustomer(customerId);
      if (c.settings.webhookId != null && c2.client) {
        const path = `/api/Webhook/${encodeURIComponent(c.settings.webhookId)}`;
        const cur = await this.#send(c2, { method: "GET", path }, { priority: "live" });
        if (cur.status !== 200 || !cur.json) throw new HostError("subscription-read", `GET ${path}: ${cur.status}`);
        // The core refuses a non-HTTPS payload URL (also the current one). A loopback http:// URL (a local Virtuous,
        // the demo) stands in as a placeholder during the merge and is written back unchanged; any other http:// URL
        // is refused as the core says.
        const loopback = isLoopbackHttp(cur.json.payloadUrl);
        const current = loopback ? { ...cur.json, payloadUrl: "https://loopback.invalid/" } : cur.json;
        const plan = mergeSubscription(current, { secret: newSecret });
        const body = loopback ? { ...plan.body, payloadUrl: cur.json.payloadUrl } : plan.body;
        const put = await this.#send(c2, { method: plan.request.method, path: plan.request.path, body }, { priority: "live" });
        if (put.status == null || put.status >= 300) throw new HostError("subscription-write", `${plan.request.method} ${plan.request.path}: ${put.status}`);
      }
      await this.store.kvPut(customerId, "rotation", { oldSecretId: oldId, newSecretId: id, rotatedAtMs: now, drainMs });
      return { phase: "draining", newSecretId: id };
    }
    if (!rot) return { phase: "not-started" };
    const lastOld = await this.store.kvGet(customerId, `secret-seen:${rot.oldSecretId}`);
    const plan = planSecretRotation({
      webhookId: String(c.settings.webhookId ?? "none"), oldSecretId: rot.oldSecretId, newSecretId: rot.newSecretId, rotatedAtMs: rot.rotatedAtMs,
      ...(lastOld != null ? { lastOldReceiptMs: lastOld } : {}), ...(rot.drainMs != null ? { drainMs: rot.drainMs } : {}), nowMs: now,
    });
    if (retireOld && plan.phase === "ready-to-retire") {
      s.secrets = s.secrets.filter((x) => typeof x === "string" || x.id !== rot.oldSecretId);
      await this.putCustomer(s);
      await this.store.kvPut(customerId, "rotation", { ...rot, retiredAtMs: now });
      return { phase: "retired" };
    }
    return { phase: plan.phase };
  }

  /**
   * Secret rotation of the Raise receiver, as for CRM+: the new secret goes first in `receivers.raise.secrets` (the
   * old one kept), then the managed Raise webhook (raise-subscription.mjs) gets it as its `securityToken` by
   * GET-then-PUT (`webhookUpdated`: false when the host manages no Raise webhook: set it in Raise by hand). Later calls
   * report the `planSecretRotation` phase from which secret Raise deliveries carry; `retireOld` drops the old one.
   */
  async #rotateRaiseSecret(customerId, { newSecret, newSecretId, drainMs, retireOld }) {
    const c = await this.#mustCustomer(customerId);
    const now = this.now();
    const s = structuredClone(c.settings);
    const r = s.receivers?.raise;
    if (!r) throw new HostError("invalid-setting", "the customer has no receivers.raise");
    const rot = (await this.store.kvGet(customerId, "rotation:raise")) ?? null;
    const named = (x, i) => (typeof x === "string" ? { id: `s-${i}`, secret: x } : { ...x, id: x.id ?? `s-${i}` });
    if (newSecret) {
      if (typeof newSecret !== "string" || newSecret.trim() === "") throw new HostError("invalid-argument", "newSecret must be a non-blank string");
      const id = newSecretId ?? `s-${now}`;
      const secrets = r.secrets.map(named);
      const oldId = secrets[0].id;
      r.secrets = [{ id, secret: newSecret }, ...secrets];
      await this.putCustomer(s);
      const webhookUpdated = await this.raiseSubscription.setSecurityToken(customerId, s, newSecret);
      await this.store.kvPut(customerId, "rotation:raise", { oldSecretId: oldId, newSecretId: id, rotatedAtMs: now, drainMs });
      return { phase: "draining", newSecretId: id, webhookUpdated };
    }
    if (!rot) return { phase: "not-started" };
    const st = await this.raiseSubscription.get(customerId);
    const lastOld = await this.store.kvGet(customerId, `secret-seen:raise:${rot.oldSecretId}`);
    const plan = planSecretRotation({
      webhookId: String(st?.webhookId ?? "none"), oldSecretId: rot.oldSecretId, newSecretId: rot.newSecretId, rotatedAtMs: rot.rotatedAtMs,
      ...(lastOld != null ? { lastOldReceiptMs: lastOld } : {}), ...(rot.drainMs != null ? { drainMs: rot.drainMs } : {}), nowMs: now,
    });
    if (retireOld && plan.phase === "ready-to-retire") {
      r.secrets = r.secrets.map(named).filter((x) => x.id !== rot.oldSecretId);
      await this.putCustomer(s);
      await this.store.kvPut(customerId, "rotation:raise", { ...rot, retiredAtMs: now });
      return { phase: "retired" };
    }
    return { phase: plan.phase };
  }

  /** The per-customer status model (see docs/host.md): what people tools read. Never contains a secret. */
  async status(customerId) {
    const c = await this.#mustCustomer(customerId);
    const now = this.now();
    const counts = await this.store.statusCounts(customerId);
    const rec = (await this.store.kvGet(customerId, "reconcile")) ?? null;
    const resources = c.settings.reconcile?.resources ?? ["contact", "gift"];
    const cursors = {};
    for (const r of resources) {
      const cur = await this.store.kvGet(customerId, `cursor:${r}`);
      cursors[r] = { highWaterMs: cur?.highWaterMs, lagMs: cur?.highWaterMs != null ? now - cur.highWaterMs : undefined };
    }
    const budgetState = (await this.store.getCustomer(customerId)).budget;
    let budget;
    {
      const b = this.#loadBudget(c, budgetState);
      try {
        const j = b.toJSON();
        const d = b.decide({ cost: 1, priority: "live", nowMs: now, random: 0 });
        budget = { limit: j.limit, remaining: j.remaining, used: j.remaining != null ? j.limit - j.remaining : undefined, resetAtMs: j.resetAtMs, blockedUntilMs: j.blockedUntilMs, failures: j.failures, available: d.available, canSendNow: d.go };
      } finally {
        b.free();
      }
    }
    const counters = (await this.store.kvGet(customerId, "counters")) ?? {};
    const stuck = (await this.store.listOutbox(customerId)).filter((e) => e.status === "failed" || e.attempts >= 3);
    // A full-record write not known to land waits, between tries, as the record's carried attempts (no outbox entry).
    for (const r of await this.store.listRecords(customerId, { redecided: true }))
      if (r.retry?.attempts >= 3 && !stuck.some((e) => e.recordKey === r.recordKey))
        stuck.push({ recordKey: r.recordKey, status: "redecide", attempts: r.retry.attempts, lastError: r.retry.lastError ?? undefined, lastStatus: r.retry.lastStatus ?? undefined, request: r.retry.request ?? {} });
    const rotation = await this.store.kvGet(customerId, "rotation");
    return {
      apiVersion: 1,
      customerId,
      nowMs: now,
      paused: c.pausedAtMs != null,
      pausedAtMs: c.pausedAtMs,
      lastDeliveryMs: counts.lastDeliveryMs,
      reconciliation: {
        everyMs: reconcileInterval(c.settings.reconcile?.everyMs),
        lastCompleteMs: rec?.lastCompleteMs,
        nextDueMs: rec?.nextDueMs,
        cursors,
        breaker: (await this.store.kvGet(customerId, "breaker")) ?? undefined,
      },
      inbox: { pending: counts.inboxPending, deadLetters: counts.deadLetters },
      outbox: {
        depth: counts.outboxDepth,
        oldestPendingWriteMs: counts.oldestPendingWriteMs,
        oldestPendingWriteAgeMs: counts.oldestPendingWriteMs != null ? now - counts.oldestPendingWriteMs : undefined,
        stuckWrites: stuck.map((e) => ({ recordKey: e.recordKey, status: e.status, attempts: e.attempts, lastError: e.lastError, lastStatus: e.lastStatus, method: e.request.method, path: e.request.path })),
      },
      records: { total: counts.records, partnerPending: counts.partnerPending, stuck: counts.stuckRecords, dirty: counts.dirtyRecords },
      openConflicts: counts.conflicts,
      review: (await this.store.listReview(customerId)).length,
      budget,
      counters,
      alert: (await this.store.kvGet(customerId, "alert")) ?? undefined,
      initialMatch: (await this.store.kvGet(customerId, "initial-match:contact")) ?? undefined,
      volunteer: c.settings.volunteer ? await this.volunteer.status(customerId, c.settings.volunteer) : undefined,
      raiseDeliveries: c.settings.raiseLogs ? await this.raiseLogs.status(customerId) : undefined,
      raiseSubscription: (await this.raiseSubscription.get(customerId)) ?? undefined,
      secretRotation: rotation ? { newSecretId: rotation.newSecretId, rotatedAtMs: rotation.rotatedAtMs, retiredAtMs: rotation.retiredAtMs } : undefined,
    };
  }

  /** "Why did (or didn't) record X sync?": the decision log, oldest first, with the current state. */
  async timeline(customerId, recordKey) {
    await this.#mustCustomer(customerId);
    const row = await this.store.findRecord(customerId, { recordKey });
    if (!row) throw new HostError("unknown-record", recordKey);
    const outbox = await this.store.getOutbox(customerId, recordKey);
    return {
      apiVersion: 1,
      recordKey, product: row.product ?? "crm", kind: row.kind, partnerId: row.partnerId, virtuousId: row.virtuousId,
      state: row.state?.state, stuck: row.state?.stuck === true, tombstone: row.state?.tombstone,
      dirty: row.dirty, recheckMs: row.recheckMs,
      outbox: outbox ? { status: outbox.status, attempts: outbox.attempts, lastError: outbox.lastError, method: outbox.request.method, path: outbox.request.path } : undefined,
      entries: await this.store.timeline(customerId, recordKey),
    };
  }

  /** commitRecord, then the onDecision hook for what it logged. */
  async #commit(c) {
    const r = await this.store.commitRecord(c);
    emitDecisions(this, c.customerId, c.recordKey, c.nowMs, c.log);
    return r;
  }

  async #logDecision(customerId, recordKey, nowMs, entry) {
    await this.store.logDecision(customerId, recordKey, nowMs, entry);
    emitDecisions(this, customerId, recordKey, nowMs, [entry]);
  }

  async #count(customerId, counts) {
    if (counts && Object.keys(counts).length) await this.store.countersAdd(customerId, counts);
  }

  // --- running -------------------------------------------------------------------------------------------------
  /** Runs every queue until nothing is due now (tests and the demo call it to settle). */
  async drain({ maxRounds = 200, submit = true } = {}) {
    for (let i = 0; i < maxRounds; i++) {
      const n = (await this.processPartnerChanges()) + (await this.processInbox()) + (submit ? await this.submitDue() : 0);
      if (!n) return i;
    }
    return maxRounds;
  }

  /** Reconciles every unpaused customer whose run is due (the per-customer scheduler's tick). */
  async reconcileDue() {
    const now = this.now();
    let n = 0;
    for (const id of await this.store.listCustomers()) {
      const c = await this.customer(id);
      if (!c || c.pausedAtMs != null || !c.client) continue;
      const rec = await this.store.kvGet(id, "reconcile");
      if (rec?.nextDueMs != null && rec.nextDueMs > now) continue;
      try {
        await this.reconcile(id, { process: false });
        n++;
      } catch (err) {
        this.log("reconcile-failed", { customerId: id, error: String(err?.message ?? err) });
        await this.store.kvPut(id, "reconcile", { ...(rec ?? {}), nextDueMs: now + 15 * 60_000, lastError: String(err?.message ?? err), lastErrorMs: now });
      }
    }
    return n;
  }

  /** Deletes what each customer's retention no longer keeps (observe.mjs); the scheduler runs it hourly. */
  async applyRetention({ nowMs = this.now() } = {}) {
    this.retentionRanMs = nowMs;
    return applyRetention(this, { nowMs });
  }

  /**
   * Starts the background loops: workers (inbox, partner changes, submitter) and the scheduler (reconciliation,
   * Volunteer polls every `volunteer.pollEveryMs` (15–30 min) and its daily full reconciliation, retention).
   */
  start({ pollMs = 200, reconcileCheckMs = 60_000, reconcileOnStart = false } = {}) {
    if (this.running) return;
    this.running = true;
    const loop = async () => {
      while (this.running) {
        let n = 0;
        try {
          n = (await this.processPartnerChanges()) + (await this.processInbox()) + (await this.submitDue());
        } catch (err) {
          this.log("worker-error", { error: String(err?.message ?? err) });
        }
        if (!n && this.running) await new Promise((r) => { this.wake = r; const t = setTimeout(r, pollMs); t.unref?.(); });
      }
    };
    this.loopDone = loop();
    const tick = () =>
      this.reconcileDue()
        .then(() => this.volunteer.pollDue())
        .then(() => this.raiseLogs.readDue())
        .then(() => (this.retentionRanMs == null || this.now() - this.retentionRanMs >= HOUR ? this.applyRetention() : null))
        .catch((err) => this.log("scheduler-error", { error: String(err?.message ?? err) }));
    if (reconcileOnStart) tick();
    const t = setInterval(tick, reconcileCheckMs);
    t.unref?.();
    this.timers.push(t);
  }

  kick() {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async stop() {
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.kick();
    await this.loopDone;
    for (const c of this.cores.values()) {
      c.core.free();
      for (const r of Object.values(c.receivers ?? {})) r.free();
    }
    this.cores.clear();
  }
}

export function createHost(options) {
  return new Host(options);
}
