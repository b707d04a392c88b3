/**
 * The payments table's stream (filtered to outbox INSERTs): each item's events to their Kafka
 * topics, in order. An item that cannot be sent is parked for the sweeper (the record succeeds);
 * only a record that cannot even be parked fails, and then the rest of the batch fails too, so an
 * order's later event is never published before its earlier one; Lambda retries from the first
 * failed record.
 */
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { outboxItemFromImage } from "../lib/adapters/dynamo-outbox.js";
import type { OutboxItem } from "../lib/domain/outbox.js";
import { count, logger, METRICS, publishMetrics, startInvocation } from "../lib/observability.js";
import { withDeadline } from "../lib/runtime/deadline.js";
import { publishDeps } from "../lib/runtime/kafka.js";
import { publishItem } from "../lib/use-cases/publish-outbox.js";

const processor = new BatchProcessor(EventType.DynamoDBStreams);

/** The ids of an item's events, for a log line. */
const eventIds = (item: OutboxItem) => item.events.map((e) => e.id).join(",");

/** The stream's image in the SDK's attribute-value shape (the Lambda types name it differently). */
function image(record: DynamoDBRecord): Record<string, AttributeValue> | undefined {
  const value: unknown = record.dynamodb?.NewImage;
  if (typeof value !== "object" || value === null) return undefined;
  return Object.fromEntries(Object.entries(value));
}

export const handler = async (event: DynamoDBStreamEvent, context: Context) => {
  startInvocation(context);
  let failedEarlier = false;
  // DynamoDB calls stop before the function's timeout: a record that fails is retried, not lost.
  const result = await withDeadline(context, () =>
    processPartialResponse(
      event,
      async (record: DynamoDBRecord) => {
        if (failedEarlier) throw new Error("an earlier record of this batch failed; keeping order");
        if (record.eventName !== "INSERT") return;
        const raw = image(record);
        const item = raw === undefined ? undefined : outboxItemFromImage(raw);
        if (item === undefined) return;
        try {
          const { outcome, error } = await publishItem(publishDeps, item);
          if (outcome === "published") count(METRICS.outboxPublished, item.events.length);
          if (outcome === "parked") {
            count(METRICS.outboxPublishFailed);
            logger.warn("outbox publish failed; parked for the sweeper", {
              eventIds: eventIds(item),
              error,
            });
          }
          if (outcome === "deferred") {
            count(METRICS.outboxPublishFailed);
            logger.warn(
              "outbox event parked for the sweeper: an earlier event of its payment is parked",
              { eventIds: eventIds(item), error },
            );
          }
        } catch (error) {
          failedEarlier = true;
          count(METRICS.outboxPublishFailed);
          logger.warn("outbox publish failed and could not be parked; the stream retries", {
            eventIds: eventIds(item),
            error: error instanceof Error ? error.message : String(error),
          });
          throw error;
        }
      },
      processor,
      { context, processInParallel: false },
    ),
  );
  publishMetrics();
  return result;
};
