// Moving a customer between engines (src/transfer.mjs, bin/virtuous-sync-host.mjs): a round trip memory → PGlite →
// Worker (Durable Objects, through its admin routes) → PGlite keeps the state equal at every step; after the move
// the Worker carries on: a write queued on the old engine is sent from the new one and its webhook echo is
// recognised as our own write; a redelivery of a webhook the old engine processed is dropped as a duplicate.
// Plus the file format's refusals (unknown version, another customer's file, a non-empty target, no settings).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { Host, MemoryStore, openPgliteStore } from "../src/index.mjs";
import { comparableState, exportFromStore, importIntoStore, TRANSFER_VERSION } from "../src/transfer.mjs";
import { startWorkerHost } from "../src/worker/miniflare.mjs";
import { startWorld, until } from "../../examples/partner-app/world.mjs";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "..", "bin", "virtuous-sync-host.mjs");
const C = "moving-nonprofit";
const ADMIN = "admin-token-for-the-move-0123";
const noPartner = { read: async () => null, apply: async () => ({}) };

let w;
let dir;
let worker;
let settings;
const docs = {};
let vid;
let donorId;
let firstDelivery;

const cli = async (args, { input } = {}) => {
  const p = run(process.execPath, [CLI, ...args], { env: { ...process.env, VIRTUOUS_SYNC_ADMIN_TOKEN: ADMIN }, maxBuffer: 64 << 20 });
  if (input != null) {
    p.child.stdin.end(input);
  }
  return p;
};
const partner = async (method, path, body) => (await fetch(w.partner.url + path, { method, headers: body ? { "content-type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined })).json();
const workerApi = async (method, path, body, token) => {
  const res = await fetch(`${worker.url}/api/v1/customers/${C}${path}`, { method, headers: { ...(body ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, json: await res.json() };
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "vsh-transfer-"));
  // The old engine: the Node host on memory, driven by hand (no background loops) so the moment of the move is exact.
  w = await startWorld({ store: new MemoryStore(), customerId: C, sync: { cooldownMs: 200 } });
  const host = w.host;
  const quiet = async () => {
    await w.sim.admin.flush();
    for (let i = 0; i < 50; i++) {
      await host.drain();
      if (!w.partner.pendingHooks() && !(await host.status(C)).inbox.pending) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const c = await w.sim.admin.createContact({ name: "Moving Person", firstName: "Moving", lastName: "Person", contactType: "Household" });
  vid = c.id;
  await until(async () => (await host.status(C)).inbox.pending > 0, { what: "the create delivered" });
  await quiet();
  donorId = Object.values((await partner("GET", "/store")).donors).find((d) => d.virtuousId === String(vid))?.id;
  assert.ok(donorId, "the contact reached the partner");
  [firstDelivery] = await w.sim.admin.deliveries({ state: "delivered" });
  // A partner edit decided and queued (submit held back): the write is in the outbox when the customer moves.
  await partner("PATCH", `/donors/${donorId}`, { fields: { name: "Moving Person Renamed" } });
  await until(async () => !w.partner.pendingHooks(), { what: "the partner's hook" });
  // (The name was applied from Virtuous a moment ago: the core holds it for the cooldown, then queues the write.)
  const ob = await until(async () => {
    await host.drain({ submit: false });
    const x = await host.store.listOutbox(C);
    return x.length ? x : null;
  }, { what: "the queued write" });
  assert.equal(ob.length, 1, "one queued write");
  assert.match(ob[0].request.path, new RegExp(`/api/Contact/${vid}`));
  settings = (await host.store.getCustomer(C)).settings;
  // The procedure's first steps: pause on the source (the subscription is deactivated), drained (inbox empty).
  await host.pause(C);
  assert.equal((await host.status(C)).inbox.pending, 0);
});

after(async () => {
  await worker?.dispose();
  await w?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("round trip memory → PGlite → Worker → PGlite: the same state at every step; no secret in any file", async () => {
  docs.memory = await exportFromStore(w.host.store, C);
  assert.equal(docs.memory.version, TRANSFER_VERSION);
  assert.ok(docs.memory.paused > 0, "paused");
  assert.equal(docs.memory.records.length, 1);
  assert.equal(docs.memory.outbox.length, 1);
  assert.ok(docs.memory.dedupe.length >= 1, "the processed deliveries' dedupe keys");
  assert.ok(docs.memory.kv.counters, "counters");

  // PGlite in this process (the library), then the CLI against the same data directory.
  const pg1 = await openPgliteStore({ dataDir: join(dir, "pg1") });
  await new Host({ store: pg1, partner: noPartner }).putCustomer(settings);
  await importIntoStore(pg1, docs.memory);
  await pg1.close();
  const exported = await cli(["export", "--store", `pglite:${join(dir, "pg1")}`, "--customer", C]);
  docs.pglite = JSON.parse(exported.stdout);
  assert.deepEqual(comparableState(docs.pglite), comparableState(docs.memory), "PGlite holds what memory held");

  // The Worker: settings through its admin route, then the CLI's import and export over its admin routes.
  worker = await startWorkerHost({ dir: join(dir, "worker"), adminToken: ADMIN });
  assert.equal((await workerApi("PUT", "", { ...settings, partner: { url: w.partner.url } }, ADMIN)).status, 200);
  writeFileSync(join(dir, "pglite.json"), exported.stdout);
  const imp = await cli(["import", "--store", `worker:${worker.url}`, join(dir, "pglite.json")]);
  assert.equal(JSON.parse(imp.stdout).imported.records, 1);
  docs.worker = JSON.parse((await cli(["export", "--store", `worker:${worker.url}`, "--customer", C])).stdout);
  assert.deepEqual(comparableState(docs.worker), comparableState(docs.memory), "the Worker holds what memory held");

  const pg2 = await openPgliteStore({ dataDir: join(dir, "pg2") });
  await new Host({ store: pg2, partner: noPartner }).putCustomer(settings);
  await pg2.close();
  writeFileSync(join(dir, "worker.json"), JSON.stringify(docs.worker));
  await cli(["import", "--store", `pglite:${join(dir, "pg2")}`, join(dir, "worker.json")]);
  const v = await cli(["verify", "--store", `pglite:${join(dir, "pg2")}`, "--customer", C, join(dir, "pglite.json")]);
  assert.deepEqual(JSON.parse(v.stdout).differs, []);

  const secrets = [...settings.secrets.map((s) => s.secret), settings.virtuous.token];
  for (const [name, doc] of Object.entries(docs)) for (const s of secrets) assert.ok(!JSON.stringify(doc).includes(s), `no secret in the ${name} file`);
});

test("after the move the Worker carries on: the queued write is sent and reported on its 2xx, its echo changes nothing, an old redelivery dropped", async () => {
  // Switch the webhook's payload URL to the Worker (GET-then-PUT of the subscription, as the procedure says).
  const token = settings.virtuous.token;
  const api = (method, path, body) => fetch(`${w.sim.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined }).then((r) => r.json());
  const sub = await api("GET", `/api/Webhook/${settings.webhookId}`);
  await api("PUT", `/api/Webhook/${settings.webhookId}`, { ...sub, payloadUrl: `${worker.url}/webhooks/virtuous/${C}` });
  const modifiedBefore = (await partner("GET", `/donors/${donorId}`)).modifiedMs;
  // Resume on the target: the subscription reactivated, a reconciliation from the pause time, then the submitter.
  assert.equal((await workerApi("GET", "/status")).json.paused, true, "the paused state moved with the customer");
  assert.equal((await workerApi("POST", "/resume")).status, 200);

  // The imported outbox entry is sent by the record's Object (its alarm, armed by the import).
  await until(async () => (await w.sim.admin.contact(vid)).name === "Moving Person Renamed", { what: "the queued write sent from the Worker", timeoutMs: 30_000 });
  await w.sim.admin.flush();
  const status = async () => (await workerApi("GET", "/status")).json;
  // The write's 2xx is reported to the core at once (a full-record PUT: PartnerChange.written), so the webhook of our
  // own write finds it confirmed already and changes nothing.
  const timeline = async () => (await workerApi("GET", `/records/${encodeURIComponent(`contact:v${vid}`)}/timeline`)).json.entries;
  const s = await until(async () => {
    const x = await status();
    const tl = await timeline();
    const reported = tl.some((e) => e.direction === "outbound" && e.detail?.written);
    return reported && tl.some((e) => e.direction === "inbound") && x.inbox.pending === 0 && x.outbox.depth === 0 ? x : null;
  }, { what: "the moved write, reported, and its echo", timeoutMs: 30_000 });
  const inbound = (await timeline()).filter((e) => e.direction === "inbound");
  assert.deepEqual(inbound.map((e) => e.action), ["skip"], "the webhook of our own write changed nothing");
  assert.equal((await partner("GET", `/donors/${donorId}`)).modifiedMs, modifiedBefore, "the partner untouched by the echo");
  assert.equal((await w.sim.admin.contact(vid)).name, "Moving Person Renamed");

  // A webhook the old engine processed, delivered again after the move: dropped by the imported dedupe window.
  const tlBefore = (await workerApi("GET", `/records/${encodeURIComponent(`contact:v${vid}`)}/timeline`)).json.entries.length;
  await w.sim.admin.redeliver(firstDelivery.id);
  await w.sim.admin.flush();
  await new Promise((r) => setTimeout(r, 500));
  const after = await status();
  assert.equal(after.inbox.pending, 0);
  assert.equal((await workerApi("GET", `/records/${encodeURIComponent(`contact:v${vid}`)}/timeline`)).json.entries.length, tlBefore, "no decision for the old delivery");
  assert.equal(after.counters.applied ?? 0, s.counters.applied ?? 0);
});

test("refusals: an unknown version, another customer's file, a non-empty target, a customer without settings, the admin token", async () => {
  const file = join(dir, "bad.json");
  writeFileSync(file, JSON.stringify({ ...docs.memory, version: TRANSFER_VERSION + 1 }));
  await assert.rejects(cli(["import", "--store", `pglite:${join(dir, "pg3")}`, file]), (e) => e.code === 2 && /unknown-version/.test(e.stderr));
  writeFileSync(file, JSON.stringify({ ...docs.memory, format: "something-else" }));
  await assert.rejects(cli(["import", "--store", `pglite:${join(dir, "pg3")}`, file]), (e) => e.code === 2 && /unknown-format/.test(e.stderr));
  writeFileSync(file, JSON.stringify(docs.memory));
  await assert.rejects(cli(["import", "--store", `pglite:${join(dir, "pg3")}`, "--customer", "someone-else", file]), (e) => e.code === 2 && /customer-mismatch/.test(e.stderr));
  await assert.rejects(cli(["import", "--store", `pglite:${join(dir, "pg3")}`, file]), (e) => e.code === 2 && /unknown-customer/.test(e.stderr));
  await assert.rejects(cli(["import", "--store", `pglite:${join(dir, "pg2")}`, file]), (e) => e.code === 2 && /not-empty/.test(e.stderr));
  const r = await workerApi("POST", "/import", docs.memory, ADMIN);
  assert.equal(r.status, 409);
  assert.equal(r.json.error, "not-empty");
  assert.equal((await workerApi("GET", "/export")).status, 401, "the export needs the admin token");
  assert.equal((await workerApi("GET", "/export", null, "not-the-token")).status, 401);
  // A value equal to a secret never leaves in a file.
  await w.host.store.kvPut(C, "note", { leaked: settings.secrets[0].secret });
  await assert.rejects(exportFromStore(w.host.store, C), (e) => e.code === "secret-in-export" && !e.message.includes(settings.secrets[0].secret));
});
