/**
 * A Hasura-dialect subscription, turned into the query the live-query
 * engine re-runs: the same selections over the role's query root, so the
 * poll goes through grafast exactly like an HTTP query (same role, RLS,
 * column grants, declared row limit).
 *
 * - A live query (`t`, `t_by_pk`, `t_aggregate`, a tracked function) is its
 *   root field as is, under `query`.
 * - A streaming field `t_stream(batch_size: n, cursor: {initial_value: {col: v},
 *   ordering: ASC}, where: w)` becomes
 *   `t_stream: t(where: {_and: [w, {col: {_gt: $__cursor_0}}]}, order_by: {col: asc}, limit: n)`
 *   (`_lt` and `desc` for DESC), keeping its response key. The cursor value
 *   is a variable the engine supplies per cohort (StreamField.variableName),
 *   so subscribers at different cursors share one query text. The cursor
 *   column is selected under an alias of ours when the client did not select
 *   it as is; stripInjected removes it before a result is pushed.
 *
 * Hasura's rules and words: one root field; no introspection at the root;
 * one cursor column (`one streaming column field is expected`, `multiple
 * column cursors are not supported yet`).
 *
 * A role whose declarations offer a field on the subscription root but not
 * on the query root (subscription_root_fields wider than query_root_fields)
 * cannot run it this way: refused with a clear message (not-supported).
 */
import {
  getNamedType,
  getNullableType,
  getVariableValues,
  isInputObjectType,
  isListType,
  isNonNullType,
  Kind,
  valueFromAST,
  valueFromASTUntyped,
  validate,
  visit,
  type ArgumentNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type ListTypeNode,
  type NamedTypeNode,
  type GraphQLSchema,
  type ObjectFieldNode,
  type OperationDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type TypeNode,
  type ValueNode,
  type VariableDefinitionNode,
  type VariableNode,
} from "graphql";
import { errors, HasuraError } from "../errors.ts";

export type CursorOrdering = "ASC" | "DESC";

export interface StreamField {
  /** The key of the rows in `data`: the client's alias, else `t_stream`. */
  responseKey: string;
  /** The same as responseKey (the engine's name for it, server/subscriptions/engine.ts). */
  alias: string;
  /** The table's query root field (`t`). */
  table: string;
  /** Hasura streams on one column. */
  cursorColumns: { name: string; ordering: CursorOrdering }[];
  ordering: CursorOrdering;
  /** Rows per poll (the query's `limit`; the role's declared limit still caps it). */
  batchSize: number;
  /** The injected variable holding the cursor (without `$`), e.g. `__cursor_0`. */
  variableName: string;
  /** The cursor's initial value, as the client wrote it (a GraphQL input value). */
  initialValue: unknown;
  /** Where each row carries the cursor column: the column's name, or our alias. */
  cursorKey: string;
  /** The cursor column was added to the selection under cursorKey (stripInjected removes it). */
  injected: boolean;
}

export interface LiveOperation {
  /** One `query` operation and the fragments it uses. */
  queryDocument: DocumentNode;
  operationName: string | undefined;
  /** One per streaming field; empty for a live query. */
  streams: StreamField[];
}

const name = (value: string) => ({ kind: Kind.NAME, value }) as const;
const variable = (value: string) => ({ kind: Kind.VARIABLE, name: name(value) }) as const;
const objectField = (key: string, value: ValueNode): ObjectFieldNode => ({ kind: Kind.OBJECT_FIELD, name: name(key), value });
const argument = (key: string, value: ValueNode): ArgumentNode => ({ kind: Kind.ARGUMENT, name: name(key), value });
const responseKey = (f: FieldNode) => f.alias?.value ?? f.name.value;

function chooseOperation(document: DocumentNode, operationName: string | undefined): OperationDefinitionNode | HasuraError {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName) return operations.find((o) => o.name?.value === operationName) ?? errors.noSuchOperation(operationName);
  if (operations.length !== 1) return errors.operationNameRequired();
  return operations[0]!;
}

/** The root selection with root-level fragments inlined (their directives kept on a bare inline fragment). */
function inlineRoot(set: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen = new Set<string>()): SelectionNode[] {
  const out: SelectionNode[] = [];
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      out.push(sel);
      continue;
    }
    let inner: SelectionSetNode | undefined;
    if (sel.kind === Kind.INLINE_FRAGMENT) inner = sel.selectionSet;
    else if (!seen.has(sel.name.value)) {
      seen.add(sel.name.value);
      inner = fragments.get(sel.name.value)?.selectionSet;
    }
    if (!inner) continue;
    const selections = inlineRoot(inner, fragments, seen);
    if (sel.directives?.length) {
      out.push({ kind: Kind.INLINE_FRAGMENT, directives: sel.directives, selectionSet: { kind: Kind.SELECTION_SET, selections } });
    } else out.push(...selections);
  }
  return out;
}

/** Every root field, through the bare inline fragments inlineRoot made. */
function rootFields(selections: readonly SelectionNode[]): FieldNode[] {
  return selections.flatMap((s) =>
    s.kind === Kind.FIELD ? [s] : s.kind === Kind.INLINE_FRAGMENT ? rootFields(s.selectionSet.selections) : [],
  );
}

function mapRootFields(selections: readonly SelectionNode[], fn: (f: FieldNode) => FieldNode): SelectionNode[] {
  return selections.map((s) =>
    s.kind === Kind.FIELD
      ? fn(s)
      : s.kind === Kind.INLINE_FRAGMENT
        ? { ...s, selectionSet: { ...s.selectionSet, selections: mapRootFields(s.selectionSet.selections, fn) } }
        : s,
  );
}

/** A GraphQL input type as written in a variable definition (`Int`, `[Int]`). */
function typeNode(type: GraphQLInputType): TypeNode {
  if (isNonNullType(type)) return { kind: Kind.NON_NULL_TYPE, type: typeNode(type.ofType) as NamedTypeNode | ListTypeNode };
  if (isListType(type)) return { kind: Kind.LIST_TYPE, type: typeNode(type.ofType as GraphQLInputType) };
  return { kind: Kind.NAMED_TYPE, name: name((type as GraphQLNamedType).name) };
}

interface Context {
  schema: GraphQLSchema;
  operation: OperationDefinitionNode;
  variables: Record<string, unknown>;
  coerced: Record<string, unknown>;
  /** Variable definitions changed or added. */
  variableDefinitions: VariableDefinitionNode[];
}

function streamError(message: string, field: FieldNode): HasuraError {
  return new HasuraError("validation-failed", message, 400, `$.selectionSet.${responseKey(field)}.args.cursor`);
}

/** The `t_stream` field as the query field `t`, and what the engine needs to advance its cursor. */
function toStreamQuery(
  ctx: Context,
  field: FieldNode,
  def: GraphQLField<unknown, unknown>,
  table: string,
  index: number,
): { field: FieldNode; stream: StreamField } | HasuraError {
  const argNode = (n: string) => field.arguments?.find((a) => a.name.value === n)?.value;
  const argDef = (n: string) => def.args.find((a) => a.name === n)!;

  const cursorNode = argNode("cursor");
  const cursor = cursorNode ? valueFromAST(cursorNode, argDef("cursor").type, ctx.coerced) : undefined;
  if (!Array.isArray(cursor)) return streamError("expected a list for 'cursor'", field);
  const raw = valueFromASTUntyped(cursorNode!, ctx.variables);
  const rawItems = (Array.isArray(raw) ? raw : [raw]) as Array<{ initial_value?: Record<string, unknown> } | null>;
  const items: { name: string; ordering: CursorOrdering; value: unknown }[] = [];
  cursor.forEach((item: { initial_value: Record<string, unknown>; ordering?: CursorOrdering | null } | null, i) => {
    if (!item) return;
    for (const col of Object.keys(item.initial_value)) {
      if (item.initial_value[col] === undefined) continue;
      items.push({ name: col, ordering: item.ordering ?? "ASC", value: rawItems[i]?.initial_value?.[col] });
    }
  });
  if (items.length === 0) return streamError("one streaming column field is expected", field);
  if (items.length > 1) return streamError("multiple column cursors are not supported yet", field);
  const [{ name: column, ordering, value: initialValue }] = items as [(typeof items)[0]];

  const batchNode = argNode("batch_size");
  const batchSize = batchNode ? valueFromAST(batchNode, argDef("batch_size").type, ctx.coerced) : undefined;
  if (typeof batchSize !== "number" || batchSize < 0) {
    return new HasuraError(
      "validation-failed",
      "expected a non-negative 32-bit integer for type 'Int', but found an integer",
      400,
      `$.selectionSet.${responseKey(field)}.args.batch_size`,
    );
  }

  // The cursor variable has the column's own input type.
  const valueInput = ctx.schema.getType(`${table}_stream_cursor_value_input`);
  const columnType = isInputObjectType(valueInput) ? valueInput.getFields()[column]?.type : undefined;
  if (!columnType) return streamError(`field '${column}' not found in type: '${table}_stream_cursor_value_input'`, field);
  const variableName = `__cursor_${index}`;
  ctx.variableDefinitions.push({
    kind: Kind.VARIABLE_DEFINITION,
    variable: variable(variableName),
    type: typeNode(getNullableType(columnType)),
  });

  const condition: ValueNode = {
    kind: Kind.OBJECT,
    fields: [objectField(column, { kind: Kind.OBJECT, fields: [objectField(ordering === "ASC" ? "_gt" : "_lt", variable(variableName))] })],
  };
  const userWhere = whereOf(ctx, argNode("where"));
  const where: ValueNode = userWhere
    ? { kind: Kind.OBJECT, fields: [objectField("_and", { kind: Kind.LIST, values: [userWhere, condition] })] }
    : condition;
  const orderBy: ValueNode = {
    kind: Kind.OBJECT,
    fields: [objectField(column, { kind: Kind.ENUM, value: ordering === "ASC" ? "asc" : "desc" })],
  };
  const limit: ValueNode = batchNode!.kind === Kind.VARIABLE ? batchNode! : { kind: Kind.INT, value: String(batchSize) };

  // Reuse the client's own selection of the column when it is there as is.
  const selections = field.selectionSet?.selections ?? [];
  const asIs = selections.some((s) => s.kind === Kind.FIELD && s.name.value === column && !s.alias && !s.directives?.length);
  const cursorKey = asIs ? column : variableName;
  const injected: FieldNode[] = asIs ? [] : [{ kind: Kind.FIELD, alias: name(cursorKey), name: name(column) }];

  const key = responseKey(field);
  return {
    field: {
      ...field,
      alias: name(key),
      name: name(table),
      arguments: [argument("where", where), argument("order_by", orderBy), argument("limit", limit)],
      selectionSet: { kind: Kind.SELECTION_SET, selections: [...selections, ...injected] },
    },
    stream: {
      responseKey: key,
      alias: key,
      table,
      cursorColumns: [{ name: column, ordering }],
      ordering,
      batchSize,
      variableName,
      initialValue,
      cursorKey,
      injected: !asIs,
    },
  };
}

/**
 * The client's `where`, to go in an `_and` list (whose items are non-null):
 * a literal as is; a non-null variable as is; a nullable variable that is
 * null for this request means no filter, else it is declared non-null here
 * (its value is known to be there).
 */
function whereOf(ctx: Context, node: ValueNode | undefined): ValueNode | null {
  if (!node || node.kind === Kind.NULL) return null;
  if (node.kind !== Kind.VARIABLE) return node;
  const varName = node.name.value;
  if (ctx.coerced[varName] == null) return null;
  const defs = ctx.operation.variableDefinitions ?? [];
  const def = defs.find((d) => d.variable.name.value === varName);
  if (def && def.type.kind !== Kind.NON_NULL_TYPE) {
    ctx.variableDefinitions.push({ ...def, type: { kind: Kind.NON_NULL_TYPE, type: def.type } });
  }
  return node;
}

/** The fragments a selection uses, transitively. */
function usedFragments(root: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>): FragmentDefinitionNode[] {
  const used = new Map<string, FragmentDefinitionNode>();
  const walk = (node: SelectionSetNode) =>
    visit(node, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        const def = fragments.get(name);
        if (def && !used.has(name)) {
          used.set(name, def);
          walk(def.selectionSet);
        }
      },
    });
  walk(root);
  return [...used.values()];
}

function usedVariables(nodes: readonly (SelectionSetNode | FragmentDefinitionNode)[]): Set<string> {
  const used = new Set<string>();
  const visitor = {
    enter(node: { kind: string }) {
      if (node.kind === Kind.VARIABLE) used.add((node as VariableNode).name.value);
    },
  };
  for (const node of nodes) visit(node, visitor);
  return used;
}

/**
 * A field the role's select declaration offers on subscription_root but not
 * on query_root: its live query needs the role's `live` schema
 * (server/graphile/schema-registry.ts), whose query root has it too.
 */
export class SubscriptionOnlyField extends HasuraError {
  constructor(fieldName: string, queryName: string, path: string) {
    super(
      "not-supported",
      `'${fieldName}' cannot be served: '${queryName}' is on the role's subscription_root but not on the query root its live query runs on`,
      400,
      path,
    );
  }
}

/**
 * The query the engine re-runs for a subscription of the role's schema
 * (already validated against it), with the request's variables (to read
 * the cursor and batch size); or the Hasura error that refuses it.
 */
export function toLiveOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName?: string | null,
  variables: Record<string, unknown> = {},
): LiveOperation | HasuraError {
  const subscriptionRoot = schema.getSubscriptionType();
  const queryRoot = schema.getQueryType();
  if (!subscriptionRoot || !queryRoot) return errors.noSubscriptions();
  const operation = chooseOperation(document, operationName ?? undefined);
  if (operation instanceof HasuraError) return operation;
  if (operation.operation !== "subscription") {
    return new HasuraError("validation-failed", `expected a subscription operation, found a ${operation.operation}`, 400);
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);

  const rootSelections = inlineRoot(operation.selectionSet, fragments);
  const fields = rootFields(rootSelections);
  for (const f of fields) {
    if (f.name.value.startsWith("__")) {
      return new HasuraError("not-supported", "Introspection at root field level is not supported over subscriptions", 400);
    }
  }
  if (new Set(fields.map(responseKey)).size !== 1) return errors.validation("subscriptions must select one top level field");

  const { coerced, errors: varErrors } = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  if (varErrors?.length) return errors.validation(varErrors[0]!.message, "$.variables");
  const ctx: Context = { schema, operation, variables, coerced: coerced!, variableDefinitions: [] };

  const streams: StreamField[] = [];
  let failure: HasuraError | null = null;
  const subscriptionFields = subscriptionRoot.getFields();
  const selections = mapRootFields(rootSelections, (field) => {
    const fieldName = field.name.value;
    const def = subscriptionFields[fieldName];
    const table = fieldName.endsWith("_stream") ? fieldName.slice(0, -"_stream".length) : null;
    const isStream =
      def &&
      table !== null &&
      getNamedType(getNullableType(def.args.find((a) => a.name === "cursor")?.type ?? def.type)).name === `${table}_stream_cursor_input`;
    const queryName = isStream ? table! : fieldName;
    if (!queryRoot.getFields()[queryName]) {
      failure ??= new SubscriptionOnlyField(fieldName, queryName, `$.selectionSet.${responseKey(field)}`);
      return field;
    }
    if (!isStream) return field;
    const converted = toStreamQuery(ctx, field, def, table!, streams.length);
    if (converted instanceof HasuraError) {
      failure ??= converted;
      return field;
    }
    streams.push(converted.stream);
    return converted.field;
  });
  if (failure) return failure;

  const selectionSet: SelectionSetNode = { kind: Kind.SELECTION_SET, selections };
  const fragmentDefs = usedFragments(selectionSet, fragments);
  const changed = new Map(ctx.variableDefinitions.map((d) => [d.variable.name.value, d]));
  const used = usedVariables([selectionSet, ...fragmentDefs]);
  const variableDefinitions = [
    ...(operation.variableDefinitions ?? []).map((d) => changed.get(d.variable.name.value) ?? d),
    ...ctx.variableDefinitions.filter((d) => !operation.variableDefinitions?.some((o) => o.variable.name.value === d.variable.name.value)),
  ].filter((d) => used.has(d.variable.name.value));

  const queryOperation: OperationDefinitionNode = {
    ...operation,
    operation: "query" as OperationDefinitionNode["operation"],
    variableDefinitions,
    selectionSet,
    loc: undefined,
  };
  const queryDocument: DocumentNode = { kind: Kind.DOCUMENT, definitions: [queryOperation, ...fragmentDefs] };
  // What we built must be a valid query of the same schema; anything else is a bug here, not the client's.
  const invalid = validate(schema, queryDocument);
  if (invalid.length)
    return new HasuraError("unexpected", `the live query built for this subscription is invalid: ${invalid[0]!.message}`, 500);
  return { queryDocument, operationName: operation.name?.value, streams };
}

/** The stream's cursor after a poll's data: the last row's cursor value, or undefined (unchanged) when no rows came. */
export function nextCursor(stream: StreamField, data: unknown): unknown {
  const rows = (data as Record<string, unknown> | null | undefined)?.[stream.responseKey];
  if (!Array.isArray(rows) || rows.length === 0) return undefined;
  return (rows[rows.length - 1] as Record<string, unknown> | null)?.[stream.cursorKey];
}

/** The data without the cursor column we added to each row (the data is changed in place and returned). */
export function stripInjected<T>(stream: StreamField, data: T): T {
  if (!stream.injected) return data;
  const rows = (data as Record<string, unknown> | null | undefined)?.[stream.responseKey];
  if (Array.isArray(rows))
    for (const row of rows) if (row && typeof row === "object") delete (row as Record<string, unknown>)[stream.cursorKey];
  return data;
}

/** The variables for one poll of the query: the request's, and each stream's cursor. */
export function liveVariables(
  variables: Record<string, unknown>,
  streams: readonly StreamField[],
  cursors: ReadonlyMap<string, unknown> = new Map(),
): Record<string, unknown> {
  const out = { ...variables };
  for (const s of streams) out[s.variableName] = cursors.has(s.variableName) ? cursors.get(s.variableName) : s.initialValue;
  return out;
}
