/**
 * Where an object relationship is non-null in the Hasura dialect (model.ts
 * isNonNull): Hasura makes a foreign key of the table over NOT NULL columns
 * non-null, then answers null when a permission hides the related row, which
 * GraphQL forbids. Here it is non-null only where the related row is sure to
 * exist and be visible to the role; every other object relationship is
 * nullable. Each case below differs from `parent` in one respect.
 */
import t from "tap";
import { createTestDatabase } from "../helpers/pg.ts";
import { ADMIN, SECURED } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";

const USER = { ...ADMIN, "x-hasura-role": "user", "x-hasura-user-id": "1" };

t.test("object relationships: non-null only where the related row is sure to be visible", async (t) => {
  const db = await createTestDatabase(t);
  await db.asOwner(`
    create table public.parent (id int primary key, name text not null);
    create table public.filtered (id int primary key, name text not null);
    create table public.narrowed (id int primary key, name text not null);
    create table public.open (id int primary key, name text not null);
    create table public.child (
      id int primary key,
      parent_id int not null references public.parent (id),
      maybe_parent_id int references public.parent (id),
      filtered_id int not null references public.filtered (id),
      narrowed_id int not null references public.narrowed (id),
      open_id int not null references public.open (id),
      late_parent_id int not null references public.parent (id) deferrable initially deferred,
      unchecked_parent_id int not null,
      tagged_parent_id int not null
    );
    alter table public.child add constraint child_unchecked_fkey
      foreign key (unchecked_parent_id) references public.parent (id) not valid;
    comment on table public.child is E'@foreignKey (tagged_parent_id) references public.parent (id)|@fieldName tagged_parent';
    create table public.profile (parent_id int not null unique references public.parent (id), bio text);

    grant select on public.parent, public.filtered, public.narrowed, public.open, public.child, public.profile to "user";
    alter table public.parent enable row level security, force row level security;
    create policy user_select on public.parent for select to "user" using (true);
    alter table public.filtered enable row level security, force row level security;
    create policy user_select on public.filtered for select to "user" using (id > 0);
    alter table public.narrowed enable row level security, force row level security;
    create policy user_select on public.narrowed for select to "user" using (true);
    create policy user_narrow on public.narrowed as restrictive for select to "user" using (id > 0);
    -- open: no RLS at all.
    alter table public.child enable row level security, force row level security;
    create policy user_select on public.child for select to "user" using (true);
    alter table public.profile enable row level security, force row level security;
    create policy user_select on public.profile for select to "user" using (true);`);
  await db.asRoot(`
    insert into public.parent values (1, 'p');
    insert into public.filtered values (1, 'f');
    insert into public.narrowed values (1, 'n');
    insert into public.open values (1, 'o');
    insert into public.child values (1, 1, null, 1, 1, 1, 1, 1, 1);
    insert into public.profile values (1, 'b');`);
  const srv = await startServer(t, { db, env: SECURED });

  const fields = async (type: string) => {
    const res = await srv.gql(`{ __type(name: "${type}") { fields { name type { kind ofType { name } name } } } }`, {
      path: "/v1/graphql",
      headers: USER,
    });
    t.equal(res.body.errors, undefined, `__type ${type}: no errors`);
    const out = new Map<string, string>();
    for (const f of res.body.data.__type.fields as {
      name: string;
      type: { kind: string; name: string | null; ofType: { name: string } | null };
    }[]) {
      out.set(f.name, f.type.kind === "NON_NULL" ? `${f.type.ofType!.name}!` : String(f.type.name));
    }
    return out;
  };

  const child = await fields("child");
  t.equal(child.get("parent"), "parent!", "a NOT NULL foreign key into a table the role reads without a row rule: non-null");
  t.equal(child.get("open"), "open!", "into a table without RLS: non-null");
  t.equal(child.get("maybe_parent"), "parent", "a nullable foreign-key column: nullable");
  t.equal(child.get("filtered"), "filtered", "a target with a row rule for the role: nullable");
  t.equal(child.get("narrowed"), "narrowed", "a target with a restrictive policy: nullable");
  t.equal(child.get("late_parent"), "parent", "a deferrable foreign key: nullable");
  t.equal(child.get("unchecked_parent"), "parent", "a NOT VALID foreign key: nullable");
  t.equal(child.get("tagged_parent"), "parent", "a smart-tag @foreignKey (not enforced): nullable");
  const parent = await fields("parent");
  t.equal(parent.get("profile"), "profile", "the reverse side of a one-to-one: nullable");

  const rows = await srv.gql(
    `{ child { parent { name } open { name } filtered { name } narrowed { name } maybe_parent { name } parent_id } }`,
    { path: "/v1/graphql", headers: USER },
  );
  t.same(
    rows.body,
    {
      data: {
        child: [
          {
            parent: { name: "p" },
            open: { name: "o" },
            filtered: { name: "f" },
            narrowed: { name: "n" },
            maybe_parent: null,
            parent_id: 1,
          },
        ],
      },
    },
    "the rows, through non-null and nullable relationships",
  );
});
