/**
 * Refund a captured payment, never beyond what remains, whatever runs concurrently.
 *
 *   1. read the payment, decide (409 not refundable / 422 exceeds remaining)
 *   2. reserve the amount and write the refund, version-checked (on conflict: read, decide again)
 *   3. ask Stripe, keyed by the refund id (a retry reaches the same Stripe refund)
 *   4. Stripe refused (4xx)               -> release the reservation (`failed`): refused for good
 *      Stripe did nothing (429)            -> release it (`canceled`): the same key may try again
 *      Stripe may have acted (timeout, 5xx) -> keep it held and answer 503: a retry with the same
 *      Idempotency-Key resumes at step 3; the charge.refunded webhook or reconciliation settles it
 *
 * The held amount moves to `amountRefunded` when Stripe confirms the refund (webhook).
 */
import { randomInt } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { type AuditContext, type AuditEntry, auditEntry, withOutcome } from "../domain/audit.js";
import {
  ConcurrentUpdateError,
  IdempotencyKeyReusedError,
  PaymentDisputedError,
  PaymentNotFoundError,
  PaymentNotRefundableError,
  ProviderRejectedError,
  ProviderUnavailableError,
  RefundExceedsRemainingError,
} from "../domain/errors.js";
import { isPaymentId } from "../domain/ids.js";
import type { Payment } from "../domain/payment.js";
import { decideRefund, type Refund, type RefundReason } from "../domain/refunds.js";
import type { Clock, PaymentProvider, PaymentRepository } from "../ports.js";

export interface RefundInput {
  readonly paymentId: string;
  readonly refundId: string;
  readonly amount?: number | undefined;
  readonly reason?: RefundReason | undefined;
  /** The caller and request, for the audit trail. */
  readonly context: AuditContext;
}

export interface RefundDeps {
  readonly repository: PaymentRepository;
  readonly provider: PaymentProvider;
  readonly clock: Clock;
  /** Attempts at the version-checked reservation before giving up with 409 concurrent_update. */
  readonly maxAttempts?: number;
}

export async function refundPayment(deps: RefundDeps, input: RefundInput): Promise<Refund> {
  const { held, payment, audit: written } = await reserve(deps, input);
  // A retry resuming an earlier try gets an entry of its own; a new refund's was written with it.
  const audit =
    written ??
    auditEntry(input.context, deps.clock.now(), "payment.refund", "resumed", {
      reason: input.reason,
      detail: { refundId: held.id, amount: held.amount },
    });
  const finish = async (outcome: string, detail: Record<string, string | number> = {}) => {
    await deps.repository.recordAudit(payment.id, withOutcome(audit, outcome, detail));
  };
  if (held.stripeRefundId !== undefined) {
    // An earlier try already reached Stripe.
    await finish(`resumed:${held.status}`, { stripeRefundId: held.stripeRefundId });
    return held;
  }

  try {
    const stripeRefund = await deps.provider.createRefund(
      {
        paymentIntentId: payment.stripePaymentIntentId,
        amount: held.amount,
        reason: held.reason,
        // Stripe's refund events carry both back: `refund_id` names our record, `payment_id` the
        // payment (how the webhook finds it without a PaymentIntent → payment item).
        metadata: { payment_id: payment.id, refund_id: held.id },
      },
      `refund:${held.id}`,
    );
    const recorded = await deps.repository.recordProviderRefund(
      held,
      stripeRefund.id,
      stripeRefund.status,
      deps.clock.now(),
    );
    await finish(recorded.status === "succeeded" ? "succeeded" : `accepted:${recorded.status}`, {
      stripeRefundId: stripeRefund.id,
    });
    return recorded;
  } catch (error) {
    const certainNothingHappened =
      error instanceof ProviderRejectedError ||
      (error instanceof ProviderUnavailableError && !error.mayHaveExecuted);
    if (certainNothingHappened) {
      // The caller must learn Stripe's answer even if the release fails (reconciliation then
      // releases the refund later), so a release failure never replaces it. A refusal is final
      // (`failed`); a request Stripe did not take (`canceled`) may be held again by a retry.
      const status = error instanceof ProviderRejectedError ? "failed" : "canceled";
      await deps.repository.releaseRefund(held, status, deps.clock.now()).catch(() => undefined);
    }
    // The audit entry must not hide Stripe's answer either.
    const outcome =
      error instanceof ProviderRejectedError
        ? `refused:${error.providerCode ?? "provider_rejected"}`
        : error instanceof ProviderUnavailableError
          ? error.mayHaveExecuted
            ? "uncertain:provider_unavailable"
            : "not_sent:provider_unavailable"
          : "error";
    await finish(outcome).catch(() => undefined);
    if (error instanceof ProviderRejectedError) {
      if (error.providerCode === "amount_too_large") throw new RefundExceedsRemainingError(0);
      if (error.providerCode === "charge_disputed") {
        // Stripe knows of a dispute whose webhook has not reached us yet.
        throw new PaymentDisputedError("Stripe refused the refund: the charge is disputed.", {
          cause: error,
        });
      }
      throw new PaymentNotRefundableError(
        `Stripe refused the refund (${error.providerCode ?? "no code"}).`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

async function reserve(
  deps: RefundDeps,
  input: RefundInput,
): Promise<{ held: Refund; payment: Payment; audit?: AuditEntry }> {
  const maxAttempts = deps.maxAttempts ?? 40;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const payment = isPaymentId(input.paymentId)
      ? await deps.repository.get(input.paymentId)
      : undefined;
    if (payment === undefined) throw new PaymentNotFoundError("No such payment.");

    const decision = decideRefund(payment, input.amount);
    if (!decision.ok) {
      // An earlier try of this very request may be what used the remainder up: resume it.
      const earlier = await deps.repository.getRefund(payment.id, input.refundId);
      const resumed = earlier === undefined ? undefined : resumable(earlier, input);
      if (resumed !== undefined) return { held: resumed, payment };
      const refusal =
        decision.reason === "exceeds_remaining"
          ? new RefundExceedsRemainingError(decision.remaining)
          : decision.reason === "disputed"
            ? new PaymentDisputedError(
                payment.dispute?.status === "lost"
                  ? "The payment's dispute was lost: the cardholder already has the money back."
                  : "The payment's charge is disputed: no refund while the dispute is open.",
              )
            : new PaymentNotRefundableError(
                "This payment has nothing left to refund, or is not captured.",
              );
      await deps.repository.recordAudit(
        payment.id,
        auditEntry(input.context, deps.clock.now(), "payment.refund", `refused:${refusal.code}`, {
          reason: input.reason,
          detail: {
            ...(input.amount === undefined ? {} : { amount: input.amount }),
            status: payment.status,
          },
        }),
      );
      throw refusal;
    }
    const now = deps.clock.now();
    const refund: Refund = {
      id: input.refundId,
      paymentId: payment.id,
      amount: decision.amount,
      ...(input.reason === undefined ? {} : { reason: input.reason }),
      status: "pending",
      reservation: "held",
      createdAt: now,
      updatedAt: now,
    };
    const audit = auditEntry(input.context, now, "payment.refund", "held", {
      reason: input.reason,
      detail: { refundId: refund.id, amount: refund.amount },
    });
    const result = await deps.repository.reserveRefund(payment, refund, audit);
    if (result.outcome === "reserved") return { held: result.refund, payment, audit };
    if (result.outcome === "exists") {
      const resumed = resumable(result.refund, input);
      if (resumed !== undefined) return { held: resumed, payment };
    }
    // Someone changed the payment since we read it: back off a little, then decide again.
    await delay(randomInt(2, 10 + attempt * 5));
  }
  throw new ConcurrentUpdateError("The payment is being changed by many requests at once; retry.");
}

/**
 * An earlier try of this same request left this refund: continue it, if it is the same request.
 * Undefined: it never reached Stripe and was released, so it is to be decided and held afresh.
 */
function resumable(earlier: Refund, input: RefundInput): Refund | undefined {
  const sameAmount = input.amount === undefined || input.amount === earlier.amount;
  if (!sameAmount || input.reason !== earlier.reason) {
    throw new IdempotencyKeyReusedError(
      "This Idempotency-Key was already used for a different refund.",
    );
  }
  if (earlier.reservation === "released") {
    if (earlier.status === "canceled") return undefined;
    throw new PaymentNotRefundableError("An earlier try of this refund was refused.");
  }
  return earlier;
}
