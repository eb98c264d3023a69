/**
 * Shared by the reliability tests of this folder (leaks, privileges, fuzz):
 * the probes that show what a request ran with as Postgres saw it, and the
 * state of the server's pooled connections between requests.
 */
import type pg from "pg";
import { installProbe } from "../helpers/probe.ts";
import type { TestDatabase } from "../helpers/pg.ts";
import { appRoles, granteeList } from "../helpers/roles.ts";
import type { TestServer } from "../helpers/server.ts";

/**
 * `public.whoami()` (test/helpers/probe.ts) for /graphql, and the same as a
 * view, `public.whoami_v`, for /v1/graphql (Hasura's dialect has no tracked
 * functions): current_user and the raw settings, read in the request's
 * transaction. `current_user` in a view is the caller's role.
 */
export async function installProbes(db: TestDatabase): Promise<void> {
  await installProbe(db);
  await db.asOwner(`
    create view public.whoami_v as
      select current_user::text as role,
             nullif(current_setting('hasura.user', true), '') as hasura_user,
             nullif(current_setting('request.jwt.claims', true), '') as claims`);
  await db.asRoot(`grant select on public.whoami_v to ${granteeList(await appRoles(db))}`);
}

export interface ConnectionState {
  pid: number;
  state: string | null;
  xact_start: Date | null;
  backend_xid: string | null;
}

/** The runtime role's backends on this database, as the superuser sees them. */
export async function runtimeBackends(db: TestDatabase): Promise<ConnectionState[]> {
  return db.asRoot<ConnectionState>(
    `select pid, state, xact_start, backend_xid::text as backend_xid from pg_catalog.pg_stat_activity
      where datname = $1 and usename = 'authenticator' and backend_type = 'client backend'`,
    [db.name],
  );
}

export interface PooledSettings {
  current_user: string;
  session_user: string;
  role: string;
  hasura_user: string | null;
  claims: string | null;
  xid: string | null;
  /** Settings not at their defaults for this session, other than the client's own. */
  changed: string[];
}

/**
 * Session-level settings a pooled connection legitimately has: node-postgres'
 * start-up parameters, and @dataplan/pg's `set jit_optimize_above_cost = -1`
 * on each new connection (its adaptor, by design).
 */
const CLIENT_SETTINGS = [
  "application_name",
  "client_encoding",
  "DateStyle",
  "extra_float_digits",
  "TimeZone",
  "IntervalStyle",
  "jit_optimize_above_cost",
];

/**
 * Checks out every connection of the server's own pool at once (its idle
 * connections first, so the ones requests used) and reads what a new
 * transaction on each would start with. Read-only; releases them all.
 */
export async function pooledSettings(srv: TestServer, poolSize: number): Promise<PooledSettings[]> {
  const clients: pg.PoolClient[] = [];
  try {
    for (let i = 0; i < poolSize; i++) clients.push(await srv.app.pgPool.connect());
    return await Promise.all(
      clients.map(async (c) => {
        const { rows } = await c.query<PooledSettings>(`
          select current_user::text as current_user, session_user::text as session_user,
                 current_setting('role') as role,
                 nullif(current_setting('hasura.user', true), '') as hasura_user,
                 nullif(current_setting('request.jwt.claims', true), '') as claims,
                 txid_current_if_assigned()::text as xid,
                 array(select name from pg_catalog.pg_settings
                        where source = 'session' and name not in (${CLIENT_SETTINGS.map((n) => `'${n}'`).join(", ")})
                        order by name) as changed`);
        return rows[0]!;
      }),
    );
  } finally {
    for (const c of clients) c.release();
  }
}

/** The state a pooled connection must be in between requests. */
export const CLEAN: Omit<PooledSettings, "changed"> & { changed: string[] } = {
  current_user: "authenticator",
  session_user: "authenticator",
  role: "none",
  hasura_user: null,
  claims: null,
  xid: null,
  changed: [],
};

/** A small seeded PRNG (mulberry32), so a failing run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `n` jobs with at most `width` in flight. */
export async function bounded(n: number, width: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await job(next++);
    }),
  );
}
