/**
 * Which DynamoDB failures are the store's and not the caller's: throttling, 5xx, timeouts,
 * dropped connections, and transactions cancelled only by contention or throttling. After the
 * SDK's own retries these become StorageUnavailableError (503 `storage_unavailable`, retry
 * later). Anything else (a condition that failed, a validation error in our own request) is left
 * alone: it is a bug or a domain outcome, not an outage.
 */
import { StorageUnavailableError } from "../domain/errors.js";

/** Error names DynamoDB (or the SDK) gives an overloaded, failing or unreachable service. */
const TRANSIENT_NAMES = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "LimitExceededException",
  "InternalServerError",
  "ServiceUnavailable",
  "TransactionConflictException",
  "TransactionInProgressException",
  "TimeoutError",
  "DeadlineExceededError",
  "RequestTimeout",
  "RequestTimeoutException",
]);

/** Node's codes for a connection that failed, broke or timed out. */
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/** Cancellation reasons that say "not now", not "not so". */
const TRANSIENT_REASONS = new Set([
  "TransactionConflict",
  "ThrottlingError",
  "ProvisionedThroughputExceeded",
  "None",
]);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function reasonCodes(error: Record<string, unknown>): string[] {
  const reasons = error.CancellationReasons;
  if (!Array.isArray(reasons)) return [];
  return reasons.map((r: unknown) => (isRecord(r) && typeof r.Code === "string" ? r.Code : ""));
}

/** Whether `error`, as the AWS SDK threw it after its retries, is a DynamoDB outage. */
export function isStorageFault(error: unknown): boolean {
  // Every error out of the SDK's retry loop carries $metadata (attempts, status).
  if (!(error instanceof Error) || !isRecord(error) || !isRecord(error.$metadata)) return false;
  if (error.name === "TransactionCanceledException") {
    const codes = reasonCodes(error);
    return codes.some((c) => c !== "None") && codes.every((c) => TRANSIENT_REASONS.has(c));
  }
  if (TRANSIENT_NAMES.has(error.name)) return true;
  if (typeof error.code === "string" && NETWORK_CODES.has(error.code)) return true;
  if (error.$fault === "server") return true;
  const status = error.$metadata.httpStatusCode;
  return typeof status === "number" && status >= 500;
}

/** The 503 for a DynamoDB outage, or undefined when `error` is something else. */
export function storageFault(error: unknown): StorageUnavailableError | undefined {
  if (!isStorageFault(error)) return undefined;
  return new StorageUnavailableError(
    "The payment store is unavailable; send the same request with the same Idempotency-Key later.",
    { cause: error },
  );
}
