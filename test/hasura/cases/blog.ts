/**
 * Hasura dialect conformance, blog model (seed 002: examples/blog).
 *
 * Seed: authors 1 Ada Lovelace, 2 Grace Hopper, 3 Linus Torvalds; articles
 *   1 "GraphQL over Postgres"       author 1, published
 *   2 "Securing APIs with JWTs"     author 2, published
 *   3 "Row-level security (draft)"  author 1, draft
 *   4 "Kernel notes (draft)"        author 3, draft
 * tags auth0 graphql hasura jwt postgres; article_tag (1 graphql) (1 postgres)
 * (1 hasura) (2 jwt) (2 auth0) (3 postgres) (4 graphql).
 *
 * Roles (examples/blog/policies.sql): anonymous reads published articles
 * (and their tags), all authors and tags, no mutations; user (x-hasura-user-id
 * = author id) reads published + own articles, writes own articles, inserts
 * tags, tags/untags own articles; admin everything.
 */
import { ids, type ConformanceCase } from "./types.ts";

const ADA = { "x-hasura-user-id": "1" };
const GRACE = { "x-hasura-user-id": "2" };
const LINUS = { "x-hasura-user-id": "3" };
const INSERT_CHECK_FAILED = "check constraint of an insert/update permission has failed";

const T1 = "GraphQL over Postgres";
const T2 = "Securing APIs with JWTs";
const T3 = "Row-level security (draft)";
const T4 = "Kernel notes (draft)";

export const blogCases: ConformanceCase[] = [
  // ─── list root field, RLS per role ──────────────────────────────────────
  {
    name: "anonymous lists published articles only",
    role: "anonymous",
    query: "{ article(order_by: {id: asc}) { id title author_id is_published } }",
    expect: {
      data: {
        article: [
          { id: 1, title: T1, author_id: 1, is_published: true },
          { id: 2, title: T2, author_id: 2, is_published: true },
        ],
      },
    },
  },
  {
    name: "user 1 lists published articles and its own draft",
    role: "user",
    session: ADA,
    query: "{ article(order_by: {id: asc}) { id } }",
    expect: { data: { article: ids(1, 2, 3) } },
  },
  {
    name: "user 3 lists published articles and its own draft",
    role: "user",
    session: LINUS,
    query: "{ article(order_by: {id: asc}) { id } }",
    expect: { data: { article: ids(1, 2, 4) } },
  },
  {
    name: "admin lists every article",
    role: "admin",
    query: "{ article(order_by: {id: asc}) { id title } }",
    expect: {
      data: {
        article: [
          { id: 1, title: T1 },
          { id: 2, title: T2 },
          { id: 3, title: T3 },
          { id: 4, title: T4 },
        ],
      },
    },
  },
  {
    name: "anonymous asking for drafts gets an empty list, not an error",
    role: "anonymous",
    query: "{ article(where: {is_published: {_eq: false}}) { id } }",
    expect: { data: { article: [] } },
  },
  {
    name: "limit and offset",
    role: "anonymous",
    query: "{ tag(order_by: {name: desc}, limit: 2, offset: 1) { name } }",
    expect: { data: { tag: [{ name: "jwt" }, { name: "hasura" }] } },
  },
  {
    name: "order_by desc on text",
    role: "anonymous",
    query: "{ author(order_by: {name: desc}) { id name } }",
    expect: {
      data: {
        author: [
          { id: 3, name: "Linus Torvalds" },
          { id: 2, name: "Grace Hopper" },
          { id: 1, name: "Ada Lovelace" },
        ],
      },
    },
  },
  {
    name: "order_by as a list of objects (author_id desc, then id asc)",
    role: "admin",
    query: "{ article(order_by: [{author_id: desc}, {id: asc}]) { id } }",
    expect: { data: { article: ids(4, 2, 1, 3) } },
  },

  // ─── _by_pk ─────────────────────────────────────────────────────────────
  {
    name: "article_by_pk of a draft is null for anonymous",
    role: "anonymous",
    query: "{ article_by_pk(id: 3) { id title } }",
    expect: { data: { article_by_pk: null } },
  },
  {
    name: "article_by_pk of its own draft for its author",
    role: "user",
    session: ADA,
    query: "{ article_by_pk(id: 3) { id title author_id is_published } }",
    expect: { data: { article_by_pk: { id: 3, title: T3, author_id: 1, is_published: false } } },
  },
  {
    name: "article_by_pk of someone else's draft is null",
    role: "user",
    session: GRACE,
    query: "{ article_by_pk(id: 3) { id } }",
    expect: { data: { article_by_pk: null } },
  },
  {
    name: "article_by_pk of a missing id is null",
    role: "admin",
    query: "{ article_by_pk(id: 999) { id } }",
    expect: { data: { article_by_pk: null } },
  },
  {
    name: "tag_by_pk with a text key",
    role: "anonymous",
    query: '{ tag_by_pk(name: "jwt") { name } }',
    expect: { data: { tag_by_pk: { name: "jwt" } } },
  },
  {
    name: "article_tag_by_pk with a composite key",
    role: "anonymous",
    query:
      '{ a: article_tag_by_pk(article_id: 1, tag_name: "graphql") { article_id tag_name } b: article_tag_by_pk(article_id: 4, tag_name: "graphql") { article_id } }',
    expect: { data: { a: { article_id: 1, tag_name: "graphql" }, b: null } },
  },
  {
    name: "_by_pk with a variable",
    role: "anonymous",
    query: "query ($id: Int!) { article_by_pk(id: $id) { title } }",
    variables: { id: 2 },
    expect: { data: { article_by_pk: { title: T2 } } },
  },

  // ─── comparison operators ───────────────────────────────────────────────
  {
    name: "_eq on Int",
    role: "admin",
    query: "{ article(where: {author_id: {_eq: 1}}, order_by: {id: asc}) { id } }",
    expect: { data: { article: ids(1, 3) } },
  },
  {
    name: "_neq",
    role: "admin",
    query: "{ article(where: {author_id: {_neq: 1}}, order_by: {id: asc}) { id } }",
    expect: { data: { article: ids(2, 4) } },
  },
  {
    name: "_gt and _lt together (sibling operators are ANDed)",
    role: "admin",
    query: "{ article(where: {id: {_gt: 1, _lt: 4}}, order_by: {id: asc}) { id } }",
    expect: { data: { article: ids(2, 3) } },
  },
  {
    name: "_and with _gte and _lte",
    role: "admin",
    query: "{ article(where: {_and: [{id: {_gte: 2}}, {id: {_lte: 3}}]}, order_by: {id: asc}) { id } }",
    expect: { data: { article: ids(2, 3) } },
  },
  {
    name: "_in",
    role: "admin",
    query: "{ article(where: {id: {_in: [1, 4, 9]}}, order_by: {id: asc}) { id } }",
    expect: { data: { article: ids(1, 4) } },
  },
  {
    name: "_nin on text",
    role: "anonymous",
    query: '{ tag(where: {name: {_nin: ["jwt", "auth0"]}}, order_by: {name: asc}) { name } }',
    expect: { data: { tag: [{ name: "graphql" }, { name: "hasura" }, { name: "postgres" }] } },
  },
  {
    name: "_or",
    role: "admin",
    query: "{ article(where: {_or: [{id: {_eq: 1}}, {author_id: {_eq: 3}}]}, order_by: {id: asc}) { id } }",
    expect: { data: { article: ids(1, 4) } },
  },
  {
    name: "_not",
    role: "admin",
    query: "{ article(where: {_not: {is_published: {_eq: true}}}, order_by: {id: asc}) { id } }",
    expect: { data: { article: ids(3, 4) } },
  },
  {
    name: "sibling columns are ANDed; Boolean _eq",
    role: "admin",
    query: "{ article(where: {is_published: {_eq: true}, author_id: {_eq: 1}}) { id } }",
    expect: { data: { article: ids(1) } },
  },
  {
    name: "empty where is true",
    role: "user",
    session: ADA,
    query: "{ article(where: {}, order_by: {id: asc}) { id } }",
    expect: { data: { article: ids(1, 2, 3) } },
  },
  {
    name: "_is_null on a NOT NULL column",
    role: "admin",
    query:
      "{ a: article(where: {title: {_is_null: true}}) { id } b: article_aggregate(where: {title: {_is_null: false}}) { aggregate { count } } }",
    expect: { data: { a: [], b: { aggregate: { count: 4 } } } },
  },
  {
    name: "_like (case-sensitive)",
    role: "admin",
    query: '{ a: article(where: {title: {_like: "%JWT%"}}) { id } b: article(where: {title: {_like: "%jwt%"}}) { id } }',
    expect: { data: { a: ids(2), b: [] } },
  },
  {
    name: "_ilike",
    role: "admin",
    query: '{ article(where: {title: {_ilike: "%DRAFT%"}}, order_by: {id: asc}) { id } }',
    expect: { data: { article: ids(3, 4) } },
  },
  {
    name: "_ilike as anonymous does not reveal drafts",
    role: "anonymous",
    query: '{ article(where: {title: {_ilike: "%draft%"}}) { id } }',
    expect: { data: { article: [] } },
  },
  {
    name: "_nlike and _nilike",
    role: "admin",
    query:
      '{ a: article(where: {title: {_nlike: "%(draft)"}}, order_by: {id: asc}) { id } b: article(where: {title: {_nilike: "%DRAFT%"}}, order_by: {id: asc}) { id } }',
    expect: { data: { a: ids(1, 2), b: ids(1, 2) } },
  },
  {
    name: "_similar and _nsimilar",
    role: "admin",
    query:
      '{ a: article(where: {title: {_similar: "%(JWT|Kernel)%"}}, order_by: {id: asc}) { id } b: article(where: {title: {_nsimilar: "%(draft)%"}}, order_by: {id: asc}) { id } }',
    expect: { data: { a: ids(2, 4), b: ids(1, 2) } },
  },
  {
    name: "_regex and _iregex",
    role: "admin",
    query:
      '{ a: article(where: {title: {_regex: "Postgres$"}}) { id } b: article(where: {title: {_iregex: "^kernel"}}) { id } c: article(where: {title: {_regex: "^kernel"}}) { id } }',
    expect: { data: { a: ids(1), b: ids(4), c: [] } },
  },
  {
    name: "_nregex and _niregex",
    role: "admin",
    query:
      '{ a: article(where: {title: {_nregex: "draft"}}, order_by: {id: asc}) { id } b: article(where: {title: {_niregex: "^(graphql|securing)"}}, order_by: {id: asc}) { id } }',
    expect: { data: { a: ids(1, 2), b: ids(3, 4) } },
  },
  {
    name: "where, order_by and limit as typed variables (article_bool_exp, [article_order_by!])",
    role: "admin",
    query:
      "query ($where: article_bool_exp, $order: [article_order_by!], $limit: Int) { article(where: $where, order_by: $order, limit: $limit) { id } }",
    variables: { where: { author_id: { _eq: 1 } }, order: [{ id: "desc" }], limit: 1 },
    expect: { data: { article: ids(3) } },
  },

  // ─── relationships ──────────────────────────────────────────────────────
  {
    name: "object relationship author (from author_id)",
    role: "anonymous",
    query: "{ article(order_by: {id: asc}) { id author { id name } } }",
    expect: {
      data: {
        article: [
          { id: 1, author: { id: 1, name: "Ada Lovelace" } },
          { id: 2, author: { id: 2, name: "Grace Hopper" } },
        ],
      },
    },
  },
  {
    name: "filter through an object relationship",
    role: "admin",
    query: '{ article(where: {author: {name: {_eq: "Grace Hopper"}}}) { id } }',
    expect: { data: { article: ids(2) } },
  },
  {
    name: "array relationship filter (exists), admin",
    role: "admin",
    query: "{ author(where: {articles: {is_published: {_eq: false}}}, order_by: {id: asc}) { id } }",
    expect: { data: { author: ids(1, 3) } },
  },
  {
    name: "array relationship filter applies the related table's RLS (anonymous sees no drafts)",
    role: "anonymous",
    query: "{ author(where: {articles: {is_published: {_eq: false}}}) { id } }",
    expect: { data: { author: [] } },
  },
  {
    name: "array relationship filter applies the related table's RLS (user sees its own draft only)",
    role: "user",
    session: ADA,
    query: "{ author(where: {articles: {is_published: {_eq: false}}}, order_by: {id: asc}) { id } }",
    expect: { data: { author: ids(1) } },
  },
  {
    name: "filter through two relationships (article_tags → tag)",
    role: "admin",
    query: '{ article(where: {article_tags: {tag: {name: {_eq: "graphql"}}}}, order_by: {id: asc}) { id } }',
    expect: { data: { article: ids(1, 4) } },
  },
  {
    name: "order_by through an object relationship",
    role: "admin",
    query: "{ article(order_by: [{author: {name: desc}}, {id: asc}]) { id } }",
    expect: { data: { article: ids(4, 2, 1, 3) } },
  },
  {
    name: "array relationship articles, hidden rows left out",
    role: "anonymous",
    query: "{ author(order_by: {id: asc}) { id articles(order_by: {id: desc}) { id } } }",
    expect: {
      data: {
        author: [
          { id: 1, articles: ids(1) },
          { id: 2, articles: ids(2) },
          { id: 3, articles: [] },
        ],
      },
    },
  },
  {
    name: "array relationship arguments where, order_by, limit, offset",
    role: "admin",
    query:
      "{ author_by_pk(id: 1) { drafts: articles(where: {is_published: {_eq: false}}) { id } second: articles(order_by: {id: desc}, limit: 1, offset: 1) { id } } }",
    expect: { data: { author_by_pk: { drafts: ids(3), second: ids(1) } } },
  },
  {
    name: "array relationship distinct_on",
    role: "admin",
    query:
      '{ tag_by_pk(name: "postgres") { article_tags(distinct_on: [tag_name], order_by: [{tag_name: asc}, {article_id: desc}]) { article_id } } }',
    expect: { data: { tag_by_pk: { article_tags: [{ article_id: 3 }] } } },
  },
  {
    name: "article_tags and tag relationships (tag_name → tag)",
    role: "anonymous",
    query: "{ article_by_pk(id: 1) { article_tags(order_by: {tag_name: asc}) { tag_name tag { name } } } }",
    expect: {
      data: {
        article_by_pk: {
          article_tags: [
            { tag_name: "graphql", tag: { name: "graphql" } },
            { tag_name: "hasura", tag: { name: "hasura" } },
            { tag_name: "postgres", tag: { name: "postgres" } },
          ],
        },
      },
    },
  },
  {
    name: "reverse array relationship tag.article_tags hides a draft's tag",
    role: "anonymous",
    query: '{ tag_by_pk(name: "graphql") { article_tags(order_by: {article_id: asc}) { article_id } } }',
    expect: { data: { tag_by_pk: { article_tags: [{ article_id: 1 }] } } },
  },
  {
    name: "object relationship article from article_tag, as the draft's author",
    role: "user",
    session: LINUS,
    query: '{ article_tag(where: {tag_name: {_eq: "graphql"}}, order_by: {article_id: asc}) { article { title } } }',
    expect: { data: { article_tag: [{ article: { title: T1 } }, { article: { title: T4 } }] } },
  },

  // ─── distinct_on ────────────────────────────────────────────────────────
  {
    name: "distinct_on keeps the first row of each group in order_by order",
    role: "admin",
    query: "{ article(distinct_on: [author_id], order_by: [{author_id: asc}, {id: desc}]) { id author_id } }",
    expect: {
      data: {
        article: [
          { id: 3, author_id: 1 },
          { id: 2, author_id: 2 },
          { id: 4, author_id: 3 },
        ],
      },
    },
  },
  {
    name: "distinct_on not matching the leading order_by is a validation error",
    role: "admin",
    query: "{ article(distinct_on: [author_id], order_by: [{id: asc}]) { id } }",
    expect: { errorCode: "validation-failed", message: '"distinct_on" columns must match initial "order_by" columns' },
  },

  // ─── aggregates ─────────────────────────────────────────────────────────
  {
    name: "aggregate count sum avg max min over visible rows",
    role: "anonymous",
    query: "{ article_aggregate { aggregate { count sum { id author_id } avg { id } max { id title } min { id title } } } }",
    expect: {
      data: {
        article_aggregate: {
          aggregate: {
            count: 2,
            sum: { id: 3, author_id: 3 },
            avg: { id: 1.5 },
            max: { id: 2, title: T2 },
            min: { id: 1, title: T1 },
          },
        },
      },
    },
  },
  {
    name: "count(columns, distinct)",
    role: "admin",
    query:
      "{ article_aggregate { aggregate { all: count cols: count(columns: [author_id]) distinct: count(columns: [author_id], distinct: true) } } }",
    expect: { data: { article_aggregate: { aggregate: { all: 4, cols: 4, distinct: 3 } } } },
  },
  {
    name: "count(distinct) as anonymous counts visible rows only",
    role: "anonymous",
    query: "{ article_aggregate { aggregate { count(columns: [author_id], distinct: true) } } }",
    expect: { data: { article_aggregate: { aggregate: { count: 2 } } } },
  },
  {
    name: "aggregate with where, order_by and nodes",
    role: "user",
    session: ADA,
    query: "{ article_aggregate(where: {author_id: {_eq: 1}}, order_by: {id: asc}) { aggregate { count } nodes { id is_published } } }",
    expect: {
      data: {
        article_aggregate: {
          aggregate: { count: 2 },
          nodes: [
            { id: 1, is_published: true },
            { id: 3, is_published: false },
          ],
        },
      },
    },
  },
  {
    name: "aggregate limit and offset apply to the aggregate as well as nodes",
    role: "admin",
    query: "{ article_aggregate(order_by: {id: asc}, limit: 2, offset: 1) { aggregate { count max { id } } nodes { id } } }",
    expect: { data: { article_aggregate: { aggregate: { count: 2, max: { id: 3 } }, nodes: ids(2, 3) } } },
  },
  {
    name: "aggregate distinct_on",
    role: "admin",
    query: "{ article_aggregate(distinct_on: [author_id], order_by: [{author_id: asc}, {id: asc}]) { aggregate { count } nodes { id } } }",
    expect: { data: { article_aggregate: { aggregate: { count: 3 }, nodes: ids(1, 2, 4) } } },
  },
  {
    name: "array relationship aggregate, RLS per role",
    role: "anonymous",
    query: "{ author(order_by: {id: asc}) { id articles_aggregate { aggregate { count } } } }",
    expect: {
      data: {
        author: [
          { id: 1, articles_aggregate: { aggregate: { count: 1 } } },
          { id: 2, articles_aggregate: { aggregate: { count: 1 } } },
          { id: 3, articles_aggregate: { aggregate: { count: 0 } } },
        ],
      },
    },
  },
  {
    // user 1 reads articles 1 and 3 of author 1, article 2 of author 2, none of author 3.
    name: "aggregate predicate in where counts the articles the role reads",
    role: "user",
    session: ADA,
    query: "{ author(where: {articles_aggregate: {count: {predicate: {_gt: 1}}}}, order_by: {id: asc}) { id } }",
    expect: { data: { author: ids(1) } },
  },
  {
    name: "aggregate predicate as anonymous: one published article each at most",
    role: "anonymous",
    query: "{ author(where: {articles_aggregate: {count: {predicate: {_gt: 1}}}}) { id } }",
    expect: { data: { author: [] } },
  },
  {
    name: "aggregate predicates bool_and and bool_or, as admin: authors with a draft, of drafts only",
    role: "admin",
    query:
      "{ a: author(where: {articles_aggregate: {bool_and: {arguments: is_published, predicate: {_eq: false}}}}, order_by: {id: asc}) { id } b: author(where: {articles_aggregate: {bool_or: {arguments: is_published, predicate: {_eq: false}}}}, order_by: {id: asc}) { id } }",
    expect: { data: { a: ids(1, 3), b: ids(3) } },
  },
  {
    name: "no aggregate of a table without a declaration (tag, anonymous)",
    role: "anonymous",
    query: "{ tag_aggregate { aggregate { count } } }",
    expect: { errorCode: "validation-failed", message: "field 'tag_aggregate' not found in type: 'query_root'" },
  },
  {
    name: "array relationship aggregate with where, as admin",
    role: "admin",
    query: "{ author_by_pk(id: 1) { articles_aggregate(where: {is_published: {_eq: false}}) { aggregate { count } nodes { id } } } }",
    expect: { data: { author_by_pk: { articles_aggregate: { aggregate: { count: 1 }, nodes: ids(3) } } } },
  },

  // ─── type names and roots ───────────────────────────────────────────────
  {
    name: "__typename of rows, aggregates and aggregate fields",
    role: "anonymous",
    query:
      "{ article(limit: 1, order_by: {id: asc}) { __typename } article_aggregate { __typename aggregate { __typename sum { __typename } avg { __typename } max { __typename } min { __typename } } } }",
    expect: {
      data: {
        article: [{ __typename: "article" }],
        article_aggregate: {
          __typename: "article_aggregate",
          aggregate: {
            __typename: "article_aggregate_fields",
            sum: { __typename: "article_sum_fields" },
            avg: { __typename: "article_avg_fields" },
            max: { __typename: "article_max_fields" },
            min: { __typename: "article_min_fields" },
          },
        },
      },
    },
  },
  {
    name: "admin roots are query_root and mutation_root",
    role: "admin",
    query: "{ __schema { queryType { name } mutationType { name } } }",
    expect: { data: { __schema: { queryType: { name: "query_root" }, mutationType: { name: "mutation_root" } } } },
  },
  {
    name: "anonymous has no mutation root",
    role: "anonymous",
    query: "{ __schema { queryType { name } mutationType { name } } }",
    expect: { data: { __schema: { queryType: { name: "query_root" }, mutationType: null } } },
  },
  {
    name: "Hasura's type names exist for admin",
    role: "admin",
    query: `{
      a: __type(name: "article_bool_exp") { name }
      b: __type(name: "article_order_by") { name }
      c: __type(name: "article_select_column") { name }
      d: __type(name: "article_insert_input") { name }
      e: __type(name: "article_on_conflict") { name }
      f: __type(name: "article_constraint") { name }
      g: __type(name: "article_update_column") { name }
      h: __type(name: "article_set_input") { name }
      i: __type(name: "article_inc_input") { name }
      j: __type(name: "article_pk_columns_input") { name }
      k: __type(name: "article_mutation_response") { name }
      l: __type(name: "order_by") { name }
      m: __type(name: "Int_comparison_exp") { name }
      n: __type(name: "String_comparison_exp") { name }
      o: __type(name: "Boolean_comparison_exp") { name }
      p: __type(name: "tag_inc_input") { name }
    }`,
    expect: {
      data: {
        a: { name: "article_bool_exp" },
        b: { name: "article_order_by" },
        c: { name: "article_select_column" },
        d: { name: "article_insert_input" },
        e: { name: "article_on_conflict" },
        f: { name: "article_constraint" },
        g: { name: "article_update_column" },
        h: { name: "article_set_input" },
        i: { name: "article_inc_input" },
        j: { name: "article_pk_columns_input" },
        k: { name: "article_mutation_response" },
        l: { name: "order_by" },
        m: { name: "Int_comparison_exp" },
        n: { name: "String_comparison_exp" },
        o: { name: "Boolean_comparison_exp" },
        p: null, // tag has no numeric column
      },
    },
  },
  {
    name: "anonymous has the query types but no mutation types",
    role: "anonymous",
    query: `{
      a: __type(name: "article_bool_exp") { name }
      b: __type(name: "article_aggregate_fields") { name }
      c: __type(name: "article_insert_input") { name }
      d: __type(name: "article_mutation_response") { name }
      e: __type(name: "tag_on_conflict") { name }
    }`,
    expect: { data: { a: { name: "article_bool_exp" }, b: { name: "article_aggregate_fields" }, c: null, d: null, e: null } },
  },
  {
    name: "user: insert-only tag has insert and on_conflict types, no update types",
    role: "user",
    session: ADA,
    query: `{
      a: __type(name: "tag_insert_input") { name }
      b: __type(name: "tag_on_conflict") { name }
      c: __type(name: "tag_constraint") { enumValues { name } }
      d: __type(name: "tag_set_input") { name }
      e: __type(name: "tag_pk_columns_input") { name }
      f: __type(name: "tag_mutation_response") { name }
    }`,
    expect: {
      data: {
        a: { name: "tag_insert_input" },
        b: { name: "tag_on_conflict" },
        c: { enumValues: [{ name: "tag_pkey" }] },
        d: null,
        e: null,
        f: { name: "tag_mutation_response" },
      },
    },
  },
  {
    name: "enum order_by has Hasura's six values",
    role: "anonymous",
    query: '{ __type(name: "order_by") { kind enumValues { name } } }',
    expect: {
      data: {
        __type: {
          kind: "ENUM",
          enumValues: [
            { name: "asc" },
            { name: "asc_nulls_first" },
            { name: "asc_nulls_last" },
            { name: "desc" },
            { name: "desc_nulls_first" },
            { name: "desc_nulls_last" },
          ],
        },
      },
    },
  },
  {
    name: "select_column enum lists the raw column names",
    role: "anonymous",
    query: '{ __type(name: "author_select_column") { kind enumValues { name } } }',
    expect: { data: { __type: { kind: "ENUM", enumValues: [{ name: "id" }, { name: "name" }] } } },
  },
  {
    name: "article_constraint enum values are the Postgres constraint names",
    role: "admin",
    query:
      '{ a: __type(name: "article_constraint") { enumValues { name } } b: __type(name: "article_tag_constraint") { enumValues { name } } }',
    expect: { data: { a: { enumValues: [{ name: "article_pkey" }] }, b: { enumValues: [{ name: "article_tag_pkey" }] } } },
  },

  // ─── validation errors ──────────────────────────────────────────────────
  {
    name: "unknown column field",
    role: "anonymous",
    query: "{ article { id foo } }",
    expect: { errorCode: "validation-failed", message: "field 'foo' not found in type: 'article'" },
  },
  {
    name: "unknown root field",
    role: "anonymous",
    query: "{ articles { id } }",
    expect: { errorCode: "validation-failed", message: "field 'articles' not found in type: 'query_root'" },
  },
  {
    name: "negative limit is rejected",
    role: "anonymous",
    query: "{ article(limit: -1) { id } }",
    expect: {
      errorCode: "validation-failed",
      message: "expected a non-negative 32-bit integer for type 'Int', but found an integer",
    },
  },
  {
    name: "anonymous sending a mutation: no mutations exist",
    role: "anonymous",
    query: 'mutation { insert_tag(objects: [{name: "anon"}]) { affected_rows } }',
    expect: { errorCode: "validation-failed", message: "no mutations exist" },
  },
  {
    name: "user has no delete on tag: delete_tag does not exist",
    role: "user",
    session: ADA,
    query: 'mutation { delete_tag(where: {name: {_eq: "jwt"}}) { affected_rows } }',
    expect: { errorCode: "validation-failed", message: "field 'delete_tag' not found in type: 'mutation_root'" },
  },
  {
    name: "user cannot insert article.id: not in article_insert_input",
    role: "user",
    session: ADA,
    query: 'mutation { insert_article_one(object: {id: 50, title: "x", content: "x"}) { title } }',
    expect: { errorCode: "validation-failed", message: "field \"id\" not found in type: 'article_insert_input'" },
  },
  {
    name: "user cannot update article.author_id: not in article_set_input",
    role: "user",
    session: ADA,
    query: "mutation { update_article(where: {id: {_eq: 3}}, _set: {author_id: 2}) { affected_rows } }",
    expect: { errorCode: "validation-failed", message: "field \"author_id\" not found in type: 'article_set_input'" },
  },

  // ─── mutations (write database, in order) ───────────────────────────────
  {
    name: "insert_article_one: its author from the preset (x-hasura-user-id), with a relationship in the result",
    role: "user",
    session: ADA,
    query:
      'mutation { insert_article_one(object: {title: "Ada new draft", content: "Notes."}) { __typename title author_id is_published author { name } } }',
    expect: {
      data: {
        insert_article_one: {
          __typename: "article",
          title: "Ada new draft",
          author_id: 1,
          is_published: false,
          author: { name: "Ada Lovelace" },
        },
      },
    },
  },
  {
    name: "user cannot name another author: article.author_id is a preset, not in article_insert_input",
    role: "user",
    session: ADA,
    query: 'mutation { insert_article(objects: [{title: "Stolen byline", content: "x", author_id: 2}]) { affected_rows } }',
    expect: { errorCode: "validation-failed", message: "field \"author_id\" not found in type: 'article_insert_input'" },
  },
  {
    name: "the failed insert wrote nothing",
    role: "admin",
    writes: true,
    query: '{ article_aggregate(where: {title: {_eq: "Stolen byline"}}) { aggregate { count } } }',
    expect: { data: { article_aggregate: { aggregate: { count: 0 } } } },
  },
  {
    name: "insert without x-hasura-user-id: missing session variable",
    role: "user",
    query: 'mutation { insert_article_one(object: {title: "Nobody", content: "x"}) { title } }',
    expect: { errorCode: "not-found", message: 'missing session variable: "x-hasura-user-id"' },
  },
  {
    name: "update with where and _set on its own article",
    role: "user",
    session: ADA,
    query:
      'mutation { update_article(where: {title: {_eq: "Ada new draft"}}, _set: {is_published: true, content: "Done."}) { __typename affected_rows returning { title content is_published } } }',
    expect: {
      data: {
        update_article: {
          __typename: "article_mutation_response",
          affected_rows: 1,
          returning: [{ title: "Ada new draft", content: "Done.", is_published: true }],
        },
      },
    },
  },
  {
    name: "update of another author's (visible) article touches nothing",
    role: "user",
    session: ADA,
    query: 'mutation { update_article(where: {id: {_eq: 2}}, _set: {title: "Hijacked"}) { affected_rows returning { id } } }',
    expect: { data: { update_article: { affected_rows: 0, returning: [] } } },
  },
  {
    name: "update_article_by_pk of a hidden row is null",
    role: "user",
    session: ADA,
    query: 'mutation { update_article_by_pk(pk_columns: {id: 4}, _set: {title: "Hijacked"}) { id } }',
    expect: { data: { update_article_by_pk: null } },
  },
  {
    name: "update_article_by_pk of its own draft",
    role: "user",
    session: ADA,
    query: 'mutation { update_article_by_pk(pk_columns: {id: 3}, _set: {title: "Row-level security"}) { id title is_published } }',
    expect: { data: { update_article_by_pk: { id: 3, title: "Row-level security", is_published: false } } },
  },
  {
    name: "articles 2 and 4 were not changed by the refused updates",
    role: "admin",
    writes: true,
    query: "{ article(where: {id: {_in: [2, 4]}}, order_by: {id: asc}) { id title } }",
    expect: {
      data: {
        article: [
          { id: 2, title: T2 },
          { id: 4, title: T4 },
        ],
      },
    },
  },
  {
    name: "delete_article_by_pk of another author's article is null",
    role: "user",
    session: GRACE,
    query: "mutation { delete_article_by_pk(id: 1) { id } }",
    expect: { data: { delete_article_by_pk: null } },
  },
  {
    name: "delete_article of other authors' articles: affected_rows 0",
    role: "user",
    session: GRACE,
    query: "mutation { delete_article(where: {id: {_in: [1, 3, 4]}}) { affected_rows returning { id } } }",
    expect: { data: { delete_article: { affected_rows: 0, returning: [] } } },
  },
  {
    name: "delete_article of its own article",
    role: "user",
    session: ADA,
    query: 'mutation { delete_article(where: {title: {_eq: "Ada new draft"}}) { affected_rows returning { title } } }',
    expect: { data: { delete_article: { affected_rows: 1, returning: [{ title: "Ada new draft" }] } } },
  },
  {
    name: "insert_tag (objects) as user",
    role: "user",
    session: ADA,
    query: "mutation ($objects: [tag_insert_input!]!) { insert_tag(objects: $objects) { affected_rows returning { name } } }",
    variables: { objects: [{ name: "rls" }] },
    expect: { data: { insert_tag: { affected_rows: 1, returning: [{ name: "rls" }] } } },
  },
  {
    name: "duplicate tag: uniqueness violation",
    role: "user",
    session: ADA,
    query: 'mutation { insert_tag_one(object: {name: "jwt"}) { name } }',
    expect: {
      errorCode: "constraint-violation",
      message: 'Uniqueness violation. duplicate key value violates unique constraint "tag_pkey"',
    },
  },
  {
    name: "on_conflict with empty update_columns ignores the conflicting row",
    role: "user",
    session: ADA,
    query:
      'mutation { insert_tag(objects: [{name: "jwt"}, {name: "row-security"}], on_conflict: {constraint: tag_pkey, update_columns: []}) { affected_rows returning { name } } }',
    expect: { data: { insert_tag: { affected_rows: 1, returning: [{ name: "row-security" }] } } },
  },
  {
    name: "tagging another author's article fails the insert check",
    role: "user",
    session: ADA,
    query: 'mutation { insert_article_tag_one(object: {article_id: 2, tag_name: "rls"}) { article_id } }',
    expect: { errorCode: "permission-error", message: INSERT_CHECK_FAILED },
  },
  {
    name: "tagging its own article",
    role: "user",
    session: ADA,
    query: 'mutation { insert_article_tag_one(object: {article_id: 3, tag_name: "rls"}) { article_id tag_name tag { name } } }',
    expect: { data: { insert_article_tag_one: { article_id: 3, tag_name: "rls", tag: { name: "rls" } } } },
  },
  {
    name: "delete_article_tag_by_pk with composite key arguments",
    role: "user",
    session: ADA,
    query: 'mutation { delete_article_tag_by_pk(article_id: 3, tag_name: "rls") { article_id tag_name } }',
    expect: { data: { delete_article_tag_by_pk: { article_id: 3, tag_name: "rls" } } },
  },
  {
    name: "upsert: on_conflict with update_columns updates the existing row",
    role: "admin",
    query:
      'mutation { insert_author_one(object: {id: 2, name: "Grace Brewster Hopper"}, on_conflict: {constraint: author_pkey, update_columns: [name]}) { id name } }',
    expect: { data: { insert_author_one: { id: 2, name: "Grace Brewster Hopper" } } },
  },
  {
    name: "upsert: on_conflict where not matching leaves the row alone",
    role: "admin",
    query:
      'mutation { insert_author(objects: [{id: 3, name: "Nobody"}], on_conflict: {constraint: author_pkey, update_columns: [name], where: {name: {_eq: "Somebody else"}}}) { affected_rows returning { id name } } }',
    expect: { data: { insert_author: { affected_rows: 0, returning: [] } } },
  },
  {
    name: "authors after the upserts",
    role: "anonymous",
    writes: true,
    query: "{ author(order_by: {id: asc}) { id name } }",
    expect: {
      data: {
        author: [
          { id: 1, name: "Ada Lovelace" },
          { id: 2, name: "Grace Brewster Hopper" },
          { id: 3, name: "Linus Torvalds" },
        ],
      },
    },
  },
  {
    name: "insert with an unknown author: foreign key violation",
    role: "admin",
    query: 'mutation { insert_article_one(object: {title: "Orphan", content: "x", author_id: 99}) { id } }',
    expect: {
      errorCode: "constraint-violation",
      message: 'Foreign key violation. insert or update on table "article" violates foreign key constraint "article_author_id_fkey"',
    },
  },
  {
    name: "changing a referenced key: foreign key violation",
    role: "admin",
    query: "mutation { update_article_by_pk(pk_columns: {id: 4}, _set: {id: 40}) { id } }",
    expect: {
      errorCode: "constraint-violation",
      message:
        'Foreign key violation. update or delete on table "article" violates foreign key constraint "article_tag_article_id_fkey" on table "article_tag"',
    },
  },
  {
    name: "admin insert_article_one with an explicit id",
    role: "admin",
    query: 'mutation { insert_article_one(object: {id: 100, title: "Counting", content: "x", author_id: 1}) { id author_id } }',
    expect: { data: { insert_article_one: { id: 100, author_id: 1 } } },
  },
  {
    name: "update with _inc",
    role: "admin",
    query:
      "mutation { update_article(where: {id: {_eq: 100}}, _inc: {author_id: 2}) { affected_rows returning { id author_id author { name } } } }",
    expect: { data: { update_article: { affected_rows: 1, returning: [{ id: 100, author_id: 3, author: { name: "Linus Torvalds" } }] } } },
  },
  {
    name: "update_article_by_pk with _inc and _set together",
    role: "admin",
    query: 'mutation { update_article_by_pk(pk_columns: {id: 100}, _inc: {author_id: -1}, _set: {title: "Counted"}) { title author_id } }',
    expect: { data: { update_article_by_pk: { title: "Counted", author_id: 2 } } },
  },
  {
    name: "delete_article_by_pk returns the deleted row",
    role: "admin",
    query: "mutation { delete_article_by_pk(id: 100) { id title } }",
    expect: { data: { delete_article_by_pk: { id: 100, title: "Counted" } } },
  },
  {
    name: "delete_author_by_pk of a missing row is null",
    role: "admin",
    query: "mutation { delete_author_by_pk(id: 999) { id } }",
    expect: { data: { delete_author_by_pk: null } },
  },
  {
    name: "delete with where",
    role: "admin",
    query: 'mutation { delete_tag(where: {name: {_in: ["rls", "row-security"]}}) { affected_rows } }',
    expect: { data: { delete_tag: { affected_rows: 2 } } },
  },
  {
    name: "two mutation fields run in order in one request",
    role: "admin",
    query: 'mutation { a: insert_tag_one(object: {name: "t1"}) { name } b: delete_tag_by_pk(name: "t1") { name } }',
    expect: { data: { a: { name: "t1" }, b: { name: "t1" } } },
  },
  {
    name: "a failing mutation field rolls back the whole request",
    role: "admin",
    query: 'mutation { a: insert_tag_one(object: {name: "t2"}) { name } b: insert_tag_one(object: {name: "jwt"}) { name } }',
    expect: {
      errorCode: "constraint-violation",
      message: 'Uniqueness violation. duplicate key value violates unique constraint "tag_pkey"',
    },
  },
  {
    name: "…so the first field's row is not there",
    role: "admin",
    writes: true,
    query: '{ tag_by_pk(name: "t2") { name } tag_aggregate { aggregate { count } } }',
    expect: { data: { tag_by_pk: null, tag_aggregate: { aggregate: { count: 5 } } } },
  },
];
