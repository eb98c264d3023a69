/**
 * A WithPgClient for the live-query poller: the statements that many
 * cohorts issue in the same tick go to ONE pooled connection in ONE network
 * write, each cohort still in its own implicit transaction.
 *
 * Per cohort statement the pipeline carries Bind/Execute of the settings
 * statement (`select set_config($1, $2, true), …`, as the pipelined adaptor
 * sends it: server/graphile/pipelined-adaptor.ts), Parse (once per
 * connection for a named statement)/Bind/Execute of the statement, then its
 * own Sync. Every Sync ends an implicit transaction, so each cohort's role
 * and hasura.user are transaction-local and gone at its Sync, and an error
 * makes Postgres skip only to that cohort's Sync: the cohorts after it run.
 *
 * node-postgres (8.23) has a pipeline mode (`client.pipeline`): queries are
 * written without waiting for the previous ReadyForQuery and each answer is
 * routed to its query. We switch it on for the time a checked-out client
 * runs one batch (all its answers in) and cork the socket around the batch's
 * submits, so the batch is one write. No Client subclass is needed.
 *
 * Statements issued during one turn of the event loop (setImmediate) form a
 * batch; at most `maxPerWrite` statements per write, several writes on
 * several connections when there are more.
 */
import type { PgClient, PgClientQuery, PgClientResult, WithPgClient } from "@dataplan/pg";
import type pg from "pg";
import { errors } from "../errors.ts";
import {
  makePipelinedWithPgClient,
  PipelinedQuery,
  settingsStatement,
  trackPrepared,
  type Leading,
  type ResponseLimits,
} from "../graphile/pipelined-adaptor.ts";
import { connectionOf, PgQuery, type PgResult } from "../lib-internals.ts";

export interface BatchedOptions {
  /** Named prepared statements (HASURA_GRAPHQL_USE_PREPARED_STATEMENTS). */
  preparedStatements: boolean;
  /** Rows and bytes Postgres may send for one cohort's execution (maxMs is not applied: statement_timeout bounds each statement). */
  responseLimits?: ResponseLimits;
  /** Statements per network write (default 200). */
  maxPerWrite?: number;
}

export interface BatchedStats {
  /** Network writes (each one batch of statements, each a round trip). */
  writes: number;
  /** Statements sent (each with its settings and its own Sync). */
  statements: number;
}

export type BatchedWithPgClient = WithPgClient & { stats(): BatchedStats };

interface Pending {
  leading: Leading[];
  opts: PgClientQuery;
  budget: Budget | undefined;
  resolve(res: PgResult): void;
  reject(err: Error): void;
}

/** What one cohort's execution (one pgSettings object) has received. */
interface Budget {
  rows: number;
  bytes: number;
}

/**
 * Counts rows and bytes while they arrive: past the bound it stops keeping
 * rows (pg's own `_canceledDueToError`, reported at this statement's
 * ReadyForQuery), so the connection and the other cohorts are untouched.
 */
class MeteredQuery extends PipelinedQuery {
  budget: Budget | undefined;
  limits: ResponseLimits | undefined;
  /** Statements ahead of the query's own (their rows are not the response's). */
  leadingLeft = 0;
  handleCommandComplete(msg: unknown, connection: unknown): void {
    this.leadingLeft--;
    (PgQuery.prototype as unknown as { handleCommandComplete(m: unknown, c: unknown): void }).handleCommandComplete.call(
      this,
      msg,
      connection,
    );
  }
  handleDataRow(msg: { fields: Array<string | null> }): void {
    const self = this as unknown as { _canceledDueToError: Error | false };
    if (this.budget && this.limits && this.leadingLeft <= 0 && !self._canceledDueToError) {
      this.budget.rows++;
      for (const f of msg.fields) if (f) this.budget.bytes += f.length;
      if (this.budget.rows > this.limits.maxRows) self._canceledDueToError = errors.responseTooLarge(`${this.limits.maxRows} rows`);
      else if (this.budget.bytes > this.limits.maxBytes)
        self._canceledDueToError = errors.responseTooLarge(`${this.limits.maxBytes} bytes`);
    }
    (PgQuery.prototype as unknown as { handleDataRow(m: unknown): void }).handleDataRow.call(this, msg);
  }
}

type PipelineClient = pg.PoolClient & { pipeline: boolean };

const lastResult = (res: PgResult | PgResult[]): PgResult => (Array.isArray(res) ? res[res.length - 1]! : res);

const setupDone = new WeakSet<pg.PoolClient>();

export function makeBatchedWithPgClient(pool: pg.Pool, options: BatchedOptions): BatchedWithPgClient {
  const maxPerWrite = options.maxPerWrite ?? 200;
  const stats: BatchedStats = { writes: 0, statements: 0 };
  let queue: Pending[] = [];
  let scheduled = false;
  // Transactions (never issued by a live query) take the ordinary path.
  const fallback = makePipelinedWithPgClient(pool, {
    preparedStatements: options.preparedStatements,
    responseLimits: options.responseLimits,
  });
  const budgets = new WeakMap<object, Budget>();

  const flush = () => {
    scheduled = false;
    const all = queue;
    queue = [];
    for (let i = 0; i < all.length; i += maxPerWrite) void send(all.slice(i, i + maxPerWrite));
  };

  async function send(batch: Pending[]): Promise<void> {
    let client: PipelineClient;
    try {
      client = (await pool.connect()) as PipelineClient;
    } catch (e) {
      for (const p of batch) p.reject(e as Error);
      return;
    }
    let broken: Error | undefined;
    try {
      if (!setupDone.has(client)) {
        setupDone.add(client);
        // A connection lost mid-batch errors every query in it (each cohort
        // gets the error); the client's own 'error' event must not be unhandled.
        client.on("error", () => {});
        // As @dataplan/pg does: JIT optimisation costs more than these short queries save.
        await client.query("set jit_optimize_above_cost = -1");
      }
      const connection = connectionOf(client);
      const results: Array<Promise<unknown>> = [];
      client.pipeline = true;
      connection.stream.cork?.();
      try {
        // A named settings statement this connection has not prepared yet is
        // prepared by a statement of its own, ahead of its first use (its
        // ParseComplete must not be credited to a cohort's statement name).
        for (const p of batch) {
          const lead = p.leading[0];
          if (!lead?.name) continue;
          trackPrepared(client, lead.name);
          if (connection.parsedStatements[lead.name] === lead.text) continue;
          if ((connection as unknown as { submittedNamedStatements: Record<string, string> }).submittedNamedStatements[lead.name]) continue;
          results.push(client.query({ name: lead.name, text: lead.text, values: lead.values }).catch(() => {}));
        }
        for (const p of batch) {
          trackPrepared(client, p.opts.name);
          const steps = p.leading.map((l) => ({ ...l, parse: !l.name }));
          results.push(
            new Promise<void>((resolve) => {
              const query = new MeteredQuery(
                steps,
                { text: p.opts.text, values: p.opts.values ?? [], name: p.opts.name, rowMode: p.opts.arrayMode ? "array" : undefined },
                (err, res) => {
                  if (err) p.reject(err);
                  else p.resolve(lastResult(res));
                  resolve();
                },
              );
              query.budget = p.budget;
              query.leadingLeft = steps.length;
              query.limits = options.responseLimits;
              void client.query(query as never);
            }),
          );
        }
      } finally {
        connection.stream.uncork?.();
      }
      stats.writes++;
      stats.statements += batch.length;
      await Promise.all(results);
    } catch (e) {
      broken = e as Error;
      for (const p of batch) p.reject(e as Error);
    } finally {
      if ((client as unknown as { _queryable?: boolean })._queryable === false) broken ??= new Error("connection lost");
      client.pipeline = false;
      client.release(broken);
    }
  }

  const withPgClient = (async <T>(
    pgSettings: Record<string, string | undefined> | null,
    callback: (client: PgClient) => T | Promise<T>,
  ) => {
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
    let budget: Budget | undefined;
    if (options.responseLimits && pgSettings) {
      budget = budgets.get(pgSettings);
      if (!budget) {
        budget = { rows: 0, bytes: 0 };
        budgets.set(pgSettings, budget);
      }
    }
    const client = {
      query<TData>(opts: PgClientQuery): Promise<PgClientResult<TData>> {
        return new Promise<PgClientResult<TData>>((resolve, reject) => {
          queue.push({
            leading,
            opts: options.preparedStatements ? opts : { ...opts, name: undefined },
            budget,
            resolve: (res) => resolve({ rows: res.rows as TData[], rowCount: res.rowCount }),
            reject,
          });
          if (!scheduled) {
            scheduled = true;
            setImmediate(flush);
          }
        });
      },
      withTransaction: <R>(cb: (c: PgClient) => Promise<R>) => fallback(pgSettings, (c) => c.withTransaction(cb)),
    } as PgClient;
    return callback(client);
  }) as BatchedWithPgClient;
  withPgClient.release = () => {};
  withPgClient.stats = () => ({ ...stats });
  return withPgClient;
}
