import { test } from "node:test";
import { e2eSuite } from "./e2e-suite.mjs";
import { postgresAvailable } from "./support/postgres.mjs";
import { openPostgres } from "./support/stores.mjs";

// Three host workers (three Host instances, each its own pool and loops) against one PostgreSQL database.
if (postgresAvailable()) e2eSuite("e2e postgres", openPostgres, { workers: 3 });
else
  test("postgres: server binaries present", () => {
    throw new Error("PostgreSQL 15 (initdb, pg_ctl) not found: run scripts/setup or set PG_BIN");
  });
