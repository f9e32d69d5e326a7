// Bearer auth, POST /Token, the hourly budget with X-RateLimit-* headers, 429 + Retry-After, storms, API outages.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startSim } from "../src/index.mjs";
import { json } from "./helpers.mjs";

const manual = (config = {}) => startSim({ seed: 9, clock: { mode: "manual", startMs: Date.UTC(2026, 5, 1, 12) }, config });

test("bearer auth: 401 plain text without a token; an API key or a /Token token works; tokens expire on the sim clock", async () => {
  const sim = await manual({ auth: { tokenTtlSeconds: 60 } });
  try {
    let res = await fetch(`${sim.url}/api/Contact/1`);
    assert.equal(res.status, 401);
    assert.equal(await res.text(), "Authorization has been denied for this request.");
    assert.equal(res.headers.get("x-ratelimit-remaining"), null, "unauthenticated requests spend nothing");
    res = await fetch(`${sim.url}/api/Contact/1`, { headers: { authorization: "Bearer wrong" } });
    assert.equal(res.status, 401);
    assert.equal(sim.apiKey, "sim-api-key");
    res = await fetch(`${sim.url}/api/Contact/1`, { headers: { authorization: `Bearer ${sim.apiKey}` } });
    assert.equal(res.status, 404);

    const form = (o) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(o).toString() });
    res = await fetch(`${sim.url}/Token`, form({ grant_type: "password", username: "sim@example.org", password: "nope" }));
    assert.equal(res.status, 400);
    assert.equal((await json(res)).error, "invalid_grant");
    res = await fetch(`${sim.url}/Token`, form({ grant_type: "password", username: "sim@example.org", password: "sim-password" }));
    assert.equal(res.status, 200);
    const tok = await json(res);
    assert.equal(tok.token_type, "bearer");
    assert.equal(tok.expires_in, 60);
    assert.ok(tok.access_token && tok.refresh_token);
    const auth = { headers: { authorization: `Bearer ${tok.access_token}` } };
    assert.equal((await fetch(`${sim.url}/api/Contact/1`, auth)).status, 404);
    await sim.admin.advance(61_000);
    assert.equal((await fetch(`${sim.url}/api/Contact/1`, auth)).status, 401, "expired");
    res = await fetch(`${sim.url}/Token`, form({ grant_type: "refresh_token", refresh_token: tok.refresh_token }));
    const fresh = await json(res);
    assert.equal((await fetch(`${sim.url}/api/Contact/1`, { headers: { authorization: `Bearer ${fresh.access_token}` } })).status, 404);
    res = await fetch(`${sim.url}/Token`, form({ grant_type: "client_credentials" }));
    assert.equal((await json(res)).error, "unsupported_grant_type");
  } finally {
    await sim.close();
  }
});

test("rate budget: X-RateLimit-* on every response, 429 with Retry-After once spent, a fresh window after the reset", async () => {
  const sim = await manual({ rateLimit: { limit: 3 } });
  try {
    const hourEnd = Math.ceil((Date.UTC(2026, 5, 1, 12) + 3_600_000) / 1000);
    const seen = [];
    for (let i = 0; i < 3; i++) {
      const res = await sim.api.raw("POST", "/api/Gift/Query", {});
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-ratelimit-limit"), "3");
      assert.equal(res.headers.get("x-ratelimit-reset"), String(hourEnd));
      seen.push(res.headers.get("x-ratelimit-remaining"));
    }
    assert.deepEqual(seen, ["2", "1", "0"]);
    await sim.admin.advance(600_000);
    let res = await sim.api.raw("GET", "/api/Gift/1");
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), String(3_000), "seconds until the window resets");
    assert.equal(res.headers.get("x-ratelimit-remaining"), "0");
    assert.equal((await json(res)).error.code, "TOO_MANY_REQUESTS");
    assert.equal((await sim.admin.rateLimit()).throttled, 1);
    await sim.admin.advance(3_000_000);
    res = await sim.api.raw("GET", "/api/Gift/1");
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("x-ratelimit-remaining"), "2");
    const defaults = await startSim({ seed: 1 });
    try {
      assert.equal((await defaults.api.raw("POST", "/api/Gift/Query", {})).headers.get("x-ratelimit-limit"), "5000");
    } finally {
      await defaults.close();
    }
  } finally {
    await sim.close();
  }
});

test("a 429 storm answers the next N requests 429 with the given Retry-After, without spending budget", async () => {
  const sim = await manual();
  try {
    await sim.admin.storm({ count: 3, retryAfterSeconds: 7 });
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const res = await sim.api.raw("POST", "/api/Contact/Query", {});
      statuses.push([res.status, res.headers.get("retry-after")]);
    }
    assert.deepEqual(statuses, [["429", "7"], ["429", "7"], ["429", "7"], ["200", null]].map(([s, r]) => [Number(s), r]));
    assert.equal((await sim.admin.rateLimit()).used, 1);
    // By duration on the sim clock.
    await sim.admin.storm({ durationMs: 5_000, retryAfterSeconds: 1 });
    assert.equal((await sim.api.raw("POST", "/api/Contact/Query", {})).status, 429);
    await sim.admin.advance(5_000);
    assert.equal((await sim.api.raw("POST", "/api/Contact/Query", {})).status, 200);
  } finally {
    await sim.close();
  }
});

test("API outage: 5xx for the next N requests, or until switched off; the request log records it", async () => {
  const sim = await manual();
  try {
    await sim.admin.setOutages({ api: { status: 503, count: 2 } });
    const s = [];
    for (let i = 0; i < 3; i++) s.push((await sim.api.raw("POST", "/api/Gift/Query", {})).status);
    assert.deepEqual(s, [503, 503, 200]);
    await sim.admin.setOutages({ api: true });
    assert.equal((await sim.api.raw("GET", "/api/Gift/1")).status, 500);
    await sim.admin.setOutages({ api: false });
    assert.equal((await sim.api.raw("GET", "/api/Gift/1")).status, 404);
    await assert.rejects(sim.admin.setOutages({ api: { status: 404 } }), (e) => e.status === 400);
    const log = await sim.admin.requests({ path: "/api/Gift" });
    assert.deepEqual(log.map((r) => r.status), [503, 503, 200, 500, 404]);
  } finally {
    await sim.close();
  }
});

test("API faults: a matching request failed unapplied, or applied with its answer lost (dropped, held, replaced)", async () => {
  const sim = await manual();
  try {
    const c = await sim.admin.createContact({ name: "Fault Person", contactType: "Household" });
    const g = await sim.admin.createGift({ contactId: c.id, amount: 10, giftDate: "2026-11-01" });
    const put = (amount) => sim.api.raw("PUT", `/api/Gift/${g.id}`, { contactId: c.id, amount, giftDate: "2026-11-01" });
    await sim.admin.setApiFaults([{ method: "PUT", path: "/api/gift/", status: 500 }, { method: "PUT", path: "/api/Gift", apply: true, status: 502 }]);
    assert.equal((await sim.api.raw("GET", `/api/Gift/${g.id}`)).status, 200, "a GET does not match");
    assert.equal((await put(11)).status, 500);
    assert.equal((await sim.admin.gift(g.id)).amount, 10, "not applied");
    assert.equal((await put(12)).status, 502);
    assert.equal((await sim.admin.gift(g.id)).amount, 12, "applied, its answer replaced");
    assert.equal((await put(13)).status, 200, "each fault once");
    await sim.admin.setApiFaults([{ method: "PUT", apply: true, drop: true }]);
    await assert.rejects(put(14), "the connection closed without an answer");
    assert.equal((await sim.admin.gift(g.id)).amount, 14);
    await sim.admin.setApiFaults([{ method: "PUT", apply: true, delayMs: 400 }]);
    await assert.rejects(
      fetch(`${sim.url}/api/Gift/${g.id}`, { method: "PUT", headers: { authorization: `Bearer ${sim.apiKey}`, "content-type": "application/json" }, body: JSON.stringify({ contactId: c.id, amount: 15, giftDate: "2026-11-01" }), signal: AbortSignal.timeout(100) }),
      (e) => e.name === "TimeoutError",
    );
    assert.equal((await sim.admin.gift(g.id)).amount, 15, "applied before the held answer");
    assert.deepEqual(await sim.admin.apiFaults(), []);
    await assert.rejects(sim.admin.setApiFaults([{ method: "PUT" }]), (e) => e.status === 400);
    await assert.rejects(sim.admin.setApiFaults([{ status: 500, count: 0 }]), (e) => e.status === 400);
    const log = (await sim.admin.requests({ method: "PUT" })).map((r) => [r.status, r.fault ?? null]);
    assert.deepEqual(log.slice(0, 3), [[500, "failed"], [200, "applied-failed"], [200, null]]);
  } finally {
    await sim.close();
  }
});

test("a seed replays ids, tokens and fixtures; another seed differs", async () => {
  const run = async (seed) => {
    const sim = await startSim({ seed, clock: { mode: "manual", startMs: 0 } });
    try {
      const f = await sim.admin.fixtures({ contacts: 3, giftsPerContact: 1 });
      const store = await sim.admin.store();
      const tok = await (await fetch(`${sim.url}/Token`, { method: "POST", body: "grant_type=password&username=sim%40example.org&password=sim-password" })).json();
      return { f, names: store.contacts.map((c) => c.name), amounts: store.gifts.map((g) => g.amount), token: tok.access_token };
    } finally {
      await sim.close();
    }
  };
  const a = await run(123);
  const b = await run(123);
  const c = await run(124);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.f, c.f);
});

test("bad input is a clear 4xx, never a crash: bad JSON, bad ids, unknown routes, unknown scenario", async () => {
  const sim = await manual();
  try {
    let res = await sim.api.raw("POST", "/api/Gift/Query", undefined, {});
    assert.equal(res.status, 200, "an empty body is an empty query");
    res = await fetch(`${sim.url}/api/Gift/Query`, { method: "POST", headers: { authorization: "Bearer sim-api-key" }, body: "{nope" });
    assert.equal(res.status, 400);
    assert.equal((await json(res)).error.code, "BAD_REQUEST");
    assert.equal((await sim.api.raw("GET", "/api/Gift/abc")).status, 400);
    assert.equal((await sim.api.raw("GET", "/api/Nope")).status, 404);
    assert.equal((await sim.api.raw("PATCH", "/api/Gift/1")).status, 405);
    await assert.rejects(sim.admin.scenario("nope"), (e) => e.status === 404);
    await assert.rejects(sim.admin.patchConfig({ faults: { duplicateRate: 2 } }), (e) => e.status === 400);
    await assert.rejects(sim.admin.patchConfig({ seed: 2 }), (e) => e.status === 400);
    await assert.rejects(sim.admin.trigger("gift.exploded"), (e) => e.status === 400);
    assert.equal((await sim.admin.health()).ok, true);
  } finally {
    await sim.close();
  }
});
