/**
 * Hasura's `X-Hasura-Use-Backend-Only-Permissions`: a trusted caller (the
 * admin secret sent, or no admin secret configured) asks for the role's
 * backend-only mutations. Read only on those paths of
 * ./authenticate.ts; a JWT, webhook or unauthorized-role session never has
 * them, whatever its headers or claims say (Hasura: BOFADisallowed
 * without the admin secret).
 */
import { HasuraError } from "../errors.ts";

const HEADER = "x-hasura-use-backend-only-permissions";
const TRUE = ["true", "t", "yes", "y"];
const FALSE = ["false", "f", "no", "n"];

/** Whether the header asks for backend-only permissions; Hasura's error for a value that is not a boolean. */
export function backendOnlyRequested(headers: Record<string, string | string[] | undefined>): boolean {
  const raw = headers[HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return false;
  const v = value.toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw new HasuraError(
    "bad-request",
    `${HEADER}:  Not a valid boolean text. True values are ${JSON.stringify(TRUE)} and  False values are ${JSON.stringify(FALSE)}. All values are case insensitive`,
    400,
  );
}
