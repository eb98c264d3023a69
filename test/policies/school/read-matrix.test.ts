/**
 * The read matrix of seed 001: every table, every authenticated role, the
 * rows GraphQL returns against the rows the rule (tables.ts, in SQL, as the
 * superuser) selects.
 *   user                    the catalogue whole; own rows of audit, result,
 *                           transaction, user_role, user, progress
 *   campus-admin,
 *   admin-campus-read-only  rows of the X-Hasura-Campus campuses (child
 *                           tables through their parent); lookups whole
 *   admin, admin-read-only  everything
 */
import t from "tap";
import { SCHOOL_PROJECTS } from "../../helpers/projects.ts";
import { startServer } from "../../helpers/server.ts";
import { as, sameRows } from "../helpers.ts";
import { CAMPUS_SETS, TABLES, USERS } from "./tables.ts";

for (const project of SCHOOL_PROJECTS) {
  t.test(project, async (t) => {
    const srv = await startServer(t, { project });

    t.test("user", async (t) => {
      for (const spec of TABLES) {
        t.test(spec.table, async (t) => {
          for (const userId of USERS) {
            const rows = await sameRows(t, srv, {
              headers: as("user", { userId }),
              ...spec,
              where: spec.user ?? undefined,
              params: spec.user ? [userId] : undefined,
            });
            if (spec.user) {
              const [{ n }] = await srv.db.asRoot(`select count(*)::int as n from public."${spec.table}"`);
              t.ok(rows.length > 0 && rows.length < n, `user ${userId}: some of the ${n} rows, not all (${rows.length})`);
            }
          }
        });
      }
    });

    for (const role of ["campus-admin", "admin-campus-read-only"]) {
      t.test(role, async (t) => {
        for (const spec of TABLES) {
          t.test(spec.table, async (t) => {
            for (const campus of CAMPUS_SETS) {
              const rows = await sameRows(t, srv, {
                headers: as(role, { campus }),
                ...spec,
                where: spec.campus ?? undefined,
                params: spec.campus ? [campus] : undefined,
              });
              if (spec.campus && campus.length === 1 && campus[0] !== "nowhere") {
                const [{ n }] = await srv.db.asRoot(`select count(*)::int as n from public."${spec.table}"`);
                t.ok(rows.length > 0 && rows.length < n, `${campus}: some of the ${n} rows, not all (${rows.length})`);
              }
            }
          });
        }
      });
    }

    for (const role of ["admin", "admin-read-only"]) {
      t.test(role, async (t) => {
        for (const spec of TABLES) {
          await sameRows(t, srv, { headers: as(role), ...spec });
        }
      });
    }
  });
}
