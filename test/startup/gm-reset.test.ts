/**
 * `npm run gm -- reset --erase` on the embedded cluster, the README's way to
 * start over from the committed migrations: its root connection must not be
 * connected to the database it drops.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { freePort } from "../helpers/net.ts";
import { startMain, waitFor } from "../helpers/process.ts";

t.test("gm reset --erase rebuilds the development database from the committed migrations", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-gm-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const env = { EMBEDDED_PG_DIR: dir, EMBEDDED_PG_PORT: String(await freePort()) };
  const users = async (port: number) => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ user_aggregate { aggregate { count } } }" }),
    });
    return ((await res.json()) as { data?: { user_aggregate: { aggregate: { count: number } } } }).data?.user_aggregate.aggregate.count;
  };
  const serve = async () => {
    const port = await freePort();
    const proc = startMain({ ...env, PORT: String(port) });
    t.teardown(() => proc.child.kill("SIGKILL"));
    t.ok(await waitFor(`http://127.0.0.1:${port}/readyz`, 200, 60_000), "ready within 60s");
    const count = await users(port);
    proc.child.kill("SIGINT");
    t.equal((await proc.exited).code, 0, "stops cleanly");
    return count;
  };

  t.ok(((await serve()) ?? 0) > 0, "a new development database has the demo rows");

  const gm = spawn(process.execPath, [path.join(REPO_ROOT, "server/cli/gm.ts"), "reset", "--erase"], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", GRAPHILE_ENV: "production", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  gm.stdout.on("data", (d) => (out += d));
  gm.stderr.on("data", (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => gm.on("exit", resolve));
  t.equal(code, 0, `gm reset --erase succeeds:\n${out}`);
  t.match(out, /dropped database 'app'/);
  t.match(out, /committed migrations executed/);

  t.equal(await serve(), 0, "served again: the structure, without the demo rows");
});
