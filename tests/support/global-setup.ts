/**
 * Starts what every integration test shares: one local DynamoDB server (moto, single-threaded)
 * with the tables. Each test file starts its own Stripe simulator and gateway (tests/support/stack.ts).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { TestProject } from "vitest/node";
import { createTables, startLocalDynamoDb } from "../../local/dynamodb.js";

declare module "vitest" {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const db = await startLocalDynamoDb();
  const client = new DynamoDBClient({
    endpoint: db.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  await createTables(client);
  client.destroy();
  project.provide("dynamodbEndpoint", db.endpoint);
  return async () => {
    await db.stop();
  };
}
