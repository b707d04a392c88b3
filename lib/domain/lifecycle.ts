/**
 * The payment's lifecycle as Stripe reports it, applied in any order.
 *
 * Stripe delivers webhooks late, twice and out of order, so nothing here trusts arrival order.
 * Every fact is merged into the payment's `lifecycle` and amounts so that the merge is
 * commutative, associative and idempotent (a join):
 *
 *   authorized, canceled        only turn on
 *   amountCaptured              max of what Stripe reports as received/captured
 *   attempt                     the newest by Stripe's timestamp (requires_action, failed,
 *                               processing); a tie goes to processing, then failed
 *   refunds                     per Stripe refund: held -> settled | released, each exactly once
 *
 * and the status is a function of that merged state:
 *
 *   canceled                                  -> canceled     (final)
 *   captured > 0, refunded >= captured        -> refunded     (final)
 *   captured > 0, refunded > 0                -> partially_refunded
 *   captured > 0                              -> captured
 *   authorized                                -> authorized
 *   newest attempt failed / processing        -> failed / processing   (failed is not final)
 *   newest attempt requires_action            -> requires_action (3-D Secure: the customer must
 *                                                authenticate; then it goes on, or fails)
 *   otherwise                                 -> initiated
 *
 * So an older event can never move a payment back: it merges into a state that already holds
 * more. One exception to the join, on purpose: an API re-read (reconciliation) of a chargeless
 * attempt the payment already holds is not taken as newer (it carries only the time we read it),
 * so the held attempt's timestamp can depend on whether the webhook or the re-read came first;
 * the status and the failure code do not. The changes between the old and new status are what is recorded: one history entry each,
 * and the outgoing event the contract names for it (none for processing and canceled).
 */
import { type DisputeFact, mergeDispute } from "./disputes.js";
import type { PaymentEventType } from "./events.js";
import type { AttemptOutcome, Payment, PaymentStatus } from "./payment.js";
import type { RefundStatus } from "./refunds.js";

/** A PaymentIntent as Stripe showed it at `at` (epoch seconds). */
export interface IntentFact {
  readonly kind: "intent";
  readonly at: number;
  readonly status: string;
  readonly amountCapturable: number;
  readonly amountReceived: number;
  readonly failure?: { readonly code: string; readonly message: string };
  /**
   * Which payment attempt this shows (that attempt's charge; a 3-D Secure attempt has none). The
   * same attempt seen again, by a late webhook or a re-read with a later timestamp, is not a new
   * attempt.
   */
  readonly attemptId?: string;
  /**
   * Read from Stripe's API (reconciliation, capture, cancel) rather than delivered as an event:
   * `at` is when we read it. A re-read showing the attempt the payment holds, with nothing to
   * tell it apart (no charge, same outcome and code), is that attempt again, not a new one;
   * two chargeless failures with the same code are told apart by their webhooks.
   */
  readonly reread?: boolean;
}

/** A Charge as Stripe showed it. */
export interface ChargeFact {
  readonly kind: "charge";
  readonly at: number;
  readonly status: string;
  readonly captured: boolean;
  readonly amountCaptured: number;
  readonly failure?: { readonly code: string; readonly message: string };
}

/** A Refund as Stripe showed it; `refundId` is ours (metadata.refund_id) when we made it. */
export interface RefundFact {
  readonly kind: "refund";
  readonly at: number;
  readonly stripeRefundId: string;
  readonly refundId?: string;
  readonly amount: number;
  readonly status: RefundStatus;
}

export type StripeFact = IntentFact | ChargeFact | RefundFact | DisputeFact;

/** What we hold about one Stripe refund (ours, or one made elsewhere, e.g. in the Dashboard). */
export interface RefundRecordState {
  readonly amount: number;
  readonly reservation: "held" | "settled" | "released";
  readonly status: RefundStatus;
  /**
   * When Stripe said the status a held refund shows (its fact's time, epoch seconds); absent on
   * records written before it was kept. An older fact read later does not set it back.
   */
  readonly statusAt?: number;
}

export interface Change {
  readonly status: PaymentStatus;
  readonly event?: PaymentEventType;
  readonly refundId?: string;
  /** A change of the payment's dispute (the status stays): the dispute's status. */
  readonly dispute?: string;
}

export interface Applied {
  readonly payment: Payment;
  /** The refund record after the fact (refund facts only). */
  readonly refund?: RefundRecordState;
  /** Status changes to record, oldest first; empty when the status stayed. */
  readonly changes: readonly Change[];
  /** Whether anything stored differs (a silent update may change amounts but not the status). */
  readonly dirty: boolean;
}

// In one second, a failure follows the authentication it failed, and processing follows both.
const RANK: Record<AttemptOutcome, number> = {
  none: 0,
  requires_action: 1,
  failed: 2,
  processing: 3,
};

interface Attempt {
  readonly at: number;
  readonly outcome: AttemptOutcome;
  readonly failure?: { readonly code: string; readonly message: string };
  readonly attemptId?: string;
  readonly reread?: boolean;
}

/** Whether `candidate` is newer than the attempt the payment holds (ties broken deterministically). */
function isNewerAttempt(candidate: Attempt, payment: Payment): boolean {
  const current = payment.lifecycle;
  if (candidate.outcome === "none") return false;
  // The attempt we already hold, seen again (a re-fetch carries a later timestamp): nothing new.
  if (
    candidate.attemptId !== undefined &&
    candidate.attemptId === current.attemptId &&
    candidate.outcome === current.attemptOutcome
  ) {
    return false;
  }
  // (The held attempt's id is not compared: records written before chargeless attempts had no
  // id held an earlier decline's charge id for them.)
  if (
    candidate.reread === true &&
    candidate.attemptId === undefined &&
    candidate.outcome === current.attemptOutcome &&
    (candidate.outcome !== "failed" || candidate.failure?.code === payment.failureCode)
  ) {
    return false;
  }
  if (candidate.at !== current.attemptAt) return candidate.at > current.attemptAt;
  if (RANK[candidate.outcome] !== RANK[current.attemptOutcome]) {
    return RANK[candidate.outcome] > RANK[current.attemptOutcome];
  }
  // Two failures in one second: keep one, the same one whatever the order.
  return (
    candidate.outcome === "failed" && (candidate.failure?.code ?? "") > (payment.failureCode ?? "")
  );
}

/** The status the merged state stands for (see the table above). */
export function deriveStatus(
  p: Pick<Payment, "amountCaptured" | "amountRefunded" | "lifecycle">,
): PaymentStatus {
  const l = p.lifecycle;
  if (l.canceled) return "canceled";
  if (p.amountCaptured > 0) {
    if (p.amountRefunded >= p.amountCaptured) return "refunded";
    if (p.amountRefunded > 0) return "partially_refunded";
    return "captured";
  }
  if (l.authorized) return "authorized";
  if (l.attemptOutcome === "failed") return "failed";
  if (l.attemptOutcome === "processing") return "processing";
  if (l.attemptOutcome === "requires_action") return "requires_action";
  return "initiated";
}

function withStatus(p: Payment): Payment {
  const status = deriveStatus(p);
  const finished = status === "canceled" || p.amountCaptured > 0;
  return {
    ...p,
    status,
    lifecycle: finished ? { ...p.lifecycle, amountCapturable: 0 } : p.lifecycle,
  };
}

function applyIntentOrCharge(payment: Payment, fact: IntentFact | ChargeFact): Payment {
  const l = payment.lifecycle;
  let authorized = l.authorized;
  let canceled = l.canceled;
  let amountCaptured = payment.amountCaptured;
  let amountCapturable = l.amountCapturable;
  let attempt: Attempt = { at: fact.at, outcome: "none" };
  if (fact.kind === "intent") {
    if (
      fact.status === "requires_capture" ||
      fact.status === "succeeded" ||
      fact.amountCapturable > 0
    )
      authorized = true;
    if (fact.status === "canceled") canceled = true;
    amountCaptured = Math.max(amountCaptured, fact.amountReceived);
    amountCapturable = Math.max(amountCapturable, fact.amountCapturable);
    const id = {
      ...(fact.attemptId === undefined ? {} : { attemptId: fact.attemptId }),
      ...(fact.reread === true ? { reread: true } : {}),
    };
    if (fact.status === "processing") attempt = { at: fact.at, outcome: "processing", ...id };
    else if (fact.status === "requires_action") {
      attempt = { at: fact.at, outcome: "requires_action", ...id };
    } else if (fact.status === "requires_payment_method" && fact.failure !== undefined) {
      attempt = { at: fact.at, outcome: "failed", failure: fact.failure, ...id };
    }
  } else {
    if (fact.status === "succeeded") authorized = true;
    if (fact.captured) amountCaptured = Math.max(amountCaptured, fact.amountCaptured);
    // A failed charge is not taken as an attempt: payment_intent.payment_failed reports the same
    // decline, and counting both would publish payment.failed twice.
  }
  if (!isNewerAttempt(attempt, payment)) {
    return withStatus({
      ...payment,
      amountCaptured,
      lifecycle: { ...l, authorized, canceled, amountCapturable },
    });
  }
  const { failureCode: _code, failureMessage: _message, ...rest } = payment;
  return withStatus({
    ...rest,
    ...(attempt.outcome === "failed"
      ? {
          failureCode: attempt.failure?.code ?? "unknown",
          failureMessage: attempt.failure?.message ?? "",
        }
      : {}),
    amountCaptured,
    lifecycle: {
      authorized,
      canceled,
      amountCapturable,
      attemptAt: attempt.at,
      attemptOutcome: attempt.outcome,
      ...(attempt.attemptId === undefined ? {} : { attemptId: attempt.attemptId }),
    },
  });
}

function applyRefund(
  payment: Payment,
  prior: RefundRecordState | undefined,
  fact: RefundFact,
): { payment: Payment; refund?: RefundRecordState } {
  if (fact.status === "succeeded") {
    if (prior?.reservation === "settled") return { payment, refund: prior };
    const pending =
      prior?.reservation === "held"
        ? payment.amountRefundPending - prior.amount
        : payment.amountRefundPending;
    return {
      payment: withStatus({
        ...payment,
        amountRefundPending: Math.max(0, pending),
        amountRefunded: payment.amountRefunded + fact.amount,
      }),
      refund: { amount: fact.amount, reservation: "settled", status: "succeeded" },
    };
  }
  if (fact.status === "failed" || fact.status === "canceled") {
    if (prior === undefined)
      return {
        payment,
        refund: { amount: fact.amount, reservation: "released", status: fact.status },
      };
    // A refund Stripe already counted as succeeded and later failed is not reversed here: the
    // payment's refunded status is final. It is logged for people to look at.
    if (prior.reservation !== "held") return { payment, refund: prior };
    return {
      payment: {
        ...payment,
        amountRefundPending: Math.max(0, payment.amountRefundPending - prior.amount),
      },
      refund: { amount: prior.amount, reservation: "released", status: fact.status },
    };
  }
  // pending / requires_action: nothing settles yet; ours stays held, someone else's is not counted.
  // A held refund shows the newest status Stripe gave (a late older event does not set it back).
  if (prior === undefined) return { payment };
  const newer = prior.statusAt === undefined || fact.at >= prior.statusAt;
  if (prior.reservation !== "held" || prior.status === fact.status || !newer)
    return { payment, refund: prior };
  return { payment, refund: { ...prior, status: fact.status, statusAt: fact.at } };
}

const BEFORE_AUTHORIZED: ReadonlySet<PaymentStatus> = new Set([
  "initiated",
  "requires_action",
  "processing",
  "failed",
]);
const CAPTURED_OR_LATER: ReadonlySet<PaymentStatus> = new Set([
  "captured",
  "partially_refunded",
  "refunded",
]);

/** The recorded changes between two states of one payment. */
export function changesBetween(before: Payment, after: Payment, refundId?: string): Change[] {
  const from = before.status;
  const to = after.status;
  const out: Change[] = [];
  if (to === "failed") {
    const newFailure =
      from !== "failed" || after.lifecycle.attemptAt !== before.lifecycle.attemptAt;
    if (newFailure) out.push({ status: "failed", event: "payment.failed" });
    return out;
  }
  if (to === from && !(CAPTURED_OR_LATER.has(to) && after.amountRefunded > before.amountRefunded))
    return out;
  if (to === "processing" || to === "requires_action" || to === "canceled" || to === "initiated") {
    if (to !== from) out.push({ status: to });
    return out;
  }
  if (to === "authorized") {
    if (BEFORE_AUTHORIZED.has(from))
      out.push({ status: "authorized", event: "payment.authorized" });
    return out;
  }
  // captured, partially_refunded, refunded
  const enteringCaptured = !CAPTURED_OR_LATER.has(from);
  if (enteringCaptured) {
    if (from !== "authorized") out.push({ status: "authorized", event: "payment.authorized" });
    out.push({ status: "captured", event: "payment.captured" });
  }
  // A refund that arrived before the capture was counted silently then; it is announced now.
  const refundedMore =
    after.amountRefunded > before.amountRefunded || (enteringCaptured && after.amountRefunded > 0);
  if (refundedMore && to !== "captured") {
    out.push({
      status: to,
      event: "payment.refunded",
      ...(refundId === undefined ? {} : { refundId }),
    });
  }
  return out;
}

/**
 * Applies one fact from Stripe to a payment. `prior` is what we hold for the refund a refund
 * fact is about (undefined if nothing). Pure: the caller writes the result.
 */
export function applyFact(payment: Payment, fact: StripeFact, prior?: RefundRecordState): Applied {
  if (fact.kind === "dispute") {
    const dispute = mergeDispute(payment.dispute, fact);
    const after: Payment = { ...payment, dispute };
    const changes: Change[] = [];
    if (payment.dispute === undefined) {
      changes.push({ status: after.status, event: "payment.disputed", dispute: dispute.status });
    }
    if (dispute.closed && payment.dispute?.closed !== true) {
      changes.push({
        status: after.status,
        event: "payment.dispute_closed",
        dispute: dispute.status,
      });
    }
    return { payment: after, changes, dirty: !samePayment(payment, after) };
  }
  if (fact.kind === "refund") {
    const result = applyRefund(payment, prior, fact);
    const after = result.payment;
    const refundChanged = JSON.stringify(result.refund) !== JSON.stringify(prior);
    return {
      payment: after,
      ...(result.refund === undefined ? {} : { refund: result.refund }),
      changes: changesBetween(payment, after, fact.refundId ?? fact.stripeRefundId),
      dirty: refundChanged || !samePayment(payment, after),
    };
  }
  const after = applyIntentOrCharge(payment, fact);
  return {
    payment: after,
    changes: changesBetween(payment, after),
    dirty: !samePayment(payment, after),
  };
}

/** Equal in everything Stripe facts can change. */
export function samePayment(a: Payment, b: Payment): boolean {
  return (
    a.status === b.status &&
    a.amountCaptured === b.amountCaptured &&
    a.amountRefunded === b.amountRefunded &&
    a.amountRefundPending === b.amountRefundPending &&
    a.failureCode === b.failureCode &&
    a.failureMessage === b.failureMessage &&
    JSON.stringify(a.lifecycle) === JSON.stringify(b.lifecycle) &&
    JSON.stringify(a.dispute) === JSON.stringify(b.dispute)
  );
}
