/**
 * OutboxStore on the payments table: marking items published (they then expire by TTL a week
 * later) and finding the ones the stream has not delivered.
 */
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { type OutboxItem, parseOutboxItem } from "../domain/outbox.js";
import type { OutboxStore } from "../ports.js";
import { OUTBOX_SK_PREFIX, OUTBOX_WATCH } from "./dynamo-payment-repository.js";

/** Published events stay readable this long, for operators, then TTL removes them. */
const KEEP_PUBLISHED_SECONDS = 7 * 24 * 3600;

export class DynamoOutbox implements OutboxStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async markPublished(item: Pick<OutboxItem, "pk" | "sk">, now: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: item.pk, sk: item.sk },
          UpdateExpression:
            "SET publishedAt = if_not_exists(publishedAt, :now), expiresAt = :expires REMOVE watch, watchAt",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: {
            ":now": now,
            ":expires": Math.floor(Date.parse(now) / 1000) + KEEP_PUBLISHED_SECONDS,
          },
        }),
      );
    } catch (error) {
      // Already gone (expired): nothing to mark.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async unpublishedUpTo(item: Pick<OutboxItem, "pk" | "sk">): Promise<OutboxItem[]> {
    // Outbox sort keys order by the payment's version, then by the event's index in it.
    const out: OutboxItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :first AND :item",
          FilterExpression: "attribute_not_exists(publishedAt)",
          ExpressionAttributeValues: {
            ":pk": item.pk,
            ":first": OUTBOX_SK_PREFIX,
            ":item": item.sk,
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const found of page.Items ?? []) {
        const parsed = parseOutboxItem(found);
        if (parsed !== undefined) out.push(parsed);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return out;
  }

  async due(now: string, limit: number): Promise<OutboxItem[]> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: "byWatch",
        KeyConditionExpression: "watch = :outbox AND watchAt <= :now",
        ExpressionAttributeValues: { ":outbox": OUTBOX_WATCH, ":now": now },
        Limit: limit,
      }),
    );
    const out: OutboxItem[] = [];
    for (const key of Items) {
      const { Item } = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: key.pk, sk: key.sk },
          ConsistentRead: true,
        }),
      );
      const parsed = parseOutboxItem(Item);
      if (parsed !== undefined && parsed.publishedAt === undefined) out.push(parsed);
    }
    return out;
  }
}
