/**
 * The `user` role on the tables it reads "with checks" (seed 001): audit,
 * result, transaction, user_role, user, progress. Own rows are readable by
 * id, other users' rows are not there at all; the role writes nothing.
 */
import t from "tap";
import { SCHOOL_PROJECTS } from "../../helpers/projects.ts";
import { startServer } from "../../helpers/server.ts";
import { as, mutationTypeOf, refusedWrite } from "../helpers.ts";

for (const project of SCHOOL_PROJECTS) {
  t.test(project, async (t) => {
    const srv = await startServer(t, { project });

    // table, GraphQL single-row field, and the column holding the owner.
    const OWNED = [
      { table: "user", byId: "userById", owner: "id" },
      { table: "transaction", byId: "transactionById", owner: "userId" },
      { table: "progress", byId: "progressById", owner: "userId" },
      { table: "user_role", byId: "userRoleById", owner: "userId" },
    ];

    t.test("own rows by id, and others' rows are null", async (t) => {
      for (const { table, byId, owner } of OWNED) {
        for (const userId of [1, 3]) {
          const rows = await srv.db.asRoot<{ id: number; mine: boolean }>(
            `select id, "${owner}" = $1 as mine from public."${table}" order by id`,
            [userId],
          );
          const mine = rows.find((r) => r.mine)!;
          const theirs = rows.find((r) => !r.mine)!;
          t.ok(mine && theirs, `${table}: the fixture has rows of user ${userId} and of others`);
          const headers = as("user", { userId });
          const own = await srv.gql(`{ ${byId}(id: ${mine.id}) { id } }`, { headers });
          t.equal(own.status, 200);
          t.same(own.body, { data: { [byId]: { id: mine.id } } }, `${table}: user ${userId} reads own row ${mine.id}`);
          const other = await srv.gql(`{ ${byId}(id: ${theirs.id}) { id } }`, { headers });
          t.equal(other.status, 200);
          t.same(other.body, { data: { [byId]: null } }, `${table}: user ${userId} cannot read row ${theirs.id}`);
        }
      }
    });

    t.test("a relation to another user's account resolves to null", async (t) => {
      // Group 1's captain is alice (1); bob (2) sees the group but not her account.
      const [group] = await srv.db.asRoot(`select id, "captainId" from public."group" where "captainId" <> 2 order by id limit 1`);
      const res = await srv.gql(`{ groupById(id: ${group!.id}) { id captainId userByCaptainId { id login } } }`, {
        headers: as("user", { userId: 2 }),
      });
      t.equal(res.status, 200);
      t.same(res.body, { data: { groupById: { id: group!.id, captainId: group!.captainId, userByCaptainId: null } } });
    });

    t.test("no writes at all", async (t) => {
      const headers = as("user", { userId: 1 });
      t.equal(await mutationTypeOf(srv, headers), null, "no Mutation type");
      await refusedWrite(t, srv, {
        headers,
        query: 'mutation { updateUserById(input: { id: 1, userPatch: { email: "x@example.com" } }) { user { id } } }',
        table: "user",
        status: 400,
      });
      await refusedWrite(t, srv, {
        headers,
        query:
          'mutation { createTransaction(input: { transaction: { type: "xp", amount: "1000000", userId: 1, objectId: 2, path: "/x", campus: "madere" } }) { transaction { id } } }',
        table: "transaction",
        status: 400,
      });
      await refusedWrite(t, srv, {
        headers,
        query: "mutation { createUserRole(input: { userRole: { userId: 1, roleId: 4 } }) { userRole { id } } }",
        table: "user_role",
        status: 400,
      });
    });

    t.test("the user columns the role reads are all of them, on its own row", async (t) => {
      const res = await srv.gql("{ userById(id: 2) { id login firstName lastName email campus } }", { headers: as("user", { userId: 2 }) });
      const [row] = await srv.db.asRoot('select id, login, "firstName", "lastName", email, campus from public."user" where id = 2');
      t.equal(res.status, 200);
      t.same(res.body, { data: { userById: row } });
    });
  });
}
