/**
 * Hasura's inherited roles resolved to plain per-table permissions (issue
 * 14), so each inherited role can be emitted as a standalone role: Postgres
 * role membership would OR every parent's grants and policies in, where
 * Hasura lets the role's own permission replace the inherited one and
 * inherits a mutation only where the parents agree.
 *
 * Hasura's rules (hasura-compat-facts.md §6.5, Hasura's "roles inheritance"
 * note), per table and permission type:
 * - the role's own permission wins;
 * - select: the union of the parents' rows (filters ORed), the largest
 *   limit, aggregations if any parent allows them, the union of root fields;
 *   a column only some parents allow is null on rows only the others admit.
 *   PostgreSQL grants a column on every row or none, so the safe reading is
 *   taken: a column (or computed field) is granted only where, for every
 *   parent, a parent allowing it admits at least that parent's rows (its
 *   filter is empty, or the same filter). What that drops is a note;
 * - insert, update, delete: the parents holding it must have equal
 *   permissions (one alone is fine); otherwise Hasura marks the pair
 *   inconsistent, and nothing is granted (a note);
 * - role_set may name inherited roles: resolved first, at any depth; a cycle
 *   is an error.
 *
 * Pure: metadata in, resolved metadata and notes out.
 */
import type {
  BoolExp,
  DeletePermission,
  HasuraMetadata,
  InsertPermission,
  SelectPermission,
  TableMetadata,
  UpdatePermission,
} from "./metadata.ts";

export interface InheritedRoleNote {
  where: string;
  detail: string;
}

export interface ResolveOptions {
  /** A table's columns in table order, to spell out `*` in notes and intersections (else `*` stays opaque). */
  columnsOf?: (t: TableMetadata) => string[] | undefined;
}

export interface ResolvedInheritedRoles {
  /** The metadata with each inherited role's resolved permissions as its own (tables are copies; input untouched). */
  metadata: HasuraMetadata;
  /** Inherited roles, parents before children. */
  order: string[];
  notes: InheritedRoleNote[];
}

type Mutation = "insert" | "update" | "delete";
const MUTATIONS: Mutation[] = ["insert", "update", "delete"];

const isEmpty = (e: BoolExp | null | undefined) => e == null || Object.keys(e).length === 0;

/** JSON with object keys sorted, so equal permissions compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v) ?? "null";
}

/** A mutation permission's relevant parts (column lists as sets). */
function mutationKey(p: InsertPermission | UpdatePermission | DeletePermission): string {
  const cols = "columns" in p && p.columns !== "*" ? [...p.columns].sort() : "columns" in p ? "*" : undefined;
  return canonical({ ...p, columns: cols });
}

/** Inherited roles, parents first; throws on a cycle or a role set naming nothing known. */
export function orderInheritedRoles(md: HasuraMetadata): string[] {
  const parents = new Map(md.inheritedRoles.map((r) => [r.roleName, r.roleSet]));
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (role: string, path: string[]) => {
    const s = state.get(role);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...path.slice(path.indexOf(role)), role];
      throw new Error(`inherited_roles: found cycle(s) in roles: ${cycle.join(" → ")}`);
    }
    state.set(role, "visiting");
    for (const p of parents.get(role) ?? []) if (parents.has(p)) visit(p, [...path, role]);
    state.set(role, "done");
    order.push(role);
  };
  for (const r of md.inheritedRoles) visit(r.roleName, []);
  return order;
}

export function resolveInheritedRoles(md: HasuraMetadata, opts: ResolveOptions = {}): ResolvedInheritedRoles {
  const order = orderInheritedRoles(md);
  const parents = new Map(md.inheritedRoles.map((r) => [r.roleName, r.roleSet]));
  const notes: InheritedRoleNote[] = [];
  const tables: TableMetadata[] = md.tables.map((t) => ({
    ...t,
    select: new Map(t.select),
    insert: new Map(t.insert),
    update: new Map(t.update),
    delete: new Map(t.delete),
  }));
  for (const role of order) {
    const ps = [...new Set(parents.get(role) ?? [])];
    const label = `inherited role ${role} (parents ${ps.join(", ")})`;
    for (const t of tables) {
      const where = (cmd: string) => `${t.where} ${cmd}_permissions[role=${role}] (${label})`;
      if (!t.select.has(role)) {
        const held = ps.flatMap((p) => {
          const s = t.select.get(p);
          return s ? [{ parent: p, perm: s }] : [];
        });
        if (held.length) {
          const r = combineSelect(held, opts.columnsOf?.(t));
          if (r.dropped.length)
            notes.push({
              where: where("select"),
              detail: `${r.dropped.join(", ")} not granted: Hasura shows ${r.dropped.length === 1 ? "it" : "them"} only on the rows of the parents allowing ${r.dropped.length === 1 ? "it" : "them"} (null on the others' rows), PostgreSQL grants a column on every row or none`,
            });
          if (r.perm) t.select.set(role, r.perm);
          else notes.push({ where: where("select"), detail: "no column every parent's rows may show: no select permission" });
        }
      }
      for (const cmd of MUTATIONS) {
        const map = t[cmd] as Map<string, InsertPermission | UpdatePermission | DeletePermission>;
        if (map.has(role)) continue;
        const held = ps.flatMap((p) => {
          const m = map.get(p);
          return m ? [{ parent: p, perm: m }] : [];
        });
        if (held.length === 0) continue;
        const keys = new Set(held.map((h) => mutationKey(h.perm)));
        if (keys.size === 1) map.set(role, held[0]!.perm);
        else
          notes.push({
            where: where(cmd),
            detail: `the parents' ${cmd} permissions differ (${held.map((h) => h.parent).join(", ")}): inconsistent in Hasura, not granted; give the inherited role its own ${cmd} permission`,
          });
      }
    }
  }
  return { metadata: { ...md, tables }, order, notes };
}

interface Held {
  parent: string;
  perm: SelectPermission;
}

/** Does a parent's filter admit at least the rows of another's (empty, or the same rule)? */
const covers = (a: SelectPermission, b: SelectPermission) => isEmpty(a.filter) || canonical(a.filter) === canonical(b.filter);

function combineSelect(held: Held[], all: string[] | undefined): { perm?: SelectPermission; dropped: string[] } {
  const has = (p: SelectPermission, c: string) => p.columns === "*" || p.columns.includes(c);
  // A column is safe when every parent's rows are covered by a parent allowing it.
  const safe = (allows: (p: SelectPermission) => boolean) => held.every((h) => held.some((g) => allows(g.perm) && covers(g.perm, h.perm)));
  const starSafe = safe((p) => p.columns === "*");
  let columns: string[] | "*";
  const dropped: string[] = [];
  if (starSafe) columns = "*";
  else {
    const candidates = all ?? [...new Set(held.flatMap((h) => (h.perm.columns === "*" ? [] : h.perm.columns)))];
    const named = candidates.filter((c) => held.some((h) => has(h.perm, c)));
    columns = named.filter((c) => safe((p) => has(p, c)));
    dropped.push(...named.filter((c) => !(columns as string[]).includes(c)));
    if (!all && held.some((h) => h.perm.columns === "*")) dropped.push("the other columns of parents with `*`");
  }
  const computed = [...new Set(held.flatMap((h) => h.perm.computedFields))];
  const computedFields = computed.filter((c) => safe((p) => p.computedFields.includes(c)));
  dropped.push(...computed.filter((c) => !computedFields.includes(c)).map((c) => `computed field ${c}`));
  if (columns !== "*" && columns.length === 0) return { dropped };

  const filters = held.map((h) => h.perm.filter);
  const distinct = [...new Map(filters.map((f) => [canonical(f), f])).values()];
  const filter: BoolExp = filters.some(isEmpty) ? {} : distinct.length === 1 ? distinct[0]! : { _or: distinct };
  const limits = held.flatMap((h) => (h.perm.limit === undefined ? [] : [h.perm.limit]));
  const roots = (k: "queryRootFields" | "subscriptionRootFields") =>
    held.some((h) => h.perm[k] === undefined) ? undefined : [...new Set(held.flatMap((h) => h.perm[k]!))].sort();
  const perm: SelectPermission = {
    columns,
    computedFields,
    filter,
    allowAggregations: held.some((h) => h.perm.allowAggregations),
  };
  if (limits.length) perm.limit = Math.max(...limits);
  const q = roots("queryRootFields");
  if (q) perm.queryRootFields = q;
  const s = roots("subscriptionRootFields");
  if (s) perm.subscriptionRootFields = s;
  return { perm, dropped };
}
