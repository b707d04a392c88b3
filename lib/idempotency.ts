/**
 * Idempotent operations on Powertools idempotency (DynamoDB), keyed by the caller and its
 * Idempotency-Key, validated against the request payload, remembered for 24 hours.
 *
 * We wrap the use case with `makeIdempotent` rather than using the middy middleware: in 2.35.0
 * the middleware's onError deletes the record even when it was the middleware itself that
 * rejected a concurrent duplicate, which frees the first request's lock.
 *
 * Powertools stores whatever the function returns. Functions wrapped here must return only
 * what may rest in a database: never a client secret. Values that must reach the caller but
 * not the store travel through `sink`, which is not hashed and not stored.
 */

/** Values for this answer only; never hashed, never stored. */
export type Sink = Record<string, string>;

import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyInconsistentStateError,
  IdempotencyKeyError,
  IdempotencyPersistenceLayerError,
  IdempotencyValidationError,
  makeIdempotent,
} from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context } from "aws-lambda";
import {
  IdempotencyInProgressError,
  IdempotencyKeyMissingError,
  IdempotencyKeyReusedError,
  StorageUnavailableError,
} from "./domain/errors.js";

/** What the operation is called with: the key parts, and the payload that must match on replay. */
export interface IdempotentRequest<P> {
  readonly caller: string;
  readonly key: string;
  readonly payload: P;
  /** API Gateway's request id, for the audit trail: neither part of the key nor validated. */
  readonly requestId?: string | undefined;
}

export interface IdempotentOutcome<R> {
  readonly value: R;
  /** True when `value` comes from the store (an earlier request with the same key). */
  readonly replayed: boolean;
}

export interface IdempotencyStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Names the operation, so the same Idempotency-Key on two routes never collides. */
  readonly keyPrefix: string;
  readonly expiresAfterSeconds: number;
}

function isOutcome(value: unknown): value is { value: unknown; replayed?: boolean } {
  return typeof value === "object" && value !== null && "value" in value;
}

/**
 * Makes `operation` idempotent. The returned function registers the Lambda context on every
 * call, so a request that dies mid-way holds its key only until its Lambda would have timed out.
 */
export function idempotentOperation<P, R>(
  operation: (request: IdempotentRequest<P>, sink: Sink) => Promise<R>,
  options: IdempotencyStoreOptions,
): (request: IdempotentRequest<P>, sink: Sink, context: Context) => Promise<IdempotentOutcome<R>> {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: "[caller, key]",
    payloadValidationJmesPath: "payload",
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: options.expiresAfterSeconds,
    // Runs only on replays: mark the stored `{ value }` so the handler can say so.
    responseHook: (response) =>
      typeof response === "object" && response !== null && !Array.isArray(response)
        ? { ...response, replayed: true }
        : response,
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: options.tableName,
    awsSdkV3Client: options.client,
  });
  const wrapped = makeIdempotent(
    async (request: IdempotentRequest<P>, sink: Sink) => ({
      value: await operation(request, sink),
    }),
    { persistenceStore, config, keyPrefix: options.keyPrefix, dataIndexArgument: 0 },
  );

  /**
   * The work is done but its answer could not be stored: the record stays in progress until the
   * Lambda's deadline, and a retry would get 409s until then. Removing it lets the retry run the
   * operation again at once, which finds the work done (every operation here resumes or answers
   * what an earlier try wrote, as after a crash). If the store is still down, the lock expires.
   */
  const releaseLock = async (request: IdempotentRequest<P>): Promise<void> => {
    const data: Parameters<DynamoDBPersistenceLayer["deleteRecord"]>[0] = JSON.parse(
      JSON.stringify(request),
    );
    await persistenceStore.deleteRecord(data).catch(() => undefined);
  };

  return async (request, sink, context) => {
    config.registerLambdaContext(context);
    let result: unknown;
    try {
      result = await wrapped(request, sink);
    } catch (error) {
      if (isAnswerNotStored(error)) await releaseLock(request);
      throw translate(error);
    }
    if (!isOutcome(result)) throw new Error("idempotency store returned an unexpected record");
    // The stored record holds exactly what `operation` returned for this key and payload.
    return { value: result.value as R, replayed: result.replayed === true };
  };
}

/** Powertools' error when the operation succeeded but the record could not be marked complete. */
function isAnswerNotStored(error: unknown): boolean {
  return (
    error instanceof IdempotencyPersistenceLayerError &&
    error.message.startsWith("Failed to update success record")
  );
}

function translate(error: unknown): unknown {
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return new IdempotencyInProgressError(
      "A request with this Idempotency-Key is still running; retry shortly.",
      {
        cause: error,
      },
    );
  }
  if (error instanceof IdempotencyValidationError) {
    return new IdempotencyKeyReusedError(
      "This Idempotency-Key was used with a different request.",
      { cause: error },
    );
  }
  if (
    error instanceof IdempotencyPersistenceLayerError &&
    error.cause instanceof IdempotencyKeyError
  ) {
    return new IdempotencyKeyMissingError("An Idempotency-Key header is required.", {
      cause: error,
    });
  }
  // The idempotency table could not be read or written (throttled, down, timed out): the lock
  // was not taken, or is released when its in-progress expiry (the Lambda's deadline) passes.
  if (
    error instanceof IdempotencyPersistenceLayerError ||
    error instanceof IdempotencyInconsistentStateError
  ) {
    return new StorageUnavailableError(
      "The idempotency store is unavailable; send the same request with the same Idempotency-Key later.",
      { cause: error },
    );
  }
  return error;
}
