/**
 * Hasura's subscription root for the role: the query root's table fields
 * (`t`, `t_by_pk`, `t_aggregate`, with the same arguments and visibility,
 * switched by the select declaration's `subscription_root_fields` instead of
 * its `query_root_fields`), its tracked non-volatile functions, and the
 * streaming fields `t_stream(batch_size, cursor, where)` with
 * `t_stream_cursor_input`, `t_stream_cursor_value_input` and the
 * `cursor_ordering` enum, named and described as Hasura does.
 *
 * Grafast never executes these fields: a subscription is validated against
 * this root, then turned into the equivalent query over the query root
 * (server/subscriptions/live-operation.ts), which the live-query engine runs.
 * So their plans only refuse.
 */
import type { GraphQLInputFieldConfigMap } from "graphql";
import { errors } from "../errors.ts";
import { MAX_ROWS_EXTENSION } from "../graphql-limits.ts";
import { selectableColumns } from "./columns.ts";
import type { TableDeclarations } from "./declarations.ts";
import { pkFields, selectArgs, type Build } from "./field-args.ts";
import { hasuraFunctions } from "./functions.ts";
import { hasuraModel, type HasuraColumn, type HasuraTable } from "./model.ts";

export type SubscriptionRootField = "select" | "select_by_pk" | "select_aggregate" | "select_stream";

/** Whether the role's subscription root has this field of the table (`select_aggregate` also needs allow_aggregations). */
export function offersSubscriptionField(d: TableDeclarations, field: SubscriptionRootField): boolean {
  if (field === "select_aggregate" && !d.allowAggregations) return false;
  return d.subscriptionRootFields === null || d.subscriptionRootFields.has(field);
}

/** The columns a stream's cursor may be on: the role's selectable columns that have an input type. */
export function cursorColumns(build: Build, table: HasuraTable): HasuraColumn[] {
  return selectableColumns(table).filter((c) => {
    // An array column's input type is a list of its element's (getGraphQLTypeNameByPgCodec throws on arrays).
    const name = build.getGraphQLTypeNameByPgCodec(c.codec.arrayOfCodec ?? c.codec, "input");
    return typeof name === "string";
  });
}

function refuse(): never {
  throw errors.subscriptionOverHttp();
}

function columnDescription(table: HasuraTable, column: string): string | undefined {
  const attr = (table.codec.attributes as Record<string, { description?: string }> | undefined)?.[column];
  return attr?.description ?? undefined;
}

function registerStreamTypes(build: Build, table: HasuraTable): boolean {
  const columns = cursorColumns(build, table);
  if (!columns.length) return false;
  const t = table.name;
  build.registerInputObjectType(
    `${t}_stream_cursor_value_input`,
    {},
    () => ({
      description: "Initial value of the column from where the streaming should start",
      fields: () =>
        Object.fromEntries(
          columns.map((c) => [
            c.name,
            { type: build.getGraphQLTypeByPgCodec(c.codec, "input"), description: columnDescription(table, c.name) },
          ]),
        ) as GraphQLInputFieldConfigMap,
    }),
    "Hasura stream_cursor_value_input",
  );
  build.registerInputObjectType(
    `${t}_stream_cursor_input`,
    {},
    () => ({
      description: `Streaming cursor of the table "${t}"`,
      fields: () => ({
        initial_value: {
          type: new build.graphql.GraphQLNonNull(build.getInputTypeByName(`${t}_stream_cursor_value_input`)),
          description: "Stream column input with initial value",
        },
        ordering: { type: build.getTypeByName("cursor_ordering"), description: "cursor ordering" },
      }),
    }),
    "Hasura stream_cursor_input",
  );
  return true;
}

/** Tables with stream types, per schema build. */
const streamable = new WeakMap<object, Set<HasuraTable>>();

export const HasuraSubscriptionPlugin: GraphileConfig.Plugin = {
  name: "HasuraSubscriptionPlugin",
  version: "1.0.0",
  description: "Hasura's subscription root: live queries and streaming fields",
  after: ["HasuraQueryPlugin", "HasuraFunctionPlugin"],
  schema: {
    hooks: {
      init: {
        after: ["PgCodecs"],
        callback(_, build) {
          const b = build as Build;
          b.registerEnumType(
            "cursor_ordering",
            {},
            () => ({
              description: "ordering argument of a cursor",
              values: {
                ASC: { value: "ASC", description: "ascending ordering of the cursor" },
                DESC: { value: "DESC", description: "descending ordering of the cursor" },
              },
            }),
            "Hasura cursor_ordering",
          );
          const tables = new Set<HasuraTable>();
          for (const table of hasuraModel(b).tables) {
            if (table.canSelect && offersSubscriptionField(table.permissions, "select_stream") && registerStreamTypes(b, table)) {
              tables.add(table);
            }
          }
          streamable.set(b, tables);
          return _;
        },
      },

      GraphQLObjectType_fields(fields, build, context) {
        if (!context.scope.isRootSubscription) return fields;
        const b = build as Build;
        const { GraphQLList, GraphQLNonNull, GraphQLInt } = b.graphql;
        const withStream = streamable.get(b) ?? new Set();
        // biome-ignore lint/suspicious/noExplicitAny: graphile-build field specs are typed per plugin; the map is handed to build.extend as is
        const added: Record<string, any> = {};
        const free = (name: string) => !(name in fields) && !(name in added);
        const listOf = (type: unknown) => new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type)));

        for (const table of hasuraModel(b).tables) {
          if (!table.canSelect) continue;
          const type = b.getTypeByName(table.name);
          if (!type) continue;
          const t = table.name;
          const offers = (field: SubscriptionRootField) => offersSubscriptionField(table.permissions, field);
          const rowLimit = table.permissions.rowLimit;
          const extensions = rowLimit == null ? undefined : { [MAX_ROWS_EXTENSION]: rowLimit };
          if (offers("select") && free(t)) {
            added[t] = {
              description: `fetch data from the table: "${t}"`,
              type: listOf(type),
              extensions,
              args: selectArgs(b, table),
              plan: refuse,
            };
          }
          if (offers("select_aggregate") && free(`${t}_aggregate`)) {
            added[`${t}_aggregate`] = {
              description: `fetch aggregated fields from the table: "${t}"`,
              type: new GraphQLNonNull(b.getTypeByName(`${t}_aggregate`)),
              args: selectArgs(b, table),
              plan: refuse,
            };
          }
          if (table.pk && offers("select_by_pk") && free(`${t}_by_pk`)) {
            added[`${t}_by_pk`] = {
              description: `fetch data from the table: "${t}" using primary key columns`,
              type,
              args: pkFields(b, table),
              plan: refuse,
            };
          }
          if (withStream.has(table) && free(`${t}_stream`)) {
            added[`${t}_stream`] = {
              description: `fetch data from the table in a streaming manner: "${t}"`,
              type: listOf(type),
              extensions,
              args: {
                batch_size: { type: new GraphQLNonNull(GraphQLInt), description: "maximum number of rows returned in a single batch" },
                cursor: {
                  type: new GraphQLNonNull(new GraphQLList(b.getInputTypeByName(`${t}_stream_cursor_input`))),
                  description: "cursor to stream the results returned by the query",
                },
                where: { type: b.getTypeByName(`${t}_bool_exp`), description: "filter the rows returned" },
              },
              plan: refuse,
            };
          }
        }

        // Tracked functions, as on the query root (./function-plugin.ts): the non-volatile ones.
        for (const fn of hasuraFunctions(b).functions) {
          if (fn.volatile) continue;
          const type = b.getTypeByName(fn.table.name);
          const argsType = fn.args.length ? b.getTypeByName(`${fn.name}_args`) : null;
          if (!type || argsType === undefined || !free(fn.name)) continue;
          const args = argsType
            ? { args: { type: new GraphQLNonNull(argsType), description: `input parameters for function "${fn.name}"` } }
            : {};
          const description = `execute function "${fn.name}" which returns "${fn.table.name}"`;
          if (!fn.returnsSet) {
            added[fn.name] = { description, type, args, plan: refuse };
            continue;
          }
          const listArgs = { ...args, ...selectArgs(b, fn.table) };
          added[fn.name] = { description, type: listOf(type), args: listArgs, plan: refuse };
          const aggregate = fn.table.permissions.allowAggregations && b.getTypeByName(`${fn.table.name}_aggregate`);
          if (aggregate && free(`${fn.name}_aggregate`)) {
            added[`${fn.name}_aggregate`] = {
              description: `execute function "${fn.name}" and query aggregates on result of table type "${fn.table.name}"`,
              type: new GraphQLNonNull(aggregate),
              args: listArgs,
              plan: refuse,
            };
          }
        }
        return b.extend(fields, added, "Hasura subscription root fields");
      },
    },
  },
};
