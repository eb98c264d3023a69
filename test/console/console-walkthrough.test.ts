/**
 * Seed 002's walkthrough in /console, in headless Chromium (Debian's
 * chromium, driven by playwright-core, as permissions-page.test.ts): log in
 * with the admin secret (the walkthrough's access key), replace the
 * admin-secret header by `X-Hasura-Role: anonymous`, run `article { … }`
 * (the published articles), try `insert_tag` (the mutation does not exist),
 * open Docs (query and subscription roots only), read the `tag` table's
 * permissions, then as `user` with a JWT insert the tag; and a subscription
 * over the WebSocket. With SCREENSHOTS=1, docs/screenshots/console-*.png.
 */
import { mkdirSync } from "node:fs";
import type { Page } from "playwright-core";
import t from "tap";
import { launchChromium, skipWithoutChromium } from "../helpers/browser.ts";
import { ADMIN_SECRET, SECURED_JWT } from "../helpers/secured.ts";
import { startServer } from "../helpers/server.ts";
import { hasuraClaims, sign } from "../helpers/tokens.ts";
import { ARTICLES, insertTag, TAG } from "../hasura/helpers-walkthrough.ts";

const SHOTS = process.env.SCREENSHOTS === "1" ? new URL("../../docs/screenshots/", import.meta.url) : null;

/**
 * Replaces the whole text of one of GraphiQL's Monaco editors as a user
 * pasting it would (typed, Monaco would close the brackets a second time).
 */
async function setEditor(page: Page, selector: string, text: string) {
  await page.evaluate((s) => navigator.clipboard.writeText(s), text);
  await page.locator(`${selector} .monaco-editor`).first().click();
  await page.keyboard.press("ControlOrMeta+KeyA");
  await page.keyboard.press("ControlOrMeta+KeyV");
  // Monaco shows the paste first; GraphiQL takes it into its state a moment later (debounced). Running before
  // that runs the previous operation, which on a loaded runner made a later wait time out.
  const squeeze = (x: string) => x.replace(/\s+/g, "");
  await page.waitForFunction(
    ({ sel, want }) => (document.querySelector(`${sel} .view-lines`)?.textContent ?? "").replace(/\s+/g, "").includes(want),
    { sel: selector, want: squeeze(text).slice(0, 40) },
  );
  await page.waitForTimeout(300);
}

/** The text of GraphiQL's response pane (Monaco renders it as lines of spans). */
async function responseText(page: Page): Promise<string> {
  // Monaco renders spaces as no-break spaces.
  return ((await page.locator(".graphiql-response .view-lines").textContent()) ?? "").replaceAll("\u00a0", " ");
}

async function shot(page: Page, name: string) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: new URL(name, SHOTS).pathname });
}

/** GraphiQL's request-headers editor, once its tab is open. */
const HEADERS_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden)";

async function openHeaders(page: Page) {
  await page
    .getByRole("button", { name: /headers/i })
    .first()
    .click();
  await page.waitForSelector(`${HEADERS_EDITOR} .monaco-editor`);
}

async function run(page: Page) {
  await page.locator(".graphiql-execute-button").click();
}

t.test("the walkthrough of seed 002 in /console", { skip: skipWithoutChromium }, async (t) => {
  const srv = await startServer(t, { project: "blog", env: SECURED_JWT });
  const browser = await launchChromium(t);
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: srv.url });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  if (process.env.CONSOLE_DEBUG) t.teardown(() => page.screenshot({ path: process.env.CONSOLE_DEBUG! }));
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(String(e)));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
  const offOrigin: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(srv.url) && !r.url().startsWith("data:") && !r.url().startsWith("blob:")) offOrigin.push(r.url());
  });

  // 1. The login, as Hasura's console asks for the access key.
  await page.goto(`${srv.url}/console`);
  await page.fill("#secret", "not-the-secret");
  await page.click("#login-form button[type=submit]");
  await page.waitForFunction(() => document.getElementById("login-error")!.textContent !== "");
  t.match(await page.textContent("#login-error"), /admin|invalid/i, "a wrong secret is refused");
  t.equal(await page.isHidden("#tabs"), true, "and nothing else is shown");
  await page.fill("#secret", ADMIN_SECRET);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector(".graphiql-container .graphiql-query-editor .monaco-editor");

  // 2. The header editor holds the admin secret; replace it by X-Hasura-Role: anonymous.
  await openHeaders(page);
  t.match(
    await page.locator(`${HEADERS_EDITOR} .view-lines`).textContent(),
    /X-Hasura-Admin-Secret.*test-admin-secret/,
    "prefilled with the admin secret",
  );
  await setEditor(page, HEADERS_EDITOR, '{"X-Hasura-Role": "anonymous"}');
  await page.waitForTimeout(1500);

  // 3. article { … }: the published articles (restated from the blog's rule in SQL).
  const published = await srv.db.asRoot<{ title: string }>("select title from public.article where is_published order by id");
  const drafts = await srv.db.asRoot<{ title: string }>("select title from public.article where not is_published order by id");
  t.equal(published.length, 2, "the walkthrough's two published articles");
  await setEditor(page, ".graphiql-query-editor", ARTICLES);
  await run(page);
  await page.waitForFunction(() => /"article"/.test(document.querySelector(".graphiql-response .view-lines")?.textContent ?? ""));
  const articles = await responseText(page);
  for (const { title } of published) t.match(articles, title, `shows ${title}`);
  for (const { title } of drafts) t.notMatch(articles, title, `hides the draft ${title}`);
  t.match(articles, /"author"/, "with its author");
  await shot(page, "console-walkthrough.png");

  // 4. insert_tag as anonymous: the mutation does not exist.
  await setEditor(page, ".graphiql-query-editor", insertTag(TAG));
  await run(page);
  await page.waitForFunction(() => /validation-failed/.test(document.querySelector(".graphiql-response .view-lines")?.textContent ?? ""));
  t.match(await responseText(page), /no mutations exist/, "no mutations exist");

  // 5. Docs: the schema of anonymous (fetched again with the new headers): query and subscription roots only.
  await page.getByRole("button", { name: "Show Documentation Explorer" }).click();
  const docs = page.locator(".graphiql-doc-explorer-content");
  await page.waitForFunction(() => {
    const text = (document.querySelector(".graphiql-doc-explorer-content") as HTMLElement | null)?.textContent ?? "";
    return /query_root/.test(text) && !/mutation/.test(text);
  });
  const rootTypes = await docs.textContent();
  t.match(rootTypes, /query:\s*query_root/, "query root");
  t.match(rootTypes, /subscription:\s*subscription_root/, "subscription root");
  t.notMatch(rootTypes, /mutation/, "no mutation root");
  await shot(page, "console-docs.png");

  // 6. The tag table's permissions: anonymous selects, user inserts, admin everything.
  await page.click("#tab-permissions");
  // First the matrix of every table, then the tag table's own view.
  const overview = page.locator('#perm-matrix tr[data-table="tag"] td[data-role="anonymous"]');
  t.match(
    await overview.textContent(),
    /insert: ❌\s*none\s*select: (✅|🟩)\s*(all rows|with rows)\s*update: ❌\s*none\s*delete: ❌\s*none/,
    "the matrix: anonymous only selects tags",
  );
  if (process.env.CONSOLE_DEBUG) await page.screenshot({ path: "/tmp/h2-overview.png", fullPage: true });
  await page.click('#perm-tables a[data-table="tag"]');
  await page.waitForSelector('#perm-table[data-table="tag"]');
  const cell = (role: string, command: string) => page.locator(`details.perm-cell[data-role="${role}"][data-command="${command}"] summary`);
  t.match(await cell("anonymous", "select").textContent(), /(✅|🟩)\s*(all rows|with rows)/, "anonymous: select");
  for (const command of ["insert", "update", "delete"])
    t.match(await cell("anonymous", command).textContent(), /❌\s*none/, `anonymous: no ${command}`);
  t.match(await cell("user", "insert").textContent(), /(✅|🟩)\s*(all rows|with rows)/, "user: insert");
  for (const command of ["insert", "select", "update", "delete"])
    t.notMatch(await cell("admin", command).textContent(), /none/, `admin: ${command}`);
  await cell("user", "insert").click();
  const expanded = page.locator('details.perm-cell[data-role="user"][data-command="insert"]');
  t.match(await expanded.locator("pre").textContent(), /user_insert[\s\S]*with check \(true\)/, "the cell expands to its policy SQL");
  t.match(await expanded.textContent(), /columns: .*name/, "and its columns");
  t.match(await page.locator("#perm-legend").textContent(), /all rows[\s\S]*with rows[\s\S]*none/, "a legend in words");
  await shot(page, "console-permissions.png");

  // 7. Back to the API: X-Hasura-Role user without a token is still anonymous, so the same error.
  await page.click("#tab-api");
  await openHeaders(page);
  await setEditor(page, HEADERS_EDITOR, '{"X-Hasura-Role": "user"}');
  await setEditor(page, ".graphiql-query-editor", insertTag(TAG));
  await run(page);
  await page.waitForFunction(() =>
    /no\smutations\sexist/.test(document.querySelector(".graphiql-response .view-lines")?.textContent ?? ""),
  );
  t.pass("user without a token: no mutations exist, as before");

  // 8. With the user's JWT in Authorization: the tag is inserted and played back.
  const token = await sign(hasuraClaims("user", { "x-hasura-user-id": "1" }));
  await setEditor(page, HEADERS_EDITOR, JSON.stringify({ "X-Hasura-Role": "user", Authorization: `Bearer ${token}` }));
  await page.waitForTimeout(600);
  await setEditor(page, ".graphiql-query-editor", insertTag(TAG));
  await run(page);
  await page.waitForFunction(() => /insert_tag/.test(document.querySelector(".graphiql-response .view-lines")?.textContent ?? ""));
  t.match(await responseText(page), new RegExp(`"name":\\s*"${TAG}"`), "the tag is played back");
  t.same(await srv.db.asRoot("select name from public.tag where name = $1", [TAG]), [{ name: TAG }], "and is in the table");
  // The docs follow: the mutation root appears.
  await page.waitForFunction(() =>
    /mutation:\s*mutation_root/.test((document.querySelector(".graphiql-doc-explorer-content") as HTMLElement | null)?.textContent ?? ""),
  );
  t.pass("the docs show the mutation root for user");

  // 9. A subscription over the WebSocket, as user: the tags, then a new one live.
  await setEditor(
    page,
    ".graphiql-query-editor",
    `subscription {\n  tag(where: {name: {_in: ["${TAG}", "live-tag"]}}, order_by: {name: asc}) {\n    name\n  }\n}`,
  );
  await run(page);
  // The first live result (the mutation's answer before it said "insert_tag").
  await page.waitForFunction(() => /"tag":\s*\[/.test(document.querySelector(".graphiql-response .view-lines")?.textContent ?? ""), null, {
    timeout: 30_000,
  });
  t.match(await responseText(page), new RegExp(`"tag": \\[\\s*\\{\\s*"name": "${TAG}"\\s*\\}\\s*\\]`), "the first result: the tag");
  await srv.db.asRoot("insert into public.tag (name) values ('live-tag')");
  await page.waitForFunction(() => (document.querySelector(".graphiql-response .view-lines")?.textContent ?? "").includes("live-tag"));
  t.pass("the live result follows a write");
  await run(page); // stops the subscription

  // 10. The dialect switch: PostGraphile's /graphql, same headers work there.
  await page.selectOption("#dialect", "/graphql");
  await page.waitForSelector(".graphiql-container .graphiql-query-editor .monaco-editor");
  await openHeaders(page);
  await setEditor(page, HEADERS_EDITOR, '{"X-Hasura-Role": "anonymous"}');
  await setEditor(page, ".graphiql-query-editor", "{ allArticles(orderBy: ID_ASC) { nodes { title } } }");
  await run(page);
  await page.waitForFunction(() => /allArticles/.test(document.querySelector(".graphiql-response .view-lines")?.textContent ?? ""));
  const pg = await responseText(page);
  for (const { title } of published) t.match(pg, title, `/graphql shows ${title}`);
  for (const { title } of drafts) t.notMatch(pg, title, `/graphql hides ${title}`);

  // 11. Lint findings stand beside their table: make one, reload (still logged in for this tab).
  await srv.db.asRoot("alter table public.tag no force row level security");
  await page.goto(`${srv.url}/console#permissions/tag`);
  await page.reload();
  await page.waitForSelector('#perm-table[data-table="tag"] .lint');
  t.match(
    await page.locator('#perm-table[data-table="tag"] .lint').textContent(),
    /1 finding[\s\S]*rls_not_forced/,
    "tag's finding, beside it",
  );
  t.match(await page.locator('#perm-tables a[data-table="tag"]').textContent(), /1 lint/, "and counted in the table list");
  t.match(await page.locator('#perm-tables a[data-table="article"]').textContent(), /^article$/, "other tables clean");

  // The login's refusal (401) is the only failed request.
  t.same(
    problems.filter((p) => !/401/.test(p)),
    [],
    "no errors in the page",
  );
  t.same(offOrigin, [], "nothing fetched from another origin");
});
