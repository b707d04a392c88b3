/**
 * Dead letters of `order.placed` on the payments table, where support can list, redrive and
 * discard them (an SQS queue cannot be listed, only drained):
 *
 *   DEADLETTER#<id> / DEADLETTER   the record, why it was set aside, its state (version-checked)
 *   DEADLETTER#<id> / AUDIT#<id>   each redrive or discard (lib/adapters/dynamo-audit.ts)
 *
 * Listed through the `byWatch` index: watch = "dead_letter:<status>", watchAt = "<createdAt>#<id>".
 * The id is derived from topic, partition and offset, so a record redelivered after it was set
 * aside is the same dead letter, written once.
 */
import {
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import type { AuditEntry } from "../domain/audit.js";
import { deriveId } from "../domain/ids.js";
import type {
  DeadLetter,
  DeadLetterStatus,
  DeadLetterStore,
  Page,
  PageRequest,
  StoredDeadLetter,
} from "../ports.js";
import { auditItem, decodeCursor, encodeCursor, queryAudit } from "./dynamo-audit.js";
import {
  DEAD_LETTER_SK,
  deadLetterIdOfPk,
  deadLetterPk,
  deadLetterWatch,
  deadLetterWatchAt,
  isDeadLetterPk,
} from "./dynamo-keys.js";

export const DEAD_LETTER_STATUSES: readonly DeadLetterStatus[] = ["open", "redriven", "discarded"];

export const deadLetterId = (
  letter: Pick<DeadLetter, "topic" | "partition" | "offset" | "value">,
) =>
  // A record without coordinates (not even an MSK record) is told apart by its content.
  letter.offset < 0
    ? deriveId("dl", letter.topic, "content", letter.value)
    : deriveId("dl", letter.topic, String(letter.partition), String(letter.offset));

export const isDeadLetterId = (id: string): boolean => /^dl_[0-9a-z]{26}$/.test(id);

type Item = Record<string, unknown>;

export class DynamoDeadLetters implements DeadLetterStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: { now(): string } = { now: () => new Date().toISOString() },
  ) {}

  async send(letter: DeadLetter): Promise<void> {
    const now = this.clock.now();
    const stored: StoredDeadLetter = {
      ...letter,
      id: deadLetterId(letter),
      status: "open",
      attempts: 1,
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.item(stored),
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
    } catch (error) {
      // Set aside already (the batch was delivered again): one dead letter.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async get(id: string): Promise<StoredDeadLetter | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: deadLetterPk(id), sk: DEAD_LETTER_SK },
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : toDeadLetter(Item);
  }

  async list(status: DeadLetterStatus, page: PageRequest): Promise<Page<StoredDeadLetter>> {
    const watch = deadLetterWatch(status);
    const start =
      page.cursor === undefined
        ? undefined
        : decodeCursor(page.cursor, {
            watch: (v) => v === watch,
            watchAt: (v) => v.length <= 80,
            pk: isDeadLetterPk,
            sk: (v) => v === DEAD_LETTER_SK,
          });
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: "byWatch",
        KeyConditionExpression: "watch = :w",
        ExpressionAttributeValues: { ":w": watch },
        ScanIndexForward: false,
        Limit: page.limit,
        ExclusiveStartKey: start,
      }),
    );
    const keys = Items.map((item) => ({ pk: item.pk, sk: DEAD_LETTER_SK }));
    const found = new Map<string, StoredDeadLetter>();
    if (keys.length > 0) {
      let request: Record<string, { Keys: Item[] }> | undefined = {
        [this.tableName]: { Keys: keys },
      };
      while (request !== undefined && Object.keys(request).length > 0) {
        const answer: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({ RequestItems: request }),
        );
        for (const item of answer.Responses?.[this.tableName] ?? []) {
          const letter = toDeadLetter(item);
          found.set(letter.id, letter);
        }
        const left: Item[] | undefined = answer.UnprocessedKeys?.[this.tableName]?.Keys;
        request =
          left === undefined || left.length === 0
            ? undefined
            : { [this.tableName]: { Keys: left } };
      }
    }
    // The index is eventually consistent: an item that moved on since is left out of this page.
    const items = Items.map((item) => deadLetterIdOfPk(String(item.pk)))
      .map((id) => found.get(id))
      .filter((l): l is StoredDeadLetter => l !== undefined && l.status === status);
    return {
      items,
      ...(LastEvaluatedKey === undefined ? {} : { nextCursor: encodeCursor(LastEvaluatedKey) }),
    };
  }

  async update(
    before: StoredDeadLetter,
    next: StoredDeadLetter,
    audit: AuditEntry,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: this.item({ ...next, version: before.version + 1 }),
                ConditionExpression: "version = :v",
                ExpressionAttributeValues: { ":v": before.version },
              },
            },
            { Put: { TableName: this.tableName, Item: auditItem(deadLetterPk(before.id), audit) } },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException) return false;
      throw error;
    }
  }

  listAudit(id: string, page: PageRequest): Promise<Page<AuditEntry>> {
    return queryAudit(this.client, this.tableName, deadLetterPk(id), page);
  }

  private item(letter: StoredDeadLetter): Item {
    return {
      ...letter,
      pk: deadLetterPk(letter.id),
      sk: DEAD_LETTER_SK,
      type: "dead-letter",
      watch: deadLetterWatch(letter.status),
      watchAt: deadLetterWatchAt(letter.createdAt, letter.id),
    };
  }
}

function toDeadLetter(item: Item): StoredDeadLetter {
  const text = (key: string): string => {
    const v = item[key];
    if (typeof v !== "string")
      throw new Error(`stored dead letter ${String(item.pk)} has no ${key}`);
    return v;
  };
  const number = (key: string): number => {
    const v = item[key];
    if (typeof v !== "number")
      throw new Error(`stored dead letter ${String(item.pk)} has no ${key}`);
    return v;
  };
  const status = text("status");
  if (status !== "open" && status !== "redriven" && status !== "discarded")
    throw new Error(`stored dead letter ${String(item.pk)} has status ${status}`);
  const r = item.resolution;
  let resolution: StoredDeadLetter["resolution"];
  if (typeof r === "object" && r !== null) {
    const get = (k: string): unknown => Reflect.get(r, k);
    const actor = get("actor");
    const at = get("at");
    const outcome = get("outcome");
    const reason = get("reason");
    const paymentId = get("paymentId");
    if (typeof actor === "string" && typeof at === "string" && typeof outcome === "string") {
      resolution = {
        actor,
        at,
        outcome,
        ...(typeof reason === "string" ? { reason } : {}),
        ...(typeof paymentId === "string" ? { paymentId } : {}),
      };
    }
  }
  const key = item.key;
  return {
    id: text("id"),
    topic: text("topic"),
    partition: number("partition"),
    offset: number("offset"),
    ...(typeof key === "string" ? { key } : {}),
    value: text("value"),
    reason: text("reason"),
    status,
    attempts: number("attempts"),
    createdAt: text("createdAt"),
    updatedAt: text("updatedAt"),
    version: number("version"),
    ...(resolution === undefined ? {} : { resolution }),
  };
}
