/**
 * Which payments reconciliation keeps an eye on. A webhook that never arrives must not leave a
 * payment wrong, so every payment that can still change at Stripe is looked at again once it has
 * been quiet for a while, and again after longer and longer pauses, until it settles.
 */
import type { Payment } from "./payment.js";

/** How long a payment may wait for the customer before we stop looking (it stays as it is). */
export const WATCH_CUSTOMER_FOR_SECONDS = 7 * 24 * 3600;

/** Whether Stripe may still change this payment in a way we must not miss. */
export function needsWatching(payment: Payment, now: string): boolean {
  if (payment.amountRefundPending > 0) return true;
  switch (payment.status) {
    case "processing":
    case "authorized":
      return true;
    case "initiated":
    case "failed":
      return Date.parse(now) - Date.parse(payment.createdAt) < WATCH_CUSTOMER_FOR_SECONDS * 1000;
    default:
      return false;
  }
}

/** The first look: `afterSeconds` after the last change. */
export function nextLookAt(from: string, afterSeconds: number): string {
  return new Date(Date.parse(from) + afterSeconds * 1000).toISOString();
}
