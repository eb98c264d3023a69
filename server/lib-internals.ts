/**
 * Every library internal this server relies on, named in one place. Each
 * earns its keep (the pipelined adaptor's one-round-trip requests, routing a
 * request to the schema of its role, migrating with graphile-migrate's own
 * settings), but none is public API: the libraries are pinned to exact
 * versions in package.json, and test/reliability/library-internals.test.ts
 * fails loudly, naming the internal, when an upgrade changes one. Nothing
 * else in server/ reaches into a library's private parts.
 */
import type { FastifyRequest } from "fastify";
import pg from "pg";
import { getBodyFromFrameworkBody, normalizeRequest, processHeaders } from "postgraphile/grafserv";

// ---------------------------------------------------------------------------
// pg (node-postgres): its Query class and the Connection's protocol writer,
// for server/graphile/pipelined-adaptor.ts. node-postgres sends one query per
// round trip and has no pipelining API.

/** The Connection behind a pg client: extended-protocol message writers and its prepared-statement bookkeeping. */
export interface PgConnection extends NodeJS.EventEmitter {
  parse(msg: { text: string; name?: string; types?: unknown[] }): void;
  bind(msg: { statement?: string; values: unknown[]; valueMapper?: unknown }): void;
  describe(msg: { type: "P"; name?: string }): void;
  execute(msg: { portal?: string; rows?: number }): void;
  stream: NodeJS.EventEmitter & { cork?: () => void; uncork?: () => void; destroy(): void; bytesRead: number };
  /** Statement name → text of the statements pg believes are prepared on this connection. */
  parsedStatements: Record<string, string>;
}

/** What a subclass of pg's Query may override and call. */
export interface PgQueryInternals {
  prepare(connection: PgConnection): void;
  submit(connection: PgConnection): Error | null;
  name?: string;
}

export type PgResult = { rows: unknown[]; rowCount: number | null };

type PgInternals = {
  Query: new (config: object, values?: unknown[], callback?: (err: Error | null, res: PgResult | PgResult[]) => void) => PgQueryInternals;
  utils?: { prepareValue?: (v: unknown) => unknown };
};

/** pg's Query class (exported, undocumented): subclassed to send several statements before one Sync. */
export const PgQuery = (pg as unknown as PgInternals).Query;

/** pg's own value serializer for bind parameters. */
export const prepareValue: (v: unknown) => unknown = (pg as unknown as PgInternals).utils?.prepareValue ?? ((v) => v);

/** The Connection of a pg client. */
export const connectionOf = (client: pg.ClientBase): PgConnection => (client as unknown as { connection: PgConnection }).connection;

// ---------------------------------------------------------------------------
// grafserv: the request digest its Fastify adaptor (servers/fastify/v5)
// builds privately. We call grafserv's handlers ourselves, because the
// schema is only known once the request's role is.

export function grafservDigest(request: FastifyRequest, requestContext: Partial<Grafast.RequestContext>) {
  return normalizeRequest({
    httpVersionMajor: request.raw.httpVersionMajor,
    httpVersionMinor: request.raw.httpVersionMinor,
    isSecure: request.protocol === "https",
    method: request.method,
    path: request.url,
    headers: processHeaders(request.headers),
    getQueryParams: () => request.query as Record<string, string>,
    getBody: () => getBodyFromFrameworkBody(request.body),
    requestContext,
    preferJSON: true,
  });
}

// ---------------------------------------------------------------------------
// graphile-migrate: its .gmrc reader (so a project's own settings apply) and
// its pool cleanup, from dist/ (server/db/migrate.ts).

export { getSettings } from "graphile-migrate/dist/commands/_common.js";
export { clearAllPools } from "graphile-migrate/dist/pgReal.js";

// graphile-migrate: how `commit` writes a committed migration (headers, body,
// the sha1 chain it checks on `migrate`) and names its file, for
// server/import/migrations.ts: the importer's files must hash exactly as the
// library verifies them, so it calls the library rather than restating it.

export { calculateHash } from "graphile-migrate/dist/hash.js";
export { parseMigrationText, serializeMigration } from "graphile-migrate/dist/migration.js";
export { sluggify } from "graphile-migrate/dist/sluggify.js";
