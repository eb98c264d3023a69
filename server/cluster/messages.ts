/** What the supervisor and its workers tell each other over node:cluster's IPC channel. */

/** How many workers are ready, of how many there should be. */
export interface FleetState {
  ready: number;
  total: number;
}

export type ToWorker =
  /** The database the supervisor prepared; sent once, right after fork (never logged: it holds a password). */
  | { type: "start"; runtimeUrl: string; listenUrl: string; poolSize: number; fleet: FleetState }
  | { type: "fleet"; fleet: FleetState }
  /** Stop accepting, answer in-flight requests, close, exit 0. */
  | { type: "drain" };

export type ToSupervisor =
  /** The port it listens on (PORT=0 picks one). */
  | { type: "listening"; port: number }
  /** The worker's own /readyz checks (database and readiness schema), on every change. */
  | { type: "ready"; ready: boolean }
  /** Start-up failed: one line, as describeStartupError words it; the worker exits 1 next. */
  | { type: "failed"; message: string };
