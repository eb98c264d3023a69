/**
 * `npm run gm -- <graphile-migrate command>`: runs the graphile-migrate CLI
 * against this project's database (the embedded cluster unless DATABASE_URL
 * is set), with the owner, root and shadow URLs it needs in its environment.
 *
 * Why a wrapper: graphile-migrate reads DATABASE_URL as the *owner*
 * connection, while our server reads it as the runtime (authenticator)
 * connection, Hasura-style. The wrapper resolves both without the developer
 * juggling URLs.
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { loadConfig } from "../config.ts";
import { prepareDatabase } from "../db/setup.ts";

const config = loadConfig();
const db = await prepareDatabase(config, { migrate: false, borrow: true }).catch((e: Error) => {
  console.error(`gm: ${e.message}`);
  process.exit(1);
});
if (!db.ownerUrl) {
  console.error("gm: DATABASE_OWNER_URL is required to run migrations against an existing database");
  process.exit(1);
}
const shadow = new URL(db.ownerUrl);
shadow.pathname = `${shadow.pathname}_shadow`;
// `reset` drops and recreates the database through the root connection, which
// must not be connected to it ("cannot drop the currently open database").
const root = db.rootUrl ? new URL(db.rootUrl) : undefined;
if (root) root.pathname = "/postgres";
const bin = path.join(path.dirname(createRequire(import.meta.url).resolve("graphile-migrate/package.json")), "dist/cli.js");
const child = spawn(process.execPath, [bin, ...process.argv.slice(2)], {
  stdio: "inherit",
  cwd: config.projectDir,
  env: {
    ...process.env,
    DATABASE_URL: db.ownerUrl,
    ROOT_DATABASE_URL: root?.toString() ?? db.ownerUrl,
    SHADOW_DATABASE_URL: shadow.toString(),
    DATABASE_OWNER: decodeURIComponent(new URL(db.ownerUrl).username),
    DATABASE_AUTHENTICATOR: decodeURIComponent(new URL(db.runtimeUrl).username),
  },
});
const forward = (signal: NodeJS.Signals) => child.kill(signal);
process.on("SIGINT", forward);
process.on("SIGTERM", forward);
child.on("exit", async (code) => {
  await db.stop();
  process.exit(code ?? 1);
});
