/**
 * Authentication settings refused at start-up: one line naming the variable,
 * exit code 1 (as test/startup/config-errors.test.ts checks for the rest).
 */
import t from "tap";
import { loadConfig } from "../../server/config.ts";
import { errorLines, startMain } from "../helpers/process.ts";
import { ADMIN_SECRET_ENV, PRODUCTION } from "../helpers/secured.ts";

// Never reached: the configuration is refused first.
const BASE = { DATABASE_URL: "postgres://authenticator@127.0.0.1:1/app", PORT: "0", ...ADMIN_SECRET_ENV };

t.test("an http:// jwk_url is refused in production", async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [
      { HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ jwk_url: "http://idp.example/.well-known/jwks.json" }) },
      /^error: HASURA_GRAPHQL_JWT_SECRET: "jwk_url" must use https:\/\/ when NODE_ENV=production/,
    ],
    [
      {
        HASURA_GRAPHQL_JWT_SECRETS: JSON.stringify([
          { type: "HS256", key: "0123456789abcdef0123456789abcdef" },
          { jwk_url: "HTTP://127.0.0.1:9/jwks" },
        ]),
      },
      /^error: HASURA_GRAPHQL_JWT_SECRETS\[1\]: "jwk_url" must use https:\/\//,
    ],
  ];
  for (const [env, pattern] of cases) {
    const proc = startMain({ ...BASE, ...PRODUCTION, ...env });
    const { code } = await proc.exited;
    t.equal(code, 1, "exits non-zero");
    const lines = errorLines(proc.output());
    t.equal(lines.length, 1, `exactly one error line in:\n${proc.output()}`);
    t.match(lines[0], pattern);
  }
});

t.test("http:// jwk_url stays allowed outside production; https:// everywhere", async (t) => {
  const secret = (url: string) => JSON.stringify({ jwk_url: url });
  t.equal(
    loadConfig({ ...BASE, HASURA_GRAPHQL_JWT_SECRET: secret("http://127.0.0.1:9/jwks") }).auth.jwtSecrets[0]!.jwkUrl,
    "http://127.0.0.1:9/jwks",
  );
  const prod = loadConfig({ ...BASE, ...PRODUCTION, HASURA_GRAPHQL_JWT_SECRET: secret("https://idp.example/jwks") });
  t.equal(prod.auth.jwtSecrets[0]!.jwkUrl, "https://idp.example/jwks");
});

t.test("a token without exp is reused for 60 s by default, at most 600 s", async (t) => {
  t.equal(loadConfig(BASE).auth.noExpTokenCacheMs, 60_000);
  t.equal(loadConfig({ ...BASE, HASURA_GRAPHQL_JWT_NO_EXP_CACHE_SECONDS: "0" }).auth.noExpTokenCacheMs, 0);
  t.throws(() => loadConfig({ ...BASE, HASURA_GRAPHQL_JWT_NO_EXP_CACHE_SECONDS: "601" }), /HASURA_GRAPHQL_JWT_NO_EXP_CACHE_SECONDS/);
});
