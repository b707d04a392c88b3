/**
 * PaymentProvider on Stripe. Every write carries our own idempotency key (stripe-node's automatic
 * key lives for one SDK call only), so a retry after a crash reaches the same PaymentIntent or
 * Refund. Stripe's errors become domain errors here, in one place:
 *
 *   connection error, 5xx, 429  -> ProviderUnavailableError (retry later; 503 to callers)
 *   idempotency error           -> IdempotencyKeyReusedError (same key, other parameters)
 *   anything else Stripe refuses -> ProviderRejectedError with Stripe's code
 */
import Stripe from "stripe";
import {
  IdempotencyKeyReusedError,
  ProviderRejectedError,
  ProviderUnavailableError,
} from "../domain/errors.js";
import type { IntentFact, RefundFact } from "../domain/lifecycle.js";
import { isRefundStatus } from "../domain/refunds.js";
import { count, METRICS, milliseconds } from "../observability.js";
import type {
  CreatedPaymentIntent,
  IntentSnapshot,
  PaymentProvider,
  ProviderRefund,
} from "../ports.js";
import { timeLeftMs } from "../runtime/deadline.js";
import {
  intentFact,
  refundFact,
  STRIPE_API_VERSION,
  UnreadableStripeObjectError,
} from "./stripe-facts.js";

/** Stripe's clock is in seconds; facts fetched now carry the current second. */
const nowSeconds = () => Math.floor(Date.now() / 1000);

export interface StripeClientOptions {
  secretKey: string;
  /** Another base URL than api.stripe.com (the local simulator). */
  apiBase?: string | undefined;
  /** Network retries per call, each with the same idempotency key. */
  maxNetworkRetries?: number;
  timeoutMs?: number;
}

/** Builds the Stripe SDK client; call once per container. */
export function createStripeClient(options: StripeClientOptions): Stripe {
  const base = options.apiBase === undefined ? undefined : new URL(options.apiBase);
  const stripe = new Stripe(options.secretKey, {
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: options.timeoutMs ?? 8000,
    appInfo: { name: "payment-service" },
    ...(base === undefined
      ? {}
      : {
          host: base.hostname,
          port: base.port === "" ? (base.protocol === "https:" ? 443 : 80) : Number(base.port),
          protocol: base.protocol === "https:" ? "https" : "http",
        }),
  });
  // Latency of every answer Stripe gives, and its failures (connection errors are counted in translate).
  stripe.on("response", (event: Stripe.ResponseEvent) => {
    milliseconds(METRICS.stripeLatency, event.elapsed);
    if (event.status >= 500 || event.status === 429) count(METRICS.stripeError);
  });
  return stripe;
}

/** Time kept back at the end of an invocation to write down Stripe's answer and reply. */
const RESERVE_MS = 1_500;
/** Below this, a call to Stripe is not worth starting. */
const MIN_ATTEMPT_MS = 500;
const DEFAULT_TIMEOUT_MS = 8_000;
const MAX_RETRIES = 2;
/** Room for the SDK's backoff between attempts (it waits up to about a second). */
const BACKOFF_MS = 1_000;

/**
 * Per-request options that fit the invocation's remaining time: the timeout and the retries
 * shrink so that every attempt and backoff ends before the Lambda would be cut off, and the
 * caller gets 503 provider_unavailable (retryable with the same key) instead of a timeout.
 * Outside an invocation: the client's defaults.
 */
export function stripeBudget(idempotencyKey?: string, left = timeLeftMs()): Stripe.RequestOptions {
  const key = idempotencyKey === undefined ? {} : { idempotencyKey };
  if (left === undefined) return key;
  const usable = left - RESERVE_MS;
  if (usable < MIN_ATTEMPT_MS) {
    throw new ProviderUnavailableError("No time is left in this invocation to ask Stripe.", false);
  }
  const timeout = Math.min(DEFAULT_TIMEOUT_MS, usable);
  const retries = Math.max(
    0,
    Math.min(MAX_RETRIES, Math.floor(usable / (timeout + BACKOFF_MS)) - 1),
  );
  return { ...key, timeout, maxNetworkRetries: retries };
}

/** Whether Stripe may not have executed the request at all, or failed in a way worth retrying. */
export function isTransientStripeError(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeAPIError ||
    error instanceof Stripe.errors.StripeRateLimitError ||
    (error instanceof Stripe.errors.StripeError && (error.statusCode ?? 0) >= 500)
  );
}

function translate(error: unknown): never {
  if (error instanceof UnreadableStripeObjectError) {
    // An answer we cannot read: what Stripe did is unknown, so it counts as maybe done.
    count(METRICS.stripeError);
    throw new ProviderUnavailableError(
      "The payment provider answered something unreadable.",
      true,
      {
        cause: error,
      },
    );
  }
  if (error instanceof Stripe.errors.StripeConnectionError) count(METRICS.stripeError);
  if (isTransientStripeError(error)) {
    // A 429 was refused before anything ran; a timeout or a 5xx may have run at Stripe.
    const mayHaveExecuted = !(error instanceof Stripe.errors.StripeRateLimitError);
    throw new ProviderUnavailableError(
      "The payment provider is unavailable; retry later.",
      mayHaveExecuted,
      {
        cause: error,
      },
    );
  }
  if (
    error instanceof Stripe.errors.StripeAuthenticationError ||
    error instanceof Stripe.errors.StripePermissionError
  ) {
    // Our key is wrong or lacks a permission: a fault of this deployment, not of the request.
    // Retryable once it is fixed, so never a reason to set an order aside.
    count(METRICS.stripeError);
    throw new ProviderUnavailableError("The payment provider refused our credentials.", false, {
      cause: error,
    });
  }
  if (error instanceof Stripe.errors.StripeIdempotencyError) {
    throw new IdempotencyKeyReusedError("This Idempotency-Key was used with a different request.", {
      cause: error,
    });
  }
  if (error instanceof Stripe.errors.StripeError) {
    throw new ProviderRejectedError(error.message, error.code, { cause: error });
  }
  throw error;
}

export class StripePaymentProvider implements PaymentProvider {
  constructor(private readonly stripe: Stripe) {}

  async createPaymentIntent(
    input: Parameters<PaymentProvider["createPaymentIntent"]>[0],
    idempotencyKey: string,
  ): Promise<CreatedPaymentIntent> {
    try {
      const pi = await this.stripe.paymentIntents.create(
        {
          amount: input.amount,
          currency: input.currency,
          capture_method: input.captureMethod === "manual" ? "manual" : "automatic",
          automatic_payment_methods: { enabled: true },
          ...(input.description === undefined ? {} : { description: input.description }),
          metadata: { ...input.metadata },
        },
        stripeBudget(idempotencyKey),
      );
      if (pi.client_secret === null)
        throw new Error(`PaymentIntent ${pi.id} came without a client secret`);
      return { id: pi.id, clientSecret: pi.client_secret };
    } catch (error) {
      return translate(error);
    }
  }

  async clientSecret(paymentIntentId: string): Promise<string> {
    try {
      const pi = await this.stripe.paymentIntents.retrieve(paymentIntentId, {}, stripeBudget());
      if (pi.client_secret === null)
        throw new Error(`PaymentIntent ${pi.id} came without a client secret`);
      return pi.client_secret;
    } catch (error) {
      return translate(error);
    }
  }

  async retrieveIntent(paymentIntentId: string): Promise<IntentSnapshot> {
    try {
      const pi = await this.stripe.paymentIntents.retrieve(paymentIntentId, {}, stripeBudget());
      return {
        id: pi.id,
        created: pi.created,
        fact: intentFact(pi, nowSeconds(), "read"),
        metadata: pi.metadata ?? {},
      };
    } catch (error) {
      return translate(error);
    }
  }

  async cancelPaymentIntent(
    paymentIntentId: string,
    idempotencyKey: string,
    reason: "duplicate" | "requested_by_customer" | "abandoned",
  ): Promise<IntentFact> {
    try {
      const pi = await this.stripe.paymentIntents.cancel(
        paymentIntentId,
        { cancellation_reason: reason },
        stripeBudget(idempotencyKey),
      );
      return intentFact(pi, nowSeconds(), "read");
    } catch (error) {
      return translate(error);
    }
  }

  async capturePaymentIntent(
    paymentIntentId: string,
    amount: number | undefined,
    idempotencyKey: string,
  ): Promise<IntentFact> {
    try {
      const pi = await this.stripe.paymentIntents.capture(
        paymentIntentId,
        amount === undefined ? {} : { amount_to_capture: amount },
        stripeBudget(idempotencyKey),
      );
      return intentFact(pi, nowSeconds(), "read");
    } catch (error) {
      return translate(error);
    }
  }

  async listRefunds(paymentIntentId: string): Promise<RefundFact[]> {
    try {
      const at = nowSeconds();
      const out: RefundFact[] = [];
      for await (const refund of this.stripe.refunds.list(
        { payment_intent: paymentIntentId, limit: 100 },
        stripeBudget(),
      )) {
        out.push(refundFact(refund, at));
      }
      return out;
    } catch (error) {
      return translate(error);
    }
  }

  async createRefund(
    input: Parameters<PaymentProvider["createRefund"]>[0],
    idempotencyKey: string,
  ): Promise<ProviderRefund> {
    try {
      const refund = await this.stripe.refunds.create(
        {
          payment_intent: input.paymentIntentId,
          amount: input.amount,
          ...(input.reason === undefined ? {} : { reason: input.reason }),
          metadata: { ...input.metadata },
        },
        stripeBudget(idempotencyKey),
      );
      const status = refund.status ?? "pending";
      return { id: refund.id, status: isRefundStatus(status) ? status : "pending" };
    } catch (error) {
      return translate(error);
    }
  }
}
