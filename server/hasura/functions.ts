/**
 * The role's SQL functions in Hasura's terms, read once per schema build from
 * PostGraphile's registry (introspected as the role: `canExecute` is its
 * EXECUTE privilege):
 *
 * - tracked functions: no argument of a table's row type, returning `setof
 *   <table>` or one `<table>` row the role may select; STABLE/IMMUTABLE ones
 *   under query_root, VOLATILE ones under mutation_root, as Hasura tracks them;
 * - computed fields: STABLE/IMMUTABLE, one argument of a table's row type,
 *   returning a scalar or `setof <table>`.
 *
 * A json/jsonb `hasura_session` argument is already gone from the parameters
 * (server/graphile/SessionArgumentPlugin.ts): the calls fill it; a function
 * still declaring one (of another type) is not offered. Like
 * ./model.ts this is an identifier allow-list: function names come from the
 * registry, argument values go as bind parameters.
 */
import type { SQL } from "pg-sql2";
import { SESSION_ARGUMENT } from "../graphile/SessionArgumentPlugin.ts";
import { hasuraModel, type AnyCodec, type AnyResource, type HasuraTable } from "./model.ts";

export interface HasuraFunctionArg {
  /** Field of `<fn>_args`: the SQL name, `arg_<n>` for the n-th unnamed one (Hasura). */
  name: string;
  /** The SQL name, null when the function does not name it. */
  sqlName: string | null;
  codec: AnyCodec;
  /** Has a default, so it may be omitted. */
  optional: boolean;
}

export interface HasuraFunction {
  /** Root field: the function's name, `<schema>_<fn>` outside public, or its `@name` tag. */
  name: string;
  resource: AnyResource;
  /** The table whose rows it returns. */
  table: HasuraTable;
  returnsSet: boolean;
  /** VOLATILE: a mutation_root field. */
  volatile: boolean;
  /** Every parameter, in order. */
  args: HasuraFunctionArg[];
}

export interface HasuraComputedField {
  /** Field on the table's type: the `@fieldName` tag, else the function name without `<table>_`. */
  name: string;
  /** `<fn>_args`, when it takes arguments besides the row. */
  argsTypeName: string;
  resource: AnyResource;
  /** Index of the row parameter among the function's parameters. */
  rowIndex: number;
  /** The other parameters, in order (their index skips rowIndex). */
  args: HasuraFunctionArg[];
  /** A scalar, or rows of a table. */
  returns: { codec: AnyCodec; table: null } | { codec: AnyCodec; table: HasuraTable };
}

export interface HasuraFunctions {
  functions: HasuraFunction[];
  computed: Map<HasuraTable, HasuraComputedField[]>;
}

interface Parameter {
  name: string | null;
  codec: AnyCodec;
  optional?: boolean;
}

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** Hasura's name for a function: bare in public, `<schema>_<fn>` elsewhere; a `@name` tag wins. */
export function hasuraFunctionName(resource: AnyResource): string {
  const tag = resource.extensions?.tags?.name;
  if (typeof tag === "string") return tag;
  const pg = resource.extensions?.pg as { schemaName: string; name: string };
  return pg.schemaName === "public" ? pg.name : `${pg.schemaName}_${pg.name}`;
}

function argsOf(parameters: Parameter[]): HasuraFunctionArg[] | null {
  let unnamed = 0;
  const args = parameters.map((p) => ({
    name: p.name || `arg_${++unnamed}`,
    sqlName: p.name || null,
    codec: p.codec,
    optional: !!p.optional,
  }));
  return args.every((a) => GRAPHQL_NAME.test(a.name)) ? args : null;
}

/** Postgres needs SELECT on every column for a whole-row reference (`f(t)`). */
const readsWholeRow = (t: HasuraTable) => t.canSelect && [...t.columns.values()].every((c) => c.canSelect);

const memo = new WeakMap<object, HasuraFunctions>();
const computedByTable = new WeakMap<HasuraTable, HasuraComputedField[]>();

type BuildLike = Parameters<typeof hasuraModel>[0];

/** The role's tracked functions and computed fields, memoised per schema build. */
export function hasuraFunctions(build: BuildLike): HasuraFunctions {
  const cached = memo.get(build);
  if (cached) return cached;
  const model = hasuraModel(build);
  const functions: HasuraFunction[] = [];
  const computed = new Map<HasuraTable, HasuraComputedField[]>();
  for (const resource of Object.values(build.input.pgRegistry.pgResources)) {
    const parameters = resource.parameters as Parameter[] | undefined;
    if (!parameters || resource.isVirtual || resource.isList || !resource.extensions?.pg) continue;
    if (resource.extensions?.canExecute === false) continue;
    // A hasura_session the server could not fill (../graphile/SessionArgumentPlugin.ts) is never a client argument.
    if (parameters.some((p) => p.name === SESSION_ARGUMENT)) continue;
    const rowIndexes = parameters.flatMap((p, i) => (model.byCodec.has(p.codec) ? [i] : []));
    const returned = model.byCodec.get(resource.codec);
    if (rowIndexes.length === 0) {
      const args = argsOf(parameters);
      if (!returned?.canSelect || !args) continue;
      functions.push({
        name: hasuraFunctionName(resource),
        resource,
        table: returned,
        returnsSet: !resource.isUnique,
        volatile: !!resource.isMutation,
        args,
      });
      continue;
    }
    // A computed field: one row argument, no side effects, the whole row readable.
    if (rowIndexes.length > 1 || resource.isMutation) continue;
    const rowIndex = rowIndexes[0]!;
    const owner = model.byCodec.get(parameters[rowIndex]!.codec)!;
    if (!readsWholeRow(owner)) continue;
    const args = argsOf(parameters.filter((_, i) => i !== rowIndex));
    if (!args) continue;
    let returns: HasuraComputedField["returns"];
    if (returned) {
      // `setof <table>`: an array field (a single row is not one Hasura offers).
      if (!returned.canSelect || resource.isUnique) continue;
      returns = { codec: resource.codec, table: returned };
    } else {
      if (resource.codec.attributes || !resource.isUnique) continue;
      returns = { codec: resource.codec, table: null };
    }
    const pg = resource.extensions.pg as { name: string };
    const tag = resource.extensions.tags?.fieldName;
    const ownerName = (owner.codec.extensions!.pg as { name: string }).name;
    const name = typeof tag === "string" ? tag : pg.name.startsWith(`${ownerName}_`) ? pg.name.slice(ownerName.length + 1) : pg.name;
    const taken = (n: string) =>
      owner.columns.has(n) || owner.relationships.some((r) => r.name === n) || computed.get(owner)?.some((c) => c.name === n);
    if (!GRAPHQL_NAME.test(name) || taken(name)) continue;
    const list = computed.get(owner) ?? [];
    list.push({ name, argsTypeName: `${hasuraFunctionName(resource)}_args`, resource, rowIndex, args, returns });
    computed.set(owner, list);
  }
  for (const [table, fields] of computed) computedByTable.set(table, fields);
  const result = { functions, computed };
  memo.set(build, result);
  return result;
}

/** The table's computed fields for the role (none until its schema build read them). */
export function computedFields(table: HasuraTable): HasuraComputedField[] {
  return computedByTable.get(table) ?? [];
}

/** A computed field without arguments besides the row, so it can be filtered and sorted on. */
export function computedFieldWithoutArgs(table: HasuraTable, name: string): HasuraComputedField | undefined {
  return computedFields(table).find((c) => c.name === name && c.args.length === 0);
}

/** The call of a computed field without arguments on the row named `alias` (the session argument included). */
export function computedCall(field: HasuraComputedField, alias: SQL): SQL {
  return (field.resource.from as (...args: { placeholder: SQL }[]) => SQL)({ placeholder: alias });
}
