/**
 * Fuzzing the claims parser, role selection and the session-variable path
 * with fast-check (fixed seeds: a failure prints its seed and path).
 *
 * A. Unit (server/auth, thousands of runs): for arbitrary JSON payloads, the
 *    claims extraction of every claims configuration (namespace,
 *    stringified_json, namespace path, claims_map) either returns
 *    well-formed claims or throws a HasuraError (400), nothing else;
 *    chooseRole returns an allowed role or throws access-denied; header
 *    sessions never throw; toPgSettings round-trips every variable verbatim.
 * B. HTTP (200 runs): a JWT whose x-hasura-* values are hostile strings
 *    (quotes, backslashes, `;`, `--`, NUL, emoji, SQL), or the same as
 *    X-Hasura-* headers with the admin secret, and a random X-Hasura-Role:
 *    never a 5xx; a role that is not allowed or not an application role is
 *    access-denied; otherwise `hasura.user` (read back through the whoami
 *    probe) is exactly the values sent, and the request.jwt.claims the
 *    token's claims. NUL is data too: `json` keeps it (\u0000), but `jsonb`
 *    cannot hold it, so a policy reading hasura.session() fails that
 *    request with data-exception (never a 500, never other rows). After
 *    the runs the canary table and every table are still there, unchanged.
 */
import fc from "fast-check";
import net from "node:net";
import t from "tap";
import type { JwtSecretConfig } from "../../server/auth/auth-config.ts";
import { sessionFromTrustedHeaders } from "../../server/auth/authenticate.ts";
import { chooseRole, compileClaimsConfig } from "../../server/auth/claims.ts";
import { toPgSettings } from "../../server/auth/pg-settings.ts";
import { HasuraError } from "../../server/errors.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { appRoles, granteeList } from "../helpers/roles.ts";
import { canonical } from "../helpers/rows.ts";
import { ADMIN, ADMIN_SECRET, SECURED_JWT } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { NS, sign } from "../helpers/tokens.ts";
import { installProbes } from "./helpers-isolation.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 424242);
// B runs against this database; A only takes its role names.
const db = await createTestDatabase(t);
const APP_ROLES = await appRoles(db);

// ---------------------------------------------------------------------------
// Hostile strings.
// ---------------------------------------------------------------------------
const NASTY = [
  "'",
  '"',
  "\\",
  ";",
  "--",
  "/*",
  "*/",
  "\u0000",
  "a\u0000b",
  "😀",
  "𝕏",
  "é",
  "\u202e",
  "\n",
  "\r\n",
  "\t",
  "$$",
  "$1",
  "%s",
  "{}",
  "[]",
  "{a,b}",
  '["a"]',
  "null",
  "true",
  "0",
  "-1",
  "9223372036854775808",
  "\\u0000",
  "' or '1'='1",
  "'; drop table public.canary; --",
  '"); select pg_sleep(5); --',
  "1', false); select set_config('role', 'admin', false); --",
  "admin",
  "postgres",
];
/** Any string fast-check makes (full Unicode, no lone surrogates: a JWT is UTF-8), or pieces of the list above. */
const hostile = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ unit: "grapheme", maxLength: 16 }),
  fc.string({ unit: "binary", maxLength: 16 }).filter((s) => !/\p{Cs}/u.test(s)), // no lone surrogates
  fc.array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 4 })), { maxLength: 4 }).map((xs) => xs.join("")),
);
/** What an HTTP header value can carry: visible Latin-1, no surrounding whitespace (RFC 9110 OWS is trimmed). */
const headerSafe = fc
  .oneof(
    fc.constantFrom(...NASTY.filter((s) => /^[\x20-\x7e\xa0-\xff]*$/.test(s))),
    fc.string({
      unit: fc
        .integer({ min: 0x20, max: 0xff })
        .filter((c) => c < 0x7f || c >= 0xa0)
        .map((c) => String.fromCharCode(c)),
      maxLength: 16,
    }),
  )
  .map((s) => s.trim());
const varName = fc
  .string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-_".split("")), minLength: 1, maxLength: 10 })
  .map((s) => `x-hasura-${s}`)
  .filter(
    (n) =>
      !["x-hasura-role", "x-hasura-allowed-roles", "x-hasura-default-role", "x-hasura-admin-secret", "x-hasura-access-key"].includes(n),
  );

// ---------------------------------------------------------------------------
// A. The claims parser and role choice, as units.
// ---------------------------------------------------------------------------
const base = { claimsFormat: "json", allowedSkewSeconds: 0, header: { type: "Authorization" } } as const;
const CONFIGS: Array<[string, JwtSecretConfig]> = [
  ["namespace", { ...base, claimsNamespace: NS }],
  ["stringified_json", { ...base, claimsNamespace: NS, claimsFormat: "stringified_json" }],
  ["claims_namespace_path", { ...base, claimsNamespace: NS, claimsNamespacePath: "$.a['x%'].b" }],
  [
    "claims_map",
    {
      ...base,
      claimsNamespace: NS,
      claimsMap: {
        "x-hasura-allowed-roles": { path: "$.roles" },
        "x-hasura-default-role": { path: "$.role", default: "user" },
        "x-hasura-user-id": { path: "$.sub" },
        "x-hasura-org": "literal",
      },
    },
  ],
];

/** Payloads near the shapes the parser expects, with arbitrary JSON anywhere. */
const anyJson = fc.jsonValue({ maxDepth: 3 });
const claimsLike = fc.record(
  {
    "x-hasura-allowed-roles": fc.oneof(fc.array(hostile, { maxLength: 3 }), anyJson),
    "x-hasura-default-role": fc.oneof(hostile, anyJson),
    "X-Hasura-User-Id": fc.oneof(hostile, anyJson),
    "x-hasura-role": fc.oneof(hostile, anyJson),
    other: anyJson,
  },
  { requiredKeys: [] },
);
const wellFormed = fc
  .record({
    "x-hasura-allowed-roles": fc.array(hostile, { maxLength: 3 }),
    "x-hasura-default-role": hostile,
    vars: fc.dictionary(
      varName.map((n) => (n.length % 2 ? n.toUpperCase() : n)),
      hostile,
      { maxKeys: 3 },
    ),
  })
  .map(({ vars, ...roles }) => ({ ...roles, ...vars }));
const payloadArb = fc.oneof(
  anyJson,
  fc.record({
    [NS]: fc.oneof(
      wellFormed,
      wellFormed.map((c) => JSON.stringify(c)),
    ),
  }),
  fc.record({ a: fc.record({ "x%": fc.record({ b: wellFormed }) }) }),
  fc.record({ roles: fc.array(hostile, { maxLength: 3 }), sub: hostile }),
  fc.record(
    {
      [NS]: fc.oneof(
        claimsLike,
        claimsLike.map((c) => JSON.stringify(c)),
        anyJson,
      ),
      sub: fc.oneof(hostile, anyJson),
    },
    { requiredKeys: [] },
  ),
  fc.record({ a: fc.record({ "x%": fc.record({ b: claimsLike }, { requiredKeys: [] }) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
  fc.record(
    { roles: fc.oneof(fc.array(hostile), anyJson), role: fc.oneof(hostile, anyJson), sub: fc.oneof(hostile, anyJson) },
    { requiredKeys: [] },
  ),
);

t.test("A. claims extraction: well-formed claims or a HasuraError, for any payload", async (t) => {
  for (const [name, cfg] of CONFIGS) {
    const compiled = compileClaimsConfig(cfg);
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(payloadArb, (payload) => {
        const input = (typeof payload === "object" && payload !== null && !Array.isArray(payload) ? payload : { [NS]: payload }) as Record<
          string,
          unknown
        >;
        try {
          const c = compiled.extract(input);
          accepted++;
          return (
            Array.isArray(c.allowedRoles) &&
            c.allowedRoles.every((r) => typeof r === "string") &&
            typeof c.defaultRole === "string" &&
            Object.entries(c.variables).every(([k, v]) => k === k.toLowerCase() && k.startsWith("x-hasura-") && typeof v === "string") &&
            !("x-hasura-role" in c.variables)
          );
        } catch (e) {
          refused++;
          if (!(e instanceof HasuraError) || e.statusCode !== 400) throw new Error(`not a 400 HasuraError: ${String(e)}`);
          return true;
        }
      }),
      { seed: SEED, numRuns: 1500 },
    );
    t.ok(accepted > 0 && refused > 0, `${name}: both outcomes exercised (${accepted} accepted, ${refused} refused)`);
  }
});

t.test("A. session variables round-trip verbatim into hasura.user", async (t) => {
  const compiled = compileClaimsConfig(CONFIGS[0]![1]);
  fc.assert(
    fc.property(fc.dictionary(varName, hostile, { maxKeys: 5 }), fc.constantFrom(...APP_ROLES), (vars, role) => {
      const c = compiled.extract({ [NS]: { "x-hasura-default-role": role, "x-hasura-allowed-roles": [role], ...vars } });
      const chosen = chooseRole(undefined, c.allowedRoles, c.defaultRole);
      const settings = toPgSettings({ role: chosen, variables: c.variables, claims: null });
      if (canonical(JSON.parse(settings["hasura.user"]!)) !== canonical({ ...vars, "x-hasura-role": role })) return false;
      return settings.role === role && settings["request.jwt.claims"] === "";
    }),
    { seed: SEED, numRuns: 1000 },
  );
  t.pass("1000 runs");
});

t.test("A. chooseRole: an allowed role, or access-denied", async (t) => {
  fc.assert(
    fc.property(fc.option(hostile, { nil: undefined }), fc.array(hostile, { maxLength: 4 }), hostile, (requested, allowed, def) => {
      try {
        const role = chooseRole(requested, allowed, def);
        return allowed.includes(role) && role === (requested ? requested : def);
      } catch (e) {
        return e instanceof HasuraError && e.code === "access-denied" && e.statusCode === 400;
      }
    }),
    { seed: SEED, numRuns: 3000 },
  );
  t.pass("3000 runs");
});

t.test("A. sessions from trusted headers never throw and keep every value", async (t) => {
  const headerValue = fc.oneof(hostile, fc.array(hostile, { minLength: 1, maxLength: 3 }), fc.constant(undefined));
  fc.assert(
    fc.property(fc.dictionary(fc.oneof(varName, fc.string({ maxLength: 8 })), headerValue, { maxKeys: 6 }), (headers) => {
      const s = sessionFromTrustedHeaders(headers);
      const role = headers["x-hasura-role"];
      const first = Array.isArray(role) ? role[0] : role;
      if (s.role !== (first || "admin")) return false;
      for (const [k, v] of Object.entries(headers)) {
        if (!k.startsWith("x-hasura-") || k === "x-hasura-role" || v === undefined) continue;
        if (s.variables[k] !== (Array.isArray(v) ? v.join(",") : v)) return false;
      }
      return true;
    }),
    { seed: SEED, numRuns: 2000 },
  );
  t.pass("2000 runs");
});

// ---------------------------------------------------------------------------
// B. Through HTTP.
// ---------------------------------------------------------------------------
t.test("B. hostile claims, headers and roles through the server", async (t) => {
  await installProbes(db);
  await db.asOwner(`
    create table public.canary (id int primary key, note text not null);
    alter table public.canary enable row level security;
    create policy read_with_session on public.canary for select to ${granteeList(APP_ROLES)}
      using ((select hasura.session()) is not null);
    insert into public.canary values (1, 'still here'), (2, 'still here'), (3, 'still here');`);
  await db.asRoot(`grant select on public.canary to ${granteeList(APP_ROLES)}`);
  const inventory = () =>
    db.asRoot(`select (select count(*)::int from public.canary) as canary, (select count(*)::int from public."user") as users,
                      (select count(*)::int from public.transaction) as tx,
                      (select string_agg(tablename, ',' order by tablename) from pg_tables where schemaname = 'public') as tables`);
  const before = await inventory();
  const srv = await startServer(t, { db, env: SECURED_JWT });
  const QUERY = "{ whoami allCanaries { totalCount } }";
  const outcomes: Record<string, number> = {};
  const seen = (k: string) => (outcomes[k] = (outcomes[k] ?? 0) + 1);

  const caseArb = fc.record({
    viaJwt: fc.boolean(),
    role: fc.oneof({ arbitrary: fc.constantFrom(...APP_ROLES), weight: 3 }, { arbitrary: headerSafe, weight: 1 }),
    extraAllowed: fc.array(fc.oneof(headerSafe, fc.constantFrom("postgres", "app_owner", "admin")), { maxLength: 2 }),
    requested: fc.option(fc.oneof(fc.constantFrom(...APP_ROLES, "postgres", "authenticator"), headerSafe), { nil: undefined, freq: 2 }),
    jwtVars: fc.dictionary(
      varName,
      fc.oneof({ arbitrary: hostile, weight: 6 }, { arbitrary: fc.constantFrom("\u0000", "x\u0000'; --"), weight: 1 }),
      {
        maxKeys: 4,
      },
    ),
    headerVars: fc.dictionary(varName, headerSafe, { maxKeys: 4 }),
  });

  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      const headers: Record<string, string> = {};
      let vars: Record<string, string>;
      let role: string;
      let refused: boolean;
      let claims: Record<string, unknown> | null = null;
      if (c.viaJwt) {
        vars = c.jwtVars;
        claims = {
          [NS]: { "x-hasura-default-role": c.role, "x-hasura-allowed-roles": [c.role, ...c.extraAllowed], ...vars },
          iat: 1_700_000_000,
          exp: 4_000_000_000,
        };
        headers.authorization = `Bearer ${await sign(claims)}`;
        if (c.requested !== undefined) headers["x-hasura-role"] = c.requested;
        role = c.requested ? c.requested : c.role;
        refused = ![c.role, ...c.extraAllowed].includes(role) || !APP_ROLES.includes(role);
      } else {
        vars = c.headerVars;
        Object.assign(headers, vars, ADMIN);
        if (c.requested !== undefined) headers["x-hasura-role"] = c.requested;
        role = c.requested ? c.requested : "admin";
        refused = !APP_ROLES.includes(role);
      }
      const res = await srv.gql(QUERY, { headers });
      if (res.status >= 500) throw new Error(`HTTP ${res.status}: ${JSON.stringify(res.body)}`);
      if (refused) {
        seen("access-denied");
        return res.status === 400 && res.body.errors?.[0]?.extensions?.code === "access-denied" && res.body.data === undefined;
      }
      // Accepted: the probe shows exactly what was sent.
      const who = res.body.data?.whoami;
      if (!who) throw new Error(`no whoami: ${JSON.stringify(res.body)}`);
      if (canonical(who.hasura_user) !== canonical({ ...vars, "x-hasura-role": role }))
        throw new Error(`hasura.user ${JSON.stringify(who.hasura_user)}`);
      if (canonical(who.claims) !== canonical(claims)) throw new Error(`request.jwt.claims ${JSON.stringify(who.claims)}`);
      if (who.role !== role) throw new Error(`current_user ${who.role}`);
      const nul = Object.values(vars).some((v) => v.includes("\u0000"));
      if (nul) {
        // jsonb cannot hold \u0000: the policy reading hasura.session() fails the field.
        seen("nul: data-exception");
        return res.status === 200 && res.body.errors?.[0]?.extensions?.code === "data-exception" && res.body.data.allCanaries === null;
      }
      seen("accepted");
      return res.status === 200 && !res.body.errors && res.body.data.allCanaries.totalCount === 3;
    }),
    { seed: SEED, numRuns: Number(process.env.FUZZ_HTTP_RUNS ?? 200) },
  );
  t.comment(JSON.stringify(outcomes));
  t.pass("no 5xx; hasura.user and request.jwt.claims verbatim whenever accepted");
  t.ok(outcomes.accepted && outcomes["access-denied"] && outcomes["nul: data-exception"], "every outcome exercised");
  t.same(await inventory(), before, "canary, users, transactions and the list of tables unchanged");

  // NUL cannot even reach the server in a header: Node's HTTP parser answers 400.
  const { port } = new URL(srv.url);
  const raw = await new Promise<string>((resolve, reject) => {
    const sock = net.connect(Number(port), "127.0.0.1", () => {
      const body = JSON.stringify({ query: "{ whoami }" });
      sock.write(
        `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Hasura-Admin-Secret: ${ADMIN_SECRET}\r\n` +
          `X-Hasura-Role: us\u0000er\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    let out = "";
    sock.on("data", (d) => (out += d));
    sock.on("end", () => resolve(out));
    sock.on("error", reject);
  });
  t.match(raw, /^HTTP\/1\.1 400 /, "NUL in X-Hasura-Role: 400 from the HTTP parser");
});
