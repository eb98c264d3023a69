/**
 * The test harness's streaming replica (test/helpers/replica.ts) is a real
 * hot standby: it streams the primary's writes, refuses writes itself, its
 * replay can be paused, and it comes back after an immediate stop.
 */
import t from "tap";
import { dedicatedCluster } from "../helpers/dedicated-cluster.ts";
import { startReplica } from "../helpers/replica.ts";

t.setTimeout(120_000);

t.test("a streaming replica of a dedicated cluster", async (t) => {
  const primary = await dedicatedCluster(t);
  const replica = await startReplica(t, primary);
  const [state] = await replica.query<{ recovery: boolean }>("select pg_is_in_recovery() as recovery");
  t.equal(state!.recovery, true, "in recovery (a standby)");
  const users = async () => (await replica.query<{ n: number }>(`select count(*)::int as n from public."user"`, [], "app"))[0]!.n;
  const before = await users();
  t.ok(before > 0, "has the migrated, seeded database");

  await primary.db.asRoot(`insert into public."user" (login) values ('streamed')`);
  await replica.waitCaughtUp();
  t.equal(await users(), before + 1, "a write on the primary is streamed");

  await replica.pauseReplay();
  await primary.db.asRoot(`insert into public."user" (login) values ('held-back')`);
  await new Promise((r) => setTimeout(r, 300));
  t.equal(await users(), before + 1, "paused: the new row is not visible");
  await replica.resumeReplay();
  await replica.waitCaughtUp();
  t.equal(await users(), before + 2, "resumed: it is");

  await t.rejects(replica.query(`insert into public."user" (login) values ('nope')`, [], "app"), /read-only/, "refuses writes");

  await replica.kill();
  await t.rejects(replica.query("select 1"), "killed: refuses connections");
  await primary.db.asRoot(`insert into public."user" (login) values ('while-down')`);
  await replica.start();
  await replica.waitCaughtUp();
  t.equal(await users(), before + 3, "restarted: catches up");
});
