/**
 * A Stripe simulator: an HTTP server speaking enough of Stripe's REST API for the
 * official `stripe` SDK (PaymentIntents, Charges, Refunds, Events), with idempotency,
 * signed webhooks with retries, fault injection and a `/_simulator/` control API.
 * All state is in memory.
 */

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type Stripe from "stripe";
import { createApiHandler, type RestrictedKeyPermissions } from "./api.js";
import { createControlHandler } from "./control.js";
import { WebhookEndpoints } from "./endpoints.js";
import { Engine } from "./engine.js";
import { type ActiveFaults, type FaultConfig, Faults, faultBody } from "./faults.js";
import { json, sendJson } from "./http.js";
import { IdempotencyStore } from "./idempotency.js";
import {
  DEFAULT_RETRY,
  type ReleaseOrder,
  type WebhookBehaviour,
  type WebhookDelivery,
  WebhookDispatcher,
  type WebhookRetryPolicy,
  type WebhookStats,
} from "./webhooks.js";

export { TEST_CARDS, type TestCard } from "./cards.js";
export { API_VERSION } from "./events.js";
export type { FaultConfig } from "./faults.js";
export type {
  ReleaseOrder,
  WebhookBehaviour,
  WebhookDelivery,
  WebhookMode,
  WebhookRetryPolicy,
  WebhookStats,
} from "./webhooks.js";
export { signPayload } from "./webhooks.js";

export interface StripeSimulatorOptions {
  /** Default 12111; 0 = any free port. */
  port?: number;
  /** Default "127.0.0.1". */
  host?: string;
  /** Where signed webhooks go; none sent when undefined. */
  webhookUrl?: string;
  /** Event types delivered (an endpoint's `enabled_events`); default `*`, every one. */
  webhookEvents?: readonly string[];
  /** whsec_... used to sign; several: one signature each, as Stripe does while a secret is rolled. */
  webhookSecret: string | readonly string[];
  log?: (line: string) => void;
  /** Webhook retry policy (defaults: 5 attempts, 100 ms doubling, capped at 2 s, 5 s timeout). */
  webhookRetry?: Partial<WebhookRetryPolicy>;
  /** Delay before asynchronous transitions such as a `pm_card_refundFail` refund failing (default 20 ms). */
  asyncDelayMs?: number;
}

export interface SimulatorStats {
  paymentIntents: number;
  charges: number;
  refunds: number;
  events: number;
  idempotencyKeys: number;
  requests: number;
  faultsInjected: number;
  webhooks: WebhookStats;
}

export interface StripeSimulator {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  /** All PaymentIntents, oldest first (copies). */
  paymentIntents(): Stripe.PaymentIntent[];
  refunds(): Stripe.Refund[];
  events(): Stripe.Event[];
  setWebhookUrl(url: string | undefined): void;
  /** Signs from now on with these secrets (rolling: the new and the old; then the new alone). */
  setWebhookSecrets(secrets: readonly string[]): void;
  /** Delivers only these event types from now on (an endpoint's `enabled_events`; `*`: all). */
  setWebhookEvents(types: readonly string[]): void;
  /**
   * Makes a restricted key (`rk_test_…`) with these permissions (as in the Dashboard); a call
   * beyond them answers 403, as at Stripe. An rk_test_ key not made here is refused (401).
   */
  setRestrictedKey(key: string, permissions: RestrictedKeyPermissions): void;
  /** Resolves when every queued webhook delivery is done (delivered or given up); held events are not waited for. */
  drainWebhooks(): Promise<void>;
  // ---- extras, mirroring the /_simulator/ control API
  stats(): SimulatorStats;
  reset(): void;
  setFaults(config: FaultConfig): ActiveFaults;
  clearFaults(): void;
  setWebhookBehaviour(behaviour: WebhookBehaviour): void;
  releaseWebhooks(order?: ReleaseOrder): number;
  webhookDeliveries(): WebhookDelivery[];
  settlePaymentIntent(id: string, outcome?: "succeeded" | "failed"): Stripe.PaymentIntent;
  /** The customer's 3-D Secure answer (as `POST /_simulator/payment_intents/{id}/authenticate`). */
  authenticatePaymentIntent(id: string, outcome?: "succeed" | "fail"): Stripe.PaymentIntent;
  /** Disputes opened so far (test card `pm_card_createDispute`), oldest first (copies). */
  disputes(): Stripe.Dispute[];
  /** The card network decides (as `POST /_simulator/disputes/{id}/close`). */
  closeDispute(id: string, outcome: "won" | "lost"): Stripe.Dispute;
}

export async function startStripeSimulator(
  options: StripeSimulatorOptions,
): Promise<StripeSimulator> {
  const log = options.log ?? (() => {});
  const retry: WebhookRetryPolicy = { ...DEFAULT_RETRY, ...options.webhookRetry };
  let engineRef: Engine | undefined;
  const dispatcher = new WebhookDispatcher({
    url: options.webhookUrl,
    secrets:
      typeof options.webhookSecret === "string" ? [options.webhookSecret] : options.webhookSecret,
    enabledEvents: options.webhookEvents,
    retry,
    log,
    onDelivered: (eventId) => engineRef?.markEventDelivered(eventId),
  });
  const engine = new Engine({
    onEvent: (event) => dispatcher.dispatch(event),
    pendingWebhooks: () => dispatcher.targetCount,
    asyncDelayMs: options.asyncDelayMs ?? 20,
  });
  engineRef = engine;
  const endpoints = new WebhookEndpoints((targets) => dispatcher.setEndpoints(targets));
  const faults = new Faults();
  const idempotency = new IdempotencyStore();
  let requests = 0;

  const stats = (): SimulatorStats => ({
    ...engine.counts(),
    idempotencyKeys: idempotency.size(),
    requests,
    faultsInjected: faults.injected,
    webhooks: dispatcher.stats(),
  });
  const reset = () => {
    engine.reset();
    idempotency.clear();
    faults.clear();
    faults.injected = 0;
    dispatcher.reset();
    endpoints.clear();
    requests = 0;
  };
  const drainWebhooks = async () => {
    await engine.idle();
    await dispatcher.drain();
  };
  const settlePaymentIntent = (id: string, outcome: "succeeded" | "failed" = "succeeded") =>
    engine.settlePaymentIntent(id, outcome);
  const authenticatePaymentIntent = (id: string, outcome: "succeed" | "fail" = "succeed") =>
    engine.authenticatePaymentIntent(id, outcome);
  const closeDispute = (id: string, outcome: "won" | "lost") => engine.closeDispute(id, outcome);

  const restrictedKeys = new Map<string, RestrictedKeyPermissions>();
  const api = createApiHandler({ engine, endpoints, faults, idempotency, restrictedKeys, log });
  const control = createControlHandler({
    stats,
    reset,
    setFaults: (config) => faults.set(config),
    clearFaults: () => faults.clear(),
    faults: () => faults.current(),
    setWebhookBehaviour: (behaviour) => dispatcher.configure(behaviour),
    webhookState: () => ({
      url: dispatcher.endpoint ?? null,
      behaviour: dispatcher.currentBehaviour(),
      retry,
      stats: dispatcher.stats(),
    }),
    setWebhookUrl: (url) => dispatcher.setUrl(url),
    setWebhookSecrets: (secrets) => dispatcher.setSecrets(secrets),
    releaseWebhooks: (order) => dispatcher.release(order),
    webhookDeliveries: () => dispatcher.deliveries(),
    drainWebhooks,
    settlePaymentIntent,
    authenticatePaymentIntent,
    closeDispute,
    resendEvent: (id) => {
      const event = engine.findEvent(id);
      return event !== undefined && dispatcher.resend(event);
    },
    log,
  });

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://simulator.invalid");
    const isControl = url.pathname === "/_simulator" || url.pathname.startsWith("/_simulator/");
    if (!isControl) requests += 1;
    const handler = isControl ? control : api;
    handler(req, res, url).catch((error: unknown) => {
      log(`internal error: ${error instanceof Error ? error.message : String(error)}`);
      sendJson(res, 500, json({ error: faultBody(500) }));
    });
  });
  server.keepAliveTimeout = 5000;

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 12111, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const port = address.port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  log(`stripe simulator listening on ${url}`);

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        dispatcher.close();
        engine.stop();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
    paymentIntents: () => engine.allPaymentIntents(),
    refunds: () => engine.allRefunds(),
    events: () => engine.allEvents(),
    setWebhookUrl: (target) => dispatcher.setUrl(target),
    setWebhookSecrets: (secrets) => dispatcher.setSecrets(secrets),
    setWebhookEvents: (types) => dispatcher.setEnabledEvents(types),
    setRestrictedKey: (key, permissions) => {
      if (!/^rk_test_\S+$/.test(key)) throw new Error("a restricted test key is rk_test_…");
      restrictedKeys.set(key, { ...permissions });
    },
    drainWebhooks,
    stats,
    reset,
    setFaults: (config) => faults.set(config),
    clearFaults: () => faults.clear(),
    setWebhookBehaviour: (behaviour) => {
      dispatcher.configure(behaviour);
    },
    releaseWebhooks: (order) => dispatcher.release(order),
    webhookDeliveries: () => dispatcher.deliveries(),
    settlePaymentIntent,
    authenticatePaymentIntent,
    closeDispute,
    disputes: () => engine.allDisputes(),
  };
}
