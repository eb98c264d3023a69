/**
 * `npm run token` as a newcomer runs it: --help prints the usage and exits 0,
 * every bad value is one line naming its option, and a minted token is
 * accepted by the real server as the role and variables asked for.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import t from "tap";
import { REPO_ROOT } from "../../server/config.ts";
import { SECURED_JWT } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { HS_JWT_SECRET } from "../helpers/tokens.ts";

function token(args: string[], env: Record<string, string> = { HASURA_GRAPHQL_JWT_SECRET: HS_JWT_SECRET }) {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, "server/cli/token.ts"), ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test("--help and -h print the usage on stdout and exit 0", async (t) => {
  for (const flag of ["--help", "-h"]) {
    // No JWT secret needed to read the usage.
    const r = token([flag], {});
    t.equal(r.code, 0, `${flag} exits 0`);
    t.match(r.stdout, /^Usage: npm run token -- --role ROLE/, `${flag} prints the usage`);
    for (const opt of ["--role", "--user-id", "--allowed-roles", "--var", "--exp"]) t.match(r.stdout, opt, `usage lists ${opt}`);
    t.equal(r.stderr, "", "nothing on stderr");
  }
});

t.test("each bad value is one error line naming its option, exit 1", async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [["--role", "user", "--exp", "10x"], /^error: --exp: expected a positive duration .*got "10x"$/],
    [["--role", "user", "--exp", "0h"], /^error: --exp: /],
    [["--role", "user", "--exp", "1h ago"], /^error: --exp: /],
    [["--role", "user", "--exp=-1h"], /^error: --exp: /],
    [["--role", "user", "--exp"], /^error: Option '--exp <value>' argument missing \(see npm run token -- --help\)$/],
    [["--role", "user", "--expires", "1h"], /^error: Unknown option '--expires' \(see npm run token -- --help\)$/],
    [["--user-id", "1"], /^error: --role: is required/],
    [["--role", "user", "--allowed-roles", "editor"], /^error: --allowed-roles: must include the --role "user"/],
    [["--role", "user", "--allowed-roles", ","], /^error: --allowed-roles: expected a comma-separated list/],
    [["--role", "user", "--var", "campus"], /^error: --var: expected name=value, got "campus"$/],
    [["--role", "user", "--user-id="], /^error: --user-id: is empty$/],
    [["--role", "user", "extra"], /^error: Unexpected argument 'extra'/],
  ];
  for (const [args, pattern] of cases) {
    const r = token(args);
    t.equal(r.code, 1, `${args.join(" ")}: exit 1`);
    t.equal(r.stdout, "", "no token printed");
    const lines = r.stderr.trimEnd().split("\n");
    t.equal(lines.length, 1, `one line: ${r.stderr}`);
    t.match(lines[0], pattern, args.join(" "));
  }
  const noSecret = token(["--role", "user"], {});
  t.equal(noSecret.code, 1);
  t.match(noSecret.stderr, /^error: HASURA_GRAPHQL_JWT_SECRET: is not set/, "a missing key names its variable");
});

t.test("a minted token is accepted by the server as its role, user and variables", async (t) => {
  const r = token(["--role", "user", "--user-id", "1", "--allowed-roles", "user,anonymous", "--var", "campus={madere}", "--exp", "2h"]);
  t.equal(r.code, 0, r.stderr);
  const jwt = r.stdout.trim();
  const payload = JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString());
  t.equal(payload.exp - payload.iat, 7200, "--exp 2h is two hours");

  const srv = await startServer(t, { env: SECURED_JWT });
  const res = await srv.gql("{ user(where: {id: {_eq: 1}}) { id } }", {
    path: "/v1/graphql",
    headers: { authorization: `Bearer ${jwt}` },
  });
  t.same(res.body, { data: { user: [{ id: 1 }] } }, "user 1 reads its own row");
  const asAnon = await srv.gql("{ user(limit: 1) { email } }", {
    path: "/v1/graphql",
    headers: { authorization: `Bearer ${jwt}`, "x-hasura-role": "anonymous" },
  });
  t.match(asAnon.body.errors?.[0]?.message, /field 'email' not found in type: 'user'/, "X-Hasura-Role picks another allowed role");

  // A --var reaches the session: campus-admin sees the users of the campuses it names, and only those.
  const admin = token(["--role", "campus-admin", "--user-id", "1", "--var", "campus={madere}"]);
  t.equal(admin.code, 0, admin.stderr);
  const users = await srv.gql("{ user { campus } }", {
    path: "/v1/graphql",
    headers: { authorization: `Bearer ${admin.stdout.trim()}` },
  });
  const campuses = new Set((users.body.data?.user ?? []).map((u: { campus: string }) => u.campus));
  t.same([...campuses], ["madere"], "x-hasura-campus from --var limits the rows");
});
