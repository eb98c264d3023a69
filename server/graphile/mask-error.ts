/**
 * grafserv's error masking for the PostGraphile dialect (/graphql): what
 * server/to-hasura-error.ts can name keeps Hasura's code and message; the
 * rest (graphql-js' and grafast's own errors, internal failures) is masked
 * as grafserv masks it (an opaque id, details in the server log).
 */
import { isSafeError } from "grafast";
import { GraphQLError, type GraphQLFormattedError } from "grafast/graphql";
import { defaultMaskError } from "postgraphile/grafserv";
import { toHasuraError, type ErrorContext } from "../to-hasura-error.ts";

export type MaskError = (error: GraphQLError) => GraphQLError | GraphQLFormattedError;

/** `ctx` names the pool's bound in its timeout message; without it a pool timeout is masked as internal. */
export function makeMaskError(ctx?: ErrorContext): MaskError {
  return (error) => {
    const original = error.originalError;
    if (!original || original instanceof GraphQLError || isSafeError(original)) return defaultMaskError(error);
    const e = toHasuraError(original, ctx);
    if (!e) return defaultMaskError(error);
    return new GraphQLError(e.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: { path: e.path, code: e.code },
    });
  };
}

/** The role preset's default (server/graphile/preset.ts); the GraphQL plugin installs one with the pool's bound. */
export const maskError = makeMaskError();
