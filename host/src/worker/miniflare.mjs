// Runs the Worker host in workerd on 127.0.0.1 through miniflare (no Cloudflare account): the local stand-in for
// `wrangler deploy`, used by the demo (`scripts/demo --worker`), the Worker tests and the bench. Node-only.
//
// workerd loads modules by path, so the Worker's files are laid out in `dir` with the core package's workerd entry
// (host/node_modules/virtuous-sync, the installed package) beside them and the bare "virtuous-sync" import pointed
// at it, exactly what a bundler does for `wrangler deploy`.
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const SRC = join(dirname(fileURLToPath(import.meta.url)), "..");
const HOST = join(SRC, "..");
const FILES = ["host.mjs", "keys.mjs", "virtuous.mjs", "volunteer.mjs", "products.mjs", "raise-subscription.mjs", "errors.mjs", "receive.mjs", "observe.mjs", "frameworks.mjs", "status-page.mjs", "reasons.mjs", "transfer.mjs", "writes.mjs", "store/contract.mjs", "store/migrations.mjs", ...readdirSync(join(SRC, "worker")).filter((f) => f.endsWith(".mjs") && f !== "miniflare.mjs").map((f) => `worker/${f}`)];

export const QUEUES = Object.freeze({ deliveries: "virtuous-deliveries", reconcile: "virtuous-reconcile", dead: "virtuous-dlq" });

/** Lays the Worker out in `dir`; returns the entry module's path. */
export function layOutWorker(dir) {
  rmSync(dir, { recursive: true, force: true });
  const pkg = join(HOST, "node_modules", "virtuous-sync");
  for (const f of ["package.json", "edge.mjs", "error.mjs", "dist/web"]) cpSync(join(pkg, f), join(dir, "virtuous-sync", f), { recursive: true });
  for (const f of FILES) {
    const out = join(dir, f);
    mkdirSync(dirname(out), { recursive: true });
    const rel = relative(dirname(out), join(dir, "virtuous-sync", "edge.mjs")).split("\\").join("/");
    const text = readFileSync(join(SRC, f), "utf8").replaceAll('from "virtuous-sync"', `from "${rel.startsWith(".") ? rel : `./${rel}`}"`);
    writeFileSync(out, text);
  }
  return join(dir, "worker", "index.mjs");
}

/**
 * Starts the Worker host. Returns `{mf, url, dispose()}`.
 * @param {object} o
 * @param {string} o.dir           where the Worker is laid out (and its Durable Object state kept, under `state/`)
 * @param {string} o.adminToken    for PUT /api/v1/customers/:id
 * @param {boolean} [o.testHooks]  the /_test routes (fault tests only)
 * @param {object} [o.queue]       consumer settings for the deliveries Queue
 * @param {object} [o.reconcileQueue] consumer settings for the reconciliation pages' Queue
 */
export async function startWorkerHost({ dir, adminToken, apiToken, testHooks = false, port = 0, queue = {}, reconcileQueue = {} }) {
  const scriptPath = layOutWorker(dir);
  const consumer = { maxBatchSize: 25, maxBatchTimeout: 0, maxRetries: 10, deadLetterQueue: QUEUES.dead, ...queue };
  const mf = new Miniflare({
    modules: true,
    modulesRoot: dir,
    scriptPath,
    modulesRules: [
      { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
      { type: "CompiledWasm", include: ["**/*.wasm"] },
    ],
    compatibilityDate: "2025-09-01",
    compatibilityFlags: ["nodejs_compat"],
    host: "127.0.0.1",
    port,
    cf: false,
    durableObjects: {
      CUSTOMER: { className: "CustomerObject", useSQLite: true },
      RECORD: "RecordObject",
      BUDGET: "BudgetObject",
      DIRECTORY: "DirectoryObject",
    },
    durableObjectsPersist: join(dir, "state", "do"),
    queueProducers: { DELIVERIES: QUEUES.deliveries, RECONCILE: QUEUES.reconcile, DEAD_LETTERS: QUEUES.dead },
    queueConsumers: {
      [QUEUES.deliveries]: consumer,
      [QUEUES.reconcile]: { maxBatchSize: 1, maxBatchTimeout: 0, maxRetries: 5, deadLetterQueue: QUEUES.dead, ...reconcileQueue },
      [QUEUES.dead]: { maxBatchSize: 25, maxBatchTimeout: 0 },
    },
    unsafeTriggerHandlers: true,
    bindings: {
      ADMIN_TOKEN: adminToken,
      ...(apiToken ? { API_TOKEN: apiToken } : {}),
      ...(testHooks ? { TEST_HOOKS: "1" } : {}),
      DEAD_LETTER_QUEUE: QUEUES.dead,
      RECONCILE_QUEUE: QUEUES.reconcile,
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  return {
    mf,
    url,
    /** Runs the cron trigger once (what Cloudflare does on the schedule in wrangler.toml). */
    async cron() {
      const res = await fetch(`${url}/cdn-cgi/handler/scheduled`);
      if (!res.ok) throw new Error(`scheduled: ${res.status}`);
    },
    dispose: () => mf.dispose(),
  };
}
