/**
 * The deployed console's sign-in (console/oidc.ts): PKCE as RFC 7636 defines it, the
 * authorization request, and the checks on the way back (state, issuer errors, the token's
 * issuer and audience). The whole flow runs in a browser in tests/e2e/console-oidc.test.ts.
 */
import { describe, expect, it } from "vitest";
import {
  beginSignIn,
  codeChallenge,
  completeSignIn,
  isCallback,
  type OidcSettings,
  parseConsoleConfig,
  randomToken,
  type TabStorage,
  withoutCallback,
} from "../../console/oidc.js";

const SETTINGS: OidcSettings = {
  mode: "oidc",
  issuer: "https://issuer.test/",
  clientId: "console",
  audience: "payment-service",
  scopes: "openid payments:admin",
  authorizationEndpoint: "https://login.issuer.test/authorize",
  tokenEndpoint: "https://login.issuer.test/token",
  sendAudience: false,
};
const REDIRECT = "https://console.test/console/";

function tab(): TabStorage & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, v),
    removeItem: (k) => void items.delete(k),
  };
}

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
const jwt = (claims: object) => `${b64url({ alg: "none" })}.${b64url(claims)}.sig`;

/** A token endpoint that records the form it got and answers `answer`. */
function tokenEndpoint(answer: { status: number; body: unknown }) {
  const forms: URLSearchParams[] = [];
  const fetchFn = async (url: string, init: { body: string }) => {
    expect(url).toBe(SETTINGS.tokenEndpoint);
    forms.push(new URLSearchParams(init.body));
    return {
      ok: answer.status < 300,
      status: answer.status,
      json: async () => answer.body,
    };
  };
  return { forms, fetchFn };
}

async function startedSignIn(settings = SETTINGS) {
  const storage = tab();
  const url = new URL(await beginSignIn(settings, REDIRECT, storage));
  return { storage, url, state: url.searchParams.get("state") ?? "" };
}

describe("PKCE", () => {
  it("derives the S256 challenge of RFC 7636's example verifier", async () => {
    expect(await codeChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe(
      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    );
  });

  it("makes 43-character base64url verifiers, a new one each time", () => {
    const a = randomToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken()).not.toBe(a);
  });
});

describe("the authorization request", () => {
  it("asks for a code with the S256 challenge of the verifier this tab keeps", async () => {
    const { storage, url, state } = await startedSignIn();
    expect(`${url.origin}${url.pathname}`).toBe(SETTINGS.authorizationEndpoint);
    const q = Object.fromEntries(url.searchParams);
    const kept = JSON.parse([...storage.items.values()][0] ?? "{}");
    expect(q).toEqual({
      response_type: "code",
      client_id: "console",
      redirect_uri: REDIRECT,
      scope: "openid payments:admin",
      state: kept.state,
      code_challenge: await codeChallenge(kept.verifier),
      code_challenge_method: "S256",
    });
    expect(state).toHaveLength(43);
    expect(url.toString()).not.toContain(kept.verifier);
  });

  it("sends audience= only when the issuer needs it", async () => {
    const { url } = await startedSignIn({ ...SETTINGS, sendAudience: true });
    expect(url.searchParams.get("audience")).toBe("payment-service");
  });
});

describe("the way back", () => {
  const good = jwt({
    iss: SETTINGS.issuer,
    aud: "payment-service",
    sub: "sam",
    scope: "payments:admin payments:refund",
    exp: 2_000_000_000,
  });

  it("exchanges the code once, with the verifier, and answers who signed in", async () => {
    const { storage, state } = await startedSignIn();
    const verifier = JSON.parse([...storage.items.values()][0] ?? "{}").verifier;
    const { forms, fetchFn } = tokenEndpoint({ status: 200, body: { access_token: good } });
    const back = `${REDIRECT}?code=abc&state=${state}`;
    expect(isCallback(back)).toBe(true);
    expect(withoutCallback(back)).toBe(REDIRECT);
    const signedIn = await completeSignIn(SETTINGS, REDIRECT, back, storage, fetchFn);
    expect(signedIn).toEqual({
      accessToken: good,
      sub: "sam",
      scopes: new Set(["payments:admin", "payments:refund"]),
      expiresAt: 2_000_000_000,
    });
    expect(Object.fromEntries(forms[0] ?? [])).toEqual({
      grant_type: "authorization_code",
      code: "abc",
      redirect_uri: REDIRECT,
      client_id: "console",
      code_verifier: verifier,
    });
    expect(storage.items.size).toBe(0);
    // The same address again (a reload, a replay) finds nothing pending and is refused.
    await expect(completeSignIn(SETTINGS, REDIRECT, back, storage, fetchFn)).rejects.toThrow(
      /state mismatch/,
    );
    expect(forms).toHaveLength(1);
  });

  it("refuses a state this tab did not send, without calling the token endpoint", async () => {
    const { storage } = await startedSignIn();
    const { forms, fetchFn } = tokenEndpoint({ status: 200, body: { access_token: good } });
    await expect(
      completeSignIn(SETTINGS, REDIRECT, `${REDIRECT}?code=abc&state=forged`, storage, fetchFn),
    ).rejects.toThrow(/state mismatch/);
    expect(forms).toHaveLength(0);
  });

  it("shows the issuer's refusal, and a token endpoint's error", async () => {
    const first = await startedSignIn();
    const endpoint = tokenEndpoint({ status: 400, body: { error: "invalid_grant" } });
    await expect(
      completeSignIn(
        SETTINGS,
        REDIRECT,
        `${REDIRECT}?error=access_denied&state=${first.state}`,
        first.storage,
        endpoint.fetchFn,
      ),
    ).rejects.toThrow(/refused the sign-in: access_denied/);
    const second = await startedSignIn();
    await expect(
      completeSignIn(
        SETTINGS,
        REDIRECT,
        `${REDIRECT}?code=x&state=${second.state}`,
        second.storage,
        endpoint.fetchFn,
      ),
    ).rejects.toThrow(/did not give a token: invalid_grant/);
  });

  it("refuses a token of another issuer or audience; takes Cognito's client_id", async () => {
    for (const [claims, accepted] of [
      [{ iss: "https://elsewhere.test/", aud: "payment-service" }, false],
      [{ iss: SETTINGS.issuer, aud: "another-api" }, false],
      [{ iss: SETTINGS.issuer, client_id: "payment-service" }, true],
      [{ iss: SETTINGS.issuer, aud: ["x", "payment-service"] }, true],
    ] as const) {
      const { storage, state } = await startedSignIn();
      const { fetchFn } = tokenEndpoint({ status: 200, body: { access_token: jwt(claims) } });
      const result = completeSignIn(
        SETTINGS,
        REDIRECT,
        `${REDIRECT}?code=c&state=${state}`,
        storage,
        fetchFn,
      );
      if (accepted) await expect(result).resolves.toMatchObject({ sub: "" });
      else await expect(result).rejects.toThrow(/not for this API/);
    }
  });
});

describe("the console config", () => {
  it("reads local and OIDC configs, and refuses plain http off the loopback and scopes without openid", () => {
    expect(parseConsoleConfig({ mode: "local" })).toEqual({ mode: "local" });
    expect(parseConsoleConfig({ ...SETTINGS })).toEqual(SETTINGS);
    expect(
      parseConsoleConfig({ ...SETTINGS, tokenEndpoint: "http://127.0.0.1:4000/token" }),
    ).toMatchObject({ tokenEndpoint: "http://127.0.0.1:4000/token" });
    expect(() =>
      parseConsoleConfig({ ...SETTINGS, tokenEndpoint: "http://login.issuer.test/token" }),
    ).toThrow(/tokenEndpoint must be https/);
    expect(() => parseConsoleConfig({ ...SETTINGS, scopes: "payments:admin" })).toThrow(
      /must include openid/,
    );
    expect(() => parseConsoleConfig({ mode: "oidc" })).toThrow(/scopes is missing/);
    expect(() => parseConsoleConfig(null)).toThrow(/not an object/);
  });
});
