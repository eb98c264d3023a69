/**
 * The one place the WebSocket transports start a subscription: a parsed
 * subscription document in, validated for the role, turned into the query
 * the live engine re-runs, and handed to the engine (./engine.ts: pollers,
 * cohorts, batched round trips); results are pushed out, a stop comes back.
 *
 * Hasura's dialect: validated against the role's subscription_root, then
 * ./live-operation.ts's toLiveOperation (live queries and `t_stream`: the
 * injected cursor variables start at the client's initial_value, and a
 * cursor column added for the engine is stripped before delivery).
 * PostGraphile's dialect (no subscription root): the subscription operation
 * is read as the same selections of its query root (live queries only).
 */
import type { WithPgClient } from "@dataplan/pg";
import type { FastifyInstance } from "fastify";
import { Kind, validate, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from "graphql";
import type { HasuraSession } from "../auth/pg-settings.ts";
import type { WebSocketConfig } from "../config.ts";
import { errors, HasuraError } from "../errors.ts";
import type { ResponseLimits } from "../graphile/pipelined-adaptor.ts";
import { toHasuraError, validationError, type ErrorContext } from "../to-hasura-error.ts";
import { makeBatchedWithPgClient, type BatchedOptions } from "./batched-pg.ts";
import { createLiveEngine, defaultNextCursor, type LiveEngine, type LiveResult, type StreamField as EngineStream } from "./engine.ts";
import { liveVariables, nextCursor, stripInjected, toLiveOperation, type StreamField } from "./live-operation.ts";
import { createSessionKeys } from "./session-keys.ts";

export type { LiveResult };

export interface SubscriptionRequest {
  dialect: "hasura" | "postgraphile";
  session: HasuraSession;
  schema: GraphQLSchema;
  resolvedPreset: GraphileConfig.ResolvedPreset;
  /** The parsed (limited) document, not yet validated. */
  document: DocumentNode;
  operationName?: string;
  variables: Record<string, unknown>;
}

export type StartedSubscription = { error: HasuraError } | { start: (push: (result: LiveResult) => void) => () => void };

export interface SubscriptionRunner {
  prepare(req: SubscriptionRequest): StartedSubscription;
  close(): Promise<void>;
}

/** The subscription as a query document: the same selections on the query root. */
function asQuery(document: DocumentNode): DocumentNode {
  return {
    ...document,
    definitions: document.definitions.map((d) =>
      d.kind === Kind.OPERATION_DEFINITION && d.operation === "subscription"
        ? ({ ...d, operation: "query" } as OperationDefinitionNode)
        : d,
    ),
  };
}

/** Pollers read from the read replicas when there are any (server/db/read-replicas.ts), batched per pool; else from the primary. */
function pollerWithPgClient(app: FastifyInstance, options: BatchedOptions): WithPgClient {
  const primary = makeBatchedWithPgClient(app.pgPool, options);
  return app.readReplicas.size ? app.readReplicas.route((pool) => makeBatchedWithPgClient(pool, options), primary) : primary;
}

const entry = (e: HasuraError) => ({ message: e.message, extensions: { path: e.path, code: e.code } });

export function createSubscriptionRunner(
  app: FastifyInstance,
  opts: {
    cfg: WebSocketConfig;
    schemas: string[];
    preparedStatements: boolean;
    responseLimits: ResponseLimits;
    errorContext: ErrorContext;
  },
): SubscriptionRunner {
  const log = (err: unknown) => app.log.error({ err }, "live query failed");
  // The engine's view of a stream → toLiveOperation's (which knows where each row carries its cursor).
  const streamsOf = new WeakMap<EngineStream, StreamField>();
  const engine: LiveEngine = createLiveEngine({
    intervalMs: opts.cfg.liveIntervalMs,
    batchSize: opts.cfg.liveBatchSize,
    streamIntervalMs: opts.cfg.streamIntervalMs,
    streamBatchSize: opts.cfg.streamBatchSize,
    withPgClient: pollerWithPgClient(app, {
      preparedStatements: opts.preparedStatements,
      responseLimits: opts.responseLimits,
    }),
    sessionKeys: createSessionKeys(app.pgPool, opts.schemas, log),
    nextCursor: (stream, data) => {
      const s = streamsOf.get(stream);
      return s ? nextCursor(s, data) : defaultNextCursor(stream, data);
    },
    errorContext: opts.errorContext,
    log,
    maxSubscribers: opts.cfg.maxSubscriptions,
  });

  return {
    prepare(req) {
      let document: DocumentNode;
      let operationName = req.operationName;
      let variables = req.variables;
      let streams: StreamField[] = [];
      if (req.dialect === "hasura" && req.schema.getSubscriptionType()) {
        const invalid = validate(req.schema, req.document);
        if (invalid.length) return { error: validationError(invalid[0]!, req.document) };
        const live = toLiveOperation(req.schema, req.document, req.operationName, req.variables);
        if (live instanceof HasuraError) return { error: live };
        document = live.queryDocument;
        operationName = live.operationName;
        streams = live.streams;
        variables = liveVariables(req.variables, streams);
      } else {
        document = asQuery(req.document);
        const invalid = validate(req.schema, document);
        if (invalid.length) {
          return {
            error:
              req.dialect === "hasura"
                ? validationError(invalid[0]!, document)
                : new HasuraError("validation-failed", invalid[0]!.message, 400, "$.query"),
          };
        }
      }
      const engineStreams = streams.map((s) => {
        const e: EngineStream = {
          alias: s.responseKey,
          cursorColumns: s.cursorColumns,
          batchSize: s.batchSize,
          variableName: s.variableName,
        };
        streamsOf.set(e, s);
        return e;
      });
      const injected = streams.filter((s) => s.injected);
      // The engine's result is shared by a cohort (and read for its next cursor): strip a copy.
      const deliver = (push: (result: LiveResult) => void) =>
        injected.length === 0
          ? push
          : (result: LiveResult) => {
              if (result.data === undefined) return push(result);
              const copy = structuredClone(result);
              for (const s of injected) stripInjected(s, copy.data);
              push(copy);
            };
      return {
        start(push) {
          try {
            return engine.subscribe(
              {
                dialect: req.dialect,
                session: req.session,
                schema: req.schema,
                resolvedPreset: req.resolvedPreset,
                document,
                operationName,
                variables,
                streams: engineStreams,
                requestContext: { hasuraSession: req.session },
              },
              deliver(push),
            );
          } catch (e) {
            // The engine at its bounds or closing: the subscription's one answer is the error.
            push({ errors: [entry(toHasuraError(e, opts.errorContext) ?? errors.internal())] });
            return () => {};
          }
        },
      };
    },
    close: () => engine.close(),
  };
}
