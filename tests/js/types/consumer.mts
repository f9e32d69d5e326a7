// Type-checked (tsc --noEmit, module node16) against pkg/index.d.ts as installed from the tarball. Never run.
import {
  SyncCore,
  InitialMatcher,
  RateBudget,
  transition,
  classifyResponse,
  mergeSubscription,
  planMergeRemap,
  startQueryRun,
  acceptQueryPage,
  finishQueryRun,
  parseModifiedTime,
  type InboundDecision,
  type LookupKeys,
  type OutboundDecision,
  type RecordState,
  type MatchPlan,
  type RateDecision,
  type QueryCursor,
  generateSecret,
  signBody,
  verifySignature,
  type Receipt,
  type SyncConfig,
  type Verification,
  type Signed,
  type VirtuousSyncError,
  type HeadersLike,
} from "virtuous-sync";

const config: SyncConfig = {
  secrets: ["a-secret-of-at-least-32-bytes-long!!", { id: "next", secret: generateSecret(), notAfter: Date.now() }],
  platformName: "example",
  scheme: { preset: "virtuous", encoding: "auto", tolerance: { pastSeconds: 300 } },
  subscribedEvents: ["gift-create", "contact-update"],
  maxBodyBytes: 1 << 20,
  diagnostics: true,
};
const core = new SyncCore(config);

const headerShapes: HeadersLike[] = [
  { "x-virtuous-signature": "abc", "x-forwarded-for": ["a", "b"], absent: undefined },
  new Headers({ "x-virtuous-signature": "abc" }),
  [["x-virtuous-signature", "abc"]],
  new Map([["x-virtuous-signature", "abc"]]),
];
for (const h of headerShapes) {
  const receipt: Receipt = core.receive(new Uint8Array(), h, Date.now());
  const status: number = receipt.status;
  const type: string | undefined = receipt.event?.eventType;
  const key: string | undefined = receipt.dedupeKey;
  const codes: string[] = receipt.warnings.map((w) => w.code);
  const replay: "checked" | "unavailable" | "not-checked" = receipt.replay;
  void [status, type, key, codes, replay];
}
core.receive("{}", {});
core.receive(new ArrayBuffer(0), {});

const signed: Signed = signBody("{}", "secret", { scheme: "standard-webhooks", timestamp: 1_700_000_000, id: "msg_1" });
const v: Verification = verifySignature("{}", signed.signature, ["secret"], { nowMs: 1, diagnostics: true });
if (!v.ok) console.log(v.code, v.message, v.diagnostics.length);
const s: string = generateSecret({ bytes: 48, format: "hex" });
void s;

try {
  new SyncCore({ secrets: [], platformName: "x" });
} catch (e) {
  const err = e as VirtuousSyncError;
  console.log(err.code, err.field, err.message, err instanceof Error);
}

// @ts-expect-error platformName is required
new SyncCore({ secrets: ["x"] });
// @ts-expect-error unknown preset
new SyncCore({ secrets: ["x"], platformName: "p", scheme: "stripe" });
// @ts-expect-error body must be bytes or a string
core.receive(42, {});

// Sync decisions: a host loop.
const syncCore = new SyncCore({
  secrets: ["a-secret-of-at-least-32-bytes-long!!"],
  platformName: "example",
  sync: {
    customerId: "cust-1", cooldownMs: 30_000, policy: { default: "most-recent-wins", kinds: { gift: { fields: { amount: "virtuous-owns", giftDesignations: "virtuous-owns" } } } },
    updateMode: "full", undatedEvents: "fetch", unstampedCreates: "verify", readOnly: { gift: ["/id", "/giftDesignations/*/id"] },
    fieldMaps: { gift: [{ name: "giftDate", pointer: "/giftDate", type: "date", alsoRead: ["/giftDateFormatted"], required: true },
      { name: "giftDesignations", pointer: "/giftDesignations", type: "designations", itemKeys: ["projectCode"] }] },
  },
});
const stored = new Map<string, RecordState>();
const receipt2 = syncCore.receive("{}", {});
if (receipt2.event) {
  const found: LookupKeys = syncCore.lookupKeys(receipt2.event);
  for (const k of found.keys) {
    const key: string = k.tag === "external-ref" ? `${found.kind}:x:${k.val.id}` : `${found.kind}:v:${k.val}`;
    console.log(key);
  }
  const d: InboundDecision = syncCore.decideInbound(receipt2.event, stored.get("k") ?? null);
  if (d.action.tag === "apply" || d.action.tag === "create") console.log(Object.keys(d.action.val.fields));
  if (d.action.tag === "confirm") console.log(d.action.val.virtuousId);
  if (d.record) stored.set("k", d.record);
  console.log(d.reason, d.inputs.changedFields);
}
const out: OutboundDecision = syncCore.decideOutbound(stored.get("k"), {
  customerId: "cust-1",
  kind: "gift",
  partnerId: "d-1",
  modifiedMs: Date.now(),
  fieldModifiedMs: { amount: Date.now() },
  fields: { amount: "25.00" },
});
if (out.action.tag === "submit") console.log(out.action.val.method, out.action.val.path, out.action.val.body);
// GET-then-PUT: a fetch is answered with the fetched record as `current`; apply-inbound carries an inbound decision.
if (out.action.tag === "fetch") {
  const get: "GET" | "POST" | "PUT" = out.action.val.method;
  const again: OutboundDecision = syncCore.decideOutbound(stored.get("k"), {
    customerId: "cust-1", kind: "gift", partnerId: "d-1", modifiedMs: Date.now(), fields: { amount: "25.00" },
    current: { id: 78421, amount: 500.0, segmentCode: "YE24" },
  });
  if (again.action.tag === "apply-inbound") console.log(get, again.action.val.action.tag, again.action.val.record?.state);
}
if (receipt2.event) {
  const d2: InboundDecision = syncCore.decideInbound(receipt2.event, null);
  if (d2.action.tag === "verify") console.log(d2.action.val.lookup.path, Object.keys(d2.action.val.digests));
  if (d2.action.tag === "fetch") console.log(d2.action.val.path, d2.reason === "undated");
}
const next: RecordState = transition({ customerId: "c", kind: "contact", syncState: "in_sync" }, "partner-write", 1);
void next;
syncCore.resolveConflict(next, { amount: { tag: "virtuous" }, notes: { tag: "value", val: "x" } });
syncCore.resolve({ kind: "gift", local: { values: { amount: "1.00" } }, remote: { values: {} } });
// @ts-expect-error unknown trigger
transition(next, "explode");

// Reconciliation, matcher, rate budget.
const m = new InitialMatcher({ partner: 2, virtuous: 1 });
m.addPartnerChunk([{ id: "p1", emails: ["a@x.org"] }, { id: "p2", references: [{ source: "example", id: "p2" }] }]);
m.addVirtuousChunk([{ id: "1", emails: [" A@x.org "], data: { amount: 1 } }]);
const plan: MatchPlan = m.finish();
const tiers: ("reference" | "email" | "strong-signal")[] = plan.pairs.map((p) => p.tier);
void tiers;
m.free();
// @ts-expect-error records need an id
m.addPartnerChunk([{ emails: ["a@x.org"] }]);

const budget = new RateBudget({ liveHeadroom: 200 });
budget.observe({ status: 200, headers: { remaining: "4200", reset: "1700001800" }, nowMs: 1, random: 7 });
budget.spend(3);
const go: RateDecision = budget.decide({ cost: 10, priority: "background" });
const wait: number = go.go ? 0 : go.waitMs + budget.backoffMs(2, 12345);
void [wait, budget.schedule(1000).allowedNow, budget.toJSON().remaining];
const restored: RateBudget = RateBudget.fromJSON(budget.toJSON());
// @ts-expect-error a stored state, not a config
RateBudget.fromJSON({ liveHeadroom: 200 });
void restored;

let cursor: QueryCursor = {};
let step = startQueryRun({ cursor, config: { resource: "gift", take: 500 } });
while (step.request) step = acceptQueryPage({ run: step.run, rows: [] });
cursor = finishQueryRun(step.run);
const cls = classifyResponse({ status: 429, retryAfter: "30", context: "query" });
if (cls.action === "wait-retry-after") console.log(cls.retryAfterMs);
mergeSubscription({ id: 7, payloadUrl: "https://example.org/hook", active: true }, { add: ["gift-create"] }).body;
planMergeRemap({ contacts: [{ contactId: "1", mergedIntoContactId: "2" }] }).survivors;
const t: number = parseModifiedTime("2026-11-20T15:04:05Z").ms;
void t;
