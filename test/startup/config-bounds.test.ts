/**
 * Every numeric setting is read by one rule (server/env-parse.ts): whole
 * numbers only, within a documented range, unset or empty meaning the
 * default. These settings had their own parsers before, which let a decimal
 * JWKS interval and an unbounded hook timeout through.
 */
import { expectConfigError } from "../helpers/config-errors.ts";
import t from "tap";
import { loadConfig } from "../../server/config.ts";
import { ADMIN_SECRET_ENV } from "../helpers/secured.ts";

const HOOK = { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_AUTH_HOOK: "http://127.0.0.1:1/hook" };

t.test("whole numbers within the range, for every numeric setting", async (t) => {
  expectConfigError(
    t,
    { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWKS_MIN_REFRESH_SECONDS: "0.5" },
    "HASURA_GRAPHQL_JWKS_MIN_REFRESH_SECONDS",
    /expected an integer/,
  );
  expectConfigError(
    t,
    { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_JWKS_MIN_REFRESH_SECONDS: "3601" },
    "HASURA_GRAPHQL_JWKS_MIN_REFRESH_SECONDS",
    /between 0 and 3600/,
  );
  expectConfigError(
    t,
    { ...HOOK, HASURA_GRAPHQL_AUTH_HOOK_TIMEOUT_MS: "0" },
    "HASURA_GRAPHQL_AUTH_HOOK_TIMEOUT_MS",
    /between 1 and 600000/,
  );
  expectConfigError(
    t,
    { ...HOOK, HASURA_GRAPHQL_AUTH_HOOK_TIMEOUT_MS: "3000000000" },
    "HASURA_GRAPHQL_AUTH_HOOK_TIMEOUT_MS",
    /between 1 and 600000/,
  );
  expectConfigError(
    t,
    { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_ADMIN_SECRET_MAX_FAILURES_PER_MINUTE: "1e3" },
    "HASURA_GRAPHQL_ADMIN_SECRET_MAX_FAILURES_PER_MINUTE",
    /expected an integer/,
  );
  expectConfigError(t, { PORT: "70000" }, "PORT", /between 0 and 65535/);
  expectConfigError(
    t,
    {
      ...ADMIN_SECRET_ENV,
      HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ type: "HS256", key: "0123456789abcdef0123456789abcdef", allowed_skew: 86_401 }),
    },
    "HASURA_GRAPHQL_JWT_SECRET",
    /"allowed_skew" must be an integer from 0 to 86400/,
  );

  // Unset and empty are the default, for these as for every other setting.
  const defaults = loadConfig({ ...HOOK, HASURA_GRAPHQL_AUTH_HOOK_TIMEOUT_MS: "", HASURA_GRAPHQL_JWKS_MIN_REFRESH_SECONDS: "" }).auth;
  t.equal(defaults.authHook?.timeoutMs, 5_000);
  t.equal(defaults.jwksMinRefreshMs, 10_000);
  const set = loadConfig({
    ...HOOK,
    HASURA_GRAPHQL_AUTH_HOOK_TIMEOUT_MS: "600000",
    HASURA_GRAPHQL_JWKS_MIN_REFRESH_SECONDS: "0",
    HASURA_GRAPHQL_AUTH_HOOK_MODE: "post",
  }).auth;
  t.same(set.authHook, { url: "http://127.0.0.1:1/hook", mode: "POST", timeoutMs: 600_000 });
  t.equal(set.jwksMinRefreshMs, 0);
});

t.test("the hook mode is checked with or without a hook", async (t) => {
  expectConfigError(t, { ...HOOK, HASURA_GRAPHQL_AUTH_HOOK_MODE: "PUT" }, "HASURA_GRAPHQL_AUTH_HOOK_MODE", /must be GET or POST/);
  expectConfigError(
    t,
    { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_AUTH_HOOK_MODE: "PUT" },
    "HASURA_GRAPHQL_AUTH_HOOK_MODE",
    /must be GET or POST/,
  );
});
