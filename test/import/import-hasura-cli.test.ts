/**
 * `npm run import:hasura -- <dir> --out <dir>` as a real child process
 * against the test cluster (ROOT_DATABASE_URL / DATABASE_OWNER_URL /
 * DATABASE_URL, as a user's settings would give them): the blog as a Hasura
 * project imports with no difference, the scratch database is dropped after,
 * and a bad invocation prints the usage.
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { createEmptyDatabase } from "../helpers/empty-database.ts";
import { clusterUrl, superuserUrl } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";

const BLOG = path.join(REPO_ROOT, "examples/blog");
const work = mkdtempSync(path.join(tmpdir(), "import-hasura-cli-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const hasura = path.join(work, "hasura");
cpSync(path.join(BLOG, "hasura"), hasura, { recursive: true });
const committed = readFileSync(path.join(BLOG, "migrations/committed/000001-blog-model-seed-002.sql"), "utf8");
mkdirSync(path.join(hasura, "migrations/default/1700000000000_init"), { recursive: true });
writeFileSync(
  path.join(hasura, "migrations/default/1700000000000_init/up.sql"),
  committed.slice(committed.indexOf("drop table if exists public.article_tag;")),
);

const db = await createEmptyDatabase(t);

function run(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, "server/cli/import-hasura.ts"), ...args],
      {
        cwd: work,
        timeout: 120_000,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          GRAPHILE_ENV: "production",
          DATABASE_URL: clusterUrl(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, db.name),
          DATABASE_OWNER_URL: db.ownerUrl,
          ROOT_DATABASE_URL: superuserUrl(db.name),
        },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error);
        resolve({ code: error ? (error.code as number) : 0, output: stdout + stderr });
      },
    );
  });
}

t.test("imports the blog: every file, no difference, scratch database dropped", async (t) => {
  const before = await db.asRoot<{ datname: string }>("select datname from pg_database where datname like 'hasura_import_%'");
  const res = await run([hasura, "--out", "out"]);
  t.equal(res.code, 0, res.output);
  t.match(res.output, "wrote out/policies.sql");
  t.match(res.output, "permissions match the Hasura metadata; start it with PROJECT_DIR=out npm start");
  for (const f of [".gmrc", "policies.sql", "policies.expected.md", "IMPORT.md", "migrations/current.sql"])
    t.ok(existsSync(path.join(work, "out", f)), f);
  const rows = (s: string) => s.split("\n").filter((l) => /^\| (article|article_tag|author|tag) \| S/.test(l));
  t.same(
    rows(readFileSync(path.join(work, "out/policies.expected.md"), "utf8")),
    rows(readFileSync(path.join(BLOG, "policies.expected.md"), "utf8")),
    "the hand-written blog's matrix",
  );
  const after = await db.asRoot<{ datname: string }>("select datname from pg_database where datname like 'hasura_import_%'");
  t.same(after, before, "the scratch database is gone");
});

t.test("usage; a non-empty output directory is refused", async (t) => {
  const usage = await run([hasura]);
  t.equal(usage.code, 2);
  t.match(usage.output, "usage: npm run import:hasura -- <hasura-project-dir> --out <dir>");
  const again = await run([hasura, "--out", "out"]);
  t.equal(again.code, 1);
  t.match(again.output, /error: .*out: not empty; give a new directory/);
});
