/**
 * The deployed console's sign-in in a real browser (Debian's chromium, headless): the console
 * built for a stage by the deploy's own build (scripts/console-site.ts, with its page policy),
 * served beside the API as the stage's Router serves it, signing in at an OpenID Connect issuer
 * on another origin with the authorization code flow and PKCE (tests/support/oidc-provider.ts,
 * which refuses a wrong verifier, a reused code or another redirect URI). The token it gets is
 * one the API's JWT authorizer (here the local gateway's) accepts.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from "../../local/auth.js";
import { buildConsoleSite } from "../../scripts/console-site.js";
import { type OidcProvider, startOidcProvider } from "../support/oidc-provider.js";
import { type Stack, startStack, uniqueId } from "../support/stack.js";
import { scaled } from "../support/time.js";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const CLIENT_ID = "support-console";

let stack: Stack;
let provider: OidcProvider;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; npm install does it as root) or set CHROMIUM`,
    );
  }
  const site = mkdtempSync(join(tmpdir(), "console-site-"));
  stack = await startStack({ consoleDir: site });
  provider = await startOidcProvider({
    clientId: CLIENT_ID,
    redirectUri: `${stack.url}/console/`,
    consoleOrigin: new URL(stack.url).origin,
    issue: (sub, scope) => stack.token(sub, scope),
  });
  await buildConsoleSite(site, {
    mode: "oidc",
    issuer: LOCAL_ISSUER,
    audience: LOCAL_AUDIENCE,
    clientId: CLIENT_ID,
    scopes: "openid payments:admin payments:refund",
    authorizationEndpoint: provider.authorizationEndpoint,
    tokenEndpoint: provider.tokenEndpoint,
    sendAudience: false,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});
afterAll(async () => {
  await browser?.close();
  await provider?.close();
  await stack?.close();
});

interface Visit {
  readonly page: Page;
  /** Every address the page's frame went to, and every request it made. */
  readonly addresses: string[];
}

async function visit(): Promise<Visit> {
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(scaled(10_000));
  const addresses: string[] = [];
  page.on("framenavigated", (frame) => addresses.push(frame.url()));
  page.on("request", (request) => addresses.push(request.url()));
  await page.goto(`${stack.url}/console/`);
  return { page, addresses };
}

async function signIn(page: Page, user: string, scopes: string): Promise<void> {
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByLabel("User").fill(user);
  await page.getByLabel("Granted scopes").fill(scopes);
  await page.getByRole("button", { name: "Approve" }).click();
  await page.getByLabel("Search payments").waitFor();
}

const storageOf = (page: Page) =>
  page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }));

describe("the deployed console's sign-in", () => {
  it("signs in at the issuer with a code and PKCE, keeps the token out of every URL and all storage, and uses it", async () => {
    const alice = await stack.token("alice", "payments:write payments:read");
    const orderId = uniqueId("order");
    const created = await stack.call("POST", "/api/payments/intents", {
      token: alice,
      body: { orderId, amount: 2_500, currency: "usd" },
      headers: { "idempotency-key": uniqueId("key") },
    });
    expect(created.status).toBe(201);

    const { page, addresses } = await visit();
    const before = provider.exchanges.length;
    await signIn(page, "olga-oidc", "payments:admin");

    // Back on the console's own address, the code already taken out of it.
    expect(page.url()).toBe(`${stack.url}/console/`);
    expect(await page.getByRole("navigation").textContent()).toContain("signed in as olga-oidc");
    expect(provider.exchanges.slice(before)).toEqual([{ status: 200 }]);
    const token = provider.issued.at(-1) ?? "";
    expect(token.split(".")).toHaveLength(3);
    expect(addresses.some((a) => a.includes("code="))).toBe(true);
    expect(addresses.filter((a) => a.includes(token))).toEqual([]);
    expect(await storageOf(page)).toBe("{}");

    // The token works against the API: find the payment by its order id.
    await page.getByLabel("Search payments").fill(orderId);
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByRole("heading", { name: `Payment ${String(created.body.id)}` }).waitFor();
    // Granted payments:admin only: no refund action.
    expect(await page.getByRole("button", { name: "Refund" }).count()).toBe(0);

    // The token lived in the page's memory only: a reload asks for a sign-in again.
    await page.reload();
    await page.getByRole("button", { name: "Sign in" }).waitFor();
    expect(await page.getByLabel("Search payments").count()).toBe(0);
  });

  it("refuses a replayed redirect: the code is never exchanged twice", async () => {
    const first = await visit();
    await signIn(first.page, "rita-oidc", "payments:admin");
    const callback = first.addresses.find((a) => a.includes("code="));
    if (callback === undefined) throw new Error("no redirect with a code was seen");
    const exchanges = provider.exchanges.length;

    // Another tab (no sign-in of its own pending) opens the same redirect.
    const replay = await (await browser.newContext()).newPage();
    replay.setDefaultTimeout(scaled(10_000));
    await replay.goto(callback);
    await replay.getByRole("alert").filter({ hasText: "state mismatch" }).waitFor();
    expect(replay.url()).toBe(`${stack.url}/console/`);
    expect(provider.exchanges.length).toBe(exchanges);
    expect(await replay.getByLabel("Search payments").count()).toBe(0);
  });
});
