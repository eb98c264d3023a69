import t from "tap";
import { startServer } from "../helpers/server.ts";

t.test("anonymous query through real HTTP returns the rows the role may read", async (t) => {
  const srv = await startServer(t);
  const res = await srv.gql("{ allUsers(orderBy: ID_ASC) { nodes { id login } } }", { headers: { "x-hasura-role": "anonymous" } });
  t.equal(res.status, 200);
  const expected = await srv.db.asRoot<{ id: number; login: string }>('select id, login from public."user" order by id');
  t.ok(expected.length >= 2, "fixture has users");
  t.same(res.body.data.allUsers.nodes, expected);
});

t.test("columns without a grant are absent from the anonymous schema", async (t) => {
  const srv = await startServer(t);
  const res = await srv.gql("{ allUsers { nodes { id email } } }", { headers: { "x-hasura-role": "anonymous" } });
  t.equal(res.status, 400);
  t.match(res.body.errors[0].message, /email/);
});
