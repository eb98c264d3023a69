/**
 * The school platform (seed 001) queried the way its clients query Hasura, on
 * /v1/graphql, as every role of the seed with the session each role needs,
 * carried by a JWT as the platform's authentication service mints it
 * (anonymous: no token, the unauthorized role):
 *
 *   anonymous                no session variables
 *   user                     x-hasura-user-id (each seed user)
 *   campus-admin,
 *   admin-campus-read-only   x-hasura-campus ({madere}, {pyc}, {madere,pyc})
 *   admin, admin-read-only   none
 *
 * The client queries:
 *   - a profile by login: user(where: {login: {_eq: $name}}) { … }
 *   - the events of a campus, with object { name } and parent { path }
 *   - a user's xp: transaction(where: {type: {_eq: "xp"}, …}) { … } and
 *     transaction_aggregate(…) { aggregate { count sum { amount } } }
 *   - a profile page: user_by_pk(id:) with its transactions_aggregate (the
 *     array relationship, filtered by the transaction rule as well)
 *
 * Each answer is compared with the rows the seed's rule allows, written again
 * here in SQL (RULES) and run as the superuser: never with server output.
 * Columns a role has no grant on do not exist in its schema.
 */
import t from "tap";
import { sortRows } from "../helpers/rows.ts";
import { SECURED_JWT } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { hasuraClaims, sign } from "../helpers/tokens.ts";
import { V1, dataOf, expectHasuraError, sortById } from "./helpers-walkthrough.ts";

const srv = await startServer(t, { env: SECURED_JWT });

type Role = "anonymous" | "user" | "campus-admin" | "admin-campus-read-only" | "admin" | "admin-read-only";

interface Session {
  role: Role;
  userId?: number;
  campus?: string[];
}

const SESSIONS: Session[] = [
  { role: "anonymous" },
  ...[1, 2, 3, 4].map((userId) => ({ role: "user" as const, userId })),
  ...(["campus-admin", "admin-campus-read-only"] as const).flatMap((role) =>
    [["madere"], ["pyc"], ["madere", "pyc"]].map((campus) => ({ role, campus })),
  ),
  { role: "admin" },
  { role: "admin-read-only" },
];

const label = (s: Session) => `${s.role}${s.userId ? ` user ${s.userId}` : ""}${s.campus ? ` {${s.campus.join(",")}}` : ""}`;

async function headersOf(s: Session): Promise<Record<string, string>> {
  if (s.role === "anonymous") return {};
  const extra: Record<string, string> = {};
  if (s.userId !== undefined) extra["x-hasura-user-id"] = String(s.userId);
  if (s.campus) extra["x-hasura-campus"] = `{${s.campus.join(",")}}`;
  return { authorization: `Bearer ${await sign(hasuraClaims(s.role, extra))}`, "x-hasura-role": s.role };
}

// ---------------------------------------------------------------------------
// The seed's rules, in SQL, over a table alias. null: the role cannot read it.
// Session values come from the fixed lists above and are inlined as literals.
// ---------------------------------------------------------------------------
const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
const campusList = (s: Session) => `array[${(s.campus ?? []).map(lit).join(",")}]::text[]`;
const isCampusRole = (r: Role) => r === "campus-admin" || r === "admin-campus-read-only";

const RULES: Record<"user" | "event" | "object" | "transaction", (s: Session, a: string) => string | null> = {
  user: (s, a) => (s.role === "user" ? `${a}.id = ${s.userId}` : isCampusRole(s.role) ? `${a}.campus = any(${campusList(s)})` : "true"),
  event: (s, a) => (s.role === "anonymous" ? null : isCampusRole(s.role) ? `${a}.campus = any(${campusList(s)})` : "true"),
  object: (s, a) => (isCampusRole(s.role) ? `${a}.campus = any(${campusList(s)})` : "true"),
  transaction: (s, a) =>
    s.role === "user" ? `${a}."userId" = ${s.userId}` : isCampusRole(s.role) ? `${a}.campus = any(${campusList(s)})` : "true",
};

// The columns each role may select (the seed's column lists).
const USER_COLUMNS = (s: Session) =>
  s.role === "anonymous" ? ["id", "login"] : ["id", "login", "firstName", "lastName", "email", "campus"];
const TX_COLUMNS = (s: Session) =>
  s.role === "anonymous" ? ["userId", "objectId", "amount", "type"] : ["id", "type", "amount", "userId", "objectId", "campus", "path"];

const q = (c: string) => `"${c}"`;
/** numeric comes back as a JSON number in Hasura's dialect. */
const numeric = <T extends Record<string, unknown>>(row: T): T => ("amount" in row ? { ...row, amount: Number(row.amount) } : row);

t.test("a profile by login", async (t) => {
  const query = (cols: string[]) => `query UserByLogin($name: String!) { user(where: {login: {_eq: $name}}) { ${cols.join(" ")} } }`;
  for (const s of SESSIONS) {
    const headers = await headersOf(s);
    const cols = USER_COLUMNS(s);
    for (const name of ["alice", "bob", "chloe", "dimitri", "nobody"]) {
      const expected = await srv.db.asRoot(
        `select ${cols.map((c) => `u.${q(c)}`).join(", ")} from public."user" u where u.login = $1 and (${RULES.user(s, "u")})`,
        [name],
      );
      const data = dataOf(t, await srv.gql(query(cols), { headers, variables: { name }, path: V1 }), `${label(s)} ${name}`);
      t.same(data, { user: expected }, `${label(s)}: user(login = ${name}) is ${expected.length ? "there" : "absent"}`);
    }
  }
});

t.test("anonymous: columns and tables outside its grants do not exist", async (t) => {
  const headers = await headersOf({ role: "anonymous" });
  const email = await srv.gql(`{ user(where: {login: {_eq: "alice"}}) { id email } }`, { headers, path: V1 });
  expectHasuraError(t, email, "email", {
    status: 200,
    code: "validation-failed",
    message: "field 'email' not found in type: 'user'",
    path: "$.selectionSet.user.selectionSet.email",
  });
  const id = await srv.gql(`{ transaction { id amount } }`, { headers, path: V1 });
  expectHasuraError(t, id, "transaction.id", {
    status: 200,
    code: "validation-failed",
    message: "field 'id' not found in type: 'transaction'",
    path: "$.selectionSet.transaction.selectionSet.id",
  });
});

t.test("the events of a campus, with their object and parent", async (t) => {
  const query = `query CampusEvents($campus: String!) {
    event(where: {campus: {_eq: $campus}}, order_by: {id: asc}) {
      id path campus
      object { name }
      parent { path }
    }
  }`;
  for (const s of SESSIONS) {
    const headers = await headersOf(s);
    for (const campus of ["madere", "pyc"]) {
      const res = await srv.gql(query, { headers, variables: { campus }, path: V1 });
      const eventRule = RULES.event(s, "e");
      if (eventRule === null) {
        expectHasuraError(t, res, `${label(s)} event`, {
          status: 200,
          code: "validation-failed",
          message: "field 'event' not found in type: 'query_root'",
          path: "$.selectionSet.event",
        });
        continue;
      }
      // A relationship to a row the role cannot read resolves to null.
      const expected = await srv.db.asRoot(
        `select e.id, e.path, e.campus,
                case when o.id is null then null else json_build_object('name', o.name) end as object,
                case when p.id is null then null else json_build_object('path', p.path) end as parent
           from public.event e
           left join public.object o on o.id = e."objectId" and (${RULES.object(s, "o")})
           left join public.event p on p.id = e."parentId" and (${RULES.event(s, "p")})
          where e.campus = $1 and (${eventRule})
          order by e.id`,
        [campus],
      );
      const data = dataOf(t, res, `${label(s)} events of ${campus}`);
      t.same(data, { event: expected }, `${label(s)}: the ${expected.length} events of ${campus} it may read`);
    }
  }
  // The fixture exercises the relationships: a nested event, and a campus role
  // that sees none of the other campus' events.
  const [{ nested }] = await srv.db.asRoot<{ nested: number }>(
    `select count(*)::int as nested from public.event where "parentId" is not null`,
  );
  t.ok(nested > 0, "some event has a parent");
});

t.test("a user's xp: transaction and transaction_aggregate", async (t) => {
  const query = (cols: string[]) => `query UserXp($userId: Int!) {
    transaction(where: {userId: {_eq: $userId}, type: {_eq: "xp"}}) { ${cols.join(" ")} }
    transaction_aggregate(where: {userId: {_eq: $userId}, type: {_eq: "xp"}}) { aggregate { count sum { amount } } }
  }`;
  for (const s of SESSIONS) {
    const headers = await headersOf(s);
    const cols = TX_COLUMNS(s);
    for (const userId of [1, 2, 3, 4]) {
      const expected = (
        await srv.db.asRoot(
          `select ${cols.map((c) => `x.${q(c)}`).join(", ")} from public.transaction x
            where x."userId" = $1 and x.type = 'xp' and (${RULES.transaction(s, "x")})`,
          [userId],
        )
      ).map(numeric);
      const data = dataOf(t, await srv.gql(query(cols), { headers, variables: { userId }, path: V1 }), `${label(s)} xp of ${userId}`);
      t.same(sortRows(data?.transaction ?? []), sortRows(expected), `${label(s)}: xp transactions of user ${userId}`);
      const sum = expected.length ? expected.reduce((n, r) => n + (r.amount as number), 0) : null;
      t.same(
        data?.transaction_aggregate,
        { aggregate: { count: expected.length, sum: { amount: sum } } },
        `${label(s)}: count ${expected.length}, sum ${sum}`,
      );
    }
  }
});

t.test("the xp a role sees, without naming a user", async (t) => {
  // What a student's dashboard sends: the rule alone decides whose rows these are.
  for (const s of SESSIONS) {
    const headers = await headersOf(s);
    const cols = TX_COLUMNS(s);
    const withId = cols.includes("id");
    const query = `{
      transaction(where: {type: {_eq: "xp"}}${withId ? ", order_by: {id: asc}" : ""}) { ${cols.join(" ")} }
      transaction_aggregate(where: {type: {_eq: "xp"}}) { aggregate { count } }
    }`;
    const expected = (
      await srv.db.asRoot(
        `select ${cols.map((c) => `x.${q(c)}`).join(", ")} from public.transaction x
          where x.type = 'xp' and (${RULES.transaction(s, "x")}) ${withId ? "order by x.id" : ""}`,
      )
    ).map(numeric);
    const data = dataOf(t, await srv.gql(query, { headers, path: V1 }), `${label(s)} xp`);
    const got = data?.transaction ?? [];
    t.same(withId ? sortById(got) : sortRows(got), withId ? expected : sortRows(expected), `${label(s)}: the xp rows its rule allows`);
    if (withId) t.same(got, expected, `${label(s)}: in id order`);
    t.same(data?.transaction_aggregate, { aggregate: { count: expected.length } }, `${label(s)}: count ${expected.length}`);
  }
});

t.test("a profile page: user_by_pk with its xp total", async (t) => {
  const query = `query Profile($id: Int!) {
    user_by_pk(id: $id) {
      login
      transactions_aggregate(where: {type: {_eq: "xp"}}) { aggregate { count sum { amount } } }
    }
  }`;
  for (const s of SESSIONS) {
    const headers = await headersOf(s);
    for (const id of [1, 2, 3, 4, 99]) {
      const [user] = await srv.db.asRoot<{ login: string }>(
        `select u.login from public."user" u where u.id = $1 and (${RULES.user(s, "u")})`,
        [id],
      );
      const [agg] = await srv.db.asRoot<{ count: number; sum: string | null }>(
        `select count(*)::int as count, sum(x.amount) as sum from public.transaction x
          where x."userId" = $1 and x.type = 'xp' and (${RULES.transaction(s, "x")})`,
        [id],
      );
      const expected = user
        ? {
            login: user.login,
            transactions_aggregate: { aggregate: { count: agg!.count, sum: { amount: agg!.sum === null ? null : Number(agg!.sum) } } },
          }
        : null;
      const data = dataOf(t, await srv.gql(query, { headers, variables: { id }, path: V1 }), `${label(s)} profile ${id}`);
      t.same(
        data,
        { user_by_pk: expected },
        `${label(s)}: profile of ${id} is ${expected ? JSON.stringify(expected.transactions_aggregate.aggregate) : "null"}`,
      );
    }
  }
  // anonymous cannot select transaction.id, so transaction_by_pk is not in its schema.
  const res = await srv.gql(`{ transaction_by_pk(id: 1) { amount } }`, { headers: await headersOf({ role: "anonymous" }), path: V1 });
  expectHasuraError(t, res, "anonymous transaction_by_pk", {
    status: 200,
    code: "validation-failed",
    message: "field 'transaction_by_pk' not found in type: 'query_root'",
    path: "$.selectionSet.transaction_by_pk",
  });
});

t.test("a token without the session variable the rule needs", async (t) => {
  const cases = [
    { role: "user" as const, variable: "x-hasura-user-id", query: `{ transaction(where: {type: {_eq: "xp"}}) { id } }`, variables: {} },
    {
      role: "campus-admin" as const,
      variable: "x-hasura-campus",
      query: `query ($campus: String!) { event(where: {campus: {_eq: $campus}}) { id } }`,
      variables: { campus: "madere" },
    },
  ];
  for (const c of cases) {
    const res = await srv.gql(c.query, { headers: await headersOf({ role: c.role }), variables: c.variables, path: V1 });
    expectHasuraError(t, res, `${c.role} without ${c.variable}`, {
      status: 200,
      code: "not-found",
      message: `missing session variables: "${c.variable}"`,
      path: "$",
    });
  }
});

t.test("no role but the writers has a mutation root", async (t) => {
  for (const role of ["anonymous", "user", "admin-campus-read-only", "admin-read-only"] as const) {
    const s: Session = role === "user" ? { role, userId: 1 } : isCampusRole(role) ? { role, campus: ["madere"] } : { role };
    const res = await srv.gql(`mutation { delete_transaction(where: {}) { affected_rows } }`, { headers: await headersOf(s), path: V1 });
    expectHasuraError(t, res, `${role} delete_transaction`, {
      status: 200,
      code: "validation-failed",
      message: "no mutations exist",
      path: "$",
    });
  }
  const [{ n }] = await srv.db.asRoot<{ n: number }>("select count(*)::int as n from public.transaction");
  t.equal(n, 10, "the ledger is intact");
});
