/**
 * Hasura dialect conformance, school platform model (seed 001: migrations/,
 * policies.sql). Tables and camelCase columns keep their raw names.
 *
 * Seed (the rows these cases rely on):
 *   user 1 alice, 2 bob (madere), 3 chloe, 4 dimitri (pyc)
 *   object 1 Div-01 module, 2 go-reloaded project, 3 ascii-art project,
 *     4 Piscine Go piscine, 5 printalphabet exercise (madere, author 1);
 *     6 Div-01 module, 7 go-reloaded project, 8 Piscine JS piscine,
 *     9 hello-js exercise draft (pyc, author 3)
 *   attrs: 1,6 {"language":"go"}; 2,7 {"groupMin":1,"groupMax":2};
 *     3 {"groupMin":1,"groupMax":3}; 4,8 {"days":26}; 5,9 {}
 *   childAttr: 1,6 {"groupMax":3}; 4 {"exerciseType":"go"}; 8 {"exerciseType":"js"}; others {}
 *   event 1 (obj 1), 2 (obj 4, registration 1), 3 (obj 6), 4 (obj 8, reg 2), 5 (obj 5, parent 2)
 *   group 1 (captain 1; members 1,2), 2 (captain 2; member 2), 3 (captain 3; members 3,4),
 *     4 (captain 4; member 4); groups 1,2 madere, 3,4 pyc
 *   progress grade: 1→1, 2→1, 3→null, 4→1.2, 5→1.2, 6→0, 7→1
 *   result (id user group object progress grade type): 1 1 1 2 1 1 audit, 2 2 1 2 2 1 audit,
 *     3 2 2 3 3 0 tester, 4 3 3 7 4 1.2 audit, 5 4 3 7 5 1.2 audit, 6 4 4 7 6 0 tester,
 *     7 1 null 5 7 1 tester
 *   transaction (id type amount user campus): 1 xp 5000 1 madere, 2 xp 5000 2 madere,
 *     3 level 1 1 madere, 4 up 1000 1 madere, 5 down 800 2 madere, 6 xp 4000 3 pyc,
 *     7 xp 4000 4 pyc, 8 up 1200 4 pyc, 9 level 1 3 pyc, 10 xp 200 1 madere
 *   match bet: 1 true, 2 false, 3 true, 4 null; result: 1 true, others null
 *   audit (id group auditor): 1 1 4, 2 2 1, 3 4 3, 4 3 2
 */
import { ids, type ConformanceCase } from "./types.ts";

const ALICE = { "x-hasura-user-id": "1" };
const BOB = { "x-hasura-user-id": "2" };
const DIMITRI = { "x-hasura-user-id": "4" };
const MADERE = { "x-hasura-campus": "{madere}" };
const PYC = { "x-hasura-campus": "{pyc}" };
const BOTH = { "x-hasura-campus": "{madere,pyc}" };
const INSERT_CHECK_FAILED = "check constraint of an insert/update permission has failed";
const UPDATE_CHECK_FAILED = "Check constraint violation. insert/update check constraint failed";

/** A read of `object` ids as `user` alice with a `where` literal. */
function objectFilter(name: string, where: string, expected: number[], role = "user"): ConformanceCase {
  return {
    name,
    role,
    session: role === "user" ? ALICE : undefined,
    query: `{ object(where: ${where}, order_by: {id: asc}) { id } }`,
    expect: { data: { object: ids(...expected) } },
  };
}

export const schoolCases: ConformanceCase[] = [
  // ─── anonymous: a few columns of a few tables ───────────────────────────
  {
    name: "anonymous reads user id and login",
    role: "anonymous",
    query: "{ user(order_by: {id: asc}) { id login } }",
    expect: {
      data: {
        user: [
          { id: 1, login: "alice" },
          { id: 2, login: "bob" },
          { id: 3, login: "chloe" },
          { id: 4, login: "dimitri" },
        ],
      },
    },
  },
  {
    name: "anonymous: a column without a grant does not exist",
    role: "anonymous",
    query: "{ user { id email } }",
    expect: { errorCode: "validation-failed", message: "field 'email' not found in type: 'user'" },
  },
  {
    name: "anonymous: object.status does not exist",
    role: "anonymous",
    query: "{ object { id status } }",
    expect: { errorCode: "validation-failed", message: "field 'status' not found in type: 'object'" },
  },
  {
    name: "anonymous: a table without a grant does not exist",
    role: "anonymous",
    query: "{ event { id } }",
    expect: { errorCode: "validation-failed", message: "field 'event' not found in type: 'query_root'" },
  },
  {
    name: "anonymous: result_by_pk does not exist when id is not selectable",
    role: "anonymous",
    query: "{ result_by_pk(id: 1) { grade } }",
    expect: { errorCode: "validation-failed", message: "field 'result_by_pk' not found in type: 'query_root'" },
  },
  {
    name: "anonymous: jsonb _has_key on childAttr, jsonb output",
    role: "anonymous",
    query: '{ object(where: {childAttr: {_has_key: "exerciseType"}}, order_by: {id: asc}) { id name childAttr } }',
    expect: {
      data: {
        object: [
          { id: 4, name: "Piscine Go", childAttr: { exerciseType: "go" } },
          { id: 8, name: "Piscine JS", childAttr: { exerciseType: "js" } },
        ],
      },
    },
  },
  {
    name: "anonymous: result without id, numeric grades as numbers, ordered by two columns",
    role: "anonymous",
    query: "{ result(order_by: [{userId: asc}, {progressId: asc}]) { userId progressId grade } }",
    expect: {
      data: {
        result: [
          { userId: 1, progressId: 1, grade: 1 },
          { userId: 1, progressId: 7, grade: 1 },
          { userId: 2, progressId: 2, grade: 1 },
          { userId: 2, progressId: 3, grade: 0 },
          { userId: 3, progressId: 4, grade: 1.2 },
          { userId: 4, progressId: 5, grade: 1.2 },
          { userId: 4, progressId: 6, grade: 0 },
        ],
      },
    },
  },
  {
    name: "anonymous: object relationship result.user",
    role: "anonymous",
    query: "{ result(where: {progressId: {_eq: 4}}) { grade user { login } } }",
    expect: { data: { result: [{ grade: 1.2, user: { login: "chloe" } }] } },
  },
  {
    name: "order_by asc puts nulls last",
    role: "anonymous",
    query: "{ progress(order_by: [{grade: asc}, {id: asc}]) { id } }",
    expect: { data: { progress: ids(6, 1, 2, 7, 4, 5, 3) } },
  },
  {
    name: "order_by desc puts nulls first",
    role: "anonymous",
    query: "{ progress(order_by: [{grade: desc}, {id: asc}]) { id } }",
    expect: { data: { progress: ids(3, 4, 5, 1, 2, 7, 6) } },
  },
  {
    name: "order_by asc_nulls_first",
    role: "anonymous",
    query: "{ progress(order_by: [{grade: asc_nulls_first}, {id: asc}]) { id } }",
    expect: { data: { progress: ids(3, 6, 1, 2, 7, 4, 5) } },
  },
  {
    name: "order_by asc_nulls_last",
    role: "anonymous",
    query: "{ progress(order_by: [{grade: asc_nulls_last}, {id: asc}]) { id } }",
    expect: { data: { progress: ids(6, 1, 2, 7, 4, 5, 3) } },
  },
  {
    name: "order_by desc_nulls_first",
    role: "anonymous",
    query: "{ progress(order_by: [{grade: desc_nulls_first}, {id: asc}]) { id } }",
    expect: { data: { progress: ids(3, 4, 5, 1, 2, 7, 6) } },
  },
  {
    name: "order_by desc_nulls_last",
    role: "anonymous",
    query: "{ progress(order_by: [{grade: desc_nulls_last}, {id: asc}]) { id } }",
    expect: { data: { progress: ids(4, 5, 1, 2, 7, 6, 3) } },
  },
  {
    name: "_is_null true and false on numeric",
    role: "anonymous",
    query:
      "{ a: progress(where: {grade: {_is_null: true}}) { id } b: progress_aggregate(where: {grade: {_is_null: false}}) { aggregate { count } } }",
    expect: { data: { a: ids(3), b: { aggregate: { count: 6 } } } },
  },
  {
    name: "numeric _gt and _lt with a float literal",
    role: "anonymous",
    query: "{ progress(where: {grade: {_gt: 0.5, _lt: 1.1}}, order_by: {id: asc}) { id } }",
    expect: { data: { progress: ids(1, 2, 7) } },
  },
  {
    name: "anonymous: numeric aggregates over results",
    role: "anonymous",
    query: "{ result_aggregate { aggregate { count sum { grade } max { grade } min { grade } } } }",
    expect: { data: { result_aggregate: { aggregate: { count: 7, sum: { grade: 5.4 }, max: { grade: 1.2 }, min: { grade: 0 } } } } },
  },
  {
    name: "anonymous: transaction aggregates with where, count distinct, avg",
    role: "anonymous",
    query:
      '{ transaction_aggregate(where: {type: {_eq: "xp"}}) { aggregate { count users: count(columns: [userId], distinct: true) sum { amount } avg { amount } max { amount } min { amount } } } }',
    expect: {
      data: {
        transaction_aggregate: {
          aggregate: { count: 5, users: 4, sum: { amount: 18200 }, avg: { amount: 3640 }, max: { amount: 5000 }, min: { amount: 200 } },
        },
      },
    },
  },
  {
    // Documented divergence (README "Hasura dialect"): a limit on an aggregate
    // is applied through the primary key; anonymous cannot read transaction's,
    // so the server refuses clearly instead of aggregating the wrong rows.
    name: "aggregate with limit over a table whose key the role cannot read: refused",
    role: "anonymous",
    query: "{ transaction_aggregate(order_by: {amount: desc}, limit: 2) { aggregate { count sum { amount } } nodes { amount } } }",
    expect: { errorCode: "not-supported", message: /need a primary key of 'transaction' the role can select/ },
  },
  {
    name: "aggregate with order_by and limit: both aggregate and nodes see the limited rows",
    role: "admin",
    query:
      "{ transaction_aggregate(order_by: [{amount: desc}, {id: asc}], limit: 2) { aggregate { count sum { amount } } nodes { amount } } }",
    expect: {
      data: { transaction_aggregate: { aggregate: { count: 2, sum: { amount: 10000 } }, nodes: [{ amount: 5000 }, { amount: 5000 }] } },
    },
  },
  {
    name: "anonymous: transaction_by_pk does not exist",
    role: "anonymous",
    query: "{ transaction_by_pk(id: 1) { amount } }",
    expect: { errorCode: "validation-failed", message: "field 'transaction_by_pk' not found in type: 'query_root'" },
  },
  {
    name: "anonymous sending a mutation: no mutations exist",
    role: "anonymous",
    query: 'mutation { insert_user_one(object: {login: "eve"}) { id } }',
    expect: { errorCode: "validation-failed", message: "no mutations exist" },
  },

  // ─── jsonb operators ────────────────────────────────────────────────────
  objectFilter("jsonb _contains", '{attrs: {_contains: {language: "go"}}}', [1, 6]),
  objectFilter("jsonb _contained_in", "{attrs: {_contained_in: {groupMin: 1, groupMax: 2, days: 26}}}", [2, 4, 5, 7, 8, 9]),
  objectFilter("jsonb _has_key", '{attrs: {_has_key: "days"}}', [4, 8]),
  objectFilter("jsonb _has_keys_any", '{attrs: {_has_keys_any: ["days", "language"]}}', [1, 4, 6, 8]),
  objectFilter("jsonb _has_keys_all", '{attrs: {_has_keys_all: ["groupMin", "groupMax"]}}', [2, 3, 7]),
  {
    name: "jsonb _eq and a jsonb variable",
    role: "admin",
    query: "query ($v: jsonb) { object(where: {childAttr: {_eq: $v}}, order_by: {id: asc}) { id } }",
    variables: { v: { groupMax: 3 } },
    expect: { data: { object: ids(1, 6) } },
  },

  // ─── text operators ─────────────────────────────────────────────────────
  objectFilter("text _like", '{name: {_like: "go-%"}}', [2, 7]),
  objectFilter("text _nlike", '{name: {_nlike: "%-%"}}', [4, 5, 8]),
  objectFilter("text _ilike", '{name: {_ilike: "piscine%"}}', [4, 8], "anonymous"),
  objectFilter("text _nilike", '{name: {_nilike: "%GO%"}}', [1, 3, 5, 6, 8, 9]),
  objectFilter("text _similar", '{name: {_similar: "(Div|ascii)%"}}', [1, 3, 6]),
  objectFilter("text _nsimilar", '{name: {_nsimilar: "%-%"}}', [4, 5, 8]),
  objectFilter("text _regex", '{name: {_regex: "^go"}}', [2, 7]),
  objectFilter("text _iregex", '{name: {_iregex: "js$"}}', [8, 9], "anonymous"),
  objectFilter("text _nregex", '{name: {_nregex: "-"}}', [4, 5, 8]),
  objectFilter("text _niregex", '{name: {_niregex: "^(div|piscine)"}}', [2, 3, 5, 7, 9]),
  objectFilter("text _in and _neq", '{type: {_in: ["piscine", "exercise"]}, status: {_neq: "draft"}}', [4, 5, 8]),
  objectFilter("timestamptz _gte", '{createdAt: {_gte: "2024-01-03"}}', [6, 7, 8, 9], "admin-read-only"),

  // ─── user: own rows only ────────────────────────────────────────────────
  {
    name: "user sees only its own account",
    role: "user",
    session: ALICE,
    query: "{ user(order_by: {id: asc}) { id login email } }",
    expect: { data: { user: [{ id: 1, login: "alice", email: "alice@example.com" }] } },
  },
  {
    name: "user_by_pk of another account is null",
    role: "user",
    session: ALICE,
    query: "{ user_by_pk(id: 2) { id } }",
    expect: { data: { user_by_pk: null } },
  },
  {
    name: "user 1: own results and its group's",
    role: "user",
    session: ALICE,
    query: "{ result(order_by: {id: asc}) { id } }",
    expect: { data: { result: ids(1, 2, 7) } },
  },
  {
    name: "user 2: own results and its groups'",
    role: "user",
    session: BOB,
    query: "{ result(order_by: {id: asc}) { id } }",
    expect: { data: { result: ids(1, 2, 3) } },
  },
  {
    name: "user 4: own results and its groups'",
    role: "user",
    session: DIMITRI,
    query: "{ result(order_by: {id: asc}) { id } }",
    expect: { data: { result: ids(4, 5, 6) } },
  },
  {
    name: "user without x-hasura-user-id: missing session variable",
    role: "user",
    query: "{ result { id } }",
    expect: { errorCode: "not-found", message: 'missing session variables: "x-hasura-user-id"' },
  },
  {
    name: "object relationship to a row the role cannot see is null",
    role: "user",
    session: ALICE,
    query: "{ audit(order_by: {id: asc}) { id auditor { login } } }",
    expect: {
      data: {
        audit: [
          { id: 1, auditor: null },
          { id: 2, auditor: { login: "alice" } },
        ],
      },
    },
  },
  {
    name: "user 4: audits it does and audits of its groups",
    role: "user",
    session: DIMITRI,
    query: "{ audit(order_by: {id: asc}) { id } }",
    expect: { data: { audit: ids(1, 3, 4) } },
  },
  {
    name: "user: aggregate over its own ledger",
    role: "user",
    session: ALICE,
    query: "{ transaction_aggregate { aggregate { count sum { amount } } } }",
    expect: { data: { transaction_aggregate: { aggregate: { count: 4, sum: { amount: 6201 } } } } },
  },
  {
    name: "user: array relationship aggregate transactions_aggregate",
    role: "user",
    session: ALICE,
    query: '{ user_by_pk(id: 1) { login transactions_aggregate(where: {type: {_eq: "xp"}}) { aggregate { count sum { amount } } } } }',
    expect: { data: { user_by_pk: { login: "alice", transactions_aggregate: { aggregate: { count: 2, sum: { amount: 5200 } } } } } },
  },
  {
    // xp of alice: 5000 and 200 (mean 2600, deviations ±2400).
    name: "user: variance and stddev_pop of its own xp",
    role: "user",
    session: ALICE,
    query:
      '{ transaction_aggregate(where: {type: {_eq: "xp"}}) { aggregate { var_pop { amount } var_samp { amount } variance { amount } stddev_pop { amount } } } }',
    expect: {
      data: {
        transaction_aggregate: {
          aggregate: {
            var_pop: { amount: 5760000 },
            var_samp: { amount: 11520000 },
            variance: { amount: 11520000 },
            stddev_pop: { amount: 2400 },
          },
        },
      },
    },
  },
  {
    name: "user: no aggregate where none is declared (object)",
    role: "user",
    session: ALICE,
    query: "{ object_aggregate { aggregate { count } } }",
    expect: { errorCode: "validation-failed", message: "field 'object_aggregate' not found in type: 'query_root'" },
  },
  {
    name: "user: array relationship results on its own account",
    role: "user",
    session: BOB,
    query: "{ user_by_pk(id: 2) { results(order_by: {id: desc}) { id type } } }",
    expect: {
      data: {
        user_by_pk: {
          results: [
            { id: 3, type: "tester" },
            { id: 2, type: "audit" },
          ],
        },
      },
    },
  },
  {
    name: "user has no mutations",
    role: "user",
    session: ALICE,
    query: 'mutation { update_user(where: {id: {_eq: 1}}, _set: {email: "x"}) { affected_rows } }',
    expect: { errorCode: "validation-failed", message: "no mutations exist" },
  },

  // ─── relationships named from foreign keys ──────────────────────────────
  {
    name: "event.parent and event.object (parentId, objectId)",
    role: "user",
    session: ALICE,
    query: "{ event_by_pk(id: 5) { path parent { path } object { name } } }",
    expect: {
      data: {
        event_by_pk: {
          path: "/madere/piscine-go/printalphabet",
          parent: { path: "/madere/piscine-go" },
          object: { name: "printalphabet" },
        },
      },
    },
  },
  {
    name: "nullable object relationship is null when the key is null",
    role: "user",
    session: ALICE,
    query: "{ event_by_pk(id: 1) { parent { id } registration { id } } }",
    expect: { data: { event_by_pk: { parent: null, registration: null } } },
  },
  {
    name: "relationships named after the referenced table (type → object_type, status → object_status)",
    role: "admin",
    query: "{ object_by_pk(id: 4) { object_type { description } object_status { description } author { login } } }",
    expect: {
      data: {
        object_by_pk: {
          object_type: { description: "An intensive bootcamp" },
          object_status: { description: "Published" },
          author: { login: "alice" },
        },
      },
    },
  },
  {
    name: "_is_null on a foreign key column",
    role: "user",
    session: ALICE,
    query: "{ event(where: {parentId: {_is_null: false}}) { id } }",
    expect: { data: { event: ids(5) } },
  },
  {
    name: "filter through an object relationship (event.object)",
    role: "user",
    session: ALICE,
    query: '{ event(where: {object: {type: {_eq: "piscine"}}}, order_by: {id: asc}) { id } }',
    expect: { data: { event: ids(2, 4) } },
  },
  {
    name: "filter through an array relationship (group.group_users)",
    role: "user",
    session: ALICE,
    query: "{ group(where: {group_users: {userId: {_eq: 4}}}, order_by: {id: asc}) { id } }",
    expect: { data: { group: ids(3, 4) } },
  },
  {
    name: "group.captain and group.group_users → user",
    role: "admin-read-only",
    query: "{ group_by_pk(id: 1) { captain { login } group_users(order_by: {userId: asc}) { user { login } } } }",
    expect: {
      data: { group_by_pk: { captain: { login: "alice" }, group_users: [{ user: { login: "alice" } }, { user: { login: "bob" } }] } },
    },
  },
  {
    name: "_not, _or and a relationship together",
    role: "admin",
    query: '{ result(where: {_not: {_or: [{type: {_eq: "audit"}}, {user: {campus: {_eq: "pyc"}}}]}}, order_by: {id: asc}) { id } }',
    expect: { data: { result: ids(3, 7) } },
  },
  {
    name: "order_by through an object relationship (result.user.login desc)",
    role: "admin-read-only",
    query: "{ result(order_by: [{user: {login: desc}}, {id: asc}]) { id } }",
    expect: { data: { result: ids(5, 6, 4, 2, 3, 1, 7) } },
  },
  {
    name: "array relationship aggregate with where and max",
    role: "admin",
    query: "{ object_by_pk(id: 7) { results_aggregate(where: {grade: {_gt: 0}}) { aggregate { count max { grade } } } } }",
    expect: { data: { object_by_pk: { results_aggregate: { aggregate: { count: 2, max: { grade: 1.2 } } } } } },
  },

  // ─── Boolean, distinct_on, variables, offset ────────────────────────────
  {
    name: "Boolean _eq and _is_null",
    role: "admin-read-only",
    query:
      "{ a: match(where: {bet: {_eq: true}}, order_by: {id: asc}) { id } b: match(where: {result: {_is_null: true}}, order_by: {id: asc}) { id } }",
    expect: { data: { a: ids(1, 3), b: ids(2, 3, 4) } },
  },
  {
    name: "Boolean order_by asc_nulls_first (false < true)",
    role: "admin-read-only",
    query: "{ match(order_by: [{bet: asc_nulls_first}, {id: asc}]) { id } }",
    expect: { data: { match: ids(4, 2, 1, 3) } },
  },
  {
    name: "Boolean order_by desc (nulls first)",
    role: "admin-read-only",
    query: "{ match(order_by: [{bet: desc}, {id: asc}]) { id } }",
    expect: { data: { match: ids(4, 1, 3, 2) } },
  },
  {
    name: "distinct_on with a secondary order",
    role: "admin-read-only",
    query: "{ object(distinct_on: [type], order_by: [{type: asc}, {id: desc}]) { id type } }",
    expect: {
      data: {
        object: [
          { id: 9, type: "exercise" },
          { id: 6, type: "module" },
          { id: 8, type: "piscine" },
          { id: 7, type: "project" },
        ],
      },
    },
  },
  {
    name: "distinct_on without order_by on it is a validation error",
    role: "admin-read-only",
    query: "{ object(distinct_on: [type], order_by: {id: asc}) { id } }",
    expect: { errorCode: "validation-failed", message: '"distinct_on" columns must match initial "order_by" columns' },
  },
  {
    name: "variables in where",
    role: "admin",
    query: "query ($campus: String!) { user(where: {campus: {_eq: $campus}}, order_by: {id: asc}) { login } }",
    variables: { campus: "pyc" },
    expect: { data: { user: [{ login: "chloe" }, { login: "dimitri" }] } },
  },
  {
    name: "limit and offset",
    role: "admin-read-only",
    query: "{ user(order_by: {id: asc}, limit: 2, offset: 1) { id } }",
    expect: { data: { user: ids(2, 3) } },
  },
  {
    name: "Hasura's scalar comparison type names",
    role: "admin",
    query: `{
      a: __type(name: "numeric_comparison_exp") { name }
      b: __type(name: "jsonb_comparison_exp") { name }
      c: __type(name: "timestamptz_comparison_exp") { name }
      d: __type(name: "user_bool_exp") { name }
      e: __type(name: "group_order_by") { name }
      f: __type(name: "object_constraint") { enumValues { name } }
      g: __type(name: "progress_inc_input") { name }
    }`,
    expect: {
      data: {
        a: { name: "numeric_comparison_exp" },
        b: { name: "jsonb_comparison_exp" },
        c: { name: "timestamptz_comparison_exp" },
        d: { name: "user_bool_exp" },
        e: { name: "group_order_by" },
        f: { enumValues: [{ name: "object_pkey" }] },
        g: { name: "progress_inc_input" },
      },
    },
  },

  // ─── campus roles ───────────────────────────────────────────────────────
  {
    name: "campus-admin {madere} sees its campus's accounts",
    role: "campus-admin",
    session: MADERE,
    query: "{ user(order_by: {id: asc}) { login campus } }",
    expect: {
      data: {
        user: [
          { login: "alice", campus: "madere" },
          { login: "bob", campus: "madere" },
        ],
      },
    },
  },
  {
    name: "campus-admin {madere,pyc} sees both campuses",
    role: "campus-admin",
    session: BOTH,
    query: "{ user_aggregate { aggregate { count } } }",
    expect: { data: { user_aggregate: { aggregate: { count: 4 } } } },
  },
  {
    // Visible to madere: objects 1-5 and their madere transactions (object 2's
    // third, campus pyc, is hidden): two each for objects 2 and 3.
    name: "campus-admin {madere}: aggregate predicate counts the related rows it sees",
    role: "campus-admin",
    session: MADERE,
    query: "{ object(where: {transactions_aggregate: {count: {predicate: {_gte: 2}}}}, order_by: {id: asc}) { id } }",
    expect: { data: { object: ids(2, 3) } },
  },
  {
    name: "admin: aggregate predicate over every transaction",
    role: "admin",
    query: "{ object(where: {transactions_aggregate: {count: {predicate: {_gte: 3}}}}, order_by: {id: asc}) { id } }",
    expect: { data: { object: ids(2) } },
  },
  {
    name: "anonymous: _cast of a jsonb column to String",
    role: "anonymous",
    query: '{ object(where: {childAttr: {_cast: {String: {_like: "%exerciseType%"}}}}, order_by: {id: asc}) { id } }',
    expect: { data: { object: ids(4, 8) } },
  },
  {
    name: "campus-admin {madere}: ledger aggregates of its campus",
    role: "campus-admin",
    session: MADERE,
    query: "{ transaction_aggregate { aggregate { count sum { amount } } } }",
    expect: { data: { transaction_aggregate: { aggregate: { count: 6, sum: { amount: 12001 } } } } },
  },
  {
    name: "campus-admin {madere}: audits scoped through their group",
    role: "campus-admin",
    session: MADERE,
    query: "{ audit(order_by: {id: asc}) { id group { campus } } }",
    expect: {
      data: {
        audit: [
          { id: 1, group: { campus: "madere" } },
          { id: 2, group: { campus: "madere" } },
        ],
      },
    },
  },
  {
    name: "campus-admin {madere}: object_by_pk of a pyc object is null",
    role: "campus-admin",
    session: MADERE,
    query: "{ object_by_pk(id: 6) { id } }",
    expect: { data: { object_by_pk: null } },
  },
  {
    name: "campus-admin without x-hasura-campus: missing session variable",
    role: "campus-admin",
    query: "{ user { id } }",
    expect: { errorCode: "not-found", message: 'missing session variables: "x-hasura-campus"' },
  },
  {
    name: "admin-campus-read-only {pyc} reads pyc objects",
    role: "admin-campus-read-only",
    session: PYC,
    query: "{ object(order_by: {id: asc}) { id } }",
    expect: { data: { object: ids(6, 7, 8, 9) } },
  },
  {
    name: "admin-campus-read-only has no mutations",
    role: "admin-campus-read-only",
    session: PYC,
    query: "mutation { delete_object(where: {}) { affected_rows } }",
    expect: { errorCode: "validation-failed", message: "no mutations exist" },
  },
  {
    name: "admin-read-only reads everything and has no mutation root",
    role: "admin-read-only",
    query: "{ object_aggregate { aggregate { count } } __schema { mutationType { name } } }",
    expect: { data: { object_aggregate: { aggregate: { count: 9 } }, __schema: { mutationType: null } } },
  },
  {
    name: "campus-admin cannot write lookup tables: insert_object_type does not exist",
    role: "campus-admin",
    session: MADERE,
    query: 'mutation { insert_object_type(objects: [{type: "quiz"}]) { affected_rows } }',
    expect: { errorCode: "validation-failed", message: "field 'insert_object_type' not found in type: 'mutation_root'" },
  },

  // ─── campus-admin writes (write database, in order) ─────────────────────
  {
    name: "campus-admin inserts an object on its campus (defaults filled)",
    role: "campus-admin",
    session: MADERE,
    query:
      'mutation { insert_object_one(object: {name: "Div-02", type: "module", campus: "madere"}) { __typename name type status campus attrs object_type { description } } }',
    expect: {
      data: {
        insert_object_one: {
          __typename: "object",
          name: "Div-02",
          type: "module",
          status: "online",
          campus: "madere",
          attrs: {},
          object_type: { description: "A curriculum module" },
        },
      },
    },
  },
  {
    name: "campus-admin inserting for another campus fails the insert check",
    role: "campus-admin",
    session: MADERE,
    query: 'mutation { insert_object(objects: [{name: "Intruder", type: "module", campus: "pyc"}]) { affected_rows } }',
    expect: { errorCode: "permission-error", message: INSERT_CHECK_FAILED },
  },
  {
    name: "campus-admin updating another campus's row: affected_rows 0",
    role: "campus-admin",
    session: MADERE,
    query: 'mutation { update_object(where: {id: {_eq: 6}}, _set: {name: "x"}) { affected_rows returning { id } } }',
    expect: { data: { update_object: { affected_rows: 0, returning: [] } } },
  },
  {
    name: "campus-admin moving a row to another campus fails the update check",
    role: "campus-admin",
    session: MADERE,
    query: 'mutation { update_object_by_pk(pk_columns: {id: 2}, _set: {campus: "pyc"}) { id } }',
    expect: { errorCode: "permission-error", message: UPDATE_CHECK_FAILED },
  },
  {
    name: "object 2 and 6 unchanged",
    role: "admin",
    writes: true,
    query: "{ object(where: {id: {_in: [2, 6]}}, order_by: {id: asc}) { id name campus } }",
    expect: {
      data: {
        object: [
          { id: 2, name: "go-reloaded", campus: "madere" },
          { id: 6, name: "Div-01", campus: "pyc" },
        ],
      },
    },
  },
  {
    name: "campus-admin _inc on numeric: only its campus's rows",
    role: "campus-admin",
    session: MADERE,
    query: "mutation { update_transaction(where: {id: {_in: [8, 10]}}, _inc: {amount: 50}) { affected_rows returning { id amount } } }",
    expect: { data: { update_transaction: { affected_rows: 1, returning: [{ id: 10, amount: 250 }] } } },
  },
  {
    name: "update_progress_by_pk with _set and _inc",
    role: "campus-admin",
    session: MADERE,
    query: "mutation { update_progress_by_pk(pk_columns: {id: 1}, _set: {isDone: false}, _inc: {grade: 0.5}) { id grade isDone } }",
    expect: { data: { update_progress_by_pk: { id: 1, grade: 1.5, isDone: false } } },
  },
  {
    name: "update_progress_by_pk of another campus's row is null",
    role: "campus-admin",
    session: MADERE,
    query: "mutation { update_progress_by_pk(pk_columns: {id: 6}, _inc: {grade: 1}) { id } }",
    expect: { data: { update_progress_by_pk: null } },
  },
  {
    name: "delete_match_by_pk of another campus's row is null",
    role: "campus-admin",
    session: MADERE,
    query: "mutation { delete_match_by_pk(id: 3) { id } }",
    expect: { data: { delete_match_by_pk: null } },
  },
  {
    name: "delete_match with where on its campus",
    role: "campus-admin",
    session: BOTH,
    query: 'mutation { delete_match(where: {campus: {_eq: "madere"}, confirmed: {_eq: false}}) { affected_rows returning { id } } }',
    expect: { data: { delete_match: { affected_rows: 1, returning: ids(2) } } },
  },
  {
    name: "campus-admin {pyc} deleting memberships of a madere group: affected_rows 0",
    role: "campus-admin",
    session: PYC,
    query: "mutation { delete_group_user(where: {groupId: {_eq: 1}}) { affected_rows } }",
    expect: { data: { delete_group_user: { affected_rows: 0 } } },
  },
  {
    name: "unknown object type: foreign key violation",
    role: "campus-admin",
    session: MADERE,
    query: 'mutation { insert_object_one(object: {name: "typo", type: "modul", campus: "madere"}) { id } }',
    expect: {
      errorCode: "constraint-violation",
      message: 'Foreign key violation. insert or update on table "object" violates foreign key constraint "object_type_fkey"',
    },
  },
  {
    name: "duplicate login: uniqueness violation",
    role: "campus-admin",
    session: MADERE,
    query: 'mutation { insert_user_one(object: {login: "alice", campus: "madere"}) { id } }',
    expect: {
      errorCode: "constraint-violation",
      message: 'Uniqueness violation. duplicate key value violates unique constraint "user_login_key"',
    },
  },
  {
    name: "table CHECK constraint: permission-error with the Postgres message",
    role: "campus-admin",
    session: MADERE,
    query:
      'mutation { insert_registration_one(object: {objectId: 4, startAt: "2024-02-01T00:00:00Z", endAt: "2024-01-01T00:00:00Z", campus: "madere", path: "/madere/bad"}) { id } }',
    expect: {
      errorCode: "permission-error",
      message: 'Check constraint violation. new row for relation "registration" violates check constraint "registration_check"',
    },
  },
  {
    name: "upsert on a unique key (user_login_key) updates the visible row",
    role: "campus-admin",
    session: MADERE,
    query:
      'mutation { insert_user(objects: [{login: "bob", firstName: "Robert", campus: "madere"}], on_conflict: {constraint: user_login_key, update_columns: [firstName]}) { affected_rows returning { id login firstName } } }',
    expect: { data: { insert_user: { affected_rows: 1, returning: [{ id: 2, login: "bob", firstName: "Robert" }] } } },
  },
  {
    // As Hasura: a conflicting row outside the update permission (chloe is
    // on pyc) is skipped, not updated and not an error. Nothing is written.
    name: "upsert conflicting with a row outside the update permission is skipped",
    role: "campus-admin",
    session: MADERE,
    query:
      'mutation { insert_user(objects: [{login: "chloe", firstName: "Impostor", campus: "madere"}], on_conflict: {constraint: user_login_key, update_columns: [firstName]}) { affected_rows returning { id } } }',
    expect: { data: { insert_user: { affected_rows: 0, returning: [] } } },
  },
  {
    name: "accounts after the upserts",
    role: "admin",
    writes: true,
    query: '{ user(where: {login: {_in: ["bob", "chloe"]}}, order_by: {id: asc}) { id firstName campus } }',
    expect: {
      data: {
        user: [
          { id: 2, firstName: "Robert", campus: "madere" },
          { id: 3, firstName: "Chloé", campus: "pyc" },
        ],
      },
    },
  },
  {
    name: "admin upsert with on_conflict where",
    role: "admin",
    query:
      'mutation { insert_object_type(objects: [{type: "exam", description: "A written exam"}], on_conflict: {constraint: object_type_pkey, update_columns: [description], where: {description: {_eq: "An exam"}}}) { affected_rows returning { type description } } }',
    expect: { data: { insert_object_type: { affected_rows: 1, returning: [{ type: "exam", description: "A written exam" }] } } },
  },
  {
    name: "campus-admin mutation without x-hasura-campus: missing session variable",
    role: "campus-admin",
    query: 'mutation { update_object(where: {id: {_eq: 1}}, _set: {name: "x"}) { affected_rows } }',
    expect: { errorCode: "not-found", message: 'missing session variable: "x-hasura-campus"' },
  },
  {
    name: "delete of a referenced row: foreign key violation",
    role: "admin",
    query: "mutation { delete_object_by_pk(id: 8) { id } }",
    expect: {
      errorCode: "constraint-violation",
      message: /^Foreign key violation\. update or delete on table "object" violates foreign key constraint "[^"]+" on table "[^"]+"$/,
    },
  },
  {
    name: "delete_user_by_pk of a missing row is null",
    role: "admin",
    query: "mutation { delete_user_by_pk(id: 999) { id } }",
    expect: { data: { delete_user_by_pk: null } },
  },
];
