/**
 * X-Ray tracing, switched on per stage (`tracing` in infra/functions.ts, which sets the
 * function's tracing mode to Active and POWERTOOLS_TRACE_ENABLED=true), through our own small
 * emitter (lib/xray.ts) rather than Powertools Tracer and the X-Ray SDK, whose load at init cost
 * traced functions 14-31% more cold-start CPU (issue 13).
 *
 * On, every function records:
 * - a subsegment per DynamoDB and SQS call (`traceAwsClient` on the clients built in
 *   lib/runtime/storage.ts): operation, table or queue, region, request id, retries, status;
 * - a subsegment per outgoing HTTP(S) request, which is every Stripe API call: host, method,
 *   URL without its query, status and latency (Node's `http.client.*` diagnostics channels;
 *   nothing is patched);
 * - on the HTTP functions, a handler subsegment with the `ColdStart` and `Service` annotations
 *   (`tracingMiddleware` in lib/http/handler.ts). Bodies and headers are NOT recorded: responses
 *   carry client secrets, requests the Stripe key.
 * Segments go as UDP datagrams to the X-Ray daemon, under the invocation's trace header; nothing
 * is sent for an invocation Lambda did not sample.
 *
 * Off (the default), lib/xray.ts is never evaluated: it sits in the bundle behind a dynamic
 * import, so it adds no work to a cold start (`npm run bench` measures both).
 */
import type { MiddlewareObj } from "@middy/core";
import type { TraceableAwsClient, XRayEmitter } from "./xray.js";

/** Exactly "true", as infra/functions.ts sets it; anything else leaves tracing off. */
export const tracingEnabled = process.env.POWERTOOLS_TRACE_ENABLED === "true";

const xray = tracingEnabled ? await import("./xray.js") : undefined;

/** The container's X-Ray emitter, or `undefined` when tracing is off. */
export const tracer: XRayEmitter | undefined = xray?.startEmitter({ service: "payment-service" });

/**
 * The handler subsegment for a middy stack (no response capture), or `undefined` when off.
 * `statusOf` tells the status a thrown error is answered with: a 4xx marks the subsegment as an
 * error (the caller's), anything else as a fault (ours).
 */
export function tracingMiddleware(
  statusOf: (error: unknown) => number | undefined,
): MiddlewareObj | undefined {
  return tracer?.handlerMiddleware(statusOf);
}

/** `client` with a subsegment per call when tracing is on; `client` itself when it is off. */
export function traceAwsClient<T extends TraceableAwsClient>(client: T): T {
  return tracer === undefined ? client : tracer.captureAwsClient(client);
}
