/**
 * The container's shared pieces, made once at cold start and reused by every invocation:
 * configuration, the DynamoDB and Stripe clients, and the adapters over them.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { DynamoPaymentRepository } from "./adapters/dynamo-payment-repository.js";
import { createStripeClient, StripePaymentProvider } from "./adapters/stripe-payment-provider.js";
import { parseConfig } from "./config.js";
import { systemClock } from "./ports.js";

export const config = parseConfig(process.env);

export const dynamoClient = new DynamoDBClient({
  region: config.AWS_REGION,
  ...(config.DYNAMODB_ENDPOINT === undefined ? {} : { endpoint: config.DYNAMODB_ENDPOINT }),
});
const documentClient = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true },
});

export const repository = new DynamoPaymentRepository(
  documentClient,
  config.PAYMENTS_TABLE,
  config.RECONCILE_AFTER_SECONDS,
);
export const stripe = createStripeClient({
  secretKey: config.STRIPE_SECRET_KEY,
  apiBase: config.STRIPE_API_BASE,
});
export const provider = new StripePaymentProvider(stripe);
export const clock = systemClock;

/** Options for an idempotent operation named `keyPrefix`. */
export const idempotencyStore = (keyPrefix: string) => ({
  client: dynamoClient,
  tableName: config.IDEMPOTENCY_TABLE,
  keyPrefix,
  expiresAfterSeconds: config.IDEMPOTENCY_TTL_SECONDS,
});
