/**
 * OutboxStore on the payments table: marking items published (they then expire by TTL a week
 * later), finding the ones the stream has not delivered, and reading the stream's outbox items.
 */
import { type AttributeValue, ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { OutboxItem, OutboxItemId } from "../domain/outbox.js";
import type { DueOutbox, OutboxStore } from "../ports.js";
import { readOutboxItem } from "./dynamo-codecs.js";
import {
  OUTBOX_SK_PREFIX,
  OUTBOX_UNREADABLE_WATCH,
  OUTBOX_WATCH,
  outboxKey,
} from "./dynamo-keys.js";

/** Published events stay readable this long, for operators, then TTL removes them. */
const KEEP_PUBLISHED_SECONDS = 7 * 24 * 3600;

/**
 * The outbox item a stream record's new image (in attribute-value form) is, if it is one
 * (anything else on the table's stream is not ours to publish).
 */
export function outboxItemFromImage(image: Record<string, AttributeValue>): OutboxItem | undefined {
  return readOutboxItem(unmarshall(image));
}

export class DynamoOutbox implements OutboxStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async markPublished(item: OutboxItemId, now: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: outboxKey(item),
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

  async unpublishedUpTo(item: OutboxItemId): Promise<OutboxItem[]> {
    // Outbox sort keys order by the payment's version, then by the event's index in it.
    const { pk, sk } = outboxKey(item);
    const out: OutboxItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :first AND :item",
          FilterExpression: "attribute_not_exists(publishedAt)",
          ExpressionAttributeValues: {
            ":pk": pk,
            ":first": OUTBOX_SK_PREFIX,
            ":item": sk,
          },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const found of page.Items ?? []) {
        const parsed = readOutboxItem(found);
        if (parsed !== undefined) out.push(parsed);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return out;
  }

  async due(now: string, limit: number): Promise<DueOutbox> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: "byWatch",
        KeyConditionExpression: "watch = :outbox AND watchAt <= :now",
        ExpressionAttributeValues: { ":outbox": OUTBOX_WATCH, ":now": now },
        Limit: limit,
      }),
    );
    const items: OutboxItem[] = [];
    const unreadable: string[] = [];
    for (const key of Items) {
      const { Item } = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk: key.pk, sk: key.sk },
          ConsistentRead: true,
        }),
      );
      // Gone since the index was read (expired): nothing to do.
      if (Item === undefined) continue;
      const parsed = readOutboxItem(Item);
      if (parsed === undefined) {
        unreadable.push(`${String(Item.pk)} ${String(Item.sk)}`);
        await this.setAside(Item.pk, Item.sk);
      } else if (parsed.publishedAt === undefined) {
        items.push(parsed);
      }
    }
    return { items, unreadable };
  }

  /** Moves an unreadable item out of the sweeper's way, keeping it for people to look at. */
  private async setAside(pk: unknown, sk: unknown): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk },
          UpdateExpression: "SET watch = :aside",
          ConditionExpression: "watch = :outbox",
          ExpressionAttributeValues: { ":aside": OUTBOX_UNREADABLE_WATCH, ":outbox": OUTBOX_WATCH },
        }),
      );
    } catch (error) {
      // Another sweep set it aside first, or it is gone.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}
