/**
 * Webhook delivery: each event is POSTed as JSON to the endpoint with a
 * `Stripe-Signature` header (`t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`), in order,
 * asynchronously, retried with exponential backoff; with test behaviours to drop,
 * duplicate, hold and reorder deliveries.
 */
import { createHmac } from "node:crypto";
import { type ClientRequest, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type Stripe from "stripe";
import { eventTypeMatches } from "./events.js";
import { mulberry32, randomToken } from "./ids.js";

export type WebhookMode = "normal" | "drop" | "duplicate" | "reorder" | "hold";
export type ReleaseOrder = "fifo" | "reverse" | "shuffle";

export interface WebhookBehaviour {
  mode?: WebhookMode;
  /** drop / duplicate: how many events it applies to, then back to normal (default: until changed). */
  count?: number;
  /** reorder: the order a held batch is released in (default "reverse"). */
  order?: ReleaseOrder;
  /** reorder: release automatically once this many events are held. */
  batchSize?: number;
  /** Wait before each event's first delivery attempt. */
  delayMs?: number;
  /** "invalid": signed with a wrong secret; "stale": timestamp 10 minutes old. */
  signature?: "valid" | "invalid" | "stale";
  /** Event types sent (wildcards like "payment_intent.*"); default all. */
  events?: string[];
  /** Event types the mode applies to (wildcards); the others are delivered normally; default all. */
  only?: string[];
  /** Seed for "shuffle". */
  seed?: number;
}

export interface WebhookRetryPolicy {
  /** Attempts per event, first included (default 5). */
  maxAttempts: number;
  /** Delay before the first retry, doubled each time (default 100 ms). */
  initialDelayMs: number;
  /** Cap on the retry delay (default 2000 ms). */
  maxDelayMs: number;
  /** Per-attempt timeout (default 5000 ms). */
  timeoutMs: number;
}

export const DEFAULT_RETRY: WebhookRetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 2000,
  timeoutMs: 5000,
};

export interface WebhookDelivery {
  eventId: string;
  eventType: string;
  /** Where it was sent. */
  url: string;
  attempt: number;
  /** HTTP status, or null on a connection error / timeout. */
  status: number | null;
  ok: boolean;
  error?: string;
  at: number;
  durationMs: number;
}

export interface WebhookStats {
  /** Events waiting for delivery or a retry, or being delivered. */
  outstanding: number;
  held: number;
  attempted: number;
  succeeded: number;
  failed: number;
  gaveUp: number;
  dropped: number;
  duplicated: number;
}

/** Where deliveries go: a webhook endpoint (its URL, secret, `enabled_events`). */
export interface DeliveryTarget {
  readonly url: string;
  /** One, or the new and the old while a secret is rolled. */
  readonly secrets: readonly string[];
  readonly enabledEvents: readonly string[];
}

/** The target used before any endpoint exists (start options, setWebhookUrl / setSecrets). */
const DEFAULT_TARGET = "default";

interface Job {
  event: Stripe.Event;
  /** The target's id: each attempt reads its current URL and secrets, as Stripe does. */
  target: string;
  payload: string;
  attempts: number;
}

interface ResolvedBehaviour {
  mode: WebhookMode;
  remaining: number | undefined;
  order: ReleaseOrder;
  batchSize: number | undefined;
  delayMs: number;
  signature: "valid" | "invalid" | "stale";
  events: string[] | undefined;
  only: string[] | undefined;
  seed: number | undefined;
}

const NORMAL: ResolvedBehaviour = {
  mode: "normal",
  remaining: undefined,
  order: "fifo",
  batchSize: undefined,
  delayMs: 0,
  signature: "valid",
  events: undefined,
  only: undefined,
  seed: undefined,
};

/**
 * Stripe's signature scheme, as verified by `stripe.webhooks.constructEvent`: one `v1` per
 * secret (Stripe signs with the old and the new secret while an endpoint's secret is rolled).
 */
export function signPayload(
  payload: string,
  secret: string | readonly string[],
  timestamp: number,
): string {
  const secrets = typeof secret === "string" ? [secret] : secret;
  const signatures = secrets.map(
    (s) => `v1=${createHmac("sha256", s).update(`${timestamp}.${payload}`, "utf8").digest("hex")}`,
  );
  return [`t=${timestamp}`, ...signatures].join(",");
}

export interface WebhookDispatcherOptions {
  url: string | undefined;
  /** The secrets to sign with: one, or the new and the old while a secret is rolled. */
  secrets: readonly string[];
  /** The default target's event types (default `*`). */
  enabledEvents?: readonly string[] | undefined;
  retry: WebhookRetryPolicy;
  log: (line: string) => void;
  onDelivered: (eventId: string) => void;
}

/**
 * Sends events, signed, to every enabled webhook endpoint whose `enabled_events` match (as
 * Stripe does), or, before any endpoint exists, to the start URL with the start secrets and
 * events. Each endpoint gets its own delivery, retried on its own.
 */
export class WebhookDispatcher {
  private url: string | undefined;
  private secrets: readonly string[];
  /** The default target's `enabled_events` (patterns; `*` for all). */
  private enabledEvents: readonly string[] = ["*"];
  private readonly initial: { secrets: readonly string[]; enabledEvents: readonly string[] };
  /** The enabled endpoints by id; undefined while no endpoint exists (the default is used). */
  private endpoints: ReadonlyMap<string, DeliveryTarget> | undefined;
  private readonly retry: WebhookRetryPolicy;
  private readonly log: (line: string) => void;
  private readonly onDelivered: (eventId: string) => void;
  private behaviour: ResolvedBehaviour = { ...NORMAL };
  private readonly queue: Job[] = [];
  private held: Job[] = [];
  private readonly timers = new Map<NodeJS.Timeout, Job | undefined>();
  private readonly inFlight = new Set<ClientRequest>();
  private outstanding = 0;
  private pumping = false;
  private closed = false;
  private drainWaiters: Array<() => void> = [];
  private log_: WebhookDelivery[] = [];
  private counters = {
    attempted: 0,
    succeeded: 0,
    failed: 0,
    gaveUp: 0,
    dropped: 0,
    duplicated: 0,
  };

  constructor(options: WebhookDispatcherOptions) {
    this.url = options.url;
    this.secrets = options.secrets;
    if (options.enabledEvents !== undefined) this.enabledEvents = [...options.enabledEvents];
    this.initial = { secrets: this.secrets, enabledEvents: this.enabledEvents };
    this.retry = options.retry;
    this.log = options.log;
    this.onDelivered = options.onDelivered;
  }

  /** The first place deliveries go now (undefined: nowhere). */
  get endpoint(): string | undefined {
    return this.targets()[0]?.[1].url;
  }

  /** How many places each event goes now (an event's `pending_webhooks`). */
  get targetCount(): number {
    return this.targets().length;
  }

  /** The default target's URL (used while no endpoint exists). */
  setUrl(url: string | undefined): void {
    this.url = url;
  }

  /** The default target delivers only events matching these types (`*`: all). */
  setEnabledEvents(types: readonly string[]): void {
    this.enabledEvents = [...types];
  }

  /** The default target signs with these secrets (a roll: the new and the old; then the new). */
  setSecrets(secrets: readonly string[]): void {
    if (secrets.length === 0) throw new Error("at least one webhook secret");
    this.secrets = [...secrets];
  }

  /** The enabled webhook endpoints by id; undefined once none exists (the default again). */
  setEndpoints(endpoints: ReadonlyMap<string, DeliveryTarget> | undefined): void {
    this.endpoints = endpoints === undefined ? undefined : new Map(endpoints);
  }

  private target(id: string): DeliveryTarget | undefined {
    if (this.endpoints !== undefined) return this.endpoints.get(id);
    if (id !== DEFAULT_TARGET || this.url === undefined) return undefined;
    return { url: this.url, secrets: this.secrets, enabledEvents: this.enabledEvents };
  }

  private targets(): [string, DeliveryTarget][] {
    if (this.endpoints !== undefined) return [...this.endpoints];
    const fallback = this.target(DEFAULT_TARGET);
    return fallback === undefined ? [] : [[DEFAULT_TARGET, fallback]];
  }

  configure(behaviour: WebhookBehaviour): ResolvedBehaviour {
    this.behaviour = {
      mode: behaviour.mode ?? "normal",
      remaining:
        behaviour.count === undefined ? undefined : Math.max(0, Math.floor(behaviour.count)),
      order: behaviour.order ?? (behaviour.mode === "reorder" ? "reverse" : "fifo"),
      batchSize: behaviour.batchSize,
      delayMs: Math.max(0, behaviour.delayMs ?? 0),
      signature: behaviour.signature ?? "valid",
      events: behaviour.events,
      only: behaviour.only,
      seed: behaviour.seed,
    };
    return this.currentBehaviour();
  }

  currentBehaviour(): ResolvedBehaviour {
    return {
      ...this.behaviour,
      ...(this.behaviour.events ? { events: [...this.behaviour.events] } : {}),
      ...(this.behaviour.only ? { only: [...this.behaviour.only] } : {}),
    };
  }

  /** Queues an event per the current behaviour; never blocks. */
  dispatch(event: Stripe.Event): void {
    if (this.closed) return;
    const matches = (patterns: readonly string[]) =>
      patterns.some((pattern) => eventTypeMatches(pattern, event.type));
    const b = this.behaviour;
    if (b.events && !matches(b.events)) return;
    const targets = this.targets().filter(([, t]) => matches(t.enabledEvents));
    if (targets.length === 0) return;
    const jobs = () => targets.map(([id]) => this.job(event, id));
    if (b.only && !matches(b.only)) {
      for (const job of jobs()) this.enqueue(job);
      return;
    }
    switch (b.mode) {
      case "drop":
        this.counters.dropped += 1;
        this.log(`webhook ${event.id} ${event.type} dropped (simulated)`);
        this.countDown();
        return;
      case "duplicate":
        this.counters.duplicated += 1;
        for (const job of [...jobs(), ...jobs()]) this.enqueue(job);
        this.countDown();
        return;
      case "hold":
      case "reorder":
        this.held.push(...jobs());
        if (b.mode === "reorder" && b.batchSize !== undefined && this.held.length >= b.batchSize) {
          this.release(b.order);
        }
        return;
      default:
        for (const job of jobs()) this.enqueue(job);
    }
  }

  /** Sends an event again regardless of the behaviour (like `stripe events resend`). */
  resend(event: Stripe.Event): boolean {
    const targets = this.targets();
    if (this.closed || targets.length === 0) return false;
    for (const [id] of targets) this.enqueue(this.job(event, id));
    return true;
  }

  /** Releases held events in the given order; returns how many. */
  release(order?: ReleaseOrder): number {
    const batch = this.held;
    this.held = [];
    const chosen = order ?? this.behaviour.order;
    if (chosen === "reverse") {
      batch.reverse();
    } else if (chosen === "shuffle") {
      const random =
        this.behaviour.seed === undefined ? Math.random : mulberry32(this.behaviour.seed);
      for (let i = batch.length - 1; i > 0; i -= 1) {
        const j = Math.floor(random() * (i + 1));
        const a = batch[i];
        const b = batch[j];
        if (a !== undefined && b !== undefined) {
          batch[i] = b;
          batch[j] = a;
        }
      }
    }
    for (const job of batch) this.enqueue(job);
    return batch.length;
  }

  /** Resolves when nothing is queued, waiting for a retry, or in flight (held events excluded). */
  drain(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
    });
  }

  deliveries(): WebhookDelivery[] {
    return this.log_.map((delivery) => ({ ...delivery }));
  }

  stats(): WebhookStats {
    return { outstanding: this.outstanding, held: this.held.length, ...this.counters };
  }

  /** Forgets queued, held and retrying deliveries, the log and counters; behaviour back to normal. */
  reset(): void {
    // Retry timers are cancelled; a delivery waiting out `delayMs` is left to finish.
    for (const [timer, job] of this.timers) {
      if (job) {
        clearTimeout(timer);
        this.timers.delete(timer);
        this.outstanding -= 1;
      }
    }
    this.outstanding -= this.queue.length;
    this.queue.length = 0;
    this.held = [];
    this.behaviour = { ...NORMAL };
    this.secrets = this.initial.secrets;
    this.enabledEvents = this.initial.enabledEvents;
    this.log_ = [];
    this.counters = { attempted: 0, succeeded: 0, failed: 0, gaveUp: 0, dropped: 0, duplicated: 0 };
    this.checkDrained();
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.keys()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.held = [];
    for (const req of this.inFlight) req.destroy();
    this.inFlight.clear();
    this.outstanding = 0;
    this.checkDrained();
  }

  private job(event: Stripe.Event, target: string): Job {
    return { event, target, payload: JSON.stringify(event, null, 2), attempts: 0 };
  }

  private countDown(): void {
    const b = this.behaviour;
    if (b.remaining === undefined) return;
    b.remaining -= 1;
    if (b.remaining <= 0) {
      this.behaviour = { ...NORMAL, signature: b.signature, events: b.events, delayMs: b.delayMs };
    }
  }

  private enqueue(job: Job): void {
    this.outstanding += 1;
    this.queue.push(job);
    this.pump();
  }

  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    void (async () => {
      try {
        for (let job = this.queue.shift(); job !== undefined; job = this.queue.shift()) {
          await this.attempt(job);
          if (this.closed) return;
        }
      } finally {
        this.pumping = false;
      }
    })();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.set(timer, undefined);
    });
  }

  private async attempt(job: Job): Promise<void> {
    if (job.attempts === 0 && this.behaviour.delayMs > 0) {
      await this.sleep(this.behaviour.delayMs);
      if (this.closed) return;
    }
    const target = this.target(job.target);
    if (target === undefined) {
      // The endpoint was deleted or disabled meanwhile (or the URL unset).
      this.counters.gaveUp += 1;
      this.finish();
      return;
    }
    job.attempts += 1;
    this.counters.attempted += 1;
    const started = Date.now();
    const result = await this.post(target, job.payload);
    if (this.closed) return;
    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    this.log_.push({
      eventId: job.event.id,
      eventType: job.event.type,
      url: target.url,
      attempt: job.attempts,
      status: result.status,
      ok,
      ...(result.error === undefined ? {} : { error: result.error }),
      at: started,
      durationMs: Date.now() - started,
    });
    if (this.log_.length > 5000) this.log_.splice(0, this.log_.length - 5000);
    this.log(
      `webhook ${job.event.id} ${job.event.type} attempt ${job.attempts} -> ${result.status ?? result.error ?? "error"}`,
    );
    if (ok) {
      this.counters.succeeded += 1;
      this.onDelivered(job.event.id);
      this.finish();
      return;
    }
    this.counters.failed += 1;
    if (job.attempts >= this.retry.maxAttempts) {
      this.counters.gaveUp += 1;
      this.log(`webhook ${job.event.id} given up after ${job.attempts} attempts`);
      this.finish();
      return;
    }
    const delay = Math.min(
      this.retry.initialDelayMs * 2 ** (job.attempts - 1),
      this.retry.maxDelayMs,
    );
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.queue.push(job);
      this.pump();
    }, delay);
    this.timers.set(timer, job);
  }

  private finish(): void {
    this.outstanding -= 1;
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.outstanding > 0) return;
    this.outstanding = 0;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private signatureHeader(payload: string, secrets: readonly string[]): string {
    const now = Math.floor(Date.now() / 1000);
    switch (this.behaviour.signature) {
      case "invalid":
        return signPayload(payload, `whsec_${randomToken(32)}`, now);
      case "stale":
        return signPayload(payload, secrets, now - 600);
      default:
        return signPayload(payload, secrets, now);
    }
  }

  private post(
    { url, secrets }: DeliveryTarget,
    payload: string,
  ): Promise<{ status: number | null; error?: string }> {
    return new Promise((resolve) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        resolve({ status: null, error: "invalid webhook URL" });
        return;
      }
      const send = target.protocol === "https:" ? httpsRequest : httpRequest;
      const body = Buffer.from(payload, "utf8");
      const req = send(target, {
        method: "POST",
        agent: false,
        timeout: this.retry.timeoutMs,
        headers: {
          "Content-Type": "application/json; charset=utf-8",
          "Content-Length": body.length,
          "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
          "Cache-Control": "no-cache",
          Accept: "*/*; q=0.5, application/xml",
          Connection: "close",
          "Stripe-Signature": this.signatureHeader(payload, secrets),
        },
      });
      this.inFlight.add(req);
      let settled = false;
      const done = (result: { status: number | null; error?: string }) => {
        if (settled) return;
        settled = true;
        this.inFlight.delete(req);
        resolve(result);
      };
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => done({ status: res.statusCode ?? null }));
        res.on("error", () => done({ status: res.statusCode ?? null }));
      });
      req.on("timeout", () => {
        req.destroy(new Error("timeout"));
      });
      req.on("error", (error: Error) => done({ status: null, error: error.message }));
      req.on("close", () => done({ status: null, error: "connection closed" }));
      req.end(body);
    });
  }
}
