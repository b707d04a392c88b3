/**
 * npm run build:console -- --out <dir>: writes the deployed support console for one stage.
 * SST's StaticSite runs it at deploy (infra/console.ts) with the stage's settings in the
 * environment:
 *
 *   CONSOLE_OIDC_ISSUER                  the issuer of the API's JWT authorizer
 *   CONSOLE_OIDC_AUDIENCE                the API's audience
 *   CONSOLE_OIDC_CLIENT_ID               the console's public client at the issuer
 *   CONSOLE_OIDC_SCOPES                  what to ask for (must include openid)
 *   CONSOLE_OIDC_AUTHORIZATION_ENDPOINT  the issuer's authorization endpoint (https)
 *   CONSOLE_OIDC_TOKEN_ENDPOINT          the issuer's token endpoint (https)
 *   CONSOLE_OIDC_SEND_AUDIENCE           "true" to send audience= (Auth0)
 *
 * A missing or bad value stops the build with its name.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { parseConsoleConfig, SignInError } from "../console/oidc.js";
import { buildConsoleSite } from "./console-site.js";

const { values } = parseArgs({ options: { out: { type: "string", default: "dist/console" } } });
const env = process.env;
const REQUIRED = [
  "CONSOLE_OIDC_ISSUER",
  "CONSOLE_OIDC_AUDIENCE",
  "CONSOLE_OIDC_CLIENT_ID",
  "CONSOLE_OIDC_SCOPES",
  "CONSOLE_OIDC_AUTHORIZATION_ENDPOINT",
  "CONSOLE_OIDC_TOKEN_ENDPOINT",
];
try {
  const missing = REQUIRED.filter((name) => !env[name]);
  if (missing.length > 0) throw new SignInError(`missing ${missing.join(", ")}`);
  const settings = parseConsoleConfig({
    mode: "oidc",
    issuer: env.CONSOLE_OIDC_ISSUER,
    audience: env.CONSOLE_OIDC_AUDIENCE,
    clientId: env.CONSOLE_OIDC_CLIENT_ID,
    scopes: env.CONSOLE_OIDC_SCOPES,
    authorizationEndpoint: env.CONSOLE_OIDC_AUTHORIZATION_ENDPOINT,
    tokenEndpoint: env.CONSOLE_OIDC_TOKEN_ENDPOINT,
    sendAudience: env.CONSOLE_OIDC_SEND_AUDIENCE === "true",
  });
  if (settings.mode !== "oidc") throw new SignInError("the deployed console signs in with OIDC");
  const out = resolve(values.out ?? "dist/console");
  const files = await buildConsoleSite(out, settings);
  console.log(
    `console for ${settings.issuer} (client ${settings.clientId}): ${files.join(", ")} in ${out}`,
  );
} catch (error) {
  if (!(error instanceof SignInError)) throw error;
  console.error(`build:console: ${error.message} (set the CONSOLE_OIDC_* settings)`);
  process.exitCode = 1;
}
