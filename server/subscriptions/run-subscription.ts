/**
 * The one place the WebSocket transports start a subscription: a validated
 * subscription document in, results pushed out, a stop function back.
 *
 * TEMPORARY (until S1's toLiveOperation, server/subscriptions/live-operation.ts,
 * and S3's engine, server/subscriptions/engine.ts, land): the subscription
 * operation is validated as the same selections on the role's query root
 * and this module polls it itself, one query per subscriber per interval,
 * pushing only changed results. To be replaced by
 * `toLiveOperation(schema, document, operationName)` → `engine.subscribe(...)`;
 * the transports do not change.
 */
import type { FastifyBaseLogger } from "fastify";
import { execute, hookArgs } from "grafast";
import { Kind, validate, type DocumentNode, type GraphQLError, type GraphQLSchema, type OperationDefinitionNode } from "graphql";
import type { HasuraSession } from "../auth/pg-settings.ts";
import { errors, HasuraError } from "../errors.ts";
import { makeMaskError } from "../graphile/mask-error.ts";
import { toHasuraError, validationError, type ErrorContext } from "../to-hasura-error.ts";

export interface SubscriptionRequest {
  dialect: "hasura" | "postgraphile";
  session: HasuraSession;
  schema: GraphQLSchema;
  resolvedPreset: GraphileConfig.ResolvedPreset;
  /** The parsed (limited) document, not yet validated. */
  document: DocumentNode;
  operationName?: string;
  variables: Record<string, unknown>;
  log: FastifyBaseLogger;
  errorContext: ErrorContext;
}

export interface LiveResult {
  data?: unknown;
  errors?: unknown[];
}

export type StartedSubscription = { error: HasuraError } | { start: (push: (result: LiveResult) => void) => () => void };

// The naive poller's interval (Hasura's default refetch interval).
const POLL_MS = 1_000;

/** The subscription as a query document: the same selections on the query root (what S1's toLiveOperation does for live queries). */
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

/** Validates the subscription for the role; on success, `start` begins delivery. */
export function prepareSubscription(req: SubscriptionRequest): StartedSubscription {
  const document = asQuery(req.document);
  const invalid = validate(req.schema, document);
  if (invalid.length) {
    return {
      error:
        req.dialect === "hasura"
          ? validationError(invalid[0]!, document)
          : new HasuraError("validation-failed", invalid[0]!.message, 400, "$.query"),
    };
  }
  const mask = makeMaskError(req.errorContext);
  const formatErrors = (failed: readonly GraphQLError[]): unknown[] =>
    req.dialect === "hasura"
      ? failed.map((e) => {
          const h = toHasuraError(e, req.errorContext) ?? errors.databaseQueryError();
          return { message: h.message, extensions: { path: h.path, code: h.code } };
        })
      : failed.map((e) => {
          const m = mask(e);
          return "toJSON" in m ? m.toJSON() : m;
        });

  return {
    start(push) {
      let stopped = false;
      let last: string | undefined;
      let timer: NodeJS.Timeout | undefined;
      const tick = async () => {
        try {
          const args = await hookArgs({
            schema: req.schema,
            document,
            variableValues: req.variables,
            operationName: req.operationName,
            resolvedPreset: req.resolvedPreset,
            requestContext: { hasuraSession: req.session },
          });
          const result = (await execute(args)) as { data?: unknown; errors?: readonly GraphQLError[] };
          if (stopped) return;
          const out: LiveResult = result.errors?.length ? { errors: formatErrors(result.errors) } : { data: result.data };
          const text = JSON.stringify(out);
          if (text !== last) {
            last = text;
            push(out);
          }
        } catch (e) {
          req.log.error({ err: e }, "subscription poll failed");
          const h = toHasuraError(e, req.errorContext) ?? errors.internal();
          if (!stopped) push({ errors: [{ message: h.message, extensions: { path: h.path, code: h.code } }] });
        } finally {
          if (!stopped) timer = setTimeout(tick, POLL_MS);
        }
      };
      void tick();
      return () => {
        stopped = true;
        if (timer) clearTimeout(timer);
      };
    },
  };
}
