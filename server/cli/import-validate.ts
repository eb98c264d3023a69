/**
 * `npm run import:validate -- <hasura-project-dir>... [--keep DIR]`: runs the
 * importer end to end on real Hasura projects, as a user would, and prints one
 * summary line per project (issue 14's validation of public projects):
 *
 *   1. `npm run import:hasura -- <project> --out <tmp>/<name>` (timed);
 *   2. `PROJECT_DIR=<tmp>/<name> npm start`, then `/readyz` and an
 *      introspection query as admin and as each role of the metadata;
 *   3. `npm run permissions -- --compare-hasura <project>` and
 *      `npm run lint:policies` on the running result's database.
 *
 * Every step is the real CLI as a child process, on an embedded cluster of
 * this run's own (a temporary EMBEDDED_PG_DIR on a free port), so it neither
 * touches nor waits for the repository's .data cluster; the folder is removed
 * at the end unless --keep names where to leave it (the imported folders, to
 * look at or start). --verbose prints each difference, lint finding, failed
 * schema build and import error under its project's line. A project that fails a
 * step is reported with the step's error and the run goes on. Exit 1 when any
 * project failed to import or start.
 */
import "../env.ts";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "../config.ts";
import { startEmbeddedPostgres } from "../db/embedded.ts";
import { loadHasuraMetadata, type HasuraMetadata } from "../import/metadata.ts";

const USAGE = "usage: npm run import:validate -- <hasura-project-dir>... [--keep DIR] [--verbose]";
const ADMIN_SECRET = "import-validate-secret";
const INTROSPECTION = "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }";

interface Run {
  code: number | null;
  out: string;
  ms: number;
}

/** A repository CLI (server/cli/<script>) as a child process, as `npm run` runs it. */
function cli(script: string, args: string[], env: Record<string, string>, timeoutMs = 600_000): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "server/cli", script), ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: performance.now() - t0 });
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function counts(md: HasuraMetadata) {
  const roles = new Set<string>();
  let permissions = 0;
  for (const t of md.tables) {
    for (const m of [t.select, t.insert, t.update, t.delete]) {
      permissions += m.size;
      for (const r of m.keys()) roles.add(r);
    }
  }
  for (const f of md.functions) for (const r of f.permissions) roles.add(r);
  for (const r of md.inheritedRoles) roles.add(r.roleName);
  return {
    tables: md.tables.length,
    permissions,
    roles: [...roles].sort(),
    inherited: md.inheritedRoles.length,
    functions: md.functions.length,
  };
}

/** A step's error: its `error: ` line (the CLIs' form), else a thrown error's first line, else its last line. */
function lastError(out: string): string {
  const lines = out.split("\n").map((l) => l.trim());
  const cli = lines.filter((l) => l.startsWith("error: ")).pop();
  if (cli) return cli.slice("error: ".length);
  return lines.find((l) => /^[A-Za-z]*Error\b/.test(l)) ?? lines.filter(Boolean).pop() ?? "";
}

interface Started {
  ok: boolean;
  detail: string;
  /** The server's log so far (its schema build failures are reported). */
  output: () => string;
  stop: () => Promise<void>;
}

/** `npm start` on the imported folder; ready when /readyz answers 200. */
async function start(env: Record<string, string>, port: number): Promise<Started> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "server/main.ts")], {
    env: { ...process.env, ...env, PORT: String(port), LOG_LEVEL: "warn", HASURA_GRAPHQL_ADMIN_SECRET: ADMIN_SECRET },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.on("exit", () => {
      exited = true;
      resolve();
    }),
  );
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    await exit;
  };
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.status === 200) return { ok: true, detail: "", stop, output: () => out };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  return { ok: false, detail: exited ? lastError(out) : "/readyz not 200 within 300 s", stop, output: () => out };
}

/**
 * The introspection query as admin and as each role. Load shedding (the
 * server's event-loop guard, e.g. while a big schema builds) is retried up to 10 times,
 * 2 s apart, as a client would; the retries are counted and reported.
 */
async function introspect(port: number, roles: string[]): Promise<{ failed: string[]; retried: string[] }> {
  const failed: string[] = [];
  const retried: string[] = [];
  for (const role of ["admin", ...roles]) {
    const headers: Record<string, string> = { "content-type": "application/json", "x-hasura-admin-secret": ADMIN_SECRET };
    if (role !== "admin") headers["x-hasura-role"] = role;
    let error = "";
    for (let attempt = 0; attempt <= 10; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 2_000));
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v1/graphql`, {
          method: "POST",
          headers,
          body: JSON.stringify({ query: INTROSPECTION }),
        });
        const body = (await res.json()) as { data?: { __schema?: unknown }; errors?: { message: string }[] };
        error = body.data?.__schema ? "" : (body.errors?.[0]?.message ?? `HTTP ${res.status}`);
        // Load shedding (HTTP 503, or the Hasura dialect's 200 with the message) is retried.
        if (res.status !== 503 && !/overloaded/.test(error)) {
          if (attempt > 0) retried.push(`${role} ${attempt}x`);
          break;
        }
      } catch (e) {
        error = (e as Error).message;
        break;
      }
    }
    if (error) failed.push(`${role} (${error})`);
  }
  return { failed, retried };
}

async function validate(
  project: string,
  work: string,
  pg: { dir: string; port: number },
): Promise<{ line: string; ok: boolean; details: string[] }> {
  const name = path
    .basename(path.resolve(project))
    .replace(/[^a-z0-9_]/gi, "_")
    .toLowerCase();
  const out = path.join(work, `${name}_imported`);
  const env = { EMBEDDED_PG_DIR: pg.dir, EMBEDDED_PG_PORT: String(pg.port), LOG_LEVEL: "silent" };
  const details: string[] = [];
  let c: ReturnType<typeof counts>;
  try {
    c = counts(loadHasuraMetadata(project));
  } catch (e) {
    return { line: `${name}: metadata not loaded: ${(e as Error).message}`, ok: false, details };
  }
  const head = `${name}: ${c.tables} tables, ${c.permissions} permissions, ${c.roles.length} roles, ${c.inherited} inherited, ${c.functions} functions`;
  const imp = await cli("import-hasura.ts", [path.resolve(project), "--out", out], env);
  const seconds = (imp.ms / 1000).toFixed(1);
  const untranslated = /(\d+) items? not translated/.exec(imp.out)?.[1];
  if (untranslated === undefined) {
    details.push(imp.out.trim());
    return { line: `${head}; import failed after ${seconds} s: ${lastError(imp.out)}`, ok: false, details };
  }
  const importDiffs = /differs from the Hasura metadata \((\d+)\)/.exec(imp.out)?.[1] ?? "0";
  const projectEnv = { ...env, PROJECT_DIR: out };
  const port = await freePort();
  const server = await start(projectEnv, port);
  if (!server.ok) {
    return {
      line: `${head}; ${untranslated} untranslated, import ${seconds} s (${importDiffs} differences); start failed: ${server.detail}`,
      ok: false,
      details,
    };
  }
  try {
    const { failed: failedRoles, retried } = await introspect(port, c.roles);
    const compare = await cli("permissions.ts", ["--compare-hasura", path.resolve(project)], projectEnv);
    const lint = await cli("lint-policies.ts", [], projectEnv);
    const differences = compare.code === 0 ? "0" : (/(\d+) differences?$/m.exec(compare.out)?.[1] ?? `error: ${lastError(compare.out)}`);
    const findings = lint.code === 0 ? "0" : (/(\d+) finding\(s\)/.exec(lint.out)?.[1] ?? `error: ${lastError(lint.out)}`);
    for (const line of server.output().split("\n")) {
      if (!line.includes("schema build failed")) continue;
      try {
        const e = JSON.parse(line) as { role?: string; err?: unknown };
        details.push(`schema of ${e.role}: ${typeof e.err === "string" ? e.err : JSON.stringify(e.err)}`);
      } catch {
        details.push(line);
      }
    }
    if (compare.code !== 0) details.push(compare.out.trim());
    if (lint.code !== 0) details.push(lint.out.trim());
    const started = failedRoles.length ? `started, introspection failed for ${failedRoles.join(", ")}` : "started ok";
    const shed = retried.length ? ` (introspection answered 503 first, retried: ${retried.join(", ")})` : "";
    return {
      line: `${head}; ${untranslated} untranslated; compare: ${differences} differences; lint: ${findings} findings; import ${seconds} s; ${started}${shed}`,
      ok: failedRoles.length === 0,
      details,
    };
  } finally {
    await server.stop();
  }
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { keep: { type: "string" }, verbose: { type: "boolean" } } });
if (positionals.length === 0) {
  console.error(USAGE);
  process.exit(2);
}
const work = values.keep ? path.resolve(values.keep) : await mkdtemp(path.join(tmpdir(), "import-validate-"));
// Its own folder (the cluster's OS user must reach it, and mkdtemp's are private), initialised here
// once, so that the first project's import time is not initdb's.
const pg = { dir: values.keep ? path.join(work, "pg") : await mkdtemp(path.join(tmpdir(), "import-validate-pg-")), port: await freePort() };
await (await startEmbeddedPostgres({ dir: pg.dir, port: pg.port })).stop();
let failures = 0;
try {
  for (const project of positionals) {
    const r = await validate(project, work, pg);
    if (!r.ok) failures++;
    console.log(r.line);
    if (values.verbose) for (const d of r.details) console.log(d.replace(/^/gm, "    "));
  }
} finally {
  if (!values.keep) for (const d of [work, pg.dir]) await rm(d, { recursive: true, force: true });
}
process.exitCode = failures ? 1 : 0;
