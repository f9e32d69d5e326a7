// The Volunteer (VOMO) scenario of the demo (`scripts/demo --product volunteer --once`) and of
// host/test/volunteer.test.mjs: the local Virtuous's VOMO API ↔ the host's poller ↔ the partner app, over HTTP.
// Volunteers (users) sync to the partner as donors, and participations as participations, through the same inbox and
// inbound decisions as webhooks, each on its Volunteer link (docs/sync.md, "One partner record, several products"; the
// product's default field maps read VOMO's snake_case fields); projects and participations are polled on their own
// cursors (a participation change does not move its user's updated_at). Returns {problems, ...facts}; a step that does
// not hold adds a problem.

import { until } from "./world.mjs";

export async function runVolunteerScenario(world, { say = () => {} } = {}) {
  const problems = [];
  const check = (ok, what) => {
    say(`  ${ok ? "✓" : "✗"} ${what}`);
    if (!ok) problems.push(what);
  };
  const { host, customerId, sim } = world;
  const vomo = async (method, path, body) => {
    const r = await fetch(`${sim.url}/_sim/vomo/${path}`, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!r.ok) throw new Error(`${method} /_sim/vomo/${path}: ${r.status} ${await r.text()}`);
    return r.json();
  };
  const partnerStore = async () => fetch(`${world.partner.url}/store`).then((r) => r.json());
  const donors = async () => Object.values((await partnerStore()).donors);
  const participations = async () => Object.values((await partnerStore()).participations ?? {});
  // The poll feeds the inbox and drains it; the host's own workers may hold an entry meanwhile: wait for them too.
  const poll = async (mode = "incremental") => {
    const summary = await host.pollVolunteer(customerId, { mode });
    await until(async () => (await host.status(customerId)).inbox.pending === 0, { what: "the polled changes processed" });
    return summary;
  };
  const fed = (s, r) => s.resources[r]?.fed ?? 0;

  const settings = (await host.customer(customerId)).settings;
  await host.putCustomer({
    ...settings,
    volunteer: {
      token: "sim-vomo-token",
      baseUrl: `${sim.url}/v1`,
      // The local Virtuous answers at once: a faster pace than the 30-a-minute default keeps the demo short.
      budget: { requestsPerMinute: 1200 },
      confirmAfterMs: 1000,
    },
  });
  await vomo("PATCH", "config", { perPage: 2 });

  say("1. Volunteer staff add three volunteers in the same second (over two pages), a project and two sign-ups");
  const burst = await vomo("POST", "burst", { resource: "users", count: 3 });
  const names = [["Ada", "Lovelace"], ["Grace", "Hopper"], ["Katherine", "Johnson"]];
  for (const [i, u] of burst.entries()) Object.assign(u, await vomo("PATCH", `users/${u.id}`, { first_name: names[i][0], last_name: names[i][1], email: `${names[i][0].toLowerCase()}@example.org` }));
  const project = await vomo("POST", "projects", { name: "Food bank" });
  const p1 = await vomo("POST", "participations", { user_id: burst[0].id, project_id: project.id, hours: 2 });
  await vomo("POST", "participations", { user_id: burst[1].id, project_id: project.id, hours: 1 });
  let s = await poll();
  let d = await donors();
  say(`   poll: users ${fed(s, "users")} fed, projects ${fed(s, "projects")}, participations ${fed(s, "participations")}`);
  check(d.length === 3 && names.every(([f]) => d.some((x) => x.fields.firstName === f)), `the partner has the three volunteers as donors (${d.map((x) => x.fields.firstName).join(", ")})`);
  check(d.every((x) => x.links?.volunteer != null && x.virtuousId == null), "each donor is linked to its Volunteer user (a Volunteer link, not a CRM+ one)");
  let parts = await participations();
  check(parts.length === 2 && parts.some((x) => x.links?.volunteer === String(p1.id) && x.fields.hours === 2), `the partner has the two sign-ups (${parts.map((x) => `${x.fields.hours} h`).join(", ")})`);

  say("2. Nothing changed: the next poll re-reads its overlap and hands nothing on twice");
  s = await poll();
  check(fed(s, "users") === 0 && fed(s, "participations") === 0, "no row fed twice (boundary ids and the inbox's dedupe keys)");

  say("3. A volunteer's hours change: only the participations cursor sees it (the user's updated_at does not move)");
  await new Promise((r) => setTimeout(r, 1100)); // a later second than the committed boundary
  await vomo("PATCH", `participations/${p1.id}`, { hours: 5 });
  s = await poll();
  check(fed(s, "participations") === 1 && fed(s, "users") === 0, `participations fed ${fed(s, "participations")}, users ${fed(s, "users")}`);
  const hours = async () => (await participations()).find((x) => x.links?.volunteer === String(p1.id))?.fields.hours;
  await until(async () => (await hours()) === 5, { what: "the new hours", timeoutMs: 5_000 }).catch(() => {});
  check((await hours()) === 5, "the new hours reached the partner's participation");

  say("4. A volunteer is renamed while VOMO answers with quirks: \"null\" as the last page's next, and two 429s (one with Retry-After, one without)");
  await vomo("PATCH", `users/${burst[1].id}`, { last_name: "Hopper-Murray" });
  await vomo("PATCH", "config", { stringNullNext: true, throttleNext: 1, throttleRetryAfter: 1 });
  s = await poll();
  await vomo("PATCH", "config", { throttleNext: 1, throttleRetryAfter: null });
  const s2 = await poll();
  d = await donors();
  const grace = d.find((x) => x.fields.firstName === "Grace");
  check(grace?.fields.lastName === "Hopper-Murray", `the rename reached the partner (${grace?.fields.lastName})`);
  const st = (await host.status(customerId)).volunteer;
  check(st.budget.throttled >= 2 && st.budget.requestsPerMinute < st.budget.configuredPerMinute,
    `429s waited out and learned: ${st.budget.throttled} throttled, pace ${st.budget.requestsPerMinute}/min (configured ${st.budget.configuredPerMinute})`);
  check(!Object.values(s.resources).some((r) => r.error) && !Object.values(s2.resources).some((r) => r.error), "both polls completed every resource");
  await vomo("PATCH", "config", { stringNullNext: false });

  say("5. A volunteer is deleted in VOMO: the daily full reconciliation lays a tombstone, and only a later 404 confirms it");
  await vomo("DELETE", `users/${burst[2].id}`);
  s = await poll("full");
  check(s.resources.users.deletions?.pending === 1 && s.resources.users.deletions?.confirmed === 0, "first full scan: a pending tombstone, nothing deleted");
  await new Promise((r) => setTimeout(r, 1100)); // past confirmAfterMs
  s = await poll("full");
  check(s.resources.users.deletions?.confirmed === 1, "second full scan: GET /v1/users/{id} answered 404, the deletion is confirmed (put in the review queue)");
  const review = await host.store.listReview(customerId);
  check(review.some((r) => r.kind === "volunteer-deleted" || r.item?.virtuousId === String(burst[2].id)), "a person sees the confirmed deletion in the review queue");
  await new Promise((r) => setTimeout(r, 300));
  const gone = await host.store.findRecord(customerId, { product: "volunteer", kind: "contact", virtuousId: String(burst[2].id) });
  const kept = (await donors()).find((x) => x.links?.volunteer === String(burst[2].id));
  check(gone?.state?.tombstone != null && kept && !kept.deleted, "the Volunteer link is tombstoned; the partner's donor stays for the person to decide");

  const status = await host.status(customerId);
  const cursors = status.volunteer.resources;
  check(["users", "projects", "participations"].every((r) => cursors[r].highWaterMs != null), "every resource has its own stored cursor");
  check(status.inbox.deadLetters === 0, "no dead letters");
  return { problems, status, donors: await donors(), participations: await participations(), review };
}
