/**
 * What the deployed service writes to CloudWatch Logs besides the functions' own lines, as plain
 * data (no SST globals, no Pulumi): infra/functions.ts and infra/api.ts deploy it, and
 * scripts/cost/prices.ts models its bytes from the same constants, so `npm run cost` measures
 * what deploys.
 *
 * Lambda's system log level is WARN. AWS documents that at its default, INFO, Lambda sends the
 * `start` and `report` records of every invocation, and that it sends only records at the chosen
 * level or above: `platform.start` and `platform.report` are INFO records, so at WARN neither is
 * written (scripts/cost/prices.ts follows writesSystemRecord). An operator loses the REPORT
 * record of each invocation: duration, billed duration, memory size, max memory used, a cold
 * start's init duration, and its status, which is where Lambda notes a timeout. What stays:
 * CloudWatch's Lambda metrics (Duration, Errors with timeouts counted, Throttles,
 * ConcurrentExecutions, IteratorAge), the functions' own ERROR and WARN lines (the handler
 * stack's "unexpected error", "storage unavailable"), and for a request that timed out or failed
 * in the Lambda, the access log's status and integration error. To see REPORT records again for
 * a while, set SYSTEM_LOG_LEVEL to "INFO" and deploy.
 *
 * The application log level stays INFO, what Lambda applies with JSON logs when none is given:
 * Lambda drops application lines below it, and a line without a valid `level` (Powertools' EMF
 * metric lines, which the alarms and the dashboard read) counts as INFO, so anything above INFO
 * would drop the metrics. Lambda passes it to the function as AWS_LAMBDA_LOG_LEVEL, which
 * Powertools Logger takes over its own setting (POWERTOOLS_LOG_LEVEL is not read while it is set):
 * the service logs at INFO, as before.
 */

/** Levels of Lambda's system (platform) records, most detailed first. */
export const SYSTEM_LOG_LEVELS = ["DEBUG", "INFO", "WARN"] as const;
export type SystemLogLevel = (typeof SYSTEM_LOG_LEVELS)[number];

/** Lambda's system log level for every function (`loggingConfig.systemLogLevel`). */
export const SYSTEM_LOG_LEVEL: SystemLogLevel = "WARN";

/** Lambda's application log level for every function (`loggingConfig.applicationLogLevel`). */
export const APPLICATION_LOG_LEVEL = "INFO";

/** Whether Lambda writes a system record of level `record` at SYSTEM_LOG_LEVEL. */
export function writesSystemRecord(
  record: SystemLogLevel,
  level: SystemLogLevel = SYSTEM_LOG_LEVEL,
): boolean {
  return SYSTEM_LOG_LEVELS.indexOf(record) >= SYSTEM_LOG_LEVELS.indexOf(level);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * SST's `loggingConfig` of a Lambda function (its log format and log group, built from
 * `logging`) with the log levels above added. SST builds it as a plain object; `undefined`
 * (`logging: false`, no logs at all) stays so. Anything else means SST changed how it builds the
 * function, and merging blindly could drop its log group: this refuses, naming the file.
 */
export function withLogLevels<T extends object>(
  config: T | undefined,
): (T & { systemLogLevel: string; applicationLogLevel: string }) | undefined {
  if (config === undefined) return undefined;
  if (!isPlainObject(config)) {
    throw new Error("SST's Lambda loggingConfig is not a plain object: update infra/logging.ts");
  }
  return {
    ...config,
    systemLogLevel: SYSTEM_LOG_LEVEL,
    applicationLogLevel: APPLICATION_LOG_LEVEL,
  };
}

/**
 * The HTTP API's access-log line, field by field: what an operator needs to find the request a
 * complaint is about and see what happened to it, once each.
 *   - requestId: API Gateway's id, sent to the client as `apigw-requestid`; every line the
 *     function logs for the request carries it as `correlation_id` (lib/http/handler.ts), so the
 *     Lambda's own request id is not repeated here;
 *   - path holds the ids (payment, order); routeKey is what a Logs Insights query groups by;
 *     method is kept for requests no route matched (their routeKey is `-`);
 *   - latency: the whole request as the client saw it (the integration's share is in the
 *     function's metrics);
 *   - error: the integration's error (the Lambda timed out, failed or was throttled), `-` when
 *     none; authError: why the JWT authorizer refused a token (expired, wrong audience, ...);
 *   - ip and userAgent: who called. API Gateway cannot shorten a value, so the user agent is
 *     logged as sent.
 * Every value is quoted (a value API Gateway does not have is `-`), so each line is JSON.
 */
export const ACCESS_LOG_FIELDS = {
  requestTime: "$context.requestTime",
  requestId: "$context.requestId",
  method: "$context.httpMethod",
  path: "$context.path",
  routeKey: "$context.routeKey",
  status: "$context.status",
  latency: "$context.responseLatency",
  error: "$context.integrationErrorMessage",
  authError: "$context.authorizer.error",
  ip: "$context.identity.sourceIp",
  userAgent: "$context.identity.userAgent",
} as const;

export type AccessLogField = keyof typeof ACCESS_LOG_FIELDS;

/** The access-log format the HTTP API stage is given (`accessLogSettings.format`). */
export const ACCESS_LOG_FORMAT: string = JSON.stringify(ACCESS_LOG_FIELDS);

/**
 * SST's `accessLogSettings` of the HTTP API stage (its log group as destination) with
 * ACCESS_LOG_FORMAT in place of SST's default format; refuses what is not a plain object, as
 * withLogLevels does.
 */
export function withAccessLogFormat<T extends object>(
  settings: T | undefined,
): T & { format: string } {
  if (!isPlainObject(settings)) {
    throw new Error(
      "SST's HTTP API accessLogSettings is not a plain object: update infra/logging.ts",
    );
  }
  return { ...settings, format: ACCESS_LOG_FORMAT };
}

/**
 * The line API Gateway writes for a request with these values: ACCESS_LOG_FORMAT with each
 * variable replaced (the cost model's access-log bytes).
 */
export function accessLogLineOf(values: Readonly<Record<AccessLogField, string>>): string {
  const byVariable = new Map<string, string>(
    Object.entries(ACCESS_LOG_FIELDS).map(([field, variable]) => [
      variable,
      values[field as AccessLogField],
    ]),
  );
  return ACCESS_LOG_FORMAT.replace(/\$context\.[A-Za-z.]+/g, (variable) => {
    const value = byVariable.get(variable);
    if (value === undefined) throw new Error(`no value for ${variable}`);
    return value;
  });
}
