/**
 * The console's "Why not?" tab in headless Chromium, on the school model
 * (users 1 alice and 2 bob on campus madere, 3 chloe and 4 dimitri on pyc):
 * campus-admin of madere cannot see user 3; the tab says the row is hidden
 * and names the policy that fails, and lists the columns the role is
 * granted (restated here from the catalog). With SCREENSHOTS=1,
 * docs/screenshots/console-why-not.png.
 */
import { mkdirSync } from "node:fs";
import type { Page } from "playwright-core";
import t from "tap";
import { launchChromium, skipWithoutChromium } from "../helpers/browser.ts";
import { ADMIN_SECRET, ADMIN_SECRET_ENV } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";

const SHOTS = process.env.SCREENSHOTS === "1" ? new URL("../../docs/screenshots/", import.meta.url) : null;

/** Fills the Why not? form as a user would and submits it. */
async function explainIn(page: Page, form: { role: string; table: string; command?: string; session: string; pk: string }) {
  await page.selectOption("#why-role", form.role);
  await page.selectOption("#why-table", form.table);
  if (form.command) await page.selectOption("#why-command", form.command);
  await page.fill("#why-session", form.session);
  await page.fill("#why-pk", form.pk);
  await page.click("#why-form button[type=submit]");
}

t.test("Why not? names the failing policy of a hidden row", { skip: skipWithoutChromium }, async (t) => {
  const srv = await startServer(t, { project: "app", env: ADMIN_SECRET_ENV });
  const browser = await launchChromium(t);
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(String(e)));

  await page.goto(`${srv.url}/console#why-not`);
  await page.fill("#secret", ADMIN_SECRET);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector('#why-role option[value="campus-admin"]', { state: "attached" });

  // One row, by its key: hidden, and which policy says no.
  await explainIn(page, {
    role: "campus-admin",
    table: "user",
    command: "select",
    session: '{"x-hasura-campus": "{madere}"}',
    pk: '{"id": 3}',
  });
  await page.waitForSelector("#why-rows");
  const row = page.locator('#why-rows tbody tr[data-key="{\\"id\\":3}"]');
  t.equal(await row.getAttribute("data-visible"), "false", "user 3 is hidden from campus-admin of madere");
  t.match(await row.textContent(), /hidden[\s\S]*failing: campus-admin_all/, "the failing policy is named");
  t.match(await row.locator('td[data-policy="campus-admin_all"]').textContent(), /using: ❌ fail/, "its USING fails");
  t.match(await page.locator("#why-summary").textContent(), /campus-admin · select on .*user: 1 row\(s\), 0 visible, 1 hidden/);
  t.match(await page.locator(".why").textContent(), /campus-admin_all \(permissive[\s\S]*using \(.*campus = ANY/, "the policy's SQL");

  // The columns granted, as the catalog says.
  const granted = await srv.db.asRoot<{ name: string; granted: boolean }>(
    `select attname::text as name, has_column_privilege('campus-admin', attrelid, attnum, 'SELECT') as granted
         from pg_attribute where attrelid = 'public.user'::regclass and attnum > 0 and not attisdropped order by attnum`,
  );
  for (const c of granted) {
    t.equal(
      await page.locator(`#why-columns li[data-column="${c.name}"]`).getAttribute("data-granted"),
      String(c.granted),
      `column ${c.name}: ${c.granted ? "granted" : "not granted"}`,
    );
  }
  if (SHOTS) {
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: new URL("console-why-not.png", SHOTS).pathname, fullPage: true });
  }

  // Without a key: every row with its verdict (madere's visible, pyc's hidden).
  await page.fill("#why-pk", "");
  await page.click("#why-form button[type=submit]");
  await page.waitForFunction(() => document.querySelectorAll("#why-rows tbody tr").length > 1);
  const verdicts = await page
    .locator("#why-rows tbody tr")
    .evaluateAll((rows) => rows.map((r) => [JSON.parse((r as HTMLElement).dataset.key!).id, (r as HTMLElement).dataset.visible]));
  const expected = await srv.db.asRoot<{ id: number; visible: boolean }>(
    `select id, campus = 'madere' as visible from public.user order by id`,
  );
  t.same(
    verdicts,
    expected.map((r) => [r.id, String(r.visible)]),
    "each row: visible on madere, hidden elsewhere",
  );

  // A mistake in the form is said, not sent.
  await page.fill("#why-session", "{not json");
  await page.click("#why-form button[type=submit]");
  t.match(await page.locator("#why-error").textContent(), /Session variables: not JSON/);
  t.same(problems, [], "no errors in the page");
});

t.test("development mode (no admin secret): no login, the console says so", { skip: skipWithoutChromium }, async (t) => {
  const srv = await startServer(t, { project: "app" });
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${srv.url}/console#why-not`);
  await page.waitForSelector('#why-role option[value="user"]', { state: "attached" });
  t.equal(await page.isHidden("#login"), true, "no login form");
  t.match(await page.locator("#mode").textContent(), /development mode/, "the mode is said");
  await explainIn(page, { role: "user", table: "user", session: '{"x-hasura-user-id": "2"}', pk: '{"id": 1}' });
  await page.waitForSelector("#why-rows");
  t.match(
    await page.locator("#why-rows tbody tr").textContent(),
    /hidden[\s\S]*failing: user_select/,
    "user 2 cannot see user 1: user_select fails",
  );
});
