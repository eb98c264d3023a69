/**
 * One PostGraphile instance (and so one GraphQL schema) per application
 * role, built on first use and cached; a second one, the role's backend
 * schema, only for requests that may use its backend-only mutations (the
 * admin secret and `x-hasura-use-backend-only-permissions: true`), built
 * when the first such request comes. `invalidate()` drops them all, e.g.
 * when `npm run dev` re-applies migrations or policies; the next request of
 * each role rebuilds its schema while requests of other roles are served.
 *
 * A build that fails because of the schema (two tables with one GraphQL
 * name, say) is kept as failed, reported once (`onBuildFailed`) and given
 * to every later request of that role without building again, /readyz
 * polls included: only `invalidate()` (a watch/notify rebuild) retries it.
 * A build that failed because the database could not be reached is not
 * kept: the next request retries it.
 *
 * Bounded: at most `maxSchemas` are kept (least recently used first out,
 * `pinned` roles never), since each weighs ~7 MB and every worker of
 * `npm start` keeps its own. An evicted role's next request rebuilds it.
 */
import { performance } from "node:perf_hooks";
import type { GraphQLSchema } from "graphql";
import { postgraphile, type PostGraphileInstance } from "postgraphile";
import { grafserv, type FastifyGrafserv } from "postgraphile/grafserv/fastify/v5";

/**
 * Operation plans grafast keeps per schema (its default is 500). A plan of
 * a document at the object-field cap (server/graphql-limits.ts) weighs a few
 * MB; with two dialects and a schema per role, this bounds their memory.
 */
const PLANS_PER_SCHEMA = 100;

function limitPlanCache(schema: GraphQLSchema): void {
  const extensions = schema.extensions as { grafast?: Record<string, unknown> };
  extensions.grafast ??= {};
  extensions.grafast.operationsCacheMaxLength = PLANS_PER_SCHEMA;
}

/**
 * Which of a role's schemas: `frontend` (what its requests see), `backend`
 * (backend-only mutations included, for the admin secret with
 * x-hasura-use-backend-only-permissions), `live` (the query root also has
 * the fields its select declarations offer only on subscription_root: live
 * queries run as queries; built only for a role whose subscription needs it).
 */
export type SchemaKind = "frontend" | "backend" | "live";

export interface RoleSchemaStats {
  role: string;
  kind: SchemaKind;
  buildMs: number;
  heapDeltaBytes: number;
}

interface Entry {
  role: string;
  kind: SchemaKind;
  pgl: PostGraphileInstance;
  serv: Promise<FastifyGrafserv>;
  stats?: RoleSchemaStats;
}

/** A role's schema build that failed for a reason a retry would meet again; kept until invalidate(). */
export class SchemaBuildFailed extends Error {
  readonly role: string;
  /** PostGraphile's error. */
  readonly reason: Error;
  constructor(role: string, reason: Error) {
    super(`the GraphQL schema of role "${role}" could not be built: ${reason.message}`, { cause: reason });
    this.name = "SchemaBuildFailed";
    this.role = role;
    this.reason = reason;
  }
}

export interface SchemaRegistryOptions {
  /** Called once per failed build; `kept`: not retried until invalidate(). */
  onBuildFailed?: (error: Error, info: { role: string; kind: SchemaKind; kept: boolean }) => void;
  /** Schemas kept (every role and kind counts); beyond it the least recently used is released. Default: no bound. */
  maxSchemas?: number;
  /** Roles whose schemas are never evicted (the readiness role: /readyz polls it). */
  pinned?: readonly string[];
  /** Called when a schema is evicted to stay within maxSchemas. */
  onEvicted?: (info: { role: string; kind: SchemaKind }) => void;
}

/**
 * Whether a build failed because the database could not be reached or
 * was busy (SQLSTATE classes 08 connection, 40 rollback, 53 resources, 57
 * operator intervention, 58 system; a socket error; pg-pool's timeout):
 * worth retrying, unlike a schema the build cannot make.
 */
export function isTransientBuildFailure(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e && depth < 8; depth++, e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (/^(08|40|53|57|58)[0-9A-Z]{3}$/.test(code) || /^E[A-Z]+$/.test(code))) return true;
    const message = (e as { message?: unknown }).message;
    if (
      typeof message === "string" &&
      /timeout exceeded when trying to connect|Connection terminated|ECONNREFUSED|ECONNRESET/i.test(message)
    )
      return true;
  }
  return false;
}

export class SchemaRegistry {
  #entries = new Map<string, Entry>();
  #makePreset: (role: string, kind: SchemaKind) => GraphileConfig.Preset;
  #generation = 0;
  #builds = 0;
  #options: SchemaRegistryOptions;

  constructor(makePreset: (role: string, kind: SchemaKind) => GraphileConfig.Preset, options: SchemaRegistryOptions = {}) {
    this.#makePreset = makePreset;
    this.#options = options;
  }

  /** Schema builds started since the server started (each role and kind once, unless invalidated or retried). */
  get builds(): number {
    return this.#builds;
  }

  /** The role's GraphQL server of that kind, its schema built and ready. */
  get(role: string, kind: SchemaKind = "frontend"): Promise<FastifyGrafserv> {
    const key = `${kind}:${role}`;
    const existing = this.#entries.get(key);
    if (existing) {
      // Most recently used last: the map's order is the eviction order.
      if (this.#options.maxSchemas !== undefined) {
        this.#entries.delete(key);
        this.#entries.set(key, existing);
      }
      return existing.serv;
    }
    this.#builds++;
    const pgl = postgraphile(this.#makePreset(role, kind));
    const started = performance.now();
    const heapBefore = process.memoryUsage().heapUsed;
    const entry: Entry = { role, kind, pgl, serv: Promise.resolve(null as never) };
    entry.serv = (async () => {
      const serv = pgl.createServ(grafserv);
      try {
        limitPlanCache(await serv.getSchema());
      } catch (e) {
        if (isTransientBuildFailure(e)) throw e;
        throw new SchemaBuildFailed(role, e as Error);
      }
      entry.stats = {
        role,
        kind,
        buildMs: Math.round(performance.now() - started),
        heapDeltaBytes: process.memoryUsage().heapUsed - heapBefore,
      };
      return serv;
    })();
    entry.serv.catch((e: Error) => {
      const kept = e instanceof SchemaBuildFailed;
      // Not reached the database: the next request retries. Otherwise kept, failed, until invalidate().
      if (!kept && this.#entries.get(key) === entry) this.#entries.delete(key);
      void Promise.resolve(pgl.release()).catch(() => {});
      this.#options.onBuildFailed?.(kept ? e.reason : e, { role, kind, kept });
    });
    this.#entries.set(key, entry);
    this.#evictBeyondBound();
    return entry.serv;
  }

  /** Schemas kept now (built, building or failed). */
  get size(): number {
    return this.#entries.size;
  }

  #evictBeyondBound(): void {
    const max = this.#options.maxSchemas;
    if (max === undefined) return;
    const pinned = this.#options.pinned ?? [];
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= max) break;
      if (pinned.includes(entry.role)) continue;
      this.#entries.delete(key);
      this.#options.onEvicted?.({ role: entry.role, kind: entry.kind });
      void this.#release(entry);
    }
  }

  /** Whether the role's schema has been built (for /readyz). */
  async isReady(role: string): Promise<boolean> {
    try {
      await this.get(role);
      return true;
    } catch {
      return false;
    }
  }

  stats(): RoleSchemaStats[] {
    return [...this.#entries.values()].flatMap((e) => (e.stats ? [e.stats] : []));
  }

  get generation(): number {
    return this.#generation;
  }

  /** Forget every built schema; each is rebuilt on its next request. */
  invalidate(): void {
    this.#generation++;
    const old = [...this.#entries.values()];
    this.#entries.clear();
    for (const entry of old) void this.#release(entry);
  }

  async release(): Promise<void> {
    const old = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(old.map((e) => this.#release(e)));
  }

  async #release(entry: Entry): Promise<void> {
    // In-flight requests hold their own reference to the schema; releasing
    // the instance only stops it from being used for new ones.
    await entry.serv.then(
      (s) => s.release(),
      () => {},
    );
    await Promise.resolve(entry.pgl.release()).catch(() => {});
  }
}
