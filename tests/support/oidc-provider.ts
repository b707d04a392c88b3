/**
 * A small OpenID Connect issuer for the deployed console's browser test: the authorization
 * endpoint shows a sign-in form (subject and scopes) and redirects back with a single-use code;
 * the token endpoint exchanges that code only with the PKCE verifier (S256), the same client id
 * and redirect URI, and answers an access token from `issue` (the stack's signer: the issuer and
 * audience the local JWT authorizer trusts). It is strict where a real issuer is, so the test
 * fails if the console skips PKCE, reuses a code or sends the wrong redirect URI.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface OidcProviderOptions {
  readonly clientId: string;
  readonly redirectUri: string;
  /** The origin allowed to call the token endpoint from a page (CORS). */
  readonly consoleOrigin: string;
  readonly issue: (sub: string, scope: string) => Promise<string>;
}

export interface TokenExchange {
  readonly status: number;
  readonly error?: string;
}

export interface OidcProvider {
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  /** Every token request and how it was answered, in order. */
  readonly exchanges: TokenExchange[];
  /** Every access token issued. */
  readonly issued: string[];
  close(): Promise<void>;
}

interface Grant {
  readonly challenge: string;
  readonly redirectUri: string;
  readonly sub: string;
  readonly scope: string;
  used: boolean;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function form(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

export async function startOidcProvider(options: OidcProviderOptions): Promise<OidcProvider> {
  const grants = new Map<string, Grant>();
  const exchanges: TokenExchange[] = [];
  const issued: string[] = [];
  const cors = {
    "access-control-allow-origin": options.consoleOrigin,
    "access-control-allow-methods": "POST",
    "access-control-allow-headers": "content-type",
  };
  const refuse = (res: ServerResponse, error: string) => {
    exchanges.push({ status: 400, error });
    res.writeHead(400, { "content-type": "application/json", ...cors });
    res.end(JSON.stringify({ error }));
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://provider");
      if (req.method === "GET" && url.pathname === "/authorize") {
        const q = url.searchParams;
        const problems = [
          q.get("response_type") === "code" ? undefined : "response_type",
          q.get("client_id") === options.clientId ? undefined : "client_id",
          q.get("redirect_uri") === options.redirectUri ? undefined : "redirect_uri",
          q.get("code_challenge_method") === "S256" ? undefined : "code_challenge_method",
          /^[A-Za-z0-9_-]{43}$/.test(q.get("code_challenge") ?? "") ? undefined : "code_challenge",
          q.get("state") ? undefined : "state",
          (q.get("scope") ?? "").split(" ").includes("openid") ? undefined : "scope",
        ].filter((p) => p !== undefined);
        if (problems.length > 0) {
          res.writeHead(400, { "content-type": "text/plain" });
          res.end(`bad authorization request: ${problems.join(", ")}`);
          return;
        }
        const scopes = (q.get("scope") ?? "").split(" ").filter((s) => s !== "openid");
        const hidden = ["state", "code_challenge"]
          .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(q.get(k) ?? "")}">`)
          .join("");
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(
          `<!doctype html><title>Test issuer</title><form method="post" action="/authorize">${hidden}` +
            `<label>User <input name="sub"></label>` +
            `<label>Granted scopes <input name="scope" value="${escapeHtml(scopes.join(" "))}"></label>` +
            `<button>Approve</button></form>`,
        );
        return;
      }
      if (req.method === "POST" && url.pathname === "/authorize") {
        const f = await form(req);
        const code = randomBytes(24).toString("base64url");
        grants.set(code, {
          challenge: f.get("code_challenge") ?? "",
          redirectUri: options.redirectUri,
          sub: f.get("sub") ?? "",
          scope: f.get("scope") ?? "",
          used: false,
        });
        const back = new URL(options.redirectUri);
        back.searchParams.set("code", code);
        back.searchParams.set("state", f.get("state") ?? "");
        res.writeHead(302, { location: back.toString() });
        res.end();
        return;
      }
      if (req.method === "OPTIONS" && url.pathname === "/token") {
        res.writeHead(204, cors);
        res.end();
        return;
      }
      if (req.method === "POST" && url.pathname === "/token") {
        const f = await form(req);
        const grant = grants.get(f.get("code") ?? "");
        if (f.get("grant_type") !== "authorization_code")
          return refuse(res, "unsupported_grant_type");
        if (grant === undefined || grant.used) return refuse(res, "invalid_grant");
        grant.used = true;
        const verifier = f.get("code_verifier") ?? "";
        const challenge = createHash("sha256").update(verifier).digest("base64url");
        if (
          f.get("client_id") !== options.clientId ||
          f.get("redirect_uri") !== grant.redirectUri ||
          challenge !== grant.challenge
        ) {
          return refuse(res, "invalid_grant");
        }
        const token = await options.issue(grant.sub, grant.scope);
        issued.push(token);
        exchanges.push({ status: 200 });
        res.writeHead(200, {
          "content-type": "application/json",
          "cache-control": "no-store",
          ...cors,
        });
        res.end(JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: 3600 }));
        return;
      }
      res.writeHead(404);
      res.end();
    })().catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    authorizationEndpoint: `${base}/authorize`,
    tokenEndpoint: `${base}/token`,
    exchanges,
    issued,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
