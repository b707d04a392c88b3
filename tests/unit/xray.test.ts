/**
 * lib/xray.ts: the pure parts (trace header, daemon address, documents, scrubbing), then the
 * emitter against a UDP socket standing in for the X-Ray daemon: AWS SDK calls (a stub request
 * handler, no network), outgoing HTTP requests (a local server) and the middy handler
 * subsegment. lib/tracing.ts's switch is checked last, each case with a fresh module.
 */
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
} from "@aws-sdk/client-dynamodb";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  AWS_MIDDLEWARE_NAME,
  awsFields,
  awsOperation,
  awsService,
  datagram,
  exceptionOf,
  httpFields,
  parseDaemonAddress,
  parseTraceHeader,
  type SubsegmentDocument,
  scrub,
  segmentName,
  statusFlags,
  withoutQuery,
  XRayEmitter,
} from "../../lib/xray.js";
import { scaled } from "../support/time.js";

const ROOT = "1-6746f0a0-0123456789abcdef01234567";
const FUNCTION_SEGMENT = "53995c3f42cd8ad8";
const SAMPLED = `Root=${ROOT};Parent=${FUNCTION_SEGMENT};Sampled=1`;
const STRIPE_KEY = "sk_live_51AbCdEfGhIjKlMnOp";
const CLIENT_SECRET = "pi_3Abc123_secret_XyZ789";

describe("parseTraceHeader", () => {
  it("reads Root, Parent and Sampled, in any order and with extra fields", () => {
    expect(parseTraceHeader(SAMPLED)).toEqual({
      root: ROOT,
      parent: FUNCTION_SEGMENT,
      sampled: true,
    });
    expect(
      parseTraceHeader(
        `Sampled=0;Lineage=a87bd80c:1|68fd508a:5;Parent=${FUNCTION_SEGMENT};Root=${ROOT}`,
      ),
    ).toEqual({ root: ROOT, parent: FUNCTION_SEGMENT, sampled: false });
  });

  it("is unsampled unless Sampled is exactly 1", () => {
    for (const sampled of ["", ";Sampled=?", ";Sampled=0", ";Sampled=true"]) {
      expect(parseTraceHeader(`Root=${ROOT};Parent=${FUNCTION_SEGMENT}${sampled}`)?.sampled).toBe(
        false,
      );
    }
  });

  it("refuses a header without a valid Root and Parent", () => {
    for (const header of [
      undefined,
      "",
      "garbage",
      ROOT,
      `Root=${ROOT};Sampled=1`,
      `Parent=${FUNCTION_SEGMENT};Sampled=1`,
      `Root=2-6746f0a0-0123456789abcdef01234567;Parent=${FUNCTION_SEGMENT};Sampled=1`,
      `Root=${ROOT};Parent=53995c3f42cd8ad;Sampled=1`,
      `Root=${ROOT};Parent=${FUNCTION_SEGMENT.toUpperCase()};Sampled=1`,
    ]) {
      expect(parseTraceHeader(header), String(header)).toBeUndefined();
    }
  });
});

describe("parseDaemonAddress", () => {
  it("reads host:port and the udp: part of the two-address form; else the default", () => {
    expect(parseDaemonAddress("169.254.79.129:2000")).toEqual({
      host: "169.254.79.129",
      port: 2000,
    });
    expect(parseDaemonAddress("tcp:10.0.0.1:2001 udp:10.0.0.2:2002")).toEqual({
      host: "10.0.0.2",
      port: 2002,
    });
    for (const value of [
      undefined,
      "",
      "localhost",
      "host:0",
      "host:99999",
      ":2000",
      "tcp:a:1 b",
    ]) {
      expect(parseDaemonAddress(value), String(value)).toEqual({ host: "127.0.0.1", port: 2000 });
    }
  });
});

describe("documents", () => {
  it("a datagram is the daemon's header line, then the document as JSON", () => {
    const document: SubsegmentDocument = {
      type: "subsegment",
      id: "0123456789abcdef",
      trace_id: ROOT,
      parent_id: FUNCTION_SEGMENT,
      name: "DynamoDB",
      start_time: 1.5,
      end_time: 2.5,
    };
    const text = datagram(document);
    expect(text.startsWith('{"format":"json","version":1}\n')).toBe(true);
    expect(JSON.parse(text.slice(text.indexOf("\n") + 1))).toEqual(document);
  });

  it("names keep to X-Ray's characters and length", () => {
    expect(segmentName("## bundle.handler")).toBe("## bundle.handler");
    expect(segmentName("api.stripe.com")).toBe("api.stripe.com");
    expect(segmentName("a<b>c!")).toBe("a_b_c_");
    expect(segmentName("x".repeat(300))).toHaveLength(200);
    expect(segmentName("")).toBe("unknown");
  });

  it("AWS names: the service of the client, the operation of the command", () => {
    expect(awsService("DynamoDBClient")).toBe("DynamoDB");
    expect(awsService("SQSClient")).toBe("SQS");
    expect(awsService(undefined)).toBe("AWS");
    expect(awsOperation("TransactWriteItemsCommand")).toBe("TransactWriteItems");
    expect(awsOperation(undefined)).toBe("unknown");
  });

  it("an AWS call records the operation, table, region, request id and retries, never items", () => {
    const fields = awsFields({
      operation: "PutItem",
      input: { TableName: "Payments", Item: { pk: { S: `PAYMENT#${CLIENT_SECRET}` } } },
      region: "eu-west-1",
      metadata: { httpStatusCode: 200, requestId: "REQ1", attempts: 3 },
    });
    expect(fields).toEqual({
      namespace: "aws",
      aws: {
        operation: "PutItem",
        region: "eu-west-1",
        request_id: "REQ1",
        retries: 2,
        table_name: "Payments",
      },
      http: { response: { status: 200 } },
    });
    expect(JSON.stringify(fields)).not.toContain(CLIENT_SECRET);
  });

  it("a batch or a transaction records its tables; SQS its queue", () => {
    const transaction = awsFields({
      operation: "TransactWriteItems",
      input: {
        TransactItems: [
          { Put: { TableName: "Payments", Item: {} } },
          { Update: { TableName: "Payments", Key: {} } },
          { ConditionCheck: { TableName: "Idempotency", Key: {} } },
        ],
      },
    });
    expect(transaction.aws?.table_names).toEqual(["Payments", "Idempotency"]);
    expect(transaction.aws?.retries).toBe(0);
    const batch = awsFields({
      operation: "BatchGetItem",
      input: { RequestItems: { A: {}, B: {} } },
    });
    expect(batch.aws?.table_names).toEqual(["A", "B"]);
    const queue = "https://sqs.us-east-1.amazonaws.com/000000000000/outbox";
    const sqs = awsFields({
      operation: "SendMessage",
      input: { QueueUrl: queue, MessageBody: "x" },
    });
    expect(sqs.aws?.queue_url).toBe(queue);
    expect(JSON.stringify(sqs)).not.toContain("MessageBody");
  });

  it("a failed AWS call: 4xx error, 5xx fault, throttling, or a fault without a status", () => {
    const failed = (metadata: { httpStatusCode?: number }, name: string) => {
      const error = Object.assign(new Error(`${name} happened`), { name });
      return awsFields({ operation: "GetItem", input: { TableName: "T" }, metadata, error });
    };
    const conditional = failed({ httpStatusCode: 400 }, "ConditionalCheckFailedException");
    expect(conditional).toMatchObject({ error: true, http: { response: { status: 400 } } });
    expect(conditional.fault).toBeUndefined();
    expect(conditional.cause?.exceptions[0]).toMatchObject({
      type: "ConditionalCheckFailedException",
      message: "ConditionalCheckFailedException happened",
      remote: true,
    });
    expect(failed({ httpStatusCode: 500 }, "InternalServerError").fault).toBe(true);
    expect(failed({ httpStatusCode: 400 }, "ProvisionedThroughputExceededException")).toMatchObject(
      { throttle: true, error: true },
    );
    expect(failed({}, "TimeoutError")).toMatchObject({ fault: true });
  });

  it("an HTTP request records method, URL without query, status and length", () => {
    expect(
      httpFields({
        protocol: "https:",
        host: "api.stripe.com",
        method: "GET",
        path: `/v1/payment_intents/pi_1?client_secret=${CLIENT_SECRET}#x`,
        status: 200,
        contentLength: 1711,
      }),
    ).toEqual({
      namespace: "remote",
      http: {
        request: { method: "GET", url: "https://api.stripe.com/v1/payment_intents/pi_1" },
        response: { status: 200, content_length: 1711 },
      },
    });
    const refused = httpFields({
      protocol: "https:",
      host: "api.stripe.com",
      method: "POST",
      path: "/v1/refunds",
      error: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
    });
    expect(refused).toMatchObject({ fault: true, cause: { exceptions: [{ remote: true }] } });
    expect(refused.http?.response).toBeUndefined();
    expect(withoutQuery("/a/b")).toBe("/a/b");
  });

  it("status flags: 4xx error, 429 throttle, 5xx fault, else none", () => {
    expect(statusFlags(200)).toEqual({});
    expect(statusFlags(undefined)).toEqual({});
    expect(statusFlags(402)).toEqual({ error: true });
    expect(statusFlags(429)).toEqual({ error: true, throttle: true });
    expect(statusFlags(503)).toEqual({ fault: true });
  });

  it("no secret reaches a document: keys, webhook secrets, client secrets and cards are masked", () => {
    const text = `key ${STRIPE_KEY} rk_test_abc whsec_abc123 ${CLIENT_SECRET} seti_1_secret_2 card 4242 4242 4242 4242`;
    const scrubbed = scrub(text);
    for (const secret of [
      STRIPE_KEY,
      "rk_test_abc",
      "whsec_abc123",
      CLIENT_SECRET,
      "_secret_",
      "4242 4242",
    ]) {
      expect(scrubbed).not.toContain(secret);
    }
    expect(scrub("x".repeat(900))).toHaveLength(500);
    const exception = exceptionOf(new Error(`Invalid API Key provided: ${STRIPE_KEY}`), true);
    expect(exception.message).toBe("Invalid API Key provided: [redacted]");
    expect(exception.id).toMatch(/^[0-9a-f]{16}$/);
    expect(exceptionOf("plain", false)).toMatchObject({ type: "string", message: "plain" });
  });
});

// ---------------------------------------------------------------------------------------------

let daemon: Socket;
const received: SubsegmentDocument[] = [];
let wake: Array<() => void> = [];
let traceHeader: string | undefined = SAMPLED;
let emitter: XRayEmitter;
let server: Server;
let serverUrl: string;

/** Resolves once `count` documents have arrived in all (fails after a scaled 10 s). */
async function documents(count: number): Promise<SubsegmentDocument[]> {
  const deadline = Date.now() + scaled(10_000);
  while (received.length < count) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`only ${received.length} of ${count} documents arrived`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, remaining);
      wake.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return received;
}

/** Sends a marker to the daemon and resolves once it is back: nothing sent before it is pending. */
async function settled(): Promise<void> {
  const before = received.length;
  emitter.send({
    type: "subsegment",
    id: "ffffffffffffffff",
    trace_id: ROOT,
    parent_id: FUNCTION_SEGMENT,
    name: "marker",
    start_time: 0,
    end_time: 0,
  });
  await emitter.flush();
  await documents(before + 1);
  const marker = received.pop();
  expect(marker?.name).toBe("marker");
}

beforeAll(async () => {
  daemon = createSocket("udp4");
  daemon.on("message", (message) => {
    const text = message.toString("utf8");
    received.push(JSON.parse(text.slice(text.indexOf("\n") + 1)));
    const w = wake;
    wake = [];
    for (const f of w) f();
  });
  daemon.bind(0, "127.0.0.1");
  await once(daemon, "listening");
  const { port } = daemon.address() as AddressInfo;
  emitter = new XRayEmitter({
    service: "payment-service",
    traceHeader: () => traceHeader,
    daemon: { host: "127.0.0.1", port },
  }).start();
  server = createServer((req, res) => {
    if (req.url?.startsWith("/fail")) res.writeHead(502).end("bad gateway");
    else
      res
        .writeHead(200, { "content-type": "application/json", "content-length": 11 })
        .end('{"ok":true}');
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  daemon?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

afterEach(() => {
  received.length = 0;
  traceHeader = SAMPLED;
});

/** A DynamoDB client whose HTTP handler answers `status` with `body` (no network). */
function stubDynamo(answers: Array<{ status: number; body: object }>): DynamoDBClient {
  let call = 0;
  const client = new DynamoDBClient({
    region: "eu-central-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 3,
    requestHandler: {
      handle: async () => {
        const answer = answers[Math.min(call++, answers.length - 1)] ?? { status: 200, body: {} };
        return {
          response: {
            statusCode: answer.status,
            reason: "",
            headers: {
              "x-amzn-requestid": `REQ${call}`,
              "content-type": "application/x-amz-json-1.0",
            },
            body: Readable.from([Buffer.from(JSON.stringify(answer.body))]),
          },
        };
      },
    },
  });
  return emitter.captureAwsClient(client);
}

function context(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: "xray-test",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:xray-test",
    memoryLimitInMB: "256",
    awsRequestId: "request-1",
    logGroupName: "/aws/lambda/xray-test",
    logStreamName: "test",
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** GET `path` on the local server; resolves with the status once the body is read. */
function get(path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${serverUrl}${path}`, { headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("XRayEmitter", () => {
  it("an AWS call: one subsegment under the function's segment, with retries and table", async () => {
    const dynamo = stubDynamo([
      { status: 500, body: { __type: "com.amazonaws.dynamodb.v20120810#InternalServerError" } },
      { status: 200, body: { Item: { pk: { S: "p" } } } },
    ]);
    await dynamo.send(new GetItemCommand({ TableName: "Payments", Key: { pk: { S: "p" } } }));
    const [doc] = await documents(1);
    expect(doc).toMatchObject({
      type: "subsegment",
      trace_id: ROOT,
      parent_id: FUNCTION_SEGMENT,
      name: "DynamoDB",
      namespace: "aws",
      aws: { operation: "GetItem", table_name: "Payments", region: "eu-central-1", retries: 1 },
      http: { response: { status: 200 } },
    });
    expect(doc?.id).toMatch(/^[0-9a-f]{16}$/);
    expect(doc?.end_time).toBeGreaterThanOrEqual(doc?.start_time ?? Number.POSITIVE_INFINITY);
    await settled();
    expect(received).toHaveLength(1);
    // Idempotent: instrumenting twice keeps one middleware.
    emitter.captureAwsClient(dynamo);
    const ours = dynamo.middlewareStack.identify().filter((e) => e.startsWith(AWS_MIDDLEWARE_NAME));
    expect(ours).toHaveLength(1);
  });

  it("a failed AWS call is recorded with its error, and still throws", async () => {
    const dynamo = stubDynamo([
      {
        status: 400,
        body: {
          __type: "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
          message: "The conditional request failed",
        },
      },
    ]);
    await expect(
      dynamo.send(new PutItemCommand({ TableName: "Idempotency", Item: { pk: { S: "k" } } })),
    ).rejects.toThrow(/conditional request failed/);
    const [doc] = await documents(1);
    expect(doc).toMatchObject({
      aws: { operation: "PutItem", table_name: "Idempotency", retries: 0 },
      http: { response: { status: 400 } },
      error: true,
      cause: { exceptions: [{ type: "ConditionalCheckFailedException", remote: true }] },
    });
    expect(doc?.fault).toBeUndefined();
  });

  it("sends nothing when the invocation is not sampled or has no trace header", async () => {
    const dynamo = stubDynamo([{ status: 200, body: {} }]);
    for (const header of [`Root=${ROOT};Parent=${FUNCTION_SEGMENT};Sampled=0`, undefined]) {
      traceHeader = header;
      await dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: [{ Put: { TableName: "Payments", Item: { pk: { S: "p" } } } }],
        }),
      );
      expect(await get("/v1/payment_intents")).toBe(200);
    }
    traceHeader = SAMPLED;
    await settled();
    expect(received).toEqual([]);
  });

  it("an outgoing HTTP request: host, method, URL without query, status; no header", async () => {
    const secretHeaders = { authorization: `Bearer ${STRIPE_KEY}` };
    expect(
      await get(`/v1/payment_intents/pi_1?client_secret=${CLIENT_SECRET}`, secretHeaders),
    ).toBe(200);
    expect(await get("/fail")).toBe(502);
    const docs = await documents(2);
    expect(docs[0]).toMatchObject({
      name: "127.0.0.1",
      namespace: "remote",
      parent_id: FUNCTION_SEGMENT,
      http: {
        request: { method: "GET", url: `${serverUrl}/v1/payment_intents/pi_1` },
        response: { status: 200, content_length: 11 },
      },
    });
    expect(docs[1]).toMatchObject({ fault: true, http: { response: { status: 502 } } });
    const text = JSON.stringify(docs);
    expect(text).not.toContain(STRIPE_KEY);
    expect(text).not.toContain(CLIENT_SECRET);
  });

  it("a refused connection is a fault with its cause; an AWS call's request is not recorded twice", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await new Promise<void>((resolve) => {
      const req = httpRequest(`http://127.0.0.1:${port}/v1/refunds`, { method: "POST" });
      req.on("error", () => resolve());
      req.end();
    });
    // Requests carrying an X-Ray trace header are the AWS middleware's: skipped here.
    expect(await get("/aws", { "x-amzn-trace-id": `Root=${ROOT}` })).toBe(200);
    const [doc] = await documents(1);
    expect(doc).toMatchObject({
      fault: true,
      http: { request: { method: "POST", url: `http://127.0.0.1:${port}/v1/refunds` } },
      cause: { exceptions: [{ remote: true }] },
    });
    expect(doc?.http?.response).toBeUndefined();
    await settled();
    expect(received).toHaveLength(1);
  });

  it("the handler subsegment: ColdStart then not, Service, its calls under it, errors scrubbed", async () => {
    const dynamo = stubDynamo([{ status: 200, body: {} }]);
    vi.stubEnv("_HANDLER", "bundle.handler");
    const handler = middy(async (event: { fail?: boolean }) => {
      await dynamo.send(new GetItemCommand({ TableName: "Payments", Key: { pk: { S: "p" } } }));
      await get("/v1/payment_intents/pi_2");
      if (event.fail) throw new Error(`Stripe said: Invalid API Key provided: ${STRIPE_KEY}`);
      return { statusCode: 201, body: JSON.stringify({ clientSecret: CLIENT_SECRET }) };
    }).use(emitter.handlerMiddleware());
    try {
      await handler({}, context());
      await expect(handler({ fail: true }, context())).rejects.toThrow(/Invalid API Key/);
    } finally {
      vi.unstubAllEnvs();
    }
    // Each invocation: DynamoDB, HTTP, then the handler (sent before the handler returns).
    const docs = await documents(6);
    const handlers = docs.filter((d) => d.name === "## bundle.handler");
    expect(handlers.map((d) => d.annotations)).toEqual([
      { ColdStart: true, Service: "payment-service" },
      { ColdStart: false, Service: "payment-service" },
    ]);
    for (const h of handlers) {
      expect(h.parent_id).toBe(FUNCTION_SEGMENT);
      const children = docs.filter((c) => c.parent_id === h.id);
      expect(children.map((c) => c.name)).toEqual(["DynamoDB", "127.0.0.1"]);
      // Each child is sent when it ends (an HTTP one when its response ends), before its handler.
      for (const c of children) expect(docs.indexOf(c)).toBeLessThan(docs.indexOf(h));
    }
    expect(handlers[0]?.fault).toBeUndefined();
    expect(handlers[1]).toMatchObject({
      fault: true,
      cause: {
        exceptions: [
          { type: "Error", message: "Stripe said: Invalid API Key provided: [redacted]" },
        ],
      },
    });
    const text = JSON.stringify(docs);
    expect(text).not.toContain(STRIPE_KEY);
    expect(text).not.toContain(CLIENT_SECRET);
  });

  it("the handler subsegment of an error answered 4xx is an error (429 a throttle), of anything else a fault", async () => {
    class Refused extends Error {
      constructor(readonly status: number) {
        super(`refused with ${status}`);
      }
    }
    const handler = middy(async (event: { status?: number }) => {
      if (event.status !== undefined) throw new Refused(event.status);
      throw new Error("our bug");
    }).use(emitter.handlerMiddleware((e) => (e instanceof Refused ? e.status : undefined)));
    for (const status of [404, 429, 503, undefined]) {
      await expect(
        handler({ ...(status === undefined ? {} : { status }) }, context()),
      ).rejects.toThrow();
    }
    const docs = await documents(4);
    expect(docs.map((d) => [d.error, d.throttle, d.fault])).toEqual([
      [true, undefined, undefined],
      [true, true, undefined],
      [undefined, undefined, true],
      [undefined, undefined, true],
    ]);
    for (const d of docs) expect(d.cause?.exceptions).toHaveLength(1);
  });

  it("a handler of an earlier trace is not the parent of a later invocation's calls", async () => {
    const dynamo = stubDynamo([{ status: 200, body: {} }]);
    const later = "1-6746f0a1-00000000000000000000000a";
    let leaked: (() => Promise<unknown>) | undefined;
    const handler = middy(async () => {
      // A callback that outlives the invocation keeps its async context.
      leaked = () => dynamo.send(new GetItemCommand({ TableName: "T", Key: { pk: { S: "p" } } }));
      return { statusCode: 204 };
    }).use(emitter.handlerMiddleware());
    await handler({}, context());
    traceHeader = `Root=${later};Parent=aaaaaaaaaaaaaaaa;Sampled=1`;
    await leaked?.();
    const docs = await documents(2);
    expect(docs[1]).toMatchObject({
      name: "DynamoDB",
      trace_id: later,
      parent_id: "aaaaaaaaaaaaaaaa",
    });
  });
});

describe("XRayEmitter when tracing itself fails", () => {
  it("the traced calls still succeed, and nothing is sent", async () => {
    const broken = new XRayEmitter({
      service: "payment-service",
      traceHeader: () => {
        throw new Error("no trace header today");
      },
      daemon: { host: "127.0.0.1", port: (daemon.address() as AddressInfo).port },
    }).start();
    const client = broken.captureAwsClient(
      new DynamoDBClient({
        region: "eu-central-1",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
        requestHandler: {
          handle: async () => ({
            response: {
              statusCode: 200,
              reason: "",
              headers: { "content-type": "application/x-amz-json-1.0" },
              body: Readable.from([Buffer.from("{}")]),
            },
          }),
        },
      }),
    );
    const handler = middy(async () => {
      await client.send(new GetItemCommand({ TableName: "T", Key: { pk: { S: "p" } } }));
      return { statusCode: await get("/v1/payment_intents") };
    }).use(broken.handlerMiddleware());
    // The other tests' emitter observes this process's HTTP requests too: unsampled here.
    traceHeader = undefined;
    await expect(handler({}, context())).resolves.toEqual({ statusCode: 200 });
    traceHeader = SAMPLED;
    await settled();
    expect(received).toEqual([]);
  });
});

describe("lib/tracing.ts", () => {
  async function freshTracing(value: string | undefined) {
    vi.resetModules();
    vi.stubEnv("POWERTOOLS_TRACE_ENABLED", value);
    try {
      return await import("../../lib/tracing.js");
    } finally {
      vi.unstubAllEnvs();
    }
  }

  it('is off unless POWERTOOLS_TRACE_ENABLED is exactly "true": clients untouched', async () => {
    for (const value of [undefined, "1", "TRUE", "yes", "false", ""]) {
      const tracing = await freshTracing(value);
      expect(tracing.tracingEnabled, String(value)).toBe(false);
      expect(tracing.tracer).toBeUndefined();
      expect(tracing.tracingMiddleware(() => 400)).toBeUndefined();
      const client = new DynamoDBClient({ region: "us-east-1" });
      expect(tracing.traceAwsClient(client)).toBe(client);
      expect(client.middlewareStack.identify().join()).not.toContain(AWS_MIDDLEWARE_NAME);
    }
  });

  it("on: AWS clients get the X-Ray middleware and the handler middleware exists", async () => {
    const tracing = await freshTracing("true");
    expect(tracing.tracingEnabled).toBe(true);
    expect(tracing.tracer?.captureAwsClient).toBeTypeOf("function");
    expect(tracing.tracingMiddleware(() => 400)?.before).toBeTypeOf("function");
    const client = tracing.traceAwsClient(new DynamoDBClient({ region: "us-east-1" }));
    expect(client.middlewareStack.identify().join()).toContain(AWS_MIDDLEWARE_NAME);
  });
});
