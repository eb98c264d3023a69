/**
 * `npm run permissions -- --explain --role R --session '{…}' --table T
 * [--pk '{"id":1}' | --where '{…}'] [--values '{…}'] [--command select|insert|update|delete]`:
 * the "Why not?" report of server/db/permissions/explain.ts, readable.
 *
 * Evaluated as the role over the runtime connection (the authenticator, as
 * the server does). The rows are read by the superuser connection when there
 * is one (the embedded cluster, ROOT_DATABASE_URL), which sees every row;
 * otherwise by the admin role, as over HTTP.
 */
import pg from "pg";
import type { PreparedDatabase } from "../db/setup.ts";
import { explain, ExplainInputError, type Explanation, parseExplainRequest, type RowReader } from "../db/permissions/explain.ts";

export const EXPLAIN_USAGE =
  "usage: npm run permissions -- --explain --role R --table T [--session JSON] [--claims JSON] [--pk JSON | --where JSON] [--values JSON] [--command select|insert|update|delete]";

export interface ExplainArgs {
  role?: string;
  session?: string;
  claims?: string;
  table?: string;
  pk?: string;
  where?: string;
  values?: string;
  command?: string;
}

/** The options as a request body; a bad option's error names it (`--pk: …`). */
export function explainRequestOf(args: ExplainArgs) {
  const json = (option: keyof ExplainArgs) => {
    const raw = args[option];
    if (raw === undefined) return undefined;
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      throw new Error(`--${option}: not valid JSON: ${raw}`);
    }
  };
  if (args.role === undefined) throw new Error(`--role is required\n${EXPLAIN_USAGE}`);
  if (args.table === undefined) throw new Error(`--table is required\n${EXPLAIN_USAGE}`);
  try {
    return parseExplainRequest({
      role: args.role,
      table: args.table,
      command: args.command,
      session: json("session"),
      claims: json("claims"),
      pk: json("pk"),
      where: json("where"),
      values: json("values"),
    });
  } catch (e) {
    if (e instanceof ExplainInputError) throw new Error(`--${e.field}: ${e.message.replace(/^\w+: /, "")}`);
    throw e;
  }
}

/** The root URL, connected to the runtime URL's database (ROOT_DATABASE_URL may name another). */
function rootInDatabase(rootUrl: string, runtimeUrl: string): string {
  const url = new URL(rootUrl);
  url.pathname = new URL(runtimeUrl).pathname;
  return url.toString();
}

export async function runExplain(args: ExplainArgs, db: PreparedDatabase, schemas: string[], authenticator: string): Promise<number> {
  const req = explainRequestOf(args);
  const client = new pg.Client({ connectionString: db.runtimeUrl });
  const root = db.rootUrl ? new pg.Client({ connectionString: rootInDatabase(db.rootUrl, db.runtimeUrl) }) : null;
  await client.connect();
  try {
    let reader: RowReader | undefined;
    if (root) {
      await root.connect();
      reader = async (sql, params) => {
        await root.query("begin read only");
        try {
          return (await root.query<{ row: string }>(sql, params)).rows;
        } finally {
          await root.query("rollback");
        }
      };
    }
    const result = await explain(client, { schemas, authenticator, reader }, req).catch((e: unknown) => {
      if (e instanceof ExplainInputError) throw new Error(`--${e.field}: ${e.message.replace(/^\w+: /, "")}`);
      throw e;
    });
    process.stdout.write(renderExplanation(result, req.session, reader ? "the superuser" : "role admin"));
    return 0;
  } finally {
    await client.end();
    await root?.end();
  }
}

const outcome = (v: boolean | null) => (v === null ? "" : v ? "pass" : "FAIL");

/** The report, plain text: the table's facts, the policies, then each row's verdict and policy results. */
export function renderExplanation(x: Explanation, session: Record<string, string>, reader: string): string {
  const out: string[] = [];
  const verb = x.command === "select" ? "visible" : "affected";
  out.push(`Why not? ${x.command} on ${x.table} as role ${x.role}, session ${JSON.stringify(session)}`);
  out.push(`row-level security: ${x.rls.enabled ? "enabled" : "disabled"}${x.rls.forced ? ", forced" : ""}`);
  const granted = x.columns.filter((c) => c.granted).map((c) => c.name);
  const denied = x.columns.filter((c) => !c.granted).map((c) => c.name);
  out.push(`columns granted for ${x.command.toUpperCase()}: ${granted.join(", ") || "none"}`);
  if (denied.length) out.push(`columns not granted: ${denied.join(", ")}`);
  out.push(x.policies.length ? `policies of ${x.role} that apply:` : `policies of ${x.role} that apply: none`);
  for (const p of x.policies) {
    out.push(`  ${p.name} (${p.permissive ? "permissive" : "restrictive"}, for ${p.command})`);
    if (p.using !== null) out.push(`      using      ${p.using}`);
    if (p.check !== null) out.push(`      with check ${p.check}`);
  }
  for (const r of x.rows) {
    out.push(`row ${JSON.stringify(r.key)}: ${r.visible ? verb : `not ${verb}`}`);
    for (const p of r.policies) {
      const parts = [p.using !== null ? `using ${outcome(p.using)}` : "", p.check !== null ? `with check ${outcome(p.check)}` : ""].filter(
        Boolean,
      );
      out.push(`  ${p.name}: ${p.error ? `error: ${p.error}` : parts.join(", ")}`);
    }
  }
  if (x.note) out.push(`note: ${x.note}`);
  out.push(`(rows read by ${reader}; evaluated as ${x.role} in a read-only transaction, rolled back)`);
  return `${out.join("\n")}\n`;
}
