/**
 * The one place where errors become HTTP answers: RFC 9457 problem+json with a stable `code`.
 * Anything that is not a known error is a generic 500 that leaks nothing.
 */
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { DomainError, type ErrorCode, ValidationError } from "../domain/errors.js";

interface ProblemSpec {
  readonly status: number;
  readonly title: string;
  readonly retryAfterSeconds?: number;
}

/** Codes answered by the gateway and the error handler themselves, not by a domain error. */
export type ProblemCode =
  | ErrorCode
  | "route_not_found"
  | "bad_request"
  | "payload_too_large"
  | "headers_too_large"
  | "internal_error";

/** Status and title of every problem code the API answers with (each domain code must be here). */
export const PROBLEMS: Readonly<Record<ProblemCode, ProblemSpec>> = {
  validation_failed: { status: 400, title: "The request is not valid" },
  malformed_json: { status: 400, title: "The body is not valid JSON" },
  unsupported_media_type: { status: 415, title: "The body must be application/json" },
  idempotency_key_missing: { status: 400, title: "An Idempotency-Key header is required" },
  idempotency_key_invalid: { status: 400, title: "The Idempotency-Key header is not valid" },
  idempotency_key_reused: {
    status: 422,
    title: "The Idempotency-Key was used with a different request",
  },
  idempotency_request_in_progress: {
    status: 409,
    title: "A request with this Idempotency-Key is in progress",
    retryAfterSeconds: 1,
  },
  unauthorized: { status: 401, title: "Authentication required" },
  insufficient_scope: { status: 403, title: "The token lacks the scope this needs" },
  payment_not_found: { status: 404, title: "Payment not found" },
  order_already_has_payment: { status: 409, title: "The order already has a payment" },
  payment_not_refundable: { status: 409, title: "The payment cannot be refunded" },
  payment_disputed: { status: 409, title: "The payment is disputed" },
  refund_exceeds_remaining: { status: 422, title: "The refund is larger than what remains" },
  concurrent_update: {
    status: 409,
    title: "The payment is being changed concurrently",
    retryAfterSeconds: 1,
  },
  provider_unavailable: {
    status: 503,
    title: "The payment provider is unavailable",
    retryAfterSeconds: 5,
  },
  provider_rejected: { status: 422, title: "The payment provider rejected the request" },
  try_again_later: { status: 503, title: "Busy; try again later", retryAfterSeconds: 2 },
  invalid_signature: { status: 400, title: "The Stripe-Signature is missing, invalid or stale" },
  payment_not_capturable: { status: 409, title: "The payment cannot be captured" },
  payment_not_cancelable: { status: 409, title: "The payment cannot be canceled" },
  capture_exceeds_authorized: {
    status: 422,
    title: "The capture is larger than what is authorized",
  },
  payment_not_recorded_yet: {
    status: 503,
    title: "The payment of this event is not recorded yet",
    retryAfterSeconds: 5,
  },
  storage_unavailable: {
    status: 503,
    title: "The payment store is unavailable",
    retryAfterSeconds: 2,
  },
  invalid_event: { status: 400, title: "The event's body or object is not readable" },
  dead_letter_not_found: { status: 404, title: "Dead letter not found" },
  dead_letter_not_open: { status: 409, title: "The dead letter is already redriven or discarded" },
  route_not_found: { status: 404, title: "No such route" },
  bad_request: { status: 400, title: "The request is not valid HTTP" },
  payload_too_large: { status: 413, title: "The body is too large" },
  headers_too_large: { status: 431, title: "The request headers are too large" },
  internal_error: { status: 500, title: "Internal error" },
};

export const PROBLEM_TYPE_BASE = "urn:payment-service:problem:";

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

/** Builds a problem+json answer for `code`. */
export function problem(
  code: ProblemCode,
  detail: string,
  extensions: Record<string, unknown> = {},
): APIGatewayProxyStructuredResultV2 {
  const spec = PROBLEMS[code];
  const body: ProblemBody = {
    type: `${PROBLEM_TYPE_BASE}${code}`,
    title: spec.title,
    status: spec.status,
    detail,
    code,
    ...extensions,
  };
  return {
    statusCode: spec.status,
    headers: {
      "content-type": "application/problem+json",
      "cache-control": "no-store",
      ...(spec.retryAfterSeconds === undefined
        ? {}
        : { "retry-after": String(spec.retryAfterSeconds) }),
      ...(code === "unauthorized" ? { "www-authenticate": "Bearer" } : {}),
    },
    body: JSON.stringify(body),
  };
}

/** Maps any thrown value to an answer; the second value says whether it was unexpected. */
export function problemFromError(error: unknown): {
  response: APIGatewayProxyStructuredResultV2;
  unexpected: boolean;
} {
  if (error instanceof ValidationError) {
    return {
      response: problem(error.code, error.message, { errors: error.errors }),
      unexpected: false,
    };
  }
  if (error instanceof DomainError) {
    return { response: problem(error.code, error.message, error.extensions), unexpected: false };
  }
  return {
    response: problem("internal_error", "Something went wrong on our side."),
    unexpected: true,
  };
}
