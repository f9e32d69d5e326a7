// The CLI: `start` (with --forward-to), `trigger`, `scenario run`, `batch run`, against a real child process.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SECRET, receiver } from "./helpers.mjs";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "virtuous-sim.mjs");
const run = promisify(execFile);

async function startCli(args, env = {}) {
  const child = spawn(process.execPath, [BIN, "start", "--port", "0", ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (c) => (out += c));
  child.stderr.on("data", (c) => (out += c));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start line: ${out}`)), 30_000);
    child.stdout.on("data", () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  return { url, child, output: () => out, stop: () => new Promise((r) => { child.once("exit", r); child.kill("SIGTERM"); }) };
}

const cli = async (url, ...args) => JSON.parse((await run(process.execPath, [BIN, ...args, "--url", url])).stdout);

test("start --forward-to with the secret from the environment; trigger and scenarios reach the receiver; the secret is never printed", async () => {
  const rx = await receiver();
  const sim = await startCli(["--seed", "4", "--forward-to", rx.url], { VIRTUOUS_SIM_SECRET: SECRET });
  try {
    const created = await cli(sim.url, "trigger", "contact.created", "--set", "email=ada@example.org", "--set", "firstName=Ada");
    assert.equal(created.type, "ContactCreate");
    const gift = await cli(sim.url, "trigger", "GiftCreate", "--set", "amount=40", "--set", "transactionSource=PartnerPlatform");
    assert.equal(gift.gift.amount, 40);
    const edited = await cli(sim.url, "trigger", "gift.updated", "--id", String(gift.gift.id), "--set", "amount=45", "--set", "notes=fixed");
    assert.equal(edited.gift.amount, 45);
    assert.equal(edited.gift.transactionSource, "PartnerPlatform");
    const merged = await cli(sim.url, "scenario", "run", "merge");
    assert.equal(merged.steps[1].step, "merge");
    const dup = await cli(sim.url, "scenario", "run", "duplicate", "--opt", `giftId=${gift.gift.id}`);
    assert.equal(dup.scenario, "duplicate");
    await cli(sim.url, "flush", "--advance");
    const events = rx.received.map((d) => d.json.event);
    assert.deepEqual(events.slice(0, 3), ["ContactCreate", "GiftCreate", "GiftUpdate"]);
    assert.equal(events.filter((e) => e === "GiftUpdate").length, 3, "the staff edit, then the duplicated edit twice");
    assert.ok(rx.received.every((d) => d.headers["x-virtuous-signature"]));
    const list = await cli(sim.url, "scenario", "list");
    assert.ok(list.some((s) => s.name === "rate-storm"));
    const out = sim.output();
    assert.match(out, /--> GiftUpdate/);
    assert.ok(!out.includes(SECRET), "the secret is not printed");
    await assert.rejects(run(process.execPath, [BIN, "trigger", "gift.exploded", "--url", sim.url]), (e) => e.code === 2 && /unknown event/.test(e.stderr));
  } finally {
    await sim.stop();
    await rx.close();
  }
});

test("scenarios through the CLI: outage exhausts retries, rate-storm throttles, batch run imports", async () => {
  const rx = await receiver();
  const sim = await startCli(["--seed", "8", "--clock", "manual", "--forward-to", rx.url, "--secret", SECRET, "--quiet"]);
  try {
    const outage = await cli(sim.url, "scenario", "run", "outage");
    const failedStep = outage.steps.find((s) => s.step === "every retry failed");
    assert.equal(failedStep.failed, 1, "only the edit's delivery: the created gift went out before the outage");
    const storm = await cli(sim.url, "scenario", "run", "rate-storm", "--opt", "count=2", "--opt", "retryAfterSeconds=3");
    assert.equal(storm.steps[0].storm.remaining, 2);
    const res = await fetch(`${sim.url}/api/Gift/Query`, { method: "POST", headers: { authorization: "Bearer sim-api-key" }, body: "{}" });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), "3");
    const batch = await cli(sim.url, "batch", "run");
    assert.equal(batch.processed, 0);
    assert.deepEqual(await cli(sim.url, "outage", "webhooks", "on"), { webhooks: true, api: false });
  } finally {
    await sim.stop();
    await rx.close();
  }
});
