/**
 * What a mutation may name beyond the role's write grants, where Postgres
 * needs more than them, and the role's update presets as assignments.
 *
 * Postgres checks SELECT on every column a statement reads, and a write
 * reads more than it writes: ON CONFLICT reads the conflict constraint's
 * columns (even DO NOTHING), `c = EXCLUDED.c` reads `c`, `_inc` reads the
 * column it adds to. So those are offered only over columns the role may
 * also select, and a role that cannot select the table at all gets no
 * `on_conflict` and no `_inc` (Hasura offers them; Postgres would refuse
 * the whole statement with "permission denied").
 */
import { sql, type SQL } from "pg-sql2";
import { HasuraError } from "../errors.ts";
import { isNumeric, updatableColumns } from "./columns.ts";
import type { HasuraColumn, HasuraConstraint, HasuraTable } from "./model.ts";

/** The constraints `on_conflict` may name: the role reads their columns. */
export function conflictConstraints(table: HasuraTable): HasuraConstraint[] {
  return table.constraints.filter((c) => c.columns.every((col) => table.columns.get(col)?.canSelect));
}

/** `t_update_column`: updated from EXCLUDED, so readable too. */
export function conflictUpdateColumns(table: HasuraTable): HasuraColumn[] {
  return updatableColumns(table).filter((c) => c.canSelect);
}

/** `t_inc_input`: `c = t.c + n` reads `c`. */
export function incColumns(table: HasuraTable): HasuraColumn[] {
  return updatableColumns(table).filter((c) => isNumeric(c) && c.canSelect);
}

/**
 * `c = <preset>` for each of the role's update presets its grants let the
 * statement name. Hasura's update assigns the presets with whatever the
 * client sets, so an update with nothing else to set still runs; the
 * trigger (sql/permissions.sql) forces the same values, so a preset column
 * the role may not name is still set whenever the row is updated. `alone`:
 * nothing else is assigned; if the role has update presets but may name
 * none of them, the update cannot run and says why.
 */
export function presetAssignments(table: HasuraTable, alone: boolean): SQL[] {
  const presets = table.permissions.presets.update;
  const assignments: SQL[] = [];
  for (const [name, preset] of presets) {
    const attribute = (table.codec.attributes as Record<string, { codec: HasuraColumn["codec"]; extensions?: { canUpdate?: boolean } }>)[
      name
    ];
    if (!attribute || attribute.extensions?.canUpdate === false) continue;
    const value =
      preset.sessionVariable !== null
        ? sql`(select hasura.session_var_required(${sql.value(preset.sessionVariable)}))`
        : sql.value(preset.value);
    assignments.push(sql`${sql.identifier(name)} = ${value}::${attribute.codec.sqlType}`);
  }
  if (alone && presets.size > 0 && assignments.length === 0) {
    throw new HasuraError(
      "not-supported",
      `the update presets of "${table.name}" apply only with _set or _inc: the role may not name a preset column (grant it UPDATE on one)`,
      400,
    );
  }
  return assignments;
}
