/**
 * The deployed log configuration (infra/logging.ts) and the cost model that follows it
 * (scripts/cost/prices.ts): which of Lambda's system records are written, and the access-log line
 * API Gateway writes in the deployed format.
 */
import { describe, expect, it } from "vitest";
import {
  ACCESS_LOG_FIELDS,
  ACCESS_LOG_FORMAT,
  APPLICATION_LOG_LEVEL,
  SYSTEM_LOG_LEVEL,
  withAccessLogFormat,
  withLogLevels,
  writesSystemRecord,
} from "../../infra/logging.js";
import { accessLogLine, lambdaSystemLines } from "../../scripts/cost/prices.js";

describe("Lambda's log levels", () => {
  it("system records at WARN, application lines at INFO", () => {
    expect(SYSTEM_LOG_LEVEL).toBe("WARN");
    expect(APPLICATION_LOG_LEVEL).toBe("INFO");
  });

  it("a system record is written when its level is the configured one or above", () => {
    expect(writesSystemRecord("INFO", "WARN")).toBe(false);
    expect(writesSystemRecord("WARN", "WARN")).toBe(true);
    expect(writesSystemRecord("INFO", "INFO")).toBe(true);
    expect(writesSystemRecord("DEBUG", "INFO")).toBe(false);
    expect(writesSystemRecord("DEBUG", "DEBUG")).toBe(true);
  });

  it("the cost model writes no platform.start or platform.report at the deployed level", () => {
    expect(writesSystemRecord("INFO")).toBe(false);
    expect(lambdaSystemLines("req-1", 512, 12.5)).toEqual([]);
  });

  it("adds the levels to SST's logging config, keeping its format and log group", () => {
    expect(withLogLevels({ logFormat: "JSON", logGroup: "/aws/lambda/f" })).toEqual({
      logFormat: "JSON",
      logGroup: "/aws/lambda/f",
      systemLogLevel: "WARN",
      applicationLogLevel: "INFO",
    });
    expect(withLogLevels(undefined)).toBeUndefined();
    expect(() => withLogLevels(Promise.resolve({ logFormat: "JSON" }))).toThrow(/plain object/);
  });
});

describe("the HTTP API's access log", () => {
  it("sets the format on SST's settings, keeping the destination", () => {
    expect(withAccessLogFormat({ destinationArn: "arn:log-group", format: "{}" })).toEqual({
      destinationArn: "arn:log-group",
      format: ACCESS_LOG_FORMAT,
    });
    expect(() => withAccessLogFormat(undefined)).toThrow(/plain object/);
  });

  it("the cost model's line is the deployed format with each variable filled in", () => {
    const line = accessLogLine({
      method: "POST",
      path: "/payments/pay_1/refunds",
      routeKey: "POST /payments/{id}/refunds",
      status: 202,
      latencyMs: 41.6,
      userAgent: "node",
    });
    const parsed: unknown = JSON.parse(line);
    expect(parsed).toEqual({
      requestTime: expect.stringMatching(/^\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000$/),
      requestId: expect.any(String),
      method: "POST",
      path: "/payments/pay_1/refunds",
      routeKey: "POST /payments/{id}/refunds",
      status: "202",
      latency: "42",
      error: "-",
      authError: "-",
      ip: expect.any(String),
      userAgent: "node",
    });
    expect(Object.keys(parsed as object)).toEqual(Object.keys(ACCESS_LOG_FIELDS));
    // Nothing but the values differs from the format.
    let template = line;
    for (const [field, variable] of Object.entries(ACCESS_LOG_FIELDS)) {
      template = template.replace(
        `"${field}":${JSON.stringify((parsed as Record<string, string>)[field])}`,
        `"${field}":"${variable}"`,
      );
    }
    expect(template).toBe(ACCESS_LOG_FORMAT);
  });
});
