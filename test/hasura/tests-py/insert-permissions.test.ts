/**
 * Hasura's tests-py insert-permission suite (test_graphql_mutations.py
 * TestGraphqlInsertPermission, postgres; queries/graphql_mutation/insert/
 * permissions/*.yaml) through real HTTP and Postgres: ./harness.ts runs it,
 * ./insert-permissions.sql is its schema_setup.yaml as grants, policies and
 * declarations.
 *
 * Ported as the stored case files say, with these readings:
 *  - a case that checks only the status (no `response`) expects Hasura's
 *    error code for it, noted where written;
 *  - a failed insert `check`: Hasura's answer is `permission-error`,
 *    "check constraint of an insert/update permission has failed" at
 *    `$.selectionSet.insert_t.args.objects` (its withCheckPermission, and
 *    the case files user_insert_account_fail / column_comparison_across_tables);
 *    older stored files carry v1.0's "Check constraint violation. insert
 *    check constraint failed" for the same failure;
 *  - `field "x" not found` (older servers' quotes) is `field 'x' not found`;
 *  - user_with_no_backend_privilege is the role `user` with the backend
 *    header (the variant the other backend cases agree with), so `user`
 *    has no insert on the table `user`;
 *  - author_student_role_insert_check_bio_fail_verbose_resp.yaml (a verbose
 *    error option) and inherited_roles/ are other classes' cases.
 */
import t from "tap";
import type { CaseFile } from "./harness.ts";
import { runSuite } from "./harness.ts";

const USER_1 = { "X-Hasura-Role": "user", "X-Hasura-User-Id": "1" };
const CHECK_FAILED = "check constraint of an insert/update permission has failed";
const objectsPath = (table: string) => `$.selectionSet.insert_${table}.args.objects`;
const BACKEND_HEADER_MESSAGE =
  'x-hasura-use-backend-only-permissions:  Not a valid boolean text. True values are ["true","t","yes","y"] and  False values are ["false","f","no","n"]. All values are case insensitive';

const ARTICLE_UPSERT = (updateColumns: string) => `mutation insert_article {
  insert_article(objects: [{id: 1, content: "Updated Article 1 content", author_id: 1}],
    on_conflict: {constraint: article_pkey, update_columns: [${updateColumns}]}) {
    affected_rows
    returning { title content author_id }
  }
}`;
const AUTHOR_UPSERT = (id: number, name: string, isRegistered: boolean, onConflict: string) => `mutation insert_author {
  insert_author(objects: [{id: ${id}, name: "${name}", is_registered: ${isRegistered}}], on_conflict: {${onConflict}}) {
    affected_rows
    returning { id name is_registered }
  }
}`;
const STUDENT_INSERT = (bio: string) => `mutation insert_author {
  insert_author(objects: [{id: 5, name: "Student 1"${bio} is_registered: false}]) { affected_rows }
}`;
const COMPUTER_INSERT = `mutation insert_computer($spec: jsonb) {
  insert_computer(objects: [{name: "Computer1", spec: $spec}]) { affected_rows returning { name spec } }
}`;
const ARTICLE_4 = `mutation insert_article {
  insert_article(objects: [{title: "Article 4", content: "Sample article content 4", author_id: 2}]) { returning { title content } }
}`;
const INSERT_USER = (returning: string) => `mutation { insert_user(objects: [{name: "FooBar"}]) { affected_rows ${returning} } }`;
const ACCOUNT_INSERT = "mutation { insert_account(objects: {account_no: 1}) { affected_rows } }";
const LEADS_UPSERT = `mutation {
  insert_leads(objects: [{id: 1, name: "lead 2", added_by: "sales 1"}], on_conflict: {constraint: leads_pkey, update_columns: [name]}) {
    affected_rows
  }
}`;
const ORDER = (quantity: number) => `mutation { insert_order_cart(objects: {item_id: 1, quantity: ${quantity}}) { affected_rows } }`;
const FULL_SPEC = { processor: "AMD", display: '16" FHD', memory: "16 GB DDR4" };

const cases: CaseFile[] = [
  {
    file: "article_on_conflict_user_role.yaml",
    requests: [
      {
        description: "user 1 upserts its article 1",
        status: 200,
        headers: USER_1,
        query: ARTICLE_UPSERT("content"),
        expect: {
          data: {
            insert_article: { affected_rows: 1, returning: [{ title: "Article 1", content: "Updated Article 1 content", author_id: 1 }] },
          },
        },
      },
    ],
  },
  {
    file: "article_on_conflict_restricted_role.yaml",
    requests: [
      {
        description: "restricted (no update column) upserts with update_columns []",
        status: 200,
        headers: { "X-Hasura-Role": "restricted", "X-Hasura-User-Id": "1" },
        query: ARTICLE_UPSERT(""),
        expect: { data: { insert_article: { affected_rows: 0, returning: [] } } },
      },
      {
        description: "restricted names the placeholder column",
        status: 200,
        headers: { "X-Hasura-Role": "restricted", "X-Hasura-User-Id": "1" },
        query: ARTICLE_UPSERT("_PLACEHOLDER"),
        expect: {
          errors: [{ code: "validation-failed", message: "erroneous column name", path: "$.selectionSet.insert_article.args.on_conflict" }],
        },
      },
    ],
  },
  {
    // The case file writes `header:`, so tests-py sends it without a role (admin); it checks the status.
    file: "article_on_conflict_constraint_on_user_role_error.yaml",
    requests: [
      {
        description: "on_conflict with constraint_on (no such field)",
        status: 200,
        query: `mutation insert_article {
          insert_article(objects: [{content: "Updated Article 1 content", id: 1}], on_conflict: {constraint_on: id}) { returning { title content } }
        }`,
        expect: { errors: [{ code: "validation-failed" }] },
      },
    ],
  },
  {
    file: "author_on_conflict_ignore_user_role.yaml",
    requests: [
      {
        description: "user 1 upserts author 1 with update_columns []",
        status: 200,
        headers: USER_1,
        query: `mutation insert_author {
          insert_author(objects: [{id: 1, name: "Author 1 Updated"}], on_conflict: {constraint: author_pkey, update_columns: []}) {
            affected_rows
            returning { id name }
          }
        }`,
        expect: { data: { insert_author: { affected_rows: 0, returning: [] } } },
      },
    ],
  },
  {
    file: "user_article_on_conflict_error_missing_article_constraint.yaml",
    requests: [
      {
        description: "on_conflict without a constraint (status only: validation-failed)",
        status: 200,
        headers: USER_1,
        query: `mutation insert_article {
          insert_article(objects: [{content: "Updated Article 1 content", id: 1}, {content: "Updated Article 2 content", id: 2}],
            on_conflict: {action: update}) { returning { title content } }
        }`,
        expect: { errors: [{ code: "validation-failed" }] },
      },
    ],
  },
  {
    file: "user_article_error_unexpected_on_conflict_action.yaml",
    requests: [
      {
        description: "a document that does not parse (status only: validation-failed)",
        status: 200,
        headers: USER_1,
        query: `mutation insert_article {
          insert_article(objects: [{content: "Updated Article 1 content", id: 1, author_id: 1},
            {content: "Updated Article 2 content", id: 2, author_id: 1}, }], on_conflict: {action: random}) { returning { title content } }
        }`,
        expect: { errors: [{ code: "validation-failed" }] },
      },
    ],
  },
  {
    file: "user_article_unexpected_on_conflict_constraint_error.yaml",
    requests: [
      {
        description: "an unknown constraint (status only: validation-failed)",
        status: 200,
        headers: USER_1,
        query: `mutation insert_article {
          insert_article(objects: [{content: "Updated Article 1 content", id: 1, author_id: 1},
            {content: "Updated Article 2 content", id: 2, author_id: 1}],
            on_conflict: {action: update, constraint: random_constraint}) { returning { title content } }
        }`,
        expect: { errors: [{ code: "validation-failed" }] },
      },
    ],
  },
  {
    file: "address_permission_error.yaml",
    requests: [
      {
        description: "merchant has no mutations",
        status: 200,
        headers: { "X-Hasura-Role": "merchant" },
        query: `mutation { insert_address(objects: [{door_no: "12-21", street: "Madhapur", city: "Hyderabad", resident_id: 1}]) { affected_rows } }`,
        expect: { errors: [{ code: "validation-failed", message: "no mutations exist", path: "$" }] },
      },
    ],
  },
  {
    file: "author_user_role_insert_check_perm_success.yaml",
    requests: [
      {
        description: "user 1 upserts its own author row, nothing to update",
        status: 200,
        headers: USER_1,
        query: AUTHOR_UPSERT(1, "Author 1", false, "constraint: author_pkey, update_columns: []"),
        expect: { data: { insert_author: { affected_rows: 0, returning: [] } } },
      },
    ],
  },
  {
    file: "author_user_role_insert_check_is_registered_fail.yaml",
    requests: [
      {
        description: "user 5 inserts a registered author (status only: validation-failed, `action` is no on_conflict field)",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "5" },
        query: AUTHOR_UPSERT(5, "Author 5", true, "constraint: author_pkey, action: ignore"),
        expect: { errors: [{ code: "validation-failed" }] },
      },
    ],
  },
  {
    file: "author_user_role_insert_check_user_id_fail.yaml",
    requests: [
      {
        description: "user 5 inserts author 10 (status only: validation-failed, `action` is no on_conflict field)",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "5" },
        query: AUTHOR_UPSERT(10, "Author 5", false, "constraint: author_pkey, action: ignore"),
        expect: { errors: [{ code: "validation-failed" }] },
      },
    ],
  },
  {
    file: "author_student_role_insert_check_bio_success.yaml",
    requests: [
      {
        description: "student inserts an author with a bio (status only: inserted)",
        status: 200,
        headers: { "X-Hasura-Role": "student" },
        query: STUDENT_INSERT(', bio: "Electrical Engineering",'),
        expect: { data: { insert_author: { affected_rows: 1 } } },
      },
    ],
  },
  {
    file: "author_student_role_insert_check_bio_fail.yaml",
    requests: [
      {
        description: "student inserts an author without a bio (status only: permission-error)",
        status: 200,
        headers: { "X-Hasura-Role": "student" },
        query: STUDENT_INSERT(","),
        expect: { errors: [{ code: "permission-error" }] },
      },
    ],
  },
  {
    file: "company_user_role.yaml",
    requests: [
      {
        description: "user inserts its company",
        status: 200,
        headers: { "X-Hasura-Company-Id": "1", "X-Hasura-Role": "user" },
        query: `mutation insert_company { insert_Company(objects: [{name: "34 Cross", id: 1}]) { affected_rows returning { id name } } }`,
        expect: { data: { insert_Company: { affected_rows: 1, returning: [{ id: 1, name: "34 Cross" }] } } },
      },
    ],
  },
  {
    file: "company_user_role_on_conflict.yaml",
    requests: [
      {
        description: "user upserts its company",
        status: 200,
        headers: { "X-Hasura-Company-Id": "1", "X-Hasura-Role": "user" },
        query: `mutation insert_company {
          insert_Company(objects: [{name: "Hasura", id: 1}], on_conflict: {constraint: Company_pkey, update_columns: [name]}) {
            affected_rows
            returning { id name }
          }
        }`,
        expect: { data: { insert_Company: { affected_rows: 1, returning: [{ id: 1, name: "Hasura" }] } } },
      },
    ],
  },
  {
    file: "resident_user.yaml",
    requests: [
      {
        description: "name and is_user preset",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-Resident-Id": "4", "X-Hasura-Resident-Name": "Clarke" },
        query: "mutation { insert_resident(objects: [{id: 4, age: 25}]) { affected_rows returning { id name age is_user } } }",
        expect: { data: { insert_resident: { affected_rows: 1, returning: [{ id: 4, name: "Clarke", age: 25, is_user: true }] } } },
      },
    ],
  },
  {
    file: "resident_infant.yaml",
    requests: [
      {
        description: "infant inserts age only; id and name preset",
        url: "/v1alpha1/graphql",
        status: 200,
        headers: { "X-Hasura-Role": "infant", "X-Hasura-Infant-Id": "1", "X-Hasura-Infant-Name": "Bittu" },
        query: "mutation { insert_resident(objects: [{age: 3}]) { affected_rows returning { id name age is_user } } }",
        expect: { data: { insert_resident: { affected_rows: 1, returning: [{ id: 1, name: "Bittu", age: 3, is_user: false }] } } },
      },
    ],
  },
  {
    file: "resident_infant_fail.yaml",
    requests: [
      {
        description: "infant sets is_user (status only: validation-failed)",
        url: "/v1alpha1/graphql",
        status: 400,
        headers: { "X-Hasura-Role": "infant", "X-Hasura-Infant-Id": "1", "X-Hasura-Infant-Name": "Bittu" },
        query: "mutation { insert_resident(objects: [{age: 3, is_user: true}]) { affected_rows returning { id name age is_user } } }",
        expect: { errors: [{ code: "validation-failed" }] },
      },
    ],
  },
  {
    file: "resident_5_modifies_resident_6_upsert.yaml",
    requests: [
      {
        description: "resident 5 upserts onto resident 6's name",
        status: 200,
        headers: { "X-Hasura-Role": "resident", "X-Hasura-Resident-Id": "5" },
        query: `mutation {
          insert_resident(objects: [{id: 5, name: "Resident 6", age: 23}], on_conflict: {constraint: resident_name_key, update_columns: [name, age]}) {
            affected_rows
            returning { id name age is_user }
          }
        }`,
        expect: { data: { insert_resident: { affected_rows: 0, returning: [] } } },
      },
    ],
  },
  {
    file: "resident_on_conflict_where.yaml",
    requests: [
      {
        description: "admin upserts only over a younger resident",
        status: 200,
        query: `mutation ($age: Int) {
          insert_resident(objects: [{id: 6, age: $age, name: "Resident 6"}],
            on_conflict: {constraint: resident_pkey, update_columns: [age], where: {age: {_lt: $age}}}) {
            affected_rows
            returning { id age }
          }
        }`,
        variables: { age: 23 },
        expect: { data: { insert_resident: { affected_rows: 1, returning: [{ id: 6, age: 23 }] } } },
      },
    ],
  },
  {
    file: "blog_on_conflict_update_preset.yaml",
    requests: [
      {
        description: "user 2 upserts author 1's blog (update presets)",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "2" },
        query: `mutation UpsertSet {
          insert_blog(objects: [{id: 1, title: "first blog", content: "This content modified by Author 2"}],
            on_conflict: {constraint: blog_pkey, update_columns: [content]}) {
            affected_rows
            returning { id title content author_id updated_by }
          }
        }`,
        expect: {
          data: {
            insert_blog: {
              affected_rows: 1,
              returning: [{ id: 1, title: "first blog", content: "This content modified by Author 2", author_id: 1, updated_by: 2 }],
            },
          },
        },
      },
    ],
  },
  {
    file: "insert_article_arr_sess_var_editor_allowed_user_id.yaml",
    requests: [
      {
        description: "editor inserts for an allowed author",
        url: "/v1alpha1/graphql",
        status: 200,
        headers: { "X-Hasura-Role": "editor", "X-Hasura-Allowed-User-Ids": "{2,3}" },
        query: ARTICLE_4,
        expect: { data: { insert_article: { returning: [{ content: "Sample article content 4", title: "Article 4" }] } } },
      },
    ],
  },
  {
    file: "insert_article_arr_sess_var_editors_err_not_allowed_user_id.yaml",
    requests: [
      {
        description: "editor inserts for an author not allowed",
        url: "/v1alpha1/graphql",
        status: 400,
        headers: { "X-Hasura-Role": "editor", "X-Hasura-Allowed-User-Ids": "{1,3,4}" },
        query: ARTICLE_4,
        expect: { errors: [{ code: "permission-error", message: CHECK_FAILED, path: objectsPath("article") }] },
      },
    ],
  },
  {
    file: "seller_insert_computer_has_keys_all_pass.yaml",
    requests: [
      {
        description: "a spec with every required key",
        url: "/v1alpha1/graphql",
        status: 200,
        headers: { "X-Hasura-Role": "seller", "X-Hasura-Spec-Required-Keys": "{processor,display,memory}" },
        query: COMPUTER_INSERT,
        variables: { spec: FULL_SPEC },
        expect: { data: { insert_computer: { affected_rows: 1, returning: [{ name: "Computer1", spec: FULL_SPEC }] } } },
      },
    ],
  },
  {
    file: "seller_insert_computer_has_keys_all_fail.yaml",
    requests: [
      {
        description: "a spec without warranty",
        url: "/v1alpha1/graphql",
        status: 400,
        headers: { "X-Hasura-Role": "seller", "X-Hasura-Spec-Required-Keys": "{processor,display,memory,warranty}" },
        query: COMPUTER_INSERT,
        variables: { spec: FULL_SPEC },
        expect: { errors: [{ code: "permission-error", message: CHECK_FAILED, path: objectsPath("computer") }] },
      },
    ],
  },
  {
    file: "developer_insert_has_keys_any_pass.yaml",
    requests: [
      {
        description: "a spec with one of the keys",
        url: "/v1alpha1/graphql",
        status: 200,
        headers: { "X-Hasura-Role": "developer", "X-Hasura-Spec-Keys": "{processor,display,memory,warranty}" },
        query: COMPUTER_INSERT,
        variables: { spec: { processor: "AMD" } },
        expect: { data: { insert_computer: { affected_rows: 1, returning: [{ name: "Computer1", spec: { processor: "AMD" } }] } } },
      },
    ],
  },
  {
    file: "developer_insert_has_keys_any_fail.yaml",
    requests: [
      {
        description: "a spec with none of the keys",
        url: "/v1alpha1/graphql",
        status: 400,
        headers: { "X-Hasura-Role": "developer", "X-Hasura-Spec-Keys": "{display,memory,warranty}" },
        query: COMPUTER_INSERT,
        variables: { spec: { processor: "AMD" } },
        expect: { errors: [{ code: "permission-error", message: CHECK_FAILED, path: objectsPath("computer") }] },
      },
    ],
  },
  {
    file: "user_insert_account_success.yaml",
    requests: [
      {
        description: "an admin user inserts an account (_exists)",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "2" },
        query: ACCOUNT_INSERT,
        expect: { data: { insert_account: { affected_rows: 1 } } },
      },
    ],
  },
  {
    file: "user_insert_account_fail.yaml",
    requests: [
      {
        description: "a non-admin user inserts an account (_exists)",
        status: 200,
        headers: USER_1,
        query: ACCOUNT_INSERT,
        expect: { errors: [{ code: "permission-error", message: CHECK_FAILED, path: objectsPath("account") }] },
      },
    ],
  },
  {
    file: "backend_user_insert_fail.yaml",
    auth: "admin-secret",
    requests: [
      {
        description: "backend-only insert without the header",
        status: 200,
        headers: { "X-Hasura-Role": "backend_user" },
        query: INSERT_USER(""),
        expect: { errors: [{ code: "validation-failed", message: "no mutations exist", path: "$" }] },
      },
    ],
  },
  {
    file: "backend_user_insert_pass.yaml",
    auth: "admin-secret",
    requests: [
      {
        description: "backend-only insert with the header",
        status: 200,
        headers: { "X-Hasura-Role": "backend_user", "X-Hasura-Use-Backend-Only-Permissions": "true" },
        query: INSERT_USER("returning { name }"),
        expect: { data: { insert_user: { affected_rows: 1, returning: [{ name: "FooBar" }] } } },
      },
    ],
  },
  {
    file: "backend_user_insert_invalid_bool.yaml",
    auth: "admin-secret",
    requests: [
      {
        description: "the header is not a boolean",
        status: 200,
        headers: { "X-Hasura-Role": "backend_user", "X-Hasura-Use-Backend-Only-Permissions": "random" },
        query: INSERT_USER("returning { name }"),
        expect: { errors: [{ code: "bad-request", message: BACKEND_HEADER_MESSAGE, path: "$" }] },
      },
    ],
  },
  {
    file: "user_with_no_backend_privilege.yaml",
    auth: "admin-secret",
    requests: [
      {
        description: "user, with the header, has no insert on user",
        status: 200,
        headers: { "X-Hasura-Role": "user", "X-Hasura-Use-Backend-Only-Permissions": "true" },
        query: INSERT_USER(""),
        expect: {
          errors: [
            {
              code: "validation-failed",
              message: "field 'insert_user' not found in type: 'mutation_root'",
              path: "$.selectionSet.insert_user",
            },
          ],
        },
      },
    ],
  },
  {
    file: "backend_user_no_admin_secret_fail.yaml",
    auth: "jwt",
    requests: [
      {
        description: "a JWT session with the header gets no backend-only insert",
        status: 200,
        headers: { "X-Hasura-Role": "backend_user_2", "X-Hasura-Use-Backend-Only-Permissions": "true" },
        query: INSERT_USER("returning { name }"),
        expect: { errors: [{ code: "validation-failed", message: "no mutations exist", path: "$" }] },
      },
    ],
  },
  {
    file: "leads_upsert_check_with_headers.yaml",
    requests: [
      {
        description: "upsert with x-hasura-user-id",
        status: 200,
        headers: { "X-Hasura-Role": "sales", "X-Hasura-User-Id": "sales 1" },
        query: LEADS_UPSERT,
        expect: { data: { insert_leads: { affected_rows: 1 } } },
      },
      {
        description: "upsert without x-hasura-user-id",
        status: 200,
        headers: { "X-Hasura-Role": "sales" },
        query: LEADS_UPSERT,
        expect: { errors: [{ code: "not-found", message: 'missing session variable: "x-hasura-user-id"', path: "$" }] },
      },
    ],
  },
  {
    file: "column_comparison_across_tables.yaml",
    requests: [
      {
        description: "more than the item's stock",
        status: 200,
        headers: { "X-Hasura-Role": "user" },
        query: ORDER(106),
        expect: { errors: [{ code: "permission-error", message: CHECK_FAILED, path: objectsPath("order_cart") }] },
      },
      {
        description: "within the item's stock",
        status: 200,
        headers: { "X-Hasura-Role": "user" },
        query: ORDER(6),
        expect: { data: { insert_order_cart: { affected_rows: 1 } } },
      },
    ],
  },
];

runSuite(t, {
  name: "insert",
  roles: [
    "user",
    "editor",
    "restricted",
    "student",
    "infant",
    "resident",
    "seller",
    "developer",
    "backend_user",
    "backend_user_2",
    "merchant",
    "sales",
  ],
  sql: new URL("./insert-permissions.sql", import.meta.url),
  values: new URL("./insert-permissions.values.sql", import.meta.url),
  cases,
});
