/**
 * This server in its own process, for benches that measure the server's own
 * CPU and RSS (/proc/<pid>): the same buildApp as `npm start`
 * (server/main.ts), configured from the environment by loadConfig, on a
 * loopback ephemeral port. Prints one JSON line {"url", "pid"} on stdout when
 * listening; SIGTERM, SIGINT or the bench closing stdin closes it (sockets
 * first, as in production).
 *
 * Environment: DATABASE_URL (the authenticator), PROJECT_DIR, the secrets and
 * any HASURA_GRAPHQL_* the bench sets.
 */
import "../../server/env.ts";
import { buildApp } from "../../server/app.ts";
import { loadConfig } from "../../server/config.ts";
import { servePeer } from "../lib/peers.ts";

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error("DATABASE_URL is required");
const config = loadConfig(process.env);
const app = await buildApp({ config, databaseUrl, warmSchemas: true });
await servePeer(app, () => {});
