// PostgreSQL through `pg` (a pool): what `DATABASE_URL` selects. bigint columns come back as strings from `pg`; the
// store converts them where it reads them.
import { SqlStore } from "./sql.mjs";

export async function openPgStore({ connectionString, max = 10 } = {}) {
  // Loaded here, not at import: `pg` is the costliest module the host kit can load, and most hosts never open it.
  const { default: pg } = await import("pg");
  const pool = new pg.Pool({ connectionString, max });
  // An idle client's error (the server restarting) must not crash the process: the pool replaces the client.
  pool.on("error", () => {});
  const db = {
    query: (text, params) => pool.query(text, params),
    tx: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const out = await fn((text, params) => client.query(text, params));
        await client.query("COMMIT");
        return out;
      } catch (e) {
        await client.query("ROLLBACK").catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
  const store = new SqlStore(db, { name: "postgres" });
  await store.migrate();
  return store;
}
