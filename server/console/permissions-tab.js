/**
 * The Permissions tab: the matrix of every table (#permissions) and one
 * table's roles × insert / select / update / delete (#permissions/<table>),
 * as Hasura's console shows them. Every mark is a symbol and a word (a
 * machine without an emoji font still tells them apart), each cell expands
 * to the policies behind it, the columns and the Hasura declarations, and
 * the policy lint's findings stand beside the table they concern.
 */
const MARKS = {
  "🟩": { cls: "all", label: "all rows", legend: "allowed on every row (no row-level rule limits it)" },
  "✅": { cls: "rows", label: "with rows", legend: "allowed on the rows its RLS policies let through (rows by policy)" },
  "❌": { cls: "none", label: "none", legend: "not allowed (no grant, or no policy lets a row through)" },
};
// Hasura's column order; the matrix's letters.
const COMMANDS = [
  { key: "I", name: "insert", privilege: "INSERT" },
  { key: "S", name: "select", privilege: "SELECT" },
  { key: "U", name: "update", privilege: "UPDATE" },
  { key: "D", name: "delete", privilege: "DELETE" },
];

const el = (tag, { dataset, ...props } = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  for (const [k, v] of Object.entries(dataset ?? {})) e.dataset[k] = v;
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
};

const markEl = (mark) => {
  const m = MARKS[mark] ?? { cls: "", label: mark };
  return el("span", { className: `mark ${m.cls}`, title: m.legend ?? "" }, mark, el("span", { className: "label", textContent: m.label }));
};

function legend() {
  return [
    ...Object.entries(MARKS).map(([mark, m]) => el("span", {}, markEl(mark), `: ${m.legend}`)),
    el("span", { textContent: "Read live from the database catalog (grants and RLS policies), as the server enforces them." }),
  ];
}

function policiesFor(data, table, role, privilege) {
  const memberOf = data.memberOf[role] ?? [role];
  return data.policies.filter(
    (p) =>
      p.tablename === table &&
      (p.cmd === "ALL" || p.cmd === privilege) &&
      (p.roles.includes("public") || p.roles.some((r) => memberOf.includes(r))),
  );
}

function policySql(p, privilege) {
  const lines = [`-- ${p.policyname}: ${p.permissive.toLowerCase()}, for ${p.cmd.toLowerCase()}, to ${p.roles.join(", ")}`];
  if (p.qual !== null && privilege !== "INSERT") lines.push(`using (${p.qual})`);
  const check = p.with_check ?? (privilege === "UPDATE" || privilege === "INSERT" ? p.qual : null);
  if (check !== null && (privilege === "INSERT" || privilege === "UPDATE")) lines.push(`with check (${check})`);
  return lines.join("\n");
}

function columnsText(data, table, role, privilege) {
  if (privilege === "DELETE") return "whole rows";
  const granted = data.columns[table]?.[role]?.[privilege] ?? [];
  const all = data.allColumns[table] ?? [];
  if (granted.length === 0) return "none";
  if (granted.length === all.length) return `all ${all.length}: ${granted.join(", ")}`;
  return `${granted.join(", ")} (${granted.length} of ${all.length})`;
}

function declarationLines(data, table, role, command) {
  const lines = [];
  const d = data.declarations.find((x) => x.table === table && x.role === role && x.command === command);
  if (command === "select") {
    if (d) {
      lines.push(`row limit: ${d.rowLimit ?? "none"}`);
      lines.push(`aggregations: ${d.allowAggregations ? "allowed" : "not allowed"}`);
      lines.push(`query root fields: ${d.queryRootFields ? d.queryRootFields.join(", ") || "none" : "all"}`);
      lines.push(`subscription root fields: ${d.subscriptionRootFields ? d.subscriptionRootFields.join(", ") || "none" : "all"}`);
    } else {
      lines.push(
        `no declaration: ${role === "admin" ? "aggregations allowed (admin)" : "no aggregations"}, every root field, no row limit`,
      );
    }
  }
  if (command === "insert" || command === "update") {
    for (const p of data.presets.filter((x) => x.table === table && x.role === role && x.command === command)) {
      lines.push(`preset: ${p.column} = ${p.sessionVariable ?? `'${p.value ?? ""}'`}`);
    }
  }
  if (d?.backendOnly) lines.push("backend_only: only with the admin secret (x-hasura-use-backend-only-permissions)");
  return lines;
}

function cellDetails(data, table, role, cmd) {
  const mark = data.cells[table]?.[role]?.[cmd.key] ?? "❌";
  const note = data.notes[table]?.[role]?.[cmd.key];
  const policies = policiesFor(data, table, role, cmd.privilege);
  const rls = data.rls[table];
  const sql =
    mark === "❌" && policies.length === 0
      ? "-- no policy for this role and command"
      : !rls?.enabled
        ? "-- row-level security is off for this table: every row"
        : policies.map((p) => policySql(p, cmd.privilege)).join("\n\n") || "-- no policy: RLS lets no row through";
  const parents = data.parents[role];
  return el(
    "details",
    { className: "perm-cell", dataset: { table, role, command: cmd.name } },
    el("summary", {}, markEl(mark), note ? el("small", { textContent: ` [${note}]` }) : null),
    el("div", { className: "kv" }, el("b", { textContent: "columns: " }), columnsText(data, table, role, cmd.privilege)),
    ...declarationLines(data, table, role, cmd.name).map((line) => el("div", { className: "kv", textContent: line })),
    parents ? el("div", { className: "kv", textContent: `inherits from: ${parents.join(", ")} (their policies apply too)` }) : null,
    el("pre", { className: "policy-sql", textContent: sql }),
  );
}

function lintBox(findings, title) {
  if (findings.length === 0) return el("p", { className: "lint-clean clean", textContent: `${title}: clean` });
  return el(
    "div",
    { className: "lint" },
    el("b", { textContent: `${title}: ${findings.length} finding(s)` }),
    el("ul", {}, ...findings.map((f) => el("li", {}, el("code", { textContent: f.lint }), ` ${f.object}: ${f.detail}`))),
  );
}

function tableView(data, lint, table) {
  const rls = data.rls[table] ?? { enabled: false, forced: false };
  const findings = lint.findings.filter((f) => f.table === table);
  return el(
    "section",
    { id: "perm-table", dataset: { table } },
    el("h2", { textContent: `Permissions: ${table}` }),
    el(
      "p",
      { className: "kv" },
      `Row-level security: ${rls.enabled ? "enabled" : "disabled"}${rls.enabled ? (rls.forced ? ", forced (the owner too)" : ", not forced") : ""}.`,
    ),
    lintBox(findings, "Lint (npm run lint:policies)"),
    el(
      "table",
      { className: "perm", id: "perm-roles" },
      el("thead", {}, el("tr", {}, el("th", { textContent: "Role" }), ...COMMANDS.map((c) => el("th", { textContent: c.name })))),
      el(
        "tbody",
        {},
        ...data.roles.map((role) =>
          el(
            "tr",
            { dataset: { role } },
            el("th", { textContent: role }),
            ...COMMANDS.map((cmd) => el("td", {}, cellDetails(data, table, role, cmd))),
          ),
        ),
      ),
    ),
    el("p", { className: "kv", textContent: "Expand a cell for its policies, columns and declarations." }),
  );
}

function overview(data, lint) {
  const inherited = data.roles.filter((r) => data.parents[r]);
  return el(
    "section",
    { id: "perm-overview" },
    el("h2", { textContent: "Permission matrix: every table" }),
    inherited.length
      ? el("p", { textContent: `Inherited roles: ${inherited.map((r) => `${r} = ${data.parents[r].join(" + ")}`).join("; ")}` })
      : null,
    el(
      "table",
      { className: "perm", id: "perm-matrix" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { textContent: "table" }),
          ...data.roles.map((r) => el("th", { textContent: r })),
          el("th", { textContent: "lint" }),
        ),
      ),
      el(
        "tbody",
        {},
        ...data.tables.map((table) => {
          const n = lint.findings.filter((f) => f.table === table).length;
          return el(
            "tr",
            { dataset: { table } },
            el("th", {}, el("a", { href: `#permissions/${encodeURIComponent(table)}`, textContent: table })),
            ...data.roles.map((role) =>
              el(
                "td",
                { className: "matrix-cell", dataset: { role } },
                ...COMMANDS.map((cmd) => el("div", {}, `${cmd.name}: `, markEl(data.cells[table]?.[role]?.[cmd.key] ?? "❌"))),
              ),
            ),
            el("td", { textContent: n ? `${n} finding(s)` : "clean" }),
          );
        }),
      ),
    ),
    lintBox(
      lint.findings.filter((f) => f.table === null),
      "Lint, not about one table",
    ),
  );
}

export async function mount(ctx, panel) {
  const view = panel.querySelector("#perm-view");
  const error = panel.querySelector("#perm-error");
  panel.querySelector("#perm-legend").replaceChildren(...legend());
  let data;
  let lint;
  try {
    [data, lint] = await Promise.all([ctx.loadPermissions(), ctx.json("/console/lint.json")]);
  } catch (e) {
    error.textContent = e.message;
    return {};
  }
  const links = data.tables.map((table) => {
    const n = lint.findings.filter((f) => f.table === table).length;
    return el(
      "a",
      { href: `#permissions/${encodeURIComponent(table)}`, dataset: { table } },
      el("span", { textContent: table }),
      n ? el("span", { className: "count", textContent: `${n} lint`, title: `${n} lint finding(s)` }) : null,
    );
  });
  panel
    .querySelector("#perm-tables")
    .replaceChildren(el("a", { href: "#permissions", dataset: { table: "" }, textContent: "All tables" }), ...links);
  return {
    route([table]) {
      const known = table && data.tables.includes(table);
      for (const a of panel.querySelectorAll("#perm-tables a")) {
        if (a.dataset.table === (known ? table : "")) a.setAttribute("aria-current", "page");
        else a.removeAttribute("aria-current");
      }
      view.replaceChildren(known ? tableView(data, lint, table) : overview(data, lint));
    },
  };
}
