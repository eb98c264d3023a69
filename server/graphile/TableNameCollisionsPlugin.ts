/**
 * Tables whose PostGraphile names coincide (issue 14). PostGraphile names a
 * table by its singularized, camel-cased name, so `author` and `authors`
 * both become `Author` / `allAuthors`, and `_map_pool` and `map_pools` both
 * `MapPool` / `allMapPools`, and `PlayerRole` and `player_role` one codec
 * `playerRole`: the schema build then fails for every role. Hasura's
 * dialect names its types and fields by the tables' exact names, but its
 * PostGraphile codecs still need distinct names: both dialects use this.
 *
 * The rule: among the tables, views and materialized views of the exposed
 * schemas, those with a `@name` smart tag keep their name; the others, in
 * (schema, table name) byte order, keep theirs when it is still free, and
 * a later one whose name is taken is named from its exact table name plus
 * `_record` (`authors` → `AuthorsRecord`, `allAuthorsRecords`; `map_pools`
 * → `MapPoolsRecord`). Two `@name` tags that coincide, or a `_record` name
 * that is taken too, fail the build with an error naming both tables: a
 * `@name` smart tag (`comment on table … is '@name …'`) settles it.
 */
import type { PgClass } from "pg-introspection";

const TABLE_KINDS = ["r", "p", "v", "m", "f"];

/** The classes renamed by the rule, and the name (without schema prefix) each gets. */
const renamed = new WeakMap<PgClass, string>();

const label = (c: PgClass) => `${c.getNamespace()?.nspname}.${c.relname}`;

export const TableNameCollisionsPlugin: GraphileConfig.Plugin = {
  name: "TableNameCollisionsPlugin",
  version: "1.0.0",
  description: "Tables whose PostGraphile names coincide: the later one by (schema, name) is named from its exact name",
  inflection: {
    replace: {
      classCodecName(previous, _options, details) {
        const name = renamed.get(details.pgClass);
        if (name === undefined) return previous!(details);
        const pgNamespace = details.pgClass.getNamespace()!;
        return this.camelCase(`${this._schemaPrefix({ pgNamespace, serviceName: details.serviceName })}${name}`);
      },
      tableResourceName(previous, _options, details) {
        const name = renamed.get(details.pgClass);
        if (name === undefined) return previous!(details);
        const pgNamespace = details.pgClass.getNamespace()!;
        return `${this._schemaPrefix({ pgNamespace, serviceName: details.serviceName })}${name}`;
      },
    },
  },
  gather: {
    hooks: {
      pgIntrospection_introspection(info, event) {
        const { introspection, serviceName } = event;
        const schemas = info.resolvedPreset.pgServices?.find((s) => s.name === serviceName)?.schemas ?? ["public"];
        const inflection = info.inflection;
        const tagged = (c: PgClass) => typeof c.getTags().name === "string" || typeof c.getType()?.getTags().name === "string";
        // The names a table's type and its root fields derive from: both must be free.
        const keys = (c: PgClass) => {
          const codecName = inflection.classCodecName({ pgClass: c, serviceName });
          const resourceName = inflection.tableResourceName({ pgClass: c, serviceName });
          return [
            `type:${inflection.upperCamelCase(inflection.dontEndInInputOrPatch(inflection.singularize(inflection.coerceToGraphQLName(codecName))))}`,
            `rows:${inflection.camelCase(`all-${inflection.pluralize(inflection.dontEndInInputOrPatch(inflection.singularize(inflection.coerceToGraphQLName(resourceName))))}`)}`,
          ];
        };
        const byte = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
        const classes = introspection.classes
          .filter((c) => TABLE_KINDS.includes(c.relkind) && schemas.includes(c.getNamespace()?.nspname ?? ""))
          .sort((a, b) => byte(a.getNamespace()!.nspname, b.getNamespace()!.nspname) || byte(a.relname, b.relname));
        const owner = new Map<string, PgClass>();
        const claim = (c: PgClass, ks: string[]) => {
          for (const k of ks) owner.set(k, c);
        };
        const taken = (ks: string[]) => ks.map((k) => owner.get(k)).find((c) => c !== undefined);
        const collision = (a: PgClass, b: PgClass, why: string) =>
          new Error(
            `tables ${label(a)} and ${label(b)} get the same GraphQL name (${keys(b)[0]!.slice(5)}) in the /graphql dialect: ${why}; ` +
              `give one a name with a smart tag: comment on table ${label(b)} is '@name …'`,
          );
        for (const c of classes.filter(tagged)) {
          const other = taken(keys(c));
          if (other) throw collision(other, c, "their @name smart tags coincide");
          claim(c, keys(c));
        }
        for (const c of classes.filter((x) => !tagged(x))) {
          const first = taken(keys(c));
          if (!first) {
            claim(c, keys(c));
            continue;
          }
          renamed.set(c, `${c.relname}_record`);
          const other = taken(keys(c));
          if (other) {
            renamed.delete(c);
            throw collision(first, c, `and ${label(other)} already has the name ${c.relname}_record would get`);
          }
          claim(c, keys(c));
        }
      },
    },
  },
};
