/**
 * `POST /v1/metadata`, Hasura's metadata API, for one command:
 * `export_metadata` answers the current permissions as Hasura metadata
 * (server/hasura/metadata-export.ts), generated from the live catalog, so
 * Hasura tooling can read them. With `"version": 2` in the request the
 * answer is `{resource_version, metadata, warnings}`, as Hasura's
 * (`resource_version` is always 1: there is no stored metadata to version);
 * without it, the metadata object itself, and the number of permissions
 * left out in the `x-hasura-export-warnings` header (ask with version 2
 * for the list).
 *
 * Hasura's order and errors (flat shape): authentication first, as on the
 * GraphQL endpoints (a wrong admin secret: 401 `access-denied`); a role
 * other than admin: 400 `access-denied` `restricted access : admin only`
 * at `$.args`; invalid JSON: 400 `invalid-json`; an unknown `type`: 400
 * `parse-failed` with Hasura's wording. Every other metadata command is
 * `not-supported`: permissions are changed in policies.sql, not here.
 *
 * Reads the catalog through the runtime (authenticator) connection: the
 * catalog tables, pg_description and the declarations it reads are public.
 */
import fp from "fastify-plugin";
import { HasuraError } from "../errors.ts";
import { exportMetadata } from "../hasura/metadata-export.ts";

export interface MetadataApiOptions {
  /** The exposed schemas, exported as one source. */
  schemas: string[];
  authenticator: string;
}

// Hasura's backend prefixes: `pg_create_select_permission` is a known command of a known backend.
const BACKENDS: Record<string, string> = { pg: "postgres", citus: "citus", cockroach: "cockroach", mssql: "mssql", bigquery: "bigquery" };
// Hasura's commands without a backend prefix (RQLMetadataV1's parser), all known; only export_metadata is served.
const KNOWN = new Set(
  `add_source drop_source rename_source update_source track_table untrack_table add_remote_schema update_remote_schema
   remove_remote_schema reload_remote_schema introspect_remote_schema add_remote_schema_permissions drop_remote_schema_permissions
   create_remote_schema_remote_relationship update_remote_schema_remote_relationship delete_remote_schema_remote_relationship
   create_cron_trigger delete_cron_trigger create_scheduled_event delete_scheduled_event get_scheduled_events get_event_invocations
   get_cron_triggers create_action drop_action update_action create_action_permission drop_action_permission create_query_collection
   rename_query_collection drop_query_collection add_query_to_collection drop_query_from_collection add_collection_to_allowlist
   drop_collection_from_allowlist update_scope_of_collection_in_allowlist create_rest_endpoint drop_rest_endpoint set_custom_types
   set_api_limits remove_api_limits set_metrics_config remove_metrics_config add_inherited_role drop_inherited_role replace_metadata
   export_metadata clear_metadata reload_metadata get_inconsistent_metadata drop_inconsistent_metadata add_host_to_tls_allowlist
   drop_host_from_tls_allowlist dump_internal_state get_catalog_state set_catalog_state set_graphql_schema_introspection_options
   test_webhook_transform set_query_tags bulk`.split(/\s+/),
);

const parseFailed = (message: string) => new HasuraError("parse-failed", message, 400, "$");

function describe(v: unknown): string {
  return v === null
    ? "Null"
    : Array.isArray(v)
      ? "Array"
      : typeof v === "object"
        ? "Object"
        : typeof v === "string"
          ? "String"
          : typeof v === "number"
            ? "Number"
            : "Boolean";
}

/** The command's type, or Hasura's parse error for an unknown one. */
function commandOf(body: unknown): { type: string; version: number } {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw parseFailed(`parsing RQLMetadata failed, expected Object, but encountered ${describe(body)}`);
  const o = body as Record<string, unknown>;
  const version = o.version ?? 1;
  if (version !== 1 && version !== 2) throw parseFailed(`expected 1 or 2, encountered ${JSON.stringify(version)}`);
  if (!("type" in o)) throw parseFailed('key "type" not found');
  if (typeof o.type !== "string") throw parseFailed(`parsing Text failed, expected String, but encountered ${describe(o.type)}`);
  const type = o.type;
  if (KNOWN.has(type)) return { type, version };
  const cut = type.indexOf("_");
  const prefix = cut < 0 ? type : type.slice(0, cut);
  if (!(prefix in BACKENDS))
    throw parseFailed(`unknown metadata command "${type}"; "${prefix}" was not recognized as a valid backend name`);
  return { type, version };
}

export default fp<MetadataApiOptions>(
  async (app, opts) => {
    // The GraphQL endpoints' authenticator: one JWKS cache and one admin-secret failure count for the whole server.
    const authenticator = app.authenticator;
    app.post(
      "/v1/metadata",
      {
        // Before the body is read, as Hasura authenticates first.
        onRequest: async (request) => {
          const { session } = await authenticator.authenticate(request.headers, undefined, request.ip);
          request.metadataRole = session.role;
        },
      },
      async (request, reply) => {
        const { type, version } = commandOf(request.body);
        if (request.metadataRole !== "admin") throw new HasuraError("access-denied", "restricted access : admin only", 400, "$.args");
        if (type !== "export_metadata")
          throw new HasuraError(
            "not-supported",
            `metadata command "${type}" is not supported: this server serves only export_metadata (permissions are changed in policies.sql)`,
            400,
            "$.args",
          );
        const client = await app.pgPool.connect();
        let exported: Awaited<ReturnType<typeof exportMetadata>>;
        try {
          exported = await exportMetadata(client, { schemas: opts.schemas, authenticator: opts.authenticator });
        } finally {
          client.release();
        }
        if (version === 2) return { resource_version: 1, metadata: exported.metadata, warnings: exported.warnings };
        reply.header("x-hasura-export-warnings", String(exported.warnings.length));
        return exported.metadata;
      },
    );
  },
  { name: "metadata-api", dependencies: ["database", "graphql-scope"], fastify: "5.x" },
);

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated role of a /v1/metadata request. */
    metadataRole?: string;
  }
}
