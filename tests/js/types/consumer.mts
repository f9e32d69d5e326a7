// Type-checked (tsc --noEmit, module node16) against pkg/index.d.ts as installed from the tarball. Never run.
import {
  SyncCore,
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
