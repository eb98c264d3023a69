/**
 * Grafast aborts every request's AbortController when the request is done
 * (grafast/dist/prepare.js: `abortController.abort()`, nothing has failed),
 * and an abort without a reason makes Node build a DOMException with a stack
 * trace: ~15-25 µs per request, most of it capturing the stack.
 *
 * Installed once (a side-effect import of server/graphql/scope.ts): an abort
 * with no reason gets the same default reason (a fresh DOMException,
 * "AbortError", "This operation was aborted", code 20) built without stack
 * frames. An abort given a reason, and everything else about the signal, is
 * unchanged. Process-wide, on purpose: the default reason's stack only ever
 * names the abort() call site, which the caller knows.
 */
const nodeAbort = AbortController.prototype.abort;
// Same attributes as Node's own method; only the default reason differs.
const descriptor = Object.getOwnPropertyDescriptor(AbortController.prototype, "abort");

function abort(this: AbortController, reason?: unknown): void {
  if (reason === undefined) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      reason = new DOMException("This operation was aborted", "AbortError");
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
  nodeAbort.call(this, reason);
}

/** On (the default, from import) or off (Node's own abort; bench/per-core.ts alternates). */
export function setCheapAbort(on: boolean): void {
  Object.defineProperty(AbortController.prototype, "abort", { ...descriptor, value: on ? abort : nodeAbort });
}

setCheapAbort(true);
