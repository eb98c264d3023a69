/**
 * A nested query compiles to ONE SQL statement, in both dialects, as
 * PostgreSQL itself saw it: statement logging is switched on for the
 * server's role in this test's database only (`alter role authenticator in
 * database … set log_statement = 'all'`, before the server opens its pool),
 * and the cluster's log file (read as the superuser with pg_read_binary_file,
 * so the OS user running the tests does not matter) is parsed per backend
 * pid.
 *
 * Per request, the transaction framing is excluded, and only it, by exact
 * shape (FRAMING below):
 *   begin / start transaction, commit / rollback / end, savepoints
 *   select set_config($1, $2, true), set_config($3, $4, true), …
 *       (the pipelined adaptor's role + hasura.user + request.jwt.claims)
 *   select set_config(el->>0, el->>1, true) from json_array_elements($1::json) el
 *       (the same, as @dataplan/pg's own adaptor sends it)
 *   select set_config(…)[, set_config(…)]…  with nothing else (a hand-written framing)
 *   set local …
 *   set jit_optimize_above_cost = -1;   (@dataplan/pg, once per new connection)
 *   deallocate …                        (@dataplan/pg's prepared-statement LRU)
 * Everything else is a data statement and is counted.
 *
 * The negative control (two root fields, which PostGraphile fetches with two
 * statements) shows the count is not vacuous: a relation fetched by a second
 * query would make the main assertions fail the same way.
 */
import type { Test } from "tap";
import t from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { startServer } from "../helpers/server.ts";
import { TEST_ROLES } from "../helpers/projects.ts";

const db = await createTestDatabase(t, "blog");
// A tracked function and a computed field (test/hasura/functions.test.ts), for the nesting through them.
await db.asOwner(`
  create function public.search_articles(search text) returns setof public.article
    language sql stable as $$ select * from public.article where title ilike ('%' || search || '%') $$;
  create function public.author_published(author_row public.author) returns setof public.article
    language sql stable as $$ select * from public.article where author_id = author_row.id and is_published $$;
`);
// Only the authenticator's sessions on this database log: the test's own
// superuser queries and other test files (tap runs them in parallel) do not.
await db.asRoot(`alter role ${TEST_ROLES.authenticator.name} in database ${db.name} set log_statement = 'all'`);
const srv = await startServer(t, { project: "blog", db });

const logFile: string = await (async () => {
  const [row] = await db.asRoot<{ current: string | null; data: string }>(
    "select pg_current_logfile() as current, current_setting('data_directory') as data",
  );
  if (row!.current) return row!.current.startsWith("/") ? row!.current : `${row!.data}/${row!.current}`;
  // test/run.ts starts the cluster with `pg_ctl -l <dir>/postgres.log`, <dir> holding pgdata.
  return `${row!.data.replace(/\/[^/]+\/?$/, "")}/postgres.log`;
})();

async function logSize(): Promise<number> {
  const [row] = await db.asRoot<{ size: string }>("select (pg_stat_file($1)).size as size", [logFile]);
  return Number(row!.size);
}

async function logSince(offset: number): Promise<string> {
  const size = await logSize();
  if (size <= offset) return "";
  const [row] = await db.asRoot<{ bytes: Buffer }>("select pg_read_binary_file($1, $2, $3) as bytes", [logFile, offset, size - offset]);
  return row!.bytes.toString("utf8");
}

interface LogEntry {
  pid: number;
  level: string;
  message: string;
}

// PostgreSQL's default log_line_prefix, '%m [%p] ': "2025-01-01 12:00:00.123 UTC [4242] LOG:  …";
// continuation lines of a multi-line statement start with a tab.
const ENTRY = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[(\d+)\] ([A-Z]+): {2}([\s\S]*)$/;

function parseLog(text: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of text.split("\n")) {
    const m = ENTRY.exec(line);
    if (m) entries.push({ pid: Number(m[1]), level: m[2]!, message: m[3]! });
    else if (entries.length && line.length) entries.at(-1)!.message += `\n${line}`;
  }
  return entries;
}

/**
 * The SQL statements of a `log_statement` entry: simple protocol
 * ("statement: …", which may hold several statements separated by `;`, all
 * logged as one entry) or extended ("execute <name>: …", exactly one).
 */
function statementsOf(e: LogEntry): string[] {
  if (e.level !== "LOG") return [];
  const m = /^(statement|execute [^:]*): ([\s\S]*)$/.exec(e.message);
  if (!m) return [];
  return m[1] === "statement" ? splitSql(m[2]!) : [m[2]!.trim()];
}

/** Splits on top-level `;` (outside quotes, dollar quotes and comments). */
function splitSql(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const rest = text.slice(i);
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      i = end < 0 ? text.length : end + 1; // a doubled quote re-enters on the next char: same result
    } else if (rest.startsWith("--")) {
      const end = text.indexOf("\n", i);
      i = end < 0 ? text.length : end + 1;
    } else if (rest.startsWith("/*")) {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 2;
    } else if (c === "$" && /^\$[A-Za-z_]*\$/.test(rest)) {
      const tag = /^\$[A-Za-z_]*\$/.exec(rest)![0];
      const end = text.indexOf(tag, i + tag.length);
      i = end < 0 ? text.length : end + tag.length;
    } else if (c === ";") {
      out.push(text.slice(start, i + 1));
      start = i = i + 1;
    } else i++;
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s && s !== ";");
}

const FRAMING: Array<[string, RegExp]> = [
  ["begin", /^(begin|start\s+transaction)\b[^;]*;?$/i],
  ["commit/rollback", /^(commit|rollback|end|abort)(\s+(work|transaction))?\s*;?$/i],
  ["savepoint", /^(savepoint|release(\s+savepoint)?|rollback\s+to(\s+savepoint)?)\s+\w+\s*;?$/i],
  ["settings", /^select set_config\(\$1, \$2, true\)(, set_config\(\$\d+, \$\d+, true\))*;?$/i],
  ["@dataplan/pg settings", /^select set_config\(el->>0, el->>1, true\) from json_array_elements\(\$1::json\) el;?$/i],
  ["set_config only", /^select\s+set_config\([^()]*\)(\s+as\s+\w+)?(\s*,\s*set_config\([^()]*\)(\s+as\s+\w+)?)*\s*;?$/i],
  ["set local", /^set\s+local\s+[^;]+;?$/i],
  ["dataplan connection setup", /^set jit_optimize_above_cost = -1;?$/i],
  ["deallocate", /^deallocate\s+[^;]+;?$/i],
];

const framingKind = (sql: string) => FRAMING.find(([, re]) => re.test(sql))?.[0];

interface Observed {
  status: number;
  body: any;
  framing: string[];
  data: string[];
}

/** Runs one request and returns the statements the server's backends logged meanwhile. */
async function observe(query: string, path: string): Promise<Observed> {
  const pids = async () =>
    new Set(
      (
        await db.asRoot<{ pid: number }>("select pid from pg_stat_activity where datname = $1 and usename = $2", [
          db.name,
          TEST_ROLES.authenticator.name,
        ])
      ).map((r) => r.pid),
    );
  const before = await logSize();
  const res = await srv.gql(query, { path });
  // log_statement writes before executing, so everything is in the file once
  // the response is back; wait for the closing commit/rollback regardless.
  let statements: string[] = [];
  for (let i = 0; i < 50; i++) {
    const ours = await pids();
    statements = parseLog(await logSince(before))
      .filter((e) => ours.has(e.pid))
      .flatMap(statementsOf);
    const opened = statements.filter((s) => framingKind(s) === "begin").length;
    const closed = statements.filter((s) => framingKind(s) === "commit/rollback").length;
    const settings = statements.filter((s) => framingKind(s) === "settings").length;
    if (settings > 0 && closed >= opened) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    status: res.status,
    body: res.body,
    framing: statements.filter((s) => framingKind(s)),
    data: statements.filter((s) => !framingKind(s)),
  };
}

/** Once to build the role's schema and warm caches, then the measured run. */
async function measure(t: Test, query: string, path: string): Promise<Observed> {
  const warm = await srv.gql(query, { path });
  t.equal(warm.status, 200, `${path}: HTTP 200 (warm-up): ${JSON.stringify(warm.body).slice(0, 300)}`);
  const o = await observe(query, path);
  t.equal(o.status, 200, `${path}: HTTP 200`);
  t.notOk(o.body?.errors, `${path}: no errors: ${JSON.stringify(o.body?.errors)}`);
  // Reads carry their settings in the statement's own (implicit) transaction:
  // server/graphile/pipelined-adaptor.ts sends set_config and the statement
  // in one round trip, without BEGIN/COMMIT.
  t.ok(
    o.framing.some((s) => framingKind(s) === "settings"),
    `the request's settings were seen in the log: ${JSON.stringify(o.framing)}`,
  );
  return o;
}

t.test("the SQL splitter keeps quoted, dollar-quoted and commented semicolons", async (t) => {
  t.same(splitSql("begin; select ';', $x$;$x$ /* ; */ -- ;\n from t; commit"), [
    "begin;",
    "select ';', $x$;$x$ /* ; */ -- ;\n from t;",
    "commit",
  ]);
  t.same(splitSql("select 1"), ["select 1"]);
});

t.test("Hasura dialect: article { title author { name articles { title } } } is one statement", async (t) => {
  const o = await measure(t, "query { article { title author { name articles { title } } } }", "/v1/graphql");
  const articles = o.body?.data?.article as Array<{ title: string; author: { name: string; articles: Array<{ title: string }> } }>;
  t.ok(Array.isArray(articles) && articles.length > 1, "articles returned");
  t.ok(
    articles?.every((a) => typeof a.author?.name === "string" && a.author.articles.length > 0),
    "each with its author and the author's articles",
  );
  const [count] = await db.asRoot<{ n: number }>("select count(*)::int as n from public.article");
  t.equal(articles?.length, count!.n, "every article (admin)");
  t.equal(o.data.length, 1, `exactly one data statement, got ${o.data.length}:\n${o.data.join("\n---\n")}`);
  t.match(o.data[0] ?? "", /\barticle\b/, "it reads article");
  t.match(o.data[0] ?? "", /\bauthor\b/, "and author, in the same statement");
});

t.test("Hasura dialect: through a tracked function or a computed field, still one statement", async (t) => {
  const computed = await measure(t, "{ author { name published(limit: 2) { title article_tags { tag_name } } } }", "/v1/graphql");
  const authors = computed.body?.data?.author as Array<{ published: unknown[] }>;
  t.ok(
    authors?.some((a) => a.published.length > 0),
    "authors with their published articles",
  );
  t.equal(computed.data.length, 1, `exactly one data statement, got ${computed.data.length}:\n${computed.data.join("\n---\n")}`);
  t.match(computed.data[0] ?? "", /author_published/);
  t.match(computed.data[0] ?? "", /article_tag/);
  // An array relationship of the function's rows joins; an object one would be
  // a second, batched statement: PostGraphile keeps a set-returning
  // function's row order by not joining a single row to it.
  const fn = await measure(t, `{ search_articles(args: {search: ""}) { title article_tags { tag_name } } }`, "/v1/graphql");
  t.ok((fn.body?.data?.search_articles as unknown[])?.length > 1, "articles returned");
  t.equal(fn.data.length, 1, `exactly one data statement, got ${fn.data.length}:\n${fn.data.join("\n---\n")}`);
  t.match(fn.data[0] ?? "", /search_articles/);
  t.match(fn.data[0] ?? "", /article_tag/);
});

t.test("PostGraphile dialect (control): the same shape is one statement", async (t) => {
  const o = await measure(
    t,
    "{ allArticles { nodes { title authorByAuthorId { name articlesByAuthorId { nodes { title } } } } } }",
    "/graphql",
  );
  const nodes = o.body?.data?.allArticles?.nodes as Array<{ authorByAuthorId: { articlesByAuthorId: { nodes: unknown[] } } }>;
  t.ok(nodes?.length > 1 && nodes.every((n) => n.authorByAuthorId.articlesByAuthorId.nodes.length > 0), "nested data returned");
  t.equal(o.data.length, 1, `exactly one data statement, got ${o.data.length}:\n${o.data.join("\n---\n")}`);
  t.match(o.data[0] ?? "", /\barticle\b/);
  t.match(o.data[0] ?? "", /\bauthor\b/);
});

t.test("negative control: two root fields are counted as two statements", async (t) => {
  const o = await measure(t, "{ allArticles { nodes { title } } allAuthors { nodes { name } } }", "/graphql");
  t.equal(o.data.length, 2, `the counter sees a second query: ${o.data.join("\n---\n")}`);
});
