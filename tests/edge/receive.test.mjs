// The receive-only entry (`virtuous-sync/receive`, "workerd" condition) inside workerd: what a Cloudflare Worker
// webhook endpoint loads. Every top-level shared vector runs in the worker (JSON transport; edge.test.mjs covers
// real HTTP headers for the full entry, which shares the same receive code).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { checkOutcome } from "../js/support/match.mjs";
import { loadVectorFiles } from "../js/support/vectors.mjs";
import { startWorker } from "./worker.mjs";

let mf;
let base;
before(async () => {
  ({ mf, base } = await startWorker("./receive", "edge-receive-worker"));
});
after(async () => {
  await mf?.dispose();
});

test("generateSecret works in the receive-only build inside workerd", async () => {
  const { secrets } = await (await mf.dispatchFetch(new URL("/generate-secret", base))).json();
  assert.equal(secrets.length, 2);
  assert.notEqual(secrets[0], secrets[1]);
});

for (const { file, cases } of loadVectorFiles().filter(({ file }) => !file.includes("/"))) {
  describe(`receive entry in workerd: ${file}`, () => {
    for (const c of cases) {
      test(c.name, async () => {
        const res = await mf.dispatchFetch(new URL("/case", base), {
          method: "POST",
          body: JSON.stringify(c),
          headers: { "content-type": "application/json" },
        });
        const text = await res.text();
        assert.equal(res.status, 200, `worker failed: ${text.slice(0, 2000)}`);
        assert.deepEqual(checkOutcome(c, JSON.parse(text)), [], `${file} / ${c.name}`);
      });
    }
  });
}
