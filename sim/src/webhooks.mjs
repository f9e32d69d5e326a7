// Webhook deliveries: one per event and active subscription, signed at each attempt with the subscription's
// current secret, retried on anything but 2xx (docs 1.5: 4xx too), with scriptable duplicates, reordering, holds
// and an "endpoint unreachable" outage. One sender at a time, oldest due first, so a run is reproducible.
import http from "node:http";
import https from "node:https";
import { signBody } from "./sign.mjs";

export class Deliverer {
  /** @param {{clock, config, rng: import("./rng.mjs").Rng, store, log?: Function}} deps */
  constructor({ clock, config, rng, store, log }) {
    this.clock = clock;
    this.config = config;
    this.rng = rng;
    this.store = store;
    this.log = log ?? (() => {});
    this.deliveries = [];
    this.seq = 0;
    this.held = false;
    this.unreachable = false;
    this.duplicateNext = 0;
    this.active = null;
    this.timer = null;
    this.closed = false;
  }

  /** Queues one delivery of `body` (the exact bytes every attempt sends) to subscription `sub`. */
  enqueue(event, sub, body, extra = {}) {
    const now = this.clock.now();
    let dueAtMs = now;
    const faults = this.config.faults;
    let delayedForReorder = false;
    if (!extra.duplicateOf && this.rng.chance(faults.reorderRate)) {
      dueAtMs += faults.reorderDelayMs;
      delayedForReorder = true;
    }
    const d = {
      id: `dlv_${String(++this.seq).padStart(5, "0")}`,
      seq: this.seq,
      eventId: event.id,
      eventType: event.type,
      resourceId: event.resourceId,
      subscriptionId: sub.id,
      body,
      state: "pending",
      createdAtMs: now,
      dueAtMs,
      delayedForReorder,
      duplicateOf: extra.duplicateOf ?? null,
      attempts: [],
    };
    this.deliveries.push(d);
    this.kick();
    return d;
  }

  /** Pending deliveries due now, in send order (due time, then creation). */
  due() {
    if (this.held) return [];
    const now = this.clock.now();
    return this.deliveries
      .filter((d) => d.state === "pending" && d.dueAtMs <= now)
      .sort((a, b) => a.dueAtMs - b.dueAtMs || a.seq - b.seq);
  }

  nextPendingAt() {
    const p = this.deliveries.filter((d) => d.state === "pending").map((d) => d.dueAtMs);
    return p.length ? Math.min(...p) : null;
  }

  /** Sends everything due, one at a time; concurrent callers share the one run. */
  runDue() {
    if (this.active) return this.active;
    const run = (async () => {
      await null; // never settle synchronously: `this.active` is assigned before the run can clear it
      try {
        for (;;) {
          if (this.closed) return;
          const [d] = this.due();
          if (!d) return;
          await this.attempt(d);
        }
      } finally {
        if (this.active === run) this.active = null;
      }
    })();
    this.active = run;
    return run;
  }

  /** Starts the background sender (unless `autoDeliver` is off: then only `flush` sends). */
  start() {
    if (this.timer || this.config.autoDeliver === false) return;
    this.timer = setInterval(() => this.kick(), this.config.pumpIntervalMs);
    this.timer.unref?.();
  }

  kick() {
    if (this.config.autoDeliver === false || this.closed) return;
    if (this.due().length) this.runDue().catch(() => {});
  }

  async close() {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.active) await this.active.catch(() => {});
  }

  /**
   * Sends everything due now and waits. With `advance`, then moves the clock to each next retry (or reordered
   * delivery) and sends again, until nothing is pending or `maxRounds` is reached.
   */
  async flush({ advance = false, maxRounds = 1000 } = {}) {
    const before = this.clock.now();
    let rounds = 0;
    for (;;) {
      await this.runDue();
      if (this.closed) break;
      if (this.due().length) continue;
      if (!advance || this.held || ++rounds > maxRounds) break;
      const next = this.nextPendingAt();
      if (next === null) break;
      if (next > this.clock.now()) this.clock.set(next);
    }
    return {
      advancedMs: this.clock.now() - before,
      pending: this.deliveries.filter((d) => d.state === "pending").length,
      delivered: this.deliveries.filter((d) => d.state === "delivered").length,
      failed: this.deliveries.filter((d) => d.state === "failed").length,
    };
  }

  hold() {
    this.held = true;
  }

  /** Ends a hold; pending deliveries go out now in `order`: "fifo" (default), "reverse" or "shuffle" (seeded). */
  release(order = "fifo") {
    const pending = this.deliveries.filter((d) => d.state === "pending").sort((a, b) => a.dueAtMs - b.dueAtMs || a.seq - b.seq);
    let ordered = pending;
    if (order === "reverse") ordered = [...pending].reverse();
    else if (order === "shuffle") {
      ordered = [...pending];
      for (let i = ordered.length - 1; i > 0; i--) {
        const j = this.rng.int(0, i);
        [ordered[i], ordered[j]] = [ordered[j], ordered[i]];
      }
    } else if (order !== "fifo") throw new RangeError(`release order must be fifo, reverse or shuffle, not ${order}`);
    const now = this.clock.now();
    // Same due time for all; send order follows a fresh sequence number.
    for (const d of ordered) {
      d.dueAtMs = now;
      d.seq = ++this.seq;
    }
    this.held = false;
    this.kick();
    return ordered.map((d) => d.id);
  }

  /** Re-sends a delivery's exact bytes as a new delivery (a replay, like the ngrok inspector's). */
  redeliver(id) {
    const orig = this.deliveries.find((d) => d.id === id);
    if (!orig) return null;
    const sub = this.store.subscriptions.get(orig.subscriptionId);
    if (!sub) return null;
    return this.enqueue({ id: orig.eventId, type: orig.eventType, resourceId: orig.resourceId }, sub, orig.body, { duplicateOf: orig.id });
  }

  headersFor(d, sub) {
    const sc = this.config.signature;
    const headers = { "content-type": "application/json; charset=utf-8", "user-agent": "Virtuous-Webhooks (virtuous-sync-sim)" };
    if (sub.secret) headers[sc.header.toLowerCase()] = signBody(d.body, sub.secret, sc);
    else if (this.config.unsignedWithoutSecret === false) return null;
    return headers;
  }

  async attempt(d) {
    const sub = this.store.subscriptions.get(d.subscriptionId);
    const n = d.attempts.length + 1;
    const at = this.clock.now();
    if (!sub) {
      d.state = "dropped";
      d.attempts.push({ n, atMs: at, error: "subscription deleted" });
      return;
    }
    const headers = this.headersFor(d, sub);
    let result;
    if (this.unreachable) result = { error: "ECONNREFUSED (simulated outage)", simulated: true };
    else result = await post(sub.payloadUrl, d.body, headers, this.config.deliveryTimeoutMs);
    const shownHeaders = { ...headers };
    d.attempts.push({ n, atMs: at, url: sub.payloadUrl, headers: shownHeaders, ...result });
    const ok = result.status >= 200 && result.status < 300;
    this.log({ delivery: d, attempt: d.attempts.at(-1), ok });
    if (ok) {
      d.state = "delivered";
      const dup = this.duplicateNext > 0 || this.rng.chance(this.config.faults.duplicateRate);
      if (!d.duplicateOf && dup) {
        if (this.duplicateNext > 0) this.duplicateNext--;
        const copy = this.enqueue({ id: d.eventId, type: d.eventType, resourceId: d.resourceId }, sub, d.body, { duplicateOf: d.id });
        copy.dueAtMs = this.clock.now() + this.config.faults.duplicateDelayMs;
      }
      return;
    }
    const delays = this.config.retry.delaysMs;
    if (n > delays.length) {
      d.state = "failed";
      return;
    }
    const jitter = this.config.retry.jitterMs ? this.rng.int(0, this.config.retry.jitterMs) : 0;
    d.dueAtMs = this.clock.now() + delays[n - 1] + jitter;
  }

  list() {
    return this.deliveries.map((d) => ({ ...d, attempts: d.attempts.map((a) => ({ ...a })) }));
  }
}

/** One POST; resolves to `{status, durationMs, responseBody}` or `{error, durationMs}` (never rejects). */
function post(url, body, headers, timeoutMs) {
  const started = Date.now();
  return new Promise((resolve) => {
    let u;
    try {
      u = new URL(url);
    } catch {
      resolve({ error: `invalid URL`, durationMs: 0 });
      return;
    }
    const lib = u.protocol === "https:" ? https : http;
    const req = lib.request(u, { method: "POST", agent: false, headers: { ...headers, "content-length": Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      let size = 0;
      res.on("data", (c) => {
        if (size < 2048) chunks.push(c);
        size += c.length;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode, durationMs: Date.now() - started, responseBody: Buffer.concat(chunks).toString("utf8").slice(0, 2048) }),
      );
      res.on("error", (e) => resolve({ error: e.code ?? e.message, durationMs: Date.now() - started }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })));
    req.on("error", (e) => resolve({ error: e.code ?? e.message, durationMs: Date.now() - started }));
    req.end(body);
  });
}
