/**
 * Which payments reconciliation keeps an eye on. A webhook that never arrives must not leave a
 * payment wrong, so every payment that can still change at Stripe is looked at again once it has
 * been quiet for a while, and again after longer and longer pauses, until Stripe says it is final.
 */
import { awaitsCustomer, type Payment } from "./payment.js";

/**
 * How long a customer has to pay: the checkout window, which is also how long a create request
 * can be retried with its Idempotency-Key. After it, a PaymentIntent still waiting for the
 * customer is canceled at Stripe (abandoned), so nobody can pay what nobody watches any more.
 */
export const ABANDON_AFTER_SECONDS = 24 * 3600;

/** PaymentIntent statuses in which Stripe waits for the customer (nothing is on its way). */
const WAITING_FOR_CUSTOMER: ReadonlySet<string> = new Set([
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
]);

/** Whether Stripe may still change this payment in a way we must not miss. */
export function needsWatching(payment: Payment): boolean {
  if (payment.amountRefundPending > 0) return true;
  switch (payment.status) {
    case "processing":
    case "requires_action":
    case "authorized":
    case "initiated":
    case "failed":
      return true;
    default:
      return false;
  }
}

/** When a payment still waiting for its customer is abandoned (undefined: it is not waiting). */
export function abandonAt(payment: Payment): string | undefined {
  if (!awaitsCustomer(payment.status)) return undefined;
  return new Date(Date.parse(payment.createdAt) + ABANDON_AFTER_SECONDS * 1000).toISOString();
}

/** Whether to cancel the payment's PaymentIntent, given the status Stripe shows for it now. */
export function isAbandoned(payment: Payment, intentStatus: string, now: string): boolean {
  const at = abandonAt(payment);
  return (
    at !== undefined && Date.parse(at) <= Date.parse(now) && WAITING_FOR_CUSTOMER.has(intentStatus)
  );
}

/** The first look: `afterSeconds` after the last change. */
export function nextLookAt(from: string, afterSeconds: number): string {
  return new Date(Date.parse(from) + afterSeconds * 1000).toISOString();
}
