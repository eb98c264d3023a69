/**
 * CPU time of processes from /proc (Linux): utime + stime of a process (all
 * its threads), and of a PostgreSQL cluster (the postmaster, its live
 * children, and, through the postmaster's cutime/cstime, the children that
 * exited since: a backend that ends during a measurement is still counted).
 *
 * Snapshots are taken before and after a measurement; the difference over
 * the wall time is the number of cores a process group used. Elsewhere than
 * Linux every reading is NaN (reported as n/a), never an error.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let clkTck = 100;
try {
  clkTck = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
} catch {
  // keep 100, Linux's usual USER_HZ
}

interface Stat {
  ppid: number;
  /** utime + stime, seconds. */
  own: number;
  /** cutime + cstime (waited-for children), seconds. */
  children: number;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // f[0] is field 3 (state); utime = field 14, stime 15, cutime 16, cstime 17.
  const n = (field: number) => Number(f[field - 3]);
  return { ppid: n(4), own: (n(14) + n(15)) / clkTck, children: (n(16) + n(17)) / clkTck };
}

/** CPU seconds used so far by one process (NaN when it is gone or not on Linux). */
export function processCpuS(pid: number): number {
  const s = readStat(pid);
  return s ? s.own : NaN;
}

/** CPU seconds used so far by a cluster: postmaster (own + exited children) + its live children. */
export function clusterCpuS(postmasterPid: number): number {
  const pm = readStat(postmasterPid);
  if (!pm) return NaN;
  let total = pm.own + pm.children;
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return NaN;
  }
  for (const d of pids) {
    const s = readStat(Number(d));
    if (s && s.ppid === postmasterPid) total += s.own;
  }
  return total;
}

/**
 * CPU seconds used so far by a process and everything under it: the root's
 * own and its waited-for children's (a worker that exited and was reaped),
 * plus every live descendant's own and reaped children's. For `npm start`'s
 * supervisor and its node:cluster workers. NaN when the root is gone.
 */
export function processTreeCpuS(rootPid: number): number {
  const root = readStat(rootPid);
  if (!root) return NaN;
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return NaN;
  }
  const children = new Map<number, Array<{ pid: number; stat: Stat }>>();
  for (const d of pids) {
    const s = readStat(Number(d));
    if (!s) continue;
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid)!.push({ pid: Number(d), stat: s });
  }
  let total = root.own + root.children;
  const queue = [rootPid];
  while (queue.length) {
    for (const c of children.get(queue.pop()!) ?? []) {
      total += c.stat.own + c.stat.children;
      queue.push(c.pid);
    }
  }
  return total;
}

/** A process and all its live descendants (e.g. a supervisor and its workers). */
export function processTree(rootPid: number): number[] {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return [rootPid];
  }
  const parent = new Map<number, number>();
  for (const d of pids) {
    const s = readStat(Number(d));
    if (s) parent.set(Number(d), s.ppid);
  }
  const tree = [rootPid];
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (tree.includes(ppid) && !tree.includes(pid)) {
        tree.push(pid);
        grew = true;
      }
    }
  }
  return tree;
}

/** The live children of `ppid` (whose command name, /proc/<pid>/comm, is `comm` when given: Node's is its main thread's, "MainThread"). */
export function childPids(ppid: number, comm?: string): number[] {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  return pids.map(Number).filter((pid) => {
    try {
      return readStat(pid)?.ppid === ppid && (comm === undefined || readFileSync(`/proc/${pid}/comm`, "utf8").trim() === comm);
    } catch {
      return false;
    }
  });
}

export type CpuGroups = Record<string, () => number>;

export interface CpuSample {
  wallS: number;
  /** Cores used per group over the window (CPU seconds / wall seconds). */
  cores: Record<string, number>;
}

/** Starts a window; the returned function ends it and gives the cores each group used. */
export function cpuWindow(groups: CpuGroups): () => CpuSample {
  const t0 = performance.now();
  const before = Object.fromEntries(Object.entries(groups).map(([k, f]) => [k, f()]));
  return () => {
    const wallS = (performance.now() - t0) / 1000;
    const cores: Record<string, number> = {};
    for (const [k, f] of Object.entries(groups)) cores[k] = +((f() - before[k]!) / wallS).toFixed(3);
    return { wallS: +wallS.toFixed(3), cores };
  };
}
