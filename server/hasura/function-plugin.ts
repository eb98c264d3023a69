/**
 * Hasura's SQL functions (./functions.ts decides which, for the role):
 *
 * - tracked functions as root fields `<fn>(args: <fn>_args!, where, order_by,
 *   limit, offset, distinct_on)` and `<fn>_aggregate`, under query_root, or
 *   mutation_root for VOLATILE ones; a function returning one row is a
 *   nullable `<table>` field;
 * - computed fields on the table's type: scalar ones (`args:` if they take
 *   more than the row), also in `<table>_bool_exp` and `<table>_order_by`
 *   when they take nothing else; `setof <table>` ones as array fields with
 *   where/order_by/limit/offset, also in `<table>_bool_exp`.
 *
 * The plans are PostGraphile's function steps, so a nested query is still
 * one statement; the function runs as the role (EXECUTE, and the RLS of what
 * it reads). PostGraphile's own function fields are switched off here.
 */
import {
  pgClassExpression,
  pgFromExpression,
  pgFromExpressionRuntime,
  PgSelectSingleStep,
  pgSelectSingleFromRecord,
  type PgSelectArgumentDigest,
  type PgSelectArgumentSpec,
  type PgSelectStep,
} from "@dataplan/pg";
import { access, constant, lambda, stepAMayDependOnStepB, type FieldArgs, type Step } from "grafast";
import type { GraphQLFieldConfigArgumentMap, GraphQLInputFieldConfigMap, GraphQLInputType, GraphQLOutputType } from "graphql";
import { HasuraError } from "../errors.ts";
import { comparisonName, registerComparison } from "./comparison.ts";
import { selectArgs, type Build } from "./field-args.ts";
import {
  computedFields,
  hasuraFunctionName,
  hasuraFunctions,
  type HasuraComputedField,
  type HasuraFunction,
  type HasuraFunctionArg,
} from "./functions.ts";
import { hasuraModel, type AnyCodec, type AnyResource } from "./model.ts";
import { applySelectArgs, selectArgsApplier, type RowSource } from "./select-args.ts";

/** The GraphQL input type of an argument: nullable, as every Postgres argument is. */
function argType(build: Build, codec: AnyCodec): GraphQLInputType {
  const inner = build.getGraphQLTypeByPgCodec(codec.arrayOfCodec ?? codec, "input") as GraphQLInputType;
  return codec.arrayOfCodec ? new build.graphql.GraphQLList(inner) : inner;
}

/** `<fn>_args`, if PostGraphile has an input type for every argument (known by name during init). */
function registerArgsType(build: Build, typeName: string, fnName: string, args: HasuraFunctionArg[]): boolean {
  if (args.some((a) => typeof build.getGraphQLTypeNameByPgCodec(a.codec.arrayOfCodec ?? a.codec, "input") !== "string")) return false;
  build.registerInputObjectType(
    typeName,
    {},
    () => ({
      description: `input parameters for function "${fnName}"`,
      fields: () => Object.fromEntries(args.map((a) => [a.name, { type: argType(build, a.codec) }])) as GraphQLInputFieldConfigMap,
    }),
    "Hasura function args",
  );
  return true;
}

/**
 * Hasura's rules for the `args` object: an argument without a default must
 * be given, and after an omitted one only named arguments can follow.
 */
function checkArgs(args: HasuraFunctionArg[], value: unknown): Record<string, unknown> {
  const given = (value ?? {}) as Record<string, unknown>;
  let omitted = false;
  for (const arg of args) {
    if (given[arg.name] === undefined) {
      if (!arg.optional) throw new HasuraError("not-supported", "Non default arguments cannot be omitted", 400);
      omitted = true;
    } else if (omitted && !arg.sqlName) {
      throw new HasuraError("not-supported", "Only last set of positional arguments can be omitted", 400);
    }
  }
  return given;
}

/** One select argument per function argument, in order; an omitted one (with a default) is left out of the call. */
function argSpecs(args: HasuraFunctionArg[], $args: Step): PgSelectArgumentSpec[] {
  return args.map((a) => ({ step: access($args, a.name), pgCodec: a.codec, ...(a.sqlName ? { name: a.sqlName } : {}) }));
}

function checkedArgs(args: HasuraFunctionArg[], fieldArgs: FieldArgs): Step {
  if (!args.length) return constant(null);
  return lambda(fieldArgs.getRaw("args"), (value) => checkArgs(args, value), true);
}

/** The call again, for `distinct_on` and an aggregate's window (./select-args.ts). */
function callSource(fn: HasuraFunction, $args: Step): RowSource {
  return {
    $args,
    from: (value) => {
      // Calling it again would run its side effects again.
      if (fn.volatile) throw new HasuraError("not-supported", `distinct_on is not supported on the volatile function '${fn.name}'`, 400);
      const given = (value ?? {}) as Record<string, unknown>;
      return pgFromExpressionRuntime(
        fn.resource.from as never,
        fn.resource.parameters!,
        fn.args.map((a) => ({ value: given[a.name], ...(a.sqlName ? { name: a.sqlName } : {}) })) as never,
      );
    },
  };
}

function rootPlan(fn: HasuraFunction) {
  return (_$root: Step, fieldArgs: FieldArgs) => {
    const $args = checkedArgs(fn.args, fieldArgs);
    const apply = fn.returnsSet ? selectArgsApplier(fn.table, fieldArgs, callSource(fn, $args)) : null;
    const $result = fn.resource.execute(argSpecs(fn.args, $args), fn.volatile ? "mutation" : "normal");
    apply?.($result as PgSelectStep<AnyResource>);
    return $result;
  };
}

/**
 * The row as the function's argument: the row's own alias when the call can
 * join the row's query (PostGraphile's computed-column rule), else the row
 * fetched again from its record.
 */
function rowAndSpecs(field: HasuraComputedField, $in: PgSelectSingleStep<AnyResource>, userSpecs: PgSelectArgumentSpec[], inline: boolean) {
  const direct =
    $in instanceof PgSelectSingleStep &&
    $in.getClassStep().mode !== "mutation" &&
    userSpecs.every((s) => !s.step || stepAMayDependOnStepB($in.getClassStep(), s.step));
  const $row = direct ? $in : pgSelectSingleFromRecord($in.resource, $in.record());
  const rowSpec: PgSelectArgumentSpec | PgSelectArgumentDigest = inline
    ? { placeholder: $row.getClassStep().alias }
    : { step: $row.record() };
  const specs: Array<PgSelectArgumentSpec | PgSelectArgumentDigest> = [...userSpecs];
  specs.splice(field.rowIndex, 0, rowSpec);
  return { $row, specs };
}

function computedPlan(field: HasuraComputedField) {
  const target = field.returns.table;
  if (!target) {
    return ($in: PgSelectSingleStep<AnyResource>, fieldArgs: FieldArgs) => {
      const $args = checkedArgs(field.args, fieldArgs);
      const { $row, specs } = rowAndSpecs(field, $in, argSpecs(field.args, $args), true);
      const from = pgFromExpression($row, field.resource.from as never, field.resource.parameters, specs);
      return pgClassExpression($row, field.returns.codec, undefined)`${from}`;
    };
  }
  return ($in: PgSelectSingleStep<AnyResource>, fieldArgs: FieldArgs) => {
    const $args = checkedArgs(field.args, fieldArgs);
    const { specs } = rowAndSpecs(field, $in, argSpecs(field.args, $args), false);
    const $select = field.resource.execute(specs as PgSelectArgumentSpec[]) as PgSelectStep<AnyResource>;
    applySelectArgs($select, target, fieldArgs, { $args, from: null });
    return $select;
  };
}

/** Functions and computed fields whose argument types PostGraphile cannot build, per schema build. */
const unusable = new WeakMap<object, Set<object>>();

const listOf = (build: Build, type: GraphQLOutputType) => {
  const { GraphQLList, GraphQLNonNull } = build.graphql;
  return new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type)));
};

export const HasuraFunctionPlugin: GraphileConfig.Plugin = {
  name: "HasuraFunctionPlugin",
  version: "1.0.0",
  description: "Hasura's tracked SQL functions and computed fields",
  after: ["HasuraQueryPlugin"],
  schema: {
    entityBehavior: {
      pgResource: {
        override: {
          provides: ["HasuraFunctionPlugin"],
          // The function resources are read by ./functions.ts; PostGraphile's own fields for them are not this dialect's.
          callback: (behavior, resource) => (resource.parameters ? [behavior, "-queryField", "-mutationField", "-typeField"] : behavior),
        },
      },
    },
    hooks: {
      init: {
        after: ["PgCodecs"],
        callback(_, build) {
          const b = build as Build;
          const { functions, computed } = hasuraFunctions(b);
          const failed = new Set<object>();
          for (const fn of functions) {
            if (fn.args.length && !registerArgsType(b, `${fn.name}_args`, fn.name, fn.args)) failed.add(fn);
          }
          for (const fields of computed.values()) {
            for (const field of fields) {
              const fnName = hasuraFunctionName(field.resource);
              if (field.args.length && !registerArgsType(b, field.argsTypeName, fnName, field.args)) failed.add(field);
              if (!field.returns.table) registerComparison(b, field.returns.codec);
            }
          }
          unusable.set(b, failed);
          return _;
        },
      },

      GraphQLObjectType_fields(fields, build, context) {
        const b = build as Build;
        const { scope } = context;
        const { functions } = hasuraFunctions(b);
        const skip = unusable.get(b) ?? new Set();
        // biome-ignore lint/suspicious/noExplicitAny: graphile-build field specs are typed per plugin; the map is handed to build.extend as is
        const added: Record<string, any> = {};
        const free = (name: string) => !(name in fields) && !(name in added);

        if (scope.isRootQuery || scope.isRootMutation) {
          for (const fn of functions) {
            if (skip.has(fn) || fn.volatile !== !!scope.isRootMutation) continue;
            const type = b.getTypeByName(fn.table.name);
            if (!type || !free(fn.name)) continue;
            const args: GraphQLFieldConfigArgumentMap = fn.args.length
              ? {
                  args: {
                    type: new b.graphql.GraphQLNonNull(b.getInputTypeByName(`${fn.name}_args`)),
                    description: `input parameters for function "${fn.name}"`,
                  },
                }
              : {};
            if (!fn.returnsSet) {
              added[fn.name] = {
                description: `execute function "${fn.name}" which returns "${fn.table.name}"`,
                type,
                args,
                plan: rootPlan(fn),
              };
              continue;
            }
            const listArgs = { ...args, ...selectArgs(b, fn.table) };
            added[fn.name] = {
              description: `execute function "${fn.name}" which returns "${fn.table.name}"`,
              type: listOf(b, type),
              args: listArgs,
              plan: rootPlan(fn),
            };
            // As in Hasura: only where the returned table's aggregates are allowed (sql/permissions.sql).
            const aggregate = fn.table.permissions.allowAggregations && b.getTypeByName(`${fn.table.name}_aggregate`);
            if (!fn.volatile && aggregate && free(`${fn.name}_aggregate`)) {
              added[`${fn.name}_aggregate`] = {
                description: `execute function "${fn.name}" and query aggregates on result of table type "${fn.table.name}"`,
                type: new b.graphql.GraphQLNonNull(aggregate),
                args: listArgs,
                plan: rootPlan(fn),
              };
            }
          }
          return b.extend(fields, added, "Hasura tracked functions");
        }

        const codec = scope.pgCodec as AnyCodec | undefined;
        const table = codec && scope.isPgClassType ? hasuraModel(b).byCodec.get(codec) : undefined;
        if (!table) return fields;
        for (const field of computedFields(table)) {
          if (skip.has(field) || !free(field.name)) continue;
          const target = field.returns.table;
          const type = target ? b.getTypeByName(target.name) : b.getGraphQLTypeByPgCodec(field.returns.codec, "output");
          if (!type) continue;
          // biome-ignore lint/suspicious/noExplicitAny: as above
          const args: Record<string, any> = field.args.length
            ? {
                args: {
                  type: new b.graphql.GraphQLNonNull(b.getInputTypeByName(field.argsTypeName)),
                  description: "input parameters for computed field",
                },
              }
            : {};
          if (target) {
            const { distinct_on: _noDistinct, ...rest } = selectArgs(b, target);
            Object.assign(args, rest);
          }
          added[field.name] = {
            description: target ? "A computed field, executes function returning a table" : "A computed field, executes a scalar function",
            type: target ? listOf(b, type) : type,
            args,
            plan: computedPlan(field),
          };
        }
        return b.extend(fields, added, `Hasura computed fields of ${table.name}`);
      },

      GraphQLInputObjectType_fields(fields, build, context) {
        const b = build as Build;
        const name = context.Self.name;
        const kind = name.endsWith("_bool_exp") ? "bool_exp" : name.endsWith("_order_by") ? "order_by" : null;
        if (!kind) return fields;
        const table = hasuraModel(b).tables.find((t) => `${t.name}_${kind}` === name);
        if (!table) return fields;
        const skip = unusable.get(b) ?? new Set();
        const added: GraphQLInputFieldConfigMap = {};
        // Only those without arguments besides the row, as in Hasura.
        for (const field of computedFields(table)) {
          if (skip.has(field) || field.args.length || field.name in fields) continue;
          const target = field.returns.table;
          if (kind === "bool_exp") {
            const typeName = target ? `${target.name}_bool_exp` : comparisonName(b, field.returns.codec);
            if (typeName) added[field.name] = { type: b.getInputTypeByName(typeName) };
          } else if (!target) {
            added[field.name] = { type: b.getTypeByName("order_by") };
          }
        }
        return b.extend(fields, added, `Hasura computed fields in ${name}`);
      },
    },
  },
};
