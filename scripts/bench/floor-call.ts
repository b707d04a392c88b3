/**
 * The floor of a first invocation: the floor's DynamoDB clients (scripts/bench/floor.ts), and a
 * handler that makes one GetItem, so its first call pays for what any function's first DynamoDB
 * request pays (credentials, signing, the connection) and nothing else.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";

const dynamoClient = new DynamoDBClient({
  region: process.env.AWS_REGION ?? "us-east-1",
  ...(process.env.DYNAMODB_ENDPOINT === undefined
    ? {}
    : { endpoint: process.env.DYNAMODB_ENDPOINT }),
});
const documentClient = DynamoDBDocumentClient.from(dynamoClient, {
  marshallOptions: { removeUndefinedValues: true },
});

export const handler = async (): Promise<{ statusCode: number }> => {
  const { Item } = await documentClient.send(
    new GetCommand({
      TableName: process.env.PAYMENTS_TABLE ?? "Payments",
      Key: { pk: "PAYMENT#floor", sk: "PAYMENT" },
      ConsistentRead: true,
    }),
  );
  return { statusCode: Item === undefined ? 404 : 200 };
};
