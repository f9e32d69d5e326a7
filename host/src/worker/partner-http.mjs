// The partner port over HTTP, for hosts that cannot call the partner's code in-process (the Worker host):
//   POST {url}/sync/read   body {customerId, kind, partnerId, recordKey}  → 200 {fields, modifiedMs?, extra?, externalId?}
//                                                                          404 when the record is gone
//   POST {url}/sync/apply  body: the operation Host hands to partner.apply → 200 {partnerId?}
//   POST {url}/sync/list   body {customerId, kind, cursor?, limit, product?, match?} → 200 {records, cursor?} (what
//                          partner.list returns: the initial match, and matching a new Raise or Volunteer link; 404:
//                          the partner cannot list, and such a link waits in the review queue)
// `apply(create)` must be idempotent on `virtuousId` (the host asks again when it lost the outcome before its commit);
// answering `{partnerId, existed: true}` for a record already there lets the host update it to the create's values.
export function httpPartner({ url, token, fetch: f = globalThis.fetch, timeoutMs = 30_000 }) {
  if (!url) throw new TypeError("partner.url is required");
  const base = url.replace(/\/+$/, "");
  const call = async (path, body) => {
    const headers = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await f(base + path, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    const json = await res.json().catch(() => ({}));
    return { status: res.status, json };
  };
  return {
    async read(ref) {
      const r = await call("/sync/read", { customerId: ref.customerId, kind: ref.kind, partnerId: ref.partnerId, recordKey: ref.recordKey });
      if (r.status === 404) return null;
      if (r.status !== 200) throw new Error(`partner read: ${r.status} ${r.json?.error ?? ""}`);
      return r.json;
    },
    async list(q) {
      const r = await call("/sync/list", q);
      if (r.status === 404) return null;
      if (r.status !== 200) throw new Error(`partner list: ${r.status} ${r.json?.error ?? ""}`);
      return r.json;
    },
    async apply(op) {
      const r = await call("/sync/apply", op);
      if (r.status !== 200) throw new Error(`partner apply ${op.action}: ${r.status} ${r.json?.error ?? ""}`);
      return r.json;
    },
  };
}
