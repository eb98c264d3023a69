/**
 * result, role by role:
 *   user                    own rows ("userId" = X-Hasura-User-Id) and the
 *                           rows of the groups they are a member of
 *   campus-admin            rows of the X-Hasura-Campus campuses; writes
 *                           inside them only (USING and WITH CHECK)
 *   admin-campus-read-only  the same rows, no writes
 *   admin                   everything
 *   admin-read-only         every row, no writes
 */
import t from "tap";
import { SCHOOL_PROJECTS } from "../../helpers/projects.ts";
import { startServer } from "../../helpers/server.ts";
import { as, mutationTypeOf, nodesOf, refusedWrite, sameRows, snapshot } from "../helpers.ts";

const COLUMNS = ["id", "userId", "groupId", "objectId", "progressId", "grade", "campus"];
for (const project of SCHOOL_PROJECTS) {
  t.test(project, async (t) => {
    const srv = await startServer(t, { project });

    /** The user rule, in SQL. */
    const USER_RULE = `"userId" = $1 or "groupId" in (select gu."groupId" from public.group_user gu where gu."userId" = $1)`;

    t.test("user: own results and their groups' results", async (t) => {
      for (const userId of [1, 2, 3, 4]) {
        const rows = await sameRows(t, srv, {
          headers: as("user", { userId }),
          field: "allResults",
          columns: COLUMNS,
          orderBy: "ID_ASC",
          table: "result",
          where: USER_RULE,
          params: [userId],
          order: "id",
        });
        t.ok(
          rows.some((r) => r.userId === userId),
          `user ${userId}: has own results`,
        );
        t.ok(
          rows.some((r) => r.userId !== userId),
          `user ${userId}: sees a group mate's result`,
        );
        const [{ hidden }] = await srv.db.asRoot(`select count(*)::int as hidden from public.result where not (${USER_RULE})`, [userId]);
        t.ok(hidden > 0, `user ${userId}: the fixture has results they must not see`);
      }
    });

    t.test("user: another user's result by id is null", async (t) => {
      // Result 4 is chloe's (pyc); alice (1) shares no group with her.
      const [other] = await srv.db.asRoot(`select id from public.result where not (${USER_RULE}) order by id limit 1`, [1]);
      const res = await srv.gql(`{ resultById(id: ${other!.id}) { id userId } }`, { headers: as("user", { userId: 1 }) });
      t.equal(res.status, 200);
      t.same(res.body, { data: { resultById: null } });
      const own = await srv.gql("{ resultById(id: 1) { id userId } }", { headers: as("user", { userId: 1 }) });
      t.same(own.body, { data: { resultById: { id: 1, userId: 1 } } });
    });

    t.test("user: without X-Hasura-User-Id the query fails (missing session variable)", async (t) => {
      const res = await srv.gql("{ allResults { nodes { id } } }", { headers: as("user") });
      t.equal(res.status, 200);
      t.match(res.body.errors?.[0]?.message, /missing session variables/);
      t.same(res.body.data, { allResults: null });
    });

    t.test("user: no writes on result", async (t) => {
      t.equal(await mutationTypeOf(srv, as("user", { userId: 1 })), null, "no Mutation type");
      await refusedWrite(t, srv, {
        headers: as("user", { userId: 1 }),
        query: 'mutation { updateResultById(input: { id: 1, resultPatch: { grade: "5" } }) { result { id } } }',
        table: "result",
        status: 400,
      });
    });

    for (const role of ["campus-admin", "admin-campus-read-only"]) {
      t.test(`${role}: the rows of its campuses`, async (t) => {
        for (const campus of [["madere"], ["pyc"], ["madere", "pyc"]]) {
          for (const json of [false, true]) {
            const rows = await sameRows(t, srv, {
              headers: as(role, { campus, json }),
              field: "allResults",
              columns: COLUMNS,
              orderBy: "ID_ASC",
              table: "result",
              where: "campus = any($1::text[])",
              params: [campus],
              order: "id",
            });
            t.ok(rows.length > 0, `${campus}: some rows`);
          }
        }
        const res = await srv.gql("{ allResults { nodes { id } } }", { headers: as(role) });
        t.match(res.body.errors?.[0]?.message, /missing session variables/, "X-Hasura-Campus is required");
      });
    }

    t.test("campus-admin: an out-of-campus result by id is null", async (t) => {
      const [pyc] = await srv.db.asRoot("select id from public.result where campus = 'pyc' order by id limit 1");
      const res = await srv.gql(`{ resultById(id: ${pyc!.id}) { id } }`, { headers: as("campus-admin", { campus: ["madere"] }) });
      t.equal(res.status, 200);
      t.same(res.body, { data: { resultById: null } });
    });

    t.test("campus-admin: inserts in its campus", async (t) => {
      const before = (await snapshot(srv, "result")).length;
      const res = await srv.gql(
        'mutation { createResult(input: { result: { userId: 2, objectId: 3, groupId: 2, grade: "0.5", path: "/madere/div-01/ascii-art", campus: "madere" } }) { result { id userId grade campus } } }',
        { headers: as("campus-admin", { campus: ["madere"] }) },
      );
      t.equal(res.status, 200);
      t.notOk(res.body.errors, JSON.stringify(res.body.errors));
      const created = res.body.data.createResult.result;
      const [row] = await srv.db.asRoot('select id, "userId", grade, campus from public.result where id = $1', [created.id]);
      t.same(created, row, "the row written is the row returned");
      t.equal((await snapshot(srv, "result")).length, before + 1);
    });

    t.test("campus-admin: an insert for another campus is rejected by WITH CHECK", async (t) => {
      await refusedWrite(t, srv, {
        headers: as("campus-admin", { campus: ["madere"] }),
        query:
          'mutation { createResult(input: { result: { userId: 3, objectId: 7, path: "/pyc/div-01/go-reloaded", campus: "pyc" } }) { result { id } } }',
        table: "result",
        message: /check constraint|row-level security/i,
      });
    });

    t.test("campus-admin: cannot move a result to another campus", async (t) => {
      await refusedWrite(t, srv, {
        headers: as("campus-admin", { campus: ["madere"] }),
        query: 'mutation { updateResultById(input: { id: 1, resultPatch: { campus: "pyc" } }) { result { id campus } } }',
        table: "result",
        message: /check constraint|row-level security/i,
      });
    });

    t.test("campus-admin: out-of-campus rows cannot be updated or deleted", async (t) => {
      const before = await snapshot(srv, "result");
      const headers = as("campus-admin", { campus: ["madere"] });
      const upd = await srv.gql('mutation { updateResultById(input: { id: 4, resultPatch: { grade: "0" } }) { result { id } } }', {
        headers,
      });
      t.equal(upd.status, 200);
      t.ok(upd.body.errors?.length || upd.body.data?.updateResultById?.result === null, "nothing updated");
      const del = await srv.gql("mutation { deleteResultById(input: { id: 4 }) { result { id } } }", { headers });
      t.equal(del.status, 200);
      t.ok(del.body.errors?.length || del.body.data?.deleteResultById?.result === null, "nothing deleted");
      t.same(await snapshot(srv, "result"), before, "result unchanged");
    });

    t.test("campus-admin: updates and deletes in its campus", async (t) => {
      const headers = as("campus-admin", { campus: ["pyc"] });
      const upd = await srv.gql('mutation { updateResultById(input: { id: 6, resultPatch: { grade: "0.25" } }) { result { id grade } } }', {
        headers,
      });
      t.equal(upd.status, 200);
      t.same(upd.body, { data: { updateResultById: { result: { id: 6, grade: "0.25" } } } });
      t.same(await srv.db.asRoot("select grade from public.result where id = 6"), [{ grade: "0.25" }]);
      const [{ id }] = await srv.db.asRoot(
        `insert into public.result ("userId", "objectId", path, campus) values (4, 7, '/pyc/tmp', 'pyc') returning id`,
      );
      const del = await srv.gql(`mutation { deleteResultById(input: { id: ${id} }) { result { id } } }`, { headers });
      t.same(del.body, { data: { deleteResultById: { result: { id } } } });
      t.same(await srv.db.asRoot("select id from public.result where id = $1", [id]), [], "deleted");
    });

    for (const role of ["admin-campus-read-only", "admin-read-only"]) {
      t.test(`${role}: no writes`, async (t) => {
        const headers = as(role, { campus: ["madere"] });
        t.equal(await mutationTypeOf(srv, headers), null, "no Mutation type");
        await refusedWrite(t, srv, {
          headers,
          query: 'mutation { createResult(input: { result: { userId: 1, objectId: 2, path: "/x", campus: "madere" } }) { result { id } } }',
          table: "result",
          status: 400,
        });
        await refusedWrite(t, srv, {
          headers,
          query: "mutation { deleteResultById(input: { id: 1 }) { result { id } } }",
          table: "result",
          status: 400,
        });
      });
    }

    for (const role of ["admin", "admin-read-only"]) {
      t.test(`${role}: every row`, async (t) => {
        await sameRows(t, srv, {
          headers: as(role),
          field: "allResults",
          columns: COLUMNS,
          orderBy: "ID_ASC",
          table: "result",
          order: "id",
        });
      });
    }

    t.test("admin: writes anywhere", async (t) => {
      const headers = as("admin");
      const created = await srv.gql(
        'mutation { createResult(input: { result: { userId: 3, objectId: 7, path: "/pyc/x", campus: "pyc" } }) { result { id campus } } }',
        { headers },
      );
      t.equal(created.status, 200);
      const id = created.body.data?.createResult?.result?.id;
      t.ok(id, JSON.stringify(created.body));
      const upd = await srv.gql(
        `mutation { updateResultById(input: { id: ${id}, resultPatch: { campus: "madere" } }) { result { id campus } } }`,
        {
          headers,
        },
      );
      t.same(upd.body, { data: { updateResultById: { result: { id, campus: "madere" } } } });
      const del = await srv.gql(`mutation { deleteResultById(input: { id: ${id} }) { result { id } } }`, { headers });
      t.same(del.body, { data: { deleteResultById: { result: { id } } } });
      t.same(await srv.db.asRoot("select id from public.result where id = $1", [id]), []);
      const all = nodesOf(t, await srv.gql("{ allResults { totalCount nodes { id } } }", { headers }), "allResults");
      const [{ n }] = await srv.db.asRoot("select count(*)::int as n from public.result");
      t.equal(all.length, n);
    });
  });
}
