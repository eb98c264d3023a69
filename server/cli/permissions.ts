/**
 * `npm run permissions [-- --table T] [-- --check FILE]`: the live
 * permission matrix (tables × roles, S U I D), one table's column grants and
 * policies, or a comparison with a committed expectation (exit 1 on any
 * difference, with a readable diff).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { describeTable, diffMatrix, loadMatrix, renderMatrix } from "../db/permissions.ts";
import { runCli, withCliDatabase } from "./db-client.ts";

await runCli(async () => {
  const { values } = parseArgs({ options: { table: { type: "string" }, check: { type: "string" }, schema: { type: "string", default: "public" } } });
  return withCliDatabase(async (client, config, authenticator) => {
    const schema = values.schema!;
    if (values.table) {
      process.stdout.write(await describeTable(client, { schema, table: values.table, authenticator }));
      return 0;
    }
    const actual = renderMatrix(await loadMatrix(client, { schema, authenticator }));
    if (!values.check) {
      process.stdout.write(actual);
      return 0;
    }
    const file = path.resolve(config.projectDir, values.check);
    const expected = await readFile(file, "utf8");
    const diff = diffMatrix(expected, actual);
    if (diff.length === 0) {
      console.log(`permissions match ${path.relative(process.cwd(), file) || file}`);
      return 0;
    }
    console.error(`permissions differ from ${file} (- expected, + live):\n${diff.join("\n")}`);
    return 1;
  });
});
