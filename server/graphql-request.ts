/**
 * What a GraphQL request asks for, checked the same way for both dialects:
 * the body of one operation (`{query, variables, operationName}`), and which
 * operation of the document runs. Hasura's words for every refusal.
 */
import { Kind, type DocumentNode, type OperationDefinitionNode } from "graphql";
import { errors, type HasuraError } from "./errors.ts";
import { checkVariablesDepth } from "./graphql-limits.ts";

export interface GraphQLRequestBody {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/**
 * One operation's body. An array is a batch: Hasura's dialect checks each
 * of its items with this (so one bad item fails alone), and an array where
 * an object belongs is `onArray` (/graphql takes no batches).
 */
export function checkGraphQLRequest(body: unknown, onArray: () => HasuraError = errors.notAnObject): asserts body is GraphQLRequestBody {
  if (body === null || typeof body !== "object") throw errors.notAnObject();
  if (Array.isArray(body)) throw onArray();
  const { query, variables, operationName } = body as Record<string, unknown>;
  if (typeof query !== "string") throw errors.noQuery();
  if (variables != null && (typeof variables !== "object" || Array.isArray(variables))) throw errors.variablesNotObject();
  const tooDeep = checkVariablesDepth(variables);
  if (tooDeep) throw tooDeep;
  if (operationName != null && typeof operationName !== "string") throw errors.operationNameNotString();
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
    if (!op) throw errors.noSuchOperation(operationName);
  } else {
    if (operations.length !== 1) throw errors.operationNameRequired();
    op = operations[0]!;
  }
  if (op.operation === "subscription") throw errors.subscriptionOverHttp();
  return op;
}
