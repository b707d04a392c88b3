/**
 * AWS prices used by `npm run cost`, in one place: on-demand, us-east-1, as published on the AWS
 * pricing pages (DynamoDB on-demand after the November 2024 reduction; Lambda arm64; HTTP API
 * first 300 million requests; CloudWatch Logs standard ingestion). Free tiers are ignored; storage,
 * Stripe's fees, MSK and data transfer are not included. Update here when prices change.
 */
import { accessLogLineOf, writesSystemRecord } from "../../infra/logging.js";

export const PRICES = {
  /** USD per write request unit. */
  dynamodbWriteUnit: 0.625 / 1e6,
  /** USD per read request unit. */
  dynamodbReadUnit: 0.125 / 1e6,
  /** USD per Lambda request. */
  lambdaRequest: 0.2 / 1e6,
  /** USD per GB-second of Lambda duration, arm64. */
  lambdaGbSecond: 0.0000133334,
  /** USD per HTTP API request. */
  httpApiRequest: 1.0 / 1e6,
  /** USD per GB of CloudWatch Logs ingested. */
  logsIngestedGb: 0.5,
} as const;

/**
 * What the platform logs besides the functions' own lines, modelled from the shapes AWS documents
 * and from the deployed configuration (infra/logging.ts, which infra/functions.ts and
 * infra/api.ts deploy): Lambda writes its `platform.start` and `platform.report` records (INFO)
 * only if the system log level lets INFO through (at WARN, as deployed, none); API Gateway writes
 * one access-log line per request in ACCESS_LOG_FORMAT.
 */
export function lambdaSystemLines(requestId: string, memoryMb: number, ms: number): string[] {
  if (!writesSystemRecord("INFO")) return [];
  const time = new Date().toISOString();
  return [
    JSON.stringify({
      time,
      type: "platform.start",
      record: { requestId, version: "$LATEST" },
    }),
    JSON.stringify({
      time,
      type: "platform.report",
      record: {
        requestId,
        metrics: {
          durationMs: ms,
          billedDurationMs: Math.ceil(ms),
          memorySizeMB: memoryMb,
          maxMemoryUsedMB: 96,
        },
        status: "success",
      },
    }),
  ];
}

/** The access-log line of one request: ACCESS_LOG_FORMAT with a typical value for each field. */
export function accessLogLine(request: {
  method: string;
  path: string;
  routeKey: string;
  status: number;
  latencyMs: number;
  userAgent: string;
}): string {
  return accessLogLineOf({
    requestTime: "07/Dec/2026:04:00:00 +0000",
    requestId: "Q1b2C3d4oAMEb5A=",
    method: request.method,
    path: request.path,
    routeKey: request.routeKey,
    status: String(request.status),
    latency: String(Math.round(request.latencyMs)),
    // `-`: every request reached its handler, which answered (no integration error), with a
    // valid token (no authorizer error).
    error: "-",
    authError: "-",
    ip: "203.0.113.10",
    userAgent: request.userAgent,
  });
}
