/** Runs `npm start`'s entry point (server/main.ts) as a real child process. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "../../server/config.ts";

export interface MainProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * One process unless `env` asks for workers: most start-up tests are about
 * the server, not the fleet (test/startup/workers.test.ts), and each worker
 * costs seconds of start-up on a 2-core runner.
 */
export function startMain(env: Record<string, string>): MainProcess {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "server/main.ts")], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      LOG_LEVEL: "info",
      GRAPHILE_ENV: "production",
      HASURA_GRAPHQL_SERVER_WORKERS: "1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => out, exited };
}

/** Polls `url` until it answers `status` or the deadline passes. */
export async function waitFor(url: string, status = 200, ms = 30_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.status === status) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** The error lines a failed start printed (ignoring PostGraphile's notice). */
export function errorLines(output: string): string[] {
  return output.split("\n").filter((l) => l.startsWith("error: "));
}

/** Whether a process with this pid exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
