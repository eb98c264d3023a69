/**
 * `npm run permissions -- --check`: compares a committed rendering
 * (policies.expected.md) with the live one and says, per table, what
 * changed. The line diff itself is jsdiff's (`diffArrays`, Myers'
 * algorithm); this module only places each changed line in its table and
 * part, and names the matrix cells that changed.
 */
import { diffArrays } from "diff";

type Op = { op: " " | "-" | "+"; line: string; expected: number; live: number };

/** The line edit script, each line with its index in both files (where it is, or would be). */
function editScript(a: string[], b: string[]): Op[] {
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  for (const part of diffArrays(a, b)) {
    for (const line of part.value) {
      if (part.added) ops.push({ op: "+", line, expected: i, live: j++ });
      else if (part.removed) ops.push({ op: "-", line, expected: i++, live: j });
      else ops.push({ op: " ", line, expected: i++, live: j++ });
    }
  }
  return ops;
}

/** Which table (and which part) each line of a rendering belongs to. */
function sectionsOf(lines: string[]): Array<{ table: string | null; label: string }> {
  let current: string | null = null;
  return lines.map((line) => {
    const heading = /^## (.+)$/.exec(line);
    if (heading) current = heading[1]!;
    // A document of several schemas (permissions/schemas.ts): the next schema's header and matrix follow the last table.
    if (line.startsWith("# ")) current = null;
    if (current !== null) return { table: current, label: `table ${current}: details` };
    const row = /^\| (.+?) \| /.exec(line);
    if (row && row[1] !== "table" && !line.startsWith("|---")) {
      const table = row[1]!.replaceAll("\\|", "|");
      return { table, label: `table ${table}: matrix row` };
    }
    return { table: null, label: "header (title, legend, roles)" };
  });
}

const rowCells = (line: string) => line.slice(2, -2).split(" | ");

/** The role names of the matrix header (`| table | a | b |`). */
function matrixRoles(lines: string[]): string[] | null {
  const header = lines.find((l) => l.startsWith("| table | "));
  return header ? rowCells(header).slice(1) : null;
}

/** A cell's commands, each with its declarations: `S✅[limit 10, agg]`, `U❌`, … */
const commandsOf = (cellText: string) => cellText.match(/[A-Z](?:🟩|✅|❌)(?:\[[^\]]*\])?/gu) ?? [cellText];

/** For a changed matrix row (same roles on both sides): which cells changed, e.g. `anonymous S🟩→S✅`. */
function changedCells(lines: Op[], rolesA: string[] | null, rolesB: string[] | null): string {
  const removed = lines.filter((o) => o.op === "-");
  const added = lines.filter((o) => o.op === "+");
  if (!rolesA || rolesA.join("|") !== rolesB?.join("|") || removed.length !== 1 || added.length !== 1) return "";
  if (!removed[0]!.line.startsWith("| ") || !added[0]!.line.startsWith("| ")) return "";
  const before = rowCells(removed[0]!.line).slice(1);
  const after = rowCells(added[0]!.line).slice(1);
  if (before.length !== rolesA.length || after.length !== rolesA.length) return "";
  const changes: string[] = [];
  rolesA.forEach((role, k) => {
    const was = commandsOf(before[k]!);
    const now = commandsOf(after[k]!);
    const diff = now.map((c, x) => (c === was[x] ? "" : `${was[x] ?? "∅"}→${c}`)).filter(Boolean);
    if (diff.length) changes.push(`${role} ${diff.join(" ")}`);
  });
  return changes.join(", ");
}

export interface DocumentDiff {
  /** Tables whose matrix row or section differ. */
  tables: string[];
  /** The readable diff (empty when equal). */
  text: string;
}

/**
 * A unified-style diff (`-` expected, `+` live) in blocks, one per table
 * part, each headed by the table and the line numbers in both files.
 */
export function diffDocuments(expected: string, live: string): DocumentDiff {
  const a = expected.split("\n");
  const b = live.split("\n");
  const ops = editScript(a, b);
  const secA = sectionsOf(a);
  const secB = sectionsOf(b);
  const rolesA = matrixRoles(a);
  const rolesB = matrixRoles(b);
  const sectionOf = (o: Op) => (o.op === "+" ? secB[o.live]! : secA[o.expected]!);
  const blocks: string[] = [];
  const tables = new Set<string>();
  let k = 0;
  while (k < ops.length) {
    if (ops[k]!.op === " ") {
      k++;
      continue;
    }
    let end = k;
    while (end < ops.length && ops[end]!.op !== " ") end++;
    // One change region; its lines grouped by section, `-` before `+` within each.
    const groups = new Map<string, Op[]>();
    for (const o of ops.slice(k, end)) {
      const s = sectionOf(o);
      if (s.table !== null) tables.add(s.table);
      groups.set(s.label, [...(groups.get(s.label) ?? []), o]);
    }
    const labels = [...groups.keys()];
    labels.forEach((label, g) => {
      const lines = groups.get(label)!;
      const first = lines[0]!;
      const expectedLine = (lines.find((o) => o.op === "-") ?? first).expected + 1;
      const liveLine = (lines.find((o) => o.op === "+") ?? first).live + 1;
      const body: string[] = [];
      const before = ops[k - 1];
      if (g === 0 && before && before.line.trim() && secA[before.expected]!.label === label) body.push(`  ${before.line}`);
      body.push(...lines.filter((o) => o.op === "-").map((o) => `- ${o.line}`));
      body.push(...lines.filter((o) => o.op === "+").map((o) => `+ ${o.line}`));
      const after = ops[end];
      if (g === labels.length - 1 && after && after.line.trim() && secA[after.expected]!.label === label) body.push(`  ${after.line}`);
      const cells = label.endsWith(": matrix row") ? changedCells(lines, rolesA, rolesB) : "";
      blocks.push(`@@ ${label} (expected line ${expectedLine}, live line ${liveLine})${cells ? `: ${cells}` : ""} @@\n${body.join("\n")}`);
    });
    k = end;
  }
  return { tables: [...tables], text: blocks.join("\n\n") };
}
