/**
 * The "Why not?" tab: a role, its session variables, a table, a command and
 * optionally a row (primary key) or a filter, sent to POST
 * /console/api/explain (server/db/permissions/explain.ts, evaluated in the
 * database as that role, read-only, rolled back); the answer shown per row:
 * visible or hidden, and each policy of that role and command passing or
 * failing by name. The same as `npm run permissions -- --explain`.
 */
const el = (tag, { dataset, ...props } = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  for (const [k, v] of Object.entries(dataset ?? {})) e.dataset[k] = v;
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
};

/** A JSON field of the form: undefined when empty, an error naming the field when not JSON. */
function jsonField(input, label) {
  const text = input.value.trim();
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${label}: not JSON (${e.message})`);
  }
}

const verdict = (v) =>
  v === true
    ? el("span", { className: "pass", textContent: "✅ pass" })
    : v === false
      ? el("span", { className: "fail", textContent: "❌ fail" })
      : el("span", { className: "na", textContent: "— not checked" });

function render(result) {
  const hidden = result.rows.filter((r) => !r.visible).length;
  const word = result.command === "select" ? ["visible", "hidden"] : ["allowed", "refused"];
  const policyNames = result.policies.map((p) => p.name);
  return el(
    "div",
    { className: "why" },
    el(
      "p",
      { id: "why-summary" },
      `${result.role} · ${result.command} on ${result.table}: ${result.rows.length} row(s), ${result.rows.length - hidden} ${word[0]}, ${hidden} ${word[1]}. `,
      `Row-level security ${result.rls.enabled ? "enabled" : "disabled"}${result.rls.enabled ? (result.rls.forced ? " (forced)" : " (not forced)") : ""}.`,
    ),
    result.note ? el("p", { className: "kv", id: "why-note", textContent: result.note }) : null,
    el("h3", { textContent: "Policies that apply" }),
    result.policies.length === 0
      ? el("p", { textContent: "None: with RLS enabled, no row passes (default deny)." })
      : el(
          "ul",
          {},
          ...result.policies.map((p) =>
            el(
              "li",
              {},
              el("b", { textContent: p.name }),
              ` (${p.permissive ? "permissive" : "restrictive"}${p.command ? `, ${p.command}` : ""})`,
              p.using !== null ? el("pre", { textContent: `using (${p.using})` }) : null,
              p.check !== null ? el("pre", { textContent: `with check (${p.check})` }) : null,
            ),
          ),
        ),
    el("h3", { textContent: "Rows" }),
    el(
      "table",
      { id: "why-rows" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { textContent: "row" }),
          el("th", { textContent: "verdict" }),
          ...policyNames.map((n) => el("th", { textContent: n })),
        ),
      ),
      el(
        "tbody",
        {},
        ...result.rows.map((row) => {
          const failing = row.policies.filter((p) => p.using === false || p.check === false || p.error).map((p) => p.name);
          return el(
            "tr",
            { dataset: { key: JSON.stringify(row.key), visible: String(row.visible) } },
            el("td", {}, el("code", { textContent: JSON.stringify(row.key) })),
            el(
              "td",
              {},
              el("span", {
                className: row.visible ? "visible" : "hidden-row",
                textContent: row.visible ? `✅ ${word[0]}` : `❌ ${word[1]}`,
              }),
              !row.visible && failing.length ? el("div", { className: "kv", textContent: `failing: ${failing.join(", ")}` }) : null,
            ),
            ...policyNames.map((name) => {
              const p = row.policies.find((x) => x.name === name);
              if (!p) return el("td", {}, verdict(null));
              return el(
                "td",
                { dataset: { policy: name } },
                p.using !== null ? el("div", {}, "using: ", verdict(p.using)) : null,
                p.check !== null ? el("div", {}, "check: ", verdict(p.check)) : null,
                p.error ? el("div", { className: "fail", textContent: `error: ${p.error}` }) : null,
                p.using === null && p.check === null && !p.error ? verdict(null) : null,
              );
            }),
          );
        }),
      ),
    ),
    el("h3", { textContent: "Columns" }),
    el(
      "ul",
      { id: "why-columns" },
      ...result.columns.map((c) =>
        el(
          "li",
          { dataset: { column: c.name, granted: String(c.granted) } },
          `${c.granted ? "✅" : "❌"} ${c.name} (${c.granted ? "granted" : "not granted"})`,
        ),
      ),
    ),
  );
}

export async function mount(ctx, panel) {
  const $ = (sel) => panel.querySelector(sel);
  const error = $("#why-error");
  try {
    const data = await ctx.loadPermissions();
    $("#why-role").replaceChildren(...data.roles.map((r) => el("option", { value: r, textContent: r })));
    $("#why-table").replaceChildren(...data.tables.map((t) => el("option", { value: t, textContent: t })));
  } catch (e) {
    error.textContent = e.message;
  }
  $("#why-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    $("#why-result").replaceChildren();
    try {
      const body = {
        role: $("#why-role").value,
        table: $("#why-table").value,
        command: $("#why-command").value,
        session: jsonField($("#why-session"), "Session variables") ?? {},
        pk: jsonField($("#why-pk"), "Row by primary key"),
        where: jsonField($("#why-where"), "Filter"),
        values: jsonField($("#why-values"), "New values"),
      };
      const result = await ctx.json("/console/api/explain", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      $("#why-result").replaceChildren(render(result));
    } catch (e) {
      error.textContent = e.message;
    }
  });
  return {};
}
