/**
 * The cases of Hasura's tests-py query-permission suite
 * (hasura/graphql-engine server/tests-py/queries/graphql_query/permissions/,
 * with inherited_roles/ and roles_inheritance/; the mssql folders left out),
 * one entry per request of each YAML file, as the file has it: url, headers,
 * query, and Hasura's expected response. Not ported:
 * user_select_query_unpublished_articles.yaml, which the test class names but
 * the reference index does not hold.
 *
 * `divergence`: where the README says Postgres-native authorization answers
 * differently; the test asserts that answer instead (Hasura's stays here for
 * the record). `skip`: cases that cannot run here.
 */

export type Expected =
  | { data: unknown }
  | {
      /** HTTP status (/v1/graphql: always 200). */
      status: number;
      code: string;
      message?: string;
      /** extensions.path */
      path?: string;
    };

export interface Case {
  /** The YAML file under server/tests-py/queries/graphql_query/permissions/. */
  file: string;
  description: string;
  url: "/v1/graphql" | "/v1alpha1/graphql";
  headers: Record<string, string>;
  query: string;
  /** Hasura's response. */
  expect: Expected;
  /** Our documented answer, and the README passage that says why. */
  divergence?: { readme: string; ours: Expected };
  /**
   * The query has no order_by and Hasura's YAML lists the rows in the table's physical order, which no
   * SQL promises: the root field's rows are compared as a set (here they come in key order).
   */
  unordered?: string;
  skip?: string;
}

const V1 = "/v1/graphql" as const;
const V1ALPHA1 = "/v1alpha1/graphql" as const;

const POSTGIS = "PostGIS is not installed on this cluster (the embedded Postgres has none): geom_table and $st_d_within cannot be created";

/** A role the server refuses to start with (README "Inherited roles"), dropped from the application roles by the DBA. */
const refused = (role: string): Case["divergence"] => ({
  readme:
    'Where Postgres-native authorization answers differently: "Inherited roles ... Hasura answers null for a column on a row only a parent without it may see ... membership cannot, so such a definition stops the server"',
  ours: { status: 200, code: "access-denied", message: `role "${role}" is not an application role` },
});

const PUBLISHED_ARTICLES = {
  article: [
    { id: 2, title: "Article 2", content: "Sample article content 2", is_published: true, author: { id: 1, name: "Author 1" } },
    { id: 3, title: "Article 3", content: "Sample article content 3", is_published: true, author: { id: 2, name: "Author 2" } },
  ],
};
const ARTICLES_WITH_AUTHOR = (where: string) => `query {
  article (${where}) {
    id
    title
    content
    is_published
    author {
      id
      name
    }
  }
}`;
const ARTICLES_ALL = `query {
  article {
    id
    title
    content
    is_published
    author {
      id
      name
    }
  }
}`;
const ARTIST_NAMES = "query { Artist (order_by: {name: asc}) { name } }";
const JSONB_ROWS = "query { jsonb_table { id jsonb_col } }";
const ROW_HASURA = { id: 1, jsonb_col: { name: "Hasura", age: 7 } };
const ROW_CROSS = { id: 2, jsonb_col: { name: "Cross" } };
const MANAGER_EMPLOYEE = { "X-Hasura-Role": "manager_employee", "X-Hasura-User-Id": "1", "X-Hasura-Manager-Id": "2" };
const MANAGER_IS_EMPLOYEE_TOO = { "X-Hasura-Role": "manager_is_employee_too", "X-Hasura-User-Id": "1" };
const GEOM_QUERY = "query { geom_table { id type geom_col } }";
const GEOM_ROWS = (crs: boolean) => {
  const c = crs ? { crs: { type: "name", properties: { name: "urn:ogc:def:crs:EPSG::4326" } } } : {};
  return {
    geom_table: [
      {
        id: 3,
        type: "linestring",
        geom_col: {
          type: "LineString",
          ...c,
          coordinates: [
            [1, 0],
            [0.5, 0.5],
            [0, 1],
          ],
        },
      },
      {
        id: 4,
        type: "polygon",
        geom_col: {
          type: "Polygon",
          ...c,
          coordinates: [
            [
              [0, 0],
              [0, 1],
              [1, 1],
              [1, 0],
              [0, 0],
            ],
          ],
        },
      },
      {
        id: 5,
        type: "polygon",
        geom_col: {
          type: "Polygon",
          ...c,
          coordinates: [
            [
              [2, 0],
              [2, 1],
              [3, 1],
              [3, 0],
              [2, 0],
            ],
          ],
        },
      },
    ],
  };
};

export const CASES: Case[] = [
  {
    file: "anonymous_can_only_get_published_articles.yaml",
    description: "Other Users cannot see unpublished articles",
    url: V1ALPHA1,
    headers: { "X-Hasura-Role": "anonymous" },
    query: ARTICLES_WITH_AUTHOR("where: { is_published: {_eq: false}}"),
    expect: { data: { article: [] } },
  },
  {
    file: "anonymous_can_only_get_published_articles.yaml",
    description: "Other Users can only see published articles",
    url: V1ALPHA1,
    headers: { "X-Hasura-Role": "anonymous" },
    query: ARTICLES_ALL,
    expect: { data: PUBLISHED_ARTICLES },
  },
  {
    file: "anonymous_can_only_get_published_articles_v1alpha1.yaml",
    description: "Other Users cannot see unpublished articles",
    url: V1ALPHA1,
    headers: { "X-Hasura-Role": "anonymous" },
    query: ARTICLES_WITH_AUTHOR("where: { is_published: {_eq: false}}"),
    expect: { data: { article: [] } },
  },
  {
    file: "anonymous_can_only_get_published_articles_v1alpha1.yaml",
    description: "Other Users can only see published articles",
    url: V1,
    headers: { "X-Hasura-Role": "anonymous" },
    query: ARTICLES_ALL,
    expect: { data: PUBLISHED_ARTICLES },
  },
  {
    file: "artist_search_tracks.yaml",
    description: "Search tracks of an artist",
    url: V1,
    headers: { "X-Hasura-Role": "Artist", "X-Hasura-Artist-Id": "1" },
    query: 'query { search_tracks(args: {search: "up"}) { id name } }',
    expect: { data: { search_tracks: [{ id: 1, name: "Keepup" }] } },
  },
  {
    file: "artist_search_tracks_aggregate.yaml",
    description: "Search tracks of an artist (with Aggregate)",
    url: V1ALPHA1,
    headers: { "X-Hasura-Role": "Artist", "X-Hasura-Artist-Id": "1" },
    query: 'query { search_tracks_aggregate(args: {search: "keep"}) { aggregate { count } nodes { id name artist_id } } }',
    expect: {
      data: {
        search_tracks_aggregate: {
          aggregate: { count: 2 },
          nodes: [
            { id: 1, name: "Keepup", artist_id: 1 },
            { id: 2, name: "Keepdown", artist_id: 1 },
          ],
        },
      },
    },
  },
  {
    file: "artist_select_query_Track.yaml",
    description: "Artist can only select his/her tracks.",
    url: V1,
    headers: { "X-Hasura-Role": "Artist", "X-Hasura-Artist-Id": "2" },
    query: "query { Track { id name } }",
    expect: { data: { Track: [{ id: 3, name: "Happy" }] } },
  },
  {
    // The YAML's message is Hasura's older text ('"x-hasura-artist-id" header is expected but not found');
    // select_articles_without_required_headers.yaml has the current one, compared here.
    file: "artist_select_query_Track_fail.yaml",
    description: "Artist can only select his/her tracks. Without sending header (Error)",
    url: V1ALPHA1,
    headers: { "X-Hasura-Role": "Artist" },
    query: "query { Track { id name } }",
    expect: { status: 400, code: "not-found", path: "$", message: 'missing session variables: "x-hasura-artist-id"' },
  },
  {
    file: "in_and_nin.yaml",
    description: "user can only select free artists",
    url: V1,
    headers: { "X-Hasura-Role": "free_user_in", "X-Hasura-free-artists": "{Camilla,DSP}" },
    query: ARTIST_NAMES,
    expect: { data: { Artist: [{ name: "Camilla" }, { name: "DSP" }] } },
  },
  {
    file: "in_and_nin.yaml",
    description: "user can only select free artists (no free artists)",
    url: V1,
    headers: { "X-Hasura-Role": "free_user_in", "X-Hasura-free-artists": "{}" },
    query: ARTIST_NAMES,
    expect: { data: { Artist: [] } },
  },
  {
    file: "in_and_nin.yaml",
    description: "user can only select non premium artists",
    url: V1,
    headers: { "X-Hasura-Role": "free_user_nin", "X-Hasura-premium-artists": "{Akon}" },
    query: ARTIST_NAMES,
    expect: { data: { Artist: [{ name: "Camilla" }, { name: "DSP" }] } },
  },
  {
    file: "in_and_nin.yaml",
    description: "user can only select non premium artists (no premium artists",
    url: V1,
    headers: { "X-Hasura-Role": "free_user_nin", "X-Hasura-premium-artists": "{}" },
    query: ARTIST_NAMES,
    expect: { data: { Artist: [{ name: "Akon" }, { name: "Camilla" }, { name: "DSP" }] } },
  },
  {
    file: "inherited_roles/basic_inherited_roles.yaml",
    description: "column not accessible to any of the roles should not be accessible to the inherited role",
    url: V1,
    headers: MANAGER_EMPLOYEE,
    query: "query { employee { name title manager_remarks hr_remarks } }",
    expect: {
      status: 200,
      code: "validation-failed",
      path: "$.selectionSet.employee.selectionSet.hr_remarks",
      message: "field 'hr_remarks' not found in type: 'employee'",
    },
    divergence: refused("manager_employee"),
  },
  {
    file: "inherited_roles/basic_inherited_roles.yaml",
    description: "check when a role doesn't have access to a certain column in a row, it should be `null`",
    url: V1,
    headers: { ...MANAGER_EMPLOYEE, "X-Hasura-Manager-Id": "1" },
    query: "query { employee { id name title salary manager_remarks } }",
    expect: {
      data: {
        employee: [
          { id: 1, name: "employee 1", title: "Sales representative", salary: 10000, manager_remarks: "good" },
          { id: null, name: "employee 2", title: "Sales representative", salary: null, manager_remarks: "good" },
        ],
      },
    },
    divergence: refused("manager_employee"),
  },
  {
    file: "inherited_roles/basic_inherited_roles.yaml",
    description: "Check if appropriate permissions are applied to the relationship field as well",
    url: V1,
    headers: MANAGER_EMPLOYEE,
    query: "query { employee { name title salary manager_remarks manager { id name phone address } } }",
    expect: {
      data: {
        employee: [
          { name: "employee 1", title: "Sales representative", salary: 10000, manager_remarks: null, manager: null },
          {
            name: "employee 4",
            title: "Sales representative",
            salary: null,
            manager_remarks: "hard working",
            manager: { id: 2, name: "sales manager 2", phone: "9977223344", address: "buena vista" },
          },
        ],
      },
    },
    divergence: refused("manager_employee"),
  },
  {
    file: "inherited_roles/basic_inherited_roles.yaml",
    description: "Allow aggregation to the inherited role even if one of the parent role allows aggregation",
    url: V1,
    headers: MANAGER_EMPLOYEE,
    query: "query { employee_aggregate { aggregate { count sum { salary } } } }",
    expect: { data: { employee_aggregate: { aggregate: { count: 2, sum: { salary: 10000 } } } } },
    divergence: refused("manager_employee"),
  },
  {
    file: "inherited_roles/basic_inherited_roles.yaml",
    description: "computed fields should only be accessible to the inherited role to the rows it has access to",
    url: V1,
    headers: MANAGER_EMPLOYEE,
    query: "query { employee { salary yearly_salary } }",
    expect: {
      data: {
        employee: [
          { salary: 10000, yearly_salary: 120000 },
          { salary: null, yearly_salary: null },
        ],
      },
    },
    divergence: refused("manager_employee"),
  },
  {
    file: "inherited_roles/basic_inherited_roles.yaml",
    description:
      "query multiple tables using an inherited role, even when one of the role doesn't have select permission to one of the table",
    url: V1,
    headers: MANAGER_EMPLOYEE,
    query: "query { employee { name salary } manager { team_id name } }",
    expect: {
      data: {
        employee: [
          { name: "employee 1", salary: 10000 },
          { name: "employee 4", salary: null },
        ],
        manager: [{ team_id: 1, name: "sales manager 2" }],
      },
    },
    divergence: refused("manager_employee"),
  },
  {
    file: "inherited_roles/basic_inherited_roles.yaml",
    description: "The limits of the role should be combined to be the max of the limits of the rows",
    url: V1,
    headers: { "X-Hasura-Role": "non_paying_user" },
    query: "query { articles { title } }",
    expect: { data: { articles: [{ title: "title 2" }, { title: "title 3" }, { title: "title 4" }, { title: "title 5" }] } },
  },
  {
    // Hasura's own answer here needs group_by (not implemented here) and the refused role.
    file: "inherited_roles/group_by_key_redaction.yaml",
    description: "group_by key must redact salary for rows only accessible via a role that cannot see salary",
    url: V1,
    headers: MANAGER_EMPLOYEE,
    query: "query { employee_aggregate { group_by(keys: [{column: salary}]) { group_key { salary } } } }",
    expect: { data: { employee_aggregate: { group_by: [{ group_key: { salary: null } }, { group_key: { salary: 10000 } }] } } },
    divergence: refused("manager_employee"),
  },
  {
    file: "inherited_roles/inherited_role_parent_is_another_inherited_role.yaml",
    description: "`non_paying_user_and_guest` is an inherited role which inherits from `non_paying_user` (inherited) and `guest`",
    url: V1,
    headers: { "X-Hasura-Role": "non_paying_user_and_guest" },
    query: "query { articles (order_by: [{author_id: asc}, {title: asc}]) { title content author_id } }",
    expect: {
      data: {
        articles: [
          { title: "title 3", content: "content 3", author_id: 1 },
          { title: "title 2", content: "content 2", author_id: 2 },
          { title: "title 5", content: "content 5", author_id: 2 },
          { title: "title 4", content: "content 4", author_id: 3 },
        ],
      },
    },
  },
  {
    // The YAML spells its expectation `reponse`, so tests-py never compares it; Hasura's union would
    // answer all three authors, `id` null on the two only `editor` sees. Recorded as the YAML has it.
    file: "inherited_roles/inherited_role_with_some_roles_having_no_permissions.yaml",
    description: "an inherited role whose parent `guest` has no select permission on `authors`",
    url: V1,
    headers: { "X-Hasura-Role": "author_editor_guest_inherited_role", "X-Hasura-Author-Id": "1", "X-Hasura-Editor-Id": "1" },
    query: "query { authors { id name followers } }",
    expect: { data: { authors: [{ id: 1, name: "J.K.Rowling", followers: 1232344 }] } },
    divergence: refused("author_editor_guest_inherited_role"),
  },
  {
    file: "inherited_roles/override_inherited_permission.yaml",
    description: "the role's own permission takes precedence over the inherited one",
    url: V1,
    headers: { "X-Hasura-Role": "non_paying_user", "X-Hasura-Author-Id": "1", "X-Hasura-Editor-Id": "1" },
    query:
      'query { authors (order_by: {followers: asc}) { name followers } articles (where: {title: {_eq: "title 2"}}) { title content } }',
    expect: {
      data: {
        authors: [
          { name: "Murakami", followers: 1232132 },
          { name: "J.K.Rowling", followers: 1232344 },
          { name: "Paulo Coelho", followers: 21312332 },
        ],
        articles: [{ title: "title 2", content: "content 2" }],
      },
    },
  },
  {
    file: "iregex.yaml",
    description: "user can only select artists having name matching X-Hasura-iregex-artists",
    url: V1,
    headers: { "X-Hasura-Role": "user_iregex", "X-Hasura-iregex-artists": "(.*ak)|(.*lla)" },
    query: ARTIST_NAMES,
    expect: { data: { Artist: [{ name: "Akon" }, { name: "Camilla" }] } },
  },
  {
    file: "jsonb_has_all.yaml",
    description: "$has_keys_all with an array session variable: {name,age}",
    url: V1,
    headers: { "X-Hasura-Role": "user5", "X-Hasura-Json-required-keys": "{name,age}" },
    query: JSONB_ROWS,
    expect: { data: { jsonb_table: [ROW_HASURA] } },
  },
  {
    file: "jsonb_has_all.yaml",
    description: "$has_keys_all with an array session variable: {location}",
    url: V1,
    headers: { "X-Hasura-Role": "user5", "X-Hasura-Json-Required-Keys": "{location}" },
    query: JSONB_ROWS,
    expect: { data: { jsonb_table: [] } },
  },
  {
    file: "jsonb_has_any.yaml",
    description: "$has_keys_any with an array session variable: {age}",
    url: V1,
    headers: { "X-Hasura-Role": "user4", "X-Hasura-Json-keys": "{age}" },
    query: JSONB_ROWS,
    expect: { data: { jsonb_table: [ROW_HASURA] } },
  },
  {
    file: "jsonb_has_any.yaml",
    description: "$has_keys_any with an array session variable: {}",
    url: V1,
    headers: { "X-Hasura-Role": "user4", "X-Hasura-Json-keys": "{}" },
    query: JSONB_ROWS,
    expect: { data: { jsonb_table: [] } },
  },
  {
    file: "multiple_roles.yaml",
    description: "column not accessible to any of the roles should not be accessible to the derived role",
    url: V1,
    headers: { ...MANAGER_IS_EMPLOYEE_TOO, "X-Hasura-Manager-Id": "2" },
    query: "query { employee { name title manager_remarks hr_remarks } }",
    expect: {
      status: 200,
      code: "validation-failed",
      path: "$.selectionSet.employee.selectionSet.hr_remarks",
      message: "field 'hr_remarks' not found in type: 'employee'",
    },
    divergence: refused("manager_is_employee_too"),
  },
  {
    file: "multiple_roles.yaml",
    description: "check when a role doesn't have access to a certain column in a row, it should be `null`",
    url: V1,
    headers: { ...MANAGER_IS_EMPLOYEE_TOO, "X-Hasura-Manager-Id": "1" },
    query: "query { employee { id name title salary manager_remarks } }",
    expect: {
      data: {
        employee: [
          { id: 1, name: "employee 1", title: "Sales representative", salary: 10000, manager_remarks: "good" },
          { id: null, name: "employee 2", title: "Sales representative", salary: null, manager_remarks: "good" },
        ],
      },
    },
    divergence: refused("manager_is_employee_too"),
  },
  {
    file: "multiple_roles.yaml",
    description: "check when a role doesn't have access to a certain column in a row, it should be `null` (relationship)",
    url: V1,
    headers: { ...MANAGER_IS_EMPLOYEE_TOO, "X-Hasura-Manager-Id": "2" },
    query: "query { employee { name title salary manager_remarks manager { name phone address } } }",
    expect: {
      data: {
        employee: [
          {
            name: "employee 1",
            title: "Sales representative",
            salary: 10000,
            manager_remarks: null,
            manager: { name: "sales manager 1", phone: "9988998822", address: null },
          },
          {
            name: "employee 4",
            title: "Sales representative",
            salary: null,
            manager_remarks: "hard working",
            manager: { name: "sales manager 2", phone: "9977223344", address: "buena vista" },
          },
        ],
      },
    },
    divergence: refused("manager_is_employee_too"),
  },
  {
    file: "reader_author.yaml",
    description: "A reader fetch authors with atleast one published article",
    url: V1,
    headers: { "X-Hasura-Role": "reader" },
    query: "query { author { name } }",
    expect: { data: { author: [{ name: "Author 1" }, { name: "Author 2" }] } },
  },
  {
    file: "roles_inheritance/nested_inherited_roles_column_permissions.yaml",
    description: "Test column permissions with base_role",
    url: V1,
    headers: { "X-Hasura-Role": "base_role", "X-Hasura-User-Id": "1" },
    query: "query { users { id name restricted_field } }",
    expect: {
      data: {
        users: [
          { id: 1, name: "User 1", restricted_field: "Allowed Data 1" },
          { id: 2, name: "User 2", restricted_field: null },
          { id: 3, name: "User 3", restricted_field: null },
        ],
      },
    },
    divergence: refused("base_role"),
  },
  {
    file: "roles_inheritance/nested_inherited_roles_column_permissions.yaml",
    description: "Test column permissions with nested_role (should inherit base_role's column permissions)",
    url: V1,
    headers: { "X-Hasura-Role": "nested_role", "X-Hasura-User-Id": "1" },
    query: "query { users { id name restricted_field } }",
    expect: {
      data: {
        users: [
          { id: 1, name: "User 1", restricted_field: "Allowed Data 1" },
          { id: 2, name: "User 2", restricted_field: null },
          { id: 3, name: "User 3", restricted_field: null },
        ],
      },
    },
    divergence: refused("nested_role"),
  },
  {
    file: "select_articles_without_required_headers.yaml",
    description: "Select related articles while querying authors, but without setting the headers required for selecting articles",
    url: V1,
    headers: { "x-hasura-role": "critic" },
    query: "query { author { name articles { title content is_published } } }",
    expect: { status: 200, code: "not-found", path: "$", message: 'missing session variables: "x-hasura-critic-id"' },
  },
  {
    file: "staff_passed_students.yaml",
    description: "Query passed students as staff",
    url: V1,
    headers: { "X-Hasura-Role": "staff" },
    query: "query { passed_students(args: {pass_gpa: 8.00}) { id student_name } }",
    expect: {
      data: {
        passed_students: [
          { id: 1, student_name: "clarke" },
          { id: 2, student_name: "george" },
          { id: 4, student_name: "leonel" },
        ],
      },
    },
  },
  {
    file: "tutor_get_students.yaml",
    description: "Fetch student names with tutor role",
    url: V1,
    headers: { "X-Hasura-Role": "tutor" },
    query: "query { student_marks { name } }",
    expect: { data: { student_marks: [{ name: "clarke" }, { name: "blake" }, { name: "leonel" }] } },
    unordered: "student_marks",
  },
  {
    file: "tutor_get_students_session.yaml",
    description: "Fetch student names with tutor role with an offset given via hasura session",
    url: V1,
    headers: { "X-Hasura-Role": "tutor_session", "X-Hasura-Offset-Marks": "10" },
    query: "query { student_marks { name total_marks total_marks_offset } }",
    expect: {
      data: {
        student_marks: [
          { name: "blake", total_marks: 233, total_marks_offset: 223 },
          { name: "leonel", total_marks: 268, total_marks_offset: 258 },
        ],
      },
    },
    divergence: {
      readme:
        'Where Postgres-native authorization answers differently: "Functions are tracked by their privileges ... Computed fields are offered only to a role that may read every column of the table, because f(t) is a whole-row reference (Hasura runs them with its own rights)"',
      ours: {
        status: 200,
        code: "validation-failed",
        path: "$.selectionSet.student_marks.selectionSet.total_marks",
        message: "field 'total_marks' not found in type: 'student_marks'",
      },
    },
  },
  {
    file: "user_can_query_geometry_values_filter.yaml",
    description: "User can query geometry values which satisfies filter in select permission",
    url: V1,
    headers: { "X-Hasura-Role": "user1" },
    query: GEOM_QUERY,
    expect: { data: GEOM_ROWS(false) },
    skip: POSTGIS,
  },
  {
    file: "user_can_query_geometry_values_filter_session_vars.yaml",
    description: "User can query geometry values which satisfies filter in select permission using session variables",
    url: V1,
    headers: {
      "X-Hasura-Role": "user2",
      "X-Hasura-Geom-Dist": "1",
      "X-Hasura-Geom-Val":
        '{"type":"Polygon","coordinates":[[[2,0],[2,1],[3,1],[3,0],[2,0]]],"crs":{"type":"name","properties":{"name":"EPSG:4326"}}}',
    },
    query: GEOM_QUERY,
    expect: { data: GEOM_ROWS(true) },
    skip: POSTGIS,
  },
  {
    file: "user_can_query_jsonb_values_filter.yaml",
    description: "User can query jsonb values which satisfies filter in select permission",
    url: V1ALPHA1,
    headers: { "X-Hasura-Role": "user1" },
    query: JSONB_ROWS,
    expect: { data: { jsonb_table: [ROW_HASURA] } },
  },
  {
    file: "user_can_query_jsonb_values_filter_arr_session_vars.yaml",
    description: "$nin with a JSON array session variable: [Hasura]",
    url: V1ALPHA1,
    headers: { "X-Hasura-Role": "user3", "X-Hasura-Protected-Jsons": '[ { "name": "Hasura", "age": 7} ]' },
    query: JSONB_ROWS,
    expect: { data: { jsonb_table: [ROW_CROSS] } },
  },
  {
    file: "user_can_query_jsonb_values_filter_arr_session_vars.yaml",
    description: "$nin with a JSON array session variable: [Cross]",
    url: V1ALPHA1,
    headers: { "X-Hasura-Role": "user3", "X-Hasura-Protected-Jsons": '[ { "name": "Cross"} ]' },
    query: JSONB_ROWS,
    expect: { data: { jsonb_table: [ROW_HASURA] } },
  },
  {
    file: "user_can_query_jsonb_values_filter_session_vars.yaml",
    description: "$has_key with a session variable",
    url: V1ALPHA1,
    headers: { "X-Hasura-Role": "user2", "X-Hasura-Has-Key": "age" },
    query: JSONB_ROWS,
    expect: { data: { jsonb_table: [ROW_HASURA] } },
  },
  {
    file: "user_can_query_other_users_published_articles.yaml",
    description: "User can only get his unpublished articles",
    url: V1,
    headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "1" },
    query: ARTICLES_WITH_AUTHOR("where: { _and: [ { is_published : {_eq : true}} { author : { id : {_neq : 1}}} ] }"),
    expect: {
      data: {
        article: [
          { id: 3, title: "Article 3", content: "Sample article content 3", is_published: true, author: { id: 2, name: "Author 2" } },
        ],
      },
    },
  },
  {
    // The YAML gives only the status; Hasura's error is this validation failure.
    file: "user_cannot_access_remarks_col.yaml",
    description: "User cannot access remarks column",
    url: V1ALPHA1,
    headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "1" },
    query: "query { author { id name remarks_internal } }",
    expect: {
      status: 400,
      code: "validation-failed",
      path: "$.selectionSet.author.selectionSet.remarks_internal",
      message: "field 'remarks_internal' not found in type: 'author'",
    },
  },
  {
    file: "user_cannot_access_remarks_col.yaml",
    description: "Admin can access remarks column",
    url: V1ALPHA1,
    headers: {},
    query: "query { author { id name remarks_internal } }",
    expect: {
      data: {
        author: [
          { name: "Author 1", id: 1, remarks_internal: "remark 1" },
          { name: "Author 2", id: 2, remarks_internal: "remark 2" },
          { name: "Author 3", id: 3, remarks_internal: "remark 3" },
        ],
      },
    },
  },
  {
    file: "user_query_auction.yaml",
    description: "Query bid prices more than actual price",
    url: V1ALPHA1,
    headers: { "X-Hasura-Role": "user" },
    query: "query { auction(order_by: {bid_price: asc} limit: 1) { id bid_price } }",
    expect: { data: { auction: [{ id: 4, bid_price: 260 }] } },
  },
  {
    file: "user_select_person_computed_column.yaml",
    description: "Fetch person with computed column as User",
    url: V1ALPHA1,
    headers: { "X-Hasura-Role": "user", "X-Hasura-Person-Id": "2" },
    query: 'query { person { id first_name last_name full_name_prefix(args: {prefix: "Mr."}) } }',
    expect: { data: { person: [{ id: 2, first_name: "clarke", last_name: "michael", full_name_prefix: "Mr. michael clarke" }] } },
  },
  {
    file: "user_select_query_article_author.yaml",
    description: "User can only get his unpublished articles",
    url: V1ALPHA1,
    headers: { "X-Hasura-Role": "user", "X-Hasura-User-Id": "1" },
    query: ARTICLES_WITH_AUTHOR("where: { is_published : {_eq : false}}"),
    expect: {
      data: {
        article: [
          { id: 1, title: "Article 1", content: "Sample article content 1", is_published: false, author: { id: 1, name: "Author 1" } },
        ],
      },
    },
  },
  {
    file: "user_should_not_be_able_to_access_books_by_pk.yaml",
    description: "User cannot access books_by_pk",
    url: V1,
    headers: { "X-Hasura-Role": "user" },
    query: 'query { books_by_pk(id:1,book_name:"Harry Porter") { author_name book_name published_on } }',
    expect: {
      status: 200,
      code: "validation-failed",
      path: "$.selectionSet.books_by_pk",
      message: "field 'books_by_pk' not found in type: 'query_root'",
    },
  },
];
