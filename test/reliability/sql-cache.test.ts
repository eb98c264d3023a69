/**
 * HASURA_GRAPHQL_EXPERIMENTAL_SQL_CACHE=true (server/graphile/SqlCache.ts)
 * gives the same answers: the Hasura-dialect conformance cases
 * (test/hasura/conformance.test.ts) and the school read matrix
 * (test/policies/school/read-matrix.test.ts, every table × role through
 * /graphql against the rows the rule selects in SQL) run here, in one
 * process, with the flag set before the first server starts; then the
 * statement names were really served from the cache, and a digest of any
 * other shape is still node:crypto's own.
 */
import { createHash as realCreateHash } from "node:crypto";
import t from "tap";

process.env.HASURA_GRAPHQL_EXPERIMENTAL_SQL_CACHE = "true";
const { sqlCacheStats } = await import("../../server/graphile/SqlCache.ts");
await import("../hasura/conformance.test.ts");
await import("../policies/school/read-matrix.test.ts");

t.test("the statement names came from the cache, and other digests are unchanged", async (t) => {
  const stats = sqlCacheStats();
  t.ok(stats.installed, "installed by the first server");
  t.ok(stats.misses > 0, `texts hashed once (${stats.misses})`);
  t.ok(stats.hits > stats.misses, `and served again (${stats.hits} hits)`);
  // node:crypto's module object is what @dataplan/pg calls through.
  const crypto = (await import("node:crypto")).default;
  const text = "select 1 /* sql-cache.test */";
  const expected = realCreateHash("sha256").update(text).digest("hex");
  t.equal(crypto.createHash("sha256").update(text).digest("hex"), expected, "a new text: hashed");
  t.equal(crypto.createHash("sha256").update(text).digest("hex"), expected, "again: from the cache, same digest");
  t.same(crypto.createHash("sha256").update(text).digest(), realCreateHash("sha256").update(text).digest(), "a Buffer digest: node's own");
  t.equal(
    crypto.createHash("sha256").update(text, "utf8").update("x").digest("base64"),
    realCreateHash("sha256").update(text, "utf8").update("x").digest("base64"),
    "an encoding, several updates, base64: node's own",
  );
  t.equal(
    crypto.createHash("sha1").update(text).digest("hex"),
    realCreateHash("sha1").update(text).digest("hex"),
    "other algorithms untouched",
  );
  const h = crypto.createHash("sha256").update(text);
  t.equal(h.copy().digest("hex"), expected, "copy() works");
});
