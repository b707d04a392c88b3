/**
 * Reconciliation: payments and refunds left open past a quiet period are re-read from Stripe and
 * brought up to date through the same merge as webhooks (history source `reconciliation`), so a
 * webhook that never arrives cannot leave a payment wrong. A held refund that Stripe never made
 * (its request died before reaching Stripe, and nobody retried) is released.
 */

import type { StripeFact } from "../domain/lifecycle.js";
import { needsWatching } from "../domain/reconciliation.js";
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
  failed: number;
}

export async function reconcile(
  deps: ReconcileDeps,
  options: ReconcileOptions,
): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = { looked: 0, changed: 0, refundsReleased: 0, failed: 0 };
  const now = deps.clock.now();
  for (const paymentId of await deps.repository.dueForReconciliation(now, options.limit)) {
    summary.looked++;
    try {
      const result = await reconcileOne(deps, options, paymentId, now);
      if (result.changed) summary.changed++;
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

async function reconcileOne(
  deps: ReconcileDeps,
  options: ReconcileOptions,
  paymentId: string,
  now: string,
): Promise<{ changed: boolean; released: number }> {
  const before = await deps.repository.get(paymentId);
  if (before === undefined) return { changed: false, released: 0 };
  const intent = await deps.provider.retrieveIntent(before.stripePaymentIntentId);
  const facts: StripeFact[] = [intent.fact];
  const mayHaveRefunds =
    before.amountRefundPending > 0 || before.amountCaptured > 0 || intent.fact.amountReceived > 0;
  const stripeRefunds = mayHaveRefunds
    ? await deps.provider.listRefunds(before.stripePaymentIntentId)
    : [];
  facts.push(...stripeRefunds);
  const outcome = await applyStripeFacts(deps, { paymentId, facts, source: "reconciliation" });

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
  if (needsWatching(after, now)) {
    // Quiet for a while already: wait as long again before the next look (at most a day).
    const quietMs = Math.max(
      options.afterSeconds * 1000,
      Date.parse(now) - Date.parse(after.updatedAt),
    );
    await deps.repository.setWatch(
      paymentId,
      new Date(Date.parse(now) + Math.min(quietMs, 86_400_000)).toISOString(),
      after.version,
    );
  } else {
    await deps.repository.setWatch(paymentId, undefined, after.version);
  }
  return { changed: outcome.result === "applied" || released > 0, released };
}
