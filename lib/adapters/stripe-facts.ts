/**
 * Stripe objects (from webhooks or from the API) as the facts lib/domain/lifecycle.ts merges.
 * The failure code is the card's decline code where Stripe gives one, else the error code.
 */
import type Stripe from "stripe";
import type { DisputeFact } from "../domain/disputes.js";
import type { ChargeFact, IntentFact, RefundFact } from "../domain/lifecycle.js";
import { isRefundStatus } from "../domain/refunds.js";
import * as z from "../zod.js";

/**
 * The Stripe API version this service speaks, pinned: the client sends it on every request, and
 * the types of the `stripe` package it is built with describe it (a package upgrade that moves
 * the version does not type-check until this line moves too). Webhook events carry the version
 * of their endpoint; one from another version is read if it has what we read, counted and
 * logged either way (README, "Stripe API version").
 */
export const STRIPE_API_VERSION: Stripe.LatestApiVersion = "2026-10-28.endive";

/**
 * A Stripe object (signed webhook or API answer) without the fields this service reads, or with
 * one of the wrong type. Nothing is written from it; the webhook answers 400 `invalid_event`.
 */
export class UnreadableStripeObjectError extends Error {}

// The fields read here, checked before anything is read: signed is not the same as well formed.
const amount = z.int().check(z.minimum(0));
const text = z.string();
const maybe = <T extends z.ZodMiniType>(schema: T) => z.optional(z.nullable(schema));
const ref = z.union([text, z.object({ id: text })]);
const metadata = maybe(z.record(text, text));

const intentShape = z.object({
  id: text,
  created: z.int(),
  status: text,
  amount_capturable: amount,
  amount_received: amount,
  metadata,
  latest_charge: maybe(ref),
  last_payment_error: maybe(
    z.object({
      code: maybe(text),
      decline_code: maybe(text),
      message: maybe(text),
      charge: maybe(ref),
    }),
  ),
});
const chargeShape = z.object({
  id: text,
  status: text,
  captured: z.boolean(),
  amount_captured: amount,
  failure_code: maybe(text),
  failure_message: maybe(text),
  outcome: maybe(z.object({ reason: maybe(text) })),
  payment_intent: maybe(ref),
});
const refundShape = z.object({
  id: text,
  amount,
  status: maybe(text),
  metadata,
  payment_intent: maybe(ref),
});
const disputeShape = z.object({
  id: text,
  amount,
  status: text,
  reason: text,
  payment_intent: maybe(ref),
});
const eventShape = z.object({
  id: text,
  type: text,
  created: z.int(),
  api_version: maybe(text),
  data: z.object({ object: z.record(text, z.unknown()) }),
});

function check(schema: z.ZodMiniType, value: unknown, what: string): void {
  const result = schema.safeParse(value);
  if (result.success) return;
  const issue = result.error.issues[0];
  const where = issue === undefined ? "" : ` at ${issue.path.map(String).join(".") || "/"}`;
  throw new UnreadableStripeObjectError(
    `the ${what} is not readable${where}: ${issue?.message ?? ""}`,
  );
}

/** A verified webhook body: an event envelope with an object (each object is checked as read). */
export function checkEvent(event: unknown): asserts event is Stripe.Event {
  check(eventShape, event, "event");
}

function failureOf(
  error: { code?: string; decline_code?: string; message?: string } | null | undefined,
): { code: string; message: string } | undefined {
  if (error === null || error === undefined) return undefined;
  return { code: error.decline_code ?? error.code ?? "unknown", message: error.message ?? "" };
}

function idOf(ref: string | { id: string } | null | undefined): string | undefined {
  if (ref === null || ref === undefined) return undefined;
  return typeof ref === "string" ? ref : ref.id;
}

/**
 * A PaymentIntent as a fact. `source` says how it was seen: in a webhook event (`at` is the
 * event's time) or read from the API (`at` is when we read it, later than what it shows).
 *
 * The attempt it shows is named by that attempt's charge, and only by its own: a processing
 * PaymentIntent by its latest charge, a declined one by the charge its error names. A 3-D Secure
 * attempt makes no charge (neither while it waits nor when authentication fails), and Stripe's
 * `latest_charge` then still names an earlier attempt's charge, so such an attempt has no id.
 */
export function intentFact(
  pi: Stripe.PaymentIntent,
  at: number,
  source: "event" | "read" = "event",
): IntentFact {
  check(intentShape, pi, "PaymentIntent");
  const failure = failureOf(pi.last_payment_error);
  const attemptId =
    pi.status === "processing"
      ? idOf(pi.latest_charge)
      : pi.status === "requires_payment_method"
        ? idOf(pi.last_payment_error?.charge)
        : undefined;
  return {
    ...(attemptId === undefined ? {} : { attemptId }),
    ...(source === "read" ? { reread: true } : {}),
    kind: "intent",
    at,
    status: pi.status,
    amountCapturable: pi.amount_capturable,
    amountReceived: pi.amount_received,
    ...(failure === undefined ? {} : { failure }),
  };
}

export function chargeFact(charge: Stripe.Charge, at: number): ChargeFact {
  check(chargeShape, charge, "charge");
  const failure =
    charge.failure_code === null
      ? undefined
      : {
          code: charge.outcome?.reason ?? charge.failure_code,
          message: charge.failure_message ?? "",
        };
  return {
    kind: "charge",
    at,
    status: charge.status,
    captured: charge.captured,
    amountCaptured: charge.amount_captured,
    ...(failure === undefined ? {} : { failure }),
  };
}

export function refundFact(refund: Stripe.Refund, at: number): RefundFact {
  check(refundShape, refund, "refund");
  const status = refund.status ?? "pending";
  const refundId = refund.metadata?.refund_id;
  return {
    kind: "refund",
    at,
    stripeRefundId: refund.id,
    ...(refundId === undefined ? {} : { refundId }),
    amount: refund.amount,
    status: isRefundStatus(status) ? status : "pending",
  };
}

export function disputeFact(dispute: Stripe.Dispute, at: number): DisputeFact {
  check(disputeShape, dispute, "dispute");
  return {
    kind: "dispute",
    at,
    disputeId: dispute.id,
    status: dispute.status,
    reason: dispute.reason,
    amount: dispute.amount,
  };
}

/**
 * The payment an object (a PaymentIntent or a Refund, already checked) names in its metadata
 * (`payment_id`), if any: a claim for the caller to check, never proof.
 */
export function claimedPaymentIdOf(object: {
  metadata?: Stripe.Metadata | null;
}): string | undefined {
  const paymentId = object.metadata?.payment_id;
  return paymentId === undefined || paymentId === "" ? undefined : paymentId;
}

/** The PaymentIntent id an object belongs to, if any. */
export function paymentIntentIdOf(object: {
  payment_intent?: string | Stripe.PaymentIntent | null;
}): string | undefined {
  return idOf(object.payment_intent);
}
