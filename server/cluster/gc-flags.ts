/**
 * The V8 flags every worker starts with (server/cluster/supervisor.ts). A
 * larger young generation lets a request's short-lived garbage (~190 KB
 * each) die there instead of being promoted, so fewer full mark-compacts
 * land in the latency tail. The value is measured with `--trace-gc`.
 *
 * 64 MB, measured with bench/gc.ts (W1, `--trace-gc-nvp`, README "Per-core
 * speed"): scavenges per 10k requests 140 at 16 MB, 69 at 32, 38 at 64;
 * bytes promoted per request ~9 KB at every size (what survives lives
 * longer than any of these young generations), so a smaller value only adds
 * scavenges (pauses in the tail). 64 is what V8 picks by itself on a machine
 * with a ~4 GB heap limit; stated here so smaller machines, where V8 would
 * pick less, start workers the same. Cost: up to 2 × 64 MB of young
 * generation per worker.
 */
export const MAX_SEMI_SPACE_SIZE_MB = 64;

export function workerExecArgv(): string[] {
  return [`--max-semi-space-size=${MAX_SEMI_SPACE_SIZE_MB}`];
}
