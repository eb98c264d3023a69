/** `npm run lint:policies`: exits 1 and lists the findings when any lint fires. */
import { lintPolicies } from "../db/lint-policies.ts";
import { runCli, withCliDatabase } from "./db-client.ts";

await runCli(() =>
  withCliDatabase(async (client, _config, authenticator) => {
    const rows = await lintPolicies(client, { schema: "public", authenticator });
    for (const r of rows) console.log(`${r.lint}\t${r.object}\t${r.detail}`);
    console.log(rows.length ? `${rows.length} finding(s)` : "policies lint clean");
    return rows.length ? 1 : 0;
  }),
);
