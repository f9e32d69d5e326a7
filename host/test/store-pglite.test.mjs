// PGlite, file-backed as the host uses it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import { openPgliteStore } from "../src/store/pglite.mjs";
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
