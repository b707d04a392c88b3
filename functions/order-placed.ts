/**
 * MSK trigger on `order.placed`: one payment per valid order (CONTRACT section 5). Records are
 * handled in order; a record that can never succeed is set aside as a dead letter (in the payments
 * table, where support lists, redrives and discards them) and the rest go
 * on; a transient failure fails the batch so MSK delivers it again (records already handled are
 * found and skipped, so a redelivery creates nothing).
 */

import type { Context } from "aws-lambda";
import { mskEventSchema, mskRecordSchema } from "../lib/domain/msk.js";
import { count, logger, METRICS, publishMetrics, startInvocation } from "../lib/observability.js";
import { clock, deadLetters, repository } from "../lib/runtime/storage.js";
import { provider } from "../lib/runtime/stripe.js";
import { handleOrderPlaced } from "../lib/use-cases/order-placed.js";

export interface OrderPlacedSummary {
  created: number;
  exists: number;
  deadLetters: number;
}

export const handler = async (event: unknown, context?: Context): Promise<OrderPlacedSummary> => {
  startInvocation(context);
  const summary: OrderPlacedSummary = { created: 0, exists: 0, deadLetters: 0 };
  try {
    // Not an MSK event at all: a wiring mistake, not a record to set aside. Fail loudly.
    const checkedEvent = mskEventSchema.safeParse(event);
    if (!checkedEvent.success) {
      throw new Error(`order-placed: not an MSK event (${checkedEvent.error.message})`);
    }
    const parsed = checkedEvent.data;
    for (const [topicPartition, records] of Object.entries(parsed.records)) {
      for (const raw of records) {
        const checked = mskRecordSchema.safeParse(raw);
        if (!checked.success) {
          summary.deadLetters++;
          await deadLetters.send({
            topic: topicPartition,
            partition: -1,
            offset: -1,
            value: JSON.stringify(raw),
            reason: "not an MSK record",
          });
          continue;
        }
        const record = checked.data;
        const { outcome } = await handleOrderPlaced(
          { repository, provider, clock, deadLetters },
          {
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            key: record.key,
            value: record.value,
          },
        );
        if (outcome === "created") summary.created++;
        else if (outcome === "exists") summary.exists++;
        else {
          summary.deadLetters++;
          logger.error("order.placed record set aside as a dead letter", {
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
          });
        }
      }
    }
    return summary;
  } finally {
    count(METRICS.orderPlacedPaymentCreated, summary.created);
    count(METRICS.orderPlacedDeadLetter, summary.deadLetters);
    publishMetrics();
  }
};
