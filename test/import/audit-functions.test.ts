/**
 * server/import/audit-functions.ts through an import (issue 14): the
 * migrations' functions that read settings and the SECURITY INVOKER
 * triggers a role would now be refused by are listed in IMPORT.md with the
 * fix, and the refusal and the fix are real: as the role, the insert that
 * fires the audit trigger fails; with the offered SECURITY DEFINER (and its
 * owner's policy) it succeeds, and the trigger reads hasura.user as in Hasura.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { withClient } from "../../server/db/with-client.ts";
import { auditFunctions } from "../../server/import/audit-functions.ts";
import { importHasuraProject } from "../../server/import/index.ts";
import { quoteIdent } from "../../server/import/sql-quote.ts";
import { createEmptyDatabase } from "../helpers/empty-database.ts";
import { clusterUrl } from "../helpers/pg.ts";
import { TEST_ROLES } from "../helpers/projects.ts";

const work = mkdtempSync(path.join(tmpdir(), "import-audit-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const suffix = randomBytes(4).toString("hex");
const user = `fxa_${suffix}_user`;
const reader = `fxa_${suffix}_rules_reader`;

const hasura = path.join(work, "hasura");
const file = (rel: string, text: string) => {
  mkdirSync(path.dirname(path.join(hasura, rel)), { recursive: true });
  writeFileSync(path.join(hasura, rel), text);
};
file("config.yaml", "version: 3\nmetadata_directory: metadata\n");
file("metadata/version.yaml", "version: 3\n");
file(
  "metadata/databases/databases.yaml",
  "- name: default\n  kind: postgres\n  configuration:\n    connection_info:\n      database_url: postgres://x\n  tables: '!include default/tables/tables.yaml'\n",
);
file("metadata/databases/default/tables/tables.yaml", "- '!include public_item.yaml'\n- '!include public_item_audit.yaml'\n");
file(
  "metadata/databases/default/tables/public_item.yaml",
  `table: {name: item, schema: public}
insert_permissions:
  - role: ${user}
    permission: {columns: [id, owner_id, name], check: {owner_id: {_eq: X-Hasura-User-Id}}}
select_permissions:
  - role: ${user}
    permission: {columns: [id, owner_id, name], filter: {owner_id: {_eq: X-Hasura-User-Id}}}
`,
);
// The audit log: tracked, for admin only (Hasura's triggers wrote it as admin).
file("metadata/databases/default/tables/public_item_audit.yaml", "table: {name: item_audit, schema: public}\n");
file(
  "migrations/default/1700000000000_init/up.sql",
  `create table public.item (id int primary key, owner_id int not null, name text not null);
create table public.item_audit (id serial primary key, item_id int not null, changed_by text);
-- Hasura's own pattern: the session from hasura.user, written to a table the role cannot touch.
create function public.log_item() returns trigger language plpgsql as $$
begin
  insert into public.item_audit (item_id, changed_by)
  values (new.id, current_setting('hasura.user', true)::json ->> 'x-hasura-user-id');
  return new;
end $$;
create trigger item_log after insert or update on public.item for each row execute function public.log_item();
-- A setting only the old stack set.
create function public.tenant() returns text language sql stable as $$ select current_setting('myapp.tenant', true) $$;
-- Already SECURITY DEFINER: not a finding.
create function public.count_items() returns trigger language plpgsql security definer set search_path = pg_catalog, public as $$
begin perform count(*) from item_audit; return new; end $$;
create trigger item_count after delete on public.item for each row execute function public.count_items();
`,
);

const scratch = await createEmptyDatabase(t);
await scratch.asRoot("revoke all on schema public from public");
t.teardown(async () => {
  await scratch.asRoot(`drop owned by ${quoteIdent(reader)}, ${quoteIdent(user)} cascade`).catch(() => {});
  for (const r of [reader, user]) await scratch.asRoot(`drop role if exists ${quoteIdent(r)}`).catch(() => {});
});
const out = path.join(work, "out");
await importHasuraProject(hasura, out, {
  scratch: { ownerUrl: scratch.ownerUrl, authenticator: TEST_ROLES.authenticator.name },
  reader,
});
const authenticatorUrl = clusterUrl(TEST_ROLES.authenticator.name, TEST_ROLES.authenticator.password, scratch.name);

/** One statement as the role, in a transaction with Hasura's session, as a request runs it. */
async function asUser(sql: string, userId: string) {
  return withClient(authenticatorUrl, async (client) => {
    await client.query("begin");
    try {
      await client.query("select set_config('role', $1, true), set_config('hasura.user', $2, true)", [
        user,
        JSON.stringify({ "x-hasura-role": user, "x-hasura-user-id": userId }),
      ]);
      const rows = (await client.query(sql)).rows;
      await client.query("commit");
      return rows;
    } catch (e) {
      await client.query("rollback");
      throw e;
    }
  });
}

t.test("IMPORT.md lists the findings with the fix", async (t) => {
  const report = readFileSync(path.join(out, "IMPORT.md"), "utf8");
  t.match(report, "## Functions, triggers and views");
  t.match(report, "- `public.log_item()`: reads hasura.user: keeps working");
  t.match(report, `- \`public.log_item()\`: trigger item_log on public.item runs as the request's role`);
  t.match(report, `${user} (insert on item): no INSERT privilege on public.item_audit`);
  t.match(report, "Fix: alter function public.log_item() security definer set search_path = pg_catalog, public;");
  t.match(report, "- `public.tenant()`: reads the setting myapp.tenant, which this server does not set");
  t.notMatch(report, "count_items", "a SECURITY DEFINER trigger function is not a finding");
  t.notMatch(report, "`hasura.", "the helper library's functions (schema hasura) are not the migrations'");
});

t.test("the findings are the whole list", async (t) => {
  const findings = await withClient(scratch.ownerUrl, (client) =>
    auditFunctions(client, { roles: [user, "admin"], excludeOwners: [reader] }),
  );
  t.same(
    findings.map((f) => [f.function, f.detail.split(":")[0], Boolean(f.fix)]),
    [
      ["public.log_item()", "reads hasura.user", false],
      [
        "public.log_item()",
        "trigger item_log on public.item runs as the request's role (SECURITY INVOKER; Hasura ran it as its admin), and would now be refused",
        true,
      ],
      ["public.tenant()", "reads the setting myapp.tenant, which this server does not set (it sets hasura.user, request.jwt.claims)", true],
    ],
  );
});

t.test("the refusal is real, and the offered fix works", async (t) => {
  await t.rejects(asUser("insert into public.item values (1, 7, 'a')", "7"), /permission denied for table item_audit/);
  // The fix as IMPORT.md offers it: SECURITY DEFINER with a fixed search_path, and its owner's policy (RLS is forced).
  await withClient(scratch.ownerUrl, async (client) => {
    await client.query("alter function public.log_item() security definer set search_path = pg_catalog, public");
    await client.query("create policy log_item_writes on public.item_audit for insert to current_user with check (true)");
  });
  t.same(await asUser("insert into public.item values (1, 7, 'a') returning id", "7"), [{ id: 1 }]);
  t.same(
    await scratch.asRoot("select item_id, changed_by from public.item_audit"),
    [{ item_id: 1, changed_by: "7" }],
    "hasura.user read as in Hasura",
  );
});
