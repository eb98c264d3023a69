/**
 * The live-query multiplexer: subscriptions → pollers → cohorts →
 * subscribers, as Hasura's (compat facts §10), under RLS.
 *
 * A poller is one query shape for one role: (dialect, role, backendOnly,
 * schema identity, printed query document, operationName). A cohort is the
 * subscribers of a poller that agree on their GraphQL variables and on the
 * session variables the role's policies read (./session-keys.ts): one
 * execution serves them all. Each poller has one timer; each tick executes
 * its cohorts, `batchSize` at a time, through grafast exactly as an HTTP
 * query (hookArgs + execute, the role preset's context and RLS), with the
 * batched withPgClient (./batched-pg.ts) so one batch's statements travel
 * in one network write, each cohort in its own transaction.
 *
 * Live queries: the result is hashed and pushed only when it changed (the
 * first always); a new subscriber of a cohort gets its last result at once.
 * A tick first replays a cohort's last SQL statements and compares their
 * rows (see Replay below): grafast runs again only for cohorts whose rows
 * changed, so an unchanged cohort costs one statement in a shared write.
 * Errors are results too: a cohort whose execution fails (GraphQL errors,
 * a thrown error, the database down) gets the error in Hasura's shape,
 * once until it changes, and the poller goes on; other cohorts are never
 * affected, and a cohort recovers on a later tick.
 *
 * Streams (`t_stream`): each cohort keeps its cursor, advanced after each
 * delivered batch. A poll that returns no rows sends nothing (Hasura's SQL
 * returns a row per cohort even when empty, #9994, but an empty batch
 * carries nothing for the client). A stream cohort that has advanced takes
 * no new subscribers (they would miss rows): they start their own.
 *
 * Pollers stop when their last subscriber leaves (Hasura's #9963).
 */
import { hash } from "node:crypto";
import type { PgClient, PgClientQuery, PgClientResult, WithPgClient } from "@dataplan/pg";
import { execute, hookArgs } from "grafast";
import { print, type DocumentNode, type GraphQLError, type GraphQLSchema } from "graphql";
import type { HasuraSession } from "../auth/pg-settings.ts";
import { errors, type HasuraError } from "../errors.ts";
import { toHasuraError, type ErrorContext } from "../to-hasura-error.ts";
import type { ReadVariables, SessionKeys } from "./session-keys.ts";

/** One streaming root field of the query document (S1's live-operation.ts). */
export interface StreamField {
  alias: string;
  cursorColumns: Array<{ name: string; ordering: "ASC" | "DESC" }>;
  batchSize: number;
  /** The injected cursor variable; its initial value is in the request's variables under this name. */
  variableName: string;
}

export interface LiveRequest {
  dialect: "hasura" | "postgraphile";
  session: HasuraSession;
  schema: GraphQLSchema;
  resolvedPreset: GraphileConfig.ResolvedPreset;
  /** The validated *query* document (after toLiveOperation). */
  document: DocumentNode;
  operationName?: string;
  variables: Record<string, unknown>;
  /** [] for live queries. */
  streams: StreamField[];
  /** `{ hasuraSession }`. */
  requestContext: Partial<Grafast.RequestContext>;
}

export interface LiveResult {
  data?: unknown;
  errors?: unknown[];
}

export interface LiveEngineStats {
  pollers: number;
  cohorts: number;
  subscribers: number;
  /** Cohort executions through grafast since start. */
  executions: number;
  /** Replays (statements re-sent, rows compared), and those that found nothing changed. */
  replays: number;
  replayHits: number;
  /** Ticks since start, and their total duration (ms). */
  ticks: number;
  tickMs: number;
}

export interface LiveEngine {
  /** Throws a HasuraError when the engine is at its bounds or closed. Returns unsubscribe. */
  subscribe(req: LiveRequest, push: (result: LiveResult) => void): () => void;
  stats(): LiveEngineStats;
  close(): Promise<void>;
}

export interface LiveEngineOptions {
  /** HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_REFETCH_INTERVAL (ms). */
  intervalMs?: number;
  /** HASURA_GRAPHQL_LIVE_QUERIES_MULTIPLEXED_BATCH_SIZE. */
  batchSize?: number;
  /** HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_REFETCH_INTERVAL (ms). */
  streamIntervalMs?: number;
  /** HASURA_GRAPHQL_STREAMING_QUERIES_MULTIPLEXED_BATCH_SIZE. */
  streamBatchSize?: number;
  /** Re-send a live query's last statements and compare their rows before executing it again (default true; needs withPgClient). */
  replay?: boolean;
  /**
   * Run a tick's batches at the same time (default true): each batch is one
   * write on its own pooled connection, and grafast's CPU work for one batch
   * overlaps another's round trip. Measured (bench:subscriptions, 1,000
   * subscribers whose rows all change every second): in turn, a tick took
   * ~700 ms (p99 1.74 s).
   */
  concurrentBatches?: boolean;
  /** The poller's withPgClient (./batched-pg.ts); absent: the role preset's own. */
  withPgClient?: WithPgClient;
  /** Which session variables a role reads; absent: all of them (no sharing across sessions). */
  sessionKeys?: SessionKeys;
  /** Next cursor value of a stream from a delivered result; undefined: no rows. */
  nextCursor?: (stream: StreamField, data: unknown) => unknown;
  errorContext?: ErrorContext;
  log?: (err: unknown) => void;
  /** Bounds (default: none). */
  maxSubscribers?: number;
  maxCohorts?: number;
}

interface Subscriber {
  push: (result: LiveResult) => void;
  active: boolean;
  cohort?: Cohort;
}

interface Cohort {
  key: string;
  poller: Poller;
  variables: Record<string, unknown>;
  requestContext: Partial<Grafast.RequestContext>;
  subscribers: Set<Subscriber>;
  lastHash?: string;
  lastResult?: LiveResult;
  /** Streams: the cursor values, one per stream. */
  cursors: unknown[];
  /** Streams: delivered a batch (takes no new subscribers). */
  advanced: boolean;
  /** Live queries: the statements of the last full execution and the hash of what they returned. */
  replay?: Replay;
  running: boolean;
}

interface Poller {
  key: string;
  schema: GraphQLSchema;
  resolvedPreset: GraphileConfig.ResolvedPreset;
  document: DocumentNode;
  operationName?: string;
  streams: StreamField[];
  cohorts: Set<Cohort>;
  /** Cohorts new subscribers may join, by key. */
  joinable: Map<string, Cohort>;
  /** The SQL texts its cohorts replay, one copy each. */
  texts: Map<string, string>;
  intervalMs: number;
  batchSize: number;
  timer?: NodeJS.Timeout;
  ticking?: Promise<void>;
  stopped: boolean;
}

const schemaIds = new WeakMap<GraphQLSchema, number>();
let nextSchemaId = 1;
const schemaId = (s: GraphQLSchema) => {
  let id = schemaIds.get(s);
  if (id === undefined) {
    id = nextSchemaId++;
    schemaIds.set(s, id);
  }
  return id;
};
const printed = new WeakMap<DocumentNode, string>();
const printOnce = (d: DocumentNode) => {
  let text = printed.get(d);
  if (text === undefined) {
    text = print(d);
    printed.set(d, text);
  }
  return text;
};

/** JSON with object keys sorted, so equal variables give equal keys. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v as object)
            .sort()
            .map((k) => [k, (v as Record<string, unknown>)[k]]),
        )
      : v,
  );
}

/** The part of a session a cohort is keyed on. */
function sessionPart(session: HasuraSession, read: ReadVariables): unknown {
  if (read.all) return { v: session.variables, c: session.claims };
  return read.names.map((n) => session.variables[n] ?? null);
}

// One-shot hashing (node:crypto hash, Node ≥ 21.7): cheaper than a Hash object per call.
const sha1 = (s: string) => hash("sha1", s, "base64");

/**
 * Replay: a live query's result is a function of its document, variables
 * and session, and of what its SQL statements return. So a tick first
 * re-sends the statements of the cohort's last full execution (same text
 * and values, under its settings, through the batched client: one
 * statement per cohort, no grafast) and hashes their rows; equal to the
 * last hash, the result cannot have changed and nothing more is done.
 * Otherwise grafast executes the operation again (its statements may now
 * differ, e.g. a later statement's values came from an earlier one's rows)
 * and the new statements are recorded; a statement it sends unchanged is
 * answered with the rows the replay just fetched (no second round trip). An execution that used a
 * transaction or more than one settings object is not replayed.
 */
interface Replay {
  pgSettings: Record<string, string | undefined> | null;
  statements: PgClientQuery[];
  hash: string;
}

function rowsHash(results: ReadonlyArray<{ rows: readonly unknown[] }>): string {
  let text = "";
  for (const r of results) text += `${JSON.stringify(r.rows)}\u0000`;
  return sha1(text);
}

/**
 * What a replay fetched when the rows differed: the execution that follows
 * takes a statement's rows from here when it sends the same statement
 * (text, values, row mode) rather than asking again.
 */
interface Primed {
  statements: PgClientQuery[];
  results: Array<PgClientResult<unknown>>;
  used: boolean[];
  /** rowsHash(results). */
  hash: string;
}

const sameStatement = (a: PgClientQuery, b: PgClientQuery): boolean => {
  if (a.text !== b.text || !a.arrayMode !== !b.arrayMode) return false;
  const av = a.values ?? [];
  const bv = b.values ?? [];
  if (av.length !== bv.length) return false;
  // Values are text or numbers; anything else compares by identity (then it is simply asked again).
  for (let i = 0; i < av.length; i++) if (av[i] !== bv[i]) return false;
  return true;
};

/** The replay's result for this statement (issued at `position`), once. */
function takePrimed(primed: Primed, position: number, q: PgClientQuery): PgClientResult<unknown> | undefined {
  const at = (i: number) => {
    primed.used[i] = true;
    return primed.results[i];
  };
  if (position < primed.statements.length && !primed.used[position] && sameStatement(primed.statements[position]!, q)) return at(position);
  for (let i = 0; i < primed.statements.length; i++) if (!primed.used[i] && sameStatement(primed.statements[i]!, q)) return at(i);
  return undefined;
}

/**
 * A withPgClient that records the statements of one execution and their
 * rows, in the order they were issued; statements a replay just fetched
 * are answered from `primed`.
 */
function record(inner: WithPgClient, primed?: Primed) {
  const issued: Array<{ opts: PgClientQuery; result: Promise<{ rows: readonly unknown[] }>; primedAt: boolean }> = [];
  let settings: Record<string, string | undefined> | null | undefined;
  let usable = true;
  const withPgClient = (async (pgSettings: Record<string, string | undefined> | null, callback: (c: PgClient) => unknown) => {
    if (settings === undefined) settings = pgSettings;
    else if (settings !== pgSettings) usable = false;
    return inner(pgSettings, (client) =>
      callback({
        query(opts: PgClientQuery) {
          const position = issued.length;
          const ready = primed && takePrimed(primed, position, opts);
          const result = ready ? Promise.resolve(ready) : client.query(opts);
          // Whether this statement got the replay's result at the same position.
          const primedAt = !!ready && primed!.results[position] === ready;
          issued.push({ opts, result: result as Promise<{ rows: readonly unknown[] }>, primedAt });
          return result;
        },
        withTransaction(cb: (c: PgClient) => Promise<unknown>) {
          usable = false;
          return client.withTransaction(cb);
        },
      } as PgClient),
    );
  }) as WithPgClient;
  withPgClient.release = () => {};
  return {
    withPgClient,
    async replay(): Promise<Replay | undefined> {
      if (!usable || settings === undefined) return undefined;
      try {
        const results = await Promise.all(issued.map((i) => i.result));
        // The same statements answered with the replay's rows in its order: its hash is this one.
        const same = primed !== undefined && issued.length === primed.statements.length && issued.every((i) => i.primedAt);
        return { pgSettings: settings, statements: issued.map((i) => i.opts), hash: same ? primed.hash : rowsHash(results) };
      } catch {
        return undefined;
      }
    },
  };
}

/** true when the recorded statements still return what they did; else what they return now (none if one failed). */
async function replayed(withPgClient: WithPgClient, replay: Replay): Promise<true | Primed | undefined> {
  try {
    // A fresh settings object: response bounds are counted per object (per execution).
    const results = await withPgClient(replay.pgSettings && { ...replay.pgSettings }, (client) =>
      Promise.all(replay.statements.map((q) => client.query(q))),
    );
    const hash = rowsHash(results);
    if (hash === replay.hash) return true;
    return { statements: replay.statements, results, used: replay.statements.map(() => false), hash };
  } catch {
    return undefined;
  }
}

/** Hasura's error entry. */
const entryOf = (e: HasuraError) => ({ message: e.message, extensions: { path: e.path, code: e.code } });

/** The last row's cursor value of a stream's list (one cursor column, as Hasura). */
export function defaultNextCursor(stream: StreamField, data: unknown): unknown {
  const rows = (data as Record<string, unknown> | null)?.[stream.alias];
  if (!Array.isArray(rows) || rows.length === 0) return undefined;
  const last = rows[rows.length - 1] as Record<string, unknown>;
  return last[stream.cursorColumns[0]!.name];
}

export function createLiveEngine(opts: LiveEngineOptions = {}): LiveEngine {
  const intervalMs = opts.intervalMs ?? 1000;
  const batchSize = opts.batchSize ?? 100;
  const streamIntervalMs = opts.streamIntervalMs ?? 1000;
  const streamBatchSize = opts.streamBatchSize ?? 100;
  const nextCursor = opts.nextCursor ?? defaultNextCursor;
  const log = opts.log ?? (() => {});
  const pollers = new Map<string, Poller>();
  let subscribers = 0;
  let cohorts = 0;
  let executions = 0;
  let replays = 0;
  let replayHits = 0;
  let ticks = 0;
  let tickMs = 0;
  let closed = false;

  const toError = (thrown: unknown): HasuraError => {
    const e = toHasuraError(thrown, opts.errorContext);
    if (e) {
      if (e.statusCode >= 500) log(thrown);
      return e;
    }
    log(thrown);
    return errors.databaseQueryError();
  };

  /** Push to every subscriber of the cohort; a failing push affects no one else. */
  function deliver(cohort: Cohort, result: LiveResult, hash?: string) {
    if (hash !== undefined) {
      cohort.lastHash = hash;
      cohort.lastResult = result;
    }
    for (const sub of cohort.subscribers) {
      try {
        sub.push(result);
      } catch (e) {
        log(e);
      }
    }
  }

  async function run(cohort: Cohort): Promise<void> {
    const poller = cohort.poller;
    if (cohort.running) return;
    cohort.running = true;
    try {
      const live = poller.streams.length === 0;
      let primed: Primed | undefined;
      if (live && cohort.replay && opts.withPgClient) {
        replays++;
        const outcome = await replayed(opts.withPgClient, cohort.replay);
        if (outcome === true) {
          replayHits++;
          return;
        }
        primed = outcome;
      }
      cohort.replay = undefined;
      const variableValues = { ...cohort.variables };
      poller.streams.forEach((s, i) => {
        variableValues[s.variableName] = cohort.cursors[i];
      });
      const args = await hookArgs({
        schema: poller.schema,
        document: poller.document,
        variableValues,
        operationName: poller.operationName,
        resolvedPreset: poller.resolvedPreset,
        requestContext: cohort.requestContext,
      });
      const recorder = opts.withPgClient && live && opts.replay !== false ? record(opts.withPgClient, primed) : undefined;
      const withPgClient = recorder?.withPgClient ?? opts.withPgClient;
      if (withPgClient) (args.contextValue as { withPgClient?: WithPgClient }).withPgClient = withPgClient;
      executions++;
      const result = (await execute(args)) as { data?: unknown; errors?: readonly GraphQLError[] };
      if (Symbol.asyncIterator in result) throw errors.streamingNotSupported();
      if (cohort.subscribers.size === 0) return;
      if (result.errors?.length) {
        const failed = { errors: result.errors.map((e) => entryOf(toError(e))) };
        const hash = sha1(JSON.stringify(failed));
        if (hash !== cohort.lastHash) deliver(cohort, failed, hash);
        return;
      }
      const payload: LiveResult = { data: result.data };
      if (live) {
        cohort.replay = await recorder?.replay();
        // Every cohort of a poller sends the same texts: keep one copy of each.
        if (cohort.replay)
          cohort.replay.statements = cohort.replay.statements.map((q) => {
            const text = poller.texts.get(q.text);
            if (text === undefined) poller.texts.set(q.text, q.text);
            return text === undefined ? q : { ...q, text };
          });
        const hash = sha1(JSON.stringify(payload));
        if (hash !== cohort.lastHash) deliver(cohort, payload, hash);
        return;
      }
      let rows = false;
      const next = poller.streams.map((s, i) => {
        const value = nextCursor(s, result.data);
        if (value === undefined) return cohort.cursors[i];
        rows = true;
        return value;
      });
      cohort.lastHash = undefined; // a later error is news again
      if (!rows) return;
      cohort.cursors = next;
      if (!cohort.advanced) {
        cohort.advanced = true;
        if (poller.joinable.get(cohort.key) === cohort) poller.joinable.delete(cohort.key);
      }
      deliver(cohort, payload);
    } catch (thrown) {
      if (cohort.subscribers.size === 0) return;
      const failed = { errors: [entryOf(toError(thrown))] };
      const hash = sha1(JSON.stringify(failed));
      if (hash !== cohort.lastHash) deliver(cohort, failed, hash);
    } finally {
      cohort.running = false;
    }
  }

  async function tick(poller: Poller): Promise<void> {
    const started = Date.now();
    const list = [...poller.cohorts];
    const batches: Cohort[][] = [];
    for (let i = 0; i < list.length; i += poller.batchSize) batches.push(list.slice(i, i + poller.batchSize));
    if (opts.concurrentBatches !== false) await Promise.all(batches.map((b) => Promise.all(b.map(run))));
    else for (const b of batches) await Promise.all(b.map(run));
    ticks++;
    tickMs += Date.now() - started;
    if (!poller.stopped) schedule(poller, Math.max(0, poller.intervalMs - (Date.now() - started)));
  }

  function schedule(poller: Poller, delay: number) {
    poller.timer = setTimeout(() => {
      poller.timer = undefined;
      poller.ticking = tick(poller).catch(log);
    }, delay);
  }

  function stop(poller: Poller) {
    poller.stopped = true;
    if (poller.timer) clearTimeout(poller.timer);
    if (pollers.get(poller.key) === poller) pollers.delete(poller.key);
  }

  function leave(sub: Subscriber) {
    if (!sub.active) return;
    sub.active = false;
    const cohort = sub.cohort;
    if (!cohort) return;
    subscribers--;
    cohort.subscribers.delete(sub);
    if (cohort.subscribers.size > 0) return;
    const poller = cohort.poller;
    poller.cohorts.delete(cohort);
    cohorts--;
    if (poller.joinable.get(cohort.key) === cohort) poller.joinable.delete(cohort.key);
    if (poller.cohorts.size === 0) stop(poller);
  }

  async function join(req: LiveRequest, sub: Subscriber): Promise<void> {
    const read: ReadVariables = opts.sessionKeys ? await opts.sessionKeys(req.session.role, req.schema) : { all: true };
    if (!sub.active || closed) return;
    const pollerKey = [
      req.dialect,
      req.session.role,
      req.session.backendOnly ? "backend" : "",
      schemaId(req.schema),
      req.operationName ?? "",
      printOnce(req.document),
    ].join("\u0000");
    const cohortKey = canonicalJson({ v: req.variables, s: sessionPart(req.session, read) });
    let poller = pollers.get(pollerKey);
    const fresh = !poller;
    if (!poller) {
      const streaming = req.streams.length > 0;
      poller = {
        key: pollerKey,
        schema: req.schema,
        resolvedPreset: req.resolvedPreset,
        document: req.document,
        operationName: req.operationName,
        streams: req.streams,
        cohorts: new Set(),
        joinable: new Map(),
        texts: new Map(),
        intervalMs: streaming ? streamIntervalMs : intervalMs,
        batchSize: streaming ? streamBatchSize : batchSize,
        stopped: false,
      };
      pollers.set(pollerKey, poller);
    }
    let cohort = poller.joinable.get(cohortKey);
    if (!cohort) {
      if (opts.maxCohorts !== undefined && cohorts >= opts.maxCohorts) {
        if (fresh) stop(poller);
        throw errors.overloaded(`${opts.maxCohorts} live query cohorts`);
      }
      cohort = {
        key: cohortKey,
        poller,
        variables: req.variables,
        requestContext: req.requestContext,
        subscribers: new Set(),
        cursors: req.streams.map((s) => req.variables[s.variableName]),
        advanced: false,
        running: false,
      };
      poller.cohorts.add(cohort);
      poller.joinable.set(cohortKey, cohort);
      cohorts++;
    }
    cohort.subscribers.add(sub);
    sub.cohort = cohort;
    if (cohort.lastResult) sub.push(cohort.lastResult);
    else if (!fresh) void run(cohort); // its first result now rather than at the next tick
    if (fresh) schedule(poller, 0);
  }

  return {
    subscribe(req, push) {
      if (closed) throw errors.overloaded("the server is shutting down");
      if (opts.maxSubscribers !== undefined && subscribers >= opts.maxSubscribers)
        throw errors.overloaded(`${opts.maxSubscribers} live queries`);
      const sub: Subscriber = { push, active: true };
      subscribers++;
      join(req, sub).catch((thrown) => {
        if (!sub.active) return;
        try {
          push({ errors: [entryOf(toError(thrown))] });
        } catch (e) {
          log(e);
        }
        if (!sub.cohort) {
          sub.active = false;
          subscribers--;
        }
      });
      return () => {
        if (sub.active && !sub.cohort) {
          sub.active = false;
          subscribers--;
          return;
        }
        leave(sub);
      };
    },
    stats: () => ({ pollers: pollers.size, cohorts, subscribers, executions, replays, replayHits, ticks, tickMs }),
    async close() {
      closed = true;
      const ticking: Array<Promise<void> | undefined> = [];
      for (const poller of [...pollers.values()]) {
        ticking.push(poller.ticking);
        stop(poller);
      }
      await Promise.all(ticking);
    },
  };
}
