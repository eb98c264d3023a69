/**
 * `npm start` itself (server/main.ts) as a child process, for the peers that
 * measure what a user deploys: the supervisor and its node:cluster workers
 * (HASURA_GRAPHQL_SERVER_WORKERS), on a free loopback port, against a
 * database given by DATABASE_URL (no embedded PostgreSQL, no migrations).
 * Ready when /readyz answers 200 (every worker ready) and the process tree
 * has gone quiet (the workers build every role's schema in the background
 * after start: that must not land in a measurement). Stopped with SIGTERM
 * (drain), then SIGKILL to its process group; never outlives the bench.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "../../server/config.ts";
import { freePort } from "../../test/helpers/net.ts";
import { processTreeCpuS } from "./cpu.ts";

export interface MainProcess {
  name: string;
  url: string;
  /** The supervisor's pid (its workers are its children: processTreeCpuS). */
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

export async function startMainProcess(name: string, env: Record<string, string>, timeoutMs = 90_000): Promise<MainProcess> {
  const port = await freePort();
  // Its own process group, so stop() can reach every worker even if the supervisor is gone.
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "server/main.ts")], {
    // The shell's own database settings must not make it migrate or LISTEN elsewhere: only what the bench gives.
    env: {
      ...process.env,
      DATABASE_OWNER_URL: "",
      ROOT_DATABASE_URL: "",
      DATABASE_LISTEN_URL: "",
      HASURA_GRAPHQL_READ_REPLICA_URLS: "",
      HASURA_GRAPHQL_SERVER_WORKERS: "",
      ...env,
      PORT: String(port),
      HASURA_GRAPHQL_SERVER_HOST: "127.0.0.1",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  const keep = (d: Buffer) => {
    out = (out + d).slice(-8000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const killGroup = () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // gone
    }
  };
  process.once("exit", killGroup);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(killGroup, 15_000);
      await exited;
      clearTimeout(timer);
    }
    killGroup();
    process.off("exit", killGroup);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`${name} exited with ${child.signalCode ?? child.exitCode}: ${out.trim().slice(-1500)}`);
      if (Date.now() > deadline) throw new Error(`${name} was not ready within ${timeoutMs / 1000}s: ${out.trim().slice(-1500)}`);
      const ready = await fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await quiet(child.pid!, Math.max(0, deadline - Date.now()));
  } catch (e) {
    await stop();
    throw e;
  }
  return { name, url, pid: child.pid!, output: () => out, stop };
}

/** Waits until the process tree uses under 5 % of a core over half a second (or the time is up). */
async function quiet(pid: number, ms: number): Promise<void> {
  const deadline = Date.now() + Math.min(ms, 60_000);
  let last = processTreeCpuS(pid);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const now = processTreeCpuS(pid);
    if (now - last < 0.025) return;
    last = now;
  }
}
