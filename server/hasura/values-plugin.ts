/**
 * Scalars as Hasura names and renders them.
 *
 * Names: Hasura calls a Postgres type's scalar after the type, except int4
 * (`Int`), float4 (`Float`), bool, text and varchar (`String`): so `smallint`,
 * `float8`, `timestamp`, `timetz`, `json`, `bpchar`, `citext`, where
 * PostGraphile has Int, Float, Datetime, Time, JSON and String. Typed
 * clients name them in variables (`$since: timestamp!`) and in codegen
 * scalar maps.
 *
 * Values: Hasura builds the response JSON in Postgres (`to_json`), so
 *  - numeric and bigint are JSON numbers with Postgres' own digits (`1.10`,
 *    `9223372036854775807`): written as raw JSON, never rounded through a
 *    double, never a string (NaN and Infinity stay strings, as to_json
 *    writes them). HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES is not supported.
 *  - timestamptz, timestamp, time and timetz carry a fraction of a second
 *    only when it is not zero, without trailing zeros
 *    (`2024-03-01T00:00:00+00:00`), where PostGraphile's to_char writes six
 *    digits (`…00:00:00.000000+00:00`).
 * Every path (rows, aggregates, mutation `returning`) ends in these scalars'
 * serialize, so one column renders one way in every response.
 */
import { Kind, valueFromASTUntyped, type GraphQLScalarTypeConfig } from "graphql";
import type { Build } from "./field-args.ts";

// Node ≥ 21: a value JSON.stringify writes verbatim.
const { rawJSON } = JSON as unknown as { rawJSON(text: string): unknown };
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Postgres' digits as a JSON number; what is not one (NaN, Infinity) as a string, as to_json writes it. */
export function jsonNumber(text: string): unknown {
  return JSON_NUMBER.test(text) ? rawJSON(text) : text;
}

/** `…:SS.500000+00:00` → `…:SS.5+00:00`, `…:SS.000000` → `…:SS`: the fraction as Postgres' JSON writes it. */
export function trimFraction(text: string): string {
  return text.replace(/\.(\d*?)0+(?=$|[+-])/, (_m, digits: string) => (digits ? `.${digits}` : ""));
}

/**
 * As Postgres writes a timetz (`15:22:23+00`, `15:22:23.5+05:30`). PostGraphile
 * reads it through a timestamptz, so the offset is the session's time zone
 * (the same instant), not necessarily the one stored.
 */
function timetz(text: string): string {
  return trimFraction(text).replace(/([+-]\d\d):00$/, "$1");
}

const NUMBER_DESCRIPTIONS: Record<string, string> = {
  numeric: "an exact number of any precision (numeric), sent as a JSON number with all its digits",
  bigint: "a signed eight-byte integer (bigint), sent as a JSON number with all its digits",
};

type ScalarSpec = Omit<GraphQLScalarTypeConfig<unknown, unknown>, "name">;

function specs(build: Build): Record<string, { codec: unknown; spec: ScalarSpec }> {
  const { TYPES } = build.dataplanPg;
  const { GraphQLInt, GraphQLFloat } = build.graphql;
  const text = (description: string): ScalarSpec => build.stringTypeSpec(description, undefined, undefined);
  const like = (scalar: typeof GraphQLInt, description: string): ScalarSpec => ({
    description,
    serialize: scalar.serialize,
    parseValue: scalar.parseValue,
    parseLiteral: scalar.parseLiteral,
  });
  const timestamp = text("a date and time without a time zone");
  return {
    smallint: { codec: TYPES.int2, spec: like(GraphQLInt, "a 16-bit integer (smallint)") },
    float8: { codec: TYPES.float, spec: like(GraphQLFloat, "a double-precision floating-point number (float8)") },
    timestamp: { codec: TYPES.timestamp, spec: { ...timestamp, serialize: (v) => trimFraction(String(v)) } },
    timetz: { codec: TYPES.timetz, spec: { ...text("a time of day with a time zone (timetz)"), serialize: (v) => timetz(String(v)) } },
    bpchar: { codec: TYPES.bpchar, spec: text("a blank-padded character string (bpchar)") },
    citext: { codec: TYPES.citext, spec: text("a case-insensitive character string (citext)") },
    json: {
      codec: TYPES.json,
      spec: {
        description: "a JSON value (json)",
        serialize: (v) => v,
        parseValue: (v) => v,
        parseLiteral: (ast, variables) => (ast.kind === Kind.NULL ? null : valueFromASTUntyped(ast, variables)),
      },
    },
  };
}

export const HasuraValuesPlugin: GraphileConfig.Plugin = {
  name: "HasuraValuesPlugin",
  version: "1.0.0",
  description: "Hasura's scalar names for Postgres types, and values rendered as Hasura renders them",
  schema: {
    hooks: {
      init: {
        // PostGraphile maps each codec to its scalar in PgCodecs' init, unless a mapping exists.
        before: ["PgCodecs"],
        after: ["pg-standard-types"],
        callback(_, build) {
          const b = build as Build;
          for (const [name, { codec, spec }] of Object.entries(specs(b))) {
            b.registerScalarType(name, {}, () => spec, `Hasura scalar ${name}`);
            b.setGraphQLTypeForPgCodec(codec, "input", name);
            b.setGraphQLTypeForPgCodec(codec, "output", name);
          }
          return _;
        },
      },
      GraphQLScalarType(spec) {
        const { serialize, parseValue, parseLiteral } = spec;
        const base = (value: unknown) => (serialize ? serialize(value) : value);
        if (spec.name === "timestamptz" || spec.name === "time") {
          return { ...spec, serialize: (value: unknown) => trimFraction(String(base(value))) };
        }
        if (spec.name !== "numeric" && spec.name !== "bigint") return spec;
        // Hasura takes numbers for them too (PostGraphile: strings only).
        return {
          ...spec,
          description: NUMBER_DESCRIPTIONS[spec.name],
          parseValue(value: unknown) {
            return typeof value === "number" ? String(value) : parseValue ? parseValue(value) : value;
          },
          parseLiteral(ast, variables) {
            if (ast.kind === "IntValue" || ast.kind === "FloatValue") return ast.value;
            return parseLiteral ? parseLiteral(ast, variables) : undefined;
          },
          serialize: (value: unknown) => jsonNumber(String(base(value))),
        };
      },
    },
  },
};
