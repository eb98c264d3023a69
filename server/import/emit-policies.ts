/**
 * Hasura metadata + the live catalog → the project's policies.sql, in the
 * house style of the hand-written ones (repo-root policies.sql,
 * examples/blog/policies.sql): header, reset_app_privileges per schema, the
 * rule helpers (bool-exp.ts helpersDdl), then a section per table opening
 * with its rule in words, RLS enabled and forced, and role by role its grant,
 * its policies (<role>_<command>, or <role>_all where all four coincide) and
 * its declarations (sql/permissions.sql).
 *
 * Hasura's implicit `admin` gets every command on every tracked table.
 * Inherited roles are standalone roles with their permissions resolved as
 * Hasura resolves them (inherited-roles.ts); tracked functions and computed
 * fields get EXECUTE for the roles Hasura allows (function-permissions.ts).
 * What PostgreSQL cannot state as written is not guessed: it is left out
 * with a comment in the file and returned in `notes` (place and reason).
 */
import { type CatalogModel, type CatalogTable, findTable } from "./catalog.ts";
import { helpersDdl, type RuleHelper, readerRoleSql, translateBoolExp } from "./bool-exp.ts";
import { emitFunctionPermissions, type FunctionCatalog } from "./function-permissions.ts";
import { resolveInheritedRoles } from "./inherited-roles.ts";
import type { BoolExp, HasuraMetadata, QualifiedTable, TableMetadata } from "./metadata.ts";
import { quoteIdent, quoteLiteral, quoteQualified } from "./sql-quote.ts";

export const HASURA_ADMIN = "admin";
export const DEFAULT_READER = "hasura_rules_reader";

export interface EmitOptions {
  catalog: CatalogModel;
  /** The NOLOGIN role owning the rule helpers (readerRoleSql creates it, in a migration). */
  reader?: string;
  /** Shown in the header: where the metadata came from. */
  source?: string;
  /** The database's functions (loadFunctionCatalog), for EXECUTE grants; without it, bare names and no inference. */
  functions?: FunctionCatalog;
}

export interface EmitNote {
  /** The metadata file and the permission's place. */
  where: string;
  detail: string;
}

export interface EmittedPolicies {
  sql: string;
  /** The application roles reset_app_privileges names (admin included). */
  roles: string[];
  helpers: RuleHelper[];
  /** Permissions not translated, or translated with a stated difference. */
  notes: EmitNote[];
  /** The metadata with inherited roles resolved (their permissions as their own): what the policies state. */
  resolved: HasuraMetadata;
  /** Relations in a tracked schema the metadata does not track: reachable by no application role, as in Hasura. */
  untracked: string[];
  counts: { tables: number; policies: number; declarations: number; helpers: number };
}

type Cmd = "select" | "insert" | "update" | "delete";
const CMDS: Cmd[] = ["select", "insert", "update", "delete"];

interface RolePlan {
  role: string;
  /** Translated rules; undefined: no permission for the command. */
  using: Partial<Record<Cmd, string>>;
  /** insert: WITH CHECK; update: WITH CHECK (null: Hasura checks nothing after the update). */
  check: Partial<Record<"insert" | "update", string | null>>;
  columns: Partial<Record<Cmd, string[] | "*">>;
  lines: string[];
}

const isEmpty = (e: BoolExp | null | undefined) => e == null || Object.keys(e).length === 0;

export function emitPolicies(input: HasuraMetadata, opts: EmitOptions): EmittedPolicies {
  const reader = opts.reader ?? DEFAULT_READER;
  // Each inherited role becomes a standalone role with its resolved permissions as its own (no membership).
  const resolved = resolveInheritedRoles(input, {
    columnsOf: (t) => {
      const c = findTable(opts.catalog, t.table);
      return c && [...c.columns.keys()];
    },
  });
  const md = resolved.metadata;
  const notes: EmitNote[] = [...resolved.notes];
  const helpers: RuleHelper[] = [];
  const counts = { tables: 0, policies: 0, declarations: 0, helpers: 0 };
  const byKey = new Map(md.tables.map((t) => [JSON.stringify([t.table.schema, t.table.name]), t]));
  const relationships = (q: QualifiedTable) => {
    const t = byKey.get(JSON.stringify([q.schema, q.name]));
    return t ? [...t.objectRelationships, ...t.arrayRelationships] : [];
  };
  const computedFields = (q: QualifiedTable) => byKey.get(JSON.stringify([q.schema, q.name]))?.computedFields ?? [];

  const roles = rolesOf(md);

  const sections: string[] = [];
  const schemas = new Set<string>();
  const inserters = new Map<string, Set<string>>();
  for (const t of md.tables) {
    const table = findTable(opts.catalog, t.table);
    const name = quoteQualified(t.table);
    if (!table) {
      notes.push({ where: t.where, detail: `table ${t.table.schema}.${t.table.name} is tracked but not in the database: skipped` });
      continue;
    }
    schemas.add(t.table.schema);
    counts.tables++;
    const plans = roles.map((role) => planRole(role, t, table));
    const body: string[] = [];
    if (table.kind === "table") body.push(`alter table ${name} enable row level security, force row level security;`);
    else if (table.kind === "view") {
      // A view cannot have policies. security_invoker (PostgreSQL 15+) makes it
      // read its base tables as the caller, so their grants and RLS decide its
      // rows (as its owner, the default, it would read them as the owner).
      body.push(
        `-- ${name} is a view: it cannot have policies. It reads its base tables as the caller (security_invoker), so it shows`,
        "-- exactly the base tables' rows and columns the role may read there; its own row filters are not applied.",
        `alter view ${name} set (security_invoker = true);`,
      );
      const filtered = plans.filter((p) => Object.values(p.using).some((u) => u !== "true")).map((p) => p.role);
      if (filtered.length)
        notes.push({
          where: t.where,
          detail:
            `view ${t.table.name}: the row filters of ${filtered.join(", ")} are not applied (a view has no policies); ` +
            "its rows are the base tables' rows the role may see (security_invoker), and the role needs select on the base tables' columns it reads",
        });
    } else {
      body.push(`-- ${name} is a ${table.kind}: it cannot have policies; its grants apply to every row it shows.`);
      if (plans.some((p) => Object.values(p.using).some((u) => u !== "true")))
        notes.push({
          where: t.where,
          detail: `${table.kind} ${t.table.name}: its row filters are not applied (no policies on a ${table.kind})`,
        });
    }
    for (const p of plans) {
      body.push(...p.lines);
      if (p.using.insert !== undefined || p.role === HASURA_ADMIN) {
        const s = inserters.get(t.table.schema) ?? new Set();
        s.add(p.role);
        inserters.set(t.table.schema, s);
      }
    }
    sections.push(
      [
        "----------------------------------------------------------------------------",
        ...wrap(`${t.table.name}. ${plans.map(describe).join(" ")}`, 76).map((l) => `-- ${l}`),
        "----------------------------------------------------------------------------",
        ...body,
      ].join("\n"),
    );
  }

  // Relations of the tracked schemas the metadata does not track: Hasura exposes them to no role (admin
  // included). reset_app_privileges has revoked every grant; a table also gets RLS forced with no policy.
  const tracked = new Set(md.tables.map((t) => JSON.stringify([t.table.schema, t.table.name])));
  const untracked = [...opts.catalog.tables.values()]
    .filter((c) => schemas.has(c.schema) && !tracked.has(JSON.stringify([c.schema, c.name])))
    .sort((a, b) => (a.schema === b.schema ? (a.name < b.name ? -1 : 1) : a.schema < b.schema ? -1 : 1));
  const untrackedLines: string[] = [];
  for (const c of untracked) {
    const name = quoteQualified(c);
    if (c.extension || c.owned === false) {
      notes.push({
        where: `${c.schema}.${c.name}`,
        detail: `${c.kind} not tracked, ${c.extension ? "belongs to an extension" : "owned by another role"}: left as it is (no application role is granted it)`,
      });
      continue;
    }
    if (c.kind === "table") untrackedLines.push(`alter table ${name} enable row level security, force row level security;`);
    else untrackedLines.push(`-- ${name} is a ${c.kind}: no policies possible; no application role is granted it.`);
  }

  function translate(exp: BoolExp, table: QualifiedTable, role: string, where: string, path: string): string | undefined {
    try {
      const out = translateBoolExp(exp, table, {
        catalog: opts.catalog,
        relationships,
        computedFields,
        role,
        where: { file: where, path },
      });
      helpers.push(...out.helpers);
      return out.sql;
    } catch (e) {
      notes.push({ where: `${where} ${path}`, detail: `not translated: ${(e as Error).message}` });
      return undefined;
    }
  }

  function planRole(role: string, t: TableMetadata, table: CatalogTable): RolePlan {
    const plan: RolePlan = { role, using: {}, check: {}, columns: {}, lines: [] };
    const name = quoteQualified(t.table);
    const r = quoteIdent(role);
    const tableLit = quoteLiteral(name);
    if (role === HASURA_ADMIN) {
      const own = [t.select, t.insert, t.update, t.delete].some((m) => m.has(role));
      if (own)
        notes.push({ where: t.where, detail: "a permission for admin: Hasura ignores it (admin may do everything); so does this import" });
      plan.lines.push(`grant select, insert, update, delete on ${name} to ${r};`);
      if (table.kind === "table") plan.lines.push(`create policy admin_all on ${name} for all to ${r} using (true);`);
      counts.policies++;
      return plan;
    }
    const at = (cmd: Cmd) => `$.${cmd}_permissions[role=${role}].permission`;
    const sel = t.select.get(role);
    const ins = t.insert.get(role);
    const upd = t.update.get(role);
    const del = t.delete.get(role);
    if (sel) {
      const u = translate(sel.filter, t.table, role, t.where, `${at("select")}.filter`);
      if (u !== undefined && columnsOk(sel.columns, at("select"))) {
        plan.using.select = u;
        plan.columns.select = sel.columns;
      }
    }
    if (ins) {
      const c = translate(ins.check, t.table, role, t.where, `${at("insert")}.check`);
      if (c !== undefined && columnsOk(ins.columns, at("insert"))) {
        plan.using.insert = c;
        plan.check.insert = c;
        plan.columns.insert = ins.columns;
      }
    }
    if (upd) {
      const u = translate(upd.filter, t.table, role, t.where, `${at("update")}.filter`);
      const c = isEmpty(upd.check) ? null : translate(upd.check!, t.table, role, t.where, `${at("update")}.check`);
      if (u !== undefined && c !== undefined && columnsOk(upd.columns, at("update"))) {
        plan.using.update = u;
        plan.check.update = c;
        plan.columns.update = upd.columns;
      }
    }
    if (del) {
      const u = translate(del.filter, t.table, role, t.where, `${at("delete")}.filter`);
      if (u !== undefined) plan.using.delete = u;
    }

    // The grant: one statement, privileges in the house order.
    const privs: string[] = [];
    for (const cmd of CMDS) {
      if (plan.using[cmd] === undefined) continue;
      const cols = plan.columns[cmd];
      privs.push(cmd === "delete" || cols === "*" ? cmd : `${cmd} (${cols!.map(quoteIdent).join(", ")})`);
    }
    if (privs.length === 0) return plan;
    plan.lines.push(`grant ${privs.join(", ")} on ${name} to ${r};`);

    if (table.kind === "table") {
      const all = plan.using.select;
      const coincide =
        all !== undefined &&
        CMDS.every((c) => plan.using[c] === all) &&
        plan.check.insert === all &&
        (plan.check.update === all || (plan.check.update === null && all === "true"));
      const policy = (cmd: Cmd | "all", clause: string) => {
        counts.policies++;
        plan.lines.push(`create policy ${quoteIdent(`${role}_${cmd}`)} on ${name} for ${cmd} to ${r}${clause};`);
      };
      if (coincide) policy("all", ` using (${all})`);
      else {
        if (plan.using.select !== undefined) policy("select", ` using (${plan.using.select})`);
        if (plan.check.insert != null) policy("insert", ` with check (${plan.check.insert})`);
        // Without a check Hasura checks nothing after an update; PostgreSQL would reuse USING: say true.
        if (plan.using.update !== undefined) policy("update", ` using (${plan.using.update}) with check (${plan.check.update ?? "true"})`);
        if (plan.using.delete !== undefined) policy("delete", ` using (${plan.using.delete})`);
      }
    }

    // Declarations (sql/permissions.sql), after the policy they belong to.
    if (sel && plan.using.select !== undefined) {
      const args: string[] = [];
      if (sel.limit !== undefined) args.push(`"limit" => ${Number(sel.limit)}`);
      if (sel.allowAggregations) args.push("allow_aggregations => true");
      if (sel.queryRootFields) args.push(`query_root_fields => ${textArray(sel.queryRootFields)}`);
      if (sel.subscriptionRootFields) args.push(`subscription_root_fields => ${textArray(sel.subscriptionRootFields)}`);
      if (args.length) declare(`call hasura.select_permission(${tableLit}, ${quoteLiteral(role)}, ${args.join(", ")});`);
    }
    for (const [cmd, p] of [
      ["insert", ins],
      ["update", upd],
    ] as const) {
      if (!p || plan.using[cmd] === undefined) continue;
      for (const [column, value] of Object.entries(p.set)) {
        // A preset is a BEFORE row trigger (sql/permissions.sql), which a view or materialized view cannot have.
        if (table.kind !== "table") {
          notes.push({
            where: `${t.where} ${at(cmd)}.set.${column}`,
            detail: `preset on ${table.kind} ${t.table.name}: not applied (a ${table.kind} cannot have the preset trigger); set the column in the client or a trigger on the base table`,
          });
          continue;
        }
        if (!table.columns.has(column)) {
          notes.push({ where: `${t.where} ${at(cmd)}.set.${column}`, detail: `preset of a column ${t.table.name} does not have: skipped` });
          continue;
        }
        const head = `call hasura.column_preset(${tableLit}, ${quoteLiteral(role)}, '${cmd}', ${quoteLiteral(column)}, `;
        if (typeof value === "string" && /^x-hasura-/i.test(value)) {
          // Hasura reads any x-hasura-… value as a session variable; one no
          // header could carry (empty, spaces, …) would fail every write.
          if (/^x-hasura-[a-z0-9_-]+$/i.test(value)) declare(`${head}session_variable => ${quoteLiteral(value.toLowerCase())});`);
          else
            notes.push({
              where: `${t.where} ${at(cmd)}.set.${column}`,
              detail: `preset ${JSON.stringify(value)} is not a session variable name (x-hasura- then letters, digits, _ or -): skipped, so the column is the client's to set where granted`,
            });
        } else if (value === null)
          notes.push({
            where: `${t.where} ${at(cmd)}.set.${column}`,
            detail: "a null preset is not declarable (sql/permissions.sql): skipped",
          });
        else declare(`${head}value => ${quoteLiteral(typeof value === "object" ? JSON.stringify(value) : String(value))});`);
      }
    }
    for (const [cmd, p] of [
      ["insert", ins],
      ["update", upd],
      ["delete", del],
    ] as const)
      if (p?.backendOnly && plan.using[cmd] !== undefined)
        declare(`call hasura.backend_only(${tableLit}, ${quoteLiteral(role)}, '${cmd}');`);
    return plan;

    function declare(line: string) {
      counts.declarations++;
      plan.lines.push(line);
    }
    function columnsOk(cols: string[] | "*", place: string): boolean {
      if (cols !== "*" && cols.length === 0) {
        notes.push({
          where: `${t.where} ${place}.columns`,
          detail: "columns: [] cannot be granted in PostgreSQL (a privilege names at least one column): not translated",
        });
        return false;
      }
      const missing = cols === "*" ? [] : cols.filter((c) => !table.columns.has(c));
      if (missing.length) {
        notes.push({ where: `${t.where} ${place}.columns`, detail: `no column ${missing.join(", ")} in ${t.table.name}: not translated` });
        return false;
      }
      return true;
    }
  }

  counts.helpers = new Set(helpers.map((h) => h.name)).size;
  const out: string[] = [
    "/*",
    ` * policies.sql, generated by \`npm run import:hasura\` from the Hasura metadata${opts.source ? ` of ${inComment(opts.source)}` : ""}:`,
    " * every row-level security policy and grant, one table at a time; each",
    " * section opens with its row of the permission matrix in words.",
    " *",
    " * Re-applied after every migration run, so it is declarative: it starts",
    " * from a clean slate (no privilege, no policy) and runs as one transaction.",
    " *",
    " * Conventions (as the hand-written policies.sql): RLS enabled *and* forced;",
    " * grants list their columns (Hasura's `*`: the whole table); a policy per",
    " * role and command, <role>_<command>, or <role>_all where the four rules",
    " * coincide; session variables through the sql/ helpers as sub-selects cast",
    " * to the column's type. A relationship or _exists in a rule is read as",
    ` * Hasura reads it, without the related table's own permissions: through`,
    ` * the SECURITY DEFINER helpers below, owned by ${inComment(reader)}.`,
    " * `admin` is Hasura's implicit admin: every command on every table.",
    " */",
    "",
  ];
  for (const s of [...schemas].sort())
    out.push(`call hasura.reset_app_privileges(${quoteLiteral(s)}, array[${roles.map(quoteLiteral).join(", ")}]);`);
  out.push("");
  if (helpers.length) {
    out.push("-- The helpers' owner: NOLOGIN, never granted to the authenticator (created once; roles are cluster-wide).");
    out.push(readerRoleSql(reader), helpersDdl(helpers, { reader }));
  }
  for (const [s, rs] of [...inserters].sort()) {
    out.push("-- The sequences, for the roles that insert.");
    out.push(`grant usage on all sequences in schema ${quoteIdent(s)} to ${[...rs].map(quoteIdent).join(", ")};`);
  }
  for (const s of sections) out.push("", s);
  if (untrackedLines.length) {
    out.push("", "----------------------------------------------------------------------------");
    out.push(
      ...wrap(
        "Not tracked by the Hasura metadata: Hasura exposes these to no role, admin included. Here no application role is granted them (reset above) and each table has RLS forced with no policy.",
        76,
      ).map((l) => `-- ${l}`),
    );
    out.push("----------------------------------------------------------------------------", ...untrackedLines);
  }
  const fns = emitFunctionPermissions(md, { catalog: opts.catalog, functions: opts.functions, admin: HASURA_ADMIN });
  notes.push(...fns.notes);
  if (fns.lines.length) {
    out.push("", "----------------------------------------------------------------------------");
    out.push("-- Functions: EXECUTE for the roles Hasura lets call them (PostgreSQL grants it to PUBLIC by default).");
    out.push("----------------------------------------------------------------------------", ...fns.lines.slice(1));
  }
  if (notes.length) {
    out.push("", "-- Not translated (listed in IMPORT.md too):");
    for (const n of notes) out.push(...wrap(`${n.where}: ${n.detail}`, 76).map((l) => `--   ${l}`));
  }
  out.push("", "-- Tell running servers (npm run dev) to rebuild their GraphQL schemas.");
  out.push(`notify postgraphile_watch, '{"type":"manual","source":"policies.sql"}';`, "");
  return {
    sql: out.join("\n"),
    roles,
    helpers,
    notes,
    counts,
    resolved: md,
    untracked: untracked.filter((c) => !c.extension && c.owned !== false).map((c) => `${c.schema}.${c.name}`),
  };
}

/** The application roles: every role a permission names, inherited roles, and Hasura's implicit admin (last). */
export function rolesOf(md: HasuraMetadata): string[] {
  const roleSet = new Set<string>([HASURA_ADMIN]);
  for (const t of md.tables) for (const m of [t.select, t.insert, t.update, t.delete]) for (const r of m.keys()) roleSet.add(r);
  for (const r of md.inheritedRoles) {
    roleSet.add(r.roleName);
    for (const p of r.roleSet) roleSet.add(p);
  }
  return [...roleSet].sort((a, b) => (a === HASURA_ADMIN ? 1 : b === HASURA_ADMIN ? -1 : a < b ? -1 : a > b ? 1 : 0));
}

/** Text for inside a block comment: one line, no comment end. */
function inComment(text: string): string {
  return text.replace(/\s+/g, " ").replaceAll("*/", "* /");
}

function textArray(items: string[]): string {
  return `array[${items.map(quoteLiteral).join(", ")}]::text[]`;
}

/** A role's cells in words: "user: select some rows, insert some rows." */
function describe(p: RolePlan): string {
  if (p.role === HASURA_ADMIN) return "admin: all.";
  const parts = CMDS.filter((c) => p.using[c] !== undefined).map((c) => {
    const every = p.using[c] === "true" && (c !== "update" || p.check.update == null || p.check.update === "true");
    return `${c} ${every ? "every row" : "some rows"}`;
  });
  return `${p.role}: ${parts.length ? parts.join(", ") : "nothing"}.`;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
