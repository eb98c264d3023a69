/**
 * Hasura's tests-py update-permission suite (test_graphql_mutations.py
 * TestGraphqlUpdatePermissions, postgres; queries/graphql_mutation/update/
 * permissions/*.yaml) through real HTTP and Postgres: ./harness.ts runs it,
 * ./update-permissions.sql is its schema_setup.yaml as grants, policies and
 * declarations. A case that checks only the status expects Hasura's error
 * code, noted where written. user_cannot_unpublish.yaml is in the folder
 * but in no test class.
 */
import t from "tap";
import type { CaseFile } from "./harness.ts";
import { runSuite } from "./harness.ts";

const USER_1 = { "X-Hasura-Role": "user", "X-Hasura-User-Id": "1" };
const UPDATE_ARTICLE = (id: number) => `mutation update_article {
  update_article(where: {id: {_eq: ${id}}}, _set: {content: "Article content version 1.0.2", version: "1.0.2"}) {
    affected_rows
    returning { id version title content author { id name } is_published }
  }
}`;
const UPDATE_RESIDENT = `mutation updateResident {
  update_resident(where: {name: {_eq: "clarke"}}) { affected_rows returning { id name age city } }
}`;
const UPDATE_ACCOUNT = `mutation { update_account(_set: {account_no: 3}, where: {account_no: {_eq: 1}}) { affected_rows returning { id account_no } } }`;
const GET_ARTICLES = `get_articles(args: {search: "1.0.1"}) { id title content }`;
const ARTICLE_2 = { id: 2, title: "Article 1", content: "Sample article 1, content version 1.0.1" };
const COMPUTED_FIELD_NEEDS_ROW =
  "Computed fields are offered only to a role that may read every column of the table, because `f(t)` is a whole-row reference";

const cases: CaseFile[] = [
  {
    file: "user_update_author.yaml",
    divergence: COMPUTED_FIELD_NEEDS_ROW,
    requests: [
      {
        description: "user 1 renames itself, returning a computed field",
        status: 200,
        headers: USER_1,
        query: `mutation { update_author(_set: {name: "Author 1 updated"}, where: {id: {_eq: 1}}) { affected_rows returning { id name ${GET_ARTICLES} } } }`,
        expect: {
          data: { update_author: { affected_rows: 1, returning: [{ id: 1, name: "Author 1 updated", get_articles: [ARTICLE_2] }] } },
        },
        // user reads id and name of author, not user_id: no get_articles for it.
        ours: {
          status: 200,
          expect: {
            errors: [
              {
                code: "validation-failed",
                message: "field 'get_articles' not found in type: 'author'",
                path: "$.selectionSet.update_author.selectionSet.returning.selectionSet.get_articles",
              },
            ],
          },
        },
      },
      {
        description: "user 1 renames itself by pk, returning a computed field",
        status: 200,
        headers: USER_1,
        query: `mutation { update_author_by_pk(pk_columns: {id: 1}, _set: {name: "Author 1 updated"}) { id name ${GET_ARTICLES} } }`,
        expect: { data: { update_author_by_pk: { id: 1, name: "Author 1 updated", get_articles: [ARTICLE_2] } } },
        ours: {
          status: 200,
          expect: {
            errors: [
              {
                code: "validation-failed",
                message: "field 'get_articles' not found in type: 'author'",
                path: "$.selectionSet.update_author_by_pk.selectionSet.get_articles",
              },
            ],
          },
        },
      },
    ],
  },
  {
    file: "user_can_update_unpublished_article.yaml",
    requests: [
      {
        description: "user 1 updates its draft",
        status: 200,
        headers: USER_1,
        query: UPDATE_ARTICLE(2),
        expect: {
          data: {
            update_article: {
              affected_rows: 1,
              returning: [
                {
                  id: 2,
                  version: "1.0.2",
                  title: "Article 1",
                  content: "Article content version 1.0.2",
                  author: { id: 1, name: "Author 1" },
                  is_published: false,
                },
              ],
            },
          },
        },
      },
    ],
  },
  {
    file: "user_cannot_update_published_article_version.yaml",
    requests: [
      {
        description: "user 1 updates its published article",
        status: 200,
        headers: USER_1,
        query: UPDATE_ARTICLE(1),
        expect: { data: { update_article: { affected_rows: 0, returning: [] } } },
      },
    ],
  },
  {
    file: "user_cannot_update_another_users_article.yaml",
    requests: [
      {
        description: "user 2 updates user 1's article",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "2" },
        query: UPDATE_ARTICLE(1),
        expect: { data: { update_article: { affected_rows: 0, returning: [] } } },
      },
    ],
  },
  {
    file: "user_cannot_publish.yaml",
    requests: [
      {
        description: "user 1 publishes its draft",
        status: 200,
        headers: USER_1,
        query:
          "mutation update_article { update_article(where: {id: {_eq: 2}}, _set: {is_published: true}) { affected_rows returning { id } } }",
        expect: {
          errors: [{ code: "permission-error", message: "Check constraint violation. insert/update check constraint failed", path: "$" }],
        },
      },
    ],
  },
  {
    file: "user_cannot_update_id_col_article.yaml",
    requests: [
      {
        description: "user 1 sets id (status only: validation-failed, id is not an update column)",
        status: 200,
        headers: USER_1,
        query:
          "mutation update_article { update_article(where: {id: {_eq: 1}}, _set: {id: 2}) { affected_rows returning { id title content } } }",
        expect: { errors: [{ code: "validation-failed" }] },
      },
    ],
  },
  {
    file: "user_update_resident_preset.yaml",
    requests: [
      {
        description: "user1's update only applies its preset",
        status: 200,
        headers: { "X-Hasura-Role": "user1" },
        query: UPDATE_RESIDENT,
        expect: { data: { update_resident: { affected_rows: 1, returning: [{ id: 3, name: "clarke", age: 21, city: "melbourne" }] } } },
      },
    ],
  },
  {
    file: "user_update_resident_preset_session_var.yaml",
    requests: [
      {
        description: "user2's update only applies its preset, from x-hasura-city",
        status: 200,
        headers: { "X-Hasura-Role": "user2", "X-Hasura-City": "auckland" },
        query: UPDATE_RESIDENT,
        expect: { data: { update_resident: { affected_rows: 1, returning: [{ id: 3, name: "clarke", age: 21, city: "auckland" }] } } },
      },
    ],
  },
  {
    file: "user_account_update_success.yaml",
    requests: [
      {
        description: "an admin user updates an account (_exists)",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "2" },
        query: UPDATE_ACCOUNT,
        expect: { data: { update_account: { affected_rows: 1, returning: [{ id: 1, account_no: 3 }] } } },
      },
    ],
  },
  {
    file: "user_account_update_no_rows.yaml",
    requests: [
      {
        description: "a non-admin user updates an account (_exists)",
        status: 200,
        headers: USER_1,
        query: UPDATE_ACCOUNT,
        expect: { data: { update_account: { affected_rows: 0, returning: [] } } },
      },
    ],
  },
];

runSuite(t, {
  name: "update",
  roles: ["user", "user1", "user2"],
  sql: new URL("./update-permissions.sql", import.meta.url),
  values: new URL("./update-permissions.values.sql", import.meta.url),
  cases,
});
