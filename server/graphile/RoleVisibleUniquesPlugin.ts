/**
 * Keeps only the unique keys (primary key included) whose columns the
 * introspecting role may read.
 *
 * PostGraphile orders every list by the primary key to make pagination
 * stable, and adds `…ById` lookups. For a role granted only some columns
 * (the seed's anonymous may read `result` without its `id`), that ORDER BY
 * would be "permission denied for table result". Hasura serves such a table
 * without its key, and so do we: the role simply gets no key-based fields.
 */
import { entityPermissions } from "postgraphile/graphile-build-pg/pg-introspection";

export const RoleVisibleUniquesPlugin: GraphileConfig.Plugin = {
  name: "RoleVisibleUniquesPlugin",
  version: "1.0.0",
  description: "Drops unique keys over columns the introspecting role cannot select",
  after: ["PgTablesPlugin"],
  gather: {
    hooks: {
      async pgTables_PgResourceOptions(info, event) {
        const { pgClass, resourceOptions, serviceName } = event;
        const uniques = resourceOptions.uniques;
        if (!uniques?.length) return;
        const { introspection } = await info.helpers.pgIntrospection.getService(serviceName);
        const me = introspection.getCurrentUser();
        if (!me || entityPermissions(introspection, pgClass, me, true).select) return;
        const readable = new Set(
          pgClass
            .getAttributes()
            .filter((a) => a.attnum > 0 && entityPermissions(introspection, a, me, true).select)
            .map((a) => a.attname),
        );
        resourceOptions.uniques = uniques.filter((u) => u.attributes.every((name) => readable.has(name)));
      },
    },
  },
};
