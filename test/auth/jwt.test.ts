/**
 * JWT mode with an HS256 secret (plus variants of the secret's options):
 * every bad token is refused with Hasura's status and code and touches no
 * row; good tokens reach Postgres as role + hasura.user + request.jwt.claims.
 */
import { createHmac } from "node:crypto";
import { generateKeyPair, SignJWT } from "jose";
import t, { type Test } from "tap";
import { expectRejected, whoami } from "../helpers/auth-cases.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { installProbe, WRITE } from "../helpers/probe.ts";
import { ADMIN, ADMIN_SECRET, ADMIN_SECRET_ENV, SECURED } from "../helpers/secured.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { hasuraClaims, HS_JWT_SECRET, HS_KEY, NS, rsaKeys, sign } from "../helpers/tokens.ts";

const now = () => Math.floor(Date.now() / 1000);

async function jwtServer(t: Tap, secret: Record<string, unknown>, extraEnv: Record<string, string> = {}): Promise<TestServer> {
  const db = await createTestDatabase(t);
  await installProbe(db);
  return startServer(t, {
    db,
    env: { ...SECURED, HASURA_GRAPHQL_JWT_SECRET: JSON.stringify(secret), ...extraEnv },
  });
}
type Tap = Test;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

t.test("HS256 secret", async (t) => {
  const srv = await jwtServer(t, { type: "HS256", key: HS_KEY });
  const rs = await rsaKeys();

  t.test("valid token: role, session variables and claims reach Postgres", async (t) => {
    const token = await sign(hasuraClaims("user", { "x-hasura-user-id": "42", "X-Hasura-Org-Id": "7" }, ["user", "admin"]));
    const seen = await whoami(srv, bearer(token));
    t.equal(seen.role, "user");
    t.same(seen.hasura_user, { "x-hasura-user-id": "42", "x-hasura-org-id": "7", "x-hasura-role": "user" });
    t.same((seen.claims as Record<string, Record<string, unknown>>)[NS]!["x-hasura-user-id"], "42");
  });

  t.test("the Bearer scheme is case-insensitive (RFC 7235, RFC 6750)", async (t) => {
    const token = await sign(hasuraClaims("user", { "x-hasura-user-id": "42" }));
    for (const scheme of ["bearer", "BEARER", "bEaReR"]) {
      const seen = await whoami(srv, { authorization: `${scheme} ${token}` });
      t.equal(seen.role, "user", scheme);
      t.equal(seen.hasura_user["x-hasura-user-id"], "42", scheme);
    }
  });

  t.test("X-Hasura-Role picks another allowed role", async (t) => {
    const token = await sign(hasuraClaims("user", {}, ["user", "admin"]));
    t.equal((await whoami(srv, { ...bearer(token), "X-Hasura-Role": "admin" })).role, "admin");
  });

  t.test("X-Hasura-User-Id from the client is ignored without the admin secret", async (t) => {
    const token = await sign(hasuraClaims("user", { "x-hasura-user-id": "1" }));
    const seen = await whoami(srv, { ...bearer(token), "x-hasura-user-id": "2", "x-hasura-campus": "{evil}" });
    t.equal(seen.hasura_user["x-hasura-user-id"], "1");
    t.notOk("x-hasura-campus" in seen.hasura_user);
  });

  t.test("session values with quotes, semicolons and unicode are stored verbatim", async (t) => {
    const nasty = `o'brien"; drop table "user"; -- ✓ 日本 \\ $$`;
    const token = await sign(hasuraClaims("user", { "x-hasura-user-id": nasty }));
    t.equal((await whoami(srv, bearer(token))).hasura_user["x-hasura-user-id"], nasty);
    const [{ n }] = (await srv.db.asRoot<{ n: number }>(`select count(*)::int as n from public."user"`)) as [{ n: number }];
    t.ok(n > 0, "the user table is still there");
  });

  t.test("no token: the unauthorized role, client headers ignored", async (t) => {
    const seen = await whoami(srv, { "x-hasura-role": "admin", "x-hasura-user-id": "1" });
    t.equal(seen.role, "anonymous");
    t.same(seen.hasura_user, { "x-hasura-role": "anonymous" });
  });

  t.test("a reused token is verified once (cache) and still expires", async (t) => {
    const token = await sign({ ...hasuraClaims("user"), exp: now() + 2 });
    t.equal((await whoami(srv, bearer(token))).role, "user");
    t.equal((await whoami(srv, bearer(token))).role, "user");
    await new Promise((r) => setTimeout(r, 2_100));
    await expectRejected(t, srv, bearer(token), 400, "invalid-jwt", /JWTExpired/);
  });

  const bad: Array<[string, () => Promise<Record<string, string>>, number, string, RegExp]> = [
    [
      "expired",
      async () => bearer(await sign({ ...hasuraClaims("user"), exp: now() - 60 })),
      400,
      "invalid-jwt",
      /^Could not verify JWT: JWTExpired$/,
    ],
    [
      "not yet valid (nbf)",
      async () => bearer(await sign({ ...hasuraClaims("user"), nbf: now() + 600 })),
      400,
      "invalid-jwt",
      /JWTNotYetValid/,
    ],
    [
      "issued in the future (iat)",
      async () => bearer(await sign({ ...hasuraClaims("user"), iat: now() + 600 })),
      400,
      "invalid-jwt",
      /JWTIssuedAtFuture/,
    ],
    [
      "bad signature",
      async () => bearer(await sign(hasuraClaims("user"), { key: new TextEncoder().encode("another-secret-another-secret-xx") })),
      400,
      "invalid-jwt",
      /JWSInvalidSignature/,
    ],
    [
      "tampered payload",
      async () => {
        const [h, , s] = (await sign(hasuraClaims("user"))).split(".");
        const p = Buffer.from(JSON.stringify(hasuraClaims("admin", {}, ["admin"]))).toString("base64url");
        return bearer(`${h}.${p}.${s}`);
      },
      400,
      "invalid-jwt",
      /JWSInvalidSignature/,
    ],
    [
      "alg none",
      async () => {
        const h = Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url");
        const p = Buffer.from(JSON.stringify({ ...hasuraClaims("admin", {}, ["admin"]), exp: now() + 60 })).toString("base64url");
        return bearer(`${h}.${p}.`);
      },
      400,
      "invalid-jwt",
      /Could not verify JWT/,
    ],
    [
      "RS256 token against an HMAC secret",
      async () => bearer(await sign(hasuraClaims("user"), { alg: "RS256", key: rs.privateKey })),
      400,
      "invalid-jwt",
      /JWSInvalidSignature/,
    ],
    [
      "HS512 token against an HS256 secret",
      async () => bearer(await sign(hasuraClaims("user"), { alg: "HS512" })),
      400,
      "invalid-jwt",
      /JWSInvalidSignature/,
    ],
    [
      "unknown crit header",
      async () => {
        // jose refuses to sign an unknown crit header, so sign it by hand.
        const h = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT", crit: ["x-unknown"], "x-unknown": 1 })).toString("base64url");
        const p = Buffer.from(JSON.stringify({ ...hasuraClaims("user"), exp: now() + 60 })).toString("base64url");
        const sig = createHmac("sha256", HS_KEY).update(`${h}.${p}`).digest("base64url");
        return bearer(`${h}.${p}.${sig}`);
      },
      400,
      "invalid-jwt",
      /Could not verify JWT/,
    ],
    [
      "claims namespace missing",
      async () => bearer(await sign({ sub: "1" })),
      400,
      "jwt-invalid-claims",
      /claims key: 'https:\/\/hasura.io\/jwt\/claims' not found/,
    ],
    ["namespace not an object", async () => bearer(await sign({ [NS]: "nope" })), 400, "jwt-invalid-claims", /expecting a json object/],
    [
      "default role missing",
      async () => bearer(await sign({ [NS]: { "x-hasura-allowed-roles": ["user"] } })),
      400,
      "jwt-missing-role-claims",
      /x-hasura-default-role/,
    ],
    [
      "allowed roles missing",
      async () => bearer(await sign({ [NS]: { "x-hasura-default-role": "user" } })),
      400,
      "jwt-missing-role-claims",
      /x-hasura-allowed-roles/,
    ],
    [
      "allowed roles not a list",
      async () => bearer(await sign(hasuraClaims("user", {}, "user"))),
      400,
      "jwt-invalid-claims",
      /should be a list of roles/,
    ],
    [
      "default role not a string",
      async () => bearer(await sign({ [NS]: { "x-hasura-default-role": 1, "x-hasura-allowed-roles": ["user"] } })),
      400,
      "jwt-invalid-claims",
      /x-hasura-default-role/,
    ],
    [
      "numeric session claim",
      async () => bearer(await sign(hasuraClaims("user", { "x-hasura-user-id": 1 }))),
      400,
      "jwt-invalid-claims",
      /expected String, but encountered Number/,
    ],
    [
      "role header not in allowed roles",
      async () => ({ ...bearer(await sign(hasuraClaims("user"))), "x-hasura-role": "admin" }),
      400,
      "access-denied",
      /^Your requested role is not in allowed roles$/,
    ],
    [
      "default role not in allowed roles",
      async () => bearer(await sign(hasuraClaims("admin", {}, ["user"]))),
      400,
      "access-denied",
      /not in allowed roles/,
    ],
    [
      "allowed role that is a real Postgres role (postgres)",
      async () => ({ ...bearer(await sign(hasuraClaims("user", {}, ["user", "postgres"]))), "x-hasura-role": "postgres" }),
      400,
      "access-denied",
      /not an application role/,
    ],
    [
      "allowed role that is the authenticator",
      async () => ({ ...bearer(await sign(hasuraClaims("authenticator", {}, ["authenticator"]))) }),
      400,
      "access-denied",
      /not an application role/,
    ],
    [
      "allowed role that is the owner",
      async () => bearer(await sign(hasuraClaims("app_owner", {}, ["app_owner"]))),
      400,
      "access-denied",
      /not an application role/,
    ],
    [
      "pg_* role",
      async () => bearer(await sign(hasuraClaims("pg_read_all_data", {}, ["pg_read_all_data"]))),
      400,
      "access-denied",
      /not an application role/,
    ],
    [
      "role name with a quote",
      async () => bearer(await sign(hasuraClaims('user"; reset role; --', {}, ['user"; reset role; --']))),
      400,
      "access-denied",
      /not an application role/,
    ],
    ["malformed base64", async () => bearer("eyJhbGciOiJIUzI1NiJ9.!!!notbase64!!!.abc"), 400, "invalid-jwt", /CompactDecodeError/],
    ["three-part garbage", async () => bearer("aaaa.bbbb.cccc"), 400, "invalid-jwt", /Could not verify JWT/],
    ["one part", async () => bearer("justonepart"), 400, "invalid-jwt", /Expected 3 parts; got 1/],
    [
      "oversized token",
      async () => bearer(await sign(hasuraClaims("user", { "x-hasura-pad": "x".repeat(9000) }))),
      400,
      "invalid-jwt",
      /larger than/,
    ],
    [
      "Authorization not Bearer",
      async () => ({ authorization: `Basic ${Buffer.from("a:b").toString("base64")}` }),
      400,
      "invalid-headers",
      /^Malformed Authorization header$/,
    ],
    [
      "a scheme other than Bearer in any case",
      async () => ({ authorization: `BEARERX ${await sign(hasuraClaims("user"))}` }),
      400,
      "invalid-headers",
      /^Malformed Authorization header$/,
    ],
    ["Bearer without a token", async () => ({ authorization: "Bearer" }), 400, "invalid-headers", /Malformed Authorization header/],
    [
      "wrong admin secret",
      async () => ({ "x-hasura-admin-secret": "wrong" }),
      401,
      "access-denied",
      /^invalid x-hasura-admin-secret\/x-hasura-access-key$/,
    ],
    ["wrong legacy access key", async () => ({ "x-hasura-access-key": "wrong" }), 401, "access-denied", /invalid x-hasura-admin-secret/],
    [
      "wrong admin secret even with a valid token",
      async () => ({ ...bearer(await sign(hasuraClaims("user"))), "x-hasura-admin-secret": "nope" }),
      401,
      "access-denied",
      /invalid x-hasura-admin-secret/,
    ],
  ];
  for (const [name, headers, status, code, message] of bad) {
    t.test(`rejects: ${name}`, async (t) => expectRejected(t, srv, await headers(), status, code, message));
  }

  t.test("a 10 kB role name is not echoed back in full", async (t) => {
    const role = "r".repeat(10_000);
    const attempts: Array<Record<string, string>> = [
      { ...ADMIN, "x-hasura-role": role },
      { ...bearer(await sign(hasuraClaims("user"))), "x-hasura-role": role },
    ];
    for (const headers of attempts) {
      const res = await srv.gql(WRITE, { headers });
      const message: string = res.body.errors[0].message;
      t.equal(res.body.errors[0].extensions.code, "access-denied");
      t.ok(message.length <= 150, `a short message (${message.length} characters)`);
      t.notOk(res.body.data);
    }
    const res = await srv.gql(WRITE, { headers: { ...ADMIN, "x-hasura-role": role } });
    t.equal(res.body.errors[0].message, `role "${"r".repeat(100)}…" is not an application role`);
  });

  t.test("admin secret: admin, and may impersonate a role with session headers", async (t) => {
    t.equal((await whoami(srv, ADMIN)).role, "admin");
    const seen = await whoami(srv, { "X-Hasura-Access-Key": ADMIN_SECRET, "x-hasura-role": "user", "X-Hasura-User-Id": "5" });
    t.equal(seen.role, "user");
    t.same(seen.hasura_user, { "x-hasura-user-id": "5", "x-hasura-role": "user" });
  });
});

t.test("no unauthorized role: a request without a token is an error", async (t) => {
  const db = await createTestDatabase(t);
  const srv = await startServer(t, {
    db,
    env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWT_SECRET: HS_JWT_SECRET },
  });
  await expectRejected(t, srv, {}, 400, "invalid-headers", /^Missing 'Authorization' or 'Cookie' header in JWT authentication mode$/);
});

t.test("admin-secret-only mode without an unauthorized role", async (t) => {
  const srv = await startServer(t, { env: ADMIN_SECRET_ENV });
  await expectRejected(t, srv, {}, 401, "access-denied", /^x-hasura-admin-secret\/x-hasura-access-key required, but not found$/);
});

t.test("allowed_skew, audience and issuer", async (t) => {
  const srv = await jwtServer(t, {
    type: "HS256",
    key: HS_KEY,
    allowed_skew: 60,
    audience: ["myapp-1234", "myapp-9876"],
    issuer: "https://issuer.example",
  });
  const ok = { aud: "myapp-9876", iss: "https://issuer.example" };
  t.equal(
    (await whoami(srv, bearer(await sign({ ...hasuraClaims("user"), ...ok, exp: now() - 30 })))).role,
    "user",
    "expired 30s ago, within skew",
  );
  await expectRejected(t, srv, bearer(await sign({ ...hasuraClaims("user"), ...ok, exp: now() - 90 })), 400, "invalid-jwt", /JWTExpired/);
  await expectRejected(
    t,
    srv,
    bearer(await sign({ ...hasuraClaims("user"), ...ok, aud: "rubbish_audience" })),
    400,
    "invalid-jwt",
    /JWTNotInAudience/,
  );
  await expectRejected(
    t,
    srv,
    bearer(await sign({ ...hasuraClaims("user"), ...ok, iss: "rubbish_issuer" })),
    400,
    "invalid-jwt",
    /JWTNotInIssuer/,
  );
});

t.test("Auth0-style RS256 token with the hasura.io namespace (seed 002)", async (t) => {
  const keys = await rsaKeys();
  const srv = await jwtServer(t, {
    type: "RS256",
    key: keys.pem,
    audience: "https://auth0-hasura-demo",
    issuer: "https://demo.auth0.com/",
  });
  const token = await new SignJWT({ ...hasuraClaims("user", { "x-hasura-user-id": "auth0|5b0e" }, ["user", "anonymous"]) })
    .setProtectedHeader({ alg: "RS256", kid: "auth0-key" })
    .setIssuer("https://demo.auth0.com/")
    .setAudience("https://auth0-hasura-demo")
    .setSubject("auth0|5b0e")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(keys.privateKey);
  const seen = await whoami(srv, { ...bearer(token), "X-Hasura-Role": "user" });
  t.equal(seen.role, "user");
  t.equal(seen.hasura_user["x-hasura-user-id"], "auth0|5b0e");
  await expectRejected(t, srv, bearer(await sign(hasuraClaims("user"))), 400, "invalid-jwt", /JWSInvalidSignature/);
});

t.test("ES256 and EdDSA keys", async (t) => {
  for (const alg of ["ES256", "EdDSA"]) {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const { exportSPKI } = await import("jose");
    const srv = await jwtServer(t, { type: alg === "EdDSA" ? "Ed25519" : alg, key: await exportSPKI(publicKey) });
    t.equal((await whoami(srv, bearer(await sign(hasuraClaims("user"), { alg, key: privateKey })))).role, "user", alg);
    await expectRejected(t, srv, bearer(await sign(hasuraClaims("user"))), 400, "invalid-jwt", /JWSInvalidSignature/);
  }
});

t.test("claims_format stringified_json", async (t) => {
  const srv = await jwtServer(t, { type: "HS256", key: HS_KEY, claims_format: "stringified_json" });
  const claims = hasuraClaims("user", { "x-hasura-user-id": "3" })[NS];
  t.equal((await whoami(srv, bearer(await sign({ [NS]: JSON.stringify(claims) })))).hasura_user["x-hasura-user-id"], "3");
  await expectRejected(
    t,
    srv,
    bearer(await sign({ [NS]: claims })),
    400,
    "jwt-invalid-claims",
    /expecting a string when claims_format is stringified_json/,
  );
  const long = await srv.gql("{ whoami }", { headers: bearer(await sign({ [NS]: `{${"x".repeat(5_000)}` })) });
  t.equal(long.body.errors[0].extensions.code, "jwt-invalid-claims");
  t.ok(long.body.errors[0].message.length < 250, `the claim value is truncated (${long.body.errors[0].message.length} characters)`);
  t.match(long.body.errors[0].message, /x…$/);
});

t.test("claims_namespace_path", async (t) => {
  const srv = await jwtServer(t, { type: "HS256", key: HS_KEY, claims_namespace_path: "$.hasura['claims%']" });
  const claims = hasuraClaims("user", { "x-hasura-user-id": "4" })[NS];
  t.equal((await whoami(srv, bearer(await sign({ hasura: { "claims%": claims } })))).hasura_user["x-hasura-user-id"], "4");
  await expectRejected(t, srv, bearer(await sign({ hasura: {} })), 400, "jwt-invalid-claims", /claims not found at claims_namespace_path/);
});

t.test("claims_map with paths, defaults and literals", async (t) => {
  const srv = await jwtServer(t, {
    type: "HS256",
    key: HS_KEY,
    claims_map: {
      "x-hasura-allowed-roles": { path: "$['https://myapp.com/jwt/claims'].role.allowed" },
      "x-hasura-default-role": { path: "$['https://myapp.com/jwt/claims'].role.default" },
      "x-hasura-user-id": { path: "$['https://myapp.com/jwt/claims'].user.id" },
      "x-hasura-org-id": { path: "$.org", default: "none" },
    },
  });
  const ns = "https://myapp.com/jwt/claims";
  const seen = await whoami(srv, bearer(await sign({ [ns]: { user: { id: "9" }, role: { allowed: ["user"], default: "user" } } })));
  t.same(seen.hasura_user, { "x-hasura-user-id": "9", "x-hasura-org-id": "none", "x-hasura-role": "user" });
  await expectRejected(
    t,
    srv,
    bearer(await sign({ [ns]: { role: { allowed: ["user"], default: "user" } } })),
    400,
    "jwt-invalid-claims",
    /^JWT claim from claims_map, x-hasura-user-id not found$/,
  );
});

t.test("token in a cookie", async (t) => {
  const srv = await jwtServer(t, { type: "HS256", key: HS_KEY, header: { type: "Cookie", name: "hasura_user" } });
  const token = await sign(hasuraClaims("user"));
  t.equal((await whoami(srv, { cookie: `other=1; hasura_user=${token}` })).role, "user");
  t.equal((await whoami(srv, { cookie: "other=1", authorization: `Bearer ${token}` })).role, "anonymous", "Authorization is not read");
  await expectRejected(t, srv, { cookie: "hasura_user=garbage" }, 400, "invalid-jwt", /Expected 3 parts/);
});

t.test("token in a custom header", async (t) => {
  const srv = await jwtServer(t, { type: "HS256", key: HS_KEY, header: { type: "CustomHeader", name: "hasura_user" } });
  const token = await sign(hasuraClaims("user"));
  t.equal((await whoami(srv, { hasura_user: token })).role, "user");
  await expectRejected(t, srv, { hasura_user: `Bearer ${token}` }, 400, "invalid-jwt", /Could not verify JWT/);
});

t.test("several secrets (HASURA_GRAPHQL_JWT_SECRETS) chosen by issuer", async (t) => {
  const db = await createTestDatabase(t);
  await installProbe(db);
  const other = "second-hmac-secret-0123456789abcdef012345";
  const srv = await startServer(t, {
    db,
    env: {
      ...ADMIN_SECRET_ENV,
      HASURA_GRAPHQL_JWT_SECRETS: JSON.stringify([
        { type: "HS256", key: HS_KEY, issuer: "one" },
        { type: "HS256", key: other, issuer: "two" },
      ]),
    },
  });
  t.equal((await whoami(srv, bearer(await sign({ ...hasuraClaims("user"), iss: "one" })))).role, "user");
  const two = await sign({ ...hasuraClaims("user"), iss: "two" }, { key: new TextEncoder().encode(other) });
  t.equal((await whoami(srv, bearer(two))).role, "user");
  await expectRejected(t, srv, bearer(await sign({ ...hasuraClaims("user"), iss: "three" })), 400, "invalid-jwt", /JWTNotInIssuer/);
});
