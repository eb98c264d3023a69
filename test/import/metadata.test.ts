/**
 * The Hasura metadata loader (server/import/metadata.ts): the blog as
 * Hasura metadata (examples/blog/hasura) states the rules of the blog's
 * policies.sql, checked against its generated policies.expected.md; the
 * same metadata as a v3 and a v2 export file loads to the same value; an
 * unknown key or a malformed file is an error naming the file and the JSON
 * path; untranslated items are listed with their places.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { parse, stringify } from "yaml";
import { REPO_ROOT } from "../../server/config.ts";
import { type HasuraMetadata, ImportError, loadHasuraMetadata } from "../../server/import/metadata.ts";

const BLOG = path.join(REPO_ROOT, "examples/blog/hasura");
const META = path.join(BLOG, "metadata");

function tempDir(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), "hasura-metadata-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The copy of the blog project to modify. */
function blogCopy(t: Test): string {
  const dir = tempDir(t);
  cpSync(BLOG, dir, { recursive: true });
  return dir;
}

/** Maps, plain; `where` dropped (it names the file the value came from). */
function comparable(m: HasuraMetadata): unknown {
  return JSON.parse(
    JSON.stringify(m, (key, v) => {
      if (key === "where") return undefined;
      return v instanceof Map ? Object.fromEntries(v) : v;
    }),
  );
}

/** The directory as one value, includes resolved (as `hasura metadata export` / export_metadata answer). */
function readYaml(file: string): unknown {
  return parse(readFileSync(file, "utf8"));
}
function blogTables(): unknown[] {
  const dir = path.join(META, "databases/default/tables");
  return (readYaml(path.join(dir, "tables.yaml")) as string[]).map((inc) => readYaml(path.join(dir, inc.replace("!include ", ""))));
}

function expectError(t: Test, f: () => unknown, message: string | RegExp): void {
  try {
    f();
    t.fail(`expected an ImportError matching ${message}`);
  } catch (e) {
    t.ok(e instanceof ImportError, `an ImportError (${(e as Error).message})`);
    if (typeof message === "string") t.equal((e as Error).message, message);
    else t.match((e as Error).message, message);
  }
}

t.test("the blog metadata states the rules of examples/blog/policies.sql (its policies.expected.md)", async (t) => {
  const m = loadHasuraMetadata(BLOG);
  t.equal(m.source, "default");
  t.same(m.untranslated, [], "nothing untranslated in the blog");
  t.same(m.inheritedRoles, []);
  t.same(m.functions, []);
  t.same(m.tables.map((x) => `${x.table.schema}.${x.table.name}`).sort(), [
    "public.article",
    "public.article_tag",
    "public.author",
    "public.tag",
  ]);
  t.equal(m.tables.find((x) => x.table.name === "article")?.where, "metadata/databases/default/tables/public_article.yaml");

  // The matrix and column tables of the generated policies.expected.md, for the roles Hasura users declare (admin is implicit in Hasura).
  const expected = readFileSync(path.join(REPO_ROOT, "examples/blog/policies.expected.md"), "utf8");
  const lines = expected.split("\n");
  const top = lines.findIndex((l) => l.startsWith("| table |"));
  const end = lines.indexOf("", top);
  const matrix = lines.slice(top + 2, end);
  const header = lines[top]
    .split("|")
    .map((s) => s.trim())
    .filter(Boolean)
    .slice(1);
  t.same(header, ["admin", "anonymous", "user"]);
  t.equal(matrix.length, 4, "four tables in the matrix");
  let cells = 0;
  for (const line of matrix) {
    const [tableName, ...perRole] = line
      .split("|")
      .map((s) => s.trim())
      .filter(Boolean);
    const tm = m.tables.find((x) => x.table.name === tableName);
    if (!tm) {
      t.fail(`table ${tableName} missing from the metadata`);
      continue;
    }
    header.forEach((role, i) => {
      if (role === "admin") return;
      for (const cell of perRole[i].split(" ")) {
        const cmd = cell[0];
        const allowed = !cell.includes("❌");
        const unrestricted = cell.includes("🟩");
        const perm =
          cmd === "S" ? tm.select.get(role) : cmd === "U" ? tm.update.get(role) : cmd === "I" ? tm.insert.get(role) : tm.delete.get(role);
        t.equal(perm !== undefined, allowed, `${tableName} ${role} ${cmd}: ${allowed ? "allowed" : "not allowed"}`);
        if (perm) {
          const rule = "filter" in perm ? perm.filter : perm.check;
          t.equal(Object.keys(rule).length === 0, unrestricted, `${tableName} ${role} ${cmd}: ${unrestricted ? "all rows" : "some rows"}`);
        }
        if (cmd === "S")
          t.equal(tm.select.get(role)?.allowAggregations ?? false, cell.includes("agg"), `${tableName} ${role} aggregations`);
        cells++;
      }
    });
  }
  t.equal(cells, 4 * 2 * 4, "every cell of anonymous and user compared");

  // Column lists, per table: | role | SELECT | UPDATE | INSERT | DELETE |
  const sections = expected.split(/^## /m).slice(1);
  let lists = 0;
  for (const section of sections) {
    const tableName = section.split("\n")[0].trim();
    const tm = m.tables.find((x) => x.table.name === tableName);
    if (!tm) continue;
    const rows = section.split("\n").filter((l) => /^\| (anonymous|user) \|/.test(l));
    for (const row of rows.slice(0, 2)) {
      const [role, s, u, i] = row
        .split("|")
        .slice(1, 5)
        .map((x) => x.trim());
      const cols = (c: string) => (c === "" ? undefined : c.split(", ").sort());
      const mine = (p: { columns: string[] | "*" } | undefined) =>
        p === undefined ? undefined : p.columns === "*" ? ["*"] : [...p.columns].sort();
      t.same(mine(tm.select.get(role)), cols(s), `${tableName} ${role} select columns`);
      t.same(mine(tm.update.get(role)), cols(u), `${tableName} ${role} update columns`);
      t.same(mine(tm.insert.get(role)), cols(i), `${tableName} ${role} insert columns`);
      lists += 3;
    }
  }
  t.equal(lists, 4 * 2 * 3, "select, update and insert columns compared for both roles on every table");

  // The preset and the relationships the walkthrough's queries use.
  const article = m.tables.find((x) => x.table.name === "article");
  t.same(article?.insert.get("user")?.set, { author_id: "x-hasura-User-Id" });
  t.same(
    m.tables.flatMap((x) => [...x.objectRelationships, ...x.arrayRelationships].map((r) => `${x.table.name}.${r.name}:${r.kind}`)).sort(),
    [
      "article.article_tags:array",
      "article.author:object",
      "article_tag.article:object",
      "article_tag.tag:object",
      "author.articles:array",
      "tag.article_tags:array",
    ],
  );
});

t.test("the same metadata as one export file (v3 and v2, JSON and YAML) loads to the same value", async (t) => {
  const fromDir = comparable(loadHasuraMetadata(BLOG));
  const dir = tempDir(t);
  const databases = readYaml(path.join(META, "databases/databases.yaml")) as Record<string, unknown>[];
  const v3 = {
    version: 3,
    sources: [{ ...databases[0], tables: blogTables(), functions: [] }],
    inherited_roles: [],
    actions: [],
    custom_types: { enums: [], input_objects: [], objects: [], scalars: [] },
    remote_schemas: [],
    query_collections: [],
    allowlist: [],
    cron_triggers: [],
    rest_endpoints: [],
    api_limits: {},
    network: {},
  };
  const v2 = { version: 2, tables: blogTables(), functions: [], remote_schemas: [], actions: [] };
  const files: [string, string][] = [
    ["export-v3.json", JSON.stringify(v3, null, 2)],
    ["export-v3.yaml", stringify(v3)],
    ["export-v2.json", JSON.stringify(v2)],
  ];
  for (const [name, text] of files) {
    writeFileSync(path.join(dir, name), text);
    const m = loadHasuraMetadata(path.join(dir, name));
    t.same(comparable(m), fromDir, `${name} equals the directory`);
    t.equal(
      m.tables.find((x) => x.table.name === "tag")?.where,
      `${name}: $.${name.includes("v3") ? "sources[0].tables[3]" : "tables[3]"}`,
    );
  }
  // A config v2 metadata directory: tables.yaml and functions.yaml at its root.
  const v2dir = path.join(dir, "v2-project");
  mkdirSync(path.join(v2dir, "metadata"), { recursive: true });
  writeFileSync(path.join(v2dir, "metadata/version.yaml"), "version: 2\n");
  writeFileSync(path.join(v2dir, "metadata/tables.yaml"), stringify(blogTables()));
  writeFileSync(path.join(v2dir, "metadata/functions.yaml"), "[]\n");
  writeFileSync(path.join(v2dir, "metadata/actions.yaml"), "actions: []\ncustom_types: {}\n");
  const v2m = loadHasuraMetadata(v2dir);
  t.same(comparable(v2m), fromDir, "config v2 directory equals the directory");
  t.equal(v2m.tables[1].where, "metadata/tables.yaml: $[1]");
  // The metadata directory itself (not its project) is accepted too, with the same file names in messages.
  t.same(comparable(loadHasuraMetadata(META)), fromDir, "metadata/ given directly");
});

t.test("unknown keys and malformed files: errors naming the file and the JSON path", async (t) => {
  const edit = (dir: string, file: string, f: (s: string) => string) => {
    const p = path.join(dir, "metadata", file);
    writeFileSync(p, f(readFileSync(p, "utf8")));
  };
  const TABLES = "databases/default/tables";

  let dir = blogCopy(t);
  edit(dir, `${TABLES}/public_article.yaml`, (s) =>
    s.replace(
      "select_permissions:\n  - role: anonymous\n    permission:\n      columns:",
      "select_permissions:\n  - role: anonymous\n    permission:\n      colums:",
    ),
  );
  expectError(
    t,
    () => loadHasuraMetadata(dir),
    "metadata/databases/default/tables/public_article.yaml: $.select_permissions[0].permission.colums: unknown key",
  );

  dir = blogCopy(t);
  edit(dir, `${TABLES}/public_tag.yaml`, (s) => `${s}remote_relationshipz: []\n`);
  expectError(t, () => loadHasuraMetadata(dir), "metadata/databases/default/tables/public_tag.yaml: $.remote_relationshipz: unknown key");

  dir = blogCopy(t);
  edit(dir, `${TABLES}/public_article_tag.yaml`, (s) =>
    s.replace("foreign_key_constraint_on: article_id", "foreign_key_constraint_on: article_id\n      manual_configuration: {}"),
  );
  expectError(
    t,
    () => loadHasuraMetadata(dir),
    "metadata/databases/default/tables/public_article_tag.yaml: $.object_relationships[0].using: expected exactly one of foreign_key_constraint_on, manual_configuration",
  );

  dir = blogCopy(t);
  edit(dir, `${TABLES}/public_author.yaml`, (s) =>
    s.replace(
      "  - role: user\n    permission:\n      columns:\n        - id",
      "  - role: user\n    permission:\n      columns:\n     - id",
    ),
  );
  expectError(
    t,
    () => loadHasuraMetadata(dir),
    /^metadata\/databases\/default\/tables\/public_author\.yaml: \$: malformed YAML at line \d+, column \d+: /,
  );

  dir = blogCopy(t);
  edit(dir, `${TABLES}/tables.yaml`, (s) => `${s}- "!include public_comment.yaml"\n`);
  expectError(
    t,
    () => loadHasuraMetadata(dir),
    "metadata/databases/default/tables/tables.yaml: $[4]: !include public_comment.yaml: no such file",
  );

  dir = blogCopy(t);
  edit(dir, "databases/databases.yaml", (s) => s.replace("  kind: postgres", "  kind: postgres\n  tenant: x"));
  expectError(t, () => loadHasuraMetadata(dir), "metadata/databases/databases.yaml: $[0].tenant: unknown key");

  dir = blogCopy(t);
  edit(dir, `${TABLES}/public_article.yaml`, (s) => s.replace("allow_aggregations: true", "allow_aggregations: yes please"));
  expectError(
    t,
    () => loadHasuraMetadata(dir),
    'metadata/databases/default/tables/public_article.yaml: $.select_permissions[0].permission.allow_aggregations: expected true or false, got string "yes please"',
  );

  dir = blogCopy(t);
  edit(dir, `${TABLES}/public_tag.yaml`, (s) =>
    s.replace(
      "  - role: user\n    permission:\n      columns:\n        - name\n      filter: {}",
      "  - role: anonymous\n    permission:\n      columns:\n        - name\n      filter: {}",
    ),
  );
  expectError(
    t,
    () => loadHasuraMetadata(dir),
    'metadata/databases/default/tables/public_tag.yaml: $.select_permissions[1].role: a second permission for role "anonymous"',
  );

  dir = blogCopy(t);
  writeFileSync(path.join(dir, "metadata", "event_triggers.yaml"), "[]\n");
  expectError(t, () => loadHasuraMetadata(dir), "metadata/event_triggers.yaml: $: unknown metadata file");

  // Export files.
  const edir = tempDir(t);
  const bad = { version: 3, sources: [{ name: "default", kind: "postgres", tables: blogTables(), functions: [] }] };
  (bad.sources[0].tables[1] as { insert_permissions: { permission: Record<string, unknown> }[] }).insert_permissions[0].permission.chek =
    {};
  writeFileSync(path.join(edir, "export.json"), JSON.stringify(bad));
  expectError(
    t,
    () => loadHasuraMetadata(path.join(edir, "export.json")),
    "export.json: $.sources[0].tables[1].insert_permissions[0].permission.chek: unknown key",
  );
  writeFileSync(path.join(edir, "broken.json"), '{"version": 3, "sources": [}');
  expectError(t, () => loadHasuraMetadata(path.join(edir, "broken.json")), /^broken\.json: \$: malformed JSON at line 1, column \d+: /);
  writeFileSync(path.join(edir, "v2-with-sources.json"), JSON.stringify({ version: 2, sources: [] }));
  expectError(
    t,
    () => loadHasuraMetadata(path.join(edir, "v2-with-sources.json")),
    "v2-with-sources.json: $.sources: version 2 metadata has no sources (tables are at the top)",
  );
  expectError(t, () => loadHasuraMetadata(path.join(edir, "missing")), /missing: \$: no such file or directory/);
});

t.test("untranslated items are listed with their places", async (t) => {
  const dir = blogCopy(t);
  const meta = path.join(dir, "metadata");
  const write = (file: string, value: unknown) => writeFileSync(path.join(meta, file), stringify(value));
  write("actions.yaml", {
    actions: [
      { name: "login", definition: { kind: "synchronous", handler: "{{ACTION_BASE_URL}}/login" }, permissions: [{ role: "anonymous" }] },
    ],
    custom_types: { enums: [], input_objects: [], objects: [{ name: "LoginOutput" }], scalars: [] },
  });
  write("remote_schemas.yaml", [{ name: "countries", definition: { url: "https://countries.example/graphql" } }]);
  write("cron_triggers.yaml", [{ name: "nightly_digest", webhook: "http://x/digest", schedule: "0 3 * * *" }]);
  write("rest_endpoints.yaml", [
    {
      name: "articles",
      url: "articles",
      methods: ["GET"],
      definition: { query: { collection_name: "allowed-queries", query_name: "articles" } },
    },
  ]);
  write("query_collections.yaml", [
    { name: "allowed-queries", definition: { queries: [{ name: "articles", query: "query { article { id } }" }] } },
  ]);
  write("allow_list.yaml", [{ collection: "allowed-queries", scope: { global: true } }]);
  write("api_limits.yaml", { disabled: false, depth_limit: { global: 10, per_role: {} } });
  write("inherited_roles.yaml", [{ role_name: "editor", role_set: ["user", "anonymous"] }]);
  const article = path.join(meta, "databases/default/tables/public_article.yaml");
  writeFileSync(
    article,
    `${readFileSync(article, "utf8")}${stringify({
      event_triggers: [
        {
          name: "article_published",
          definition: { enable_manual: false, update: { columns: ["is_published"] } },
          retry_conf: { num_retries: 0, interval_sec: 10, timeout_sec: 60 },
          webhook: "http://x/published",
        },
      ],
      remote_relationships: [
        {
          name: "country",
          definition: {
            to_remote_schema: { remote_schema: "countries", lhs_fields: ["id"], remote_field: { country: { arguments: { code: "$id" } } } },
          },
        },
      ],
      configuration: { custom_name: "post", comment: "a post" },
      logical_model: "article_model",
    })}`,
  );

  const databases = path.join(meta, "databases/databases.yaml");
  writeFileSync(
    databases,
    readFileSync(databases, "utf8").replace(
      "  kind: postgres\n",
      `  kind: postgres\n${stringify({ native_queries: [{ root_field_name: "article_stats", code: "select 1", returns: "stats" }] })
        .trimEnd()
        .replace(/^/gm, "  ")}\n`,
    ),
  );

  const m = loadHasuraMetadata(dir);
  t.same(m.inheritedRoles, [{ roleName: "editor", roleSet: ["user", "anonymous"] }], "inherited roles are translated, not listed");
  t.same(
    [...m.untranslated].sort((a, b) => (a.where < b.where ? -1 : 1)),
    [
      { kind: "action", name: "login", where: "metadata/actions.yaml: $.actions[0]" },
      { kind: "action custom types", name: "action custom types", where: "metadata/actions.yaml: $.custom_types" },
      { kind: "allow list entry", name: "allowed-queries", where: "metadata/allow_list.yaml: $[0]" },
      { kind: "API limits", name: "API limits", where: "metadata/api_limits.yaml" },
      { kind: "cron trigger", name: "nightly_digest", where: "metadata/cron_triggers.yaml: $[0]" },
      {
        kind: "GraphQL name customization",
        name: "public.article",
        where: "metadata/databases/default/tables/public_article.yaml: $.configuration",
      },
      {
        kind: "event trigger",
        name: "article_published",
        where: "metadata/databases/default/tables/public_article.yaml: $.event_triggers[0]",
      },
      {
        kind: "remote relationship",
        name: "public.article.country",
        where: "metadata/databases/default/tables/public_article.yaml: $.remote_relationships[0]",
      },
      {
        kind: "logical model of a table",
        name: "public.article",
        where: "metadata/databases/default/tables/public_article.yaml: $.logical_model",
      },
      { kind: "native query", name: "article_stats", where: "metadata/databases/databases.yaml: $[0].native_queries[0]" },
      { kind: "query collection", name: "allowed-queries", where: "metadata/query_collections.yaml: $[0]" },
      { kind: "remote schema", name: "countries", where: "metadata/remote_schemas.yaml: $[0]" },
      { kind: "REST endpoint", name: "articles", where: "metadata/rest_endpoints.yaml: $[0]" },
    ].sort((a, b) => (a.where < b.where ? -1 : 1)),
  );
  // The permissions themselves are unaffected by what sits beside them.
  t.same(comparable({ ...m, untranslated: [], inheritedRoles: [] }), comparable(loadHasuraMetadata(BLOG)));
});

t.test("keys Hasura passes over in real metadata are listed, not refused (5stackgg/api: computed_fields on inserts)", async (t) => {
  const dir = blogCopy(t);
  const article = path.join(dir, "metadata/databases/default/tables/public_article.yaml");
  writeFileSync(
    article,
    readFileSync(article, "utf8").replace(
      "      columns:\n        - content\n        - is_published\n        - title\nselect_permissions:",
      "      columns:\n        - content\n        - is_published\n        - title\n      computed_fields:\n        - word_count\nselect_permissions:",
    ),
  );
  const m = loadHasuraMetadata(dir);
  t.same(
    m.untranslated.filter((u) => u.kind === "key Hasura ignores"),
    [
      {
        kind: "key Hasura ignores",
        name: "computed_fields",
        where: "metadata/databases/default/tables/public_article.yaml: $.insert_permissions[0].permission.computed_fields",
      },
    ],
  );
  const blog = loadHasuraMetadata(BLOG);
  const insert = (x: HasuraMetadata) => x.tables.find((tb) => tb.table.name === "article")?.insert.get("user");
  t.same(insert(m), insert(blog), "the permission itself is the same as without the key");
});
