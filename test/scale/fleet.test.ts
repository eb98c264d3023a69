/**
 * The README's fleet recipe, run as written: a cluster of this file's own
 * (the primary), a streaming replica of it (test/helpers/replica.ts), one
 * PgBouncer in transaction mode in front of the primary, and two
 * `npm start` processes (server/main.ts, HASURA_GRAPHQL_SERVER_WORKERS=1) on
 * two ports: DATABASE_URL through PgBouncer, HASURA_GRAPHQL_READ_REPLICA_URLS
 * the replica, DATABASE_LISTEN_URL straight to the primary (LISTEN needs a
 * session, which transaction pooling does not keep). Nothing else is shared.
 *
 * - concurrent load of several roles (JWTs) and their inserts on both
 *   instances at once: every answer is its caller's, on both;
 * - a row inserted through one instance is read through the other once the
 *   replica has replayed it;
 * - a grant changed by another process, with policies.sql's NOTIFY, rebuilds
 *   the schemas of both instances (no restart), and again when revoked.
 */
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { pgbouncerBinary, startPgBouncer } from "../helpers/pgbouncer.ts";
import { dedicatedCluster } from "../helpers/dedicated-cluster.ts";
import { freePort } from "../helpers/net.ts";
import { startMain, waitFor, type MainProcess } from "../helpers/process.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { startReplica } from "../helpers/replica.ts";
import { ADMIN_SECRET } from "../helpers/secured.ts";
import { HS_JWT_SECRET, hasuraClaims, sign } from "../helpers/tokens.ts";

if (!pgbouncerBinary()) {
  t.plan(0, "pgbouncer is not installed (and we are not root to apt-get it)");
  process.exit(0);
}

t.setTimeout(120_000);

interface Caller {
  name: string;
  headers: Record<string, string>;
  /** The user ids its `allUsers` returns (policies.sql, seed users 1-4). */
  ids: number[];
  /** The campus it may insert objects of. */
  campus?: string;
}

async function caller(name: string, role: string, vars: Record<string, string>, ids: number[], campus?: string): Promise<Caller> {
  return { name, headers: { authorization: `Bearer ${await sign(hasuraClaims(role, vars))}` }, ids, campus };
}

async function gql(
  base: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  path = "/graphql",
) {
  const res = await fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test("two instances, PgBouncer (transaction mode) and a streaming replica: the fleet recipe", async (t) => {
  const primary = await dedicatedCluster(t);
  const db = primary.db;
  const replica = await startReplica(t, primary);
  const bouncer = await startPgBouncer({ pgPort: primary.cluster.port, users: [TEST_ROLES.authenticator], poolSize: 3 });
  t.teardown(() => bouncer.stop());
  const auth = TEST_ROLES.authenticator;

  // The README's environment, per instance (only PORT differs).
  const env: Record<string, string> = {
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    PROJECT_DIR: REPO_ROOT,
    HASURA_GRAPHQL_ADMIN_SECRET: ADMIN_SECRET,
    HASURA_GRAPHQL_JWT_SECRET: HS_JWT_SECRET,
    HASURA_GRAPHQL_UNAUTHORIZED_ROLE: "anonymous",
    HASURA_GRAPHQL_SERVER_WORKERS: "1",
    // The test is about whose rows each answer carries: on a loaded machine a schema build's stall must not shed requests (503).
    HASURA_GRAPHQL_MAX_EVENT_LOOP_DELAY_MS: "0",
    DATABASE_URL: bouncer.url(auth.name, auth.password, "app"),
    DATABASE_LISTEN_URL: db.runtimeUrl,
    HASURA_GRAPHQL_READ_REPLICA_URLS: replica.url(auth.name, auth.password, "app"),
    // PgBouncer < 1.21 cannot carry named prepared statements across its server connections.
    ...(bouncer.preparedStatements
      ? {}
      : { HASURA_GRAPHQL_USE_PREPARED_STATEMENTS: "false", DATAPLAN_PG_PREPARED_STATEMENT_CACHE_SIZE: "0" }),
  };
  const ports = [await freePort(), await freePort()];
  const instances: MainProcess[] = ports.map((port) => startMain({ ...env, PORT: String(port) }));
  t.teardown(async () => {
    for (const i of instances) if (i.child.exitCode === null) i.child.kill("SIGTERM");
    await Promise.race([Promise.all(instances.map((i) => i.exited)), sleep(15_000)]);
    for (const i of instances) if (i.child.exitCode === null) i.child.kill("SIGKILL");
  });
  const bases = ports.map((p) => `http://127.0.0.1:${p}`);
  const ready = await Promise.all(bases.map((b) => waitFor(`${b}/readyz`, 200, 45_000)));
  t.same(ready, [true, true], "both instances ready", { output: instances.map((i) => i.output().slice(-2000)) });
  if (!ready.every(Boolean)) return;

  await t.test("concurrent load of several roles on both instances: every answer is its caller's", async (t) => {
    const callers = await Promise.all([
      ...[1, 2, 3, 4].map((id) => caller(`user ${id}`, "user", { "x-hasura-user-id": String(id) }, [id])),
      caller("campus-admin madere", "campus-admin", { "x-hasura-campus": "{madere}" }, [1, 2], "madere"),
      caller("campus-admin pyc", "campus-admin", { "x-hasura-campus": "{pyc}" }, [3, 4], "pyc"),
      caller("admin-campus-read-only pyc", "admin-campus-read-only", { "x-hasura-campus": "{pyc}" }, [3, 4]),
      Promise.resolve({ name: "anonymous", headers: {}, ids: [1, 2, 3, 4] } as Caller),
    ]);
    const USERS = "query Users { allUsers(orderBy: ID_ASC) { nodes { id } } }";
    const INSERT = "mutation Add($o: ObjectInput!) { createObject(input: {object: $o}) { object { name campus } } }";
    const wrong: string[] = [];
    const served = [0, 0];
    let inserts = 0;
    let refused = 0;
    let next = 0;
    const TOTAL = 400;
    const worker = async () => {
      while (next < TOTAL) {
        const i = next++;
        const at = i % 2;
        const c = callers[i % callers.length]!;
        if (c.campus && i % 5 === 0) {
          // Its own campus is accepted, with its own campus returned; the other one is refused (WITH CHECK on the primary).
          const other = c.campus === "madere" ? "pyc" : "madere";
          const own = await gql(bases[at]!, INSERT, { o: { name: `fleet-${i}`, type: "exercise", campus: c.campus } }, c.headers);
          const obj = own.json?.data?.createObject?.object;
          if (own.status !== 200 || obj?.campus !== c.campus || obj?.name !== `fleet-${i}`)
            wrong.push(`${c.name} insert on ${at}: ${own.text.slice(0, 300)}`);
          else inserts++;
          const cross = await gql(bases[at]!, INSERT, { o: { name: `fleet-x-${i}`, type: "exercise", campus: other } }, c.headers);
          if (!cross.json?.errors) wrong.push(`${c.name} inserted on ${other} through ${at}: ${cross.text.slice(0, 300)}`);
          else refused++;
        }
        const r = await gql(bases[at]!, USERS, {}, c.headers);
        const ids = r.json?.data?.allUsers?.nodes?.map((n: { id: number }) => n.id);
        if (r.status !== 200 || JSON.stringify(ids) !== JSON.stringify(c.ids))
          wrong.push(`${c.name} on ${at}: ${r.status} ${r.text.slice(0, 300)}`);
        else served[at]!++;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    t.same(wrong.slice(0, 5), [], `no wrong answer (${wrong.length} of ${TOTAL} reads and their inserts)`);
    t.ok(served[0]! > 150 && served[1]! > 150, `both instances answered (${served.join(" + ")})`);
    t.ok(inserts > 0 && refused === inserts, `${inserts} inserts on the callers' campuses, ${refused} on another refused`);

    // Reads went to the replica, the rest through PgBouncer: the recipe is wired as written.
    const onReplica = await replica.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where usename = $1 and datname = 'app'",
      [auth.name],
    );
    t.ok(onReplica[0]!.n > 0, `the instances hold ${onReplica[0]!.n} connections to the replica`);
    const stats = await bouncer.admin<{ database: string; total_xact_count: string }>("SHOW STATS");
    const xacts = Number(stats.find((s) => s.database === "app")?.total_xact_count ?? 0);
    t.ok(xacts >= inserts, `PgBouncer carried ${xacts} transactions to the primary (the inserts among them)`);
    const direct = await db.asRoot("select count(*)::int as n from pg_stat_activity where usename = $1 and datname = 'app'", [auth.name]);
    t.ok((direct[0] as { n: number }).n <= 3 + 2, "on the primary: PgBouncer's 3 server connections and the 2 LISTEN sessions, no more");
  });

  await t.test("a row inserted through one instance is read through the other once the replica has it", async (t) => {
    const admin = await caller("campus-admin madere", "campus-admin", { "x-hasura-campus": "{madere}" }, [1, 2], "madere");
    const name = `fleet-visible-${Date.now()}`;
    const readThrough2 = () =>
      gql(
        bases[1]!,
        "query One($n: String!) { object(where: {name: {_eq: $n}}) { name campus } }",
        { n: name },
        admin.headers,
        "/v1/graphql",
      );
    // Replay paused: the write lands on the primary, the other instance's read (on the replica) cannot see it yet.
    await replica.pauseReplay();
    const ins = await gql(
      bases[0]!,
      "mutation Add($o: ObjectInput!) { createObject(input: {object: $o}) { object { name } } }",
      { o: { name, type: "exercise", campus: "madere" } },
      admin.headers,
    );
    t.equal(ins.json?.data?.createObject?.object?.name, name, "inserted through instance 1", { body: ins.text });
    const before = await readThrough2();
    t.same(before.json?.data?.object, [], "not yet through instance 2: its reads are the replica's, which has not replayed it", {
      body: before.text,
    });
    await replica.resumeReplay();
    await replica.waitCaughtUp();
    const after = await readThrough2();
    t.same(after.json?.data?.object, [{ name, campus: "madere" }], "read through instance 2 once the replica caught up", {
      body: after.text,
    });
  });

  await t.test("a grant changed by another process reaches both instances' schemas", async (t) => {
    const EMAIL = "{ allUsers { nodes { login email } } }";
    const statuses = async () => Promise.all(bases.map(async (b) => (await gql(b, EMAIL)).status));
    const until = async (want: number) => {
      let got = await statuses();
      for (let i = 0; i < 100 && got.some((s) => s !== want); i++) {
        await sleep(100);
        got = await statuses();
      }
      return got;
    };
    t.same(await statuses(), [400, 400], "email is not in anonymous's schema on either instance");
    // What a migration applied elsewhere does: the grant, then policies.sql's NOTIFY (on the primary).
    await db.asOwner(`grant select (email) on public."user" to anonymous; notify postgraphile_watch, '{"type":"manual"}'`);
    t.same(await until(200), [200, 200], "both rebuilt: email appears on both, no restart");
    await db.asOwner(`revoke select (email) on public."user" from anonymous; notify postgraphile_watch, '{"type":"manual"}'`);
    t.same(await until(400), [400, 400], "and disappears from both when revoked");
  });
});
