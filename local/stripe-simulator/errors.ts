import type Stripe from "stripe";

export type StripeErrorType =
  | "api_error"
  | "card_error"
  | "idempotency_error"
  | "invalid_request_error";

/** The `error` member of a Stripe error response. */
export interface StripeErrorBody {
  type: StripeErrorType;
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  doc_url?: string;
  charge?: string;
  payment_intent?: Stripe.PaymentIntent;
  request_log_url?: string;
}

/**
 * An error answered to the client. `stored` says whether an idempotent request that
 * failed this way keeps its result (true once the request started executing, as at
 * Stripe; parameter validation failures are not stored).
 */
export class SimulatorError extends Error {
  readonly status: number;
  readonly body: StripeErrorBody;
  readonly stored: boolean;

  constructor(status: number, body: StripeErrorBody, stored: boolean) {
    super(body.message);
    this.name = "SimulatorError";
    this.status = status;
    this.body = body;
    this.stored = stored;
  }
}

function docUrl(code: string): string {
  return `https://stripe.com/docs/error-codes/${code.replaceAll("_", "-")}`;
}

/** 400 for bad parameters: not stored for idempotency. */
export function invalidParam(message: string, param?: string, code?: string): SimulatorError {
  return new SimulatorError(
    400,
    {
      type: "invalid_request_error",
      message,
      ...(code === undefined ? {} : { code, doc_url: docUrl(code) }),
      ...(param === undefined ? {} : { param }),
    },
    false,
  );
}

/** 400 raised while executing (state errors, amount checks): stored for idempotency. */
export function invalidRequest(
  message: string,
  code: string,
  extra: Partial<StripeErrorBody> = {},
): SimulatorError {
  return new SimulatorError(
    400,
    { type: "invalid_request_error", message, code, doc_url: docUrl(code), ...extra },
    true,
  );
}

export function resourceMissing(
  kind: string,
  id: string,
  options: { param?: string; status?: number } = {},
): SimulatorError {
  return new SimulatorError(
    options.status ?? 404,
    {
      type: "invalid_request_error",
      code: "resource_missing",
      doc_url: docUrl("resource_missing"),
      message: `No such ${kind}: '${id}'`,
      ...(options.param === undefined ? {} : { param: options.param }),
    },
    false,
  );
}

export function cardError(
  body: Omit<StripeErrorBody, "type" | "doc_url"> & { code: string },
): SimulatorError {
  return new SimulatorError(402, { type: "card_error", doc_url: docUrl(body.code), ...body }, true);
}
