/**
 * Stripe's webhook events as the neutral notices the webhook use case applies
 * (lib/use-cases/handle-stripe-event.ts): which PaymentIntent, the facts the event's object
 * holds, and whether its refunds must be re-read. Only this file knows Stripe's event types.
 *
 *   PaymentIntent events        -> the PaymentIntent in the event, as of the event's `created`
 *   charge.* events             -> the Charge; charge.refunded also re-reads the refunds,
 *                                  because the Charge alone does not say which refund it was
 *   refund.* / charge.refund.*  -> the Refund
 *   charge.dispute.created, .updated, .closed -> the Dispute (funds_withdrawn / _reinstated
 *                                  tell nothing the dispute's status does not)
 *   anything else               -> no notice: acknowledged, ignored
 *
 * Which payment the object names itself (`claimedPaymentId`, a claim the use case checks): a
 * PaymentIntent its metadata `payment_id` (set at creation), a Refund its own metadata
 * `payment_id` (set on the refunds this service makes; none on one made in the Dashboard).
 * Charges and disputes name none: the use case finds their payment from the PaymentIntent.
 *
 * Each object is checked (stripe-facts.ts) before anything reads it.
 */
import type Stripe from "stripe";
import type { PaymentNotice } from "../ports.js";
import {
  chargeFact,
  claimedPaymentIdOf,
  disputeFact,
  intentFact,
  paymentIntentIdOf,
  refundFact,
} from "./stripe-facts.js";

/** The notice a verified, well-formed event gives, or undefined for one the service ignores. */
export function noticeOf(event: Stripe.Event): PaymentNotice | undefined {
  const at = event.created;
  const notice = { eventId: event.id, kind: event.type, refetchRefunds: false, creation: false };
  switch (event.type) {
    case "payment_intent.created":
    case "payment_intent.processing":
    case "payment_intent.amount_capturable_updated":
    case "payment_intent.succeeded":
    case "payment_intent.payment_failed":
    case "payment_intent.canceled":
    case "payment_intent.requires_action":
    case "payment_intent.partially_funded": {
      const pi = event.data.object;
      const fact = intentFact(pi, at);
      const claimedPaymentId = claimedPaymentIdOf(pi);
      return {
        ...notice,
        paymentIntentId: pi.id,
        ...(claimedPaymentId === undefined ? {} : { claimedPaymentId }),
        facts: [fact],
        intent: { metadata: pi.metadata ?? {}, created: pi.created },
        // Creation tells nothing the record will not hold when it is written.
        creation: event.type === "payment_intent.created",
      };
    }
    case "charge.succeeded":
    case "charge.captured":
    case "charge.failed":
    case "charge.pending":
    case "charge.updated":
    case "charge.refunded": {
      const charge = event.data.object;
      const fact = chargeFact(charge, at);
      const paymentIntentId = paymentIntentIdOf(charge);
      if (paymentIntentId === undefined) return undefined;
      return {
        ...notice,
        paymentIntentId,
        facts: [fact],
        refetchRefunds: event.type === "charge.refunded",
      };
    }
    case "refund.created":
    case "refund.updated":
    case "refund.failed":
    case "charge.refund.updated": {
      const refund = event.data.object;
      const fact = refundFact(refund, at);
      const paymentIntentId = paymentIntentIdOf(refund);
      if (paymentIntentId === undefined) return undefined;
      const claimedPaymentId = claimedPaymentIdOf(refund);
      return {
        ...notice,
        paymentIntentId,
        ...(claimedPaymentId === undefined ? {} : { claimedPaymentId }),
        facts: [fact],
      };
    }
    case "charge.dispute.created":
    case "charge.dispute.updated":
    case "charge.dispute.closed": {
      const dispute = event.data.object;
      const fact = disputeFact(dispute, at);
      const paymentIntentId = paymentIntentIdOf(dispute);
      if (paymentIntentId === undefined) return undefined;
      return { ...notice, paymentIntentId, facts: [fact] };
    }
    default:
      return undefined;
  }
}
