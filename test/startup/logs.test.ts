/**
 * The log of `npm start`: one JSON line per event in production, pino-pretty's
 * readable line with LOG_FORMAT=pretty (a terminal's default outside
 * production), the development-mode banner only without an admin secret.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { freePort } from "../helpers/net.ts";
import { errorLines, startMain, waitFor } from "../helpers/process.ts";
import { ADMIN_SECRET_ENV } from "../helpers/secured.ts";

async function runUntilReady(t: Test, env: Record<string, string>): Promise<{ output: string; port: number }> {
  const dir = await mkdtemp(path.join(tmpdir(), "hasura-auth-pg-logs-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const proc = startMain({ PORT: String(port), EMBEDDED_PG_DIR: dir, EMBEDDED_PG_PORT: String(await freePort()), ...env });
  t.teardown(() => proc.child.kill("SIGKILL"));
  t.ok(await waitFor(`http://127.0.0.1:${port}/readyz`, 200, 60_000), "ready within 60s");
  proc.child.kill("SIGINT");
  t.equal((await proc.exited).code, 0, "stops cleanly");
  return { output: proc.output(), port };
}

const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/;

t.test("production: every line is one JSON event, no banner", async (t) => {
  const { output, port } = await runUntilReady(t, { ...ADMIN_SECRET_ENV, NODE_ENV: "production", HASURA_GRAPHQL_ENABLE_CONSOLE: "true" });
  const lines = output.split("\n").filter(Boolean);
  t.ok(lines.length > 3, "some events");
  const notJson = lines.filter((l) => {
    try {
      return typeof JSON.parse(l) !== "object";
    } catch {
      return true;
    }
  });
  t.same(notJson, [], "every line parses as JSON");
  t.notMatch(output, /DEVELOPMENT MODE/, "no development warning with an admin secret");
  const ready = lines.map((l) => JSON.parse(l)).find((e) => String(e.msg).startsWith("ready:"));
  t.equal(ready?.urls?.console, `http://127.0.0.1:${port}/console`, "the ready event carries the console URL");
  t.equal(ready?.urls?.graphiql, `http://127.0.0.1:${port}/graphiql`, "and GraphiQL's");
  t.same(
    lines.filter((l) => STACK_FRAME.test(l)),
    [],
    "no raw stack frame",
  );
});

t.test("LOG_FORMAT=pretty: pino-pretty's one line per event, and the banner", async (t) => {
  const { output, port } = await runUntilReady(t, { LOG_FORMAT: "pretty" });
  const lines = output.split("\n").filter(Boolean);
  t.same(
    lines.filter((l) => l.startsWith("{")),
    [],
    "no JSON line",
  );
  t.ok(
    lines.some((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: ready: GraphQL at http:\/\/127\.0\.0\.1:\d+\/v1\/graphql/.test(l)),
    "the ready event as one readable line",
  );
  t.ok(
    lines.some((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: shutting down \{"signal":"SIGINT"\}$/.test(l)),
    "fields on the same line",
  );
  t.match(output, /\| DEVELOPMENT MODE: HASURA_GRAPHQL_ADMIN_SECRET is not set\.\s+\|/, "the banner, boxed");
  t.ok(output.includes(`Console:  http://127.0.0.1:${port}/console`), "with the console's URL");
  t.ok(output.includes(`GraphiQL: http://127.0.0.1:${port}/graphiql`), "and GraphiQL's");
});

t.test("LOG_FORMAT with another value is one error line", async (t) => {
  const proc = startMain({ LOG_FORMAT: "yaml", PORT: "0" });
  t.equal((await proc.exited).code, 1);
  t.same(errorLines(proc.output()), ['error: LOG_FORMAT: must be json or pretty, got "yaml"']);
});
