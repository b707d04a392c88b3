/**
 * The domain's error tree. Each carries a stable machine-readable `code`; lib/http/problem.ts is
 * the one place that turns them into HTTP answers. Nothing here knows about HTTP status codes.
 */

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/**
 * Every code a domain error can carry. lib/http/problem.ts maps each one to an answer; the
 * compiler holds the two together, so a new code can never fall through to a 500.
 */
export type ErrorCode =
  | "validation_failed"
  | "malformed_json"
  | "unsupported_media_type"
  | "idempotency_key_missing"
  | "idempotency_key_invalid"
  | "idempotency_key_reused"
  | "idempotency_request_in_progress"
  | "insufficient_scope"
  | "unauthorized"
  | "payment_not_found"
  | "order_already_has_payment"
  | "payment_not_refundable"
  | "payment_disputed"
  | "refund_exceeds_remaining"
  | "concurrent_update"
  | "provider_unavailable"
  | "provider_rejected"
  | "invalid_signature"
  | "payment_not_capturable"
  | "payment_not_cancelable"
  | "capture_exceeds_authorized"
  | "try_again_later"
  | "payment_not_recorded_yet"
  | "storage_unavailable"
  | "invalid_event"
  | "dead_letter_not_found"
  | "dead_letter_not_open";

export abstract class DomainError extends Error {
  abstract readonly code: ErrorCode;
  /** Extra members of the problem document (for example `paymentId`). */
  readonly extensions: Readonly<Record<string, string | number>>;

  constructor(
    message: string,
    options?: { cause?: unknown; extensions?: Record<string, string | number> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.extensions = options?.extensions ?? {};
  }
}

/** The request does not match its schema; nothing was written. */
export class ValidationError extends DomainError {
  readonly code = "validation_failed";
  constructor(readonly errors: readonly FieldError[]) {
    super("The request is not valid.");
  }
}

export class MalformedJsonError extends DomainError {
  readonly code = "malformed_json";
}

export class UnsupportedMediaTypeError extends DomainError {
  readonly code = "unsupported_media_type";
}

export class IdempotencyKeyMissingError extends DomainError {
  readonly code = "idempotency_key_missing";
}

export class IdempotencyKeyInvalidError extends DomainError {
  readonly code = "idempotency_key_invalid";
}

/** The same caller sent the same key with a different request. */
export class IdempotencyKeyReusedError extends DomainError {
  readonly code = "idempotency_key_reused";
}

/** The first request with this key is still running. */
export class IdempotencyInProgressError extends DomainError {
  readonly code = "idempotency_request_in_progress";
}

export class InsufficientScopeError extends DomainError {
  readonly code = "insufficient_scope";
}

export class UnauthenticatedError extends DomainError {
  readonly code = "unauthorized";
}

export class PaymentNotFoundError extends DomainError {
  readonly code = "payment_not_found";
}

/** (webhook) A verified event whose body or object lacks what it must hold; nothing is written. */
export class InvalidEventError extends DomainError {
  readonly code = "invalid_event";
}

export class DeadLetterNotFoundError extends DomainError {
  readonly code = "dead_letter_not_found";
}

/** A dead letter already redriven or discarded: it is closed for good. */
export class DeadLetterNotOpenError extends DomainError {
  readonly code = "dead_letter_not_open";
}

export class OrderAlreadyHasPaymentError extends DomainError {
  readonly code = "order_already_has_payment";
  constructor(readonly paymentId: string) {
    super("This order already has a payment.", { extensions: { paymentId } });
  }

  /**
   * The same refusal for a caller who may not read that payment (another customer's order): it
   * names no payment, so an order id never leads to someone else's payment.
   */
  withoutPaymentId(): DomainError {
    return new OrderTakenError("This order already has a payment.");
  }
}

/** `order_already_has_payment` without the payment's id (see withoutPaymentId). */
export class OrderTakenError extends DomainError {
  readonly code = "order_already_has_payment";
}

export class PaymentNotRefundableError extends DomainError {
  readonly code = "payment_not_refundable";
}

/** The payment's charge is disputed and the dispute is open: its money is held by the dispute. */
export class PaymentDisputedError extends DomainError {
  readonly code = "payment_disputed";
}

export class RefundExceedsRemainingError extends DomainError {
  readonly code = "refund_exceeds_remaining";
  constructor(readonly remaining: number) {
    super(`The refund is larger than what remains to refund (${remaining}).`, {
      extensions: { remaining },
    });
  }
}

/** Too many concurrent writers on one payment; the caller may retry. */
export class ConcurrentUpdateError extends DomainError {
  readonly code = "concurrent_update";
}

/** Stripe could not be reached, failed, or rate-limited us; the caller may retry later. */
export class ProviderUnavailableError extends DomainError {
  readonly code = "provider_unavailable";
  constructor(
    message: string,
    /** False only when Stripe certainly did not act on the request (a 429). */
    readonly mayHaveExecuted: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Stripe refused the request for a reason the caller cannot fix by retrying. */
export class ProviderRejectedError extends DomainError {
  readonly code = "provider_rejected";
  constructor(
    message: string,
    readonly providerCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A webhook whose Stripe-Signature is missing, wrong or older than the tolerance. */
export class InvalidSignatureError extends DomainError {
  readonly code = "invalid_signature";
}

export class PaymentNotCapturableError extends DomainError {
  readonly code = "payment_not_capturable";
}

export class PaymentNotCancelableError extends DomainError {
  readonly code = "payment_not_cancelable";
}

export class CaptureExceedsAuthorizedError extends DomainError {
  readonly code = "capture_exceeds_authorized";
  constructor(readonly authorized: number) {
    super(`The capture is larger than the authorized amount (${authorized}).`, {
      extensions: { authorized },
    });
  }
}

/** Too busy to apply this now, and safe to send again (a webhook Stripe will redeliver). */
export class TryAgainLaterError extends DomainError {
  readonly code = "try_again_later";
}

/**
 * Our own database throttled, failed, timed out or dropped the connection. What was asked did
 * not happen, or happened whole (a transaction): the same request may be sent again later.
 */
export class StorageUnavailableError extends DomainError {
  readonly code = "storage_unavailable";
}
