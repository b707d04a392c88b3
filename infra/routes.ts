/**
 * The HTTP route table, as data: the SST app declares exactly these routes (infra/api.ts) and
 * the local gateway (local/gateway.ts) serves exactly these, with the same handler modules.
 *
 * `auth: "jwt"` routes sit behind the API Gateway JWT authorizer (a missing or bad token is a
 * 401 before any handler runs). The scopes are declared here only and enforced by the shared
 * handler stack (lib/http/handler.ts, which each handler names its route to), answering a
 * missing scope as problem+json 403; the gateway only authenticates.
 */
export interface RouteDefinition {
  /** API Gateway route key, `METHOD /path/{param}`. */
  readonly routeKey: string;
  /** Handler module under `functions/`, without extension; it exports `handler`. */
  readonly handler: string;
  readonly auth: "jwt" | "none";
  /** The scopes of which a caller needs one (checked by the shared handler stack). */
  readonly scopes: readonly string[];
  /** Lambda sizing, per function. */
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
}

export const routes: readonly RouteDefinition[] = [
  {
    routeKey: "POST /api/payments/intents",
    handler: "create-intent",
    auth: "jwt",
    scopes: ["payments:write"],
    memoryMb: 512,
    timeoutSeconds: 20,
  },
  {
    routeKey: "GET /api/payments/{id}",
    handler: "get-payment",
    auth: "jwt",
    scopes: ["payments:read", "payments:admin"],
    memoryMb: 512,
    timeoutSeconds: 10,
  },
  {
    routeKey: "GET /api/payments",
    handler: "list-payments",
    auth: "jwt",
    scopes: ["payments:read", "payments:admin"],
    memoryMb: 512,
    timeoutSeconds: 10,
  },
  {
    routeKey: "POST /api/payments/{id}/capture",
    handler: "capture-payment",
    auth: "jwt",
    scopes: ["payments:refund"],
    memoryMb: 512,
    timeoutSeconds: 20,
  },
  {
    routeKey: "POST /api/payments/{id}/cancel",
    handler: "cancel-payment",
    auth: "jwt",
    scopes: ["payments:refund"],
    memoryMb: 512,
    timeoutSeconds: 20,
  },
  {
    routeKey: "POST /api/webhooks/stripe",
    handler: "stripe-webhook",
    auth: "none",
    scopes: [],
    memoryMb: 512,
    timeoutSeconds: 20,
  },
  {
    routeKey: "POST /api/payments/{id}/refund",
    handler: "refund-payment",
    auth: "jwt",
    scopes: ["payments:refund"],
    memoryMb: 512,
    timeoutSeconds: 20,
  },
  {
    routeKey: "POST /api/payments/{id}/reconcile",
    handler: "reconcile-payment",
    auth: "jwt",
    scopes: ["payments:refund"],
    memoryMb: 512,
    timeoutSeconds: 20,
  },
  {
    routeKey: "GET /api/payments/{id}/audit",
    handler: "get-payment-audit",
    auth: "jwt",
    scopes: ["payments:admin"],
    memoryMb: 512,
    timeoutSeconds: 10,
  },
  {
    routeKey: "GET /api/dead-letters",
    handler: "list-dead-letters",
    auth: "jwt",
    scopes: ["payments:admin"],
    memoryMb: 512,
    timeoutSeconds: 10,
  },
  {
    routeKey: "POST /api/dead-letters/{id}/redrive",
    handler: "redrive-dead-letter",
    auth: "jwt",
    scopes: ["payments:refund"],
    memoryMb: 512,
    timeoutSeconds: 30,
  },
  {
    routeKey: "POST /api/dead-letters/{id}/discard",
    handler: "discard-dead-letter",
    auth: "jwt",
    scopes: ["payments:refund"],
    memoryMb: 512,
    timeoutSeconds: 10,
  },
];
