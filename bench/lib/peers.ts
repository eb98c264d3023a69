/**
 * Peer servers in their own processes (bench/peers/*.ts): start one, wait
 * for the {"url", "pid"} line it prints when listening, stop it. A peer
 * whose stdin closes (the bench ended, even killed) stops itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

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
