/**
 * The two dialects read the same rows: a random role and session, a random
 * filter on the school model's `transaction` or `progress`, sent through
 * PostGraphile's /graphql and Hasura's /v1/graphql with the same headers,
 * give the same rows under the same RLS policies (fast-check, fixed seed).
 *
 *   1. equality filters (PostGraphile's `condition`, Hasura's `_eq` /
 *      `_is_null` under `_and`), with the same order and pagination
 *      (orderBy [<COL>_ASC|DESC, ID_ASC] / first / offset against
 *      order_by [{col: asc|desc}, {id: asc}] / limit / offset): the same rows
 *      in the same order, and totalCount equals t_aggregate { aggregate { count } };
 *   2. Hasura's richer boolean expressions (_and/_or/_not, _neq, _gt…, _in,
 *      _nin, _like, _is_null, and filters through the object relationships
 *      `object` and `user`): the rows /v1/graphql returns are those of
 *      /graphql's (unfiltered, RLS only) answer for which the expression,
 *      evaluated here with SQL's three-valued logic, is true.
 *
 * Both select the object relationships too (`object { campus name }`,
 * `user { login }` against objectByObjectId / userByUserId): a related row
 * the role cannot read is null in both. A relationship filter on such a row
 * is false (Hasura: EXISTS over the rows the role may read).
 *
 * FC_SEED / FC_RUNS override the fixed seed and the number of runs, to
 * explore further.
 *
 * Development mode (no admin secret): X-Hasura-Role and X-Hasura-* headers
 * are the session, for both endpoints alike.
 */
import fc from "fast-check";
import t, { type Test } from "tap";
import { sortRows } from "../helpers/rows.ts";
import { startServer } from "../helpers/server.ts";
import { as } from "../policies/helpers.ts";
import { PG, V1 } from "./helpers-walkthrough.ts";

const srv = await startServer(t);

type Scalar = string | number | boolean | null;
type Row = Record<string, Scalar | Record<string, Scalar> | null>;
type Kind = "int" | "numeric" | "text" | "bool";

interface Column {
  name: string;
  kind: Kind;
  /** Usable in PostGraphile's `condition` (indexed columns only). */
  condition: boolean;
  values: Scalar[];
}

interface TableSpec {
  table: string;
  /** PostGraphile's connection field. */
  field: string;
  columns: Column[];
  /** The columns anonymous may select (the seed's list). */
  anonymous: string[];
  /** The columns the other roles compare (all of them are granted). */
  others: string[];
}

/** The object relationships both tables have, their PostGraphile names and the related columns compared. */
const RELATIONSHIPS = [
  {
    name: "object",
    pg: "objectByObjectId",
    columns: [
      { name: "campus", kind: "text" as Kind, condition: false, values: ["madere", "pyc", "nowhere"] as Scalar[] },
      {
        name: "name",
        kind: "text" as Kind,
        condition: false,
        values: ["Div-01", "go-reloaded", "Piscine JS", "printalphabet"] as Scalar[],
      },
    ],
  },
  {
    name: "user",
    pg: "userByUserId",
    columns: [{ name: "login", kind: "text" as Kind, condition: false, values: ["alice", "bob", "chloe", "dimitri", "eve"] as Scalar[] }],
  },
];
const relSelection = (dialect: "pg" | "hasura") =>
  RELATIONSHIPS.map((r) => `${dialect === "pg" ? r.pg : r.name} { ${r.columns.map((c) => c.name).join(" ")} }`).join(" ");

const TABLES: TableSpec[] = [
  {
    table: "transaction",
    field: "allTransactions",
    columns: [
      { name: "id", kind: "int", condition: true, values: [1, 3, 5, 8, 10, 11] },
      { name: "type", kind: "text", condition: true, values: ["xp", "up", "down", "level", "nope"] },
      { name: "userId", kind: "int", condition: true, values: [1, 2, 3, 4, 5] },
      { name: "objectId", kind: "int", condition: true, values: [1, 2, 3, 5, 6, 7, 99] },
      { name: "campus", kind: "text", condition: true, values: ["madere", "pyc", "nowhere", null] },
      { name: "amount", kind: "numeric", condition: false, values: [1, 200, 800, 1000, 1200, 4000, 5000] },
      { name: "path", kind: "text", condition: false, values: ["/madere/div-01", "/pyc/div-01/go-reloaded"] },
    ],
    anonymous: ["userId", "objectId", "amount", "type"],
    others: ["id", "type", "userId", "objectId", "campus", "amount", "path"],
  },
  {
    table: "progress",
    field: "allProgresses",
    columns: [
      { name: "id", kind: "int", condition: true, values: [1, 2, 4, 6, 7, 8] },
      { name: "userId", kind: "int", condition: true, values: [1, 2, 3, 4, 5] },
      { name: "groupId", kind: "int", condition: true, values: [1, 2, 3, 4, null] },
      { name: "objectId", kind: "int", condition: true, values: [2, 3, 5, 7, 99] },
      { name: "campus", kind: "text", condition: true, values: ["madere", "pyc", null] },
      { name: "grade", kind: "numeric", condition: false, values: [0, 1, 1.2, 2, null] },
      { name: "isDone", kind: "bool", condition: false, values: [true, false] },
    ],
    anonymous: ["id", "userId", "objectId", "campus", "grade", "isDone"],
    others: ["id", "userId", "groupId", "objectId", "campus", "grade", "isDone"],
  },
];

// ---------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------
interface Session {
  role: string;
  userId?: number;
  campus?: string[];
}

const sessionArb: fc.Arbitrary<Session> = fc.oneof(
  fc.constant({ role: "anonymous" }),
  fc.integer({ min: 1, max: 5 }).map((userId) => ({ role: "user", userId })),
  fc
    .tuple(fc.constantFrom("campus-admin", "admin-campus-read-only"), fc.subarray(["madere", "pyc", "nowhere"]))
    .map(([role, campus]) => ({ role, campus })),
  fc.constant({ role: "admin" }),
  fc.constant({ role: "admin-read-only" }),
);

const headersOf = (s: Session) => as(s.role, { userId: s.userId, campus: s.campus });
const columnsOf = (spec: TableSpec, s: Session) => (s.role === "anonymous" ? spec.anonymous : spec.others);
const kindOf = (spec: TableSpec, name: string) => spec.columns.find((c) => c.name === name)!.kind;

/**
 * numeric is a string (BigFloat) in PostGraphile, a number in Hasura: compare
 * as numbers. PostGraphile's relationship names become Hasura's.
 */
function normalize(spec: TableSpec, rows: Row[]): Row[] {
  return rows.map((r) => {
    const out: Row = {};
    for (const [k, v] of Object.entries(r)) {
      const rel = RELATIONSHIPS.find((x) => x.pg === k || x.name === k);
      if (rel) out[rel.name] = v;
      else out[k] = kindOf(spec, k) === "numeric" && v !== null ? Number(v) : v;
    }
    return out;
  });
}

/** PostGraphile's orderBy enum value of a column: userId → USER_ID. */
const pgOrder = (column: string, dir: "asc" | "desc") => `${column.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()}_${dir.toUpperCase()}`;

const gqlValue = (v: Scalar) => JSON.stringify(v); // strings, numbers, booleans, null: GraphQL literals too

/** The rows of the query's first field, and the count of its `n` field (totalCount / aggregate.count) if any. */
async function run(path: string, query: string, s: Session): Promise<{ rows: Row[] | null; count?: number; raw: unknown }> {
  const res = await srv.gql(query, { headers: headersOf(s), path });
  if (res.status !== 200 || res.body?.errors || !res.body?.data) return { rows: null, raw: { status: res.status, body: res.body } };
  const data = Object.values(res.body.data)[0] as { nodes?: Row[] } | Row[];
  const n = res.body.data.n;
  return { rows: Array.isArray(data) ? data : (data?.nodes ?? null), count: n?.totalCount ?? n?.aggregate?.count, raw: res.body };
}

const FC_OPTS = {
  seed: Number(process.env.FC_SEED ?? 20240611),
  numRuns: Number(process.env.FC_RUNS ?? 100),
  endOnFailure: true,
  includeErrorInReport: true,
};

async function check<T>(t: Test, name: string, property: fc.IAsyncProperty<[T]>) {
  try {
    await fc.assert(property, FC_OPTS);
    t.pass(`${name}: ${FC_OPTS.numRuns} runs agree`);
  } catch (e) {
    const cause = (e as Error).cause as Error | undefined;
    t.fail(`${name}: ${(e as Error).message}${cause ? `\n${cause.message}` : ""}`);
  }
}

// ---------------------------------------------------------------------------
// 1. Equality filters, order and pagination
// ---------------------------------------------------------------------------
const specOf = (table: string) => TABLES.find((s) => s.table === table)!;

interface EqCase {
  session: Session;
  table: string;
  atoms: Array<{ column: string; value: Scalar }>;
  /** An order (a column, then id), with pagination. */
  page: { column: string; dir: "asc" | "desc"; limit: number; offset: number } | null;
}

const eqCaseArb: fc.Arbitrary<EqCase> = fc.tuple(sessionArb, fc.constantFrom(...TABLES.map((s) => s.table))).chain(([session, table]) => {
  const spec = specOf(table);
  const usable = spec.columns.filter((c) => c.condition && columnsOf(spec, session).includes(c.name));
  const atom = fc.constantFrom(...usable).chain((c) => fc.constantFrom(...c.values).map((value) => ({ column: c.name, value })));
  const atoms = fc.uniqueArray(atom, { maxLength: 2, selector: (a) => a.column });
  const page = columnsOf(spec, session).includes("id")
    ? fc.option(
        fc.record({
          column: fc.constantFrom(...usable.map((c) => c.name)),
          dir: fc.constantFrom("asc" as const, "desc" as const),
          limit: fc.integer({ min: 0, max: 6 }),
          offset: fc.integer({ min: 0, max: 4 }),
        }),
        { nil: null },
      )
    : fc.constant(null);
  return fc.record({ session: fc.constant(session), table: fc.constant(table), atoms, page });
});

function eqQueries(c: EqCase): { pg: string; hasura: string } {
  const spec = specOf(c.table);
  const cols = columnsOf(spec, c.session);
  const pgArgs: string[] = [];
  const hArgs: string[] = [];
  if (c.atoms.length) {
    pgArgs.push(`condition: {${c.atoms.map((a) => `${a.column}: ${gqlValue(a.value)}`).join(", ")}}`);
    const conds = c.atoms.map((a) => (a.value === null ? `{${a.column}: {_is_null: true}}` : `{${a.column}: {_eq: ${gqlValue(a.value)}}}`));
    hArgs.push(`where: {_and: [${conds.join(", ")}]}`);
  }
  if (c.page) {
    const { column, dir, limit, offset } = c.page;
    pgArgs.push(`orderBy: [${pgOrder(column, dir)}, ID_ASC], first: ${limit}, offset: ${offset}`);
    hArgs.push(`order_by: [{${column}: ${dir}}, {id: asc}], limit: ${limit}, offset: ${offset}`);
  }
  const args = (a: string[]) => (a.length ? `(${a.join(", ")})` : "");
  // n: the count of the filtered rows, without the pagination.
  const pgCount = `n: ${spec.field}${args(pgArgs.slice(0, c.atoms.length ? 1 : 0))} { totalCount }`;
  const hCount = `n: ${spec.table}_aggregate${args(hArgs.slice(0, c.atoms.length ? 1 : 0))} { aggregate { count } }`;
  return {
    pg: `{ ${spec.field}${args(pgArgs)} { nodes { ${cols.join(" ")} ${relSelection("pg")} } } ${pgCount} }`,
    hasura: `{ ${spec.table}${args(hArgs)} { ${cols.join(" ")} ${relSelection("hasura")} } ${hCount} }`,
  };
}

t.test("equality filters, order and pagination agree", async (t) => {
  let nonEmpty = 0;
  await check(
    t,
    "condition vs where",
    fc.asyncProperty(eqCaseArb, async (c) => {
      const { pg, hasura } = eqQueries(c);
      const a = await run(PG, pg, c.session);
      const b = await run(V1, hasura, c.session);
      const fail = (why: string) =>
        new Error(
          `${why}\nsession ${JSON.stringify(c.session)}\n/graphql:    ${pg}\n  → ${JSON.stringify(a.raw)}\n/v1/graphql: ${hasura}\n  → ${JSON.stringify(b.raw)}`,
        );
      if (!a.rows) throw fail("/graphql failed");
      if (!b.rows) throw fail("/v1/graphql failed");
      const x = normalize(specOf(c.table), a.rows);
      const y = normalize(specOf(c.table), b.rows);
      // With an order (pagination), the same sequence; else the same set.
      const same = c.page ? JSON.stringify(x) === JSON.stringify(y) : JSON.stringify(sortRows(x)) === JSON.stringify(sortRows(y));
      if (!same) throw fail("different rows");
      if (typeof a.count !== "number" || a.count !== b.count) throw fail("different counts");
      if (x.length) nonEmpty++;
    }),
  );
  t.ok(nonEmpty >= FC_OPTS.numRuns / 5, `the generated cases often find rows (${nonEmpty} of ${FC_OPTS.numRuns})`);
});

// ---------------------------------------------------------------------------
// 2. Hasura's boolean expressions against the same rows filtered here
// ---------------------------------------------------------------------------
type BoolExp =
  | { kind: "cmp"; column: string; op: string; value: Scalar | Scalar[] }
  | { kind: "and" | "or"; items: BoolExp[] }
  | { kind: "not"; item: BoolExp }
  | { kind: "rel"; rel: string; item: BoolExp };

function leafArb(columns: Column[]): fc.Arbitrary<BoolExp> {
  return fc.constantFrom(...columns).chain((c) => {
    const nonNull = c.values.filter((v) => v !== null);
    const one = fc.constantFrom(...nonNull);
    const many = fc.uniqueArray(one, { minLength: 1, maxLength: 3 });
    const ops: fc.Arbitrary<BoolExp>[] = [
      fc.constantFrom("_eq", "_neq").chain((op) => one.map((value) => ({ kind: "cmp" as const, column: c.name, op, value }))),
      fc.constantFrom("_in", "_nin").chain((op) => many.map((value) => ({ kind: "cmp" as const, column: c.name, op, value }))),
      fc.boolean().map((value) => ({ kind: "cmp" as const, column: c.name, op: "_is_null", value })),
    ];
    if (c.kind === "int" || c.kind === "numeric") {
      ops.push(
        fc
          .constantFrom("_gt", "_gte", "_lt", "_lte")
          .chain((op) => one.map((value) => ({ kind: "cmp" as const, column: c.name, op, value }))),
      );
    }
    if (c.kind === "text") {
      ops.push(
        fc
          .constantFrom("%e%", "m%", "%c", "x_", "%/div-01%", "_____")
          .map((value) => ({ kind: "cmp" as const, column: c.name, op: "_like", value })),
      );
    }
    return fc.oneof(...ops);
  });
}

function boolExpArb(spec: TableSpec, cols: string[]): fc.Arbitrary<BoolExp> {
  const own = leafArb(spec.columns.filter((c) => cols.includes(c.name)));
  const rel = fc.constantFrom(...RELATIONSHIPS).chain((r) =>
    fc
      .oneof(
        leafArb(r.columns),
        fc.array(leafArb(r.columns), { minLength: 1, maxLength: 2 }).map((items): BoolExp => ({ kind: "or", items })),
      )
      .map((item): BoolExp => ({ kind: "rel", rel: r.name, item })),
  );
  const { exp } = fc.letrec<{ exp: BoolExp }>((tie) => ({
    exp: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      { arbitrary: own, weight: 3 },
      { arbitrary: rel, weight: 1 },
      { arbitrary: fc.array(tie("exp"), { minLength: 1, maxLength: 3 }).map((items): BoolExp => ({ kind: "and", items })), weight: 1 },
      { arbitrary: fc.array(tie("exp"), { minLength: 1, maxLength: 3 }).map((items): BoolExp => ({ kind: "or", items })), weight: 1 },
      { arbitrary: tie("exp").map((item): BoolExp => ({ kind: "not", item })), weight: 1 },
    ),
  }));
  return exp;
}

function toGraphQL(e: BoolExp): string {
  switch (e.kind) {
    case "cmp": {
      const v = Array.isArray(e.value) ? `[${e.value.map(gqlValue).join(", ")}]` : gqlValue(e.value);
      return `{${e.column}: {${e.op}: ${v}}}`;
    }
    case "and":
    case "or":
      return `{_${e.kind}: [${e.items.map(toGraphQL).join(", ")}]}`;
    case "not":
      return `{_not: ${toGraphQL(e.item)}}`;
    case "rel":
      return `{${e.rel}: ${toGraphQL(e.item)}}`;
  }
}

const likeRegex = (pattern: string) =>
  new RegExp(
    `^${[...pattern].map((ch) => (ch === "%" ? ".*" : ch === "_" ? "." : ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))).join("")}$`,
    "s",
  );

/** SQL's three-valued logic: true, false or null (unknown). */
function evaluate(e: BoolExp, row: Row): boolean | null {
  switch (e.kind) {
    case "cmp": {
      const x = (row[e.column] ?? null) as Scalar;
      if (e.op === "_is_null") return (x === null) === e.value;
      if (x === null) return null;
      const v = e.value;
      switch (e.op) {
        case "_eq":
          return x === v;
        case "_neq":
          return x !== v;
        case "_gt":
          return (x as number) > (v as number);
        case "_gte":
          return (x as number) >= (v as number);
        case "_lt":
          return (x as number) < (v as number);
        case "_lte":
          return (x as number) <= (v as number);
        case "_in":
          return (v as Scalar[]).includes(x);
        case "_nin":
          return !(v as Scalar[]).includes(x);
        case "_like":
          return likeRegex(v as string).test(x as string);
      }
      throw new Error(`unknown operator ${e.op}`);
    }
    case "and": {
      const r = e.items.map((i) => evaluate(i, row));
      return r.includes(false) ? false : r.includes(null) ? null : true;
    }
    case "or": {
      const r = e.items.map((i) => evaluate(i, row));
      return r.includes(true) ? true : r.includes(null) ? null : false;
    }
    case "not": {
      const r = evaluate(e.item, row);
      return r === null ? null : !r;
    }
    case "rel": {
      // EXISTS (a related row the role may read, for which the filter is true).
      const related = row[e.rel] as Row | null;
      return related !== null && evaluate(e.item, related) === true;
    }
  }
}

interface ExpCase {
  session: Session;
  table: string;
  where: BoolExp;
}

const expCaseArb: fc.Arbitrary<ExpCase> = fc.tuple(sessionArb, fc.constantFrom(...TABLES.map((s) => s.table))).chain(([session, table]) =>
  fc.record({
    session: fc.constant(session),
    table: fc.constant(table),
    where: boolExpArb(specOf(table), columnsOf(specOf(table), session)),
  }),
);

t.test("Hasura's boolean expressions select exactly the matching rows of /graphql's answer", async (t) => {
  let nonEmpty = 0;
  let filtered = 0;
  let relFilters = 0;
  await check(
    t,
    "where vs evaluated",
    fc.asyncProperty(expCaseArb, async (c) => {
      const spec = specOf(c.table);
      const cols = columnsOf(spec, c.session);
      const pg = `{ ${spec.field} { nodes { ${cols.join(" ")} ${relSelection("pg")} } } }`;
      const hasura = `{ ${spec.table}(where: ${toGraphQL(c.where)}) { ${cols.join(" ")} ${relSelection("hasura")} } }`;
      const a = await run(PG, pg, c.session);
      const b = await run(V1, hasura, c.session);
      const fail = (why: string) =>
        new Error(
          `${why}\nsession ${JSON.stringify(c.session)}\n/graphql:    ${pg}\n  → ${JSON.stringify(a.raw)}\n/v1/graphql: ${hasura}\n  → ${JSON.stringify(b.raw)}`,
        );
      if (!a.rows) throw fail("/graphql failed");
      if (!b.rows) throw fail("/v1/graphql failed");
      const visible = normalize(spec, a.rows);
      const expected = visible.filter((r) => evaluate(c.where, r) === true);
      const got = normalize(spec, b.rows);
      if (JSON.stringify(sortRows(got)) !== JSON.stringify(sortRows(expected))) {
        throw fail(`different rows: expected ${JSON.stringify(sortRows(expected))}`);
      }
      if (expected.length) nonEmpty++;
      if (expected.length < visible.length) filtered++;
      if (toGraphQL(c.where).match(/\b(object|user): \{/)) relFilters++;
    }),
  );
  t.ok(nonEmpty >= FC_OPTS.numRuns / 5, `the expressions often match rows (${nonEmpty} of ${FC_OPTS.numRuns})`);
  t.ok(filtered >= FC_OPTS.numRuns / 5, `and often filter some out (${filtered} of ${FC_OPTS.numRuns})`);
  t.ok(relFilters >= FC_OPTS.numRuns / 10, `relationship filters are exercised (${relFilters} of ${FC_OPTS.numRuns})`);
});
