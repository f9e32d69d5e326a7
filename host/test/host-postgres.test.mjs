import { test } from "node:test";
import { hostSuite } from "./host-suite.mjs";
import { postgresAvailable } from "./support/postgres.mjs";
import { openPostgres } from "./support/stores.mjs";

if (postgresAvailable()) hostSuite("postgres", openPostgres);
else
  test("postgres: server binaries present", () => {
    throw new Error("PostgreSQL 15 (initdb, pg_ctl) not found: run scripts/setup or set PG_BIN");
  });
