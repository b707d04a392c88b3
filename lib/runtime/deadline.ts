/**
 * The running invocation's deadline, for clients that must stop trying before the Lambda is cut
 * off (a function killed at its timeout answers nothing, or API Gateway's bare 500/503). Kept per
 * asynchronous call chain, so concurrent requests in one local process each keep their own.
 */
import { AsyncLocalStorage } from "node:async_hooks";

const deadlines = new AsyncLocalStorage<number>();

/** Runs `fn` with the deadline of the invocation `context` belongs to. */
export function withDeadline<T>(
  context: { getRemainingTimeInMillis(): number } | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const remaining = context?.getRemainingTimeInMillis();
  if (remaining === undefined || !Number.isFinite(remaining)) return fn();
  return deadlines.run(Date.now() + remaining, fn);
}

/** Milliseconds until the current invocation's deadline; undefined outside one. */
export function timeLeftMs(): number | undefined {
  const deadline = deadlines.getStore();
  return deadline === undefined ? undefined : deadline - Date.now();
}
