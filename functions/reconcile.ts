/**
 * Scheduled: re-syncs payments and refunds left open past RECONCILE_AFTER_SECONDS from Stripe.
 * Deployed on a schedule; locally on a timer in `npm start` and by `npm run reconcile`.
 */
import type { Context } from "aws-lambda";
import {
  count,
  countEvents,
  logger,
  METRICS,
  publishMetrics,
  startInvocation,
} from "../lib/observability.js";
import { clock, repository, storageConfig } from "../lib/runtime/storage.js";
import { provider } from "../lib/runtime/stripe.js";
import { type ReconcileSummary, reconcile } from "../lib/use-cases/reconcile.js";

/** Payments looked at per run; the rest wait for the next run. */
const BATCH = 100;

export const handler = async (_event?: unknown, context?: Context): Promise<ReconcileSummary> => {
  startInvocation(context);
  const summary = await reconcile(
    { repository, provider, clock, log: logger, onEvents: countEvents },
    { afterSeconds: storageConfig.RECONCILE_AFTER_SECONDS, limit: BATCH },
  );
  count(METRICS.reconciliationChanged, summary.changed);
  count(METRICS.reconciliationFailed, summary.failed);
  publishMetrics();
  // A run that looked at nothing is the common case (every few minutes): not worth a line.
  if (summary.looked > 0) logger.info("reconciliation", { ...summary });
  return summary;
};
