/**
 * Runs a request in Hasura's dialect: `{query, variables, operationName}` or
 * a batch (array) of them, on the role's Hasura schema, with Hasura's
 * response rules: errors replace data (no partial results), codes and
 * messages as Hasura words them, and every status 200 on /v1/graphql.
 *
 * grafserv is not used here because its envelope, statuses and batching are
 * PostGraphile's; execution itself is grafast's, with the same context
 * (hookArgs) as the /graphql endpoint.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { WithPgClient } from "@dataplan/pg";
import { execute, hookArgs, isSafeError } from "grafast";
import { GraphQLError, Kind, validate, visit, type ASTNode, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from "graphql";
import { LRUCache } from "lru-cache";
import { HasuraError, poolTimeoutError, truncateForMessage } from "../errors.ts";
import { checkVariablesDepth, DOCUMENT_CACHE, introspectionField, nodesError, type Parsed as LimitedParse, type QueryLimits } from "../graphql-limits.ts";
import { hasuraCodeForPgError } from "../graphile/mask-error.ts";

export interface HasuraGraphQLRequest {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

interface HasuraErrorEntry {
  message: string;
  extensions: { path: string; code: string };
}

export interface HasuraResult {
  status: number;
  body: unknown;
}

type Parsed = { document: DocumentNode } | { error: HasuraError };
const documents = new WeakMap<GraphQLSchema, LRUCache<string, Parsed>>();

// Big documents are not cached (memory would depend on what clients send).
const CACHEABLE_QUERY_CHARS = 100_000;

/**
 * Parse (token-bounded, depth and cost limited: server/graphql-limits.ts)
 * and validate once per (schema, query text).
 */
function prepare(schema: GraphQLSchema, query: string, parseLimited: (query: string) => LimitedParse, limits: QueryLimits): Parsed {
  let cache = documents.get(schema);
  if (!cache) {
    cache = new LRUCache<string, Parsed>(DOCUMENT_CACHE);
    documents.set(schema, cache);
  }
  const hit = cache.get(query);
  if (hit) return hit;
  let parsed: Parsed;
  const limited = parseLimited(query);
  if ("error" in limited) return limited;
  try {
    const document = limited.document;
    const mutation = document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === "mutation");
    if (mutation && !schema.getMutationType()) {
      parsed = { error: new HasuraError("validation-failed", "no mutations exist", 400, "$") };
      if (query.length <= CACHEABLE_QUERY_CHARS) cache.set(query, parsed);
      return parsed;
    }
    const errors = validate(schema, document);
    const tooMany = errors.length ? null : nodesError(schema, document, limits);
    parsed = errors.length
      ? { error: validationError(errors[0], document) }
      : tooMany
        ? { error: new HasuraError("validation-failed", tooMany.message, 400, "$") }
        : { document };
  } catch (e) {
    parsed = { error: new HasuraError("validation-failed", `not a valid graphql query: ${(e as Error).message}`, 400, "$.query") };
  }
  if (query.length <= CACHEABLE_QUERY_CHARS) cache.set(query, parsed);
  return parsed;
}

/** graphql-js validation messages, reworded as Hasura's. */
function validationError(error: GraphQLError, document: DocumentNode): HasuraError {
  const path = selectionPath(document, error.nodes?.[0]);
  let m = /^Cannot query field "([^"]+)" on type "([^"]+)"\./.exec(error.message);
  if (m) return new HasuraError("validation-failed", `field '${m[1]}' not found in type: '${m[2]}'`, 400, path);
  m = /^Field "([^"]+)" is not defined by type "([^"]+)"\./.exec(error.message);
  if (m) return new HasuraError("validation-failed", `field "${m[1]}" not found in type: '${m[2]}'`, 400, path);
  m = /^Unknown argument "([^"]+)" on field "[^".]+\.([^"]+)"\./.exec(error.message);
  if (m) return new HasuraError("validation-failed", `'${m[2]}' has no argument named '${m[1]}'`, 400, path);
  if (/^Schema is not configured to execute mutation operation/.test(error.message)) {
    return new HasuraError("validation-failed", "no mutations exist", 400, "$");
  }
  if (/^Schema is not configured to execute subscription operation/.test(error.message)) {
    return new HasuraError("validation-failed", "no subscriptions exist", 400, "$");
  }
  m = /^Field "([^"]+)" argument "([^"]+)" of type "([^"]+)" is required, but it was not provided\./.exec(error.message);
  if (m) return new HasuraError("validation-failed", `missing required field '${m[2]}'`, 400, path);
  return new HasuraError("validation-failed", error.message, 400, path);
}

/** Hasura's `$.selectionSet.a.selectionSet.b` path to a node of the document. */
function selectionPath(document: DocumentNode, target: ASTNode | undefined): string {
  if (!target) return "$";
  let found: string | null = null;
  visit(document, {
    enter(node, _key, _parent, _path, ancestors) {
      if (found !== null) return false;
      if (node !== target) return undefined;
      const fields = [...ancestors, node].filter((a): a is ASTNode => !Array.isArray(a) && (a as ASTNode).kind === Kind.FIELD);
      found = "$" + fields.map((f) => `.selectionSet.${(f as { name: { value: string } }).name.value}`).join("");
      return false;
    },
  });
  return found ?? "$";
}

/** A GraphQL execution error as Hasura reports it. */
function toHasuraEntry(error: GraphQLError, poolWaitMs: number): { entry: HasuraErrorEntry; status: number } {
  // Variable coercion wraps graphql-js' own GraphQLError; neither has a path.
  if (!error.path && (!error.originalError || error.originalError instanceof GraphQLError)) return { entry: requestError(error), status: 400 };
  const original = (poolTimeoutError(error.originalError, poolWaitMs) ?? error.originalError) as (Error & { code?: string }) | undefined;
  if (original instanceof HasuraError) {
    return { entry: { message: original.message, extensions: { path: original.path, code: original.code } }, status: original.statusCode };
  }
  // Grafast's own refusals meant for the client (e.g. a plan over its time budget).
  if (original && isSafeError(original)) return { entry: { message: original.message, extensions: { path: "$", code: "validation-failed" } }, status: 400 };
  const mapped = original ? hasuraCodeForPgError(original) : null;
  if (mapped) {
    const status = mapped.code === "postgres-error" ? 503 : mapped.code === "unexpected" ? 500 : 400;
    // Hasura points a rejected insert at its `objects` argument.
    const field = error.path?.length === 1 ? String(error.path[0]) : null;
    const onInsert = field?.startsWith("insert_") && (mapped.code === "constraint-violation" || mapped.code === "permission-error");
    const path = onInsert ? `$.selectionSet.${field}.args.${field!.endsWith("_one") ? "object" : "objects"}` : "$";
    return { entry: { message: mapped.message, extensions: { path, code: mapped.code } }, status };
  }
  // Anything else is ours or Postgres' internals: Hasura's opaque message.
  return { entry: { message: "database query error", extensions: { path: "$", code: "unexpected" } }, status: 500 };
}

/**
 * The operation a request runs, chosen as Hasura chooses it, with its
 * errors; subscriptions are refused here, as Hasura refuses them over HTTP.
 */
export function selectOperation(document: DocumentNode, operationName: string | undefined): OperationDefinitionNode {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  let op: OperationDefinitionNode | undefined;
  if (operationName) {
    op = operations.find((o) => o.name?.value === operationName);
    if (!op) throw new HasuraError("validation-failed", `no such operation found in the document: ${JSON.stringify(truncateForMessage(operationName))}`, 400);
  } else {
    if (operations.length !== 1) {
      throw new HasuraError("validation-failed", "exactly one operation has to be present in the document when operationName is not specified", 400);
    }
    op = operations[0]!;
  }
  if (op.operation === "subscription") {
    throw new HasuraError("unexpected-payload", "subscriptions are not supported over HTTP, use websockets instead", 400);
  }
  return op;
}


// graphql-js' messages for variables it cannot coerce, as Hasura words them.
const JSON_TYPE = (raw: string) => (raw.startsWith('"') ? "a string" : raw === "true" || raw === "false" ? "a boolean" : raw.startsWith("[") ? "an array" : raw.startsWith("{") ? "an object" : /^-?\d/.test(raw) ? "a number" : "a value");
const REQUEST_ERRORS: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [/Int cannot represent non-integer value: (.*)$/s, (m) => `expected a 32-bit integer for type "Int", but found ${JSON_TYPE(m[1]!)}`],
  [/Int cannot represent non 32-bit signed integer value: (.*)$/s, () => `expected a 32-bit integer for type "Int", but found a number out of range`],
  [/Float cannot represent non numeric value: (.*)$/s, (m) => `expected a float for type "Float", but found ${JSON_TYPE(m[1]!)}`],
  [/String cannot represent a non string value: (.*)$/s, (m) => `expected a string for type "String", but found ${JSON_TYPE(m[1]!)}`],
  [/Boolean cannot represent a non boolean value: (.*)$/s, (m) => `expected a boolean for type "Boolean", but found ${JSON_TYPE(m[1]!)}`],
  [/Field "([^"]+)" is not defined by type "([^"]+)"/, (m) => `field ${JSON.stringify(truncateForMessage(m[1]!))} not found in type: '${m[2]}'`],
  [/Expected non-nullable type "([^"!]+)!?" not to be null/, (m) => `unexpected null value for type ${JSON.stringify(m[1])}`],
  [/^Variable "\$([^"]+)" of required type "[^"]+" was not provided/, (m) => `expecting a value for non-nullable variable: ${JSON.stringify(m[1])}`],
  [/Expected type "([^"]+)" to be an object/, (m) => `expected an object for type ${JSON.stringify(m[1])}, but found another value`],
  [/Value "([^"]*)" does not exist in "([^"]+)" enum/, (m) => `expected one of the values of the enum ${JSON.stringify(m[2])}, but found ${JSON.stringify(truncateForMessage(m[1]!))}`],
];

/**
 * An error of the request itself (variables that do not coerce, …): grafast
 * reports it without a path or an underlying error. A client mistake, so
 * `validation-failed`, never `unexpected`.
 */
function requestError(error: GraphQLError): HasuraErrorEntry {
  const variable = /^Variable "\$([^"]+)"/.exec(error.message)?.[1];
  const path = variable ? `$.variableValues.${variable}` : "$";
  for (const [pattern, message] of REQUEST_ERRORS) {
    const m = pattern.exec(error.message);
    if (m) return { message: message(m), extensions: { path, code: "validation-failed" } };
  }
  return { message: truncateForMessage(error.message), extensions: { path, code: "validation-failed" } };
}

class Rollback {
  readonly result: unknown;
  constructor(result: unknown) {
    this.result = result;
  }
}

/**
 * Hasura runs all the mutation fields of a request in one transaction: one
 * failure rolls back the others. PostGraphile gives each mutation field its
 * own; so pin the request to one connection and one transaction (opened
 * with the request's role and settings) for the whole operation. Inner
 * transactions become savepoints.
 */
async function inOneTransaction(args: Grafast.ExecutionArgs, poolWaitMs: number): Promise<unknown> {
  const ctx = args.contextValue as { pgSettings?: Record<string, string>; withPgClient?: WithPgClient };
  const outer = ctx.withPgClient;
  if (!outer) return execute(args);
  try {
    return await outer(ctx.pgSettings ?? null, (client) =>
      client.withTransaction(async (tx) => {
        ctx.withPgClient = ((_settings, callback) => callback(tx)) as WithPgClient;
        const result = await execute(args);
        if ((result as { errors?: unknown[] }).errors?.length) throw new Rollback(result);
        return result;
      }),
    );
  } catch (e) {
    if (e instanceof Rollback) return e.result;
    throw poolTimeoutError(e, poolWaitMs) ?? e;
  }
}

export interface RunOptions {
  schema: GraphQLSchema;
  resolvedPreset: GraphileConfig.ResolvedPreset;
  request: FastifyRequest;
  reply: FastifyReply;
  log: (err: unknown) => void;
  /** The token-, depth- and cost-limited parser (server/graphql-limits.ts). */
  parse: (query: string) => LimitedParse;
  /** For the row estimate, checked per (schema, document). */
  limits: QueryLimits;
  /** Whether the role may introspect the schema (`__schema`, `__type`). */
  introspection: boolean;
  maxBatchSize: number;
  /** For the message of a pool checkout timeout. */
  poolWaitMs: number;
}

async function runOne(body: HasuraGraphQLRequest, opts: RunOptions): Promise<HasuraResult> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new HasuraError("parse-failed", "When parsing the request body: expected an object", 400);
  }
  if (typeof body.query !== "string") throw new HasuraError("parse-failed", "the key 'query' was not present", 400);
  if (body.variables != null && (typeof body.variables !== "object" || Array.isArray(body.variables))) {
    throw new HasuraError("parse-failed", "variables must be an object", 400, "$.variables");
  }
  const tooDeep = checkVariablesDepth(body.variables);
  if (tooDeep) throw tooDeep;
  if (body.operationName != null && typeof body.operationName !== "string") {
    throw new HasuraError("parse-failed", "operationName must be a string", 400, "$.operationName");
  }
  const prepared = prepare(opts.schema, body.query, opts.parse, opts.limits);
  if ("error" in prepared) throw prepared.error;
  if (!opts.introspection) {
    const field = introspectionField(prepared.document);
    if (field) throw new HasuraError("validation-failed", `field '${field}' not found in type: 'query_root'`, 400, `$.selectionSet.${field}`);
  }
  const operation = selectOperation(prepared.document, (body.operationName as string | undefined) || undefined);
  const args = await hookArgs({
    schema: opts.schema,
    document: prepared.document,
    variableValues: (body.variables as Record<string, unknown>) ?? undefined,
    // "" is no name, as in Hasura and graphql-js clients.
    operationName: (body.operationName as string) || undefined,
    resolvedPreset: opts.resolvedPreset,
    requestContext: { fastifyv5: { request: opts.request, reply: opts.reply } } as Partial<Grafast.RequestContext>,
  });
  const result = operation.operation === "mutation"
    ? await inOneTransaction(args, opts.poolWaitMs)
    : await execute(args);
  if (Symbol.asyncIterator in (result as object)) {
    throw new HasuraError("not-supported", "streaming results (@defer/@stream) are not supported on this endpoint", 400);
  }
  const { data, errors } = result as { data?: unknown; errors?: readonly GraphQLError[] };
  if (errors?.length) {
    // Hasura answers errors without partial data; the first error decides the status.
    const mapped = errors.map((e) => toHasuraEntry(e, opts.poolWaitMs));
    for (const m of mapped) if (m.status >= 500) opts.log(errors[mapped.indexOf(m)].originalError ?? errors[mapped.indexOf(m)]);
    return { status: mapped[0].status, body: { errors: mapped.map((m) => m.entry) } };
  }
  return { status: 200, body: { data } };
}

function asResult(e: unknown): HasuraResult {
  if (e instanceof HasuraError) {
    return { status: e.statusCode, body: { errors: [{ message: e.message, extensions: { path: e.path, code: e.code } }] } };
  }
  throw e;
}

/**
 * One request or a batch. A batch answers an array in the same order; its
 * status is 200 unless every item failed the same way.
 */
export async function runHasuraRequest(payload: unknown, opts: RunOptions): Promise<HasuraResult> {
  if (Array.isArray(payload)) {
    if (payload.length === 0) throw new HasuraError("parse-failed", "a batch must contain at least one query", 400);
    if (payload.length > opts.maxBatchSize) {
      throw new HasuraError("bad-request", `a batch may contain at most ${opts.maxBatchSize} queries, got ${payload.length}`, 400);
    }
    const results: HasuraResult[] = [];
    for (const item of payload) results.push(await runOne(item as HasuraGraphQLRequest, opts).catch(asResult));
    return { status: 200, body: results.map((r) => r.body) };
  }
  return runOne(payload as HasuraGraphQLRequest, opts).catch(asResult);
}
