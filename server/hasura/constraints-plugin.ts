/**
 * Records each table's unique and primary-key constraint names: Hasura's
 * `on_conflict: {constraint: t_pkey}` names them, and PostGraphile's
 * registry keeps only their columns. Marks each foreign-key relation whose
 * constraint Postgres enforces at every statement (not a smart-tag
 * `@foreignKey`, validated, not deferrable): only those can make an object
 * relationship non-null (./model.ts).
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
      async pgRelations_relation(_info, event) {
        const { pgConstraint, relation } = event;
        const enforced = !pgConstraint._id.startsWith("FAKE_") && pgConstraint.convalidated === true && pgConstraint.condeferrable !== true;
        relation.extensions = { ...relation.extensions, hasuraEnforced: enforced } as typeof relation.extensions;
      },
    },
  },
};
