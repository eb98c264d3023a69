/**
 * Guessing the admin secret: past HASURA_GRAPHQL_ADMIN_SECRET_MAX_FAILURES_PER_MINUTE
 * wrong attempts, an address is refused (429 + Retry-After) without the
 * secret being compared, while other addresses are unaffected. Clients on
 * 127.0.0.2 / 127.0.0.3 are other addresses (the whole of 127/8 is loopback).
 */
import { request } from "node:http";
import t from "tap";
import { clientKey, FailureLimiter } from "../../server/auth/admin-secret.ts";
import { ADMIN_SECRET, ADMIN_SECRET_ENV } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";

const QUERY = JSON.stringify({ query: "{ __typename }" });

interface Answer {
  status: number;
  retryAfter: string | undefined;
  body: any;
}

function post(url: string, path: string, headers: Record<string, string>, localAddress: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url + path,
      { method: "POST", localAddress, agent: false, headers: { "content-type": "application/json", ...headers } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode!, retryAfter: res.headers["retry-after"], body: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end(QUERY);
  });
}

t.test("failed admin-secret attempts are limited per client address", async (t) => {
  const srv = await startServer(t, {
    env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_ADMIN_SECRET_MAX_FAILURES_PER_MINUTE: "3" },
  });
  const as = (address: string, secret: string, path = "/v1alpha1/graphql") =>
    post(srv.url, path, { "x-hasura-admin-secret": secret }, address);

  for (let i = 0; i < 3; i++) {
    const res = await as("127.0.0.2", `wrong-${i}`);
    t.equal(res.status, 401, `wrong guess ${i + 1}: the usual answer`);
    t.equal(res.body.errors[0].message, "invalid x-hasura-admin-secret/x-hasura-access-key");
  }
  const blocked = await as("127.0.0.2", "wrong-3");
  t.equal(blocked.status, 429, "past the limit: 429");
  t.equal(blocked.body.errors[0].extensions.code, "access-denied");
  t.match(
    blocked.body.errors[0].message,
    /^too many failed x-hasura-admin-secret\/x-hasura-access-key attempts from this address; retry in \d+ s$/,
  );
  t.ok(Number(blocked.retryAfter) >= 1 && Number(blocked.retryAfter) <= 60, `Retry-After: ${blocked.retryAfter}`);

  const right = await as("127.0.0.2", ADMIN_SECRET);
  t.equal(right.status, 429, "the right secret is not even compared from a blocked address");
  t.notOk(right.body.data);
  const legacy = await post(srv.url, "/graphql", { "x-hasura-access-key": ADMIN_SECRET }, "127.0.0.2");
  t.equal(legacy.status, 429, "nor the legacy header, on /graphql");

  const v1 = await as("127.0.0.2", "wrong", "/v1/graphql");
  t.equal(v1.status, 200, "/v1/graphql answers every error with 200, as Hasura does");
  t.equal(v1.body.errors[0].extensions.code, "access-denied");
  t.match(v1.body.errors[0].message, /^too many failed/);
  t.ok(v1.retryAfter, "and still says when to retry");

  const other = await as("127.0.0.1", ADMIN_SECRET);
  t.equal(other.status, 200, "another address with the right secret is served");
  t.same(other.body.data, { __typename: "query_root" });
  t.equal((await as("127.0.0.1", "wrong")).status, 401, "and has its own count");

  // A flood of guesses: only the first few are compared.
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => as("127.0.0.3", `guess-${i}`)));
  const statuses = answers.map((a) => a.status);
  t.equal(statuses.filter((s) => s === 401).length, 3, "3 guesses compared");
  t.equal(statuses.filter((s) => s === 429).length, 197, "the rest refused");
});

t.test("0 turns the limit off", async (t) => {
  const srv = await startServer(t, {
    env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_ADMIN_SECRET_MAX_FAILURES_PER_MINUTE: "0" },
  });
  for (let i = 0; i < 15; i++)
    t.equal((await post(srv.url, "/v1alpha1/graphql", { "x-hasura-admin-secret": "wrong" }, "127.0.0.2")).status, 401);
});

t.test("the default is 10 per minute", async (t) => {
  const srv = await startServer(t, { env: ADMIN_SECRET_ENV });
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++)
    statuses.push((await post(srv.url, "/v1alpha1/graphql", { "x-hasura-admin-secret": "wrong" }, "127.0.0.2")).status);
  t.same(statuses, [...Array(10).fill(401), 429, 429]);
});

t.test("the limiter: windows, bounded memory, and what counts as one address", async (t) => {
  const limiter = new FailureLimiter({ maxFailures: 2, windowMs: 60_000, maxAddresses: 1_000 });
  limiter.fail("a", 0);
  t.equal(limiter.blockedFor("a", 1), 0);
  limiter.fail("a", 10);
  t.equal(limiter.blockedFor("a", 1_000), 59_000, "blocked until the window ends");
  t.equal(limiter.blockedFor("a", 60_000), 0, "free again after it");
  limiter.fail("a", 60_000);
  t.equal(limiter.blockedFor("a", 60_001), 0, "a new window starts from one failure");
  for (let i = 0; i < 20_000; i++) limiter.fail(`10.0.${i >> 8}.${i & 255}`, 0);
  t.ok(limiter.size <= 1_000, `at most maxAddresses remembered (${limiter.size})`);

  t.equal(clientKey("203.0.113.7"), "203.0.113.7");
  t.equal(clientKey("::ffff:203.0.113.7"), "203.0.113.7", "IPv4-mapped IPv6 is the IPv4 address");
  t.equal(clientKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  t.equal(clientKey("2001:db8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64", "one /64 is one client");
  t.equal(clientKey("2001:0DB8:0001::5"), "2001:db8:1:0::/64");
  t.equal(clientKey("::1"), "0:0:0:0::/64");
  t.equal(clientKey(undefined), "unknown");
});

t.test("the console's API counts against the same limit as GraphQL: guessing there is no second route", async (t) => {
  const srv = await startServer(t, {
    env: { ...ADMIN_SECRET_ENV, HASURA_GRAPHQL_ADMIN_SECRET_MAX_FAILURES_PER_MINUTE: "3", HASURA_GRAPHQL_ENABLE_CONSOLE: "true" },
  });
  const consoleAs = (address: string, secret: string) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request(
        `${srv.url}/console/permissions.json`,
        { localAddress: address, agent: false, headers: { "x-hasura-admin-secret": secret } },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        },
      );
      req.on("error", reject);
      req.end();
    });
  t.equal((await consoleAs("127.0.0.4", ADMIN_SECRET)).status, 200, "the console answers the right secret");
  for (let i = 0; i < 2; i++) t.equal((await consoleAs("127.0.0.4", `wrong-${i}`)).status, 401, `console guess ${i + 1}: 401`);
  t.equal(
    (await post(srv.url, "/v1alpha1/graphql", { "x-hasura-admin-secret": "wrong-2" }, "127.0.0.4")).status,
    401,
    "third guess, on GraphQL: 401",
  );
  const blocked = await consoleAs("127.0.0.4", ADMIN_SECRET);
  t.equal(blocked.status, 429, "then the console refuses even the right secret");
  t.equal(blocked.body.code, "access-denied");
  t.equal(
    (await post(srv.url, "/v1alpha1/graphql", { "x-hasura-admin-secret": ADMIN_SECRET }, "127.0.0.4")).status,
    429,
    "and so does GraphQL",
  );
  t.equal((await consoleAs("127.0.0.5", ADMIN_SECRET)).status, 200, "another address is served");
});
