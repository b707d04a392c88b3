import type { Context } from "aws-lambda";
import { afterEach, describe, expect, it } from "vitest";
import { type HttpEvent, httpHandler, json } from "../../lib/http/handler.js";
import { logger, publishMetrics, startInvocation } from "../../lib/observability.js";

/** Log lines written to stdout while `fn` runs, parsed. */
async function linesOf(fn: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const written: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  };
  try {
    await fn();
  } finally {
    process.stdout.write = write;
  }
  return written
    .join("")
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
}

function context(functionName: string, awsRequestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: "256",
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "test",
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function event(requestId: string): HttpEvent {
  return {
    version: "2.0",
    routeKey: "GET /t",
    rawPath: "/t",
    rawQueryString: "",
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      authorizer: {
        principalId: "",
        integrationLatency: 0,
        jwt: { claims: { sub: "alice" }, scopes: [] },
      },
      domainName: "localhost",
      domainPrefix: "localhost",
      http: {
        method: "GET",
        path: "/t",
        protocol: "HTTP/1.1",
        sourceIp: "127.0.0.1",
        userAgent: "t",
      },
      requestId,
      routeKey: "GET /t",
      stage: "$default",
      time: "05/Dec/2026:12:00:00 +0000",
      timeEpoch: 0,
    },
  };
}

const previousLevel = logger.getLevelName();
afterEach(() => logger.setLogLevel(previousLevel));

describe("the route table's scopes", () => {
  it("are enforced by the shared stack before the handler runs", async () => {
    let ran = 0;
    const refund = httpHandler(
      async () => {
        ran++;
        return json(200, {});
      },
      { route: "refund-payment" },
    );
    const withScopes = (scope: string): HttpEvent => {
      const e = event("req-scope");
      return {
        ...e,
        requestContext: {
          ...e.requestContext,
          authorizer: {
            ...e.requestContext.authorizer,
            jwt: { claims: { sub: "sam", scope }, scopes: [] },
          },
        },
      };
    };
    const refused = await refund(withScopes("payments:read payments:admin"), context("f", "l-1"));
    expect(refused.statusCode).toBe(403);
    expect(JSON.parse(String(refused.body)).code).toBe("insufficient_scope");
    expect(ran).toBe(0);
    const allowed = await refund(withScopes("payments:refund"), context("f", "l-2"));
    expect(allowed.statusCode).toBe(200);
    expect(ran).toBe(1);
  });

  it("name a route that exists, or the module fails to load", () => {
    expect(() => httpHandler(async () => json(200, {}), { route: "no-such-route" })).toThrow(
      /not in the route table/,
    );
  });
});

describe("log lines", () => {
  it("carry API Gateway's request id as correlation_id, and no warning about it", async () => {
    logger.setLogLevel("INFO");
    const handler = httpHandler(
      async () => {
        logger.info("inside");
        return json(200, {});
      },
      { route: "stripe-webhook" },
    );
    const lines = await linesOf(async () => {
      await handler(event("req-one"), context("fn-a", "lambda-1"));
      await handler(event("req-two"), context("fn-a", "lambda-2"));
    });
    const inside = lines.filter((l) => l.message === "inside");
    expect(inside.map((l) => [l.correlation_id, l.function_request_id])).toEqual([
      ["req-one", "lambda-1"],
      ["req-two", "lambda-2"],
    ]);
    expect(lines.filter((l) => l.level === "WARN")).toEqual([]);
  });

  it("of a later non-HTTP invocation name its own function and no stale correlation id", async () => {
    logger.setLogLevel("INFO");
    const http = httpHandler(async () => json(200, {}), { route: "stripe-webhook" });
    const lines = await linesOf(async () => {
      await http(event("req-http"), context("get-payment", "lambda-http"));
      startInvocation(context("publish-outbox", "lambda-stream"));
      logger.info("stream");
    });
    const line = lines.find((l) => l.message === "stream");
    expect(line?.function_name).toBe("publish-outbox");
    expect(line?.function_request_id).toBe("lambda-stream");
    expect(line?.correlation_id).toBeUndefined();
  });

  it("say nothing when an invocation recorded no metric", async () => {
    logger.setLogLevel("INFO");
    const lines = await linesOf(async () => publishMetrics());
    expect(lines).toEqual([]);
  });
});
