/**
 * The handlers' DynamoDB client against a server that never answers: each attempt ends at its
 * request timeout (the SDK would otherwise wait for ever), inside an invocation no attempt runs
 * past the deadline, and what it throws is recognised as a storage outage (503).
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANSWER_RESERVE_MS, createDynamoClient } from "../../lib/adapters/dynamo-client.js";
import { isStorageFault, storageFault } from "../../lib/adapters/dynamo-faults.js";
import { withDeadline } from "../../lib/runtime/deadline.js";
import { scaled } from "../support/time.js";

let server: Server;
let endpoint: string;
let received = 0;
const held: ServerResponse[] = [];

beforeAll(async () => {
  // The SDK signs every request; any credentials do for a server that checks none.
  process.env.AWS_ACCESS_KEY_ID = "local";
  process.env.AWS_SECRET_ACCESS_KEY = "local";
  server = createServer((req, res) => {
    received++;
    req.resume();
    held.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const get = new GetItemCommand({ TableName: "t", Key: { pk: { S: "x" } } });

function client(requestTimeoutMs: number, maxAttempts: number) {
  return createDynamoClient({
    region: "us-east-1",
    endpoint,
    requestTimeoutMs,
    maxAttempts,
  });
}

async function failure(run: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await run();
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
  throw new Error("expected the call to fail");
}

describe("DynamoDB client limits", () => {
  it("an attempt that gets no answer ends at the request timeout and counts as an outage", async () => {
    const dynamo = client(300, 1);
    const before = received;
    const { error, ms } = await failure(() => dynamo.send(get));
    expect(received - before).toBe(1);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(ms).toBeLessThan(scaled(2_000));
    expect(error).toMatchObject({ name: "TimeoutError" });
    expect(isStorageFault(error)).toBe(true);
    expect(storageFault(error)?.code).toBe("storage_unavailable");
    dynamo.destroy();
  });

  it("inside an invocation, attempts stop before the deadline, leaving the reserve to answer", async () => {
    // Ten attempts of 5 s each would take 50 s; the invocation has 1.8 s.
    const dynamo = client(5_000, 10);
    const remaining = ANSWER_RESERVE_MS + 800;
    const { error, ms } = await failure(() =>
      withDeadline({ getRemainingTimeInMillis: () => remaining }, () => dynamo.send(get)),
    );
    expect(isStorageFault(error)).toBe(true);
    expect(ms).toBeLessThan(remaining - ANSWER_RESERVE_MS + scaled(100));
    dynamo.destroy();
  });

  it("with too little time left, no request is sent at all", async () => {
    const dynamo = client(5_000, 1);
    const before = received;
    const { error } = await failure(() =>
      withDeadline({ getRemainingTimeInMillis: () => ANSWER_RESERVE_MS }, () => dynamo.send(get)),
    );
    expect(received).toBe(before);
    expect(isStorageFault(error)).toBe(true);
    dynamo.destroy();
  });

  it("errors that are not outages are left alone", () => {
    const conditionFailed = Object.assign(new Error("The conditional request failed"), {
      name: "ConditionalCheckFailedException",
      $fault: "client",
      $metadata: { httpStatusCode: 400 },
    });
    const cancelledByCondition = Object.assign(new Error("cancelled"), {
      name: "TransactionCanceledException",
      $fault: "client",
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: [{ Code: "ConditionalCheckFailed" }, { Code: "TransactionConflict" }],
    });
    const cancelledByConflict = Object.assign(new Error("cancelled"), {
      name: "TransactionCanceledException",
      $fault: "client",
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: [{ Code: "None" }, { Code: "TransactionConflict" }],
    });
    expect(isStorageFault(conditionFailed)).toBe(false);
    expect(isStorageFault(cancelledByCondition)).toBe(false);
    expect(isStorageFault(cancelledByConflict)).toBe(true);
    // A connection error from something else than the SDK (no $metadata) is not ours to call.
    expect(isStorageFault(Object.assign(new Error("reset"), { code: "ECONNRESET" }))).toBe(false);
  });
});
