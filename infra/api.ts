/**
 * The HTTP API: exactly the routes of infra/routes.ts, one Lambda each. `auth: "jwt"` routes sit
 * behind the JWT authorizer (API Gateway answers a missing or bad token with 401); the shared
 * handler stack checks the route table's scopes (a problem+json 403), so the authorizer is given
 * none. The Stripe webhook has no authorizer:
 * its handler verifies Stripe's signature. Access logs: the stage's retention, the format of
 * infra/logging.ts (what an operator needs to find a request, no more).
 */
import {
  baseEnvironment,
  functionDefaults,
  handlerPath,
  logicalName,
  type StageSettings,
} from "./functions.js";
import { withAccessLogFormat } from "./logging.js";
import { type RouteDefinition, routes } from "./routes.js";
import type { Secrets } from "./secrets.js";
import type { Storage } from "./storage.js";

/** Environment every function needs: the table names (a link alone does not set env vars). */
export function tableEnvironment(
  settings: StageSettings,
  storage: Storage,
): Record<string, $util.Input<string>> {
  return {
    ...baseEnvironment(settings),
    PAYMENTS_TABLE: storage.payments.name,
    IDEMPOTENCY_TABLE: storage.idempotency.name,
  };
}

/** The handler function of one route. */
function routeHandler(
  route: RouteDefinition,
  settings: StageSettings,
  storage: Storage,
  secrets: Secrets,
): sst.aws.FunctionArgs {
  const webhook = route.auth === "none";
  return {
    ...functionDefaults(settings),
    handler: handlerPath(route.handler),
    memory: `${route.memoryMb} MB`,
    timeout: `${route.timeoutSeconds} seconds`,
    // Every handler builds the Stripe client at cold start; only the webhook checks signatures.
    link: webhook
      ? [secrets.stripeSecretKey, secrets.stripeWebhookSecret]
      : [secrets.stripeSecretKey],
    environment: tableEnvironment(settings, storage),
  };
}

export function createApi(settings: StageSettings, storage: Storage, secrets: Secrets) {
  const api = new sst.aws.ApiGatewayV2("Api", {
    accessLog: { retention: settings.logRetention },
    link: [storage.payments, storage.idempotency],
    transform: {
      // A function, not an object: SST merges an object transform shallowly, which would replace
      // its whole accessLogSettings (the log group it sends to) to change the format. SST's
      // `accessLog` takes a retention only; the format is infra/logging.ts ACCESS_LOG_FORMAT.
      stage: (args) => {
        args.defaultRouteSettings = {
          throttlingRateLimit: settings.throttling.rateLimit,
          throttlingBurstLimit: settings.throttling.burstLimit,
        };
        args.accessLogSettings = withAccessLogFormat(args.accessLogSettings);
      },
    },
  });

  const authorizer = api.addAuthorizer({
    name: "Jwt",
    jwt: { issuer: settings.jwt.issuer, audiences: [...settings.jwt.audiences] },
  });

  for (const route of routes) {
    api.route(route.routeKey, routeHandler(route, settings, storage, secrets), {
      name: logicalName(route.handler),
      auth: route.auth === "jwt" ? { jwt: { authorizer: authorizer.id } } : false,
    });
  }
  return api;
}
