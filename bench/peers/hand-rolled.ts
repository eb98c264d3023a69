/**
 * Peer H of `npm run bench`: W1 written by hand, Fastify + pg + jose, in its
 * own process, with the same pool size as the server under test.
 *
 * POST /w1 (the GraphQL body the other peers get is parsed and ignored):
 * verify the HS256 JWT in `Authorization` with jose (every request, no
 * cache), read the role and x-hasura-user-id from Hasura's claims namespace,
 * then on one pooled connection four awaits:
 *   begin
 *   select set_config('role', $1, true), set_config('hasura.user', $2, true)
 *   the W1 select (a named prepared statement, $1 = the user id)
 *   commit
 * and answer {"data":{"allResults":{"nodes":[…]}}}.
 *
 * No single-round-trip variant here: stock node-postgres sends one query per
 * round trip (no pipelining API), and its simple-query protocol, the only one
 * that takes several statements in one message, cannot carry parameters.
 * Folding the set_config calls into the SELECT itself does not work either:
 * the role's privileges and policies are fixed when the statement is planned,
 * before any set_config in it runs. The parameterized way is the extended
 * protocol, pipelined: Parse/Bind/Execute for set_config(…, true), the same
 * for the statement, one Sync (one implicit transaction); see
 * server/graphile/pipelined-adaptor.ts, which the server may use.
 *
 * Environment: DATABASE_URL (the authenticator), BENCH_POOL (default 10),
 * BENCH_JWT_SECRET (Hasura's JSON, HS256). Prints {"url", "pid"} when listening.
 */
import Fastify from "fastify";
import { jwtVerify } from "jose";
import pg from "pg";
import { servePeer } from "../lib/peers.ts";

const connectionString = process.env.DATABASE_URL;
if (!connectionString) throw new Error("DATABASE_URL is required");
const secret = JSON.parse(process.env.BENCH_JWT_SECRET ?? "{}") as { type?: string; key?: string; claims_namespace?: string };
if (secret.type !== "HS256" || !secret.key) throw new Error("BENCH_JWT_SECRET must be an HS256 secret");
const key = Buffer.from(secret.key);
const namespace = secret.claims_namespace ?? "https://hasura.io/jwt/claims";

const pool = new pg.Pool({
  connectionString,
  max: Number(process.env.BENCH_POOL ?? 10),
  connectionTimeoutMillis: 5_000,
  application_name: "bench-peer-H",
});
pool.on("error", () => {});

const W1_SQL = `select r.id, r.grade, r."createdAt", r.path, json_build_object('name', o.name) as "objectByObjectId"
from public.result r left join public.object o on o.id = r."objectId"
where r."userId" = $1
order by r.id desc
limit 10`;

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });

app.post("/w1", async (request, reply) => {
  const auth = request.headers.authorization;
  if (!auth?.startsWith("Bearer ")) return reply.code(401).send({ errors: [{ message: "no token" }] });
  let claims: Record<string, unknown>;
  try {
    const { payload } = await jwtVerify(auth.slice(7), key, { algorithms: ["HS256"] });
    claims = (payload[namespace] ?? {}) as Record<string, unknown>;
  } catch {
    return reply.code(401).send({ errors: [{ message: "invalid token" }] });
  }
  const role = claims["x-hasura-default-role"];
  const userId = claims["x-hasura-user-id"];
  if (typeof role !== "string" || typeof userId !== "string") return reply.code(400).send({ errors: [{ message: "bad claims" }] });

  const client = await pool.connect();
  try {
    await client.query("begin");
    await client.query("select set_config('role', $1, true), set_config('hasura.user', $2, true)", [
      role,
      JSON.stringify({ "x-hasura-user-id": userId, "x-hasura-role": role }),
    ]);
    const { rows } = await client.query({ name: "w1", text: W1_SQL, values: [userId] });
    await client.query("commit");
    return { data: { allResults: { nodes: rows } } };
  } catch (e) {
    await client.query("rollback").catch(() => {});
    throw e;
  } finally {
    client.release();
  }
});

await servePeer(app, () => pool.end());
