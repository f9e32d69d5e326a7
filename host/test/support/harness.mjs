// Test harness: a host on a given store with an in-memory partner, a controllable clock and signed deliveries.
import { signBody } from "virtuous-sync";
import { Host } from "../../src/index.mjs";

export const SECRET = "test-secret-0123456789abcdef0123456789abcdef";
export const PLATFORM = "Acme Giving";

/** The partner port over a Map: what a partner platform implements. `calls` records every apply. */
export function memoryPartner({ now = () => Date.now() } = {}) {
  const records = new Map(); // `${kind}:${id}` -> {fields, modifiedMs, virtuousId, extra}
  const calls = [];
  let seq = 0;
  const hooks = [];
  const p = {
    records,
    calls,
    failNext: 0,
    /** Change hooks still running (a test waits for them before closing its store). */
    pending: new Set(),
    idle: () => Promise.all([...p.pending]),
    delayMs: 0,
    onChange: (fn) => hooks.push(fn),
    // The partner's change hook fires for the host's own applies too (as real platforms do), after the apply
    // returned; the core recognises the bounce.
    bounce(kind, id) {
      const done = new Promise((resolve) =>
        setImmediate(() => Promise.allSettled(hooks.map((h) => h({ kind, partnerId: id }))).then(() => resolve())),
      );
      p.pending.add(done);
      done.then(() => p.pending.delete(done));
    },
    get(kind, id) {
      return records.get(`${kind}:${id}`);
    },
    /** A user edits the partner record (the partner's change hook fires). */
    async edit(kind, id, fields, extra) {
      const cur = records.get(`${kind}:${id}`) ?? { fields: {} };
      records.set(`${kind}:${id}`, { ...cur, fields: { ...cur.fields, ...fields }, modifiedMs: now(), ...(extra ? { extra } : {}) });
      for (const h of hooks) await h({ kind, partnerId: id });
    },
    async read({ kind, partnerId }) {
      const r = records.get(`${kind}:${partnerId}`);
      if (!r || r.deleted || r.mergedInto) return null;
      return { fields: structuredClone(r.fields), modifiedMs: r.modifiedMs, ...(r.extra ? { extra: r.extra } : {}), ...(r.virtuousId ? { virtuousId: r.virtuousId } : {}) };
    },
    async apply(op) {
      if (p.delayMs) await new Promise((r) => setTimeout(r, p.delayMs));
      if (p.failNext > 0) {
        p.failNext--;
        throw new Error("partner unavailable");
      }
      calls.push(structuredClone(op));
      if (op.action === "create") {
        const existing = [...records.entries()].find(([k, r]) => k.startsWith(`${op.kind}:`) && r.virtuousId === op.virtuousId);
        if (existing) return { partnerId: existing[0].slice(op.kind.length + 1), existed: true };
        const id = `${op.kind === "gift" ? "don" : "donor"}-${++seq}`;
        records.set(`${op.kind}:${id}`, { fields: structuredClone(op.fields), modifiedMs: now(), virtuousId: op.virtuousId });
        p.bounce(op.kind, id);
        return { partnerId: id };
      }
      const r = records.get(`${op.kind}:${op.partnerId}`);
      if (!r) throw new Error(`no ${op.kind} ${op.partnerId}`);
      if (op.action === "update") {
        Object.assign(r, { fields: { ...r.fields, ...op.fields }, modifiedMs: now() });
        p.bounce(op.kind, op.partnerId);
      }
      if (op.action === "delete") r.deleted = true;
      if (op.action === "remap") r.mergedInto = op.survivorVirtuousId;
      return { partnerId: op.partnerId };
    },
  };
  return p;
}

export function customerSettings(customerId, virtuousUrl, extra = {}) {
  return {
    customerId,
    platformName: PLATFORM,
    secrets: [{ id: "s1", secret: SECRET }],
    // The unit suites script Virtuous's answers to writes only: partial updates and staff gifts created at once.
    // The defaults (GET-then-PUT, unstamped creates verified by a read) run end to end against the local Virtuous
    // (e2e-suite.mjs, the demo).
    sync: { cooldownMs: 60_000, updateMode: "partial", unstampedCreates: "create" },
    ...(virtuousUrl ? { virtuous: { baseUrl: virtuousUrl, token: "sim-api-key" } } : {}),
    ...extra,
  };
}

export function signed(body, secret = SECRET) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const s = signBody(text, secret);
  return { text, headers: { "content-type": "application/json", ...s.headers } };
}

export function makeHost(store, { partner, clock, fetch, workerId, options } = {}) {
  return new Host({ store, partner, clock, fetch, workerId, options });
}

/** A clock the test moves. */
export function manualClock(start = Date.parse("2026-11-30T12:00:00Z")) {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms), set: (ms) => (t = ms) };
}
