#!/usr/bin/env node
// virtuous-sync-host: moving one customer's sync state between engines (docs/deploy.md, "Moving a customer").
//   virtuous-sync-host export --store <store> --customer <id> [--out <file>]       the document to stdout or a file
//   virtuous-sync-host import --store <store> [--customer <id>] [<file> | -]       from a file or stdin
//   virtuous-sync-host verify --store <store> --customer <id> <file>               the store holds what the file holds
//   virtuous-sync-host raise-subscription --store <store> --customer <id> --url <notificationUrl> --types 30,31,32
//                      [--name <name>] [--format 1|2]      registers or updates the customer's Raise webhook (docs/host.md)
// <store>: pglite:<data dir> | postgres (DATABASE_URL) | postgres:<connection string> | worker:<base URL>
// (the Worker host's admin routes; the admin token from VIRTUOUS_SYNC_ADMIN_TOKEN, never from the command line).
// Exit codes: 0 done, 1 verify found differences, 2 a refused or failed command (its code on stderr). Nothing
// printed ever holds a secret: the document carries no settings, and connection strings are not echoed.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { TransferError, comparableState, exportFromStore, importIntoStore, checkTransferDocument, summaryOf } from "../src/transfer.mjs";

const USAGE = `usage:
  virtuous-sync-host export --store <store> --customer <id> [--out <file>]
  virtuous-sync-host import --store <store> [--customer <id>] [<file> | -]
  virtuous-sync-host verify --store <store> --customer <id> <file>
  virtuous-sync-host raise-subscription --store <store> --customer <id> --url <notificationUrl> --types <n,n,...> [--name <name>] [--format 1|2]
stores: pglite:<data dir> | postgres (DATABASE_URL) | postgres:<connection string> | worker:<base URL> (VIRTUOUS_SYNC_ADMIN_TOKEN)`;

class CliError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

async function openTarget(spec) {
  if (!spec) throw new CliError("invalid-argument", "--store is required");
  const [kind, ...rest] = spec.split(":");
  const arg = rest.join(":");
  if (kind === "pglite") {
    if (!arg) throw new CliError("invalid-argument", "pglite:<data dir>");
    const { openPgliteStore } = await import("../src/store/pglite.mjs");
    return storeTarget(await openPgliteStore({ dataDir: arg }));
  }
  if (kind === "postgres") {
    const connectionString = arg || process.env.DATABASE_URL;
    if (!connectionString) throw new CliError("invalid-argument", "postgres needs a connection string or DATABASE_URL");
    const { openPgStore } = await import("../src/store/pg.mjs");
    return storeTarget(await openPgStore({ connectionString, max: 2 }));
  }
  if (kind === "worker") {
    if (!/^https?:\/\//.test(arg)) throw new CliError("invalid-argument", "worker:<base URL>");
    const token = process.env.VIRTUOUS_SYNC_ADMIN_TOKEN;
    if (!token) throw new CliError("invalid-argument", "set VIRTUOUS_SYNC_ADMIN_TOKEN to the Worker's ADMIN_TOKEN");
    return workerTarget(arg.replace(/\/+$/, ""), token);
  }
  throw new CliError("invalid-argument", `unknown store ${kind}`);
}

const storeTarget = (store) => ({
  export: (customerId) => exportFromStore(store, customerId),
  import: (doc, customerId) => importIntoStore(store, doc, { customerId }),
  // The Raise subscription through the host kit over the store (the partner port is never asked: it refuses).
  raiseSubscription: async (customerId, wanted) => {
    const { Host } = await import("../src/host.mjs");
    const refuse = () => Promise.reject(new CliError("invalid-argument", "the partner port is not available from the command line"));
    const host = new Host({ store, partner: { read: refuse, apply: refuse } });
    return host.setupRaiseSubscription(customerId, wanted);
  },
  close: () => store.close(),
});

function workerTarget(base, token) {
  const call = async (method, path, body) => {
    const res = await fetch(`${base}/api/v1/customers/${encodeURIComponent(path.id)}/${path.op}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new CliError(json.error ?? `http-${res.status}`, json.message ?? `the Worker answered ${res.status}`);
    return json;
  };
  return {
    export: (customerId) => call("GET", { id: customerId, op: "export" }),
    import: async (doc, customerId) => (await call("POST", { id: customerId ?? doc.customerId, op: "import" }, doc)).imported,
    raiseSubscription: async (customerId, wanted) => {
      const { apiVersion: _v, ...r } = await call("POST", { id: customerId, op: "raise-subscription" }, wanted);
      return r;
    },
    close: async () => {},
  };
}

function readDoc(file) {
  const text = !file || file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  try {
    return JSON.parse(text);
  } catch {
    throw new TransferError("invalid-file", "not JSON");
  }
}

async function main(argv) {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { store: { type: "string" }, customer: { type: "string" }, out: { type: "string" }, help: { type: "boolean" }, url: { type: "string" }, types: { type: "string" }, name: { type: "string" }, format: { type: "string" } },
  });
  const [cmd, file] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  if (!["export", "import", "verify", "raise-subscription"].includes(cmd)) throw new CliError("invalid-argument", `unknown command ${cmd}`);
  if (cmd === "raise-subscription") {
    if (!values.customer) throw new CliError("invalid-argument", "--customer is required");
    if (!values.url) throw new CliError("invalid-argument", "--url is required");
    const types = (values.types ?? "").split(",").map((t) => t.trim()).filter(Boolean);
    if (!types.length || !types.every((t) => /^\d+$/.test(t))) throw new CliError("invalid-argument", "--types must be integers separated by commas (10..52)");
    if (values.format != null && !/^[12]$/.test(values.format)) throw new CliError("invalid-argument", "--format must be 1 or 2");
    const wanted = { notificationUrl: values.url, eventTypes: types.map(Number), ...(values.name != null ? { name: values.name } : {}), ...(values.format != null ? { format: Number(values.format) } : {}) };
    const target = await openTarget(values.store);
    try {
      process.stdout.write(`${JSON.stringify(await target.raiseSubscription(values.customer, wanted))}\n`);
      return 0;
    } finally {
      await target.close();
    }
  }
  if ((cmd === "export" || cmd === "verify") && !values.customer) throw new CliError("invalid-argument", "--customer is required");
  // The file is read (and checked) before the store is opened: a wrong file changes nothing anywhere.
  const doc = cmd === "export" ? null : checkTransferDocument(readDoc(file), values.customer);
  const target = await openTarget(values.store);
  try {
    if (cmd === "export") {
      const out = `${JSON.stringify(await target.export(values.customer))}\n`;
      if (values.out) writeFileSync(values.out, out, { mode: 0o600 });
      else process.stdout.write(out);
      return 0;
    }
    if (cmd === "import") {
      process.stdout.write(`${JSON.stringify({ imported: await target.import(doc, values.customer) })}\n`);
      return 0;
    }
    const now = comparableState(await target.export(values.customer));
    const want = comparableState(doc);
    const diffs = Object.keys(want).filter((k) => JSON.stringify(want[k]) !== JSON.stringify(now[k]));
    process.stdout.write(`${JSON.stringify({ same: diffs.length === 0, differs: diffs, file: summaryOf(doc) })}\n`);
    return diffs.length ? 1 : 0;
  } finally {
    await target.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    const known = e instanceof TransferError || e instanceof CliError || e?.name === "StoreError" || e?.name === "HostError" || e?.name === "VirtuousSyncError";
    // The core's errors carry their code apart from the message.
    const message = e?.name === "VirtuousSyncError" && e.code && !String(e.message).startsWith(`${e.code}:`) ? `${e.code}: ${e.message}` : e?.message;
    process.stderr.write(`virtuous-sync-host: ${known ? message : `internal error (${e?.name ?? "Error"})`}\n`);
    process.exit(2);
  },
);
