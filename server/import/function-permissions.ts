/**
 * Hasura's function and computed-field permissions as EXECUTE grants (issue
 * 14). This server offers a function to a role by its EXECUTE privilege
 * (server/hasura/functions.ts), and reset_app_privileges takes EXECUTE away
 * from PUBLIC on the tables' schemas; so each tracked function and each
 * computed field's function gets `revoke execute … from public` (also
 * outside those schemas) and `grant execute` to the roles Hasura allows:
 *
 * - a tracked function: the roles its `permissions` name; a STABLE or
 *   IMMUTABLE one also every role with a select permission on the table it
 *   returns (Hasura infers them: HASURA_GRAPHQL_INFER_FUNCTION_PERMISSIONS,
 *   true by default; a VOLATILE one needs explicit permissions). An inherited
 *   role is allowed where any parent is;
 * - a computed field: the roles whose select permission on the table lists it
 *   (inherited roles: resolved by inherited-roles.ts before);
 * - admin always.
 *
 * What the server cannot offer under Hasura's name or rules is a note.
 */
import type pg from "pg";
import { SESSION_ARGUMENT } from "../graphile/SessionArgumentPlugin.ts";
import type { CatalogModel } from "./catalog.ts";
import type { HasuraMetadata, QualifiedTable } from "./metadata.ts";
import { quoteIdent, quoteLiteral, quoteQualified } from "./sql-quote.ts";

export interface CatalogFunction extends QualifiedTable {
  /** pg_get_function_identity_arguments (types qualified): `f(<this>)` names it in GRANT/REVOKE. */
  identityArgs: string;
  volatility: "immutable" | "stable" | "volatile";
  /** The table or view whose rows it returns; null for anything else. */
  returns: QualifiedTable | null;
  /** Its comment (where smart tags live), null without one. */
  comment: string | null;
}

/** Functions by JSON [schema, name]; several: overloaded. */
export type FunctionCatalog = Map<string, CatalogFunction[]>;

const key = (q: QualifiedTable) => JSON.stringify([q.schema, q.name]);

const FUNCTIONS_SQL = `
select n.nspname as schema, p.proname as name, pg_catalog.pg_get_function_identity_arguments(p.oid) as "identityArgs",
  case p.provolatile when 'i' then 'immutable' when 's' then 'stable' else 'volatile' end as volatility,
  (select json_build_object('schema', rn.nspname, 'name', rc.relname) from pg_catalog.pg_type t
     join pg_catalog.pg_class rc on rc.oid = t.typrelid join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
    where t.oid = p.prorettype) as returns,
  pg_catalog.obj_description(p.oid, 'pg_proc') as comment
from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
where p.prokind = 'f' and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_(toast|temp_)'
`;

/** The database's functions, with an empty search_path so argument types come qualified. */
export async function loadFunctionCatalog(client: pg.ClientBase): Promise<FunctionCatalog> {
  await client.query("begin read only");
  try {
    await client.query("set local search_path = ''");
    const { rows } = await client.query<CatalogFunction>(FUNCTIONS_SQL);
    await client.query("commit");
    const out: FunctionCatalog = new Map();
    for (const f of rows) out.set(key(f), [...(out.get(key(f)) ?? []), f]);
    return out;
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e;
  }
}

export interface FunctionPermissionsOut {
  lines: string[];
  notes: { where: string; detail: string }[];
  grants: number;
}

/**
 * `md` has the inherited roles' resolved table permissions (inherited-roles.ts);
 * `parents` their role sets, for function permissions (allowed if any parent is).
 */
export function emitFunctionPermissions(
  md: HasuraMetadata,
  opts: { catalog: CatalogModel; functions?: FunctionCatalog; admin: string },
): FunctionPermissionsOut {
  const notes: FunctionPermissionsOut["notes"] = [];
  const lines: string[] = [];
  let grants = 0;
  const parents = new Map(md.inheritedRoles.map((r) => [r.roleName, r.roleSet]));
  const ancestors = (role: string, seen = new Set<string>()): string[] => {
    if (seen.has(role)) return [];
    seen.add(role);
    return [role, ...(parents.get(role) ?? []).flatMap((p) => ancestors(p, seen))];
  };
  const selectors = (t: QualifiedTable) => {
    const tm = md.tables.find((x) => key(x.table) === key(t));
    return tm ? [...tm.select.keys()] : [];
  };

  /** The one function of that name, or a note why none. */
  const lookup = (f: QualifiedTable, where: string): CatalogFunction | "unknown" | null => {
    if (!opts.functions) return "unknown";
    const found = opts.functions.get(key(f)) ?? [];
    if (found.length === 1) return found[0]!;
    notes.push({
      where,
      detail: found.length
        ? `${f.schema}.${f.name} is overloaded (${found.length} functions): Hasura cannot track it; no grant`
        : `no function ${f.schema}.${f.name} in the database: no grant`,
    });
    return null;
  };
  const signature = (f: QualifiedTable, c: CatalogFunction | "unknown") =>
    // Without the catalog, the bare name (PostgreSQL accepts it for a name that is not overloaded).
    c === "unknown" ? quoteQualified(f) : `${quoteQualified(f)}(${c.identityArgs})`;
  const emit = (head: string, sig: string, roles: string[]) => {
    lines.push("", head, `revoke execute on function ${sig} from public;`);
    lines.push(`grant execute on function ${sig} to ${roles.map(quoteIdent).join(", ")};`);
    grants += roles.length;
  };
  const sortRoles = (rs: Iterable<string>) => [...new Set(rs)].filter((r) => r !== opts.admin).sort();
  if (!opts.functions && md.functions.length)
    notes.push({
      where: "functions",
      detail:
        "the database's functions were not read (no function catalog): tracked functions get their explicit permissions only, none inferred from select on the returned table",
    });

  for (const fn of md.functions) {
    const where = `function ${fn.function.schema}.${fn.function.name}`;
    const c = lookup(fn.function, where);
    if (!c) continue;
    const volatile = fn.exposedAs === "mutation" || (c !== "unknown" && c.volatility === "volatile");
    if (c !== "unknown" && !c.returns)
      notes.push({
        where,
        detail: "it does not return a table's rows: the server offers no such function (EXECUTE granted as Hasura allows)",
      });
    if (fn.exposedAs === "query" && c !== "unknown" && c.volatility === "volatile")
      notes.push({
        where: `${where} configuration.exposed_as`,
        detail: "a VOLATILE function is offered as a mutation here, not as a query",
      });
    if (fn.sessionArgument && fn.sessionArgument !== SESSION_ARGUMENT)
      notes.push({
        where: `${where} configuration.session_argument`,
        detail: `the server fills only an argument named ${SESSION_ARGUMENT} (json/jsonb): ${fn.sessionArgument} is not filled, so the function is not offered; rename the argument`,
      });
    const explicit = new Set(fn.permissions);
    const inferred = !volatile && c !== "unknown" && c.returns ? selectors(c.returns) : [];
    const allRoles = new Set([...md.tables.flatMap((t) => [...t.select.keys()]), ...parents.keys(), ...fn.permissions]);
    const allowed = sortRoles([...allRoles].filter((r) => inferred.includes(r) || ancestors(r).some((a) => explicit.has(a))));
    const why = [
      fn.permissions.length ? `permissions: ${fn.permissions.join(", ")}` : "",
      inferred.length ? `inferred from select on ${c !== "unknown" && c.returns ? `${c.returns.schema}.${c.returns.name}` : ""}` : "",
    ]
      .filter(Boolean)
      .join("; ");
    const returned = c !== "unknown" && c.returns ? md.tables.find((x) => key(x.table) === key(c.returns!)) : undefined;
    const rtable = c !== "unknown" && c.returns ? opts.catalog.tables.get(key(c.returns)) : undefined;
    const partial = allowed.filter((r) => {
      const cols = returned?.select.get(r)?.columns;
      return cols !== undefined && cols !== "*" && rtable !== undefined && cols.length < rtable.columns.size;
    });
    if (partial.length)
      notes.push({
        where,
        detail: `it runs as the role here (Hasura runs it with its own rights): ${partial.join(", ")} may not read every column of ${returned!.table.name}, so a body reading them (\`select *\`) is refused for them; make it SECURITY DEFINER with a fixed search_path if it must`,
      });
    emit(
      `-- Tracked function ${fn.function.schema}.${fn.function.name}${why ? ` (${why})` : volatile ? " (VOLATILE, no permission: admin only)" : ""}.`,
      signature(fn.function, c),
      [...allowed, opts.admin],
    );
  }

  for (const t of md.tables) {
    const table = opts.catalog.tables.get(key(t.table));
    for (const cf of t.computedFields) {
      const where = `${t.where} computed_fields[name=${cf.name}]`;
      const c = lookup(cf.function, where);
      if (!c) continue;
      const roles = sortRoles([...t.select].filter(([, p]) => p.computedFields.includes(cf.name)).map(([r]) => r));
      // The server's name for it: its @fieldName smart tag, else the function's name without `<table>_`.
      const tag = c !== "unknown" ? /@fieldName\s+(\S+)/.exec(c.comment ?? "")?.[1] : undefined;
      const derived =
        tag ?? (cf.function.name.startsWith(`${t.table.name}_`) ? cf.function.name.slice(t.table.name.length + 1) : cf.function.name);
      if (derived !== cf.name) {
        if (c !== "unknown" && c.comment === null && cf.function.schema === t.table.schema) {
          lines.push("", `-- Hasura's name for the computed field (the server reads the @fieldName smart tag).`);
          lines.push(`comment on function ${signature(cf.function, c)} is ${quoteLiteral(`@fieldName ${cf.name}`)};`);
        } else
          notes.push({
            where,
            detail: `offered as ${derived}, not ${cf.name}: the function has a comment of its own; add \`@fieldName ${cf.name}\` to it`,
          });
      }
      if (cf.sessionArgument && cf.sessionArgument !== SESSION_ARGUMENT)
        notes.push({
          where: `${where}.definition.session_argument`,
          detail: `the server fills only an argument named ${SESSION_ARGUMENT} (json/jsonb): not offered; rename the argument`,
        });
      const partial = roles.filter((r) => {
        const cols = t.select.get(r)?.columns;
        return cols !== "*" && table && cols && cols.length < table.columns.size;
      });
      if (partial.length)
        notes.push({
          where,
          detail: `${partial.join(", ")} may execute it but are not offered the field: the server offers a computed field only to a role reading every column of ${t.table.name} (f(row) reads the whole row)`,
        });
      emit(
        `-- Computed field ${t.table.name}.${cf.name} (${cf.function.schema}.${cf.function.name})${roles.length ? `: for ${roles.join(", ")}` : ": admin only"}.`,
        signature(cf.function, c),
        [...roles, opts.admin],
      );
    }
    for (const [role, p] of t.select)
      for (const name of p.computedFields)
        if (!t.computedFields.some((cf) => cf.name === name))
          notes.push({
            where: `${t.where} select_permissions[role=${role}].computed_fields`,
            detail: `no computed field ${name} on ${t.table.name}`,
          });
  }
  return { lines, notes, grants };
}
