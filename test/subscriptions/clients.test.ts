/**
 * The GraphQL clients Hasura users run, unchanged, against /v1/graphql:
 * Apollo Client with the split link of Hasura's docs (HttpLink for queries
 * and mutations, GraphQLWsLink over graphql-ws for subscriptions), Apollo's
 * older WebSocketLink (subscriptions-transport-ws, as in Hasura's own
 * tutorials), and urql with graphql-ws as its subscription exchange. Each
 * one, as a blog `user` with its own JWT, gets the live result its role may
 * see, then a new result after its own mutation, and never another author's
 * draft written meanwhile.
 */
import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { WebSocketLink } from "@apollo/client/link/ws";
import { getMainDefinition } from "@apollo/client/utilities";
import { Client as UrqlClient, fetchExchange, subscriptionExchange } from "@urql/core";
import { createClient } from "graphql-ws";
import { SubscriptionClient } from "subscriptions-transport-ws";
import t from "tap";
import WebSocket from "ws";
import { ADMIN, SECURED_JWT } from "../helpers/secured.ts";
import { startServer, type TestServer } from "../helpers/server.ts";
import { hasuraClaims, sign } from "../helpers/tokens.ts";
import { wsUrl } from "../helpers/ws.ts";

const ARTICLES = "subscription Articles { article(order_by: {id: asc}) { id title author_id is_published } }";
const INSERT_DRAFT =
  'mutation Draft($title: String!) { insert_article_one(object: {title: $title, content: "c", is_published: false}) { id } }';

interface Article {
  id: number;
  title: string;
  author_id: number;
  is_published: boolean;
}

/** A client under test: starts the subscription (results pushed to `onResult`), runs the mutation, and stops. */
interface ClientUnderTest {
  subscribe(onResult: (articles: Article[]) => void, onError: (e: unknown) => void): () => void;
  insertDraft(title: string): Promise<number>;
  dispose(): void;
}

/** Results as they arrive, and a wait for one that satisfies a condition. */
function results(client: ClientUnderTest) {
  const seen: Article[][] = [];
  let failure: unknown;
  const waiters = new Set<() => void>();
  const stop = client.subscribe(
    (articles) => {
      seen.push(articles);
      for (const w of waiters) w();
    },
    (e) => {
      failure = e;
      for (const w of waiters) w();
    },
  );
  const until = (what: string, ok: (articles: Article[]) => boolean, ms = 10_000) =>
    new Promise<Article[]>((resolve, reject) => {
      const check = () => {
        if (failure) return reject(failure instanceof Error ? failure : new Error(JSON.stringify(failure)));
        const found = seen.find(ok);
        if (found) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no result with ${what} after ${ms} ms (${seen.length} results)`));
      }, ms);
      waiters.add(check);
      check();
    });
  return { seen, until, stop };
}

async function userHeaders(author: number) {
  const token = await sign(hasuraClaims("user", { "x-hasura-user-id": String(author) }));
  return { Authorization: `Bearer ${token}` };
}

const isSubscription = ({ query }: { query: Parameters<typeof getMainDefinition>[0] }) => {
  const def = getMainDefinition(query);
  return def.kind === "OperationDefinition" && def.operation === "subscription";
};

function apollo(server: TestServer, headers: Record<string, string>, transport: "graphql-ws" | "subscriptions-transport-ws") {
  const wsLink =
    transport === "graphql-ws"
      ? new GraphQLWsLink(createClient({ url: wsUrl(server), webSocketImpl: WebSocket, connectionParams: { headers }, retryAttempts: 0 }))
      : new WebSocketLink(new SubscriptionClient(wsUrl(server), { connectionParams: { headers }, reconnect: false }, WebSocket));
  const client = new ApolloClient({
    link: ApolloLink.split(isSubscription, wsLink, new HttpLink({ uri: `${server.url}/v1/graphql`, headers })),
    cache: new InMemoryCache(),
  });
  const under: ClientUnderTest = {
    subscribe(onResult, onError) {
      const sub = client.subscribe<{ article: Article[] }>({ query: gql(ARTICLES) }).subscribe({
        next: (r) => (r.error ? onError(r.error) : onResult(r.data!.article)),
        error: onError,
      });
      return () => sub.unsubscribe();
    },
    async insertDraft(title) {
      const r = await client.mutate<{ insert_article_one: { id: number } }>({ mutation: gql(INSERT_DRAFT), variables: { title } });
      return r.data!.insert_article_one.id;
    },
    dispose() {
      client.stop();
      if (wsLink instanceof GraphQLWsLink) void wsLink.client.dispose();
      else (wsLink as unknown as { subscriptionClient: SubscriptionClient }).subscriptionClient.close();
    },
  };
  return under;
}

function urql(server: TestServer, headers: Record<string, string>): ClientUnderTest {
  const ws = createClient({ url: wsUrl(server), webSocketImpl: WebSocket, connectionParams: { headers }, retryAttempts: 0 });
  const client = new UrqlClient({
    url: `${server.url}/v1/graphql`,
    fetchOptions: { headers },
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return { subscribe: (sink) => ({ unsubscribe: ws.subscribe(input, sink) }) };
        },
      }),
    ],
  });
  return {
    subscribe(onResult, onError) {
      const sub = client.subscription<{ article: Article[] }>(ARTICLES, {}).subscribe((r) => {
        if (r.error) onError(r.error);
        else onResult(r.data!.article);
      });
      return () => sub.unsubscribe();
    },
    async insertDraft(title) {
      const r = await client.mutation<{ insert_article_one: { id: number } }>(INSERT_DRAFT, { title }).toPromise();
      if (r.error) throw r.error;
      return r.data!.insert_article_one.id;
    },
    dispose() {
      void ws.dispose();
    },
  };
}

t.test("real clients receive live results under the role's rules", async (t) => {
  const server = await startServer(t, { project: "blog", env: { ...SECURED_JWT } });
  const clients: Array<[string, (h: Record<string, string>) => ClientUnderTest]> = [
    ["Apollo Client, split link with GraphQLWsLink", (h) => apollo(server, h, "graphql-ws")],
    ["Apollo Client, WebSocketLink (subscriptions-transport-ws)", (h) => apollo(server, h, "subscriptions-transport-ws")],
    ["urql with graphql-ws", (h) => urql(server, h)],
  ];
  for (const [name, make] of clients) {
    await t.test(name, async (t) => {
      const author = 1;
      const client = make(await userHeaders(author));
      t.teardown(() => client.dispose());
      const live = results(client);
      t.teardown(live.stop);

      // What the rule allows, restated in SQL and read as the superuser.
      const allowed = await server.db.asRoot<{ id: number }>(
        "select id from public.article where is_published or author_id = $1 order by id",
        [author],
      );
      const first = await live.until("a first result", () => true);
      t.same(
        first.map((a) => a.id),
        allowed.map((r) => r.id),
        "the first result: the published articles and the user's own drafts",
      );

      // Another author's draft, written behind the user's back, then the user's own.
      const other = await server.gql(
        'mutation($title: String!) { insert_article_one(object: {title: $title, content: "c", is_published: false, author_id: 2}) { id } }',
        { headers: ADMIN, variables: { title: `${name}: someone else's draft` }, path: "/v1/graphql" },
      );
      t.match(other.body, { data: { insert_article_one: { id: Number } } }, "admin wrote another author's draft");
      const mine = await client.insertDraft(`${name}: my draft`);
      const after = await live.until("the user's new draft", (articles) => articles.some((a) => a.id === mine));
      t.ok(
        after.every((a) => a.is_published || a.author_id === author),
        "only published articles and the user's own",
      );
      t.ok(
        live.seen.every((articles) => articles.every((a) => a.is_published || a.author_id === author)),
        "no result ever held another author's draft",
      );
    });
  }
});
