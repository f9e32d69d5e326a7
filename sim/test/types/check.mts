// Compiled by types.test.mjs with --strict: the declared API as a TypeScript user sees it.
import { startSim, SimAdmin, type Delivery, type BatchReport, type RunningSim } from "virtuous-sync-sim";
import { SimAdmin as AdminOnly, SimApi } from "virtuous-sync-sim/admin-client";

export async function use(): Promise<number> {
  const s: RunningSim = await startSim({ seed: 1, clock: { mode: "manual", startMs: 0 }, forwardTo: "http://127.0.0.1:1/x", secret: "s" });
  const failed: Delivery[] = await s.admin.deliveries({ state: "failed" });
  const report: BatchReport = await s.admin.runBatch({ needsUpdate: ["PartnerPlatform:d-1", 3] });
  const admin: SimAdmin = new AdminOnly(s.url);
  await admin.flush({ advance: true });
  await admin.setOutages({ webhooks: true, api: { status: 503, count: 2 } });
  const res: Response = await new SimApi(s.url, s.apiKey ?? undefined).raw("GET", "/api/Gift/1");
  // @ts-expect-error: release orders are fifo, reverse or shuffle
  await admin.release("sideways");
  // @ts-expect-error: a delivery state filter is one of the four states
  await admin.deliveries({ state: "lost" });
  await s.close();
  return failed.length + report.processed + res.status;
}
