/** A Lambda context for a local invocation, as the Lambda runtime would pass it. */
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";

export function localLambdaContext(
  handlerName: string,
  timeoutSeconds: number,
  memoryMb = 256,
): Context {
  const deadline = Date.now() + timeoutSeconds * 1000;
  const functionName = `payment-service-local-${handlerName}`;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
