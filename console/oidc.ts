/**
 * What the console needs to sign in, and the deployed console's sign-in: OpenID Connect's
 * authorization code flow with PKCE (RFC 7636, S256), against the stage's issuer, for an access
 * token with the audience of the API's JWT authorizer.
 *
 * Where things live, so no token is ever in a URL or in storage:
 * - the PKCE verifier and the state go to the tab's sessionStorage for the round trip to the
 *   issuer (same origin and same tab only; neither is a token: the verifier is worth something
 *   only together with the code, which is single use);
 * - the authorization code comes back in the redirect's query, and the page takes it out of the
 *   address bar (history.replaceState) before it exchanges it;
 * - the access token lives in the console module's memory only; a reload signs in again (one
 *   redirect while the issuer's own session lasts). No refresh token is asked for or kept.
 *
 * No DOM types here (the build script and the unit tests use this file in Node too).
 */

export interface OidcSettings {
  readonly mode: "oidc";
  /** The issuer the API's JWT authorizer trusts (the token's `iss`). */
  readonly issuer: string;
  /** The console's public client at the issuer (no client secret: a browser cannot keep one). */
  readonly clientId: string;
  /** The API's audience (the token's `aud`). */
  readonly audience: string;
  /** What to ask for, space-separated, e.g. `openid payments:admin payments:refund`. */
  readonly scopes: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  /** Send `audience=` on the authorization request (Auth0 needs it; Cognito and Okta do not). */
  readonly sendAudience: boolean;
}

/** `config.json` beside the console's page: local sign-in (npm start) or the stage's issuer. */
export type ConsoleConfig = { readonly mode: "local" } | OidcSettings;

export class SignInError extends Error {}

/** What the tab keeps between the redirect to the issuer and the way back. */
export interface TabStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const PENDING_KEY = "payment-console.sign-in";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function httpsUrl(value: unknown, name: string, allowHttpLoopback: boolean): string {
  if (typeof value !== "string") throw new SignInError(`${name} is missing`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SignInError(`${name} is not a URL: ${value}`);
  }
  const loopback = url.hostname === "127.0.0.1" || url.hostname === "localhost";
  if (url.protocol !== "https:" && !(allowHttpLoopback && loopback && url.protocol === "http:")) {
    throw new SignInError(`${name} must be https: ${value}`);
  }
  return value;
}

function text(value: unknown, name: string): string {
  if (typeof value !== "string" || value.trim() === "") throw new SignInError(`${name} is missing`);
  return value.trim();
}

/**
 * Reads a console config. Endpoints must be https (http only on the loopback address, for the
 * local tests); the scopes must include `openid`, as OpenID Connect requires.
 */
export function parseConsoleConfig(value: unknown): ConsoleConfig {
  if (!isRecord(value)) throw new SignInError("the console config is not an object");
  if (value.mode === "local") return { mode: "local" };
  if (value.mode !== "oidc") throw new SignInError(`unknown sign-in mode ${String(value.mode)}`);
  const scopes = text(value.scopes, "scopes").split(/\s+/);
  if (!scopes.includes("openid")) throw new SignInError("scopes must include openid");
  return {
    mode: "oidc",
    issuer: text(value.issuer, "issuer"),
    clientId: text(value.clientId, "clientId"),
    audience: text(value.audience, "audience"),
    scopes: scopes.join(" "),
    authorizationEndpoint: httpsUrl(value.authorizationEndpoint, "authorizationEndpoint", true),
    tokenEndpoint: httpsUrl(value.tokenEndpoint, "tokenEndpoint", true),
    sendAudience: value.sendAudience === true,
  };
}

// ---- PKCE (RFC 7636)

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** 32 random bytes, base64url: 43 characters, the shortest verifier RFC 7636 allows. */
export function randomToken(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** The S256 code challenge of a verifier: base64url(SHA-256(verifier)). */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

// ---- the flow

interface Pending {
  readonly state: string;
  readonly verifier: string;
}

/**
 * Starts a sign-in: keeps a fresh state and verifier in the tab and answers the issuer's
 * authorization URL to send the browser to.
 */
export async function beginSignIn(
  settings: OidcSettings,
  redirectUri: string,
  storage: TabStorage,
): Promise<string> {
  const pending: Pending = { state: randomToken(), verifier: randomToken() };
  storage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(settings.authorizationEndpoint);
  const params = new URLSearchParams({
    response_type: "code",
    client_id: settings.clientId,
    redirect_uri: redirectUri,
    scope: settings.scopes,
    state: pending.state,
    code_challenge: await codeChallenge(pending.verifier),
    code_challenge_method: "S256",
  });
  if (settings.sendAudience) params.set("audience", settings.audience);
  for (const [k, v] of params) url.searchParams.set(k, v);
  return url.toString();
}

/** Whether this address is the issuer's redirect back (a code or an error, with a state). */
export function isCallback(address: string): boolean {
  const q = new URL(address).searchParams;
  return q.has("state") && (q.has("code") || q.has("error"));
}

/** The console's own address without the callback's query: what the address bar should show. */
export function withoutCallback(address: string): string {
  const url = new URL(address);
  url.search = "";
  url.hash = "";
  return url.toString();
}

export interface SignedIn {
  readonly accessToken: string;
  readonly sub: string;
  readonly scopes: ReadonlySet<string>;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
}

/** The claims of a JWT, unverified: the API verifies it; the console only shows who and what. */
export function unverifiedClaims(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1];
  if (part === undefined) throw new SignInError("the access token is not a JWT");
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (!isRecord(claims)) throw new Error("not an object");
    return claims;
  } catch {
    throw new SignInError("the access token's claims cannot be read");
  }
}

type Fetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

/**
 * Finishes a sign-in on the redirect back: checks the state against the one this tab sent (and
 * forgets it, so a code is tried once), exchanges the code with the verifier, and checks that the
 * token is for this issuer and the API's audience. Throws SignInError with a reason to show.
 */
export async function completeSignIn(
  settings: OidcSettings,
  redirectUri: string,
  address: string,
  storage: TabStorage,
  fetchFn: Fetch,
): Promise<SignedIn> {
  const q = new URL(address).searchParams;
  const raw = storage.getItem(PENDING_KEY);
  storage.removeItem(PENDING_KEY);
  let pending: Pending | undefined;
  try {
    const parsed: unknown = raw === null ? undefined : JSON.parse(raw);
    if (isRecord(parsed) && typeof parsed.state === "string" && typeof parsed.verifier === "string")
      pending = { state: parsed.state, verifier: parsed.verifier };
  } catch {
    pending = undefined;
  }
  if (pending === undefined || q.get("state") !== pending.state) {
    throw new SignInError("This sign-in was not started here (state mismatch). Sign in again.");
  }
  const error = q.get("error");
  if (error !== null) {
    throw new SignInError(
      `The issuer refused the sign-in: ${error} ${q.get("error_description") ?? ""}`.trim(),
    );
  }
  const code = q.get("code") ?? "";
  const res = await fetchFn(settings.tokenEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      client_id: settings.clientId,
      code_verifier: pending.verifier,
    }).toString(),
  });
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok || !isRecord(body) || typeof body.access_token !== "string") {
    const reason =
      isRecord(body) && typeof body.error === "string" ? body.error : `HTTP ${res.status}`;
    throw new SignInError(`The issuer did not give a token: ${reason}`);
  }
  const claims = unverifiedClaims(body.access_token);
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  // Cognito's access tokens carry no aud but the client id (client_id), which its authorizer takes.
  const forApi = audiences.includes(settings.audience) || claims.client_id === settings.audience;
  if (claims.iss !== settings.issuer || !forApi) {
    throw new SignInError(
      `The token is not for this API (issuer ${String(claims.iss)}, audience ${String(claims.aud)}).`,
    );
  }
  const scope = typeof claims.scope === "string" ? claims.scope : "";
  return {
    accessToken: body.access_token,
    sub: typeof claims.sub === "string" ? claims.sub : "",
    scopes: new Set(scope.split(/\s+/).filter((s) => s !== "")),
    expiresAt: typeof claims.exp === "number" ? claims.exp : 0,
  };
}
