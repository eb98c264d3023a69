/**
 * Hasura's session argument: a function argument named `hasura_session`
 * (json or jsonb) is the request's session, never a client's value. It is
 * removed from the function's parameters, so neither dialect offers it as a
 * GraphQL argument, and every call fills it with `hasura.session()` (the
 * session variables of the transaction, lower-case names: sql/session.sql),
 * as Hasura's `session_argument` does. An argument of that name with another
 * type stays an ordinary argument.
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
        };
        const parameters = options.parameters;
        if (!parameters || typeof options.from !== "function") return;
        const position = parameters.findIndex((p) => p.name === SESSION_ARGUMENT && SESSION[p.codec.name]);
        if (position < 0) return;
        const value = SESSION[parameters[position]!.codec.name]!;
        options.parameters = parameters.filter((_, i) => i !== position);
        options.from = withSessionArgument(options.from as From, position, value);
      },
    },
  },
};
