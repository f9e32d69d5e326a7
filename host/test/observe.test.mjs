// Observability: the onDecision hook, counters as JSON and Prometheus text, spans, the redacting logger (no secret
// and no payload in what the host prints), retention (memory and PGlite stores) and the people routes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import { HostError, MemoryStore, createApp, metrics, prometheus, redact, jsonLogger, retentionOf, SPAN_NAMES, explain, REASONS } from "../src/index.mjs";
import { customerSettings, manualClock, memoryPartner, signed, SECRET } from "./support/harness.mjs";
import { Host } from "../src/host.mjs";

const C = "tenant-1";
const DAY = 86_400_000;
const giftEvent = (id, modified, gift = {}) => ({
  event: "GiftCreate",
  gift: { id, amount: 25, giftDate: "2026-11-29", giftType: "Cash", currencyCode: "USD", modifiedDateTimeUtc: modified, notes: "donor-private-note-7781", ...gift },
});

async function setup({ store = new MemoryStore(), clock = manualClock(), onDecision, tracer, log, extra } = {}) {
  const partner = memoryPartner({ now: clock.now });
  const host = new Host({ store, partner, clock, onDecision, tracer, log, fetch: async () => new Response("{}", { status: 200 }) });
  partner.onChange((c) => host.reportPartnerChange({ customerId: C, ...c }));
  await host.putCustomer(customerSettings(C, "http://virtuous.test", extra));
  return { host, store, partner, clock };
}

async function settle(host) {
  for (let i = 0; i < 3; i++) {
    await host.drain();
    await new Promise((r) => setImmediate(r));
  }
}

test("onDecision: every delivery and every stored decision, in order; a throwing hook never stops the sync", async () => {
  const seen = [];
  let fail = true;
  const { host } = await setup({
    onDecision: (d) => {
      seen.push(d);
      if (fail) {
        fail = false;
        throw new Error("hook bug");
      }
    },
  });
  const d = signed(giftEvent(501, "2026-11-30T11:00:00Z"));
  assert.equal((await host.receive(C, d.text, d.headers)).status, 200);
  assert.equal((await host.receive(C, d.text, { ...d.headers, "x-virtuous-signature": "AAAA" })).status, 401);
  await settle(host);
  assert.deepEqual(seen.slice(0, 2).map((x) => [x.direction, x.action, x.reason]), [["receive", "200", "accepted"], ["receive", "401", "malformed-signature"]]);
  const inbound = seen.find((x) => x.direction === "inbound");
  assert.equal(inbound.reason, "new-record");
  assert.equal(inbound.customerId, C);
  assert.match(inbound.recordKey, /^gift:/);
  assert.equal(typeof inbound.atMs, "number");
  const tl = await host.timeline(C, inbound.recordKey);
  assert.equal(seen.filter((x) => x.recordKey === inbound.recordKey).length, tl.entries.length, "one call per stored decision");
});

test("metrics: deliveries by reason, echoes, writes by outcome, open conflicts, dead letters, budget as JSON and Prometheus text", async () => {
  const { host } = await setup();
  const d = signed(giftEvent(501, "2026-11-30T11:00:00Z"));
  await host.receive(C, d.text, d.headers);
  await host.receive(C, d.text, d.headers); // a duplicate is still an accepted delivery
  await host.receive(C, d.text, { "x-virtuous-signature": signed("other").headers["x-virtuous-signature"] });
  const empty = signed("");
  await host.receive(C, empty.text, empty.headers); // authentic, unreadable: a dead letter
  await settle(host);
  const m = await metrics(host);
  const c = m.customers[C];
  assert.deepEqual(c.deliveriesByReason, { accepted: 2, "signature-mismatch": 1, "dead-letter": 1 });
  assert.equal(c.deadLetters, 1);
  assert.equal(c.openConflicts, 0);
  assert.equal(c.counters.applied, 1);
  assert.deepEqual(Object.keys(c.writesByOutcome), ["written", "retried", "rate-limited", "failed", "waited-for-budget"]);
  const text = prometheus(m);
  assert.match(text, /^# TYPE virtuous_sync_deliveries_total counter$/m);
  assert.match(text, /^virtuous_sync_deliveries_total\{customer="tenant-1",reason="signature-mismatch"\} 1$/m);
  assert.match(text, /^virtuous_sync_dead_letters\{customer="tenant-1"\} 1$/m);
  assert.match(text, /^virtuous_sync_writes_total\{customer="tenant-1",outcome="written"\} 0$/m);
  assert.match(text, /^virtuous_sync_echoes_recognised_total\{customer="tenant-1"\} 0$/m);
  for (const line of text.trim().split("\n")) assert.match(line, /^(# (HELP|TYPE) virtuous_sync_\w+ .+|virtuous_sync_\w+\{[^}]*\} -?[\d.e+]+)$/, line);
  // Label values are escaped.
  assert.match(prometheus({ customers: { 'a"b\\c': { ...c } } }), /customer="a\\"b\\\\c"/);
});

test("HTTP: /metrics (Prometheus, behind the API token when one is set), /api/v1/metrics, the customer list and decisions", async () => {
  const { host } = await setup();
  const d = signed(giftEvent(502, "2026-11-30T11:00:00Z"));
  await host.receive(C, d.text, d.headers);
  await settle(host);
  const open = createApp(host);
  const prom = await open.request("/metrics");
  assert.equal(prom.status, 200);
  assert.match(prom.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  assert.match(await prom.text(), /virtuous_sync_deliveries_total\{customer="tenant-1",reason="accepted"\} 1/);
  const list = await (await open.request("/api/v1/customers")).json();
  assert.deepEqual(list.customers.map((x) => [x.customerId, x.health.level]), [[C, "healthy"]]);
  const dec = await (await open.request(`/api/v1/customers/${C}/decisions?limit=5`)).json();
  assert.equal(dec.decisions[0].explanation.text, explain(dec.decisions[0].reason).text);
  assert.ok(dec.decisions.some((x) => x.reason === "new-record"));
  const rec = await (await open.request(`/api/v1/customers/${C}/records?kind=gift&id=502`)).json();
  assert.equal(rec.virtuousId, "502");
  assert.equal((await open.request(`/api/v1/customers/${C}/records?id=nope`)).status, 404);
  assert.equal((await open.request(`/api/v1/customers/nobody/decisions`)).status, 404);
  const page = await open.request("/status");
  assert.match(await page.text(), /<title>Virtuous sync status<\/title>/);
  const locked = createApp(host, { token: "t0k" });
  assert.equal((await locked.request("/metrics")).status, 401);
  assert.equal((await locked.request("/api/v1/metrics")).status, 401);
  assert.equal((await locked.request("/metrics", { headers: { authorization: "Bearer t0k" } })).status, 200);
  assert.equal((await locked.request("/api/v1/customers", { headers: { authorization: "Bearer t0k" } })).status, 200);
});

test("spans: one per unit of work with the documented names; the receipt's reason as an attribute", async () => {
  const spans = [];
  const tracer = {
    startActiveSpan(name, opts, fn) {
      const s = { name, attributes: { ...opts.attributes }, ended: false, setAttributes: (a) => Object.assign(s.attributes, a), end: () => (s.ended = true) };
      spans.push(s);
      return fn(s);
    },
  };
  const { host } = await setup({ tracer });
  const d = signed(giftEvent(503, "2026-11-30T11:00:00Z"));
  await host.receive(C, d.text, d.headers);
  await host.drain();
  const names = new Set(spans.map((s) => s.name));
  for (const n of [SPAN_NAMES.receive, SPAN_NAMES.processInbox, SPAN_NAMES.processPartnerChanges, SPAN_NAMES.submitDue]) assert.ok(names.has(n), n);
  const r = spans.find((s) => s.name === "virtuous_sync.receive");
  assert.deepEqual(r.attributes, { "virtuous_sync.customer_id": C, "virtuous_sync.reason": "accepted", "http.response.status_code": 200 });
  assert.ok(spans.every((s) => s.ended));
});

test("logs: the JSON logger redacts secrets and payloads; a host run with failures prints neither the secret, the API token nor a payload", () => {
  const lines = [];
  const log = jsonLogger({ write: (l) => lines.push(l), clock: () => 0 });
  log("x", { secret: SECRET, headers: { authorization: "Bearer abc" }, body: { gift: { notes: "p" } }, error: "e".repeat(1000) });
  const j = JSON.parse(lines[0]);
  assert.equal(j.secret, "[redacted]");
  assert.equal(j.headers.authorization, "[redacted]");
  assert.equal(j.body, "[payload omitted]");
  assert.ok(j.error.length < 400);
  assert.deepEqual(redact("short"), "short");

  // A real run in a child process, its stdout and stderr searched.
  const script = fileURLToPath(new URL("./support/noisy-run.mjs", import.meta.url));
  const r = spawnSync(process.execPath, [script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout + r.stderr;
  assert.match(out, /inbound-failed/, "the run did log its failures");
  assert.match(out, /receive-store-failed/);
  for (const needle of [SECRET, "sim-api-key", "donor-private-note-7781", "ada-private@example.org"]) assert.ok(!out.includes(needle), `output holds ${needle}`);
});

test("retention: settings validated; the host prunes decisions, dead letters and finished inbox events by age (every store: store-retention.test.mjs)", async () => {
  assert.deepEqual(retentionOf({}), { decisionsDays: 90, deadLettersDays: 30, inboxDays: 30 });
  assert.throws(() => retentionOf({ retention: { decisionsDays: 0 } }), (e) => e instanceof HostError && e.code === "invalid-setting");
  assert.throws(() => retentionOf({ retention: { keepForever: true } }), /not a setting/);
  await assert.rejects(setup({ extra: { retention: { inboxDays: "30" } } }), /invalid-setting/);
  for (const open of [async () => new MemoryStore()]) {
    const store = await open();
    try {
      const clock = manualClock();
      const { host } = await setup({ store, clock, extra: { retention: { decisionsDays: 10, deadLettersDays: 5 } } });
      const d = signed(giftEvent(601, "2026-11-30T11:00:00Z"));
      await host.receive(C, d.text, d.headers);
      const bad = signed("{");
      await host.receive(C, bad.text, bad.headers);
      await settle(host);
      const key = (await store.findRecord(C, { kind: "gift", virtuousId: "601" })).recordKey;
      const before = (await host.timeline(C, key)).entries.length;
      assert.ok(before > 0);
      clock.advance(6 * DAY);
      let r = await host.applyRetention();
      assert.deepEqual(r[C], { decisions: 0, deadLetters: 1, inboxEvents: 0 }, store.name);
      clock.advance(25 * DAY);
      r = await host.applyRetention();
      assert.equal(r[C].decisions, before, store.name);
      assert.equal(r[C].inboxEvents, 1, store.name);
      assert.equal((await host.timeline(C, key)).entries.length, 0);
      assert.equal((await store.listDeadLetters(C)).length, 0);
      // The dedupe key outlives the event: a late redelivery is still a duplicate.
      const again = await host.receive(C, d.text, d.headers);
      assert.equal(again.body.duplicate, true, store.name);
    } finally {
      await store.close?.();
    }
  }
});

test("every code the status page can show has a troubleshooting entry in the customer docs", () => {
  const doc = readFileSync(new URL("../../docs/customer/troubleshooting.md", import.meta.url), "utf8");
  const missing = Object.keys(REASONS).filter((code) => !doc.includes(`\`${code}\``));
  assert.deepEqual(missing, []);
  assert.equal(explain("lookup-404").tone, "wait");
});
