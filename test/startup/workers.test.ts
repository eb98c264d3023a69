/**
 * `npm start` with HASURA_GRAPHQL_SERVER_WORKERS=2, as a real process tree
 * on its own embedded cluster: two workers answer on one port, a schema
 * change reaches both, a killed worker is replaced (requests keep working,
 * /readyz waits for the whole fleet), SIGTERM drains and stops PostgreSQL,
 * and a killed supervisor leaves neither workers nor PostgreSQL behind.
 * Which worker answered is read from its own request log line (pid).
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import t, { type Test } from "tap";
import { workerPoolSize } from "../../server/cluster/supervisor.ts";
import { defaultWorkers } from "../../server/config.ts";
import { freePort } from "../helpers/net.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { alive, errorLines, type MainProcess, startMain, waitFor } from "../helpers/process.ts";

interface Answer {
  status: number;
  body: string;
}

/** One request on a connection of its own, so each is routed to a worker afresh (no keep-alive). */
function request(port: number, urlPath: string, opts: { body?: unknown; role?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: urlPath,
        method: data ? "POST" : "GET",
        agent: false,
        headers: {
          ...(data ? { "content-type": "application/json" } : {}),
          ...(opts.role ? { "x-hasura-role": opts.role } : {}),
        },
      },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

const gql = (port: number, query: string, probe: string, role?: string) =>
  request(port, `/graphql?probe=${probe}`, { body: { query }, role });

/** The worker processes of a supervisor (its other child is the PostgreSQL watchdog). */
function workerPids(supervisor: number): number[] {
  let out = "";
  try {
    out = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(supervisor)], { encoding: "utf8" });
  } catch {
    return []; // no children
  }
  return out
    .split("\n")
    .filter((l) => l.includes("cluster/worker.ts"))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

function postgresRunningIn(dir: string): boolean {
  const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
  return ps.split("\n").some((l) => l.includes("postgres -D") && l.includes(dir));
}

/** pid of the process that logged the request whose URL ends in `?probe=<probe>`. */
function answeredBy(proc: MainProcess, probe: string): number | undefined {
  for (const line of proc.output().split("\n")) {
    if (!line.includes(`probe=${probe}"`)) continue;
    const e = JSON.parse(line) as { pid: number; req?: { url: string } };
    if (e.req?.url.endsWith(`probe=${probe}`)) return e.pid;
  }
  return undefined;
}

async function until(what: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await what()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

async function startFleet(t: Test): Promise<{ proc: MainProcess; port: number; dir: string; pgPort: number }> {
  const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-workers-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const pgPort = await freePort();
  const proc = startMain({
    PORT: String(port),
    EMBEDDED_PG_DIR: dir,
    EMBEDDED_PG_PORT: String(pgPort),
    HASURA_GRAPHQL_SERVER_WORKERS: "2",
    LOG_FORMAT: "json",
    // A worker building a schema stalls its event loop; on a busy 2-core runner load
    // shedding would then refuse requests, which is not what these tests are about.
    HASURA_GRAPHQL_MAX_EVENT_LOOP_DELAY_MS: "0",
  });
  t.teardown(() => {
    for (const pid of workerPids(proc.child.pid!)) process.kill(pid, "SIGKILL");
    proc.child.kill("SIGKILL");
  });
  const ready = await waitFor(`http://127.0.0.1:${port}/readyz`, 200, 60_000);
  t.ok(ready, "ready within 60s");
  if (!ready) t.comment(proc.output().slice(-3000));
  return { proc, port, dir, pgPort };
}

t.test("two workers serve one port; a killed one is replaced; SIGTERM drains them all and stops PostgreSQL", async (t) => {
  const { proc, port, dir, pgPort } = await startFleet(t);
  const supervisor = proc.child.pid!;
  // Each worker answers /readyz: every answer says the whole fleet is ready.
  for (let i = 0; i < 4; i++) {
    const ready = await request(port, "/readyz");
    t.same(
      JSON.parse(ready.body),
      { status: "ok", database: true, schema: true, workers: { ready: 2, total: 2 } },
      "/readyz counts the fleet",
    );
  }
  const workers = workerPids(supervisor);
  t.equal(workers.length, 2, "two worker processes");
  t.match(
    execFileSync("ps", ["-o", "args=", "-p", String(workers[0])], { encoding: "utf8" }),
    /--max-semi-space-size=\d+/,
    "started with the GC flag",
  );

  for (let i = 0; i < 8; i++) t.equal((await request(port, `/healthz?probe=h${i}`)).status, 200);
  await until(() => answeredBy(proc, "h7") !== undefined, 2_000);
  const answering = new Set(Array.from({ length: 8 }, (_, i) => answeredBy(proc, `h${i}`)));
  t.same([...answering].sort(), [...workers].sort(), "both workers answer");

  // A schema change by another process reaches every worker (policies.sql ends with this NOTIFY).
  const { superuserPassword } = JSON.parse(await readFile(path.join(dir, "credentials.json"), "utf8")) as { superuserPassword: string };
  const root = new pg.Client({ connectionString: `postgres://postgres:${encodeURIComponent(superuserPassword)}@127.0.0.1:${pgPort}/app` });
  await root.connect();
  // Each worker LISTENs on a connection of its own, which comes back when lost.
  const listeners = async () =>
    (await root.query<{ pid: number }>("select pid from pg_stat_activity where application_name = 'hasura-auth-pg listen'")).rows;
  t.equal((await listeners()).length, 2, "one LISTEN connection per worker");
  await root.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'hasura-auth-pg listen'");
  t.ok(await until(async () => (await listeners()).length === 2, 10_000), "both LISTEN connections are back");
  // Their schemas as they are now (without the function below), so only the NOTIFY can bring it.
  for (let i = 0; i < 4; i++) t.equal((await gql(port, "{ slowHello(seconds: 0) }", `before${i}`, "anonymous")).status, 400);
  await root.query(
    "create function public.slow_hello(seconds float) returns text language sql stable as $$ select 'hello' from pg_sleep(seconds) $$",
  );
  await root.query("grant execute on function public.slow_hello(float) to anonymous");
  await root.query("notify postgraphile_watch");
  await root.end();
  let n = 0;
  const hello = async () => {
    const probe = `s${n++}`;
    const res = await gql(port, "{ slowHello(seconds: 0) }", probe, "anonymous");
    return { ok: res.status === 200 && res.body.includes('"hello"'), probe };
  };
  t.ok(await until(async () => (await hello()).ok, 10_000), "the new function appears without a restart");
  const probes: string[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await hello();
    t.ok(r.ok, "every worker has the new schema");
    probes.push(r.probe);
  }
  await until(() => answeredBy(proc, probes.at(-1)!) !== undefined, 2_000);
  t.equal(new Set(probes.map((p) => answeredBy(proc, p))).size, 2, "answered by both workers");

  // One worker dies: the other answers meanwhile, /readyz waits for its replacement.
  const [victim] = workers as [number, number];
  process.kill(victim, "SIGKILL");
  t.ok(await until(() => proc.output().includes('"msg":"worker died; starting another"'), 5_000), "the supervisor logs the death");
  let notReadySeen = false;
  let requests = 0;
  let failures = 0;
  const back = await until(async () => {
    requests++;
    const res = await gql(port, "{ allUsers { nodes { login } } }", `k${requests}`);
    if (res.status !== 200 || !res.body.includes('"login"')) failures++;
    const r = await request(port, "/readyz");
    const body = JSON.parse(r.body) as { workers: { ready: number; total: number } };
    if (r.status === 503 && body.workers.ready === 1 && body.workers.total === 2) notReadySeen = true;
    return r.status === 200 && body.workers.ready === 2;
  }, 30_000);
  t.ok(back, "/readyz is 200 again once the replacement is ready");
  t.ok(notReadySeen, "/readyz was 503 with workers { ready: 1, total: 2 } meanwhile");
  t.equal(failures, 0, `all ${requests} queries during the replacement succeeded`);
  const after = workerPids(supervisor);
  t.equal(after.length, 2, "two workers again");
  t.notOk(after.includes(victim), "the dead one is gone");

  // SIGTERM: an in-flight request is answered, then everything stops.
  const inFlight = gql(port, "{ slowHello(seconds: 1) }", "drain", "anonymous");
  await until(() => answeredBy(proc, "drain") !== undefined, 2_000);
  proc.child.kill("SIGTERM");
  const res = await inFlight;
  t.equal(res.status, 200);
  t.match(res.body, /"hello"/, "the in-flight request is answered");
  const { code } = await proc.exited;
  t.equal(code, 0, "exits 0");
  t.same(
    after.filter((pid) => alive(pid)),
    [],
    "every worker exited",
  );
  t.notOk(postgresRunningIn(dir), "embedded PostgreSQL stopped");
});

t.test("a killed supervisor leaves no worker and no PostgreSQL behind", async (t) => {
  const { proc, dir } = await startFleet(t);
  const workers = workerPids(proc.child.pid!);
  t.equal(workers.length, 2);
  t.ok(postgresRunningIn(dir));
  proc.child.kill("SIGKILL");
  await proc.exited;
  t.ok(await until(() => workers.every((pid) => !alive(pid)), 10_000), "the workers exit");
  t.ok(await until(() => !postgresRunningIn(dir), 15_000), "the watchdog stops PostgreSQL");
});

t.test("HASURA_GRAPHQL_SERVER_WORKERS=1 is one process", async (t) => {
  const db = await createTestDatabase(t);
  const port = await freePort();
  const proc = startMain({ DATABASE_URL: db.runtimeUrl, PORT: String(port), HASURA_GRAPHQL_SERVER_WORKERS: "1", LOG_FORMAT: "json" });
  t.teardown(() => proc.child.kill("SIGKILL"));
  t.ok(await waitFor(`http://127.0.0.1:${port}/readyz`, 200, 30_000));
  t.same(workerPids(proc.child.pid!), [], "no worker processes");
  const ready = await request(port, "/readyz");
  t.same(JSON.parse(ready.body), { status: "ok", database: true, schema: true }, "/readyz without workers");
  await request(port, "/healthz?probe=one");
  await until(() => answeredBy(proc, "one") !== undefined, 2_000);
  t.equal(answeredBy(proc, "one"), proc.child.pid, "the process itself answers");
  proc.child.kill("SIGTERM");
  t.equal((await proc.exited).code, 0);
});

t.test("a start-up failure in the workers is one error line, exit 1", async (t) => {
  const db = await createTestDatabase(t);
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
  t.teardown(() => blocker.close());
  const { port } = blocker.address() as { port: number };
  const proc = startMain({ DATABASE_URL: db.runtimeUrl, PORT: String(port), HASURA_GRAPHQL_SERVER_WORKERS: "2", LOG_FORMAT: "json" });
  t.equal((await proc.exited).code, 1);
  t.same(errorLines(proc.output()), [`error: PORT: ${port} is already in use (set PORT to a free port)`], "once, for both workers");
});

t.test("workers that keep dying stop the fleet: one error line, exit 1", async (t) => {
  const db = await createTestDatabase(t);
  const port = await freePort();
  const proc = startMain({ DATABASE_URL: db.runtimeUrl, PORT: String(port), HASURA_GRAPHQL_SERVER_WORKERS: "2", LOG_FORMAT: "json" });
  t.teardown(() => proc.child.kill("SIGKILL"));
  t.ok(await waitFor(`http://127.0.0.1:${port}/readyz`, 200, 60_000), "ready");
  let exited = false;
  void proc.exited.then(() => (exited = true));
  // Every worker killed as soon as it appears, replacements included.
  const killed = new Set<number>();
  await until(() => {
    for (const pid of workerPids(proc.child.pid!)) {
      if (killed.has(pid)) continue;
      killed.add(pid);
      process.kill(pid, "SIGKILL");
    }
    return exited;
  }, 30_000);
  t.equal((await proc.exited).code, 1, "exits 1");
  t.equal(killed.size, 6, "after the sixth death within 30 s");
  const lines = errorLines(proc.output());
  t.equal(lines.length, 1, "one error line");
  t.match(lines[0], /^error: workers keep dying \(6 exits within 30 s, the last SIGKILL\); stopping$/);
});

t.test("the default worker count and each worker's share of the pool", async (t) => {
  // With the embedded PostgreSQL on the machine, half the cores (at least 2, at most the cores).
  t.same(
    [1, 2, 3, 8, 16].map((cores) => defaultWorkers(cores, true)),
    [1, 2, 2, 4, 8],
  );
  t.same(
    [1, 2, 8, 128].map((cores) => defaultWorkers(cores, false)),
    [1, 2, 8, 64],
  );
  t.equal(workerPoolSize(10, 2), 5, "HASURA_GRAPHQL_PG_CONNECTIONS is split");
  t.equal(workerPoolSize(10, 8), 2, "at least 2 each");
});
