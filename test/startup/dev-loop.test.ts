/**
 * `npm run dev` as a newcomer runs it, in its own process group as a
 * terminal runs it: the development-mode banner with the real URLs, one
 * JSON line per event (a broken current.sql too, no raw stack), the
 * README's recipe to undo a change to migrations/current.sql, and one
 * Ctrl-C (SIGINT to the whole group: npm and `node --watch` forward it
 * again) draining an in-flight request and stopping PostgreSQL.
 */
import { execFileSync, spawn } from "node:child_process";
import { appendFile, cp, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { freePort } from "../helpers/net.ts";
import { waitFor } from "../helpers/process.ts";

function postgresRunningIn(dir: string): boolean {
  const ps = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
  return ps.split("\n").some((l) => l.includes("postgres -D") && l.includes(dir));
}

/** The school project in a folder of its own (its current.sql is ours to edit). */
async function projectCopy(dir: string): Promise<string> {
  const project = path.join(dir, "project");
  for (const entry of [".gmrc", "migrations", "policies.sql", "seeds"]) {
    await cp(path.join(REPO_ROOT, entry), path.join(project, entry), { recursive: true });
  }
  await symlink(path.join(REPO_ROOT, "sql"), path.join(project, "sql"));
  await writeFile(path.join(project, "migrations/current.sql"), "-- Enter migration here\n");
  // policies.sql starts from a clean slate (hasura.reset_app_privileges): what current.sql
  // adds is offered to admin here, as a DBA would grant it.
  await appendFile(
    path.join(project, "policies.sql"),
    `\ndo $$ begin
  if to_regclass('public.scratch') is not null then grant select on public.scratch to admin; end if;
  if to_regprocedure('public.slow_hello(double precision)') is not null then
    grant execute on function public.slow_hello(double precision) to admin;
  end if;
end $$;\n`,
  );
  return project;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const found = await probe();
    if (found !== undefined && found !== false) return found;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/;

t.test("npm run dev: banner, JSON lines, undoing current.sql, one Ctrl-C drains", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-dev-"));
  const pgDir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-dev-pg-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.teardown(() => rm(pgDir, { recursive: true, force: true }));
  const project = await projectCopy(dir);
  const port = await freePort();
  const child = spawn("npm", ["run", "dev"], {
    cwd: REPO_ROOT,
    detached: true, // its own process group, as a terminal's foreground job
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      PORT: String(port),
      EMBEDDED_PG_DIR: pgDir,
      EMBEDDED_PG_PORT: String(await freePort()),
      PROJECT_DIR: project,
      LOG_LEVEL: "info",
      // The event-loop guard measures the machine, which runs other test files meanwhile.
      HASURA_GRAPHQL_MAX_EVENT_LOOP_DELAY_MS: "0",
    },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<string>((resolve) => child.on("exit", (code, signal) => resolve(`${code ?? signal}`)));
  t.teardown(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  });
  const base = `http://127.0.0.1:${port}`;
  t.ok(await waitFor(`${base}/readyz`, 200, 90_000), `ready within 90s:\n${stdout}\n${stderr}`);
  const events = () =>
    stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: number; msg: string; migrate?: boolean });
  const finished = () => events().filter((e) => e.migrate && /Finished|unchanged/.test(e.msg)).length;
  await until("graphile-migrate's first run of current.sql", () => finished() > 0);

  // The banner: on stderr, with the URLs of this very server.
  t.match(stderr, /DEVELOPMENT MODE: HASURA_GRAPHQL_ADMIN_SECRET is not set/, "the development-mode banner");
  t.match(stderr, /X-Hasura-\* header is trusted/);
  for (const url of [`${base}/console`, `${base}/graphiql`, `${base}/v1/graphql`, `${base}/graphql`]) {
    t.ok(stderr.includes(url), `banner shows ${url}`);
  }
  const ready = events().find((e) => e.msg.startsWith("ready:"));
  t.ok(ready?.msg.includes(`${base}/console`) && ready.msg.includes(`${base}/graphiql`), "the ready line names the console and GraphiQL");

  const currentSql = path.join(project, "migrations/current.sql");
  const save = async (sql: string) => {
    const before = finished();
    await writeFile(currentSql, sql);
    await until("graphile-migrate to run current.sql", () => finished() > before || events().some((e) => e.level >= 50 && e.migrate));
  };
  const scratch = async () => {
    const res = await fetch(`${base}/v1/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ scratch { id } }" }),
    });
    return (await res.json()) as { data?: unknown; errors?: Array<{ message: string }> };
  };
  const slowHello =
    "create or replace function public.slow_hello(seconds float) returns text language sql stable as $$ select 'hello' from pg_sleep(seconds) $$;\n";

  // A table added in current.sql appears in the schema…
  await save(`${slowHello}create table public.scratch (id int primary key);\n`);
  t.same(
    await until("scratch in the schema", async () => {
      const body = await scratch();
      return body.data ? body : undefined;
    }),
    { data: { scratch: [] } },
  );
  // …and reverting the file does not remove it: current.sql is run again as it is, nothing undoes the last run.
  await save(slowHello);
  t.same((await scratch()).data, { scratch: [] }, "reverting current.sql leaves the table");

  // A broken save: graphile-migrate's error (SQL position, stack) is one JSON line.
  const errorsBefore = events().filter((e) => e.level >= 50).length;
  await writeFile(currentSql, `${slowHello}create table public.scratch (id int primary key;\n`);
  const error = await until("the SQL error", () => events().filter((e) => e.level >= 50)[errorsBefore]);
  t.ok(error.migrate, "the error is graphile-migrate's");
  t.match(error.msg, /syntax error at or near/, "one event with the SQL error");

  // The README's recipe: the drop, first (idempotent current.sql), and save.
  await save(`drop table if exists public.scratch cascade;\n${slowHello}`);
  const gone = await until("scratch to leave the schema", async () => {
    const body = await scratch();
    // (a request between the drop and the schema's rebuild is a database error)
    return /not found/.test(body.errors?.[0]?.message ?? "") ? body : undefined;
  });
  t.match(gone.errors?.[0]?.message, /field 'scratch' not found in type: 'query_root'/, "the table is gone");

  // One Ctrl-C while a request runs: it is answered, then everything stops.
  const inFlight = fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ slowHello(seconds: 1) }" }),
  });
  // Once the server has the request (its "incoming request" event), as a person would press Ctrl-C mid-request.
  await until("the slow request to reach the server", () =>
    events().some((e) => e.msg === "incoming request" && (e as { req?: { url?: string } }).req?.url === "/graphql"),
  );
  await new Promise((r) => setTimeout(r, 100));
  process.kill(-child.pid!, "SIGINT");
  const res = await inFlight;
  t.same(await res.json(), { data: { slowHello: "hello" } }, "the in-flight request is answered");
  const code = await exited;
  // (npm, Ctrl-C'd itself, re-raises the signal once its script is done: a shell shows 130)
  t.ok(code === "0" || code === "SIGINT", `npm run dev ends (${code})`);
  t.notMatch(stdout + stderr, /second SIGINT|second signal/, "the forwarded copies of Ctrl-C are not a second Ctrl-C");
  t.equal(events().filter((e) => e.msg === "shutting down").length, 1, "one shutdown");
  t.notOk(postgresRunningIn(pgDir), "embedded PostgreSQL stopped");

  // Every stdout line is JSON or npm's / node --watch's own; no stack frame anywhere outside a JSON line.
  t.same(
    (stdout + stderr).split("\n").filter((l) => STACK_FRAME.test(l)),
    [],
    "no raw stack trace",
  );
});
