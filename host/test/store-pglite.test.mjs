// PGlite, file-backed as the host uses it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { openPgliteStore } from "../src/store/pglite.mjs";
import { MIGRATIONS, SCHEMA_VERSION } from "../src/store/migrations.mjs";
import { storeConformance } from "./store-conformance.mjs";
import { openPglite } from "./support/stores.mjs";

storeConformance("pglite", openPglite);

test("pglite: data survives closing and reopening the directory", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vsh-pglite-"));
  try {
    const a = await openPgliteStore({ dataDir: join(dir, "db") });
    await a.putCustomer("c", { customerId: "c" }, 1);
    await a.inboxInsert({ customerId: "c", dedupeKey: "k", receivedMs: 1, origin: "webhook", body: "{}", event: {} });
    await a.close();
    const b = await openPgliteStore({ dataDir: join(dir, "db") });
    assert.equal((await b.inboxGet("c", "k")).dedupeKey, "k");
    assert.equal((await b.migrate()).applied.length, 0);
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("pglite: a version-1 database migrates to links per product; its records load as CRM+ links", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vsh-pglite-"));
  try {
    const a = await openPgliteStore({ dataDir: join(dir, "db") });
    // Back to the released version-1 schema, with a record written by it.
    await a.db.query("DROP TABLE vsh_customers, vsh_inbox, vsh_records, vsh_decisions, vsh_outbox, vsh_dead_letters, vsh_kv, vsh_review, vsh_migrations");
    await a.db.query("CREATE TABLE vsh_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_ms bigint NOT NULL)");
    for (const stmt of MIGRATIONS[0].sql.split(";").map((x) => x.trim()).filter(Boolean)) await a.db.query(stmt);
    await a.db.query("INSERT INTO vsh_migrations VALUES (1, 'initial schema', 0)");
    await a.db.query(`INSERT INTO vsh_records (customer_id, record_key, kind, partner_id, virtuous_id, version, state, updated_ms)
      VALUES ('c', 'contact:v7', 'contact', 'donor-7', '7', 1, '{"state":"in-sync","partnerId":"donor-7","virtuousId":"7"}', 1)`);
    await a.close();
    const b = await openPgliteStore({ dataDir: join(dir, "db") });
    assert.equal(await b.schemaVersion(), SCHEMA_VERSION);
    const r = await b.findRecord("c", { kind: "contact", virtuousId: "7" });
    assert.equal(r.product, "crm");
    assert.equal((await b.findRecord("c", { product: "crm", kind: "contact", partnerId: "donor-7" })).recordKey, "contact:v7");
    const l = await b.lockRecord("c", "raise:contact:v7", { owner: "A", nowMs: 2, leaseMs: 1000, create: { product: "raise", kind: "contact", virtuousId: "7" } });
    assert.ok(l, "Raise donor 7 beside CRM+ contact 7 after the migration");
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
