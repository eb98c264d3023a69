/**
 * At scale (npm run seed), the policies keep queries on indexes: EXPLAIN
 * run as the role, with its session settings, inside a transaction exactly
 * like a GraphQL operation's. Asserts the plan, not a time.
 */
import pg from "pg";
import t from "tap";
import { seedSchool } from "../../server/db/seed.ts";
import { createTestDatabase } from "../helpers/pg.ts";

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

t.test("user and campus-admin queries use index scans at scale", async (t) => {
  const db = await createTestDatabase(t);
  const root = new pg.Client({ connectionString: db.rootUrl });
  await root.connect();
  t.teardown(() => root.end());
  await seedSchool(root, 10); // 10,000 users; 100,000 results, transactions, progress rows

  const client = new pg.Client({ connectionString: db.runtimeUrl });
  await client.connect();
  t.teardown(() => client.end());
  const {
    rows: [someone],
  } = await root.query<{ id: number; campus: string }>(
    `select "userId" as id, campus from public.result where path like '/seed/%' order by id limit 1`,
  );

  async function explainAs(role: string, session: Record<string, string>, sql: string, values: unknown[] = []) {
    await client.query("begin");
    try {
      await client.query("select set_config('role', $1, true), set_config('hasura.user', $2, true)", [
        role,
        JSON.stringify({ ...session, "x-hasura-role": role }),
      ]);
      const { rows } = await client.query(`explain (format json) ${sql}`, values);
      return nodes((rows[0]["QUERY PLAN"] as Array<{ Plan: PlanNode }>)[0]!.Plan);
    } finally {
      await client.query("rollback");
    }
  }
  const onTable = (plan: PlanNode[], table: string) => plan.filter((n) => n["Relation Name"] === table);
  // A Bitmap Heap Scan is always fed by a Bitmap Index Scan: index-driven too.

  const own = await explainAs(
    "user",
    { "x-hasura-user-id": String(someone!.id) },
    `select id, grade, "createdAt" from public.result order by "createdAt" desc limit 10`,
  );
  t.notOk(
    onTable(own, "result").some((n) => n["Node Type"] === "Seq Scan"),
    "no sequential scan of result",
  );
  t.ok(
    onTable(own, "result").some((n) => /Index|Bitmap Heap/.test(n["Node Type"])),
    `index scan on result: ${JSON.stringify(onTable(own, "result").map((n) => n["Node Type"]))}`,
  );

  const ownTx = await explainAs(
    "user",
    { "x-hasura-user-id": String(someone!.id) },
    `select amount from public.transaction where type = 'xp'`,
  );
  t.ok(
    onTable(ownTx, "transaction").some((n) => /Index|Bitmap Heap/.test(n["Node Type"])),
    "a user's xp transactions: index scan",
  );

  const campus = await explainAs(
    "campus-admin",
    { "x-hasura-campus": `{${someone!.campus}}` },
    `select id, grade from public.result where "userId" = $1 order by id desc limit 10`,
    [someone!.id],
  );
  t.notOk(
    onTable(campus, "result").some((n) => n["Node Type"] === "Seq Scan"),
    "campus-admin: no sequential scan of result",
  );
  t.ok(
    onTable(campus, "result").some((n) => /Index|Bitmap Heap/.test(n["Node Type"])),
    "campus-admin: index scan on result",
  );
});
