/** Tokens, keys and local JWKS / webhook servers for the auth tests. */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK } from "jose";

export const HS_KEY = "test-hmac-secret-0123456789abcdef0123456789";
/** HASURA_GRAPHQL_JWT_SECRET verifying tokens signed by sign() below. */
export const HS_JWT_SECRET = JSON.stringify({ type: "HS256", key: HS_KEY });
export const NS = "https://hasura.io/jwt/claims";

export interface SignOptions {
  alg?: string;
  key?: CryptoKey | Uint8Array;
  kid?: string;
  header?: Record<string, unknown>;
}

export function hasuraClaims(role: string, extra: Record<string, unknown> = {}, allowed: unknown = [role]) {
  return { [NS]: { "x-hasura-default-role": role, "x-hasura-allowed-roles": allowed, ...extra } };
}

export async function sign(payload: Record<string, unknown>, opts: SignOptions = {}): Promise<string> {
  const alg = opts.alg ?? "HS256";
  const jwt = new SignJWT(payload).setProtectedHeader({ alg, typ: "JWT", ...(opts.kid ? { kid: opts.kid } : {}), ...opts.header });
  if (payload.iat === undefined) jwt.setIssuedAt();
  if (payload.exp === undefined) jwt.setExpirationTime("1h");
  return jwt.sign(opts.key ?? new TextEncoder().encode(HS_KEY));
}

export async function rsaKeys(alg = "RS256") {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { publicKey, privateKey, pem: await exportSPKI(publicKey), jwk: await exportJWK(publicKey) };
}

/** A local JWKS endpoint whose keys and cache headers a test can change. */
export async function jwksServer(initial: JWK[], headers: Record<string, string> = { "cache-control": "max-age=300" }) {
  const state = { keys: initial, headers, fail: false, hits: 0 };
  const srv = createServer((_req, res) => {
    state.hits++;
    if (state.fail) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json", ...state.headers });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/jwks.json`, state, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

/** A local auth webhook whose handler a test supplies. */
export async function webhookServer(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const calls: Array<{ method: string; headers: IncomingMessage["headers"]; body: string }> = [];
  const srv = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      calls.push({ method: req.method!, headers: req.headers, body });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/auth`,
    calls,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}
