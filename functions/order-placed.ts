/**
 * MSK trigger on `order.placed`: one payment per valid order (CONTRACT section 5). Records are
 * handled in order; a record that can never succeed goes to the dead-letter queue and the rest go
 * on; a transient failure fails the batch so MSK delivers it again (records already handled are
 * found and skipped, so a redelivery creates nothing).
 */

import { KafkaMskEventSchema } from "@aws-lambda-powertools/parser/schemas/kafka";
import { SQSClient } from "@aws-sdk/client-sqs";
import { SqsDeadLetters } from "../lib/adapters/sqs-dead-letters.js";
import { count, logger, METRICS, metrics } from "../lib/observability.js";
import { kafkaConfig } from "../lib/runtime/kafka.js";
import { clock, repository, storageConfig } from "../lib/runtime/storage.js";
import { provider } from "../lib/runtime/stripe.js";
import { handleOrderPlaced } from "../lib/use-cases/order-placed.js";

const queueUrl = kafkaConfig.ORDER_PLACED_DLQ_URL;
if (queueUrl === undefined) throw new Error("configuration ORDER_PLACED_DLQ_URL: missing");
const deadLetters = new SqsDeadLetters(
  new SQSClient({
    region: storageConfig.AWS_REGION,
    ...(kafkaConfig.SQS_ENDPOINT === undefined ? {} : { endpoint: kafkaConfig.SQS_ENDPOINT }),
  }),
  queueUrl,
);

export interface OrderPlacedSummary {
  created: number;
  exists: number;
  deadLetters: number;
}

export const handler = async (event: unknown): Promise<OrderPlacedSummary> => {
  const summary: OrderPlacedSummary = { created: 0, exists: 0, deadLetters: 0 };
  try {
    const parsed = KafkaMskEventSchema.parse(event);
    for (const records of Object.values(parsed.records)) {
      for (const record of records) {
        const outcome = await handleOrderPlaced(
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
    metrics.publishStoredMetrics();
  }
};
