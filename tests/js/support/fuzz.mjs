// Random-input fuzz of every export of the npm package, runtime-agnostic (plain ES2022): Node runs it on the
// main and receive builds (tests/js/fuzz.test.mjs), workerd through the test worker (tests/edge). Inputs are the
// shared vector cases with one leaf or subtree replaced by a hostile value, plus hostile scalars for every
// argument. Every call must return or throw a VirtuousSyncError: anything else (a wasm trap is a
// `RuntimeError: unreachable`, which can poison the module instance every SyncCore shares) is reported.

const SECRET = "fuzz-secret-0123456789abcdefghijklmnopqrstuvwxyz";

/** A seeded PRNG (deterministic runs: a failure names its seed). */
function prng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
}

const deep = (n) => (n === 0 ? 1 : [deep(n - 1)]);

export const HOSTILE = [undefined, null, true, false, -1, 0, 0.5, -0, 1e9, 1e10, 2 ** 32, 2 ** 53, -(2 ** 63), 1e308, -1e308, NaN,
  Infinity, -Infinity, "", " ", "x".repeat(5000), "9999-99-99T99:99:99", "\ud800", "1e999", [], {}, [null], deep(100), { a: deep(60) },
  Array.from({ length: 2000 }, (_, i) => i), { partner: 1e9 }, { virtuous: 2 ** 40 }, { nowMs: 2 ** 63 }, new Uint8Array(0),
  new Uint8Array([0xff, 0xfe, 0x00]), Symbol("s"), () => 1, 10n];

/**
 * Runs `rounds` rounds over `files` (the vector files: [{file, cases}]) against `api` (a package entry's exports).
 * Returns { calls, traps: [description] }.
 */
export function fuzzExports(api, files, { seed = 0x5eed, rounds = 2 } = {}) {
  const rand = prng(seed);
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const mutate = (v) => {
    if (v === null || typeof v !== "object" || rand() < 0.2) return pick(HOSTILE);
    const keys = Object.keys(v);
    if (keys.length === 0) return pick(HOSTILE);
    const copy = Array.isArray(v) ? [...v] : { ...v };
    const k = pick(keys);
    copy[k] = mutate(v[k]);
    return copy;
  };
  const maybe = (v) => (rand() < 0.5 ? mutate(v) : v);
  const traps = [];
  let calls = 0;
  const Vse = api.VirtuousSyncError;
  const call = (what, fn) => {
    calls++;
    try {
      const out = fn();
      if (out && typeof out.free === "function") out.free();
    } catch (e) {
      const ok = typeof Vse === "function" ? e instanceof Vse : e?.name === "VirtuousSyncError";
      if (!ok) traps.push(`${what}: ${e?.constructor?.name ?? typeof e}: ${String(e?.message ?? e).slice(0, 200)}`);
    }
  };
  const core = (options) => {
    const config = { secrets: [SECRET], platformName: "Fuzz" };
    if (options !== undefined && api.InitialMatcher) config.sync = options;
    try {
      return new api.SyncCore(config);
    } catch {
      return new api.SyncCore({ secrets: [SECRET], platformName: "Fuzz" });
    }
  };
  const free = (x) => x?.free?.();
  const cases = files.flatMap((f) => f.cases.map((c) => ({ file: f.file, c })));
  for (let round = 0; round < rounds; round++) {
    for (const { file, c } of cases) {
      const i = mutate(c.input);
      const g = (k) => (i && typeof i === "object" ? i[k] : undefined);
      const tag = `${file} / ${c.name} (seed ${seed}, round ${round})`;
      // The receive surface, on every entry.
      call(`SyncCore ${tag}`, () => new api.SyncCore(maybe(c.input.config ?? { secrets: [SECRET], platformName: "P" })));
      const rc = core(undefined);
      call(`receive ${tag}`, () => rc.receive(pick([c.input.body?.utf8 ?? "{}", pick(HOSTILE)]), pick([{}, { "x-virtuous-signature": pick(HOSTILE) }, pick(HOSTILE)]), pick(HOSTILE)));
      free(rc);
      call(`verifySignature ${tag}`, () => api.verifySignature(pick(["{}", pick(HOSTILE)]), pick(["sha256=00", pick(HOSTILE)]), pick([[SECRET], pick(HOSTILE)]), maybe(c.input.options ?? {})));
      call(`signBody ${tag}`, () => api.signBody(pick(["{}", pick(HOSTILE)]), pick([SECRET, pick(HOSTILE)]), maybe(c.input.options ?? {})));
      call(`generateSecret ${tag}`, () => api.generateSecret(pick([undefined, { bytes: pick(HOSTILE) }, { format: pick(HOSTILE) }, pick(HOSTILE)])));
      if (!api.InitialMatcher) continue; // the receive-only build ends here
      const sc = core(maybe(g("options")));
      call(`decideInbound ${tag}`, () => sc.decideInbound(g("event"), g("record"), pick([g("nowMs"), pick(HOSTILE)])));
      call(`decideOutbound ${tag}`, () => sc.decideOutbound(g("record"), g("change"), pick([g("nowMs"), pick(HOSTILE)])));
      call(`resolve ${tag}`, () => sc.resolve(g("input")));
      call(`resolveConflict ${tag}`, () => sc.resolveConflict(g("record"), g("choices"), g("nowMs")));
      call(`planReconciliation ${tag}`, () => sc.planReconciliation(i));
      free(sc);
      call(`transition ${tag}`, () => api.transition(g("record"), pick(["confirmed", "removed", pick(HOSTILE)]), g("nowMs")));
      let m;
      call(`new InitialMatcher ${tag}`, () => {
        m = new api.InitialMatcher(pick([undefined, { partner: pick(HOSTILE), virtuous: pick(HOSTILE) }, pick(HOSTILE)]));
      });
      m ??= new api.InitialMatcher();
      for (const ch of Array.isArray(g("chunks")) ? g("chunks") : [g("chunks")]) {
        call(`addPartnerChunk ${tag}`, () => m.addPartnerChunk(ch?.records ?? ch));
        call(`addVirtuousChunk ${tag}`, () => m.addVirtuousChunk(ch?.records ?? ch));
      }
      call(`finish ${tag}`, () => m.finish());
      free(m);
      let b;
      call(`new RateBudget ${tag}`, () => {
        b = new api.RateBudget(g("config"));
      });
      b ??= new api.RateBudget();
      for (const step of Array.isArray(g("steps")) ? g("steps") : [g("steps")]) {
        call(`observe ${tag}`, () => b.observe(step?.val ?? step));
        call(`spend ${tag}`, () => b.spend(pick(HOSTILE)));
        call(`decide ${tag}`, () => b.decide(step?.val ?? step));
        call(`schedule ${tag}`, () => b.schedule(pick(HOSTILE), pick(HOSTILE)));
        call(`backoffMs ${tag}`, () => b.backoffMs(pick(HOSTILE), pick(HOSTILE)));
      }
      call(`RateBudget.fromJSON ${tag}`, () => api.RateBudget.fromJSON(mutate(b.toJSON())));
      free(b);
      call(`mergeSubscription ${tag}`, () => api.mergeSubscription(g("current"), g("change")));
      call(`parseModifiedTime ${tag}`, () => api.parseModifiedTime(pick([g("text"), pick(HOSTILE)])));
      call(`finishQueryRun ${tag}`, () => api.finishQueryRun(g("run")));
      for (const f of ["planMergeRemap", "planPause", "planResume", "planSecretRotation", "planDeletions", "classifyResponse",
        "startQueryRun", "acceptQueryPage", "pricePlan", "startVolunteerPoll", "acceptVolunteerPage", "finishVolunteerPoll",
        "volunteerBudget", "planVolunteerDeletions"]) {
        call(`${f} ${tag}`, () => api[f](i));
      }
    }
  }
  return { calls, traps };
}
