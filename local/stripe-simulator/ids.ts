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

/** mulberry32: a small seeded generator in [0, 1), for reproducible shuffles and resamples. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
