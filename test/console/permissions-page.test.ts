/**
 * The admin-only permission page in headless Chromium (Debian's chromium,
 * driven by playwright-core): refused without the admin secret, the matrix
 * after it, and a cell expanding to its policy SQL.
 */
import t from "tap";
import { launchChromium, skipWithoutChromium } from "../helpers/browser.ts";
import { ADMIN, ADMIN_SECRET, ADMIN_SECRET_ENV } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";

t.test("JSON endpoint requires the admin secret", async (t) => {
  const srv = await startServer(t, { env: ADMIN_SECRET_ENV });
  const denied = await fetch(`${srv.url}/console/permissions.json`);
  t.equal(denied.status, 401);
  t.equal(((await denied.json()) as { code: string }).code, "access-denied");
  const wrong = await fetch(`${srv.url}/console/permissions.json`, { headers: { "x-hasura-admin-secret": "nope" } });
  t.equal(wrong.status, 401);
  const ok = await fetch(`${srv.url}/console/permissions.json`, { headers: ADMIN });
  t.equal(ok.status, 200);
  const body = (await ok.json()) as { tables: string[]; roles: string[]; cells: Record<string, Record<string, Record<string, string>>> };
  t.ok(body.tables.includes("user"));
  t.ok(body.roles.includes("anonymous"));
  t.equal(body.cells.user!.anonymous!.I, "❌", "anonymous cannot insert users");
});

t.test("the page in headless Chromium", { skip: skipWithoutChromium }, async (t) => {
  const srv = await startServer(t, { env: ADMIN_SECRET_ENV });
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  await page.goto(`${srv.url}/console/permissions`);

  await page.fill("#secret", "wrong-secret");
  await page.click("button[type=submit]");
  await page.waitForFunction(() => document.getElementById("error")!.textContent !== "");
  t.match(await page.textContent("#error"), /admin/);
  t.equal(await page.isHidden("#matrix"), true, "no matrix without the secret");

  await page.fill("#secret", ADMIN_SECRET);
  await page.click("button[type=submit]");
  await page.waitForSelector("#matrix:not([hidden])");
  const cell = page.locator('details.cell[data-table="user"][data-role="anonymous"]');
  t.match(await cell.locator("summary").textContent(), /S(🟩 all rows|✅ with rows) U❌ none I❌ none D❌ none/);
  await cell.locator("summary").click();
  t.match(await cell.locator("pre").textContent(), /anonymous_select|using/);
  t.equal(await cell.evaluate((d) => (d as HTMLDetailsElement).open), true, "cell expanded");
});
