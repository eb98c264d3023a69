/**
 * Start-up failures as one line that names the problem (and the setting to
 * change), instead of a stack trace.
 */
import type { Config } from "./config.ts";
import { ConfigError } from "./config.ts";
import { InheritedRoleError } from "./db/inherited-roles.ts";
import { HasuraError } from "./errors.ts";
import { UnsafeConnectionError } from "./plugins/database.ts";

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  address?: string;
  port?: number;
  /** The setting whose connection failed, when not DATABASE_URL (e.g. DATABASE_LISTEN_URL). */
  setting?: string;
}

export function describeStartupError(e: unknown, config?: Config): string {
  const err = e as SystemError;
  if (e instanceof ConfigError || e instanceof UnsafeConnectionError || e instanceof InheritedRoleError) return err.message;
  if (e instanceof HasuraError) return err.message;
  const where = err.setting ?? (config?.database.url ? "DATABASE_URL" : "embedded PostgreSQL");
  if (err.syscall === "listen") {
    if (err.code === "EADDRINUSE") return `PORT: ${err.port ?? config?.port} is already in use (set PORT to a free port)`;
    if (err.code === "EACCES") return `PORT: not allowed to listen on ${err.port ?? config?.port}`;
  }
  switch (err.code) {
    case "ECONNREFUSED":
    case "EHOSTUNREACH":
    case "ETIMEDOUT":
      return `database unreachable (${where}): ${err.code} ${err.address ?? ""}${err.port ? `:${err.port}` : ""}`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `database unreachable (${where}): host not found`;
    case "28P01":
    case "28000":
      return `database refused the login (${where}): ${err.message}`;
    case "3D000":
      return `database does not exist (${where}): ${err.message}`;
  }
  if (err.message?.includes("timeout exceeded when trying to connect")) {
    return `database unreachable (${where}): connection timed out`;
  }
  return err.message ?? String(e);
}
