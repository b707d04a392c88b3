/**
 * Stripe's webhook signature scheme, checked with node:crypto alone (no SDK load):
 *
 *   Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">[,v1=...]
 *
 * Stripe puts one `v1` per signing secret: while an endpoint's secret is being rolled it signs
 * with the old and the new one. The endpoint accepts a list of secrets too, so either side can
 * move first (README, "Rolling the webhook secret"). The check: some `v1` equals the HMAC under
 * some secret (compared in constant time), and `t` is within the tolerance of now, either way
 * (Stripe's SDK only refuses old timestamps; one far in the future is as suspect as one in the
 * past, and a clock skew of minutes stays inside the 300 seconds).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Why a signature was refused (logged, never shown to the caller beyond `invalid_signature`). */
export class SignatureRejectedError extends Error {}

const SIGNATURE_HEX = /^[0-9a-f]{64}$/;

interface SignatureHeader {
  readonly timestamp: number;
  readonly signatures: readonly Buffer[];
}

function parseHeader(header: string): SignatureHeader {
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(",")) {
    const at = part.indexOf("=");
    if (at < 0) continue;
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === "t") {
      if (timestamp !== undefined) throw new SignatureRejectedError("more than one timestamp");
      if (!/^\d{1,12}$/.test(value))
        throw new SignatureRejectedError("the timestamp is not a number");
      timestamp = Number(value);
    } else if (key === "v1" && SIGNATURE_HEX.test(value)) {
      signatures.push(Buffer.from(value, "hex"));
    }
    // Other schemes (v0, Stripe's test-only scheme) and unknown keys are not ours to check.
  }
  if (timestamp === undefined) throw new SignatureRejectedError("no timestamp");
  if (signatures.length === 0) throw new SignatureRejectedError("no v1 signature");
  return { timestamp, signatures };
}

export interface VerifyOptions {
  /** The endpoint's signing secrets (one, or two while a secret is rolled). */
  readonly secrets: readonly string[];
  readonly toleranceSeconds: number;
  /** Now, in Unix seconds. */
  readonly nowSeconds: number;
}

/**
 * Checks `header` against the raw body. Answers the body as text when it verifies; throws
 * SignatureRejectedError with the reason otherwise.
 */
export function verifyStripeSignature(
  rawBody: string | Buffer,
  header: string | undefined,
  options: VerifyOptions,
): string {
  if (header === undefined || header === "") {
    throw new SignatureRejectedError("no Stripe-Signature header");
  }
  const body = typeof rawBody === "string" ? Buffer.from(rawBody, "utf8") : rawBody;
  if (body.length === 0) throw new SignatureRejectedError("empty body");
  const { timestamp, signatures } = parseHeader(header);
  const matches = options.secrets.some((secret) => {
    const expected = createHmac("sha256", secret)
      .update(`${timestamp}.`, "utf8")
      .update(body)
      .digest();
    return signatures.some((given) => timingSafeEqual(given, expected));
  });
  if (!matches) {
    throw new SignatureRejectedError("no signature matches the endpoint's secrets");
  }
  if (Math.abs(options.nowSeconds - timestamp) > options.toleranceSeconds) {
    throw new SignatureRejectedError(
      `the timestamp is ${options.nowSeconds - timestamp} s from now (tolerance ${options.toleranceSeconds} s)`,
    );
  }
  return body.toString("utf8");
}

/** `STRIPE_WEBHOOK_SECRET`: one secret, or several separated by commas. */
export function parseWebhookSecrets(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
