/**
 * A chargeback (Stripe's dispute) on the payment's charge, merged in any order like the rest of
 * the lifecycle:
 *
 *   the dispute held   the newest report by Stripe's event time (a tie: the closed status,
 *                      then the greater status name, id, amount, reason: the same one
 *                      whatever the order)
 *   closed             turns on once a report says won or lost, and stays on (a lost dispute
 *                      Stripe reopens for an appeal shows the appeal, but was closed once)
 *
 * The payment's status does not change: a dispute is about money already captured. Two events
 * are published: `payment.disputed` when the payment first learns of the dispute, and
 * `payment.dispute_closed` once, when it is first won or lost.
 *
 * Refunds, as Stripe allows them (it answers `charge_disputed` otherwise):
 *
 *   warning_needs_response, warning_under_review   an inquiry (no chargeback yet): a refund is
 *                                                  allowed, and is often the best answer
 *   warning_closed, prevented, won                 the money is the merchant's: allowed
 *   needs_response, under_review                   the dispute holds the money: refused
 *   lost                                           the cardholder has it back: refused
 *   any status Stripe adds later                   refused until someone looks (never refund
 *                                                  money a dispute may hold)
 */

/** Statuses in which the dispute is decided, or ends without a chargeback. */
const DECIDED: ReadonlySet<string> = new Set(["won", "lost"]);
const ENDED: ReadonlySet<string> = new Set(["won", "lost", "warning_closed", "prevented"]);
const REFUNDS_ALLOWED: ReadonlySet<string> = new Set([
  "warning_needs_response",
  "warning_under_review",
  "warning_closed",
  "prevented",
  "won",
]);

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

/** Whether the dispute stops refunds of the payment (see the table above). */
export function disputeBlocksRefunds(dispute: Pick<Dispute, "status"> | undefined): boolean {
  return dispute !== undefined && !REFUNDS_ALLOWED.has(dispute.status);
}

function rank(status: string): number {
  return ENDED.has(status) ? 1 : 0;
}

/** Whether `fact` is a newer report than the dispute held. */
function newer(fact: DisputeFact, held: Dispute): boolean {
  if (fact.at !== held.at) return fact.at > held.at;
  if (rank(fact.status) !== rank(held.status)) return rank(fact.status) > rank(held.status);
  if (fact.status !== held.status) return fact.status > held.status;
  if (fact.disputeId !== held.id) return fact.disputeId > held.id;
  if (fact.amount !== held.amount) return fact.amount > held.amount;
  return fact.reason > held.reason;
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
