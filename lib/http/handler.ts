/**
 * The middy stack every HTTP Lambda shares: optional JSON body parsing and one error handler
 * that answers problem+json (lib/http/problem.ts). Handlers stay thin: parse, call one use case,
 * map the result.
 */
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import httpJsonBodyParser from "@middy/http-json-body-parser";
import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import { routes } from "../../infra/routes.js";
import { storageFault } from "../adapters/dynamo-faults.js";
import { type Caller, callerFromClaims } from "../auth.js";
import { type AuditContext, apiContext } from "../domain/audit.js";
import {
  IdempotencyKeyInvalidError,
  IdempotencyKeyMissingError,
  InsufficientScopeError,
  MalformedJsonError,
  StorageUnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "../domain/errors.js";
import { logger, publishMetrics, redact } from "../observability.js";
import { withDeadline } from "../runtime/deadline.js";
import { IDEMPOTENCY_KEY_PATTERN } from "../schemas.js";
import { tracingMiddleware } from "../tracing.js";
import { problemFromError } from "./problem.js";

export type HttpEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type HttpResult = APIGatewayProxyStructuredResultV2;

export interface HttpRequest {
  readonly event: HttpEvent;
  readonly caller: Caller;
  /** The parsed JSON body (`undefined` for routes without one). */
  readonly body: unknown;
  readonly context: Context;
}

export interface HttpHandlerOptions {
  /**
   * The handler's name in the route table (infra/routes.ts): the stack refuses a caller without
   * one of that route's scopes (403) before the handler runs. Scopes live only there.
   */
  readonly route: string;
  /** `required`: a JSON body must be sent; `optional`: an empty body reads as `{}`; `raw`: untouched. */
  readonly body?: "required" | "optional" | "none" | "raw";
  /** `jwt` (default): the caller comes from the JWT authorizer; `none`: no caller (the webhook). */
  readonly auth?: "jwt" | "none";
}

/** Stands for "no caller" on routes without a token; it holds no scope. */
const ANONYMOUS: Caller = { sub: "", scopes: new Set() };

/** Middy's own HTTP errors (bad JSON, wrong content type) carry a status code. */
function middyStatus(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null || !("statusCode" in error)) return undefined;
  return typeof error.statusCode === "number" ? error.statusCode : undefined;
}

/** The key middy's parser refused (`__proto__`, or a `constructor` holding a `prototype`). */
function forbiddenKey(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.message !== "Forbidden key in JSON body") return undefined;
  const cause: unknown = error.cause;
  if (typeof cause !== "object" || cause === null || !("data" in cause)) return "__proto__";
  return String(cause.data);
}

/** Middy's refusals and DynamoDB outages (503 storage_unavailable) as domain errors. */
function translateError(error: unknown): unknown {
  const storage = storageFault(error);
  if (storage !== undefined) return storage;
  const key = forbiddenKey(error);
  if (key !== undefined) {
    // Refused rather than dropped: JavaScript cannot hold it as an ordinary key.
    return new ValidationError([{ path: "/", message: `the key ${key} is not accepted` }]);
  }
  const status = middyStatus(error);
  if (status === 415)
    return new UnsupportedMediaTypeError("Send the body as application/json.", { cause: error });
  if (status !== undefined && status >= 400 && status < 500) {
    return new MalformedJsonError("The body is not valid JSON.", { cause: error });
  }
  return error;
}

/** Wraps a thin handler with the shared stack. */
export function httpHandler(
  fn: (request: HttpRequest) => Promise<HttpResult>,
  options: HttpHandlerOptions,
): middy.MiddyfiedHandler<HttpEvent, HttpResult> {
  const mode = options.body ?? "none";
  const route = routes.find((r) => r.handler === options.route);
  if (route === undefined)
    throw new Error(`httpHandler: ${options.route} is not in the route table`);
  const scopes = route.scopes;
  // The error handler comes first so that its onError runs last: middy runs onError in
  // reverse order and stops at the first that sets a response, and metrics must flush before.
  const stack = middy<HttpEvent, HttpResult>().use({
    onError: async (request) => {
      const translated = translateError(request.error);
      const { response, unexpected } = problemFromError(translated);
      if (translated instanceof StorageUnavailableError) {
        const cause = translated.cause instanceof Error ? translated.cause : request.error;
        logger.warn("storage unavailable", {
          route: request.event.routeKey,
          error: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause),
        });
      }
      if (unexpected) {
        logger.error("unexpected error", {
          route: request.event.routeKey,
          error: redact(
            request.error instanceof Error
              ? {
                  name: request.error.name,
                  message: request.error.message,
                  stack: request.error.stack,
                }
              : String(request.error),
          ),
        });
      }
      request.response = response;
    },
  });
  stack.use({ after: publishMetrics, onError: publishMetrics });
  // Every log line of the request carries its Lambda request id and, as `correlation_id`, API
  // Gateway's request id (the one in the access log). Set directly: a `correlationIdPath` would
  // need Powertools' JMESPath search function at cold start, for one property read.
  stack.use(injectLambdaContext(logger, { resetKeys: true }));
  stack.use({
    before: async (request) => {
      const requestId = request.event.requestContext?.requestId;
      if (requestId !== undefined) logger.setCorrelationId(requestId);
    },
  });
  // With tracing on (lib/tracing.ts): the handler's subsegment, without the response.
  const tracing = tracingMiddleware(
    (error) => problemFromError(translateError(error)).response.statusCode,
  );
  if (tracing !== undefined) stack.use(tracing);
  if (mode === "optional") {
    stack.use({
      before: async (request) => {
        const raw = request.event.body;
        if (raw === undefined || raw === "") {
          request.event.body = "{}";
          request.event.headers = { ...request.event.headers, "content-type": "application/json" };
        }
      },
    });
  }
  if (mode === "required" || mode === "optional") stack.use(httpJsonBodyParser<HttpEvent>());
  return stack.handler(async (event, context) => {
    const caller =
      options.auth === "none"
        ? ANONYMOUS
        : callerFromClaims(event.requestContext.authorizer?.jwt?.claims);
    if (scopes.length > 0 && !scopes.some((s) => caller.scopes.has(s))) {
      throw new InsufficientScopeError(`This needs the scope ${scopes.join(" or ")}.`);
    }
    const body: unknown = mode === "none" ? undefined : event.body;
    // DynamoDB calls inside see the invocation's deadline (lib/adapters/dynamo-client.ts).
    return await withDeadline(context, () => fn({ event, caller, body, context }));
  });
}

/** The Idempotency-Key header (HTTP API lower-cases header names), checked. */
export function idempotencyKey(event: HttpEvent): string {
  const key = event.headers["idempotency-key"];
  if (key === undefined || key.length === 0)
    throw new IdempotencyKeyMissingError("An Idempotency-Key header is required.");
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new IdempotencyKeyInvalidError(
      "The Idempotency-Key must be 1 to 255 printable ASCII characters.",
    );
  }
  return key;
}

/** An Idempotency-Key the route does not need but records when sent (checked all the same). */
export function optionalIdempotencyKey(event: HttpEvent): string | undefined {
  return event.headers["idempotency-key"] === undefined ? undefined : idempotencyKey(event);
}

/** The audit context of an API call: the caller, API Gateway's request id, the key if any. */
export function apiCallContext(request: HttpRequest, key?: string): AuditContext {
  return apiContext({
    caller: request.caller.sub,
    key,
    requestId: request.event.requestContext.requestId,
  });
}

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult {
  return {
    statusCode,
    // Payment data is never for a cache (the console's CloudFront keys on the token, and
    // forwards it, but must still not keep an answer).
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
    body: JSON.stringify(body),
  };
}
