/**
 * `order.placed`: each valid order yields one payment (through the same use case as
 * POST /api/payments/intents) and so one `payment.initiated`. The payment id is derived from the
 * order id, so a redelivered record finds its own payment and creates nothing; if the order got
 * its payment over HTTP first, there is nothing to do either.
 *
 * A record that can never succeed (not JSON, not an order, an invalid amount, the order's
 * payment made with other terms) is set aside as a dead letter and the records after it go on;
 * anything else (DynamoDB or Stripe unavailable) fails the batch so that it is delivered again.
 */

import { type AuditContext, type AuditDetail, SYSTEM_ACTORS } from "../domain/audit.js";
import {
  IdempotencyKeyReusedError,
  OrderAlreadyHasPaymentError,
  ProviderRejectedError,
  ValidationError,
} from "../domain/errors.js";
import { paymentIdForOrderPlaced } from "../domain/ids.js";
import type { Clock, DeadLetter, PaymentProvider, PaymentRepository } from "../ports.js";
import { createIntentBody, parseOrThrow } from "../schemas.js";
import * as z from "../zod.js";
import { createPayment } from "./create-payment.js";

const orderData = z.object({
  orderId: z.unknown(),
  customerId: z.string().check(z.minLength(1), z.maxLength(255)),
  amount: z.unknown(),
  currency: z.unknown(),
});
const envelope = z.object({
  id: z.string().check(z.minLength(1)),
  type: z.literal("order.placed"),
  occurredAt: z.optional(z.string()),
  data: orderData,
});

export interface OrderRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key?: string | undefined;
  /** The record's value, decoded to text. */
  readonly value: string;
}

export interface OrderPlacedDeps {
  readonly repository: PaymentRepository;
  readonly provider: PaymentProvider;
  readonly clock: Clock;
  readonly deadLetters: { send(letter: DeadLetter): Promise<void> };
}

export type OrderOutcome =
  | { readonly outcome: "created" | "exists"; readonly paymentId: string }
  | { readonly outcome: "dead_letter"; readonly reason: string };

/** Who processes the record: the consumer itself, or a support agent redriving a dead letter. */
export interface OrderPlacedOptions {
  readonly context?: AuditContext;
  readonly auditDetail?: AuditDetail;
}

class PoisonRecord extends Error {}

function parseOrder(value: string) {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw new PoisonRecord("value is not JSON");
  }
  const wrapped = envelope.safeParse(json);
  const data = wrapped.success ? wrapped.data.data : orderData.safeParse(json).data;
  if (data === undefined)
    throw new PoisonRecord("value is neither an order.placed envelope nor its data");
  try {
    const request = parseOrThrow(createIntentBody, {
      orderId: data.orderId,
      amount: data.amount,
      currency: data.currency,
    });
    return { request, customerId: data.customerId };
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new PoisonRecord(error.errors.map((e) => `${e.path} ${e.message}`).join("; "));
    }
    throw error;
  }
}

/**
 * The order's payment was made over HTTP first. It stands if it is this order's customer paying
 * these terms; if not (another customer took the order id, or other terms), the order is not
 * silently taken as paid: the record is set aside, naming the payment that holds the order, so
 * support sees it (and can cancel that payment).
 */
async function termsConflict(
  deps: OrderPlacedDeps,
  record: OrderRecord,
  holderId: string,
): Promise<string | undefined> {
  const { request, customerId } = parseOrder(record.value);
  const holder = await deps.repository.get(holderId);
  if (holder === undefined) return undefined;
  const differs: string[] = [];
  if (holder.customerId !== customerId) differs.push("customer");
  if (holder.amount !== request.amount) differs.push("amount");
  if (holder.currency !== request.currency) differs.push("currency");
  if (differs.length === 0) return undefined;
  return `order ${request.orderId} is held by payment ${holderId}, made over HTTP with another ${differs.join(", ")}`;
}

export async function handleOrderPlaced(
  deps: OrderPlacedDeps,
  record: OrderRecord,
  options: OrderPlacedOptions = {},
): Promise<OrderOutcome> {
  try {
    const { request, customerId } = parseOrder(record.value);
    const { created, payment } = await createPayment(deps, {
      paymentId: paymentIdForOrderPlaced(request.orderId),
      customerId,
      request,
      context: options.context ?? {
        actor: SYSTEM_ACTORS.orderPlaced,
        idempotencyKey: `${record.topic}/${record.partition}/${record.offset}`,
      },
      ...(options.auditDetail === undefined ? {} : { auditDetail: options.auditDetail }),
      wantClientSecret: false,
    });
    return { outcome: created ? "created" : "exists", paymentId: payment.id };
  } catch (error) {
    if (error instanceof OrderAlreadyHasPaymentError) {
      const conflict = await termsConflict(deps, record, error.paymentId);
      if (conflict === undefined) return { outcome: "exists", paymentId: error.paymentId };
      await deps.deadLetters.send({ ...record, reason: conflict });
      return { outcome: "dead_letter", reason: conflict };
    }
    const permanent =
      error instanceof PoisonRecord ||
      error instanceof IdempotencyKeyReusedError ||
      error instanceof ProviderRejectedError;
    if (!permanent) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    await deps.deadLetters.send({ ...record, reason });
    return { outcome: "dead_letter", reason };
  }
}
