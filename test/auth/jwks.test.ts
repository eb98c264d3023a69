/**
 * JWKS (jwk_url): keys fetched at start and cached, refreshed on an unknown
 * kid (rate-limited) and when the cache headers say, kept through an outage.
 */
import { SignJWT } from "jose";
import t, { type Test } from "tap";
import { expectRejected, whoami } from "../helpers/auth-cases.ts";
import { createTestDatabase } from "../helpers/pg.ts";
import { installProbe } from "../helpers/probe.ts";
import { ADMIN_SECRET_ENV } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { hasuraClaims, jwksServer, rsaKeys, sign } from "../helpers/tokens.ts";

async function rs256(privateKey: CryptoKey, kid: string, role = "user") {
  return new SignJWT(hasuraClaims(role)).setProtectedHeader({ alg: "RS256", kid }).setIssuedAt().setExpirationTime("1h").sign(privateKey);
}

const bearer = (tok: string) => ({ authorization: `Bearer ${tok}` });

/** A local JWKS provider serving `keys`, and a server (admin secret + jwk_url) on a probed database. */
async function jwksAndServer(t: Test, keys: Array<Record<string, unknown>>, env: Record<string, string>) {
  const jwks = await jwksServer(keys);
  t.teardown(() => jwks.close());
  const db = await createTestDatabase(t);
  await installProbe(db);
  const srv = await startServer(t, {
    db,
    env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ jwk_url: jwks.url }), ...env },
  });
  return { jwks, srv };
}

t.test("rotation, unknown kids and outage", async (t) => {
  const k1 = await rsaKeys();
  const k2 = await rsaKeys();
  const { jwks, srv } = await jwksAndServer(t, [{ ...k1.jwk, kid: "k1", alg: "RS256", use: "sig" }], {
    HASURA_GRAPHQL_JWKS_MIN_REFRESH_SECONDS: "1",
  });
  t.equal(jwks.state.hits, 1, "fetched once at start");
  t.equal((await whoami(srv, bearer(await rs256(k1.privateKey, "k1")))).role, "user");
  t.equal(jwks.state.hits, 1, "served from the cache");

  // The provider rotates to k2: a token with the new kid triggers one refresh
  // (once the minimum interval since the last fetch has passed).
  await new Promise((r) => setTimeout(r, 1_100));
  jwks.state.keys = [{ ...k2.jwk, kid: "k2", alg: "RS256", use: "sig" }];
  t.equal((await whoami(srv, bearer(await rs256(k2.privateKey, "k2")))).role, "user", "new key picked up");
  t.equal(jwks.state.hits, 2);

  // A flood of random kids cannot hammer the provider.
  for (let i = 0; i < 20; i++) {
    const res = await srv.gql("{ whoami }", { headers: bearer(await rs256(k2.privateKey, `random-${i}`)) });
    t.equal(res.body.errors?.[0]?.extensions?.code, "invalid-jwt");
  }
  t.ok(jwks.state.hits <= 3, `at most one refresh per interval (hits=${jwks.state.hits})`);

  // Outage: the endpoint fails; cached keys keep working.
  jwks.state.fail = true;
  t.equal((await whoami(srv, bearer(await rs256(k2.privateKey, "k2")))).role, "user", "serving with cached keys");
  await expectRejected(t, srv, bearer(await rs256(k1.privateKey, "k1")), 400, "invalid-jwt", /NoUsableKeys|JWSInvalidSignature/);
  await expectRejected(t, srv, bearer(await sign(hasuraClaims("user"))), 400, "invalid-jwt", /Could not verify JWT/);
});

t.test("refresh when Cache-Control max-age expires", async (t) => {
  const k1 = await rsaKeys();
  const jwks = await jwksServer([{ ...k1.jwk, kid: "k1", alg: "RS256" }], { "cache-control": "max-age=1" });
  t.teardown(() => jwks.close());
  const db = await createTestDatabase(t);
  await installProbe(db);
  const srv = await startServer(t, {
    db,
    env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ jwk_url: jwks.url }) },
  });
  await new Promise((r) => setTimeout(r, 1_200));
  await whoami(srv, { authorization: `Bearer ${await rs256(k1.privateKey, "k1")}` });
  await new Promise((r) => setTimeout(r, 100));
  t.equal(jwks.state.hits, 2, "re-fetched after max-age passed");
});

t.test("a token without exp is reused only briefly: a key taken out of the JWKS stops accepting it", async (t) => {
  const k1 = await rsaKeys();
  const k2 = await rsaKeys();
  const { jwks, srv } = await jwksAndServer(t, [{ ...k1.jwk, kid: "k1", alg: "RS256" }], {
    HASURA_GRAPHQL_JWKS_MIN_REFRESH_SECONDS: "0",
    // Wide enough that the three requests below fit in it on a loaded CI runner (1 s did not).
    HASURA_GRAPHQL_JWT_NO_EXP_CACHE_SECONDS: "4",
  });
  const forever = await new SignJWT(hasuraClaims("user")).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuedAt().sign(k1.privateKey);
  t.equal((await whoami(srv, bearer(forever))).role, "user");

  // The provider drops k1; a k2 token makes the server fetch the new set.
  jwks.state.keys = [{ ...k2.jwk, kid: "k2", alg: "RS256" }];
  t.equal((await whoami(srv, bearer(await rs256(k2.privateKey, "k2")))).role, "user", "new key set fetched");
  t.equal((await whoami(srv, bearer(forever))).role, "user", "within the bound: the cached verification still serves");

  await new Promise((r) => setTimeout(r, 4_100));
  await expectRejected(t, srv, bearer(forever), 400, "invalid-jwt", /NoUsableKeys/);
});
