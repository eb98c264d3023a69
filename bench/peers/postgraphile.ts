/**
 * Peers B and C of `npm run bench`: bare PostGraphile V5 (amber preset,
 * grafserv on Fastify 5), in its own process, with the same pool size as the
 * server under test. What a PostGraphile user writes by hand.
 *
 *   BENCH_PEER=B  connects as the `authenticator` login role and runs every
 *                 request with pgSettings taken from *trusted* request headers
 *                 (no authentication at all): `role` = X-Hasura-Role and
 *                 `hasura.user` = the JSON of the X-Hasura-* headers, the same
 *                 settings the server derives from a verified JWT (minus
 *                 request.jwt.claims). PostGraphile then wraps each operation
 *                 in begin / set_config / statement / commit, and RLS applies.
 *   BENCH_PEER=C  connects as the database owner (given BYPASSRLS by the bench,
 *                 since policies.sql FORCEs row-level security on every table)
 *                 with no per-request settings: one statement, no
 *                 transaction, no policy. What it costs to have no security.
 *
 * Both introspect as their own login role (the default): PostGraphile's RBAC
 * sees the union of the granted roles' privileges (B) or everything (C). Like
 * the server, NodePlugin is off and `id` columns keep their name, so the
 * GraphQL text and the generated SQL are the same as the server's.
 *
 * Environment: DATABASE_URL, BENCH_POOL (default 10). Prints one JSON line
 * {"url", "pid"} on stdout when listening; SIGTERM closes it.
 */
import "../../server/env.ts";
import Fastify from "fastify";
import pg from "pg";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/fastify/v5";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { KeepIdColumnPlugin } from "../../server/graphile/KeepIdColumnPlugin.ts";
import { servePeer } from "../lib/peers.ts";

const mode = process.env.BENCH_PEER;
if (mode !== "B" && mode !== "C") throw new Error("BENCH_PEER must be B or C");
const connectionString = process.env.DATABASE_URL;
if (!connectionString) throw new Error("DATABASE_URL is required");

const pool = new pg.Pool({
  connectionString,
  max: Number(process.env.BENCH_POOL ?? 10),
  connectionTimeoutMillis: 5_000,
  application_name: `bench-peer-${mode}`,
});
pool.on("error", () => {});

/** B: the session from trusted headers, as the server would derive it from a JWT. */
function settingsFromHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> | undefined {
  const role = headers["x-hasura-role"];
  if (typeof role !== "string") return undefined;
  const variables: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith("x-hasura-") && k !== "x-hasura-role" && typeof v === "string") variables[k] = v;
  }
  return { role, "hasura.user": JSON.stringify({ ...variables, "x-hasura-role": role }) };
}

const preset: GraphileConfig.Preset = {
  extends: [PostGraphileAmberPreset],
  disablePlugins: ["NodePlugin"],
  plugins: [KeepIdColumnPlugin],
  pgServices: [makePgService({ pool, schemas: ["public"], pubsub: false })],
  grafserv: { graphqlPath: "/graphql", graphiql: false, websockets: false },
  grafast: {
    explain: false,
    ...(mode === "B"
      ? {
          context(requestContext: Partial<Grafast.RequestContext>) {
            const headers = requestContext.fastifyv5?.request.headers ?? {};
            const pgSettings = settingsFromHeaders(headers);
            return pgSettings ? { pgSettings } : {};
          },
        }
      : {}),
  },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
await serv.addTo(app);
await serv.getSchema();
await servePeer(app, async () => {
  await Promise.resolve(pgl.release()).catch(() => {});
  await pool.end();
});
