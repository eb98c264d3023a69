/**
 * admin: every action on every table, any campus, lookups included.
 * admin-read-only: reads everything (read-matrix.test.ts), writes nothing.
 */
import t from "tap";
import { SCHOOL_PROJECTS } from "../../helpers/projects.ts";
import { startServer } from "../../helpers/server.ts";
import { as, mutationTypeOf, refusedWrite, snapshot } from "../helpers.ts";

for (const project of SCHOOL_PROJECTS) {
  t.test(project, async (t) => {
    const srv = await startServer(t, { project });
    const admin = as("admin");

    t.test("admin: writes lookup tables", async (t) => {
      const res = await srv.gql(
        'mutation { createObjectType(input: { objectType: { type: "quest", description: "A quest" } }) { objectType { type } } }',
        {
          headers: admin,
        },
      );
      t.equal(res.status, 200);
      t.same(res.body, { data: { createObjectType: { objectType: { type: "quest" } } } });
      t.same(await srv.db.asRoot("select type, description from public.object_type where type = 'quest'"), [
        { type: "quest", description: "A quest" },
      ]);
      const del = await srv.gql('mutation { deleteObjectTypeByType(input: { type: "quest" }) { objectType { type } } }', {
        headers: admin,
      });
      t.same(del.body, { data: { deleteObjectTypeByType: { objectType: { type: "quest" } } } });
      t.same(await srv.db.asRoot("select type from public.object_type where type = 'quest'"), []);
    });

    t.test("admin: writes in both campuses, without X-Hasura-Campus", async (t) => {
      for (const campus of ["madere", "pyc"]) {
        const res = await srv.gql(
          `mutation { createEvent(input: { event: { objectId: 1, path: "/${campus}/admin", campus: "${campus}" } }) { event { id campus } } }`,
          { headers: admin },
        );
        t.equal(res.status, 200);
        const event = res.body.data?.createEvent?.event;
        t.equal(event?.campus, campus, JSON.stringify(res.body));
        t.same(await srv.db.asRoot("select id, campus from public.event where id = $1", [event?.id]), [event]);
      }
      const upd = await srv.gql('mutation { updateUserById(input: { id: 3, userPatch: { campus: "madere" } }) { user { id campus } } }', {
        headers: admin,
      });
      t.same(upd.body, { data: { updateUserById: { user: { id: 3, campus: "madere" } } } });
      t.same(await srv.db.asRoot('select id, campus from public."user" where id = 3'), [{ id: 3, campus: "madere" }]);
    });

    t.test("admin: grants any role", async (t) => {
      const res = await srv.gql(
        "mutation { createUserRole(input: { userRole: { userId: 2, roleId: 4 } }) { userRole { id userId roleId } } }",
        {
          headers: admin,
        },
      );
      t.equal(res.status, 200);
      const row = res.body.data?.createUserRole?.userRole;
      t.same(await srv.db.asRoot('select id, "userId", "roleId" from public.user_role where id = $1', [row?.id]), [row]);
    });

    t.test("admin-read-only: no Mutation type, nothing written", async (t) => {
      const headers = as("admin-read-only");
      t.equal(await mutationTypeOf(srv, headers), null);
      for (const [table, m] of [
        ["object_type", 'createObjectType(input: { objectType: { type: "x" } }) { objectType { type } }'],
        ["user", 'updateUserById(input: { id: 1, userPatch: { login: "x" } }) { user { id } }'],
        ["audit", "deleteAuditById(input: { id: 1 }) { audit { id } }"],
      ] as const) {
        await refusedWrite(t, srv, { headers, query: `mutation { ${m} }`, table, status: 400 });
      }
      t.ok((await snapshot(srv, "audit")).length > 0);
    });
  });
}
