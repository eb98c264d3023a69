/**
 * The roles' privileges and policies, read from the migrated database, are
 * exactly the reviewed policies.expected.md of each project (render.ts).
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { renderPolicies } from "./render.ts";

const PROJECTS = [
  {
    project: "app" as const,
    file: "policies.expected.md",
    title: "School platform (seed 001): expected privileges and policies",
    roles: ["anonymous", "user", "campus-admin", "admin-campus-read-only", "admin", "admin-read-only"],
  },
  {
    project: "blog" as const,
    file: "examples/blog/policies.expected.md",
    title: "Blog (seed 002): expected privileges and policies",
    roles: ["anonymous", "user", "admin"],
  },
];

for (const p of PROJECTS) {
  t.test(p.file, async (t) => {
    const db = await createTestDatabase(t, p.project);
    const actual = await renderPolicies(db, p.roles, p.title);
    const file = path.join(REPO_ROOT, p.file);
    if (process.env.UPDATE_POLICIES_EXPECTED === "1") {
      await writeFile(file, actual);
      t.pass(`wrote ${p.file}`);
      return;
    }
    const expected = await readFile(file, "utf8").catch(() => "");
    t.equal(actual, expected, `${p.file} matches the database (UPDATE_POLICIES_EXPECTED=1 to regenerate)`);
  });
}
