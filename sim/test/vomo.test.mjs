// The local Volunteer (VOMO) API over real HTTP: Bearer auth, updated_after, the {data, links, meta} envelope with a
// server-fixed page size, and the switchable quirks (string "null" next, links without the filter, 429s with and
// without Retry-After, same-second bursts, updated_at ordering).
import assert from "node:assert/strict";
import { test } from "node:test";
import { startSim } from "../src/index.mjs";

const TOKEN = "sim-vomo-token";
const T0 = Date.UTC(2025, 10, 19, 10, 15, 0);

async function withVomo(fn) {
  const s = await startSim({ clock: { mode: "manual", startMs: T0 } });
  const admin = async (method, path, body) => {
    const r = await fetch(`${s.url}/_sim/vomo/${path}`, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    assert.equal(r.status, 200, `${method} ${path}: ${await r.clone().text()}`);
    return r.json();
  };
  const get = async (path, token = TOKEN) => {
    const r = await fetch(path.startsWith("http") ? path : `${s.url}/v1/${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: r.status, headers: r.headers, body: await r.json() };
  };
  const advance = (ms) => fetch(`${s.url}/_sim/clock/advance`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ms }) });
  try {
    await fn({ s, admin, get, advance });
  } finally {
    await s.close();
  }
}

test("bearer auth, the envelope, a fixed page size, JSON null ends", async () => {
  await withVomo(async ({ admin, get }) => {
    await admin("PATCH", "config", { perPage: 2 });
    for (let i = 0; i < 3; i++) await admin("POST", "users", { first_name: `U${i}` });
    assert.equal((await get("users", null)).status, 401);
    assert.equal((await get("users", "wrong")).status, 401);
    const p1 = await get("users");
    assert.equal(p1.status, 200);
    assert.equal(p1.body.data.length, 2);
    assert.equal(p1.body.data[0].updated_at, "2025-11-19T10:15:00+00:00");
    assert.deepEqual([p1.body.meta.current_page, p1.body.meta.per_page, p1.body.meta.total, p1.body.meta.last_page], [1, 2, 3, 2]);
    assert.equal(p1.body.links.prev, null);
    const p2 = await get(p1.body.links.next);
    assert.equal(p2.body.data.length, 1);
    assert.equal(p2.body.links.next, null);
  });
});

test("updated_after is on or after, kept in the links unless the quirk drops it; participations do not touch users", async () => {
  await withVomo(async ({ admin, get, advance }) => {
    const u = await admin("POST", "users", {});
    const p = await admin("POST", "projects", {});
    await advance(60_000);
    const part = await admin("POST", "participations", { user_id: u.id, project_id: p.id });
    const after = "2025-11-19T10:16:00Z";
    const r = await get(`participations?updated_after=${after}`);
    assert.deepEqual(r.body.data.map((x) => x.id), [part.id]);
    assert.equal((await get(`users?updated_after=${after}`)).body.data.length, 0, "the user's updated_at did not move");
    await admin("PATCH", "config", { perPage: 1 });
    await admin("POST", "participations", { user_id: u.id, project_id: p.id });
    assert.match((await get(`participations?updated_after=${after}`)).body.links.next, /updated_after=2025-11-19T10%3A16%3A00Z&page=2$/);
    await admin("PATCH", "config", { dropQueryInLinks: true });
    assert.match((await get(`participations?updated_after=${after}`)).body.links.next, /participations\?page=2$/);
  });
});

test("quirks: string null next, 429 with and without Retry-After, a same-second burst, updated_at order", async () => {
  await withVomo(async ({ admin, get }) => {
    await admin("PATCH", "config", { stringNullNext: true, perPage: 2 });
    const burst = await admin("POST", "burst", { resource: "users", count: 5 });
    assert.equal(new Set(burst.map((b) => b.updated_at)).size, 1, "one second");
    const last = await get("users?page=3");
    assert.equal(last.body.links.next, "null");
    assert.equal(last.body.links.prev.endsWith("page=2"), true);
    await admin("PATCH", "config", { sort: "updated_at" });
    await admin("PATCH", `users/${burst[0].id}`, { first_name: "moved" });
    // same second: the edit stays in the second, so the order holds
    assert.equal((await get("users?page=1")).body.data[0].id, burst[0].id);
    await admin("PATCH", "config", { rateLimit: { perMinute: 2, retryAfter: true } });
    await get("users");
    await get("users");
    const limited = await get("users");
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
    await admin("PATCH", "config", { rateLimit: { retryAfter: false } });
    const bare = await get("users");
    assert.equal(bare.status, 429);
    assert.equal(bare.headers.get("retry-after"), null);
  });
});

test("a deleted row is gone from lists and answers 404 by id; bad input is a 422", async () => {
  await withVomo(async ({ admin, get }) => {
    const u = await admin("POST", "users", {});
    assert.equal((await get(`users/${u.id}`)).status, 200);
    await admin("DELETE", `users/${u.id}`);
    assert.equal((await get(`users/${u.id}`)).status, 404);
    assert.equal((await get("users")).body.meta.total, 0);
    assert.equal((await get("users?updated_after=yesterday")).status, 422);
    assert.equal((await get("users?page=0")).status, 422);
  });
});
