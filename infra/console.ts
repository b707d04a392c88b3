/**
 * The support console of a stage: a CloudFront Router that serves the console's static site at
 * /console/ and the HTTP API at /api/, so the page talks to its own origin (no CORS, the same
 * page policy as locally: connect-src 'self' and the issuer's token endpoint).
 *
 * - The site is built at deploy by `npm run build:console` with the stage's OIDC settings (the
 *   JWT authorizer's issuer and first audience, the console's client), and signs in with the
 *   authorization code flow and PKCE; the token stays in the page's memory.
 * - CloudFront forwards a viewer's Authorization header only when it is part of the cache key,
 *   so the Router's cache policy keys on it. The API answers `cache-control: no-store`, so no
 *   answer of it is ever cached at the edge; the site's files are revalidated on every load
 *   (`no-cache`: they are not content-hashed, and a deploy must reach support staff at once).
 * - The Stripe webhook and service callers keep using the API's own URL.
 */
import { CONSOLE_BUILD_DIR, type StageSettings } from "./functions.js";

export function createConsole(settings: StageSettings, api: sst.aws.ApiGatewayV2) {
  const client = settings.console;
  if (client === undefined) return undefined;

  // The audience the console checks its token against: Cognito's access tokens name the client
  // (client_id) instead of an audience, so when the console's client is one of the authorizer's
  // audiences, that is the one its tokens carry; otherwise the API's first audience.
  const audiences = settings.jwt.audiences;
  const audience = audiences.includes(client.clientId) ? client.clientId : (audiences[0] ?? "");

  const router = new sst.aws.Router("Console", {
    transform: {
      cachePolicy: (args) => {
        args.comment = "payment-service console: Authorization in the key, so it is forwarded";
        args.defaultTtl = 0;
        args.minTtl = 0;
        args.parametersInCacheKeyAndForwardedToOrigin = {
          cookiesConfig: { cookieBehavior: "none" },
          headersConfig: {
            headerBehavior: "whitelist",
            headers: { items: ["Authorization"] },
          },
          queryStringsConfig: { queryStringBehavior: "all" },
          enableAcceptEncodingBrotli: true,
          enableAcceptEncodingGzip: true,
        };
      },
    },
  });
  router.route("/api", api.url);

  const site = new sst.aws.StaticSite("ConsoleSite", {
    router: { instance: router, path: "/console" },
    build: {
      command: `npm run build:console -- --out ${CONSOLE_BUILD_DIR}`,
      output: CONSOLE_BUILD_DIR,
    },
    environment: {
      CONSOLE_OIDC_ISSUER: settings.jwt.issuer,
      CONSOLE_OIDC_AUDIENCE: audience,
      CONSOLE_OIDC_CLIENT_ID: client.clientId,
      CONSOLE_OIDC_SCOPES: client.scopes,
      CONSOLE_OIDC_AUTHORIZATION_ENDPOINT: client.authorizationEndpoint,
      CONSOLE_OIDC_TOKEN_ENDPOINT: client.tokenEndpoint,
      CONSOLE_OIDC_SEND_AUDIENCE: client.sendAudience ? "true" : "false",
    },
    assets: { fileOptions: [{ files: "**", cacheControl: "no-cache" }] },
    // `sst dev` deploys it too (npm start serves the local console with its local sign-in).
    dev: false,
  });

  return { router, site, url: $interpolate`${router.url}/console/` };
}
