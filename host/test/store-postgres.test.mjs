// A real PostgreSQL 15 server started by this test (private port and socket directory, stopped at the end); every
// conformance test gets its own database, and the concurrency test runs four pools against one.
import { test } from "node:test";
import { openPgStore } from "../src/store/pg.mjs";
import { storeConformance } from "./store-conformance.mjs";
import { postgresAvailable } from "./support/postgres.mjs";
import { openPostgres, postgresUrl } from "./support/stores.mjs";

if (!postgresAvailable()) {
  // scripts/setup installs PostgreSQL 15; without it this suite must fail, not pass silently.
  test("postgres: server binaries present", () => {
    throw new Error("PostgreSQL 15 (initdb, pg_ctl) not found: run scripts/setup or set PG_BIN");
  });
} else {
  storeConformance("postgres", openPostgres, {
    openMany: async (k) => {
      const url = await postgresUrl();
      return Promise.all(Array.from({ length: k }, () => openPgStore({ connectionString: url })));
    },
  });
}
