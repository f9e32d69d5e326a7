// Store selection: PostgreSQL when DATABASE_URL is set, else PGlite in `dataDir` (file-backed), or memory.
export { MemoryStore } from "./memory.mjs";
export { SqlStore } from "./sql.mjs";
export { StoreError } from "./contract.mjs";
export { openPgliteStore } from "./pglite.mjs";
export { openPgStore } from "./pg.mjs";
import { MemoryStore } from "./memory.mjs";
import { openPgliteStore } from "./pglite.mjs";
import { openPgStore } from "./pg.mjs";

/** `{databaseUrl}` → PostgreSQL; `{dataDir}` → PGlite on disk; `{memory: true}` → the in-memory store. */
export async function openStore({ databaseUrl = process.env.DATABASE_URL, dataDir, memory } = {}) {
  if (memory) return new MemoryStore();
  if (databaseUrl) return openPgStore({ connectionString: databaseUrl });
  return openPgliteStore({ dataDir });
}
