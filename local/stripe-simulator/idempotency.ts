/**
 * Idempotency as at Stripe: keys are scoped to the API key and kept for 24 hours; the
 * same key with the same request replays the stored response, with different parameters
 * it is an `idempotency_error`, and while the first request runs it is a 409.
 */

export interface StoredResponse {
  status: number;
  body: string;
  requestId: string;
}

type Entry =
  | { state: "in_flight"; fingerprint: string; expiresAt: number }
  | { state: "done"; fingerprint: string; expiresAt: number; response: StoredResponse };

export type BeginResult =
  | { kind: "new" }
  | { kind: "replay"; response: StoredResponse }
  | { kind: "mismatch" }
  | { kind: "in_flight" };

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  private static slot(apiKey: string, key: string): string {
    return `${apiKey}\u0000${key}`;
  }

  begin(apiKey: string, key: string, fingerprint: string): BeginResult {
    this.prune();
    const slot = IdempotencyStore.slot(apiKey, key);
    const entry = this.entries.get(slot);
    if (entry === undefined) {
      this.entries.set(slot, {
        state: "in_flight",
        fingerprint,
        expiresAt: this.now() + IDEMPOTENCY_TTL_MS,
      });
      return { kind: "new" };
    }
    if (entry.fingerprint !== fingerprint) {
      return { kind: "mismatch" };
    }
    if (entry.state === "in_flight") {
      return { kind: "in_flight" };
    }
    return { kind: "replay", response: entry.response };
  }

  complete(apiKey: string, key: string, response: StoredResponse): void {
    const slot = IdempotencyStore.slot(apiKey, key);
    const entry = this.entries.get(slot);
    if (entry) {
      this.entries.set(slot, {
        state: "done",
        fingerprint: entry.fingerprint,
        expiresAt: entry.expiresAt,
        response,
      });
    }
  }

  /** Forgets a key whose request did not execute (validation error, injected fault). */
  abandon(apiKey: string, key: string): void {
    this.entries.delete(IdempotencyStore.slot(apiKey, key));
  }

  size(): number {
    this.prune();
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  private prune(): void {
    const now = this.now();
    for (const [slot, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(slot);
    }
  }
}
