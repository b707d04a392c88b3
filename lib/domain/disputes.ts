/**
 * A chargeback (Stripe's dispute) on the payment's charge, merged in any order like the rest of
 * the lifecycle:
 *
 *   the dispute held   the newest report by Stripe's event time (a tie: the closed status,
 *                      then the greater status name, then the greater id: the same one
 *                      whatever the order)
 *   closed             turns on once a report says won or lost, and stays on (a lost dispute
 *                      Stripe reopens for an appeal shows the appeal, but was closed once)
 *
 * The payment's status does not change: a dispute is about money already captured. Two events
 * are published: `payment.disputed` when the payment first learns of the dispute, and
 * `payment.dispute_closed` once, when it is first won or lost. A payment with an open dispute
 * cannot be refunded (the money is held by the dispute; Stripe refuses the refund too).
 */

/** Statuses in which the dispute is decided, or ends without a chargeback. */
const DECIDED: ReadonlySet<string> = new Set(["won", "lost"]);
const ENDED: ReadonlySet<string> = new Set(["won", "lost", "warning_closed", "prevented"]);

export interface Dispute {
  readonly id: string;
  /** Stripe's dispute status (`needs_response`, `under_review`, `won`, `lost`, ...). */
  readonly status: string;
  readonly reason: string;
  /** Disputed amount, minor units of the payment's currency. */
  readonly amount: number;
  /** Stripe's time of the report held (epoch seconds). */
  readonly at: number;
  /** Won or lost at some point (`payment.dispute_closed` was published). */
  readonly closed: boolean;
}

/** A dispute as Stripe showed it at `at` (a `charge.dispute.*` event's object). */
export interface DisputeFact {
  readonly kind: "dispute";
  readonly at: number;
  readonly disputeId: string;
  readonly status: string;
  readonly reason: string;
  readonly amount: number;
}

/** Whether the dispute still holds the payment's money (refunds refused meanwhile). */
export function isOpenDispute(dispute: Dispute | undefined): boolean {
  return dispute !== undefined && !ENDED.has(dispute.status);
}

function rank(status: string): number {
  return ENDED.has(status) ? 1 : 0;
}

/** Whether `fact` is a newer report than the dispute held. */
function newer(fact: DisputeFact, held: Dispute): boolean {
  if (fact.at !== held.at) return fact.at > held.at;
  if (rank(fact.status) !== rank(held.status)) return rank(fact.status) > rank(held.status);
  if (fact.status !== held.status) return fact.status > held.status;
  return fact.disputeId > held.id;
}

/** The dispute after `fact` (a join: the same whatever order the facts come in). */
export function mergeDispute(held: Dispute | undefined, fact: DisputeFact): Dispute {
  const closed = (held?.closed ?? false) || DECIDED.has(fact.status);
  if (held !== undefined && !newer(fact, held)) return { ...held, closed };
  return {
    id: fact.disputeId,
    status: fact.status,
    reason: fact.reason,
    amount: fact.amount,
    at: fact.at,
    closed,
  };
}
