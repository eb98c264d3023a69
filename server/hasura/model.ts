/**
 * What one role may see of each table, in Hasura's terms, read once per
 * schema build from PostGraphile's registry (introspected as the role, so
 * the grants are already in `extensions.can*`).
 *
 * This is also the identifier allow-list: the SQL compilers in this folder
 * only ever name tables, columns and constraints found here; every value
 * from a request goes to Postgres as a bind parameter.
 */
import type { PgCodec, PgCodecRelation, PgResource } from "@dataplan/pg";
import { tableDeclarations, type MutationCommand, type RoleDeclarations, type TableDeclarations } from "./declarations.ts";

// PostGraphile's generic types are deep; this folder needs only their shape.
// biome-ignore lint/suspicious/noExplicitAny: PostGraphile's codec and resource generics are not needed to read their names and attributes
export type AnyResource = PgResource<any, any, any, any, any>;
// biome-ignore lint/suspicious/noExplicitAny: PostGraphile's codec and resource generics are not needed to read their names and attributes
export type AnyCodec = PgCodec<any, any, any, any, any, any, any>;

export interface HasuraColumn {
  name: string;
  codec: AnyCodec;
  notNull: boolean;
  canSelect: boolean;
  /** The client may set it on insert: granted, no insert preset, and the role's insert is in this schema. */
  canInsert: boolean;
  /** The client may set it on update: granted, no update preset, and the role's update is in this schema. */
  canUpdate: boolean;
  hasDefault: boolean;
}

export interface HasuraRelationship {
  /** GraphQL field name. */
  name: string;
  kind: "object" | "array";
  /** Key in PostGraphile's registry (for singleRelation/manyRelation). */
  registryName: string;
  localColumns: string[];
  remoteColumns: string[];
  target: HasuraTable;
  /** The foreign key is the target's (array, or a one-to-one back): a nested insert writes the target after this row. */
  isReferencee: boolean;
  /** Non-null in the schema: the related row is sure to exist and be visible (isNonNull). */
  nonNull: boolean;
}

export interface HasuraConstraint {
  name: string;
  columns: string[];
}

export interface HasuraTable {
  /** GraphQL name of the table's type and root fields. */
  name: string;
  resource: AnyResource;
  codec: AnyCodec;
  columns: Map<string, HasuraColumn>;
  /** Primary key, only when the role may select every column of it. */
  pk: string[] | null;
  canSelect: boolean;
  /** Granted, and not backend-only unless this schema is the role's backend one (./declarations.ts). */
  canInsert: boolean;
  canUpdate: boolean;
  canDelete: boolean;
  relationships: HasuraRelationship[];
  constraints: HasuraConstraint[];
  /** The role's Hasura declarations for the table (./declarations.ts, sql/permissions.sql). */
  permissions: TableDeclarations;
}

export interface HasuraModel {
  tables: HasuraTable[];
  byCodec: Map<AnyCodec, HasuraTable>;
}

function pgName(codec: AnyCodec): { schemaName: string; name: string } {
  return codec.extensions?.pg as { schemaName: string; name: string };
}

/** Hasura's name for a table: bare in `public`, `<schema>_<table>` elsewhere. */
export function hasuraTableName(codec: AnyCodec): string {
  const pg = codec.extensions?.pg as { schemaName?: string; name?: string } | undefined;
  const tag = codec.extensions?.tags?.name;
  if (typeof tag === "string") return tag;
  if (!pg?.name) return codec.name;
  return pg.schemaName && pg.schemaName !== "public" ? `${pg.schemaName}_${pg.name}` : pg.name;
}

const models = new WeakMap<object, HasuraModel>();

interface BuildLike {
  input: {
    pgRegistry: { pgResources: Record<string, AnyResource>; pgRelations: Record<string, Record<string, PgCodecRelation>> };
    hasuraDeclarations?: RoleDeclarations;
  };
  inflection: { pluralize(text: string): string };
  options?: { hasuraBackendOnlyPermissions?: boolean };
}

declare global {
  namespace GraphileBuild {
    interface SchemaOptions {
      /**
       * The role's schema for a request with the admin secret and
       * `x-hasura-use-backend-only-permissions: true`: its backend-only
       * mutations exist (Hasura's backend scenario). Else they are absent.
       */
      hasuraBackendOnlyPermissions?: boolean;
      /**
       * The role's schema for live queries: its query root also has the
       * fields its select declarations offer only on subscription_root (a
       * live query runs as a query). Never served to requests.
       */
      hasuraLiveQueryRoot?: boolean;
    }
  }
}

/** The role's tables, memoised per schema build. */
export function hasuraModel(build: BuildLike): HasuraModel {
  const cached = models.get(build);
  if (cached) return cached;
  const registry = build.input.pgRegistry;
  const tables: HasuraTable[] = [];
  const byCodec = new Map<AnyCodec, HasuraTable>();
  for (const resource of Object.values(registry.pgResources)) {
    const codec = resource.codec;
    if (resource.parameters || !codec.attributes || resource.isVirtual || resource.isUnique) continue;
    if (!codec.extensions?.pg) continue;
    const ext = (resource.extensions ?? {}) as Record<string, unknown>;
    const permissions = tableDeclarations(build.input.hasuraDeclarations, pgName(codec).schemaName, pgName(codec).name);
    // A backend-only command exists only in the role's backend schema.
    const offered = (command: MutationCommand) => !!build.options?.hasuraBackendOnlyPermissions || !permissions.backendOnly.has(command);
    const canInsert = ext.canInsert !== false && offered("insert");
    const canUpdate = ext.canUpdate !== false && offered("update");
    const columns = new Map<string, HasuraColumn>();
    for (const [name, attr] of Object.entries(
      codec.attributes as Record<
        string,
        { codec: AnyCodec; notNull?: boolean; hasDefault?: boolean; extensions?: Record<string, unknown> }
      >,
    )) {
      const a = attr.extensions ?? {};
      columns.set(name, {
        name,
        codec: attr.codec,
        notNull: !!attr.notNull,
        hasDefault: !!attr.hasDefault,
        canSelect: a.canSelect !== false,
        // A preset column takes its value from the trigger, never from the client.
        canInsert: canInsert && a.canInsert !== false && !permissions.presets.insert.has(name),
        canUpdate: canUpdate && a.canUpdate !== false && !permissions.presets.update.has(name),
      });
    }
    const primary = (resource.uniques as { attributes: string[]; isPrimary?: boolean }[] | undefined)?.find((u) => u.isPrimary);
    const pk = primary?.attributes.every((c) => columns.get(c)?.canSelect) ? [...primary.attributes] : null;
    const table: HasuraTable = {
      name: hasuraTableName(codec),
      resource,
      codec,
      columns,
      pk,
      canSelect: ext.canSelect !== false,
      canInsert,
      canUpdate,
      canDelete: ext.canDelete !== false && offered("delete"),
      relationships: [],
      permissions,
      constraints: ((ext.hasuraConstraints as HasuraConstraint[] | undefined) ?? []).filter((c) =>
        c.columns.every((col) => columns.has(col)),
      ),
    };
    tables.push(table);
    byCodec.set(codec, table);
  }
  for (const table of tables) {
    const relations = registry.pgRelations[table.codec.name] ?? {};
    const taken = new Set(table.columns.keys());
    for (const [registryName, relation] of Object.entries(relations)) {
      const target = byCodec.get(relation.remoteResource.codec);
      if (!target?.canSelect) continue;
      const local = [...relation.localAttributes] as string[];
      const remote = [...relation.remoteAttributes] as string[];
      // The join reads these columns: the role must be able to select them.
      if (!local.every((c) => table.columns.get(c)?.canSelect)) continue;
      if (!remote.every((c) => target.columns.get(c)?.canSelect)) continue;
      const kind = relation.isReferencee && !relation.isUnique ? "array" : "object";
      const name = relationshipName(table, target, relation, kind, local, build.inflection.pluralize, taken);
      taken.add(name);
      table.relationships.push({
        name,
        kind,
        registryName,
        localColumns: local,
        remoteColumns: remote,
        target,
        isReferencee: !!relation.isReferencee,
        nonNull: isNonNull(table, target, relation, local),
      });
    }
  }
  const model = { tables, byCodec };
  models.set(build, model);
  return model;
}

/**
 * Hasura types an object relationship non-null when it is a foreign key of
 * this table over NOT NULL columns, and answers null anyway when its
 * permission hides the related row; GraphQL cannot answer null for a
 * non-null field. Here it is non-null only where the related row is sure to
 * exist and to be visible: a real, validated, not deferrable foreign key
 * (./constraints-plugin.ts), NOT NULL columns, and no row rule of the role on
 * the target (RLS off, or a `using (true)` policy: ./declarations.ts).
 * Nullable everywhere else, as Hasura's reverse and manual relationships are.
 */
function isNonNull(table: HasuraTable, target: HasuraTable, relation: PgCodecRelation, local: string[]): boolean {
  if (relation.isReferencee || !(relation.extensions as { hasuraEnforced?: boolean } | undefined)?.hasuraEnforced) return false;
  return local.every((c) => table.columns.get(c)?.notNull) && target.permissions.noRowRule;
}

/**
 * Hasura console's suggestions for tracked foreign keys: an object
 * relationship is named after its column without the `_id`/`Id` suffix
 * (`author_id` → `author`, `parentId` → `parent`), else after the table it
 * points to; an array relationship after the referencing table, pluralised.
 * Clashes fall back to `<name>By<Columns>`. The FK constraint's smart tags
 * `@fieldName` / `@foreignFieldName` (as in PostGraphile) override both.
 */
function relationshipName(
  _table: HasuraTable,
  target: HasuraTable,
  relation: PgCodecRelation,
  kind: "object" | "array",
  local: string[],
  pluralize: (s: string) => string,
  taken: Set<string>,
): string {
  const tags = (relation.extensions?.tags ?? {}) as Record<string, unknown>;
  const tagged = relation.isReferencee ? tags.foreignFieldName : tags.fieldName;
  if (typeof tagged === "string") return tagged;
  let base: string;
  if (kind === "array") {
    base = pluralize(target.name);
  } else if (!relation.isReferencee && local.length === 1 && /(_id|Id)$/.test(local[0]) && local[0].length > 3) {
    base = local[0].replace(/(_id|Id)$/, "");
  } else {
    base = target.name;
  }
  if (!taken.has(base)) return base;
  const cols = (relation.isReferencee ? [...relation.remoteAttributes] : local) as string[];
  return `${base}By${cols.map((c) => c.charAt(0).toUpperCase() + c.slice(1).replace(/_([a-z])/g, (_, l: string) => l.toUpperCase())).join("And")}`;
}
