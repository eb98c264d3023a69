/**
 * Shared by the policy matrix tests (test/policies/**): request headers per
 * role, and assertions that compare what a role gets through GraphQL with
 * what the rule, written again in SQL and run as the superuser, says it
 * should get.
 *
 * The server runs in development mode (no admin secret configured), where
 * it trusts X-Hasura-Role, X-Hasura-User-Id and X-Hasura-Campus as the
 * session, like Hasura does. Every request names its role explicitly: in
 * development mode a request without X-Hasura-Role runs as admin.
 */
import type { Test } from "tap";
import { sortRows } from "../helpers/rows.ts";
import type { GqlResponse, TestServer } from "../helpers/server.ts";

export interface SessionOpts {
  userId?: number | string;
  /** Sent as X-Hasura-Campus: a Postgres array literal ({madere,pyc}), or a JSON array if `json`. */
  campus?: string[];
  json?: boolean;
}

export function as(role: string, opts: SessionOpts = {}): Record<string, string> {
  const headers: Record<string, string> = { "x-hasura-role": role };
  if (opts.userId !== undefined) headers["x-hasura-user-id"] = String(opts.userId);
  if (opts.campus) {
    headers["x-hasura-campus"] = opts.json ? JSON.stringify(opts.campus) : `{${opts.campus.join(",")}}`;
  }
  return headers;
}

/** The rows of a connection field (`allX { nodes { … } }`), asserting a 200 without errors. */
export function nodesOf(t: Test, res: GqlResponse, field: string, todo?: string): Record<string, unknown>[] {
  const extra = todo ? { todo } : {};
  t.equal(res.status, 200, `HTTP 200 for ${field}`, extra);
  t.notOk(res.body.errors, `no errors for ${field}: ${JSON.stringify(res.body.errors)}`, extra);
  return res.body.data?.[field]?.nodes ?? [];
}

/**
 * Queries `field` (a connection) through GraphQL as `headers`, and the same
 * columns through SQL as the superuser with the rule in `where`; asserts
 * both are the same rows, in the same order (`orderBy` / `order`).
 * Returns the rows, for further assertions on the fixture.
 */
export async function sameRows(
  t: Test,
  srv: TestServer,
  spec: {
    headers: Record<string, string>;
    field: string;
    /** GraphQL field names, also the SQL column names (quoted as needed)… */
    columns: string[];
    /** …unless given here, in the same order (e.g. author_id for authorId). */
    sqlColumns?: string[];
    /** GraphQL orderBy value, e.g. ID_ASC; with `order`, the same in SQL. */
    orderBy?: string;
    table: string;
    where?: string;
    params?: unknown[];
    order?: string;
    /** Known failure: the assertions are reported as TODO (they still run). */
    todo?: string;
  },
): Promise<Record<string, unknown>[]> {
  const orderArg = spec.orderBy ? `(orderBy: ${spec.orderBy})` : "";
  const res = await srv.gql(`{ ${spec.field}${orderArg} { nodes { ${spec.columns.join(" ")} } } }`, {
    headers: spec.headers,
  });
  const got = nodesOf(t, res, spec.field, spec.todo);
  const extra = spec.todo ? { todo: spec.todo } : {};
  const select = spec.columns
    .map((c, i) => (spec.sqlColumns ? `${quoteIdent(spec.sqlColumns[i]!)} as ${quoteIdent(c)}` : quoteIdent(c)))
    .join(", ");
  const expected = await srv.db.asRoot(
    `select ${select} from public.${quoteIdent(spec.table)} ${spec.where ? `where ${spec.where}` : ""} ${
      spec.order ? `order by ${spec.order}` : ""
    }`,
    spec.params,
  );
  if (spec.order) {
    t.same(got, expected, `${spec.field}: the rows the rule selects`, extra);
  } else {
    t.same(sortRows(got), sortRows(expected), `${spec.field}: the rows the rule selects (any order)`, extra);
  }
  return expected;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The whole table as the superuser, for before/after comparisons. */
export async function snapshot(srv: TestServer, table: string): Promise<unknown[]> {
  return srv.db.asRoot(`select to_jsonb(x) as row from public.${quoteIdent(table)} x order by to_jsonb(x)::text`);
}

/**
 * Runs a write that must be refused and asserts that it was (an error, no
 * data for the field) and that `table` is exactly as before.
 */
export async function refusedWrite(
  t: Test,
  srv: TestServer,
  spec: { headers: Record<string, string>; query: string; table: string; status?: number; message?: RegExp },
): Promise<GqlResponse> {
  const before = await snapshot(srv, spec.table);
  const res = await srv.gql(spec.query, { headers: spec.headers });
  t.equal(res.status, spec.status ?? 200, `HTTP ${spec.status ?? 200}`);
  t.ok(res.body.errors?.length, `an error: ${JSON.stringify(res.body)}`);
  if (spec.message) t.match(res.body.errors?.[0]?.message, spec.message);
  const data = res.body.data ?? {};
  t.ok(
    Object.values(data).every((v) => v === null),
    "no mutation result",
  );
  t.same(await snapshot(srv, spec.table), before, `${spec.table} unchanged`);
  return res;
}

/** Whether the role's schema has a Mutation type at all. */
export async function mutationTypeOf(srv: TestServer, headers: Record<string, string>): Promise<string | null> {
  const res = await srv.gql("{ __schema { mutationType { name } } }", { headers });
  if (res.status !== 200) throw new Error(`introspection failed: ${JSON.stringify(res.body)}`);
  return res.body.data.__schema.mutationType?.name ?? null;
}

/** The scalar (column) fields of a GraphQL object type in the role's schema. */
export async function scalarFieldsOf(srv: TestServer, headers: Record<string, string>, typeName: string): Promise<string[] | null> {
  const res = await srv.gql(`query($name: String!) { __type(name: $name) { fields { name type { kind ofType { kind } } } } }`, {
    headers,
    variables: { name: typeName },
  });
  if (res.status !== 200) throw new Error(`introspection failed: ${JSON.stringify(res.body)}`);
  const type = res.body.data.__type;
  if (!type) return null;
  return (type.fields as { name: string; type: { kind: string; ofType: { kind: string } | null } }[])
    .filter((f) => (f.type.kind === "NON_NULL" ? f.type.ofType?.kind : f.type.kind) === "SCALAR")
    .map((f) => f.name)
    .sort();
}
