// The one-page matrix at /console/permissions (permissions.html); a file so its CSP needs no inline script.
const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

// A word beside each symbol: without an emoji font every symbol looks the same.
const WORDS = { "🟩": "all rows", "✅": "with rows", "❌": "none" };

async function show(secret) {
  const res = await fetch("/console/permissions.json", { headers: secret ? { "x-hasura-admin-secret": secret } : {} });
  const body = await res.json();
  const error = document.getElementById("error");
  if (!res.ok) {
    error.textContent = body.error ?? "request failed";
    return;
  }
  error.textContent = "";
  const inherited = body.roles.filter((r) => body.parents[r]);
  const inheritedLine = document.getElementById("inherited");
  inheritedLine.textContent = `Inherited roles: ${inherited.map((r) => `${r} = ${body.parents[r].join(" + ")}`).join("; ")}`;
  inheritedLine.hidden = inherited.length === 0;
  const table = document.getElementById("matrix");
  table.tHead.replaceChildren(el("tr", {}, el("th", { textContent: "table" }), ...body.roles.map((r) => el("th", { textContent: r }))));
  table.tBodies[0].replaceChildren(
    ...body.tables.map((t) =>
      el(
        "tr",
        {},
        el("th", { textContent: t }),
        ...body.roles.map((r) => {
          const cell = body.cells[t][r];
          const notes = body.notes[t]?.[r] ?? {};
          const summary = body.commands.map((c) => `${c}${cell[c]} ${WORDS[cell[c]] ?? ""}${notes[c] ? `[${notes[c]}]` : ""}`).join(" ");
          // An inherited role is subject to its parents' policies too.
          const memberOf = body.memberOf[r] ?? [r];
          const policies = body.policies.filter(
            (p) => p.tablename === t && (p.roles.includes("public") || p.roles.some((x) => memberOf.includes(x))),
          );
          const sql = policies
            .map(
              (p) =>
                `-- ${p.policyname} (${p.cmd}, to ${p.roles.join(", ")})\n` +
                (p.qual ? `using (${p.qual})\n` : "") +
                (p.with_check ? `with check (${p.with_check})\n` : ""),
            )
            .join("\n");
          const declared = body.commands
            .filter((c) => notes[c])
            .map((c) => `-- hasura ${c}: ${notes[c]}\n`)
            .join("");
          const details = el(
            "details",
            { className: "cell" },
            el("summary", { textContent: summary }),
            el("pre", { textContent: (declared ? `${declared}\n` : "") + (sql || "-- no policy for this role") }),
          );
          details.dataset.table = t;
          details.dataset.role = r;
          return el("td", {}, details);
        }),
      ),
    ),
  );
  table.hidden = false;
}
document.getElementById("login").addEventListener("submit", (e) => {
  e.preventDefault();
  show(document.getElementById("secret").value);
});
