/**
 * Hasura's default names for what PostGraphile generates: the table type is
 * the table's name, columns keep their names, roots are `query_root` and
 * `mutation_root`, and Postgres scalars are named after their types
 * (`timestamptz`, `jsonb`, `numeric`, `bigint`, `uuid`, `date`).
 */
import { hasuraTableName } from "./model.ts";

const BUILTINS: Record<string, string> = {
  Query: "query_root",
  Mutation: "mutation_root",
  Subscription: "subscription_root",
  Datetime: "timestamptz",
  JSON: "jsonb",
  BigFloat: "numeric",
  BigInt: "bigint",
  UUID: "uuid",
  Date: "date",
  Time: "time",
  Interval: "interval",
};

export const HasuraNamingPlugin: GraphileConfig.Plugin = {
  name: "HasuraNamingPlugin",
  version: "1.0.0",
  description: "Hasura's default type and field names",
  inflection: {
    replace: {
      builtin(previous, _options, text) {
        return BUILTINS[text] ?? previous!(text);
      },
      tableType(previous, _options, codec) {
        return codec.extensions?.pg ? hasuraTableName(codec) : previous!(codec);
      },
      attribute(_previous, _options, details) {
        return details.attributeName;
      },
    },
  },
};

/**
 * Hasura sends numeric and bigint values as JSON numbers and takes numbers
 * for them (PostGraphile: strings only); precision beyond a double stays a
 * string, both ways.
 */
export const HasuraNumbersPlugin: GraphileConfig.Plugin = {
  name: "HasuraNumbersPlugin",
  version: "1.0.0",
  description: "numeric and bigint as JSON numbers, as Hasura sends them",
  schema: {
    hooks: {
      GraphQLScalarType(spec) {
        if (spec.name !== "numeric" && spec.name !== "bigint") return spec;
        const { serialize, parseValue, parseLiteral } = spec;
        return {
          ...spec,
          parseValue(value: unknown) {
            return typeof value === "number" ? String(value) : parseValue ? parseValue(value) : value;
          },
          parseLiteral(ast, variables) {
            if (ast.kind === "IntValue" || ast.kind === "FloatValue") return ast.value;
            return parseLiteral ? parseLiteral(ast, variables) : undefined;
          },
          serialize(value: unknown) {
            const text = serialize ? serialize(value) : value;
            const n = Number(text);
            return Number.isFinite(n) && String(n) === String(text) ? n : text;
          },
        };
      },
    },
  },
};
