// Type-checked (tsc --noEmit, module node16) against pkg/receive.d.ts through the "./receive" export. Never run.
import { SyncCore, verifySignature, signBody, generateSecret } from "virtuous-sync/receive";
import type { Receipt, SyncConfig, Verification } from "virtuous-sync/receive";

const config: SyncConfig = { secrets: [generateSecret()], platformName: "PartnerPlatform" };
const core = new SyncCore(config);
const body = new TextEncoder().encode("{}");
const receipt: Receipt = core.receive(body, signBody(body, config.secrets[0] as string).headers, Date.now());
const status: number = receipt.status;
const v: Verification = verifySignature(body, "sig", config.secrets);
// @ts-expect-error the receive-only core has no sync decisions
core.decideInbound(receipt.event!, null);
core.free();
export { status, v };
