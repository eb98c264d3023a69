/**
 * campus-admin writes (seed 001): INSERT, UPDATE, DELETE on every table,
 * limited to the X-Hasura-Campus campuses by USING and WITH CHECK; tables
 * without a campus column follow their parent (group_user, audit → group,
 * event_user → event, registration_user → registration, object_child →
 * parent object, user_role → user). Lookup tables are read-only, and
 * user_role never hands out the platform-wide roles (admin, admin-read-only).
 */
import t from "tap";
import { SCHOOL_PROJECTS } from "../../helpers/projects.ts";
import { startServer } from "../../helpers/server.ts";
import { as, mutationTypeOf, refusedWrite, snapshot } from "../helpers.ts";

for (const project of SCHOOL_PROJECTS) {
  t.test(project, async (t) => {
    const srv = await startServer(t, { project });
    const madereAdmin = as("campus-admin", { campus: ["madere"] });

    type Payload = (campus: "madere" | "pyc") => string;
    // table, the GraphQL name of its input object, and a row for each campus.
    const WRITES: { table: string; input: string; create: string; row: Payload }[] = [
      { table: "user", input: "user", create: "createUser", row: (c) => `{ login: "new-${c}", campus: "${c}" }` },
      { table: "object", input: "object", create: "createObject", row: (c) => `{ name: "new", type: "project", campus: "${c}" }` },
      {
        table: "registration",
        input: "registration",
        create: "createRegistration",
        row: (c) => `{ objectId: 4, startAt: "2025-01-01T00:00:00Z", endAt: "2025-02-01T00:00:00Z", path: "/${c}/new", campus: "${c}" }`,
      },
      { table: "event", input: "event", create: "createEvent", row: (c) => `{ objectId: 1, path: "/${c}/new", campus: "${c}" }` },
      {
        table: "group",
        input: "group",
        create: "createGroup",
        row: (c) => `{ objectId: 2, eventId: 1, captainId: 1, path: "/${c}/new", campus: "${c}" }`,
      },
      {
        table: "progress",
        input: "progress",
        create: "createProgress",
        row: (c) => `{ userId: 1, objectId: 2, path: "/${c}/new", campus: "${c}" }`,
      },
      {
        table: "result",
        input: "result",
        create: "createResult",
        row: (c) => `{ userId: 1, objectId: 2, path: "/${c}/new", campus: "${c}" }`,
      },
      {
        table: "transaction",
        input: "transaction",
        create: "createTransaction",
        row: (c) => `{ type: "xp", amount: "10", userId: 1, objectId: 2, path: "/${c}/new", campus: "${c}" }`,
      },
      {
        table: "match",
        input: "match",
        create: "createMatch",
        row: (c) => `{ userId: 1, matchId: 2, eventId: 2, path: "/${c}/new", campus: "${c}" }`,
      },
      // Child tables: the parent's campus decides (madere parent / pyc parent).
      {
        table: "object_child",
        input: "objectChild",
        create: "createObjectChild",
        row: (c) => (c === "madere" ? `{ parentId: 1, childId: 5, key: "new" }` : `{ parentId: 6, childId: 9, key: "new" }`),
      },
      {
        table: "registration_user",
        input: "registrationUser",
        create: "createRegistrationUser",
        row: (c) => `{ registrationId: ${c === "madere" ? 1 : 2}, userId: 3 }`,
      },
      {
        table: "event_user",
        input: "eventUser",
        create: "createEventUser",
        row: (c) => (c === "madere" ? "{ eventId: 5, userId: 2 }" : "{ eventId: 4, userId: 3 }"),
      },
      {
        table: "group_user",
        input: "groupUser",
        create: "createGroupUser",
        row: (c) => (c === "madere" ? "{ groupId: 2, userId: 1 }" : "{ groupId: 4, userId: 3 }"),
      },
      {
        table: "audit",
        input: "audit",
        create: "createAudit",
        row: (c) => (c === "madere" ? "{ groupId: 1, auditorId: 3 }" : "{ groupId: 3, auditorId: 1 }"),
      },
      {
        table: "user_role",
        input: "userRole",
        create: "createUserRole",
        row: (c) => `{ userId: ${c === "madere" ? 2 : 4}, roleId: 3 }`,
      },
    ];

    const mutation = (w: (typeof WRITES)[number], campus: "madere" | "pyc") =>
      `mutation { ${w.create}(input: { ${w.input}: ${w.row(campus)} }) { ${w.input} { id } } }`;

    t.test("an insert for another campus is rejected, and nothing is written", async (t) => {
      for (const w of WRITES) {
        t.test(w.table, (t) =>
          refusedWrite(t, srv, {
            headers: madereAdmin,
            query: mutation(w, "pyc"),
            table: w.table,
            message: /check constraint|row-level security/i,
          }).then(() => {}),
        );
      }
    });

    t.test("an insert in its campus is written", async (t) => {
      for (const w of WRITES) {
        t.test(w.table, async (t) => {
          for (const [headers, campus] of [
            [madereAdmin, "madere"],
            [as("campus-admin", { campus: ["madere", "pyc"] }), "pyc"],
          ] as const) {
            const before = (await snapshot(srv, w.table)).length;
            const res = await srv.gql(mutation(w, campus), { headers });
            t.equal(res.status, 200);
            t.notOk(res.body.errors, JSON.stringify(res.body.errors));
            const id = res.body.data?.[w.create]?.[w.input]?.id;
            t.ok(id, `${campus}: created`);
            t.same(await srv.db.asRoot(`select id from public."${w.table}" where id = $1`, [id]), [{ id }], "the row is there");
            t.equal((await snapshot(srv, w.table)).length, before + 1, "exactly one row more");
          }
        });
      }
    });

    t.test("a row cannot be moved to another campus", async (t) => {
      await refusedWrite(t, srv, {
        headers: madereAdmin,
        query: 'mutation { updateEventById(input: { id: 1, eventPatch: { campus: "pyc" } }) { event { id } } }',
        table: "event",
        message: /check constraint|row-level security/i,
      });
      await refusedWrite(t, srv, {
        headers: madereAdmin,
        query: 'mutation { updateUserById(input: { id: 1, userPatch: { campus: "pyc" } }) { user { id } } }',
        table: "user",
        message: /check constraint|row-level security/i,
      });
      // A member moved into a pyc group.
      await refusedWrite(t, srv, {
        headers: madereAdmin,
        query: "mutation { updateGroupUserById(input: { id: 3, groupUserPatch: { groupId: 4 } }) { groupUser { id } } }",
        table: "group_user",
        message: /check constraint|row-level security/i,
      });
    });

    t.test("out-of-campus rows are neither updated nor deleted", async (t) => {
      for (const [table, update, del] of [
        [
          "group",
          'updateGroupById(input: { id: 3, groupPatch: { status: "setup" } }) { group { id } }',
          "deleteGroupById(input: { id: 3 }) { group { id } }",
        ],
        [
          "group_user",
          "updateGroupUserById(input: { id: 4, groupUserPatch: { confirmed: false } }) { groupUser { id } }",
          "deleteGroupUserById(input: { id: 4 }) { groupUser { id } }",
        ],
        [
          "user",
          'updateUserById(input: { id: 3, userPatch: { email: "x@example.com" } }) { user { id } }',
          "deleteUserById(input: { id: 3 }) { user { id } }",
        ],
      ] as const) {
        const before = await snapshot(srv, table);
        for (const m of [update, del]) {
          const res = await srv.gql(`mutation { ${m} }`, { headers: madereAdmin });
          t.equal(res.status, 200, m);
          const payload = Object.values(res.body.data ?? {})[0] as Record<string, unknown> | null;
          t.ok(res.body.errors?.length || (payload && Object.values(payload)[0] === null), `${m}: nothing done`);
        }
        t.same(await snapshot(srv, table), before, `${table} unchanged`);
      }
    });

    t.test("lookup tables are read-only", async (t) => {
      for (const [table, m] of [
        ["object_type", 'createObjectType(input: { objectType: { type: "new" } }) { objectType { type } }'],
        ["transaction_type", 'createTransactionType(input: { transactionType: { type: "new" } }) { transactionType { type } }'],
        ["role", 'createRole(input: { role: { slug: "new", name: "New" } }) { role { id } }'],
        ["object_status", 'deleteObjectStatusByStatus(input: { status: "draft" }) { objectStatus { status } }'],
      ] as const) {
        await refusedWrite(t, srv, { headers: madereAdmin, query: `mutation { ${m} }`, table, status: 400 });
      }
    });

    t.test("user_role: campus roles only, never admin or admin-read-only", async (t) => {
      const [admin] = await srv.db.asRoot("select id from public.role where slug = 'admin'");
      await refusedWrite(t, srv, {
        headers: madereAdmin,
        query: `mutation { createUserRole(input: { userRole: { userId: 2, roleId: ${admin!.id} } }) { userRole { id } } }`,
        table: "user_role",
        message: /check constraint|row-level security/i,
      });
      // alice's campus-admin row (5) turned into admin.
      await refusedWrite(t, srv, {
        headers: madereAdmin,
        query: `mutation { updateUserRoleById(input: { id: 5, userRolePatch: { roleId: ${admin!.id} } }) { userRole { id } } }`,
        table: "user_role",
        message: /check constraint|row-level security/i,
      });
      // An existing admin row of a madere account stays.
      const [row] = await srv.db.asRoot(`insert into public.user_role ("userId", "roleId") values (2, $1) returning id`, [admin!.id]);
      const before = await snapshot(srv, "user_role");
      const res = await srv.gql(`mutation { deleteUserRoleById(input: { id: ${row!.id} }) { userRole { id } } }`, { headers: madereAdmin });
      t.equal(res.status, 200);
      t.ok(res.body.errors?.length || res.body.data?.deleteUserRoleById?.userRole === null, "not deleted");
      t.same(await snapshot(srv, "user_role"), before, "user_role unchanged");
    });

    t.test("without X-Hasura-Campus nothing is read or written", async (t) => {
      const headers = as("campus-admin");
      const res = await srv.gql("{ allEvents { nodes { id } } }", { headers });
      t.equal(res.status, 200);
      t.match(res.body.errors?.[0]?.message, /missing session variables/);
      await refusedWrite(t, srv, {
        headers,
        query: mutation(WRITES.find((w) => w.table === "event")!, "madere"),
        table: "event",
        message: /missing session variables/,
      });
    });

    t.test("admin-campus-read-only: same rows, no Mutation type", async (t) => {
      const headers = as("admin-campus-read-only", { campus: ["madere"] });
      t.equal(await mutationTypeOf(srv, headers), null);
      await refusedWrite(t, srv, { headers, query: mutation(WRITES[3]!, "madere"), table: "event", status: 400 });
    });
  });
}
