/**
 * Records each table's unique and primary-key constraint names: Hasura's
 * `on_conflict: {constraint: t_pkey}` names them, and PostGraphile's
 * registry keeps only their columns.
 */
export const HasuraConstraintsPlugin: GraphileConfig.Plugin = {
  name: "HasuraConstraintsPlugin",
  version: "1.0.0",
  description: "Keeps unique constraint names for Hasura's on_conflict",
  after: ["PgTablesPlugin"],
  gather: {
    hooks: {
      async pgTables_PgResourceOptions(info, event) {
        const { pgClass, resourceOptions, serviceName } = event;
        const constraints = await info.helpers.pgIntrospection.getConstraintsForClass(serviceName, pgClass._id);
        const attributes = await info.helpers.pgIntrospection.getAttributesForClass(serviceName, pgClass._id);
        const nameOf = new Map(attributes.map((a) => [a.attnum, a.attname]));
        const unique = constraints
          .filter((c) => (c.contype === "u" || c.contype === "p") && c.conkey?.every((k) => k > 0))
          .map((c) => ({ name: c.conname, columns: c.conkey!.map((k) => nameOf.get(k)!) }));
        resourceOptions.extensions = { ...resourceOptions.extensions, hasuraConstraints: unique } as typeof resourceOptions.extensions;
      },
    },
  },
};
