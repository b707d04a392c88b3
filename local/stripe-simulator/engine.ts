/**
 * The simulator's state and business rules: PaymentIntents, Charges, Refunds and the
 * Events their state changes emit. Independent of HTTP; errors are SimulatorErrors.
 */
import type Stripe from "stripe";
import { findTestCard, type TestCard } from "./cards.js";
import { cardError, invalidParam, invalidRequest, resourceMissing } from "./errors.js";
import {
  chargeEvent,
  disputeEvent,
  eventTypeMatches,
  NO_REQUEST,
  type PaymentIntentEventType,
  paymentIntentEvent,
  type RequestContext,
  refundEvent,
} from "./events.js";
import type { FormObject } from "./form.js";
import { newId, nowSeconds } from "./ids.js";
import { PAGINATION_PARAMS, paginate } from "./list.js";
import { buildCharge, buildDispute, buildPaymentIntent, buildRefund } from "./objects.js";
import { mergeMetadata, Params } from "./params.js";

export interface EngineOptions {
  /** Called for every event, in order, right after it is recorded. */
  onEvent: (event: Stripe.Event) => void;
  /** How many webhook endpoints an event is pending for (0 or 1). */
  pendingWebhooks: () => number;
  /** Delay before asynchronous transitions (a `pm_card_refundFail` refund failing). */
  asyncDelayMs: number;
}

const SUPPORTED_CURRENCIES = new Set(
  (
    "usd aed aud bgn brl cad chf clp cny czk dkk eur gbp hkd huf idr ils inr isk jpy krw mxn " +
    "myr nok nzd php pln ron rub sek sgd thb try twd uah vnd zar ars cop egp kes mad ngn pen " +
    "pkr qar sar kwd bhd omr jod tnd xof xaf"
  ).split(" "),
);
const ZERO_DECIMAL = new Set([
  "bif",
  "clp",
  "djf",
  "gnf",
  "jpy",
  "kmf",
  "krw",
  "mga",
  "pyg",
  "rwf",
  "ugx",
  "vnd",
  "vuv",
  "xaf",
  "xof",
  "xpf",
]);
const THREE_DECIMAL = new Set(["bhd", "jod", "kwd", "omr", "tnd"]);

const CONFIRMABLE: readonly string[] = [
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
];
const CANCELABLE: readonly string[] = [
  "requires_payment_method",
  "requires_capture",
  "requires_confirmation",
  "requires_action",
];
const UPDATABLE: readonly string[] = [
  "requires_payment_method",
  "requires_confirmation",
  "requires_action",
];

const PI_CREATE_PARAMS = [
  "amount",
  "currency",
  "capture_method",
  "confirm",
  "description",
  "metadata",
  "payment_method",
  "payment_method_types",
  "automatic_payment_methods",
  "receipt_email",
  "statement_descriptor",
  "statement_descriptor_suffix",
  "customer",
  "transfer_group",
  "confirmation_method",
  "setup_future_usage",
  "off_session",
  "return_url",
  "error_on_requires_action",
  "use_stripe_sdk",
  "payment_method_options",
  "shipping",
  "mandate_data",
  "on_behalf_of",
  "application_fee_amount",
] as const;
const PI_UPDATE_PARAMS = [
  "amount",
  "currency",
  "description",
  "metadata",
  "payment_method",
  "receipt_email",
  "statement_descriptor",
  "statement_descriptor_suffix",
  "capture_method",
  "customer",
  "transfer_group",
  "setup_future_usage",
  "shipping",
  "payment_method_options",
] as const;
const PI_CONFIRM_PARAMS = [
  "payment_method",
  "capture_method",
  "client_secret",
  "receipt_email",
  "return_url",
  "off_session",
  "error_on_requires_action",
  "use_stripe_sdk",
  "setup_future_usage",
  "mandate_data",
  "payment_method_options",
  "shipping",
] as const;
const REFUND_REASONS = ["duplicate", "fraudulent", "requested_by_customer"] as const;

export interface EngineCounts {
  paymentIntents: number;
  charges: number;
  refunds: number;
  events: number;
}

interface ResolvedPaymentMethod {
  id: string;
  card: TestCard;
}

function formatAmount(amount: number, currency: string): string {
  const digits = ZERO_DECIMAL.has(currency) ? 0 : THREE_DECIMAL.has(currency) ? 3 : 2;
  const value = (amount / 10 ** digits).toFixed(digits);
  return currency === "usd" ? `$${value}` : `${value} ${currency.toUpperCase()}`;
}

/** Applies Stripe's metadata update rules: "" unsets a key; an empty object keeps all. */
export class Engine {
  private readonly paymentIntentsById = new Map<string, Stripe.PaymentIntent>();
  private readonly chargesById = new Map<string, Stripe.Charge>();
  private readonly refundsById = new Map<string, Stripe.Refund>();
  private readonly disputesById = new Map<string, Stripe.Dispute>();
  private readonly eventList: Stripe.Event[] = [];
  /** PaymentMethods created from test tokens (`pm_card_visa` → `pm_…`). */
  private readonly paymentMethods = new Map<string, TestCard>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private idleWaiters: Array<() => void> = [];
  private readonly options: EngineOptions;

  constructor(options: EngineOptions) {
    this.options = options;
  }

  // ---------------------------------------------------------------- in-process views

  allPaymentIntents(): Stripe.PaymentIntent[] {
    return [...this.paymentIntentsById.values()].map((pi) => structuredClone(pi));
  }

  allRefunds(): Stripe.Refund[] {
    return [...this.refundsById.values()].map((refund) => structuredClone(refund));
  }

  allEvents(): Stripe.Event[] {
    return this.eventList.map((event) => structuredClone(event));
  }

  findEvent(id: string): Stripe.Event | undefined {
    return this.eventList.find((event) => event.id === id);
  }

  markEventDelivered(id: string): void {
    const event = this.findEvent(id);
    if (event && event.pending_webhooks > 0) {
      event.pending_webhooks -= 1;
    }
  }

  counts(): EngineCounts {
    return {
      paymentIntents: this.paymentIntentsById.size,
      charges: this.chargesById.size,
      refunds: this.refundsById.size,
      events: this.eventList.length,
    };
  }

  /** Resolves once no asynchronous transition is scheduled. */
  idle(): Promise<void> {
    if (this.timers.size === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
    });
  }

  /** Cancels scheduled transitions (on close). */
  stop(): void {
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.timers.clear();
    this.notifyIdle();
  }

  reset(): void {
    for (const timer of this.timers) {
      clearTimeout(timer);
    }
    this.timers.clear();
    this.notifyIdle();
    this.paymentIntentsById.clear();
    this.chargesById.clear();
    this.refundsById.clear();
    this.disputesById.clear();
    this.eventList.length = 0;
    this.paymentMethods.clear();
  }

  // ---------------------------------------------------------------- payment intents

  createPaymentIntent(raw: FormObject, context: RequestContext): Stripe.PaymentIntent {
    const params = new Params(raw, PI_CREATE_PARAMS);
    const amount = params.requiredInteger("amount", { min: 1, max: 99_999_999 });
    const currency = this.currency(params, true);
    const captureMethod =
      params.oneOf("capture_method", ["automatic", "automatic_async", "manual"]) ??
      "automatic_async";
    const confirm = params.boolean("confirm") ?? false;
    const metadata = params.metadata() ?? {};
    const apm = params.object("automatic_payment_methods");
    const types = params.raw.payment_method_types;
    if (apm !== undefined && types !== undefined) {
      throw invalidParam(
        "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
        "automatic_payment_methods",
        "parameters_exclusive",
      );
    }
    let automatic = true;
    if (apm !== undefined) {
      const enabled = apm.enabled;
      if (enabled !== "true" && enabled !== "false") {
        throw invalidParam(
          "Missing required param: automatic_payment_methods[enabled].",
          "automatic_payment_methods[enabled]",
          "parameter_missing",
        );
      }
      automatic = enabled === "true";
    }
    let paymentMethodTypes = ["card"];
    if (types !== undefined) {
      if (!Array.isArray(types) || !types.every((type) => typeof type === "string")) {
        throw invalidParam("Invalid array", "payment_method_types");
      }
      const unsupported = types.find((type) => type !== "card");
      if (unsupported !== undefined) {
        throw invalidParam(
          `The payment method type "${unsupported}" is invalid or not supported by the simulator.`,
          "payment_method_types",
          "payment_intent_invalid_parameter",
        );
      }
      paymentMethodTypes = types.filter((type): type is string => typeof type === "string");
      automatic = false;
    }
    const statementDescriptor = params.string("statement_descriptor") ?? null;
    if (statementDescriptor !== null && statementDescriptor.length > 22) {
      throw invalidParam(
        "The statement descriptor must be at most 22 characters.",
        "statement_descriptor",
        "statement_descriptor_too_long",
      );
    }
    const paymentMethodToken = params.string("payment_method");
    const resolved =
      paymentMethodToken === undefined || paymentMethodToken === ""
        ? undefined
        : this.resolvePaymentMethod(paymentMethodToken);
    if (confirm && resolved === undefined) {
      throw invalidParam(
        "You cannot confirm this PaymentIntent because it's missing a payment method. Specify a payment_method when confirming.",
        "payment_method",
        "parameter_missing",
      );
    }
    const pi = buildPaymentIntent({
      amount,
      currency,
      captureMethod,
      description: params.string("description") ?? null,
      metadata: mergeMetadata({}, metadata),
      automaticPaymentMethods: automatic,
      paymentMethodTypes,
      receiptEmail: params.string("receipt_email") ?? null,
      statementDescriptor,
      statementDescriptorSuffix: params.string("statement_descriptor_suffix") ?? null,
      customer: params.string("customer") ?? null,
      transferGroup: params.string("transfer_group") ?? null,
    });
    if (resolved !== undefined) {
      pi.payment_method = resolved.id;
      pi.status = "requires_confirmation";
    }
    this.paymentIntentsById.set(pi.id, pi);
    this.emitPaymentIntent("payment_intent.created", pi, context);
    if (confirm && resolved !== undefined) {
      this.confirmWith(pi, resolved, context);
    }
    return this.present(pi, params.expand());
  }

  retrievePaymentIntent(id: string, raw: FormObject, publishableKey = false): Stripe.PaymentIntent {
    const params = new Params(raw, ["client_secret"]);
    const pi = this.paymentIntent(id);
    if (publishableKey && params.string("client_secret") !== pi.client_secret) {
      throw resourceMissing("payment_intent", id);
    }
    return this.present(pi, params.expand());
  }

  listPaymentIntents(raw: FormObject): Stripe.ApiList<Stripe.PaymentIntent> {
    const params = new Params(raw, [...PAGINATION_PARAMS, "customer"]);
    const customer = params.string("customer");
    const all = [...this.paymentIntentsById.values()]
      .reverse()
      .filter((pi) => customer === undefined || pi.customer === customer);
    const page = paginate(all, params, "/v1/payment_intents", "payment_intent");
    const expand = params
      .expand()
      .filter((path) => path.startsWith("data."))
      .map((path) => path.slice(5));
    return { ...page, data: page.data.map((pi) => this.present(pi, expand)) };
  }

  updatePaymentIntent(id: string, raw: FormObject): Stripe.PaymentIntent {
    const params = new Params(raw, PI_UPDATE_PARAMS);
    const pi = this.paymentIntent(id);
    const restricted = ["amount", "currency", "payment_method", "capture_method"].filter((key) =>
      params.has(key),
    );
    if (restricted.length > 0 && !UPDATABLE.includes(pi.status)) {
      throw invalidRequest(
        `This PaymentIntent's ${restricted[0]} could not be updated because it has a status of ${pi.status}. You may only update the ${restricted[0]} of a PaymentIntent with one of the following statuses: ${UPDATABLE.join(", ")}.`,
        "payment_intent_unexpected_state",
        { payment_intent: structuredClone(pi) },
      );
    }
    const amount = params.integer("amount", { min: 1, max: 99_999_999 });
    const currency = params.has("currency") ? this.currency(params, true) : undefined;
    const captureMethod = params.oneOf("capture_method", [
      "automatic",
      "automatic_async",
      "manual",
    ]);
    const metadata = params.metadata();
    const token = params.string("payment_method");
    const resolved =
      token === undefined || token === "" ? undefined : this.resolvePaymentMethod(token);
    if (amount !== undefined) pi.amount = amount;
    if (currency !== undefined) pi.currency = currency;
    if (captureMethod !== undefined) pi.capture_method = captureMethod;
    if (metadata !== undefined) {
      pi.metadata = params.raw.metadata === "" ? {} : mergeMetadata(pi.metadata, metadata);
    }
    const description = params.string("description");
    if (description !== undefined) pi.description = description === "" ? null : description;
    const receiptEmail = params.string("receipt_email");
    if (receiptEmail !== undefined) pi.receipt_email = receiptEmail === "" ? null : receiptEmail;
    const customer = params.string("customer");
    if (customer !== undefined) pi.customer = customer === "" ? null : customer;
    const transferGroup = params.string("transfer_group");
    if (transferGroup !== undefined)
      pi.transfer_group = transferGroup === "" ? null : transferGroup;
    if (resolved !== undefined) {
      pi.payment_method = resolved.id;
      pi.status = "requires_confirmation";
    }
    return this.present(pi, params.expand());
  }

  confirmPaymentIntent(
    id: string,
    raw: FormObject,
    context: RequestContext,
    publishableKey: boolean,
  ): Stripe.PaymentIntent {
    const params = new Params(raw, PI_CONFIRM_PARAMS);
    const pi = this.paymentIntent(id);
    if (publishableKey && params.string("client_secret") !== pi.client_secret) {
      throw invalidParam(
        "The client_secret provided does not match the client_secret associated with the PaymentIntent.",
        "client_secret",
        "payment_intent_invalid_parameter",
      );
    }
    if (!CONFIRMABLE.includes(pi.status)) {
      throw invalidRequest(
        `You cannot confirm this PaymentIntent because it has a status of ${pi.status}.`,
        "payment_intent_unexpected_state",
        { payment_intent: structuredClone(pi) },
      );
    }
    const token = params.string("payment_method");
    const existing = typeof pi.payment_method === "string" ? pi.payment_method : undefined;
    const chosen = token === undefined || token === "" ? existing : token;
    if (chosen === undefined) {
      throw invalidRequest(
        "You cannot confirm this PaymentIntent because it's missing a payment method. Update the PaymentIntent with a payment method and then confirm it again.",
        "payment_intent_unexpected_state",
        { payment_intent: structuredClone(pi) },
      );
    }
    const resolved = this.resolvePaymentMethod(chosen);
    const captureMethod = params.oneOf("capture_method", [
      "automatic",
      "automatic_async",
      "manual",
    ]);
    if (captureMethod !== undefined) pi.capture_method = captureMethod;
    const receiptEmail = params.string("receipt_email");
    if (receiptEmail !== undefined) pi.receipt_email = receiptEmail;
    this.confirmWith(pi, resolved, context);
    return this.present(pi, params.expand());
  }

  capturePaymentIntent(id: string, raw: FormObject, context: RequestContext): Stripe.PaymentIntent {
    const params = new Params(raw, [
      "amount_to_capture",
      "metadata",
      "statement_descriptor",
      "statement_descriptor_suffix",
      "final_capture",
      "application_fee_amount",
    ]);
    const pi = this.paymentIntent(id);
    if (pi.status !== "requires_capture") {
      throw invalidRequest(
        `This PaymentIntent could not be captured because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.`,
        "payment_intent_unexpected_state",
        { payment_intent: structuredClone(pi) },
      );
    }
    const amount = params.integer("amount_to_capture", { min: 1 }) ?? pi.amount_capturable;
    if (amount > pi.amount_capturable) {
      throw invalidParam(
        `The amount_to_capture must be less than or equal to the PaymentIntent's amount_capturable (${pi.amount_capturable}).`,
        "amount_to_capture",
        "amount_too_large",
      );
    }
    const metadata = params.metadata();
    const charge = this.latestCharge(pi);
    const previousCharge: Partial<Stripe.Charge> = {
      amount_captured: charge.amount_captured,
      captured: charge.captured,
      balance_transaction: charge.balance_transaction,
    };
    charge.captured = true;
    charge.amount_captured = amount;
    charge.balance_transaction = newId("txn");
    // As at Stripe, the uncaptured remainder of a partial capture shows as refunded.
    this.recomputeRefunded(charge);
    if (metadata !== undefined) pi.metadata = mergeMetadata(pi.metadata, metadata);
    pi.status = "succeeded";
    pi.amount_received = amount;
    pi.amount_capturable = 0;
    this.emit(
      chargeEvent(
        "charge.captured",
        charge,
        context,
        this.options.pendingWebhooks(),
        previousCharge,
      ),
    );
    this.emitPaymentIntent("payment_intent.succeeded", pi, context, {
      status: "requires_capture",
      amount_received: 0,
    });
    const card = this.paymentMethods.get(String(charge.payment_method));
    if (card?.disputes === true) this.schedule(() => this.openDispute(charge, pi.id));
    return this.present(pi, params.expand());
  }

  cancelPaymentIntent(id: string, raw: FormObject, context: RequestContext): Stripe.PaymentIntent {
    const params = new Params(raw, ["cancellation_reason"]);
    const reason = params.oneOf("cancellation_reason", [
      "duplicate",
      "fraudulent",
      "requested_by_customer",
      "abandoned",
    ]);
    const pi = this.paymentIntent(id);
    if (!CANCELABLE.includes(pi.status)) {
      throw invalidRequest(
        `You cannot cancel this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be canceled: ${CANCELABLE.join(", ")}.`,
        "payment_intent_unexpected_state",
        { payment_intent: structuredClone(pi) },
      );
    }
    if (pi.status === "requires_capture") {
      // Releasing the authorization: the uncaptured charge is fully "refunded".
      const charge = this.latestCharge(pi);
      charge.amount_refunded = charge.amount;
      charge.refunded = true;
    }
    const previousStatus = pi.status;
    pi.status = "canceled";
    pi.canceled_at = nowSeconds();
    pi.cancellation_reason = reason ?? null;
    pi.amount_capturable = 0;
    this.emitPaymentIntent("payment_intent.canceled", pi, context, { status: previousStatus });
    return this.present(pi, params.expand());
  }

  /**
   * The customer's 3-D Secure answer for a PaymentIntent in `requires_action`: `succeed` charges
   * the card as a confirm would have; `fail` leaves it in `requires_payment_method` with
   * Stripe's `payment_intent_authentication_failure` (the customer may try again).
   */
  authenticatePaymentIntent(id: string, outcome: "succeed" | "fail"): Stripe.PaymentIntent {
    const pi = this.paymentIntent(id);
    if (pi.status !== "requires_action" || typeof pi.payment_method !== "string") {
      throw invalidRequest(
        `This PaymentIntent cannot be authenticated because it has a status of ${pi.status}; only requires_action PaymentIntents can.`,
        "payment_intent_unexpected_state",
        { payment_intent: structuredClone(pi) },
      );
    }
    const previousStatus = pi.status;
    if (outcome === "fail") {
      pi.status = "requires_payment_method";
      pi.next_action = null;
      pi.last_payment_error = {
        type: "invalid_request_error",
        code: "payment_intent_authentication_failure",
        message:
          "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
        doc_url: "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
        payment_method_type: "card",
      };
      pi.payment_method = null;
      this.emitPaymentIntent("payment_intent.payment_failed", pi, NO_REQUEST, {
        status: previousStatus,
      });
    } else {
      this.succeedWith(
        pi,
        this.resolvePaymentMethod(pi.payment_method),
        NO_REQUEST,
        previousStatus,
      );
    }
    return structuredClone(pi);
  }

  /** Finishes a `processing` PaymentIntent (test PM `pm_card_processing`). */
  settlePaymentIntent(id: string, outcome: "succeeded" | "failed"): Stripe.PaymentIntent {
    const pi = this.paymentIntent(id);
    if (pi.status !== "processing") {
      throw invalidRequest(
        `This PaymentIntent cannot be settled because it has a status of ${pi.status}; only processing PaymentIntents can.`,
        "payment_intent_unexpected_state",
        { payment_intent: structuredClone(pi) },
      );
    }
    const charge = this.latestCharge(pi);
    const pending = this.options.pendingWebhooks();
    if (outcome === "failed") {
      const message = "Your card was declined.";
      charge.status = "failed";
      charge.paid = false;
      charge.failure_code = "card_declined";
      charge.failure_message = message;
      charge.outcome = {
        advice_code: null,
        network_advice_code: null,
        network_decline_code: null,
        network_status: "declined_by_network",
        reason: "generic_decline",
        risk_level: "normal",
        seller_message: "The bank did not return any further details with this decline.",
        type: "issuer_declined",
      };
      pi.status = "requires_payment_method";
      pi.last_payment_error = {
        type: "card_error",
        code: "card_declined",
        decline_code: "generic_decline",
        message,
        charge: charge.id,
        doc_url: "https://stripe.com/docs/error-codes/card-declined",
        payment_method_type: "card",
      };
      pi.payment_method = null;
      this.emit(chargeEvent("charge.failed", charge, NO_REQUEST, pending, { status: "pending" }));
      this.emitPaymentIntent("payment_intent.payment_failed", pi, NO_REQUEST, {
        status: "processing",
      });
    } else {
      charge.status = "succeeded";
      charge.paid = true;
      if (pi.capture_method === "manual") {
        pi.status = "requires_capture";
        pi.amount_capturable = pi.amount;
        this.emit(
          chargeEvent("charge.succeeded", charge, NO_REQUEST, pending, { status: "pending" }),
        );
        this.emitPaymentIntent("payment_intent.amount_capturable_updated", pi, NO_REQUEST, {
          status: "processing",
          amount_capturable: 0,
        });
      } else {
        charge.captured = true;
        charge.amount_captured = charge.amount;
        charge.balance_transaction = newId("txn");
        pi.status = "succeeded";
        pi.amount_received = pi.amount;
        this.emit(
          chargeEvent("charge.succeeded", charge, NO_REQUEST, pending, { status: "pending" }),
        );
        this.emitPaymentIntent("payment_intent.succeeded", pi, NO_REQUEST, {
          status: "processing",
          amount_received: 0,
        });
      }
    }
    pi.processing = null;
    return structuredClone(pi);
  }

  // ---------------------------------------------------------------- charges

  retrieveCharge(id: string, raw: FormObject): Stripe.Charge {
    const params = new Params(raw, []);
    return this.presentCharge(this.charge(id), params.expand());
  }

  listCharges(raw: FormObject): Stripe.ApiList<Stripe.Charge> {
    const params = new Params(raw, [...PAGINATION_PARAMS, "payment_intent", "customer"]);
    const paymentIntent = params.string("payment_intent");
    const customer = params.string("customer");
    const all = [...this.chargesById.values()]
      .reverse()
      .filter(
        (charge) =>
          (paymentIntent === undefined || charge.payment_intent === paymentIntent) &&
          (customer === undefined || charge.customer === customer),
      );
    return this.cloneList(paginate(all, params, "/v1/charges", "charge"));
  }

  // ---------------------------------------------------------------- refunds

  createRefund(raw: FormObject, context: RequestContext): Stripe.Refund {
    const params = new Params(raw, [
      "payment_intent",
      "charge",
      "amount",
      "reason",
      "metadata",
      "instructions_email",
      "refund_application_fee",
      "reverse_transfer",
      "origin",
    ]);
    const piId = params.string("payment_intent");
    const chargeId = params.string("charge");
    if (piId === undefined && chargeId === undefined) {
      throw invalidParam(
        "One of the following params should be provided for this request: payment_intent or charge.",
        "payment_intent",
        "parameter_missing",
      );
    }
    const amountParam = params.integer("amount", { min: 1 });
    const reason = params.oneOf("reason", REFUND_REASONS) ?? null;
    const metadata = mergeMetadata({}, params.metadata() ?? {});
    let pi: Stripe.PaymentIntent | undefined;
    let charge: Stripe.Charge | undefined;
    if (piId !== undefined) {
      pi = this.paymentIntentsById.get(piId);
      if (!pi)
        throw resourceMissing("payment_intent", piId, { param: "payment_intent", status: 400 });
    }
    if (chargeId !== undefined) {
      charge = this.chargesById.get(chargeId);
      if (!charge) throw resourceMissing("charge", chargeId, { param: "charge", status: 400 });
      if (pi !== undefined && charge.payment_intent !== pi.id) {
        throw invalidParam(
          `The charge ${chargeId} does not belong to PaymentIntent ${pi.id}.`,
          "charge",
        );
      }
      if (pi === undefined && typeof charge.payment_intent === "string") {
        pi = this.paymentIntentsById.get(charge.payment_intent);
      }
    }
    if (pi !== undefined && charge === undefined) {
      if (pi.status === "requires_capture") {
        const latest = this.latestCharge(pi);
        throw invalidRequest(
          `Charge ${latest.id} has not been captured. Cancel the PaymentIntent to release the authorization instead.`,
          "charge_not_captured",
          { param: "payment_intent" },
        );
      }
      if (pi.status !== "succeeded" || typeof pi.latest_charge !== "string") {
        throw invalidRequest(
          `This PaymentIntent (${pi.id}) does not have a successful charge to refund.`,
          "payment_intent_unexpected_state",
          { param: "payment_intent", payment_intent: structuredClone(pi) },
        );
      }
      charge = this.latestCharge(pi);
    }
    if (charge === undefined) {
      throw invalidParam("No charge to refund.", "charge");
    }
    if (charge.status !== "succeeded") {
      throw invalidRequest(
        `Charge ${charge.id} did not succeed and cannot be refunded.`,
        "charge_not_refundable",
        {
          param: "charge",
        },
      );
    }
    const disputed = this.disputeBlockingRefunds(charge.id);
    if (disputed !== undefined) {
      throw invalidRequest(
        `Charge ${charge.id} has been charged back (dispute ${disputed.id}, ${disputed.status}); it cannot be refunded.`,
        "charge_disputed",
        { param: "charge" },
      );
    }
    if (!charge.captured) {
      throw invalidRequest(
        `Charge ${charge.id} has not been captured. Cancel the PaymentIntent to release the authorization instead.`,
        "charge_not_captured",
        { param: "charge" },
      );
    }
    const remaining = charge.amount_captured - this.refundedTotal(charge);
    if (remaining <= 0) {
      throw invalidRequest(
        `Charge ${charge.id} has already been refunded.`,
        "charge_already_refunded",
        {
          charge: charge.id,
        },
      );
    }
    const amount = amountParam ?? remaining;
    if (amount > remaining) {
      throw invalidRequest(
        `Refund amount (${formatAmount(amount, charge.currency)}) is greater than unrefunded amount on charge (${formatAmount(remaining, charge.currency)})`,
        "amount_too_large",
        { param: "amount", charge: charge.id },
      );
    }
    const card =
      typeof charge.payment_method === "string"
        ? this.paymentMethods.get(charge.payment_method)
        : undefined;
    const fails = card?.refundFails === true;
    const refund = buildRefund({
      amount,
      charge,
      paymentIntentId: typeof charge.payment_intent === "string" ? charge.payment_intent : "",
      reason,
      metadata,
      pending: fails,
    });
    this.refundsById.set(refund.id, refund);
    const previousCharge: Partial<Stripe.Charge> = {
      amount_refunded: charge.amount_refunded,
      refunded: charge.refunded,
    };
    this.recomputeRefunded(charge);
    const pending = this.options.pendingWebhooks();
    this.emit(refundEvent("refund.created", refund, context, pending));
    this.emit(chargeEvent("charge.refunded", charge, context, pending, previousCharge));
    if (fails) {
      const refundId = refund.id;
      const chargeRef = charge;
      this.schedule(() => this.failRefund(refundId, chargeRef));
    }
    return this.presentRefund(refund, params.expand());
  }

  retrieveRefund(id: string, raw: FormObject): Stripe.Refund {
    const params = new Params(raw, []);
    const refund = this.refundsById.get(id);
    if (!refund) throw resourceMissing("refund", id);
    return this.presentRefund(refund, params.expand());
  }

  listRefunds(raw: FormObject): Stripe.ApiList<Stripe.Refund> {
    const params = new Params(raw, [...PAGINATION_PARAMS, "payment_intent", "charge"]);
    const paymentIntent = params.string("payment_intent");
    const charge = params.string("charge");
    const all = [...this.refundsById.values()]
      .reverse()
      .filter(
        (refund) =>
          (paymentIntent === undefined || refund.payment_intent === paymentIntent) &&
          (charge === undefined || refund.charge === charge),
      );
    return this.cloneList(paginate(all, params, "/v1/refunds", "refund"));
  }

  // ---------------------------------------------------------------- events

  retrieveEvent(id: string, raw: FormObject): Stripe.Event {
    const params = new Params(raw, []);
    params.expand();
    const event = this.findEvent(id);
    if (!event) throw resourceMissing("event", id);
    return structuredClone(event);
  }

  listEvents(raw: FormObject): Stripe.ApiList<Stripe.Event> {
    const params = new Params(raw, [...PAGINATION_PARAMS, "type", "types", "delivery_success"]);
    const type = params.string("type");
    const typesRaw = params.raw.types;
    let types: string[] | undefined;
    if (typesRaw !== undefined) {
      if (type !== undefined) {
        throw invalidParam(
          "You may only specify one of these parameters: type, types.",
          "types",
          "parameters_exclusive",
        );
      }
      const list = Array.isArray(typesRaw) ? typesRaw : [typesRaw];
      types = list.filter((item): item is string => typeof item === "string");
    }
    const all = [...this.eventList]
      .reverse()
      .filter(
        (event) =>
          (type === undefined || eventTypeMatches(type, event.type)) &&
          (types === undefined || types.some((pattern) => eventTypeMatches(pattern, event.type))),
      );
    return this.cloneList(paginate(all, params, "/v1/events", "event"));
  }

  // ---------------------------------------------------------------- internals

  private confirmWith(
    pi: Stripe.PaymentIntent,
    pm: ResolvedPaymentMethod,
    context: RequestContext,
  ): void {
    const pending = this.options.pendingWebhooks();
    const previousStatus = pi.status;
    pi.payment_method = pm.id;
    pi.last_payment_error = null;
    const outcome = pm.card.outcome;
    if (outcome.kind === "decline") {
      const charge = buildCharge(pi, pm.id, pm.card, "failed");
      this.chargesById.set(charge.id, charge);
      pi.latest_charge = charge.id;
      pi.status = "requires_payment_method";
      pi.payment_method = null;
      pi.last_payment_error = {
        type: "card_error",
        code: outcome.code,
        decline_code: outcome.declineCode,
        message: outcome.message,
        charge: charge.id,
        doc_url: `https://stripe.com/docs/error-codes/${outcome.code.replaceAll("_", "-")}`,
        payment_method_type: "card",
        ...(outcome.param === undefined ? {} : { param: outcome.param }),
      };
      this.emit(chargeEvent("charge.failed", charge, context, pending));
      this.emitPaymentIntent("payment_intent.payment_failed", pi, context, {
        status: previousStatus,
      });
      throw cardError({
        code: outcome.code,
        decline_code: outcome.declineCode,
        message: outcome.message,
        charge: charge.id,
        payment_intent: structuredClone(pi),
        ...(outcome.param === undefined ? {} : { param: outcome.param }),
      });
    }
    if (outcome.kind === "authenticate") {
      // No charge yet: the card network asks the customer first (3-D Secure).
      pi.status = "requires_action";
      pi.next_action = {
        type: "use_stripe_sdk",
        use_stripe_sdk: { type: "three_d_secure_redirect", source: newId("src") },
      };
      this.emitPaymentIntent("payment_intent.requires_action", pi, context, {
        status: previousStatus,
      });
      return;
    }
    this.succeedWith(pi, pm, context, previousStatus);
  }

  /** The card is charged (after authentication, if it needed one). */
  private succeedWith(
    pi: Stripe.PaymentIntent,
    pm: ResolvedPaymentMethod,
    context: RequestContext,
    previousStatus: Stripe.PaymentIntent.Status,
  ): void {
    const pending = this.options.pendingWebhooks();
    const outcome = pm.card.outcome;
    pi.next_action = null;
    if (outcome.kind === "processing") {
      const charge = buildCharge(pi, pm.id, pm.card, "pending");
      this.chargesById.set(charge.id, charge);
      pi.latest_charge = charge.id;
      pi.status = "processing";
      pi.processing = { type: "card", card: {} };
      this.emit(chargeEvent("charge.pending", charge, context, pending));
      this.emitPaymentIntent("payment_intent.processing", pi, context, { status: previousStatus });
      return;
    }
    const charge = buildCharge(pi, pm.id, pm.card, "succeeded");
    this.chargesById.set(charge.id, charge);
    pi.latest_charge = charge.id;
    this.emit(chargeEvent("charge.succeeded", charge, context, pending));
    if (pi.capture_method === "manual") {
      pi.status = "requires_capture";
      pi.amount_capturable = pi.amount;
      this.emitPaymentIntent("payment_intent.amount_capturable_updated", pi, context, {
        status: previousStatus,
        amount_capturable: 0,
      });
    } else {
      pi.status = "succeeded";
      pi.amount_received = pi.amount;
      this.emitPaymentIntent("payment_intent.succeeded", pi, context, {
        status: previousStatus,
        amount_received: 0,
      });
      if (pm.card.disputes === true) this.schedule(() => this.openDispute(charge, pi.id));
    }
  }

  /** The cardholder disputes the charge (a moment after it was captured, as in test mode). */
  private openDispute(charge: Stripe.Charge, paymentIntentId: string): void {
    const dispute = buildDispute(charge, paymentIntentId);
    this.disputesById.set(dispute.id, dispute);
    charge.disputed = true;
    const pending = this.options.pendingWebhooks();
    this.emit(disputeEvent("charge.dispute.created", dispute, NO_REQUEST, pending));
    this.emit(disputeEvent("charge.dispute.funds_withdrawn", dispute, NO_REQUEST, pending));
  }

  /**
   * The charge's dispute, if it stops refunds: Stripe refuses a refund while a chargeback holds
   * the money and after it is lost; an inquiry (`warning_*`), `prevented` or `won` does not.
   */
  private disputeBlockingRefunds(chargeId: string): Stripe.Dispute | undefined {
    for (const dispute of this.disputesById.values()) {
      const charge = typeof dispute.charge === "string" ? dispute.charge : dispute.charge.id;
      if (charge !== chargeId) continue;
      if (["needs_response", "under_review", "lost"].includes(dispute.status)) return dispute;
    }
    return undefined;
  }

  private dispute(id: string): Stripe.Dispute {
    const dispute = this.disputesById.get(id);
    if (dispute === undefined) throw resourceMissing("dispute", id, { param: "dispute" });
    return dispute;
  }

  retrieveDispute(id: string, raw: FormObject): Stripe.Dispute {
    new Params(raw, []);
    return structuredClone(this.dispute(id));
  }

  /** POST /v1/disputes/{id}: evidence and `submit=true` put it under review. */
  updateDispute(id: string, raw: FormObject, context: RequestContext): Stripe.Dispute {
    const params = new Params(raw, ["evidence", "metadata", "submit"]);
    const dispute = this.dispute(id);
    if (dispute.status !== "needs_response" && dispute.status !== "warning_needs_response") {
      throw invalidRequest(
        `This dispute is already ${dispute.status}; evidence can no longer be submitted.`,
        "dispute_already_closed",
      );
    }
    const metadata = params.metadata();
    if (metadata !== undefined) dispute.metadata = mergeMetadata(dispute.metadata, metadata);
    if (params.boolean("submit") === true) {
      const previous: Partial<Stripe.Dispute> = { status: dispute.status };
      dispute.status =
        dispute.status === "needs_response" ? "under_review" : "warning_under_review";
      dispute.evidence_details.has_evidence = true;
      dispute.evidence_details.submission_count += 1;
      dispute.evidence_details.submission_method = "manual";
      this.emit(
        disputeEvent(
          "charge.dispute.updated",
          dispute,
          context,
          this.options.pendingWebhooks(),
          previous,
        ),
      );
    }
    return structuredClone(dispute);
  }

  /** The card network's decision (simulator control): won or lost. */
  closeDispute(id: string, outcome: "won" | "lost"): Stripe.Dispute {
    const dispute = this.dispute(id);
    if (dispute.status === "won" || dispute.status === "lost") {
      throw invalidRequest(`This dispute is already ${dispute.status}.`, "dispute_already_closed");
    }
    const previous: Partial<Stripe.Dispute> = { status: dispute.status };
    dispute.status = outcome;
    const pending = this.options.pendingWebhooks();
    this.emit(disputeEvent("charge.dispute.closed", dispute, NO_REQUEST, pending, previous));
    if (outcome === "won") {
      this.emit(disputeEvent("charge.dispute.funds_reinstated", dispute, NO_REQUEST, pending));
    }
    return structuredClone(dispute);
  }

  allDisputes(): Stripe.Dispute[] {
    return [...this.disputesById.values()].map((d) => structuredClone(d));
  }

  private failRefund(refundId: string, charge: Stripe.Charge): void {
    const refund = this.refundsById.get(refundId);
    if (refund?.status !== "pending") {
      return;
    }
    refund.status = "failed";
    refund.failure_reason = "declined";
    refund.failure_balance_transaction = newId("txn");
    this.recomputeRefunded(charge);
    const pending = this.options.pendingWebhooks();
    const previous: Partial<Stripe.Refund> = { status: "pending" };
    this.emit(refundEvent("charge.refund.updated", refund, NO_REQUEST, pending, previous));
    this.emit(refundEvent("refund.updated", refund, NO_REQUEST, pending, previous));
    this.emit(refundEvent("refund.failed", refund, NO_REQUEST, pending, previous));
  }

  private refundedTotal(charge: Stripe.Charge): number {
    let total = 0;
    for (const refund of this.refundsById.values()) {
      if (
        refund.charge === charge.id &&
        (refund.status === "succeeded" || refund.status === "pending")
      ) {
        total += refund.amount;
      }
    }
    return total;
  }

  private recomputeRefunded(charge: Stripe.Charge): void {
    const released = charge.captured ? charge.amount - charge.amount_captured : 0;
    charge.amount_refunded = released + this.refundedTotal(charge);
    charge.refunded = charge.amount_refunded >= charge.amount;
  }

  private schedule(task: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      try {
        task();
      } finally {
        if (this.timers.size === 0) this.notifyIdle();
      }
    }, this.options.asyncDelayMs);
    this.timers.add(timer);
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private emit(event: Stripe.Event): void {
    this.eventList.push(event);
    this.options.onEvent(event);
  }

  private emitPaymentIntent(
    type: PaymentIntentEventType,
    pi: Stripe.PaymentIntent,
    context: RequestContext,
    previous?: Partial<Stripe.PaymentIntent>,
  ): void {
    this.emit(paymentIntentEvent(type, pi, context, this.options.pendingWebhooks(), previous));
  }

  private currency(params: Params, required: boolean): string {
    const raw = required ? params.requiredString("currency") : (params.string("currency") ?? "usd");
    const currency = raw.toLowerCase();
    if (!/^[a-z]{3}$/.test(currency) || !SUPPORTED_CURRENCIES.has(currency)) {
      throw invalidParam(
        `Invalid currency: ${raw}. Stripe currently supports these currencies: ${[...SUPPORTED_CURRENCIES].join(", ")}`,
        "currency",
      );
    }
    return currency;
  }

  private resolvePaymentMethod(token: string): ResolvedPaymentMethod {
    const known = this.paymentMethods.get(token);
    if (known) {
      return { id: token, card: known };
    }
    const card = findTestCard(token);
    if (!card) {
      throw resourceMissing("PaymentMethod", token, { param: "payment_method", status: 400 });
    }
    const id = newId("pm");
    this.paymentMethods.set(id, card);
    return { id, card };
  }

  private paymentIntent(id: string): Stripe.PaymentIntent {
    const pi = this.paymentIntentsById.get(id);
    if (!pi) throw resourceMissing("payment_intent", id);
    return pi;
  }

  private charge(id: string): Stripe.Charge {
    const charge = this.chargesById.get(id);
    if (!charge) throw resourceMissing("charge", id);
    return charge;
  }

  private latestCharge(pi: Stripe.PaymentIntent): Stripe.Charge {
    const id = typeof pi.latest_charge === "string" ? pi.latest_charge : pi.latest_charge?.id;
    const charge = id === undefined ? undefined : this.chargesById.get(id);
    if (!charge) {
      throw invalidRequest(
        `PaymentIntent ${pi.id} has no charge.`,
        "payment_intent_unexpected_state",
      );
    }
    return charge;
  }

  private cloneList<T>(list: Stripe.ApiList<T>): Stripe.ApiList<T> {
    return { ...list, data: list.data.map((item) => structuredClone(item)) };
  }

  /** A copy for the response, with `expand` applied where supported. */
  private present(pi: Stripe.PaymentIntent, expand: readonly string[]): Stripe.PaymentIntent {
    const copy = structuredClone(pi);
    if (expand.includes("latest_charge") && typeof pi.latest_charge === "string") {
      const charge = this.chargesById.get(pi.latest_charge);
      if (charge) copy.latest_charge = structuredClone(charge);
    }
    return copy;
  }

  private presentCharge(charge: Stripe.Charge, expand: readonly string[]): Stripe.Charge {
    const copy = structuredClone(charge);
    if (expand.includes("payment_intent") && typeof charge.payment_intent === "string") {
      const pi = this.paymentIntentsById.get(charge.payment_intent);
      if (pi) copy.payment_intent = structuredClone(pi);
    }
    return copy;
  }

  private presentRefund(refund: Stripe.Refund, expand: readonly string[]): Stripe.Refund {
    const copy = structuredClone(refund);
    if (expand.includes("charge") && typeof refund.charge === "string") {
      const charge = this.chargesById.get(refund.charge);
      if (charge) copy.charge = structuredClone(charge);
    }
    if (expand.includes("payment_intent") && typeof refund.payment_intent === "string") {
      const pi = this.paymentIntentsById.get(refund.payment_intent);
      if (pi) copy.payment_intent = structuredClone(pi);
    }
    return copy;
  }
}
