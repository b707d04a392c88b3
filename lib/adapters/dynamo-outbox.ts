/**
 * OutboxStore on the payments table. An outbox item the stream hands over and the publisher sends
 * is never written again (it expires a week after its change). Only an item that could not be
 * sent is parked: it enters `byWatch` (watch = "outbox") and loses its expiry, the sweeper finds
 * it there, and marks it published once sent (it then expires a week later).
 */
import { type AttributeValue, ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
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
  outboxExpiresAt,
  outboxKey,
  outboxWatchAt,
} from "./dynamo-keys.js";

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
          ExpressionAttributeValues: { ":now": now, ":expires": outboxExpiresAt(now) },
        }),
      );
    } catch (error) {
      // Already gone (expired): nothing to mark.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async park(item: OutboxItem, now: string): Promise<void> {
    const first = item.events[0];
    if (first === undefined) throw new Error("an outbox item needs an event");
    const watchAt = outboxWatchAt(first.occurredAt, item.position);
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: outboxKey(item),
          UpdateExpression:
            "SET watch = :outbox, watchAt = :at, parkedAt = if_not_exists(parkedAt, :now) REMOVE expiresAt",
          ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(publishedAt)",
          ExpressionAttributeValues: { ":outbox": OUTBOX_WATCH, ":at": watchAt, ":now": now },
        }),
      );
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Published already (the sweeper was first), or gone: the stream kept a record the table no
    // longer has (it expired). Only the second needs anything: the item is written back, parked.
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...outboxKey(item),
            type: "outbox",
            partitionKey: item.partitionKey,
            events: item.events,
            watch: OUTBOX_WATCH,
            watchAt,
            parkedAt: now,
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async parkedUpTo(item: OutboxItemId): Promise<OutboxItem[]> {
    // Outbox sort keys order by the payment's version, then by the event's index in it.
    const { pk, sk } = outboxKey(item);
    const out: OutboxItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk AND sk BETWEEN :first AND :item",
          FilterExpression: "watch = :outbox AND attribute_not_exists(publishedAt)",
          ExpressionAttributeValues: {
            ":pk": pk,
            ":first": OUTBOX_SK_PREFIX,
            ":item": sk,
            ":outbox": OUTBOX_WATCH,
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
      } else if (parsed.parked === true) {
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
