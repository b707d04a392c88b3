/**
 * The SST app (sst.config.ts + infra/*.ts), evaluated against a recording stand-in of SST's
 * globals (tests/support/sst-recorder.ts): no SST, Pulumi or AWS involved. It checks what the
 * app declares: the routes and their auth, the handlers they name, the tables, the outbox stream
 * subscription, the MSK mapping, the jobs, the alarms and the per-stage protection.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  isProductionStage,
  type KafkaSettings,
  kafkaResourceArns,
  type StageEntry,
  settingsFor,
  stages,
} from "../../infra/functions.js";
import { ACCESS_LOG_FIELDS, ACCESS_LOG_FORMAT } from "../../infra/logging.js";
import { routes } from "../../infra/routes.js";
import { tables } from "../../infra/tables.js";
import { eventMetricName, METRICS } from "../../lib/observability.js";
import {
  asArray,
  asString,
  at,
  callsOf,
  type Evaluation,
  evaluateSstApp,
  isCallable,
  isRecord,
  type RecordedResource,
  resource,
  resourcesOf,
} from "../support/sst-recorder.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const TEST_JWT = { issuer: "https://issuer.test/", audiences: ["payment-service"] };
const TEST_KAFKA: KafkaSettings = {
  clusterArn:
    "arn:aws:kafka:us-east-1:123456789012:cluster/payments/0f1e2d3c-1111-2222-3333-444455556666-1",
  bootstrapBrokers: "b-1.payments.test:9098,b-2.payments.test:9098",
  subnets: ["subnet-0aaa", "subnet-0bbb"],
  securityGroups: ["sg-0ccc"],
  topicPrefix: "test.",
  pollers: { minimum: 1, maximum: 2 },
};

const TEST_CONSOLE = {
  clientId: "console-client",
  authorizationEndpoint: "https://login.issuer.test/oauth2/authorize",
  tokenEndpoint: "https://login.issuer.test/oauth2/token",
};

/** Evaluates the app for `stage` with `entries` added to infra/functions.ts `stages`. */
async function evaluateWith(
  stage: string,
  entries: Record<string, StageEntry>,
): Promise<Evaluation> {
  const saved = { ...stages };
  Object.assign(stages, entries);
  try {
    return await evaluateSstApp(root, stage);
  } finally {
    for (const key of Object.keys(stages)) Reflect.deleteProperty(stages, key);
    Object.assign(stages, saved);
  }
}

let dev: Evaluation;
let msk: Evaluation;
let production: Evaluation;

beforeAll(async () => {
  dev = await evaluateWith("alice", { dev: { ...stages.dev, jwt: TEST_JWT } });
  msk = await evaluateWith("msk-test", { "msk-test": { jwt: TEST_JWT, kafka: TEST_KAFKA } });
  production = await evaluateWith("production", {
    production: {
      ...stages.production,
      jwt: TEST_JWT,
      kafka: { ...TEST_KAFKA, topicPrefix: "", topicMode: "single" },
      console: TEST_CONSOLE,
    },
  });
});

afterEach(() => {
  // Each evaluation removes the globals it installed.
  expect(Reflect.has(globalThis, "sst")).toBe(false);
});

// ---------------------------------------------------------------------------------------------

/** The names of the resources in a `link` list. */
function linkNames(args: unknown): string[] {
  return asArray(at(args, "link")).map((item) => asString(at(item, "record", "name")));
}

function permissionsFor(args: unknown, action: string): unknown[] {
  const permissions = at(args, "permissions");
  if (permissions === undefined) return [];
  return asArray(permissions)
    .filter((p) => asArray(at(p, "actions")).includes(action))
    .flatMap((p) => [...asArray(at(p, "resources"))]);
}

function apiOf(evaluation: Evaluation): RecordedResource {
  return resource(evaluation, "sst.aws.ApiGatewayV2", "Api");
}

function routeCall(evaluation: Evaluation, routeKey: string) {
  const call = callsOf(apiOf(evaluation), "route").find((c) => c.args[0] === routeKey);
  if (call === undefined) throw new Error(`no route ${routeKey}`);
  return { handler: call.args[1], args: call.args[2] };
}

/** Every handler path the app names: route handlers, functions, cron jobs. */
function handlerPaths(evaluation: Evaluation): string[] {
  return [
    ...callsOf(apiOf(evaluation), "route").map((c) => at(c.args[1], "handler")),
    ...resourcesOf(evaluation, "sst.aws.Function").map((r) => at(r.args, "handler")),
    ...resourcesOf(evaluation, "sst.aws.CronV2").map((r) => at(r.args, "function", "handler")),
  ].map(asString);
}

/** The FunctionArgs of every function the app declares: route handlers, functions, cron jobs. */
function functionArgs(evaluation: Evaluation): unknown[] {
  return [
    ...callsOf(apiOf(evaluation), "route").map((c) => c.args[1]),
    ...resourcesOf(evaluation, "sst.aws.Function").map((r) => r.args),
    ...resourcesOf(evaluation, "sst.aws.CronV2").map((r) => at(r.args, "function")),
  ];
}

/**
 * What a function transform (SST `transform.function`, `transform.stage`) makes of `args`: it is
 * called as SST calls it, on the arguments SST built, which it changes in place.
 */
function transformed(transform: unknown, args: Record<string, unknown>): Record<string, unknown> {
  if (!isCallable(transform)) throw new Error(`expected a function transform, got ${transform}`);
  const copy = { ...args };
  expect(transform(copy, {}, "Name")).toBeUndefined();
  return copy;
}

/** The HTTP API stage's arguments as SST builds them (its default format abridged). */
const SST_STAGE_ARGS = {
  autoDeploy: true,
  accessLogSettings: {
    destinationArn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/apis/Api",
    format: JSON.stringify({ requestId: '"$context.requestId"' }),
  },
};

/** The Lambda function's arguments as SST builds them, the parts the transform may change. */
const SST_LAMBDA_ARGS = {
  loggingConfig: { logFormat: "JSON", logGroup: "/aws/lambda/payment-service-CreateIntent" },
  timeout: 10,
};

// ---------------------------------------------------------------------------------------------

describe("every function", () => {
  it("runs Node 24 on arm64 with JSON logs and the stage's retention", () => {
    for (const [evaluation, retention] of [
      [dev, "1 week"],
      [production, "1 year"],
    ] as const) {
      const all = functionArgs(evaluation);
      expect(all.length).toBeGreaterThanOrEqual(routes.length + 4);
      for (const args of all) {
        expect(at(args, "runtime")).toBe("nodejs24.x");
        expect(at(args, "architecture")).toBe("arm64");
        expect(at(args, "logging")).toEqual({ format: "json", retention });
      }
    }
  });

  it("adds the compile cache to each package after SST's build (hook.postbuild)", () => {
    for (const evaluation of [dev, production]) {
      for (const args of functionArgs(evaluation)) {
        expect(typeof at(args, "hook", "postbuild"), asString(at(args, "handler"))).toBe(
          "function",
        );
      }
    }
  });

  it("logs Lambda's system records at WARN and its own lines at INFO, in SST's log group", () => {
    for (const evaluation of [dev, production]) {
      for (const args of functionArgs(evaluation)) {
        const handler = asString(at(args, "handler"));
        const lambda = transformed(at(args, "transform", "function"), SST_LAMBDA_ARGS);
        // SST's format and log group (with the stage's retention) kept, the levels added.
        expect(lambda.loggingConfig, handler).toEqual({
          logFormat: "JSON",
          logGroup: "/aws/lambda/payment-service-CreateIntent",
          systemLogLevel: "WARN",
          applicationLogLevel: "INFO",
        });
        expect(lambda.timeout, handler).toBe(10);
      }
    }
    // `logging: false` (no log group) stays without a logging config.
    const [first] = functionArgs(dev);
    expect(transformed(at(first, "transform", "function"), {}).loggingConfig).toBeUndefined();
    // A logging config SST no longer builds as a plain object is refused, not merged blindly.
    expect(() =>
      transformed(at(first, "transform", "function"), {
        loggingConfig: new (class Output {})(),
      }),
    ).toThrow(/infra\/logging\.ts/);
  });

  it("production traces with X-Ray (Active, write policy, Tracer on); dev does not", () => {
    for (const args of functionArgs(production)) {
      const handler = asString(at(args, "handler"));
      const lambda = transformed(at(args, "transform", "function"), SST_LAMBDA_ARGS);
      expect(lambda.tracingConfig, handler).toEqual({ mode: "Active" });
      expect(asArray(at(args, "policies")), handler).toContain(
        "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess",
      );
      expect(at(args, "environment", "POWERTOOLS_TRACE_ENABLED"), handler).toBe("true");
    }
    // The MSK consumer keeps its own policy next to X-Ray's.
    const consumer = resource(production, "sst.aws.Function", "OrderPlaced");
    expect(asArray(at(consumer.args, "policies"))).toHaveLength(2);
    for (const args of functionArgs(dev)) {
      const handler = asString(at(args, "handler"));
      const lambda = transformed(at(args, "transform", "function"), SST_LAMBDA_ARGS);
      expect(lambda.tracingConfig, handler).toBeUndefined();
      expect(asArray(at(args, "policies") ?? []), handler).toEqual([]);
      expect(at(args, "environment", "POWERTOOLS_TRACE_ENABLED"), handler).toBe("false");
    }
  });
});

describe("stage settings", () => {
  it("production-like stages retain and protect; others remove", () => {
    expect(at(production.app, "name")).toBe("payment-service");
    expect(at(production.app, "removal")).toBe("retain");
    expect(at(production.app, "protect")).toBe(true);
    expect(at(dev.app, "removal")).toBe("remove");
    expect(at(dev.app, "protect")).toBe(false);
    expect(isProductionStage("staging")).toBe(true);
    expect(isProductionStage("alice")).toBe(false);
  });

  it("a production-like stage without its settings stops with a message naming them", async () => {
    await expect(
      evaluateWith("production", { production: { jwt: { audiences: ["payment-service"] } } }),
    ).rejects.toThrow(
      'production-like stage "production" needs jwt.issuer, kafka.clusterArn, kafka.bootstrapBrokers, kafka.subnets, kafka.securityGroups, kafka.topicPrefix, kafka.pollers, console.clientId, console.authorizationEndpoint (https), console.tokenEndpoint (https) in infra/functions.ts stages.production',
    );
    expect(() => settingsFor("staging", {})).toThrow(/stage "staging" has no settings/);
  });

  it("a dev stage uses the dev entry, needs a JWT issuer, and has no MSK unless a cluster is given", () => {
    const table = { dev: { jwt: TEST_JWT } };
    expect(settingsFor("bob", table).kafka).toBeUndefined();
    expect(settingsFor("bob", table).production).toBe(false);
    expect(() => settingsFor("bob", { dev: { jwt: { audiences: ["x"] } } })).toThrow(
      'stage "bob" needs jwt.issuer in infra/functions.ts stages.dev',
    );
    expect(() =>
      settingsFor("bob", { bob: { jwt: TEST_JWT, kafka: { clusterArn: TEST_KAFKA.clusterArn } } }),
    ).toThrow(/needs kafka\.bootstrapBrokers/);
  });

  it("takes the issuer and the cluster from the deploy environment when given", () => {
    const settings = settingsFor(
      "production",
      {
        production: {
          jwt: { audiences: ["payment-service"] },
          kafka: { topicPrefix: "", pollers: { minimum: 1, maximum: 2 } },
        },
      },
      {
        JWT_ISSUER: "https://login.example.com/",
        MSK_CLUSTER_ARN: TEST_KAFKA.clusterArn,
        MSK_BOOTSTRAP_BROKERS: "b-1.example:9098,b-2.example:9098",
        MSK_SUBNETS: "subnet-1, subnet-2",
        MSK_SECURITY_GROUPS: "sg-1",
        CONSOLE_CLIENT_ID: "from-env",
        CONSOLE_AUTHORIZATION_ENDPOINT: "https://login.example.com/authorize",
        CONSOLE_TOKEN_ENDPOINT: "https://login.example.com/token",
      },
    );
    expect(settings.console).toEqual({
      clientId: "from-env",
      authorizationEndpoint: "https://login.example.com/authorize",
      tokenEndpoint: "https://login.example.com/token",
      scopes: "openid payments:read payments:refund payments:admin",
      sendAudience: false,
    });
    expect(settings.jwt).toEqual({
      issuer: "https://login.example.com/",
      audiences: ["payment-service"],
    });
    expect(settings.kafka).toMatchObject({
      clusterArn: TEST_KAFKA.clusterArn,
      bootstrapBrokers: "b-1.example:9098,b-2.example:9098",
      subnets: ["subnet-1", "subnet-2"],
      securityGroups: ["sg-1"],
    });
  });

  it("derives topic and group ARNs from the cluster ARN", () => {
    expect(kafkaResourceArns(TEST_KAFKA.clusterArn)).toEqual({
      cluster: TEST_KAFKA.clusterArn,
      topics:
        "arn:aws:kafka:us-east-1:123456789012:topic/payments/0f1e2d3c-1111-2222-3333-444455556666-1/*",
      groups:
        "arn:aws:kafka:us-east-1:123456789012:group/payments/0f1e2d3c-1111-2222-3333-444455556666-1/*",
    });
    expect(() => kafkaResourceArns("arn:aws:sqs:us-east-1:1:q")).toThrow(/not an MSK cluster ARN/);
  });
});

describe("HTTP API", () => {
  it("declares exactly the routes of infra/routes.ts", () => {
    const declared = callsOf(apiOf(dev), "route").map((c) => c.args[0]);
    expect([...declared].sort()).toEqual(routes.map((r) => r.routeKey).sort());
  });

  it("has one JWT authorizer with the stage's issuer and audiences, access logs and throttling", () => {
    const api = apiOf(dev);
    const authorizers = callsOf(api, "addAuthorizer");
    expect(authorizers).toHaveLength(1);
    expect(at(authorizers[0]?.args[0], "jwt")).toEqual(TEST_JWT);
    expect(at(api.args, "accessLog", "retention")).toBe("1 week");
    const stage = transformed(at(api.args, "transform", "stage"), SST_STAGE_ARGS);
    expect(stage.defaultRouteSettings).toEqual({
      throttlingRateLimit: expect.any(Number),
      throttlingBurstLimit: expect.any(Number),
    });
    expect(linkNames(api.args)).toEqual(["Payments", "Idempotency"]);
    expect(at(apiOf(production).args, "accessLog", "retention")).toBe("1 year");
    const productionStage = transformed(
      at(apiOf(production).args, "transform", "stage"),
      SST_STAGE_ARGS,
    );
    expect(productionStage.defaultRouteSettings).toEqual({
      throttlingRateLimit: 200,
      throttlingBurstLimit: 400,
    });
  });

  it("writes access logs to SST's log group in the operator's format, one JSON object a line", () => {
    for (const evaluation of [dev, production]) {
      const stage = transformed(at(apiOf(evaluation).args, "transform", "stage"), SST_STAGE_ARGS);
      expect(stage.accessLogSettings).toEqual({
        destinationArn: "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/apis/Api",
        format: ACCESS_LOG_FORMAT,
      });
      expect(stage.autoDeploy).toBe(true);
    }
    // Every value quoted, so each line is JSON whatever API Gateway puts in (`-` when absent).
    expect(JSON.parse(ACCESS_LOG_FORMAT)).toEqual({
      requestTime: "$context.requestTime",
      requestId: "$context.requestId",
      method: "$context.httpMethod",
      path: "$context.path",
      routeKey: "$context.routeKey",
      status: "$context.status",
      latency: "$context.responseLatency",
      error: "$context.integrationErrorMessage",
      authError: "$context.authorizer.error",
      ip: "$context.identity.sourceIp",
      userAgent: "$context.identity.userAgent",
    });
    expect(JSON.parse(ACCESS_LOG_FORMAT)).toEqual(ACCESS_LOG_FIELDS);
  });

  it.each(routes)("$routeKey: handler, auth, sizing, runtime, build, links", (route) => {
    const { handler, args } = routeCall(dev, route.routeKey);
    const authorizerId = "Api.authorizer.Jwt.id";
    if (route.auth === "jwt") {
      expect(at(args, "auth")).toEqual({ jwt: { authorizer: authorizerId } });
    } else {
      expect(at(args, "auth")).toBe(false);
    }
    expect(at(handler, "handler")).toBe(`functions/${route.handler}.handler`);
    expect(at(handler, "memory")).toBe(`${route.memoryMb} MB`);
    expect(at(handler, "timeout")).toBe(`${route.timeoutSeconds} seconds`);
    expect(at(handler, "runtime")).toBe("nodejs24.x");
    expect(at(handler, "architecture")).toBe("arm64");
    expect(at(handler, "nodejs")).toEqual({
      format: "esm",
      minify: true,
      sourcemap: true,
      splitting: true,
      plugins: "./infra/esbuild-plugins.mjs",
    });
    expect(at(handler, "environment", "PAYMENTS_TABLE")).toBe("Payments.name");
    expect(at(handler, "environment", "IDEMPOTENCY_TABLE")).toBe("Idempotency.name");
    expect(linkNames(handler)).toEqual(
      route.auth === "none" ? ["StripeSecretKey", "StripeWebhookSecret"] : ["StripeSecretKey"],
    );
    // Secrets are linked, never in plain environment.
    expect(JSON.stringify(at(handler, "environment"))).not.toMatch(/Stripe|STRIPE/);
  });

  it("links Stripe's key to the functions that find a payment by its PaymentIntent at Stripe", () => {
    // No PaymentIntent → payment item is written any more: the search by PaymentIntent
    // (list-payments) and the webhook (charges, disputes, outside refunds) read the
    // PaymentIntent's metadata from Stripe.
    for (const routeKey of ["GET /api/payments", "POST /api/webhooks/stripe"]) {
      const { handler } = routeCall(dev, routeKey);
      expect(at(handler, "handler")).toMatch(
        /^functions\/(list-payments|stripe-webhook)\.handler$/,
      );
      expect(linkNames(handler)).toContain("StripeSecretKey");
    }
  });

  it("leaves the Stripe webhook without an authorizer", () => {
    const webhooks = routes.filter((r) => r.auth === "none").map((r) => r.handler);
    expect(webhooks).toEqual(["stripe-webhook"]);
  });
});

describe("handlers", () => {
  it("every handler the app names exists under functions/ and exports `handler`", () => {
    const paths = [...new Set(handlerPaths(msk))];
    expect(paths).toEqual(
      expect.arrayContaining([
        ...routes.map((r) => `functions/${r.handler}.handler`),
        "functions/reconcile.handler",
        "functions/publish-outbox.handler",
        "functions/order-placed.handler",
      ]),
    );
    for (const path of paths) {
      const match = /^functions\/([\w-]+)\.handler$/.exec(path);
      const name = match?.[1];
      expect(name, path).toBeDefined();
      if (name === undefined) continue;
      const file = join(root, "functions", `${name}.ts`);
      expect(existsSync(file), `${file} exists`).toBe(true);
      expect(readFileSync(file, "utf8"), `${file} exports handler`).toMatch(
        /export const handler\b/,
      );
    }
  });
});

describe("tables", () => {
  it("payments: keys, GSIs byWatch byCustomer byStatus, stream, TTL, point-in-time recovery", () => {
    const { args } = resource(dev, "sst.aws.Dynamo", tables.payments.name);
    expect(at(args, "fields")).toEqual({
      pk: "string",
      sk: "string",
      watch: "string",
      watchAt: "string",
      customerId: "string",
      createdAt: "string",
      listStatus: "string",
      listAt: "string",
    });
    expect(at(args, "primaryIndex")).toEqual({ hashKey: "pk", rangeKey: "sk" });
    expect(at(args, "globalIndexes")).toEqual({
      byWatch: { hashKey: "watch", rangeKey: "watchAt", projection: "keys-only" },
      byCustomer: { hashKey: "customerId", rangeKey: "createdAt", projection: "keys-only" },
      byStatus: { hashKey: "listStatus", rangeKey: "listAt", projection: "keys-only" },
    });
    expect(at(args, "stream")).toBe(tables.payments.stream);
    expect(at(args, "ttl")).toBe(tables.payments.ttlAttribute);
    expect(at(args, "transform", "table", "pointInTimeRecovery", "enabled")).toBe(true);
  });

  it("idempotency: key, TTL, point-in-time recovery, no stream", () => {
    const { args } = resource(dev, "sst.aws.Dynamo", tables.idempotency.name);
    expect(at(args, "primaryIndex")).toEqual({ hashKey: "id" });
    expect(at(args, "ttl")).toBe(tables.idempotency.ttlAttribute);
    expect(at(args, "stream")).toBeUndefined();
    expect(at(args, "transform", "table", "pointInTimeRecovery", "enabled")).toBe(true);
  });

  it("deletion protection on production only", () => {
    for (const table of [tables.payments.name, tables.idempotency.name]) {
      expect(at(resource(production, "sst.aws.Dynamo", table).args, "deletionProtection")).toBe(
        true,
      );
      expect(at(resource(dev, "sst.aws.Dynamo", table).args, "deletionProtection")).toBe(false);
    }
  });

  it("secrets are SST secrets", () => {
    expect(resourcesOf(dev, "sst.Secret").map((r) => r.name)).toEqual([
      "StripeSecretKey",
      "StripeWebhookSecret",
    ]);
  });
});

describe("outbox publisher", () => {
  it("subscribes to the payments stream: outbox INSERTs, partial batch failures, failure bucket", () => {
    const payments = resource(dev, "sst.aws.Dynamo", tables.payments.name);
    const subscriptions = callsOf(payments, "subscribe");
    expect(subscriptions).toHaveLength(1);
    const [name, subscriber, args] = subscriptions[0]?.args ?? [];
    expect(name).toBe("PublishOutbox");
    expect(subscriber).toBe("PublishOutbox.arn");
    expect(at(args, "filters")).toEqual([
      { eventName: ["INSERT"], dynamodb: { NewImage: { type: { S: ["outbox"] } } } },
    ]);
    const mapping = at(args, "transform", "eventSourceMapping");
    expect(at(mapping, "functionResponseTypes")).toEqual(["ReportBatchItemFailures"]);
    expect(at(mapping, "batchSize")).toBe(25);
    expect(at(mapping, "startingPosition")).toBe("TRIM_HORIZON");
    expect(at(mapping, "bisectBatchOnFunctionError")).toBe(true);
    expect(at(mapping, "maximumRetryAttempts")).toEqual(expect.any(Number));
    // Gives up well before the stream's 24 hours, so the whole batch can still be written to S3.
    expect(at(mapping, "maximumRecordAgeInSeconds")).toBe(6 * 3600);
    expect(at(mapping, "destinationConfig", "onFailure", "destinationArn")).toBe(
      "OutboxFailures.arn",
    );
    expect(resource(dev, "sst.aws.Bucket", "OutboxFailures")).toBeDefined();
  });

  it("may read the stream and write discarded batches to the failure bucket", () => {
    const { args } = resource(dev, "sst.aws.Function", "PublishOutbox");
    expect(at(args, "handler")).toBe("functions/publish-outbox.handler");
    expect(permissionsFor(args, "dynamodb:GetRecords")).toEqual(["Payments.nodes.table.streamArn"]);
    expect(permissionsFor(args, "s3:PutObject")).toEqual([
      "OutboxFailures.arn",
      "OutboxFailures.arn/*",
    ]);
    expect(permissionsFor(args, "sqs:SendMessage")).toEqual([]);
  });

  it("without MSK logs events (no brokers, no VPC); with MSK sends them with IAM auth", () => {
    const devArgs = resource(dev, "sst.aws.Function", "PublishOutbox").args;
    expect(at(devArgs, "environment", "KAFKA_BROKERS")).toBeUndefined();
    expect(at(devArgs, "vpc")).toBeUndefined();

    const mskArgs = resource(msk, "sst.aws.Function", "PublishOutbox").args;
    expect(at(mskArgs, "environment", "KAFKA_BROKERS")).toBe(TEST_KAFKA.bootstrapBrokers);
    expect(at(mskArgs, "environment", "KAFKA_AUTH")).toBe("iam");
    expect(at(mskArgs, "environment", "KAFKA_TOPIC_PREFIX")).toBe("test.");
    // One topic per event type unless the stage says single.
    expect(at(mskArgs, "environment", "KAFKA_TOPIC_MODE")).toBe("per-type");
    const publisher = resource(production, "sst.aws.Function", "PublishOutbox").args;
    const sweeper = resource(production, "sst.aws.CronV2", "SweepOutbox").args;
    expect(at(publisher, "environment", "KAFKA_TOPIC_MODE")).toBe("single");
    expect(at(sweeper, "function", "environment", "KAFKA_TOPIC_MODE")).toBe("single");
    expect(at(mskArgs, "vpc")).toEqual({
      privateSubnets: TEST_KAFKA.subnets,
      securityGroups: TEST_KAFKA.securityGroups,
    });
    const arns = kafkaResourceArns(TEST_KAFKA.clusterArn);
    expect(permissionsFor(mskArgs, "kafka-cluster:WriteData")).toEqual([arns.topics]);
    expect(permissionsFor(mskArgs, "kafka-cluster:Connect")).toEqual([arns.cluster]);
  });
});

describe("order.placed consumer", () => {
  it("a dev stage without MSK gets no mapping (the function and its DLQ still exist)", () => {
    expect(resourcesOf(dev, "aws.lambda.EventSourceMapping")).toEqual([]);
    expect(resource(dev, "sst.aws.Function", "OrderPlaced")).toBeDefined();
    expect(resource(dev, "sst.aws.Queue", "OrderPlacedDlq")).toBeDefined();
    expect(at(dev.outputs, "orderPlacedMapping")).toMatch(/^none/);
  });

  it("a stage with MSK maps `order.placed` (prefixed) to the function", () => {
    const mappings = resourcesOf(msk, "aws.lambda.EventSourceMapping");
    expect(mappings.map((m) => m.name)).toEqual(["OrderPlacedMapping"]);
    const args = mappings[0]?.args;
    expect(at(args, "eventSourceArn")).toBe(TEST_KAFKA.clusterArn);
    expect(at(args, "functionName")).toBe("OrderPlaced.arn");
    expect(at(args, "topics")).toEqual(["test.order.placed"]);
    expect(at(args, "batchSize")).toBe(100);
    expect(at(args, "startingPosition")).toBe("TRIM_HORIZON");
    expect(at(args, "amazonManagedKafkaEventSourceConfig", "consumerGroupId")).toBe(
      "payment-service-msk-test-order-placed",
    );
    // Retries and bisect on a Kafka mapping need provisioned pollers.
    expect(at(args, "provisionedPollerConfig")).toEqual({ minimumPollers: 1, maximumPollers: 2 });
    // Valid orders are never given up on: retries until the batch succeeds.
    expect(at(args, "maximumRetryAttempts")).toBe(-1);
    expect(at(args, "bisectBatchOnFunctionError")).toBe(true);
    expect(at(args, "destinationConfig", "onFailure", "destinationArn")).toBe("OrderPlacedDlq.arn");
    expect(at(resourcesOf(production, "aws.lambda.EventSourceMapping")[0]?.args, "topics")).toEqual(
      ["order.placed"],
    );
  });

  it("the function reads MSK with IAM and may send to the mapping's DLQ", () => {
    const { args } = resource(msk, "sst.aws.Function", "OrderPlaced");
    expect(at(args, "handler")).toBe("functions/order-placed.handler");
    // Its own dead letters go to the payments table, where support redrives them.
    expect(at(args, "environment", "ORDER_PLACED_DLQ_URL")).toBeUndefined();
    expect(linkNames(args)).toEqual(expect.arrayContaining(["OrderPlacedDlq", "StripeSecretKey"]));
    expect(asArray(at(args, "policies"))).toContain(
      "arn:aws:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole",
    );
    const arns = kafkaResourceArns(TEST_KAFKA.clusterArn);
    expect(permissionsFor(args, "kafka-cluster:ReadData")).toEqual([arns.topics]);
    expect(permissionsFor(args, "kafka-cluster:AlterGroup")).toEqual([arns.groups]);
  });
});

describe("support console", () => {
  it("a dev stage without a console client deploys none", () => {
    expect(resourcesOf(dev, "sst.aws.Router")).toEqual([]);
    expect(resourcesOf(dev, "sst.aws.StaticSite")).toEqual([]);
    expect(String(at(dev.outputs, "consoleUrl"))).toMatch(/^none/);
    expect(() =>
      settingsFor("bob", { bob: { jwt: TEST_JWT, console: { clientId: "c" } } }),
    ).toThrow(/needs console\.authorizationEndpoint \(https\), console\.tokenEndpoint \(https\)/);
    expect(() =>
      settingsFor("bob", {
        bob: {
          jwt: TEST_JWT,
          console: { ...TEST_CONSOLE, tokenEndpoint: "http://login.issuer.test/token" },
        },
      }),
    ).toThrow(/console\.tokenEndpoint \(https\)/);
    expect(() =>
      settingsFor("bob", { bob: { jwt: TEST_JWT, console: { ...TEST_CONSOLE, scopes: "x" } } }),
    ).toThrow(/console\.scopes \(with openid\)/);
  });

  it("serves the site at /console and the API at /api from one Router, keyed (and forwarded) on Authorization", () => {
    const router = resource(production, "sst.aws.Router", "Console");
    expect(callsOf(router, "route").map((c) => c.args)).toEqual([["/api", "Api.url"]]);
    const transform = at(router.args, "transform", "cachePolicy");
    if (typeof transform !== "function") throw new Error("no cache policy transform");
    const policy: Record<string, unknown> = {
      parametersInCacheKeyAndForwardedToOrigin: { headersConfig: { headerBehavior: "none" } },
      defaultTtl: 86400,
    };
    transform(policy, {}, "ConsoleCachePolicy");
    expect(at(policy, "parametersInCacheKeyAndForwardedToOrigin", "headersConfig")).toEqual({
      headerBehavior: "whitelist",
      headers: { items: ["Authorization"] },
    });
    expect(policy.defaultTtl).toBe(0);
    expect(at(production.outputs, "consoleUrl")).toBe("Console.url/console/");
  });

  it("builds the site with the authorizer's issuer and audience and the console client", () => {
    const site = resource(production, "sst.aws.StaticSite", "ConsoleSite");
    expect(at(site.args, "router", "path")).toBe("/console");
    expect(at(site.args, "router", "instance", "record", "name")).toBe("Console");
    expect(at(site.args, "environment")).toEqual({
      CONSOLE_OIDC_ISSUER: TEST_JWT.issuer,
      CONSOLE_OIDC_AUDIENCE: "payment-service",
      CONSOLE_OIDC_CLIENT_ID: TEST_CONSOLE.clientId,
      CONSOLE_OIDC_SCOPES: "openid payments:read payments:refund payments:admin",
      CONSOLE_OIDC_AUTHORIZATION_ENDPOINT: TEST_CONSOLE.authorizationEndpoint,
      CONSOLE_OIDC_TOKEN_ENDPOINT: TEST_CONSOLE.tokenEndpoint,
      CONSOLE_OIDC_SEND_AUDIENCE: "false",
    });
    expect(at(site.args, "assets", "fileOptions")).toEqual([
      { files: "**", cacheControl: "no-cache" },
    ]);
    expect(at(site.args, "build", "command")).toBe(
      "npm run build:console -- --out dist/console-site",
    );
    expect(at(site.args, "build", "output")).toBe("dist/console-site");
  });

  it("with Cognito (the console's client among the audiences), checks tokens for that client", async () => {
    const cognito = await evaluateWith("production", {
      production: {
        ...stages.production,
        jwt: { ...TEST_JWT, audiences: ["payment-service", TEST_CONSOLE.clientId] },
        kafka: { ...TEST_KAFKA, topicPrefix: "" },
        console: TEST_CONSOLE,
      },
    });
    const site = resource(cognito, "sst.aws.StaticSite", "ConsoleSite");
    expect(at(site.args, "environment", "CONSOLE_OIDC_AUDIENCE")).toBe(TEST_CONSOLE.clientId);
  });

  it("the build SST runs, with the environment it passes, writes the page, script and config", () => {
    const site = resource(production, "sst.aws.StaticSite", "ConsoleSite");
    const environment = at(site.args, "environment");
    if (!isRecord(environment)) throw new Error("no environment");
    const out = mkdtempSync(join(tmpdir(), "console-site-"));
    const run = (env: Record<string, unknown>) =>
      spawnSync("npm", ["run", "--silent", "build:console", "--", "--out", out], {
        cwd: root,
        encoding: "utf8",
        env: {
          ...process.env,
          ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])),
        },
      });
    const built = run(environment);
    expect(built.stderr).toBe("");
    expect(built.status).toBe(0);
    expect(JSON.parse(readFileSync(join(out, "config.json"), "utf8"))).toEqual({
      mode: "oidc",
      issuer: TEST_JWT.issuer,
      clientId: TEST_CONSOLE.clientId,
      audience: "payment-service",
      scopes: "openid payments:read payments:refund payments:admin",
      authorizationEndpoint: TEST_CONSOLE.authorizationEndpoint,
      tokenEndpoint: TEST_CONSOLE.tokenEndpoint,
      sendAudience: false,
    });
    const page = readFileSync(join(out, "index.html"), "utf8");
    expect(page).toContain("connect-src 'self' https://login.issuer.test;");
    expect(readFileSync(join(out, "app.js"), "utf8").length).toBeGreaterThan(1000);
    const { CONSOLE_OIDC_CLIENT_ID: _, ...withoutClient } = environment;
    const refused = spawnSync("npm", ["run", "--silent", "build:console", "--", "--out", out], {
      cwd: root,
      encoding: "utf8",
      env: {
        ...Object.fromEntries(
          Object.entries(process.env).filter(([k]) => !k.startsWith("CONSOLE_")),
        ),
        ...Object.fromEntries(Object.entries(withoutClient).map(([k, v]) => [k, String(v)])),
      },
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("missing CONSOLE_OIDC_CLIENT_ID");
  });
});

describe("jobs", () => {
  it("reconciles every 5 minutes with Stripe and the tables", () => {
    const { args } = resource(dev, "sst.aws.CronV2", "Reconcile");
    expect(at(args, "schedule")).toBe("rate(5 minutes)");
    expect(at(args, "function", "handler")).toBe("functions/reconcile.handler");
    expect(linkNames(at(args, "function"))).toEqual(
      expect.arrayContaining(["Payments", "StripeSecretKey"]),
    );
  });

  it("sweeps the outbox on a schedule, reading (and emptying) the failure bucket", () => {
    const { args } = resource(dev, "sst.aws.CronV2", "SweepOutbox");
    expect(at(args, "function", "handler")).toBe("functions/sweep-outbox.handler");
    expect(linkNames(at(args, "function"))).toEqual(
      expect.arrayContaining(["Payments", "OutboxFailures"]),
    );
    expect(at(args, "function", "environment", "OUTBOX_FAILURE_BUCKET")).toBe(
      "OutboxFailures.name",
    );
  });
});

describe("alarms and dashboard", () => {
  const service = { service: "payment-service" };

  function alarm(name: string): unknown {
    return resource(dev, "aws.cloudwatch.MetricAlarm", `Alarm${name}`).args;
  }

  /** The metrics an alarm watches: its own, or those of its metric-math queries. */
  function watched(
    args: unknown,
  ): { namespace: unknown; metricName: unknown; dimensions: unknown }[] {
    const queries = at(args, "metricQueries");
    if (queries === undefined) {
      return [
        {
          namespace: at(args, "namespace"),
          metricName: at(args, "metricName"),
          dimensions: at(args, "dimensions"),
        },
      ];
    }
    return asArray(queries)
      .map((q) => at(q, "metric"))
      .filter(isRecord)
      .map((m) => ({ namespace: m.namespace, metricName: m.metricName, dimensions: m.dimensions }));
  }

  it("payment success rate below 95% (PaymentCaptured vs PaymentFailed)", () => {
    const args = alarm("PaymentSuccessRate");
    expect(watched(args)).toEqual([
      {
        namespace: "PaymentService",
        metricName: eventMetricName("payment.captured"),
        dimensions: service,
      },
      {
        namespace: "PaymentService",
        metricName: eventMetricName("payment.failed"),
        dimensions: service,
      },
    ]);
    expect(at(args, "comparisonOperator")).toBe("LessThanThreshold");
    expect(at(args, "threshold")).toBe(95);
    const results = asArray(at(args, "metricQueries")).filter((q) => at(q, "returnData") === true);
    expect(results).toHaveLength(1);
    expect(asString(at(results[0], "expression"))).toMatch(/captured/);
  });

  it("any webhook signature failure", () => {
    const args = alarm("WebhookSignatureFailures");
    expect(watched(args)).toEqual([
      {
        namespace: "PaymentService",
        metricName: METRICS.webhookSignatureFailure,
        dimensions: service,
      },
    ]);
    expect(at(args, "comparisonOperator")).toBe("GreaterThanOrEqualToThreshold");
    expect(at(args, "threshold")).toBe(1);
  });

  it("high failure rate (API 5xx over requests)", () => {
    const names = watched(alarm("HighFailureRate")).map((m) => [
      m.namespace,
      m.metricName,
      m.dimensions,
    ]);
    expect(names).toEqual([
      ["AWS/ApiGateway", "5xx", { ApiId: "Api.nodes.api.id" }],
      ["AWS/ApiGateway", "Count", { ApiId: "Api.nodes.api.id" }],
    ]);
  });

  it("Stripe API errors", () => {
    expect(watched(alarm("StripeErrors"))).toEqual([
      { namespace: "PaymentService", metricName: METRICS.stripeError, dimensions: service },
    ]);
  });

  it("outbox age (the publisher's stream iterator age), parked outbox events and DLQ depth", () => {
    expect(watched(alarm("OutboxAge"))).toEqual([
      {
        namespace: "AWS/Lambda",
        metricName: "IteratorAge",
        dimensions: { FunctionName: "PublishOutbox.name" },
      },
    ]);
    expect(watched(alarm("OutboxParked"))).toEqual([
      { namespace: "PaymentService", metricName: METRICS.outboxPublishFailed, dimensions: service },
    ]);
    expect(at(alarm("OutboxParked"), "threshold")).toBe(1);
    expect(watched(alarm("OrderPlacedDlqDepth"))).toEqual([
      {
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: "OrderPlacedDlq.nodes.queue.name" },
      },
    ]);
  });

  it("every alarm notifies the Alarms topic", () => {
    const alarms = resourcesOf(dev, "aws.cloudwatch.MetricAlarm");
    expect(alarms).toHaveLength(7);
    for (const { args } of alarms) expect(at(args, "alarmActions")).toEqual(["Alarms.arn"]);
  });

  it("the dashboard shows the key metrics", () => {
    const { args } = resource(dev, "aws.cloudwatch.Dashboard", "Dashboard");
    const body: unknown = JSON.parse(asString(at(args, "dashboardBody")));
    const lines = asArray(at(body, "widgets")).flatMap((w) => [
      ...asArray(at(w, "properties", "metrics")),
    ]);
    const shown = lines.map((line) => {
      const parts = asArray(line);
      const options = parts.at(-1);
      return `${String(parts[1])}${isRecord(options) && typeof options.stat === "string" ? `:${options.stat}` : ""}`;
    });
    expect(shown).toEqual(
      expect.arrayContaining([
        `${eventMetricName("payment.captured")}:Sum`,
        `${eventMetricName("payment.failed")}:Sum`,
        `${METRICS.stripeLatency}:p50`,
        `${METRICS.stripeLatency}:p99`,
        `${METRICS.webhookReceived}:Sum`,
        `${METRICS.webhookSignatureFailure}:Sum`,
        `${METRICS.idempotentReplay}:Sum`,
        `${METRICS.paymentCreated}:Sum`,
      ]),
    );
  });
});
