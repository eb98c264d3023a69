/**
 * Environment → typed configuration. Pure: no I/O, so every rule here is
 * unit-testable, and a bad value becomes one ConfigError naming its key.
 * Names follow Hasura (`HASURA_GRAPHQL_*`) and graphile-migrate
 * (`DATABASE_URL`, `ROOT_DATABASE_URL`) so users bring their settings as-is.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadAuthConfig, type AuthConfig } from "./auth/auth-config.ts";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(`${key}: ${message}`);
    this.key = key;
    this.name = "ConfigError";
  }
}

export type Env = Record<string, string | undefined>;

export interface DatabaseConfig {
  /** Runtime connection (the authenticator). Absent: use the embedded cluster. */
  url?: string;
  /** Owner connection for migrations and policies. Absent with `url`: don't migrate. */
  ownerUrl?: string;
  /** Superuser connection that may create the database and LOGIN roles. */
  rootUrl?: string;
  /** Embedded cluster folder and port (used only without DATABASE_URL). */
  embeddedDir: string;
  embeddedPort: number;
  /** Database name on the embedded cluster. */
  embeddedDatabase: string;
  poolSize: number;
}

export interface Config {
  port: number;
  host: string;
  projectDir: string;
  production: boolean;
  database: DatabaseConfig;
  auth: AuthConfig;
  /** Names of the LOGIN roles created on the embedded cluster. */
  ownerRole: string;
  authenticatorRole: string;
  logLevel: string;
}

function int(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(key, `expected an integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(key, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function postgresUrl(env: Env, key: string): string | undefined {
  const raw = env[key];
  if (raw === undefined || raw === "") return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(key, "is not a valid URL (expected postgres://user:password@host:port/database)");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new ConfigError(key, `must start with postgres:// (got ${url.protocol}//)`);
  }
  if (url.pathname.length <= 1) throw new ConfigError(key, "must name a database (…/database)");
  if (!url.username) throw new ConfigError(key, "must name a user (postgres://user@…)");
  return raw;
}

export function loadConfig(env: Env = process.env): Config {
  const projectDir = path.resolve(REPO_ROOT, env.PROJECT_DIR || ".");
  const embeddedDatabase =
    projectDir === REPO_ROOT ? "app" : path.basename(projectDir).replace(/[^a-z0-9_]/gi, "_");
  const url = postgresUrl(env, "DATABASE_URL");
  const ownerUrl = postgresUrl(env, "DATABASE_OWNER_URL");
  const rootUrl = postgresUrl(env, "ROOT_DATABASE_URL");
  if (!url && (ownerUrl || rootUrl)) {
    throw new ConfigError(
      ownerUrl ? "DATABASE_OWNER_URL" : "ROOT_DATABASE_URL",
      "is set but DATABASE_URL (the runtime connection) is not",
    );
  }
  const auth = loadAuthConfig(env);
  const production = env.NODE_ENV === "production";
  if (production && auth.adminSecret === undefined) {
    throw new ConfigError(
      "HASURA_GRAPHQL_ADMIN_SECRET",
      "is required when NODE_ENV=production (without it every request would run as admin)",
    );
  }
  return {
    port: int(env, "PORT", int(env, "HASURA_GRAPHQL_SERVER_PORT", 8080, 0, 65535), 0, 65535),
    host: env.HASURA_GRAPHQL_SERVER_HOST || env.HOST || "127.0.0.1",
    projectDir,
    production,
    database: {
      url,
      ownerUrl,
      rootUrl,
      embeddedDir: path.resolve(REPO_ROOT, env.EMBEDDED_PG_DIR || ".data"),
      embeddedPort: int(env, "EMBEDDED_PG_PORT", 54320, 1, 65535),
      embeddedDatabase,
      poolSize: int(env, "HASURA_GRAPHQL_PG_CONNECTIONS", 10, 1, 1000),
    },
    auth,
    ownerRole: "app_owner",
    authenticatorRole: "authenticator",
    logLevel: env.LOG_LEVEL || "info",
  };
}
