#!/usr/bin/env node
// virtuous-sim: start a local Virtuous, trigger one event, or run a named scenario against a running one.
import { parseArgs } from "node:util";
import { SimAdmin, startSim } from "../src/index.mjs";

const USAGE = `virtuous-sim — a local Virtuous CRM+ (virtuous-sync-sim)

  virtuous-sim start [--port 4010] [--seed 1] [--forward-to URL] [--secret S] [--clock real|manual]
                     [--config file.json] [--quiet]
      Starts the simulator on 127.0.0.1 and, with --forward-to, subscribes URL to every event and prints each
      delivery attempt. The secret comes from --secret or $VIRTUOUS_SIM_SECRET (never printed); without one,
      deliveries are unsigned.
  virtuous-sim trigger <event> [--id N] [--set field=value ...] [--from N --into N] [--no-flush]
      One staff action that fires <event>: gift.created, gift.updated, gift.deleted, contact.created,
      contact.updated, contact.merged, contact.deleted (any spelling: GiftUpdate, giftUpdate, gift-update).
  virtuous-sim scenario run <name> [--opt key=value ...] [--set field=value ...]
  virtuous-sim scenario list
  virtuous-sim batch run                 the nightly Transaction batch, now
  virtuous-sim flush [--advance]         send due deliveries (with --advance: every retry, moving the clock)
  virtuous-sim deliveries                list deliveries and their attempts
  virtuous-sim outage webhooks|api on|off
  virtuous-sim reset [--seed N]

  Commands other than start talk to --url (default $VIRTUOUS_SIM_URL or http://127.0.0.1:4010).
`;

/** `a=1` → ["a", 1]; values parse as JSON when they can (numbers, true, null, lists), else stay strings. */
function pair(s) {
  const i = s.indexOf("=");
  if (i <= 0) throw new Error(`expected field=value, got "${s}"`);
  const raw = s.slice(i + 1);
  let v = raw;
  try {
    v = JSON.parse(raw);
  } catch {
    /* a plain string */
  }
  return [s.slice(0, i), v];
}

function fail(msg) {
  process.stderr.write(`virtuous-sim: ${msg}\n`);
  process.exit(2);
}

const print = (v) => process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);

async function main(argv) {
  const { values: o, positionals: pos } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: "string" },
      seed: { type: "string" },
      "forward-to": { type: "string" },
      secret: { type: "string" },
      clock: { type: "string" },
      config: { type: "string" },
      quiet: { type: "boolean" },
      url: { type: "string" },
      id: { type: "string" },
      from: { type: "string" },
      into: { type: "string" },
      set: { type: "string", multiple: true },
      opt: { type: "string", multiple: true },
      advance: { type: "boolean" },
      "no-flush": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [cmd, ...rest] = pos;
  if (!cmd || o.help) {
    process.stdout.write(USAGE);
    return;
  }
  const url = o.url ?? process.env.VIRTUOUS_SIM_URL ?? "http://127.0.0.1:4010";
  const admin = new SimAdmin(url);
  const set = o.set ? Object.fromEntries(o.set.map(pair)) : undefined;
  switch (cmd) {
    case "start": {
      let config = {};
      if (o.config) {
        const { readFileSync } = await import("node:fs");
        config = JSON.parse(readFileSync(o.config, "utf8"));
      }
      const port = o.port === undefined ? 4010 : Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) fail("--port must be a port number");
      if (o.clock && !["real", "manual"].includes(o.clock)) fail("--clock must be real or manual");
      const secret = o.secret ?? process.env.VIRTUOUS_SIM_SECRET;
      const quiet = o.quiet;
      const s = await startSim({
        port,
        seed: o.seed === undefined ? undefined : /^\d+$/.test(o.seed) ? Number(o.seed) : o.seed,
        clock: o.clock ? { mode: o.clock } : undefined,
        config,
        forwardTo: o["forward-to"],
        secret,
        onDelivery: quiet
          ? undefined
          : ({ delivery, attempt, ok }) => {
              const what = attempt.status ? `[${attempt.status}]` : `[${attempt.error}]`;
              const dup = delivery.duplicateOf ? ` (duplicate of ${delivery.duplicateOf})` : "";
              process.stdout.write(
                `${new Date(attempt.atMs).toISOString()}  --> ${delivery.eventType} ${delivery.resourceId} ${delivery.id} attempt ${attempt.n} ${what}${ok ? "" : " will retry or fail"}${dup}\n`,
              );
            },
      });
      process.stdout.write(`virtuous-sim listening on ${s.url} (seed ${s.sim.config.seed}, clock ${s.sim.clock.mode})\n`);
      process.stdout.write(`  API:   ${s.url}/api/...  (Authorization: Bearer <api key>; default key "sim-api-key", or POST /Token)\n`);
      process.stdout.write(`  admin: ${s.url}/_sim/...\n`);
      if (o["forward-to"]) process.stdout.write(`  forwarding every event to ${o["forward-to"]} (${secret ? `signed, ${s.sim.config.signature.header}` : "UNSIGNED: no --secret"})\n`);
      const stop = async () => {
        await s.close();
        process.exit(0);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      return;
    }
    case "trigger": {
      const [event] = rest;
      if (!event) fail("trigger needs an event, e.g. gift.updated");
      const body = { event, set };
      if (o.id !== undefined) body.id = Number(o.id);
      if (o.from !== undefined) body.from = Number(o.from);
      if (o.into !== undefined) body.into = Number(o.into);
      const result = await admin.trigger(event, body);
      if (!o["no-flush"]) result.flush = await admin.flush();
      print(result);
      return;
    }
    case "scenario": {
      const [sub, name] = rest;
      if (sub === "list") return print(await admin.scenarios());
      if (sub !== "run" || !name) fail("usage: scenario run <name> | scenario list");
      const opts = o.opt ? Object.fromEntries(o.opt.map(pair)) : {};
      if (set) opts.set = set;
      return print(await admin.scenario(name, opts));
    }
    case "batch":
      if (rest[0] !== "run") fail("usage: batch run");
      return print(await admin.runBatch());
    case "flush":
      return print(await admin.flush({ advance: Boolean(o.advance) }));
    case "deliveries":
      return print((await admin.deliveries()).map(({ body, ...d }) => ({ ...d, attempts: d.attempts.map(({ headers, ...a }) => a) })));
    case "outage": {
      const [target, state] = rest;
      if (!["webhooks", "api"].includes(target) || !["on", "off"].includes(state)) fail("usage: outage webhooks|api on|off");
      return print(await admin.setOutages({ [target]: state === "on" }));
    }
    case "reset":
      return print(await admin.reset(o.seed === undefined ? {} : { seed: /^\d+$/.test(o.seed) ? Number(o.seed) : o.seed }));
    default:
      fail(`unknown command "${cmd}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((e) => fail(e.message));
