/**
 * Scheduled jobs (EventBridge Scheduler through SST's CronV2):
 * - `reconcile` every 5 minutes: re-syncs payments and refunds left open from Stripe.
 * - `sweep-outbox` every 5 minutes: parks the outbox items of stream batches the mapping gave up
 *   on (the `OutboxFailures` bucket), then publishes parked outbox events (see infra/events.ts).
 * Each run finishes within the interval (timeouts below 5 minutes), so runs do not overlap.
 */
import { tableEnvironment } from "./api.js";
import { kafkaProducer } from "./events.js";
import { functionDefaults, handlerPath, type StageSettings } from "./functions.js";
import type { Secrets } from "./secrets.js";
import type { Storage } from "./storage.js";

export const RECONCILE_SCHEDULE = "rate(5 minutes)";
export const SWEEP_OUTBOX_SCHEDULE = "rate(5 minutes)";

export function createJobs(
  settings: StageSettings,
  storage: Storage,
  secrets: Secrets,
  outboxFailures: sst.aws.Bucket,
) {
  const reconcile = new sst.aws.CronV2("Reconcile", {
    schedule: RECONCILE_SCHEDULE,
    function: {
      ...functionDefaults(settings),
      handler: handlerPath("reconcile"),
      memory: "512 MB",
      timeout: "4 minutes",
      link: [storage.payments, secrets.stripeSecretKey],
      environment: tableEnvironment(settings, storage),
    },
  });

  const producer = kafkaProducer(settings.kafka);
  const sweepOutbox = new sst.aws.CronV2("SweepOutbox", {
    schedule: SWEEP_OUTBOX_SCHEDULE,
    function: {
      ...functionDefaults(settings),
      handler: handlerPath("sweep-outbox"),
      memory: "512 MB",
      timeout: "4 minutes",
      // The bucket link grants reading and deleting the failure objects.
      link: [storage.payments, outboxFailures],
      environment: {
        ...tableEnvironment(settings, storage),
        ...producer.environment,
        OUTBOX_FAILURE_BUCKET: outboxFailures.name,
      },
      permissions: producer.permissions,
      ...(producer.vpc === undefined ? {} : { vpc: producer.vpc }),
    },
  });

  return { reconcile, sweepOutbox };
}
