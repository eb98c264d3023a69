/**
 * Bad configuration: one clear line naming the problem, exit code 1, no
 * stack trace.
 */
import { createServer } from "node:net";
import pg from "pg";
import t, { type Test } from "tap";
import { freePort } from "../helpers/net.ts";
import { createTestDatabase, clusterUrl, superuserUrl } from "../helpers/pg.ts";
import { errorLines, startMain } from "../helpers/process.ts";
import { ADMIN_SECRET_ENV } from "../helpers/secured.ts";

async function failsWith(t: Test, env: Record<string, string>, pattern: RegExp) {
  const proc = startMain(env);
  const { code } = await proc.exited;
  t.equal(code, 1, "exits non-zero");
  const lines = errorLines(proc.output());
  t.equal(lines.length, 1, `exactly one error line in:\n${proc.output()}`);
  t.match(lines[0], pattern);
  t.notMatch(proc.output(), /\n\s+at .+:\d+:\d+/, "no stack trace");
}

t.test("unparseable DATABASE_URL", (t) =>
  failsWith(t, { DATABASE_URL: "not a url", PORT: "0" }, /^error: DATABASE_URL: is not a valid URL/),
);

t.test("DATABASE_URL with another scheme", (t) =>
  failsWith(t, { DATABASE_URL: "mysql://u:p@localhost/db", PORT: "0" }, /^error: DATABASE_URL: must start with postgres:\/\//),
);

t.test("non-numeric PORT", (t) => failsWith(t, { PORT: "eighty" }, /^error: PORT: expected an integer/));

t.test("HASURA_GRAPHQL_SERVER_WORKERS out of range", (t) =>
  failsWith(
    t,
    { HASURA_GRAPHQL_SERVER_WORKERS: "0", PORT: "0" },
    /^error: HASURA_GRAPHQL_SERVER_WORKERS: must be between 1 and 64, got 0$/,
  ),
);

t.test("unreachable database", async (t) => {
  const port = await freePort();
  await failsWith(
    t,
    { DATABASE_URL: `postgres://authenticator:x@127.0.0.1:${port}/app`, PORT: "0" },
    /^error: database unreachable \(DATABASE_URL\): ECONNREFUSED/,
  );
});

t.test("wrong password", async (t) => {
  const db = await createTestDatabase(t);
  const url = new URL(db.runtimeUrl);
  url.password = "wrong";
  await failsWith(t, { DATABASE_URL: url.toString(), PORT: "0" }, /^error: database refused the login/);
});

t.test("a DATABASE_LISTEN_URL that refuses the login names that setting", async (t) => {
  const db = await createTestDatabase(t);
  const listen = new URL(db.runtimeUrl);
  listen.password = "wrong";
  await failsWith(
    t,
    { DATABASE_URL: db.runtimeUrl, DATABASE_LISTEN_URL: listen.toString(), PORT: "0" },
    /^error: database refused the login \(DATABASE_LISTEN_URL\)/,
  );
});

t.test("port in use", async (t) => {
  const db = await createTestDatabase(t);
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
  t.teardown(() => blocker.close());
  const { port } = blocker.address() as { port: number };
  await failsWith(t, { DATABASE_URL: db.runtimeUrl, PORT: String(port) }, new RegExp(`^error: PORT: ${port} is already in use`));
});

t.test("unknown unauthorized role name", async (t) => {
  const db = await createTestDatabase(t);
  await failsWith(
    t,
    { DATABASE_URL: db.runtimeUrl, PORT: "0", ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_UNAUTHORIZED_ROLE: "visitor" },
    /^error: HASURA_GRAPHQL_UNAUTHORIZED_ROLE: "visitor" is not an application role/,
  );
});

t.test("a real Postgres role that is not an application role", async (t) => {
  const db = await createTestDatabase(t);
  await failsWith(
    t,
    { DATABASE_URL: db.runtimeUrl, PORT: "0", ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_UNAUTHORIZED_ROLE: "postgres" },
    /^error: HASURA_GRAPHQL_UNAUTHORIZED_ROLE: "postgres" is not an application role/,
  );
});

t.test("refuses a superuser runtime connection", async (t) => {
  const db = await createTestDatabase(t);
  await failsWith(t, { DATABASE_URL: superuserUrl(db.name), PORT: "0" }, /^error: DATABASE_URL connects as "postgres", a superuser/);
});

t.test("refuses a BYPASSRLS runtime connection", async (t) => {
  const db = await createTestDatabase(t);
  const role = `bypass_${db.name}`;
  await db.asRoot(`create role ${role} login bypassrls password 'pw'`);
  await db.asRoot(`grant connect on database ${db.name} to ${role}`);
  t.teardown(() => db.asRoot(`drop owned by ${role}; drop role ${role}`).catch(() => {}));
  await failsWith(
    t,
    { DATABASE_URL: clusterUrl(role, "pw", db.name), PORT: "0" },
    new RegExp(`^error: DATABASE_URL connects as "${role}", which has BYPASSRLS`),
  );
});

t.test("the runtime role is neither superuser nor BYPASSRLS, and inherits nothing", async (t) => {
  const db = await createTestDatabase(t);
  const client = new pg.Client({ connectionString: db.runtimeUrl });
  await client.connect();
  t.teardown(() => client.end());
  const { rows } = await client.query(
    "select rolsuper, rolbypassrls, rolinherit, rolcreaterole, rolcreatedb from pg_roles where rolname = current_user",
  );
  t.same(rows[0], { rolsuper: false, rolbypassrls: false, rolinherit: false, rolcreaterole: false, rolcreatedb: false });
  // NOINHERIT: without SET ROLE it cannot read application tables.
  await t.rejects(client.query('select login from public."user"'), { code: "42501" });
});

// Hasura's start-up matrix (compat facts §1.1).
const HS = JSON.stringify({ type: "HS256", key: "0123456789abcdef0123456789abcdef" });
const authCases: Array<[string, Record<string, string>, RegExp]> = [
  [
    "production without an admin secret",
    { NODE_ENV: "production" },
    /^error: HASURA_GRAPHQL_ADMIN_SECRET: is required when NODE_ENV=production/,
  ],
  [
    "JWT secret without an admin secret",
    { HASURA_GRAPHQL_JWT_SECRET: HS },
    /^error: HASURA_GRAPHQL_JWT_SECRET: requires HASURA_GRAPHQL_ADMIN_SECRET/,
  ],
  [
    "auth hook without an admin secret",
    { HASURA_GRAPHQL_AUTH_HOOK: "http://127.0.0.1:1/hook" },
    /^error: HASURA_GRAPHQL_AUTH_HOOK: requires HASURA_GRAPHQL_ADMIN_SECRET/,
  ],
  [
    "unauthorized role without an admin secret",
    { HASURA_GRAPHQL_UNAUTHORIZED_ROLE: "anonymous" },
    /^error: HASURA_GRAPHQL_UNAUTHORIZED_ROLE: requires HASURA_GRAPHQL_ADMIN_SECRET/,
  ],
  [
    "JWT and webhook together",
    { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWT_SECRET: HS, HASURA_GRAPHQL_AUTH_HOOK: "http://127.0.0.1:1/hook" },
    /^error: HASURA_GRAPHQL_AUTH_HOOK: Both webhook and JWT mode cannot be enabled at the same time/,
  ],
  [
    "unauthorized role with a webhook",
    { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_AUTH_HOOK: "http://127.0.0.1:1/hook", HASURA_GRAPHQL_UNAUTHORIZED_ROLE: "anonymous" },
    /^error: HASURA_GRAPHQL_UNAUTHORIZED_ROLE: is not allowed with HASURA_GRAPHQL_AUTH_HOOK/,
  ],
  [
    "JWT secret that is not JSON",
    { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWT_SECRET: "{nope" },
    /^error: HASURA_GRAPHQL_JWT_SECRET: is not valid JSON/,
  ],
  [
    "unsupported key type",
    { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ type: "XX256", key: "k" }) },
    /Invalid JWK: Key type: XX256 is not supported/,
  ],
  [
    "key and jwk_url together",
    {
      ...ADMIN_SECRET_ENV,
      HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ type: "HS256", key: "0123456789abcdef0123456789abcdef", jwk_url: "http://x/jwks" }),
    },
    /key, jwk_url both cannot be present/,
  ],
  [
    "short HMAC key",
    { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ type: "HS256", key: "short" }) },
    /at least 32 characters/,
  ],
  [
    "RSA type with a non-PEM key",
    { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ type: "RS256", key: "not a pem" }) },
    /^error: HASURA_GRAPHQL_JWT_SECRET: "key" is not a RS256 public key/,
  ],
  [
    "claims_map without the role claims",
    {
      ...ADMIN_SECRET_ENV,
      HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({
        type: "HS256",
        key: "0123456789abcdef0123456789abcdef",
        claims_map: { "x-hasura-user-id": { path: "$.sub" } },
      }),
    },
    /x-hasura-allowed-roles is expected but not found/,
  ],
  [
    "unreachable JWKS at start",
    { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ jwk_url: "http://127.0.0.1:1/jwks.json" }) },
    /^error: HASURA_GRAPHQL_JWT_SECRET: Error fetching JWK/,
  ],
  [
    "bad hook mode",
    { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_AUTH_HOOK: "http://127.0.0.1:1/hook", HASURA_GRAPHQL_AUTH_HOOK_MODE: "PUT" },
    /^error: HASURA_GRAPHQL_AUTH_HOOK_MODE: must be GET or POST/,
  ],
];
for (const [name, env, pattern] of authCases) {
  t.test(`auth configuration: ${name}`, async (t) => {
    const db = await createTestDatabase(t);
    await failsWith(t, { DATABASE_URL: db.runtimeUrl, PORT: "0", ...env }, pattern);
  });
}
