/**
 * Capture or cancel a manual-capture payment. Stripe is asked first (keyed by our operation id,
 * so a retry reaches the same capture or cancellation), and its answer is applied through the
 * same merge as a webhook, so the payment shows the outcome at once and the webhook that
 * follows changes nothing.
 */

import { type AuditContext, type AuditEntry, auditEntry, withOutcome } from "../domain/audit.js";
import {
  CaptureExceedsAuthorizedError,
  ConcurrentUpdateError,
  DomainError,
  PaymentNotCancelableError,
  PaymentNotCapturableError,
  PaymentNotFoundError,
  ProviderRejectedError,
  ProviderUnavailableError,
} from "../domain/errors.js";
import { isPaymentId } from "../domain/ids.js";
import type { Payment } from "../domain/payment.js";
import type { Clock, PaymentProvider, PaymentRepository } from "../ports.js";
import { type ApplyFactsDeps, applyStripeFacts } from "./apply-stripe-facts.js";

export interface CaptureCancelDeps {
  readonly repository: PaymentRepository;
  readonly provider: PaymentProvider;
  readonly clock: Clock;
  readonly onEvents?: ApplyFactsDeps["onEvents"];
}

async function load(deps: CaptureCancelDeps, paymentId: string): Promise<Payment> {
  const payment = isPaymentId(paymentId) ? await deps.repository.get(paymentId) : undefined;
  if (payment === undefined) throw new PaymentNotFoundError("No such payment.");
  return payment;
}

async function settle(
  deps: CaptureCancelDeps,
  payment: Payment,
  fact: Awaited<ReturnType<PaymentProvider["capturePaymentIntent"]>>,
  context: AuditContext,
  audit?: AuditEntry,
) {
  const outcome = await applyStripeFacts(deps, {
    paymentId: payment.id,
    facts: [fact],
    actor: context.actor,
    ...(audit === undefined ? {} : { audit }),
  });
  if (outcome.result === "duplicate_event") throw new Error("unreachable: no event id was given");
  // Nothing changed (a webhook was first): the operation is still on record.
  if (outcome.result === "unchanged" && audit !== undefined)
    await deps.repository.recordAudit(payment.id, audit);
  return outcome.payment;
}

/** Runs `act`; a refusal is recorded in the audit trail before it reaches the caller. */
async function audited<T>(
  deps: CaptureCancelDeps,
  payment: Payment,
  entry: AuditEntry,
  act: () => Promise<T>,
): Promise<T> {
  try {
    return await act();
  } catch (error) {
    if (error instanceof DomainError) {
      // Unavailable or contended: it may be tried again; anything else is a refusal.
      const kind =
        error instanceof ProviderUnavailableError || error instanceof ConcurrentUpdateError
          ? "failed"
          : "refused";
      await deps.repository
        .recordAudit(payment.id, withOutcome(entry, `${kind}:${error.code}`))
        .catch(() => undefined);
    }
    throw error;
  }
}

/** Captures `amount` (default: all that is authorized) of an authorized payment. */
export async function capturePayment(
  deps: CaptureCancelDeps,
  input: {
    paymentId: string;
    operationId: string;
    amount?: number | undefined;
    context: AuditContext;
  },
): Promise<Payment> {
  const loaded = await load(deps, input.paymentId);
  const entry = auditEntry(input.context, deps.clock.now(), "payment.capture", "succeeded", {
    detail: {
      operationId: input.operationId,
      ...(input.amount === undefined ? {} : { amount: input.amount }),
    },
  });
  return await audited(deps, loaded, entry, () => capture(deps, loaded, input, entry));
}

async function capture(
  deps: CaptureCancelDeps,
  loaded: Payment,
  input: { operationId: string; amount?: number | undefined; context: AuditContext },
  entry: AuditEntry,
): Promise<Payment> {
  let payment = loaded;
  if (
    payment.status === "initiated" ||
    payment.status === "requires_action" ||
    payment.status === "processing"
  ) {
    // The authorization webhook may still be on its way: ask Stripe before refusing.
    payment = await settle(
      deps,
      payment,
      (await deps.provider.retrieveIntent(payment.stripePaymentIntentId)).fact,
      input.context,
    );
  }
  // Captured already: maybe by this very request, whose answer was lost. Stripe knows: the same
  // idempotency key replays that capture, any other is refused (and answered 409 below).
  const maybeOurs = payment.captureMethod === "manual" && CAPTURED.has(payment.status);
  if (payment.status !== "authorized" && !maybeOurs) {
    throw new PaymentNotCapturableError(
      `Only an authorized payment can be captured; this one is ${payment.status}.`,
    );
  }
  const authorized =
    payment.lifecycle.amountCapturable > 0 ? payment.lifecycle.amountCapturable : payment.amount;
  if (!maybeOurs && input.amount !== undefined && input.amount > authorized)
    throw new CaptureExceedsAuthorizedError(authorized);
  try {
    const fact = await deps.provider.capturePaymentIntent(
      payment.stripePaymentIntentId,
      input.amount,
      `capture:${input.operationId}`,
    );
    return await settle(deps, payment, fact, input.context, entry);
  } catch (error) {
    if (error instanceof ProviderRejectedError) {
      throw new PaymentNotCapturableError(
        `Stripe refused the capture (${error.providerCode ?? "no code"}).`,
        { cause: error },
      );
    }
    throw error;
  }
}

const CANCELABLE = new Set(["initiated", "requires_action", "processing", "failed", "authorized"]);
const CAPTURED = new Set(["captured", "partially_refunded", "refunded"]);

/** Cancels a payment that is not captured: its PaymentIntent can then never be paid. */
export async function cancelPayment(
  deps: CaptureCancelDeps,
  input: { paymentId: string; operationId: string; context: AuditContext },
): Promise<Payment> {
  const payment = await load(deps, input.paymentId);
  const entry = auditEntry(input.context, deps.clock.now(), "payment.cancel", "succeeded", {
    detail: { operationId: input.operationId },
  });
  return await audited(deps, payment, entry, () => cancel(deps, payment, input, entry));
}

async function cancel(
  deps: CaptureCancelDeps,
  payment: Payment,
  input: { operationId: string; context: AuditContext },
  entry: AuditEntry,
): Promise<Payment> {
  // Canceled already: maybe by this very request (its answer lost); Stripe's idempotency knows.
  if (!CANCELABLE.has(payment.status) && payment.status !== "canceled") {
    throw new PaymentNotCancelableError(`A ${payment.status} payment cannot be canceled.`);
  }
  try {
    const fact = await deps.provider.cancelPaymentIntent(
      payment.stripePaymentIntentId,
      `cancel:${input.operationId}`,
      "requested_by_customer",
    );
    return await settle(deps, payment, fact, input.context, entry);
  } catch (error) {
    if (error instanceof ProviderRejectedError) {
      throw new PaymentNotCancelableError(
        `Stripe refused the cancellation (${error.providerCode ?? "no code"}).`,
        { cause: error },
      );
    }
    throw error;
  }
}
