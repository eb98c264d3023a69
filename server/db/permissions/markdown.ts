/**
 * The catalog as Markdown: what `npm run permissions` prints and what
 * policies.expected.md holds. Pure.
 *
 * - the matrix (matrix.ts), one row per table;
 * - per table, the RLS flags, each role's privileges (columns listed unless
 *   the grant is table-wide), its sequences' grants, the Hasura
 *   declarations that apply to each role (sql/permissions.sql) and every
 *   policy with USING / WITH CHECK as PostgreSQL deparses them.
 *
 * check.ts reads this layout back (`## table` headings, `| table | roles… |`
 * matrix rows) to say which table a difference is in.
 */
import { byName, COMMANDS, PRIVILEGES, PUBLIC, type PermissionCatalog, type SequenceGrants } from "./catalog.ts";
import { matrixOf, notesOf, type Matrix } from "./matrix.ts";

export const LEGEND =
  "🟩 allowed without row rules · ✅ allowed with row rules (RLS) · ❌ not allowed — S select, U update, I insert, D delete";
/** The second line of the legend: the brackets (matrix.ts notesOf). */
export const DECLARATIONS_LEGEND =
  "[…] Hasura declarations (sql/permissions.sql): `limit N` rows, `agg` aggregations allowed, `query:` / `subscription:` the only root fields, `column=x-hasura-…` or `column='value'` a preset, `backend-only`";

/** A Markdown table cell: one line, pipes escaped. */
const cell = (s: string | null | undefined) => (s ?? "").replace(/\s+/g, " ").trim().replaceAll("|", "\\|");

/** What `npm run permissions` prints, and the first section of the expected file. */
export function renderMatrix(m: Matrix, schema = "public"): string {
  const inherited = m.roles.filter((r) => m.parents[r]);
  return [
    `# Permissions of schema ${schema}`,
    "",
    LEGEND,
    "",
    DECLARATIONS_LEGEND,
    "",
    ...(inherited.length
      ? [
          `Inherited roles (granted their parents WITH INHERIT): ${inherited.map((r) => `${r} = ${m.parents[r]!.join(" + ")}`).join("; ")}.`,
          "",
        ]
      : []),
    `| table | ${m.roles.map(cell).join(" | ")} |`,
    `|---|${m.roles.map(() => "---").join("|")}|`,
    ...m.tables.map((t) => `| ${cell(t)} | ${m.roles.map((r) => cell(cellText(m, t, r))).join(" | ")} |`),
    "",
  ].join("\n");
}

/** One cell: `S✅[limit 10, agg] U❌ I✅[author_id=x-hasura-user-id] D❌`. */
export function cellText(m: Matrix, table: string, role: string): string {
  const notes = m.notes[table]?.[role] ?? {};
  return COMMANDS.map((c) => `${c}${m.cells[table]![role]![c]}${notes[c] ? `[${notes[c]}]` : ""}`).join(" ");
}

const KIND: Record<string, string> = { r: "Table", p: "Partitioned table", v: "View", m: "Materialized view" };

/** One table's section: RLS flags, privileges per role, sequences, policies. */
export function renderTable(cat: PermissionCatalog, name: string): string {
  const table = cat.tables.find((t) => t.name === name);
  if (!table) throw new Error(`no table ${name} in schema ${cat.schema} (tables: ${cat.tables.map((t) => t.name).join(", ") || "none"})`);
  const out = [`## ${name}`, ""];
  if (table.kind === "v" || table.kind === "m") out.push(`${KIND[table.kind]}: row-level security does not apply.`);
  else {
    const prefix = table.kind === "r" ? "" : `${KIND[table.kind] ?? table.kind}. `;
    out.push(`${prefix}Row-level security: ${table.rls ? "enabled" : "DISABLED"}, ${table.force ? "forced" : "NOT FORCED"}.`);
  }
  out.push("", `| role | ${PRIVILEGES.join(" | ")} |`, `|---|${PRIVILEGES.map(() => "---").join("|")}|`);
  const grants = cat.grants.filter((g) => g.table === name);
  const other: string[] = [];
  for (const role of [...cat.roles, PUBLIC]) {
    const own = grants.filter((g) => g.grantee === role);
    const cells = PRIVILEGES.map((p) => {
      if (own.some((g) => g.privilege === p && !g.columns)) return "all";
      return cell(own.find((g) => g.privilege === p && g.columns)?.columns?.join(", "));
    });
    if (cells.some(Boolean)) out.push(`| ${cell(role)} | ${cells.join(" | ")} |`);
    const rest = own
      .filter((g) => !(PRIVILEGES as readonly string[]).includes(g.privilege))
      .map((g) => (g.columns ? `${g.privilege} (${g.columns.join(", ")})` : g.privilege))
      .sort(byName);
    if (rest.length) other.push(`${role}: ${rest.join(", ")}`);
  }
  if (other.length) out.push("", `Other privileges: ${other.join("; ")}.`);
  const sequences = cat.sequences.filter((s) => s.table === name);
  if (sequences.length) out.push("", `Sequences: ${sequences.map(sequenceGrants).join("; ")}.`);
  const notes = notesOf(cat)[name] ?? {};
  const declared = cat.roles.filter((r) => notes[r]);
  if (declared.length) {
    out.push("", `| hasura declarations | ${PRIVILEGES.join(" | ")} |`, `|---|${PRIVILEGES.map(() => "---").join("|")}|`);
    for (const role of declared) out.push(`| ${cell(role)} | ${COMMANDS.map((c) => cell(notes[role]![c])).join(" | ")} |`);
  }
  const policies = cat.policies.filter((p) => p.tablename === name);
  if (policies.length) {
    out.push("", "| policy | command | to | using | with check |", "|---|---|---|---|---|");
    for (const p of policies) {
      const kind = p.permissive === "PERMISSIVE" ? "" : ` (${p.permissive.toLowerCase()})`;
      out.push(`| ${cell(p.policyname)}${kind} | ${p.cmd} | ${cell(p.roles.join(", "))} | ${cell(p.qual)} | ${cell(p.with_check)} |`);
    }
  } else {
    out.push("", "No policies.");
  }
  return `${out.join("\n")}\n`;
}

function sequenceGrants(s: SequenceGrants): string {
  const byGrantee = new Map<string, string[]>();
  for (const g of s.grants) byGrantee.set(g.grantee, [...(byGrantee.get(g.grantee) ?? []), g.privilege]);
  const list = [...byGrantee].sort(([a], [b]) => byName(a, b)).map(([who, privs]) => `${who} ${privs.sort(byName).join(", ")}`);
  return `${s.name} (${list.join(", ") || "no grants"})`;
}

export const GENERATED_NOTE =
  "<!-- Generated from the catalog by `npm run permissions -- --write <file>`; `npm run permissions -- --check <file>` (CI) fails on any difference. Regenerate, do not edit. -->";

/** The whole expected file: the matrix, then every table's section. */
export function renderDocument(cat: PermissionCatalog): string {
  const out = [GENERATED_NOTE, "", renderMatrix(matrixOf(cat), cat.schema), "# Tables", ""];
  out.push(
    "Privileges: `all` is a table-wide grant, otherwise the granted columns (a role without any privilege on a table is",
    "not listed). Policies as PostgreSQL deparses them, names schema-qualified: `( SELECT hasura.…() AS …)` is the",
    "once-per-statement form of a session helper. Hasura declarations: what applies to each role (an inherited",
    "role's are its parents', combined as Hasura combines them, unless it declares its own).",
  );
  const loose = cat.sequences.filter((s) => s.table === null);
  if (loose.length) out.push("", `Sequences owned by no table: ${loose.map(sequenceGrants).join("; ")}.`);
  for (const t of cat.tables) out.push("", renderTable(cat, t.name).trimEnd());
  return `${out.join("\n")}\n`;
}
