/**
 * CloudWatch alarms and a dashboard over the service's metrics (namespace PaymentService, the
 * names of lib/observability.ts; Powertools adds the `service` dimension) and the AWS metrics of
 * the API, the outbox publisher and the DLQs. Alarms notify the `Alarms` SNS topic: subscribe the
 * on-call channel to it.
 */
import type { Events } from "./events.js";

export const NAMESPACE = "PaymentService";
/** Powertools Metrics publishes every metric with this dimension (its serviceName). */
export const SERVICE_DIMENSIONS = { service: "payment-service" };

/** Metric names, as lib/observability.ts emits them (the infra test checks they agree). */
export const METRIC = {
  paymentCaptured: "PaymentCaptured",
  paymentFailed: "PaymentFailed",
  paymentCreated: "PaymentCreated",
  idempotentReplay: "IdempotentReplay",
  webhookReceived: "WebhookReceived",
  webhookSignatureFailure: "WebhookSignatureFailure",
  stripeLatency: "StripeLatency",
  stripeError: "StripeError",
  outboxPublishFailed: "OutboxPublishFailed",
} as const;

const FIVE_MINUTES = 300;
const ONE_MINUTE = 60;

/** Outbox events older than this on the stream page the on-call (ms). */
export const OUTBOX_AGE_THRESHOLD_MS = 5 * 60 * 1000;

type AlarmArgs = aws.cloudwatch.MetricAlarmArgs;

interface AlarmInputs {
  readonly api: sst.aws.ApiGatewayV2;
  readonly events: Events;
}

/** An alarm on any occurrence of a service metric within 5 minutes. */
function anyInFiveMinutes(alarmDescription: string, metricName: string): AlarmArgs {
  return {
    alarmDescription,
    namespace: NAMESPACE,
    metricName,
    dimensions: SERVICE_DIMENSIONS,
    statistic: "Sum",
    period: FIVE_MINUTES,
    evaluationPeriods: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: 1,
    treatMissingData: "notBreaching",
  };
}

function serviceMetric(id: string, metricName: string) {
  return {
    id,
    returnData: false,
    metric: {
      namespace: NAMESPACE,
      metricName,
      dimensions: SERVICE_DIMENSIONS,
      period: FIVE_MINUTES,
      stat: "Sum",
    },
  };
}

function queueDepth(queue: sst.aws.Queue, description: string): Omit<AlarmArgs, "alarmActions"> {
  return {
    alarmDescription: description,
    namespace: "AWS/SQS",
    metricName: "ApproximateNumberOfMessagesVisible",
    dimensions: { QueueName: queue.nodes.queue.name },
    statistic: "Maximum",
    period: FIVE_MINUTES,
    evaluationPeriods: 1,
    comparisonOperator: "GreaterThanOrEqualToThreshold",
    threshold: 1,
    treatMissingData: "notBreaching",
  };
}

/** The alarms, by short name. */
function alarmDefinitions({
  api,
  events,
}: AlarmInputs): Record<string, Omit<AlarmArgs, "alarmActions">> {
  return {
    PaymentSuccessRate: {
      alarmDescription:
        "Payment success rate (captured / (captured + failed)) below 95% over 5 minutes, with at least 10 outcomes",
      metricQueries: [
        serviceMetric("captured", METRIC.paymentCaptured),
        serviceMetric("failed", METRIC.paymentFailed),
        { id: "total", expression: "FILL(captured, 0) + FILL(failed, 0)", returnData: false },
        {
          id: "rate",
          label: "Success rate (%)",
          expression: "IF(total >= 10, 100 * FILL(captured, 0) / total, 100)",
          returnData: true,
        },
      ],
      comparisonOperator: "LessThanThreshold",
      threshold: 95,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: "notBreaching",
    },
    WebhookSignatureFailures: anyInFiveMinutes(
      "A Stripe webhook failed signature verification (wrong secret or forged)",
      METRIC.webhookSignatureFailure,
    ),
    HighFailureRate: {
      alarmDescription:
        "More than 5% of API requests answered 5xx over 5 minutes (at least 20 requests)",
      metricQueries: [
        {
          id: "errors",
          returnData: false,
          metric: {
            namespace: "AWS/ApiGateway",
            metricName: "5xx",
            dimensions: { ApiId: api.nodes.api.id },
            period: FIVE_MINUTES,
            stat: "Sum",
          },
        },
        {
          id: "requests",
          returnData: false,
          metric: {
            namespace: "AWS/ApiGateway",
            metricName: "Count",
            dimensions: { ApiId: api.nodes.api.id },
            period: FIVE_MINUTES,
            stat: "Sum",
          },
        },
        {
          id: "failureRate",
          label: "5xx rate (%)",
          expression: "IF(FILL(requests, 0) >= 20, 100 * FILL(errors, 0) / requests, 0)",
          returnData: true,
        },
      ],
      comparisonOperator: "GreaterThanThreshold",
      threshold: 5,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: "notBreaching",
    },
    StripeErrors: {
      alarmDescription: "Stripe API calls failing (5 or more errors in 5 minutes)",
      namespace: NAMESPACE,
      metricName: METRIC.stripeError,
      dimensions: SERVICE_DIMENSIONS,
      statistic: "Sum",
      period: FIVE_MINUTES,
      evaluationPeriods: 1,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
      threshold: 5,
      treatMissingData: "notBreaching",
    },
    OutboxAge: {
      alarmDescription:
        "Outbox events wait more than 5 minutes on the payments stream (publisher failing or behind)",
      namespace: "AWS/Lambda",
      metricName: "IteratorAge",
      dimensions: { FunctionName: events.outbox.publisher.name },
      statistic: "Maximum",
      period: ONE_MINUTE,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      comparisonOperator: "GreaterThanThreshold",
      threshold: OUTBOX_AGE_THRESHOLD_MS,
      treatMissingData: "notBreaching",
    },
    OutboxParked: anyInFiveMinutes(
      "Outbox events could not be sent and are parked for the sweep job (broker or publisher trouble), or unreadable",
      METRIC.outboxPublishFailed,
    ),
    OrderPlacedDlqDepth: queueDepth(
      events.orderPlaced.dlq,
      "order.placed records set aside (poison records or batches that failed every retry)",
    ),
  };
}

function metricWidget(
  title: string,
  region: $util.Input<string>,
  metrics: unknown[][],
  extra: Record<string, unknown> = {},
) {
  return {
    type: "metric",
    width: 12,
    height: 6,
    properties: { title, region, metrics, view: "timeSeries", period: FIVE_MINUTES, ...extra },
  };
}

const service = (metricName: string, options: Record<string, unknown>) => [
  NAMESPACE,
  metricName,
  "service",
  SERVICE_DIMENSIONS.service,
  options,
];

function dashboardBody(region: $util.Input<string>, inputs: AlarmInputs) {
  return $jsonStringify({
    widgets: [
      metricWidget("Payment success rate (%)", region, [
        [{ expression: "100 * captured / (captured + failed)", label: "Success rate", id: "rate" }],
        service(METRIC.paymentCaptured, { id: "captured", stat: "Sum", visible: false }),
        service(METRIC.paymentFailed, { id: "failed", stat: "Sum", visible: false }),
      ]),
      metricWidget("Stripe latency (ms)", region, [
        service(METRIC.stripeLatency, { stat: "p50", label: "p50" }),
        service(METRIC.stripeLatency, { stat: "p99", label: "p99" }),
      ]),
      metricWidget("Webhooks", region, [
        service(METRIC.webhookReceived, { stat: "Sum", label: "Received" }),
        service(METRIC.webhookSignatureFailure, { stat: "Sum", label: "Signature failures" }),
      ]),
      metricWidget("Payments created vs idempotent replays", region, [
        service(METRIC.paymentCreated, { stat: "Sum", label: "Created" }),
        service(METRIC.idempotentReplay, { stat: "Sum", label: "Idempotent replays" }),
      ]),
      metricWidget("Outbox", region, [
        [
          "AWS/Lambda",
          "IteratorAge",
          "FunctionName",
          inputs.events.outbox.publisher.name,
          { stat: "Maximum", label: "Stream iterator age (ms)" },
        ],
        service(METRIC.outboxPublishFailed, {
          stat: "Sum",
          label: "Parked (could not be sent)",
          yAxis: "right",
        }),
      ]),
      metricWidget("API", region, [
        ["AWS/ApiGateway", "Count", "ApiId", inputs.api.nodes.api.id, { stat: "Sum" }],
        ["AWS/ApiGateway", "5xx", "ApiId", inputs.api.nodes.api.id, { stat: "Sum" }],
        ["AWS/ApiGateway", "4xx", "ApiId", inputs.api.nodes.api.id, { stat: "Sum" }],
      ]),
    ],
  });
}

export function createAlarms(inputs: AlarmInputs) {
  const prefix = `${$app.name}-${$app.stage}`;
  const topic = new sst.aws.SnsTopic("Alarms");
  const alarms = Object.fromEntries(
    Object.entries(alarmDefinitions(inputs)).map(([name, args]) => [
      name,
      new aws.cloudwatch.MetricAlarm(`Alarm${name}`, {
        ...args,
        name: `${prefix}-${name}`,
        alarmActions: [topic.arn],
        okActions: [topic.arn],
      }),
    ]),
  );
  const region = aws.getRegionOutput().region;
  const dashboard = new aws.cloudwatch.Dashboard("Dashboard", {
    dashboardName: prefix,
    dashboardBody: dashboardBody(region, inputs),
  });
  return { topic, alarms, dashboard };
}
