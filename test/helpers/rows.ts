/**
 * Comparing rows whatever order they came in: one canonical text per value
 * (JSON with sorted keys), and rows ordered by it.
 */

/** JSON with sorted keys: equal values, equal strings. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/** Rows ordered by their canonical text, for order-insensitive comparisons. */
export function sortRows<T>(rows: readonly T[]): T[] {
  return rows
    .map((row) => ({ row, key: canonical(row) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((x) => x.row);
}

/**
 * Rows as one comparable string, order-insensitive, values as text: numeric
 * arrives as a number from one source and a string from another.
 */
export function rowSet(rows: readonly Record<string, unknown>[]): string {
  return rows
    .map((r) => canonical(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)]))))
    .sort()
    .join("\n");
}
