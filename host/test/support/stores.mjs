// Store openers for the suites: each call gives an empty store of its kind.
//   memory   a new MemoryStore
//   pglite   one file-backed PGlite database per test file (creating a cluster takes seconds), emptied per call
//   postgres a PostgreSQL 15 server started once per test file, a new database per call (stopped at exit)
import { after } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { MemoryStore } from "../../src/store/memory.mjs";
import { openPgliteStore } from "../../src/store/pglite.mjs";
import { openPgStore } from "../../src/store/pg.mjs";
import { startPostgres } from "./postgres.mjs";

const TABLES = "vsh_customers, vsh_inbox, vsh_records, vsh_decisions, vsh_outbox, vsh_dead_letters, vsh_kv, vsh_review";

// Registered at load (on the file's root test), so they run once, when the whole file is done.
after(async () => {
  if (pglite) {
    await pglite.close();
    rmSync(pgliteDir, { recursive: true, force: true });
  }
  server?.stop();
});

export const openMemory = async () => new MemoryStore();

let pglite;
let pgliteDir;
export async function openPglite() {
  if (!pglite) {
    pgliteDir = mkdtempSync(join(tmpdir(), "vsh-pglite-"));
    pglite = await openPgliteStore({ dataDir: join(pgliteDir, "db") });
  }
  await pglite.db.query(`TRUNCATE ${TABLES} RESTART IDENTITY`);
  // The suite closes what it opened; the shared database stays open until the file ends.
  return Object.assign(Object.create(pglite), { close: async () => {} });
}

let server;
let dbs = 0;
export async function postgresUrl() {
  if (!server) {
    server = await startPostgres();
  }
  const name = `t${++dbs}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return server.url.replace("/postgres?", `/${name}?`);
}

export async function openPostgres() {
  return openPgStore({ connectionString: await postgresUrl() });
}
