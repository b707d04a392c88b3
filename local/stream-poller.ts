/**
 * A local stand-in for Lambda's DynamoDB Streams event-source mapping: polls the payments
 * table's stream on the local DynamoDB server and invokes the outbox publisher's handler with
 * stream-shaped events, honouring its reported batch-item failures the way Lambda does (the next
 * poll starts again at the first failed record).
 *
 * Each poll asks for an iterator after the last sequence number handled, so a failed batch is
 * read again from its first failed record.
 */

import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type AttributeValue as StreamAttributeValue,
} from "@aws-sdk/client-dynamodb-streams";
import type {
  Context,
  DynamoDBBatchResponse,
  DynamoDBRecord,
  DynamoDBStreamEvent,
  AttributeValue as LambdaAttributeValue,
} from "aws-lambda";
import { localDynamoDbClientConfig } from "./dynamodb.js";
import { localLambdaContext } from "./lambda-context.js";

export type StreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<DynamoDBBatchResponse | undefined>;

export interface StreamPoller {
  /** Resolves once every record written before the call has been handled successfully. */
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function toLambda(value: StreamAttributeValue): LambdaAttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString("base64") };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString("base64")) };
  if (value.L !== undefined) return { L: value.L.map(toLambda) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  return { NULL: true };
}

function toLambdaImage(
  image: Record<string, StreamAttributeValue>,
): Record<string, LambdaAttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, toLambda(v)]));
}

function toLambdaRecord(record: _Record, streamArn: string): DynamoDBRecord {
  const d = record.dynamodb;
  return {
    eventID: record.eventID ?? "",
    ...(record.eventName === undefined ? {} : { eventName: record.eventName }),
    eventVersion: record.eventVersion ?? "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: record.awsRegion ?? "us-east-1",
    eventSourceARN: streamArn,
    dynamodb: {
      ...(d?.ApproximateCreationDateTime === undefined
        ? {}
        : { ApproximateCreationDateTime: d.ApproximateCreationDateTime.getTime() / 1000 }),
      ...(d?.Keys === undefined ? {} : { Keys: toLambdaImage(d.Keys) }),
      ...(d?.NewImage === undefined ? {} : { NewImage: toLambdaImage(d.NewImage) }),
      ...(d?.OldImage === undefined ? {} : { OldImage: toLambdaImage(d.OldImage) }),
      ...(d?.SequenceNumber === undefined ? {} : { SequenceNumber: d.SequenceNumber }),
      ...(d?.SizeBytes === undefined ? {} : { SizeBytes: d.SizeBytes }),
      StreamViewType: "NEW_AND_OLD_IMAGES",
    },
  };
}

export async function startStreamPoller(options: {
  endpoint: string;
  tableName: string;
  handler: StreamHandler;
  batchSize?: number;
  intervalMs?: number;
  /**
   * Where a shard that exists at start is read from: its oldest record (the default, as the
   * deployed event source mapping), or only what is written from now on (a test stack that
   * joins a table other tests have filled).
   */
  startingPosition?: "TRIM_HORIZON" | "LATEST";
  log?: (line: string) => void;
}): Promise<StreamPoller> {
  const config = localDynamoDbClientConfig(options.endpoint);
  const dynamo = new DynamoDBClient(config);
  const streams = new DynamoDBStreamsClient(config);
  const table = await dynamo.send(new DescribeTableCommand({ TableName: options.tableName }));
  const streamArn = table.Table?.LatestStreamArn;
  if (streamArn === undefined) throw new Error(`table ${options.tableName} has no stream`);

  /** Last sequence number handled, per shard. */
  const positions = new Map<string, string>();
  /** A LATEST iterator per shard taken at start, until the shard's first record is handled. */
  const startIterators = new Map<string, string>();
  if (options.startingPosition === "LATEST") {
    const { StreamDescription } = await streams.send(
      new DescribeStreamCommand({ StreamArn: streamArn }),
    );
    for (const shard of StreamDescription?.Shards ?? []) {
      if (shard.ShardId === undefined) continue;
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard.ShardId,
          ShardIteratorType: "LATEST",
        }),
      );
      if (ShardIterator !== undefined) startIterators.set(shard.ShardId, ShardIterator);
    }
  }
  let stopped = false;
  let idleWaiters: (() => void)[] = [];
  let running: Promise<void> | undefined;

  async function pollShard(shardId: string): Promise<{ handled: number; failed: boolean }> {
    const after = positions.get(shardId);
    const ShardIterator =
      after === undefined && startIterators.has(shardId)
        ? startIterators.get(shardId)
        : (
            await streams.send(
              new GetShardIteratorCommand({
                StreamArn: streamArn,
                ShardId: shardId,
                ...(after === undefined
                  ? { ShardIteratorType: "TRIM_HORIZON" }
                  : { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: after }),
              }),
            )
          ).ShardIterator;
    if (ShardIterator === undefined) return { handled: 0, failed: false };
    const { Records = [] } = await streams.send(
      new GetRecordsCommand({ ShardIterator, Limit: options.batchSize ?? 25 }),
    );
    if (Records.length === 0) return { handled: 0, failed: false };
    const event: DynamoDBStreamEvent = {
      Records: Records.map((r) => toLambdaRecord(r, streamArn ?? "")),
    };
    let response: DynamoDBBatchResponse | undefined;
    try {
      response = await options.handler(event, localLambdaContext("publish-outbox", 60));
    } catch (error) {
      options.log?.(
        `stream handler failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      return { handled: 0, failed: true };
    }
    const firstFailed = response?.batchItemFailures?.[0]?.itemIdentifier;
    let handled = 0;
    for (const record of Records) {
      const sequence = record.dynamodb?.SequenceNumber;
      if (sequence === undefined || sequence === firstFailed) break;
      positions.set(shardId, sequence);
      handled++;
    }
    return { handled, failed: firstFailed !== undefined };
  }

  async function pollOnce(): Promise<{ handled: number; failed: boolean }> {
    const { StreamDescription } = await streams.send(
      new DescribeStreamCommand({ StreamArn: streamArn }),
    );
    let handled = 0;
    let failed = false;
    for (const shard of StreamDescription?.Shards ?? []) {
      if (shard.ShardId === undefined) continue;
      const result = await pollShard(shard.ShardId);
      handled += result.handled;
      failed ||= result.failed;
    }
    return { handled, failed };
  }

  async function loop(): Promise<void> {
    let backoff = options.intervalMs ?? 100;
    while (!stopped) {
      let result = { handled: 0, failed: true };
      try {
        result = await pollOnce();
      } catch (error) {
        options.log?.(
          `stream poll failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      if (result.handled === 0 && !result.failed) {
        // Caught up: release anyone waiting for that.
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const w of waiters) w();
      }
      if (result.handled > 0) continue;
      // Failures back off (like Lambda's retries), up to 2 s; idle polls wait the interval.
      backoff = result.failed ? Math.min(backoff * 2, 2_000) : (options.intervalMs ?? 100);
      await new Promise((resolve) => setTimeout(resolve, backoff));
    }
  }
  running = loop();

  return {
    drain(timeoutMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`stream not drained within ${timeoutMs} ms`)),
          timeoutMs,
        );
        // Wait for a full idle poll that began after this call.
        let seenOne = false;
        const waiter = () => {
          if (!seenOne) {
            seenOne = true;
            idleWaiters.push(waiter);
            return;
          }
          clearTimeout(timer);
          resolve();
        };
        idleWaiters.push(waiter);
      });
    },
    async stop() {
      stopped = true;
      await running;
      dynamo.destroy();
      streams.destroy();
    },
  };
}
