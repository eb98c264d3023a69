/**
 * server/import/bool-exp.ts through a real PostgreSQL: for each Hasura
 * boolean-expression form, the generated policy (and helper DDL) is applied
 * to fixture tables, and the rows a fixture role sees must equal the rows
 * the rule selects, restated independently in SQL and run as the superuser.
 * Also: hostile strings in values and identifiers; quoteIdent/quoteLiteral
 * against PostgreSQL's own; a related table whose own policy hides the row,
 * which Hasura's rule (relationship or _exists) still reads through.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import t from "tap";
import { type BoolExp, helpersDdl, type Relationship, readerRoleSql, translateBoolExp } from "../../server/import/bool-exp.ts";
import { type CatalogModel, loadCatalog, type QualifiedTable } from "../../server/import/catalog.ts";
import { ImportError } from "../../server/import/metadata.ts";
import { quoteIdent, quoteLiteral } from "../../server/import/sql-quote.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";
import { createFixtureRoles } from "../helpers/roles.ts";
import { runCli } from "../permissions/cli.ts";

const HOSTILE = "it's \\ $rule$ $$ \"'); drop table public.fx_author; --";
const WEIRD_TABLE = `fx weird"'; --`;
const WEIRD_COL = `we"ird'col`;
const WEIRD_FK = `a"uthor`;
const WEIRD_REL = `rel"'`;

const db = await createTestDatabase(t, "blog");
const { user } = await createFixtureRoles(t, db, ["user"]);
const reader = `fx_${randomBytes(4).toString("hex")}_rules_reader`;
t.teardown(async () => {
  await db.asRoot(`drop owned by ${quoteIdent(reader)} cascade`).catch(() => {}); // the database may be gone already
  await db.asRoot(`drop role if exists ${quoteIdent(reader)}`);
});
await db.asOwner(readerRoleSql(reader));

await db.asOwner(`
  create type public.fx_mood as enum ('happy', 'sad', 'it''s');
  create table public.fx_author (id integer primary key, name text not null, secret boolean not null default false);
  create table public.fx_article (
    id integer primary key, author_id integer references public.fx_author (id), title text not null,
    code varchar(5), score numeric, tags jsonb, note text, reviewer_id integer, labels text[], mood public.fx_mood);
  create table public.fx_comment (id integer primary key, article_id integer not null references public.fx_article (id), body text not null);
  create table public.${quoteIdent(WEIRD_TABLE)} (
    id integer primary key, ${quoteIdent(WEIRD_COL)} text, ${quoteIdent(WEIRD_FK)} integer references public.fx_author (id));
  do $$ declare r text; begin
    foreach r in array array['fx_author', 'fx_article', 'fx_comment', ${quoteLiteral(WEIRD_TABLE)}] loop
      execute format('alter table public.%I enable row level security, force row level security', r);
      execute format('grant select on public.%I to %I', r, ${quoteLiteral(user)});
    end loop;
  end $$;
`);
await db.asRoot(
  `insert into public.fx_author values (1, 'ann', false), (2, 'bob', true), (3, $1, false);
   insert into public.fx_article values
     (1, 1, 'Hello world', 'AB', 3, '{"a": 1, "b": 2}', null, 1),
     (2, 1, 'hello again', 'ab12', 7, '{"a": 2}', 'n', 2),
     (3, 2, 'Second', 'XY', 10, '{"c": 3}', null, 2),
     (4, 2, $1, 'Z', null, null, 'x', null),
     (5, 3, 'Third 123', 'q', 5, '{"a": 1}', 'm', 1),
     (6, null, 'orphan', null, 1, '{"b": 5}', null, 3);
   update public.fx_article set labels = case id when 1 then '{x}'::text[] when 2 then '{x,y}' when 3 then '{y,z}' when 5 then '{}' end;
   update public.fx_article set mood = case when id in (1, 4) then 'happy'::public.fx_mood when id = 2 then 'it''s' when id = 3 then 'sad' end;
   insert into public.fx_comment values (1, 1, 'ok good'), (2, 3, 'GOOD one'), (3, 3, 'meh'), (4, 5, 'fine ok');
   insert into public.${quoteIdent(WEIRD_TABLE)} values (1, $1, 3), (2, 'plain', 1), (3, null, null);`.replace(/\$1/g, () =>
    quoteLiteral(HOSTILE),
  ),
);

const fx = (name: string): QualifiedTable => ({ schema: "public", name });
const RELATIONSHIPS: Record<string, Relationship[]> = {
  fx_article: [
    { name: "author", kind: "object", using: { foreignKeyConstraintOn: "author_id" } },
    { name: "comments", kind: "array", using: { foreignKeyConstraintOn: { table: fx("fx_comment"), column: "article_id" } } },
    {
      name: "reviewer",
      kind: "object",
      using: { manualConfiguration: { remoteTable: fx("fx_author"), columnMapping: { reviewer_id: "id" } } },
    },
  ],
  fx_author: [{ name: "articles", kind: "array", using: { foreignKeyConstraintOn: { table: fx("fx_article"), columns: ["author_id"] } } }],
  fx_comment: [{ name: "article", kind: "object", using: { foreignKeyConstraintOn: ["article_id"] } }],
  [WEIRD_TABLE]: [{ name: WEIRD_REL, kind: "object", using: { foreignKeyConstraintOn: WEIRD_FK } }],
};

async function catalog(): Promise<CatalogModel> {
  const client = new pg.Client({ connectionString: db.ownerUrl });
  await client.connect();
  try {
    return await loadCatalog(client);
  } finally {
    await client.end();
  }
}
const model = await catalog();

const SESSION = {
  "x-hasura-role": user,
  "x-hasura-user-id": "1",
  "x-hasura-user-name": "bob",
  "x-hasura-allowed-ids": "{1,3}",
  "x-hasura-keys": '["a","c"]',
  "x-hasura-title": HOSTILE,
  "x-hasura-labels": "{y}",
  "x-hasura-moods": JSON.stringify(["sad", "it's"]),
};

/** Rows of `table` the role sees, in one transaction as the server runs a request. */
async function visibleIds(table: string, session: Record<string, string> = SESSION): Promise<number[]> {
  const client = new pg.Client({ connectionString: db.runtimeUrl });
  await client.connect();
  try {
    await client.query("begin");
    await client.query(`set local role ${quoteIdent(user)}`);
    await client.query("select set_config('hasura.user', $1, true)", [JSON.stringify(session)]);
    const { rows } = await client.query<{ id: number }>(`select id from public.${quoteIdent(table)} order by id`);
    await client.query("commit");
    return rows.map((r) => r.id);
  } finally {
    await client.end();
  }
}

async function rootIds(table: string, where: string): Promise<number[]> {
  const rows = await db.asRoot<{ id: number }>(`select id from public.${quoteIdent(table)} a where ${where} order by id`);
  return rows.map((r) => r.id);
}

/** Translates, applies helpers + policy for the fixture role, returns the SQL. */
async function apply(table: string, exp: unknown): Promise<{ sql: string; ddl: string }> {
  const out = translateBoolExp(exp, fx(table), {
    catalog: model,
    relationships: (q) => RELATIONSHIPS[q.name] ?? [],
    role: user,
    where: { file: "test", path: "$.filter" },
  });
  const ddl = helpersDdl(out.helpers, { reader });
  await db.asOwner(`${ddl}
    drop policy if exists fx_rule on public.${quoteIdent(table)};
    create policy fx_rule on public.${quoteIdent(table)} for select to ${quoteIdent(user)} using (${out.sql});`);
  return { sql: out.sql, ddl };
}

interface Case {
  name: string;
  exp: BoolExp;
  /** The same rule in SQL over alias `a`, written by hand. */
  where: string;
  table?: string;
  /** `{}`-like rules select every row. */
  all?: boolean;
  sqlMatches?: RegExp;
}

const CASES: Case[] = [
  { name: "{} is true", exp: {}, where: "true", all: true, sqlMatches: /^true$/ },
  { name: "implicit AND", exp: { author_id: { _eq: "X-Hasura-User-Id" }, score: { _gt: 5 } }, where: "a.author_id = 1 and a.score > 5" },
  { name: "_and", exp: { _and: [{ score: { _gte: 3 } }, { score: { _lte: 7 } }] }, where: "a.score between 3 and 7" },
  { name: "_or", exp: { _or: [{ author_id: { _eq: 2 } }, { note: { _eq: "m" } }] }, where: "a.author_id = 2 or a.note = 'm'" },
  { name: "_or: [] is false", exp: { _or: [] }, where: "false", all: true },
  { name: "_not", exp: { _not: { score: { _lt: 5 } } }, where: "not (a.score < 5)" },
  {
    name: "_not over _or in _and",
    exp: {
      _and: [{ _not: { _or: [{ id: { _eq: 1 } }, { id: { _eq: 2 } }] } }, { _or: [{ score: { _gt: 4 } }, { note: { _is_null: false } }] }],
    },
    where: "a.id not in (1, 2) and (a.score > 4 or a.note is not null)",
  },
  { name: "_ne / _neq", exp: { author_id: { _ne: 1 }, score: { _neq: 10 } }, where: "a.author_id <> 1 and a.score <> 10" },
  { name: "_eq null on a nullable column", exp: { note: { _eq: null } }, where: "a.note is null" },
  { name: "_neq null", exp: { note: { _neq: null } }, where: "a.note is not null" },
  { name: "a bare value is _eq", exp: { author_id: 2 }, where: "a.author_id = 2" },
  { name: "_lt", exp: { score: { _lt: 5 } }, where: "a.score < 5" },
  { name: "_in literal", exp: { id: { _in: [2, 4, 6] } }, where: "a.id in (2, 4, 6)" },
  { name: "_nin literal", exp: { id: { _nin: [2, 4, 6] } }, where: "a.id not in (2, 4, 6)" },
  { name: "_nin [] is every row", exp: { id: { _nin: [] } }, where: "true", all: true },
  {
    name: "_in array session variable",
    exp: { author_id: { _in: "X-Hasura-Allowed-Ids" } },
    where: "a.author_id in (1, 3)",
    sqlMatches: /session_var_array_required\('x-hasura-allowed-ids'\)\)::integer\[\]/,
  },
  { name: "_nin array session variable", exp: { author_id: { _nin: "x-hasura-allowed-ids" } }, where: "a.author_id not in (1, 3)" },
  { name: "_is_null", exp: { note: { _is_null: true } }, where: "a.note is null" },
  {
    name: "session variable in any case spelling",
    exp: { _or: [{ author_id: { _eq: "X-HASURA-USER-ID" } }, { reviewer_id: { _eq: "x-hasura-user-id" } }] },
    where: "a.author_id = 1 or a.reviewer_id = 1",
    sqlMatches: /session_var_required\('x-hasura-user-id'\)\)::integer/,
  },
  { name: "_like", exp: { title: { _like: "%o%" } }, where: "a.title like '%o%'" },
  { name: "_nlike", exp: { title: { _nlike: "%o%" } }, where: "a.title not like '%o%'" },
  { name: "_ilike", exp: { title: { _ilike: "hello%" } }, where: "a.title ilike 'hello%'" },
  { name: "_nilike", exp: { title: { _nilike: "hello%" } }, where: "a.title not ilike 'hello%'" },
  { name: "_similar", exp: { code: { _similar: "[A-Z]+" } }, where: "a.code similar to '[A-Z]+'" },
  { name: "_nsimilar", exp: { code: { _nsimilar: "[A-Z]+" } }, where: "a.code not similar to '[A-Z]+'" },
  { name: "_regex", exp: { title: { _regex: "[0-9]" } }, where: "a.title ~ '[0-9]'" },
  { name: "_nregex", exp: { title: { _nregex: "^[A-Z]" } }, where: "a.title !~ '^[A-Z]'" },
  { name: "_iregex", exp: { title: { _iregex: "^h" } }, where: "a.title ~* '^h'" },
  { name: "_niregex", exp: { title: { _niregex: "^h" } }, where: "a.title !~* '^h'" },
  {
    name: "varchar column: the session variable is cast without typmod",
    exp: { code: { _eq: "x-hasura-code" } },
    where: "a.code = 'ab12'",
  },
  { name: "_contains", exp: { tags: { _contains: { a: 1 } } }, where: `a.tags @> '{"a": 1}'` },
  { name: "_contained_in", exp: { tags: { _contained_in: { a: 1, b: 2, c: 3 } } }, where: `a.tags <@ '{"a": 1, "b": 2, "c": 3}'` },
  { name: "_has_key", exp: { tags: { _has_key: "b" } }, where: "a.tags ? 'b'" },
  { name: "_has_keys_any", exp: { tags: { _has_keys_any: ["b", "c"] } }, where: "a.tags ?| array['b', 'c']" },
  { name: "_has_keys_all", exp: { tags: { _has_keys_all: ["a", "b"] } }, where: "a.tags ?& array['a', 'b']" },
  {
    name: "_has_keys_any array session variable (JSON array)",
    exp: { tags: { _has_keys_any: "X-Hasura-Keys" } },
    where: "a.tags ?| array['a', 'c']",
  },
  { name: "_contains on an array column", exp: { labels: { _contains: ["x"] } }, where: "a.labels @> array['x']" },
  { name: "_contained_in on an array column", exp: { labels: { _contained_in: ["x", "y"] } }, where: "a.labels <@ array['x', 'y']" },
  { name: "_eq with an array value", exp: { labels: { _eq: ["x", "y"] } }, where: "a.labels = array['x', 'y']" },
  { name: "_contains with an array session variable", exp: { labels: { _contains: "X-Hasura-Labels" } }, where: "a.labels @> array['y']" },
  { name: "an enum column (the cast names its schema)", exp: { mood: { _eq: "happy" } }, where: "a.mood = 'happy'" },
  {
    name: "an enum column, _in an array session variable",
    exp: { mood: { _in: "X-Hasura-Moods" } },
    where: "a.mood in ('sad', 'it''s')",
    sqlMatches: /::public\.fx_mood\[\]/,
  },
  { name: "_ceq", exp: { reviewer_id: { _ceq: "author_id" } }, where: "a.reviewer_id = a.author_id" },
  { name: "_cne [col]", exp: { reviewer_id: { _cne: ["author_id"] } }, where: "a.reviewer_id <> a.author_id" },
  {
    name: "_cgt / _clt",
    exp: { _or: [{ reviewer_id: { _cgt: "author_id" } }, { score: { _clt: "id" } }] },
    where: "a.reviewer_id > a.author_id or a.score < a.id",
  },
  {
    name: "_cgte / _clte",
    exp: { reviewer_id: { _cgte: "author_id" }, id: { _clte: "score" } },
    where: "a.reviewer_id >= a.author_id and a.id <= a.score",
  },
  {
    name: "_ceq [$, col] at the top is this row",
    exp: { reviewer_id: { _ceq: ["$", "author_id"] } },
    where: "a.reviewer_id = a.author_id",
  },
  {
    name: "object relationship (foreign key)",
    exp: { author: { name: { _eq: "ann" } } },
    where: "exists (select 1 from public.fx_author w where w.id = a.author_id and w.name = 'ann')",
    sqlMatches: /^hasura_rules\.fx_article_author_[0-9a-f]+\(author_id\)$/,
  },
  {
    name: "object relationship with a session variable",
    exp: { author: { name: { _eq: "X-Hasura-User-Name" } } },
    where: "exists (select 1 from public.fx_author w where w.id = a.author_id and w.name = 'bob')",
  },
  {
    name: "array relationship (foreign key on the remote table)",
    exp: { comments: { body: { _ilike: "%good%" } } },
    where: "exists (select 1 from public.fx_comment c where c.article_id = a.id and c.body ilike '%good%')",
  },
  {
    name: "manual configuration",
    exp: { reviewer: { secret: { _eq: true } } },
    where: "exists (select 1 from public.fx_author w where w.id = a.reviewer_id and w.secret)",
  },
  {
    name: "nested relationships",
    exp: { author: { articles: { score: { _gte: 10 } } } },
    where:
      "exists (select 1 from public.fx_author w join public.fx_article b on b.author_id = w.id where w.id = a.author_id and b.score >= 10)",
  },
  {
    name: "relationship with {} (the related row exists)",
    exp: { author: {} },
    where: "exists (select 1 from public.fx_author w where w.id = a.author_id)",
  },
  {
    name: "[$, col] inside a relationship is the root row",
    exp: { author: { id: { _ceq: ["$", "reviewer_id"] } } },
    where: "exists (select 1 from public.fx_author w where w.id = a.author_id and w.id = a.reviewer_id)",
  },
  {
    name: "_clt inside a relationship compares the related row's columns",
    exp: { comments: { id: { _clt: "article_id" } } },
    where: "exists (select 1 from public.fx_comment c where c.article_id = a.id and c.id < c.article_id)",
  },
  {
    name: "relationship in _or and _not",
    exp: { _or: [{ _not: { author: { name: { _eq: "ann" } } } }, { comments: { body: { _like: "%ok%" } } }] },
    where:
      "not exists (select 1 from public.fx_author w where w.id = a.author_id and w.name = 'ann') or exists (select 1 from public.fx_comment c where c.article_id = a.id and c.body like '%ok%')",
  },
  {
    name: "_exists (uncorrelated, once per statement)",
    exp: {
      _exists: { _table: { schema: "public", name: "fx_author" }, _where: { name: { _eq: "X-Hasura-User-Name" }, secret: { _eq: true } } },
      score: { _gt: 4 },
    },
    where: "exists (select 1 from public.fx_author w where w.name = 'bob' and w.secret) and a.score > 4",
    sqlMatches: /\(select hasura_rules\.fx_article_exists_[0-9a-f]+\(\)\)/,
  },
  {
    name: "_exists that finds nothing",
    exp: { _exists: { _table: "fx_author", _where: { name: { _eq: "nobody" } } } },
    where: "false",
    all: true,
  },
  {
    name: "_exists with [$, col]",
    exp: { _exists: { _table: "fx_comment", _where: { article_id: { _ceq: ["$", "id"] }, body: { _like: "%ok%" } } } },
    where: "exists (select 1 from public.fx_comment c where c.article_id = a.id and c.body like '%ok%')",
  },
  {
    name: "legacy $-spellings",
    exp: { $or: [{ author_id: { $eq: 1 } }, { score: { $gt: 9 } }, { $not: { code: { $nin: ["q", "XY", "Z"] } } }] },
    where: "a.author_id = 1 or a.score > 9 or a.code in ('q', 'XY', 'Z')",
  },
  { name: "hostile literal value", exp: { title: { _eq: HOSTILE } }, where: `a.title = ${quoteLiteral(HOSTILE)}` },
  {
    name: "hostile literal in _in and a relationship",
    exp: { _or: [{ title: { _in: [HOSTILE, "x'y"] } }, { author: { name: { _eq: HOSTILE } } }] },
    where: `a.title = ${quoteLiteral(HOSTILE)} or a.author_id = 3`,
  },
  { name: "hostile session variable value", exp: { title: { _eq: "x-hasura-title" } }, where: `a.title = ${quoteLiteral(HOSTILE)}` },
  {
    name: "hostile identifiers: table, column, foreign key column, relationship name",
    table: WEIRD_TABLE,
    exp: { [WEIRD_COL]: { _eq: HOSTILE }, [WEIRD_REL]: { name: { _eq: HOSTILE } } },
    where: `a.${quoteIdent(WEIRD_COL)} = ${quoteLiteral(HOSTILE)} and a.${quoteIdent(WEIRD_FK)} = 3`,
  },
  {
    name: "hostile identifiers: _is_null on a quoted column",
    table: WEIRD_TABLE,
    exp: { [WEIRD_COL]: { _is_null: false }, [WEIRD_REL]: {} },
    where: `a.${quoteIdent(WEIRD_COL)} is not null and a.${quoteIdent(WEIRD_FK)} is not null`,
  },
];

const SESSION_WITH_CODE = { ...SESSION, "x-hasura-code": "ab12" };

for (const c of CASES) {
  await t.test(c.name, async (t) => {
    const table = c.table ?? "fx_article";
    const { sql } = await apply(table, c.exp);
    if (c.sqlMatches) t.match(sql, c.sqlMatches, "policy text");
    const expected = await rootIds(table, c.where);
    const total = (await rootIds(table, "true")).length;
    if (!c.all) t.ok(expected.length > 0 && expected.length < total, `the rule selects some rows, not all (${expected.join(",")})`);
    t.same(await visibleIds(table, SESSION_WITH_CODE), expected, `visible rows = the rule's rows; policy: ${sql}`);
  });
}

t.test("a missing session variable fails as Hasura does (HA404), it does not match nothing", async (t) => {
  await apply("fx_article", { author_id: { _eq: "X-Hasura-Org-Id" } });
  await t.rejects(visibleIds("fx_article"), { code: "HA404", message: 'missing session variables: "x-hasura-org-id"' });
});

t.test("the related table's own policy hides the row; Hasura's rule still reads it", async (t) => {
  await db.asOwner(`create policy fx_hide on public.fx_author for select to ${quoteIdent(user)} using (false);
                    create policy fx_hide on public.fx_comment for select to ${quoteIdent(user)} using (false);`);
  t.teardown(() => db.asOwner("drop policy fx_hide on public.fx_author; drop policy fx_hide on public.fx_comment"));
  t.same(await visibleIds("fx_author"), [], "the role sees no author");
  t.same(await visibleIds("fx_comment"), [], "nor any comment");

  // A plain sub-select in the policy runs under the author's policy: nothing.
  await db.asOwner(`drop policy if exists fx_rule on public.fx_article;
    create policy fx_rule on public.fx_article for select to ${quoteIdent(user)}
      using (exists (select 1 from public.fx_author w where w.id = author_id and w.name = 'ann'))`);
  t.same(await visibleIds("fx_article"), [], "a plain sub-select admits nothing (what the helpers avoid)");

  await apply("fx_article", { author: { name: { _eq: "ann" } } });
  t.same(await visibleIds("fx_article"), [1, 2], "through an object relationship: ann's articles");
  await apply("fx_article", { comments: { body: { _like: "%ok%" } } });
  t.same(await visibleIds("fx_article"), [1, 5], "through an array relationship");
  await apply("fx_article", { _exists: { _table: "fx_author", _where: { name: { _eq: "ann" }, secret: { _eq: false } } }, id: { _lt: 3 } });
  t.same(await visibleIds("fx_article"), [1, 2], "through _exists");
  await apply("fx_author", { articles: { comments: { body: { _eq: "meh" } } } });
  t.same(await visibleIds("fx_author"), [2], "nested, on the table whose own rule it replaces");
});

t.test("the helpers: SECURITY DEFINER, stable, search_path '', owned by the reader, EXECUTE only for the role", async (t) => {
  const { ddl } = await apply("fx_article", { author: { name: { _eq: "ann" } }, comments: {} });
  t.match(ddl, /create policy hasura_rules_read on public\.fx_author for select to \S+ using \(true\);/);
  const fns = await db.asRoot<{
    name: string;
    secdef: boolean;
    volatile: string;
    config: string[];
    owner: string;
    public_exec: boolean;
    role_exec: boolean;
    auth_exec: boolean;
  }>(
    `select p.proname as name, p.prosecdef as secdef, p.provolatile as volatile, p.proconfig as config, p.proowner::regrole::text as owner,
            exists (select 1 from aclexplode(p.proacl) x where x.grantee = 0) as public_exec,
            has_function_privilege($1, p.oid, 'execute') as role_exec,
            exists (select 1 from aclexplode(p.proacl) x where x.grantee = $2::regrole) as auth_exec
       from pg_proc p where p.pronamespace = 'hasura_rules'::regnamespace order by 1`,
    [user, TEST_ROLES.authenticator.name],
  );
  t.equal(fns.length, 2, "one helper per relationship test");
  for (const f of fns) {
    t.ok(f.secdef, `${f.name}: security definer`);
    t.equal(f.volatile, "s", `${f.name}: stable`);
    t.same(f.config, ['search_path=""'], `${f.name}: search_path ''`);
    t.equal(f.owner, quoteIdent(reader), `${f.name}: owned by the reader`);
    t.notOk(f.public_exec, `${f.name}: not PUBLIC's`);
    t.ok(f.role_exec, `${f.name}: the role may execute it`);
    t.notOk(f.auth_exec, `${f.name}: the authenticator holds no grant`);
  }
  const [r] = await db.asRoot<{ login: boolean; bypass: boolean; member: boolean }>(
    `select rolcanlogin as login, rolbypassrls as bypass, pg_has_role($2, oid, 'member') as member from pg_roles where rolname = $1`,
    [reader, TEST_ROLES.authenticator.name],
  );
  t.same(
    r,
    { login: false, bypass: false, member: false },
    "the reader: NOLOGIN, not BYPASSRLS, and the runtime connection cannot become it",
  );
  const grants = await db.asRoot<{ table: string; column: string }>(
    `select table_name as table, column_name as column from information_schema.column_privileges
      where grantee = $1 and privilege_type = 'SELECT' order by 1, 2`,
    [reader],
  );
  t.same(
    grants,
    [
      { table: "fx_author", column: "id" },
      { table: "fx_author", column: "name" },
      { table: "fx_comment", column: "article_id" },
    ],
    "the reader reads only the columns the rules compare",
  );
});

t.test("the catalog: types for casts are schema-qualified and carry no typmod; keys", async (t) => {
  const article = model.tables.get(JSON.stringify(["public", "fx_article"]))!;
  t.equal(article.kind, "table");
  t.equal(article.columns.get("mood")?.type, "public.fx_mood", "a user type is qualified");
  t.equal(article.columns.get("code")?.type, "character varying", "varchar(5) casts as varchar: no silent truncation");
  t.equal(article.columns.get("labels")?.type, "text[]");
  t.same(article.primaryKey, ["id"]);
  t.same(article.foreignKeys, [
    { name: "fx_article_author_id_fkey", columns: ["author_id"], references: fx("fx_author"), referencedColumns: ["id"] },
  ]);
  t.equal(article.columns.get("title")?.notNull, true);
});

t.test("errors name the place and the problem", async (t) => {
  const opts = {
    catalog: model,
    relationships: (q: QualifiedTable) => RELATIONSHIPS[q.name] ?? [],
    where: { file: "tables/public_fx_article.yaml", path: "$.select_permissions[0].permission.filter" },
  };
  t.throws(
    () => translateBoolExp({ nope: { _eq: 1 } }, fx("fx_article"), opts),
    /tables\/public_fx_article\.yaml: \$\.select_permissions\[0\]\.permission\.filter\.nope: "nope" is neither a column nor a relationship of public\.fx_article/,
  );
  t.throws(() => translateBoolExp({ id: { _foo: 1 } }, fx("fx_article"), opts), /filter\.id\._foo: operator "_foo" is not translated/);
  t.throws(() => translateBoolExp({ title: { _has_key: "a" } }, fx("fx_article"), opts), /_has_key works only on jsonb columns/);
  t.throws(() => translateBoolExp({ author: { nope: { _eq: 1 } } }, fx("fx_article"), opts), /filter\.author\.nope: "nope" is neither/);
  t.throws(() => translateBoolExp({ id: { _ceq: ["author", "id"] } }, fx("fx_article"), opts), /a column comparison takes/);
  t.throws(
    () => translateBoolExp({ _exists: { _table: "missing", _where: {} } }, fx("fx_article"), opts),
    /table public\.missing does not exist/,
  );
  t.throws(() => translateBoolExp({ title: { _eq: "a\u0000b" } }, fx("fx_article"), opts), /filter\.title\._eq: value contains a NUL/);
  t.throws(() => translateBoolExp({ nope: 1 }, fx("fx_article"), opts), ImportError, "an ImportError, as the loader's");
  t.throws(
    () =>
      translateBoolExp({ rank: { _gt: 1 } }, fx("fx_article"), {
        ...opts,
        computedFields: () => [{ name: "rank", function: fx("fx_article_rank") }],
      }),
    /filter\.rank: computed field "rank": no function public\.fx_article_rank taking a public\.fx_article row/,
  );
});

t.test("quoteIdent and quoteLiteral agree with PostgreSQL's quote_ident and quote_literal", async (t) => {
  const keywords = (await db.asRoot<{ word: string }>("select word from pg_get_keywords()")).map((r) => r.word);
  const strings = [
    HOSTILE,
    WEIRD_TABLE,
    WEIRD_COL,
    "plain",
    "Mixed",
    "_x1$",
    "1abc",
    "a b",
    "é",
    "\\",
    "'",
    '"',
    "$$",
    "x'; drop role postgres; --",
    "e'\\''",
    ...keywords,
  ];
  const rows = await db.asRoot<{ s: string; ident: string; literal: string }>(
    "select s, quote_ident(s) as ident, quote_literal(s) as literal from unnest($1::text[]) s",
    [strings],
  );
  for (const r of rows) {
    t.equal(quoteIdent(r.s), r.ident, `quoteIdent(${JSON.stringify(r.s)})`);
    t.equal(quoteLiteral(r.s), r.literal, `quoteLiteral(${JSON.stringify(r.s)})`);
  }
  const client = new pg.Client({ connectionString: db.rootUrl });
  await client.connect();
  try {
    for (const scs of ["on", "off"]) {
      await client.query(`set standard_conforming_strings = ${scs}`);
      const { rows } = await client.query<{ back: string[] }>(`select array[${strings.map(quoteLiteral).join(", ")}] as back`);
      t.same(rows[0]!.back, strings, `literals read back as themselves under standard_conforming_strings ${scs}`);
    }
  } finally {
    await client.end();
  }
  const [ident] = await db.asRoot<{ n: string }>(`select ${quoteLiteral(HOSTILE)} as ${quoteIdent(HOSTILE)}`);
  t.equal(Object.keys(ident!)[0], HOSTILE, "a hostile identifier names exactly itself");
  t.equal(Object.values(ident!)[0], HOSTILE, "a hostile literal is exactly itself");
});

t.test("npm run lint:policies: the reader's policies are not 'for an unknown role'", async (t) => {
  await apply("fx_article", { author: { name: { _eq: "ann" } }, _exists: { _table: "fx_comment", _where: {} } });
  const res = await runCli("lint-policies", [], db, "blog");
  t.notMatch(res.output, /hasura_rules_read/, `no finding on the reader's policies:\n${res.output}`);
  t.equal(res.code, 0, `clean: ${res.output}`);
});
