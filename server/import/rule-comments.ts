/**
 * The Hasura rule each imported policy states, recorded in its comment for
 * `export_metadata` (server/hasura/metadata-export.ts): `comment on policy
 * <role>_<command> on <table> is 'hasura:{"hash": …, "select": {"filter": …}}'`.
 *
 * The hash is of the policy as PostgreSQL deparses it once applied
 * (policyRuleHash over loadPolicyFacts), so it is computed after
 * policies.sql has been applied once, and these statements are appended
 * to it (server/import/index.ts). A policy edited by hand afterwards no
 * longer matches its hash, and is then exported from its SQL, or not at all
 * (never with the rule it was imported from).
 *
 * Policies are found by emit-policies.ts's names: `<role>_<command>`, or
 * `<role>_all` where the four rules coincide. A policy that is not there
 * (a permission not translated) gets no comment.
 */
import { type PolicyFacts, type PolicyRules, policyRuleHash, ruleComment } from "../hasura/metadata-export.ts";
import type { HasuraMetadata, TableMetadata } from "./metadata.ts";
import { quoteIdent, quoteLiteral, quoteQualified } from "./sql-quote.ts";

const HASURA_ADMIN = "admin";

/** The rules of one role on one table, per command, from the metadata. */
function rulesOf(t: TableMetadata, role: string): PolicyRules {
  const r: PolicyRules = {};
  const sel = t.select.get(role);
  const ins = t.insert.get(role);
  const upd = t.update.get(role);
  const del = t.delete.get(role);
  if (sel) r.select = { filter: sel.filter };
  if (ins) r.insert = { check: ins.check };
  if (upd) r.update = { filter: upd.filter, check: upd.check && Object.keys(upd.check).length ? upd.check : null };
  if (del) r.delete = { filter: del.filter };
  return r;
}

/** `comment on policy` statements for the imported policies of `schema`, given their facts once applied. */
export function ruleCommentsSql(md: HasuraMetadata, schema: string, facts: PolicyFacts[]): string {
  const byKey = new Map(facts.map((f) => [`${f.table}\u0000${f.policy}`, f]));
  const lines: string[] = [];
  for (const t of md.tables.filter((x) => x.table.schema === schema)) {
    const roles = new Set([...t.select.keys(), ...t.insert.keys(), ...t.update.keys(), ...t.delete.keys()]);
    for (const role of [...roles].sort()) {
      if (role === HASURA_ADMIN) continue;
      const rules = rulesOf(t, role);
      const candidates: [string, PolicyRules][] = [
        [`${role}_all`, rules],
        [`${role}_select`, { select: rules.select }],
        [`${role}_insert`, { insert: rules.insert }],
        [`${role}_update`, { update: rules.update }],
        [`${role}_delete`, { delete: rules.delete }],
      ];
      for (const [policy, recorded] of candidates) {
        const f = byKey.get(`${t.table.name}\u0000${policy}`);
        if (!f || Object.values(recorded).every((v) => v === undefined)) continue;
        lines.push(
          `comment on policy ${quoteIdent(policy)} on ${quoteQualified(t.table)} is ${quoteLiteral(ruleComment(policyRuleHash(f), recorded))};`,
        );
      }
    }
  }
  if (!lines.length) return "";
  return [
    "",
    "-- The Hasura rule each policy was imported from, for export_metadata (server/import/rule-comments.ts).",
    "-- The hash is the policy's as imported: edit a policy and its rule is read from its SQL instead.",
    ...lines,
    "",
  ].join("\n");
}
