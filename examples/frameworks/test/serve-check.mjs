// Run by runtimes.test.mjs inside Deno (`deno run -A serve-check.mjs deno`) or Bun (`bun serve-check.mjs bun`):
// serves the recipe with the runtime's own server on 127.0.0.1, posts a signed and a forged delivery to it over
// real HTTP, and prints what came back as one JSON line.
import { signBody } from "virtuous-sync/receive";

const which = globalThis.Deno ? "deno" : "bun";
const { createHandler } = await import(which === "deno" ? "../deno.mjs" : "../bun.mjs");
const secret = "recipe-secret-0123456789abcdef0123456789abcdef";
const handled = [];
const handler = createHandler({ secret, platformName: "Acme Giving", handle: async (r) => handled.push(r.dedupeKey) });
let port;
let stop;
if (which === "deno") {
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, handler);
  port = server.addr.port;
  stop = () => server.shutdown();
} else {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: handler });
  port = server.port;
  stop = () => server.stop(true);
}
const text = JSON.stringify({ event: "GiftUpdate", gift: { id: 42, amount: 10, modifiedDateTimeUtc: "2026-11-30T11:00:00Z" } });
const send = async (s) => {
  const r = await fetch(`http://127.0.0.1:${port}/webhooks/virtuous`, { method: "POST", body: text, headers: { "content-type": "application/json", ...signBody(text, s).headers } });
  return [r.status, (await r.json()).reason];
};
const out = { runtime: which, signed: await send(secret), forged: await send("wrong-secret-0123456789abcdef0123456789abcdef"), handled };
await stop();
console.log(JSON.stringify(out));
