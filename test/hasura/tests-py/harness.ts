/**
 * Runs ports of Hasura's tests-py mutation-permission suites
 * (server/tests-py/queries/graphql_mutation/{insert,update,delete}/permissions)
 * through the real HTTP server and Postgres.
 *
 * A suite is its fixture SQL (tables, grants, policies, declarations: the
 * schema_setup.yaml metadata translated as a DBA writes it) and its rows
 * (values_setup.yaml, reloaded before every case file as tests-py's
 * per-method fixture does), on a blog test database whose own tables are
 * dropped first (Hasura's root field names need the tables in `public`).
 * A role name in doubled braces in the SQL is the test's application role
 * for that Hasura role (roles are cluster-wide, so each run makes its own);
 * a request's X-Hasura-Role names Hasura's role and is sent as that role.
 *
 * Each case file is one or more requests with Hasura's expected answer:
 * data exactly; errors by code, message and path where the case gives
 * them (a case that checks only the status expects Hasura's error code,
 * noted where it is written). A case is "as Hasura" when every request
 * answers so. Where the README documents that RLS answers differently, the
 * case asserts our documented answer (`divergence`); a case that fails for
 * a reason not fixed here runs as a tap todo (`known`). The summary line
 * counts what the run observed, not what the file says.
 */
import { readFile } from "node:fs/promises";
import { isDeepStrictEqual } from "node:util";
import type { Test } from "tap";
import { createTestDatabase, type TestDatabase } from "../../helpers/pg.ts";
import { createFixtureRoles } from "../../helpers/roles.ts";
import { ADMIN_SECRET, SECURED_JWT } from "../../helpers/secured.ts";
import { startServer, type GqlResponse, type TestServer } from "../../helpers/server.ts";
import { hasuraClaims, sign } from "../../helpers/tokens.ts";

export interface ExpectedError {
  code: string;
  /** Absent: the case does not say. */
  message?: string;
  path?: string;
}

export interface Expected {
  data?: unknown;
  errors?: ExpectedError[];
}

export interface Request {
  description: string;
  /** /v1/graphql unless the case says /v1alpha1/graphql. */
  url?: "/v1/graphql" | "/v1alpha1/graphql";
  status: number;
  /** As the case file writes them; X-Hasura-Role names Hasura's role. */
  headers?: Record<string, string>;
  query: string;
  variables?: Record<string, unknown>;
  /** Hasura's answer. */
  expect: Expected;
  /** A documented divergence: our answer instead of Hasura's (`expect`). */
  ours?: { status: number; expect: Expected };
}

export interface CaseFile {
  file: string;
  requests: Request[];
  /**
   * How tests-py authenticates it: trusted headers on a server without an
   * admin secret (default); `admin-secret`: check_query_admin_secret, the
   * secret added to the headers; `jwt`: a server with an admin secret and
   * JWTs, the request's session in a token and no secret.
   */
  auth?: "admin-secret" | "jwt";
  /** The README's divergence item a request's `ours` follows. */
  divergence?: string;
  /** Why this case does not answer as Hasura, when it is not fixed here (run as a todo). */
  known?: string;
}

export interface Suite {
  name: string;
  /** Hasura's roles the fixture names. */
  roles: readonly string[];
  /** Fixture and rows, next to the test file. */
  sql: URL;
  values: URL;
  cases: CaseFile[];
}

interface Run {
  db: TestDatabase;
  dev: TestServer;
  secured: TestServer;
  roleName: (hasuraRole: string) => string;
}

/** Drops the blog's tables and declarations, loads the suite's fixture, starts both servers. */
async function prepare(t: Test, suite: Suite): Promise<Run> {
  const db = await createTestDatabase(t, "blog");
  const names = await createFixtureRoles(t, db, suite.roles);
  const roleName = (r: string) => (Object.hasOwn(names, r) ? names[r as keyof typeof names] : r);
  const fill = (sql: string) =>
    sql.replace(/\{\{(\w+)\}\}/g, (_, r: string) => {
      if (!Object.hasOwn(names, r)) throw new Error(`${suite.name}: the fixture names an undeclared role ${r}`);
      return roleName(r);
    });
  await db.asOwner(`
    call hasura.reset_app_privileges('public', array['anonymous', 'user', 'admin']);
    drop table public.article_tag, public.tag, public.article, public.author cascade;
  `);
  await db.asOwner(fill(await readFile(suite.sql, "utf8")));
  const dev = await startServer(t, { db });
  const secured = await startServer(t, { db, env: SECURED_JWT });
  return { db, dev, secured, roleName };
}

async function resetRows(run: Run, values: string): Promise<void> {
  const tables = await run.db.asRoot<{ name: string }>(
    "select format('%I.%I', schemaname, tablename) as name from pg_tables where schemaname = 'public'",
  );
  await run.db.asRoot(`truncate ${tables.map((r) => r.name).join(", ")} restart identity cascade; ${values}`);
}

async function send(run: Run, c: CaseFile, r: Request): Promise<GqlResponse> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) {
    headers[k.toLowerCase()] = k.toLowerCase() === "x-hasura-role" ? run.roleName(v) : v;
  }
  const path = r.url ?? "/v1/graphql";
  if (c.auth === "admin-secret") {
    return run.secured.gql(r.query, { path, variables: r.variables, headers: { ...headers, "x-hasura-admin-secret": ADMIN_SECRET } });
  }
  if (c.auth === "jwt") {
    // tests-py's JWT mode: the session variables are the token's claims.
    const { "x-hasura-role": role, "x-hasura-use-backend-only-permissions": backend, ...variables } = headers;
    const token = await sign(hasuraClaims(role!, variables));
    const extra: Record<string, string> = backend === undefined ? {} : { "x-hasura-use-backend-only-permissions": backend };
    return run.secured.gql(r.query, { path, variables: r.variables, headers: { authorization: `Bearer ${token}`, ...extra } });
  }
  return run.dev.gql(r.query, { path, variables: r.variables, headers });
}

/** The answer: its data, and its errors' code, message and path. */
function observed(res: GqlResponse): { status: number; answer: Expected } {
  const body = res.body ?? {};
  const answer: Expected = {};
  if ("data" in body) answer.data = body.data;
  if (Array.isArray(body.errors)) {
    answer.errors = body.errors.map((e: { message?: string; extensions?: { code?: string; path?: string } }) => ({
      code: e.extensions?.code ?? "",
      message: e.message,
      path: e.extensions?.path,
    }));
  }
  return { status: res.status, answer };
}

function matches(got: { status: number; answer: Expected }, status: number, expected: Expected): boolean {
  if (got.status !== status) return false;
  if (!isDeepStrictEqual("data" in got.answer, "data" in expected)) return false;
  if ("data" in expected && !isDeepStrictEqual(got.answer.data, expected.data)) return false;
  const want = expected.errors ?? [];
  const have = got.answer.errors ?? [];
  if (want.length !== have.length) return false;
  return want.every((w, i) => {
    const h = have[i]!;
    if (h.code !== w.code) return false;
    if (w.path !== undefined && h.path !== w.path) return false;
    return w.message === undefined || h.message === w.message;
  });
}

export function runSuite(t: Test, suite: Suite): void {
  t.test(`tests-py ${suite.name} permissions`, async (t) => {
    const run = await prepare(t, suite);
    const values = await readFile(suite.values, "utf8");
    const asHasura: string[] = [];
    const notAsHasura: string[] = [];

    for (const c of suite.cases) {
      await resetRows(run, values);
      let allAsHasura = true;
      const results: Array<{ r: Request; got: { status: number; answer: Expected }; hasura: boolean }> = [];
      for (const r of c.requests) {
        const got = observed(await send(run, c, r));
        const hasura = matches(got, r.status, r.expect);
        allAsHasura &&= hasura;
        results.push({ r, got, hasura });
      }
      (allAsHasura ? asHasura : notAsHasura).push(c.file);

      const reason = c.known ?? (c.divergence ? `README: ${c.divergence}` : undefined);
      t.test(c.file, c.known ? { todo: c.known } : {}, async (t) => {
        for (const { r, got, hasura } of results) {
          if (r.ours && !hasura) {
            t.ok(matches(got, r.ours.status, r.ours.expect), `${r.description}: our documented answer (${reason})`, {
              found: { status: got.status, ...got.answer },
              wanted: { status: r.ours.status, ...r.ours.expect },
            });
          } else {
            t.ok(hasura, `${r.description}: as Hasura`, {
              found: { status: got.status, ...got.answer },
              wanted: { status: r.status, ...r.expect },
            });
          }
        }
      });
    }

    const summary = `tests-py ${suite.name} permissions: ${asHasura.length} of ${suite.cases.length} cases as Hasura`;
    t.comment(summary);
    if (notAsHasura.length) t.comment(`not as Hasura: ${notAsHasura.join(", ")}`);
    console.log(summary);
  });
}
