/**
 * The server's log: one line per event on stdout. JSON lines (pino's own)
 * in production and whenever stdout is not a terminal, so collectors parse
 * every line; pino-pretty's readable lines for a person at a terminal
 * (LOG_FORMAT=json|pretty overrides; config.ts picks the default).
 */
import type { FastifyServerOptions } from "fastify";
import type { Config } from "./config.ts";

export async function loggerOptions(config: Pick<Config, "logLevel" | "logFormat">): Promise<FastifyServerOptions["logger"]> {
  if (config.logFormat === "json") return { level: config.logLevel };
  // Loaded only for a terminal: every other start (tests, production) skips its ~0.1 s.
  const { default: pretty } = await import("pino-pretty");
  return {
    level: config.logLevel,
    // In-process and synchronous: no worker thread, nothing lost when the process exits.
    stream: pretty({
      sync: true,
      destination: 1,
      singleLine: true,
      colorize: Boolean(process.stdout.isTTY),
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname",
    }),
  };
}
