/**
 * The JSONPath subset Hasura accepts in `claims_namespace_path` and
 * `claims_map`: `$`, `.name`, `['name']`, `["name"]`, `[0]`.
 *
 * Hand-written on purpose: general JSONPath libraries evaluate filter and
 * script expressions (jsonpath-plus has had remote-code-execution advisories),
 * and a token's claims are attacker-chosen data; we need only member access.
 */
export type PathSegment = string | number;

export class JsonPathError extends Error {}

export function parseJsonPath(path: string): PathSegment[] {
  if (!path.startsWith("$")) throw new JsonPathError(`must start with $: ${path}`);
  const segments: PathSegment[] = [];
  let i = 1;
  while (i < path.length) {
    const c = path[i];
    if (c === ".") {
      const m = /^[^.[\]]+/.exec(path.slice(i + 1));
      if (!m) throw new JsonPathError(`expected a name after "." at ${i} in ${path}`);
      segments.push(m[0]);
      i += 1 + m[0].length;
    } else if (c === "[") {
      const rest = path.slice(i);
      const quoted = /^\[(['"])((?:\\.|(?!\1).)*)\1\]/.exec(rest);
      const index = /^\[(\d+)\]/.exec(rest);
      if (quoted) {
        segments.push(quoted[2]!.replace(/\\(.)/g, "$1"));
        i += quoted[0].length;
      } else if (index) {
        segments.push(Number(index[1]));
        i += index[0].length;
      } else {
        throw new JsonPathError(`unsupported bracket expression at ${i} in ${path}`);
      }
    } else {
      throw new JsonPathError(`unexpected "${c}" at ${i} in ${path}`);
    }
  }
  return segments;
}

/** The value at `path`, or undefined when any step is missing. */
export function getAtPath(value: unknown, path: PathSegment[]): unknown {
  let cur = value;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    if (!Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}
