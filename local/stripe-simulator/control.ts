/** The `/_simulator/` control API (JSON, no auth) used by tests and local tooling. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type Stripe from "stripe";
import { SimulatorError } from "./errors.js";
import type { FaultConfig } from "./faults.js";
import { json, readBody, sendJson } from "./http.js";
import type { ReleaseOrder, WebhookBehaviour, WebhookMode } from "./webhooks.js";

export interface ControlDeps {
  stats(): unknown;
  reset(): void;
  setFaults(config: FaultConfig): unknown;
  clearFaults(): void;
  faults(): unknown;
  setWebhookBehaviour(behaviour: WebhookBehaviour): unknown;
  webhookState(): unknown;
  setWebhookUrl(url: string | undefined): void;
  setWebhookSecrets(secrets: readonly string[]): void;
  releaseWebhooks(order?: ReleaseOrder): number;
  webhookDeliveries(): unknown;
  drainWebhooks(): Promise<void>;
  settlePaymentIntent(id: string, outcome: "succeeded" | "failed"): Stripe.PaymentIntent;
  authenticatePaymentIntent(id: string, outcome: "succeed" | "fail"): Stripe.PaymentIntent;
  closeDispute(id: string, outcome: "won" | "lost"): Stripe.Dispute;
  resendEvent(id: string): boolean;
  log: (line: string) => void;
}

class BadRequest extends Error {}

type JsonObject = Record<string, unknown>;

function parseObject(body: string): JsonObject {
  if (body.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new BadRequest("body must be JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new BadRequest("body must be a JSON object");
  }
  return Object.fromEntries(Object.entries(value));
}

function optionalNumber(body: JsonObject, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new BadRequest(`${key} must be a non-negative number`);
  }
  return value;
}

function optionalString(body: JsonObject, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new BadRequest(`${key} must be a string`);
  return value;
}

function optionalStrings(body: JsonObject, name: string): string[] | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new BadRequest(`${name} must be an array of strings`);
  }
  return value.filter((item): item is string => typeof item === "string");
}

function optionalBoolean(body: JsonObject, key: string): boolean | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw new BadRequest(`${key} must be a boolean`);
  return value;
}

function optionalEnum<T extends string>(
  body: JsonObject,
  key: string,
  values: readonly T[],
): T | undefined {
  const value = optionalString(body, key);
  if (value === undefined) return undefined;
  const found = values.find((candidate) => candidate === value);
  if (found === undefined) throw new BadRequest(`${key} must be one of ${values.join(", ")}`);
  return found;
}

const MODES: readonly WebhookMode[] = ["normal", "drop", "duplicate", "reorder", "hold"];
const ORDERS: readonly ReleaseOrder[] = ["fifo", "reverse", "shuffle"];

export function parseFaultConfig(body: JsonObject): FaultConfig {
  const config: FaultConfig = {};
  const failNext = optionalNumber(body, "failNext");
  if (failNext !== undefined) config.failNext = failNext;
  const status = optionalNumber(body, "status");
  if (status !== undefined) {
    if (!Number.isInteger(status) || status < 400 || status > 599)
      throw new BadRequest("status must be 400-599");
    config.status = status;
  }
  const delayMs = optionalNumber(body, "delayMs");
  if (delayMs !== undefined) config.delayMs = delayMs;
  const paths = optionalString(body, "paths");
  if (paths !== undefined) config.paths = paths;
  const method = optionalString(body, "method");
  if (method !== undefined) config.method = method;
  const when = optionalEnum(body, "when", ["before", "after"] as const);
  if (when !== undefined) config.when = when;
  const reset = optionalBoolean(body, "reset");
  if (reset !== undefined) config.reset = reset;
  const shouldRetry = optionalBoolean(body, "shouldRetry");
  if (shouldRetry !== undefined) config.shouldRetry = shouldRetry;
  return config;
}

function parseBehaviour(body: JsonObject): WebhookBehaviour {
  const behaviour: WebhookBehaviour = {};
  const mode = optionalEnum(body, "mode", MODES);
  if (mode !== undefined) behaviour.mode = mode;
  const count = optionalNumber(body, "count");
  if (count !== undefined) behaviour.count = count;
  const order = optionalEnum(body, "order", ORDERS);
  if (order !== undefined) behaviour.order = order;
  const batchSize = optionalNumber(body, "batchSize");
  if (batchSize !== undefined) behaviour.batchSize = batchSize;
  const delayMs = optionalNumber(body, "delayMs");
  if (delayMs !== undefined) behaviour.delayMs = delayMs;
  const signature = optionalEnum(body, "signature", ["valid", "invalid", "stale"] as const);
  if (signature !== undefined) behaviour.signature = signature;
  const seed = optionalNumber(body, "seed");
  if (seed !== undefined) behaviour.seed = seed;
  const events = optionalStrings(body, "events");
  if (events !== undefined) behaviour.events = events;
  const only = optionalStrings(body, "only");
  if (only !== undefined) behaviour.only = only;
  return behaviour;
}

export function createControlHandler(
  deps: ControlDeps,
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  return async (req, res, url) => {
    const method = (req.method ?? "GET").toUpperCase();
    const path = url.pathname.replace(/\/+$/, "");
    const reply = (status: number, value: unknown) => {
      sendJson(res, status, json(value));
      deps.log(`${method} ${path} -> ${status}`);
    };
    try {
      const body = parseObject(await readBody(req));
      const route = `${method} ${path}`;
      switch (route) {
        case "GET /_simulator/health":
          return reply(200, { ok: true });
        case "GET /_simulator/stats":
          return reply(200, deps.stats());
        case "POST /_simulator/reset":
          deps.reset();
          return reply(200, { ok: true });
        case "GET /_simulator/faults":
          return reply(200, deps.faults());
        case "POST /_simulator/faults":
          return reply(200, deps.setFaults(parseFaultConfig(body)));
        case "DELETE /_simulator/faults":
          deps.clearFaults();
          return reply(200, deps.faults());
        case "GET /_simulator/webhooks":
          return reply(200, deps.webhookState());
        case "POST /_simulator/webhooks": {
          if ("url" in body) {
            const target = body.url;
            if (target !== null && typeof target !== "string")
              throw new BadRequest("url must be a string or null");
            deps.setWebhookUrl(target ?? undefined);
          }
          if ("secrets" in body) {
            const secrets = body.secrets;
            if (
              !Array.isArray(secrets) ||
              secrets.length === 0 ||
              !secrets.every((s) => typeof s === "string" && /^whsec_\w+$/.test(s))
            ) {
              throw new BadRequest("secrets must be a non-empty array of whsec_... strings");
            }
            deps.setWebhookSecrets(secrets);
          }
          const hasBehaviour = Object.keys(body).some((key) => key !== "url" && key !== "secrets");
          if (hasBehaviour) deps.setWebhookBehaviour(parseBehaviour(body));
          return reply(200, deps.webhookState());
        }
        case "POST /_simulator/webhooks/release": {
          const order = optionalEnum(body, "order", ORDERS);
          return reply(200, { released: deps.releaseWebhooks(order) });
        }
        case "POST /_simulator/webhooks/drain":
          await deps.drainWebhooks();
          return reply(200, deps.stats());
        case "GET /_simulator/webhooks/deliveries":
          return reply(200, { data: deps.webhookDeliveries() });
        default:
          break;
      }
      const settle = /^\/_simulator\/payment_intents\/([^/]+)\/settle$/.exec(path);
      if (method === "POST" && settle) {
        const outcome =
          optionalEnum(body, "outcome", ["succeeded", "failed"] as const) ?? "succeeded";
        return reply(200, deps.settlePaymentIntent(decodeURIComponent(settle[1] ?? ""), outcome));
      }
      const authenticate = /^\/_simulator\/payment_intents\/([^/]+)\/authenticate$/.exec(path);
      if (method === "POST" && authenticate) {
        const outcome = optionalEnum(body, "outcome", ["succeed", "fail"] as const) ?? "succeed";
        return reply(
          200,
          deps.authenticatePaymentIntent(decodeURIComponent(authenticate[1] ?? ""), outcome),
        );
      }
      const close = /^\/_simulator\/disputes\/([^/]+)\/close$/.exec(path);
      if (method === "POST" && close) {
        const outcome = optionalEnum(body, "outcome", ["won", "lost"] as const);
        if (outcome === undefined) throw new BadRequest("outcome must be won or lost");
        return reply(200, deps.closeDispute(decodeURIComponent(close[1] ?? ""), outcome));
      }
      const resend = /^\/_simulator\/events\/([^/]+)\/resend$/.exec(path);
      if (method === "POST" && resend) {
        const eventId = decodeURIComponent(resend[1] ?? "");
        if (!deps.resendEvent(eventId)) {
          return reply(404, {
            error: { message: `No such event, or no webhook URL: '${eventId}'` },
          });
        }
        return reply(200, { ok: true });
      }
      return reply(404, {
        error: { message: `Unknown simulator control route: ${method} ${path}` },
      });
    } catch (error) {
      if (error instanceof BadRequest) return reply(400, { error: { message: error.message } });
      if (error instanceof SimulatorError) return reply(error.status, { error: error.body });
      throw error;
    }
  };
}
