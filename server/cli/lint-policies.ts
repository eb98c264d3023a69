/** `npm run lint:policies`: exits 1 and lists the findings when any lint fires, in every schema of DATABASE_SCHEMAS (public unless set). */
import { lintPolicies } from "../db/lint-policies.ts";
import { runCli, withCliDatabase } from "./db-client.ts";

await runCli(() =>
  withCliDatabase(async (client, config, authenticator) => {
    const rows = [];
    for (const schema of config.database.schemas) rows.push(...(await lintPolicies(client, { schema, authenticator })));
    for (const r of rows) console.log(`${r.lint}\t${r.object}\t${r.detail}`);
    console.log(rows.length ? `${rows.length} finding(s)` : "policies lint clean");
    return rows.length ? 1 : 0;
  }),
);
