/**
 * Per-request savings (README "Per-core speed") keep every answer the same:
 *
 * - server/graphql/cheap-abort.ts: an abort without a reason still gives
 *   Node's default reason (a DOMException named AbortError, code 20, the
 *   same message, listeners called once), only without stack frames; a
 *   reason passed by the caller is kept as is; grafast's end-of-request
 *   abort goes through it, and requests answer as before;
 * - `npm start` gives a single process the workers' young-generation size.
 */
import t from "tap";
import "../../server/graphql/scope.ts";
import { startServer } from "../helpers/server.ts";

t.test("an abort without a reason keeps Node's default reason, without stack frames", async (t) => {
  const controller = new AbortController();
  let events = 0;
  controller.signal.addEventListener("abort", () => events++);
  controller.abort();
  controller.abort();
  const reason = controller.signal.reason as DOMException;
  t.ok(controller.signal.aborted);
  t.equal(events, 1, "listeners run once");
  t.ok(reason instanceof DOMException);
  t.equal(reason.name, "AbortError");
  t.equal(reason.message, "This operation was aborted");
  t.equal(reason.code, 20);
  t.equal(reason.stack, "AbortError: This operation was aborted", "no stack frames captured");
  t.throws(() => controller.signal.throwIfAborted(), reason);

  const given = new Error("given");
  const other = new AbortController();
  other.abort(given);
  t.equal(other.signal.reason, given, "a reason passed by the caller is kept");
  t.match(given.stack, /per-core\.test\.ts/, "and its stack is untouched");

  const timed = AbortSignal.timeout(1);
  await new Promise((r) => timed.addEventListener("abort", r));
  t.equal((timed.reason as DOMException).name, "TimeoutError", "Node's own signals are unaffected");
});

t.test("requests through grafast (which aborts its controller after each) answer as before", async (t) => {
  const server = await startServer(t, { project: "blog" });
  const aborts: unknown[] = [];
  const abort = AbortController.prototype.abort;
  AbortController.prototype.abort = function (this: AbortController, reason?: unknown) {
    abort.call(this, reason);
    aborts.push(this.signal.reason);
  };
  t.teardown(() => {
    AbortController.prototype.abort = abort;
  });
  for (let i = 0; i < 3; i++) {
    const res = await server.gql("{ __typename }");
    t.equal(res.status, 200);
    t.same(res.body, { data: { __typename: "Query" } });
  }
  t.ok(aborts.length >= 3, `grafast aborted its controllers (${aborts.length})`);
  t.ok(
    aborts.every((r) => r instanceof DOMException && r.name === "AbortError" && r.stack === "AbortError: This operation was aborted"),
    "each with the stack-free default reason",
  );
});

t.test("npm start passes the workers' --max-semi-space-size to the single process too", async (t) => {
  const { readFileSync } = await import("node:fs");
  const { REPO_ROOT } = await import("../../server/config.ts");
  const { MAX_SEMI_SPACE_SIZE_MB } = await import("../../server/cluster/gc-flags.ts");
  const pkg = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, "utf8")) as { scripts: Record<string, string> };
  // V8 sizes the young generation when the process starts: the flag must be on the command line.
  t.match(pkg.scripts.start, new RegExp(`^node --max-semi-space-size=${MAX_SEMI_SPACE_SIZE_MB} server/main\\.ts$`));
});
