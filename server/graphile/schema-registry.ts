/**
 * One PostGraphile instance (and so one GraphQL schema) per application
 * role, built on first use and cached; a second one, the role's backend
 * schema, only for requests that may use its backend-only mutations (the
 * admin secret and `x-hasura-use-backend-only-permissions: true`), built
 * when the first such request comes. `invalidate()` drops them all, e.g.
 * when `npm run dev` re-applies migrations or policies; the next request of
 * each role rebuilds its schema while requests of other roles are served.
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

export interface RoleSchemaStats {
  role: string;
  /** The role's backend schema (backend-only mutations included). */
  backendOnly: boolean;
  buildMs: number;
  heapDeltaBytes: number;
}

interface Entry {
  pgl: PostGraphileInstance;
  serv: Promise<FastifyGrafserv>;
  stats?: RoleSchemaStats;
}

export class SchemaRegistry {
  #entries = new Map<string, Entry>();
  #makePreset: (role: string, backendOnly: boolean) => GraphileConfig.Preset;
  #generation = 0;

  constructor(makePreset: (role: string, backendOnly: boolean) => GraphileConfig.Preset) {
    this.#makePreset = makePreset;
  }

  /** The role's GraphQL server, its schema built and ready; `backendOnly`: its backend schema. */
  get(role: string, backendOnly = false): Promise<FastifyGrafserv> {
    const key = (backendOnly ? "backend:" : "frontend:") + role;
    const existing = this.#entries.get(key);
    if (existing) return existing.serv;
    const pgl = postgraphile(this.#makePreset(role, backendOnly));
    const started = performance.now();
    const heapBefore = process.memoryUsage().heapUsed;
    const entry: Entry = { pgl, serv: Promise.resolve(null as never) };
    entry.serv = (async () => {
      const serv = pgl.createServ(grafserv);
      limitPlanCache(await serv.getSchema());
      entry.stats = {
        role,
        backendOnly,
        buildMs: Math.round(performance.now() - started),
        heapDeltaBytes: process.memoryUsage().heapUsed - heapBefore,
      };
      return serv;
    })();
    // A failed build is not cached: the next request retries.
    entry.serv.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
      void Promise.resolve(pgl.release()).catch(() => {});
    });
    this.#entries.set(key, entry);
    return entry.serv;
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
