/** Runs one of the database CLIs (server/cli/*.ts) as a real child process against a test database. */
import { execFile } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "../../server/config.ts";
import type { TestDatabase } from "../helpers/pg.ts";
import { PROJECTS, type ProjectName } from "../helpers/projects.ts";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for messages that may go to either. */
  output: string;
}

export function runCli(
  script: "permissions" | "lint-policies",
  args: string[],
  db: TestDatabase,
  project: ProjectName,
  /** More environment (e.g. DATABASE_SCHEMAS). */
  env: Record<string, string> = {},
): Promise<CliResult> {
  const dir = PROJECTS.find((p) => p.name === project)!.dir;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, "server/cli", `${script}.ts`), ...args],
      {
        cwd: REPO_ROOT,
        timeout: 60_000,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          GRAPHILE_ENV: "production",
          DATABASE_URL: db.runtimeUrl,
          DATABASE_OWNER_URL: db.ownerUrl,
          PROJECT_DIR: path.join(REPO_ROOT, dir),
          ...env,
        },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr, output: stdout + stderr });
      },
    );
  });
}
