/**
 * The local DynamoDB's stream, as the stream poller reads it: a cancelled transaction's write
 * never appears in it, not even through a shard iterator taken before the cancel (DynamoDB never
 * streams it; unpatched moto did, see local/moto_server.py).
 */
import {
  DescribeTableCommand,
  DynamoDBClient,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from "@aws-sdk/client-dynamodb-streams";
import {
  DynamoDBDocumentClient,
  PutCommand,
  TransactGetCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { tables } from "../../infra/tables.js";
import { localDynamoDbClientConfig } from "../../local/dynamodb.js";
import { uniqueId } from "../support/stack.js";

let dynamo: DynamoDBClient;
let streams: DynamoDBStreamsClient;

beforeAll(() => {
  const config = localDynamoDbClientConfig(inject("dynamodbEndpoint"));
  dynamo = new DynamoDBClient(config);
  streams = new DynamoDBStreamsClient(config);
});
afterAll(() => {
  dynamo.destroy();
  streams.destroy();
});

async function iteratorAtEnd(): Promise<{ iterator: string; streamArn: string }> {
  const table = await dynamo.send(new DescribeTableCommand({ TableName: tables.payments.name }));
  const streamArn = table.Table?.LatestStreamArn ?? "";
  const { StreamDescription } = await streams.send(
    new DescribeStreamCommand({ StreamArn: streamArn }),
  );
  const shardId = StreamDescription?.Shards?.at(-1)?.ShardId ?? "";
  const { ShardIterator } = await streams.send(
    new GetShardIteratorCommand({
      StreamArn: streamArn,
      ShardId: shardId,
      ShardIteratorType: "LATEST",
    }),
  );
  return { iterator: ShardIterator ?? "", streamArn };
}

describe("local DynamoDB stream", () => {
  it("never shows a cancelled transaction's write, even to an iterator taken before it", async () => {
    const documents = DynamoDBDocumentClient.from(dynamo);
    const { iterator } = await iteratorAtEnd();
    const phantomKey = { pk: `PAYMENT#${uniqueId("phantom")}`, sk: "OUTBOX#1" };
    const realKey = { pk: `PAYMENT#${uniqueId("real")}`, sk: "OUTBOX#1" };
    await expect(
      documents.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: tables.payments.name, Item: { ...phantomKey, type: "outbox" } } },
            {
              ConditionCheck: {
                TableName: tables.payments.name,
                Key: { pk: "NO_SUCH_ITEM", sk: "X" },
                ConditionExpression: "attribute_exists(pk)",
              },
            },
          ],
        }),
      ),
    ).rejects.toBeInstanceOf(TransactionCanceledException);
    await documents.send(
      new PutCommand({ TableName: tables.payments.name, Item: { ...realKey, type: "outbox" } }),
    );

    const { Records = [] } = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
    const mine = Records.filter((r) =>
      [phantomKey.pk, realKey.pk].includes(r.dynamodb?.Keys?.pk?.S ?? ""),
    );
    // Only the real write is in the stream, once.
    expect(mine.map((r) => r.dynamodb?.Keys?.pk?.S)).toEqual([realKey.pk]);
  });

  it("puts back every item a cancelled transaction touched, and refuses nothing afterwards", async () => {
    const documents = DynamoDBDocumentClient.from(dynamo);
    const kept = { pk: `PAYMENT#${uniqueId("kept")}`, sk: "STATE" };
    const added = { pk: `PAYMENT#${uniqueId("added")}`, sk: "STATE" };
    const TableName = tables.payments.name;
    await documents.send(new PutCommand({ TableName, Item: { ...kept, n: 1, s: "one" } }));
    const attempts = [
      // A condition that fails after two writes.
      {
        ConditionCheck: {
          TableName,
          Key: { pk: "NO_SUCH_ITEM", sk: "X" },
          ConditionExpression: "attribute_exists(pk)",
        },
      },
      // An update that fails while being applied (ADD of a string to a number).
      {
        Update: {
          TableName,
          Key: { pk: `PAYMENT#${uniqueId("other")}`, sk: "STATE" },
          UpdateExpression: "ADD n :text",
          ExpressionAttributeValues: { ":text": "x" },
        },
      },
    ];
    for (const last of attempts) {
      await expect(
        documents.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName,
                  Key: kept,
                  UpdateExpression: "SET n = :two, s = :two_s",
                  ExpressionAttributeValues: { ":two": 2, ":two_s": "two" },
                },
              },
              { Put: { TableName, Item: { ...added, n: 1 } } },
              last,
            ],
          }),
        ),
      ).rejects.toThrow();
      const now = await documents.send(
        new TransactGetCommand({
          TransactItems: [{ Get: { TableName, Key: kept } }, { Get: { TableName, Key: added } }],
        }),
      );
      expect(now.Responses?.map((r) => r.Item)).toEqual([{ ...kept, n: 1, s: "one" }, undefined]);
    }
    // The same writes then go through as a whole.
    await documents.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName,
              Key: kept,
              UpdateExpression: "SET n = :two",
              ConditionExpression: "n = :one",
              ExpressionAttributeValues: { ":one": 1, ":two": 2 },
            },
          },
          {
            Put: {
              TableName,
              Item: { ...added, n: 1 },
              ConditionExpression: "attribute_not_exists(pk)",
            },
          },
        ],
      }),
    );
  });
});
