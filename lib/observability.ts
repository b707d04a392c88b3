/**
 * Logging. One logger per container; JSON lines with the service name. Callers never pass
 * client secrets, card data or signatures to it; the redaction below is a second fence.
 */
import { Logger } from "@aws-lambda-powertools/logger";

const SECRET_KEYS = /secret|password|authorization|signature|card|cvc|cvv|token/i;
const CLIENT_SECRET = /pi_[A-Za-z0-9]+_secret_[A-Za-z0-9]+/g;
const CARD_NUMBER = /\b(?:\d[ -]?){13,19}\b/g;

/** Replaces secret-looking fields and values, recursively. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string")
    return value.replace(CLIENT_SECRET, "[redacted]").replace(CARD_NUMBER, "[redacted]");
  if (depth > 6 || typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      SECRET_KEYS.test(k) ? "[redacted]" : redact(v, depth + 1),
    ]),
  );
}

export const logger = new Logger({ serviceName: "payment-service" });
