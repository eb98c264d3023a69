/**
 * A request's session (role, session variables, claims) and the
 * transaction-local Postgres settings it becomes. Pure: no I/O, used by the
 * role preset's context (server/graphile/preset.ts) and unit tests alike.
 */
export interface HasuraSession {
  /** The application role for `SET LOCAL role`; already checked against the allow-list. */
  role: string;
  /** Session variables, names lower-cased (`x-hasura-user-id`), values text. */
  variables: Record<string, string>;
  /** Verified JWT claims, when the request came with a token. */
  claims: Record<string, unknown> | null;
  /** The role's backend-only mutations exist for this request (server/auth/backend-only.ts); never set from a token or webhook. */
  backendOnly?: boolean;
}

/**
 * The transaction-local settings for one operation. PostGraphile's adaptor
 * applies them with set_config(key, value, true) as bind parameters, so no
 * value is ever part of SQL text, and none outlives the transaction.
 */
export function toPgSettings(session: HasuraSession): Record<string, string> {
  const settings: Record<string, string> = {
    role: session.role,
    "hasura.user": JSON.stringify({ ...session.variables, "x-hasura-role": session.role }),
  };
  // Always set, empty without a token, so no value from outside this
  // transaction can show through (hasura.jwt() reads '' as none).
  settings["request.jwt.claims"] = session.claims ? claimsJson(session.claims) : "";
  return settings;
}

// A cached token hands every request the same claims object: serialize it once.
const claimsJsonCache = new WeakMap<object, string>();
function claimsJson(claims: object): string {
  let json = claimsJsonCache.get(claims);
  if (json === undefined) {
    json = JSON.stringify(claims);
    claimsJsonCache.set(claims, json);
  }
  return json;
}
