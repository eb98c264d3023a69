/**
 * Peer servers in their own processes (bench/peers/*.ts), both sides of the
 * protocol: startPeerProcess starts one and waits for the {"url", "pid"} line
 * it prints when listening (servePeer, in the peer), and stops it. A peer
 * whose stdin closes (the bench ended, even killed) stops itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";

/**
 * In a peer: listen on a loopback ephemeral port, announce it, and close
 * `app` then `release` on SIGTERM, SIGINT or when the bench closes stdin.
 */
export async function servePeer(app: FastifyInstance, release: () => unknown): Promise<void> {
  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}\n`);
  const stop = async () => {
    await app.close().catch(() => {});
    await Promise.resolve()
      .then(release)
      .catch(() => {});
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  // The bench closes our stdin when it ends (even when it is killed): do not outlive it.
  process.stdin.on("end", () => void stop());
  process.stdin.resume();
}

export interface PeerProcess {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export function startPeerProcess(name: string, script: string, env: Record<string, string>, timeoutMs = 60_000): Promise<PeerProcess> {
  const file = fileURLToPath(new URL(`../peers/${script}`, import.meta.url));
  const child: ChildProcess = spawn(process.execPath, [file], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d) => {
    err = (err + d).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(killer);
  };
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`peer ${name} did not start within ${timeoutMs / 1000}s: ${err.trim()}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.stdout!.resume();
      try {
        const { url, pid } = JSON.parse(out.slice(0, nl)) as { url: string; pid: number };
        resolve({ name, url, pid, stop });
      } catch {
        void stop();
        reject(new Error(`peer ${name} printed ${out.slice(0, 200)}`));
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`peer ${name} exited with ${signal ?? code}: ${err.trim()}`));
    });
  });
}
