/**
 * EXPERIMENTAL, off unless HASURA_GRAPHQL_EXPERIMENTAL_SQL_CACHE=true: each
 * statement's prepared-statement name computed once per SQL text, not once
 * per request.
 *
 * @dataplan/pg rebuilds every operation's SQL text per request and names it
 * `sha256(text)` (hex, 63 characters; steps/pgSelect.js and pgUnionAll.js,
 * `createHash("sha256").update(text).digest("hex")`). The text is the same
 * for every request of one operation plan and role, so the digest is too.
 * The only seam that does not fork the library is node:crypto's
 * `createHash`, which those modules look up on the module object at each
 * call: while installed, `createHash("sha256")` returns a small object that
 * answers one `update(string)` followed by `digest("hex")` from a bounded
 * text → digest map, and hands anything else (other algorithms, options,
 * Buffers, an encoding, several updates, other digests, copy()) to a real
 * Hash, fed the same input: every caller gets the digest it would have.
 * What it does not give: a real Hash object (stream methods, instanceof) for
 * `sha256` without options, which no library this server loads relies on.
 *
 * Building the SQL text itself once per plan (the larger cost: README
 * "Per-core speed") needs @dataplan/pg's help: see there.
 */
import crypto, { type Hash } from "node:crypto";

const MAX_ENTRIES = 2000;

let installed = false;
let hits = 0;
let misses = 0;

/** Digests served from the map and computed, since installation (for tests and the bench). */
export function sqlCacheStats(): { installed: boolean; hits: number; misses: number } {
  return { installed, hits, misses };
}

/** Installs the cache when HASURA_GRAPHQL_EXPERIMENTAL_SQL_CACHE=true (process-wide; idempotent). */
export function installSqlCacheFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  if (env.HASURA_GRAPHQL_EXPERIMENTAL_SQL_CACHE === "true") setSqlCache(true);
}

const createHash = crypto.createHash;
// Keyed by length, then compared: a fresh 2 KB string's Map key would be
// hashed character by character, which costs more than the SHA-256 it saves.
const digests = new Map<number, Array<[text: string, hex: string]>>();
let size = 0;

class TextDigest {
  #text: string | undefined;
  #real: Hash | undefined;
  update(data: unknown, encoding?: unknown): this {
    if (this.#real === undefined && this.#text === undefined && typeof data === "string" && encoding === undefined) {
      this.#text = data;
    } else {
      (this.#toReal().update as (d: unknown, e?: unknown) => Hash)(data, encoding);
    }
    return this;
  }
  digest(encoding?: unknown): unknown {
    const text = this.#text;
    if (this.#real === undefined && text !== undefined && encoding === "hex") {
      const sameLength = digests.get(text.length);
      if (sameLength !== undefined) {
        for (const [t, hex] of sameLength) {
          if (t === text) {
            hits++;
            return hex;
          }
        }
      }
      misses++;
      const hex = createHash("sha256").update(text).digest("hex");
      // Bounded: texts are per plan, so a full map means many distinct documents; start over.
      if (size >= MAX_ENTRIES) {
        digests.clear();
        size = 0;
      }
      const entry: [string, string] = [text, hex];
      if (sameLength !== undefined && digests.has(text.length)) sameLength.push(entry);
      else digests.set(text.length, [entry]);
      size++;
      return hex;
    }
    return (this.#toReal().digest as (e?: unknown) => unknown)(encoding);
  }
  copy(): Hash {
    return this.#toReal().copy();
  }
  #toReal(): Hash {
    if (this.#real === undefined) {
      this.#real = createHash("sha256");
      if (this.#text !== undefined) this.#real.update(this.#text);
      this.#text = undefined;
    }
    return this.#real;
  }
}

function cachedCreateHash(algorithm: string, options?: unknown): unknown {
  if (algorithm === "sha256" && options === undefined) return new TextDigest();
  return (createHash as (a: string, o?: unknown) => Hash)(algorithm, options);
}

/** On or off, process-wide (off restores node:crypto's own createHash; bench/per-core.ts alternates). */
export function setSqlCache(on: boolean): void {
  installed = on;
  (crypto as { createHash: unknown }).createHash = on ? cachedCreateHash : createHash;
}
