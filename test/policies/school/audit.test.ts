/**
 * audit: the user role reads the audits it does ("auditorId") and those of
 * the groups it is a member of; campus roles reach audits through the
 * audited group's campus.
 */
import t from "tap";
import { SCHOOL_PROJECTS } from "../../helpers/projects.ts";
import { startServer } from "../../helpers/server.ts";
import { as, refusedWrite, sameRows } from "../helpers.ts";

for (const project of SCHOOL_PROJECTS) {
  t.test(project, async (t) => {
    const srv = await startServer(t, { project });
    const COLUMNS = ["id", "groupId", "auditorId", "grade", "resultId"];

    t.test("user: as auditor and as a member of the audited group", async (t) => {
      for (const userId of [1, 2, 3, 4]) {
        const asAuditor = await sameRows(t, srv, {
          headers: as("user", { userId }),
          field: "allAudits",
          columns: COLUMNS,
          orderBy: "ID_ASC",
          table: "audit",
          where: `"auditorId" = $1 or "groupId" in (select "groupId" from public.group_user where "userId" = $1)`,
          params: [userId],
          order: "id",
        });
        t.ok(asAuditor.length > 0, `user ${userId} sees audits`);
      }
      // The fixture covers both arms: alice (1) audits group 2 without being in
      // it, and is in group 1, audited by dimitri (4).
      const [a] = await srv.db.asRoot(
        `select exists (select 1 from public.audit where "auditorId" = 1 and "groupId" not in (select "groupId" from public.group_user where "userId" = 1)) as auditor_only,
                exists (select 1 from public.audit where "auditorId" <> 1 and "groupId" in (select "groupId" from public.group_user where "userId" = 1)) as member_only`,
      );
      t.same(a, { auditor_only: true, member_only: true });
    });

    t.test("user: an audit neither done nor received is null", async (t) => {
      const [other] = await srv.db.asRoot(
        `select id from public.audit where "auditorId" <> 1 and "groupId" not in (select "groupId" from public.group_user where "userId" = 1) order by id limit 1`,
      );
      const res = await srv.gql(`{ auditById(id: ${other!.id}) { id } }`, { headers: as("user", { userId: 1 }) });
      t.equal(res.status, 200);
      t.same(res.body, { data: { auditById: null } });
    });

    t.test("campus-admin: audits of its campus's groups; writes only there", async (t) => {
      const headers = as("campus-admin", { campus: ["pyc"] });
      await sameRows(t, srv, {
        headers,
        field: "allAudits",
        columns: COLUMNS,
        orderBy: "ID_ASC",
        table: "audit",
        where: `"groupId" in (select id from public."group" where campus = 'pyc')`,
        order: "id",
      });
      // An audit of a madere group, even by a pyc auditor: refused.
      await refusedWrite(t, srv, {
        headers,
        query: "mutation { createAudit(input: { audit: { groupId: 1, auditorId: 3 } }) { audit { id } } }",
        table: "audit",
        message: /check constraint|row-level security/i,
      });
      // Moving a pyc audit to a madere group: refused by WITH CHECK.
      await refusedWrite(t, srv, {
        headers,
        query: "mutation { updateAuditById(input: { id: 3, auditPatch: { groupId: 1 } }) { audit { id } } }",
        table: "audit",
        message: /check constraint|row-level security/i,
      });
      // An audit of a pyc group, by a madere auditor: allowed (the group decides).
      const res = await srv.gql(
        "mutation { createAudit(input: { audit: { groupId: 4, auditorId: 1 } }) { audit { id groupId auditorId } } }",
        {
          headers,
        },
      );
      t.equal(res.status, 200);
      const created = res.body.data?.createAudit?.audit;
      t.ok(created, JSON.stringify(res.body));
      t.same(await srv.db.asRoot('select id, "groupId", "auditorId" from public.audit where id = $1', [created?.id]), [created]);
    });
  });
}
