/**
 * Hasura's `<Scalar>_comparison_exp` input types (`_eq`, `_in`, text and
 * jsonb operators, …), registered once per schema build for every type a
 * filterable field has: table columns (./query-plugin.ts) and scalar
 * computed fields (./function-plugin.ts).
 */
import { TYPES } from "@dataplan/pg";
import type { GraphQLInputFieldConfigMap, GraphQLInputType } from "graphql";
import { baseCodec, isTextType } from "./columns.ts";
import type { Build } from "./field-args.ts";
import type { AnyCodec } from "./model.ts";

const registeredByBuild = new WeakMap<object, Set<string>>();

/** The GraphQL input type name of a column, if PostGraphile supports its type. */
function inputTypeName(build: Build, codec: AnyCodec): string | null {
  const name = build.getGraphQLTypeNameByPgCodec(codec, "input");
  return typeof name === "string" ? name : null;
}

export function comparisonName(build: Build, codec: AnyCodec): string | null {
  if (codec.arrayOfCodec) {
    const inner = inputTypeName(build, codec.arrayOfCodec);
    return inner ? `${inner}_array_comparison_exp` : null;
  }
  const name = inputTypeName(build, codec);
  return name ? `${name}_comparison_exp` : null;
}

/**
 * Hasura's `_cast` (Postgres): a jsonb value compared as text,
 * `{_cast: {String: {_ilike: "%x%"}}}`. Keyed by the base type, then the
 * GraphQL name of the target type. (Hasura also casts geography and
 * geometry into each other; PostGraphile offers no PostGIS types here.)
 */
export const CASTS: Record<string, Record<string, AnyCodec>> = {
  jsonb: { String: TYPES.text },
};

export function registerComparison(build: Build, codec: AnyCodec): void {
  const name = comparisonName(build, codec);
  const registered = registeredByBuild.get(build) ?? new Set<string>();
  registeredByBuild.set(build, registered);
  if (!name || registered.has(name)) return;
  registered.add(name);
  const { GraphQLList, GraphQLNonNull, GraphQLBoolean, GraphQLString } = build.graphql;
  const base = baseCodec(codec.arrayOfCodec ?? codec);
  const casts = codec.arrayOfCodec ? undefined : CASTS[base.name];
  const castName = `${name.replace(/_comparison_exp$/, "")}_cast_exp`;
  if (casts) {
    for (const target of Object.values(casts)) registerComparison(build, target);
    build.registerInputObjectType(
      castName,
      {},
      () => ({
        fields: () =>
          Object.fromEntries(
            Object.entries(casts).map(([typeName, target]) => [
              typeName,
              { type: build.getInputTypeByName(comparisonName(build, target)) },
            ]),
          ),
      }),
      "Hasura cast expression",
    );
  }
  build.registerInputObjectType(
    name,
    {},
    () => ({
      description: `Boolean expression to compare columns of type "${name.replace(/_comparison_exp$/, "")}". All fields are combined with logical 'AND'.`,
      fields: () => {
        const type = build.getGraphQLTypeByPgCodec(codec, "input") as GraphQLInputType;
        const list = new GraphQLList(new GraphQLNonNull(type));
        const fields: GraphQLInputFieldConfigMap = {
          ...(casts ? { _cast: { type: build.getInputTypeByName(castName) } } : {}),
          _eq: { type },
          _neq: { type },
          _gt: { type },
          _gte: { type },
          _lt: { type },
          _lte: { type },
          _in: { type: list },
          _nin: { type: list },
          _is_null: { type: GraphQLBoolean },
        };
        if (!codec.arrayOfCodec && isTextType(base)) {
          for (const op of ["_like", "_nlike", "_ilike", "_nilike", "_similar", "_nsimilar", "_regex", "_nregex", "_iregex", "_niregex"]) {
            fields[op] = { type: GraphQLString };
          }
        }
        if (!codec.arrayOfCodec && base.name === "jsonb") {
          fields._contains = { type };
          fields._contained_in = { type };
          fields._has_key = { type: GraphQLString };
          fields._has_keys_any = { type: new GraphQLList(new GraphQLNonNull(GraphQLString)) };
          fields._has_keys_all = { type: new GraphQLList(new GraphQLNonNull(GraphQLString)) };
        }
        if (codec.arrayOfCodec) {
          fields._contains = { type };
          fields._contained_in = { type };
        }
        return fields;
      },
    }),
    "Hasura comparison expression",
  );
}
