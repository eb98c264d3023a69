/** WebSocket clients for the subscription tests: graphql-ws's, and a raw socket for either protocol. */
import { createClient, type Client } from "graphql-ws";
import type { Test } from "tap";
import WebSocket from "ws";
import type { TestServer } from "./server.ts";

export function wsUrl(server: TestServer, path = "/v1/graphql"): string {
  return server.url.replace(/^http/, "ws") + path;
}

export function transportClient(
  t: Test,
  url: string,
  headers: Record<string, string>,
  extra: Partial<Parameters<typeof createClient>[0]> = {},
): Client {
  const client = createClient({ url, webSocketImpl: WebSocket, connectionParams: { headers }, retryAttempts: 0, lazy: false, ...extra });
  t.teardown(() => client.dispose());
  return client;
}

/** Results of a subscription as they arrive, and the first `n` of them. */
export function collect(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const results: any[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let failure: unknown;
  const stop = client.subscribe(
    { query, variables },
    {
      next: (r) => {
        results.push(r);
        for (const w of waiters.filter((w) => results.length >= w.n)) w.resolve();
      },
      error: (e) => {
        failure = e;
        for (const w of waiters) w.resolve();
      },
      complete: () => {},
    },
  );
  return {
    results,
    stop,
    get failure() {
      return failure;
    },
    atLeast: (n: number, ms = 8_000) =>
      new Promise<void>((resolve, reject) => {
        if (results.length >= n) return resolve();
        const timer = setTimeout(() => reject(new Error(`only ${results.length} results after ${ms} ms`)), ms);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      }),
  };
}

/** A raw socket speaking `protocol`: its messages and how it closed. */
export async function rawSocket(url: string, protocol: string | string[] | undefined) {
  const ws = new WebSocket(url, protocol);
  const messages: any[] = [];
  ws.on("message", (d) => messages.push(JSON.parse(String(d))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const next = async (type: string, ms = 8_000) => {
    const start = Date.now();
    for (;;) {
      const i = messages.findIndex((m) => m.type === type);
      if (i >= 0) return messages.splice(i, 1)[0];
      if (Date.now() - start > ms) throw new Error(`no ${type} message within ${ms} ms (got ${JSON.stringify(messages)})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { ws, messages, closed, next, send: (m: unknown) => ws.send(JSON.stringify(m)) };
}
