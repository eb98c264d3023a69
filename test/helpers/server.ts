/**
 * The real HTTP server on an ephemeral port, against a test database.
 */
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../server/app.ts";
import { loadConfig, type Env } from "../../server/config.ts";
import { createTestDatabase, type TestDatabase } from "./pg.ts";
import { viaTestPgBouncer } from "./pgbouncer.ts";
import type { ProjectName } from "./projects.ts";

export interface TestServer {
  url: string;
  app: FastifyInstance;
  db: TestDatabase;
  /** POST a GraphQL request; returns status, headers and parsed body. */
  gql(query: string, opts?: { variables?: Record<string, unknown>; headers?: Record<string, string>; path?: string }): Promise<GqlResponse>;
}

export interface GqlResponse {
  status: number;
  headers: Headers;
  body: any;
}

interface TapLike {
  teardown(fn: () => unknown): void;
}

export async function startServer(t: TapLike, opts: { env?: Env; project?: ProjectName; db?: TestDatabase } = {}): Promise<TestServer> {
  const db = opts.db ?? (await createTestDatabase(t, opts.project));
  // `npm run test:pgbouncer`: the server's runtime connection goes through
  // the run's PgBouncer (transaction pooling); the test's own do not.
  const runtimeUrl = viaTestPgBouncer(db.runtimeUrl);
  const unprepared = runtimeUrl !== db.runtimeUrl && process.env.TEST_PGBOUNCER_PREPARED_STATEMENTS === "0";
  const config = loadConfig({
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    // The event-loop guard measures the machine, and here the machine runs other test files at once: on a
    // loaded 2-core CI runner it answered ordinary test requests 503. Tests of the guard set it themselves.
    HASURA_GRAPHQL_MAX_EVENT_LOOP_DELAY_MS: "0",
    ...(unprepared ? { HASURA_GRAPHQL_USE_PREPARED_STATEMENTS: "false" } : {}),
    ...opts.env,
    DATABASE_URL: runtimeUrl,
  });
  const app = await buildApp({ config, databaseUrl: runtimeUrl });
  await app.listen({ port: 0, host: "127.0.0.1" });
  t.teardown(() => app.close());
  const { port } = app.server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    app,
    db,
    async gql(query, { variables, headers, path = "/graphql" } = {}) {
      const res = await fetch(url + path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the text
      }
      return { status: res.status, headers: res.headers, body };
    },
  };
}
