/**
 * Stripe's webhook endpoints (`/v1/webhook_endpoints`): create (the answer carries the signing
 * secret, once, as at Stripe), retrieve, list, update (`url`, `enabled_events`, `disabled`,
 * `description`, `metadata`) and delete.
 *
 * As at Stripe, every enabled endpoint gets each event its `enabled_events` match, signed with
 * its own secret. Before any endpoint exists (and again once the last one is deleted),
 * deliveries go to the URL, secrets and event types the simulator started with or was given
 * (setWebhookUrl / `POST /_simulator/webhooks`).
 */
import type Stripe from "stripe";
import { invalidParam, resourceMissing } from "./errors.js";
import type { FormObject } from "./form.js";
import { newId, nowSeconds, randomToken } from "./ids.js";
import { PAGINATION_PARAMS, paginate } from "./list.js";
import { mergeMetadata, Params } from "./params.js";

import type { DeliveryTarget } from "./webhooks.js";

const EVENT_NAME = /^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$/;

function enabledEvents(params: Params, required: boolean): string[] | undefined {
  const raw = params.raw.enabled_events;
  if (raw === undefined) {
    if (required) throw invalidParam("Missing required param: enabled_events.", "enabled_events");
    return undefined;
  }
  const list = typeof raw === "string" ? [raw] : Array.isArray(raw) ? raw : Object.values(raw);
  const names = list.filter((v): v is string => typeof v === "string");
  if (
    names.length === 0 ||
    names.length !== list.length ||
    !names.every((n) => EVENT_NAME.test(n))
  ) {
    throw invalidParam("Invalid enabled_events: a list of event types or '*'.", "enabled_events");
  }
  return [...new Set(names)];
}

function url(params: Params, required: boolean): string | undefined {
  const value = required ? params.requiredString("url") : params.string("url");
  if (value === undefined) return undefined;
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new Error("scheme");
  } catch {
    throw invalidParam(`Invalid URL: ${value}`, "url", "url_invalid");
  }
  return value;
}

export class WebhookEndpoints {
  private readonly byId = new Map<string, Stripe.WebhookEndpoint>();
  private readonly secrets = new Map<string, string>();

  /** `onTargets` gets the enabled endpoints after each change; undefined once none exists. */
  constructor(
    private readonly onTargets: (targets: ReadonlyMap<string, DeliveryTarget> | undefined) => void,
  ) {}

  create(raw: FormObject): Stripe.WebhookEndpoint {
    const params = new Params(raw, [
      "url",
      "enabled_events",
      "api_version",
      "description",
      "metadata",
      "connect",
    ]);
    const endpoint: Stripe.WebhookEndpoint = {
      id: newId("we"),
      object: "webhook_endpoint",
      api_version: params.string("api_version") ?? null,
      application: null,
      created: nowSeconds(),
      description: params.string("description") ?? null,
      enabled_events: enabledEvents(params, true) ?? [],
      livemode: false,
      metadata: params.metadata() ?? {},
      status: "enabled",
      url: url(params, true) ?? "",
    };
    const secret = `whsec_${randomToken(32)}`;
    this.byId.set(endpoint.id, endpoint);
    this.secrets.set(endpoint.id, secret);
    this.announce();
    return { ...structuredClone(endpoint), secret };
  }

  retrieve(id: string): Stripe.WebhookEndpoint {
    return structuredClone(this.endpoint(id));
  }

  list(raw: FormObject): Stripe.ApiList<Stripe.WebhookEndpoint> {
    const params = new Params(raw, [...PAGINATION_PARAMS]);
    const all = [...this.byId.values()].reverse().map((e) => structuredClone(e));
    return paginate(all, params, "/v1/webhook_endpoints", "webhook_endpoint");
  }

  update(id: string, raw: FormObject): Stripe.WebhookEndpoint {
    const params = new Params(raw, [
      "url",
      "enabled_events",
      "disabled",
      "description",
      "metadata",
    ]);
    const endpoint = this.endpoint(id);
    const events = enabledEvents(params, false);
    if (events !== undefined) endpoint.enabled_events = events;
    const target = url(params, false);
    if (target !== undefined) endpoint.url = target;
    const disabled = params.boolean("disabled");
    if (disabled !== undefined) endpoint.status = disabled ? "disabled" : "enabled";
    const description = params.string("description");
    if (description !== undefined) endpoint.description = description;
    const metadata = params.metadata();
    if (metadata !== undefined) endpoint.metadata = mergeMetadata(endpoint.metadata, metadata);
    this.announce();
    return structuredClone(endpoint);
  }

  remove(id: string): Stripe.DeletedWebhookEndpoint {
    this.endpoint(id);
    this.byId.delete(id);
    this.secrets.delete(id);
    this.announce();
    return { id, object: "webhook_endpoint", deleted: true };
  }

  clear(): void {
    this.byId.clear();
    this.secrets.clear();
    this.announce();
  }

  private endpoint(id: string): Stripe.WebhookEndpoint {
    const found = this.byId.get(id);
    if (found === undefined) throw resourceMissing("webhook_endpoint", id);
    return found;
  }

  private announce(): void {
    if (this.byId.size === 0) {
      this.onTargets(undefined);
      return;
    }
    const targets = new Map<string, DeliveryTarget>();
    for (const [id, endpoint] of this.byId) {
      const secret = this.secrets.get(id);
      if (endpoint.status !== "enabled" || secret === undefined) continue;
      targets.set(id, {
        url: endpoint.url,
        secrets: [secret],
        enabledEvents: endpoint.enabled_events,
      });
    }
    // Every endpoint disabled: nothing is delivered.
    this.onTargets(targets);
  }
}
