/**
 * Hasura's tests-py delete-permission suite (test_graphql_mutations.py
 * TestGraphqlDeletePermissions, postgres; queries/graphql_mutation/delete/
 * permissions/*.yaml) through real HTTP and Postgres: ./harness.ts runs it,
 * ./delete-permissions.sql is its schema_setup.yaml as grants, policies and
 * declarations. A case that checks only the status expects Hasura's error
 * code, noted where written.
 */
import t from "tap";
import type { CaseFile } from "./harness.ts";
import { runSuite } from "./harness.ts";

const DELETE_ARTICLE_1 = `mutation delete_article {
  delete_article(where: {id: {_eq: 1}}) { affected_rows returning { id title content author_id } }
}`;
const DELETE_ACCOUNT = "mutation { delete_account(where: {account_no: {_eq: 1}}) { affected_rows } }";
const DELETE_AUTHOR_5_BY_PK = "mutation { delete_author_by_pk(id: 5) { id name articles { id title content } } }";

const cases: CaseFile[] = [
  {
    file: "author_can_delete_his_articles.yaml",
    requests: [
      {
        description: "user 1 deletes its article",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "1" },
        query: DELETE_ARTICLE_1,
        expect: {
          data: {
            delete_article: {
              affected_rows: 1,
              returning: [{ author_id: 1, id: 1, title: "Article 1", content: "Sample article content 1" }],
            },
          },
        },
      },
    ],
  },
  {
    file: "author_cannot_delete_other_users_articles.yaml",
    requests: [
      {
        description: "user 5 deletes user 1's article",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "5" },
        query: DELETE_ARTICLE_1,
        expect: { data: { delete_article: { affected_rows: 0, returning: [] } } },
      },
    ],
  },
  {
    file: "resident_delete_without_select_perm_fail.yaml",
    requests: [
      {
        description: "user deletes a resident (status only: validation-failed, user has no delete on resident)",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "1" },
        query: "mutation { delete_resident(where: {id: {_eq: 1}}) { affected_rows } }",
        expect: { errors: [{ code: "validation-failed" }] },
      },
    ],
  },
  {
    file: "agent_delete_perm_arr_sess_var.yaml",
    requests: [
      {
        description: "agent deletes an allowed resident",
        url: "/v1alpha1/graphql",
        status: 200,
        headers: { "X-Hasura-Role": "agent", "X-Hasura-Allowed-Resident-Ids": "{1,2}" },
        query: "mutation { delete_resident(where: {id: {_eq: 1}}) { affected_rows returning { id name age } } }",
        expect: { data: { delete_resident: { affected_rows: 1, returning: [{ age: 25, id: 1, name: "Griffin" }] } } },
      },
    ],
  },
  {
    file: "agent_delete_perm_arr_sess_var_fail.yaml",
    requests: [
      {
        description: "agent deletes a resident not allowed",
        url: "/v1alpha1/graphql",
        status: 200,
        headers: { "X-Hasura-Role": "agent", "X-Hasura-Allowed-Resident-Ids": "{1,3,5}" },
        query: "mutation { delete_resident(where: {id: {_eq: 2}}) { affected_rows } }",
        expect: { data: { delete_resident: { affected_rows: 0 } } },
      },
    ],
  },
  {
    file: "user_delete_author.yaml",
    requests: [
      {
        description: "user 4 deletes itself",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "4" },
        query: "mutation { delete_author(where: {id: {_eq: 4}}) { affected_rows returning { id name articles { id title content } } } }",
        expect: { data: { delete_author: { affected_rows: 1, returning: [{ id: 4, name: "Author 4", articles: [] }] } } },
      },
      {
        description: "user 5 deletes itself by pk",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "5" },
        query: DELETE_AUTHOR_5_BY_PK,
        expect: { data: { delete_author_by_pk: { id: 5, name: "Author 5", articles: [] } } },
      },
    ],
  },
  {
    file: "user_delete_author_by_pk.yaml",
    requests: [
      {
        description: "user 5 deletes itself by pk",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "5" },
        query: DELETE_AUTHOR_5_BY_PK,
        expect: { data: { delete_author_by_pk: { id: 5, name: "Author 5", articles: [] } } },
      },
    ],
  },
  {
    file: "user_delete_account_success.yaml",
    requests: [
      {
        description: "an admin user deletes an account (_exists)",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "2" },
        query: DELETE_ACCOUNT,
        expect: { data: { delete_account: { affected_rows: 1 } } },
      },
    ],
  },
  {
    file: "user_delete_account_no_rows.yaml",
    requests: [
      {
        description: "a non-admin user deletes an account (_exists)",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "1" },
        query: DELETE_ACCOUNT,
        expect: { data: { delete_account: { affected_rows: 0 } } },
      },
    ],
  },
];

runSuite(t, {
  name: "delete",
  roles: ["user", "resident", "agent"],
  sql: new URL("./delete-permissions.sql", import.meta.url),
  values: new URL("./delete-permissions.values.sql", import.meta.url),
  cases,
});
