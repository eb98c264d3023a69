/**
 * The library internals server/lib-internals.ts names, checked against the
 * installed libraries so an upgrade that changes one fails here, by name,
 * rather than as a wrong answer somewhere else: the libraries are pinned to
 * exact versions in package.json, and each internal is exercised for real
 * (pg's protocol writer on a live connection, its prepared-statement
 * bookkeeping, the Query class a subclass extends, grafserv's request
 * normalisation, graphile-migrate's settings reader).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import {
  calculateHash,
  clearAllPools,
  connectionOf,
  getSettings,
  grafservDigest,
  PgQuery,
  parseMigrationText,
  prepareValue,
  serializeMigration,
  sluggify,
} from "../../server/lib-internals.ts";
import { createTestDatabase } from "../helpers/pg.ts";

const PINNED = ["pg", "postgraphile", "grafserv", "grafast", "@dataplan/pg", "pg-sql2", "graphile-migrate"];

t.test("the libraries whose internals we use are pinned, and installed at those versions", async (t) => {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  for (const name of PINNED) {
    const wanted = pkg.dependencies[name];
    t.match(wanted, /^\d+\.\d+\.\d+$/, `${name} is pinned to an exact version (server/lib-internals.ts relies on its internals)`);
    // Read from node_modules directly: not every package exports its package.json.
    const installed = (JSON.parse(readFileSync(path.join(REPO_ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string })
      .version;
    t.equal(installed, wanted, `${name}: installed ${installed}, pinned ${wanted}; after an upgrade re-check server/lib-internals.ts`);
  }
});

t.test("pg: Query class, protocol writer, prepared-statement bookkeeping, value serializer", async (t) => {
  t.type(PgQuery, "function", "pg.Query is exported");
  for (const method of ["prepare", "submit", "requiresPreparation", "handleDataRow", "handleReadyForQuery"]) {
    t.type((PgQuery.prototype as unknown as Record<string, unknown>)[method], "function", `pg.Query.prototype.${method}`);
  }
  t.type(prepareValue(new Date(Date.UTC(2020, 0, 2))), "string", "pg.utils.prepareValue serializes a Date to text");
  t.equal(prepareValue(null), null, "and keeps null");

  const db = await createTestDatabase(t);
  const client = new pg.Client({ connectionString: db.runtimeUrl });
  await client.connect();
  t.teardown(() => client.end());
  const connection = connectionOf(client);
  for (const method of ["parse", "bind", "describe", "execute", "sync"]) {
    t.type((connection as unknown as Record<string, unknown>)[method], "function", `Connection.${method}`);
  }
  t.type(connection.stream.on, "function", "Connection.stream is the socket");
  t.type(connection.stream.destroy, "function", "which can be destroyed");
  t.same(connection.parsedStatements, {}, "Connection.parsedStatements starts empty");
  let parseCompletes = 0;
  connection.on("parseComplete", () => parseCompletes++);
  let dataRows = 0;
  connection.on("dataRow", () => dataRows++);
  await client.query({ name: "lib_internals_probe", text: "select $1::int + 1 as n", values: [1] });
  t.equal(connection.parsedStatements.lib_internals_probe, "select $1::int + 1 as n", "a named statement is recorded in parsedStatements");
  t.equal(parseCompletes, 1, "Connection emits parseComplete");
  t.equal(dataRows, 1, "Connection emits dataRow per row");

  // A subclass that sends its own Parse/Bind/Execute before pg's, as the pipelined adaptor does.
  class TwoStatements extends PgQuery {
    submit(c: typeof connection): Error | null {
      c.parse({ text: "select set_config('application_name', $1, true)" });
      c.bind({ values: ["lib-internals"], valueMapper: prepareValue });
      c.describe({ type: "P" });
      c.execute({});
      this.prepare(c);
      return null;
    }
    requiresPreparation(): boolean {
      return true;
    }
  }
  const rows = await new Promise<unknown>((resolve, reject) => {
    const q = new TwoStatements({ text: "select current_setting('application_name') as app", values: [] }, undefined, (err, res) =>
      err ? reject(err) : resolve(Array.isArray(res) ? res[res.length - 1]!.rows : res.rows),
    );
    void client.query(q as never);
  });
  t.same(rows, [{ app: "lib-internals" }], "a Query subclass can pipeline a statement before its own, in one implicit transaction");
});

t.test("grafserv: normalizeRequest / processHeaders / getBodyFromFrameworkBody build the digest its handlers take", async (t) => {
  const request = {
    raw: { httpVersionMajor: 1, httpVersionMinor: 1 },
    protocol: "http",
    method: "POST",
    url: "/graphql",
    headers: { "content-type": "application/json" },
    query: {},
    body: { query: "{ __typename }" },
  };
  const digest = grafservDigest(request as never, {}) as unknown as Record<string, unknown>;
  t.equal(digest.method, "POST");
  t.equal(digest.path, "/graphql");
  t.equal((digest.headers as Record<string, string>)["content-type"], "application/json");
  t.type(digest.getBody, "function");
  t.same(await (digest.getBody as () => unknown)(), { type: "json", json: { query: "{ __typename }" } }, "the body as grafserv reads it");
});

t.test("graphile-migrate: its .gmrc reader and pool cleanup from dist/", async (t) => {
  t.type(clearAllPools, "function", "dist/pgReal.js clearAllPools");
  const settings = (await getSettings({ configFile: path.join(REPO_ROOT, ".gmrc") })) as Record<string, unknown>;
  t.ok(settings && typeof settings === "object", "dist/commands/_common.js getSettings reads the project's .gmrc");
  t.ok(Array.isArray(settings.afterAllMigrations) || settings.afterAllMigrations === undefined, "with its settings");
});

t.test("graphile-migrate: commit's hash, serialisation and slug from dist/ (server/import/migrations.ts)", async (t) => {
  const file = path.join(REPO_ROOT, "migrations/committed/000001-application-roles-and-the-user-table.sql");
  const { headers, body } = parseMigrationText(file, readFileSync(file, "utf8"));
  t.equal(calculateHash(body, null), headers.Hash, "dist/hash.js calculateHash reproduces this project's own committed hash");
  t.equal(serializeMigration(body, { Previous: "-", Hash: headers.Hash!, Message: headers.Message! }), readFileSync(file, "utf8"));
  t.equal(sluggify("Application roles and the user table"), "application-roles-and-the-user-table", "dist/sluggify.js names the file");
});
