/**
 * Read replicas (HASURA_GRAPHQL_READ_REPLICA_URLS): one pool per streaming
 * replica, a health loop, a picker, and the routed withPgClient that
 * queries and live-query polls run through (mutations, transactions and
 * everything else keep the primary's).
 *
 * Each replica connects as the authenticator, as the primary does: on a
 * physical replica the roles, grants and policies are the primary's own,
 * so RLS holds there identically; the same pipelined adaptor keeps the
 * request's settings transaction-local (set_config(…, true)), and a hot
 * standby's transactions are read-only anyway.
 *
 * Every second each replica is asked whether it is in recovery and how far
 * behind it is; one that does not answer, is not a standby (promoted, or
 * the primary's URL by mistake), runs as a role that could bypass RLS, or
 * lags more than HASURA_GRAPHQL_READ_REPLICA_MAX_LAG_MS is skipped until a
 * check passes again. With none usable, reads go to the primary.
 *
 * A read whose replica connection fails (refused, cut, the server shutting
 * down) is run again on the primary, once: reads are safe to repeat, and no
 * row of the failed attempt reached the response (node-postgres resolves a
 * statement only once all its rows are in). The replica is marked down at
 * once rather than at the next check.
 */
import type { PgClient, WithPgClient } from "@dataplan/pg";
import type { FastifyBaseLogger } from "fastify";
import pg from "pg";
import { HasuraError } from "../errors.ts";
import { isConnectionFailure } from "../to-hasura-error.ts";

export interface ReplicaStatus {
  /** host:port/database, never the user or password. */
  url: string;
  healthy: boolean;
  /** Replay lag at the last check (0: replayed everything received); null: unknown. */
  lagMs: number | null;
  /** Why it is skipped, when it is. */
  reason?: string;
}

interface Replica {
  label: string;
  url: string;
  pool: pg.Pool;
  healthy: boolean;
  lagMs: number | null;
  reason?: string;
  /** withPgClient calls running on it now (the picker's "least busy"). */
  inFlight: number;
  checker: pg.Client | null;
  checking: boolean;
  /** Whether a check has run (the first state is logged either way). */
  seen: boolean;
}

export interface ReadReplicasOptions {
  urls: string[];
  maxLagMs: number;
  /** Connections per replica pool. */
  poolSize: number;
  connectionTimeoutMillis: number;
  log: FastifyBaseLogger;
  /** Health check period (default 1 s). */
  checkIntervalMs?: number;
}

/** host:port/database of a postgres URL: what /readyz and the logs show. */
export function replicaLabel(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || "5432"}${decodeURIComponent(u.pathname)}`;
}

/**
 * Lag as a standby measures it: nothing received but not yet replayed is no
 * lag (an idle primary sends nothing); otherwise the age of the last
 * transaction replayed. `<=`, not `=`: after a standby restarts, its receive
 * position starts at the beginning of a WAL segment, behind what it has
 * already replayed from its own pg_wal. Null when WAL is pending and nothing
 * has been replayed since start (unknown: skipped).
 */
const CHECK_SQL = `
  select pg_catalog.pg_is_in_recovery() as recovery,
         case when pg_catalog.pg_last_wal_receive_lsn() <= pg_catalog.pg_last_wal_replay_lsn() then 0
              else extract(epoch from now() - pg_catalog.pg_last_xact_replay_timestamp()) * 1000 end::float8 as lag_ms,
         (select rolsuper or rolbypassrls from pg_catalog.pg_roles where rolname = current_user) as unsafe`;

/**
 * Whether a failed read on a replica is run again on the primary, and
 * whether the replica is then marked down. "down": the connection failed or
 * the server is shutting down / starting (SQLSTATE class 08, 57P01-57P03).
 * "retry": the standby cancelled the statement for a conflict with recovery
 * (40001), or it attempted a write (25006: read-only transaction), which the
 * primary runs as it always would.
 */
export function replicaFailure(e: unknown): "down" | "retry" | null {
  if (!(e instanceof Error) || e instanceof HasuraError) return null;
  if (isConnectionFailure(e as Error & { code?: string })) return "down";
  const code = (e as { code?: unknown }).code;
  if (typeof code === "string") {
    if (code.startsWith("08") || code === "57P01" || code === "57P02" || code === "57P03") return "down";
    if (code === "40001" || code === "25006") return "retry";
    return null;
  }
  if (/Connection terminated|timeout exceeded when trying to connect/.test(e.message)) return "down";
  return null;
}

export class ReadReplicas {
  readonly #replicas: Replica[];
  readonly #opts: ReadReplicasOptions;
  #next = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: ReadReplicasOptions) {
    this.#opts = opts;
    this.#replicas = opts.urls.map((url) => {
      const pool = new pg.Pool({
        connectionString: url,
        max: opts.poolSize,
        connectionTimeoutMillis: opts.connectionTimeoutMillis,
        application_name: "hasura-auth-pg",
      });
      const label = replicaLabel(url);
      // As the primary's pool (server/plugins/database.ts): a lost connection must not crash the process.
      pool.on("error", (err) => opts.log.debug({ err: err.message, replica: label }, "idle replica connection lost"));
      pool.on("connect", (client) => {
        client.on("error", (err) => opts.log.debug({ err: err.message, replica: label }, "replica connection lost"));
      });
      return {
        label,
        url,
        pool,
        healthy: false,
        lagMs: null,
        reason: "not checked yet",
        inFlight: 0,
        checker: null,
        checking: false,
        seen: false,
      };
    });
  }

  get size(): number {
    return this.#replicas.length;
  }

  /** The pools, for start-up checks and tests. */
  get pools(): pg.Pool[] {
    return this.#replicas.map((r) => r.pool);
  }

  /** Check each replica once, then keep checking in the background. */
  async start(): Promise<void> {
    if (!this.#replicas.length) return;
    await Promise.all(this.#replicas.map((r) => this.#check(r)));
    this.#timer = setInterval(() => {
      for (const r of this.#replicas) void this.#check(r);
    }, this.#opts.checkIntervalMs ?? 1_000);
    this.#timer.unref();
  }

  status(): ReplicaStatus[] {
    return this.#replicas.map((r) => ({
      url: r.label,
      healthy: r.healthy,
      lagMs: r.lagMs === null ? null : Math.round(r.lagMs),
      ...(r.healthy ? {} : { reason: r.reason }),
    }));
  }

  /** The least busy healthy replica, ties taken round-robin; none: undefined (use the primary). */
  pick(): Replica | undefined {
    const n = this.#replicas.length;
    let best: Replica | undefined;
    for (let i = 0; i < n; i++) {
      const r = this.#replicas[(this.#next + i) % n]!;
      if (r.healthy && (!best || r.inFlight < best.inFlight)) best = r;
    }
    this.#next = n ? (this.#next + 1) % n : 0;
    return best;
  }

  /**
   * A withPgClient that runs each call on a replica (made per replica pool
   * by `make`), or on `primary` when none is usable or the replica's
   * connection fails. The calls of one request (one pgSettings object) stay
   * on the replica the first one picked while it is healthy, so a response
   * never mixes two replicas' points in time.
   */
  route(make: (pool: pg.Pool) => WithPgClient, primary: WithPgClient): WithPgClient {
    const own = new Map(this.#replicas.map((r) => [r, make(r.pool)] as const));
    const pinned = new WeakMap<object, Replica>();
    const routed = (async (pgSettings: Record<string, string | undefined> | null, callback: (client: PgClient) => unknown) => {
      let r = pgSettings ? pinned.get(pgSettings) : undefined;
      if (!r?.healthy) {
        r = this.pick();
        if (r && pgSettings) pinned.set(pgSettings, r);
      }
      if (!r) return primary(pgSettings, callback);
      r.inFlight++;
      try {
        return await own.get(r)!(pgSettings, callback);
      } catch (e) {
        const failure = replicaFailure(e);
        if (!failure) throw e;
        if (failure === "down") this.#markDown(r, (e as Error).message);
        else this.#opts.log.debug({ err: (e as Error).message, replica: r.label }, "read re-run on the primary");
      } finally {
        r.inFlight--;
      }
      return primary(pgSettings, callback);
    }) as WithPgClient;
    routed.release = () => {};
    return routed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await Promise.all(
      this.#replicas.map(async (r) => {
        await r.checker?.end().catch(() => {});
        r.checker = null;
        await r.pool.end();
      }),
    );
  }

  #set(r: Replica, healthy: boolean, reason?: string): void {
    if (healthy !== r.healthy || !r.seen) {
      if (healthy) this.#opts.log.info({ replica: r.label, lagMs: r.lagMs }, "read replica in use");
      else this.#opts.log.warn({ replica: r.label, reason }, "read replica skipped; reads go to the primary or other replicas");
    }
    r.seen = true;
    r.healthy = healthy;
    r.reason = healthy ? undefined : reason;
  }

  #markDown(r: Replica, why: string): void {
    r.lagMs = null;
    this.#set(r, false, `connection failed: ${why}`);
  }

  async #check(r: Replica): Promise<void> {
    if (r.checking || this.#closed) return;
    r.checking = true;
    try {
      if (!r.checker) {
        // Its own connection: a busy pool must not make a healthy replica look down.
        const client = new pg.Client({
          connectionString: r.url,
          connectionTimeoutMillis: 2_000,
          query_timeout: 2_000,
          application_name: "hasura-auth-pg-replica-check",
        });
        client.on("error", () => {
          if (r.checker === client) r.checker = null;
        });
        await client.connect();
        r.checker = client;
      }
      const { rows } = await r.checker.query<{ recovery: boolean; lag_ms: number | null; unsafe: boolean | null }>(CHECK_SQL);
      const row = rows[0]!;
      r.lagMs = row.recovery ? row.lag_ms : null;
      if (row.unsafe !== false) this.#set(r, false, "connects as a superuser or a BYPASSRLS role: row-level security would not apply");
      else if (!row.recovery) this.#set(r, false, "not a standby (pg_is_in_recovery() is false)");
      else if (row.lag_ms === null) this.#set(r, false, "replay lag unknown");
      else if (row.lag_ms > this.#opts.maxLagMs) this.#set(r, false, `lagging ${Math.round(row.lag_ms)} ms (max ${this.#opts.maxLagMs})`);
      else this.#set(r, true);
    } catch (e) {
      const client = r.checker;
      r.checker = null;
      await client?.end().catch(() => {});
      r.lagMs = null;
      this.#set(r, false, `unreachable: ${(e as Error).message}`);
    } finally {
      r.checking = false;
    }
  }
}
