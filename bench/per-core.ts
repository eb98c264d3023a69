/**
 * `npm run bench:per-core [-- --blocks 30 --block 400 --concurrency 8 --alloc]`: the
 * server's own CPU time per W1 request with and without each per-request
 * saving, A/B in one process so that the machine's other load hits both
 * sides alike (on a shared 2-core machine wall-clock rates, and even CPU
 * time across processes minutes apart, move with whatever else runs).
 *
 * The app as `npm start` builds it (buildApp, production settings, JWT),
 * against a throwaway PostgreSQL (school model, scale 1); W1 (bench/run.ts's
 * workload 1) sent through Fastify's inject (no sockets: the HTTP parser and
 * socket writes are not in the numbers), --concurrency at a time. Blocks of
 * --block requests rotate through the variants (the order rotating every
 * round); per block the process's CPU time (process.cpuUsage, user + system,
 * this thread and V8's GC helpers) ÷ requests. Printed: per variant the
 * median µs per request and, per variant, the median over rounds of its
 * paired ratio to the baseline of the same round.
 *
 *   base       Node's own AbortController.abort, no SQL cache
 *   abort      server/graphql/cheap-abort.ts
 *   abort+sql  and HASURA_GRAPHQL_EXPERIMENTAL_SQL_CACHE (server/graphile/SqlCache.ts)
 *
 * --alloc instead prints the bytes allocated per request by owner (package
 * or file) and allocation site, from V8's sampling heap profiler with
 * collected objects included (--variant, default abort; every block in a row);
 * with --promoted, only what outlived the young generation (promoted).
 */
import "../server/env.ts";
import { randomBytes } from "node:crypto";
import { Session } from "node:inspector/promises";
import { parseArgs } from "node:util";
import { buildApp } from "../server/app.ts";
import { mintToken } from "../server/cli/token.ts";
import { loadConfig } from "../server/config.ts";
import { setSqlCache } from "../server/graphile/SqlCache.ts";
import { setCheapAbort } from "../server/graphql/cheap-abort.ts";
import { startBenchCluster } from "./lib/cluster.ts";
import { rootQuery, seedSchoolAt } from "./lib/seed.ts";

const { values: args } = parseArgs({
  options: {
    blocks: { type: "string", default: "30" },
    block: { type: "string", default: "400" },
    concurrency: { type: "string", default: "8" },
    /** Instead: bytes allocated per request by owner (package or file), from V8's sampling heap profiler, collected objects included. */
    alloc: { type: "boolean", default: false },
    /** With --alloc: only what survived the young generation (promoted, or still live at the end). */
    promoted: { type: "boolean", default: false },
    /** The variant --alloc measures. */
    variant: { type: "string", default: "abort" },
  },
});
const rounds = Number(args.blocks);
const blockSize = Number(args.block);
const concurrency = Number(args.concurrency);

const VARIANTS = {
  base: () => {
    setCheapAbort(false);
    setSqlCache(false);
  },
  abort: () => {
    setCheapAbort(true);
    setSqlCache(false);
  },
  "abort+sql": () => {
    setCheapAbort(true);
    setSqlCache(true);
  },
} as const;
type Variant = keyof typeof VARIANTS;
const names = Object.keys(VARIANTS) as Variant[];

const bench = await startBenchCluster([{ database: "app", dir: "." }]);
try {
  const db = bench.databases.app!;
  await seedSchoolAt(db.rootUrl, 1);
  const [user] = await rootQuery<{ id: number }>(
    db.rootUrl,
    `select "userId" as id from public.result where path like '/seed/%' group by 1 having count(*) >= 10 order by 1 limit 1`,
  );
  if (!user) throw new Error("no user with 10 results");
  const env = {
    NODE_ENV: "production",
    LOG_LEVEL: "error",
    HASURA_GRAPHQL_ADMIN_SECRET: randomBytes(24).toString("base64url"),
    HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ type: "HS256", key: randomBytes(32).toString("base64url") }),
    HASURA_GRAPHQL_UNAUTHORIZED_ROLE: "anonymous",
    PROJECT_DIR: db.projectDir,
    DATABASE_URL: db.runtimeUrl,
  };
  const app = await buildApp({ config: loadConfig(env), databaseUrl: db.runtimeUrl });
  await app.ready();
  const token = await mintToken(env, { role: "user", userId: String(user.id), expiresIn: "12h" });
  const payload = JSON.stringify({
    query: `query W1($uid: Int!) { allResults(condition: {userId: $uid}, orderBy: ID_DESC, first: 10) { nodes { id grade createdAt path objectByObjectId { name } } } }`,
    variables: { uid: user.id },
  });
  const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
  let expected: string | undefined;
  const one = async () => {
    const res = await app.inject({ method: "POST", url: "/graphql", headers, payload });
    expected ??= res.body;
    if (res.statusCode !== 200 || res.body !== expected) throw new Error(`W1 answered ${res.statusCode} ${res.body.slice(0, 300)}`);
  };
  const block = async (n: number) => {
    let sent = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < n) {
          sent++;
          await one();
        }
      }),
    );
  };
  await one();
  if (!expected?.includes('"allResults"')) throw new Error(`W1 answered ${expected}`);
  // Warm-up: every variant's code paths compiled.
  for (const v of names) {
    VARIANTS[v]();
    await block(blockSize * 2);
  }
  if (args.alloc) {
    const v = args.variant as Variant;
    if (!names.includes(v)) throw new Error(`--variant: one of ${names.join(", ")}`);
    VARIANTS[v]();
    console.log(`variant ${v}`);
    await allocationByOwner(() => block(blockSize * rounds), blockSize * rounds);
    await app.close();
    process.exit(0);
  }
  const perRequest: Record<Variant, number[]> = { base: [], abort: [], "abort+sql": [] };
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const v = names[(i + r) % names.length]!;
      VARIANTS[v]();
      const cpu0 = process.cpuUsage();
      await block(blockSize);
      const cpu = process.cpuUsage(cpu0);
      perRequest[v].push((cpu.user + cpu.system) / blockSize);
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  console.log(
    `W1 via inject, ${concurrency} at a time, ${rounds} rounds × ${blockSize} requests per variant; CPU µs per request (user + system)`,
  );
  for (const v of names) {
    const ratio = median(perRequest[v].map((x, i) => x / perRequest.base[i]!));
    console.log(
      `${v.padEnd(10)} median ${median(perRequest[v]).toFixed(1).padStart(7)} µs  min ${Math.min(...perRequest[v])
        .toFixed(1)
        .padStart(7)}  paired ratio to base ${ratio.toFixed(3)}`,
    );
  }
  await app.close();
} finally {
  await bench.stop();
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SamplingNode[];
}
/** Bytes allocated per request while `run` runs, by the package or repository file of the allocating frame (and its top sites). */
async function allocationByOwner(run: () => Promise<void>, requests: number): Promise<void> {
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: !args.promoted,
  });
  await run();
  const { profile } = (await session.post("HeapProfiler.stopSampling")) as unknown as { profile: { head: SamplingNode } };
  session.disconnect();
  const owners = new Map<string, number>();
  const sites = new Map<string, number>();
  let total = 0;
  const ownerOf = (url: string) =>
    /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? /\/((?:server|bench)\/.*)$/.exec(url)?.[1] ?? (url || "(native)");
  const walk = (n: SamplingNode, ours: string | undefined) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const owner = ownerOf(url);
    // Our code's share includes what the node: built-ins it calls allocate.
    const attributed = owner.startsWith("node:") && ours ? ours : owner;
    if (n.selfSize) {
      owners.set(attributed, (owners.get(attributed) ?? 0) + n.selfSize);
      const site = `${functionName || "(anonymous)"} ${url.replace(/^.*node_modules\//, "").replace(/^.*\/(server|bench)\//, "$1/")}:${lineNumber + 1}`;
      sites.set(site, (sites.get(site) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c, owner.startsWith("server/") ? owner : owner.startsWith("node:") ? ours : undefined);
  };
  walk(profile.head, undefined);
  const kb = (b: number) => (b / 1024 / requests).toFixed(2).padStart(8);
  console.log(
    `${args.promoted ? "surviving the young generation" : "allocated"} per request (sampled): ${kb(total)} KB; by owner (KB per request):`,
  );
  for (const [o, b] of [...owners].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${kb(b)}  ${o}`);
  console.log("top allocation sites (KB per request):");
  for (const [o, b] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${kb(b)}  ${o}`);
  console.log("this repository's sites (KB per request):");
  for (const [o, b] of [...sites]
    .filter(([s]) => / server\//.test(s))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20))
    console.log(`${kb(b)}  ${o}`);
}
