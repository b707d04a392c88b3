import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A random base-62 string, as in Stripe identifiers. */
export function randomToken(length: number): string {
  let out = "";
  for (const byte of randomBytes(length)) {
    out += ALPHABET.charAt(byte % ALPHABET.length);
  }
  return out;
}

/** A Stripe-style object id: `pi_3QxY...` (prefix, underscore, 24 characters). */
export function newId(prefix: string): string {
  return `${prefix}_${randomToken(24)}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
