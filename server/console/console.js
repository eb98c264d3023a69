/**
 * The console's shell: the admin-secret login (skipped in development mode,
 * when the server has no secret), kept in sessionStorage as Hasura's console
 * keeps it for the browser session; the tabs, one per URL hash (#api,
 * #permissions, #permissions/<table>, #why-not), each mounted on first use.
 */
const SECRET_KEY = "console:admin-secret";
const secretRequired = document.documentElement.dataset.adminSecret === "required";
const $ = (id) => document.getElementById(id);

/** What the tabs share: the admin headers and a JSON fetch that sends them. */
export const consoleContext = {
  secretRequired,
  secret: () => (secretRequired ? sessionStorage.getItem(SECRET_KEY) : null),
  adminHeaders() {
    const s = this.secret();
    return s ? { "x-hasura-admin-secret": s } : {};
  },
  async json(path, init = {}) {
    const res = await fetch(path, { ...init, headers: { ...(init.headers ?? {}), ...this.adminHeaders() } });
    const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
    if (!res.ok) throw Object.assign(new Error(body.error ?? `${res.status} ${res.statusText}`), { status: res.status, body });
    return body;
  },
  permissions: null,
  /** permissions.json, fetched once per login (the Permissions and Why not? tabs both read it). */
  async loadPermissions(force = false) {
    if (!this.permissions || force) this.permissions = this.json("/console/permissions.json");
    return this.permissions;
  },
};

const TABS = {
  api: () => import("./api-tab.js"),
  permissions: () => import("./permissions-tab.js"),
  "why-not": () => import("./why-not-tab.js"),
};
const mounted = new Map();

async function show() {
  const [tab, ...rest] = (location.hash.slice(1) || "api").split("/");
  const name = Object.hasOwn(TABS, tab) ? tab : "api";
  for (const t of Object.keys(TABS)) {
    $(`panel-${t}`).hidden = t !== name;
    $(`tab-${t}`).setAttribute("aria-selected", String(t === name));
  }
  if (!mounted.has(name))
    mounted.set(
      name,
      TABS[name]().then((m) => m.mount(consoleContext, $(`panel-${name}`))),
    );
  const tabModule = await mounted.get(name);
  tabModule?.route?.(rest.map(decodeURIComponent));
}

function enter() {
  $("login").hidden = true;
  $("tabs").hidden = false;
  $("logout").hidden = !secretRequired;
  $("mode").textContent = secretRequired ? "" : "development mode: no admin secret, every request is admin";
  for (const b of document.querySelectorAll("#tabs button")) {
    b.addEventListener("click", () => {
      location.hash = b.dataset.tab;
    });
  }
  window.addEventListener("hashchange", show);
  show();
}

async function login(event) {
  event.preventDefault();
  const secret = $("secret").value;
  $("login-error").textContent = "";
  // Checked against an admin-only endpoint before anything else is shown.
  const res = await fetch("/console/permissions.json", { headers: { "x-hasura-admin-secret": secret } });
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    $("login-error").textContent = body.error ?? `${res.status} ${res.statusText}`;
    return;
  }
  sessionStorage.setItem(SECRET_KEY, secret);
  consoleContext.permissions = res.json();
  enter();
}

$("logout").addEventListener("click", () => {
  sessionStorage.removeItem(SECRET_KEY);
  location.hash = "";
  location.reload();
});

if (secretRequired && !sessionStorage.getItem(SECRET_KEY)) {
  $("login").hidden = false;
  $("login-form").addEventListener("submit", login);
  $("secret").focus();
} else {
  enter();
}
