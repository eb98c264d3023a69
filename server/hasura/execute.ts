/**
 * Runs a request in Hasura's dialect: `{query, variables, operationName}` or
 * a batch (array) of them, on the role's Hasura schema, with Hasura's
 * response rules: errors replace data (no partial results), codes and
 * messages as Hasura words them (server/to-hasura-error.ts). The status it
 * returns is the first error's; what each endpoint answers with is decided
 * by server/graphql/dialects.ts.
 *
 * grafserv is not used here because its envelope, statuses and batching are
 * PostGraphile's; execution itself is grafast's, with the same context
 * (hookArgs) as the /graphql endpoint.
 */
import type { WithPgClient } from "@dataplan/pg";
import { execute, hookArgs } from "grafast";
import { Kind, validate, type DocumentNode, type GraphQLError, type GraphQLSchema } from "graphql";
import { LRUCache } from "lru-cache";
import { errors, type HasuraError } from "../errors.ts";
import { checkGraphQLRequest, selectOperation } from "../graphql-request.ts";
import { DOCUMENT_CACHE, introspectionField, nodesError, type Parsed as LimitedParse, type QueryLimits } from "../graphql-limits.ts";
import { inMutation, toHasuraError, validationError, type ErrorContext } from "../to-hasura-error.ts";

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
      parsed = { error: errors.noMutations() };
      if (query.length <= CACHEABLE_QUERY_CHARS) cache.set(query, parsed);
      return parsed;
    }
    const invalid = validate(schema, document);
    const tooMany = invalid.length ? null : nodesError(schema, document, limits);
    parsed = invalid.length
      ? { error: validationError(invalid[0]!, document) }
      : tooMany
        ? { error: errors.overLimit(tooMany.message) }
        : { document };
  } catch (e) {
    parsed = { error: errors.invalidQuery((e as Error).message) };
  }
  if (query.length <= CACHEABLE_QUERY_CHARS) cache.set(query, parsed);
  return parsed;
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
async function inOneTransaction(args: Grafast.ExecutionArgs): Promise<unknown> {
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
    throw e;
  }
}

export interface RunOptions {
  schema: GraphQLSchema;
  resolvedPreset: GraphileConfig.ResolvedPreset;
  /** Grafast's request context: the session the role preset's context() reads. */
  requestContext: Partial<Grafast.RequestContext>;
  log: (err: unknown) => void;
  /** The token-, depth- and cost-limited parser (server/graphql-limits.ts). */
  parse: (query: string) => LimitedParse;
  /** For the row estimate, checked per (schema, document). */
  limits: QueryLimits;
  /** Whether the role may introspect the schema (`__schema`, `__type`). */
  introspection: boolean;
  maxBatchSize: number;
  errorContext: ErrorContext;
}

async function runOne(body: unknown, opts: RunOptions): Promise<HasuraResult> {
  checkGraphQLRequest(body);
  const prepared = prepare(opts.schema, body.query, opts.parse, opts.limits);
  if ("error" in prepared) throw prepared.error;
  if (!opts.introspection) {
    const field = introspectionField(prepared.document);
    if (field) throw errors.introspectionDisabledHasura(field);
  }
  // "" is no name, as in Hasura and graphql-js clients.
  const operationName = body.operationName || undefined;
  const operation = selectOperation(prepared.document, operationName);
  const args = await hookArgs({
    schema: opts.schema,
    document: prepared.document,
    variableValues: body.variables ?? undefined,
    operationName,
    resolvedPreset: opts.resolvedPreset,
    requestContext: opts.requestContext,
  });
  const result = operation.operation === "mutation" ? await inOneTransaction(args) : await execute(args);
  if (Symbol.asyncIterator in (result as object)) {
    throw errors.streamingNotSupported();
  }
  const { data, errors: failed } = result as { data?: unknown; errors?: readonly GraphQLError[] };
  if (failed?.length) {
    // Hasura answers errors without partial data; the first error decides the status.
    const asHasura = (e: GraphQLError) => toHasuraError(e, opts.errorContext) ?? errors.databaseQueryError();
    const mapped = failed.map((e) => (operation.operation === "mutation" ? inMutation(asHasura(e)) : asHasura(e)));
    for (let i = 0; i < mapped.length; i++) if (mapped[i]!.statusCode >= 500) opts.log(failed[i]!.originalError ?? failed[i]);
    return { status: mapped[0]!.statusCode, body: { errors: mapped.map(entryOf) } };
  }
  return { status: 200, body: { data } };
}

const entryOf = (e: HasuraError) => ({ message: e.message, extensions: { path: e.path, code: e.code } });

/** One operation; its refusal is its answer (a batch goes on), what cannot be named reaches the error handler. */
async function answerOne(body: unknown, opts: RunOptions): Promise<HasuraResult> {
  try {
    return await runOne(body, opts);
  } catch (thrown) {
    const e = toHasuraError(thrown, opts.errorContext);
    if (!e) throw thrown;
    return { status: e.statusCode, body: { errors: [entryOf(e)] } };
  }
}

/**
 * One request or a batch. A batch answers an array in the same order; its
 * status is 200 unless every item failed the same way.
 */
export async function runHasuraRequest(payload: unknown, opts: RunOptions): Promise<HasuraResult> {
  if (Array.isArray(payload)) {
    if (payload.length === 0) throw errors.emptyBatch();
    if (payload.length > opts.maxBatchSize) throw errors.batchTooLarge(opts.maxBatchSize, payload.length);
    const results: HasuraResult[] = [];
    for (const item of payload) results.push(await answerOne(item, opts));
    return { status: 200, body: results.map((r) => r.body) };
  }
  return answerOne(payload, opts);
}
