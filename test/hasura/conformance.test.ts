/**
 * Hasura GraphQL dialect conformance: the data-driven cases of
 * test/hasura/cases/ against POST /v1/graphql (always HTTP 200, Hasura's
 * error envelope) and, for error cases, POST /v1alpha1/graphql (a 4xx).
 *
 * Each project gets two servers in development mode (no admin secret, so
 * X-Hasura-Role and X-Hasura-* headers are the session, as in Hasura), each
 * on its own clone of the migrated database: read cases run against a
 * pristine one; write cases (mutations, and reads marked `writes`) run one
 * after another, in array order, against the other.
 */
import t from "tap";
import type { Test } from "tap";
import { startServer, type GqlResponse, type TestServer } from "../helpers/server.ts";
import { blogCases } from "./cases/blog.ts";
import { schoolCases } from "./cases/school.ts";
import { isWrite, type ConformanceCase } from "./cases/types.ts";

const suites = [
  { project: "blog" as const, cases: blogCases },
  { project: "app" as const, cases: schoolCases },
];

t.test("the suite itself", async (t) => {
  const total = blogCases.length + schoolCases.length;
  t.ok(total >= 80, `at least 80 cases (${total})`);
  for (const { project, cases } of suites) {
    const names = cases.map((c) => c.name);
    t.same(
      names.filter((n, i) => names.indexOf(n) !== i),
      [],
      `${project}: case names are unique`,
    );
  }
});

function send(srv: TestServer, c: ConformanceCase, path: string): Promise<GqlResponse> {
  return srv.gql(c.query, {
    variables: c.variables,
    headers: { "x-hasura-role": c.role, ...c.session },
    path,
  });
}

function checkError(t: Test, res: GqlResponse, expect: { errorCode: string; message?: string | RegExp }, where: string) {
  const body = res.body;
  const err = body?.errors?.[0];
  t.ok(Array.isArray(body?.errors) && body.errors.length > 0, `${where}: an errors array (got ${JSON.stringify(body)})`);
  t.ok(body?.data === undefined || body?.data === null, `${where}: no data`);
  t.equal(err?.extensions?.code, expect.errorCode, `${where}: extensions.code`);
  t.match(err?.extensions?.path, /^\$/, `${where}: extensions.path is a JSON path`);
  if (typeof expect.message === "string") t.equal(err?.message, expect.message, `${where}: message`);
  else if (expect.message) t.match(err?.message, expect.message, `${where}: message`);
}

async function runCase(t: Test, srv: TestServer, c: ConformanceCase, alsoAlpha: boolean) {
  const res = await send(srv, c, "/v1/graphql");
  t.equal(res.status, 200, "/v1/graphql answers HTTP 200");
  if ("data" in c.expect) {
    t.strictSame(res.body, { data: c.expect.data }, `/v1/graphql body (got ${JSON.stringify(res.body)})`);
    if (alsoAlpha) {
      const alpha = await send(srv, c, "/v1alpha1/graphql");
      t.equal(alpha.status, 200, "/v1alpha1/graphql answers HTTP 200");
      t.strictSame(alpha.body, { data: c.expect.data }, "/v1alpha1/graphql body");
    }
    return;
  }
  checkError(t, res, c.expect, "/v1/graphql");
  // Error cases change nothing, so sending them again is safe even on the write database.
  const alpha = await send(srv, c, "/v1alpha1/graphql");
  t.ok(alpha.status >= 400 && alpha.status < 500, `/v1alpha1/graphql answers 4xx (got ${alpha.status})`);
  checkError(t, alpha, c.expect, "/v1alpha1/graphql");
}

for (const { project, cases } of suites) {
  t.test(`${project} model`, async (t) => {
    const [read, write] = await Promise.all([startServer(t, { project }), startServer(t, { project })]);
    await t.test("reads (pristine database)", async (t) => {
      for (const c of cases.filter((c) => !isWrite(c))) {
        await t.test(`${c.role}: ${c.name}`, (t) => runCase(t, read, c, true));
      }
    });
    await t.test("writes (own database, in order)", async (t) => {
      for (const c of cases.filter(isWrite)) {
        await t.test(`${c.role}: ${c.name}`, (t) => runCase(t, write, c, false));
      }
    });
  });
}
