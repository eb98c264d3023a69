/**
 * "Why not?": for one application role, its session variables, a table and
 * a command, which of the role's policies pass or fail on each row (a row by
 * primary key, rows matching a filter, or the first rows), whether the row
 * is visible / affected overall, and which columns the role is granted.
 * The engine behind `npm run permissions -- --explain` and
 * `POST /console/api/explain` (server/plugins/console-explain.ts).
 *
 * How a hidden row is explained. As the role the row cannot be read (that is
 * the question), so:
 *  1. the candidate rows are read by a *reader* that may see them: by
 *     default the `admin` application role, the role an admin-secret request
 *     runs as (so nothing is shown that the caller, who must hold the admin
 *     secret, could not already read through /v1/graphql); the CLI uses the
 *     superuser connection when it has one (embedded cluster, ROOT_DATABASE_URL);
 *  2. each policy's expression, as the catalog deparses it (pg_get_expr,
 *     never request text), is evaluated *as the role*, with the server's own
 *     transaction-local settings (toPgSettings), against those values:
 *     `select (<expr>) from jsonb_populate_record(null::<table>, $1) as <table>`,
 *     so unqualified and table-qualified column references resolve to the
 *     row, and a sub-select in the expression runs under the role's own RLS,
 *     as it would in the real query.
 * Safe because: identifiers come from the catalog and are quoted, every
 * request value is a bind parameter, the role must be an application role
 * (the server's allow-list), everything runs in a READ ONLY transaction that
 * is always rolled back (nothing written, no setting outlives it), and only
 * admins may call it (the console's admin-secret gate; the CLI has the
 * database credentials anyway).
 */
import type pg from "pg";
import { toPgSettings } from "../../auth/pg-settings.ts";
import { quoteIdent } from "../../import/sql-quote.ts";
import { appRolesOf } from "./catalog.ts";

export const EXPLAIN_COMMANDS = ["select", "insert", "update", "delete"] as const;
export type ExplainCommand = (typeof EXPLAIN_COMMANDS)[number];

/** Rows explained at most per request. */
export const MAX_EXPLAINED_ROWS = 50;

/** The role whose view supplies the candidate rows by default (admin-secret requests run as it). */
export const DEFAULT_READER_ROLE = "admin";

export interface ExplainRequest {
  role: string;
  /** Session variables, Hasura names, lower-cased (x-hasura-user-id). */
  session: Record<string, string>;
  /** The JWT claims the request would carry (hasura.jwt(), request.jwt.claims); none: `{}`, as without a token. */
  claims?: Record<string, unknown>;
  /** `schema.name`, or a name in the first served schema. */
  table: string;
  command: ExplainCommand;
  /** The row by its primary key: every key column. */
  pk?: Record<string, unknown>;
  /** Rows whose columns match: `{col: value}` or `{col: {_eq|_neq|_gt|_gte|_lt|_lte|_in|_nin|_is_null: value}}`, ANDed. */
  where?: Record<string, unknown>;
  /** insert/update: the new values, over the row found (or alone, for an insert of a new row). */
  values?: Record<string, unknown>;
}

export interface Explanation {
  role: string;
  table: string;
  command: ExplainCommand;
  rls: { enabled: boolean; forced: boolean };
  columns: Array<{ name: string; granted: boolean }>;
  /**
   * The role's policies that decide this command. For update and delete the
   * SELECT policies too (`command: "select"`): GraphQL mutations read the
   * row (where, returning), and PostgreSQL then applies those as well.
   */
  policies: Array<{ name: string; permissive: boolean; using: string | null; check: string | null; command: string }>;
  rows: Array<{
    key: Record<string, unknown>;
    visible: boolean;
    policies: Array<{ name: string; using: boolean | null; check: boolean | null; error?: string }>;
  }>;
  note?: string;
}

/** Bad input, naming the field (`role`, `session`, `claims`, `table`, `pk`, `where`, `values`, `command`). */
export class ExplainInputError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/** The database cannot answer (no role to read the rows with): not the caller's input. */
export class ExplainUnavailableError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Validates a request body (HTTP) or the CLI's options gathered the same way. */
export function parseExplainRequest(body: unknown): ExplainRequest {
  if (!isObject(body)) throw new ExplainInputError("body", "expected a JSON object {role, session, table, pk?, where?, command?}");
  const { role, session, claims, table, command, pk, where, values } = body;
  if (typeof role !== "string" || role === "") throw new ExplainInputError("role", "role: expected a role name (string)");
  if (typeof table !== "string" || table === "") throw new ExplainInputError("table", "table: expected a table name (string)");
  const cmd = command ?? "select";
  if (typeof cmd !== "string" || !(EXPLAIN_COMMANDS as readonly string[]).includes(cmd.toLowerCase()))
    throw new ExplainInputError("command", `command: expected one of ${EXPLAIN_COMMANDS.join(", ")}`);
  const vars: Record<string, string> = {};
  if (session !== undefined && session !== null) {
    if (!isObject(session))
      throw new ExplainInputError("session", 'session: expected an object of session variables ({"x-hasura-user-id": "1"})');
    for (const [k, v] of Object.entries(session)) {
      const name = k.toLowerCase();
      if (!name.startsWith("x-hasura-")) throw new ExplainInputError("session", `session: ${k} is not a session variable (x-hasura-…)`);
      if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean")
        throw new ExplainInputError("session", `session: ${k} must be a string`);
      if (name !== "x-hasura-role") vars[name] = String(v);
    }
  }
  for (const [field, v] of [
    ["pk", pk],
    ["where", where],
    ["values", values],
  ] as const) {
    if (v !== undefined && v !== null && (!isObject(v) || Object.keys(v).length === 0))
      throw new ExplainInputError(field, `${field}: expected a non-empty object of columns`);
  }
  if (pk != null && where != null) throw new ExplainInputError("pk", "pk and where: give one or the other");
  if (claims != null && !isObject(claims)) throw new ExplainInputError("claims", "claims: expected an object (the JWT's claims)");
  const out: ExplainRequest = { role, session: vars, table, command: cmd.toLowerCase() as ExplainCommand };
  if (claims != null) out.claims = claims as Record<string, unknown>;
  if (pk != null) out.pk = pk as Record<string, unknown>;
  if (where != null) out.where = where as Record<string, unknown>;
  if (values != null) {
    if (out.command !== "insert" && out.command !== "update")
      throw new ExplainInputError("values", "values: only for insert and update (the new row's values)");
    out.values = values as Record<string, unknown>;
  }
  return out;
}

/** Reads candidate rows (SQL built here: catalog identifiers, bind parameters) with a connection that may see them. */
export type RowReader = (sql: string, params: unknown[]) => Promise<Array<{ row: string }>>;

export interface ExplainOptions {
  /** The served schemas; a table without a schema is looked up in the first. */
  schemas: string[];
  /** The authenticator: application roles are those granted to it. */
  authenticator: string;
  /** Reads the candidate rows; default: as the admin role inside the explaining transaction. */
  reader?: RowReader;
  readerRole?: string;
}

interface Column {
  num: number;
  name: string;
  granted: boolean;
  /** The reader may read it (always, with a reader connection). */
  readable: boolean;
}

interface Policy {
  name: string;
  permissive: boolean;
  /** SELECT, INSERT, UPDATE, DELETE or ALL. */
  cmd: string;
  using: string | null;
  withCheck: string | null;
}

const PRIVILEGE: Record<ExplainCommand, string> = { select: "SELECT", insert: "INSERT", update: "UPDATE", delete: "DELETE" };
const OPERATORS: Record<string, string> = { _eq: "=", _neq: "<>", _gt: ">", _gte: ">=", _lt: "<", _lte: "<=" };

/**
 * Explains with `client`, a connection as the authenticator (it may SET ROLE
 * to the application roles). Its own transaction, always rolled back.
 */
export async function explain(client: pg.ClientBase, opts: ExplainOptions, req: ExplainRequest): Promise<Explanation> {
  await client.query("begin read only");
  try {
    // Expressions deparse with every name schema-qualified and are evaluated under the same path.
    await client.query("set local search_path = pg_catalog");
    await client.query("set local statement_timeout = '10s'");
    return await explainInTransaction(client, opts, req);
  } finally {
    await client.query("rollback").catch(() => {});
  }
}

function resolveTable(table: string, schemas: string[]): { schema: string; name: string } {
  const dot = table.indexOf(".");
  if (dot > 0) {
    const schema = table.slice(0, dot).replace(/^"(.*)"$/, "$1");
    if (schemas.includes(schema)) return { schema, name: table.slice(dot + 1).replace(/^"(.*)"$/, "$1") };
  }
  return { schema: schemas[0]!, name: table.replace(/^"(.*)"$/, "$1") };
}

async function explainInTransaction(client: pg.ClientBase, opts: ExplainOptions, req: ExplainRequest): Promise<Explanation> {
  const { schema, name } = resolveTable(req.table, opts.schemas);
  const { rows: found } = await client.query<{ oid: string; kind: string; rls: boolean; force: boolean }>(
    `select c.oid::text as oid, c.relkind::text as kind, c.relrowsecurity as rls, c.relforcerowsecurity as force
     from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
     where n.nspname = $1 and c.relname = $2`,
    [schema, name],
  );
  const rel = found[0];
  if (!rel) throw new ExplainInputError("table", `table: no table ${name} in schema ${schema}`);
  if (rel.kind !== "r" && rel.kind !== "p")
    throw new ExplainInputError("table", `table: ${schema}.${name} is not a table (policies apply to tables)`);
  const roles = await appRolesOf(client, opts.authenticator, schema);
  if (!roles.includes(req.role))
    throw new ExplainInputError("role", `role: ${req.role} is not an application role with access to schema ${schema}`);
  const readerRole = opts.readerRole ?? DEFAULT_READER_ROLE;
  if (!opts.reader && !roles.includes(readerRole))
    throw new ExplainUnavailableError(`no ${readerRole} application role to read the rows with (a superuser connection is needed)`);

  const privilege = PRIVILEGE[req.command];
  const { rows: columnRows } = await client.query<Column>(
    `select a.attnum as num, a.attname::text as name,
            case when $3 = 'DELETE' then pg_catalog.has_table_privilege($2::text, c.oid, 'DELETE')
                 else pg_catalog.has_column_privilege($2::text, c.oid, a.attnum, $3) end as granted,
            ($4::text is null or pg_catalog.has_column_privilege($4::text, c.oid, a.attnum, 'SELECT')) as readable
     from pg_catalog.pg_class c join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
     where c.oid = $1::oid order by a.attnum`,
    [rel.oid, req.role, privilege, opts.reader ? null : readerRole],
  );
  const columnNames = new Set(columnRows.map((c) => c.name));
  const { rows: pkRows } = await client.query<{ name: string }>(
    `select a.attname::text as name from pg_catalog.pg_index i
     join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey::int2[])
     where i.indrelid = $1::oid and i.indisprimary order by pg_catalog.array_position(i.indkey::int2[], a.attnum)`,
    [rel.oid],
  );
  const pkColumns = pkRows.map((r) => r.name);

  // The role's policies for the command (a policy TO a role it is a member of, or TO PUBLIC, applies).
  const { rows: allPolicies } = await client.query<Policy>(
    `select p.polname::text as name, p.polpermissive as permissive,
            case p.polcmd when 'r' then 'SELECT' when 'a' then 'INSERT' when 'w' then 'UPDATE' when 'd' then 'DELETE' else 'ALL' end as cmd,
            pg_catalog.pg_get_expr(p.polqual, p.polrelid) as using, pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) as "withCheck"
     from pg_catalog.pg_policy p
     where p.polrelid = $1::oid
       and (0::oid = any(p.polroles) or exists (select 1 from unnest(p.polroles) r where pg_catalog.pg_has_role($2::text, r, 'USAGE')))
     order by p.polname collate "C"`,
    [rel.oid, req.role],
  );
  const forCommand = (cmd: string) => allPolicies.filter((p) => p.cmd === cmd || p.cmd === "ALL");
  const own = forCommand(privilege);
  // update/delete read the row (GraphQL mutations always do): the SELECT policies apply too.
  const reads = req.command === "update" || req.command === "delete" ? forCommand("SELECT").filter((p) => !own.includes(p)) : [];

  // What each policy evaluates for this command: USING on the existing row, WITH CHECK (USING when absent) on the new one.
  const usingOf = (p: Policy) => (req.command === "insert" ? null : p.using);
  const checkOf = (p: Policy) => (req.command === "insert" || req.command === "update" ? (p.withCheck ?? p.using) : null);
  const policies: Explanation["policies"] = [
    ...own.map((p) => ({ name: p.name, permissive: p.permissive, using: usingOf(p), check: checkOf(p), command: p.cmd.toLowerCase() })),
    ...reads.map((p) => ({ name: p.name, permissive: p.permissive, using: p.using, check: null, command: p.cmd.toLowerCase() })),
  ];

  for (const [field, obj] of [
    ["pk", req.pk],
    ["where", req.where],
    ["values", req.values],
  ] as const) {
    for (const col of Object.keys(obj ?? {}))
      if (!columnNames.has(col)) throw new ExplainInputError(field, `${field}: no column ${col} in ${schema}.${name}`);
  }
  if (req.pk) {
    if (pkColumns.length === 0) throw new ExplainInputError("pk", `pk: ${schema}.${name} has no primary key; use where`);
    const missing = pkColumns.filter((c) => !(c in req.pk!));
    const extra = Object.keys(req.pk).filter((c) => !pkColumns.includes(c));
    if (missing.length || extra.length)
      throw new ExplainInputError("pk", `pk: the primary key of ${schema}.${name} is (${pkColumns.join(", ")})`);
  }

  // Candidate rows: the reader's view, by pk / filter, else the first ones.
  const newRowOnly = req.command === "insert" && !req.pk && !req.where;
  // Each row as jsonb text, as read: a bigint survives the trip unrounded.
  let candidates: string[];
  if (newRowOnly) {
    if (!req.values)
      throw new ExplainInputError("values", "values: an insert needs the new row's values (or a pk/where of a row to take them from)");
    candidates = ["{}"];
  } else {
    candidates = await readCandidates(client, opts, readerRole, { schema, name, columns: columnRows, pkColumns }, req);
  }
  const tooMany = candidates.length > MAX_EXPLAINED_ROWS;
  candidates = candidates.slice(0, MAX_EXPLAINED_ROWS);
  // Column presets (sql/permissions.sql) replace the named values before WITH CHECK, as their BEFORE trigger does.
  const presets = req.command === "insert" || req.command === "update" ? await loadPresets(client, rel.oid, req) : [];
  const missingPreset = presets.filter((p) => p.value === null);
  const newValues = req.values || presets.length ? { ...req.values, ...Object.fromEntries(presets.map((p) => [p.column, p.value])) } : null;
  const values = newValues ? JSON.stringify(newValues) : null;

  // Evaluate as the role, with the server's request settings.
  const settings = toPgSettings({ role: req.role, variables: req.session, claims: req.claims ?? null });
  await client.query("select pg_catalog.set_config(key, value, true) from pg_catalog.json_each_text($1::json)", [JSON.stringify(settings)]);
  const target = `${quoteIdent(schema)}.${quoteIdent(name)}`;
  const results: Explanation["rows"] = [];
  for (const row of candidates) {
    const perPolicy: Explanation["rows"][number]["policies"] = [];
    for (const p of policies) {
      const entry: Explanation["rows"][number]["policies"][number] = { name: p.name, using: null, check: null };
      for (const part of ["using", "check"] as const) {
        const expr = p[part];
        if (expr === null) continue;
        const value = await evaluate(client, target, name, expr, row, part === "using" ? null : values);
        if (typeof value === "string") entry.error = value;
        else entry[part] = value;
      }
      perPolicy.push(entry);
    }
    const shown = { ...(JSON.parse(row) as Record<string, unknown>), ...(newRowOnly ? newValues : {}) };
    results.push({ key: keyOf(shown, pkColumns, columnRows), visible: false, policies: perPolicy });
  }

  const pass = (list: Policy[], r: Explanation["rows"][number], part: "using" | "check") => {
    const of = (p: Policy) => r.policies.find((x) => x.name === p.name)!;
    const permissive = list.filter((p) => p.permissive);
    const restrictive = list.filter((p) => !p.permissive);
    return permissive.some((p) => of(p)[part] === true) && restrictive.every((p) => of(p)[part] === true);
  };
  const anyGranted = columnRows.some((c) => c.granted);
  // A statement naming a column the role may not write is refused, preset or not.
  const refusedColumns = Object.keys(req.values ?? {}).filter((c) => !columnRows.find((x) => x.name === c)?.granted);
  for (const r of results) {
    if (!anyGranted || refusedColumns.length) continue;
    if (r.policies.some((p) => p.error) || missingPreset.length) continue; // the real statement fails with that error
    if (!rel.rls) {
      r.visible = true;
      continue;
    }
    const usingOk = req.command === "insert" || pass(own, r, "using");
    const checkOk = !(req.command === "insert" || req.command === "update") || pass(own, r, "check");
    const readOk = req.command === "update" || req.command === "delete" ? pass(forCommand("SELECT"), r, "using") : true;
    r.visible = usingOk && checkOk && readOk;
  }

  const notes: string[] = [];
  if (refusedColumns.length)
    notes.push(
      `values name ${refusedColumns.join(", ")}, not granted for ${privilege} to ${req.role}: the statement is refused (permission denied)`,
    );
  if (presets.length)
    notes.push(
      `column presets of ${req.role} for ${privilege}: ${presets.map((p) => `${p.column} = ${p.source}`).join(", ")} (they replace the values given)`,
    );
  if (missingPreset.length)
    notes.push(`missing session variables: ${missingPreset.map((p) => p.source).join(", ")}: the ${req.command} fails (a preset needs it)`);
  if (!anyGranted)
    notes.push(
      `role ${req.role} has no ${privilege} privilege on ${schema}.${name}: the statement is refused (permission denied) whatever the policies`,
    );
  if (!rel.rls)
    notes.push(
      `row-level security is not enabled on ${schema}.${name}: policies are not applied, every row is ${req.command === "select" ? "visible" : "affected"} given the privilege`,
    );
  else if (own.length === 0)
    notes.push(
      `no policy of role ${req.role} for ${privilege} on ${schema}.${name}: every row is denied (the default when row-level security is enabled)`,
    );
  else if (!own.some((p) => p.permissive))
    notes.push(`no permissive policy of role ${req.role} for ${privilege}: restrictive ones alone let no row through`);
  if ((req.command === "update" || req.command === "delete") && rel.rls)
    notes.push(
      `${req.command === "update" ? "an" : "a"} ${req.command} through GraphQL also reads the row: the role's SELECT policies must pass as well`,
    );
  if (candidates.length === 0)
    notes.push(`row not found${opts.reader ? "" : ` (role ${readerRole}, which reads the rows, sees none either)`}`);
  if (tooMany) notes.push(`only the first ${MAX_EXPLAINED_ROWS} rows are explained`);
  const unreadable = columnRows.filter((c) => !c.readable).map((c) => c.name);
  if (unreadable.length && !newRowOnly)
    notes.push(`role ${readerRole} may not read ${unreadable.join(", ")}: policies were evaluated with NULL there`);

  return {
    role: req.role,
    table: `${schema}.${name}`,
    command: req.command,
    rls: { enabled: rel.rls, forced: rel.force },
    columns: columnRows.map((c) => ({ name: c.name, granted: c.granted })),
    policies,
    rows: results,
    ...(notes.length ? { note: notes.join("; ") } : {}),
  };
}

function keyOf(row: Record<string, unknown>, pkColumns: string[], columns: Column[]): Record<string, unknown> {
  const names = pkColumns.length ? pkColumns : columns.map((c) => c.name);
  return Object.fromEntries(names.map((c) => [c, row[c] ?? null]));
}

/** One policy expression on one row, as the role: true/false, or the error's message (the real statement would fail). */
async function evaluate(
  client: pg.ClientBase,
  target: string,
  alias: string,
  expr: string,
  row: string,
  values: string | null,
): Promise<boolean | string> {
  await client.query("savepoint explain_policy");
  try {
    const { rows } = await client.query<{ ok: boolean | null }>(
      `select (${expr})::boolean as ok from pg_catalog.jsonb_populate_record(null::${target}, $1::jsonb || coalesce($2::jsonb, '{}')) as ${quoteIdent(alias)}`,
      [row, values],
    );
    await client.query("release savepoint explain_policy");
    // NULL fails a policy as false does.
    return rows[0]?.ok === true;
  } catch (e) {
    await client.query("rollback to savepoint explain_policy");
    return (e as Error).message;
  }
}

async function readCandidates(
  client: pg.ClientBase,
  opts: ExplainOptions,
  readerRole: string,
  t: { schema: string; name: string; columns: Column[]; pkColumns: string[] },
  req: ExplainRequest,
): Promise<string[]> {
  const params: unknown[] = [];
  const param = (v: unknown) => {
    params.push(v !== null && typeof v === "object" ? JSON.stringify(v) : v);
    return `$${params.length}`;
  };
  const conds: string[] = [];
  const col = (c: string) => `t.${quoteIdent(c)}`;
  for (const [c, v] of Object.entries(req.pk ?? {})) conds.push(v === null ? `${col(c)} is null` : `${col(c)} = ${param(v)}`);
  for (const [c, v] of Object.entries(req.where ?? {})) {
    if (!isObject(v)) {
      conds.push(v === null ? `${col(c)} is null` : `${col(c)} = ${param(v)}`);
      continue;
    }
    for (const [op, arg] of Object.entries(v)) {
      if (op in OPERATORS) conds.push(`${col(c)} ${OPERATORS[op]} ${param(arg)}`);
      else if (op === "_in" || op === "_nin") {
        if (!Array.isArray(arg)) throw new ExplainInputError("where", `where: ${c}.${op} expects a list`);
        params.push(arg);
        conds.push(`${op === "_nin" ? "not " : ""}${col(c)} = any($${params.length})`);
      } else if (op === "_is_null") conds.push(`${col(c)} is ${arg === false ? "not " : ""}null`);
      else
        throw new ExplainInputError("where", `where: ${c}: unknown operator ${op} (_eq, _neq, _gt, _gte, _lt, _lte, _in, _nin, _is_null)`);
    }
  }
  const readable = t.columns.filter((c) => c.readable);
  if (readable.length === 0) throw new Error(`role ${readerRole} may read no column of ${t.schema}.${t.name}`);
  const order = (t.pkColumns.length ? t.pkColumns : readable.map((c) => c.name)).filter((c) => readable.some((r) => r.name === c));
  const sql =
    `select pg_catalog.to_jsonb(x)::text as row from (select ${readable.map((c) => col(c.name)).join(", ")} ` +
    `from ${quoteIdent(t.schema)}.${quoteIdent(t.name)} t${conds.length ? ` where ${conds.join(" and ")}` : ""}` +
    `${order.length ? ` order by ${order.map(col).join(", ")}` : ""} limit ${MAX_EXPLAINED_ROWS + 1}) x`;
  try {
    if (opts.reader) return (await opts.reader(sql, params)).map((r) => r.row);
    const settings = toPgSettings({ role: readerRole, variables: {}, claims: null });
    await client.query("savepoint explain_read");
    await client.query("select pg_catalog.set_config(key, value, true) from pg_catalog.json_each_text($1::json)", [
      JSON.stringify(settings),
    ]);
    const { rows } = await client.query<{ row: string }>(sql, params);
    // Back to the authenticator (and its settings) for what follows.
    await client.query("rollback to savepoint explain_read");
    return rows.map((r) => r.row);
  } catch (e) {
    if (!opts.reader) await client.query("rollback to savepoint explain_read").catch(() => {});
    const pgErr = e as { code?: string; message: string };
    // A value of the wrong type for its column (22P02 and friends): the caller's input.
    if (pgErr.code?.startsWith("22")) throw new ExplainInputError(req.pk ? "pk" : "where", `${req.pk ? "pk" : "where"}: ${pgErr.message}`);
    throw e;
  }
}

interface PresetValue {
  column: string;
  /** The value the trigger sets; null when its session variable is missing. */
  value: string | null;
  /** `x-hasura-user-id` or `'literal'`, for the note. */
  source: string;
}

/** The role's column presets for the command on the table, resolved against the request's session. */
async function loadPresets(client: pg.ClientBase, oid: string, req: ExplainRequest): Promise<PresetValue[]> {
  const { rows: found } = await client.query<{ ok: boolean }>(
    "select pg_catalog.to_regprocedure('hasura.effective_column_preset(name)') is not null as ok",
  );
  if (!found[0]?.ok) return [];
  const { rows } = await client.query<{ column: string; variable: string | null; value: string | null }>(
    `select e.column_name::text as column, e.session_variable as variable, e.value
     from hasura.effective_column_preset($1::name) e where e.table_oid = $2::oid and e.command = $3 order by e.column_name collate "C"`,
    [req.role, oid, req.command],
  );
  return rows.map((r) =>
    r.variable === null
      ? { column: r.column, value: r.value, source: `'${r.value ?? ""}'` }
      : { column: r.column, value: req.session[r.variable.toLowerCase()] ?? null, source: r.variable.toLowerCase() },
  );
}
