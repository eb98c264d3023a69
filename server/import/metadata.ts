/*
 * Loads a Hasura project's metadata — a `metadata/` directory (v3 layout,
 * or the v2 layout with tables.yaml at its root) or one export file (JSON or
 * YAML, v2 `{version: 2, tables}` or v3 `{version: 3, sources}`) — into the
 * normalised HasuraMetadata the importer translates.
 *
 * Strict on purpose: a key this loader does not know is an ImportError naming
 * the file and the JSON path, so nothing a user wrote is lost silently. What
 * is known but not translated (actions, remote schemas, event triggers, ...)
 * is listed in `untranslated` with its place. Boolean expressions are kept
 * exactly as written (legacy `$eq` spellings too): bool-exp.ts reads them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { parseDocument, Scalar } from "yaml";

export interface QualifiedTable {
  schema: string;
  name: string;
}
export type BoolExp = Record<string, unknown>;
export interface ColumnPresetSpec {
  column: string;
  value: unknown;
}
export interface SelectPermission {
  columns: string[] | "*";
  computedFields: string[];
  filter: BoolExp;
  limit?: number;
  allowAggregations: boolean;
  queryRootFields?: string[];
  subscriptionRootFields?: string[];
}
export interface InsertPermission {
  check: BoolExp;
  columns: string[] | "*";
  set: Record<string, unknown>;
  backendOnly: boolean;
}
export interface UpdatePermission {
  columns: string[] | "*";
  filter: BoolExp;
  check: BoolExp | null;
  set: Record<string, unknown>;
  backendOnly: boolean;
}
export interface DeletePermission {
  filter: BoolExp;
  backendOnly: boolean;
}
export interface Relationship {
  name: string;
  kind: "object" | "array";
  using:
    | { foreignKeyConstraintOn: string | string[] | { table: QualifiedTable; column?: string; columns?: string[] } }
    | { manualConfiguration: { remoteTable: QualifiedTable; columnMapping: Record<string, string> } };
}
export interface ComputedField {
  name: string;
  function: QualifiedTable;
  tableArgument?: string;
  sessionArgument?: string;
}
export interface TableMetadata {
  table: QualifiedTable;
  objectRelationships: Relationship[];
  arrayRelationships: Relationship[];
  computedFields: ComputedField[];
  select: Map<string, SelectPermission>;
  insert: Map<string, InsertPermission>;
  update: Map<string, UpdatePermission>;
  delete: Map<string, DeletePermission>;
  /** file (and JSON path inside an export file), for messages */
  where: string;
}
export interface FunctionMetadata {
  function: QualifiedTable;
  permissions: string[];
  exposedAs?: "query" | "mutation";
  sessionArgument?: string;
}
export interface Untranslated {
  kind: string;
  name: string;
  where: string;
}
export interface HasuraMetadata {
  source: string;
  tables: TableMetadata[];
  functions: FunctionMetadata[];
  inheritedRoles: { roleName: string; roleSet: string[] }[];
  untranslated: Untranslated[];
}

export class ImportError extends Error {
  readonly file: string;
  readonly path: string;
  constructor(file: string, path: string, detail: string) {
    super(`${file}: ${path}: ${detail}`);
    this.name = "ImportError";
    this.file = file;
    this.path = path;
  }
}

/** Where a value was read: the file (as shown to the user), the JSON path in it, the directory includes resolve against. */
interface Ctx {
  file: string;
  path: string;
  dir: string | null;
  base: string;
}

const INCLUDE = Symbol("include");
interface IncludeRef {
  [INCLUDE]: string;
}

function at(ctx: Ctx, key: string | number): Ctx {
  const step = typeof key === "number" ? `[${key}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  return { ...ctx, path: ctx.path + step };
}

function place(ctx: Ctx): string {
  return ctx.path === "$" ? ctx.file : `${ctx.file}: ${ctx.path}`;
}

function fail(ctx: Ctx, detail: string): never {
  throw new ImportError(ctx.file, ctx.path, detail);
}

function parseFile(absPath: string, base: string): { value: unknown; ctx: Ctx } {
  const file = relative(base, absPath) || basename(absPath);
  const ctx: Ctx = { file, path: "$", dir: dirname(absPath), base };
  let text: string;
  try {
    text = readFileSync(absPath, "utf8");
  } catch (e) {
    fail(ctx, `cannot read: ${(e as Error).message}`);
  }
  const doc = parseDocument(text, {
    customTags: [
      {
        tag: "!include",
        identify: () => false,
        resolve: (s: string): IncludeRef => ({ [INCLUDE]: s }),
      },
    ],
    uniqueKeys: true,
  });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const where = e.linePos ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "";
    fail(
      ctx,
      `malformed ${absPath.endsWith(".json") ? "JSON" : "YAML"}${where}: ${e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")}`,
    );
  }
  return { value: doc.toJS(), ctx };
}

/** Follows `!include file` (tag, or the quoted string form the Hasura CLI writes) to the included file's value. */
function deref(value: unknown, ctx: Ctx): { value: unknown; ctx: Ctx } {
  let target: string | null = null;
  if (value && typeof value === "object" && INCLUDE in value) target = (value as IncludeRef)[INCLUDE];
  else if (typeof value === "string" && value.startsWith("!include ")) target = value.slice("!include ".length);
  if (target === null) return { value, ctx };
  target = target.trim();
  if (ctx.dir === null) fail(ctx, `!include ${target}: includes are only resolved in a metadata directory`);
  const abs = resolve(ctx.dir, target);
  if (!existsSync(abs)) fail(ctx, `!include ${target}: no such file`);
  const loaded = parseFile(abs, ctx.base);
  return deref(loaded.value, loaded.ctx);
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Scalar);
}

/** An object whose keys are all in `known`; `required` keys must be present. */
function obj(v: unknown, ctx: Ctx, known: readonly string[], required: readonly string[] = []): Obj {
  if (!isObj(v)) fail(ctx, `expected an object, got ${describe(v)}`);
  for (const k of Object.keys(v)) if (!known.includes(k)) fail(at(ctx, k), "unknown key");
  for (const k of required) if (!(k in v)) fail(ctx, `missing key "${k}"`);
  return v;
}

function arr(v: unknown, ctx: Ctx): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(ctx, `expected a list, got ${describe(v)}`);
  return v;
}

function str(v: unknown, ctx: Ctx): string {
  if (typeof v !== "string") fail(ctx, `expected a string, got ${describe(v)}`);
  return v;
}

function bool(v: unknown, ctx: Ctx, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "boolean") fail(ctx, `expected true or false, got ${describe(v)}`);
  return v;
}

function strList(v: unknown, ctx: Ctx): string[] {
  return arr(v, ctx).map((x, i) => str(x, at(ctx, i)));
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)}`;
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObj(v)) return Object.values(v).every(isEmpty);
  return false;
}

function qualified(v: unknown, ctx: Ctx): QualifiedTable {
  if (typeof v === "string") return { schema: "public", name: v };
  const o = obj(v, ctx, ["schema", "name"], ["name"]);
  return {
    schema: o.schema === undefined ? "public" : str(o.schema, at(ctx, "schema")),
    name: str(o.name, at(ctx, "name")),
  };
}

function boolExp(v: unknown, ctx: Ctx): BoolExp {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) fail(ctx, `expected a boolean expression (an object), got ${describe(v)}`);
  return v;
}

function columns(v: unknown, ctx: Ctx): string[] | "*" {
  if (v === "*") return "*";
  if (v === undefined || v === null) return [];
  return strList(v, ctx);
}

function presets(v: unknown, ctx: Ctx): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) fail(ctx, `expected an object of column presets, got ${describe(v)}`);
  return { ...v };
}

/** Collects untranslated items; `name` of an item is the item's own name where it has one. */
class Collector {
  readonly items: Untranslated[] = [];
  add(kind: string, name: string, ctx: Ctx): void {
    this.items.push({ kind, name, where: place(ctx) });
  }
  /** Each element of a named list (remote schemas, cron triggers, ...). */
  addList(kind: string, v: unknown, ctx: Ctx, nameKey = "name"): void {
    arr(v, ctx).forEach((item, i) => {
      const c = at(ctx, i);
      const name = isObj(item) && typeof item[nameKey] === "string" ? (item[nameKey] as string) : `#${i}`;
      this.add(kind, name, c);
    });
  }
  /** A setting object, listed once when it says anything. */
  addSetting(kind: string, v: unknown, ctx: Ctx): void {
    if (!isEmpty(v)) this.add(kind, kind, ctx);
  }
}

const PERMISSION_ENTRY = ["role", "permission", "comment"] as const;

function permissionEntries<T>(v: unknown, ctx: Ctx, read: (p: unknown, ctx: Ctx) => T): Map<string, T> {
  const out = new Map<string, T>();
  arr(v, ctx).forEach((entry, i) => {
    const c = at(ctx, i);
    const e = obj(entry, c, PERMISSION_ENTRY, ["role", "permission"]);
    const role = str(e.role, at(c, "role"));
    if (out.has(role)) fail(at(c, "role"), `a second permission for role "${role}"`);
    out.set(role, read(e.permission, at(c, "permission")));
  });
  return out;
}

function selectPermission(v: unknown, ctx: Ctx): SelectPermission {
  const p = obj(v, ctx, [
    "columns",
    "computed_fields",
    "filter",
    "limit",
    "allow_aggregations",
    "query_root_fields",
    "subscription_root_fields",
  ]);
  const out: SelectPermission = {
    columns: columns(p.columns, at(ctx, "columns")),
    computedFields: strList(p.computed_fields, at(ctx, "computed_fields")),
    filter: boolExp(p.filter, at(ctx, "filter")),
    allowAggregations: bool(p.allow_aggregations, at(ctx, "allow_aggregations"), false),
  };
  if (p.limit !== undefined && p.limit !== null) {
    if (typeof p.limit !== "number" || !Number.isInteger(p.limit) || p.limit < 0)
      fail(at(ctx, "limit"), `expected a non-negative integer, got ${describe(p.limit)}`);
    out.limit = p.limit;
  }
  if (p.query_root_fields !== undefined && p.query_root_fields !== null)
    out.queryRootFields = strList(p.query_root_fields, at(ctx, "query_root_fields"));
  if (p.subscription_root_fields !== undefined && p.subscription_root_fields !== null)
    out.subscriptionRootFields = strList(p.subscription_root_fields, at(ctx, "subscription_root_fields"));
  return out;
}

function validateInput(p: Obj, ctx: Ctx, u: Collector): void {
  if (p.validate_input !== undefined) u.add("input validation webhook", "validate_input", at(ctx, "validate_input"));
}

/**
 * Hasura's insert and update permission parsers read their own keys and pass
 * over others; consoles and hand edits leave `computed_fields` there (copied
 * from the select permission). Listed, so the user sees it meant nothing.
 */
function ignoredByHasura(p: Obj, ctx: Ctx, u: Collector, keys: readonly string[]): void {
  for (const k of keys) if (p[k] !== undefined && !isEmpty(p[k])) u.add("key Hasura ignores", k, at(ctx, k));
}

function insertPermission(v: unknown, ctx: Ctx, u: Collector): InsertPermission {
  // allow_upsert: written by pre-1.0 consoles; Hasura ignores it (an upsert needs an update permission).
  const p = obj(v, ctx, ["check", "columns", "set", "backend_only", "validate_input", "allow_upsert", "computed_fields"]);
  validateInput(p, ctx, u);
  ignoredByHasura(p, ctx, u, ["computed_fields"]);
  return {
    check: boolExp(p.check, at(ctx, "check")),
    columns: columns(p.columns, at(ctx, "columns")),
    set: presets(p.set, at(ctx, "set")),
    backendOnly: bool(p.backend_only, at(ctx, "backend_only"), false),
  };
}

function updatePermission(v: unknown, ctx: Ctx, u: Collector): UpdatePermission {
  const p = obj(v, ctx, ["columns", "filter", "check", "set", "backend_only", "validate_input", "computed_fields"]);
  validateInput(p, ctx, u);
  ignoredByHasura(p, ctx, u, ["computed_fields"]);
  return {
    columns: columns(p.columns, at(ctx, "columns")),
    filter: boolExp(p.filter, at(ctx, "filter")),
    check: p.check === undefined || p.check === null ? null : boolExp(p.check, at(ctx, "check")),
    set: presets(p.set, at(ctx, "set")),
    backendOnly: bool(p.backend_only, at(ctx, "backend_only"), false),
  };
}

function deletePermission(v: unknown, ctx: Ctx, u: Collector): DeletePermission {
  const p = obj(v, ctx, ["filter", "backend_only", "validate_input"]);
  validateInput(p, ctx, u);
  return {
    filter: boolExp(p.filter, at(ctx, "filter")),
    backendOnly: bool(p.backend_only, at(ctx, "backend_only"), false),
  };
}

function relationship(v: unknown, ctx: Ctx, kind: "object" | "array"): Relationship {
  const r = obj(v, ctx, ["name", "using", "comment"], ["name", "using"]);
  const name = str(r.name, at(ctx, "name"));
  const uc = at(ctx, "using");
  const using = obj(r.using, uc, ["foreign_key_constraint_on", "manual_configuration"]);
  if ("foreign_key_constraint_on" in using === "manual_configuration" in using)
    fail(uc, "expected exactly one of foreign_key_constraint_on, manual_configuration");
  if ("foreign_key_constraint_on" in using) {
    const fc = at(uc, "foreign_key_constraint_on");
    const fk = using.foreign_key_constraint_on;
    if (typeof fk === "string") return { name, kind, using: { foreignKeyConstraintOn: fk } };
    if (Array.isArray(fk)) return { name, kind, using: { foreignKeyConstraintOn: strList(fk, fc) } };
    const o = obj(fk, fc, ["table", "column", "columns"], ["table"]);
    const spec: { table: QualifiedTable; column?: string; columns?: string[] } = {
      table: qualified(o.table, at(fc, "table")),
    };
    if (o.column !== undefined) spec.column = str(o.column, at(fc, "column"));
    if (o.columns !== undefined) spec.columns = strList(o.columns, at(fc, "columns"));
    if ((spec.column === undefined) === (spec.columns === undefined)) fail(fc, 'expected one of "column", "columns"');
    return { name, kind, using: { foreignKeyConstraintOn: spec } };
  }
  const mc = at(uc, "manual_configuration");
  const m = obj(using.manual_configuration, mc, ["remote_table", "column_mapping", "insertion_order"], ["remote_table", "column_mapping"]);
  const cm = obj(m.column_mapping, at(mc, "column_mapping"), Object.keys(m.column_mapping ?? {}));
  const columnMapping: Record<string, string> = {};
  for (const [k, val] of Object.entries(cm)) columnMapping[k] = str(val, at(at(mc, "column_mapping"), k));
  return { name, kind, using: { manualConfiguration: { remoteTable: qualified(m.remote_table, at(mc, "remote_table")), columnMapping } } };
}

function computedField(v: unknown, ctx: Ctx): ComputedField {
  const f = obj(v, ctx, ["name", "definition", "comment"], ["name", "definition"]);
  const dc = at(ctx, "definition");
  const d = obj(f.definition, dc, ["function", "table_argument", "session_argument"], ["function"]);
  const out: ComputedField = { name: str(f.name, at(ctx, "name")), function: qualified(d.function, at(dc, "function")) };
  if (d.table_argument !== undefined && d.table_argument !== null) out.tableArgument = str(d.table_argument, at(dc, "table_argument"));
  if (d.session_argument !== undefined && d.session_argument !== null)
    out.sessionArgument = str(d.session_argument, at(dc, "session_argument"));
  return out;
}

const TABLE_KEYS = [
  "table",
  "configuration",
  "is_enum",
  "object_relationships",
  "array_relationships",
  "remote_relationships",
  "computed_fields",
  "select_permissions",
  "insert_permissions",
  "update_permissions",
  "delete_permissions",
  "event_triggers",
  "apollo_federation_config",
  "logical_model",
] as const;

const TABLE_CONFIGURATION_KEYS = ["custom_name", "custom_root_fields", "custom_column_names", "column_config", "comment"] as const;

function table(raw: unknown, rawCtx: Ctx, u: Collector): TableMetadata {
  const { value, ctx } = deref(raw, rawCtx);
  const t = obj(value, ctx, TABLE_KEYS, ["table"]);
  const qt = qualified(t.table, at(ctx, "table"));
  const tname = `${qt.schema}.${qt.name}`;
  if (t.configuration !== undefined) {
    const cc = at(ctx, "configuration");
    const c = obj(t.configuration, cc, TABLE_CONFIGURATION_KEYS);
    const { comment: _comment, ...naming } = c;
    if (!isEmpty(naming)) u.add("GraphQL name customization", tname, cc);
  }
  if (t.is_enum === true) u.add("enum table", tname, at(ctx, "is_enum"));
  else bool(t.is_enum, at(ctx, "is_enum"), false);
  if (!isEmpty(t.logical_model)) u.add("logical model of a table", tname, at(ctx, "logical_model"));
  if (!isEmpty(t.apollo_federation_config)) u.add("Apollo federation", tname, at(ctx, "apollo_federation_config"));
  arr(t.remote_relationships, at(ctx, "remote_relationships")).forEach((r, i) => {
    const c = at(at(ctx, "remote_relationships"), i);
    u.add("remote relationship", `${tname}.${isObj(r) && typeof r.name === "string" ? r.name : `#${i}`}`, c);
  });
  arr(t.event_triggers, at(ctx, "event_triggers")).forEach((r, i) => {
    const c = at(at(ctx, "event_triggers"), i);
    u.add("event trigger", isObj(r) && typeof r.name === "string" ? r.name : `${tname}#${i}`, c);
  });
  const rels = (key: string, kind: "object" | "array") =>
    arr(t[key], at(ctx, key)).map((r, i) => relationship(r, at(at(ctx, key), i), kind));
  return {
    table: qt,
    objectRelationships: rels("object_relationships", "object"),
    arrayRelationships: rels("array_relationships", "array"),
    computedFields: arr(t.computed_fields, at(ctx, "computed_fields")).map((f, i) => computedField(f, at(at(ctx, "computed_fields"), i))),
    select: permissionEntries(t.select_permissions, at(ctx, "select_permissions"), (p, c) => selectPermission(p, c)),
    insert: permissionEntries(t.insert_permissions, at(ctx, "insert_permissions"), (p, c) => insertPermission(p, c, u)),
    update: permissionEntries(t.update_permissions, at(ctx, "update_permissions"), (p, c) => updatePermission(p, c, u)),
    delete: permissionEntries(t.delete_permissions, at(ctx, "delete_permissions"), (p, c) => deletePermission(p, c, u)),
    where: place(ctx),
  };
}

function fn(raw: unknown, rawCtx: Ctx, u: Collector): FunctionMetadata {
  const { value, ctx } = deref(raw, rawCtx);
  // Config v1 exports list a tracked function by its name alone.
  if (typeof value === "string") return { function: qualified(value, ctx), permissions: [] };
  const f = obj(value, ctx, ["function", "configuration", "permissions", "comment"], ["function"]);
  const out: FunctionMetadata = { function: qualified(f.function, at(ctx, "function")), permissions: [] };
  const fname = `${out.function.schema}.${out.function.name}`;
  if (f.configuration !== undefined && f.configuration !== null) {
    const cc = at(ctx, "configuration");
    const c = obj(f.configuration, cc, ["custom_name", "custom_root_fields", "session_argument", "exposed_as"]);
    if (c.session_argument !== undefined) out.sessionArgument = str(c.session_argument, at(cc, "session_argument"));
    if (c.exposed_as !== undefined) {
      const e = str(c.exposed_as, at(cc, "exposed_as"));
      if (e !== "query" && e !== "mutation") fail(at(cc, "exposed_as"), `expected "query" or "mutation", got "${e}"`);
      out.exposedAs = e;
    }
    if (!isEmpty(c.custom_name) || !isEmpty(c.custom_root_fields)) u.add("GraphQL name customization", fname, cc);
  }
  arr(f.permissions, at(ctx, "permissions")).forEach((p, i) => {
    const pc = at(at(ctx, "permissions"), i);
    out.permissions.push(str(obj(p, pc, ["role", "comment"], ["role"]).role, at(pc, "role")));
  });
  return out;
}

function inheritedRoles(v: unknown, ctx: Ctx): HasuraMetadata["inheritedRoles"] {
  const { value, ctx: c0 } = deref(v, ctx);
  return arr(value, c0).map((r, i) => {
    const c = at(c0, i);
    const o = obj(r, c, ["role_name", "role_set", "comment"], ["role_name", "role_set"]);
    return { roleName: str(o.role_name, at(c, "role_name")), roleSet: strList(o.role_set, at(c, "role_set")) };
  });
}

const SOURCE_KEYS = [
  "name",
  "kind",
  "configuration",
  "tables",
  "functions",
  "customization",
  "health_check",
  "logical_models",
  "native_queries",
  "stored_procedures",
  "query_tags",
] as const;

interface SourceOut {
  name: string;
  tables: TableMetadata[];
  functions: FunctionMetadata[];
}

function readSource(raw: unknown, ctx: Ctx, u: Collector): SourceOut | null {
  const s = obj(raw, ctx, SOURCE_KEYS, ["name"]);
  const name = str(s.name, at(ctx, "name"));
  const kind = s.kind === undefined ? "postgres" : str(s.kind, at(ctx, "kind"));
  if (kind !== "postgres" && kind !== "citus" && kind !== "cockroach") {
    u.add(`${kind} database`, name, ctx);
    return null;
  }
  for (const k of ["customization", "health_check", "query_tags"] as const)
    u.addSetting(`database ${k.replace("_", " ")}`, s[k], at(ctx, k));
  for (const [k, kind, nameKey] of [
    ["logical_models", "logical model", "name"],
    ["native_queries", "native query", "root_field_name"],
    ["stored_procedures", "stored procedure", "stored_procedure"],
  ] as const) {
    const d = deref(s[k], at(ctx, k));
    u.addList(kind, d.value, d.ctx, nameKey);
  }
  const tl = deref(s.tables, at(ctx, "tables"));
  const fl = deref(s.functions, at(ctx, "functions"));
  return {
    name,
    tables: arr(tl.value, tl.ctx).map((t, i) => table(t, at(tl.ctx, i), u)),
    functions: arr(fl.value, fl.ctx).map((f, i) => fn(f, at(fl.ctx, i), u)),
  };
}

/** Project-level items: all listed, none translated. Keyed by export key; `file` is the v3 directory's file. */
const PROJECT_ITEMS: { key: string; file: string; read: (v: unknown, ctx: Ctx, u: Collector) => void }[] = [
  { key: "remote_schemas", file: "remote_schemas.yaml", read: (v, c, u) => u.addList("remote schema", v, c) },
  { key: "query_collections", file: "query_collections.yaml", read: (v, c, u) => u.addList("query collection", v, c) },
  { key: "allowlist", file: "allow_list.yaml", read: (v, c, u) => u.addList("allow list entry", v, c, "collection") },
  { key: "cron_triggers", file: "cron_triggers.yaml", read: (v, c, u) => u.addList("cron trigger", v, c) },
  { key: "rest_endpoints", file: "rest_endpoints.yaml", read: (v, c, u) => u.addList("REST endpoint", v, c) },
  { key: "api_limits", file: "api_limits.yaml", read: (v, c, u) => u.addSetting("API limits", v, c) },
  { key: "network", file: "network.yaml", read: (v, c, u) => u.addSetting("network settings", v, c) },
  {
    key: "graphql_schema_introspection",
    file: "graphql_schema_introspection.yaml",
    read: (v, c, u) => u.addSetting("introspection settings", v, c),
  },
  { key: "backend_configs", file: "backend_configs.yaml", read: (v, c, u) => u.addSetting("backend configs", v, c) },
  { key: "opentelemetry", file: "opentelemetry.yaml", read: (v, c, u) => u.addSetting("OpenTelemetry", v, c) },
  { key: "metrics_config", file: "metrics_config.yaml", read: (v, c, u) => u.addSetting("metrics config", v, c) },
  { key: "custom_types", file: "", read: (v, c, u) => u.addSetting("action custom types", v, c) },
  { key: "actions", file: "", read: (v, c, u) => u.addList("action", v, c) },
];

function assemble(
  sources: SourceOut[],
  inherited: HasuraMetadata["inheritedRoles"],
  u: Collector,
  ctxOf: (i: number) => Ctx,
): HasuraMetadata {
  if (sources.length === 0) return { source: "default", tables: [], functions: [], inheritedRoles: inherited, untranslated: u.items };
  // One database per import: further Postgres databases are listed, not merged.
  for (let i = 1; i < sources.length; i++) u.add("further database", sources[i].name, ctxOf(i));
  const [s] = sources;
  return { source: s.name, tables: s.tables, functions: s.functions, inheritedRoles: inherited, untranslated: u.items };
}

/** A single export file: v2 (`tables`, `functions` at the top) or v3 (`sources`). */
function loadExport(absPath: string): HasuraMetadata {
  const { value, ctx } = parseFile(absPath, dirname(absPath));
  const u = new Collector();
  const top = obj(value, ctx, ["version", "tables", "functions", "sources", "inherited_roles", ...PROJECT_ITEMS.map((p) => p.key)]);
  const version = top.version === undefined ? 1 : top.version;
  if (version !== 1 && version !== 2 && version !== 3) fail(at(ctx, "version"), `unsupported metadata version ${JSON.stringify(version)}`);
  for (const item of PROJECT_ITEMS) if (top[item.key] !== undefined) item.read(top[item.key], at(ctx, item.key), u);
  const inherited = inheritedRoles(top.inherited_roles, at(ctx, "inherited_roles"));
  if (version === 3) {
    if (top.tables !== undefined) fail(at(ctx, "tables"), "version 3 metadata keeps tables under sources");
    if (top.functions !== undefined) fail(at(ctx, "functions"), "version 3 metadata keeps functions under sources");
    const sc = at(ctx, "sources");
    const read = arr(top.sources, sc)
      .map((s, i) => ({ i, s: readSource(s, at(sc, i), u) }))
      .filter((x): x is { i: number; s: SourceOut } => x.s !== null);
    return assemble(
      read.map((x) => x.s),
      inherited,
      u,
      (k) => at(sc, read[k].i),
    );
  }
  if (top.sources !== undefined) fail(at(ctx, "sources"), `version ${version} metadata has no sources (tables are at the top)`);
  const tables = arr(top.tables, at(ctx, "tables")).map((t, i) => table(t, at(at(ctx, "tables"), i), u));
  const functions = arr(top.functions, at(ctx, "functions")).map((f, i) => fn(f, at(at(ctx, "functions"), i), u));
  return assemble([{ name: "default", tables, functions }], inherited, u, () => ctx);
}

const V3_ROOT_FILES = new Set([
  "version.yaml",
  "databases",
  "inherited_roles.yaml",
  "actions.yaml",
  "actions.graphql",
  ...PROJECT_ITEMS.map((p) => p.file).filter((f) => f !== ""),
]);
const V2_ROOT_FILES = new Set([...V3_ROOT_FILES, "tables.yaml", "functions.yaml"]);

/** A `metadata/` directory as the Hasura CLI writes it (config v3, or v2 with tables.yaml at its root). */
function loadDirectory(metaDir: string, base: string): HasuraMetadata {
  const u = new Collector();
  const dirCtx: Ctx = { file: relative(base, metaDir) || ".", path: "$", dir: metaDir, base };
  const file = (name: string) => join(metaDir, name);
  let version = 3;
  if (existsSync(file("version.yaml"))) {
    const { value, ctx } = parseFile(file("version.yaml"), base);
    const v = obj(value, ctx, ["version"], ["version"]);
    if (v.version !== 2 && v.version !== 3) fail(at(ctx, "version"), `unsupported metadata version ${JSON.stringify(v.version)}`);
    version = v.version;
  } else if (existsSync(file("tables.yaml"))) version = 2;
  const known = version === 3 ? V3_ROOT_FILES : V2_ROOT_FILES;
  for (const entry of readdirSync(metaDir)) {
    if (entry.startsWith(".")) continue;
    if (!known.has(entry)) fail({ ...dirCtx, file: relative(base, file(entry)) }, "unknown metadata file");
  }
  const load = (name: string) => (existsSync(file(name)) ? parseFile(file(name), base) : null);
  for (const item of PROJECT_ITEMS) {
    if (item.file === "") continue;
    const l = load(item.file);
    if (l) item.read(l.value, l.ctx, u);
  }
  const actions = load("actions.yaml");
  if (actions) {
    const a = isObj(actions.value) ? obj(actions.value, actions.ctx, ["actions", "custom_types"]) : {};
    u.addList("action", a.actions, at(actions.ctx, "actions"));
    u.addSetting("action custom types", a.custom_types, at(actions.ctx, "custom_types"));
  }
  const ir = load("inherited_roles.yaml");
  const inherited = ir ? inheritedRoles(ir.value, ir.ctx) : [];
  if (version === 2) {
    if (existsSync(file("databases")))
      fail({ ...dirCtx, file: relative(base, file("databases")) }, "a version 2 metadata directory has no databases/");
    const t = load("tables.yaml");
    const f = load("functions.yaml");
    const tables = t ? arr(t.value, t.ctx).map((x, i) => table(x, at(t.ctx, i), u)) : [];
    const functions = f ? arr(f.value, f.ctx).map((x, i) => fn(x, at(f.ctx, i), u)) : [];
    return assemble([{ name: "default", tables, functions }], inherited, u, () => dirCtx);
  }
  const dbs = load(join("databases", "databases.yaml"));
  if (!dbs) return assemble([], inherited, u, () => dirCtx);
  const list = arr(dbs.value, dbs.ctx);
  const read = list
    .map((s, i) => ({ i, s: readSource(s, at(dbs.ctx, i), u) }))
    .filter((x): x is { i: number; s: SourceOut } => x.s !== null);
  return assemble(
    read.map((x) => x.s),
    inherited,
    u,
    (k) => at(dbs.ctx, read[k].i),
  );
}

/**
 * Loads `path`: a Hasura project directory (with `metadata/`), a metadata
 * directory itself, or one export file. Messages name files relative to the
 * project directory (`metadata/databases/default/tables/public_article.yaml`).
 */
export function loadHasuraMetadata(path: string): HasuraMetadata {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ImportError(path, "$", "no such file or directory");
  if (statSync(abs).isFile()) return loadExport(abs);
  if (existsSync(join(abs, "metadata")) && statSync(join(abs, "metadata")).isDirectory()) return loadDirectory(join(abs, "metadata"), abs);
  if (existsSync(join(abs, "version.yaml")) || existsSync(join(abs, "databases")) || existsSync(join(abs, "tables.yaml")))
    return loadDirectory(abs, dirname(abs));
  throw new ImportError(path, "$", "neither a Hasura project (no metadata/ directory) nor a metadata directory");
}
