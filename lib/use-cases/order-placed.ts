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
import {
  IdempotencyKeyReusedError,
  OrderAlreadyHasPaymentError,
  ProviderRejectedError,
  ValidationError,
} from "../domain/errors.js";
import { paymentIdForOrderPlaced } from "../domain/ids.js";
import type { Clock, PaymentProvider, PaymentRepository } from "../ports.js";
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

export interface DeadLetter extends OrderRecord {
  readonly reason: string;
}

export interface OrderPlacedDeps {
  readonly repository: PaymentRepository;
  readonly provider: PaymentProvider;
  readonly clock: Clock;
  readonly deadLetters: { send(letter: DeadLetter): Promise<void> };
}

export type OrderOutcome = "created" | "exists" | "dead_letter";

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

export async function handleOrderPlaced(
  deps: OrderPlacedDeps,
  record: OrderRecord,
): Promise<OrderOutcome> {
  try {
    const { request, customerId } = parseOrder(record.value);
    const { created } = await createPayment(deps, {
      paymentId: paymentIdForOrderPlaced(request.orderId),
      customerId,
      request,
      source: "order.placed",
      wantClientSecret: false,
    });
    return created ? "created" : "exists";
  } catch (error) {
    if (error instanceof OrderAlreadyHasPaymentError) return "exists";
    const permanent =
      error instanceof PoisonRecord ||
      error instanceof IdempotencyKeyReusedError ||
      error instanceof ProviderRejectedError;
    if (!permanent) throw error;
    await deps.deadLetters.send({
      ...record,
      reason: error instanceof Error ? error.message : String(error),
    });
    return "dead_letter";
  }
}
