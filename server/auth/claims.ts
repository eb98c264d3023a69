/**
 * From a verified JWT payload to Hasura's claims (allowed roles, default
 * role, session variables), with Hasura's error codes and messages. Pure.
 */
import { HasuraError, truncateForMessage } from "../errors.ts";
import type { ClaimsMapValue, JwtSecretConfig } from "./auth-config.ts";
import { getAtPath, parseJsonPath, type PathSegment } from "./json-path.ts";

export interface HasuraClaims {
  allowedRoles: string[];
  defaultRole: string;
  /** x-hasura-* claims other than the two role claims, names lower-cased. */
  variables: Record<string, string>;
}

const ALLOWED = "x-hasura-allowed-roles";
const DEFAULT = "x-hasura-default-role";

const invalidClaims = (message: string) => new HasuraError("jwt-invalid-claims", message, 400);

function jsonTypeName(v: unknown): string {
  if (v === null) return "Null";
  if (Array.isArray(v)) return "Array";
  const t = typeof v;
  return t === "object" ? "Object" : t === "number" ? "Number" : t === "boolean" ? "Boolean" : "String";
}

export interface CompiledClaimsConfig {
  extract(payload: Record<string, unknown>): HasuraClaims;
}

/** Parses the config's JSON paths once, at start-up. */
export function compileClaimsConfig(cfg: JwtSecretConfig): CompiledClaimsConfig {
  const namespacePath = cfg.claimsNamespacePath ? parseJsonPath(cfg.claimsNamespacePath) : undefined;
  const map = cfg.claimsMap ? Object.entries(cfg.claimsMap).map(([name, spec]) => ({ name, spec, path: pathOf(spec) })) : undefined;
  return {
    extract(payload) {
      const raw = map ? fromClaimsMap(payload, map) : fromNamespace(payload, cfg, namespacePath);
      return toHasuraClaims(raw);
    },
  };
}

function pathOf(spec: ClaimsMapValue): PathSegment[] | undefined {
  return typeof spec === "object" && !Array.isArray(spec) ? parseJsonPath(spec.path) : undefined;
}

function fromNamespace(
  payload: Record<string, unknown>,
  cfg: JwtSecretConfig,
  namespacePath: PathSegment[] | undefined,
): Record<string, unknown> {
  const where = namespacePath ? `claims_namespace_path: '${cfg.claimsNamespacePath}'` : `claims_namespace ${cfg.claimsNamespace}`;
  let ns = namespacePath ? getAtPath(payload, namespacePath) : payload[cfg.claimsNamespace];
  if (ns === undefined) {
    throw invalidClaims(
      namespacePath
        ? `claims not found at claims_namespace_path: '${cfg.claimsNamespacePath}'`
        : `claims key: '${cfg.claimsNamespace}' not found`,
    );
  }
  if (cfg.claimsFormat === "stringified_json") {
    if (typeof ns !== "string") throw invalidClaims("expecting a string when claims_format is stringified_json");
    try {
      ns = JSON.parse(ns);
    } catch {
      throw invalidClaims(`expecting stringified json at: '${where}', but found: ${truncateForMessage(JSON.stringify(ns))}`);
    }
  }
  if (typeof ns !== "object" || ns === null || Array.isArray(ns)) {
    throw invalidClaims("expecting a json object when claims_format is json");
  }
  return ns as Record<string, unknown>;
}

function fromClaimsMap(
  payload: Record<string, unknown>,
  map: Array<{ name: string; spec: ClaimsMapValue; path?: PathSegment[] }>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { name, spec, path } of map) {
    if (!path) {
      out[name] = spec; // a literal
      continue;
    }
    let v = getAtPath(payload, path);
    if (v === undefined) v = (spec as { default?: unknown }).default;
    if (v === undefined) throw invalidClaims(`JWT claim from claims_map, ${name} not found`);
    out[name] = v;
  }
  return out;
}

function toHasuraClaims(raw: Record<string, unknown>): HasuraClaims {
  const claims: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const name = k.toLowerCase();
    if (name.startsWith("x-hasura-")) claims[name] = v;
  }
  const allowed = claims[ALLOWED];
  if (allowed === undefined) throw new HasuraError("jwt-missing-role-claims", `JWT claim does not contain ${ALLOWED}`, 400);
  if (!Array.isArray(allowed)) {
    throw invalidClaims(
      `invalid ${ALLOWED}; should be a list of roles: parsing [] failed, expected Array, but encountered ${jsonTypeName(allowed)}`,
    );
  }
  if (!allowed.every((r) => typeof r === "string")) {
    throw invalidClaims(`invalid ${ALLOWED}; should be a list of roles: parsing Text failed, expected String`);
  }
  const def = claims[DEFAULT];
  if (def === undefined) throw new HasuraError("jwt-missing-role-claims", `JWT claim does not contain ${DEFAULT}`, 400);
  if (typeof def !== "string") {
    throw invalidClaims(
      `invalid ${DEFAULT}; should be a single role name: parsing Text failed, expected String, but encountered ${jsonTypeName(def)}`,
    );
  }
  const variables: Record<string, string> = {};
  for (const [name, v] of Object.entries(claims)) {
    // The role comes from the X-Hasura-Role header only, never from a claim.
    if (name === ALLOWED || name === DEFAULT || name === "x-hasura-role") continue;
    if (typeof v !== "string") {
      throw invalidClaims(`x-hasura-* claims: parsing Text failed, expected String, but encountered ${jsonTypeName(v)}`);
    }
    variables[name] = v;
  }
  return { allowedRoles: allowed as string[], defaultRole: def, variables };
}

/** Hasura's role choice: the X-Hasura-Role header if sent, else the default; either must be allowed. */
export function chooseRole(requested: string | undefined, allowedRoles: readonly string[], defaultRole: string): string {
  const role = requested !== undefined && requested !== "" ? requested : defaultRole;
  if (!allowedRoles.includes(role)) {
    throw new HasuraError("access-denied", "Your requested role is not in allowed roles", 400);
  }
  return role;
}
