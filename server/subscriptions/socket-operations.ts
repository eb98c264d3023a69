/**
 * One operation received on a WebSocket, for either protocol: queries and
 * mutations answer as over HTTP (Hasura's dialect through runHasuraRequest,
 * PostGraphile's through grafast on the role's schema); a subscription is
 * validated for the role and handed to ./run-subscription.ts.
 */
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { execute, hookArgs } from "grafast";
import { Kind, validate, type DocumentNode, type GraphQLError, type OperationDefinitionNode } from "graphql";
import type { HasuraSession } from "../auth/pg-settings.ts";
import { errors, type HasuraError } from "../errors.ts";
import { introspectionField, type Parsed, type QueryLimits } from "../graphql-limits.ts";
import { checkGraphQLRequest } from "../graphql-request.ts";
import { makeMaskError } from "../graphile/mask-error.ts";
import { requestSchemaKind, servFor } from "../graphql/schemas.ts";
import { runHasuraRequest } from "../hasura/execute.ts";
import { toHasuraError, type ErrorContext } from "../to-hasura-error.ts";
import { SubscriptionOnlyField } from "./live-operation.ts";
import type { LiveResult, SubscriptionRunner } from "./run-subscription.ts";

export interface OperationServices {
  app: FastifyInstance;
  parse: (query: string) => Parsed;
  queryLimits: QueryLimits;
  introspectionDisabledFor: ReadonlySet<string>;
  maxBatchSize: number;
  errorContext: ErrorContext;
  subscriptions: SubscriptionRunner;
}

export interface ErrorEntry {
  message: string;
  extensions?: Record<string, unknown>;
  [key: string]: unknown;
}

export type Outcome =
  /** A query's or mutation's one answer (data, or errors as HTTP would answer them). */
  | { kind: "single"; result: LiveResult }
  /** Refused before execution: the protocol's error message. */
  | { kind: "refused"; errors: ErrorEntry[] }
  /** A subscription, validated: `start` begins delivery and returns its stop. */
  | { kind: "live"; start: (push: (result: LiveResult) => void) => () => void };

export const entryOf = (e: HasuraError): ErrorEntry => ({ message: e.message, extensions: { path: e.path, code: e.code } });

function pickOperation(document: DocumentNode, operationName: string | undefined): OperationDefinitionNode {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operationName) {
    const op = operations.find((o) => o.name?.value === operationName);
    if (!op) throw errors.noSuchOperation(operationName);
    return op;
  }
  if (operations.length !== 1) throw errors.operationNameRequired();
  return operations[0]!;
}

export async function runSocketOperation(
  svc: OperationServices,
  dialect: "hasura" | "postgraphile",
  session: HasuraSession,
  payload: unknown,
  log: FastifyBaseLogger,
): Promise<Outcome> {
  try {
    checkGraphQLRequest(payload);
    const operationName = payload.operationName || undefined;
    const variables = payload.variables ?? {};
    const limited = svc.parse(payload.query);
    if ("error" in limited) throw limited.error;
    const document = limited.document;
    const operation = pickOperation(document, operationName);
    if (svc.introspectionDisabledFor.has(session.role)) {
      const field = introspectionField(document);
      if (field) throw dialect === "hasura" ? errors.introspectionDisabledHasura(field) : errors.introspectionDisabledPostGraphile(field);
    }
    const registry = dialect === "hasura" ? svc.app.hasuraSchemas : svc.app.schemas;
    const serv = await servFor(registry, session.role, log, requestSchemaKind(session));
    const schema = await serv.getSchema();

    if (operation.operation === "subscription") {
      const request = { dialect, session, schema, resolvedPreset: serv.resolvedPreset, document, operationName, variables };
      let prepared = svc.subscriptions.prepare(request);
      if ("error" in prepared && prepared.error instanceof SubscriptionOnlyField) {
        // Offered on subscription_root only: run it on the role's live schema, built for this once.
        const live = await servFor(registry, session.role, log, "live");
        prepared = svc.subscriptions.prepare({ ...request, schema: await live.getSchema(), resolvedPreset: live.resolvedPreset });
      }
      if ("error" in prepared) return { kind: "refused", errors: [entryOf(prepared.error)] };
      return { kind: "live", start: prepared.start };
    }

    if (dialect === "hasura") {
      const { body } = await runHasuraRequest(payload, {
        schema,
        resolvedPreset: serv.resolvedPreset,
        requestContext: { hasuraSession: session },
        log: (err) => log.error({ err }, "GraphQL execution failed"),
        parse: svc.parse,
        limits: svc.queryLimits,
        introspection: !svc.introspectionDisabledFor.has(session.role),
        maxBatchSize: svc.maxBatchSize,
        errorContext: svc.errorContext,
      });
      return { kind: "single", result: body as LiveResult };
    }

    // PostGraphile's dialect: graphql-js validation, grafast execution, grafserv's error masking.
    const invalid = validate(schema, document);
    if (invalid.length) return { kind: "refused", errors: invalid.map((e) => e.toJSON() as ErrorEntry) };
    const args = await hookArgs({
      schema,
      document,
      variableValues: variables,
      operationName,
      resolvedPreset: serv.resolvedPreset,
      requestContext: { hasuraSession: session },
    });
    const result = (await execute(args)) as { data?: unknown; errors?: readonly GraphQLError[] };
    const mask = makeMaskError(svc.errorContext);
    const masked = result.errors?.map((e) => {
      const m = mask(e);
      return "toJSON" in m ? m.toJSON() : m;
    });
    return { kind: "single", result: masked?.length ? { data: result.data, errors: masked } : { data: result.data } };
  } catch (e) {
    const h = toHasuraError(e, svc.errorContext);
    if (!h) {
      log.error({ err: e }, "WebSocket operation failed");
      return { kind: "refused", errors: [entryOf(errors.internal())] };
    }
    return { kind: "refused", errors: [entryOf(h)] };
  }
}
