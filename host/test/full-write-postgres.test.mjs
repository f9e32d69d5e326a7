import { test } from "node:test";
import { fullWriteSuite } from "./full-write-suite.mjs";
import { postgresAvailable } from "./support/postgres.mjs";
import { openPostgres } from "./support/stores.mjs";

if (postgresAvailable()) fullWriteSuite("full-record writes, postgres", openPostgres);
else
  test("postgres: server binaries present", () => {
    throw new Error("PostgreSQL 15 (initdb, pg_ctl) not found: run scripts/setup or set PG_BIN");
  });
