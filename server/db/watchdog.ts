/**
 * Stops an embedded PostgreSQL when the process that started it dies
 * without stopping it: a V8 "heap out of memory" or a SIGKILL runs no exit
 * handler, and `pg_ctl start` detaches the postmaster on purpose (so a
 * terminal Ctrl-C cannot stop it before in-flight requests finish), so
 * nothing else would. A tiny detached process polls its owner; a clean
 * shutdown kills it first (server/db/embedded.ts).
 *
 * argv: owner pid, pg_ctl, pgdata, uid ("" for none), gid, folder to remove ("" for none)
 */
import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";

const [ownerPid, pgCtl, pgdata, uid, gid, removeDir] = process.argv.slice(2);
const POLL_MS = 250;

function ownerAlive(): boolean {
  try {
    process.kill(Number(ownerPid), 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const timer = setInterval(() => {
  if (ownerAlive()) return;
  clearInterval(timer);
  const ids = uid ? { uid: Number(uid), gid: Number(gid) } : {};
  execFile(pgCtl!, ["stop", "-D", pgdata!, "-m", "fast", "-w"], { ...ids, env: { ...process.env, LC_MESSAGES: "C" } }, () => {
    void (removeDir ? rm(removeDir, { recursive: true, force: true }) : Promise.resolve()).finally(() => process.exit(0));
  });
}, POLL_MS);
