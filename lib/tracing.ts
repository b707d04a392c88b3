/**
 * X-Ray tracing with Powertools Tracer, switched on per stage (`tracing` in infra/functions.ts,
 * which sets the function's tracing mode to Active and POWERTOOLS_TRACE_ENABLED=true).
 *
 * On, every function records:
 * - a subsegment per DynamoDB and SQS call (`captureAWSv3Client` on the clients built in
 *   lib/runtime/storage.ts and functions/order-placed.ts);
 * - a subsegment per outgoing HTTPS request, which is every Stripe API call: the SDK uses Node's
 *   `https`, which the Tracer patches (`captureHTTPsRequests`, its default), so each Stripe
 *   call shows its host, method, status and latency;
 * - on the HTTP functions, a handler subsegment with the `ColdStart` and `Service` annotations
 *   (`captureLambdaHandler` in lib/http/handler.ts). Responses are NOT recorded: they carry
 *   client secrets.
 *
 * Off (the default), the Tracer and the X-Ray SDK are never evaluated: they sit in the bundle
 * behind a dynamic import, so they add no work to a cold start (`npm run bench` measures both).
 */
import type { Tracer } from "@aws-lambda-powertools/tracer";
import type { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";

type HandlerMiddleware = ReturnType<typeof captureLambdaHandler>;

/** Exactly "true", as infra/functions.ts sets it; anything else leaves tracing off. */
export const tracingEnabled = process.env.POWERTOOLS_TRACE_ENABLED === "true";

async function load(): Promise<{ tracer: Tracer; middleware: HandlerMiddleware }> {
  const [{ Tracer }, { captureLambdaHandler }] = await Promise.all([
    import("@aws-lambda-powertools/tracer"),
    import("@aws-lambda-powertools/tracer/middleware"),
  ]);
  const tracer = new Tracer({ serviceName: "payment-service" });
  return { tracer, middleware: captureLambdaHandler(tracer, { captureResponse: false }) };
}

const loaded = tracingEnabled ? await load() : undefined;

/** The container's tracer, or `undefined` when tracing is off. */
export const tracer: Tracer | undefined = loaded?.tracer;

/** The handler subsegment for a middy stack (no response capture), or `undefined` when off. */
export const tracingMiddleware: HandlerMiddleware | undefined = loaded?.middleware;

/** `client` with a subsegment per call when tracing is on; `client` itself when it is off. */
export function traceAwsClient<T>(client: T): T {
  return tracer === undefined ? client : tracer.captureAWSv3Client(client);
}
