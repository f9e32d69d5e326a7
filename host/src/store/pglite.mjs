// The embedded default: PGlite (PostgreSQL compiled to wasm), file-backed. One connection per process; PGlite
// queues queries, and a transaction holds the connection until it ends.
import { SqlStore } from "./sql.mjs";

/** Opens (creating when absent) a PGlite database in `dataDir` (`undefined` or "memory://": in memory) and migrates it. */
export async function openPgliteStore({ dataDir } = {}) {
  // Loaded here, not at import: a host on PostgreSQL or in a serverless function never pays PGlite's load.
  const { PGlite } = await import("@electric-sql/pglite");
  const pg = await PGlite.create(dataDir ?? "memory://");
  const db = {
    query: (text, params) => pg.query(text, params).then((r) => ({ rows: r.rows, rowCount: r.affectedRows ?? r.rows.length })),
    tx: (fn) => pg.transaction((t) => fn((text, params) => t.query(text, params).then((r) => ({ rows: r.rows, rowCount: r.affectedRows ?? r.rows.length })))),
    close: () => pg.close(),
  };
  const store = new SqlStore(db, { name: "pglite" });
  await store.migrate();
  return store;
}
