/**
 * /readyz of a fleet: each worker reports its own readiness (the checks of
 * server/plugins/health.ts) to the supervisor, which counts the ready ones
 * against how many there should be and tells every worker; each worker's
 * /readyz is 503 unless all are ready, so a load balancer waits for the
 * whole fleet (a worker being replaced counts as not ready).
 */
import type { FastifyInstance } from "fastify";
import type { FleetState, ToSupervisor } from "./messages.ts";

/** Supervisor side: worker id → last reported readiness. */
export class FleetReadiness {
  readonly #ready = new Map<number, boolean>();
  readonly #total: number;

  constructor(total: number) {
    this.#total = total;
  }

  /** Returns whether the fleet's state changed. */
  set(workerId: number, ready: boolean): boolean {
    const before = this.state().ready;
    this.#ready.set(workerId, ready);
    return this.state().ready !== before;
  }

  remove(workerId: number): boolean {
    const before = this.state().ready;
    this.#ready.delete(workerId);
    return this.state().ready !== before;
  }

  state(): FleetState {
    let ready = 0;
    for (const r of this.#ready.values()) if (r) ready++;
    return { ready: Math.min(ready, this.#total), total: this.#total };
  }
}

const POLL_MS = 500;

/** Worker side: sends the worker's readiness whenever it changes, until the returned stop() (at drain). */
export function reportReadiness(app: FastifyInstance, send: (m: ToSupervisor) => void): () => void {
  let last: boolean | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    const ready = await app.localReadiness().catch(() => false);
    if (stopped) return;
    if (ready !== last) send({ type: "ready", ready });
    last = ready;
    timer = setTimeout(() => void poll(), POLL_MS);
    timer.unref();
  };
  void poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (last) send({ type: "ready", ready: false });
  };
}
