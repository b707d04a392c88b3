/** Fault injection for the REST API: failing answers, delays, dropped connections. */
import type { StripeErrorBody } from "./errors.js";

export interface FaultConfig {
  /** How many matching API calls fail next (0 = none). */
  failNext?: number;
  /** Status of the failing answers (default 500). */
  status?: number;
  /** Added to every matching answer, failing or not, until cleared. */
  delayMs?: number;
  /** Only requests whose path starts with this prefix (e.g. "/v1/refunds"). */
  paths?: string;
  /** Only requests with this method (e.g. "POST"). */
  method?: string;
  /**
   * "before" (default): the request is not executed. "after": it is executed (and its
   * result stored for its Idempotency-Key) but the client still gets the failure, as
   * when a response is lost on the way back.
   */
  when?: "before" | "after";
  /** Drop the connection instead of answering (the SDK sees a connection error). */
  reset?: boolean;
  /** Value of the `Stripe-Should-Retry` header on failing answers, if any. */
  shouldRetry?: boolean;
}

export interface ActiveFaults {
  failNext: number;
  status: number;
  delayMs: number;
  paths: string | undefined;
  method: string | undefined;
  when: "before" | "after";
  reset: boolean;
  shouldRetry: boolean | undefined;
}

export interface FaultDecision {
  delayMs: number;
  failure?: {
    status: number;
    when: "before" | "after";
    reset: boolean;
    shouldRetry: boolean | undefined;
  };
}

const NONE: ActiveFaults = {
  failNext: 0,
  status: 500,
  delayMs: 0,
  paths: undefined,
  method: undefined,
  when: "before",
  reset: false,
  shouldRetry: undefined,
};

export class Faults {
  private active: ActiveFaults = { ...NONE };
  injected = 0;

  set(config: FaultConfig): ActiveFaults {
    this.active = {
      failNext: Math.max(0, Math.floor(config.failNext ?? 0)),
      status: config.status ?? 500,
      delayMs: Math.max(0, config.delayMs ?? 0),
      paths: config.paths,
      method: config.method?.toUpperCase(),
      when: config.when ?? "before",
      reset: config.reset ?? false,
      shouldRetry: config.shouldRetry,
    };
    return this.current();
  }

  clear(): void {
    this.active = { ...NONE };
  }

  current(): ActiveFaults {
    return { ...this.active };
  }

  /** Decides (and consumes one `failNext` for) a request. */
  decide(method: string, path: string): FaultDecision {
    const a = this.active;
    const matches =
      (a.paths === undefined || path.startsWith(a.paths)) &&
      (a.method === undefined || a.method === method);
    if (!matches) {
      return { delayMs: 0 };
    }
    if (a.failNext > 0) {
      a.failNext -= 1;
      this.injected += 1;
      return {
        delayMs: a.delayMs,
        failure: { status: a.status, when: a.when, reset: a.reset, shouldRetry: a.shouldRetry },
      };
    }
    return { delayMs: a.delayMs };
  }
}

/** Stripe's error body for an injected status. */
export function faultBody(status: number): StripeErrorBody {
  if (status === 429) {
    return {
      type: "invalid_request_error",
      code: "rate_limit",
      message:
        "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.",
    };
  }
  if (status >= 500) {
    return {
      type: "api_error",
      message:
        status === 503
          ? "Stripe is temporarily unavailable. Please retry the request."
          : "An unknown error occurred. Please retry the request.",
    };
  }
  if (status === 409) {
    return {
      type: "invalid_request_error",
      code: "lock_timeout",
      message:
        "This object cannot be accessed right now because another API request or Stripe process is currently accessing it.",
    };
  }
  return { type: "invalid_request_error", message: `Simulated failure (${status}).` };
}
