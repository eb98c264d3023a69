/**
 * Hasura's default names for what PostGraphile generates: the table type is
 * the table's name, columns keep their names, roots are `query_root` and
 * `mutation_root`, and PostGraphile's scalars are named after the Postgres
 * types they stand for (`timestamptz`, `jsonb`, `numeric`, `bigint`, `uuid`,
 * `date`); ./values-plugin.ts adds the types PostGraphile folds together.
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
