/**
 * A Hasura permission boolean expression (filter / check) as the SQL text of
 * an RLS policy expression (issue 14).
 *
 * Semantics are Hasura's, including the one Postgres would change: Hasura
 * evaluates a relationship or `_exists` inside a permission without the
 * related table's own permissions, but a sub-select in a policy runs under
 * the related table's RLS for the same role. So every top-level relationship
 * or `_exists` becomes a call to a generated helper function (`RuleHelper`):
 * SECURITY DEFINER, STABLE, `set search_path = ''`, schema-qualified names,
 * taking the row's columns it needs as arguments, owned by a reader role
 * that sees the related rows whatever their RLS (see helpersDdl). Nested
 * relationships inside a helper are plain EXISTS: the helper already reads
 * as the reader.
 *
 * A scalar computed field compares like a column: its function called on
 * the row, with the session as json(b) for its session argument. Hasura
 * calls it whatever the role's own computed-field permission (and EXECUTE
 * here) says, so at the top it is called through a helper too (taking the
 * row, returning the value), and the reader gets EXECUTE on it. A function
 * computed from the row alone (the usual kind) gives Hasura's answer; one
 * that reads other tables reads them with the reader's grants, which cover
 * only what the rules themselves read: refused there, not answered wrong.
 *
 * Values become literals through quoteLiteral with the column's type cast;
 * session variables (any case spelling) `(select hasura.session_var_required('x-hasura-…'))::<type>`
 * (array ones for _in/_nin/_has_keys_*); identifiers through quoteIdent.
 * Nothing from the metadata is spliced into SQL any other way.
 */
import { createHash } from "node:crypto";
import { type CatalogModel, type CatalogRoutine, type CatalogTable, findTable, tableKey } from "./catalog.ts";
import { type BoolExp, type ComputedField, ImportError, type QualifiedTable, type Relationship } from "./metadata.ts";
import { quoteIdent, quoteLiteral, quoteQualified } from "./sql-quote.ts";

export type { BoolExp, Relationship };

export const DEFAULT_RULES_SCHEMA = "hasura_rules";

export interface TranslateOptions {
  catalog: CatalogModel;
  /** The object and array relationships of a table, from the metadata. */
  relationships: (table: QualifiedTable) => Relationship[];
  /** The computed fields of a table, from the metadata. */
  computedFields?: (table: QualifiedTable) => ComputedField[];
  /** Schema of the generated helpers (default hasura_rules). */
  rulesSchema?: string;
  /** The application role whose policy this is: EXECUTE on the helpers goes to it. */
  role?: string;
  /** Where the expression is, for messages: the metadata file and the JSON path of the expression in it. */
  where?: { file: string; path: string };
}

/** A generated SECURITY DEFINER function standing for one relationship / _exists test. */
export interface RuleHelper {
  schema: string;
  name: string;
  argTypes: string[];
  /** The SELECT the function returns, $1… its arguments. */
  body: string;
  /** Its return type: boolean for a relationship / _exists test, the function's for a computed field. */
  returns: string;
  /** Computed-field functions it calls (signature `schema.name(argtypes)`): the reader gets EXECUTE on them. */
  executes: { schema: string; signature: string }[];
  /** What the function reads, for the reader role's grants and policies (a table gets one, a view cannot). */
  reads: { table: QualifiedTable; kind: CatalogTable["kind"]; columns: string[] }[];
  roles: string[];
}

export interface TranslatedBoolExp {
  sql: string;
  helpers: RuleHelper[];
}

/** An expression that cannot be translated: ImportError naming the file and JSON path. */
export class BoolExpError extends ImportError {}

type Kind = "atom" | "and" | "or";
interface Expr {
  sql: string;
  kind: Kind;
}
const atom = (sql: string): Expr => ({ sql, kind: "atom" });
const TRUE = atom("true");
const FALSE = atom("false");

interface HelperBuild {
  params: { column: string; type: string }[];
  executes: Map<string, { schema: string; signature: string }>;
  reads: Map<string, { table: QualifiedTable; kind: CatalogTable["kind"]; columns: Set<string> }>;
  aliases: number;
}

interface Scope {
  table: CatalogTable;
  /** SQL for a column of this scope's table (validated). */
  col: (column: string, path: string) => string;
  /** SQL for a column of the root table (the permission's), for ["$", col]. */
  rootCol: (column: string, path: string) => string;
  root: CatalogTable;
  /** SQL for the whole row of this scope's table (a computed field's argument); none for a helper's arguments. */
  row?: string;
  helper?: HelperBuild;
}

export function translateBoolExp(exp: unknown, table: QualifiedTable, opts: TranslateOptions): TranslatedBoolExp {
  const t = new Translator(opts);
  const root = t.table(table, "$");
  const top = (column: string, path: string) => {
    t.column(root, column, path);
    return quoteIdent(column);
  };
  // In a policy the table's name is its row, unless a column has that name.
  const row = root.columns.has(root.name) ? undefined : quoteIdent(root.name);
  const expr = t.boolExp(exp, { table: root, col: top, rootCol: top, root, row }, "$");
  return { sql: expr.sql, helpers: [...t.helpers.values()] };
}

const SESSION_PREFIX = "x-hasura-";
const isSessionVariable = (v: unknown): v is string => typeof v === "string" && v.toLowerCase().startsWith(SESSION_PREFIX);

const COMPARE: Record<string, string> = { _gt: ">", _lt: "<", _gte: ">=", _lte: "<=" };
const TEXT: Record<string, string> = {
  _like: "like",
  _nlike: "not like",
  _ilike: "ilike",
  _nilike: "not ilike",
  _similar: "similar to",
  _nsimilar: "not similar to",
  _regex: "~",
  _nregex: "!~",
  _iregex: "~*",
  _niregex: "!~*",
};
const COLUMN_COMPARE: Record<string, string> = {
  _ceq: "=",
  _cne: "<>",
  _cneq: "<>",
  _cgt: ">",
  _clt: "<",
  _cgte: ">=",
  _clte: "<=",
};
const JSONB_KEYS: Record<string, string> = { _has_keys_any: "?|", _has_keys_all: "?&" };

/** Legacy `$eq`-style spellings are Hasura's aliases of the `_` ones. */
const normalise = (key: string) => (key.startsWith("$") ? `_${key.slice(1)}` : key);
const childPath = (path: string, key: string) =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function and(parts: Expr[]): Expr {
  const kept = parts.filter((p) => p.sql !== "true");
  if (kept.length === 0) return TRUE;
  if (kept.length === 1) return kept[0]!;
  return { sql: kept.map((p) => (p.kind === "or" ? `(${p.sql})` : p.sql)).join(" and "), kind: "and" };
}

function or(parts: Expr[]): Expr {
  if (parts.length === 0) return FALSE; // Hasura: _or: [] is false
  if (parts.length === 1) return parts[0]!;
  return { sql: parts.map((p) => (p.kind === "and" ? `(${p.sql})` : p.sql)).join(" or "), kind: "or" };
}

class Translator {
  readonly helpers = new Map<string, RuleHelper>();
  private readonly rulesSchema: string;
  private readonly opts: TranslateOptions;

  constructor(opts: TranslateOptions) {
    this.opts = opts;
    this.rulesSchema = opts.rulesSchema ?? DEFAULT_RULES_SCHEMA;
  }

  fail(path: string, message: string): never {
    const base = this.opts.where?.path ?? "$";
    throw new BoolExpError(this.opts.where?.file ?? "permission", base + path.slice(1), message);
  }

  table(t: QualifiedTable, path: string): CatalogTable {
    const found = findTable(this.opts.catalog, t);
    if (!found) this.fail(path, `table ${t.schema}.${t.name} does not exist in the database`);
    return found;
  }

  column(table: CatalogTable, column: string, path: string) {
    const c = table.columns.get(column);
    if (!c) this.fail(path, `no column "${column}" in ${table.schema}.${table.name}`);
    return c;
  }

  boolExp(exp: unknown, scope: Scope, path: string): Expr {
    if (!isObject(exp)) this.fail(path, "a boolean expression must be an object");
    return and(Object.entries(exp).map(([key, value]) => this.entry(key, value, scope, childPath(path, key))));
  }

  private list(value: unknown, path: string): unknown[] {
    if (!Array.isArray(value)) this.fail(path, "expected an array of boolean expressions");
    return value;
  }

  private entry(rawKey: string, value: unknown, scope: Scope, path: string): Expr {
    const key = normalise(rawKey);
    switch (key) {
      case "_and":
        return and(this.list(value, path).map((e, i) => this.boolExp(e, scope, `${path}[${i}]`)));
      case "_or":
        return or(this.list(value, path).map((e, i) => this.boolExp(e, scope, `${path}[${i}]`)));
      case "_not":
        return atom(`not (${this.boolExp(value, scope, path).sql})`);
      case "_exists":
        return this.exists(value, scope, path);
    }
    if (scope.table.columns.has(rawKey)) return this.columnExp(rawKey, value, scope, path);
    const rel = this.opts.relationships(scope.table).find((r) => r.name === rawKey);
    if (rel) return this.relationship(rel, value, scope, path);
    const computed = this.opts.computedFields?.(scope.table).find((c) => c.name === rawKey);
    if (computed) return this.computedField(computed, value, scope, path);
    this.fail(path, `"${rawKey}" is neither a column nor a relationship of ${scope.table.schema}.${scope.table.name}`);
  }

  // ---- relationships and _exists: helpers at the top, EXISTS inside them ----

  private resolve(table: CatalogTable, rel: Relationship, path: string): { remote: CatalogTable; mapping: [string, string][] } {
    const using = rel.using;
    if ("manualConfiguration" in using) {
      const remote = this.table(using.manualConfiguration.remoteTable, path);
      const mapping = Object.entries(using.manualConfiguration.columnMapping);
      if (mapping.length === 0) this.fail(path, `relationship "${rel.name}" has an empty column_mapping`);
      return { remote, mapping };
    }
    const on = using.foreignKeyConstraintOn;
    if (typeof on === "string" || Array.isArray(on)) {
      const columns = typeof on === "string" ? [on] : on;
      const fk = table.foreignKeys.find((f) => sameSet(f.columns, columns));
      if (!fk) this.fail(path, `no foreign key on ${table.schema}.${table.name} (${columns.join(", ")}) for relationship "${rel.name}"`);
      const remote = this.table(fk.references, path);
      return { remote, mapping: fk.columns.map((c, i) => [c, fk.referencedColumns[i]!]) };
    }
    const remote = this.table(on.table, path);
    const columns = on.columns ?? (on.column !== undefined ? [on.column] : []);
    const fk = remote.foreignKeys.find((f) => sameSet(f.columns, columns) && tableKey(f.references) === tableKey(table));
    if (!fk) {
      this.fail(
        path,
        `no foreign key on ${remote.schema}.${remote.name} (${columns.join(", ")}) to ${table.schema}.${table.name} for relationship "${rel.name}"`,
      );
    }
    return { remote, mapping: fk.referencedColumns.map((c, i) => [c, fk.columns[i]!]) };
  }

  private relationship(rel: Relationship, value: unknown, scope: Scope, path: string): Expr {
    const { remote, mapping } = this.resolve(scope.table, rel, path);
    return this.subquery(scope, remote, rel.name, (outer, inner) => {
      const join = mapping.map(([local, remoteCol]) => `${inner.col(remoteCol, path)} = ${outer.col(local, path)}`);
      return [...join, ...bodyOf(this.boolExp(value, inner, path))];
    });
  }

  private exists(value: unknown, scope: Scope, path: string): Expr {
    if (!isObject(value)) this.fail(path, "_exists takes {_table, _where}");
    const extra = Object.keys(value).filter((k) => k !== "_table" && k !== "_where");
    if (extra.length) this.fail(path, `unknown key "${extra[0]}" in _exists`);
    const target = this.table(qualifiedTable(value._table, this, `${path}._table`), `${path}._table`);
    return this.subquery(scope, target, "exists", (_outer, inner) => bodyOf(this.boolExp(value._where ?? {}, inner, `${path}._where`)));
  }

  /**
   * `exists (select 1 from remote rN where …)`; at the top level, wrapped in a
   * helper whose arguments are the root row's columns the test uses.
   */
  private subquery(
    scope: Scope,
    remote: CatalogTable,
    label: string,
    where: (outer: Scope, inner: Scope) => string[],
    /** What the rows come from, when not the remote table itself (a set-returning computed field). */
    from?: (outer: Scope) => string,
  ): Expr {
    const helper: HelperBuild = scope.helper ?? { params: [], executes: new Map(), reads: new Map(), aliases: 0 };
    const alias = `r${++helper.aliases}`;
    const reads = (t: CatalogTable) => {
      const key = tableKey(t);
      let r = helper.reads.get(key);
      if (!r) {
        r = { table: { schema: t.schema, name: t.name }, kind: t.kind, columns: new Set() };
        helper.reads.set(key, r);
      }
      return r.columns;
    };
    const param = (column: string, p: string) => {
      const c = this.column(scope.root, column, p);
      let i = helper.params.findIndex((x) => x.column === column);
      if (i < 0) i = helper.params.push({ column, type: c.type }) - 1;
      return `$${i + 1}`;
    };
    // In a new helper the outer scope is the root row, reached through arguments.
    const outer: Scope = scope.helper ? scope : { ...scope, col: param, rootCol: param, row: undefined, helper };
    const inner: Scope = {
      table: remote,
      root: scope.root,
      rootCol: outer.rootCol,
      row: alias,
      helper,
      col: (column, p) => {
        this.column(remote, column, p);
        reads(remote).add(column);
        return `${alias}.${quoteIdent(column)}`;
      },
    };
    reads(remote);
    const source = from ? from(outer) : quoteQualified(remote);
    const conditions = where(outer, inner);
    const sql = `exists (select 1 from ${source} ${alias}${conditions.length ? ` where ${conditions.join(" and ")}` : ""})`;
    if (scope.helper) return atom(sql);
    return atom(this.emitHelper(scope.root, label, helper, `select ${sql}`));
  }

  private emitHelper(root: CatalogTable, label: string, build: HelperBuild, body: string, returns = "boolean", row?: string): string {
    // A computed field's helper takes the row itself (its only argument).
    const argTypes = row === undefined ? build.params.map((p) => p.type) : [quoteQualified(root)];
    const hash = createHash("sha256")
      .update(JSON.stringify([argTypes, body, returns]))
      .digest("hex")
      .slice(0, 10);
    const readable = `${root.name}_${label}`
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, "_")
      .slice(0, 40);
    const name = `${readable}_${hash}`;
    const existing = this.helpers.get(name);
    const role = this.opts.role;
    if (existing) {
      if (role && !existing.roles.includes(role)) existing.roles.push(role);
    } else {
      this.helpers.set(name, {
        schema: this.rulesSchema,
        name,
        argTypes,
        body,
        returns,
        executes: [...build.executes.values()],
        reads: [...build.reads.values()].map((r) => ({ table: r.table, kind: r.kind, columns: [...r.columns].sort() })),
        roles: role ? [role] : [],
      });
    }
    const args = row ?? build.params.map((p) => quoteIdent(p.column)).join(", ");
    const call = `${quoteIdent(this.rulesSchema)}.${quoteIdent(name)}(${args})`;
    // Without arguments it is the same for every row: once per statement.
    return args ? call : `(select ${call})`;
  }

  // ---- computed fields: the function on the row, compared like a column ----

  private computedField(cf: ComputedField, value: unknown, scope: Scope, path: string): Expr {
    const name = `${cf.function.schema}.${cf.function.name}`;
    const rowType = quoteQualified(scope.table);
    const tableArg = (f: CatalogRoutine) => (cf.tableArgument === undefined ? 0 : f.argNames.indexOf(cf.tableArgument));
    const fns = (this.opts.catalog.functions.get(tableKey(cf.function)) ?? []).filter((f) => f.argTypes[tableArg(f)] === rowType);
    if (fns.length !== 1)
      this.fail(path, `computed field "${cf.name}": ${fns.length ? "several functions" : "no function"} ${name} taking a ${rowType} row`);
    const fn = fns[0]!;
    if (fn.returnsSet) return this.tableComputedField(cf, fn, value, scope, path);
    if (scope.row === undefined) this.fail(path, `computed field "${cf.name}": the row of ${rowType} cannot be named here`);
    // At the top the call is in the helper, on its argument.
    const row = scope.helper ? scope.row : "$1";
    const args = fn.argTypes.map((type, i) => {
      if (i === tableArg(fn)) return row;
      // Hasura passes the session as a JSON object of lower-case names, as hasura.session() holds it.
      if (cf.sessionArgument !== undefined && fn.argNames[i] === cf.sessionArgument) return `(select hasura.session())::${type}`;
      return this.fail(
        path,
        `computed field "${cf.name}": argument ${fn.argNames[i] ?? i + 1} of ${name} is neither the row nor the session`,
      );
    });
    const call = `${quoteQualified(cf.function)}(${args.join(", ")})`;
    const signature = `${quoteQualified(cf.function)}(${fn.argTypes.join(", ")})`;
    let lhs = call;
    const execute = { schema: cf.function.schema, signature };
    if (scope.helper) {
      scope.helper.executes.set(signature, execute);
      // The whole row is read: the reader needs every column of it.
      for (const c of scope.table.columns.keys()) scope.col(c, path);
    } else {
      const build: HelperBuild = { params: [], executes: new Map([[signature, execute]]), reads: new Map(), aliases: 0 };
      lhs = this.emitHelper(scope.table, cf.name, build, `select ${call}`, fn.returnType, scope.row);
    }
    if (!isObject(value)) return this.operator("_eq", value, lhs, fn.returnType, false, scope, path);
    return and(
      Object.entries(value).map(([op, v]) => this.operator(normalise(op), v, lhs, fn.returnType, false, scope, childPath(path, op))),
    );
  }

  /**
   * A set-returning computed field filters like an array relationship: some
   * row it returns matches. The row goes in as its columns (a helper's
   * arguments at the top), rebuilt with ROW(…)::type. The function reads as
   * the reader, which is granted every column of the table it returns (what
   * such a function reads, in the usual kind) and nothing else.
   */
  private tableComputedField(cf: ComputedField, fn: CatalogRoutine, value: unknown, scope: Scope, path: string): Expr {
    const remote = [...this.opts.catalog.tables.values()].find((t) => quoteQualified(t) === fn.returnType);
    if (!remote) this.fail(path, `computed field "${cf.name}" returns setof ${fn.returnType}, which is not a table or view`);
    const rowType = quoteQualified(scope.table);
    const tableArg = cf.tableArgument === undefined ? 0 : fn.argNames.indexOf(cf.tableArgument);
    const signature = `${quoteQualified(cf.function)}(${fn.argTypes.join(", ")})`;
    return this.subquery(
      scope,
      remote,
      cf.name,
      (_outer, inner) => {
        for (const c of remote.columns.keys()) inner.col(c, path);
        return bodyOf(this.boolExp(value, inner, path));
      },
      (outer) => {
        outer.helper!.executes.set(signature, { schema: cf.function.schema, signature });
        const row = `row(${[...scope.table.columns.keys()].map((c) => outer.col(c, path)).join(", ")})::${rowType}`;
        const args = fn.argTypes.map((type, i) => {
          if (i === tableArg) return row;
          if (cf.sessionArgument !== undefined && fn.argNames[i] === cf.sessionArgument) return `(select hasura.session())::${type}`;
          return this.fail(
            path,
            `computed field "${cf.name}": argument ${fn.argNames[i] ?? i + 1} of ${cf.function.schema}.${cf.function.name} is neither the row nor the session`,
          );
        });
        return `${quoteQualified(cf.function)}(${args.join(", ")})`;
      },
    );
  }

  // ---- column operators ----

  private columnExp(column: string, value: unknown, scope: Scope, path: string): Expr {
    const lhs = scope.col(column, path);
    const type = this.column(scope.table, column, path).type;
    const notNull = this.column(scope.table, column, path).notNull;
    // Hasura reads a bare value as _eq.
    if (!isObject(value)) return this.operator("_eq", value, lhs, type, notNull, scope, path);
    return and(Object.entries(value).map(([op, v]) => this.operator(normalise(op), v, lhs, type, notNull, scope, childPath(path, op))));
  }

  private operator(op: string, value: unknown, lhs: string, type: string, notNull: boolean, scope: Scope, path: string): Expr {
    const isJson = type === "jsonb" || type === "json";
    switch (op) {
      case "_eq":
      case "_ne":
      case "_neq": {
        const eq = op === "_eq";
        // Hasura: col = v or (col is null and v is null) on a nullable column.
        if (value === null) return notNull ? atom(eq ? "false" : `${lhs} is not null`) : atom(`${lhs} is ${eq ? "" : "not "}null`);
        return atom(`${lhs} ${eq ? "=" : "<>"} ${this.value(value, type, path)}`);
      }
      case "_gt":
      case "_lt":
      case "_gte":
      case "_lte":
        return atom(`${lhs} ${COMPARE[op]} ${this.value(value, type, path)}`);
      case "_in":
      case "_nin": {
        if (type.endsWith("[]")) this.fail(path, `${op} on an array column (${type}) is not translated`);
        const any = `${lhs} = any (${this.array(value, type, path)})`;
        return atom(op === "_in" ? any : `not (${any})`);
      }
      case "_is_null":
        if (typeof value !== "boolean") this.fail(path, "_is_null takes true or false");
        return atom(`${lhs} is ${value ? "" : "not "}null`);
      case "_contains":
      case "_contained_in":
        if (!isJson && !type.endsWith("[]")) this.fail(path, `${op} works only on jsonb and array columns (this one is ${type})`);
        return atom(`${lhs} ${op === "_contains" ? "@>" : "<@"} ${this.value(value, type, path)}`);
      case "_has_key":
        if (!isJson) this.fail(path, `${op} works only on jsonb columns (this one is ${type})`);
        return atom(`${lhs} ? ${this.value(value, "text", path)}`);
      case "_has_keys_any":
      case "_has_keys_all":
        if (!isJson) this.fail(path, `${op} works only on jsonb columns (this one is ${type})`);
        return atom(`${lhs} ${JSONB_KEYS[op]} ${this.array(value, "text", path)}`);
    }
    if (op in TEXT) return atom(`${lhs} ${TEXT[op]} ${this.value(value, type, path)}`);
    if (op in COLUMN_COMPARE) return atom(`${lhs} ${COLUMN_COMPARE[op]} ${this.columnReference(value, scope, path)}`);
    this.fail(path, `operator "${op}" is not translated (not a Hasura permission operator, or not supported yet)`);
  }

  /** A column comparison's right side: "col" or ["col"] (this table), ["$", "col"] (the permission's table). */
  private columnReference(value: unknown, scope: Scope, path: string): string {
    if (typeof value === "string") return scope.col(value, path);
    if (Array.isArray(value) && value.length === 1 && typeof value[0] === "string") return scope.col(value[0], path);
    if (Array.isArray(value) && value.length === 2 && value[0] === "$" && typeof value[1] === "string")
      return scope.rootCol(value[1], path);
    this.fail(path, 'a column comparison takes a column name or ["$", column]');
  }

  /** One value of the given SQL type: a session variable or a literal. */
  private value(value: unknown, type: string, path: string): string {
    if (isSessionVariable(value))
      return `(select hasura.session_var_required(${this.literal(value.toLowerCase(), "text", path)}))::${type}`;
    return `${this.literal(value, type, path)}::${type}`;
  }

  /** An array of the given element type: an array session variable or a literal list. */
  private array(value: unknown, type: string, path: string): string {
    if (isSessionVariable(value))
      return `(select hasura.session_var_array_required(${this.literal(value.toLowerCase(), "text", path)}))::${type}[]`;
    if (!Array.isArray(value)) this.fail(path, "expected an array of values or an array session variable");
    return `array[${value.map((v, i) => this.literal(v, type, `${path}[${i}]`)).join(", ")}]::${type}[]`;
  }

  private literal(value: unknown, type: string, path: string): string {
    if (value === null) return "null";
    if (typeof value === "string") {
      if (value.includes("\u0000")) this.fail(path, "value contains a NUL character, which PostgreSQL cannot store");
      return quoteLiteral(value);
    }
    if (typeof value === "number" || typeof value === "boolean") return quoteLiteral(String(value));
    // An array column's value: array[…] of its element type (the caller casts the whole).
    if (Array.isArray(value) && type.endsWith("[]")) {
      return `array[${value.map((v, i) => this.literal(v, type.slice(0, -2), `${path}[${i}]`)).join(", ")}]`;
    }
    if (type === "jsonb" || type === "json") return quoteLiteral(JSON.stringify(value));
    this.fail(path, `a ${Array.isArray(value) ? "list" : "JSON object"} is not a value of type ${type}`);
  }
}

function bodyOf(e: Expr): string[] {
  if (e.sql === "true") return [];
  return [e.kind === "atom" ? e.sql : `(${e.sql})`];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function qualifiedTable(value: unknown, t: Translator, path: string): QualifiedTable {
  if (typeof value === "string") return { schema: "public", name: value };
  if (isObject(value) && typeof value.name === "string" && (value.schema === undefined || typeof value.schema === "string")) {
    return { schema: (value.schema as string | undefined) ?? "public", name: value.name };
  }
  t.fail(path, "a table is a name or {schema, name}");
}

/** The dollar-quote tag for a body: one that does not occur in it. */
function dollarTag(body: string): string {
  let tag = "$rule$";
  for (let i = 1; body.includes(tag); i++) tag = `$rule${i}$`;
  return tag;
}

export interface HelpersDdlOptions {
  /** The NOLOGIN role that owns the helpers (readerRoleSql creates it). */
  reader: string;
  rulesSchema?: string;
}

/**
 * The DDL of the helpers, to run in policies.sql after reset_app_privileges
 * and before the policies that call them (it recreates the helpers' schema,
 * so a policy created earlier that calls one would be dropped with it).
 *
 * Why a reader role with its own `using (true)` SELECT policies rather than a
 * BYPASSRLS role: creating a BYPASSRLS role takes a superuser, which an
 * import cannot count on, and it would pass every policy of every table it is
 * ever granted; this role reads exactly the columns the rules read, through
 * policies anyone can see in pg_policies. It is NOLOGIN, never granted to the
 * authenticator (the runtime connection cannot become it) and only owns the
 * helpers; an application role gets EXECUTE on the helpers its policies call.
 * Calling one directly answers the rule's yes/no for keys of the caller's
 * choosing (not only its visible rows): no row data, but more than Hasura
 * lets a client probe; the matrix of what the role reads is unchanged.
 */
export function helpersDdl(helpers: readonly RuleHelper[], opts: HelpersDdlOptions): string {
  const schema = quoteIdent(opts.rulesSchema ?? DEFAULT_RULES_SCHEMA);
  const reader = quoteIdent(opts.reader);
  const out: string[] = [
    "-- Relationship and _exists tests of the Hasura permissions, read as Hasura reads them:",
    "-- without the related tables' own permissions (server/import/bool-exp.ts).",
    `drop schema if exists ${schema} cascade;`,
    `create schema ${schema};`,
    `revoke all on schema ${schema} from public;`,
    // ALTER FUNCTION … OWNER TO needs the new owner to hold CREATE on the schema.
    `grant create on schema ${schema} to ${reader};`,
    forgetReaderSql(opts.reader),
  ];
  const roles = [...new Set(helpers.flatMap((h) => h.roles))].sort();
  if (roles.length) out.push(`grant usage on schema ${schema} to ${roles.map(quoteIdent).join(", ")};`);

  const reads = new Map<string, { table: QualifiedTable; kind: CatalogTable["kind"]; columns: Set<string> }>();
  for (const h of helpers) {
    for (const r of h.reads) {
      const key = tableKey(r.table);
      const entry = reads.get(key) ?? { table: r.table, kind: r.kind, columns: new Set<string>() };
      for (const c of r.columns) entry.columns.add(c);
      reads.set(key, entry);
    }
  }
  const executes = helpers.flatMap((h) => h.executes);
  const schemas = [...new Set([...reads.values()].map((r) => r.table.schema).concat(executes.map((e) => e.schema)))].sort();
  for (const s of schemas) out.push(`grant usage on schema ${quoteIdent(s)} to ${reader};`);
  for (const f of [...new Set(executes.map((e) => e.signature))].sort()) out.push(`grant execute on function ${f} to ${reader};`);
  for (const { table, kind, columns } of reads.values()) {
    const t = quoteQualified(table);
    // An EXISTS over a table reads no column of it when nothing is compared.
    if (columns.size) out.push(`grant select (${[...columns].sort().map(quoteIdent).join(", ")}) on ${t} to ${reader};`);
    else out.push(`grant select on ${t} to ${reader};`);
    if (kind === "table") out.push(`create policy hasura_rules_read on ${t} for select to ${reader} using (true);`);
    // A view has no policies: it reads its tables as its owner, or (security_invoker) as the reader, under their RLS.
    else out.push(`-- ${t} is a ${kind}: the reader sees what it shows, with no policy of its own.`);
  }

  const seen = new Map<string, RuleHelper>();
  for (const h of helpers) {
    const prev = seen.get(h.name);
    if (!prev) {
      seen.set(h.name, { ...h, roles: [...h.roles] });
      continue;
    }
    for (const r of h.roles) if (!prev.roles.includes(r)) prev.roles.push(r);
  }
  for (const h of seen.values()) {
    const fn = `${schema}.${quoteIdent(h.name)}(${h.argTypes.join(", ")})`;
    const tag = dollarTag(h.body);
    out.push(
      "",
      `create function ${fn} returns ${h.returns}`,
      "  language sql stable security definer",
      "  set search_path = ''",
      `as ${tag}`,
      `  ${h.body}`,
      `${tag};`,
      `revoke all on function ${fn} from public;`,
    );
    if (h.roles.length) out.push(`grant execute on function ${fn} to ${[...h.roles].sort().map(quoteIdent).join(", ")};`);
    // Last: once the reader owns it, the owner running this could no longer revoke or grant.
    out.push(`alter function ${fn} owner to ${reader};`);
  }
  return `${out.join("\n")}\n`;
}

/**
 * What an earlier run gave the reader (table and column grants, EXECUTE on
 * computed fields' functions, its policies), taken back so re-applying
 * policies.sql is declarative: the reader reads only what the current rules
 * read.
 */
function forgetReaderSql(reader: string): string {
  const name = quoteLiteral(reader);
  const body = [
    "declare",
    "  r record;",
    "begin",
    "  for r in select n.nspname, c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace",
    `            where exists (select 1 from pg_catalog.aclexplode(c.relacl) a join pg_catalog.pg_roles g on g.oid = a.grantee where g.rolname = ${name})`,
    "               or exists (select 1 from pg_catalog.pg_attribute t cross join pg_catalog.aclexplode(t.attacl) a",
    `                           join pg_catalog.pg_roles g on g.oid = a.grantee where t.attrelid = c.oid and g.rolname = ${name}) loop`,
    `    execute pg_catalog.format('revoke all on %I.%I from %I', r.nspname, r.relname, ${name});`,
    "  end loop;",
    "  for r in select p.oid::pg_catalog.regprocedure as fn from pg_catalog.pg_proc p cross join pg_catalog.aclexplode(p.proacl) a",
    `            join pg_catalog.pg_roles g on g.oid = a.grantee where g.rolname = ${name} and p.proowner <> g.oid loop`,
    `    execute pg_catalog.format('revoke all on function %s from %I', r.fn, ${name});`,
    "  end loop;",
    "  for r in select schemaname, tablename from pg_catalog.pg_policies",
    `            where policyname = 'hasura_rules_read' and ${name}::name = any (roles) loop`,
    "    execute pg_catalog.format('drop policy hasura_rules_read on %I.%I', r.schemaname, r.tablename);",
    "  end loop;",
    "end",
  ].join("\n");
  const tag = dollarTag(body);
  return `do ${tag}\n${body}\n${tag};`;
}

/**
 * The reader role, for a migration (the owner has CREATEROLE; PostgreSQL 16+
 * makes it ADMIN of the roles it creates): NOLOGIN, no attribute, and the
 * owner may SET ROLE to it (needed to hand it the helpers), without
 * inheriting its rights.
 */
export function readerRoleSql(reader: string): string {
  const r = quoteIdent(reader);
  const create = `create role ${r} nologin noinherit nosuperuser nobypassrls;`;
  const tag = dollarTag(reader);
  return [
    `do ${tag}`,
    "begin",
    `  if not exists (select 1 from pg_catalog.pg_roles where rolname = ${quoteLiteral(reader)}) then`,
    `    ${create}`,
    "  end if;",
    "end",
    `${tag};`,
    `grant ${r} to current_user with inherit false, set true;`,
    "",
  ].join("\n");
}
