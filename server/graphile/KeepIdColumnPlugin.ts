/**
 * PostGraphile renames a column called `id` to `rowId` to leave `id` to
 * Relay's global object identifier. We don't expose Relay ids (NodePlugin is
 * off), and Hasura clients query `id`, so keep the column's own name.
 */
export const KeepIdColumnPlugin: GraphileConfig.Plugin = {
  name: "KeepIdColumnPlugin",
  version: "1.0.0",
  description: "Keeps columns named id as `id` (no Relay rowId renaming)",
  inflection: {
    replace: {
      _attributeName(previous, _options, details) {
        return previous!({ ...details, skipRowId: true });
      },
    },
  },
};
