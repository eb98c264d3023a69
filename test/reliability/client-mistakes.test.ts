/**
 * A client's mistakes are the client's: Hasura's code and message, a 4xx
 * (200 on /v1/graphql, as Hasura answers every error there), never
 * `unexpected` / "database query error" / 5xx (issue 11, hole 5). Then a
 * property: no request a client can build from the schema (random fields,
 * arguments, variables of any declared type and any JSON value, operation
 * kinds and names) yields a 5xx while the database is up.
 *
 * Also: introspection off per role (HASURA_GRAPHQL_INTROSPECTION_DISABLED_FOR_ROLES,
 * Hasura's `graphql_schema_introspection.disabled_for_roles`).
 */
import fc from "fast-check";
import t from "tap";
import { ADMIN, PRODUCTION, SECURED } from "../helpers/secured.ts";
import { startServer, type TestServer } from "../helpers/server.ts";

const SEED = 20261202;

const srv: TestServer = await startServer(t, {
  env: {
    ...PRODUCTION,
    ...SECURED,
    HASURA_GRAPHQL_INTROSPECTION_DISABLED_FOR_ROLES: "anonymous",
  },
});

interface Case {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  code: string;
  message: RegExp;
  path?: string;
}

const CASES: Case[] = [
  {
    name: "wrong variable type ($id: Int! given a string)",
    query: "query ($id: Int!) { user_by_pk(id: $id) { id } }",
    variables: { id: "abc" },
    code: "validation-failed",
    message: /^expected a 32-bit integer for type "Int", but found a string$/,
    path: "$.variableValues.id",
  },
  {
    name: "unknown field in a variable's input object",
    query: "query ($w: user_bool_exp) { user(where: $w) { id } }",
    variables: { w: { nope: { _eq: 1 } } },
    code: "validation-failed",
    message: /^field "nope" not found in type: 'user_bool_exp'$/,
  },
  {
    name: "_in with a null item (variable)",
    query: "query ($ids: [Int!]) { user(where: {id: {_in: $ids}}) { id } }",
    variables: { ids: [1, null] },
    code: "validation-failed",
    message: /^unexpected null value for type "Int"$/,
  },
  {
    name: "_in with a null item (literal)",
    query: "{ user(where: {id: {_in: [1, null]}}) { id } }",
    code: "validation-failed",
    message: /null/,
  },
  {
    name: "required variable missing",
    query: "query ($id: Int!) { user_by_pk(id: $id) { id } }",
    variables: {},
    code: "validation-failed",
    message: /^expecting a value for non-nullable variable: "id"$/,
  },
  {
    name: "_set and _inc on one column",
    query: "mutation { update_user(where: {id: {_eq: 1}}, _set: {id: 5}, _inc: {id: 1}) { affected_rows } }",
    code: "validation-failed",
    message: /multiple operators/,
  },
  {
    name: "two operations without operationName",
    query: "query A { user { id } } query B { user { login } }",
    code: "validation-failed",
    message: /^exactly one operation has to be present in the document when operationName is not specified$/,
  },
  {
    name: "operationName that names no operation",
    query: "query A { user { id } }",
    operationName: "B",
    code: "validation-failed",
    message: /^no such operation found in the document: "B"$/,
  },
  {
    name: "subscription over HTTP",
    query: "subscription { user { id } }",
    code: "unexpected-payload",
    message: /^subscriptions are not supported over HTTP, use websockets instead$/,
  },
];

t.test("client mistakes get Hasura's code and message and a 4xx, never unexpected", async (t) => {
  for (const c of CASES) {
    for (const path of ["/v1alpha1/graphql", "/v1/graphql"]) {
      const res = await fetch(srv.url + path, {
        method: "POST",
        headers: { "content-type": "application/json", ...ADMIN },
        body: JSON.stringify({ query: c.query, variables: c.variables, operationName: c.operationName }),
      });
      const body = (await res.json()) as {
        data?: unknown;
        errors?: Array<{ message: string; extensions: { code: string; path: string } }>;
      };
      const label = `${c.name} on ${path}`;
      t.equal(res.status, path === "/v1/graphql" ? 200 : 400, `${label}: status (${JSON.stringify(body).slice(0, 200)})`);
      t.equal(body.errors?.[0]?.extensions.code, c.code, `${label}: code`);
      t.match(body.errors?.[0]?.message, c.message, `${label}: message`);
      if (c.path) t.equal(body.errors?.[0]?.extensions.path, c.path, `${label}: path`);
      t.notOk(body.data, `${label}: no data`);
    }
  }
  // PostGraphile's dialect refuses a subscription over HTTP the same way.
  const sub = await srv.gql("subscription { __typename }", { headers: ADMIN });
  t.equal(sub.status, 400, "/graphql subscription: 400");
  t.equal(sub.body.errors?.[0]?.extensions?.code, "unexpected-payload", "/graphql subscription: unexpected-payload");
});

t.test("introspection off for a role: __schema and __type are not there; __typename is; other roles unaffected", async (t) => {
  for (const path of ["/v1alpha1/graphql", "/graphql"]) {
    for (const query of [
      "{ __schema { queryType { name } } }",
      '{ __type(name: "user") { name } }',
      `query { ...F } fragment F on ${path === "/graphql" ? "Query" : "query_root"} { __schema { types { name } } }`,
    ]) {
      const anon = await srv.gql(query, { path });
      t.equal(anon.status, 400, `anonymous on ${path}: 400 for ${query.slice(0, 40)}`);
      t.equal(anon.body.errors?.[0]?.extensions?.code, "validation-failed", "validation-failed");
      t.match(anon.body.errors?.[0]?.message, /__schema|__type/, "names the field");
      t.notOk(anon.body.data, "no data");
    }
    const typename = await srv.gql("{ __typename }", { path });
    t.ok(typename.body.data?.__typename, `anonymous on ${path}: __typename still answers`);
    const admin = await srv.gql("{ __schema { queryType { name } } }", { path, headers: ADMIN });
    t.ok(admin.body.data?.__schema?.queryType?.name, `admin on ${path}: introspection works`);
  }
});

// ---------------------------------------------------------------------------
// Property: nothing a client can build from the schema yields a 5xx.

interface FieldInfo {
  name: string;
  args: Array<{ name: string; type: string }>;
}

async function rootFields(kind: "queryType" | "mutationType"): Promise<FieldInfo[]> {
  const typeRef = "name kind ofType { name kind ofType { name kind ofType { name kind } } }";
  const res = await srv.gql(`{ __schema { ${kind} { fields { name args { name type { ${typeRef} } } } } } }`, {
    path: "/v1/graphql",
    headers: ADMIN,
  });
  type TypeRef = { name: string | null; kind: string; ofType: TypeRef | null };
  const print = (t: TypeRef): string =>
    t.kind === "NON_NULL" ? `${print(t.ofType!)}!` : t.kind === "LIST" ? `[${print(t.ofType!)}]` : t.name!;
  const fields = res.body.data.__schema[kind].fields as Array<{ name: string; args: Array<{ name: string; type: TypeRef }> }>;
  return fields.map((f) => ({ name: f.name, args: f.args.map((a) => ({ name: a.name, type: print(a.type) })) }));
}

const KEYS = [
  "id",
  "login",
  "campus",
  "email",
  "name",
  "grade",
  "_eq",
  "_neq",
  "_in",
  "_nin",
  "_gt",
  "_lte",
  "_like",
  "_ilike",
  "_regex",
  "_is_null",
  "_and",
  "_or",
  "_not",
  "_contains",
  "_has_key",
  "objects",
  "where",
  "constraint",
  "update_columns",
  "asc",
  "desc",
  "count",
  "zz",
];
const SCALAR_TYPES = [
  "Int",
  "Int!",
  "String",
  "String!",
  "Float",
  "Boolean",
  "[Int!]",
  "[String]",
  "user_bool_exp",
  "user_bool_exp!",
  "[user_order_by!]",
  "jsonb",
  "numeric",
  "bigint",
  "Nope",
];

/** A JSON value as a GraphQL literal (object keys from the schema's vocabulary). */
function literal(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return `[${v.map(literal).join(", ")}]`;
  if (typeof v === "object")
    return `{${Object.entries(v as object)
      .map(([k, x], i) => `${KEYS[(k.length + i) % KEYS.length]}: ${literal(x)}`)
      .join(", ")}}`;
  if (typeof v === "string") return JSON.stringify(v);
  return String(v);
}

const json = fc.jsonValue({ maxDepth: 3 });
/** JSON whose object keys are the schema's words, so deep paths are reached too. */
const schemaJson = json.map(function rekey(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(rekey);
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x], i) => [KEYS[(k.length + i) % KEYS.length], rekey(x)]));
  return v;
});

t.test("property: no request built from the schema yields a 5xx", async (t) => {
  const queries = await rootFields("queryType");
  const mutations = await rootFields("mutationType");
  const argValue = fc.oneof(
    schemaJson.map((v) => ({ literal: literal(v) })),
    fc.record({ type: fc.constantFrom(...SCALAR_TYPES), value: schemaJson }),
  );
  const request = fc
    .record({
      kind: fc.constantFrom("query", "mutation", "subscription", "query"),
      field: fc.nat(),
      args: fc.array(fc.record({ pick: fc.nat(), value: argValue }), { maxLength: 3 }),
      selection: fc.constantFrom("__typename", "id", "affected_rows", "aggregate { count }", "id login", "returning { id }"),
      operationName: fc.option(fc.constantFrom("A", "B", ""), { nil: undefined }),
      twoOperations: fc.boolean(),
    })
    .map((r) => {
      const fields = r.kind === "mutation" ? mutations : queries;
      const field = fields[r.field % fields.length]!;
      const vars: string[] = [];
      const variables: Record<string, unknown> = {};
      const args = r.args.map((a, i) => {
        const arg = field.args.length ? field.args[a.pick % field.args.length]! : { name: "zz", type: "Int" };
        if ("literal" in a.value) return `${arg.name}: ${a.value.literal}`;
        // Half the time the declared type is the argument's own, so coercion (not validation) is what fails.
        const type = a.pick % 2 ? arg.type : a.value.type;
        vars.push(`$v${i}: ${type}`);
        variables[`v${i}`] = a.value.value;
        return `${arg.name}: $v${i}`;
      });
      const unique = [...new Map(args.map((a) => [a.split(":")[0], a])).values()];
      const head = `${r.kind} A${vars.length ? `(${vars.join(", ")})` : ""}`;
      let query = `${head} { ${field.name}${unique.length ? `(${unique.join(", ")})` : ""} { ${r.selection} } }`;
      if (r.twoOperations) query += " query B { __typename }";
      return { query, variables, operationName: r.operationName };
    });

  let checked = 0;
  await fc.assert(
    fc.asyncProperty(request, async (body) => {
      for (const path of ["/v1alpha1/graphql", "/v1/graphql"]) {
        const res = await fetch(srv.url + path, {
          method: "POST",
          headers: { "content-type": "application/json", ...ADMIN },
          body: JSON.stringify(body),
        });
        const answer = (await res.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
        if (res.status >= 500) throw new Error(`${path} answered ${res.status} for ${JSON.stringify(body)}: ${JSON.stringify(answer)}`);
        const unexpected = answer.errors?.find((e) => e.extensions?.code === "unexpected");
        if (unexpected) throw new Error(`${path} answered unexpected for ${JSON.stringify(body)}: ${JSON.stringify(answer)}`);
      }
      checked++;
    }),
    { seed: SEED, numRuns: 400 },
  );
  t.equal(checked, 400, "400 generated requests, none a 5xx or `unexpected`, on both Hasura endpoints");
});
