/**
 * Events in and out.
 *
 * Out: the payments table's stream, filtered to outbox INSERTs, drives `publish-outbox`, which
 * sends each event to its Kafka topic (MSK, IAM auth) and writes nothing back. An item it cannot
 * send is parked in the table (the record still succeeds), and the `sweep-outbox` job
 * (infra/jobs.ts) publishes it later. A record fails only when even parking fails; Lambda then
 * retries from the first failed record, bisecting on errors. A batch still failing after the
 * retries (or older than six hours, well inside the stream's 24) is written whole, records and
 * all, to the `OutboxFailures` bucket, and the sweep job parks what it holds: so no event is lost
 * however long the publisher cannot run.
 *
 * In: an MSK event-source mapping feeds `order.placed` to `order-placed`. A dev stage without an
 * MSK cluster gets the function and its DLQ but no mapping (and the publisher logs events).
 */
import { tableEnvironment } from "./api.js";
import {
  functionDefaults,
  handlerPath,
  type KafkaSettings,
  kafkaResourceArns,
  orderPlacedConsumerGroup,
  orderPlacedTopic,
  type StageSettings,
} from "./functions.js";
import type { Secrets } from "./secrets.js";
import type { Storage } from "./storage.js";

/** SQS keeps a message 14 days at most: the DLQ keeps its messages that long. */
const DLQ_RETENTION_SECONDS = 14 * 24 * 3600;

/** The stream filter: new outbox items only (marking one published is a MODIFY). */
export const OUTBOX_INSERT_FILTER = {
  eventName: ["INSERT"],
  dynamodb: { NewImage: { type: { S: ["outbox"] } } },
};

/** Managed policy for Lambda's MSK pollers (cluster lookup, ENIs in the cluster's VPC). */
const MSK_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AWSLambdaMSKExecutionRole";

function deadLetterQueue(name: string) {
  return new sst.aws.Queue(name, {
    transform: { queue: { messageRetentionSeconds: DLQ_RETENTION_SECONDS } },
  });
}

/**
 * What a function that produces to Kafka needs: the brokers, IAM auth, the stage's topic prefix,
 * write access to the cluster's topics and a place in the brokers' VPC. Without a cluster it gets
 * none of it and its publisher logs events instead.
 */
export function kafkaProducer(kafka: KafkaSettings | undefined): {
  environment: Record<string, string>;
  permissions: sst.aws.FunctionPermissionArgs[];
  vpc?: { privateSubnets: string[]; securityGroups: string[] };
} {
  if (kafka === undefined) return { environment: {}, permissions: [] };
  const arns = kafkaResourceArns(kafka.clusterArn);
  return {
    environment: {
      KAFKA_BROKERS: kafka.bootstrapBrokers,
      KAFKA_AUTH: "iam",
      KAFKA_TOPIC_PREFIX: kafka.topicPrefix,
      KAFKA_TOPIC_MODE: kafka.topicMode ?? "per-type",
    },
    permissions: [
      // kafkajs runs an idempotent producer (lib/adapters/kafka-publisher.ts).
      {
        actions: ["kafka-cluster:Connect", "kafka-cluster:WriteDataIdempotently"],
        resources: [arns.cluster],
      },
      {
        actions: ["kafka-cluster:DescribeTopic", "kafka-cluster:WriteData"],
        resources: [arns.topics],
      },
    ],
    vpc: { privateSubnets: [...kafka.subnets], securityGroups: [...kafka.securityGroups] },
  };
}

/** How old a stream record may get before the mapping gives up on it and writes it to S3. */
export const OUTBOX_MAX_RECORD_AGE_SECONDS = 6 * 3600;

function createOutboxPublisher(settings: StageSettings, storage: Storage) {
  // Batches the mapping gave up on, records and all (an S3 destination gets the whole invocation
  // record). Emptied by the sweep job; kept until then, whatever its age.
  const failures = new sst.aws.Bucket("OutboxFailures");
  const producer = kafkaProducer(settings.kafka);
  const publisher = new sst.aws.Function("PublishOutbox", {
    ...functionDefaults(settings),
    handler: handlerPath("publish-outbox"),
    memory: "512 MB",
    timeout: "60 seconds",
    link: [storage.payments],
    environment: { ...tableEnvironment(settings, storage), ...producer.environment },
    permissions: [
      {
        actions: [
          "dynamodb:DescribeStream",
          "dynamodb:GetRecords",
          "dynamodb:GetShardIterator",
          "dynamodb:ListStreams",
        ],
        resources: [storage.payments.nodes.table.streamArn],
      },
      // The stream mapping's on-failure destination is written with the function's role.
      {
        actions: ["s3:PutObject", "s3:ListBucket"],
        resources: [failures.arn, $interpolate`${failures.arn}/*`],
      },
      ...producer.permissions,
    ],
    ...(producer.vpc === undefined ? {} : { vpc: producer.vpc }),
  });

  const subscription = storage.payments.subscribe("PublishOutbox", publisher.arn, {
    filters: [OUTBOX_INSERT_FILTER],
    transform: {
      eventSourceMapping: {
        startingPosition: "TRIM_HORIZON",
        batchSize: 25,
        functionResponseTypes: ["ReportBatchItemFailures"],
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: 10,
        maximumRecordAgeInSeconds: OUTBOX_MAX_RECORD_AGE_SECONDS,
        destinationConfig: { onFailure: { destinationArn: failures.arn } },
      },
    },
  });
  return { publisher, failures, subscription };
}

function createOrderPlacedConsumer(settings: StageSettings, storage: Storage, secrets: Secrets) {
  const dlq = deadLetterQueue("OrderPlacedDlq");
  const kafka = settings.kafka;
  const arns = kafka === undefined ? undefined : kafkaResourceArns(kafka.clusterArn);
  const consumer = new sst.aws.Function("OrderPlaced", {
    ...functionDefaults(settings),
    handler: handlerPath("order-placed"),
    memory: "512 MB",
    // Up to 100 records a batch, each possibly a Stripe call.
    timeout: "5 minutes",
    // The handler sets its own dead letters aside in the payments table (support redrives them
    // from there); the DLQ link grants sqs:* for the mapping's on-failure records (batches that
    // kept failing), which are sent with this role.
    link: [storage.payments, secrets.stripeSecretKey, dlq],
    environment: {
      ...tableEnvironment(settings, storage),
      ...(kafka === undefined ? {} : { KAFKA_AUTH: "iam", KAFKA_TOPIC_PREFIX: kafka.topicPrefix }),
    },
    ...(arns === undefined
      ? {}
      : {
          policies: [MSK_EXECUTION_POLICY, ...functionDefaults(settings).policies],
          permissions: [
            {
              actions: [
                "kafka-cluster:Connect",
                "kafka-cluster:DescribeClusterDynamicConfiguration",
              ],
              resources: [arns.cluster],
            },
            {
              actions: ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"],
              resources: [arns.topics],
            },
            {
              actions: ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"],
              resources: [arns.groups],
            },
          ],
        }),
  });

  // No cluster (a dev stage): no mapping. The function can still be invoked by hand.
  const mapping =
    kafka === undefined
      ? undefined
      : new aws.lambda.EventSourceMapping(
          "OrderPlacedMapping",
          {
            eventSourceArn: kafka.clusterArn,
            functionName: consumer.arn,
            topics: [orderPlacedTopic(kafka)],
            // Only read when the consumer group has no committed offset (first deploy): start
            // at the oldest retained order rather than miss the ones placed before the mapping
            // was enabled. Replays are safe: one payment per order (the order lock).
            startingPosition: "TRIM_HORIZON",
            batchSize: 100,
            amazonManagedKafkaEventSourceConfig: {
              consumerGroupId: orderPlacedConsumerGroup(settings.stage),
            },
            // Retries, bisect and on-failure destinations on a Kafka mapping need provisioned
            // pollers. The handler fails the whole batch on a transient error (it reports no
            // partial failures); records it already handled are skipped on redelivery.
            provisionedPollerConfig: {
              minimumPollers: kafka.pollers.minimum,
              maximumPollers: kafka.pollers.maximum,
            },
            // Retry until it succeeds: the handler sets records that can never succeed aside
            // itself, so a failing batch means DynamoDB or Stripe is down, and giving up would
            // leave valid orders without a payment. The on-failure queue stays as a last resort.
            maximumRetryAttempts: -1,
            bisectBatchOnFunctionError: true,
            destinationConfig: { onFailure: { destinationArn: dlq.arn } },
          },
          { dependsOn: [consumer] },
        );
  return { consumer, dlq, mapping };
}

export function createEvents(settings: StageSettings, storage: Storage, secrets: Secrets) {
  const outbox = createOutboxPublisher(settings, storage);
  const orderPlaced = createOrderPlacedConsumer(settings, storage, secrets);
  return { outbox, orderPlaced };
}

export type Events = ReturnType<typeof createEvents>;
