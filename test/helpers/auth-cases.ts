/** Shared assertions for the authentication tests. */
import type { Test } from "tap";
import { COUNT_USERS, WRITE } from "./probe.ts";
import type { TestServer } from "./server.ts";

/** The request is refused with this status and code, and nothing was read or written. */
export async function expectRejected(
  t: Test,
  srv: TestServer,
  headers: Record<string, string>,
  status: number,
  code: string,
  message?: RegExp,
): Promise<void> {
  const [before] = await srv.db.asRoot<{ n: number }>(COUNT_USERS);
  const res = await srv.gql(WRITE, { headers });
  t.equal(res.status, status, `status ${status}: ${JSON.stringify(res.body)}`);
  t.equal(res.body?.errors?.[0]?.extensions?.code, code, "error code");
  t.equal(res.body?.errors?.[0]?.extensions?.path, "$", "Hasura error path");
  if (message) t.match(res.body?.errors?.[0]?.message, message);
  t.notOk(res.body?.data, "no data returned");
  const [after] = await srv.db.asRoot<{ n: number }>(COUNT_USERS);
  t.equal(after!.n, before!.n, "nothing written");
}

/** What Postgres saw: role, hasura.user and request.jwt.claims. */
export async function whoami(srv: TestServer, headers: Record<string, string>) {
  const res = await srv.gql("{ whoami }", { headers });
  if (res.status !== 200 || !res.body.data) throw new Error(`whoami failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data.whoami as { role: string; hasura_user: Record<string, string>; claims: Record<string, unknown> | null };
}
