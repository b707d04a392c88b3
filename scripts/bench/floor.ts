/**
 * The floor of cold init: a function that only imports and constructs the DynamoDB clients, as
 * lib/runtime/storage.ts does, bundled with the same options as the real functions. No handler
 * can start faster than this and still reach DynamoDB.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

const dynamoClient = new DynamoDBClient({ region: process.env.AWS_REGION ?? "us-east-1" });
export const documentClient = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true },
});

export const handler = async (): Promise<{ ok: true }> => ({ ok: true });
