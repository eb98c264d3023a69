/**
 * HASURA_GRAPHQL_CORS_DOMAIN's grammar and its parsed form: read by
 * config.ts at start, matched against by plugins/cors.ts per request. A leaf,
 * so reading the configuration loads no Fastify plugin.
 */

/** A configured origin `scheme://*.host[:port]`: one label in front of `host`. */
export interface WildcardOrigin {
  scheme: string;
  host: string;
  port: string;
}

export type CorsOrigins = "*" | { exact: string[]; wildcards: WildcardOrigin[] };

// scheme, optional `*.`, host (DNS name or IPv4), optional port: Hasura's
// grammar, which takes no path and no wildcard port.
const DOMAIN = /^(https?:\/\/)(\*\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::(\d{1,5}))?$/i;

/**
 * Parses Hasura's comma list (`*`, `https://example.com`,
 * `https://*.example.com:8080`, `http://localhost:3000`). Throws a message
 * naming the first bad entry.
 */
export function parseCorsDomains(raw: string): CorsOrigins {
  if (raw.trim() === "*") return "*";
  const exact: string[] = [];
  const wildcards: WildcardOrigin[] = [];
  for (const entry of raw.split(",").map((d) => d.trim())) {
    const m = DOMAIN.exec(entry);
    if (!m) {
      throw new Error(
        `invalid domain: ${JSON.stringify(entry)}; expected "*" or a comma list of scheme + (optional "*.") host + (optional port), e.g. https://*.example.com, http://localhost:3000`,
      );
    }
    const [, scheme, star, host, port] = m as unknown as [string, string, string | undefined, string, string | undefined];
    // Browsers send origins lower-case and without the default port.
    const origin = { scheme: scheme.toLowerCase(), host: host.toLowerCase(), port: port ?? "" };
    if (star) wildcards.push(origin);
    else exact.push(origin.scheme + origin.host + (origin.port ? `:${origin.port}` : ""));
  }
  return { exact, wildcards };
}
