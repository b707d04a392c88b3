/** The `/v1` REST surface: auth, routing, idempotency, fault injection, responses. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { WebhookEndpoints } from "./endpoints.js";
import type { Engine } from "./engine.js";
import { SimulatorError, type StripeErrorBody } from "./errors.js";
import { API_VERSION, type RequestContext } from "./events.js";
import { type FaultDecision, type Faults, faultBody } from "./faults.js";
import { canonicalJson, type FormObject, parseForm } from "./form.js";
import { delay, header, json, readBody, sendJson } from "./http.js";
import type { IdempotencyStore } from "./idempotency.js";
import { randomToken } from "./ids.js";

/** A restricted key's permissions: per resource (`payment_intents`, `refunds`, ...), read or write. */
export type RestrictedKeyPermissions = Readonly<Record<string, "read" | "write">>;

interface Caller {
  apiKey: string;
  publishable: boolean;
  /** A restricted key's permissions (undefined: a secret key, allowed everything). */
  permissions?: RestrictedKeyPermissions;
}

interface RouteInput {
  match: RegExpExecArray;
  params: FormObject;
  context: RequestContext;
  caller: Caller;
}

interface Route {
  method: "GET" | "POST" | "DELETE";
  pattern: RegExp;
  publishable?: boolean;
  handler: (input: RouteInput) => unknown;
}

export interface ApiDeps {
  engine: Engine;
  endpoints: WebhookEndpoints;
  faults: Faults;
  idempotency: IdempotencyStore;
  /** The restricted keys (`rk_test_…`) this account has made, with their permissions. */
  restrictedKeys: ReadonlyMap<string, RestrictedKeyPermissions>;
  log: (line: string) => void;
}

interface Outcome {
  status: number;
  body: string;
}

function id(match: RegExpExecArray): string {
  return decodeURIComponent(match[1] ?? "");
}

function routes(engine: Engine, endpoints: WebhookEndpoints): Route[] {
  return [
    {
      method: "GET",
      pattern: /^\/v1\/webhook_endpoints$/,
      handler: ({ params }) => endpoints.list(params),
    },
    {
      method: "POST",
      pattern: /^\/v1\/webhook_endpoints$/,
      handler: ({ params }) => endpoints.create(params),
    },
    {
      method: "GET",
      pattern: /^\/v1\/webhook_endpoints\/([^/]+)$/,
      handler: ({ match }) => endpoints.retrieve(id(match)),
    },
    {
      method: "POST",
      pattern: /^\/v1\/webhook_endpoints\/([^/]+)$/,
      handler: ({ match, params }) => endpoints.update(id(match), params),
    },
    {
      method: "DELETE",
      pattern: /^\/v1\/webhook_endpoints\/([^/]+)$/,
      handler: ({ match }) => endpoints.remove(id(match)),
    },
    {
      method: "POST",
      pattern: /^\/v1\/payment_intents$/,
      handler: ({ params, context }) => engine.createPaymentIntent(params, context),
    },
    {
      method: "GET",
      pattern: /^\/v1\/payment_intents$/,
      handler: ({ params }) => engine.listPaymentIntents(params),
    },
    {
      method: "GET",
      pattern: /^\/v1\/payment_intents\/([^/]+)$/,
      publishable: true,
      handler: ({ match, params, caller }) =>
        engine.retrievePaymentIntent(id(match), params, caller.publishable),
    },
    {
      method: "POST",
      pattern: /^\/v1\/payment_intents\/([^/]+)$/,
      handler: ({ match, params }) => engine.updatePaymentIntent(id(match), params),
    },
    {
      method: "POST",
      pattern: /^\/v1\/payment_intents\/([^/]+)\/confirm$/,
      publishable: true,
      handler: ({ match, params, context, caller }) =>
        engine.confirmPaymentIntent(id(match), params, context, caller.publishable),
    },
    {
      method: "POST",
      pattern: /^\/v1\/payment_intents\/([^/]+)\/capture$/,
      handler: ({ match, params, context }) =>
        engine.capturePaymentIntent(id(match), params, context),
    },
    {
      method: "POST",
      pattern: /^\/v1\/payment_intents\/([^/]+)\/cancel$/,
      handler: ({ match, params, context }) =>
        engine.cancelPaymentIntent(id(match), params, context),
    },
    {
      method: "POST",
      pattern: /^\/v1\/refunds$/,
      handler: ({ params, context }) => engine.createRefund(params, context),
    },
    {
      method: "GET",
      pattern: /^\/v1\/refunds$/,
      handler: ({ params }) => engine.listRefunds(params),
    },
    {
      method: "GET",
      pattern: /^\/v1\/refunds\/([^/]+)$/,
      handler: ({ match, params }) => engine.retrieveRefund(id(match), params),
    },
    {
      method: "GET",
      pattern: /^\/v1\/charges$/,
      handler: ({ params }) => engine.listCharges(params),
    },
    {
      method: "GET",
      pattern: /^\/v1\/charges\/([^/]+)$/,
      handler: ({ match, params }) => engine.retrieveCharge(id(match), params),
    },
    {
      method: "GET",
      pattern: /^\/v1\/disputes\/([^/]+)$/,
      handler: ({ match, params }) => engine.retrieveDispute(id(match), params),
    },
    {
      method: "POST",
      pattern: /^\/v1\/disputes\/([^/]+)$/,
      handler: ({ match, params, context }) => engine.updateDispute(id(match), params, context),
    },
    {
      method: "GET",
      pattern: /^\/v1\/events$/,
      handler: ({ params }) => engine.listEvents(params),
    },
    {
      method: "GET",
      pattern: /^\/v1\/events\/([^/]+)$/,
      handler: ({ match, params }) => engine.retrieveEvent(id(match), params),
    },
  ];
}

function errorJson(body: StripeErrorBody): string {
  return json({ error: body });
}

/** An API key as Stripe shows it in errors: its start and end, the rest starred. */
function masked(key: string): string {
  return `${key.slice(0, 8)}${"*".repeat(Math.max(0, Math.min(key.length - 12, 20)))}${key.slice(-4)}`;
}

function authenticate(
  req: IncomingMessage,
  restrictedKeys: ReadonlyMap<string, RestrictedKeyPermissions>,
): Caller | StripeErrorBody {
  const authorization = header(req, "authorization");
  if (authorization === undefined || authorization.trim() === "") {
    return {
      type: "invalid_request_error",
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    };
  }
  let key: string | undefined;
  const [scheme, credentials] = authorization.trim().split(/\s+/, 2);
  if (scheme?.toLowerCase() === "bearer") {
    key = credentials;
  } else if (scheme?.toLowerCase() === "basic" && credentials !== undefined) {
    key = Buffer.from(credentials, "base64").toString("utf8").split(":")[0];
  }
  if (key !== undefined && /^sk_test_\S+$/.test(key)) {
    return { apiKey: key, publishable: false };
  }
  const permissions = key === undefined ? undefined : restrictedKeys.get(key);
  if (key !== undefined && permissions !== undefined) {
    return { apiKey: key, publishable: false, permissions };
  }
  if (key !== undefined && /^pk_test_\S+$/.test(key)) {
    return { apiKey: key, publishable: true };
  }
  const shown = key === undefined ? "" : masked(key);
  return {
    type: "invalid_request_error",
    message: `Invalid API Key provided: ${shown}. The Stripe simulator accepts any test-mode secret key (sk_test_...) and the restricted keys (rk_test_...) made with setRestrictedKey.`,
  };
}

/**
 * A restricted key may call a resource (the path's first segment after /v1) it has read access
 * to with GET, and write access to with anything else; Stripe answers 403 otherwise.
 */
function permissionError(
  caller: Caller,
  method: string,
  path: string,
): StripeErrorBody | undefined {
  if (caller.permissions === undefined) return undefined;
  const resource = path.split("/")[2] ?? "";
  const needed = method === "GET" ? "read" : "write";
  const held = caller.permissions[resource];
  if (held === "write" || held === needed) return undefined;
  return {
    type: "invalid_request_error",
    message: `The provided key '${masked(caller.apiKey)}' does not have the required permissions for this endpoint. Having the 'rak_${resource}_${needed}' permission would allow this request to continue.`,
  };
}

export function createApiHandler(
  deps: ApiDeps,
): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const table = routes(deps.engine, deps.endpoints);

  return async (req, res, url) => {
    const started = Date.now();
    const method = (req.method ?? "GET").toUpperCase();
    const path = url.pathname;
    const requestId = `req_${randomToken(14)}`;
    const baseHeaders: Record<string, string> = {
      "Request-Id": requestId,
      "Stripe-Version": API_VERSION,
    };
    let logNote = "";
    const finish = (status: number, body: string, headers: Record<string, string> = {}) => {
      sendJson(res, status, body, { ...baseHeaders, ...headers });
      deps.log(`${method} ${path} -> ${status} ${requestId}${logNote} (${Date.now() - started}ms)`);
    };

    const caller = authenticate(req, deps.restrictedKeys);
    if (!("apiKey" in caller)) {
      await readBody(req).catch(() => "");
      finish(401, errorJson(caller), { "WWW-Authenticate": 'Bearer realm="Stripe"' });
      return;
    }
    const rawBody = await readBody(req);
    const params = method === "POST" ? parseForm(rawBody) : parseForm(url.searchParams);

    let route: Route | undefined;
    let match: RegExpExecArray | null = null;
    for (const candidate of table) {
      if (candidate.method !== method) continue;
      match = candidate.pattern.exec(path);
      if (match) {
        route = candidate;
        break;
      }
    }

    const refused = route === undefined ? undefined : permissionError(caller, method, path);
    if (refused !== undefined) {
      finish(403, errorJson(refused));
      return;
    }

    const idempotencyKey = method === "POST" ? header(req, "idempotency-key") : undefined;
    if (idempotencyKey !== undefined) baseHeaders["Idempotency-Key"] = idempotencyKey;
    if (
      idempotencyKey !== undefined &&
      (idempotencyKey.length === 0 || idempotencyKey.length > 255)
    ) {
      finish(
        400,
        errorJson({
          type: "invalid_request_error",
          message: "Idempotency keys must be between 1 and 255 characters long.",
          param: "Idempotency-Key",
        }),
      );
      return;
    }

    // Take the idempotency slot first, so a delayed request holds it (and a concurrent
    // request with the same key sees it in flight).
    const fingerprint = `${method} ${path} ${canonicalJson(params)}`;
    const idem =
      idempotencyKey === undefined || route === undefined
        ? ({ kind: "none" } as const)
        : deps.idempotency.begin(caller.apiKey, idempotencyKey, fingerprint);

    const decision: FaultDecision = deps.faults.decide(method, path);
    await delay(decision.delayMs);

    const fail = (failure: NonNullable<FaultDecision["failure"]>) => {
      logNote = ` [injected ${failure.reset ? "reset" : failure.status}]`;
      if (failure.reset) {
        deps.log(`${method} ${path} -> connection reset ${requestId}${logNote}`);
        res.socket?.destroy();
        return;
      }
      finish(
        failure.status,
        errorJson(faultBody(failure.status)),
        failure.shouldRetry === undefined
          ? {}
          : { "Stripe-Should-Retry": String(failure.shouldRetry) },
      );
    };

    if (idem.kind === "replay") {
      // A fault hits a replayed answer too: a lost answer can be lost again.
      if (decision.failure !== undefined) {
        fail(decision.failure);
        return;
      }
      logNote = " [idempotent replay]";
      finish(idem.response.status, idem.response.body, {
        "Idempotent-Replayed": "true",
        "Original-Request": idem.response.requestId,
      });
      return;
    }
    if (idem.kind === "mismatch") {
      finish(
        400,
        errorJson({
          type: "idempotency_error",
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
        }),
      );
      return;
    }
    if (idem.kind === "in_flight") {
      finish(
        409,
        errorJson({
          type: "idempotency_error",
          code: "idempotency_key_in_use",
          message:
            "There is currently another in-progress request using this Stripe idempotency key (that probably means you submitted twice, and that's fine). Please try again later.",
        }),
        { "Stripe-Should-Retry": "true" },
      );
      return;
    }
    const release = () => {
      if (idem.kind === "new" && idempotencyKey !== undefined)
        deps.idempotency.abandon(caller.apiKey, idempotencyKey);
    };

    if (decision.failure?.when === "before") {
      release();
      fail(decision.failure);
      return;
    }

    let outcome: Outcome;
    let store: boolean;
    if (route === undefined || match === null) {
      outcome = {
        status: 404,
        body: errorJson({
          type: "invalid_request_error",
          message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
        }),
      };
      store = false;
    } else if (caller.publishable && route.publishable !== true) {
      outcome = {
        status: 401,
        body: errorJson({
          type: "invalid_request_error",
          message:
            "This API call cannot be made with a publishable API key. Please use a secret API key.",
        }),
      };
      store = false;
    } else {
      try {
        const result = route.handler({
          match,
          params,
          context: { requestId, idempotencyKey: idempotencyKey ?? null },
          caller,
        });
        outcome = { status: 200, body: json(result) };
        store = true;
      } catch (error) {
        if (error instanceof SimulatorError) {
          outcome = { status: error.status, body: errorJson(error.body) };
          store = error.stored;
          if (error.status === 402) baseHeaders["Stripe-Should-Retry"] = "false";
        } else {
          deps.log(
            `internal error on ${method} ${path}: ${error instanceof Error ? error.message : String(error)}`,
          );
          outcome = { status: 500, body: errorJson(faultBody(500)) };
          store = false;
        }
      }
    }

    if (idem.kind === "new" && idempotencyKey !== undefined) {
      if (store) {
        deps.idempotency.complete(caller.apiKey, idempotencyKey, { ...outcome, requestId });
      } else {
        release();
      }
    }
    if (decision.failure?.when === "after") {
      fail(decision.failure);
      return;
    }
    finish(outcome.status, outcome.body);
  };
}
