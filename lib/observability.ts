/**
 * Logging. One logger per container; JSON lines with the service name. Callers never pass
 * client secrets, card data or signatures to it; the redaction below is a second fence.
 */
import { LogFormatter, Logger, LogItem } from "@aws-lambda-powertools/logger";
import type { LogAttributes, UnformattedAttributes } from "@aws-lambda-powertools/logger/types";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";

const SECRET_KEYS = /secret|password|authorization|signature|card|cvc|cvv|token/i;
const CLIENT_SECRET = /pi_[A-Za-z0-9]+_secret_[A-Za-z0-9]+/g;
/** A run of 13 to 19 digits, maybe grouped by spaces or dashes: a card number if it passes Luhn. */
const CARD_LIKE = /\b(?:\d[ -]?){12,18}\d\b/g;

/** The Luhn check every card number passes (and about one in ten random digit runs). */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Whether a digit string could be a card number Stripe takes: 13 to 19 digits, a card network's
 * first digit (2-6: Mastercard, Amex/Diners/JCB, Visa, Mastercard, Discover/UnionPay), and Luhn.
 */
export function isCardNumber(digits: string): boolean {
  return /^[2-6]\d{12,18}$/.test(digits) && passesLuhn(digits);
}

/**
 * Masks card numbers in a string. An id such as `o-card-17961608786640` keeps its digits: they
 * pass Luhn (as one digit run in ten does) but start with no card network's digit.
 */
function redactCardNumbers(text: string): string {
  return text.replace(CARD_LIKE, (run) =>
    isCardNumber(run.replace(/[ -]/g, "")) ? "[redacted]" : run,
  );
}

/** Replaces secret-looking fields and values, recursively. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string")
    return redactCardNumbers(value.replace(CLIENT_SECRET, "[redacted]"));
  if (depth > 6 || typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      SECRET_KEYS.test(k) ? "[redacted]" : redact(v, depth + 1),
    ]),
  );
}

/**
 * Powertools' standard JSON keys, with every message and attribute passed through `redact`, so a
 * client secret, a card-like number, a signature or a key that slips into a log line is masked.
 */
export class RedactingLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const context = attributes.lambdaContext;
    const base: LogAttributes = {
      level: attributes.logLevel,
      message: redact(attributes.message),
      timestamp: this.formatTimestamp(attributes.timestamp),
      service: attributes.serviceName,
      ...(context === undefined
        ? {}
        : {
            cold_start: context.coldStart,
            function_name: context.functionName,
            function_request_id: context.awsRequestId,
          }),
      ...(attributes.xRayTraceId === undefined ? {} : { xray_trace_id: attributes.xRayTraceId }),
      ...(attributes.error === undefined
        ? {}
        : { error: redact(this.formatError(attributes.error)) }),
    };
    const extra = redact(additional);
    return new LogItem({ attributes: base }).addAttributes(
      typeof extra === "object" && extra !== null ? Object.fromEntries(Object.entries(extra)) : {},
    );
  }
}

export const logger = new Logger({
  serviceName: "payment-service",
  logFormatter: new RedactingLogFormatter(),
});

/**
 * CloudWatch metrics (EMF), flushed at the end of each invocation by the handlers' middleware.
 * The names are what the alarms and the dashboard use.
 */
export const metrics = new Metrics({
  namespace: "PaymentService",
  serviceName: "payment-service",
  logger,
});

export const METRICS = {
  webhookReceived: "WebhookReceived",
  webhookSignatureFailure: "WebhookSignatureFailure",
  webhookDuplicate: "WebhookDuplicate",
  webhookIgnored: "WebhookIgnored",
  webhookUnreadable: "WebhookUnreadableEvent",
  webhookOtherApiVersion: "WebhookOtherApiVersion",
  webhookRetryRequested: "WebhookRetryRequested",
  paymentCreated: "PaymentCreated",
  idempotentReplay: "IdempotentReplay",
  paymentProcessingTime: "PaymentProcessingTime",
  stripeLatency: "StripeLatency",
  stripeError: "StripeError",
  reconciliationChanged: "ReconciliationChanged",
  reconciliationFailed: "ReconciliationFailed",
  outboxPublished: "OutboxPublished",
  outboxPublishFailed: "OutboxPublishFailed",
  outboxSwept: "OutboxSwept",
  orderPlacedPaymentCreated: "OrderPlacedPaymentCreated",
  orderPlacedDeadLetter: "OrderPlacedDeadLetter",
} as const;

/** Outgoing event types as metric names: payment.captured -> PaymentCaptured. */
export const eventMetricName = (eventType: string): string =>
  eventType
    .split(".")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");

/**
 * Flushes the invocation's metrics, if it recorded any: Powertools would otherwise log a warning
 * ("No application metrics to publish") on every invocation without one, and each line is paid for.
 */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}

/**
 * Starts the log context of a non-HTTP invocation: its own function name and request id, and no
 * keys left over from an earlier invocation (locally, one process runs every function).
 */
export function startInvocation(context: Context | undefined): void {
  logger.resetKeys();
  if (context !== undefined) logger.addContext(context);
}

export function count(name: string, value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

export function milliseconds(name: string, value: number): void {
  metrics.addMetric(name, MetricUnit.Milliseconds, value);
}

/**
 * Counts the outgoing events an applied change wrote (PaymentCaptured, PaymentFailed, ...), and
 * for a capture, how long the payment took from creation (PaymentProcessingTime).
 */
export function countEvents(
  eventTypes: readonly string[],
  payment?: { createdAt: string; updatedAt: string },
): void {
  for (const type of eventTypes) count(eventMetricName(type));
  if (payment !== undefined && eventTypes.includes("payment.captured")) {
    milliseconds(
      METRICS.paymentProcessingTime,
      Date.parse(payment.updatedAt) - Date.parse(payment.createdAt),
    );
  }
}
