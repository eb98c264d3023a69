/**
 * Bounds on what one GraphQL document may ask for, checked before anything
 * executes, the same way on both dialects:
 *
 * - depth: the deepest nesting of fields (`{ user { results { id } } }` is 3),
 * - cost: the number of field selections once fragments are expanded
 *   (`__typename` included), so a "fragment bomb" (each fragment spreading
 *   the previous one twice) is measured at its real, exponential size, in
 *   time linear in the document (fragment sizes are memoized),
 * - tokens: the parser stops after a number of tokens, so a megabyte of
 *   `{a{a{a…` or of repeated fields costs a bounded parse.
 *
 * `parseWithLimits` runs them alone, before graphql-js' full validation
 * (whose OverlappingFieldsCanBeMerged rule is quadratic in repeated fields),
 * and caches small documents. `makeLimitsRule` is the same check as a
 * validation rule, registered with grafserv as a second line of defence.
 */
import {
  GraphQLError,
  Kind,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from "graphql";
import { LRUCache } from "lru-cache";
import { HasuraError } from "./errors.ts";

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
}

/** Tokens the parser reads before giving up: generous for any real query. */
export const maxTokensFor = (limits: QueryLimits) => Math.max(50_000, limits.maxCost * 20);

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
}

function measureOperation(
  op: OperationDefinitionNode,
  fragments: Map<string, FragmentDefinitionNode>,
  limits: QueryLimits,
): Measure {
  const memo = new Map<string, Measure>();
  const visiting = new Set<string>();
  // `level` is the depth of the fields of `set`; past the limit we stop at
  // once, so this recursion is never deeper than maxDepth (plus fragment
  // chains, whose stack overflow is caught by the caller).
  const measure = (set: SelectionSetNode, level: number): Measure => {
    let depth = 0;
    let cost = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (level > limits.maxDepth) throw new TooDeep(level);
        const child = sel.selectionSet ? measure(sel.selectionSet, level + 1) : { depth: 0, cost: 0 };
        depth = Math.max(depth, 1 + child.depth);
        cost += 1 + child.cost;
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const inner = measure(sel.selectionSet, level);
        depth = Math.max(depth, inner.depth);
        cost += inner.cost;
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
      }
    }
    return { depth, cost };
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
      return new GraphQLError(
        `the query selects ${cost} fields (fragments expanded), more than the limit of ${limits.maxCost}`,
        { nodes: op, extensions },
      );
    }
  }
  return null;
}

/** The same check as a graphql-js validation rule. */
export function makeLimitsRule(limits: QueryLimits): ValidationRule {
  return (context) => ({
    Document(node) {
      const error = limitsError(node, limits);
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
 * Parses `query` (token-bounded) and applies the depth and cost limits, with
 * Hasura's errors: a syntax error is `validation-failed` at `$.query`, as
 * Hasura words it, a broken limit `validation-failed` at `$`.
 */
export function makeLimitedParser(limits: QueryLimits): (query: string) => Parsed {
  const cache = new LRUCache<string, Parsed>({ max: 500 });
  const maxTokens = maxTokensFor(limits);
  return (query) => {
    const hit = cache.get(query);
    if (hit) return hit;
    let parsed: Parsed;
    try {
      const document = parse(query, { maxTokens });
      const error = limitsError(document, limits);
      parsed = error ? { error: new HasuraError("validation-failed", error.message, 400, "$") } : { document };
    } catch (e) {
      const message = (e as Error).message;
      parsed = {
        error: /more tha[nt] \d+ tokens/.test(message)
          ? new HasuraError("validation-failed", `the query is longer than the limit of ${maxTokens} tokens`, 400, "$.query")
          : new HasuraError("validation-failed", `not a valid graphql query: ${message}`, 400, "$.query"),
      };
    }
    if (query.length <= CACHEABLE_QUERY_CHARS) cache.set(query, parsed);
    return parsed;
  };
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
      return new HasuraError("validation-failed", `the variables are nested deeper than the limit of ${MAX_VARIABLES_DEPTH} levels`, 400, "$.variables");
    }
    for (const v of Array.isArray(value) ? value : Object.values(value)) {
      if (v !== null && typeof v === "object") stack.push([v, depth + 1]);
    }
  }
  return null;
}
