/**
 * Create a payment for an order: one Stripe PaymentIntent and one payment record, never two for
 * the same order.
 *
 *   1. order lock already held by another payment  -> 409 order_already_has_payment (no Stripe call)
 *   2. create the PaymentIntent at Stripe, keyed by our payment id (a retry finds the same one)
 *   3. one transaction: order lock (if absent) + payment + history + outbox `payment.initiated`
 *   4. lost the race for the order lock                -> cancel our PaymentIntent at Stripe, 409
 *      the lock is ours already (a retry after a crash) -> answer with what is stored
 *
 * The client secret is handed back to the caller and never written anywhere.
 */
import { randomInt, randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { type AuditContext, type AuditDetail, auditEntry } from "../domain/audit.js";
import {
  ConcurrentUpdateError,
  IdempotencyKeyReusedError,
  OrderAlreadyHasPaymentError,
} from "../domain/errors.js";
import { paymentEvent } from "../domain/events.js";
import { newPayment, type Payment } from "../domain/payment.js";
import type { Clock, PaymentProvider, PaymentRepository } from "../ports.js";
import type { CreateIntentRequest } from "../schemas.js";

export interface CreatePaymentInput {
  readonly paymentId: string;
  readonly customerId: string;
  readonly request: CreateIntentRequest;
  /** Who creates it (the history and audit trail name them) and through which request. */
  readonly context: AuditContext;
  /** Extra audit detail (a redrive names its dead letter). */
  readonly auditDetail?: AuditDetail;
  /** False: no client secret is needed, so none is fetched for an existing payment. */
  readonly wantClientSecret?: boolean;
}

export interface CreatePaymentResult {
  readonly payment: Payment;
  /** False when the payment already existed (an earlier try of the same request wrote it). */
  readonly created: boolean;
  /** Absent only when the caller said it needs none (the order.placed consumer). */
  readonly clientSecret?: string;
}

export interface CreatePaymentDeps {
  readonly repository: PaymentRepository;
  readonly provider: PaymentProvider;
  readonly clock: Clock;
  readonly log?: { warn(message: string, extra: Record<string, unknown>): void };
}

export async function createPayment(
  deps: CreatePaymentDeps,
  input: CreatePaymentInput,
): Promise<CreatePaymentResult> {
  const { repository, provider, clock } = deps;
  const { paymentId, request } = input;

  const holder = await repository.paymentIdForOrder(request.orderId);
  if (holder !== undefined && holder !== paymentId) throw new OrderAlreadyHasPaymentError(holder);
  if (holder === paymentId) return await existing(deps, input);

  const intent = await provider.createPaymentIntent(
    {
      amount: request.amount,
      currency: request.currency,
      captureMethod: request.captureMethod,
      description: request.description,
      metadata: {
        ...request.metadata,
        payment_id: paymentId,
        order_id: request.orderId,
        customer_id: input.customerId,
      },
    },
    `pi-create:${paymentId}`,
  );

  const now = clock.now();
  const payment = newPayment({
    id: paymentId,
    orderId: request.orderId,
    customerId: input.customerId,
    amount: request.amount,
    currency: request.currency,
    captureMethod: request.captureMethod,
    description: request.description,
    metadata: request.metadata,
    stripePaymentIntentId: intent.id,
    now,
  });
  const event = paymentEvent("payment.initiated", payment, randomUUID(), now);
  const audit = auditEntry(input.context, now, "payment.create", "succeeded", {
    detail: {
      orderId: request.orderId,
      amount: request.amount,
      currency: request.currency,
      paymentIntentId: intent.id,
      ...input.auditDetail,
    },
  });
  const actor = input.context.actor;
  let result = await repository.insertNew(payment, actor, event, audit);
  for (
    let attempt = 1;
    result.inserted === false && result.reason === "conflict" && attempt < 5;
    attempt++
  ) {
    await delay(randomInt(5, 25 * attempt));
    result = await repository.insertNew(payment, actor, event, audit);
  }
  if (result.inserted === false && result.reason === "conflict") {
    // Still contended: the caller retries with the same key, which reaches the same PaymentIntent.
    throw new ConcurrentUpdateError("The order is being paid by another request right now; retry.");
  }
  if (result.inserted) return { payment, created: true, clientSecret: intent.clientSecret };
  if (result.reason === "order_taken" && result.existingPaymentId === paymentId)
    return await existing(deps, input);

  // Another request won the order (or owns this payment id). Our PaymentIntent has no record
  // and must never be paid: cancel it (a retry of this request cancels the same one, harmlessly).
  try {
    await provider.cancelPaymentIntent(intent.id, `pi-cancel-duplicate:${paymentId}`, "duplicate");
  } catch (error) {
    deps.log?.warn("could not cancel the PaymentIntent of a request that lost its order", {
      paymentIntentId: intent.id,
      orderId: request.orderId,
      error: error instanceof Error ? error.message : String(error),
    });
  }
  if (result.reason === "payment_id_taken") throw keyReused();
  throw new OrderAlreadyHasPaymentError(result.existingPaymentId);
}

const keyReused = () =>
  new IdempotencyKeyReusedError("This Idempotency-Key was already used for a different payment.");

/**
 * The payment this very request (same caller and key) wrote on an earlier try whose answer was
 * lost. It is answered as it stands, provided the request is really the same.
 */
async function existing(
  deps: CreatePaymentDeps,
  input: CreatePaymentInput,
): Promise<CreatePaymentResult> {
  const payment = await deps.repository.get(input.paymentId);
  if (payment === undefined)
    throw new Error(`order lock points at missing payment ${input.paymentId}`);
  const { request } = input;
  const same =
    payment.orderId === request.orderId &&
    payment.customerId === input.customerId &&
    payment.amount === request.amount &&
    payment.currency === request.currency &&
    payment.captureMethod === request.captureMethod;
  if (!same) throw keyReused();
  if (input.wantClientSecret === false) return { payment, created: false };
  return {
    payment,
    created: false,
    clientSecret: await deps.provider.clientSecret(payment.stripePaymentIntentId),
  };
}
