/**
 * `npm run dev`: the server (restarted by `node --watch` when server code
 * changes) plus graphile-migrate's watch on migrations/current.sql, plus a
 * watch on policies.sql and sql/. Every database change ends with
 * policies.sql, whose NOTIFY makes the running server rebuild each role's
 * GraphQL schema: no restart needed.
 */
import "../env.ts";
import { watch as watchFile } from "node:fs";
import path from "node:path";
import { watch as migrateWatch } from "graphile-migrate";
import { loadMigrateSettings, migrateProject } from "../db/migrate.ts";
import { main } from "../main.ts";

process.env.GRAPHILE_ENV = "development";
const { config, db, app } = await main({ watch: true });
if (!db.ownerUrl) {
  app.log.warn("no DATABASE_OWNER_URL: not watching migrations or policies");
} else {
  const opts = {
    projectDir: config.projectDir,
    ownerUrl: db.ownerUrl,
    rootUrl: db.rootUrl,
    authenticator: decodeURIComponent(new URL(db.runtimeUrl).username),
    verbose: true,
    // graphile-migrate's lines (an SQL error's several lines too) as one log event each.
    log: (level: string, message: string) => {
      if (level === "error") app.log.error({ migrate: true }, message);
      else if (level === "warning" || level === "warn") app.log.warn({ migrate: true }, message);
      else app.log.info({ migrate: true }, message);
    },
  };
  // graphile-migrate runs current.sql, then (afterCurrent) policies.sql.
  void migrateWatch(await loadMigrateSettings(opts), false, false).catch((e: Error) =>
    app.log.error({ err: e.message }, "graphile-migrate watch stopped"),
  );

  // policies.sql and the sql/ library are not migrations: re-apply them on save.
  let timer: NodeJS.Timeout | undefined;
  const reapply = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      migrateProject(opts).then(
        () => app.log.info("re-applied sql/ and policies.sql"),
        (e: Error) => app.log.error({ err: e.message }, "policies.sql failed; the previous policies stay in force"),
      );
    }, 150);
  };
  for (const target of [path.join(config.projectDir, "policies.sql"), path.join(config.projectDir, "sql")]) {
    try {
      watchFile(target, { persistent: false }, reapply);
    } catch {
      // examples may share the root sql/ library and have no folder of their own
    }
  }
  app.log.info("watching migrations/current.sql, policies.sql and sql/");
}
