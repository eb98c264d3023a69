/**
 * Hasura's session argument: a function argument named `hasura_session`
 * (json or jsonb) is the request's session, never a client's value. It is
 * removed from the function's parameters, so neither dialect offers it as a
 * GraphQL argument, and every call fills it with `hasura.session()` (the
 * session variables of the transaction, lower-case names: sql/session.sql),
 * as Hasura's `session_argument` does. A function whose `hasura_session`
 * has another type (text, say) is not offered at all, in either dialect:
 * the server cannot fill it (Hasura's session argument is json), and as an
 * ordinary argument the client would write what the function takes for its
 * session (../hasura/functions.ts skips it too).
 */
import type { PgSelectArgumentDigest } from "@dataplan/pg";
import { sql, type SQL } from "pg-sql2";

export const SESSION_ARGUMENT = "hasura_session";

// A sub-select, so Postgres evaluates it once per statement, not per row.
const SESSION: Record<string, SQL> = {
  jsonb: sql`(select hasura.session())`,
  json: sql`(select hasura.session())::json`,
};

type From = (...args: PgSelectArgumentDigest[]) => SQL;

const asList = (behavior: string | string[] | undefined): string[] =>
  behavior === undefined ? [] : Array.isArray(behavior) ? behavior : [behavior];

/**
 * The call with the session inserted where the function declares it: as a
 * positional argument if positional ones reach past it, else by name after
 * the others (Postgres allows named arguments only after positional ones).
 */
export function withSessionArgument(from: From, position: number, value: SQL): From {
  return (...digests) => {
    const positional = digests.filter((d) => !d.name).length;
    if (positional <= position) {
      return from(...digests, { name: SESSION_ARGUMENT, placeholder: value });
    }
    return from(...digests.slice(0, position), { placeholder: value }, ...digests.slice(position));
  };
}

export const SessionArgumentPlugin: GraphileConfig.Plugin = {
  name: "SessionArgumentPlugin",
  version: "1.0.0",
  description: "Fills a function's hasura_session argument with the request's session, out of the client's reach",
  after: ["PgProceduresPlugin"],
  gather: {
    hooks: {
      pgProcedures_PgResourceOptions(_info, event) {
        const options = event.resourceOptions as {
          parameters?: readonly { name: string | null; codec: { name: string } }[];
          from?: unknown;
          extensions?: { tags?: { behavior?: string | string[] } & Record<string, unknown> } & Record<string, unknown>;
        };
        const parameters = options.parameters;
        if (!parameters || typeof options.from !== "function") return;
        const position = parameters.findIndex((p) => p.name === SESSION_ARGUMENT);
        if (position < 0) return;
        const value = SESSION[parameters[position]!.codec.name];
        if (!value) {
          const tags = { ...options.extensions?.tags, behavior: [...asList(options.extensions?.tags?.behavior), "-*"] };
          options.extensions = { ...options.extensions, tags };
          return;
        }
        options.parameters = parameters.filter((_, i) => i !== position);
        options.from = withSessionArgument(options.from as From, position, value);
      },
    },
  },
};
