// A private PostgreSQL 15 server for the tests: initdb into a temp dir, pg_ctl start on a free port with the socket
// in that dir (no TCP listener), stopped and removed by stop(). When the process runs as root (CI), the server runs
// as the `postgres` user (initdb refuses root). Binaries: PG_BIN, else /usr/lib/postgresql/15/bin.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, chownSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";

export const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export function postgresAvailable() {
  return existsSync(join(PG_BIN, "initdb")) && existsSync(join(PG_BIN, "pg_ctl"));
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export async function startPostgres() {
  const dir = mkdtempSync(join(tmpdir(), "vsh-pg-"));
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  let uid;
  let gid;
  if (asRoot) {
    uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const run = (bin, args) =>
    execFileSync(join(PG_BIN, bin), args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", ...(asRoot ? { uid, gid } : {}), cwd: dir });
  const port = await freePort();
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  run("pg_ctl", ["-D", data, "-l", join(dir, "log"), "-w", "-o", `-p ${port} -k ${dir} -c listen_addresses='' -c fsync=off -c max_connections=50`, "start"]);
  const url = `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=${port}`;
  return {
    url,
    port,
    dir,
    stop() {
      try {
        run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
