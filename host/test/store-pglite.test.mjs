// PGlite, file-backed as the host uses it: each test gets a fresh data directory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { openPgliteStore } from "../src/store/pglite.mjs";
import { storeConformance } from "./store-conformance.mjs";

const dirs = [];
process.on("exit", () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), "vsh-pglite-"));
  dirs.push(d);
  return d;
};

// One file-backed database for the suite (creating a PGlite cluster takes seconds); each test starts from empty tables.
let shared;
const TABLES = "vsh_customers, vsh_inbox, vsh_records, vsh_decisions, vsh_outbox, vsh_dead_letters, vsh_kv, vsh_review";
storeConformance("pglite", async () => {
  shared ??= await openPgliteStore({ dataDir: join(fresh(), "db") });
  await shared.db.query(`TRUNCATE ${TABLES} RESTART IDENTITY`);
  return Object.assign(Object.create(shared), { close: async () => {} });
});
after(() => shared?.close());

test("pglite: data survives closing and reopening the directory", async () => {
  const dir = join(fresh(), "db");
  const a = await openPgliteStore({ dataDir: dir });
  await a.putCustomer("c", { customerId: "c" }, 1);
  await a.inboxInsert({ customerId: "c", dedupeKey: "k", receivedMs: 1, origin: "webhook", body: "{}", event: {} });
  await a.close();
  const b = await openPgliteStore({ dataDir: dir });
  assert.equal((await b.inboxGet("c", "k")).dedupeKey, "k");
  assert.equal((await b.migrate()).applied.length, 0);
  await b.close();
});
