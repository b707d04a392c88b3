/**
 * Scheduled: re-syncs payments and refunds left open past RECONCILE_AFTER_SECONDS from Stripe.
 * Deployed on a schedule; locally on a timer in `npm start` and by `npm run reconcile`.
 */
import { count, countEvents, logger, METRICS, metrics } from "../lib/observability.js";
import { clock, repository, storageConfig } from "../lib/runtime/storage.js";
import { provider } from "../lib/runtime/stripe.js";
import { type ReconcileSummary, reconcile } from "../lib/use-cases/reconcile.js";

/** Payments looked at per run; the rest wait for the next run. */
const BATCH = 100;

export const handler = async (): Promise<ReconcileSummary> => {
  const summary = await reconcile(
    { repository, provider, clock, log: logger, onEvents: countEvents },
    { afterSeconds: storageConfig.RECONCILE_AFTER_SECONDS, limit: BATCH },
  );
  count(METRICS.reconciliationChanged, summary.changed);
  count(METRICS.reconciliationFailed, summary.failed);
  metrics.publishStoredMetrics();
  logger.info("reconciliation", { ...summary });
  return summary;
};
