/**
 * Reconciliation: payments and refunds left open past a quiet period are re-read from Stripe and
 * brought up to date through the same merge as webhooks (history source `reconciliation`), so a
 * webhook that never arrives cannot leave a payment wrong. A held refund that Stripe never made
 * (its request died before reaching Stripe, and nobody retried) is released. A payment whose
 * customer has not paid within the checkout window is canceled at Stripe (abandoned).
 */

import { type AuditAction, type AuditContext, auditEntry, SYSTEM_ACTORS } from "../domain/audit.js";
import { PaymentNotFoundError, ProviderRejectedError } from "../domain/errors.js";
import { isPaymentId } from "../domain/ids.js";
import type { StripeFact } from "../domain/lifecycle.js";
import type { Payment } from "../domain/payment.js";
import { abandonAt, isAbandoned, needsWatching } from "../domain/reconciliation.js";
import type { Clock, PaymentProvider, PaymentRepository } from "../ports.js";
import { type ApplyFactsDeps, applyStripeFacts } from "./apply-stripe-facts.js";

export interface ReconcileDeps {
  readonly repository: PaymentRepository;
  readonly provider: PaymentProvider;
  readonly clock: Clock;
  readonly onEvents?: ApplyFactsDeps["onEvents"];
  readonly log?: { error(message: string, extra: Record<string, unknown>): void };
}

export interface ReconcileOptions {
  /** Quiet seconds before a payment or held refund counts as stuck. */
  readonly afterSeconds: number;
  /** Payments looked at in one run. */
  readonly limit: number;
}

export interface ReconcileSummary {
  looked: number;
  changed: number;
  refundsReleased: number;
  /** PaymentIntents canceled because their customer never paid. */
  abandoned: number;
  failed: number;
}

export async function reconcile(
  deps: ReconcileDeps,
  options: ReconcileOptions,
): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = {
    looked: 0,
    changed: 0,
    refundsReleased: 0,
    abandoned: 0,
    failed: 0,
  };
  const now = deps.clock.now();
  for (const paymentId of await deps.repository.dueForReconciliation(now, options.limit)) {
    summary.looked++;
    try {
      const result = await reconcileOne(
        { ...deps, context: { actor: SYSTEM_ACTORS.reconciliation }, action: "reconciliation.run" },
        options,
        paymentId,
        now,
      );
      if (result.changed) summary.changed++;
      if (result.abandoned) summary.abandoned++;
      summary.refundsReleased += result.released;
    } catch (error) {
      summary.failed++;
      deps.log?.error("reconciliation failed for a payment", {
        paymentId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  return summary;
}

/** Who looks (the schedule, or a support agent asking now), for history and audit. */
interface LookDeps extends ReconcileDeps {
  readonly context: AuditContext;
  readonly action: AuditAction;
}

/**
 * `POST /api/payments/{id}/reconcile`: one payment re-read from Stripe now, through the same
 * merge as the schedule. The look is on record even when it changed nothing.
 */
export async function reconcilePaymentNow(
  deps: ReconcileDeps,
  options: Pick<ReconcileOptions, "afterSeconds">,
  paymentId: string,
  context: AuditContext,
): Promise<Payment> {
  if (!isPaymentId(paymentId) || (await deps.repository.get(paymentId)) === undefined)
    throw new PaymentNotFoundError("No such payment.");
  const now = deps.clock.now();
  const look: LookDeps = { ...deps, context, action: "payment.reconcile" };
  const result = await reconcileOne(look, { ...options, limit: 1 }, paymentId, now);
  if (!result.changed || result.released > 0) {
    await deps.repository.recordAudit(
      paymentId,
      auditEntry(context, now, "payment.reconcile", result.changed ? "applied" : "unchanged", {
        detail: { refundsReleased: result.released },
      }),
    );
  }
  const after = await deps.repository.get(paymentId);
  if (after === undefined) throw new PaymentNotFoundError("No such payment.");
  return after;
}

async function reconcileOne(
  deps: LookDeps,
  options: ReconcileOptions,
  paymentId: string,
  now: string,
): Promise<{ changed: boolean; released: number; abandoned: boolean }> {
  const before = await deps.repository.get(paymentId);
  if (before === undefined) return { changed: false, released: 0, abandoned: false };
  const intent = await deps.provider.retrieveIntent(before.stripePaymentIntentId);
  const facts: StripeFact[] = [intent.fact];
  const mayHaveRefunds =
    before.amountRefundPending > 0 || before.amountCaptured > 0 || intent.fact.amountReceived > 0;
  const stripeRefunds = mayHaveRefunds
    ? await deps.provider.listRefunds(before.stripePaymentIntentId)
    : [];
  facts.push(...stripeRefunds);
  const outcome = await applyStripeFacts(deps, {
    paymentId,
    facts,
    actor: deps.context.actor,
    audit: auditEntry(deps.context, deps.clock.now(), deps.action, "applied", {
      detail: { paymentIntentStatus: intent.fact.status },
    }),
  });
  const merged = outcome.result === "duplicate_event" ? before : outcome.payment;
  const abandoned = isAbandoned(merged, intent.fact.status, now) && (await abandon(deps, merged));

  let released = 0;
  const atStripe = new Set(stripeRefunds.map((r) => r.refundId));
  const cutoff = Date.parse(now) - options.afterSeconds * 1000;
  for (const refund of await deps.repository.listRefunds(paymentId)) {
    const stuck =
      refund.reservation === "held" &&
      !atStripe.has(refund.id) &&
      Date.parse(refund.createdAt) <= cutoff;
    if (stuck) {
      await deps.repository.releaseRefund(refund, "canceled", now);
      released++;
    }
  }

  const after = (await deps.repository.get(paymentId)) ?? before;
  if (needsWatching(after)) {
    // Quiet for a while already: wait as long again before the next look (at most a day), but
    // look again when the checkout window closes.
    const quietMs = Math.max(
      options.afterSeconds * 1000,
      Date.parse(now) - Date.parse(after.updatedAt),
    );
    let next = Date.parse(now) + Math.min(quietMs, 86_400_000);
    const deadline = abandonAt(after);
    if (deadline !== undefined && Date.parse(deadline) > Date.parse(now))
      next = Math.min(next, Date.parse(deadline));
    await deps.repository.setWatch(paymentId, new Date(next).toISOString(), after.version);
  } else {
    await deps.repository.setWatch(paymentId, undefined, after.version);
  }
  return {
    changed: outcome.result === "applied" || released > 0 || abandoned,
    released,
    abandoned,
  };
}

/**
 * Cancels the PaymentIntent of a payment whose customer never paid, and applies Stripe's answer
 * (canceled). Keyed by the payment and its latest attempt: a retry after a lost answer replays
 * the same cancel, while a newer attempt is not answered with an older refusal. If Stripe refuses,
 * the PaymentIntent moved on meanwhile (the customer paid just now): its fresh state is applied
 * instead. Whether the PaymentIntent was canceled.
 */
async function abandon(deps: LookDeps, payment: Payment): Promise<boolean> {
  const pi = payment.stripePaymentIntentId;
  let fact: StripeFact;
  let canceled = false;
  try {
    fact = await deps.provider.cancelPaymentIntent(
      pi,
      `abandon:${payment.id}:${payment.lifecycle.attemptAt}`,
      "abandoned",
    );
    canceled = true;
  } catch (error) {
    if (!(error instanceof ProviderRejectedError)) throw error;
    fact = (await deps.provider.retrieveIntent(pi)).fact;
  }
  await applyStripeFacts(deps, {
    paymentId: payment.id,
    facts: [fact],
    actor: deps.context.actor,
    audit: auditEntry(deps.context, deps.clock.now(), deps.action, "applied", {
      detail: { abandoned: canceled ? "canceled at Stripe" : "paid meanwhile" },
    }),
  });
  return canceled;
}
