/**
 * The API tab: GraphiQL against /v1/graphql (Hasura's dialect) or /graphql.
 *
 * Ruru rather than the `graphiql` package: Ruru is a dependency already
 * (grafserv serves its pre-built bundle at /ruru-static/), and that bundle
 * is GraphiQL 5 with the docs, the explorer plugin and history, loadable as
 * one ES module without a bundler; `graphiql` and its explorer plugin would
 * need react, react-dom, Monaco and an import map served by hand. Ruru takes
 * our own `fetcher`, which is all Hasura's dialect needs:
 *
 * - the editor's headers go with every request, introspection included (so
 *   the docs and completion are that role's schema), and the schema is
 *   fetched again when the headers change (GraphiQL introspects again when
 *   its fetcher changes);
 * - subscriptions go over graphql-transport-ws with Hasura's
 *   `connection_init` payload `{headers}` (Ruru's own fetcher would spread
 *   the headers at the payload's top level, which Hasura ignores).
 */
const STATIC = "/ruru-static/";

// Monaco's workers, from the same origin (CSP worker-src 'self').
globalThis.MonacoEnvironment = {
  getWorker(_id, label) {
    const file = label === "json" ? "jsonWorker.js" : label === "graphql" ? "graphqlWorker.js" : "editorWorker.js";
    return new Worker(new URL(STATIC + file, location.origin), { type: "module" });
  },
};

const DEFAULT_QUERY = {
  "/v1/graphql":
    "# Hasura's dialect: the same requests Hasura's console sends.\n# Edit the request headers in Headers below to act as another role.\nquery {\n  __typename\n}\n",
  "/graphql": "# PostGraphile's dialect: the same roles, session and rows as /v1/graphql.\nquery {\n  __typename\n}\n",
};

/** GraphiQL's storage, per dialect, for this browser tab only (the headers may hold the admin secret). */
function sessionStorageFor(prefix) {
  const keys = () => Object.keys(sessionStorage).filter((k) => k.startsWith(prefix));
  return {
    getItem: (k) => sessionStorage.getItem(prefix + k),
    setItem: (k, v) => sessionStorage.setItem(prefix + k, v),
    removeItem: (k) => sessionStorage.removeItem(prefix + k),
    clear: () => {
      for (const k of keys()) sessionStorage.removeItem(k);
    },
    get length() {
      return keys().length;
    },
  };
}

function isSubscription(documentAST, operationName) {
  const ops = (documentAST?.definitions ?? []).filter((d) => d.kind === "OperationDefinition");
  const op = operationName ? ops.find((d) => d.name?.value === operationName) : ops[0];
  return op?.operation === "subscription";
}

/** HTTP POST for queries and mutations; a WebSocket per set of headers for subscriptions. */
function makeFetcher(endpoint) {
  const wsUrl = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${endpoint}`;
  let socket = null;
  let socketKey = null;
  const socketFor = (headers) => {
    const key = JSON.stringify(headers);
    if (socket && socketKey === key) return socket;
    socket?.dispose();
    socketKey = key;
    socket = globalThis.graphqlWs.createClient({ url: wsUrl, connectionParams: { headers }, lazy: true, retryAttempts: 0 });
    return socket;
  };
  return (params, opts = {}) => {
    const headers = opts.headers ?? {};
    if (isSubscription(opts.documentAST, params.operationName)) return socketFor(headers).iterate(params);
    return fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...headers },
      body: JSON.stringify(params),
    }).then((res) => res.json());
  };
}

export async function mount(ctx, panel) {
  const [{ React, Ruru, createRoot }] = await Promise.all([import(`${STATIC}ruru.js`)]);
  const root = createRoot(panel.querySelector("#graphiql"));
  const secret = ctx.secret();
  const headers = JSON.stringify(secret ? { "X-Hasura-Admin-Secret": secret } : {}, null, 2);
  const select = panel.querySelector("#dialect");

  let endpoint = select.value;
  let base = makeFetcher(endpoint);
  let fetcher = (...args) => base(...args);
  let lastHeaders = null;
  let timer = null;

  const render = () =>
    root.render(
      React.createElement(Ruru, {
        key: endpoint,
        endpoint,
        fetcher,
        storage: sessionStorageFor(`console${endpoint}:`),
        initialHeaders: headers,
        defaultHeaders: headers,
        defaultQuery: DEFAULT_QUERY[endpoint],
        isHeadersEditorEnabled: true,
        showPersistHeadersSettings: false,
        defaultEditorToolsVisibility: "headers",
        onEditHeaders(value) {
          // Introspect again, as the role these headers name, once they parse and stop changing.
          clearTimeout(timer);
          timer = setTimeout(() => {
            let parsed;
            try {
              parsed = JSON.stringify(JSON.parse(value || "{}"));
            } catch {
              return;
            }
            if (lastHeaders === null) lastHeaders = JSON.stringify(JSON.parse(headers));
            if (parsed === lastHeaders) return;
            lastHeaders = parsed;
            fetcher = (...args) => base(...args);
            render();
          }, 400);
        },
      }),
    );
  select.addEventListener("change", () => {
    endpoint = select.value;
    base = makeFetcher(endpoint);
    fetcher = (...args) => base(...args);
    lastHeaders = null;
    render();
  });
  render();
  return {};
}
