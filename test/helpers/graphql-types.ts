/** Introspected GraphQL type references, written out as SDL (`[article_insert_input!]!`). */

/** Select `type { ...T }` (or `ofType`) with this fragment: three wrappers deep, enough for `[X!]!`. */
export const TYPE_REF = `fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`;

export interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}

export const typeText = (t: TypeRef): string =>
  t.kind === "NON_NULL" ? `${typeText(t.ofType!)}!` : t.kind === "LIST" ? `[${typeText(t.ofType!)}]` : t.name!;
