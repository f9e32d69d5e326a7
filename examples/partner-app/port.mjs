// The host's `partner` port for the partner app, over its HTTP API: how a partner connects its platform to
// virtuous-sync-host. read() returns the mapped fields (the core's logical names), apply() hands a decision over.
import { matchRecordsOf } from "./app.mjs";

const COLLECTION = { contact: "donors", gift: "donations", participation: "participations" };

export function httpPartnerPort(baseUrl) {
  const call = async (method, path, body) => {
    const res = await fetch(baseUrl + path, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json().catch(() => ({}));
    if (res.status === 404 && method === "GET") return null;
    if (!res.ok) throw new Error(`partner ${method} ${path}: ${res.status} ${json.error ?? ""}`);
    return json;
  };
  return {
    async read({ kind, partnerId }) {
      const coll = COLLECTION[kind];
      if (!coll) return null;
      const rec = await call("GET", `/${coll}/${encodeURIComponent(partnerId)}`);
      if (!rec || rec.mergedInto || rec.deleted) return null;
      // virtuousId: the link the partner keeps for records the host created from Virtuous (see docs/host.md).
      const out = { fields: rec.fields, modifiedMs: rec.modifiedMs, ...(rec.virtuousId ? { virtuousId: rec.virtuousId } : {}) };
      if (kind === "gift" && rec.donorId) {
        const donor = await call("GET", `/donors/${encodeURIComponent(rec.donorId)}`);
        // The Transaction's contact: the batch matches it by reference, email or name.
        if (donor) out.extra = { contact: { referenceId: donor.id, name: donor.fields.name, email: donor.email ?? donor.fields.email } };
      }
      return out;
    },
    /**
     * For the initial match and for matching a new Raise or Volunteer link: every live record of a kind, with what the
     * matcher compares (one page here; a large platform would return only the records sharing a value with `match`).
     */
    async list({ kind }) {
      const store = await call("GET", "/store");
      return { records: matchRecordsOf(store[COLLECTION[kind]] ?? {}) };
    },
    async apply(op) {
      return call("POST", "/sync/apply", op);
    },
  };
}
