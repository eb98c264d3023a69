/** Bulk data for the school model at a chosen scale (see seed.sql). */
import { readFile } from "node:fs/promises";
import type pg from "pg";

const SQL = readFile(new URL("./seed.sql", import.meta.url), "utf8");

export async function seedSchool(client: pg.ClientBase, scale: number): Promise<void> {
  if (!Number.isInteger(scale) || scale < 1 || scale > 1000) throw new Error(`--scale: expected an integer from 1 to 1000, got ${scale}`);
  const statements = (await SQL)
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s && !/^(--[^\n]*\n?)*$/.test(s));
  await client.query("begin");
  try {
    for (const statement of statements) {
      await client.query(statement.includes("$1") ? { text: statement, values: [scale] } : statement);
    }
    await client.query("commit");
  } catch (e) {
    await client.query("rollback");
    throw e;
  }
  // Fresh statistics, so plans reflect the new size right away.
  await client.query("analyze");
}
