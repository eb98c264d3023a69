/**
 * The school platform's tables as the matrix tests see them: the GraphQL
 * connection field, the columns compared (no timestamps), and each role's
 * rule written again in SQL, independently of policies.sql.
 *
 * In the rules, $1 is the session value: the user id (int) for `user`,
 * the campus list (text[]) for the campus roles. A rule of null means
 * "every row"; `undefined` (absent) means the role cannot read the table.
 */
export interface TableSpec {
  table: string;
  field: string;
  columns: string[];
  orderBy: string;
  order: string;
  /** The `user` role's rule; null: every row. */
  user: string | null;
  /** The campus roles' rule; null: every row (lookup tables). */
  campus: string | null;
  /** Lookup tables: readable, written by admin only. */
  lookup?: boolean;
}

const viaParent = (table: string, fk: string, parent: string) =>
  `exists (select 1 from public.${parent} p where p.id = ${table}."${fk}" and p.campus = any($1::text[]))`;
const direct = "campus = any($1::text[])";
const myGroups = `(select gu."groupId" from public.group_user gu where gu."userId" = $1::int)`;

export const TABLES: TableSpec[] = [
  {
    table: "user",
    field: "allUsers",
    columns: ["id", "login", "campus"],
    orderBy: "ID_ASC",
    order: "id",
    user: "id = $1::int",
    campus: direct,
  },
  {
    table: "object_type",
    field: "allObjectTypes",
    columns: ["type"],
    orderBy: "TYPE_ASC",
    order: "type",
    user: null,
    campus: null,
    lookup: true,
  },
  {
    table: "object_status",
    field: "allObjectStatuses",
    columns: ["status"],
    orderBy: "STATUS_ASC",
    order: "status",
    user: null,
    campus: null,
    lookup: true,
  },
  {
    table: "transaction_type",
    field: "allTransactionTypes",
    columns: ["type"],
    orderBy: "TYPE_ASC",
    order: "type",
    user: null,
    campus: null,
    lookup: true,
  },
  { table: "role", field: "allRoles", columns: ["id", "slug"], orderBy: "ID_ASC", order: "id", user: null, campus: null, lookup: true },
  {
    table: "user_role",
    field: "allUserRoles",
    columns: ["id", "userId", "roleId"],
    orderBy: "ID_ASC",
    order: "id",
    user: `"userId" = $1::int`,
    campus: `exists (select 1 from public."user" u where u.id = user_role."userId" and u.campus = any($1::text[]))`,
  },
  {
    table: "object",
    field: "allObjects",
    columns: ["id", "name", "type", "campus"],
    orderBy: "ID_ASC",
    order: "id",
    user: null,
    campus: direct,
  },
  {
    table: "object_child",
    field: "allObjectChildren",
    columns: ["id", "parentId", "childId", "key"],
    orderBy: "ID_ASC",
    order: "id",
    user: null,
    campus: viaParent("object_child", "parentId", "object"),
  },
  {
    table: "registration",
    field: "allRegistrations",
    columns: ["id", "objectId", "campus"],
    orderBy: "ID_ASC",
    order: "id",
    user: null,
    campus: direct,
  },
  {
    table: "registration_user",
    field: "allRegistrationUsers",
    columns: ["id", "registrationId", "userId"],
    orderBy: "ID_ASC",
    order: "id",
    user: null,
    campus: viaParent("registration_user", "registrationId", "registration"),
  },
  {
    table: "event",
    field: "allEvents",
    columns: ["id", "objectId", "parentId", "campus"],
    orderBy: "ID_ASC",
    order: "id",
    user: null,
    campus: direct,
  },
  {
    table: "event_user",
    field: "allEventUsers",
    columns: ["id", "eventId", "userId"],
    orderBy: "ID_ASC",
    order: "id",
    user: null,
    campus: viaParent("event_user", "eventId", "event"),
  },
  {
    table: "group",
    field: "allGroups",
    columns: ["id", "objectId", "eventId", "captainId", "status", "campus"],
    orderBy: "ID_ASC",
    order: "id",
    user: null,
    campus: direct,
  },
  {
    table: "group_user",
    field: "allGroupUsers",
    columns: ["id", "groupId", "userId"],
    orderBy: "ID_ASC",
    order: "id",
    user: null,
    campus: viaParent("group_user", "groupId", `"group"`),
  },
  {
    table: "progress",
    field: "allProgresses",
    columns: ["id", "userId", "groupId", "grade", "isDone", "campus"],
    orderBy: "ID_ASC",
    order: "id",
    user: `"userId" = $1::int`,
    campus: direct,
  },
  {
    table: "result",
    field: "allResults",
    columns: ["id", "userId", "groupId", "grade", "campus"],
    orderBy: "ID_ASC",
    order: "id",
    user: `"userId" = $1::int or "groupId" in ${myGroups}`,
    campus: direct,
  },
  {
    table: "transaction",
    field: "allTransactions",
    columns: ["id", "type", "amount", "userId", "campus"],
    orderBy: "ID_ASC",
    order: "id",
    user: `"userId" = $1::int`,
    campus: direct,
  },
  {
    table: "match",
    field: "allMatches",
    columns: ["id", "userId", "matchId", "bet", "campus"],
    orderBy: "ID_ASC",
    order: "id",
    user: null,
    campus: direct,
  },
  {
    table: "audit",
    field: "allAudits",
    columns: ["id", "groupId", "auditorId", "grade"],
    orderBy: "ID_ASC",
    order: "id",
    user: `"auditorId" = $1::int or "groupId" in ${myGroups}`,
    campus: viaParent("audit", "groupId", `"group"`),
  },
];

export const CAMPUS_SETS = [["madere"], ["pyc"], ["madere", "pyc"], ["nowhere"]];
export const USERS = [1, 2, 3, 4];
