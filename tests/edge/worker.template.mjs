// Test worker, run in workerd by miniflare (tests/edge/edge.test.mjs). The test writes it beside the installed
// package and points the first import at the package's "workerd" export, so it loads exactly what a
// Cloudflare Worker would. It runs vector cases inside workerd and answers the outcome as JSON; Node compares.
import * as api from "__PACKAGE_ENTRY__";
import { fuzzExports } from "./fuzz.mjs";
import { runCase } from "./ops.mjs";

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/case") {
      // JSON transport: the whole case in the body (body spec, header pairs, ...).
      const c = await request.json();
      return Response.json(runCase(api, c, { headers: c.input?.headers }));
    }
    if (url.pathname === "/http-case") {
      // Real HTTP transport: the delivery is this request's raw body and real headers; the rest of the case
      // (config, nowMs, expect) comes in the query string.
      const c = JSON.parse(url.searchParams.get("case"));
      const body = new Uint8Array(await request.arrayBuffer());
      const headers = new Headers(request.headers);
      return Response.json(runCase(api, c, { body, headers }));
    }
    if (url.pathname === "/rate-budget") {
      // A stateless worker: the budget lives in the caller's store (KV in production) between requests.
      const { state, observation, request: ask } = await request.json();
      const budget = state ? api.RateBudget.fromJSON(state) : new api.RateBudget();
      try {
        if (observation) budget.observe(observation);
        return Response.json({ decision: budget.decide(ask), state: budget.toJSON() });
      } finally {
        budget.free();
      }
    }
    if (url.pathname === "/fuzz") {
      // Random input to every export inside workerd: the vector files come in the body.
      const { files, seed } = await request.json();
      return Response.json(fuzzExports(api, files, { seed, rounds: 1 }));
    }
    if (url.pathname === "/generate-secret") {
      return Response.json({ secrets: [api.generateSecret(), api.generateSecret()] });
    }
    return new Response("not found", { status: 404 });
  },
};
