/**
 * The DynamoDB client's time limits. Every attempt is bounded (`requestTimeout`, which
 * @smithy/node-http-handler only enforces with `throwOnRequestTimeout: true`; without it a slow
 * answer is only logged), attempts are few (`maxAttempts`), and inside an invocation no attempt
 * may run into the Lambda's own timeout: an attempt gets at most the time left minus a reserve
 * for answering, and none starts when too little is left. The caller then gets a 503
 * `storage_unavailable` with Retry-After instead of a function cut off mid-way.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { StandardRetryStrategy } from "@smithy/core/retry";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { timeLeftMs } from "../runtime/deadline.js";

/** Time kept back for what follows a failed call: releasing the idempotency lock, answering. */
export const ANSWER_RESERVE_MS = 1_000;
/** An attempt with less than this is not started: it could not succeed. */
const MIN_ATTEMPT_MS = 100;

export interface DynamoClientLimits {
  readonly region: string;
  readonly endpoint?: string | undefined;
  /** Longest one attempt may take. */
  readonly requestTimeoutMs: number;
  /** Attempts per call, the first included (the SDK's standard retries with backoff). */
  readonly maxAttempts: number;
}

type HandleArgs = Parameters<NodeHttpHandler["handle"]>;

/** NodeHttpHandler whose request timeout shrinks to the time left in the invocation. */
export class DeadlineHttpHandler extends NodeHttpHandler {
  constructor(private readonly requestTimeoutMs: number) {
    super({
      connectionTimeout: Math.min(1_000, requestTimeoutMs),
      requestTimeout: requestTimeoutMs,
      throwOnRequestTimeout: true,
    });
  }

  override async handle(
    request: HandleArgs[0],
    options: HandleArgs[1] = {},
  ): ReturnType<NodeHttpHandler["handle"]> {
    const left = timeLeftMs();
    if (left === undefined) return await super.handle(request, options);
    const budget = Math.min(this.requestTimeoutMs, left - ANSWER_RESERVE_MS);
    if (budget < MIN_ATTEMPT_MS) {
      // Named so that the SDK does not retry it (a TimeoutError it would).
      throw Object.assign(new Error("No time left in this invocation for a DynamoDB request."), {
        name: "DeadlineExceededError",
      });
    }
    return await super.handle(request, { ...options, requestTimeout: budget });
  }
}

type RetryArgs = Parameters<StandardRetryStrategy["refreshRetryTokenForRetry"]>;

/** The SDK's standard retries (backoff, retry quota), but none whose wait runs into the deadline. */
export class DeadlineRetryStrategy extends StandardRetryStrategy {
  override async refreshRetryTokenForRetry(
    token: RetryArgs[0],
    errorInfo: RetryArgs[1],
  ): ReturnType<StandardRetryStrategy["refreshRetryTokenForRetry"]> {
    const next = await super.refreshRetryTokenForRetry(token, errorInfo);
    const left = timeLeftMs();
    if (left !== undefined && left - next.getRetryDelay() - ANSWER_RESERVE_MS < MIN_ATTEMPT_MS) {
      // The retry middleware ends on a refusal and throws the last error.
      throw errorInfo.error;
    }
    return next;
  }
}

export function createDynamoClient(limits: DynamoClientLimits): DynamoDBClient {
  return new DynamoDBClient({
    region: limits.region,
    ...(limits.endpoint === undefined ? {} : { endpoint: limits.endpoint }),
    maxAttempts: limits.maxAttempts,
    retryStrategy: new DeadlineRetryStrategy(limits.maxAttempts),
    requestHandler: new DeadlineHttpHandler(limits.requestTimeoutMs),
  });
}
