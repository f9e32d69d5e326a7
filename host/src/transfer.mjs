// Moving one customer's stored sync state between engines (Node + PGlite, Node + PostgreSQL, the Worker host):
// a versioned JSON document every store writes (`exportCustomer`) and reads (`importCustomer`). docs/deploy.md,
// "Moving a customer", gives the procedure (pause, export, import, verify, switch the webhook URL).
//
// What moves: every record's sync state (conflicts included) with its keys (the link index is rebuilt from them on
// the target), the outbox (an in-flight write moves as queued: its outcome was never stored; but an in-flight
// full-record PUT, a snapshot that may have landed, is never resent: its record moves dirty, to be decided again from
// a fresh fetch on the target), acknowledged full-record writes not yet reported (`written`), deliveries not yet
// processed, the dedupe window (the keys of deliveries already processed, so a late redelivery is still dropped),
// key-value state (reconciliation cursors and runs, counters, the breaker, alerts, initial-match progress, secret
// rotation phases), the rate budget, the review queue and dead letters (without their raw bodies). What does not:
// the customer's settings (secrets and the Virtuous key: they are put on the target through its admin route or
// Host.putCustomer first, by whoever holds them) and the decision log (it stays readable on the old engine).
import { isFullRecordPut } from "./writes.mjs";

export const TRANSFER_FORMAT = "virtuous-sync-state";
export const TRANSFER_VERSION = 1;
/** The dedupe window exported by default: deliveries processed in the last 30 days (the inbox retention). */
export const DEDUPE_WINDOW_MS = 30 * 86_400_000;
/** Key-value entries that belong to one engine's running work, never moved. */
const LOCAL_KV = new Set(["reconcile-run"]);

/** The transfer's one coded error: `invalid-file`, `unknown-format`, `unknown-version`, `customer-mismatch`,
 *  `unknown-customer` (import needs the settings first), `not-empty` (the target already holds records),
 *  `secret-in-export` (a value equal to one of the customer's secrets: refused, never written), `not-drained` (the
 *  Worker host still has deliveries in its Queue). */
export const TRANSFER_ERROR_CODES = Object.freeze(["invalid-file", "unknown-format", "unknown-version", "customer-mismatch", "unknown-customer", "not-empty", "secret-in-export", "not-drained"]);
export class TransferError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = "TransferError";
    this.code = code;
  }
}

/**
 * The document for `parts` (what a store's exportCustomer returned). Refuses (secret-in-export) when any string in
 * it equals one of `settings`' secrets or tokens, so a document can be stored and copied like any other file.
 */
export function transferDocument(customerId, parts, { settings, source, nowMs = Date.now() } = {}) {
  const redecide = new Set();
  const outbox = [];
  for (const o of parts.outbox ?? []) {
    if (o.status === "in-flight" && isFullRecordPut(settings, o.request)) redecide.add(o.recordKey);
    else outbox.push({ ...o, status: o.status === "in-flight" ? "queued" : o.status });
  }
  const doc = {
    format: TRANSFER_FORMAT,
    version: TRANSFER_VERSION,
    customerId,
    exportedMs: nowMs,
    source,
    paused: parts.paused ?? null,
    budget: parts.budget ?? null,
    kv: Object.fromEntries(Object.entries(parts.kv ?? {}).filter(([k]) => !LOCAL_KV.has(k))),
    records: (parts.records ?? []).map((r) => (redecide.has(r.recordKey) ? { ...r, dirty: true, recheckMs: nowMs } : r)),
    outbox,
    inbox: parts.inbox ?? [],
    dedupe: parts.dedupe ?? [],
    review: parts.review ?? [],
    deadLetters: parts.deadLetters ?? [],
  };
  const secrets = secretsOf(settings);
  if (secrets.size) {
    const walk = (v) => {
      if (typeof v === "string") {
        if (secrets.has(v)) throw new TransferError("secret-in-export", "a value equal to one of the customer's secrets; nothing was written");
      } else if (v && typeof v === "object") for (const x of Object.values(v)) walk(x);
    };
    walk(doc);
  }
  return doc;
}

function secretsOf(settings) {
  const out = new Set();
  for (const s of settings?.secrets ?? []) if (typeof s?.secret === "string" && s.secret) out.add(s.secret);
  for (const t of [settings?.virtuous?.token, settings?.partner?.token]) if (typeof t === "string" && t) out.add(t);
  return out;
}

const isObj = (v) => v != null && typeof v === "object" && !Array.isArray(v);
/** Checks a document before anything is written: its format, version and shape, and that it is `customerId`'s. */
export function checkTransferDocument(doc, customerId) {
  if (!isObj(doc)) throw new TransferError("invalid-file", "not a JSON object");
  if (doc.format !== TRANSFER_FORMAT) throw new TransferError("unknown-format", `format ${JSON.stringify(doc.format)} is not ${TRANSFER_FORMAT}`);
  if (doc.version !== TRANSFER_VERSION) throw new TransferError("unknown-version", `version ${JSON.stringify(doc.version)}: this host reads version ${TRANSFER_VERSION}`);
  if (typeof doc.customerId !== "string" || !doc.customerId) throw new TransferError("invalid-file", "customerId missing");
  if (customerId != null && doc.customerId !== customerId) throw new TransferError("customer-mismatch", `the file is ${doc.customerId}'s, not ${customerId}'s`);
  for (const k of ["records", "outbox", "inbox", "dedupe", "review", "deadLetters"])
    if (!Array.isArray(doc[k])) throw new TransferError("invalid-file", `${k} must be an array`);
  if (!isObj(doc.kv)) throw new TransferError("invalid-file", "kv must be an object");
  const keys = new Set();
  for (const r of doc.records) {
    if (!isObj(r) || typeof r.recordKey !== "string" || !["gift", "contact"].includes(r.kind)) {
      // A Raise or Volunteer link (docs/sync.md, "One partner record, several products") may hold another kind.
      const productLink = isObj(r) && typeof r.recordKey === "string" && ["raise", "volunteer"].includes(r.product) && typeof r.kind === "string" && r.kind !== "";
      if (!productLink) throw new TransferError("invalid-file", `a record without recordKey or kind: ${JSON.stringify(r)?.slice(0, 80)}`);
    }
    if (r.product != null && !["crm", "raise", "volunteer"].includes(r.product)) throw new TransferError("invalid-file", `record ${r.recordKey}: unknown product ${JSON.stringify(r.product)?.slice(0, 20)}`);
    if (keys.has(r.recordKey)) throw new TransferError("invalid-file", `record ${r.recordKey} twice`);
    keys.add(r.recordKey);
  }
  for (const o of doc.outbox)
    if (!isObj(o) || !keys.has(o.recordKey) || !isObj(o.request)) throw new TransferError("invalid-file", `an outbox entry for no record: ${o?.recordKey}`);
  for (const e of doc.inbox)
    if (!isObj(e) || typeof e.dedupeKey !== "string" || !isObj(e.event)) throw new TransferError("invalid-file", "an unprocessed delivery without dedupeKey or event");
  for (const d of doc.dedupe) if (!isObj(d) || typeof d.dedupeKey !== "string") throw new TransferError("invalid-file", "a dedupe entry without dedupeKey");
  return doc;
}

/**
 * What comparing two engines' copies of a customer looks at (the round-trip test and `verify` after an import):
 * records (keys, ids, state, dirty), outbox requests, unprocessed deliveries, the dedupe keys, cursors and other
 * key-value state, the budget, open review items and dead letters, each sorted. Times of the move itself are left out.
 */
export function comparableState(doc) {
  const by = (k) => (a, b) => (a[k] < b[k] ? -1 : a[k] > b[k] ? 1 : 0);
  return {
    customerId: doc.customerId,
    paused: doc.paused ?? null,
    budget: doc.budget ?? null,
    kv: Object.fromEntries(Object.entries(doc.kv).sort(([a], [b]) => (a < b ? -1 : 1))),
    records: doc.records.map((r) => ({ recordKey: r.recordKey, product: r.product ?? "crm", kind: r.kind, partnerId: r.partnerId ?? null, virtuousId: r.virtuousId ?? null, state: r.state ?? null, dirty: Boolean(r.dirty), written: r.written ?? null, retry: r.retry ?? null })).sort(by("recordKey")),
    outbox: doc.outbox.map((o) => ({ recordKey: o.recordKey, request: o.request, status: o.status, attempts: o.attempts ?? 0, nextRequest: o.nextRequest ?? null })).sort(by("recordKey")),
    inbox: doc.inbox.map((e) => ({ dedupeKey: e.dedupeKey, origin: e.origin, event: e.event })).sort(by("dedupeKey")),
    dedupe: doc.dedupe.map((d) => d.dedupeKey).sort(),
    review: doc.review.map((r) => ({ kind: r.kind, item: r.item, status: r.status ?? "open" })).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
    deadLetters: doc.deadLetters.map((d) => ({ origin: d.origin, dedupeKey: d.dedupeKey ?? null, error: d.error })).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
  };
}

/** Exports `customerId` from a Node host's store (memory, PGlite, PostgreSQL). */
export async function exportFromStore(store, customerId, { nowMs = Date.now(), dedupeWindowMs = DEDUPE_WINDOW_MS } = {}) {
  const c = await store.getCustomer(customerId);
  if (!c) throw new TransferError("unknown-customer", customerId);
  const parts = await store.exportCustomer(customerId, { sinceMs: nowMs - dedupeWindowMs });
  return transferDocument(customerId, parts, { settings: c.settings, source: store.name, nowMs });
}

/** Imports a document into a Node host's store; the customer's settings must be there and its records empty. */
export async function importIntoStore(store, doc, { customerId } = {}) {
  checkTransferDocument(doc, customerId);
  const c = await store.getCustomer(doc.customerId);
  if (!c) throw new TransferError("unknown-customer", `${doc.customerId}: put its settings on the target first`);
  if ((await store.listRecords(doc.customerId, {})).length) throw new TransferError("not-empty", `${doc.customerId} already has records on the target`);
  await store.importCustomer(doc.customerId, doc);
  return summaryOf(doc);
}

export const summaryOf = (doc) => ({
  customerId: doc.customerId, records: doc.records.length, outbox: doc.outbox.length, inbox: doc.inbox.length, dedupe: doc.dedupe.length,
  review: doc.review.length, deadLetters: doc.deadLetters.length, kv: Object.keys(doc.kv).length,
});
