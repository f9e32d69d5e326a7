// A small partner platform for the demo and the end-to-end tests: donors (Virtuous contacts) and donations
// (Virtuous gifts) in its own store (a JSON file, or memory), an HTTP API, and a change hook that reports every
// change to the host over HTTP. It knows nothing of the sync rules: the host's `partner` port (./port.mjs) reads
// and applies its records through this API.
//
//   GET  /donors/:id  /donations/:id           a record and its fields
//   POST /donors  /donations                   a user creates one        (fires the change hook)
//   PATCH /donors/:id  /donations/:id          a user edits one          (fires the change hook)
//   POST /sync/apply                           the host applies a decision (fires the change hook too: the core
//                                              recognises the bounce of its own apply)
//   POST /sync/read                            the host reads a record's mapped fields ({kind, partnerId}; 404: gone)
//   POST /sync/list                            the records of a kind as the matcher reads them ({kind})
//   GET  /store                                everything (the demo's convergence check)
import http from "node:http";
import { readFileSync, writeFileSync, existsSync, renameSync } from "node:fs";

const KINDS = { donors: "contact", donations: "gift", participations: "participation" };
const COLLECTION = { contact: "donors", gift: "donations", participation: "participations" };
// Participations come from Volunteer only and are never written to Virtuous: the app reports no change of them.
const REPORTED = new Set(["contact", "gift"]);
const PREFIX = { contact: "donor", gift: "don", participation: "part" };

/** A collection's live records as the matcher reads them: `{partnerId, emails, names, phones, postalCodes, data}`. */
export function matchRecordsOf(coll) {
  const text = (v) => (typeof v === "string" && v.trim() ? [v.trim()] : []);
  const full = (f) => [f.firstName, f.lastName].filter((x) => typeof x === "string" && x.trim()).join(" ");
  return Object.values(coll)
    .filter((r) => !r.mergedInto && !r.deleted)
    .map((r) => ({
      partnerId: r.id,
      emails: [...new Set([...text(r.email), ...text(r.fields.email)])],
      names: [...new Set([...text(r.fields.name), ...text(full(r.fields))])],
      phones: text(r.fields.phone),
      postalCodes: text(r.fields.postal),
      data: r.fields,
    }));
}

export class PartnerStore {
  constructor(file) {
    this.file = file;
    this.data = { donors: {}, donations: {}, participations: {}, seq: 0 };
    if (file && existsSync(file)) this.data = { participations: {}, ...JSON.parse(readFileSync(file, "utf8")) };
  }
  save() {
    if (!this.file) return;
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.data, null, 2));
    renameSync(`${this.file}.tmp`, this.file);
  }
  nextId(prefix) {
    for (;;) {
      this.data.seq += 1;
      const id = `${prefix}-${this.data.seq}`;
      if (!this.data.donors[id] && !this.data.donations[id] && !this.data.participations[id]) return id;
    }
  }
}

/**
 * Starts the partner app on 127.0.0.1. `hook(change)` receives `{kind, partnerId}` after every change (the demo's
 * hook POSTs it to the host); failures of the hook are retried by the app until they succeed.
 */
export function startPartnerApp({ file, port = 0, hook, now = () => Date.now() } = {}) {
  const store = new PartnerStore(file);
  const pendingHooks = [];
  let flushing = false;
  const fire = (kind, partnerId) => {
    if (!REPORTED.has(kind)) return;
    pendingHooks.push({ kind, partnerId });
    flush();
  };
  const flush = async () => {
    if (flushing || !hook) return;
    flushing = true;
    try {
      while (pendingHooks.length) {
        try {
          await hook(pendingHooks[0]);
          pendingHooks.shift();
        } catch {
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } finally {
      flushing = false;
    }
  };

  const put = (coll, id, fields, meta = {}) => {
    const cur = store.data[coll][id] ?? { id, fields: {}, createdMs: now() };
    store.data[coll][id] = { ...cur, ...meta, fields: { ...cur.fields, ...fields }, modifiedMs: now() };
    store.save();
    return store.data[coll][id];
  };

  const apply = (op) => {
    const coll = COLLECTION[op.kind];
    if (!coll) throw Object.assign(new Error(`unknown kind ${op.kind}`), { status: 400 });
    // A record keeps one link per Virtuous product: `virtuousId` is its CRM+ id, `links.raise` / `links.volunteer` the
    // ids of the Raise donor or Volunteer user the host linked to it (one partner record, several products).
    const product = op.product && op.product !== "crm" ? op.product : null;
    const link = (r) => (product ? { links: { ...(r?.links ?? {}), [product]: op.virtuousId } } : { virtuousId: op.virtuousId });
    if (op.action === "create") {
      // Idempotent on (product, Virtuous id): the host may ask again after a crash before it committed.
      const existing = Object.values(store.data[coll]).find((r) => (product ? r.links?.[product] === op.virtuousId : r.virtuousId === op.virtuousId));
      if (existing) return { partnerId: existing.id, existed: true }; // the host brings it to the create's values
      const id = store.nextId(PREFIX[op.kind]);
      // A Volunteer participation names its volunteer's partner record (`owner`, through the user's Volunteer link).
      put(coll, id, op.fields, { ...link(null), origin: product ?? "virtuous", ...(op.owner ? { owner: op.owner.partnerId } : {}) });
      return { partnerId: id };
    }
    const rec = store.data[coll][op.partnerId];
    if (!rec) throw Object.assign(new Error(`no ${op.kind} ${op.partnerId}`), { status: 404 });
    if (op.action === "update") put(coll, op.partnerId, op.fields, op.virtuousId ? link(rec) : {});
    else if (op.action === "delete") put(coll, op.partnerId, {}, { deleted: true });
    else if (op.action === "remap") {
      // A merged-away donor: its donations move to the survivor's donor (when we have it), and it is marked merged.
      put(coll, op.partnerId, {}, { mergedInto: op.survivorPartnerId ?? `virtuous:${op.survivorVirtuousId}` });
      if (op.survivorPartnerId)
        for (const d of Object.values(store.data.donations)) if (d.donorId === op.partnerId) put("donations", d.id, {}, { donorId: op.survivorPartnerId });
    } else throw Object.assign(new Error(`unknown action ${op.action}`), { status: 400 });
    return { partnerId: op.partnerId };
  };

  // The mapped fields of a record (the core's logical names), as port.mjs's read() builds them from GETs.
  const readForSync = ({ kind, partnerId }) => {
    const rec = store.data[COLLECTION[kind]]?.[partnerId];
    if (!rec || rec.mergedInto || rec.deleted) return null;
    const out = { fields: rec.fields, modifiedMs: rec.modifiedMs, ...(rec.virtuousId ? { virtuousId: rec.virtuousId } : {}) };
    const donor = kind === "gift" && rec.donorId ? store.data.donors[rec.donorId] : undefined;
    if (donor) out.extra = { contact: { referenceId: donor.id, name: donor.fields.name, email: donor.email ?? donor.fields.email } };
    return out;
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    const parts = url.pathname.split("/").filter(Boolean);
    const reply = (status, body) => {
      const text = JSON.stringify(body ?? {});
      res.writeHead(status, { "content-type": "application/json" });
      res.end(text);
    };
    try {
      let body;
      if (req.method !== "GET") {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const text = Buffer.concat(chunks).toString("utf8");
        body = text ? JSON.parse(text) : {};
      }
      if (req.method === "GET" && parts[0] === "store") return reply(200, store.data);
      if (req.method === "POST" && parts[0] === "sync" && parts[1] === "read") {
        // The partner port's read over HTTP (what port.mjs's read() returns), for hosts that cannot call it in-process.
        const r = readForSync(body);
        return r ? reply(200, r) : reply(404, { error: "not-found" });
      }
      if (req.method === "POST" && parts[0] === "sync" && parts[1] === "list") {
        // The partner port's list over HTTP ({kind}; one page): the initial match and matching new Raise/Volunteer links.
        const coll = COLLECTION[body.kind];
        if (!coll) return reply(400, { error: `unknown kind ${body.kind}` });
        return reply(200, { records: matchRecordsOf(store.data[coll]) });
      }
      if (req.method === "POST" && parts[0] === "sync" && parts[1] === "apply") {
        const r = apply(body);
        if (body.action !== "create" || r.partnerId) fire(body.kind, r.partnerId);
        return reply(200, r);
      }
      const coll = parts[0];
      const kind = KINDS[coll];
      if (!kind) return reply(404, { error: "not-found" });
      if (req.method === "POST" && parts.length === 1) {
        const id = body.id ?? store.nextId(PREFIX[kind]);
        const rec = put(coll, id, body.fields ?? {}, { origin: "partner", ...(body.donorId ? { donorId: body.donorId } : {}) });
        fire(kind, id);
        return reply(201, rec);
      }
      const rec = store.data[coll][parts[1]];
      if (!rec) return reply(404, { error: "not-found" });
      if (req.method === "GET") return reply(200, rec);
      if (req.method === "PATCH") {
        const r = put(coll, rec.id, body.fields ?? {});
        fire(kind, rec.id);
        return reply(200, r);
      }
      return reply(405, { error: "method-not-allowed" });
    } catch (e) {
      return reply(e.status ?? 400, { error: String(e.message ?? e) });
    }
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      resolve({
        url,
        store,
        pendingHooks: () => pendingHooks.length,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}
