/**
 * The container's DynamoDB side, made once at cold start and reused by every invocation.
 */
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createDynamoClient } from "../adapters/dynamo-client.js";
import { DynamoDeadLetters } from "../adapters/dynamo-dead-letters.js";
import { DynamoPaymentRepository } from "../adapters/dynamo-payment-repository.js";
import { parseSettings, storageSettings } from "../config.js";
import { systemClock } from "../ports.js";
import { traceAwsClient } from "../tracing.js";

export const storageConfig = parseSettings(storageSettings, process.env);

export const dynamoClient = traceAwsClient(
  createDynamoClient({
    region: storageConfig.AWS_REGION,
    endpoint: storageConfig.DYNAMODB_ENDPOINT,
    requestTimeoutMs: storageConfig.DYNAMODB_REQUEST_TIMEOUT_MS,
    maxAttempts: storageConfig.DYNAMODB_MAX_ATTEMPTS,
  }),
);
export const documentClient = DynamoDBDocumentClient.from(dynamoClient, {
  // convertClassInstanceToMap: the marshaller tells a plain object by `constructor.name`, which a
  // caller's own metadata key `constructor` shadows; without it such a payment could not be stored.
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
});

export const repository = new DynamoPaymentRepository(
  documentClient,
  storageConfig.PAYMENTS_TABLE,
  storageConfig.RECONCILE_AFTER_SECONDS,
);
export const clock = systemClock;
export const deadLetters = new DynamoDeadLetters(
  documentClient,
  storageConfig.PAYMENTS_TABLE,
  clock,
);

/** Options for an idempotent operation named `keyPrefix`. */
export const idempotencyStore = (keyPrefix: string) => ({
  client: dynamoClient,
  tableName: storageConfig.IDEMPOTENCY_TABLE,
  keyPrefix,
  expiresAfterSeconds: storageConfig.IDEMPOTENCY_TTL_SECONDS,
});
