/** Stripe Event objects, typed with the package's discriminated `Stripe.Event` union. */
import Stripe from "stripe";
import { newId, nowSeconds } from "./ids.js";

/** The API version the installed `stripe` package pins; events carry it like Stripe's do. */
export const API_VERSION: string = Stripe.API_VERSION;

export interface RequestContext {
  requestId: string | null;
  idempotencyKey: string | null;
}

export const NO_REQUEST: RequestContext = { requestId: null, idempotencyKey: null };

export type PaymentIntentEventType =
  | "payment_intent.created"
  | "payment_intent.succeeded"
  | "payment_intent.payment_failed"
  | "payment_intent.amount_capturable_updated"
  | "payment_intent.processing"
  | "payment_intent.requires_action"
  | "payment_intent.canceled";

export type ChargeEventType =
  | "charge.succeeded"
  | "charge.failed"
  | "charge.pending"
  | "charge.captured"
  | "charge.refunded"
  | "charge.updated";

export type DisputeEventType =
  | "charge.dispute.created"
  | "charge.dispute.updated"
  | "charge.dispute.closed"
  | "charge.dispute.funds_withdrawn"
  | "charge.dispute.funds_reinstated";

export type RefundEventType =
  | "refund.created"
  | "refund.updated"
  | "refund.failed"
  | "charge.refund.updated";

interface EventBaseFields {
  id: string;
  object: "event";
  api_version: string;
  created: number;
  livemode: false;
  pending_webhooks: number;
  request: Stripe.Event.Request;
}

function base(context: RequestContext, pendingWebhooks: number): EventBaseFields {
  return {
    id: newId("evt"),
    object: "event",
    api_version: API_VERSION,
    created: nowSeconds(),
    livemode: false,
    pending_webhooks: pendingWebhooks,
    request: { id: context.requestId, idempotency_key: context.idempotencyKey },
  };
}

export function paymentIntentEvent(
  type: PaymentIntentEventType,
  object: Stripe.PaymentIntent,
  context: RequestContext,
  pendingWebhooks: number,
  previous?: Partial<Stripe.PaymentIntent>,
): Stripe.Event {
  const data = {
    object: structuredClone(object),
    ...(previous ? { previous_attributes: previous } : {}),
  };
  return { ...base(context, pendingWebhooks), type, data };
}

export function chargeEvent(
  type: ChargeEventType,
  object: Stripe.Charge,
  context: RequestContext,
  pendingWebhooks: number,
  previous?: Partial<Stripe.Charge>,
): Stripe.Event {
  const data = {
    object: structuredClone(object),
    ...(previous ? { previous_attributes: previous } : {}),
  };
  return { ...base(context, pendingWebhooks), type, data };
}

export function refundEvent(
  type: RefundEventType,
  object: Stripe.Refund,
  context: RequestContext,
  pendingWebhooks: number,
  previous?: Partial<Stripe.Refund>,
): Stripe.Event {
  const data = {
    object: structuredClone(object),
    ...(previous ? { previous_attributes: previous } : {}),
  };
  return { ...base(context, pendingWebhooks), type, data };
}

export function disputeEvent(
  type: DisputeEventType,
  object: Stripe.Dispute,
  context: RequestContext,
  pendingWebhooks: number,
  previous?: Partial<Stripe.Dispute>,
): Stripe.Event {
  const data = {
    object: structuredClone(object),
    ...(previous ? { previous_attributes: previous } : {}),
  };
  return { ...base(context, pendingWebhooks), type, data };
}

/** Stripe's `type` filter: exact, or a wildcard such as `payment_intent.*` or `*`. */
export function eventTypeMatches(pattern: string, type: string): boolean {
  if (pattern === "*") {
    return true;
  }
  if (pattern.endsWith(".*")) {
    return type.startsWith(pattern.slice(0, -1));
  }
  return pattern === type;
}
