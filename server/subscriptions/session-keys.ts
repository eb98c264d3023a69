/**
 * Which session variables a role's reads can depend on, from the catalog:
 * the live-query engine groups subscribers into one cohort when they agree
 * on these (and on their GraphQL variables), so two users whose sessions
 * differ only in a variable nothing reads share one execution.
 *
 * What is read: the USING clauses of the SELECT/ALL policies that apply to
 * the role (directly, through PUBLIC or a role it is a member of) on
 * tables it may read, the same for the owners of the views it may read
 * (a view without security_invoker reads its tables as its owner), those
 * views' definitions, and the bodies of the stable functions it may
 * execute in the served schemas (tracked functions, computed fields; not
 * an extension's); then,
 * recursively, the body of every function these call, and the policies
 * that apply to the owner of each SECURITY DEFINER function reached (its
 * reads are its owner's). A call
 * `hasura.session_var[_array][_required]('x-hasura-…')` with a literal name
 * reads that variable (the helpers of sql/session.sql, which
 * hasura.user_id(), hasura.campuses() and the importer's hasura_rules
 * helpers go through). Anything that may read more is "all": the whole
 * session (hasura.session(), current_setting, the claims through
 * hasura.jwt()), a session_var call without a literal name, a function
 * with a `hasura_session` argument, dynamic SQL (plpgsql EXECUTE), a
 * procedural language we cannot read, or a catalog query that failed.
 *
 * Cached per (schema identity, role): a rebuilt schema (server/graphql/watch.ts
 * invalidates the registries when the database changes) is a new identity,
 * so the policies are read again for it.
 */
import type pg from "pg";

export type ReadVariables = { all: true } | { all: false; names: string[] };

export const ALL: ReadVariables = { all: true };

export type SessionKeys = (role: string, schemaIdentity: object) => Promise<ReadVariables>;

interface Fn {
  schema: string;
  name: string;
  src: string;
  lang: string;
  /** Has an argument named hasura_session. */
  sessionArg: boolean;
  /** SECURITY DEFINER: its owner (unless that bypasses RLS), whose policies apply to what it reads. */
  definer: string | null;
}

/** The role, and the owners of the views it may read that do not run as the caller (they read their tables as their owner). */
const READERS = `
select $1::name as role
union
select o.rolname
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_roles o on o.oid = c.relowner
 where c.relkind = 'v' and n.nspname not in ('pg_catalog', 'information_schema')
   -- An owner that bypasses RLS reads no policy.
   and not o.rolsuper and not o.rolbypassrls
   and pg_catalog.has_any_column_privilege($1, c.oid, 'SELECT')
   and not coalesce('security_invoker=true' = any (c.reloptions) or 'security_invoker=on' = any (c.reloptions), false)`;

/** The USING clauses that apply when any of $1 reads a table it may read. */
const POLICIES = `
select pg_catalog.pg_get_expr(p.polqual, p.polrelid) as text
  from pg_catalog.pg_policy p
 where p.polcmd in ('r', '*') and p.polqual is not null
   and exists (select 1 from unnest($1::name[]) r(role)
                where pg_catalog.has_any_column_privilege(r.role, p.polrelid, 'SELECT')
                  and (0 = any (p.polroles)
                       or exists (select 1 from unnest(p.polroles) pr where pr <> 0 and pg_catalog.pg_has_role(r.role, pr, 'member'))))`;

const VIEWS = `
select pg_catalog.pg_get_viewdef(c.oid) as text
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where c.relkind = 'v' and n.nspname not in ('pg_catalog', 'information_schema')
   and pg_catalog.has_any_column_privilege($1, c.oid, 'SELECT')`;

const FUNCTIONS = `
select n.nspname as schema, p.proname as name, coalesce(p.prosrc, '') as src, l.lanname as lang,
       coalesce('hasura_session' = any (p.proargnames), false) as "sessionArg",
       case when p.prosecdef and not o.rolsuper and not o.rolbypassrls then o.rolname end as "definer",
       -- What a query may call: stable or immutable functions of the served
       -- schemas (volatile ones are mutations), not an extension's own.
       n.nspname = any ($2::text[]) and p.provolatile in ('s', 'i')
         and pg_catalog.has_function_privilege($1, p.oid, 'EXECUTE')
         and not exists (select 1 from pg_catalog.pg_depend d
                          where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e') as exposed
  from pg_catalog.pg_proc p
  join pg_catalog.pg_namespace n on n.oid = p.pronamespace
  join pg_catalog.pg_language l on l.oid = p.prolang
  join pg_catalog.pg_roles o on o.oid = p.proowner
 where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'`;

/** The session helpers whose first argument names the variable they read. */
const SESSION_VAR = /\b(?:hasura\s*\.\s*)?session_var(?:_array)?(?:_required)?\s*\(\s*('(?:[^']|'')*')?/gi;
/** What reads the whole session, the claims, or settings we cannot follow. */
const WHOLE_SESSION = /\bsession\s*\(\s*\)|\bjwt\s*\(|current_setting|request\.jwt|hasura\.user\b/i;
const QUALIFIED_CALL = /([a-z_][\w$]*|"(?:[^"]|"")+")\s*\.\s*([a-z_][\w$]*|"(?:[^"]|"")+")\s*\(/gi;
const UNQUALIFIED_CALL = /(?<![.\w$"])([a-z_][\w$]*)\s*\(/gi;
const unquote = (id: string) => (id.startsWith('"') ? id.slice(1, -1).replaceAll('""', '"') : id.toLowerCase());
const SESSION_HELPER = /^session_var(_array)?(_required)?$/;

class WholeSession extends Error {}

/**
 * The variables `texts` read, following calls into `fns`, and the owners of
 * the SECURITY DEFINER functions reached; throws WholeSession.
 */
function scan(texts: string[], fns: Fn[]): { names: string[]; definers: Set<string> } {
  const byName = new Map<string, Fn[]>();
  for (const f of fns) {
    for (const key of [`${f.schema}.${f.name}`, f.name]) {
      const list = byName.get(key);
      if (list) list.push(f);
      else byName.set(key, [f]);
    }
  }
  const names = new Set<string>();
  const definers = new Set<string>();
  const seen = new Set<Fn>();
  const work = [...texts];
  const follow = (list: Fn[] | undefined) => {
    for (const f of list ?? []) {
      if (seen.has(f)) continue;
      seen.add(f);
      // The helpers themselves read the session by the name they are given: handled at the call.
      if (f.schema === "hasura" && (SESSION_HELPER.test(f.name) || f.name === "session")) continue;
      if (f.sessionArg) throw new WholeSession();
      if (f.definer) definers.add(f.definer);
      if (f.lang === "sql" || f.lang === "plpgsql") {
        if (f.lang === "plpgsql" && /\bexecute\b/i.test(f.src)) throw new WholeSession();
        work.push(f.src);
      } else if (f.lang !== "c" && f.lang !== "internal") throw new WholeSession();
    }
  };
  while (work.length) {
    const text = work.pop()!;
    if (WHOLE_SESSION.test(text)) throw new WholeSession();
    for (const m of text.matchAll(SESSION_VAR)) {
      if (!m[1]) throw new WholeSession();
      names.add(m[1].slice(1, -1).replaceAll("''", "'").toLowerCase());
    }
    for (const m of text.matchAll(QUALIFIED_CALL)) {
      const schema = unquote(m[1]!);
      if (schema === "pg_catalog") continue;
      follow(byName.get(`${schema}.${unquote(m[2]!)}`));
    }
    for (const m of text.matchAll(UNQUALIFIED_CALL)) follow(byName.get(m[1]!.toLowerCase()));
  }
  // x-hasura-role is the role itself, the same for every subscriber of a poller.
  names.delete("x-hasura-role");
  return { names: [...names].sort(), definers };
}

/** The variables one role's reads depend on (uncached). */
export async function readVariables(pool: pg.Pool, role: string, schemas: string[]): Promise<ReadVariables> {
  const [readers, views, fns] = await Promise.all([
    pool.query<{ role: string }>(READERS, [role]),
    pool.query<{ text: string | null }>(VIEWS, [role]),
    pool.query<Fn & { exposed: boolean }>(FUNCTIONS, [role, schemas]),
  ]);
  const exposed = fns.rows.filter((f) => f.exposed);
  if (exposed.some((f) => f.sessionArg)) return ALL;
  const roots = views.rows.map((r) => r.text ?? "");
  // Tracked functions and computed fields a query may call.
  for (const f of exposed) roots.push(`${quoteName(f.schema)}.${quoteName(f.name)}()`);
  // Whose policies apply: the role, the owners of its views, then the owners
  // of the SECURITY DEFINER functions reached, until no new one is.
  const seen = new Set<string>();
  let next = readers.rows.map((r) => r.role);
  try {
    for (;;) {
      for (const r of next) seen.add(r);
      const policies = await pool.query<{ text: string | null }>(POLICIES, [next]);
      for (const r of policies.rows) roots.push(r.text ?? "");
      const { names, definers } = scan(roots, fns.rows);
      next = [...definers].filter((d) => !seen.has(d));
      if (next.length === 0) return { all: false, names };
    }
  } catch (e) {
    if (e instanceof WholeSession) return ALL;
    throw e;
  }
}

const quoteName = (id: string) => `"${id.replaceAll('"', '""')}"`;

/**
 * The cached reader: per schema identity and role. A failed catalog read
 * answers "all" (always correct, only less shared) and is not kept.
 */
export function createSessionKeys(pool: pg.Pool, schemas: string[], log?: (err: unknown) => void): SessionKeys {
  const cache = new WeakMap<object, Map<string, Promise<ReadVariables>>>();
  return (role, identity) => {
    let perRole = cache.get(identity);
    if (!perRole) {
      perRole = new Map();
      cache.set(identity, perRole);
    }
    let hit = perRole.get(role);
    if (!hit) {
      hit = readVariables(pool, role, schemas).catch((e) => {
        log?.(e);
        perRole.delete(role);
        return ALL;
      });
      perRole.set(role, hit);
    }
    return hit;
  };
}
