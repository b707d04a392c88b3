/** Scheduled: publishes outbox events the stream has not delivered (after a long broker outage). */
import type { Context } from "aws-lambda";
import { count, logger, METRICS, publishMetrics, startInvocation } from "../lib/observability.js";
import { publishDeps } from "../lib/runtime/kafka.js";
import { type SweepSummary, sweepOutbox } from "../lib/use-cases/publish-outbox.js";

const BATCH = 500;

export const handler = async (_event?: unknown, context?: Context): Promise<SweepSummary> => {
  startInvocation(context);
  const summary = await sweepOutbox(publishDeps, BATCH);
  count(METRICS.outboxSwept, summary.published);
  // An unreadable item is an event that will never go out: it counts as a failure (alarmed).
  count(METRICS.outboxPublishFailed, summary.failed + summary.unreadable.length);
  publishMetrics();
  if (summary.unreadable.length > 0) {
    logger.error("outbox items unreadable, set aside (watch = outbox-unreadable)", {
      items: summary.unreadable,
    });
  }
  if (summary.published > 0 || summary.failed > 0) {
    logger.info("outbox sweep", { published: summary.published, failed: summary.failed });
  }
  return summary;
};
