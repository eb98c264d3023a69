/**
 * Work on a user's database that must leave no trace: everything runs in one
 * transaction that is always rolled back (`npm run import:hasura -- <export>
 * --database-url <url>` tries the generated policies there to write
 * policies.expected.md and the comparison, and changes nothing).
 *
 * Catalog readers open their own transaction (`begin read only` … `commit`,
 * permissions/catalog.ts); inside ours a `commit` would make our changes
 * permanent. The client handed out therefore turns transaction control into
 * savepoints, and refuses any SQL text that ends a transaction itself.
 */
import pg from "pg";

/** How long a statement may wait for a lock (ALTER TABLE on a busy table) before the attempt fails instead of queueing traffic. */
const LOCK_TIMEOUT = "5s";

const TRANSACTION_CONTROL: [RegExp, string][] = [
  [/^\s*begin\b[\w\s]*;?\s*$/i, "savepoint rolled_back_nested"],
  [/^\s*(?:commit|end)\s*;?\s*$/i, "release savepoint rolled_back_nested"],
  [/^\s*(?:rollback|abort)\s*;?\s*$/i, "rollback to savepoint rolled_back_nested"],
];
/** A statement that would end our transaction, anywhere in a script (plpgsql bodies use `begin`/`end` but never these forms). */
const ENDS_TRANSACTION = /(?:^|;)\s*(?:commit|rollback|abort|end\s+(?:transaction|work)|prepare\s+transaction)\s*(?:;|$)/im;

function textOf(q: unknown): string | undefined {
  return typeof q === "string" ? q : typeof q === "object" && q !== null && "text" in q ? String((q as { text: unknown }).text) : undefined;
}

/** The client, with transaction control mapped to savepoints and transaction-ending scripts refused. */
function nested(client: pg.Client): pg.Client {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== "query") return Reflect.get(target, prop, receiver);
      return (q: unknown, ...rest: unknown[]) => {
        const text = textOf(q);
        if (text !== undefined) {
          for (const [re, savepoint] of TRANSACTION_CONTROL) if (re.test(text)) return target.query(savepoint);
          if (ENDS_TRANSACTION.test(text))
            return Promise.reject(new Error("refused inside a rolled-back attempt: the SQL ends the transaction"));
        }
        return (target.query as (...a: unknown[]) => unknown).call(target, q, ...rest);
      };
    },
  });
}

export async function inRolledBackTransaction<R>(url: string, fn: (client: pg.Client) => Promise<R>): Promise<R> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("begin");
    await client.query(`set local lock_timeout = '${LOCK_TIMEOUT}'`);
    return await fn(nested(client));
  } finally {
    try {
      await client.query("rollback");
    } finally {
      await client.end();
    }
  }
}
