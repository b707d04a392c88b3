/**
 * lib/tracing.ts: off unless POWERTOOLS_TRACE_ENABLED is exactly "true"; on, AWS clients get the
 * X-Ray SDK's middleware and outgoing HTTPS (Stripe) is captured. Each case imports the module
 * afresh with its own environment, as a cold start would.
 */
import https from "node:https";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect, it, vi } from "vitest";

const XRAY_MIDDLEWARE = "XRaySDKInstrumentation";

async function freshTracing(env: Record<string, string | undefined>) {
  vi.resetModules();
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  return await import("../../lib/tracing.js");
}

const middlewareNames = (client: DynamoDBClient): string[] =>
  client.middlewareStack.identify().map((entry) => entry.split(" ")[0] ?? entry);

// The Tracer patches the shared `https` module; put it back for the rest of the worker.
const original = { request: https.request, get: https.get };

afterEach(() => {
  https.request = original.request;
  https.get = original.get;
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe("tracing", () => {
  it("is off by default: no tracer, no middleware, clients untouched", async () => {
    const tracing = await freshTracing({ POWERTOOLS_TRACE_ENABLED: undefined });
    expect(tracing.tracingEnabled).toBe(false);
    expect(tracing.tracer).toBeUndefined();
    expect(tracing.tracingMiddleware).toBeUndefined();
    const client = new DynamoDBClient({ region: "us-east-1" });
    expect(tracing.traceAwsClient(client)).toBe(client);
    expect(middlewareNames(client)).not.toContain(XRAY_MIDDLEWARE);
  });

  it('stays off for any value but "true"', async () => {
    for (const value of ["1", "TRUE", "yes", "false", ""]) {
      const tracing = await freshTracing({ POWERTOOLS_TRACE_ENABLED: value });
      expect(tracing.tracer, value).toBeUndefined();
    }
  });

  it("on in Lambda: AWS clients get X-Ray's middleware, HTTPS is patched, the handler middleware exists", async () => {
    const tracing = await freshTracing({
      POWERTOOLS_TRACE_ENABLED: "true",
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
      AWS_LAMBDA_FUNCTION_NAME: "payment-service-test",
    });
    expect(tracing.tracer?.isTracingEnabled()).toBe(true);
    expect(tracing.tracingMiddleware).toBeDefined();
    const client = tracing.traceAwsClient(new DynamoDBClient({ region: "us-east-1" }));
    expect(middlewareNames(client)).toContain(XRAY_MIDDLEWARE);
    // The Tracer patches node:https globally: every Stripe SDK call becomes a subsegment.
    expect(https.request).not.toBe(original.request);
  });
});
