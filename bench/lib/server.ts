/**
 * The real server (buildApp, as `npm start` builds it) on a loopback
 * ephemeral port, configured like production: NODE_ENV=production, an admin
 * secret, an HS256 JWT secret (requests carry `Authorization: Bearer …`),
 * GRAPHILE_ENV=production (server/env.ts, imported first by the entry point).
 * Request logging is off by default (LOG_LEVEL=warn) so the log does not
 * dominate what is measured.
 */
import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../../server/app.ts";
import { mintToken, type TokenOptions } from "../../server/cli/token.ts";
import { loadConfig, type Env } from "../../server/config.ts";

export interface BenchServer {
  url: string;
  app: FastifyInstance;
  /** The configuration's environment (secrets included: the bench's own throwaway ones). */
  env: Env;
  /** A JWT signed with the server's HMAC key, valid for the whole run. */
  token(opts: TokenOptions): Promise<string>;
  /** POST a GraphQL request (for warm-up and checks), parsed body. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<{ status: number; text: string; json: any }>;
  close(): Promise<void>;
}

export interface BenchServerOptions {
  runtimeUrl: string;
  projectDir: string;
  /** Extra / overriding environment (e.g. HASURA_GRAPHQL_PG_CONNECTIONS). */
  env?: Env;
}

export async function startBenchServer(opts: BenchServerOptions): Promise<BenchServer> {
  const env: Env = {
    NODE_ENV: "production",
    LOG_LEVEL: "warn",
    HASURA_GRAPHQL_ADMIN_SECRET: randomBytes(24).toString("base64url"),
    HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ type: "HS256", key: randomBytes(32).toString("base64url") }),
    PROJECT_DIR: opts.projectDir,
    ...opts.env,
    DATABASE_URL: opts.runtimeUrl,
  };
  const config = loadConfig(env);
  const app = await buildApp({ config, databaseUrl: opts.runtimeUrl, warmSchemas: true });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    app,
    env,
    token: (t) => mintToken(env, { expiresIn: "12h", ...t }),
    async post(path, body, headers = {}) {
      const res = await fetch(url + path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, text, json };
    },
    close: () => app.close(),
  };
}
