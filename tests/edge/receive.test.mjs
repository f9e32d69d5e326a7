// The receive-only entry (`virtuous-sync/receive`, "workerd" condition) inside workerd: what a Cloudflare Worker
// webhook endpoint loads. Every top-level shared vector runs in the worker (JSON transport; edge.test.mjs covers
// real HTTP headers for the full entry, which shares the same receive code).
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { checkOutcome } from "../js/support/match.mjs";
import { loadVectorFiles } from "../js/support/vectors.mjs";
import { runJsonCase, startWorker } from "./worker.mjs";

let mf;
let base;
// The same entry in a Worker with the nodejs_compat flag, where the glue lends workerd's native SHA-256
// (node:crypto, by process.getBuiltinModule) for bodies from 4 KB on.
let compat;
before(async () => {
  ({ mf, base } = await startWorker("./receive", "edge-receive-worker"));
  compat = await startWorker("./receive", "edge-receive-worker-compat", ["nodejs_compat"]);
});
after(async () => {
  await mf?.dispose();
  await compat?.mf.dispose();
});

test("generateSecret works in the receive-only build inside workerd", async () => {
  const { secrets } = await (await mf.dispatchFetch(new URL("/generate-secret", base))).json();
  assert.equal(secrets.length, 2);
  assert.notEqual(secrets[0], secrets[1]);
});

const files = loadVectorFiles();
for (const { file, cases } of files.filter(({ file }) => !file.includes("/"))) {
  describe(`receive entry in workerd: ${file}`, () => {
    for (const c of cases) {
      test(c.name, async () => {
        assert.deepEqual(checkOutcome(c, await runJsonCase({ mf, base }, c)), [], `${file} / ${c.name}`);
      });
    }
  });
}

// With the lent SHA-256: every receive, verify and sign vector, the adversarial ones included (their large
// authentic bodies, 10 KB to 1 MiB, are hashed by node:crypto), and accepted deliveries of 4 KB to 1 MB.
const RECEIVE_OPS = new Set(["newCore", "receive", "verifySignature", "signBody"]);
describe("receive entry in workerd with nodejs_compat", () => {
  for (const { file, cases } of files.filter(({ file }) => !file.includes("/") || file.startsWith("adversarial/"))) {
    for (const c of cases.filter((c) => RECEIVE_OPS.has(c.op))) {
      test(`${file} / ${c.name}`, async () => {
        assert.deepEqual(checkOutcome(c, await runJsonCase(compat, c)), [], `${file} / ${c.name}`);
      });
    }
  }
  const SECRET = "edge-compat-secret-0123456789abcdefghijklmnop";
  for (const size of [4095, 4096, 65_536, 1_000_000]) {
    test(`an accepted ${size}-byte delivery`, async () => {
      const head = '{"event":"GiftCreate","gift":{"id":4821,"notes":"';
      const text = `${head}${"n".repeat(size - head.length - 3)}"}}`;
      assert.equal(text.length, size);
      const signature = createHmac("sha256", SECRET).update(text).digest("base64");
      const c = {
        name: `accepted-${size}`,
        op: "receive",
        input: {
          config: { secrets: [SECRET], platformName: "PartnerPlatform" },
          body: { utf8: text },
          headers: [["x-virtuous-signature", signature]],
          nowMs: 1_700_000_000_000,
        },
        expect: { status: 200, authentic: true, reason: "accepted" },
      };
      for (const worker of [compat, { mf, base }]) assert.deepEqual(checkOutcome(c, await runJsonCase(worker, c)), [], c.name);
      const forged = { ...c, input: { ...c.input, headers: [["x-virtuous-signature", createHmac("sha256", "x").update(text).digest("base64")]] } };
      assert.deepEqual(checkOutcome({ ...forged, expect: { status: 401, authentic: false } }, await runJsonCase(compat, forged)), []);
    });
  }
});
