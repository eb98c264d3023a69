/**
 * A @dataplan/pg adaptor that applies a request's settings (role,
 * hasura.user, request.jwt.claims) in the same network round trip as the
 * statement, instead of PostGraphile's four (BEGIN; set_config; statement;
 * COMMIT).
 *
 * How it stays transaction-local and parameterized: the extended query
 * protocol runs every message up to a Sync in one implicit transaction. We
 * send Bind/Execute for `select set_config($1, $2, true), …` (names and
 * values as bind parameters; its Parse only the first time on each
 * connection, as a named prepared statement), then Parse/Bind/Execute for
 * the statement, then one Sync:
 * Postgres applies the settings, runs the statement under them, and drops
 * them when the implicit transaction ends at Sync. Nothing survives on the
 * pooled connection (test/reliability/leaks.test.ts checks it).
 * Transactions (mutations) send BEGIN and the settings in the pipeline of
 * their first statement, then COMMIT: two round trips instead of four.
 *
 * node-postgres sends one query per round trip and has no pipelining API,
 * hence the small pg.Query subclass below; everything else (row parsing,
 * errors, prepared statement names) is pg's own.
 */
import type { PgClient, PgClientQuery, PgClientResult, WithPgClient } from "@dataplan/pg";
import { LRUCache } from "lru-cache";
import type pg from "pg";
import { errors } from "../errors.ts";
import { connectionOf, PgQuery, prepareValue, type PgConnection, type PgResult } from "../lib-internals.ts";
import { installSqlCacheFromEnv } from "./SqlCache.ts";

/**
 * `select set_config($1, $2, true), set_config($3, $4, true), …` for n
 * settings: names and values both bind parameters, so the text depends only
 * on n. Prepared once per connection and n (with prepared statements on).
 */
export function settingsStatement(n: number): { text: string; name: string } {
  let statement = settingsStatements[n];
  if (statement === undefined) {
    const calls = Array.from({ length: n }, (_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`);
    statement = settingsStatements[n] = { text: `select ${calls.join(", ")}`, name: `hasura_auth_pg_settings_${n}` };
  }
  return statement;
}
const settingsStatements: Array<{ text: string; name: string }> = [];
const PREPARED_PER_CONNECTION = 100;

/** A statement sent ahead of the query in the same pipeline. */
export interface Leading {
  text: string;
  values: unknown[];
  /** Kept prepared on the connection under this name (parsed once per connection). */
  name?: string;
}

/**
 * `leading` statements (each Parse unless already prepared, Bind, Execute), then the query, then one Sync.
 * Also used by server/subscriptions/batched-pg.ts, several per network write.
 */
export class PipelinedQuery extends PgQuery {
  #leading: Array<Leading & { parse: boolean }>;
  constructor(
    leading: Array<Leading & { parse: boolean }>,
    config: object,
    callback: (err: Error | null, res: PgResult | PgResult[]) => void,
  ) {
    super(config, undefined, callback);
    this.#leading = leading;
  }
  submit(connection: PgConnection): Error | null {
    connection.stream.cork?.();
    try {
      for (const { text, values, name, parse } of this.#leading) {
        if (parse) connection.parse({ text, name });
        connection.bind({ statement: name, values, valueMapper: prepareValue });
        connection.describe({ type: "P" });
        connection.execute({});
      }
      // pg's own Parse (unless already prepared) / Bind / Describe / Execute / Sync.
      this.prepare(connection);
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }
  // Always the extended protocol: the leading statements need it.
  requiresPreparation(): boolean {
    return true;
  }
}

function lastResult(res: PgResult | PgResult[]): PgResult {
  return Array.isArray(res) ? res[res.length - 1] : res;
}

function run(client: pg.PoolClient, leading: Leading[], opts: PgClientQuery): Promise<PgResult> {
  const connection = connectionOf(client);
  const late = overTime(connection as Metered);
  if (late) return Promise.reject(late);
  const name = opts.name;
  const steps = leading.map((l) => ({ ...l, parse: !l.name || connection.parsedStatements[l.name] !== l.text }));
  const leadingParses = steps.filter((l) => l.parse).length;
  // ParseCompletes arrive in the order the Parses were sent. pg credits each
  // one to the query's own name, so a leading statement's marks the query
  // parsed too early: if the query's own Parse then fails, forget its name
  // so the next use parses it again. A named leading statement is prepared
  // once its own ParseComplete has arrived, even if a later message failed.
  const sendsParse = !!name && connection.parsedStatements[name] === undefined;
  const counting = sendsParse || leadingParses > 0;
  let parses = 0;
  const onParse = () => parses++;
  if (counting) connection.on("parseComplete", onParse);
  return new Promise((resolve, reject) => {
    const query = new PipelinedQuery(
      steps,
      { text: opts.text, values: opts.values ?? [], name, rowMode: opts.arrayMode ? "array" : undefined },
      (err, res) => {
        if (counting) {
          connection.off("parseComplete", onParse);
          let seen = 0;
          for (const l of steps) {
            if (!l.parse) continue;
            if (l.name && parses > seen) connection.parsedStatements[l.name] = l.text;
            seen++;
          }
          if (sendsParse && err && parses <= leadingParses) delete connection.parsedStatements[name!];
        }
        if (err) return reject(err);
        const result = lastResult(res);
        const overRows = countRows(connection as Metered, result.rows.length);
        if (overRows) reject(overRows);
        else resolve(result);
      },
    );
    // pg accepts any object with submit(); our subclass keeps pg's parsing.
    void client.query(query as never);
  });
}

const setupDone = new WeakSet<pg.PoolClient>();
const prepared = new WeakMap<pg.PoolClient, LRUCache<string, true>>();

/** Bound the named statements kept per connection, as @dataplan/pg's own adaptor does. */
export function trackPrepared(client: pg.PoolClient, name: string | undefined): void {
  if (!name) return;
  let cache = prepared.get(client);
  if (!cache) {
    cache = new LRUCache<string, true>({
      max: PREPARED_PER_CONNECTION,
      dispose: (_v, key) => {
        const connection = connectionOf(client);
        if (connection.parsedStatements[key]) {
          delete connection.parsedStatements[key];
          client.query(`deallocate ${client.escapeIdentifier(key)}`).catch(() => {});
        }
      },
    });
    prepared.set(client, cache);
  }
  // get() refreshes recency; set() only for a new name (it costs more).
  if (!cache.get(name)) cache.set(name, true);
}

/**
 * The client a withPgClient callback gets: each statement goes with the
 * request's settings (none: `leading` is empty) in one round trip.
 */
function sessionClient(client: pg.PoolClient, leading: Leading[]): PgClient {
  return {
    async query<TData>(opts: PgClientQuery): Promise<PgClientResult<TData>> {
      trackPrepared(client, opts.name);
      const res = await run(client, leading, opts);
      return { rows: res.rows as TData[], rowCount: res.rowCount };
    },
    withTransaction: <T>(callback: (c: PgClient) => Promise<T>) => inTransaction(client, leading, callback),
  } as PgClient;
}

/**
 * A transaction (mutations) whose BEGIN and settings travel in the pipeline
 * of its first statement: after BEGIN, Sync no longer ends the transaction,
 * so the settings hold for every later statement until COMMIT or ROLLBACK,
 * which are only sent if it began. Nested transactions are savepoints.
 */
async function inTransaction<T>(client: pg.PoolClient, leading: Leading[], callback: (c: PgClient) => Promise<T>): Promise<T> {
  let pending: Leading[] | null = [{ text: "begin", values: [] }, ...leading];
  const send = (opts: PgClientQuery) => {
    const lead = pending ?? [];
    pending = null; // BEGIN is on its way: from here on, end the transaction whatever happens.
    return run(client, lead, opts);
  };
  const level = (depth: number): PgClient =>
    ({
      async query<TData>(opts: PgClientQuery): Promise<PgClientResult<TData>> {
        trackPrepared(client, opts.name);
        const res = await send(opts);
        return { rows: res.rows as TData[], rowCount: res.rowCount };
      },
      async withTransaction<R>(cb: (c: PgClient) => Promise<R>): Promise<R> {
        const sp = `tx${depth}`;
        await send({ text: `savepoint ${sp}`, values: [] });
        try {
          const result = await cb(level(depth + 1));
          await send({ text: `release savepoint ${sp}`, values: [] });
          return result;
        } catch (e) {
          await send({ text: `rollback to savepoint ${sp}`, values: [] }).catch(() => {});
          throw e;
        }
      },
    }) as PgClient;
  try {
    const result = await callback(level(1));
    if (!pending) await client.query("commit");
    return result;
  } catch (e) {
    if (!pending) await client.query("rollback").catch(() => {});
    throw e;
  }
}

/** The same client, with statement names dropped (unnamed statements are never kept). */
function unnamed(client: PgClient): PgClient {
  return {
    query: (opts: PgClientQuery) => client.query({ ...opts, name: undefined }),
    withTransaction: (callback: (c: PgClient) => Promise<unknown>) => client.withTransaction((c) => callback(unnamed(c))),
  } as PgClient;
}

/**
 * What Postgres has sent for one request (all its statements), checked
 * while the bytes arrive: past a bound the connection is cut at once
 * (Postgres then stops the query), so one request can never buffer much
 * more than that in this process, however many rows its nested lists
 * multiply out to. The socket's byte count is the only measure that sees a
 * huge nested JSON value before node-postgres has buffered all of it.
 */
interface Budget {
  rows: number;
  /** Bytes received on connections it has released. */
  bytes: number;
  /** When the request's execution began (Date.now()). */
  started: number;
  limits: ResponseLimits | null;
  /** Why the request was cut off, once it was. */
  aborted?: Error;
}

export interface ResponseLimits {
  maxRows: number;
  maxBytes: number;
  /**
   * How long after its execution began the request may still start a
   * statement (0: no bound). Its fields' statements are bounded by the
   * document's limits, but update_t_many's entries and a nested insert's
   * groups are one statement each, as many as the input holds: each is
   * bounded by statement_timeout, this bounds them together. A statement
   * already running is not cut (statement_timeout ends it).
   */
  maxMs?: number;
}

/**
 * Per request: grafast hands every statement of a request the same
 * pgSettings object, registered here by the preset's context (schema
 * introspection, which must never be cut off, is not registered).
 */
const budgets = new WeakMap<object, Budget>();

/** Meter what Postgres sends for the request these settings belong to. */
export function meterRequest(pgSettings: object): void {
  budgets.set(pgSettings, { rows: 0, bytes: 0, started: Date.now(), limits: null });
}

/**
 * The budget of the request a connection runs now and the socket's byte
 * count when it started, kept on the connection itself. Bytes are read
 * from the socket's own counter by a poller, not by a 'data' listener: a
 * second listener makes every chunk's emit clone the listener list, a
 * measurable cost per request, while the poller costs nothing per request.
 */
const BUDGET = Symbol("hasura-auth-pg.budget");
const START = Symbol("hasura-auth-pg.start");
type Metered = PgConnection & { [BUDGET]?: Budget | null; [START]?: number };
/** Connections running a metered request, to cut one off or find the biggest. */
const inFlight = new Set<Metered>();
/** How often in-flight requests' bytes are compared with their bound: what one may overshoot is what arrives in this time. */
const POLL_MS = 20;
let polling = false;

const received = (connection: Metered, budget: Budget) => budget.bytes + connection.stream.bytesRead - (connection[START] ?? 0);

function abort(budget: Budget, reason: Error): void {
  if (budget.aborted) return;
  budget.aborted = reason;
  // Its statements may run in parallel on several connections.
  for (const connection of inFlight) if (connection[BUDGET] === budget) connection.stream.destroy();
}

function poll(): void {
  for (const connection of inFlight) {
    const budget = connection[BUDGET];
    if (!budget?.limits || budget.aborted) continue;
    if (received(connection, budget) > budget.limits.maxBytes) abort(budget, errors.responseTooLarge(`${budget.limits.maxBytes} bytes`));
  }
}

/**
 * A statement the request may no longer start: its time is up. Refused,
 * not aborted: the connection stays healthy and the transaction is rolled
 * back as after any failed statement.
 */
function overTime(connection: Metered): Error | undefined {
  const budget = connection[BUDGET];
  const maxMs = budget?.limits?.maxMs;
  if (!maxMs || Date.now() - budget.started <= maxMs) return undefined;
  return errors.operationTimeout(maxMs);
}

/** Rows are counted per statement result (its bytes are already bounded while it arrives). */
function countRows(connection: Metered, rows: number): Error | undefined {
  const budget = connection[BUDGET];
  if (!budget?.limits) return undefined;
  budget.rows += rows;
  if (budget.rows > budget.limits.maxRows) abort(budget, errors.responseTooLarge(`${budget.limits.maxRows} rows`));
  return budget.aborted;
}

/**
 * Under memory pressure, cut off the request that has received the most
 * (refusing new requests alone would not stop one already running).
 * Returns whether one was aborted.
 */
export function abortLargestRequest(minBytes = 1024 * 1024): boolean {
  let largest: Budget | undefined;
  let most = minBytes - 1;
  for (const connection of inFlight) {
    const b = connection[BUDGET];
    if (!b || b.aborted) continue;
    const bytes = received(connection, b);
    if (bytes > most) {
      largest = b;
      most = bytes;
    }
  }
  if (largest) abort(largest, errors.overloaded("memory: the largest request in progress was aborted"));
  return largest !== undefined;
}

export interface PipelinedOptions {
  /**
   * Named prepared statements (PostGraphile's default). Off for poolers that
   * cannot keep them across transactions (PgBouncer < 1.21 in transaction
   * mode): HASURA_GRAPHQL_USE_PREPARED_STATEMENTS=false, as in Hasura.
   */
  preparedStatements: boolean;
  /** Bounds on what Postgres may send for one request; none when absent. */
  responseLimits?: ResponseLimits;
}

export function makePipelinedWithPgClient(pool: pg.Pool, options: PipelinedOptions = { preparedStatements: true }): WithPgClient {
  // Experimental, process-wide, off by default (./SqlCache.ts).
  installSqlCacheFromEnv();
  const limits = options.responseLimits;
  const withPgClient = (async <T>(
    pgSettings: Record<string, string | undefined> | null,
    callback: (client: PgClient) => T | Promise<T>,
  ) => {
    let budget: Budget | undefined;
    if (limits && pgSettings) {
      budget = budgets.get(pgSettings);
      if (budget?.aborted) throw budget.aborted;
    }
    const client = await pool.connect();
    const connection = connectionOf(client) as Metered;
    if (budget) {
      budget.limits = limits!;
      connection[BUDGET] = budget;
      connection[START] = connection.stream.bytesRead;
      inFlight.add(connection);
      if (!polling) {
        polling = true;
        setInterval(poll, POLL_MS).unref();
      }
    }
    let broken: Error | undefined;
    try {
      if (!setupDone.has(client)) {
        setupDone.add(client);
        // As @dataplan/pg does: JIT optimisation costs more than these short queries save.
        await client.query("set jit_optimize_above_cost = -1");
      }
      // name1, value1, name2, value2, …: the settings statement's parameters.
      const values: string[] = [];
      for (const key in pgSettings) {
        const value = pgSettings[key];
        if (value != null) values.push(key, value);
      }
      let leading: Leading[] = [];
      if (values.length) {
        const { text, name } = settingsStatement(values.length / 2);
        leading = [options.preparedStatements ? { text, values, name } : { text, values }];
      }
      const inner = sessionClient(client, leading);
      return await callback(options.preparedStatements ? inner : unnamed(inner));
    } catch (e) {
      // A connection-level failure must not go back to the pool.
      if ((e as { code?: string }).code === undefined && /Connection terminated|ECONN/.test(String((e as Error).message)))
        broken = e as Error;
      if (budget?.aborted) {
        broken = budget.aborted;
        throw budget.aborted;
      }
      throw e;
    } finally {
      if (budget) {
        budget.bytes = received(connection, budget);
        connection[BUDGET] = null;
        inFlight.delete(connection);
      }
      client.release(broken);
    }
  }) as WithPgClient;
  withPgClient.release = () => {};
  return withPgClient;
}
