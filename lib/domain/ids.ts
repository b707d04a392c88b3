/**
 * Identifiers. Payment and refund ids are derived from the caller and its Idempotency-Key, so
 * a request retried after a crash (when our own idempotency record is gone) arrives at the same
 * ids, and therefore at the same Stripe idempotency keys and the same PaymentIntent or Refund.
 */
import { createHash } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

function base32(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** A stable id: `prefix_` + 26 base32 characters of SHA-256 over the parts (130 bits). */
export function deriveId(prefix: string, ...parts: readonly string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) {
    // Length-prefix each part so ("ab","c") and ("a","bc") never collide.
    hash.update(`${part.length}:${part}|`);
  }
  return `${prefix}_${base32(hash.digest().subarray(0, 17)).slice(0, 26)}`;
}

/** Payment created over HTTP by `customerId` with `idempotencyKey`. */
export const paymentIdForRequest = (customerId: string, idempotencyKey: string): string =>
  deriveId("pay", "http", customerId, idempotencyKey);

/** The payment of an order started by `order.placed` (one per order, whoever sends it). */
export const paymentIdForOrderPlaced = (orderId: string): string =>
  deriveId("pay", "order.placed", orderId);

/** Refund of `paymentId` requested by `callerId` with `idempotencyKey`. */
export const refundIdForRequest = (
  callerId: string,
  idempotencyKey: string,
  paymentId: string,
): string => deriveId("rfd", "http", callerId, idempotencyKey, paymentId);

/** Whether a string has the shape of an id this service makes. */
export const isPaymentId = (id: string): boolean => /^pay_[0-9a-z]{26}$/.test(id);

/** A capture or cancellation of `paymentId` requested by `callerId` with `idempotencyKey`. */
export const operationIdForRequest = (
  operation: "capture" | "cancel",
  callerId: string,
  idempotencyKey: string,
  paymentId: string,
): string => deriveId("op", operation, callerId, idempotencyKey, paymentId);
