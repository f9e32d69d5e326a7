// A real PostgreSQL 15 server started by this test (private port and socket directory, stopped at the end); every
// conformance test gets its own database, and the concurrency test runs four pools against one.
import { after, before, test } from "node:test";
import pg from "pg";
import { openPgStore } from "../src/store/pg.mjs";
import { storeConformance } from "./store-conformance.mjs";
import { postgresAvailable, startPostgres } from "./support/postgres.mjs";

if (!postgresAvailable()) {
  // scripts/setup installs PostgreSQL 15; without it this suite must fail, not pass silently.
  test("postgres: server binaries present", () => {
    throw new Error("PostgreSQL 15 (initdb, pg_ctl) not found: run scripts/setup or set PG_BIN");
  });
} else {
  let server;
  let n = 0;
  before(async () => {
    server = await startPostgres();
  });
  after(() => server?.stop());
  const freshDb = async () => {
    const name = `t${++n}`;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    return server.url.replace("/postgres?", `/${name}?`);
  };
  storeConformance("postgres", async () => openPgStore({ connectionString: await freshDb() }), {
    openMany: async (k) => {
      const url = await freshDb();
      const first = await openPgStore({ connectionString: url });
      const rest = await Promise.all(Array.from({ length: k - 1 }, () => openPgStore({ connectionString: url })));
      return [first, ...rest];
    },
  });
}
