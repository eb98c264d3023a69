/**
 * Bounds on what one GraphQL document may ask for, checked before anything
 * executes, the same way on both dialects:
 *
 * - depth: the deepest nesting of fields (`{ user { results { id } } }` is 3),
 * - cost: the number of field selections once fragments are expanded
 *   (`__typename` included), so a "fragment bomb" (each fragment spreading
 *   the previous one twice) is measured at its real, exponential size, in
 *   time linear in the document (fragment sizes are memoized),
 * - object fields: selections with a selection set (root fields,
 *   relationships, aggregates, connections). Each becomes its own plan step
 *   and SQL subquery, and grafast's planning time grows faster than linearly
 *   in their number (measured: 100 of them plan in ~50 ms, 500 in ~300-700
 *   ms, 2,400 in 9-21 s), while scalar fields cost next to nothing; so they
 *   are capped on their own, well below where one document would stall the
 *   event loop for every other client (README "Hardening"),
 * - tokens: the parser stops after a number of tokens, so a megabyte of
 *   `{a{a{a…` or of repeated fields costs a bounded parse.
 *
 * With the schema known, `estimateNodes` bounds the rows an operation may
 * produce: each list multiplies its children by its `limit` / `first` /
 * `last`, or by an estimate when unbounded (GitHub's GraphQL API bounds
 * nodes the same way). It is checked once per (schema, document) and cached
 * with the validation result.
 *
 * `parseWithLimits` runs them alone, before graphql-js' full validation
 * (whose OverlappingFieldsCanBeMerged rule is quadratic in repeated fields),
 * and caches small documents. `makeLimitsRule` is the same check as a
 * validation rule, registered with grafserv as a second line of defence.
 */
import {
  getNamedType,
  GraphQLError,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from "graphql";
import { LRUCache } from "lru-cache";
import { errors, type HasuraError } from "./errors.ts";

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  /** Most fields with a selection set (fragments expanded). */
  maxObjectFields: number;
  /** Most rows (list items, nested ones multiplied out) an operation may ask for. */
  maxNodes: number;
  /** Rows assumed for a list without `limit` / `first` / `last`. */
  listSizeEstimate: number;
}

/** Tokens the parser reads before giving up: generous for any real query. */
export const maxTokensFor = (limits: QueryLimits) => Math.max(100_000, limits.maxCost * 20);

class TooDeep extends Error {
  readonly depth: number;
  constructor(depth: number) {
    super("too deep");
    this.depth = depth;
  }
}

interface Measure {
  depth: number;
  cost: number;
  objects: number;
}

const LEAF: Measure = { depth: 0, cost: 0, objects: 0 };

function measureOperation(op: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>, limits: QueryLimits): Measure {
  const memo = new Map<string, Measure>();
  const visiting = new Set<string>();
  // `level` is the depth of the fields of `set`; past the limit we stop at
  // once, so this recursion is never deeper than maxDepth (plus fragment
  // chains, whose stack overflow is caught by the caller).
  const measure = (set: SelectionSetNode, level: number): Measure => {
    let depth = 0;
    let cost = 0;
    let objects = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (level > limits.maxDepth) throw new TooDeep(level);
        const child = sel.selectionSet ? measure(sel.selectionSet, level + 1) : LEAF;
        depth = Math.max(depth, 1 + child.depth);
        cost += 1 + child.cost;
        // Introspection is answered from the built schema, never planned into SQL: its object
        // fields do not count (GraphiQL's standard introspection query has 71); depth and cost still do.
        if (sel.name.value !== "__schema" && sel.name.value !== "__type") objects += child.objects + (sel.selectionSet ? 1 : 0);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const inner = measure(sel.selectionSet, level);
        depth = Math.max(depth, inner.depth);
        cost += inner.cost;
        objects += inner.objects;
      } else {
        const name = sel.name.value;
        let m = memo.get(name);
        if (!m) {
          const def = fragments.get(name);
          // Unknown fragments and cycles are reported by graphql-js' own rules.
          if (!def || visiting.has(name)) continue;
          visiting.add(name);
          // A fragment is measured once, from its own root (level 1)…
          m = measure(def.selectionSet, 1);
          visiting.delete(name);
          memo.set(name, m);
        }
        // …and placed at the spread's level.
        if (level - 1 + m.depth > limits.maxDepth) throw new TooDeep(level - 1 + m.depth);
        depth = Math.max(depth, m.depth);
        cost += m.cost;
        objects += m.objects;
      }
    }
    return { depth, cost, objects };
  };
  return measure(op.selectionSet, 1);
}

/** The first limit the document's operations break, as a GraphQL error; null when within bounds. */
export function limitsError(document: DocumentNode, limits: QueryLimits): GraphQLError | null {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const extensions = { code: "validation-failed", path: "$" };
  for (const op of document.definitions) {
    if (op.kind !== Kind.OPERATION_DEFINITION) continue;
    let m: Measure;
    try {
      m = measureOperation(op, fragments, limits);
    } catch (e) {
      if (e instanceof TooDeep) {
        return new GraphQLError(`the query is nested deeper than the limit of ${limits.maxDepth} levels`, { nodes: op, extensions });
      }
      if (e instanceof RangeError) {
        return new GraphQLError("the query is too complex to analyse (fragments nested too deeply)", { nodes: op, extensions });
      }
      throw e;
    }
    if (m.cost > limits.maxCost) {
      const cost = Number.isFinite(m.cost) && m.cost < 1e15 ? String(m.cost) : "too many";
      return new GraphQLError(`the query selects ${cost} fields (fragments expanded), more than the limit of ${limits.maxCost}`, {
        nodes: op,
        extensions,
      });
    }
    if (m.objects > limits.maxObjectFields) {
      const objects = Number.isFinite(m.objects) && m.objects < 1e15 ? String(m.objects) : "too many";
      return new GraphQLError(
        `the query selects ${objects} object and list fields (root fields, relationships, aggregates; fragments expanded), more than the limit of ${limits.maxObjectFields}`,
        { nodes: op, extensions },
      );
    }
  }
  return null;
}

const LIMIT_ARGS = ["limit", "first", "last"];

/**
 * The literal `limit` / `first` / `last` of a field; `undefined` when it has
 * none or takes it from a variable (estimated: the check is cached per
 * document, not per set of variables).
 */
function literalLimit(field: FieldNode): number | undefined {
  for (const arg of field.arguments ?? []) {
    if (LIMIT_ARGS.includes(arg.name.value) && arg.value.kind === Kind.INT) return Math.max(0, Number(arg.value.value));
  }
  return undefined;
}
const hasLimitArg = (field: FieldNode) => field.arguments?.some((a) => LIMIT_ARGS.includes(a.name.value)) ?? false;

/**
 * A list field's extension giving the most rows it ever returns (the Hasura
 * dialect sets it from the role's declared select `limit`): the estimate
 * counts no more items than that, whatever the client's limit.
 */
export const MAX_ROWS_EXTENSION = "maxRows";
function maxRowsOf(field: GraphQLField<unknown, unknown>): number {
  const max = field.extensions?.[MAX_ROWS_EXTENSION];
  return typeof max === "number" ? max : Number.POSITIVE_INFINITY;
}

/**
 * Upper estimate of the rows an operation produces: a list field counts its
 * items times (1 + its children's rows). Its item count is its own limit, or
 * the limit of the object field right above it (a PostGraphile connection's
 * `first` bounds its `nodes` / `edges`; a Hasura `_aggregate`'s `limit` its
 * `nodes`), or `listSizeEstimate`.
 */
export function estimateNodes(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  limits: QueryLimits,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const walk = (set: SelectionSetNode, type: GraphQLNamedType | undefined | null, pending: number | undefined): number => {
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const def = isObjectType(type) || isInterfaceType(type) ? type.getFields()[sel.name.value] : undefined;
        // Introspection and unknown fields (reported by validation) count once.
        if (!def || !sel.selectionSet) {
          total += 1;
          continue;
        }
        const own = literalLimit(sel);
        const nullable = isNonNullType(def.type) ? def.type.ofType : def.type;
        const named = getNamedType(def.type);
        if (isListType(nullable)) {
          const items = Math.min(own ?? pending ?? limits.listSizeEstimate, maxRowsOf(def));
          total += items * (1 + walk(sel.selectionSet, named, undefined));
        } else {
          const childPending = hasLimitArg(sel) || own !== undefined ? (own ?? limits.listSizeEstimate) : undefined;
          total += 1 + walk(sel.selectionSet, named, childPending);
        }
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        total += walk(sel.selectionSet, sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type, pending);
      } else {
        const name = sel.name.value;
        const key = `${name}:${pending ?? ""}`;
        let n = memo.get(key);
        if (n === undefined) {
          const def = fragments.get(name);
          if (!def || visiting.has(name)) continue;
          visiting.add(name);
          n = walk(def.selectionSet, schema.getType(def.typeCondition.name.value), pending);
          visiting.delete(name);
          memo.set(key, n);
        }
        total += n;
      }
      // Past the limit the exact figure no longer matters; stop multiplying.
      if (total > limits.maxNodes) return Infinity;
    }
    return total;
  };
  const root =
    operation.operation === "mutation"
      ? schema.getMutationType()
      : operation.operation === "subscription"
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  return walk(operation.selectionSet, root, undefined);
}

/** The first operation whose row estimate is over the limit, as a GraphQL error. */
export function nodesError(schema: GraphQLSchema, document: DocumentNode, limits: QueryLimits): GraphQLError | null {
  for (const op of document.definitions) {
    if (op.kind !== Kind.OPERATION_DEFINITION) continue;
    const nodes = estimateNodes(schema, document, op, limits);
    if (nodes > limits.maxNodes) {
      return new GraphQLError(
        `the query may return more than ${limits.maxNodes} rows (each list counts its limit, or ${limits.listSizeEstimate} without one, times the rows nested in it); add limit arguments or select fewer nested lists`,
        { nodes: op, extensions: { code: "validation-failed", path: "$" } },
      );
    }
  }
  return null;
}

/** The same checks as a graphql-js validation rule, the row estimate included. */
export function makeLimitsRule(limits: QueryLimits): ValidationRule {
  return (context) => ({
    Document(node) {
      const error = limitsError(node, limits) ?? nodesError(context.getSchema(), node, limits);
      if (error) context.reportError(error);
      return false;
    },
  });
}

export type Parsed = { document: DocumentNode } | { error: HasuraError };

// Big documents are not cached: their keys and ASTs would make the cache's
// memory depend on what clients send.
const CACHEABLE_QUERY_CHARS = 100_000;

/**
 * Document caches are bounded by the size of what they hold, not only by
 * entries: a parsed document weighs roughly 40 times its text, so this is
 * ~80 MB at most per cache, whatever clients send.
 */
export const DOCUMENT_CACHE = {
  max: 500,
  maxSize: 2_000_000,
  sizeCalculation: (_value: unknown, query: string) => Math.max(1, query.length),
} as const;

/**
 * Parses `query` (token-bounded) and applies the depth and cost limits, with
 * Hasura's errors: a syntax error is `validation-failed` at `$.query`, as
 * Hasura words it, a broken limit `validation-failed` at `$`.
 */
export function makeLimitedParser(limits: QueryLimits): (query: string) => Parsed {
  const cache = new LRUCache<string, Parsed>(DOCUMENT_CACHE);
  const maxTokens = maxTokensFor(limits);
  return (query) => {
    const hit = cache.get(query);
    if (hit) return hit;
    let parsed: Parsed;
    try {
      const document = parse(query, { maxTokens });
      const error = limitsError(document, limits);
      parsed = error ? { error: errors.overLimit(error.message) } : { document };
    } catch (e) {
      const message = (e as Error).message;
      parsed = { error: /more tha[nt] \d+ tokens/.test(message) ? errors.tooManyTokens(maxTokens) : errors.invalidQuery(message) };
    }
    if (query.length <= CACHEABLE_QUERY_CHARS) cache.set(query, parsed);
    return parsed;
  };
}

const introspecting = new WeakMap<DocumentNode, string | null>();

/**
 * The first introspection field (`__schema`, `__type`) a document selects,
 * anywhere, fragments included; null if none. For roles whose introspection
 * is off (HASURA_GRAPHQL_INTROSPECTION_DISABLED_FOR_ROLES, Hasura's
 * `graphql_schema_introspection.disabled_for_roles`); `__typename` is not
 * introspection of the schema and stays allowed, as in Hasura.
 */
export function introspectionField(document: DocumentNode): string | null {
  let found = introspecting.get(document);
  if (found !== undefined) return found;
  found = null;
  const stack: SelectionSetNode[] = [];
  for (const d of document.definitions)
    if (d.kind === Kind.OPERATION_DEFINITION || d.kind === Kind.FRAGMENT_DEFINITION) stack.push(d.selectionSet);
  while (stack.length && !found) {
    for (const sel of stack.pop()!.selections) {
      if (sel.kind === Kind.FIELD && (sel.name.value === "__schema" || sel.name.value === "__type")) {
        found = sel.name.value;
        break;
      }
      if (sel.kind !== Kind.FRAGMENT_SPREAD && sel.selectionSet) stack.push(sel.selectionSet);
    }
  }
  introspecting.set(document, found);
  return found;
}

/** Deepest nesting of a request's variables (objects and lists); deeper is refused before execution. */
export const MAX_VARIABLES_DEPTH = 100;

/**
 * Refuses variables nested deeper than MAX_VARIABLES_DEPTH, walking them
 * without recursion: graphql-js' input coercion and the where-compiler
 * recurse, so 20,000 nested `_and`s (200 KB of JSON) would otherwise end in
 * a stack overflow.
 */
export function checkVariablesDepth(variables: unknown): HasuraError | null {
  const stack: Array<[unknown, number]> = [[variables, 0]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== "object") continue;
    if (depth >= MAX_VARIABLES_DEPTH) {
      return errors.variablesTooDeep(MAX_VARIABLES_DEPTH);
    }
    for (const v of Array.isArray(value) ? value : Object.values(value)) {
      if (v !== null && typeof v === "object") stack.push([v, depth + 1]);
    }
  }
  return null;
}
