/**
 * Scheduled: parks the outbox items of stream batches Lambda gave up on (its failure bucket), then
 * publishes parked outbox events (the publisher could not send them: a broker outage, say).
 */
import type { Context } from "aws-lambda";
import { DiscardedBatches } from "../lib/adapters/discarded-batches.js";
import { outboxFailureSettings, parseSettings } from "../lib/config.js";
import { count, logger, METRICS, publishMetrics, startInvocation } from "../lib/observability.js";
import { publishDeps } from "../lib/runtime/kafka.js";
import { storageConfig } from "../lib/runtime/storage.js";
import {
  type RecoverySummary,
  recoverDiscarded,
  type SweepSummary,
  sweepOutbox,
} from "../lib/use-cases/publish-outbox.js";

const BATCH = 500;
/** Failure objects taken up per run (each one discarded stream batch, up to 25 records). */
const FAILURE_OBJECTS = 100;

const failureConfig = parseSettings(outboxFailureSettings, process.env);
const discarded =
  failureConfig.OUTBOX_FAILURE_BUCKET === undefined
    ? undefined
    : DiscardedBatches.create(failureConfig.OUTBOX_FAILURE_BUCKET, {
        region: storageConfig.AWS_REGION,
        endpoint: failureConfig.S3_ENDPOINT,
      });

export interface SweepResult extends SweepSummary {
  /** From the failure bucket: items parked, objects that could not be read. */
  readonly discarded: RecoverySummary;
}

export const handler = async (_event?: unknown, context?: Context): Promise<SweepResult> => {
  startInvocation(context);
  const recovered =
    discarded === undefined
      ? { recovered: 0, unreadable: [] }
      : await recoverDiscarded(publishDeps, discarded, FAILURE_OBJECTS);
  const summary = await sweepOutbox(publishDeps, BATCH);
  count(METRICS.outboxSwept, summary.published);
  // An unreadable item is an event that will never go out, and a recovered one is one the stream
  // could not deliver: both count as failures (alarmed).
  count(
    METRICS.outboxPublishFailed,
    summary.failed + summary.unreadable.length + recovered.recovered + recovered.unreadable.length,
  );
  publishMetrics();
  if (summary.unreadable.length > 0) {
    logger.error("outbox items unreadable, set aside (watch = outbox-unreadable)", {
      items: summary.unreadable,
    });
  }
  if (recovered.unreadable.length > 0) {
    logger.error("discarded stream batches unreadable, left in the failure bucket", {
      keys: recovered.unreadable,
    });
  }
  if (recovered.recovered > 0) {
    logger.warn("outbox items recovered from discarded stream batches, parked", {
      items: recovered.recovered,
    });
  }
  if (summary.published > 0 || summary.failed > 0) {
    logger.info("outbox sweep", { published: summary.published, failed: summary.failed });
  }
  return { ...summary, discarded: recovered };
};
